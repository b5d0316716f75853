"""
End to end over real loopback sockets: C{mice send}'s sender into a
BufferDaemon built from config files, into a real SQLite file and the real
MariaDB.
"""

import os
import sqlite3
import sys

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint, clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from mice.config import loadBufferDaemon
from mice.forwarder.shipping import shipFile
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import temporaryMariaDBDatabase, writeRawLogConfigs

SAMPLE = [
    "Nov 22 10:00:01 web01 sshd[811]: Accepted password for alice from 10.0.0.7 port 52311 ssh2",
    "Nov 22 10:00:02 fw kernel: SuSE-FW-DROP-DEFAULT IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:"
    "88:99:aa:bb:08:00 SRC=10.0.0.5 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=54321 DF"
    " PROTO=TCP SPT=40000 DPT=22 WINDOW=5840 RES=0x00 SYN URGP=0",
    "2004-02-01T16:19:36 3322 1302 -1 [PROC_realgid] setgroups32(1, [51]); result=0",
    "Nov 22 10:00:03 web01 su: FAILED SU (to root) bob on /dev/pts/1",
    "Nov 22 10:00:04 web01 CRON[990]: (root) CMD (run-parts /etc/cron.hourly)",
]


def writeCorpus(path, n):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(SAMPLE[i % len(SAMPLE)] + f" #{i}\n")
    return n


class Pipeline:
    """
    A BufferDaemon from config files, listening on a free loopback port.
    """

    async def start(self, case, url, **kw):
        directory = case.mktemp()
        self.daemon = buildBufferDaemon(loadBufferDaemon(writeRawLogConfigs(directory, url, **kw)),
                                        reactor)
        ports = await self.daemon.startService()
        case.addCleanup(self.daemon.stopService)
        self.port = ports[0].getHost().port
        return self

    def sender(self, case, source="web01"):
        sender = ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{self.port}"),
                                source=source, kind="log", clock=reactor)
        sender.startService()
        case.addCleanup(sender.stopService)
        return sender


class SQLiteTests(TestCase):
    timeout = 60

    def count(self, path):
        with sqlite3.connect(path) as db:
            return {t: db.execute(f"SELECT COUNT(*), COUNT(DISTINCT origin || stream || seq)"
                                  f" FROM {t}").fetchone()
                    for t in ("rawlog_line", "firewall_line", "scslog_line")}

    async def test_shipTwiceStoresOnce(self):
        """
        Every line of a file lands in the right table, and shipping the file
        again (a resend of every batch) adds nothing.
        """
        database = os.path.abspath(self.mktemp() + ".db")
        pipeline = await Pipeline().start(self, "sqlite:///" + database)
        corpus = self.mktemp()
        writeCorpus(corpus, 5000)
        sender = pipeline.sender(self)
        for _ in range(2):
            result = await shipFile(sender, corpus)
            self.assertEqual(result.records, 5000)
        await pipeline.daemon.stopService()
        self.assertEqual(self.count(database), {"rawlog_line": (3000, 3000),
                                                "firewall_line": (1000, 1000),
                                                "scslog_line": (1000, 1000)})
        with sqlite3.connect(database) as db:
            row = db.execute("SELECT origin, stream, seq, hostname, logline, date FROM"
                             " rawlog_line ORDER BY seq LIMIT 1").fetchone()
        self.assertEqual(row[:3], ("web01", os.path.abspath(corpus), 1))
        self.assertEqual(row[4], SAMPLE[0] + " #0")
        self.assertTrue(row[5].endswith("-11-22"))

    async def test_badClientsDoNotHurtOthers(self):
        """
        Garbage, invalid UTF-8 and a 10 MB line each get their connection
        closed with a reason, while a good client's lines all arrive.  Before
        its hello is accepted a peer's lines are limited to 4 KiB, after it
        to MAXLINE.
        """
        database = os.path.abspath(self.mktemp() + ".db")
        pipeline = await Pipeline().start(self, "sqlite:///" + database)
        corpus = self.mktemp()
        writeCorpus(corpus, 3000)
        shipping = ensureDeferred(shipFile(pipeline.sender(self), corpus))
        replies = []
        for payload in (b"GET / HTTP/1.0\r\n\r\n",
                        b'{"t":"hello","v":1,"source":"x","kind":"log"}\n\xff\xfe\xfd\n',
                        b"A" * (10 * 2 ** 20),
                        b'{"t":"hello","v":1,"source":"x","kind":"log"}\n'
                        + b"A" * (10 * 2 ** 20)):
            replies.append(await rawExchange(pipeline.port, payload))
        self.assertIn(b"malformed message", replies[0])
        self.assertIn(b"invalid UTF-8", replies[1])
        self.assertIn(b"longer than 4096 bytes", replies[2])
        self.assertIn(b"longer than 4194304 bytes", replies[3])
        result = await shipping
        self.assertEqual(result.records, 3000)
        await pipeline.daemon.stopService()
        self.assertEqual(sum(n for n, _ in self.count(database).values()), 3000)


class MariaDBTests(TestCase):
    timeout = 60

    async def test_shipTwiceStoresOnce(self):
        connect = temporaryMariaDBDatabase(self)
        url = "mysql://{user}:{password}@{host}:{port}/{database}".format(**connect)
        pipeline = await Pipeline().start(self, url)
        corpus = self.mktemp()
        writeCorpus(corpus, 5000)
        sender = pipeline.sender(self)
        await shipFile(sender, corpus)
        await shipFile(sender, corpus)
        await pipeline.daemon.stopService()
        import pymysql

        db = pymysql.connect(**connect)
        self.addCleanup(db.close)
        with db.cursor() as cursor:
            counts = {}
            for table in ("rawlog_line", "firewall_line", "scslog_line"):
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                counts[table] = cursor.fetchone()[0]
            cursor.execute("SELECT `release`, logline FROM rawlog_line ORDER BY seq LIMIT 1")
            release, logline = cursor.fetchone()
        self.assertEqual(counts, {"rawlog_line": 3000, "firewall_line": 1000,
                                  "scslog_line": 1000})
        self.assertEqual(logline, SAMPLE[0] + " #0")


    async def test_storeLoadsDataThroughThePool(self):
        """
        The raw-log store's pool gives connections on which a flush's batches
        go as one LOAD DATA LOCAL per table, not as INSERTs.
        """
        from mice.config import parseDatabaseUrl
        from mice.db.pools import connectionPool
        from mice.decoders.logformat import LogFormatDecoder
        from mice.postproc.rawlogdb import RawLogStore, storeRecords
        from mice.protocols import wire
        from mice.services.bufferdaemon import Records

        connect = temporaryMariaDBDatabase(self)
        url = "mysql://{user}:{password}@{host}:{port}/{database}".format(**connect)
        pool, dialect = connectionPool(parseDatabaseUrl(url), reactor)
        store = RawLogStore(pool, dialect)
        self.addCleanup(store.stop)
        await store.start()
        batch = LogFormatDecoder().decode("web01", wire.checkBatch(wire.batch(
            1, "/var/log/messages", 1, {"hostname": "web01"},
            [["2026-11-22", "10:00:00", line, ""] for line in SAMPLE * 10])))

        def statements(txn):
            txn.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Com_load', 'Com_insert')")
            return dict(txn.fetchall())

        def flush(txn):
            before = statements(txn)
            storeRecords(txn, dialect, Records([batch, batch]))
            after = statements(txn)
            return {name: int(after[name]) - int(before[name]) for name in after}

        self.assertEqual(await pool.runInteraction(flush), {"Com_load": 3, "Com_insert": 0})


class _Collect(Protocol):
    def connectionMade(self):
        self.data = b""
        self.transport.write(self.factory.payload)

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.factory.done.callback(self.data)


async def rawExchange(port, payload):
    """
    Send C{payload} on a raw connection; return what came back before the
    server closed it.
    """
    factory = Factory.forProtocol(_Collect)
    factory.payload = payload
    factory.done = Deferred()
    await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
    return await factory.done


class SendCommandTests(TestCase):
    timeout = 60

    async def runMice(self, *args):
        from twisted.internet.utils import getProcessOutputAndValue

        return await getProcessOutputAndValue(sys.executable, ("-m", "mice.cli") + args,
                                              env=os.environ)

    async def test_sendAndRefusal(self):
        """
        C{mice send} ships a file and exits 0 once it is acknowledged; sent
        to a server that takes no IDMEF it exits 1 with the server's reason
        instead of retrying forever.
        """
        database = os.path.abspath(self.mktemp() + ".db")
        pipeline = await Pipeline().start(self, "sqlite:///" + database)
        corpus = self.mktemp()
        writeCorpus(corpus, 1200)
        out, err, code = await self.runMice("send", "--to", f"127.0.0.1:{pipeline.port}", corpus)
        self.assertEqual(code, 0, err)
        self.assertIn(b"1200 records in 2 batches acknowledged", out)

        alerts = self.mktemp()
        with open(alerts, "w") as f:
            f.write("<IDMEF-Message><Alert/></IDMEF-Message>\n")
        out, err, code = await self.runMice("send", "--to", f"127.0.0.1:{pipeline.port}",
                                            "--kind", "idmef", alerts)
        self.assertEqual(code, 1)
        self.assertIn(b"takes no 'idmef' data", err)


class UnixSocketTests(TestCase):
    timeout = 60

    async def test_unixEndpoint(self):
        """
        LISTEN takes any Twisted endpoint string: a UNIX socket for local
        IPC, which `mice send --endpoint` reaches.
        """
        import tempfile

        from twisted.internet.utils import getProcessOutputAndValue

        from mice.tap.bufferdaemon import buildBufferDaemon

        socketDir = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, socketDir)
        path = os.path.join(socketDir, "bd.sock")
        directory = self.mktemp()
        database = os.path.abspath(directory + ".db")
        conf = writeRawLogConfigs(directory, "sqlite:///" + database)
        with open(conf) as f:
            text = f.read().replace("LISTEN = tcp:0:interface=127.0.0.1",
                                    f"LISTEN = unix:{path}:mode=600")
        with open(conf, "w") as f:
            f.write(text)
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        await daemon.startService()
        self.addCleanup(daemon.stopService)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        corpus = self.mktemp()
        writeCorpus(corpus, 700)
        out, err, code = await getProcessOutputAndValue(
            sys.executable, ("-m", "mice.cli", "send", "--endpoint", f"unix:path={path}", corpus),
            env=os.environ)
        self.assertEqual(code, 0, err)
        await daemon.stopService()
        with sqlite3.connect(database) as db:
            self.assertEqual(sum(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                                 for t in ("rawlog_line", "firewall_line", "scslog_line")), 700)


class ListenFailureTests(TestCase):
    async def test_portInUse(self):
        """
        A daemon that cannot listen logs why and tells its owner (twistd
        stops), instead of running deaf.
        """
        from twisted.internet.error import CannotListenError
        from twisted.internet.protocol import ServerFactory

        from mice.tap.bufferdaemon import buildBufferDaemon

        taken = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)
        directory = self.mktemp()
        conf = writeRawLogConfigs(directory, "sqlite:///" + os.path.abspath(directory + ".db"),
                                  port=taken.getHost().port)
        failures = []
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor,
                                   onListenFailure=failures.append)
        self.addCleanup(daemon.stopService)
        await daemon.startService()
        self.assertEqual([f.type for f in failures], [CannotListenError])

        other = self.mktemp()
        alone = buildBufferDaemon(loadBufferDaemon(writeRawLogConfigs(
            other, "sqlite:///" + os.path.abspath(other + ".db"), port=taken.getHost().port)),
            reactor)
        self.addCleanup(alone.stopService)
        with self.assertRaises(CannotListenError):
            await alone.startService()
