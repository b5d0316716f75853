"""
The reaction journal (L{mice.db.journal} through L{mice.db.journalstore})
and reaction 2, the alert database (L{mice.reactors.alertdb}), on a real
SQLite file and on the real MariaDB, through adbapi pools.
"""

import os

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from mice.alerts import Alert, Node, RoutedAlert, alertKey
from mice.config import parseDatabaseUrl
from mice.db import journal, schema
from mice.db.journalstore import openJournal
from mice.idmef import toXml
from mice.interfaces import IReaction
from mice.reactors import alertdb
from mice.testing import temporaryMariaDBUrl

NOW = "2026-12-04T10:00:00+00:00"


def routed(seq, index=0, alertId=0x1020, problems=None):
    alert = Alert(str(seq), "MICE-RegEx", "2004-11-22T10:00:01+01:00", "IDMEF text",
                  alertId=alertId, detectTime="2004-11-22T10:00:00+01:00",
                  sources=(Node(address="10.0.0.7", port=4711), Node(user="mallory")),
                  targets=(Node(hostname="web01"), Node(address="10.0.0.1", user="root",
                                                        process="sshd", service="ssh")))
    document = toXml(alert).decode()
    return RoutedAlert(alertKey("agent1", "web01|/var/log/messages", seq, index), alert,
                       document, "Authentication Failure", "agent1", NOW, problems, (1, 2),
                       "web01|/var/log/messages", seq, index)


def journalRows(items, pipes=None):
    pipes = pipes or {1: "rid_1_write_to_syslog", 2: "rid_2_send_to_alert_db"}
    alerts, jobs = [], []
    for r in items:
        alerts.append((r.key, r.receivedFrom, r.stream, r.seq, r.index, r.alert.analyzerId,
                       f"0x{r.alert.alertId:04x}", r.description, "matched",
                       ",".join(map(str, r.rids)), r.problems, r.receivedAt, r.document))
        jobs.extend((r.key, rid, pipes[rid], "pending", 0, 0.0, None, NOW, NOW)
                    for rid in r.rids)
    return alerts, jobs


class JournalMixin:
    timeout = 30

    def databaseUrl(self):
        raise NotImplementedError

    def setUp(self):
        self.url = self.databaseUrl()
        self.journal = openJournal(parseDatabaseUrl(self.url), reactor)
        self.addCleanup(self.journal.close)

    def query(self, sql, *args):
        def run(txn):
            txn.execute(sql.replace("?", self.journal.dialect.placeholder), args)
            return [tuple(row) for row in txn.fetchall()]

        return self.journal.pool.runInteraction(run)

    async def test_journalOnce(self):
        """
        A flush's alerts and jobs are journaled once: the same rows again
        change nothing and say no alert was new; a flush holding one new
        alert beside known ones makes the new one's jobs only.
        """
        first = [routed(1), routed(2), routed(2, 1)]
        alerts, jobs = journalRows(first)
        new = await self.journal.journalAlerts(alerts, jobs)
        self.assertEqual(new, {r.key for r in first})
        self.assertEqual(await self.journal.journalAlerts(alerts, jobs), set())
        alerts, jobs = journalRows(first + [routed(3)])
        self.assertEqual(await self.journal.journalAlerts(alerts, jobs), {routed(3).key})
        self.assertEqual(await self.query("SELECT COUNT(*) FROM received_alert"), [(4,)])
        self.assertEqual(await self.query("SELECT COUNT(*), SUM(state = 'pending')"
                                          " FROM reaction_job"), [(8, 8)])

    async def test_journaledWithOutcomes(self):
        """
        Jobs done before their alert's transaction (reactions that can be
        done at once) are journaled once with their outcome; the known
        keys read before the transaction (L{JournalStore.knownAlerts}) say
        which alerts are new, and a second transaction with the same alert
        and its job pending (a resend journaled at the same time) changes
        neither.
        """
        items = [routed(1), routed(2)]
        keys = [r.key for r in items]
        self.assertEqual(await self.journal.knownAlerts(keys), set())
        alerts, jobs = journalRows(items)
        done = {(keys[0], 1): (keys[0], 1, "rid_1_write_to_syslog", "done", 1, 0.0,
                               "sent 90 bytes", NOW, "later")}
        rows = [done.get((row[0], row[1]), row) for row in jobs]
        self.assertEqual(await self.journal.journalAlerts(alerts, rows, known=set()), set(keys))
        self.assertEqual(await self.journal.knownAlerts(keys + ["nope"]), set(keys))
        self.assertEqual(await self.journal.journalAlerts(alerts, jobs, known=set()), set(keys))
        self.assertEqual(await self.query("SELECT COUNT(*) FROM received_alert"), [(2,)])
        self.assertEqual(
            sorted(await self.query("SELECT alertkey, rid, state, attempts, outcome, updated"
                                    " FROM reaction_job"), key=lambda row: (keys.index(row[0]),
                                                                            row[1])),
            [(keys[0], 1, "done", 1, "sent 90 bytes", "later"),
             (keys[0], 2, "pending", 0, None, NOW),
             (keys[1], 1, "pending", 0, None, NOW),
             (keys[1], 2, "pending", 0, None, NOW)])
        self.assertEqual(await self.journal.journalAlerts(alerts, rows), set())

    async def test_pendingReadBack(self):
        """
        A queue reads back its pipe's pending jobs, oldest first, a page at
        a time after the last id it saw, each with its alert's document and
        routing; jobs recorded as done are not read back.
        """
        items = [routed(n, problems="line 1: bad" if n == 2 else None) for n in range(1, 6)]
        await self.journal.journalAlerts(*journalRows(items))
        page = await self.journal.pendingJobs("rid_2_send_to_alert_db", 0, 3)
        self.assertEqual([p.alertKey for p in page], [r.key for r in items[:3]])
        self.assertEqual((page[1].problems, page[1].rids, page[1].document, page[1].seq,
                          page[1].stream, page[1].idx, page[1].origin),
                         ("line 1: bad", "1,2", items[1].document, 2,
                          "web01|/var/log/messages", 0, "agent1"))
        rest = await self.journal.pendingJobs("rid_2_send_to_alert_db", page[-1].jobId, 3)
        self.assertEqual([p.alertKey for p in rest], [r.key for r in items[3:]])
        await self.journal.recordOutcomes([
            (items[0].key, 2, "rid_2_send_to_alert_db", "done", 1, 0.0, "stored", NOW, "later"),
            (items[1].key, 2, "rid_2_send_to_alert_db", "pending", 1, 99.5, "attempt 1 failed",
             NOW, "later")])
        again = await self.journal.pendingJobs("rid_2_send_to_alert_db", 0, 10)
        self.assertEqual([p.alertKey for p in again], [r.key for r in items[1:]])
        self.assertEqual((again[0].attempts, again[0].nextTry), (1, 99.5))
        self.assertEqual(await self.journal.pendingPipes(),
                         {"rid_1_write_to_syslog": 5, "rid_2_send_to_alert_db": 4})
        trail = await self.journal.pool.runInteraction(journal.jobsOf, self.journal.dialect,
                                                       items[0].key)
        self.assertEqual(trail, [(1, "rid_1_write_to_syslog", "pending", 0, None, NOW, NOW),
                                 (2, "rid_2_send_to_alert_db", "done", 1, "stored", NOW,
                                  "later")])

    async def test_documentInAlertEntry(self):
        """
        A document the alert database kept in the journal's transaction is
        not kept twice: a pending job reads it from alert_entry; one that is
        nowhere (alert_entry pruned) reads as None.
        """
        items = [routed(1), routed(2)]
        alerts, jobs = journalRows(items)
        alerts = [row[:-1] + (None,) for row in alerts]
        agent = alertdb.build("rid_2_send_to_alert_db", None, reactor, None,
                              database=self.url)
        self.addCleanup(agent.stop)
        await agent.start()
        await self.journal.journalAlerts(alerts, jobs, (), lambda txn, keys: agent.storeRows(
            txn, [agent.rowFor(r) for r in items[:1] if r.key in keys]))
        self.journal.alertEntry = True
        pending = await self.journal.pendingJobs("rid_1_write_to_syslog")
        self.assertEqual([p.document for p in pending], [items[0].document, None])

    async def test_heartbeats(self):
        """
        Each analyzer's last heartbeat: a newer one replaces it, an older
        one (sent again after a crash) does not.
        """
        def beat(when, interval=None):
            return ("sensor-1", "snort", "ids01", when, when, interval, "hb-" + when, "agent1")

        await self.journal.journalAlerts([], [], [beat("2026-01-01T00:00:01Z", 60),
                                                  beat("2026-01-01T00:00:00Z")])
        await self.journal.journalAlerts([], [], [beat("2026-01-01T00:00:03Z", 30)])
        await self.journal.journalAlerts([], [], [beat("2026-01-01T00:00:02Z")])
        self.assertEqual(await self.query(
            "SELECT analyzerid, name, host, last_heartbeat, heartbeat_interval, messageid"
            " FROM analyzer_heartbeat"),
            [("sensor-1", "snort", "ids01", "2026-01-01T00:00:03Z", 30,
              "hb-2026-01-01T00:00:03Z")])

    async def test_correlationState(self):
        """
        The correlation stage's checkpoint (binary, any byte) is written
        with a flush and replaces the one before; none is C{None}.
        """
        self.assertIsNone(await self.journal.loadCorrelationState("MICE-Correlation"))
        state = bytes(range(256)) * 400
        alerts, jobs = journalRows([routed(1)])
        await self.journal.journalAlerts(alerts, jobs, (),
                                         correlation=("MICE-Correlation", state, "t1"))
        self.assertEqual(await self.journal.loadCorrelationState("MICE-Correlation"), state)
        await self.journal.journalAlerts([], [], (), correlation=("MICE-Correlation", b"2", "t2"))
        self.assertEqual(await self.journal.loadCorrelationState("MICE-Correlation"), b"2")
        self.assertEqual(await self.query("SELECT name, updated FROM correlation_state"),
                         [("MICE-Correlation", "t2")])

    async def test_alertDatabaseReaction(self):
        """
        Reaction 2 fills alert_entry's seed columns properly (the match
        file's description in alertdesc, the IDMEF classification, the
        first source and target field that has each value, the document),
        plus the key, the provenance and the DTD flag; an alert given again
        is not stored twice.
        """
        agent = alertdb.build("rid_2_send_to_alert_db", None, reactor, None,
                              database=self.url)
        self.assertTrue(verifyObject(IReaction, agent))
        self.addCleanup(agent.stop)
        await agent.start()
        first, second = routed(7), routed(7, 1, alertId=0x8010, problems="line 3: bad")
        self.assertEqual(await agent.react(first),
                         f"stored in alert_entry ({parseDatabaseUrl(self.url).redacted()})")
        outcomes = await agent.reactBatch([first, second])
        self.assertIn("1 of 2 were there already", outcomes[1])
        rows = await self.query(
            "SELECT origin, stream, seq, idx, alertkey, alertid, alertdesc, classification,"
            " date, time, analyzerid, source_address, source_user, source_process,"
            " source_service, target_address, target_user, target_process, target_service,"
            " idmefmsg, signature, dtd_problems FROM alert_entry ORDER BY idx")
        rows = [tuple(str(v) if v is not None and not isinstance(v, str) and not
                      isinstance(v, int) else v for v in row) for row in rows]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0][:5], ("agent1", "web01|/var/log/messages", 7, 0, first.key))
        self.assertEqual(rows[0][5:8], ("0x1020", "Authentication Failure", "IDMEF text"))
        self.assertEqual(rows[0][8][:10], "2004-11-22")
        self.assertEqual(rows[0][9].rjust(8, "0"), "10:00:00")
        self.assertEqual(rows[0][10:], (
            "MICE-RegEx", "10.0.0.7", "mallory", None, None, "10.0.0.1", "root", "sshd", "ssh",
            first.document, "", None))
        self.assertEqual((rows[1][5], rows[1][-1]), ("0x8010", "line 3: bad"))

    async def test_oldAlertEntryRefused(self):
        """
        An alert_entry made by the stand-in of earlier versions (no alertkey)
        is refused at start with what to do, not at every row.
        """
        def old(txn):
            txn.execute("CREATE TABLE alert_entry (alertid TEXT, idmefmsg TEXT)")

        await self.journal.pool.runInteraction(old)
        agent = alertdb.build("rid_2_send_to_alert_db", None, reactor, None,
                              database=self.url)
        self.addCleanup(agent.stop)
        with self.assertRaises(schema.LegacyTable) as caught:
            await agent.start()
        self.assertIn("made by an earlier M-ICE", str(caught.exception))
        self.assertIn("run `mice initdb --upgrade URL`", str(caught.exception))
        self.assertNotIn("\n", str(caught.exception))

    async def test_createdByInitdbSchema(self):
        """
        The journal's statements run twice are harmless (mice initdb and the
        daemon both run them).
        """
        await self.journal.start()
        for _ in range(2):
            await self.journal.pool.runInteraction(journal.createJournal, self.journal.dialect)
            await self.journal.pool.runInteraction(schema.createSchema, self.journal.dialect,
                                                   schema.ALERT_TABLES)


class SQLiteJournalTests(JournalMixin, TestCase):
    def databaseUrl(self):
        return "sqlite:///" + os.path.abspath(self.mktemp() + ".db")


class MariaDBJournalTests(JournalMixin, TestCase):
    def databaseUrl(self):
        return temporaryMariaDBUrl(self)
