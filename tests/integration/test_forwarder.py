"""
A DataForwarder (L{mice.services.forwarder}) built from its config, over real
loopback TCP and inotify (the service's logic is tested with a clock and fakes
in C{tests.unit.services.test_forwarder}).
"""

import os
import sqlite3

from twisted.internet import reactor
from twisted.internet.inotify import INotify
from twisted.trial.unittest import TestCase

from mice.config import loadDataForwarder
from mice.tap import dataforwarder
from mice.testing import writeForwarderConfig
from tests.integration.test_endtoend import Pipeline
from tests.integration.test_faults import rowCount, waitFor
from tests.unit.services.test_forwarder import append


class LoopbackTests(TestCase):
    """
    A DataForwarder built from its config ships over real loopback TCP into
    a BufferDaemon storing in SQLite, woken by inotify.
    """

    timeout = 60

    async def test_filteredLinesAndInotify(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        database = os.path.join(directory, "rawlog.db")
        pipeline = await Pipeline().start(self, "sqlite:///" + database)
        log = os.path.join(directory, "messages")
        append(log, *[f"Nov 22 10:00:01 web01 sshd[1]: line {n}" for n in range(100)])
        conf = writeForwarderConfig(directory, [log], sqlPort=pipeline.port,
                                    sleepInterval=60, filterDrop=["line \\d*7$"])
        forwarder = dataforwarder.buildForwarder(loadDataForwarder(conf), reactor,
                                                 inotify=True)
        forwarder.startService()
        self.addCleanup(forwarder.stopService)
        self.assertIsInstance(forwarder.notifier, INotify)
        await waitFor(lambda: rowCount(database)[0] >= 90, 20, "the first lines")
        append(log, *[f"Nov 22 10:00:02 web01 sshd[1]: line {n}" for n in range(100, 150)])
        await waitFor(lambda: rowCount(database)[0] >= 135, 10,
                      "inotify to wake the poll long before SLEEPINV")
        with sqlite3.connect(database) as db:
            seqs = [n for (n,) in db.execute("SELECT seq FROM rawlog_line ORDER BY seq")]
        self.assertEqual(seqs, [n + 1 for n in range(150) if n % 10 != 7])

    def test_missingDirectoryInPlainWords(self):
        """
        A log path whose directory does not exist is a warning naming the
        directory, not inotify's error code; the rest is watched as usual.
        """
        from twisted.logger import capturedLogs, formatEvent

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        present = os.path.join(directory, "messages")
        append(present, "Nov 22 10:00:01 web01 sshd[1]: one")
        absent = os.path.join(directory, "nowhere", "access.log")
        conf = writeForwarderConfig(directory, [present, absent], sleepInterval=60)
        with capturedLogs() as events:
            forwarder = dataforwarder.buildForwarder(loadDataForwarder(conf), reactor,
                                                     inotify=True)
            forwarder.startService()
            self.addCleanup(forwarder.stopService)
        text = [formatEvent(event) for event in events]
        self.assertFalse([line for line in text if "Failed to add watch" in line], text)
        self.assertIn(f"not watching {os.path.dirname(absent)} with inotify: it does not"
                      " exist; polling every 60 s", text)
        self.assertIn(f"{absent}: missing-directory: {absent} does not exist: its directory"
                      f" {os.path.dirname(absent)} does not exist either (is FILE right?); it"
                      " is followed once it appears", text)
        self.assertEqual([path.path for path in forwarder._watched], [directory])
