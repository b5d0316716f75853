"""
Tests for L{mice.analysis.framing}: syslog lines in RFC 5424's framing
read in the form rsyslog's C{RSYSLOG_FileFormat} writes, and the default
content raising on them what it raises on that form.
"""

import json
import time
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.aaregex import descriptionsFrom
from mice.analysis.correlation import loadCorrelation
from mice.analysis.framing import (
    MAX_REPEAT,
    repeatCount,
    traditional,
    traditionalLines,
    traditionalRecord,
    traditionalRecords,
)
from mice.analysis.logids import LogIdsEngine, loadFiles
from mice.analysis.offline import OfflineAnalysis, defaultContent
from mice.config import loadAaRegex, loadAaRules, loadMatchFile
from mice.record import LogRecord


class TraditionalTests(SynchronousTestCase):
    def test_rfcExamples(self):
        """The examples of RFC 5424 6.5, in the order it gives them."""
        self.assertEqual(
            traditional("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 -"
                        " \ufeff'su root' failed for lonvick on /dev/pts/8"),
            "2003-10-11T22:14:15.003Z mymachine.example.com su: 'su root' failed for lonvick"
            " on /dev/pts/8")
        self.assertEqual(
            traditional("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - -"
                        " %% It's time to make the do-nuts."),
            "2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc[8710]: %% It's time to make"
            " the do-nuts.")
        self.assertEqual(
            traditional('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47'
                        ' [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
                        ' \ufeffAn application event log entry...'),
            "2003-10-11T22:14:15.003Z mymachine.example.com evntslog: An application event"
            " log entry...")
        self.assertEqual(
            traditional('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47'
                        ' [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
                        '[examplePriority@32473 class="high"]'),
            "2003-10-11T22:14:15.003Z mymachine.example.com evntslog:")

    def test_structuredDataEscapes(self):
        """
        A value of the structured data may hold C{]}, and C{\\"} and
        C{\\]} escaped (fail2ban's sample of sshd through rsyslog).
        """
        self.assertEqual(
            traditional('<38>1 2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd 55555'
                        ' - [timeQuality tzKnown="1" isSynced="0"][xxx@123 test="[brackets]"]'
                        ' Failed unknown for invalid user redmond from 192.0.2.1 port 59197'
                        ' ssh2'),
            "2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd[55555]: Failed unknown"
            " for invalid user redmond from 192.0.2.1 port 59197 ssh2")
        self.assertEqual(traditional('<38>1 2019-07-08T17:40:17Z h a 1 - [x@1 v="a\\"] b\\]"]'
                                     ' [not data]'),
                         "2019-07-08T17:40:17Z h a[1]: [not data]")

    def test_nilValues(self):
        """
        A nil host or process id is left out, and a nil application name
        leaves the line without a tag; a message starting with a space keeps
        it (rsyslog's C{sp-if-no-1st-sp}).
        """
        self.assertEqual(traditional("<38>1 2019-07-08T17:40:16Z - sshd 5 - - Failed x"),
                         "2019-07-08T17:40:16Z sshd[5]: Failed x")
        self.assertEqual(traditional("<38>1 2019-07-08T17:40:16Z h - - - - a message"),
                         "2019-07-08T17:40:16Z h a message")
        self.assertEqual(traditional("<38>1 2019-07-08T17:40:16Z h - - - -"),
                         "2019-07-08T17:40:16Z h")
        self.assertEqual(traditional("<86>1 2019-07-08T17:40:18Z h sudo - - -    alice : x"),
                         "2019-07-08T17:40:18Z h sudo:   alice : x")

    def test_othersAsTheyAre(self):
        """
        A line not in RFC 5424's framing, or whose timestamp is nil, is the
        same string.
        """
        for line in ["Nov 22 10:00:01 www sshd[1234]: Failed password for root",
                     "<165>1 - mymachine.example.com evntslog - ID47 - x",
                     "<38>Nov 22 www sshd[1234]: x", "<38>x 2019-07-08T17:40:16Z",
                     "<38>1 2019-07-08T17:40:16Z h a 1 - [unclosed x",
                     "<38>1 2019-07-08T17:40:16Z h a 1 -",
                     "<script>alert(1)</script>", "<", ""]:
            self.assertIs(traditional(line), line, line)

    def test_priority(self):
        """
        A priority before a classic or ISO date (a line as it came over the
        network) is left out: the date, the host and the tag are then read
        as those of any other line.
        """
        self.assertEqual(traditional("<38>Nov 22 10:00:01 www sshd[1234]: Failed password"),
                         "Nov 22 10:00:01 www sshd[1234]: Failed password")
        self.assertEqual(traditional("<38>Nov  2 10:00:01 www su: x"), "Nov  2 10:00:01 www su: x")
        self.assertEqual(traditional("<191>2019-07-08T17:40:16Z www sshd[1234]: x"),
                         "2019-07-08T17:40:16Z www sshd[1234]: x")

    def test_repeated(self):
        """
        rsyslog's C{message repeated N times: [ MESSAGE]} is the message it
        repeats, behind the same header, in either framing.
        """
        self.assertEqual(
            traditional("Dec  7 06:10:12 srv1 sshd[2012]: message repeated 5 times: [ Failed"
                        " password for root from 198.51.100.12 port 22 ssh2]"),
            "Dec  7 06:10:12 srv1 sshd[2012]: Failed password for root from 198.51.100.12 port"
            " 22 ssh2")
        self.assertEqual(
            traditional("<38>1 2019-07-08T17:40:16Z h sshd 5 - - message repeated 2 times: [x]"),
            "2019-07-08T17:40:16Z h sshd[5]: x")
        for line in ["Dec  7 06:10:12 srv1 a[1]: message repeated 5 times: [ not closed",
                     "Dec  7 06:10:12 srv1 a[1]: the message repeated 5 times: [ x]",
                     "message repeated 5 times: [ x]"]:
            self.assertIs(traditional(line), line, line)

    def test_repeatCount(self):
        """
        How many times a line's message came: N for rsyslog's C{message
        repeated N times}, in either framing (at most L{MAX_REPEAT}); 1 for
        any other line, and for what L{traditional} reads as it is.
        """
        self.assertEqual(repeatCount("Dec  7 06:10:12 srv1 sshd[2012]: message repeated 5 times:"
                                     " [ Failed password for root from 198.51.100.12 port 22"
                                     " ssh2]"), 5)
        self.assertEqual(repeatCount("<38>1 2019-07-08T17:40:16Z h sshd 5 - - message repeated"
                                     " 3 times: [x]"), 3)
        self.assertEqual(repeatCount("a[1]: message repeated 12345678901234567890 times: [ x]"),
                         MAX_REPEAT)
        for line in ["Dec  7 06:10:12 srv1 a[1]: message repeated 5 times: [ not closed",
                     "Dec  7 06:10:12 srv1 a[1]: the message repeated 5 times: [ x]",
                     "message repeated 5 times: [ x]",
                     "Dec  7 06:10:12 srv1 a[1]: message repeated 1 times: [ x]",
                     "Dec  7 06:10:12 srv1 a[1]: message repeated 0 times: [ x]",
                     "Dec  7 06:10:12 srv1 sshd[1]: Failed password for root"]:
            self.assertEqual(repeatCount(line), 1, line)

    def test_repeatedHostile(self):
        """
        A line of C{message repeated} again and again is read in one pass
        (the first one only is looked at).
        """
        line = "Dec  7 06:10:12 srv1 a[1]: " + "x: message repeated 1 times: [" * 2000
        began = time.process_time()
        self.assertIs(traditional(line), line)
        self.assertLess(time.process_time() - began, 0.05)

    @given(st.from_regex(r"[!-~]{1,48}", fullmatch=True).filter(lambda s: s != "-"),
           st.one_of(st.just("-"), st.from_regex(r"[0-9]{1,10}", fullmatch=True)),
           st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True).filter(lambda s: s != "-"),
           st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
                   max_size=60),
           st.sampled_from(["-", '[a@1 b="c"]', '[a@1 b="]\\""][d e="f"]']),
           st.booleans())
    def test_anyMessage(self, app, pid, host, message, data, bom):
        """
        Any message of any application, process and host, with or without
        structured data and a byte-order mark, is the line rsyslog writes
        for it.
        """
        line = (f"<13>1 2024-12-01T00:00:00.5+01:00 {host} {app} {pid} ID1 {data}"
                f" {chr(0xfeff) if bom else ''}{message}")
        tag = f"{app}:" if pid == "-" else f"{app}[{pid}]:"
        space = "" if message.startswith(" ") else " "
        self.assertEqual(traditional(line),
                         f"2024-12-01T00:00:00.5+01:00 {host} {tag}"
                         + (f"{space}{message}" if message else ""))


def record(line):
    return LogRecord("c", "/var/log/messages", 1, "h", "", "10.0.0.1", "", "", "",
                     "2019-07-08", "17:40:16", line, "")


class LinesTests(SynchronousTestCase):
    FRAMED = "<38>1 2019-07-08T17:40:16Z h sshd 5 - - Failed password for root from 192.0.2.1"
    READ = "2019-07-08T17:40:16Z h sshd[5]: Failed password for root from 192.0.2.1"

    def test_noneFramed(self):
        """A batch without an RFC 5424 line is given back as it is."""
        lines = ["Nov 22 10:00:01 www su: x", "<38>x", "message repeated 2 times: [x]"]
        text = "\n".join(lines)
        read, joined = traditionalLines(lines, text)
        self.assertIs(read, lines)
        self.assertIs(joined, text)

    def test_framed(self):
        """Each RFC 5424 line is read, the others are kept, and the text joins them."""
        lines = ["a", self.FRAMED, "<b", self.FRAMED]
        self.assertEqual(traditionalLines(lines),
                         (["a", self.READ, "<b", self.READ], f"a\n{self.READ}\n<b\n{self.READ}"))
        self.assertEqual(traditionalLines([self.FRAMED]), ([self.READ], self.READ))

    def test_records(self):
        """
        A record of an RFC 5424 line has the line read (the rest as it
        was); a list without one is the same list, a record the same record.
        """
        plain = record("Nov 22 10:00:01 www su: x")
        framed = record(self.FRAMED)
        self.assertIs(traditionalRecord(plain), plain)
        self.assertEqual(traditionalRecord(framed), framed._replace(logline=self.READ))
        records = [plain, record("<x")]
        self.assertIs(traditionalRecords(records), records)
        self.assertEqual(traditionalRecords([plain, framed]),
                         [plain, framed._replace(logline=self.READ)])


#: Lines of each family in the form rsyslog writes to a file: (timestamp
#: host, application, process id, message).
FAMILIES = [
    ("web1", "sshd", "811", "Failed password for alice from 192.0.2.7 port 52311 ssh2"),
    ("web1", "sshd", "812", "Invalid user admin from 2001:db8::7 port 4000"),
    ("web1", "sshd-session", "813", "error: maximum authentication attempts exceeded for"
                                    " root from 192.0.2.8 port 22 ssh2 [preauth]"),
    ("web1", "sshd", "814", "Accepted publickey for bob from 192.0.2.9 port 5 ssh2"),
    ("web1", "su", "-", "FAILED SU (to root) alice on /dev/pts/0"),
    ("web1", "sudo", "-", "   alice : 3 incorrect password attempts ; TTY=pts/0 ;"
                          " PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"),
    ("web1", "login", "90", "pam_unix(login:auth): authentication failure; logname=LOGIN"
                            " uid=0 euid=0 tty=tty1 ruser= rhost=  user=bob"),
    ("gw", "kernel", "-", "[UFW BLOCK] IN=eth0 OUT= MAC=00 SRC=192.0.2.5 DST=10.0.0.1 LEN=60"
                          " TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5555 DPT=22"),
    ("mail", "postfix/smtpd", "77", "warning: unknown[192.0.2.4]: SASL LOGIN authentication"
                                    " failed: UGFzc3dvcmQ6"),
    ("mail", "dovecot", "-", "imap-login: Disconnected (auth failed, 3 attempts in 12 secs):"
                             " user=<bob>, method=PLAIN, rip=192.0.2.3, lip=10.0.0.25"),
    ("web1", "CRON", "991", "(root) CMD (run-parts /etc/cron.hourly)"),
]


class RepeatedDefaultContentTests(SynchronousTestCase):
    def test_sameAsTheMessage(self):
        """
        The default content raises on a C{message repeated} line what it
        raises on the message it repeats, in both rule sets.
        """
        head = "Dec  7 06:10:12 srv1 sshd[2012]: "
        message = "Failed password for root from 198.51.100.12 port 22 ssh2"
        output = analysed([head + message])
        self.assertIn('"alertid": "0x1020", "classification"', output)
        self.assertIn('"action": "alert", "severity": "high", "alertid": "0x1020"', output)
        # Each alert and action says how many times (test_repeatedShown).
        repeated = analysed([f"{head}message repeated 3 times: [ {message}]"])
        self.assertEqual(repeated.count(', "repeated": 3'), output.count("\n"))
        self.assertEqual(repeated.replace(', "repeated": 3', ""), output)


def analysed(lines, output="json", aaregex=True, logids=True, correlation=True):
    """C{mice analyze}'s output of C{lines} with the default content."""
    content = defaultContent()
    settings = loadAaRules(content.aarules)
    files = loadFiles(settings.rulesFile, settings.filterFile, settings.netdefFile)
    analysis = OfflineAnalysis(
        loadAaRegex(content.aaregex) if aaregex else None,
        LogIdsEngine(*files[:3]) if logids else None,
        loadCorrelation(content.correlation) if correlation else None, output=output,
        now=datetime(2019, 7, 9), tz=UTC, logidsSettings=settings,
        descriptions=descriptionsFrom(loadMatchFile(content.matchFile)))
    return analysis.batch(lines) + analysis.finish()


class DefaultContentTests(SynchronousTestCase):
    def test_repeatedCountsAsItsTimes(self):
        """
        A failed password rsyslog wrote once for four (C{message repeated
        4 times}) is four failures to the correlation stage: with one more
        it is the brute force (0x9010) of five lines, whose evidence names
        both lines; four in all are not.
        """
        failed = ("Jul  8 17:40:{:02d} web1 sshd[811]: Failed password for root from"
                  " 192.0.2.9 port 52311 ssh2")
        repeated = ("Jul  8 17:40:20 web1 sshd[811]: message repeated 4 times: [ Failed"
                    " password for root from 192.0.2.9 port 52311 ssh2]")
        quiet = "Jul  8 17:41:00 web1 CRON[99]: (root) CMD (true)"
        output = analysed([failed.format(10), repeated, quiet])
        self.assertIn('"alertid": "0x9010"', output)
        self.assertIn('"lines": [1, 2]', output)
        self.assertEqual(output.count('"alertid": "0x9010"'), 1)
        # Five lines: the same correlated alert.
        self.assertIn('"alertid": "0x9010"',
                      analysed([failed.format(second) for second in range(10, 15)] + [quiet]))
        # Four failures: none.
        self.assertNotIn("0x9010", analysed(
            [failed.format(10), repeated.replace("4 times", "3 times"), quiet]))

    def test_repeatedShown(self):
        """
        The alerts and actions of a message rsyslog wrote once for several
        say how many times: C{"repeated": N} in each JSON object of the
        line, the words after the listing's; the rule sets alone too.
        """
        failed = ("Jul  8 17:40:10 web1 sshd[811]: Failed password for root from 192.0.2.9"
                  " port 52311 ssh2")
        repeated = ("Jul  8 17:40:20 web1 sshd[811]: message repeated 4 times: [ Failed"
                    " password for root from 192.0.2.9 port 52311 ssh2]")
        for rules in ({}, {"logids": False}, {"aaregex": False}, {"aaregex": False,
                                                                  "correlation": False}):
            objects = [json.loads(line) for line in analysed(
                [failed, repeated], **rules).splitlines()]
            byLine = {1: [], 2: []}
            for one in objects:
                # (A correlated alert has no line of its own.)
                if "line" in one:
                    byLine[one["line"]].append(one)
            self.assertTrue(byLine[1] and byLine[2], rules)
            self.assertEqual([one.get("repeated") for one in byLine[1]],
                             [None] * len(byLine[1]), rules)
            self.assertEqual([one.get("repeated") for one in byLine[2]],
                             [4] * len(byLine[2]), rules)
            listing = analysed([failed, repeated], output="listing", **rules)
            self.assertIn("(message repeated 4 times)", listing, rules)
            self.assertNotIn("1: ", [line[:3] for line in listing.splitlines()
                                     if "message repeated" in line], rules)

    def test_sameAsTheFileForm(self):
        """
        C{mice analyze}'s default content raises on the RFC 5424 lines of
        each family, with and without structured data, what it raises on
        the lines rsyslog writes for them, with the same line numbers.
        """
        stamp = "2019-07-08T17:40:16.954167-04:00"
        written, framed = [], []
        for number, (host, app, pid, message) in enumerate(FAMILIES):
            tag = f"{app}:" if pid == "-" else f"{app}[{pid}]:"
            space = "" if message.startswith(" ") else " "
            written.append(f"{stamp} {host} {tag}{space}{message}")
            data = '[timeQuality tzKnown="1"]' if number % 2 else "-"
            framed.append(f"<{number}>1 {stamp} {host} {app} {pid} - {data} {message}")
        output = analysed(written)
        self.assertIn('"alertid": "0x1020"', output)
        self.assertIn('"alertid": "0x8010"', output)
        self.assertEqual(analysed(framed), output)
