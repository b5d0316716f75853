"""
The console's read side (L{mice.console.data.SqlConsoleData}) on a real
SQLite file and on the real MariaDB: every search filter, alone and
together, paged to the end with keyset cursors and compared with the same
filter applied in Python; tables that do not exist; the indexes added to
an older table.
"""

import os

from twisted.internet import reactor
from twisted.logger import Logger, formatEvent
from twisted.trial.unittest import TestCase

from mice.config import parseDatabaseUrl
from mice.console import query
from mice.console.data import SqlConsoleData
from mice.console.query import AlertSearch, LogSearch, parseWhen
from mice.db import schema
from mice.db.pools import connectionPool
from mice.testing import consoleAlertRow, consoleEventRow, temporaryMariaDBDatabase

IDS = (0x1010, 0x1020, 0x2010)
NAMES = {0x1010: "Authentication success", 0x1020: "Authentication failure",
         0x2010: "Root login"}


def corpus():
    """Alerts with every filter column varied, two without a date."""
    alerts = []
    for i in range(1, 61):
        alertId = IDS[i % 3]
        alerts.append(dict(
            seq=i, alertId=alertId, classification=NAMES[alertId],
            when=f"2026-11-{20 + i % 3}T10:{i % 4:02d}:{i % 7:02d}",
            source=f"192.0.2.{i % 4}", target=f"10.0.0.{5 + i % 2}",
            sourceUser="root" if i % 5 == 0 else "alice",
            targetUser="bob" if i % 7 == 0 else None,
            analyzer="MICE-RegEx" if i % 2 else "MICE-LogIDS"))
    alerts.append(dict(seq=61, alertId=0x1020, classification=NAMES[0x1020], when=None,
                       source="192.0.2.1", target="10.0.0.5", sourceUser="root",
                       targetUser=None, analyzer="MICE-RegEx"))
    alerts.append(dict(seq=62, alertId=None, classification="Prelude thing", when=None,
                       source=None, target=None, sourceUser=None, targetUser="root",
                       analyzer="prelude"))
    return alerts


def expected(alerts, filters, addresses=()):
    def keep(a):
        when = a["when"]
        if "from" in filters and (when is None or when.replace("T", " ") < filters["from"]):
            return False
        if "to" in filters and (when is None or when.replace("T", " ") > filters["to"]):
            return False
        checks = {"alertid": a["alertId"] is not None and f"0x{a['alertId']:04x}",
                  "classification": a["classification"], "source": a["source"],
                  "target": a["target"], "analyzer": a["analyzer"]}
        for name, value in checks.items():
            if name in filters and value != filters[name]:
                return False
        if "user" in filters and filters["user"] not in (a["sourceUser"], a["targetUser"]):
            return False
        if "host" in filters and a["target"] not in addresses:
            return False
        return True

    kept = [a for a in alerts if keep(a)]
    dated = sorted((a for a in kept if a["when"]), key=lambda a: (a["when"], a["seq"]),
                   reverse=True)
    undated = sorted((a for a in kept if not a["when"]), key=lambda a: a["seq"], reverse=True)
    return [a["seq"] for a in dated + undated]


class _Base:
    timeout = 120

    async def database(self):
        raise NotImplementedError

    async def setUp(self):
        url = await self.database()
        self.pool, self.dialect = connectionPool(parseDatabaseUrl(url), reactor)
        self.addCleanup(self.pool.close)
        self.alerts = corpus()
        rows = [consoleAlertRow(a["seq"], alertId=a["alertId"],
                                classification=a["classification"], when=a["when"],
                                source=a["source"], target=a["target"],
                                sourceUser=a["sourceUser"], targetUser=a["targetUser"],
                                analyzer=a["analyzer"]) for a in self.alerts]
        events = [consoleEventRow(1, loghost="web01", ip="10.0.0.5"),
                  consoleEventRow(2, loghost="db01", ip="10.0.0.6"),
                  consoleEventRow(3, action="drop", loghost="web01", fields=(), line="x"),
                  consoleEventRow(4, action="reject", loghost="db01", ip="10.0.0.6",
                                  fields=(), count=5)]

        def fill(txn):
            schema.createSchema(txn, self.dialect, schema.ALERT_TABLES)
            schema.insertRows(txn, self.dialect, "alert_entry", rows)
            schema.insertRows(txn, self.dialect, "console_event", events)

        await self.pool.runInteraction(fill)
        self.data = SqlConsoleData(self.pool, self.dialect, reactor)
        # Row ids are in insertion order: seq n is row n.

    async def pages(self, filters, limit=7):
        search = AlertSearch.fromArgs({k: [v] for k, v in dict(filters, limit=str(limit))
                                       .items()})
        if search.host is not None:
            search = search.withAddresses(await self.data.hostAddresses(search.host))
        found = []
        while True:
            page = await self.data.searchAlerts(search)
            self.assertLessEqual(len(page["alerts"]), limit)
            found.extend(a["rowId"] for a in page["alerts"])
            if page["next"] is None:
                return found
            search = AlertSearch.fromArgs({k: [v] for k, v in dict(
                filters, limit=str(limit), after=page["next"]).items()})
            if search.host is not None:
                search = search.withAddresses(await self.data.hostAddresses(search.host))

    async def check(self, filters, addresses=()):
        got = await self.pages(filters)
        bounds = {}
        if "from" in filters:
            bounds["from"] = " ".join(parseWhen(filters["from"]))
        if "to" in filters:
            bounds["to"] = " ".join(parseWhen(filters["to"], end=True))
        want = expected(self.alerts, dict(filters, **bounds), addresses)
        self.assertEqual(got, want, filters)
        return got

    async def test_everything(self):
        got = await self.check({})
        self.assertEqual(len(got), 62)
        self.assertEqual(got[-2:], [62, 61], "undated alerts last")

    async def test_timeRange(self):
        self.assertTrue(await self.check({"from": "2026-11-21"}))
        self.assertTrue(await self.check({"to": "2026-11-21T10:01:30"}))
        self.assertTrue(await self.check({"from": "2026-11-20T10:02", "to": "2026-11-21"}))
        self.assertEqual(await self.check({"from": "2027-01-01"}), [])

    async def test_columns(self):
        for filters in ({"alertid": "0x1020"}, {"classification": "Root login"},
                        {"source": "192.0.2.3"}, {"target": "10.0.0.6"},
                        {"analyzer": "MICE-LogIDS"}, {"analyzer": "prelude"}):
            self.assertTrue(await self.check(filters), filters)

    async def test_alertIdDecimal(self):
        self.assertEqual(await self.pages({"alertid": "4128"}),
                         await self.pages({"alertid": "0x1020"}))

    async def test_user(self):
        """A user matches as source or target, each alert once."""
        got = await self.check({"user": "root"})
        self.assertIn(62, got)
        self.assertTrue(await self.check({"user": "bob"}))

    async def test_host(self):
        """A host name matches the target addresses its console events know."""
        got = await self.check({"host": "web01"}, addresses=("10.0.0.5",))
        self.assertIn(61, got)
        self.assertTrue(await self.check({"host": "10.0.0.6"}, addresses=("10.0.0.6",)))
        self.assertEqual(await self.pages({"host": "nosuchhost"}), [])

    async def test_combined(self):
        self.assertTrue(await self.check({"alertid": "0x1020", "user": "root",
                                          "from": "2026-11-21"}))
        self.assertTrue(await self.check({"host": "db01", "analyzer": "MICE-RegEx",
                                          "source": "192.0.2.3"}, addresses=("10.0.0.6",)))

    async def test_detailAndSince(self):
        detail = await self.data.alert(5)
        self.assertEqual(detail["alert"]["rowId"], 5)
        self.assertIn("IDMEF-Message", detail["alert"]["idmef"])
        self.assertEqual(detail["reactions"], [])
        self.assertIsNone(await self.data.alert(999))
        since = await self.data.alertsSince(58, 10)
        self.assertEqual([a["rowId"] for a in since], [59, 60, 61, 62])
        self.assertEqual(await self.data.latestRowIds(), (62, 4))

    async def test_consoleLogAndHosts(self):
        log = await self.data.consoleLog(LogSearch())
        self.assertEqual(log["counts"], {"drop": 1, "reject": 5})
        self.assertEqual([r["rowId"] for r in log["records"]], [4, 3])
        snapshot = await self.data.hosts(20)
        self.assertEqual(sorted(h["name"] for h in snapshot["hosts"]), ["db01", "web01"])
        counts = {(a, c): n for a, c, n in snapshot["counts"]}
        self.assertEqual(counts[("10.0.0.5", "Authentication failure")],
                         len([a for a in self.alerts if a["target"] == "10.0.0.5"
                              and a["alertId"] == 0x1020]))

    async def test_longValues(self):
        """
        Values that share their first 255 characters (all an indexed search
        column of MariaDB holds) are told apart.
        """
        head = "h" * 255
        rows = [consoleAlertRow(100 + n, target=head + tail, sourceUser=head + tail)
                for n, tail in enumerate("xy")]
        await self.pool.runInteraction(schema.insertRows, self.dialect, "alert_entry", rows)
        for name in ("target", "user"):
            for tail, rowId in (("x", 63), ("y", 64)):
                self.assertEqual(await self.pages({name: head + tail}), [rowId], name)
        self.assertEqual(await self.pages({"target": head}), [])

    async def test_missingTables(self):
        """
        A database without the journal or heartbeat tables gives empty
        answers for them.
        """
        self.assertEqual(await self.data.heartbeats(0, 3), [])
        self.assertEqual(await self.data.countermeasures(), [])

        def drop(txn):
            txn.execute("DROP TABLE alert_entry")

        await self.pool.runInteraction(drop)
        self.data._tables = None
        self.assertEqual(await self.data.searchAlerts(AlertSearch()),
                         {"alerts": [], "next": None})
        self.assertIsNone(await self.data.alert(1))
        self.assertEqual((await self.data.latestRowIds())[0], 0)

    async def test_indexesAdded(self):
        """
        A table made before the search indexes gets them at start, once.
        """
        def dropIndex(txn):
            if self.dialect.name == "mysql":
                txn.execute("ALTER TABLE alert_entry DROP INDEX alert_entry_class")
            else:
                txn.execute("DROP INDEX alert_entry_class")

        await self.pool.runInteraction(dropIndex)
        added = await self.pool.runInteraction(schema.ensureIndexes, self.dialect)
        self.assertEqual(added, ["alert_entry_class"])
        self.assertEqual(await self.pool.runInteraction(schema.ensureIndexes, self.dialect),
                         [])


class SqliteDataTests(_Base, TestCase):
    async def database(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        return f"sqlite:///{directory}/alerts.db"


class MariaDBDataTests(_Base, TestCase):
    async def database(self):
        connect = temporaryMariaDBDatabase(self)
        return "mysql://{user}:{password}@{host}:{port}/{database}".format(**connect)

    async def explain(self, filters):
        search = AlertSearch.fromArgs({k: [v] for k, v in filters.items()})
        ((_, sql, params), *_) = query.alertSearchStatements(self.dialect, search)

        def run(txn):
            txn.execute("EXPLAIN " + sql, params)
            names = [d[0] for d in txn.description]
            return [dict(zip(names, row)) for row in txn.fetchall()]

        return await self.pool.runInteraction(run)

    async def test_searchReadsIndexInOrder(self):
        """
        A filtered page is read from its filter's index in the page's
        order: no sort of every match (what a prefix index of the
        MEDIUMTEXT column forced).
        """
        rows = [consoleAlertRow(1000 + n, target=f"10.1.{n % 4}.1",
                                when=f"2026-10-{1 + n % 28:02d}T10:00:00")
                for n in range(2000)]
        await self.pool.runInteraction(schema.insertRows, self.dialect, "alert_entry", rows)
        await self.pool.runInteraction(lambda txn: txn.execute("ANALYZE TABLE alert_entry"))
        for filters, index in (({"target": "10.1.2.1"}, "alert_entry_target"),
                               ({"classification": "Root login"}, "alert_entry_class")):
            (plan,) = await self.explain(filters)
            self.assertEqual(plan["key"], index, plan)
            self.assertNotIn("filesort", plan["Extra"] or "", plan)

    async def test_withoutSearchColumns(self):
        """
        An alert_entry not yet upgraded (no search columns) is still
        searched, on its own columns, and the console says once to run
        mice initdb --upgrade.
        """
        def drop(txn):
            txn.execute("ALTER TABLE alert_entry " + ", ".join(
                f"DROP COLUMN {search}" for search, _ in schema.SEARCH_COLUMNS["alert_entry"]))

        await self.pool.runInteraction(drop)
        self.data.forgetTables()
        warned = []
        self.data.log = Logger(observer=warned.append)
        self.assertTrue(await self.check({"target": "10.0.0.6"}))
        self.assertTrue(await self.check({"user": "root"}))
        self.assertEqual(sum("mice initdb --upgrade" in formatEvent(e) for e in warned), 1)
        self.assertEqual((await self.data.hosts(20))["counts"] != [], True)
