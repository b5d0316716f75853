"""
Tamper-evident stores (issue 16): the raw-log and alert stores sign their
rows in an HMAC chain per stream, resends and restarts keep the chain
intact, and C{mice verify} reports the first altered, deleted or inserted
row of each chain (exit 1).  On SQLite and MariaDB.
"""

import os
import signal

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.internet.endpoints import clientFromString
from twisted.trial.unittest import TestCase

from mice.config import loadBufferDaemon
from mice.db import schema
from mice.db.signature import (
    CHAIN_OF,
    ChainMoved,
    _chainRows,
    _macOf,
    encodeRow,
    linkSignature,
    verifyDatabase,
)
from mice.forwarder.shipping import shipFile
from mice.postproc.alertdb import AlertStore
from mice.postproc.rawlogdb import RawLogStore
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import writeRawLogConfigs
from tests.integration.fixtures_db import (
    MariaDBStoreCase,
    SQLiteStoreCase,
    logBatch,
    pool,
    runInPool,
)
from tests.integration.processes import mice, shipThrough, spawn
from tests.integration.test_endtoend import writeCorpus
from tests.integration.test_faults import freePort, waitFor
from tests.integration.test_management import DATA, writeManagementHost
from tests.integration.test_schema import alertRow

KEY = bytes(range(64))


class SignatureTestsMixin:
    timeout = 120

    def writeKey(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(KEY.hex() + "\n")
        return path

    async def storeBatches(self, *batches, cls=RawLogStore):
        p, dialect = pool(self.url)
        store = cls(p, dialect, signKey=KEY)
        try:
            await store.start()
            for batch in batches:
                await store.process(batch)
        finally:
            store.stop()

    async def verify(self):
        return await runInPool(self.url, verifyDatabase, KEY)

    async def storeStreams(self):
        """
        Two streams; the first sent in three batches with a resend of the
        first and a restart (a new store) between them, seqs with gaps.
        """
        await self.storeBatches(logBatch(1, 10), logBatch(1, 10),
                                logBatch(1, 5, stream="/var/log/other"))
        await self.storeBatches(logBatch(11, 10), logBatch(5, 10),
                                logBatch(30, 4, seqs=[30, 31, 35, 40]))

    async def test_intactAfterResendAndRestart(self):
        await self.storeStreams()
        reports = await self.verify()
        self.assertEqual([(r.label, r.rows, r.chained, r.finding) for r in reports], [
            ("client1//var/log/messages", 24, 24, None),
            ("client1//var/log/other", 5, 5, None)])
        self.assertEqual(self.query("SELECT COUNT(*) FROM signature_head")[0][0], 2)
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 0, out + err)
        self.assertIn("2 chains, 29 rows, 0 with a problem", out)

    def tableOf(self, seq):
        for table in schema.RAWLOG_TABLES:
            if self.query(f"SELECT COUNT(*) FROM {table} WHERE stream = '/var/log/messages'"
                          f" AND seq = {seq}")[0][0]:
                return table

    async def assertFinding(self, kind, seq):
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 1, out + err)
        lines = [line for line in out.splitlines() if line.startswith("FAIL")]
        self.assertEqual(len(lines), 1, out)
        self.assertIn(f"client1//var/log/messages: {kind} ", lines[0])
        self.assertIn(f" seq {seq}:", lines[0])
        return lines[0]

    async def test_altered(self):
        await self.storeStreams()
        table = self.tableOf(12)
        self.execute(f"UPDATE {table} SET logline = 'nothing happened' WHERE seq = 12"
                     " AND stream = '/var/log/messages'")
        await self.assertFinding("altered", 12)

    async def test_deleted(self):
        await self.storeStreams()
        self.execute(f"DELETE FROM {self.tableOf(12)} WHERE seq = 12"
                     " AND stream = '/var/log/messages'")
        line = await self.assertFinding("deleted", 13)
        self.assertIn("follows seq 12, which is missing", line)

    async def test_deletedAtEnd(self):
        await self.storeStreams()
        self.execute(f"DELETE FROM {self.tableOf(40)} WHERE seq = 40"
                     " AND stream = '/var/log/messages'")
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 1, out)
        self.assertIn("client1//var/log/messages: deleted: the chain's head is seq 40", out)

    async def test_inserted(self):
        await self.storeStreams()
        table = self.tableOf(12)
        columns = "origin, stream, seq, logline, signature"
        if table == "scslog_line":
            columns = "origin, stream, seq, pid, uid, euid, logline, signature"
            values = "'client1', '/var/log/messages', 33, 0, 0, 0, 'forged', 'c1:31:00'"
        else:
            values = "'client1', '/var/log/messages', 33, 'forged', 'c1:31:00'"
        self.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})")
        await self.assertFinding("inserted", 33)

    async def test_olderVersionsStillVerify(self):
        """
        Rows signed the ways stores signed before (C{c1}: HMAC-SHA256, the
        whole HMAC, the previous seq always; then C{c2}: the HMAC's first
        128 bits) still verify, and a restarted store goes on from them
        with C{c5}.
        """
        await self.storeBatches(logBatch(1, 10))

        def toOlder(txn, dialect):
            chain = CHAIN_OF["rawlog_line"]
            keyValues = ("client1", "/var/log/messages")
            previous, previousSeq = "", None
            dialect = schema._dialect(dialect)
            p = dialect.placeholder
            for seq, table, rowId, row, sigIndex in _chainRows(
                    txn, dialect, chain, keyValues, schema.RAWLOG_TABLES):
                prevText = "-" if previousSeq is None else str(previousSeq)
                mac = _macOf(KEY).hexdigest(
                    f"{previous}|{prevText}|{encodeRow(table, row, sigIndex)}".encode())
                if seq > 5:
                    mac = mac[:32]
                    prevText = "" if previousSeq == seq - 1 else prevText
                txn.execute(f"UPDATE {table} SET signature = {p} WHERE row_id = {p}",
                            (f"{'c1' if seq <= 5 else 'c2'}:{prevText}:{mac}", rowId))
                previous, previousSeq = mac, seq
            txn.execute(f"UPDATE signature_head SET signature = {p}", (f"c2::{previous}",))

        await runInPool(self.url, toOlder)
        self.assertEqual(len(self.query("SELECT signature FROM rawlog_line WHERE seq = 2")[0][0]),
                         3 + 2 + 64)
        await self.storeBatches(logBatch(11, 5))
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(15, 15, None)])
        self.assertEqual(self.query("SELECT signature FROM rawlog_line WHERE seq = 8")[0][0][:4],
                         "c2::")
        self.assertEqual([self.versionOf(seq) for seq in range(11, 16)], ["c5"] * 5)

    async def storeUpgradedMidStream(self):
        """
        Seqs 1-10 signed C{c3} (as the store signed raw-log rows before
        C{c4} and C{c5}: each row re-signed in place, the head moved to the last),
        then a restarted store goes on with seqs 11-20 and a resend of 5-14.
        """
        await self.storeBatches(logBatch(1, 10))

        def toC3(txn, dialect):
            chain = CHAIN_OF["rawlog_line"]
            previous, previousSeq = "", None
            dialect = schema._dialect(dialect)
            p = dialect.placeholder
            for seq, table, rowId, row, sigIndex in _chainRows(
                    txn, dialect, chain, ("client1", "/var/log/messages"), schema.RAWLOG_TABLES):
                text = linkSignature(KEY, "c3", table, row, sigIndex, previous, previousSeq)
                txn.execute(f"UPDATE {table} SET signature = {p} WHERE row_id = {p}",
                            (text, rowId))
                previous, previousSeq = text.rsplit(":", 1)[1], seq
            txn.execute(f"UPDATE signature_head SET signature = {p}", (f"c3::{previous}",))

        await runInPool(self.url, toC3)
        await self.storeBatches(logBatch(11, 10), logBatch(5, 10))

    def versionOf(self, seq):
        return self.query(f"SELECT signature FROM {self.tableOf(seq)} WHERE seq = {seq}"
                          " AND stream = '/var/log/messages'")[0][0][:2]

    async def test_upgradedMidStream(self):
        """
        A chain whose older rows are C{c3} and newer C{c5} (an installation
        upgraded mid-stream, with a resend across the step) verifies.
        """
        await self.storeUpgradedMidStream()
        self.assertEqual([self.versionOf(seq) for seq in (1, 10, 11, 20)],
                         ["c3", "c3", "c5", "c5"])
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(20, 20, None)])
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 0, out + err)

    async def test_upgradedMidStreamTampered(self):
        """
        In a chain of C{c3} then C{c5} rows, the last C{c3} row deleted is
        named by the first C{c5} row, and a changed C{c3} or C{c5} row is
        reported altered.
        """
        await self.storeUpgradedMidStream()
        self.execute(f"DELETE FROM {self.tableOf(10)} WHERE seq = 10"
                     " AND stream = '/var/log/messages'")
        line = await self.assertFinding("deleted", 11)
        self.assertIn("follows seq 10, which is missing", line)
        for seq in (3, 15):
            self.execute(f"UPDATE {self.tableOf(seq)} SET logline = 'nothing happened'"
                         f" WHERE seq = {seq} AND stream = '/var/log/messages'")
        await self.assertFinding("altered", 3)

    async def test_recordsAndBatches(self):
        """
        Records that come one by one (not in a C{log} batch) are signed in
        the same chain as batches, with the same signatures.
        """
        await self.storeBatches(logBatch(1, 5), list(logBatch(6, 5)), logBatch(11, 5),
                                list(logBatch(20, 3, seqs=[20, 23, 26])))
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(18, 18, None)])
        self.assertEqual(self.query("SELECT signature FROM rawlog_line WHERE seq = 23")[0][0][:6],
                         "c4:20:")

    async def test_lateRowStandalone(self):
        """
        A row that comes after a later row of its stream was stored gets a
        standalone signature: it verifies outside the chain, and a change
        to it is found.
        """
        await self.storeBatches(logBatch(1, 14, seqs=list(range(1, 11)) + list(range(12, 16))),
                                logBatch(11, 1))
        self.assertEqual(self.query("SELECT signature FROM rawlog_line WHERE seq = 11")[0][0][:3],
                         "s1:")
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.standalone, r.finding) for r in reports],
                         [(15, 14, 1, None)])
        self.execute("UPDATE rawlog_line SET logline = 'late and changed' WHERE seq = 11")
        await self.assertFinding("altered", 11)

    async def test_anotherWriter(self):
        """
        A store whose chain head was moved by another writer since it
        signed fails its flush (L{ChainMoved}), reads the head again and
        stores the flush when it is retried: the chain stays whole.
        """
        p, dialect = pool(self.url)
        store = RawLogStore(p, dialect, signKey=KEY)
        await store.start()
        try:
            await store.process(logBatch(1, 10))
            await self.storeBatches(logBatch(11, 10))
            failure = await self.assertFailure(store.process(logBatch(21, 10)), ChainMoved)
            self.assertIn("another writer", str(failure))
            self.assertEqual(store.signer.heads, {})
            await store.process(logBatch(21, 10))
        finally:
            store.stop()
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(30, 30, None)])

    async def test_flushesAtOnce(self):
        """
        Flushes given to a store at once (a MariaDB store runs two at a
        time) are signed in the order they came and form one chain.
        """
        p, dialect = pool(self.url)
        store = RawLogStore(p, dialect, signKey=KEY)
        await store.start()
        try:
            await gatherResults([store.process(logBatch(seq, 10)) for seq in range(1, 60, 10)])
        finally:
            store.stop()
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(60, 60, None)])

    async def test_failedFlush(self):
        """
        A flush whose transaction fails fails the flushes signed after it
        (they followed its rows); all are stored in one chain when retried.
        """
        p, dialect = pool(self.url)
        store = RawLogStore(p, dialect, signKey=KEY)
        await store.start()
        try:
            await store.process(logBatch(1, 10))
            self.refuseSeq(15)
            first = store.process(logBatch(11, 10))
            second = store.process(logBatch(21, 10))
            await self.assertFailure(first, Exception)
            failure = await self.assertFailure(second, ChainMoved)
            self.assertIn("signing again", str(failure))
            self.acceptAll()
            await gatherResults([store.process(logBatch(11, 10)),
                                 store.process(logBatch(21, 10))])
        finally:
            store.stop()
        reports = await self.verify()
        self.assertEqual([(r.rows, r.chained, r.finding) for r in reports], [(30, 30, None)])

    def storedRows(self):
        try:
            return sum(self.query(f"SELECT COUNT(*) FROM {table}")[0][0]
                       for table in schema.RAWLOG_TABLES)
        except Exception:
            return 0

    async def test_killedMidStream(self):
        """
        A signing BufferDaemon killed (SIGKILL) while C{mice send} ships a
        file, then started again: the file's lines are stored once each in
        one verifiable chain.  Its ring is in memory, so a batch is
        acknowledged once stored: the sender resends what was not, some of
        it stored already; the restarted store reads the head from
        signature_head.
        """
        directory = os.path.abspath(self.mktemp())
        port = freePort()
        conf = writeRawLogConfigs(directory, self.url, port=port, mmSize=0, rbSize=16,
                                  timeInterval=0.2, batchSize=1000, signKey=self.writeKey())
        corpus = os.path.join(directory, "corpus.log")
        lines = writeCorpus(corpus, 40000)
        argv, log, daemon, sender = await shipThrough(self, directory, conf, port, corpus,
                                                      timeout=100)
        await waitFor(lambda: self.storedRows() > 5000, 60, "rows to arrive")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        self.assertLess(self.storedRows(), lines, "the kill came too late to mean anything")
        self.assertIsNone(sender.poll())
        daemon = spawn(self, argv, log)
        await waitFor(lambda: sender.poll() is not None, 100, "mice send to finish")
        self.assertEqual(sender.returncode, 0)
        self.assertEqual(self.storedRows(), lines)
        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the BufferDaemon to stop")
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 0, out + err)
        self.assertIn(f"1 chains, {lines} rows, 0 with a problem", out)

    async def test_alertChain(self):
        p, dialect = pool(self.url)
        store = AlertStore(p, dialect, signKey=KEY)
        try:
            await store.start()
            for seqs in ((1, 2, 3), (2, 3, 4)):
                await p.runInteraction(
                    lambda txn, rows: schema.insertRows(
                        txn, dialect, "alert_entry",
                        store.signer.signRows(txn, dialect, {"alert_entry": rows})["alert_entry"]),
                    [alertRow(s) for s in seqs])
        finally:
            store.stop()
        reports = await self.verify()
        self.assertEqual([(r.chain, r.label, r.chained, r.finding) for r in reports],
                         [("alert_entry", "aa-1/analyzer-1/idmef", 4, None)])
        self.execute("UPDATE alert_entry SET source_address = '10.9.9.9' WHERE seq = 3")
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 1, out)
        self.assertIn("alert_entry aa-1/analyzer-1/idmef: altered alert_entry", out)

    async def runManagementHost(self, alertUrl, documents):
        """
        A ManagementHost on this test's database whose reaction 2 stores in
        C{alertUrl} and signs (SIGNKEY in rid_2_send_to_alert_db.conf);
        C{documents} (files of tests/data/idmef) shipped in turn by one
        analysis agent, each on a new connection.

        @return: the reaction 2 agent.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "rid_2_send_to_alert_db.conf"), "w") as f:
            f.write(f"[MYSQL_SERVER]\nURL = {alertUrl}\nSIGNKEY = {self.writeKey()}\n")
        daemon = buildBufferDaemon(loadBufferDaemon(writeManagementHost(directory, self.url)),
                                   reactor)
        [port] = await daemon.startService()
        try:
            post = daemon.pipelines[0].postprocessor
            [reactions] = post.services
            for name in documents:
                sender = ReliableSender(
                    clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}"),
                    "agent1", "idmef", reactor, description="management host")
                sender.startService()
                try:
                    await ensureDeferred(shipFile(sender, os.path.join(DATA, name),
                                                  kind="idmef", stream="alerts"))
                finally:
                    await sender.stopService()
            await reactions.whenIdle(reactor)
            return reactions.queues["rid_2_send_to_alert_db"].agent, post
        finally:
            await daemon.stopService()

    async def assertAlertChains(self, url):
        """
        The three alerts of snort.xml (one document: one seq, idx 0 to 2)
        and the one of prelude-xmlmod.xml, sent twice, are chained per
        analyzer and verify; an altered alert is caught.
        """
        status, out, err = mice("verify", url, "--key", self.writeKey(), "--chains")
        self.assertEqual(status, 0, out + err)
        self.assertIn("alert_entry 3180379393423744/agent1/alerts: 1 chained, 0 standalone", out)
        self.assertIn("alert_entry snort-eth0/agent1/alerts: 3 chained, 0 standalone", out)
        self.assertIn("2 chains, 4 rows, 0 with a problem", out)
        return out

    async def test_managementHostSignsAlertsInline(self):
        """
        Reaction 2 on the journal's database signs within the journal's
        transaction.
        """
        agent, post = await self.runManagementHost(
            self.url, ["snort.xml", "prelude-xmlmod.xml", "snort.xml", "prelude-xmlmod.xml"])
        self.assertEqual(list(post.inline.values()), [agent])
        await self.assertAlertChains(self.url)
        self.execute("UPDATE alert_entry SET source_address = '10.9.9.9'"
                     " WHERE analyzerid = 'snort-eth0' AND idx = 1")
        status, out, err = mice("verify", self.url, "--key", self.writeKey())
        self.assertEqual(status, 1, out + err)
        self.assertIn("FAIL alert_entry snort-eth0/agent1/alerts: altered alert_entry", out)

    async def test_managementHostSignsAlertsElsewhere(self):
        """
        Reaction 2 on a database of its own signs in its queue's
        transactions.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        alertUrl = "sqlite:///" + os.path.join(directory, "alerts.db")
        agent, post = await self.runManagementHost(
            alertUrl, ["snort.xml", "prelude-xmlmod.xml", "snort.xml"])
        self.assertEqual(post.inline, {})
        await self.assertAlertChains(alertUrl)


class SQLiteSignatureTests(SQLiteStoreCase, SignatureTestsMixin, TestCase):
    def refuseSeq(self, seq):
        """Make the database refuse the raw-log row of C{seq}: a trigger."""
        for table in schema.RAWLOG_TABLES:
            self.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
                         f" WHEN NEW.seq = {seq} BEGIN SELECT RAISE(ABORT, 'refused'); END")

    def acceptAll(self):
        for table in schema.RAWLOG_TABLES:
            self.execute(f"DROP TRIGGER refuse_{table}")


class MariaDBSignatureTests(MariaDBStoreCase, SignatureTestsMixin, TestCase):
    def execute(self, statement):
        self.db.admin(statement)

    def refuseSeq(self, seq):
        """Make the database refuse the raw-log row of C{seq}: a trigger."""
        for table in schema.RAWLOG_TABLES:
            self.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW"
                         f" IF NEW.seq = {seq} THEN SIGNAL SQLSTATE '45000'"
                         " SET MESSAGE_TEXT = 'refused'; END IF")

    def acceptAll(self):
        for table in schema.RAWLOG_TABLES:
            self.execute(f"DROP TRIGGER refuse_{table}")
