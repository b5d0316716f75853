"""
C{mice initdb --upgrade} on tables made by the seed's own 2004 statements
(manual chapters 5.2.2 and 7.3.2, copied as printed into
C{tests/fixtures/seed_create_mysql_tab_for_*.txt}), with rows in them: every
row is kept, with a synthetic origin/stream/seq; and a store facing such a
table refuses to start, saying to run it.  On SQLite and MariaDB.
"""

import os
import re

from twisted.trial.unittest import TestCase

from mice.db import schema
from mice.postproc.alertdb import AlertStore
from mice.postproc.rawlogdb import RawLogStore
from tests import ROOT
from tests.integration.fixtures_db import (
    MariaDBStoreCase,
    ScratchMariaDB,
    SQLiteStoreCase,
    logBatch,
    pool,
)
from tests.integration.processes import mice

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def seedStatements(mariadb):
    """
    The seed's CREATE TABLE statements, as printed, made runnable: the PDF
    extraction lost the spaces in C{CREATE TABLE} and C{UNSIGNED NOT NULL};
    on MariaDB C{release} and C{call} (keywords since MySQL 5) need quotes,
    as a C{mysqldump} of the 2004 database has them.
    """
    statements = []
    for name in ("raw_logs", "alert_logs"):
        with open(os.path.join(FIXTURES, f"seed_create_mysql_tab_for_{name}.txt")) as f:
            text = f.read()
        text = text.replace("CREATETABLE", "CREATE TABLE ").replace("UNSIGNEDNOTNULL",
                                                                    "UNSIGNED NOT NULL")
        if mariadb:
            text = re.sub(r"^(release|call) ", r"`\1` ", text, flags=re.M)
        statements += [s.strip() for s in text.split(";") if s.strip()]
    return statements


#: A few rows for each 2004 table: (table, columns, rows).
OLD_ROWS = (
    ("rawlog_line", ("hostname", "domain", "ip", "osystem", "`release`", "version", "date",
                     "time", "logline", "signature"),
     [("www1", "example.org", "10.0.0.7", "Linux", "2.4.21", "SuSE 9.0", "2004-02-01",
       "16:19:%02d" % n, f"sshd[{n}]: Accepted password for alice", "") for n in range(3)]),
    ("scslog_line", ("hostname", "date", "time", "syscall", "program", "pid", "uid", "euid",
                     "`call`", "comment"),
     [("www1", "2004-02-01", "16:19:36", "PROC_realgid", None, 3322 + n, 1302, 0,
       "setgroups32(1, [51])", "result=0") for n in range(2)]),
    ("firewall_line", ("action", "if_in", "source", "destination", "protocol", "date",
                       "time"),
     [("SuSE-FW-DROP-DEFAULT", "eth0", "61.1.2.%d" % n, "10.0.0.1", "TCP", "2004-02-01",
       "16:20:00") for n in range(4)]),
    ("alert_entry", ("alertid", "alertdesc", "classification", "date", "time",
                     "analyzerid", "source_address", "idmefmsg", "signature"),
     [("0x1020", "Authentication failed", "AuF", "2004-02-01", "16:19:40", "aa-1",
       "61.1.2.3", "<IDMEF-Message/>", "") for _ in range(2)]),
)


class UpgradeTestsMixin:
    timeout = 120

    def fillOld(self):
        for statement in seedStatements(self.mariadb):
            self.execute(statement)
        p = "%s" if self.mariadb else "?"
        for table, columns, rows in OLD_ROWS:
            for row in rows:
                self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
                             f" ({', '.join([p] * len(columns))})", row)

    async def test_storeRefusesOldTable(self):
        """
        A store facing a 2004 table refuses to start and says to run
        C{mice initdb --upgrade}.
        """
        self.fillOld()
        for cls in (RawLogStore, AlertStore):
            p, dialect = pool(self.url)
            store = cls(p, dialect)
            try:
                with self.assertRaises(schema.LegacyTable) as caught:
                    await store.start()
            finally:
                store.stop()
            self.assertIn("made by the 2004 scripts", str(caught.exception))
            self.assertIn("`mice initdb --upgrade URL`", str(caught.exception))

    async def test_upgradeKeepsEveryRow(self):
        self.fillOld()
        self.assertEqual(mice("initdb", self.url)[0], 1)
        status, out, err = mice("initdb", "--upgrade", self.url)
        self.assertEqual(status, 0, err)
        self.assertIn("copied 3 rows of rawlog_line_2004 into rawlog_line", out)
        self.assertIn("copied 2 rows of alert_entry_2004 into alert_entry", out)
        for table, columns, rows in OLD_ROWS:
            names = [c.strip("`") for c in columns]
            found = self.query(
                f"SELECT origin, stream, seq, {', '.join(columns)} FROM {table} ORDER BY seq")
            self.assertEqual([tuple(r[:3]) for r in found],
                             [("legacy", table, n + 1) for n in range(len(rows))])
            self.assertEqual([tuple(self.normalise(v) for v in r[3:]) for r in found],
                             [tuple(row) for row in rows], names)
        # Running it again changes nothing, and the stores start and store.
        status, out, err = mice("initdb", "--upgrade", self.url)
        self.assertEqual(status, 0, err)
        self.assertNotIn("copied", out)
        p, dialect = pool(self.url)
        store = RawLogStore(p, dialect)
        try:
            await store.start()
            await store.process(logBatch(1, 6))
        finally:
            store.stop()
        self.assertEqual(self.query("SELECT COUNT(*) FROM rawlog_line")[0][0], 5)
        self.assertEqual(self.query("SELECT COUNT(*) FROM rawlog_line_2004")[0][0], 3)

    @staticmethod
    def normalise(value):
        from mice.db.signature import canonicalValue

        return canonicalValue(value)


class SQLiteUpgradeTests(SQLiteStoreCase, UpgradeTestsMixin, TestCase):
    mariadb = False


class MariaDBUpgradeTests(MariaDBStoreCase, UpgradeTestsMixin, TestCase):
    mariadb = True

    def execute(self, statement, params=()):
        import pymysql

        db = pymysql.connect(connect_timeout=5, autocommit=True, **self.db.connect)
        try:
            with db.cursor() as cursor:
                cursor.execute(statement, params)
        finally:
            db.close()


def alertEntryBeforeSearchColumns(txn):
    """
    alert_entry as M-ICE made it on MariaDB before the console's search
    columns: prefix indexes on the MEDIUMTEXT filter columns.
    """
    statement = schema.createStatements(schema.MYSQL, ("alert_entry",))[0]
    for search, column in schema.SEARCH_COLUMNS["alert_entry"]:
        statement = statement.replace(",\n  " + schema.searchColumnStatement(search, column), "")
        statement = statement.replace(schema.quote(search), f"{schema.quote(column)}(64)")
    assert "search_" not in statement
    txn.execute(statement)


class MariaDBSearchColumnsUpgradeTests(TestCase):
    """
    An alert_entry of M-ICE before the console's indexed search columns:
    reaction 2 and the alert store refuse it with one line naming
    C{mice initdb --upgrade}, which adds them (and their indexes), keeping
    the rows.
    """

    timeout = 120

    async def test_upgradeAddsSearchColumns(self):
        from mice.reactors.alertdb import AlertDatabaseReaction
        from mice.testing import consoleAlertRow

        db = ScratchMariaDB(self)
        url = db.url()
        p, dialect = pool(url)
        self.addCleanup(p.close)
        rows = [consoleAlertRow(n, target=f"10.0.0.{n}", sourceUser="root") for n in (1, 2, 3)]

        def old(txn):
            alertEntryBeforeSearchColumns(txn)
            schema.insertRows(txn, dialect, "alert_entry", rows)

        await p.runInteraction(old)
        for agent in (AlertDatabaseReaction(p, dialect, "the test's database"),
                      AlertStore(p, dialect)):
            with self.assertRaises(schema.LegacyTable) as caught:
                await agent.start()
            text = str(caught.exception)
            self.assertIn("search_target", text)
            self.assertIn("run `mice initdb --upgrade URL`", text)
            self.assertNotIn("\n", text)
        status, out, err = mice("initdb", url)
        self.assertEqual(status, 1, out)
        self.assertIn("mice initdb --upgrade", err)

        status, out, err = mice("initdb", "--upgrade", url)
        self.assertEqual(status, 0, err)
        self.assertIn("added the indexed search columns", out)
        self.assertEqual(
            db.admin("SELECT seq, target_address, search_target, search_suser FROM alert_entry"
                     " ORDER BY seq")[0],
            tuple((n, f"10.0.0.{n}", f"10.0.0.{n}", "root") for n in (1, 2, 3)))
        (indexed,) = db.admin("SELECT column_name, sub_part FROM information_schema.statistics"
                              " WHERE table_schema = DATABASE() AND index_name ="
                              " 'alert_entry_target' ORDER BY seq_in_index")
        self.assertEqual(indexed, (("search_target", None), ("date", None), ("time", None)))
        await AlertDatabaseReaction(p, dialect).start()
        status, out, err = mice("initdb", "--upgrade", url)
        self.assertEqual(status, 0, err)
        self.assertNotIn("added", out)
