"""
L{mice.db.schema} on real databases: a SQLite file and the real MariaDB (the
SQL text itself is tested in C{tests.unit.db.test_schema}).
"""

import datetime
import sqlite3

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from mice import testing
from mice.alerts import alertKey
from mice.db import schema
from mice.db.classify import classify, classifyBatch
from mice.record import LogRecord
from mice.testing import temporaryMariaDBDatabase
from tests import SLOW
from tests.unit.db.test_classify import AUDIT_RAW, FW_PLAIN_UDP, FW_SUSE_TCP, LAUS_SEED, RAW_LINES
from tests.unit.db.test_schema import HOST, batchGroups


def record(line, seq, **fields):
    """
    A record from L{HOST}, the host of L{batchGroups}'s batches.
    """
    return LogRecord(**{"source": "client1", "stream": "/var/log/messages", "seq": seq,
                        **dict(zip(LogRecord._fields[3:9], HOST)), "date": "2004-11-22",
                        "time": "10:00:00", "logline": line, "signature": "sig", **fields})


def classified(records):
    rowsByTable = {}
    for r in records:
        table, row = classify(r)
        rowsByTable.setdefault(table, []).append(row)
    return rowsByTable


def alertRow(seq, index=0):
    return (
        "analyzer-1", "idmef", seq, index, alertKey("analyzer-1", "idmef", seq, index),
        "0x1020", "authentication failed", "AuF", "2004-11-22",
        "10:00:05", "aa-1", "61.1.2.3", "root", "sshd", "ssh", "10.0.0.1", None, None, None,
        "<IDMEF-Message/>", "sig", None,
    )  # fmt: skip


def normalise(value):
    """A column value as SQLite returns it (PyMySQL gives date and timedelta)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    return value


class SchemaTestsMixin:
    """
    The same tests against a real database: L{connect} returns a fresh
    DB-API connection to an empty database.
    """

    dialect = None

    def connect(self):
        raise NotImplementedError()

    def setUp(self):
        self.db = self.connect()
        self.addCleanup(self.db.close)
        self.cursor = self.db.cursor()
        self.transact(schema.createSchema, self.dialect)

    def transact(self, function, *args):
        """Like C{runInteraction}: commit, or roll back and raise."""
        try:
            result = function(self.cursor, *args)
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()
        return result

    def select(self, table, where=""):
        self.cursor.execute(
            "SELECT %s FROM `%s` %s ORDER BY `row_id`"
            % (", ".join("`%s`" % c for c in schema.COLUMNS[table]), table, where)
        )
        return [tuple(normalise(v) for v in row) for row in self.cursor.fetchall()]

    def count(self, table):
        self.cursor.execute("SELECT COUNT(*) FROM `%s`" % table)
        return self.cursor.fetchone()[0]

    def test_createTwice(self):
        self.transact(schema.createSchema, self.dialect)
        self.transact(schema.createSchema, self.dialect, schema.RAWLOG_TABLES)
        for table in schema.ALL_TABLES:
            self.cursor.execute("SELECT * FROM `%s` WHERE 1 = 0" % table)
            self.assertEqual(
                tuple(d[0] for d in self.cursor.description),
                ("row_id",) + schema.COLUMNS[table] + ("received",)
                + tuple(schema.searchColumns(self.dialect, table).values()),
            )

    def test_indexes(self):
        for table in schema.ALL_TABLES:
            names = self.indexNames(table)
            self.assertIn(table + "_key", names)
            self.assertIn(table + "_time", names)
            self.assertIn(table + ("_alertid" if table == "alert_entry" else "_host"), names)

    def test_insertTwiceStoresOnce(self):
        """
        A resent batch (same origin, stream and seq) adds nothing.
        """
        lines = [FW_SUSE_TCP, FW_PLAIN_UDP, AUDIT_RAW, LAUS_SEED[0][0]] + RAW_LINES
        rows = classified(record(line, seq) for seq, line in enumerate(lines))
        self.assertEqual(
            self.transact(schema.insertClassified, self.dialect, rows),
            {"firewall_line": 2, "scslog_line": 2, "rawlog_line": len(RAW_LINES)},
        )
        self.assertEqual(
            self.transact(schema.insertClassified, self.dialect, rows),
            {"firewall_line": 0, "scslog_line": 0, "rawlog_line": 0},
        )
        for table, tableRows in rows.items():
            self.assertEqual(self.select(table), tableRows)
        self.cursor.execute("SELECT `received` FROM `rawlog_line`")
        self.assertTrue(all(r[0] for r in self.cursor.fetchall()))
        # Another stream, or another origin, is another row.
        again = classified([record(FW_SUSE_TCP, 0, stream="/var/log/firewall")])
        again["firewall_line"] += classified([record(FW_SUSE_TCP, 0, source="Client1")])[
            "firewall_line"
        ]
        self.assertEqual(self.transact(schema.insertClassified, self.dialect, again), {"firewall_line": 2})

    def test_rejectCountsKeepTheLargest(self):
        """
        A console event stored again is not added again; a reject count
        keeps the larger of the two.
        """
        def event(seq, count, action="reject"):
            return ("agent1", "logids:web01|/var/log/messages", seq, "web01", "10.0.0.2",
                    "sshd", action, "rules.txt:5", None, None, count, "2004-11-22",
                    "10:00:01", None)

        statement = schema.insertKeepingLargest(self.dialect, "console_event", "count")

        def store(rows):
            self.transact(lambda txn: txn.executemany(statement, rows))

        store([event(256, 3), event(512, 1, "display")])
        store([event(256, 5), event(512, 1, "display")])
        store([event(256, 2), event(768, 1)])
        self.assertEqual([(row[2], row[10]) for row in self.select("console_event")],
                         [(256, 5), (512, 1), (768, 1)])

    def test_alerts(self):
        """
        alert_entry is unique on the alert's key: the alerts of one message
        (one origin, stream and seq) are rows of their own, and each is
        stored once.
        """
        rows = [alertRow(1), alertRow(2), alertRow(2, 1)]
        self.assertEqual(self.transact(schema.insertRows, self.dialect, "alert_entry", rows), 3)
        self.assertEqual(self.transact(schema.insertRows, self.dialect, "alert_entry", rows), 0)
        self.assertEqual(self.transact(schema.insertRows, self.dialect, "alert_entry", []), 0)
        self.assertEqual(self.select("alert_entry"), rows)

    def test_bigAndFourByteText(self):
        """
        Emoji and a 60 KB line (more than 64 KiB of UTF-8) come back intact.
        """
        line = ("Nov 22 10:00:00 h app: \U0001f6e1\ufe0f alert 🔥 " + "x" * 40 + "€ ") * 1000
        self.assertGreater(len(line), 60000)
        self.assertGreater(len(line.encode("utf-8")), 65535)
        emoji = "\U0001f600 host"
        rows = classified(
            [record(line, 1, hostname=emoji), record(AUDIT_RAW + " 🔥" * 20000, 2)]
        )
        self.transact(schema.insertClassified, self.dialect, rows)
        self.assertEqual(self.select("rawlog_line"), rows["rawlog_line"])
        self.assertEqual(self.select("scslog_line"), rows["scslog_line"])
        self.assertEqual(self.select("rawlog_line")[0][3], emoji)

    def test_absurdValues(self):
        """
        What the classifier makes of nonsense still inserts.
        """
        line = LAUS_SEED[0][0].replace("1302", "99999999999999999999")
        records = [
            record(line, 1, date="2004-02-30", time="25:00:00"),
            record(AUDIT_RAW.replace("pid=3538", "pid=-5"), 2, date="", time=""),
            record("x\udcff\ud800", 3, hostname="\udc80", date=None, time=None),
            record("y", 4, source="o" * 500, stream="s" * 5000),
        ]
        rows = classified(records)
        self.transact(schema.insertClassified, self.dialect, rows)
        self.assertEqual(self.select("scslog_line"), rows["scslog_line"])
        self.assertEqual(self.select("rawlog_line"), rows["rawlog_line"])
        self.assertEqual(
            [r[13:16] for r in self.select("scslog_line")],
            [(schema.UNSET_ID,) * 3, (schema.UNSET_ID, 1000, 1000)],
        )

    @SLOW
    @given(st.lists(st.text(max_size=300), min_size=1, max_size=20), st.data())
    def test_anyLinesInsert(self, lines, data):
        """
        Whatever the lines, their rows insert.
        """
        first = self.nextSeq()
        records = [
            record(
                line,
                first + i,
                date=data.draw(st.sampled_from(["2004-11-22", "", "2004-13-01"])),
                time=data.draw(st.sampled_from(["10:00:00", "99:99:99"])),
            )
            for i, line in enumerate(lines)
        ]
        rows = classified(records)
        counts = self.transact(schema.insertClassified, self.dialect, rows)
        self.assertEqual(sum(counts.values()), len(lines))

    @SLOW
    @given(st.lists(st.text(max_size=200),
                    min_size=1, max_size=20))
    def test_textRoundTrips(self, lines):
        """
        Whatever the characters (quotes, backslashes, NUL, Ctrl-Z, 4-byte
        UTF-8), what is stored is exactly what was given.
        """
        first = self.nextSeq()
        lines = [line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines]
        self.transact(schema.insertClassified, self.dialect,
                      classified(record(line, first + i) for i, line in enumerate(lines)))
        stored = []
        for table in schema.RAWLOG_TABLES:
            self.cursor.execute(
                "SELECT `seq`, `logline` FROM `%s` WHERE `seq` >= %d AND `seq` < %d"
                % (table, first, first + len(lines)))
            stored.extend(self.cursor.fetchall())
        self.assertEqual([line for _, line in sorted(stored)], lines)

    def test_hostileText(self):
        hostile = ["'); DROP TABLE rawlog_line; --", "\\'", "\\", "\x00\x1a\r\n\"\\",
                   "caf\u00e9 \U0001f642", "\\'' OR 1=1 #"]
        self.transact(schema.insertClassified, self.dialect,
                      classified(record(line, 900000 + i) for i, line in enumerate(hostile)))
        self.cursor.execute("SELECT `logline` FROM `rawlog_line` WHERE `seq` >= 900000"
                            " ORDER BY `seq`")
        self.assertEqual([r[0] for r in self.cursor.fetchall()], hostile)

    def test_batchesInsertOnce(self):
        """
        Rows inserted a batch at a time are those of L{classify}, stored
        once however often the batch comes.
        """
        lines = [FW_SUSE_TCP, FW_PLAIN_UDP, AUDIT_RAW, LAUS_SEED[0][0]] + RAW_LINES + [
            "'); DROP TABLE rawlog_line; --", "\\'", "\x00\x1a\r\n\"\\", "caf\u00e9 \U0001f642"]
        recs = [["2004-11-22", "10:00:00", line, "sig"] for line in lines]
        groups = batchGroups(("client1", "/var/log/messages", 0, recs))
        expected = {table: len(rows) for table, rows in classified(
            record(line, seq) for seq, line in enumerate(lines)).items()}
        self.assertEqual(self.transact(schema.insertBatches, self.dialect, groups), expected)
        self.assertEqual(self.transact(schema.insertBatches, self.dialect, groups),
                         dict.fromkeys(expected, 0))
        for table, tableRows in classified(
                record(line, seq) for seq, line in enumerate(lines)).items():
            self.assertEqual(self.select(table), tableRows)

    _seq = 0

    def nextSeq(self):
        self._seq += 1000
        return self._seq


class SQLiteSchemaTests(SchemaTestsMixin, SynchronousTestCase):
    dialect = schema.SQLITE

    def connect(self):
        return sqlite3.connect(self.mktemp())

    def indexNames(self, table):
        self.cursor.execute("SELECT name FROM sqlite_master WHERE tbl_name = ?", (table,))
        names = {r[0] for r in self.cursor.fetchall()}
        # The UNIQUE constraint's index is SQLite's autoindex; check it covers the key.
        self.cursor.execute("PRAGMA index_list(`%s`)" % table)
        for _, name, unique, origin, _ in self.cursor.fetchall():
            if origin == "u":
                self.assertTrue(unique)
                self.cursor.execute("PRAGMA index_info(`%s`)" % name)
                if [r[2] for r in self.cursor.fetchall()] == list(schema.UNIQUE[table]):
                    names.add(table + "_key")
        return names


class MariaDBSchemaTests(SchemaTestsMixin, SynchronousTestCase):
    dialect = schema.MYSQL

    def connect(self):
        import pymysql

        return pymysql.connect(autocommit=False, **temporaryMariaDBDatabase(self))

    def indexNames(self, table):
        self.cursor.execute("SHOW INDEX FROM `%s`" % table)
        return {r[2] for r in self.cursor.fetchall()}

    def comInsert(self):
        self.cursor.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
        return int(self.cursor.fetchone()[1])

    def test_multiRowInserts(self):
        """
        A batch goes as a few multi-row INSERTs, not one per row.
        """
        rows = classified(record("line %d" % i, i) for i in range(2000))
        before = self.comInsert()
        self.assertEqual(
            self.transact(schema.insertClassified, self.dialect, rows), {"rawlog_line": 2000}
        )
        self.assertLessEqual(self.comInsert() - before, 2)

    def test_noBackslashEscapesSession(self):
        """
        A server whose sql_mode has NO_BACKSLASH_ESCAPES would read our
        literals differently: every pooled connection removes it from its
        session first.
        """
        from mice.db.pools import _mysqlConnected

        self.cursor.execute("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'")
        _mysqlConnected(self.db)
        self.cursor.execute("SELECT @@SESSION.sql_mode")
        self.assertEqual(self.cursor.fetchone()[0], "STRICT_TRANS_TABLES")
        self.test_hostileText()

    def test_strictMode(self):
        """
        The server really is strict (so the tests above prove something).
        """
        self.cursor.execute("SELECT @@SESSION.sql_mode")
        self.assertIn("STRICT_TRANS_TABLES", self.cursor.fetchone()[0])


class MariaDBLocalDataTests(MariaDBSchemaTests):
    """
    The same through the raw-log store's own connections (L{mice.db.pools}), on
    which batches go as C{LOAD DATA LOCAL} from memory.
    """

    def connect(self):
        from mice.db.pools import localDataDriver

        return localDataDriver().connect(autocommit=False, **temporaryMariaDBDatabase(self))

    def comLoad(self):
        self.cursor.execute("SHOW SESSION STATUS LIKE 'Com_load'")
        return int(self.cursor.fetchone()[1])

    def test_batchesAsLoadData(self):
        """
        A flush's rows go as one LOAD DATA per table, no INSERT.
        """
        lines = [FW_SUSE_TCP, AUDIT_RAW] + ["line %d" % i for i in range(2000)]
        groups = batchGroups(("client1", "s", 1, [["2004-11-22", "10:00:00", line, ""]
                                                  for line in lines[:1000]]),
                             ("client1", "s", 1001, [["2004-11-22", "10:00:00", line, ""]
                                                     for line in lines[1000:]]))
        loads, inserts = self.comLoad(), self.comInsert()
        self.assertEqual(self.transact(schema.insertBatches, self.dialect, groups),
                         {"rawlog_line": 2000, "firewall_line": 1, "scslog_line": 1})
        self.assertEqual((self.comLoad() - loads, self.comInsert() - inserts), (3, 0))
        self.assertFalse(getattr(self.db, "localDataRefused", False))

    def test_batchesOfSeveralKeys(self):
        """
        Batches of different origins, streams or hosts in one flush go in
        one LOAD DATA each, every row with its own batch's columns; batches
        that follow each other with the same key share one.
        """
        def recs(*lines):
            return [["2004-11-22", "10:00:00", line, ""] for line in lines]

        groups = batchGroups(("client1", "s", 1, recs("a", "b")),
                             ("client1", "s", 3, recs("c")),
                             ("client'2\t\\N", "s\n", 1, recs("d")),
                             ("client1", "other", 1, recs("e", "f")))
        loads = self.comLoad()
        self.assertEqual(self.transact(schema.insertBatches, self.dialect, groups),
                         {"rawlog_line": 6})
        self.assertEqual(self.comLoad() - loads, 3)
        self.assertEqual(self.select("rawlog_line"),
                         list(schema.batchRows("rawlog_line", groups["rawlog_line"])))

    def test_longFlushInSeveralLoads(self):
        """
        A flush whose text is long goes in several LOAD DATA statements of
        whole rows, so its text never takes much more memory than its rows.
        """
        self.patch(schema, "LOAD_DATA_CHARS", 5000)
        lines = ["line %d " % i + "x" * (i % 300) for i in range(200)]
        groups = batchGroups(("client1", "s", 1, [["2004-11-22", "10:00:00", line, ""]
                                                  for line in lines]))
        chunks = [chunk for _, chunk in
                  schema.loadDataChunks("rawlog_line", groups["rawlog_line"], 5000)]
        self.assertGreater(len(chunks), 5)
        self.assertTrue(all(chunk.endswith("\n") for chunk in chunks))
        self.assertTrue(all(len(chunk) <= 5000 for chunk in chunks))
        loads = self.comLoad()
        self.assertEqual(self.transact(schema.insertBatches, self.dialect, groups),
                         {"rawlog_line": 200})
        self.assertEqual(self.comLoad() - loads, len(chunks))
        self.assertEqual([r[11] for r in self.select("rawlog_line")], lines)

    @SLOW
    @given(st.lists(st.tuples(st.text(max_size=200), st.text(max_size=20),
                              st.sampled_from(["2004-11-22", "2004-13-01", "0999-01-01"]),
                              st.sampled_from(["10:00:00", "24:00:00"])),
                    min_size=1, max_size=20),
           st.lists(st.text(max_size=40), min_size=6, max_size=6))
    def test_batchTextRoundTrips(self, texts, host):
        """
        Whatever the characters (tabs, newlines, backslashes, NUL, \\N,
        4-byte UTF-8) in the line, signature or host columns, and whether
        the date and time are valid (NULL) or not, what is stored is what
        classify makes of it.
        """
        first = self.nextSeq()
        recs = [[day, clock, line, signature] for line, signature, day, clock in texts]
        key, rowsByTable = classifyBatch("o\tx", "s\\N", first, tuple(host), recs)
        groups = {table: [(key, rows)] for table, rows in rowsByTable.items()}
        self.transact(schema.insertBatches, self.dialect, groups)
        for table, tableGroups in groups.items():
            self.assertEqual(
                self.select(table, "WHERE `seq` >= %d AND `seq` < %d" % (first, first + 1000)),
                list(schema.batchRows(table, tableGroups)))

    def test_otherFilesRefused(self):
        """
        A request for a local file that was not offered (a hostile server
        asking for the daemon's files) is refused, and reads nothing.
        """
        import pymysql

        self.db.offerLocalData("mice-rawlog_line", b"")
        for name in (__file__, "mice-other"):
            error = self.assertRaises(
                pymysql.err.OperationalError, self.cursor.execute,
                "LOAD DATA LOCAL INFILE %s INTO TABLE `rawlog_line` (`logline`)", (name,))
            self.assertIn("not offered", str(error))
            self.assertEqual(self.count("rawlog_line"), 0)
        # The connection is still usable.
        self.cursor.execute("SELECT 1")
        self.assertEqual(self.cursor.fetchone(), (1,))


class MariaDBHelperTests(SynchronousTestCase):
    """
    L{mice.testing.mariadbUrlOrSkip}: skip only outside CI.
    """

    def setUp(self):
        import os

        self.environ = os.environ
        saved = {k: os.environ.get(k) for k in ("CI", testing.MARIADB_URL_ENV)}

        def restore():
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

        self.addCleanup(restore)
        os.environ[testing.MARIADB_URL_ENV] = "mysql://root:pw@127.0.0.1:1/nowhere"

    def test_unreachableSkips(self):
        self.environ.pop("CI", None)
        self.assertRaises(SkipTest, testing.mariadbUrlOrSkip, SynchronousTestCase())
        self.environ["CI"] = ""
        self.assertRaises(SkipTest, testing.mariadbUrlOrSkip, SynchronousTestCase())

    def test_unreachableFailsUnderCI(self):
        self.environ["CI"] = "true"
        self.assertRaises(
            self.failureException, testing.mariadbUrlOrSkip, SynchronousTestCase()
        )
        self.assertRaises(
            self.failureException, testing.temporaryMariaDBDatabase, SynchronousTestCase()
        )

    def test_url(self):
        import pymysql

        self.environ[testing.MARIADB_URL_ENV] = "mysql://root@127.0.0.1:3306/test"
        connect = testing.mariadbUrlOrSkip(self)
        self.assertEqual(
            connect,
            {
                "host": "127.0.0.1",
                "port": 3306,
                "user": "root",
                "password": "",
                "database": "test",
                "charset": "utf8mb4",
            },
        )
        pymysql.connect(**connect).close()
