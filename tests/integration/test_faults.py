"""
Fault tests with real processes: the BufferDaemon is killed with SIGKILL
while C{mice send} ships a file, then started again; every line must be in
the database exactly once.
"""

import os
import signal
import socket
import sqlite3
from contextlib import closing

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.forwarder.shipping import shipFile
from mice.testing import PrivateMariaDB, writeRawLogConfigs
from tests.integration.processes import shipThrough, spawn
from tests.integration.test_endtoend import Pipeline, writeCorpus


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rowCount(database):
    if not os.path.exists(database):
        return 0, 0
    try:
        with sqlite3.connect(database, timeout=5) as db:
            total = distinct = 0
            for table in ("rawlog_line", "firewall_line", "scslog_line"):
                n, d = db.execute(f"SELECT COUNT(*), COUNT(DISTINCT seq) FROM {table}").fetchone()
                total, distinct = total + n, distinct + d
            return total, distinct
    except sqlite3.OperationalError:
        return 0, 0


async def waitFor(predicate, timeout, what):
    for _ in range(int(timeout * 20)):
        if predicate():
            return
        await deferLater(reactor, 0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def startPrivateMariaDB(case, database="mice"):
    """
    A L{PrivateMariaDB} of C{case}'s, started, with an empty C{database}.
    """
    import pymysql

    server = PrivateMariaDB(case)
    server.start()
    await waitFor(server.ready, 60, "the private MariaDB to start")
    with closing(pymysql.connect(**server.connectArgs, autocommit=True)) as admin:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {database}")
    return server


def accepting(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class KillBufferDaemonTests(TestCase):
    timeout = 180

    async def test_killDuringSend(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        port = freePort()
        database = os.path.join(directory, "rawlog.db")
        conf = writeRawLogConfigs(directory, f"sqlite:///{database}", port=port, mmSize=64,
                                  rbSize=0, timeInterval=0.5, batchSize=2000)
        corpus = os.path.join(directory, "corpus.log")
        lines = writeCorpus(corpus, 200000)
        daemonArgv, log, daemon, sender = await shipThrough(self, directory, conf, port, corpus)
        await waitFor(lambda: rowCount(database)[0] > 20000, 60, "rows to arrive")
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait()
        self.assertLess(rowCount(database)[0], lines, "the kill came too late to mean anything")
        self.assertIsNone(sender.poll())

        daemon = spawn(self, daemonArgv, log)
        await waitFor(lambda: sender.poll() is not None, 150, "mice send to finish")
        self.assertEqual(sender.returncode, 0)
        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the BufferDaemon to stop")
        self.assertEqual(rowCount(database), (lines, lines))


class DatabaseOutageTests(TestCase):
    """
    The database dies mid-stream and comes back: the BufferDaemon holds (no
    acknowledgements while its ring is full and MAXERR is reached), then
    resumes by itself, and every line is stored exactly once.
    """

    timeout = 180

    async def test_outage(self):
        server = await startPrivateMariaDB(self)
        import pymysql

        admin = pymysql.connect(**server.connectArgs, autocommit=True)
        self.addCleanup(lambda: admin.open and admin.close())

        def count():
            try:
                with admin.cursor() as cursor:
                    cursor.execute("SELECT (SELECT COUNT(*) FROM mice.rawlog_line)"
                                   " + (SELECT COUNT(*) FROM mice.firewall_line)"
                                   " + (SELECT COUNT(*) FROM mice.scslog_line)")
                    return cursor.fetchone()[0]
            except pymysql.MySQLError:
                return 0

        url = f"mysql://root@127.0.0.1:{server.port}/mice"
        pipeline = await Pipeline().start(self, url, mmSize=8, timeInterval=0.2)
        corpus = self.mktemp()
        lines = writeCorpus(corpus, 60000)
        shipping = ensureDeferred(shipFile(pipeline.sender(self), corpus))
        await waitFor(lambda: count() > 5000, 60, "rows to arrive")
        server.kill()
        admin.close()
        await waitFor(lambda: any(p.holding for p in pipeline.daemon.pipelines), 60,
                      "the BufferDaemon to hold after MAXERR failures")
        self.assertTrue(pipeline.daemon.paused)
        self.assertFalse(shipping.called)

        server.start()
        await waitFor(server.ready, 60, "the private MariaDB to restart")
        admin = pymysql.connect(**server.connectArgs, autocommit=True)
        result = await shipping
        self.assertEqual(result.records, lines)
        await pipeline.daemon.stopService()
        self.assertEqual(count(), lines)
        with admin.cursor() as cursor:
            cursor.execute("SELECT COUNT(DISTINCT seq) FROM mice.rawlog_line")
            self.assertEqual(cursor.fetchone()[0], lines // 5 * 3)
        self.flushLoggedErrors()
