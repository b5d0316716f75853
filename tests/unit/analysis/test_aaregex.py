"""
Tests for L{mice.analysis.aaregex} (the M-ICE rule engine, alerts, the AlertID
counter), L{mice.analysis.extract} and the offline analysis of C{mice analyze}.
What runs another process (the command itself, an AlertIDFile held by another
process) is in C{tests.integration.test_aaregex}.
"""

import os
import re
import sys
from datetime import UTC, datetime
from unittest.mock import patch

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, Node
from mice.analysis import extract
from mice.analysis.aaregex import (
    DEFAULT_KEY,
    AaRegexMatcher,
    Match,
    analysePattern,
    anchorOf,
    descriptionsFrom,
    joinsLines,
    makeAlert,
    naiveMatches,
    stripDotStar,
)
from mice.analysis.alertid import (
    AlertCounter,
    AlertIdFile,
    MemoryAlertIdStore,
    PrefixedCounter,
    sharedAlertCounter,
)
from mice.analysis.extract import addressesFor, idValues, nodesFor
from mice.config import loadAaRegex, loadMatchFile
from mice.record import LogRecord
from tests import ROOT
from tests.unit.analysis import requireHyperscan

ETC = os.path.join(ROOT, "etc", "mice")
SEED = os.path.join(ETC, "mice_mod_pop_aa_regex.conf")
MATCH_FILE = os.path.join(ETC, "matchfiles", "match_file_aa_regex.txt")

SSH_FAILED = ("Nov 22 10:00:01 gate sshd[4711]: Failed password for invalid user admin"
              " from 61.2.3.4 port 4242 ssh2")
SSH_ACCEPTED = ("Nov 22 10:00:02 gate sshd[4712]: Accepted password for bob from 10.1.2.3"
                " port 50022 ssh2")
FW_DROP = ("Nov 22 10:00:03 fw kernel: [86400.123456] SuSE-FW-DROP-DEFAULT IN=eth0 OUT="
           " MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=61.2.3.4 DST=10.0.0.1 LEN=48"
           " TOS=0x00 PREC=0x00 TTL=113 ID=4711 DF PROTO=TCP SPT=3345 DPT=445 WINDOW=16384"
           " RES=0x00 SYN URGP=0")

# The sections every test config starts with.
_AGENT_HEAD = """
[HOST_INFO]
Management = 127.0.0.1:4455
Agent = 127.0.0.1:2266
[IDMEF_INFO]
AlertID = 1
"""

# Every text rule key with (lines that must match, lines that must not).
ALL_RULES = _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = ".*session opened for user.*"
AuS_Rule = ".*Accepted password.*"
AuF_Rule = ".*Failed password.*"
AuF_Rule = ".*FAILED SU.*"
[ROOT]
RoSendTo = "A"
RoW_Rule = "\\[FILE_open\\] open\\(\\"/etc/[a-z]+\\", O_(WRONLY|RDWR)"
RoO_Rule = "syscall=2 success=yes .* uid=0 "
RoR_Rule = "COMMAND=/bin/cat /etc/shadow"
RoS_Rule = "Server listening on [0-9.:]+ port \\d+"
RoE_Rule = "\\[PROC_execute\\] execve\\(\\"/tmp/"
[READ]
ReSendTo = "B"
ReS_Rule = "syscall=2 success=yes"
ReF_Rule = "syscall=(2|257) success=no"
[WRITE]
WrSendTo = "N"
WrS_Rule = "FILE_unlink\\] unlink\\([^)]*\\); result=0"
WrF_Rule = "FILE_unlink\\] unlink\\([^)]*\\); result=-"
[MONITORING]
MoSendTo = "M"
Mo_UID = "0|1000"
Mo_GID = "5"
[APPS]
ApSendTo = "M"
Ap_Name = ".*sshd.*"
[EXPLOIT]
ExSendTo = "M"
Ex_Rule = ".*crc32 compensation attack: network attack detected.*"
Ex_Rule = ".*GET /scripts/root\\.exe\\?/c\\+dir.*"
[FIREWALL]
FwSendTo = "M"
FwD_Rule = ".*SuSE-FW-DROP.*"
FwR_Rule = "REJECT IN="
FwA_Rule = ".*SuSE-FW-ACCEPT.*"
FwI_Rule = ".*SuSE-FW-ILLEGAL.*"
[DEFAULT]
DeSendTo = "N"
"""

CASES = {
    "AuS_Rule": (
        ["Nov 22 10:00:05 gate su[99]: pam_unix(su:session): session opened for user root by"
         " bob(uid=1000)", SSH_ACCEPTED],
        ["Nov 22 10:00:05 gate sshd[99]: session closed for user bob",
         "Nov 22 10:00:05 gate sshd[99]: Accepted publickey for bob from 10.1.2.3 port 1 ssh2"]),
    "AuF_Rule": (
        [SSH_FAILED, "Nov 22 10:00:06 gate su: FAILED SU (to root) bob on /dev/pts/1"],
        ["Nov 22 10:00:06 gate su: (to root) bob on /dev/pts/1",
         "Nov 22 10:00:06 gate sshd[1]: failed password for bob"]),
    "RoW_Rule": (
        ['2004-11-22T10:00:00 3301 1234 root [FILE_open] open("/etc/shadow", O_RDWR);result=3'],
        ['2004-11-22T10:00:00 3301 1234 root [FILE_open] open("/etc/shadow", O_RDONLY)'
         ";result=3"]),
    "RoO_Rule": (
        ["type=SYSCALL msg=audit(1101117600.1:5): arch=c000003e syscall=2 success=yes exit=3"
         " a0=1 items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0"],
        ["type=SYSCALL msg=audit(1101117600.1:5): arch=c000003e syscall=2 success=yes exit=3"
         " a0=1 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=100 euid=1000"]),
    "RoR_Rule": (
        ["Nov 22 10:00:07 gate sudo: bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ;"
         " COMMAND=/bin/cat /etc/shadow"],
        ["Nov 22 10:00:07 gate sudo: bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ;"
         " COMMAND=/bin/cat /etc/hosts"]),
    "RoS_Rule": (
        ["Nov 22 10:00:08 gate sshd[1]: Server listening on 0.0.0.0 port 22."],
        ["Nov 22 10:00:08 gate sshd[1]: Server listening on :: port ssh."]),
    "RoE_Rule": (
        ['2004-11-22T10:00:00 3302 1234 -1 [PROC_execute] execve("/tmp/.x/kit", ["kit"],'
         " [data, len=3])"],
        ['2004-11-22T10:00:00 3302 1234 -1 [PROC_execute] execve("/usr/bin/wc", ["wc"],'
         " [data, len=3])"]),
    "ReS_Rule": (
        ["type=SYSCALL msg=audit(1101117600.1:5): arch=c000003e syscall=2 success=yes exit=3"],
        ["type=SYSCALL msg=audit(1101117600.1:5): arch=c000003e syscall=21 success=yes"]),
    "ReF_Rule": (
        ["type=SYSCALL msg=audit(1101117600.1:6): arch=c000003e syscall=257 success=no"
         " exit=-13"],
        ["type=SYSCALL msg=audit(1101117600.1:6): arch=c000003e syscall=257 success=yes"]),
    "WrS_Rule": (
        ['2004-11-22T10:00:00 3303 1234 -1 [FILE_unlink] unlink("/tmp/.X1-lock"); result=0'],
        ['2004-11-22T10:00:00 3303 1234 -1 [FILE_unlink] unlink("/tmp/.X1-lock"); result=-2']),
    "WrF_Rule": (
        ['2004-11-22T10:00:00 3303 1234 -1 [FILE_unlink] unlink("/tmp/.X1-lock"); result=-2'],
        ['2004-11-22T10:00:00 3303 1234 -1 [FILE_unlink] unlink("/tmp/.X1-lock"); result=0']),
    "Mo_UID": (
        ["Nov 22 10:00:09 gate su[1]: session opened for user root by bob(uid=1000)",
         "type=SYSCALL msg=audit(1.2:3): syscall=2 auid=4294967295 uid=0 gid=1 euid=0"],
        ["type=SYSCALL msg=audit(1.2:3): syscall=2 auid=4294967295 uid=10 gid=1 euid=10"
         " ouid=0", "Nov 22 10:00:09 gate bob: uid 0 is mine, pid=1000"]),
    "Mo_GID": (
        ["2004-11-22T10:00:00 3304 1234 -1 [PROC_realgid] setgroups32(1, [5]); result=0",
         "type=SYSCALL msg=audit(1.2:3): syscall=2 uid=10 gid=5 euid=10"],
        ["type=SYSCALL msg=audit(1.2:3): syscall=2 uid=10 gid=55 euid=10",
         "2004-11-22T10:00:00 3304 1234 -1 [PROC_realgid] setgroups32(1, [50]); result=0"]),
    "Ap_Name": (
        [SSH_FAILED, "Nov 22 10:00:10 gate sshd[1]: Received disconnect from 1.2.3.4: 11: Bye"],
        ["Nov 22 10:00:10 gate ssh: connecting", "Nov 22 10:00:10 gate SSHD[1]: hello"]),
    "Ex_Rule": (
        ["Nov 22 10:00:11 gate sshd[1]: fatal: Local: crc32 compensation attack: network"
         " attack detected",
         '61.2.3.4 - - [22/Nov/2004:10:00:11 +0000] "GET /scripts/root.exe?/c+dir HTTP/1.0"'
         " 404 0"],
        ['61.2.3.4 - - [22/Nov/2004:10:00:11 +0000] "GET /scripts/root.html HTTP/1.0" 404 0']),
    "FwD_Rule": ([FW_DROP], [FW_DROP.replace("DROP", "ACCEPT")]),
    "FwR_Rule": (
        ["Nov 22 10:00:12 fw kernel: REJECT IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.1 PROTO=UDP"],
        ["Nov 22 10:00:12 fw kernel: REJECTED IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.1"]),
    "FwA_Rule": ([FW_DROP.replace("DROP-DEFAULT", "ACCEPT")], [FW_DROP]),
    "FwI_Rule": ([FW_DROP.replace("DROP-DEFAULT", "ILLEGAL-TARGET")], [FW_DROP]),
}


def writeConfig(case, text):
    path = case.mktemp() + ".conf"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def record(line, seq=1, date="2004-11-22", time="10:00:01", hostname="gate", ip="10.0.0.5"):
    return LogRecord("client-1", "/var/log/messages", seq, hostname, "example.org", ip,
                     "Linux", "2.6.5", "SuSE Linux 9.1", date, time, line, "")


class SeedRuleTests(SynchronousTestCase):
    """
    The seed's own rule set.
    """

    def setUp(self):
        self.settings = loadAaRegex(SEED)
        self.matcher = AaRegexMatcher(self.settings)

    def keys(self, line):
        return [m.key for m in self.matcher.matchLine(line)]

    def test_severalAlertsFromOneLine(self):
        """
        An sshd failure is an Authentication Failure and an sshd line: two
        alerts, in config order.
        """
        self.assertEqual(self.matcher.matchLine(SSH_FAILED), (
            Match("AuF_Rule", 0x1020, "AUTH", "M"), Match("Ap_Name", 0x6010, "APPS", "M")))

    def test_oneMatchPerKey(self):
        """
        Two AuF patterns on one line still make one AuF match.
        """
        line = "su: FAILED SU (to root) bob; earlier: Failed password for bob"
        self.assertEqual(self.keys(line), ["AuF_Rule"])

    def test_seedLines(self):
        self.assertEqual(self.keys(SSH_ACCEPTED), ["AuS_Rule", "Ap_Name"])
        self.assertEqual(self.keys(FW_DROP), ["FwD_Rule"])
        self.assertEqual(self.keys("login: ROOT LOGIN REFUSED FROM 1.2.3.4"), ["AuF_Rule"])
        self.assertEqual(self.keys("xinetd: REMOTE TSI %s%s"), ["Ex_Rule"])
        self.assertEqual(self.keys("xinetd: REMOTE TSI%"), ["Ex_Rule"])
        self.assertEqual(self.keys("Nov 22 10:00:01 gate cron[1]: (root) CMD (ls)"), [])

    def test_seedRegexSemantics(self):
        """
        The seed's C{root.exe?/c+dir} is a regular expression: C{?} and
        C{+} are operators there, so the literal URL does not match it but
        C{root.ex/ccdir} does.
        """
        self.assertEqual(self.keys("GET /scripts/root.exe?/c+dir"), [])
        self.assertEqual(self.keys("GET /scripts/rootXex/ccdir"), ["Ex_Rule"])

    def test_offRulesAndReservedSocket(self):
        enabled = [m.key for m in self.matcher.enabledMatches]
        self.assertEqual(enabled, ["AuS_Rule", "AuF_Rule", "Ap_Name", "Ex_Rule", "FwD_Rule",
                                   "FwA_Rule", "FwI_Rule"])

    def test_defaultNone(self):
        self.assertEqual(self.matcher.matchLine("nothing at all"), ())


class AllRulesTests(SynchronousTestCase):
    """
    Every section and rule key, with lines that must and must not match.
    """

    def setUp(self):
        self.settings = loadAaRegex(writeConfig(self, ALL_RULES))

    def test_everyKey(self):
        for strategy in ("literal", "alternation", "contains"):
            matcher = AaRegexMatcher(self.settings, strategy)
            for key, (positive, negative) in CASES.items():
                for line in positive:
                    self.assertIn(key, [m.key for m in matcher.matchLine(line)],
                                  f"{strategy}: {key} must match {line!r}")
                for line in negative:
                    self.assertNotIn(key, [m.key for m in matcher.matchLine(line)],
                                     f"{strategy}: {key} must not match {line!r}")

    def test_everyKeyCovered(self):
        enabled = {m.key for m in AaRegexMatcher(self.settings).enabledMatches}
        self.assertEqual(enabled, set(CASES))

    def test_batchEqualsLines(self):
        lines = [line for cases in CASES.values() for group in cases for line in group]
        matcher = AaRegexMatcher(self.settings)
        self.assertEqual(matcher.matchLines(lines), [matcher.matchLine(x) for x in lines])
        self.assertEqual(matcher.matchLines(lines), [naiveMatches(self.settings, x)
                                                     for x in lines])

    def test_routes(self):
        """
        Each match carries its section's SendTo; N matches are still
        reported, and the alert IDs are the match file's.
        """
        matcher = AaRegexMatcher(self.settings)
        routes = {m.key: (m.section, m.sendTo, m.alertId) for m in matcher.enabledMatches}
        self.assertEqual(routes["AuF_Rule"], ("AUTH", "M", 0x1020))
        self.assertEqual(routes["RoE_Rule"], ("ROOT", "A", 0x2050))
        self.assertEqual(routes["ReF_Rule"], ("READ", "B", 0x3020))
        self.assertEqual(routes["WrF_Rule"], ("WRITE", "N", 0x4020))
        self.assertEqual(routes["Mo_GID"], ("MONITORING", "M", 0x5020))
        self.assertEqual(routes["FwI_Rule"], ("FIREWALL", "M", 0x8040))
        line = CASES["WrF_Rule"][0][0]
        self.assertEqual(matcher.matchLine(line), (Match("WrF_Rule", 0x4020, "WRITE", "N"),))

    def test_monitoringIgnoresText(self):
        """
        Mo_UID matches IDs, not text: a line with "0" but no uid field is
        not root's.
        """
        matcher = AaRegexMatcher(self.settings)
        self.assertEqual(matcher.matchLine("Nov 22 10:00:09 gate x: 0 1000 uid 0"), ())

    def test_default(self):
        """
        With DeSendTo other than N a line no rule matched is one
        unclassified match; a classified line (even routed N) is not.
        """
        text = ALL_RULES.replace('DeSendTo = "N"', 'DeSendTo = "A"')
        matcher = AaRegexMatcher(loadAaRegex(writeConfig(self, text)))
        self.assertEqual(matcher.matchLine("nothing"), (Match(DEFAULT_KEY, None, "DEFAULT",
                                                               "A"),))
        self.assertEqual(matcher.matchLines(["nothing", CASES["WrF_Rule"][0][0]]),
                         [(Match(DEFAULT_KEY, None, "DEFAULT", "A"),),
                          (Match("WrF_Rule", 0x4020, "WRITE", "N"),)])


class PatternAnalysisTests(SynchronousTestCase):
    def test_stripDotStar(self):
        self.assertEqual(stripDotStar(".*sshd.*"), "sshd")
        self.assertEqual(stripDotStar(".*?a.*?"), "a")
        self.assertEqual(stripDotStar(r"a\.*"), r"a\.*")
        self.assertEqual(stripDotStar(r"a\\.*"), r"a\\")
        self.assertEqual(stripDotStar(".*+a"), ".*+a")
        self.assertEqual(stripDotStar(".*"), "")

    def test_literals(self):
        self.assertEqual(analysePattern("Failed password"), (frozenset({"Failed password"}),
                                                             True))
        self.assertEqual(analysePattern(r"root\.exe\?/c"), (frozenset({"root.exe?/c"}), True))
        self.assertEqual(analysePattern(r"GET /scripts/root.exe?/c+dir")[0],
                         frozenset({"GET /scripts/root"}))
        self.assertEqual(analysePattern(r"Failed (?:password|publickey) for")[0],
                         frozenset({"Failed p"}))
        self.assertEqual(analysePattern("(?:alpha|beta)-x")[0], frozenset({"alpha", "beta"}))
        self.assertEqual(analysePattern(r"\d+"), (None, False))
        self.assertEqual(analysePattern("(?i)sshd"), (None, False))
        self.assertEqual(analysePattern("x{3}"), (frozenset({"xxx"}), False))

    def test_anchor(self):
        self.assertEqual(anchorOf("sshd"), "sshd")
        self.assertEqual(anchorOf("SuSE-FW-DROP"), "W-DROP")


# Pieces of the rule patterns above and of real lines, for random lines that
# come near the rules.
_FRAGMENTS = [
    "sshd", "sshd[", "shd", "Failed password", "Failed", " password", "FAILED SU",
    "Accepted password", "session opened for user", "SuSE-FW-", "DROP", "ACCEPT", "ILLEGAL",
    "REJECT IN=", "syscall=2 success=", "yes", "no", " uid=", "0", "1000", "5", " gid=",
    "[FILE_open] open(\"/etc/", "shadow", "\", O_RDWR", "[FILE_unlink] unlink(", "); result=",
    "-", "COMMAND=/bin/cat /etc/shadow", "Server listening on ", "0.0.0.0", " port ", "22",
    "crc32 compensation attack: network attack detected", "GET /scripts/root.exe?/c+dir",
    "[PROC_execute] execve(\"/tmp/", "[PROC_realgid] setgroups32(1, [", "]",
    "2004-11-22T10:00:00 3301 1234 -1 ", "(uid=", ")", " ", "\n", "\x00", "é", "\udcff",
]
_lines = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=4)),
                  max_size=12).map("".join)


class PropertyTests(SynchronousTestCase):
    settingsAll = None

    def setUp(self):
        if PropertyTests.settingsAll is None:
            PropertyTests.settingsAll = loadAaRegex(writeConfig(self, ALL_RULES))
            PropertyTests.matchers = [AaRegexMatcher(self.settingsAll, s)
                                      for s in ("literal", "alternation", "contains")]
            PropertyTests.seed = loadAaRegex(SEED)
            PropertyTests.seedMatcher = AaRegexMatcher(PropertyTests.seed)

    @given(_lines)
    def test_sameAsNaive(self, line):
        expected = naiveMatches(self.settingsAll, line)
        for matcher in self.matchers:
            self.assertEqual(matcher.matchLine(line), expected, matcher.strategy)
        self.assertEqual(self.seedMatcher.matchLine(line), naiveMatches(self.seed, line))

    @given(st.lists(_lines, max_size=8))
    def test_batchSameAsNaive(self, lines):
        self.assertEqual(self.matchers[0].matchLines(lines),
                         [naiveMatches(self.settingsAll, line) for line in lines])

    @given(st.text())
    def test_randomLinesNeverRaise(self, line):
        for matcher in self.matchers:
            for match in matcher.matchLine(line):
                makeAlert(record(line), match, 1, "MICE-RegEx", {}, datetime(2004, 1, 1))
        nodesFor(line, "h", "10.0.0.1")
        idValues(line)

    @given(st.lists(st.sampled_from(["sshd", "hd[", "d[4", "[4711]", "Failed password",
                                     "password for", "for invalid", "x"]), max_size=8))
    def test_overlappingLiterals(self, parts):
        """
        Literals inside or across others are found: rules built from the
        fragments themselves.
        """
        text = ALL_RULES.replace('Ap_Name = ".*sshd.*"',
                                 'Ap_Name = "hd\\["\nAp_Name = "d\\[4"')
        text = text.replace('AuS_Rule = ".*Accepted password.*"',
                            'AuS_Rule = "password for"\nAuS_Rule = "for invalid"')
        if not hasattr(PropertyTests, "overlapSettings"):
            PropertyTests.overlapSettings = loadAaRegex(writeConfig(self, text))
            PropertyTests.overlapMatcher = AaRegexMatcher(PropertyTests.overlapSettings)
        line = "".join(parts)
        self.assertEqual(self.overlapMatcher.matchLine(line),
                         naiveMatches(self.overlapSettings, line))
        self.assertEqual(self.overlapMatcher.matchLines([line, line]),
                         [naiveMatches(self.overlapSettings, line)] * 2)


class HyperscanTests(SynchronousTestCase):
    def setUp(self):
        requireHyperscan()

    def test_sameResults(self):
        settingsAll = loadAaRegex(writeConfig(self, ALL_RULES))
        lines = [line for cases in CASES.values() for group in cases for line in group]
        lines += ["é " + SSH_FAILED, "\udcff sshd FAILED SU"]
        matcher = AaRegexMatcher(settingsAll, "hyperscan")
        self.assertEqual(matcher.matchLines(lines), [naiveMatches(settingsAll, x)
                                                     for x in lines])


    def test_batchesInTurn(self):
        """
        Two matchers on one batch, then on another (the batch's bytes and
        line ends are made once for both): each batch's own matches.
        """
        from mice.analysis.offline import defaultContent

        settings = loadAaRegex(defaultContent().aaregex)
        first, second = AaRegexMatcher(settings, "hyperscan"), AaRegexMatcher(settings,
                                                                               "hyperscan")
        self.assertIsNotNone(first._hsRules)
        one = [SSH_FAILED, "x", SSH_ACCEPTED]
        two = ["y", "é", FW_DROP, SSH_FAILED]
        expected = [AaRegexMatcher(settings, "literal").matchIndexed(lines)
                    for lines in (one, two)]
        for lines, matches in zip((one, two, one), expected + expected[:1]):
            text = "\n".join(lines)
            self.assertEqual(first.matchIndexed(lines, text), matches)
            self.assertEqual(second.matchIndexed(lines, text), matches)

    def test_separatorsInAsciiLines(self):
        """
        An ASCII line holding a separator (C{\\x1c}-C{\\x1f}: a space to
        C{re}'s C{\\s}, not to Hyperscan's) is matched by C{re}: the same
        matches as the literal scan.
        """
        settings = loadAaRegex(writeConfig(self, _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuF_Rule = "Failed\\spassword"
"""))
        lines = ["a", "Failed\x1cpassword", "Failed password", "b\x1f", "Failed\x1fpassword"]
        expected = AaRegexMatcher(settings, "literal").matchIndexed(lines)
        self.assertEqual([i for i, _ in expected], [1, 2, 4])
        self.assertEqual(AaRegexMatcher(settings, "hyperscan").matchIndexed(lines), expected)


#: Rules that match an empty line (and one that matches none): what
#: Hyperscan compiles of them reports an empty match at a line's start.
EMPTY_RULES = _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = "^$"
AuF_Rule = "a|^$"
[ROOT]
RoSendTo = "A"
RoW_Rule = "^"
RoO_Rule = "$"
RoR_Rule = "^b?$"
RoS_Rule = "Failed password"
RoE_Rule = "d\\np"
"""

_emptyLines = st.lists(st.sampled_from(["", "", "a", "b", "ab", "x", "Failed password", "d",
                                        "p", "é", "\x1c"]), max_size=4).map("".join)


class JoinsLinesTests(SynchronousTestCase):
    """
    L{joinsLines}: whether a batch's text has a line per line (the M-ICE
    rules and the LogIDS blocks ask it of the same text in turn).
    """

    def test_lines(self):
        text = "a\nb\nc"
        self.assertTrue(joinsLines(text, ["a", "b", "c"]))
        # The same text again, with other lines: its newlines are counted
        # once, and compared with these lines.
        self.assertFalse(joinsLines(text, ["a", "b\nc"]))
        self.assertFalse(joinsLines(text, ["a\nb\nc"]))
        self.assertTrue(joinsLines(text, ["a", "b", "c"]))
        self.assertTrue(joinsLines("", [""]))
        self.assertTrue(joinsLines("x\n", ["x", ""]))
        self.assertFalse(joinsLines("x\n\n", ["x", ""]))

    @given(st.lists(st.text(st.sampled_from("ab \t\x1b\x1c\x1f\x7f\x80é\u2028\udc80😀")),
                    min_size=1, max_size=8))
    def test_unusualLines(self, lines):
        """
        The lines a batch's scan is unsure of are those holding a byte
        C{_HS_UNSURE} matches, read line by line as they were read through
        the batch's bytes (0.15 s for 120,000 lines, one in twenty holding
        a character beyond ASCII: then as slow as the scans).
        """
        import bisect
        from itertools import accumulate

        from mice.analysis import aaregex

        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        ends = list(accumulate(len(line) + 1 for line in data.split(b"\n")))
        expected = {bisect.bisect_right(ends, unusual.start())
                    for unusual in aaregex._HS_UNSURE.finditer(data)}
        # In C (mice.analysis._hsscan.unusual, where built), and in Python.
        self.assertEqual(aaregex._unusualLines(lines, data), expected)
        with patch.object(aaregex, "_unusual", None):
            self.assertEqual(aaregex._unusualLines(lines, data), expected)

    @given(st.lists(st.text(st.characters(codec="utf-8") | st.sampled_from(
        ["\n", "\r", "\x85", "\u2028", "\udc80"])), max_size=6), st.integers(0, 3))
    def test_newlinesCounted(self, lines, cut):
        """
        The newlines of a batch are counted in its UTF-8 bytes (by
        C{_hsscan.newlines} where it is built) as C{str.count} counts them
        in its text: the same answer for any lines, those holding other
        line breaks (NEL, U+2028) and lone surrogates included.
        """
        from mice.analysis import aaregex

        text = "\n".join(lines)
        given = lines[:len(lines) - cut] if cut else lines
        counted = joinsLines(text, given)
        self.assertEqual(counted, text.count("\n") == len(given) - 1)
        if aaregex._newlines is not None:
            self.assertEqual(aaregex._newlines(text.encode("utf-8", "surrogatepass")),
                             text.count("\n"))

    def test_matchIndexed(self):
        """
        A batch holding a line with a newline is matched line by line by
        the Hyperscan matcher, after the same text was scanned as lines.
        """
        requireHyperscan()
        settings = loadAaRegex(writeConfig(self, ALL_RULES))
        matcher = AaRegexMatcher(settings, "hyperscan")
        lines = ["nothing here", SSH_FAILED]
        text = "\n".join(lines)
        self.assertEqual([i for i, _ in matcher.matchIndexed(lines, text)], [1])
        # One "line" holding both: matched as a whole, not as two lines.
        self.assertEqual([(i, m) for i, m in matcher.matchIndexed([text], text)],
                         [(0, matcher.matchLine(text))])
        self.assertEqual(list(matcher.matchLine(text)), list(naiveMatches(settings, text)))


class HyperscanEmptyMatchTests(SynchronousTestCase):
    """
    The Hyperscan scan and the pure-Python one agree on rules that match an
    empty line: Hyperscan reports such a match at the line's start, where
    the byte before is the previous line's newline, and not at all after
    the newline that ends a batch.
    """

    matchers = None

    def setUp(self):
        requireHyperscan()
        if HyperscanEmptyMatchTests.matchers is None:
            settings = loadAaRegex(writeConfig(self, EMPTY_RULES))
            HyperscanEmptyMatchTests.settings = settings
            HyperscanEmptyMatchTests.matchers = {
                strategy: AaRegexMatcher(settings, strategy)
                for strategy in ("literal", "contains", "hyperscan")}

    def expected(self, lines):
        return [(i, m) for i, line in enumerate(lines)
                if (m := naiveMatches(self.settings, line))]

    def test_emptyLines(self):
        """
        Empty lines, the last one included, raise the matches of C{^$},
        C{^}, C{a|^$}: the same with Hyperscan as without (it lost them).
        """
        hyperscan = self.matchers["hyperscan"]
        self.assertIsNotNone(hyperscan._hsRules)
        lines = ["abc", "", "x", "", "Failed password", ""]
        expected = self.expected(lines)
        self.assertEqual([i for i, _ in expected], [0, 1, 2, 3, 4, 5])
        self.assertEqual([m.key for m in dict(expected)[1]],
                         ["AuS_Rule", "AuF_Rule", "RoW_Rule", "RoO_Rule", "RoR_Rule"])
        self.assertEqual(hyperscan.matchIndexed(lines), expected)
        self.assertEqual(hyperscan.matchIndexed([""]), self.expected([""]))
        self.assertEqual(self.matchers["literal"].matchIndexed(lines), expected)

    def test_literalWithNewline(self):
        """
        A pattern that is a literal holding a newline matches no line: a
        batch's scan finds it across two lines, which is no match (both
        scans raised one).
        """
        lines = ["d", "p", "xd", "py"]
        for strategy, matcher in self.matchers.items():
            self.assertEqual([m.key for _, ms in matcher.matchIndexed(lines) for m in ms
                              if m.key == "RoE_Rule"], [], strategy)

    @given(st.lists(_emptyLines, min_size=1, max_size=12))
    def test_sameAsNaive(self, lines):
        expected = self.expected(lines)
        for strategy, matcher in self.matchers.items():
            self.assertEqual(matcher.matchIndexed(lines), expected, strategy)
            self.assertEqual(matcher.matchLines(lines),
                             [naiveMatches(self.settings, line) for line in lines], strategy)


class GlobalFlagsTests(SynchronousTestCase):
    def test_everyStrategy(self):
        """
        A pattern with global flags (C{(?i)...}) is matched by every
        strategy (the alternation's gate could not be compiled, and the
        matcher raised).
        """
        settings = loadAaRegex(writeConfig(self, _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = "(?i)accepted password"
AuF_Rule = "Failed password"
"""))
        lines = [SSH_FAILED, SSH_ACCEPTED, SSH_ACCEPTED.upper(), "x"]
        expected = [naiveMatches(settings, line) for line in lines]
        self.assertEqual([len(m) for m in expected], [1, 1, 1, 0])
        for strategy in ("literal", "alternation", "contains"):
            self.assertEqual(AaRegexMatcher(settings, strategy).matchLines(lines), expected,
                             strategy)


class HyperscanPythonOnlyTests(SynchronousTestCase):
    """
    Patterns PCRE reads otherwise than C{re} are left to C{re}: C{\\v}
    (PCRE's vertical spaces, C{\\r} among them) and C{[[:alpha:]]} (a
    POSIX class to PCRE, characters and a C{]} to Python).
    """

    def setUp(self):
        requireHyperscan()

    def test_sameAsNaive(self):
        settings = loadAaRegex(writeConfig(self, _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = "a\\vb"
AuF_Rule = "c[[:alpha:]]"
"""))
        lines = ["a\rb", "a\x0bb", "a\x0cb", "c:]", "cx", "ca]", "c[]"]
        expected = [(i, m) for i, line in enumerate(lines)
                    if (m := naiveMatches(settings, line))]
        self.assertEqual([i for i, _ in expected], [1, 3, 5, 6])
        self.assertEqual(AaRegexMatcher(settings, "hyperscan").matchIndexed(lines), expected)


class ExtractTests(SynchronousTestCase):
    def test_sshd(self):
        sources, targets = nodesFor(SSH_FAILED, "gate", "10.0.0.5")
        self.assertEqual(sources, (Node(address="61.2.3.4", port=4242),))
        self.assertEqual(targets, (Node(address="10.0.0.5", hostname="gate", user="admin",
                                        process="sshd", pid=4711, service="ssh"),))
        sources, targets = nodesFor(SSH_ACCEPTED)
        self.assertEqual(sources, (Node(address="10.1.2.3", port=50022),))
        self.assertEqual(targets[0].user, "bob")
        _, targets = nodesFor("Nov 22 10:00:01 gate sshd[7]: pam_unix(sshd:session): session"
                              " opened for user carol by (uid=0)")
        self.assertEqual(targets[0].user, "carol")
        sources, targets = nodesFor("Nov 22 10:00:01 gate sshd[7]: Invalid user oracle from"
                                    " 2001:db8::1")
        self.assertEqual((sources[0].address, targets[0].user), ("2001:db8::1", "oracle"))

    def test_sameLineOtherHosts(self):
        """
        What is read from a line is kept for the next call on it: another
        client's host name and address are that call's alone.
        """
        line = "Nov 22 10:00:01 gate sshd[7]: Accepted password for bob from 10.1.2.3 port 2"
        first = nodesFor(line, "gate", "10.0.0.5")
        self.assertEqual(nodesFor(line)[1], (Node(user="bob", process="sshd", pid=7,
                                                  service="ssh"),))
        self.assertEqual(nodesFor(line, None, "10.0.0.6")[1][0].address, "10.0.0.6")
        self.assertEqual(nodesFor(line, "gate", "10.0.0.5"), first)
        self.assertEqual(first[1][0].hostname, "gate")
        self.assertEqual(nodesFor(line, "other", "10.0.0.5")[1][0].hostname, "other")
        self.assertEqual(nodesFor(line, "gate", None)[1][0].address, None)
        self.assertEqual(nodesFor("x", None, "not an address"), ((), ()))
        self.assertEqual(nodesFor("x", "h", "not an address"), ((), (Node(hostname="h"),)))

    def test_repeatedKeywordLinear(self):
        """
        A long line repeating C{user=<} (or C{acct="}) without the closing
        character is read in time linear in its length: the user's name is
        at most 256 characters (C{re} read to the line's end from each
        occurrence, 0.2 s for 60 kB, seconds for this one).
        """
        import time

        lines = ["Dec  1 00:05:18 ws17 dovecot: "
                 + "pop3-login: Info: Disconnected (auth failed): user=<a" * 4000,
                 "type=USER_AUTH msg=audit(1.2:3): pid=1 " + 'acct="x res=' * 16000]
        began = time.process_time()
        for line in lines:
            extract._known.clear()
            nodesFor(line)
        self.assertLess(time.process_time() - began, 0.5)
        _, targets = nodesFor("Dec  1 00:05:18 ws17 dovecot: imap-login: Disconnected (auth"
                              " failed, 3 attempts): user=<" + "j" * 256 + ">, rip=10.0.0.1")
        self.assertEqual(targets[0].user, "j" * 256)

    def test_su(self):
        sources, targets = nodesFor("Nov 22 10:00:06 gate su: FAILED SU (to root) bob on"
                                    " /dev/pts/1")
        self.assertEqual(sources, (Node(user="bob"),))
        self.assertEqual(targets, (Node(user="root", process="su"),))

    def test_firewall(self):
        sources, targets = nodesFor(FW_DROP, "fw", "10.0.0.254")
        self.assertEqual(sources, (Node(address="61.2.3.4", port=3345, protocol="tcp"),))
        self.assertEqual(targets, (Node(address="10.0.0.1", port=445,
                                        protocol="tcp"),))

    def test_apache(self):
        sources, _ = nodesFor('61.2.3.4 - - [22/Nov/2004:10:00:11 +0000] "GET / HTTP/1.0" 200'
                              " 5")
        self.assertEqual(sources, (Node(address="61.2.3.4"),))
        sources, _ = nodesFor("[Mon Nov 22 10:00:11 2004] [error] [client 61.2.3.5] File does"
                              " not exist: /srv/www/htdocs/x")
        self.assertEqual(sources, (Node(address="61.2.3.5"),))

    def test_haproxy(self):
        """
        HAProxy's HTTP log: the client and its port (an IPv6 address
        unbracketed, its port after the last colon), through syslog or not;
        the backend's server is no address.
        """
        tail = (" [08/Mar/2024:05:22:28.123] www~ app/10.0.0.9:80 0/0/1/12/13 200 4120 - - ----"
                ' 3/3/0/0/0 0/0 "GET /?id=1%27 HTTP/1.1"')
        for client, expected in (("61.2.3.4:52311", "61.2.3.4"),
                                 ("2001:db8::7:52311", "2001:db8::7")):
            for head in ("Mar  8 05:22:28 lb1 haproxy[2211]: ", ""):
                line = head + client + tail
                sources, _ = nodesFor(line)
                self.assertEqual(sources, (Node(address=expected, port=52311),), line)
                self.assertEqual(addressesFor(line)[0], expected, line)
        # The headers HAProxy captured are the client's words: another
        # format's client in them (Apache's error log, nginx's, sshd's "from")
        # is not the source; nor, in Apache's log, is a port a user agent names.
        line = ("Mar  8 05:22:28 lb1 haproxy[2211]: 61.2.3.4:52311 [08/Mar/2024:05:22:28.123]"
                " www~ app/web1 0/0/1/12/13 200 4120 - - ---- 3/3/0/0/0 0/0 {ex.org|M [client"
                ' 6.6.6.6] from 6.6.6.6 port 22, client: 7.7.7.7} {} "GET /?id=1%27 HTTP/1.1"')
        self.assertEqual(nodesFor(line)[0], (Node(address="61.2.3.4", port=52311),))
        self.assertEqual(addressesFor(line)[0], "61.2.3.4")
        line = ('61.2.3.4 - - [08/Mar/2024:05:22:28 +0100] "GET / HTTP/1.1" 200 1 "-" "M from'
                ' 6.6.6.6 port 22"')
        self.assertEqual(nodesFor(line)[0], (Node(address="61.2.3.4"),))

    @given(st.one_of(
        st.ip_addresses(v=4).map(str),
        st.lists(st.one_of(st.sampled_from(["0", "00", "01", "1", "25", "255", "256", "199",
                                            "249", "300", "\u0661", "."]),
                           st.text("0123456789.:abcdefABCDEF ", max_size=4)),
                 max_size=8).map("".join)))
    @example("1.2.3.4")
    @example("01.2.3.4")
    @example("1.2.3.256")
    @example("::ffff:10.0.0.5")
    def test_addressIsIpaddress(self, text):
        """
        L{extract.address} gives what C{ipaddress} gives, the dotted quads it
        knows without parsing them as well: a leading zero, an octet over 255,
        a digit not ASCII are no address.
        """
        extract._addresses.clear()
        self.assertEqual(extract.address(text), extract._parsedAddress(text))

    def test_notAddresses(self):
        sources, targets = nodesFor("Nov 22 10:00:01 gate sshd[7]: Failed password for bob"
                                    " from psd:abcdef port 22 ssh2")
        self.assertEqual(sources, ())
        self.assertEqual(nodesFor("nothing"), ((), ()))

    def test_hostBeforeAddress(self):
        """
        Postfix's and Sendmail's C{host[IP]}: the address in brackets is the
        source, whatever the host before it (the pattern does not hold the
        host: it would only make the match start earlier).
        """
        for line, expected in [
                ("Nov 22 10:00:01 mail postfix/smtpd[7]: connect from unknown[61.2.3.4]",
                 "61.2.3.4"),
                ("Nov 22 10:00:01 mail postfix/smtpd[7]: NOQUEUE: reject: RCPT from"
                 " mx.example.org[2001:db8::5]: 554", "2001:db8::5"),
                ("Nov 22 10:00:01 mail sendmail[7]: x: a.b[x] c-d.e[10.0.0.9]: possible",
                 "10.0.0.9"),
                ("Nov 22 10:00:01 mail x[7]: rhost.example.org[10.1.1.1] rhost=10.2.2.2",
                 "10.1.1.1"),
                ("Nov 22 10:00:01 mail x[7]: host.addr=10.3.3.3[10.4.4.4]", "10.3.3.3")]:
            self.assertEqual(addressesFor(line)[0], expected, line)
            self.assertEqual(nodesFor(line)[0], (Node(address=expected),), line)

    @given(st.lists(st.sampled_from(
        ["unknown", "mx", ".", "-", "example.org", "[", "]", "=", " ", "rhost=", "addr=",
         "10.0.0.1", "::1", "ff:", "x"]),
        max_size=10).map("".join))
    @example("xrhost=10.0.0.1[10.0.0.1]")
    @example("mx.example.org[x] example.org[::1] rhost=ff:")
    def test_hostPrefixRedundant(self, line):
        """
        The source pattern without the optional host before C{[IP]} finds, in
        turn, the matches the pattern with it found: the same groups and the
        same ends (so C{finditer} goes on from the same places).
        """
        import re

        from mice.analysis import extract

        withHost = re.compile(
            r"(?:rhost=|rip=|addr=)([0-9A-Fa-f.:]+)|(?:unknown|[\w-]+(?:\.[\w-]+)+)?"
            r"\[((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)\]")
        self.assertEqual(
            [(m.groups(), m.end()) for m in extract._OTHER_SOURCE.finditer(line)],
            [(m.groups(), m.end()) for m in withHost.finditer(line)])
        if not any(key in line for key in ("rhost=", "rip=", "addr=")):
            # Its bracketed half alone, used on such lines, finds the same.
            self.assertEqual(
                [(m.group(1), m.end()) for m in extract._BRACKETED_SOURCE.finditer(line)],
                [(m.group(2), m.end()) for m in withHost.finditer(line)])

    @given(st.lists(st.sampled_from(
        ["rhost=", "rip=", "addr=", "r", "a", "ad", "dd", "[", "]", "=", " ", "10.0.0.1",
         "1.2.3.", "::1", "ff:", "fe80::", "A", "x", "1"]),
        max_size=12).map("".join))
    @example("rip=1.2.3.addr=5.6.7.8")
    @example("addr=[10.0.0.1]rhost=::1")
    @example("rhost= rip=10.0.0.1")
    def test_otherSources(self, line):
        """
        The keywords found with C{str.find} and the bracketed addresses with
        their regex give the values C{_OTHER_SOURCE.finditer} gives, in its
        order, a keyword inside the value before it (C{1.2.3.addr=}) left out
        as C{finditer} leaves it.
        """
        self.assertEqual(extract._otherSources(line),
                         [m.group(1) or m.group(2)
                          for m in extract._OTHER_SOURCE.finditer(line)])

    def test_ids(self):
        self.assertEqual(idValues("type=SYSCALL msg=audit(1.2:3): auid=4294967295 uid=0 gid=0"
                                  " euid=0 suid=0 fsuid=7 egid=3 ouid=5 ogid=6"),
                         (("0",), ("0", "3")))
        self.assertEqual(idValues("su[1]: session opened for user root by bob(uid=1000)"),
                         (("1000",), ()))
        self.assertEqual(idValues("2004-11-22T00:00:01 3301 1234 root [PRIV_userchange]"
                                  " setresuid32(-1, 33, -1); result=0"), (("root", "33"), ()))
        self.assertEqual(idValues("2004-11-22T00:00:01 3301 1234 -1 [PROC_realgid]"
                                  " setgid32(7); result=0"), ((), ("7",)))
        self.assertEqual(idValues("no ids here"), ((), ()))


class MakeAlertTests(SynchronousTestCase):
    def setUp(self):
        self.descriptions = descriptionsFrom(loadMatchFile(MATCH_FILE))

    def test_alert(self):
        match = Match("AuF_Rule", 0x1020, "AUTH", "M")
        alert = makeAlert(record(SSH_FAILED, seq=17), match, 42, "MICE-RegEx",
                          self.descriptions, datetime(2004, 11, 23), tz=UTC)
        self.assertEqual(alert.messageId, "42")
        self.assertEqual(alert.analyzerId, "MICE-RegEx")
        self.assertEqual(alert.classification, "Authentication Failure")
        self.assertEqual(alert.alertId, 0x1020)
        self.assertEqual(alert.severity, "high")
        self.assertEqual(alert.createTime, "2004-11-22T10:00:01+00:00")
        self.assertEqual(alert.detectTime, alert.createTime)
        self.assertEqual(alert.sources, (Node(address="61.2.3.4", port=4242),))
        self.assertEqual(alert.targets[0].user, "admin")
        self.assertEqual(alert.data("log line"), SSH_FAILED)
        self.assertEqual(alert.data("origin"), "client-1 /var/log/messages 17")
        self.assertEqual(alert.data("rule"), "AuF_Rule")
        # Made without the dataclass's __init__, it is the same value.
        self.assertEqual(alert, Alert(**vars(alert)))
        self.assertEqual(hash(alert.sources[0]), hash(Node(address="61.2.3.4", port=4242)))

    def test_fallbacks(self):
        """
        No description: the rule key; no valid record time: C{now}; the
        DEFAULT match: unclassified, info.
        """
        alert = makeAlert(record("x", date="", time=""), Match("FwD_Rule", 0x8010,
                                                               "FIREWALL", "M"),
                          1, "a", {}, datetime(2004, 11, 23, 1, 2, 3, tzinfo=UTC))
        self.assertEqual((alert.classification, alert.severity, alert.createTime),
                         ("FwD_Rule", "high", "2004-11-23T01:02:03+00:00"))
        alert = makeAlert(record("x"), Match(DEFAULT_KEY, None, "DEFAULT", "M"), 1, "a", {},
                          datetime(2004, 11, 23))
        self.assertEqual((alert.alertId, alert.severity), (None, "info"))


class AlertCounterTests(SynchronousTestCase):
    def test_blocks(self):
        store = MemoryAlertIdStore()
        counter = AlertCounter(store, start=1, block=3)
        self.assertEqual([counter.next() for _ in range(7)], [1, 2, 3, 4, 5, 6, 7])
        self.assertEqual(store.saves, [4, 7, 10])

    def test_neverRepeatsAcrossCrash(self):
        """
        A crash (no close) skips the rest of the block; a clean stop skips
        nothing; the config's start only matters the first time.
        """
        path = self.mktemp()
        used = []
        store = AlertIdFile(path)
        counter = AlertCounter(store, start=100, block=10)
        used += [counter.next() for _ in range(4)]
        store.close()  # the process dies: the kernel drops the lock, nothing is saved
        counter = AlertCounter(AlertIdFile(path), start=100, block=10)
        used += [counter.next() for _ in range(12)]
        counter.close()
        counter = AlertCounter(AlertIdFile(path), start=1, block=10)
        used += [counter.next() for _ in range(2)]
        self.assertEqual(len(used), len(set(used)))
        self.assertEqual(used[:4], [100, 101, 102, 103])
        self.assertEqual(used[4], 110)
        self.assertEqual(used[-2:], [used[-3] + 1, used[-3] + 2])

    def test_crashBeforeSaveCompletes(self):
        """
        A save that fails (the disk is full) hands out no number.
        """
        class Failing(MemoryAlertIdStore):
            def save(self, value):
                raise OSError("disk full")

        counter = AlertCounter(Failing(5), start=1, block=10)
        self.assertRaises(OSError, counter.next)
        self.assertRaises(OSError, counter.next)

    def test_fileIsAtomic(self):
        path = self.mktemp()
        store = AlertIdFile(path)
        self.assertIsNone(store.load())
        store.save(0x10)
        self.assertEqual(store.load(), 16)
        self.assertEqual(os.listdir(os.path.dirname(os.path.abspath(path))),
                         [os.path.basename(path)])
        with open(path, "w") as f:
            f.write("garbage")
        self.assertRaises(ValueError, store.load)


class AlertIdDirectory:
    """
    C{self.path}: an AlertIDFile (not made yet) in a directory of its own.
    """

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "alertid")


class InstanceTests(SynchronousTestCase):
    def test_prefixed(self):
        """
        With C{[IDMEF_INFO] Instance} the ids are C{INSTANCE-N}: two agents
        competing for a broker queue, each with its own counter, never
        hand out the same id; closing it closes the counter.
        """
        closed = []
        store = MemoryAlertIdStore()
        store.close = lambda: closed.append(True)
        one = PrefixedCounter(AlertCounter(store, start=7), "aa-1")
        two = PrefixedCounter(AlertCounter(MemoryAlertIdStore(), start=7), "aa-2")
        self.assertEqual([one.next(), one.next(), two.next()], ["aa-1-7", "aa-1-8", "aa-2-7"])
        one.close()
        self.assertEqual(closed, [True])

    def test_agentCounter(self):
        from mice.postproc.agent import agentCounter

        with open(os.path.join(ROOT, "etc", "mice", "mice_mod_pop_aa_regex-broker.conf")) as f:
            text = f.read()
        path = os.path.join(os.path.abspath(self.mktemp()), "aa.conf")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text.replace("../../var/mice_mod_aa_regex-broker-alertid", "alertid"))
        counter = agentCounter(loadAaRegex(path))
        self.addCleanup(counter.close)
        self.assertTrue(counter.next().startswith("aa-1-"))


class SharedAlertCounterTests(AlertIdDirectory, SynchronousTestCase):
    """
    L{sharedAlertCounter}: one counter per AlertIDFile in a process.
    """

    def test_interleavedNeverRepeat(self):
        """
        Two users of one file, drawing in turns and across several blocks,
        never get the same number; after both closed, the numbering goes on
        above every number given out, however the file is named.
        """
        os.symlink(self.directory, os.path.join(self.directory, "link"))
        first = sharedAlertCounter(self.path, start=1, block=3)
        second = sharedAlertCounter(os.path.join(self.directory, "link", "alertid"), 1, 3)
        used = []
        for turn in range(10):
            used.append(first.next())
            used.append(second.next())
            if turn % 3 == 0:
                used.append(second.next())
        self.assertEqual(len(used), len(set(used)))
        first.close()
        used += [second.next() for _ in range(4)]
        second.close()
        self.assertEqual(len(used), len(set(used)))
        self.assertEqual(AlertIdFile(self.path).load(), max(used) + 1,
                         "the last close persists the exact position")
        again = sharedAlertCounter(os.path.join(self.directory, ".", "alertid"))
        self.assertEqual(again.next(), max(used) + 1)
        again.close()

    def test_closeCountsUsers(self):
        """
        A user's close, even repeated, leaves the counter to the others; a
        closed handle hands out nothing.
        """
        first = sharedAlertCounter(self.path, block=10)
        second = sharedAlertCounter(self.path, block=10)
        n = first.next()
        first.close()
        first.close()
        self.assertTrue(first.closed)
        self.assertRaises(ValueError, first.next)
        self.assertEqual(second.next(), n + 1)
        self.assertEqual(AlertIdFile(self.path).load(), n + 10, "the block is still reserved")
        second.close()
        self.assertEqual(AlertIdFile(self.path).load(), n + 2)

    def test_largestStart(self):
        """
        The counter hands out nothing below any of its users' AlertID.
        """
        low = sharedAlertCounter(self.path, start=5)
        self.assertEqual(low.next(), 5)
        high = sharedAlertCounter(self.path, start=100)
        self.assertEqual([low.next(), high.next()], [100, 101])
        later = sharedAlertCounter(self.path, start=1)
        self.assertEqual(later.next(), 102)
        for counter in (low, high, later):
            counter.close()

    def test_badFile(self):
        """
        A file that holds no counter is refused, and leaves nothing behind.
        """
        with open(self.path, "w") as f:
            f.write("garbage")
        self.assertRaises(ValueError, sharedAlertCounter, self.path)
        with open(self.path, "w") as f:
            f.write("7\n")
        counter = sharedAlertCounter(self.path)
        self.assertEqual(counter.next(), 7)
        counter.close()


# Literals that start inside one another and run past its end ("abcd" then
# "cdef"), inside one another ("bc" in "abcd"), and a regex among them: what
# the batch scan of matchIndexed must not lose.
_EXTENDING = _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = ".*abcd.*"
AuF_Rule = "cdef"
AuF_Rule = "xyz"
[ROOT]
RoSendTo = "A"
RoW_Rule = "bc"
RoO_Rule = "def[0-9]+g"
RoR_Rule = "fgh"
RoS_Rule = "ghij|yzab"
[DEFAULT]
DeSendTo = "N"
"""
_EXTENDING_PARTS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "x", "y", "z", "1",
                    "abcd", "cdef", "bcd", "def1g", "fghij", "xyzab", " ", "\n"]


def _naiveIndexed(settings, lines):
    return [(i, m) for i, m in enumerate(naiveMatches(settings, line) for line in lines) if m]


class FastPathTests(SynchronousTestCase):
    """
    The faster paths (matchIndexed, addressesFor, mice analyze's reading and
    output) give what the plain ones give.
    """

    matchers = None

    def setUp(self):
        if FastPathTests.matchers is None:
            loaded = []
            configs = [ALL_RULES, ALL_RULES.replace('DeSendTo = "N"', 'DeSendTo = "A"'),
                       _EXTENDING, _EXTENDING.replace('DeSendTo = "N"', 'DeSendTo = "M"'),
                       open(SEED, encoding="utf-8").read()]
            for text in configs:
                settingsLoaded = loadAaRegex(writeConfig(self, text))
                loaded.append((settingsLoaded, AaRegexMatcher(settingsLoaded)))
            FastPathTests.matchers = loaded

    def check(self, lines):
        for loaded, matcher in self.matchers:
            expected = _naiveIndexed(loaded, lines)
            self.assertEqual(matcher.matchIndexed(lines), expected)
            if "\n" not in "".join(lines):
                self.assertEqual(matcher.matchIndexed(lines, "\n".join(lines)), expected)
            self.assertEqual(matcher.matchLines(lines),
                             [naiveMatches(loaded, line) for line in lines])

    @given(st.lists(_lines, max_size=8))
    def test_indexedSameAsNaive(self, lines):
        self.check(lines)

    @given(st.lists(st.lists(st.sampled_from(_EXTENDING_PARTS), max_size=10).map("".join),
                    max_size=6))
    def test_overlappingLiterals(self, lines):
        self.check(lines)

    def test_extendingLiterals(self):
        loaded, matcher = self.matchers[2]
        self.assertIn("cdef", matcher._extending["abcd"])
        lines = ["abcdef", "xabcdefgh", "abcdef1gh", "xyzabcd", "nothing", ""]
        self.assertEqual(matcher.matchIndexed(lines), _naiveIndexed(loaded, lines))

    def test_corpus(self):
        """
        On a gencorpus sample, the batch results are the line-by-line ones.
        """
        sys.path.insert(0, os.path.join(os.path.dirname(ETC), os.pardir, "bench"))
        try:
            from gencorpus import generate
        finally:
            sys.path.pop(0)
        lines = list(generate(20000, 3))
        for _, matcher in self.matchers:
            expected = [(i, m) for i, m in enumerate(map(matcher.matchLine, lines)) if m]
            self.assertEqual(matcher.matchIndexed(lines), expected)

    @given(st.lists(st.one_of(st.sampled_from([
        "from ", "61.2.3.4", " port ", "22", " SRC=", " DST=", "10.0.0.1", "::1", "fe80::1%e",
        " SPT=", " PROTO=TCP", "[client ", "]", "1.2.3.4 - bob [", "sshd[4]: ", "kernel: ",
        "Nov 22 10:00:01 gate ", "for user x from ", "(to root) bob on /dev/pts/1", " ", "x",
        ":", "[", "999.1.1.1"]), st.text(max_size=3)), max_size=10).map("".join),
        st.sampled_from([None, "", "gate"]), st.sampled_from([None, "", "10.0.0.5", "bad"]))
    def test_addressesForIsNodesFor(self, line, hostname, ip):
        sources, targets = nodesFor(line, hostname, ip)
        self.assertEqual(addressesFor(line, hostname, ip),
                         (sources[0].address if sources else None,
                          targets[0].address if targets else None))

    @given(st.lists(st.one_of(st.binary(max_size=6), st.sampled_from(
        [b"\n", b"\r\n", b"\r", b"\xe2\x82", b"\xe2\x82\xac", b"\xff", "é".encode()])),
        max_size=20).map(b"".join), st.integers(1, 9))
    def test_readLines(self, data, size):
        """
        mice analyze's reading in blocks gives the lines it read one by one.
        """
        from mice.analysis.offline import readLines as _readLines
        from mice.forwarder.format import decodeLogBytes

        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        expected = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            raw = data[start:] if end < 0 else data[start:end + 1]
            start = len(data) if end < 0 else end + 1
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            expected.append(decodeLogBytes(raw))
        got = []
        for lines, text in _readLines(path, size):
            self.assertEqual(text, "\n".join(lines))
            got.extend(lines)
        self.assertEqual(got, expected)

class AlertIdFileLockTests(SynchronousTestCase):
    """
    Two processes counting in one AlertIDFile would hand out the same
    numbers: the second is refused while the first counts.
    """

    def test_closeLetsGo(self):
        path = os.path.join(os.path.abspath(self.mktemp()), "alertid")
        first = AlertCounter(AlertIdFile(path))
        first.next()
        first.close()
        second = AlertCounter(AlertIdFile(path))
        self.addCleanup(second.close)
        self.assertEqual(second.next(), 2)


#: Patterns Hyperscan refuses (C{x*} and C{.*} match the empty string, C{\A}
#: is read otherwise by PCRE) beside patterns it takes.
REFUSED_RULES = _AGENT_HEAD + """[AUTH]
AuSendTo = "M"
AuS_Rule = "Accepted password"
AuF_Rule = "Failed password"
[ROOT]
RoSendTo = "A"
RoW_Rule = "x*"
RoO_Rule = ".*"
RoR_Rule = "\\Aroot"
RoS_Rule = "su: "
"""

_refusedLines = st.lists(st.sampled_from(["", "x", "root", "Failed password", "Accepted password",
                                          " su: ", "é", "\x1c", "a"]), max_size=4).map("".join)


class HyperscanRefusedTests(SynchronousTestCase):
    """
    A pattern Hyperscan refuses (it matches the empty string, or PCRE reads
    it otherwise) is searched with C{re} in every line and the others stay
    on Hyperscan (it switched every rule off Hyperscan, and nothing said
    so): the same matches, and a note naming it by file:line and why.
    """

    matcher = None

    def setUp(self):
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            raise self.skipTest("hyperscan is not installed") from None
        if HyperscanRefusedTests.matcher is None:
            path = writeConfig(self, REFUSED_RULES)
            HyperscanRefusedTests.path = path
            HyperscanRefusedTests.settings = loadAaRegex(path)
            HyperscanRefusedTests.matcher = AaRegexMatcher(self.settings, "hyperscan")

    def test_othersStayOnHyperscan(self):
        hsRules = self.matcher._hsRules
        self.assertIsNotNone(hsRules)
        self.assertEqual(sorted(p.text for p in hsRules.patterns),
                         ["Accepted password", "Failed password", "su: "])
        self.assertEqual([p.text for p, _ in self.matcher.hyperscanRefused],
                         ["x*", ".*", "\\Aroot"])

    def test_notes(self):
        """One note a refused pattern: its file:line, its key, the pattern, why."""
        lines = REFUSED_RULES.splitlines()
        notes = self.matcher.hyperscanNotes()
        self.assertEqual(len(notes), 3)
        for note, key, pattern, why in zip(
                notes, ("RoW_Rule", "RoO_Rule", "RoR_Rule"), ("x*", ".*", "\\Aroot"),
                ("it matches the empty string", "it matches the empty string",
                 "Hyperscan reads \\A otherwise")):
            number = next(i for i, text in enumerate(lines, 1) if text.startswith(key))
            self.assertTrue(note.startswith(f"{self.path}:{number}: {key} {pattern!r} is not"
                                            " on Hyperscan: "), note)
            self.assertIn(why, note)
        from mice.analysis.offline import defaultContent

        self.assertEqual(AaRegexMatcher(loadAaRegex(defaultContent().aaregex),
                                        "hyperscan").hyperscanNotes(), [])

    @given(st.lists(_refusedLines, min_size=1, max_size=12))
    def test_sameAsNaive(self, lines):
        expected = [(i, m) for i, line in enumerate(lines)
                    if (m := naiveMatches(self.settings, line))]
        self.assertEqual(self.matcher.matchIndexed(lines), expected)
        self.assertEqual(self.matcher.matchLines(lines),
                         [naiveMatches(self.settings, line) for line in lines])

    def test_idRulesNote(self):
        """
        Mo_UID/Mo_GID keep every rule on the literal scan: that is said too
        (it was not).
        """
        path = writeConfig(self, ALL_RULES)
        notes = AaRegexMatcher(loadAaRegex(path), "hyperscan").hyperscanNotes()
        self.assertEqual(len(notes), 1)
        self.assertTrue(notes[0].startswith(f"{path}: Mo_UID, Mo_GID (user and group id rules)"
                                            " keep every M-ICE rule off Hyperscan"), notes)


class ReparseTests(SynchronousTestCase):
    """
    L{mice.analysis.reparse.parsed}: a rule's regex is parsed once for
    all the questions the modules ask of it.
    """

    def test_once(self):
        from re import _parser

        from mice.analysis.reparse import parsed

        first = parsed(r"Failed \S+ for (\S+)", re.IGNORECASE)
        self.assertIs(parsed(r"Failed \S+ for (\S+)", re.IGNORECASE), first)
        self.assertEqual(str(first), str(_parser.parse(r"Failed \S+ for (\S+)", re.IGNORECASE)))
        self.assertIsNot(parsed(r"Failed \S+ for (\S+)"), first)

    def test_error(self):
        """A regex re refuses raises re.error each time, as re.compile does."""
        from mice.analysis.reparse import parsed

        for _ in range(2):
            self.assertRaises(re.error, parsed, "(unclosed")
