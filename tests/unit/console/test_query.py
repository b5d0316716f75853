"""
Tests for L{mice.console.query}: filters, cursors, SQL text and row shapes.
"""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.console import query
from mice.console.query import AlertSearch, BadQuery, LogSearch
from mice.db.schema import COLUMNS
from mice.testing import consoleAlertRow


def summaryRow(rowId, **kw):
    """A row as the search selects it (L{query.SUMMARY_COLUMNS})."""
    values = dict(zip(COLUMNS["alert_entry"], consoleAlertRow(rowId, **kw)), row_id=rowId)
    return tuple(values[c] for c in query.SUMMARY_COLUMNS)


class ParseTests(SynchronousTestCase):
    def test_when(self):
        self.assertEqual(query.parseWhen("2026-11-22"), ("2026-11-22", "00:00:00"))
        self.assertEqual(query.parseWhen("2026-11-22", end=True), ("2026-11-22", "23:59:59"))
        self.assertEqual(query.parseWhen("2026-11-22T10:05"), ("2026-11-22", "10:05:00"))
        self.assertEqual(query.parseWhen("2026-11-22T10:05", end=True),
                         ("2026-11-22", "10:05:59"))
        self.assertEqual(query.parseWhen("2026-11-22 10:05:07"), ("2026-11-22", "10:05:07"))
        for bad in ("yesterday", "2026-13-01", "2026-11-22T25:00", "2026-11-22T10:61",
                    "2026-11-22'; DROP TABLE alert_entry; --"):
            self.assertRaises(BadQuery, query.parseWhen, bad)

    def test_alertId(self):
        self.assertEqual(query.parseAlertId("0x1020"), "0x1020")
        self.assertEqual(query.parseAlertId("0X1020"), "0x1020")
        self.assertEqual(query.parseAlertId("4128"), "0x1020")
        self.assertEqual(query.parseAlertId("0x10"), "0x0010")
        self.assertRaises(BadQuery, query.parseAlertId, "AuF")
        self.assertRaises(BadQuery, query.parseAlertId, "-1")

    @given(st.lists(st.one_of(st.none(), st.integers(), st.text()), max_size=4))
    def test_cursorRoundTrip(self, key):
        self.assertEqual(query.decodeCursor(query.encodeCursor(key), list), key)

    def test_badCursor(self):
        for text in ("!!!", query.encodeCursor(["x"]), query.encodeCursor([None, "1", 3]),
                     query.encodeCursor(["2026-11-22", "10:00:00", "3"])):
            self.assertRaises(BadQuery, AlertSearch.fromArgs, {b"after": [text.encode()]})

    def test_fromArgs(self):
        search = AlertSearch.fromArgs({
            b"from": [b"2026-11-22"], b"to": [b"2026-11-23T10:00"], b"alertid": [b"4128"],
            b"classification": [b"Authentication failure"], b"source": [b"192.0.2.7"],
            b"target": [b"10.0.0.5"], b"user": [b"root"], b"analyzer": [b"MICE-RegEx"],
            b"host": [b"web01"], b"limit": [b"20"]})
        self.assertEqual(search.start, ("2026-11-22", "00:00:00"))
        self.assertEqual(search.end, ("2026-11-23", "10:00:59"))
        self.assertEqual(dict(search.columns), {
            "alertid": "0x1020", "classification": "Authentication failure",
            "source_address": "192.0.2.7", "target_address": "10.0.0.5",
            "analyzerid": "MICE-RegEx"})
        self.assertEqual((search.user, search.host, search.addresses, search.limit),
                         ("root", "web01", ("web01",), 20))
        self.assertEqual(search.withAddresses(["10.0.0.5", "web01"]).addresses,
                         ("web01", "10.0.0.5"))

    def test_fromArgsRefuses(self):
        for args in ({b"nosuch": [b"x"]}, {b"limit": [b"0"]}, {b"limit": [b"501"]},
                     {b"limit": [b"ten"]}, {b"user": [b"x" * 300]}):
            self.assertRaises(BadQuery, AlertSearch.fromArgs, args)
        self.assertEqual(AlertSearch.fromArgs({b"user": [b"  "]}).user, None)

    def test_logSearch(self):
        search = LogSearch.fromArgs({b"action": [b"drop"], b"host": [b"web01"]})
        self.assertEqual((search.action, search.host), ("drop", "web01"))
        self.assertRaises(BadQuery, LogSearch.fromArgs, {b"action": [b"display"]})
        self.assertRaises(BadQuery, LogSearch.fromArgs, {b"where": [b"1=1"]})


class StatementTests(SynchronousTestCase):
    def test_valuesAreParameters(self):
        """
        Every value goes as a parameter, never into the text.
        """
        hostile = "x' OR '1'='1"
        search = AlertSearch.fromArgs({"classification": [hostile], "user": [hostile],
                                       "host": [hostile]})
        for dialect in ("sqlite", "mysql"):
            for _, sql, params in query.alertSearchStatements(dialect, search):
                self.assertNotIn(hostile, sql)
                self.assertIn(hostile, params)

    def test_userIsTwoQueries(self):
        search = AlertSearch.fromArgs({"user": ["root"], "from": ["2026-11-22"]})
        statements = query.alertSearchStatements("sqlite", search)
        self.assertEqual([phase for phase, _, _ in statements], ["dated", "dated"])
        self.assertIn("`source_user` = ?", statements[0][1])
        self.assertIn("`target_user` = ?", statements[1][1])
        self.assertTrue(statements[0][1].endswith(
            "ORDER BY `date` DESC, `time` DESC, `row_id` DESC LIMIT 51"))

    def test_mysqlSearchColumns(self):
        """
        On MariaDB every filter column is compared through its indexed
        search copy (its first 255 characters) and itself; without the
        copies (a table not upgraded) through itself only.  SQLite has none.
        """
        long = "t" * 256
        search = AlertSearch.fromArgs({"target": [long], "user": ["root"],
                                       "classification": ["AuF"]})
        first, _, second, _ = query.alertSearchStatements("mysql", search)
        self.assertIn("`search_target` = %s AND `target_address` = %s", first[1])
        self.assertIn("`search_class` = %s AND `classification` = %s", first[1])
        self.assertIn("`search_suser` = %s AND `source_user` = %s", first[1])
        self.assertIn("`search_tuser` = %s AND `target_user` = %s", second[1])
        self.assertEqual(first[2][:2], ("AuF", "AuF"))
        self.assertIn(long[:255], first[2])
        self.assertIn(long, first[2])
        for dialect, searched in (("mysql", False), ("sqlite", True)):
            for _, sql, _ in query.alertSearchStatements(dialect, search, searched=searched):
                self.assertNotIn("search_", sql)
                self.assertIn("`target_address` = ", sql)

    def test_undatedPhase(self):
        """
        Without a time filter, the alerts without a date follow; a cursor in
        that phase asks for them only.
        """
        statements = query.alertSearchStatements("mysql", AlertSearch())
        self.assertEqual([phase for phase, _, _ in statements], ["dated", "undated"])
        self.assertIn("`date` IS NULL", statements[1][1])
        later = AlertSearch(after=(None, None, 17))
        (phase, sql, params), = query.alertSearchStatements("mysql", later)
        self.assertEqual(phase, "undated")
        self.assertEqual(params, (17,))
        self.assertIn("`row_id` < %s", sql)

    def test_merge(self):
        rows = [query.alertSummary(summaryRow(i, when=when))
                for i, when in enumerate(["2026-11-22T10:00:00", "2026-11-22T10:00:00",
                                          "2026-11-23T09:00:00", None, None], 1)]
        page, cursor = query.mergePages([rows[:3], rows[1:]], 3)
        self.assertEqual([r["rowId"] for r in page], [3, 2, 1])
        self.assertEqual(query.decodeCursor(cursor, list), ["2026-11-22", "10:00:00", 1])
        page, cursor = query.mergePages([rows], 5)
        self.assertEqual([r["rowId"] for r in page], [3, 2, 1, 5, 4])
        self.assertIsNone(cursor)


class ShapeTests(SynchronousTestCase):
    def test_alertSummary(self):
        summary = query.alertSummary(summaryRow(
            7, severity="high", line="sshd: <script>alert(1)</script> & co",
            source="192.0.2.7", sourceUser="root"))
        self.assertEqual(summary["rowId"], 7)
        self.assertEqual(summary["alertId"], "0x1020")
        self.assertEqual(summary["severity"], "high")
        self.assertEqual(summary["logLine"], "sshd: <script>alert(1)</script> & co")
        self.assertEqual(summary["sourceUser"], "root")
        self.assertNotIn("idmef", summary)

    def test_mysqlValues(self):
        self.assertEqual(query.text(date(2026, 11, 22)), "2026-11-22")
        self.assertEqual(query.text(timedelta(hours=9, minutes=5, seconds=3)), "09:05:03")
        self.assertEqual(query.text(b"x\xff"), "x\ufffd")

    def test_severityOfOtherAnalyzers(self):
        self.assertEqual(query.severityOf(
            '<idmef:Impact severity="low" type="other"/>'), "low")
        self.assertIsNone(query.severityOf("<Alert/>"))
        self.assertIsNone(query.severityOf(None))

    def test_eventShape(self):
        row = (3, "agent", "web01", "10.0.0.5", "sshd", "display", "rules.txt:2",
               '[["user", "<b>x</b>"]]', None, 1, "2026-11-22", "10:00:00", None)
        shaped = query.eventShape(row)
        self.assertEqual(shaped["fields"], [["user", "<b>x</b>"]])
        self.assertEqual(shaped["host"], "web01")
        broken = query.eventShape(row[:7] + ("not json",) + row[8:])
        self.assertIsNone(broken["fields"])
