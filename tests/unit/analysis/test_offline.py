"""
Tests for L{mice.analysis.offline.OfflineAnalysis}, the loop of C{mice
analyze}: the M-ICE rules, the LogIDS rules and the correlation rules run
together, line numbers, C{--ruleperf}, the default content, and the scan
strategies giving the same output.  The command as a process:
C{tests.integration.test_analyze}.
"""

import json
import os
import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.aaregex import STRATEGIES, descriptionsFrom, makeAlert
from mice.analysis.correlation import DEFAULT_RULES, Correlator, eventTime, loadCorrelation
from mice.analysis.logids import LogIdsEngine, loadFiles, parseFilters, parseRules
from mice.analysis.offline import (
    OfflineAnalysis,
    decodeBlock,
    defaultContent,
    defaultStrategy,
    readLines,
)
from mice.config import loadAaRegex, loadAaRules, loadMatchFile
from mice.forwarder.format import Timestamper
from mice.record import LogRecord
from tests import FEWER
from tests.unit.analysis.test_aaregex import MATCH_FILE, SEED, writeConfig

NOW = datetime(2004, 11, 23, 0, 0, 0)

FILTERS = """\
[sshd]
match  = \\ssshd\\[\\d+\\]:
fields = sshd\\[\\d+\\]: (?P<event>Failed|Accepted) \\S+ for (?P<user>\\S+) from (?P<src_ip>\\S+)
"""
RULES = "sshd,event eq Failed,alert\nsshd,event eq Accepted,display=user#src_ip\n*,*,reject\n"


def failed(second, source="192.0.2.7", user="root"):
    return (f"Nov 22 10:00:{second:02d} gate sshd[1]: Failed password for {user}"
            f" from {source} port 5555 ssh2")


def engine():
    rules, problems = parseRules(RULES)
    filters, filterProblems = parseFilters(FILTERS)
    assert not problems and not filterProblems, (problems, filterProblems)
    return LogIdsEngine(rules, filters)


def analysis(aaregex=True, logids=True, correlation=False, **kw):
    kw.setdefault("output", "json")
    kw.setdefault("tz", UTC)
    kw.setdefault("now", NOW)
    return OfflineAnalysis(
        loadAaRegex(SEED) if aaregex else None, engine() if logids else None,
        loadCorrelation(DEFAULT_RULES) if correlation else None,
        descriptions=descriptionsFrom(loadMatchFile(MATCH_FILE)), **kw)


def objects(text):
    return [json.loads(line) for line in text.splitlines()]


class CombinedTests(SynchronousTestCase):
    """The rule sets together, in line order, with line numbers."""

    LINES = [failed(1), "Nov 22 10:00:02 gate cron[2]: (root) CMD (ls)",
             "Nov 22 10:00:03 gate sshd[3]: Accepted password for bob from 192.0.2.8"
             " port 1 ssh2"]

    def test_lineOrder(self):
        """
        Each line's M-ICE alerts, then its LogIDS actions, each with its
        1-based line number; rejects and automatic drops are counted, not
        printed.
        """
        run = analysis()
        out = objects(run.batch(self.LINES) + run.finish())
        self.assertEqual([(o["line"], o.get("rule") if "alertid" in o else o["action"])
                          for o in out],
                         [(1, "AuF_Rule"), (1, "Ap_Name"), (1, "alert"),
                          (3, "AuS_Rule"), (3, "Ap_Name"), (3, "display")])
        summary = run.summary("log")
        self.assertIn("log: 3 lines, 2 matched a rule, 4 alerts", summary)
        self.assertIn("rules.txt:3: *,*,reject: 1", summary)

    def test_everyAction(self):
        """everyAction prints the reject of line 2 too."""
        run = analysis(everyAction=True)
        out = objects(run.batch(self.LINES))
        self.assertIn({"line": 2, "application": "", "rule": "rules.txt:3", "action": "reject"},
                      out)

    def test_batchesKeepNumbering(self):
        """Line numbers run on across batches: any split gives the same output."""
        whole = analysis()
        lines = self.LINES * 3
        once = whole.batch(lines)
        split = analysis()
        pieces = split.batch(lines[:2]) + split.batch(lines[2:5]) + split.batch(lines[5:])
        self.assertEqual(pieces, once)
        self.assertEqual(max(o["line"] for o in objects(once)), 9)

    def test_aloneAsBefore(self):
        """One rule set alone prints what mice analyze -c / --rules always printed."""
        mice = analysis(logids=False)
        self.assertEqual([o["rule"] for o in objects(mice.batch(self.LINES))],
                         ["AuF_Rule", "Ap_Name", "AuS_Rule", "Ap_Name"])
        logids = analysis(aaregex=False)
        self.assertEqual([o["action"] for o in objects(logids.batch(self.LINES))],
                         ["alert", "reject", "display"])

    def test_listing(self):
        """The readable listing: the same alerts, numbered."""
        run = analysis(output="listing")
        text = run.batch(self.LINES)
        self.assertTrue(text.startswith("1: 0x1020 Authentication Failure [AuF_Rule -> M]"))
        self.assertIn("1: sshd alert high [rules.txt:1]\n", text)
        self.assertIn("3: sshd display user=bob src_ip=192.0.2.8 [rules.txt:2]\n", text)

    def test_noRules(self):
        self.assertRaises(ValueError, OfflineAnalysis)

    def test_idmefAlone(self):
        """IDMEF output is for the M-ICE rules alone."""
        self.assertRaises(ValueError, analysis, output="idmef")


class CorrelationTests(SynchronousTestCase):
    """The correlation stage over the rule sets' alerts."""

    def test_bruteForce(self):
        """
        Five failed passwords from one address within 60 s: one 0x9010
        after the fifth line, naming the five lines; the same alert the
        Correlator makes from makeAlert's alerts, as the ManagementHost
        would.
        """
        lines = [failed(second) for second in (1, 5, 9, 14, 20)]
        lines.append("Nov 22 10:01:40 gate cron[2]: (root) CMD (ls)")
        run = analysis(correlation=True)
        out = objects(run.batch(lines) + run.finish())
        correlated = [o for o in out if o.get("correlated")]
        self.assertEqual(correlated, [{
            "alertid": "0x9010",
            "classification": "Brute force: repeated authentication failures from one source",
            "source": "192.0.2.7", "target": None, "severity": "high", "correlated": True,
            "lines": [1, 2, 3, 4, 5]}])
        self.assertNotIn("correlated", {key for o in out if "line" in o for key in o})
        self.assertIn("correlated alerts: 1", run.summary("log"))
        # What the correlation stage makes of the agents' alerts.
        settings = loadAaRegex(SEED)
        correlator = Correlator(loadCorrelation(DEFAULT_RULES))
        stamp = Timestamper(NOW)
        made = []
        for number, line in enumerate(lines, 1):
            date, time = stamp(line)
            record = LogRecord("mice-analyze", "<stdin>", number, "", "", "", "", "", "",
                               date, time, line, "")
            for match in settings and run.matcher.matchLine(line):
                if match.alertId == 0x1020:
                    made += correlator.feed(makeAlert(record, match, number, "MICE-RegEx",
                                                      run.descriptions, NOW, UTC))
        made += correlator.flush()
        self.assertEqual([a.alertId for a in made], [0x9010])

    def test_anySplit(self):
        """The correlated alerts do not depend on how the input is cut in batches."""
        lines = [failed(second, f"192.0.2.{second % 3}") for second in range(0, 60, 2)]
        whole = analysis(correlation=True)
        expected = whole.batch(lines) + whole.finish()
        for cut in (1, 7, 13):
            run = analysis(correlation=True)
            text = "".join(run.batch(lines[i:i + cut]) for i in range(0, len(lines), cut))
            self.assertEqual(text + run.finish(), expected)

    def test_logOfAnotherYear(self):
        """
        A log of last year read today, its lines in both syslog's format
        (no year) and ISO 8601's: the syslog dates are of the ISO lines'
        year, not this year's, so that neither kind is late for the
        other.  Five failures from one source within 60 s: 0x9010, from
        lines of both formats.
        """
        lines = ["2025-11-22T10:00:01+00:00 gate sshd[1]: Failed password for root from"
                 " 192.0.2.7 port 5555 ssh2",
                 failed(5), failed(9),
                 "2025-11-22T10:00:14+00:00 gate sshd[1]: Failed password for root from"
                 " 192.0.2.7 port 5555 ssh2",
                 failed(20)]
        run = analysis(correlation=True, now=datetime(2026, 12, 4, 9, 0, 0))
        out = objects(run.batch(lines) + run.finish())
        self.assertEqual([(o["alertid"], o["lines"]) for o in out if o.get("correlated")],
                         [("0x9010", [1, 2, 3, 4, 5])])
        self.assertEqual(run.correlator.counts["late"], 0)
        # Read today, the syslog lines alone would be of this year: the same
        # alert, from them alone.
        run = analysis(correlation=True, now=datetime(2026, 12, 4, 9, 0, 0))
        out = objects(run.batch([failed(s) for s in (1, 5, 9, 14, 20)]) + run.finish())
        self.assertEqual([o["alertid"] for o in out if o.get("correlated")], ["0x9010"])

    def test_lineWithoutTime(self):
        """
        A line whose time is not read (a format the Timestamper does not
        know) is of the time of the line before it, not of the time it is
        read at: an alert on it does not move the stage's event time a
        year ahead, making the alerts after it late.
        """
        lines = [failed(1), failed(5),
                 "gate sshd[1]: Failed password for root from 192.0.2.7 port 5555 ssh2",
                 failed(9), failed(14), failed(20)]
        run = analysis(correlation=True, now=datetime(2026, 12, 4, 9, 0, 0))
        # (In batches: the line before may be in the batch before.)
        out = objects(run.batch(lines[:3]) + run.batch(lines[3:]) + run.finish())
        self.assertEqual([(o["alertid"], o["lines"]) for o in out if o.get("correlated")],
                         [("0x9010", [1, 2, 3, 4, 5])])
        self.assertEqual(run.correlator.counts["late"], 0)
        run = analysis(correlation=True, now=datetime(2026, 12, 4, 9, 0, 0))
        out = objects(run.batch(lines[2:3]) + run.finish())
        self.assertEqual(run._stamps, {1: ("", "")})

    def test_agentsAlerts(self):
        """
        What C{mice analyze} feeds the correlation stage (a few fields of
        each alert, its event time read once per line) makes what the
        alerts the agents make (L{makeAlert}, C{makeLogIdsAlert}) make of
        it, on the detection corpus with the default content: the same
        correlated alerts, from the same lines, and the same counts.
        """
        import sys

        from tests import ROOT

        sys.path.insert(0, os.path.join(ROOT, "bench"))
        try:
            from gendetection import generate
        finally:
            sys.path.pop(0)
        lines = [line for line, _ in generate(6000, 11)]
        # Brute force from one source, lines without a time among them.
        lines[100:100] = [failed(second) for second in range(0, 10, 2)]
        lines[3000:3000] = ["gate sshd[1]: Failed password for root from 192.0.2.9 port 1 ssh2"]
        content = defaultContent()
        logids = loadAaRules(content.aarules)
        files = loadFiles(logids.rulesFile, logids.filterFile, logids.netdefFile)

        def run(kind):
            analysis = kind(loadAaRegex(content.aaregex), LogIdsEngine(*files[:3]),
                            loadCorrelation(content.correlation), output="json", now=NOW,
                            tz=UTC, logidsSettings=logids,
                            descriptions=descriptionsFrom(loadMatchFile(content.matchFile)))
            text = "".join(analysis.batch(lines[i:i + 997]) for i in range(0, len(lines), 997))
            return text + analysis.finish(), analysis.correlator.counts

        text, counts = run(OfflineAnalysis)
        self.assertEqual(run(_AgentsAlerts), (text, counts))
        # The brute force put in, and what the corpus makes of its own.
        self.assertIn('"alertid": "0x9010"', text)
        self.assertRegex(text, '"alertid": "0x90[23]0"')

    @given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 12, 30)),
           st.sampled_from([None, UTC, "Europe/Berlin", "America/New_York", "+05:30"]))
    def test_eventTimeOfAStamp(self, when, zone):
        """
        The event time of a line's date and time is the instant of the ISO
        time an agent's alert carries (L{eventTime} of L{makeAlert}'s), in
        any zone, across daylight saving changes.
        """
        from mice.analysis.aaregex import isoTime, recordTime
        from mice.analysis.correlation import isoSeconds
        from mice.analysis.offline import zoneNamed

        tz = zoneNamed(zone) if isinstance(zone, str) else zone
        stamp = (when.date().isoformat(), when.strftime("%H:%M:%S"))
        run = analysis(correlation=True, tz=tz)
        self.assertEqual(run._seconds(stamp), isoSeconds(recordTime(*stamp, tz)))
        # A date and time that is none: the time of the run, as before.
        self.assertEqual(run._seconds(("2024-02-30", "10:00:00")), isoSeconds(isoTime(NOW)))

    def test_eventTimeAcrossZoneChanges(self):
        """
        The event time of each minute (at seconds 0, 1, 30 and 59, and a
        leap second) of the days a zone changes its offset is the instant
        of the agents' ISO time, read from the start of its hour or not:
        the hours a change cuts (Lord Howe moves by half an hour, at 2:00),
        the hour repeated in autumn and the one skipped in spring.
        """
        from mice.analysis.aaregex import isoTime, recordTime
        from mice.analysis.correlation import isoSeconds
        from mice.analysis.offline import zoneNamed

        days = {"Europe/Berlin": ("2026-03-29", "2026-10-25"),
                "America/St_Johns": ("2026-03-08", "2026-11-01"),
                "Australia/Lord_Howe": ("2026-04-05", "2026-10-04")}
        for zone, changes in days.items():
            tz = zoneNamed(zone)
            run = analysis(correlation=True, tz=tz)
            for day in changes:
                for hour in range(24):
                    for minute in range(60):
                        for second in ("00", "01", "30", "59", "60"):
                            stamp = (day, f"{hour:02d}:{minute:02d}:{second}")
                            expected = recordTime(*stamp, tz)
                            expected = isoSeconds(expected or isoTime(NOW))
                            self.assertEqual(run._seconds(stamp), expected, (zone, stamp))

    def test_timesOutOfRange(self):
        """
        A line dated in year 1 or 9999 (a date the host's zone cannot take)
        is read with the time of the run, as a line without a time: it
        neither stops the run nor the agents' alerts (L{makeAlert}, which
        raised ValueError on it).
        """
        from mice.analysis.aaregex import recordTime

        self.assertIsNone(recordTime("0001-01-01", "00:00:00", None))
        lines = ["0001-01-01T00:00:00 gate sshd[1]: Failed password for root from 192.0.2.7"
                 " port 5555 ssh2",
                 "9999-12-31T23:59:59 gate sshd[1]: Failed password for root from 192.0.2.7"
                 " port 5555 ssh2", failed(1)]
        run = analysis(correlation=True, tz=None)
        out = objects(run.batch(lines) + run.finish())
        self.assertEqual(sorted({o["line"] for o in out if "line" in o}), [1, 2, 3])
        record = LogRecord("mice-analyze", "s", 1, "", "", "", "", "", "", "0001-01-01",
                           "00:00:00", lines[0], "")
        match = run.matcher.matchLine(lines[0])[0]
        alert = makeAlert(record, match, 1, "MICE-RegEx", {}, NOW, None)
        self.assertEqual(alert.detectTime, makeAlert(
            record._replace(date="", time=""), match, 1, "MICE-RegEx", {}, NOW, None).detectTime)

    def test_correlationAlone(self):
        """Correlation rules alone: nothing from one line to correlate, no output."""
        run = OfflineAnalysis(None, None, loadCorrelation(DEFAULT_RULES), output="json")
        self.assertEqual(run.batch([failed(1)]) + run.finish(), "")


class _AgentsAlerts(OfflineAnalysis):
    """
    L{OfflineAnalysis} feeding the correlation stage the alerts the agents
    make (L{makeAlert}, C{makeLogIdsAlert}, with the times a repeated
    message came), their event time read from them (L{eventTime}): the
    stage's input as the ManagementHost has it.
    """

    def _miceAlerts(self, line, index, number, matches, nodes, feed):
        record = self._record(line, number)
        for match in matches:
            alert = makeAlert(record, match, self._messageId, self.settings.analyzerId,
                              self.descriptions, self.now, self.tz, self._repeated(index))
            feed.append((index, number, alert, eventTime(alert)))
            self._messageId += 1

    def _logidsAlerts(self, line, index, number, actions, feed, application=None):
        from mice.analysis.logids import isAddress, syslogHost
        from mice.analysis.logidsalerts import makeLogIdsAlert

        host = syslogHost(line) or ""
        ip = self.ip if self.ip is not None else (host if isAddress(host) else "")
        when = self._when(line, number)
        record = LogRecord("mice-analyze", self.stream, number, host, "", ip, "", "", "",
                           when[0], when[1], line, "")
        logids = self.engine.recordFor(line, ip, self.stream, host, application)
        for action in actions:
            alert = makeLogIdsAlert(record, logids, action, self._logidsMessageId,
                                    self._logidsAnalyzer, self.now, self.tz,
                                    self._repeated(index))
            feed.append((index, number, alert, eventTime(alert)))
            self._logidsMessageId += 1


class RulePerfTests(SynchronousTestCase):
    """--ruleperf: calls, matches and time per rule, the slowest first."""

    def test_slowRuleFirst(self):
        """
        A rule with a backtracking regex (tried on every line: it has no
        literal) is the first row, above the cheap literal rules.
        """
        path = writeConfig(self, "[HOST_INFO]\nManagement = 127.0.0.1:4455\n"
                                 "[AUTH]\nAuSendTo = \"M\"\nAuF_Rule = \".*Failed password.*\"\n"
                                 "[EXPLOIT]\nExSendTo = \"M\"\nEx_Rule = \"(x+x+)+[yz]$\"\n"
                                 "[DEFAULT]\nDeSendTo = \"N\"\n")
        # The pure-Python scan (Hyperscan knows the line cannot match and
        # never runs the regex).
        run = OfflineAnalysis(loadAaRegex(path), engine(), ruleperf=True, output="json",
                              now=NOW, strategy="literal")
        run.batch([failed(1), "x" * 18, failed(2), "nothing here"])
        report = run.summary("log").split("rule performance")[1].splitlines()
        self.assertIn("M-ICE Ex_Rule", report[1])
        # Its literal (x) keeps it to the one line holding one.
        self.assertRegex(report[1], r" 1 calls +0 matches")
        auf = [row for row in report if row.endswith("M-ICE AuF_Rule")]
        self.assertEqual(len(auf), 1)
        self.assertRegex(auf[0], r" 2 matches")
        self.assertTrue(any(row.endswith("LogIDS rules.txt:1 sshd,event eq Failed,alert")
                            and " 2 matches" in row for row in report), report)

    def test_sameOutput(self):
        """Timing changes nothing in what is printed."""
        lines = [failed(1), "Nov 22 10:00:03 gate sshd[3]: Accepted password for bob from"
                            " 192.0.2.8 port 1 ssh2", "other"]
        self.assertEqual(analysis(ruleperf=True).batch(lines), analysis().batch(lines))


_WORDS = st.sampled_from([
    "sshd[12]:", "Failed password", "Failed rsa", "Accepted password", "FAILED SU",
    "ROOT LOGIN REFUSED FROM", "session started for user", "SuSE-FW-DROP", "SuSE-FW-ACCEPT",
    "SuSE-FW-ILLEGAL", "crc32 compensation attack: network attack detected",
    "GET /scripts/root.exe?/c+dir", "REMOTE TSI %", "from 192.0.2.7", "for root", " ", "é",
    "sshd", "Fail", "ed password", "\t", "\\x00"])


class StrategyTests(SynchronousTestCase):
    """Every scan strategy, Hyperscan's included, prints the same bytes."""

    @FEWER
    @given(st.lists(st.lists(_WORDS | st.text(max_size=8), max_size=8).map("".join),
                    min_size=1, max_size=40))
    def test_strategiesAgree(self, lines):
        outputs = set()
        for strategy in STRATEGIES:
            try:
                run = analysis(strategy=strategy, correlation=True)
            except ImportError:
                continue
            outputs.add(run.batch(lines) + run.finish() + run.summary("log"))
        self.assertEqual(len(outputs), 1)

    def test_defaultContentCorpus(self):
        """
        The default content's M-ICE and LogIDS rules on a gencorpus sample
        with bad bytes in it, and the seed's M-ICE rules with DEFAULT routed
        (every line raises something): every strategy gives the same output.
        """
        import sys

        from tests import ROOT

        sys.path.insert(0, os.path.join(ROOT, "bench"))
        try:
            from gencorpus import generate
        finally:
            sys.path.pop(0)
        lines = [line + (" \xe9\x1c" if i % 7 == 0 else "")
                 for i, line in enumerate(generate(3000, 3))]
        with open(SEED) as f:
            seed = f.read()
        self.assertIn('DeSendTo= "N"', seed)
        routed = writeConfig(self, seed.replace('DeSendTo= "N"', 'DeSendTo= "M"'))
        content = defaultContent()
        logids = loadAaRules(content.aarules)
        files = loadFiles(logids.rulesFile, logids.filterFile, logids.netdefFile)
        for config, every in ((content.aaregex, True), (content.aaregex, False),
                              (routed, True)):
            outputs = set()
            for strategy in STRATEGIES:
                try:
                    # The LogIDS blocks are chosen by a Hyperscan scan too
                    # (the lines it decides counted by the group).
                    run = OfflineAnalysis(loadAaRegex(config), LogIdsEngine(*files[:3]),
                                          strategy=strategy, output="json", now=NOW, tz=UTC,
                                          everyAction=every)
                except ImportError:
                    continue
                outputs.add(run.batch(lines) + run.summary("log"))
            self.assertEqual(len(outputs), 1, (config, every))

    def test_default(self):
        """Hyperscan is the default strategy when it is installed."""
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            self.assertEqual(defaultStrategy(), "literal")
        else:
            self.assertEqual(defaultStrategy(), "hyperscan")
        self.assertEqual(analysis().matcher.strategy, defaultStrategy())


class DefaultContentTests(SynchronousTestCase):
    """defaultContent(): mice/data/default, else the seed's files."""

    def test_fallback(self):
        data = self.mktemp()
        os.makedirs(os.path.join(data, "default"))
        content = defaultContent(data)
        self.assertEqual(content.aaregex, os.path.join(data, "mice_mod_pop_aa_regex.conf"))
        self.assertEqual(content.matchFile,
                         os.path.join(data, "matchfiles", "match_file_aa_regex.txt"))
        self.assertIsNone(content.correlation)
        with open(os.path.join(data, "default", "correlation.conf"), "w") as f:
            f.write("")
        with open(os.path.join(data, "default", "mice_mod_pop_aa_regex.conf"), "w") as f:
            f.write("")
        content = defaultContent(data)
        self.assertEqual(content.aaregex,
                         os.path.join(data, "default", "mice_mod_pop_aa_regex.conf"))
        self.assertEqual(content.correlation, os.path.join(data, "default", "correlation.conf"))

    def test_shipped(self):
        """The shipped default content loads and runs."""
        content = defaultContent()
        for path in content:
            self.assertTrue(path is None or os.path.exists(path), path)
        self.assertTrue(loadAaRegex(content.aaregex).sections)


class ReadLinesTests(SynchronousTestCase):
    def test_bytesAsRead(self):
        """
        The scans read a batch's bytes as they were read when they are its
        text's UTF-8; a batch with bytes that are not UTF-8 (read as
        backslash escapes) or CRLF endings is scanned as its text: every
        strategy prints the same, and what the lines read alone print.
        """
        path = self.mktemp()
        attack = failed(7)
        with open(path, "wb") as f:
            f.write(attack.encode() + b"\n" + attack.encode() + b" \xff\xfe\n"
                    + attack.encode() + b" \xc3\xa9\r\n" + failed(8).encode() + b"\n")
        outputs = set()
        for strategy in STRATEGIES:
            for size in (1 << 20, 10):
                try:
                    run = analysis(strategy=strategy)
                except ImportError:
                    continue
                out = "".join(run.batch(chunk, joined)
                              for chunk, joined in readLines(path, size))
                outputs.add(out + run.finish())
        self.assertEqual(len(outputs), 1)
        found = [o["line"] for o in objects(outputs.pop()) if o.get("rule") == "AuF_Rule"]
        self.assertEqual(found, [1, 2, 3, 4])

    def test_batchBytes(self):
        """
        What the scans read of a batch L{decodeBlock} decoded: the bytes
        read, when they are the text's UTF-8; else the text's UTF-8.
        """
        from mice.analysis import aaregex

        block = "Nov 22 10:00:01 gate su: é ok\nx".encode()
        _, text = decodeBlock(block, True)
        self.assertIs(aaregex._encoded(text), block)
        for block in (b"a \xff b\nc", b"a\r\nb\r\n", b"\xc3\xa9\r\n"):
            _, text = decodeBlock(block, True)
            self.assertEqual(aaregex._encoded(text), text.encode("utf-8", "surrogatepass"))
            self.assertNotEqual(aaregex._encoded(text), block)

    def test_numbersAcrossReads(self):
        """Lines cut across reads still number 1, 2, 3... through batch()."""
        path = self.mktemp()
        lines = [failed(i % 60) for i in range(500)]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        run = analysis(logids=False)
        text = "".join(run.batch(chunk, joined) for chunk, joined in readLines(path, 1000))
        self.assertEqual([o["line"] for o in objects(text) if o["rule"] == "AuF_Rule"],
                         list(range(1, 501)))


class CaselessWordsTests(SynchronousTestCase):
    """
    A LogIDS C{ct}/C{nc} with a case-insensitive alternation of words (a
    scanner's user agent) runs as a lower-cased trie on ASCII values, and
    acts as the regex does.
    """

    PATTERN = "(?i:nikto|sqlmap|nmap|dirb/|w3af)"

    def test_words(self):
        from mice.analysis.logids import caselessWords

        self.assertEqual(caselessWords(re.compile(self.PATTERN)),
                         ("nikto", "sqlmap", "nmap", "dirb/", "w3af"))
        self.assertEqual(caselessWords(re.compile(r"(?i)cmd\.exe|root\.exe")),
                         ("cmd.exe", "root.exe"))
        for other in (r"(?i:a|b\d)", "nikto|sqlmap", r"(?i:\xe9t\xe9)", r"(?ia:x)"):
            self.assertIsNone(caselessWords(re.compile(other)), other)

    @given(st.lists(st.sampled_from(["NiKtO", "sqlmap", "nmap", "DIRB/", "dirb", "w3af",
                                     "W3AF", "\u212a", "\u017f", "i\u0307", "Mozilla/5.0",
                                     " ", "x"])
                    # A log line never holds a newline: the reader splits on it.
                    | st.text(st.characters(blacklist_characters="\n"), max_size=4),
                    max_size=6).map("".join))
    def test_sameAsRegex(self, agent):
        from mice.analysis.logids import compileLineEvaluator

        rules, problems = parseRules(f"web,agent ct {self.PATTERN},alert\n"
                                     f"web,agent nc {self.PATTERN},warning\n")
        filters, _ = parseFilters("[web]\nmatch = ^W \nfields = ^W (?P<agent>.*)$\n")
        self.assertEqual(problems, [])
        run = compileLineEvaluator(rules, "web", filters[0])
        kinds = [action.kind for action in run("W " + agent, lambda line: ("", ""))]
        expected = "alert" if re.search(self.PATTERN, agent) else "warning"
        self.assertEqual(kinds, [expected] if agent else kinds)

    def test_newlineInValue(self):
        """
        The case the Hypothesis test found: a value holding a newline does
        not match the filter's C{fields} (C{.} stops at it), so the field is
        missing and C{nc} holds.  The reader never makes such a line.
        """
        from mice.analysis.logids import compileLineEvaluator

        rules, _ = parseRules(f"web,agent ct {self.PATTERN},alert\n"
                              f"web,agent nc {self.PATTERN},warning\n")
        filters, _ = parseFilters("[web]\nmatch = ^W \nfields = ^W (?P<agent>.*)$\n")
        run = compileLineEvaluator(rules, "web", filters[0])
        self.assertEqual([a.kind for a in run("W x\nnmap", lambda line: ("", ""))],
                         ["warning"])
