# -*- test-case-name: tests.unit.db.test_schema -*-
"""
Tests for L{mice.db.schema}: the SQL text (the schema on a real SQLite file and
on the real MariaDB: C{tests.integration.test_schema}).
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.db import schema
from mice.db.classify import classify, classifyBatch
from mice.record import LogRecord
from tests.unit.db.test_classify import AUDIT_RAW, FW_PLAIN_UDP, FW_SUSE_TCP, LAUS_SEED, RAW_LINES

SEED_COLUMNS = {
    "rawlog_line": "hostname domain ip osystem release version date time logline signature",
    "scslog_line": "hostname domain ip osystem release version date time syscall program pid "
    "uid euid call comment",
    "firewall_line": "action if_in if_out mac source destination ip_length tos prec ttl id "
    "protocol src_port dst_port pac_length date time",
    "alert_entry": "alertid alertdesc classification date time analyzerid source_address "
    "source_user source_process source_service target_address target_user target_process "
    "target_service idmefmsg signature",
}


HOST = ("fw", "example.org", "10.0.0.1", "Linux", "2.6.5", "SuSE 9.1")


def batchGroups(*batches):
    """
    L{schema.insertBatches}'s argument for C{(source, stream, seq, recs)}
    batches from host L{HOST}.
    """
    groupsByTable = {}
    for source, stream, seq, recs in batches:
        key, rowsByTable = classifyBatch(source, stream, seq, HOST, recs)
        for table, rows in rowsByTable.items():
            groupsByTable.setdefault(table, []).append((key, rows))
    return groupsByTable


class StatementTests(SynchronousTestCase):
    def test_seedColumns(self):
        """
        Every table has the seed's columns in the seed's order, after the
        provenance columns.
        """
        for table, seed in SEED_COLUMNS.items():
            columns = schema.COLUMNS[table]
            self.assertEqual(columns[:3], ("origin", "stream", "seq"))
            seed = seed.split()
            self.assertEqual([c for c in columns if c in seed], seed)
            self.assertEqual(len(set(columns)), len(columns))
        self.assertEqual(schema.COLUMNS["rawlog_line"][3:], LogRecord._fields[3:])

    def test_classifiedKeepsWholeRecord(self):
        for table in schema.RAWLOG_TABLES:
            self.assertTrue(set(LogRecord._fields[3:]) <= set(schema.COLUMNS[table]), table)

    def test_insertStatements(self):
        self.assertEqual(
            schema.insertStatement(schema.SQLITE, "alert_entry"),
            "INSERT OR IGNORE INTO `alert_entry` ("
            + ", ".join("`%s`" % c for c in schema.COLUMNS["alert_entry"])
            + ") VALUES ("
            + ", ".join(["?"] * 22)
            + ")",
        )
        self.assertEqual(
            schema.insertStatement("mysql", "rawlog_line"),
            "INSERT IGNORE INTO `rawlog_line` (`origin`, `stream`, `seq`, `hostname`, "
            "`domain`, `ip`, `osystem`, `release`, `version`, `date`, `time`, `logline`, "
            "`signature`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        )

    def test_pymysqlBatchesInserts(self):
        """
        The MySQL insert is the form PyMySQL's C{executemany} rewrites into
        multi-row INSERTs.
        """
        from pymysql.cursors import RE_INSERT_VALUES

        for table in schema.ALL_TABLES:
            self.assertIsNotNone(RE_INSERT_VALUES.match(schema.insertStatement("mysql", table)))

    def test_batchStatementsAsRowStatements(self):
        """
        The statements made from batches are, to the byte, those made from
        the same rows built one by one, statement limit included.
        """
        lines = [FW_SUSE_TCP, FW_PLAIN_UDP, AUDIT_RAW, LAUS_SEED[0][0], "'\\\"\0\n\r\x1a"]
        lines += RAW_LINES
        recs = [["2004-11-22", "10:00:%02d" % (i % 60), line + " " + "x" * (i % 700), "s"]
                for i, line in enumerate(lines * 400)]
        groups = batchGroups(("client1", "/var/log/messages", 1, recs[:1000]),
                             ("client'2", "/var/log/other", 5, recs[1000:]))
        self.assertEqual(set(groups), set(schema.RAWLOG_TABLES))
        for table, tableGroups in groups.items():
            rows = list(schema.batchRows(table, tableGroups))
            self.assertEqual(list(schema.mysqlBatchStatements(table, tableGroups)),
                             list(schema.mysqlInsertStatements(table, rows)))
            self.assertEqual(rows, [classify(LogRecord(*r[:3], *r[3:9], *(
                r[-4:-2] if table == "firewall_line" else r[9:11]), r[-2], r[-1]))[1]
                for r in rows])

    @given(st.text(max_size=100))
    def test_mysqlEscape(self, text):
        """
        The escaping is the server's own, whatever the characters.
        """
        from pymysql.converters import escape_string

        self.assertEqual(schema.mysqlEscape(text), escape_string(text))

    def test_everyIdentifierQuoted(self):
        for dialect in (schema.SQLITE, schema.MYSQL):
            text = "\n".join(schema.createStatements(dialect))
            for keyword in ("release", "call", "date", "time"):
                self.assertNotRegex(text, r"(?<!`)\b%s\b(?!`)" % keyword)

    def test_idempotentText(self):
        for dialect in (schema.SQLITE, schema.MYSQL):
            for statement in schema.createStatements(dialect):
                self.assertRegex(statement, r"^CREATE (TABLE|INDEX) IF NOT EXISTS ")

    def test_tables(self):
        self.assertEqual(
            [s.split("`")[1] for s in schema.createStatements("mysql", schema.RAWLOG_TABLES)],
            list(schema.RAWLOG_TABLES),
        )
        self.assertEqual(len(schema.createStatements("sqlite", "alert_entry")), 1 + 8)
        self.assertRaises(ValueError, schema.createStatements, "sqlite", ["rawlog"])

    def test_searchColumns(self):
        """
        MariaDB's alert_entry has a STORED VARCHAR(255) copy of each
        filter column, and the filter's index is on it whole (no prefix);
        an index on a copy the table lacks is not offered to it.  SQLite
        indexes the columns themselves.
        """
        text = schema.createStatements("mysql", ("alert_entry",))[0]
        self.assertIn("`search_target` VARCHAR(255) AS (LEFT(`target_address`, 255)) STORED",
                      text)
        self.assertIn("INDEX `alert_entry_target` (`search_target`, `date`, `time`)", text)
        self.assertNotIn("`target_address`(", text)
        self.assertEqual(len(schema.searchColumns("mysql", "alert_entry")), 7)
        self.assertEqual(schema.searchColumns("sqlite", "alert_entry"), {})
        self.assertEqual(schema.searchColumns("mysql", "rawlog_line"), {})
        self.assertNotIn("search_", "\n".join(schema.createStatements("sqlite")))
        plain = set(schema.COLUMNS["alert_entry"])
        names = [name for name, _ in schema.indexStatements("mysql", "alert_entry", plain)]
        self.assertEqual(names, ["alert_entry_time"])
        self.assertEqual(len(list(schema.indexStatements("sqlite", "alert_entry", plain))), 8)
        self.assertEqual(schema.searchCondition("mysql", "alertid", "0x1020"),
                         ("`search_alertid` = %s AND `alertid` = %s", ("0x1020", "0x1020")))
        self.assertEqual(schema.searchCondition("sqlite", "alertid", "0x1020"),
                         ("`alertid` = ?", ("0x1020",)))

    def test_dialectNamed(self):
        self.assertIs(schema.dialectNamed("SQLite"), schema.SQLITE)
        self.assertIs(schema.dialectNamed("mariadb"), schema.MYSQL)
        self.assertRaises(ValueError, schema.dialectNamed, "postgresql")


class LocalDataFallbackTests(SynchronousTestCase):
    def test_refusedFallsBackToInserts(self):
        """
        A server that does not allow LOAD DATA LOCAL gets INSERTs, and the
        connection does not try again.
        """
        class Connection:
            def offerLocalData(self, name, data):
                self.offered = name

        class Refusing:
            rowcount = 1
            connection = Connection()
            executed = []

            def execute(self, statement):
                self.executed.append(statement.split()[0])
                if statement.startswith("LOAD"):
                    raise Exception(1148, "The used command is not allowed")

        txn = Refusing()
        groups = batchGroups(("client1", "s", 1, [["2004-11-22", "10:00:00", "x", ""]]))
        self.assertEqual(schema.insertBatches(txn, schema.MYSQL, groups), {"rawlog_line": 1})
        self.assertEqual(schema.insertBatches(txn, schema.MYSQL, groups), {"rawlog_line": 1})
        self.assertEqual(txn.executed, ["LOAD", "INSERT", "INSERT"])
        self.assertTrue(txn.connection.localDataRefused)

    def test_otherErrorsRaise(self):
        class Connection:
            def offerLocalData(self, name, data):
                pass

        class Failing:
            connection = Connection()

            def execute(self, statement):
                raise RuntimeError(1213, "Deadlock found")

        groups = batchGroups(("client1", "s", 1, [["2004-11-22", "10:00:00", "x", ""]]))
        self.assertRaises(RuntimeError, schema.insertBatches, Failing(), schema.MYSQL, groups)
        self.assertFalse(hasattr(Failing.connection, "localDataRefused"))


