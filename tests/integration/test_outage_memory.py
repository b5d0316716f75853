"""
A database outage with real processes (issue 12): a raw-log BufferDaemon
(twistd) stores what C{mice send} ships into a private MariaDB, which is
killed with SIGKILL for L{OUTAGE} seconds and started again.  The daemon's
memory must stay bounded while it retries, come back near where it was, and
every line must be stored exactly once.

Before the fix, each failed flush left about 0.8 MB in reference cycles (a
half-made PyMySQL connection with its SSL context, the flush's records) that
the daemon's rare full garbage collections did not free: with TIMEINV =
0.2 s this test measured RssAnon going from 68 MiB to 235 MiB in the 20 s
outage, and 246 MiB once everything was stored (VmRSS 101, 268, 282 MiB).
With it: 68, 67 and 69 MiB.
"""

import os
import signal
import sys

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.testing import writeRawLogConfigs
from tests.integration.processes import shipThrough
from tests.integration.test_endtoend import writeCorpus
from tests.integration.test_faults import freePort, startPrivateMariaDB, waitFor

#: How long the database is away, in seconds.
OUTAGE = 20.0

#: How much the daemon's anonymous memory (its heap, not the mapped ring)
#: may grow over its level before the outage: during it, and once all is
#: stored after it.
OUTAGE_GROWTH = 24 * 2 ** 20
RECOVERED_GROWTH = 32 * 2 ** 20

PASSWORD = "s3cret-Outage"


def memory(pid):
    """
    @return: C{(VmRSS, RssAnon)} of process C{pid}, in bytes.
    """
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return tuple(int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "RssAnon"))


class OutageMemoryTests(TestCase):
    timeout = 180

    async def test_killedDatabase(self):
        server = await startPrivateMariaDB(self)
        import pymysql

        admin = pymysql.connect(**server.connectArgs, autocommit=True)
        with admin.cursor() as cursor:
            cursor.execute("ALTER USER root@localhost IDENTIFIED BY %s", (PASSWORD,))
        admin.close()
        server.connectArgs["password"] = PASSWORD

        def stored():
            """
            @return: C{(rows, distinct (stream, seq))} stored, or C{None}.
            """
            try:
                db = pymysql.connect(**server.connectArgs, database="mice", connect_timeout=2)
            except pymysql.MySQLError:
                return None
            try:
                with db.cursor() as cursor:
                    rows = distinct = 0
                    for table in ("rawlog_line", "firewall_line", "scslog_line"):
                        cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT stream, seq) FROM {table}")
                        n, d = cursor.fetchone()
                        rows, distinct = rows + n, distinct + d
                    return rows, distinct
            except pymysql.MySQLError:
                return None
            finally:
                db.close()

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        port = freePort()
        conf = writeRawLogConfigs(
            directory, f"mysql://root:{PASSWORD}@127.0.0.1:{server.port}/mice", port=port,
            mmSize=64, rbSize=0, timeInterval=0.2, batchSize=5000, maxErr=10)
        corpus = os.path.join(directory, "corpus.log")
        lines = writeCorpus(corpus, 150000)
        shipping = await shipThrough(self, directory, conf, port, corpus)
        daemon, sender = shipping.daemon, shipping.sender
        daemonLog = os.path.join(directory, "daemon.log")
        await waitFor(lambda: (stored() or (0, 0))[0] > 20000, 60, "rows to arrive")

        before = memory(daemon.pid)
        server.kill()
        samples = []
        for _ in range(int(OUTAGE / 0.25)):
            await deferLater(reactor, 0.25)
            samples.append(memory(daemon.pid))
        during = max(anon for _, anon in samples)
        self.assertIsNone(sender.poll(), "everything was stored before the outage")

        server.start()
        await waitFor(lambda: sender.poll() is not None, 120, "mice send to finish")
        self.assertEqual(sender.returncode, 0)
        await waitFor(lambda: stored() == (lines, lines), 30, "every line to be stored")
        after = memory(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the BufferDaemon to stop")
        self.assertEqual(stored(), (lines, lines))

        mib = 2 ** 20
        report = (f"RssAnon before {before[1] / mib:.0f} MiB, peak during a {OUTAGE:.0f} s"
                  f" outage {during / mib:.0f} MiB, after {after[1] / mib:.0f} MiB"
                  f" (VmRSS {before[0] / mib:.0f}, {max(r for r, _ in samples) / mib:.0f},"
                  f" {after[0] / mib:.0f} MiB)")
        sys.stderr.write(report + "\n")
        self.assertLessEqual(during - before[1], OUTAGE_GROWTH, report)
        self.assertLessEqual(after[1] - before[1], RECOVERED_GROWTH, report)

        with open(daemonLog, encoding="utf-8") as f:
            text = f.read()
        self.assertNotIn(PASSWORD, text)
        self.assertIn(f"failed in mysql://127.0.0.1:{server.port}/mice", text)
        self.assertIn(f"mysql://127.0.0.1:{server.port}/mice works again after", text)
        self.assertIn("pausing intake", text)
