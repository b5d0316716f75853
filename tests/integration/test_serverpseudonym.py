"""
A raw-log BufferDaemon run by twistd with C{PSEUDO = yes}: a line shipped
by C{mice send} is stored in SQLite pseudonymised, C{mice depseudonymize}
gives it back with the key, and the ring buffer's file never held the
clear user name.  (The same with a Clock: C{tests.unit.services.test_serverpseudonym}.)
"""

import os
import signal
import sqlite3

from twisted.trial.unittest import TestCase

from mice.forwarder.pseudonym import newKey
from tests.integration.processes import mice, startRawLogDaemon
from tests.integration.test_faults import rowCount, waitFor

LINE = "Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7 port 22"


class ServerPseudonymTests(TestCase):
    timeout = 90

    async def test_storedPseudonymised(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        keyFile = os.path.join(directory, "psd.key")
        with open(keyFile, "w") as f:
            f.write(newKey().hex())
        with open(os.path.join(directory, "mice_mod_psd_keyed.conf"), "w") as f:
            f.write(f"[PSEUDONYM]\nKEYFILE = {keyFile}\n")
        started = await startRawLogDaemon(self, directory, mmSize=16, rbSize=0,
                                          append="[SECURITY_AND_PRIVACY]\nPSEUDO = yes\n")
        port, database, daemon = started.port, started.database, started.process
        log = os.path.join(directory, "auth.log")
        with open(log, "w") as f:
            f.write(LINE + "\n")
        status, out, err = mice("send", "--to", f"127.0.0.1:{port}", "--timeout", "30", log)
        self.assertEqual(status, 0, err)
        await waitFor(lambda: rowCount(database)[0], 20, "the row")
        # Stop first: the ring is looked at once the daemon has let go of it.
        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the daemon to stop")

        with sqlite3.connect(database) as db:
            rows = [row[0] for table in ("rawlog_line", "firewall_line", "scslog_line")
                    for row in db.execute(f"SELECT logline FROM {table}")]
        [stored] = rows
        self.assertNotIn("alice", stored)
        self.assertIn("Failed password for psd", stored)
        status, out, err = mice("depseudonymize", "--key", keyFile, stdin=stored + "\n")
        self.assertEqual((status, out), (0, LINE + "\n"), err)
        with open(os.path.join(directory, "cache"), "rb") as f:
            self.assertNotIn(b"alice", f.read())
