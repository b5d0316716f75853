"""
Tests for L{mice.analysis.logids} (the LogIDS 2.0 rule language, seed 004) and
the offline analysis of C{mice analyze --rules}: one test per semantic rule of
issue 6.  The command run as a process: C{tests.integration.test_logids}.
"""

import json
import os
import re
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.logids import (
    Action,
    Filter,
    LogIdsEngine,
    LogIdsRecord,
    Problem,
    Rule,
    Taken,
    compileCondition,
    compileEvaluator,
    compileLineEvaluator,
    isAddress,
    literalSearch,
    loadFiles,
    loadFilters,
    loadNetDef,
    loadRules,
    number,
    parseFilters,
    parseNetDef,
    parseRules,
    quickerRegex,
    requiredLiteral,
    requiredLiterals,
    splitSource,
    syslogHost,
    unescapeValue,
    widenedRegex,
)
from mice.analysis.offline import LogIdsJson as _LogIdsJson
from mice.analysis.offline import LogIdsListing as _LogIdsListing
from tests import ROOT, SLOW
from tests.unit.analysis import requireHyperscan

ETC = os.path.join(ROOT,
                   "etc", "mice", "logids")
RULES = os.path.join(ETC, "rules.txt")
FILTERS = os.path.join(ETC, "filter.txt")
NETDEF = os.path.join(ETC, "netdef.txt")

#: The seed's example rules file, as the seed prints it.
SEED_RULES = """\
ZoneAlarm,host eq *,alert
ZoneAlarm,host eq *,display=type#date#time#ip#source#dest#transport
ZoneALARM,transport eq tcp,icon=desktopoutbounddenied.bmp
antivirus,ip eq *,alert
Antivirus,message eq infected,display=date#time#ip#username#virusname#infectedfile
Antivirus,message eq infected,icon=virus.bmp
Antivirus,message eq infected,alert
Antivirus,message eq cleaned,display=date#time#ip#username#virusname#infectedfile
Antivirus,message eq cleaned,icon=viruscleaned.bmp
Application Event,ip eq *,reject
Security Event,ip eq *,reject
System Event,ip eq *,reject
Snort,ip eq *,display=application#line
Running Services,ip eq *,display=display#servfilename#state#startup
Open shares,ip eq *,display=loghost#share#usergroup#rights#path
Startup config,ip eq *,display=loghost#line
ADS Scanner,ip eq * AND ads ct started,display=loghost#ads#size
ADS Scanner,ip eq * AND ads ct started,alert
Integrity checker,ip eq * AND line nc started,display=loghost#line
Integrity checker,ip eq * AND line nc started,alert
*,*,reject
"""

#: Filters for every application of the seed's example, for the tests.
SEED_FILTERS = r"""
[ZoneAlarm]
match  = ZoneAlarm:
fields = ZoneAlarm: (?P<type>\w+),(?P<date>[^,]*),(?P<time>[^,]*),(?P<source>[^,]*),(?P<dest>[^,]*),(?P<transport>\w+)
[Antivirus]
file      = antivirus*.log
separator = ,
names     = date#time#username#message#virusname#infectedfile
[Application Event]
match = ^AppEvent:
[Snort]
match = snort\[\d+\]:
[Running Services]
match = ^service:
fields = ^service: (?P<display>[^;]*);(?P<servfilename>[^;]*);(?P<state>[^;]*);(?P<startup>.*)
[ADS Scanner]
match = ^ADS:
fields = ^ADS: (?P<ads>.*?) size=(?P<size>\d+)
[Integrity checker]
match = ^integrity:
[Unruled]
match = ^unruled:
"""


def fields(**values):
    return values


def condition(text, **values):
    return compileCondition(text)(values)


def engineFrom(rules, filters="", netdef=""):
    loadedRules, problems = parseRules(rules)
    assert problems == [], problems
    loadedFilters, problems = parseFilters(filters)
    assert problems == [], problems
    loadedNetDef, problems = parseNetDef(netdef)
    assert problems == [], problems
    return LogIdsEngine(loadedRules, loadedFilters, loadedNetDef)


def summary(taken):
    """C{(rule line or None, kind, detail)} of each action."""
    return [(t.rule.lineNumber if t.rule else None, t.kind,
             t.severity or t.icon or t.fields) for t in taken]


class ConditionTests(SynchronousTestCase):
    """
    Conditions: C{expr1 cond expr2} statements joined by AND/OR.
    """

    def test_leftToRightNoPrecedence(self):
        """
        C{a OR b AND c} is C{(a OR b) AND c}, not C{a OR (b AND c)}; and
        C{a AND b OR c AND d} is C{((a AND b) OR c) AND d}.
        """
        text = "a eq 1 OR b eq 1 AND c eq 1"
        self.assertFalse(condition(text, a="1", b="0", c="0"))  # precedence: True
        self.assertTrue(condition(text, a="1", b="0", c="1"))
        text = "a eq 1 AND b eq 1 OR c eq 1 AND d eq 1"
        self.assertFalse(condition(text, a="1", b="1", c="0", d="0"))  # precedence: True
        self.assertTrue(condition(text, a="0", b="0", c="1", d="1"))
        self.assertTrue(condition("a eq 1 and b eq 1 or c eq 1", a="0", b="0", c="1"))

    def test_numeric(self):
        """
        C{= == <= >= !=} compare numbers: C{10 >= 9} although C{"10" lt
        "9"}; C{=} and C{==} are the same; decimals and signs work.
        """
        self.assertTrue(condition("n >= 9", n="10"))
        self.assertTrue(condition("n lt 9", n="10"))
        self.assertTrue(condition("n = 10", n="10.0"))
        self.assertTrue(condition("n == 10", n=" 10 "))
        self.assertTrue(condition("n <= -1.5", n="-2"))
        self.assertTrue(condition("n != 3", n="4"))
        self.assertFalse(condition("n != 4", n="4"))
        self.assertFalse(condition("n >= 11", n="10"))

    def test_nonNumericIsFalse(self):
        """
        A non-numeric side makes a numeric statement false, C{!=}
        included, and never raises.
        """
        for op in ("=", "==", "<=", ">=", "!="):
            self.assertFalse(condition(f"n {op} 5", n="five"), op)
            self.assertFalse(condition(f"n {op} five", n="5"), op)
            self.assertFalse(condition(f"n {op} 5"), op)  # a missing field
            self.assertFalse(condition(f"n {op} nan", n="nan"), op)
        self.assertEqual(number("0x10"), None)
        self.assertEqual(number("1_000"), None)

    def test_hugeNumbers(self):
        """
        A field of more digits than int() converts is still a number (a log
        line must not stop the engine), compared exactly.
        """
        digits = "9" * 5000
        self.assertEqual(number(digits), Decimal(digits))
        self.assertEqual(number(" -" + digits), Decimal("-" + digits))
        self.assertTrue(condition("n >= 5", n=digits))
        self.assertFalse(condition("n = 1e4", n=digits))
        self.assertTrue(condition("n != " + digits[:-1], n=digits))
        self.assertEqual(number("\u0663\u0664"), 34)  # \d is any Unicode digit

    def test_strings(self):
        """C{eq ne gt ge lt le} compare strings, as Perl's."""
        self.assertTrue(condition("s eq root", s="root"))
        self.assertFalse(condition("s eq root", s="Root"))
        self.assertTrue(condition("s ne root", s="Root"))
        self.assertTrue(condition("s gt abc", s="abd"))
        self.assertTrue(condition("s ge abc", s="abc"))
        self.assertTrue(condition("s lt 9", s="10"))
        self.assertTrue(condition("s le 10", s="10"))
        self.assertFalse(condition("s gt b", s="a"))

    def test_containsIsRegexSearch(self):
        """C{ct} is a regex search, C{nc} its negation."""
        self.assertTrue(condition("s ct start", s="it started"))
        self.assertTrue(condition(r"s ct ^it\s+st(a|o)", s="it  stopped"))
        self.assertFalse(condition("s ct ^started", s="it started"))
        self.assertTrue(condition("s nc ^started", s="it started"))
        self.assertFalse(condition("s nc start", s="it started"))
        self.assertTrue(condition("s nc start"))  # a missing field is ""

    def test_starValue(self):
        """C{*} as the value of C{eq} matches anything, a missing field too."""
        self.assertTrue(condition("s eq *", s="anything"))
        self.assertTrue(condition("s eq *", s=""))
        self.assertTrue(condition("s eq *"))
        self.assertFalse(condition("s ne *", s="x"))
        self.assertFalse(condition("s gt *", s="!"))  # a literal * elsewhere

    def test_ipWildcards(self):
        """IP wildcards (and CIDR networks) work with C{eq} and C{ne}."""
        self.assertTrue(condition("ip eq 10.0.0.*", ip="10.0.0.42"))
        self.assertFalse(condition("ip eq 10.0.0.*", ip="10.0.1.42"))
        self.assertFalse(condition("ip eq 10.0.0.*", ip="10.0.0.256"))
        self.assertFalse(condition("ip eq 10.0.0.*", ip="10.0.0.4x"))
        self.assertTrue(condition("ip eq 10.*.*.1", ip="10.200.3.1"))
        self.assertTrue(condition("ip ne 10.0.0.*", ip="192.168.0.1"))
        self.assertFalse(condition("ip ne 10.0.0.*", ip="10.0.0.1"))
        self.assertTrue(condition("ip eq 10.0.0.0/8", ip="10.9.8.7"))
        self.assertTrue(condition("ip ne 10.0.0.0/8", ip="fd00::1"))
        self.assertTrue(condition("ip eq fd00::/8", ip="fd00::1"))
        self.assertFalse(condition("ip eq 10.0.0.*", ip=""))

    def test_underscoreIsSpace(self):
        """C{_} in a value stands for a space (C{\\_}: an underscore)."""
        self.assertTrue(condition("s eq Login_failed", s="Login failed"))
        self.assertTrue(condition("s ct failed_for_root", s="Login failed for root"))
        self.assertTrue(condition(r"s eq SERVICE\_AUTO\_START", s="SERVICE_AUTO_START"))
        self.assertEqual(unescapeValue(r"a_b\_c"), "a b_c")

    def test_starCondition(self):
        """C{*} as the whole condition is always true."""
        self.assertTrue(condition("*"))
        self.assertTrue(condition(" * "))

    def test_badConditions(self):
        for text, reason in [("", "empty condition"), ("a eq", "incomplete statement"),
                             ("a like b", "unknown condition 'like'"),
                             ("a eq b XOR c eq d", "expected AND or OR, not 'XOR'"),
                             ("a ct (", "not a regular expression"),
                             ("a eq b AND", "incomplete statement")]:
            with self.assertRaises(ValueError) as e:
                compileCondition(text)
            self.assertIn(reason, str(e.exception), text)


def referenceFold(statements, joiners, values):
    """
    A condition evaluated the slow, obvious way: each statement on its own,
    then folded left to right.
    """

    def statement(name, op, raw):
        left = values.get(name, "")
        right = raw.replace("_", " ")
        if op in ("eq", "ne"):
            equal = right == "*" or left == right
            return equal if op == "eq" else not equal
        if op in ("gt", "ge", "lt", "le"):
            return {"gt": left > right, "ge": left >= right,
                    "lt": left < right, "le": left <= right}[op]
        if op in ("ct", "nc"):
            return (re.search(re.escape(right), left) is not None) == (op == "ct")
        try:
            a, b = float(left), float(right)
        except ValueError:
            return False
        return {"=": a == b, "==": a == b, "<=": a <= b, ">=": a >= b, "!=": a != b}[op]

    result = statement(*statements[0])
    for joiner, s in zip(joiners, statements[1:]):
        result = (result and statement(*s)) if joiner == "AND" else (result or statement(*s))
    return result


_names = st.sampled_from(["a", "b", "c"])
_values = st.sampled_from(["1", "2", "10", "-3", "2.0", "1e1", "x", "xy", "y", "a_b", "*"])
_statements = st.tuples(_names, st.sampled_from(
    ["=", "==", "<=", ">=", "!=", "eq", "ne", "gt", "ge", "lt", "le", "ct", "nc"]), _values)


class PropertyTests(SynchronousTestCase):
    @given(st.lists(_statements, min_size=1, max_size=6), st.data(),
           st.dictionaries(_names, st.sampled_from(["1", "2", "10", "10.0", " 2 ", "x", "xy", "a b", ""])))
    def test_foldMatchesReference(self, statements, data, values):
        """
        Random conditions evaluate as the reference left-to-right fold.
        """
        joiners = data.draw(st.lists(st.sampled_from(["AND", "OR"]),
                                     min_size=len(statements) - 1,
                                     max_size=len(statements) - 1))
        tokens = list(statements[0])
        for joiner, s in zip(joiners, statements[1:]):
            tokens += [joiner, *s]
        # The values have no regex metacharacters but *, which ct/nc
        # cannot compile: escape it there as the reference does.
        text = " ".join(tokens)
        text = re.sub(r"(ct|nc) \*", r"\1 \\*", text)
        self.assertEqual(compileCondition(text)(values),
                         referenceFold(statements, joiners, values), text)

    @given(st.text(max_size=300), st.sampled_from(["", "10.0.0.1", "::1", "x"]),
           st.sampled_from(["", "/var/log/antivirus-1.log", "messages"]))
    def test_randomLinesNeverRaise(self, line, ip, stream):
        """
        Any line gets a record and at least one action, with every shipped
        filter and the seed's rules.
        """
        taken = self.engine.evaluate(self.engine.recordFor(line, ip=ip, stream=stream))
        self.assertGreaterEqual(len(taken), 1)

    @given(st.text(alphabet=st.sampled_from("ab ,=*#_()[]\\eqctnANDOR.0123\n"), max_size=80))
    def test_randomFilesNeverRaise(self, text):
        """Any rules, filter or netdef text loads or reports problems."""
        for parse in (parseRules, parseFilters, parseNetDef):
            _, problems = parse(text)
            for problem in problems:
                self.assertRegex(str(problem), r"^\S+:\d+: ")

    def setUp(self):
        rules, _ = loadRules(RULES)
        filters, _ = loadFilters(FILTERS)
        netdef, _ = loadNetDef(NETDEF)
        self.engine = LogIdsEngine(rules, filters, netdef)


def referenceRecord(engine, line, ip="", stream="", hostname=""):
    """
    L{LogIdsEngine.recordFor} the straightforward way: each block's
    L{Filter.selects} in file order, the first one's L{Filter.parse}.
    """
    application, parsed = "", ()
    for block in engine.filters:
        if block.selects(line, stream):
            application, parsed = block.name, block.parse(line)
            break
    fields = dict(parsed)
    if "source" in fields:
        srcIp, srcPort = splitSource(fields["source"])
        fields.setdefault("src_ip", srcIp)
        fields.setdefault("src_port", srcPort)
    fields["application"] = application
    fields["ip"] = ip
    fields["loghost"] = engine.netdef.name(ip) or hostname or ip
    fields["line"] = line
    return LogIdsRecord(application, fields, tuple(name for name, _ in parsed))


def referenceEvaluate(engine, record):
    """L{LogIdsEngine.evaluate} the straightforward way: each rule's test in turn."""
    fields = record.fields
    taken = []
    for rule in engine.rulesFor(record.application):
        if rule.test(fields):
            action = rule.action
            if action.kind == "display":
                names = action.fields or record.order or ("line",)
                taken.append(Taken(rule, "display",
                                   fields=tuple((n, fields.get(n, "")) for n in names)))
            else:
                taken.append(Taken(rule, action.kind, action.severity, icon=action.icon))
    return taken or [Taken(None, "drop")]


def sameRecord(record, reference):
    """Equal, and the fields in the same order."""
    return record == reference and list(record.fields) == list(reference.fields)


# Regexes made of pieces that exercise literal runs and what breaks them:
# classes, repeats, optional groups, alternations, anchors, lookarounds,
# escapes and case-insensitivity.
_regexPieces = st.sampled_from([
    "a", "b", "ab", "ba", "x", ":", " ", "a*", "b+", "a?", "a{2}", "[ab]", "[^a]", ".",
    r"\s", r"\d", r"\w", "^", "$", r"\b", "(a|b)", "(?:ab)?", "x|y", "(?=a)", "(?<=b)",
    "(?i:a)", r"\[", r"\x61", "(ab)+", r"\S*",
])
_regexes = st.tuples(st.booleans(), st.lists(_regexPieces, min_size=1, max_size=5)).map(
    lambda t: ("(?i)" if t[0] else "") + "".join(t[1]))
_lines = st.text(alphabet=st.sampled_from("abxyAB :[]0-1\t"), max_size=16)
_globs = st.sampled_from([None, "*.log", "antivirus*", "/var/log/*", "x*", "*"])
_streams = st.sampled_from(["", "/var/log/antivirus-1.log", "/tmp/x.log", "messages",
                            "/var/log/messages"])


def compiledOrNone(text):
    try:
        return re.compile(text)
    except re.error:
        return None


_filterSets = st.lists(st.tuples(_regexes.map(compiledOrNone) | st.none(), _globs),
                       max_size=5).map(
    lambda blocks: [Filter(f"app{i}", match=match, file=glob)
                    for i, (match, glob) in enumerate(blocks)
                    if match is not None or glob is not None])

_ruleLines = st.tuples(
    st.sampled_from(["a", "A", "b", "*", "other"]),
    st.lists(_statements, min_size=1, max_size=4),
    st.lists(st.sampled_from(["AND", "OR", "and"]), min_size=3, max_size=3),
    st.sampled_from(["alert", "warn", "drop", "reject", "icon=x.bmp", "display=",
                     "display=a#line#missing", "display=b", "DISPLAY=c#a"]),
    st.booleans(),
).map(lambda t: f"{t[0]},{'*' if t[4] else _join(t[1], t[2])},{t[3]}")


def _join(statements, joiners):
    tokens = list(statements[0])
    for joiner, statement in zip(joiners, statements[1:]):
        tokens += [joiner, *statement]
    # ct/nc cannot compile a bare *: escape it, as test_foldMatchesReference.
    return re.sub(r"(ct|nc) \*", r"\1 \\*", " ".join(tokens))


class FastPathTests(SynchronousTestCase):
    """
    What the engine does to be fast (the block prescan, the generated
    rules code, L{LogIdsEngine.analyseLines}, the C{--json} pieces) gives
    what the straightforward loops give.
    """

    @given(_regexes, st.data())
    def test_requiredLiteral(self, text, data):
        """Every line a pattern finds a match in holds its required literal."""
        pattern = compiledOrNone(text)
        assume(pattern is not None)
        literal = requiredLiteral(pattern)
        # Lines with a match (hypothesis makes them from the regex) and others.
        line = data.draw(st.from_regex(pattern) | _lines)
        if pattern.search(line) is not None:
            self.assertIn(literal, line, (text, literal))

    def test_requiredLiteralExamples(self):
        self.assertEqual(requiredLiteral(re.compile(r"\ssshd\[\d+\]:")), "sshd[")
        self.assertEqual(requiredLiteral(re.compile(r"\skernel: .*\bIN=\S* OUT=")), "kernel: ")
        self.assertEqual(requiredLiteral(re.compile("ab*c")), "a")
        self.assertEqual(requiredLiteral(re.compile("(?i)ZoneAlarm")), "")
        self.assertEqual(requiredLiteral(re.compile("ab|cd")), "")

    @given(_regexes, st.data())
    def test_requiredLiterals(self, text, data):
        """Every line a pattern finds a match in holds one of its required literals."""
        pattern = compiledOrNone(text)
        assume(pattern is not None)
        literals = requiredLiterals(pattern)
        line = data.draw(st.from_regex(pattern) | _lines)
        if pattern.search(line) is not None:
            self.assertTrue(any(literal in line for literal in literals), (text, literals))

    def test_requiredLiteralsExamples(self):
        self.assertEqual(requiredLiterals(re.compile(r"\ssu(?:\[\d+\])?:")), ("su:", "su["))
        self.assertEqual(requiredLiterals(re.compile(r"\ssshd\[\d+\]:")), ("sshd[",))
        self.assertEqual(requiredLiterals(re.compile("ab|cd")), ("ab", "cd"))
        self.assertEqual(requiredLiterals(re.compile("x(ab|cd)y(?:ef)?")),
                         ("xaby", "xabyef", "xcdy", "xcdyef"))
        self.assertEqual(requiredLiterals(re.compile("(a|b)(c|d)(e|f)")), ("",))
        self.assertEqual(requiredLiterals(re.compile("(?i)ab|cd")), ("",))
        self.assertEqual(requiredLiterals(re.compile("x|(?i:y)")), ("",))

    @given(st.tuples(st.sampled_from(["", "^", "\\A", "(?m)^", "(?s)"]),
                     st.lists(st.sampled_from(["a", "b", "ab", ":", " ", "\\.", "\\[", "\\x61",
                                               "\\n", "é"]), max_size=4),
                     st.sampled_from(["", "", "", "$", "a*", "[ab]"])).map(
               lambda t: t[0] + "".join(t[1]) + t[2]),
           st.data())
    def test_literalSearch(self, text, data):
        """literalSearch's str method tells what the regex search tells."""
        pattern = re.compile(text)
        found = literalSearch(pattern)
        if found is None:
            self.assertTrue(text.startswith("(?m)") or text[-1:] in "$*]", text)
            return
        test, literal = found
        line = data.draw(st.from_regex(pattern) | _lines | st.just(literal + "\n")
                         | st.just("\n" + literal))
        self.assertEqual(getattr(line, "__contains__" if test == "in" else test)(literal),
                         pattern.search(line) is not None, (text, found, line))

    def test_literalSearchExamples(self):
        self.assertEqual(literalSearch(re.compile("session opened")), ("in", "session opened"))
        self.assertEqual(literalSearch(re.compile(r"\.\./")), ("in", "../"))
        self.assertEqual(literalSearch(re.compile("^/tmp/")), ("startswith", "/tmp/"))
        self.assertEqual(literalSearch(re.compile(r"\A/tmp/")), ("startswith", "/tmp/"))
        for text in ("(?m)^/tmp/", "a$", "(?i)x", "a|b", "a.", "^", "x^"):
            self.assertEqual(literalSearch(re.compile(text)), None if text != "^" else
                             ("startswith", ""), text)

    @given(_filterSets, st.data(), _streams)
    def test_prescanSelectsAsFirstMatch(self, filters, data, stream):
        """
        recordFor and analyseLines select the block that the first-match
        loop over L{Filter.selects} selects (the first in file order whose
        C{file} glob and C{match} select the line).
        """
        matching = [st.from_regex(block.match) for block in filters if block.match is not None]
        lines = data.draw(st.lists(st.one_of(_lines, *matching), max_size=6))
        engine = LogIdsEngine((), filters)
        for index, record, _ in engine.analyseLines(lines, "10.0.0.1", stream, "h"):
            reference = referenceRecord(engine, lines[index], "10.0.0.1", stream, "h")
            self.assertTrue(sameRecord(record, reference), (lines[index], record, reference))
            self.assertTrue(sameRecord(
                engine.recordFor(lines[index], "10.0.0.1", stream, "h"), reference))

    @given(st.lists(_ruleLines, max_size=12), st.sampled_from(["a", "b", "B", "", "zzz"]),
           st.dictionaries(_names, st.sampled_from(["1", "2", "10", "10.0", " 2 ", "x", "xy",
                                                    "a b", "", "\u0663"])),
           st.sampled_from([(), ("a",), ("c", "a")]))
    def test_compiledRulesMatchReference(self, ruleLines, application, values, order):
        """
        The generated code of an application's rules takes the actions
        that evaluating each rule's test in turn takes, in the same order.
        """
        rules, problems = parseRules("\n".join(ruleLines))
        self.assertEqual(problems, [])
        engine = LogIdsEngine(rules)
        record = LogIdsRecord(application, dict(values, line="the line"), order)
        self.assertEqual(engine.evaluate(record), referenceEvaluate(engine, record))

    def test_handMadeRuleTest(self):
        """A rule whose test is any predicate (not compileCondition's) is called."""
        seen = []
        rule = Rule("r.txt", 1, "a", "custom", Action("alert"),
                    lambda fields: seen.append(fields) or fields.get("s") == "1")
        engine = LogIdsEngine([rule])
        self.assertEqual(engine.evaluate(LogIdsRecord("a", {"s": "1"}, ())),
                         [Taken(rule, "alert", "high")])
        self.assertEqual(engine.evaluate(LogIdsRecord("a", {"s": "2"}, ())),
                         [Taken(None, "drop")])
        self.assertEqual(len(seen), 2)
        self.assertEqual(compileEvaluator(())({}, ()), [Taken(None, "drop")])

    def test_uncompilableRulesEvaluatedOneByOne(self):
        """
        Rules the compiler refuses (a size never seen) are evaluated rule by
        rule, with the same results.
        """
        import mice.analysis.logids

        def refuse(*args):
            raise RecursionError("too deep")
        mice.analysis.logids.compile = refuse
        self.addCleanup(delattr, mice.analysis.logids, "compile")
        rules, _ = parseRules("a,s eq 1,alert\na,s eq 1 OR s eq 2,display=s#t\na,*,display=\n")
        evaluate = compileEvaluator(rules)
        for values in ({"s": "1"}, {"s": "2", "t": "x"}, {}):
            record = LogIdsRecord("a", values, ("s",))
            self.assertEqual(evaluate(values, ("s",)),
                             referenceEvaluate(LogIdsEngine(rules), record))

    @given(st.lists(st.text(max_size=120) | st.sampled_from([
        "Nov 22 10:00:01 10.0.0.5 sshd[1]: Failed password for root from 1.2.3.4 port 5 ssh2",
        "Nov 22 10:00:01 www sshd[1]: Accepted publickey for bob from 10.0.0.9 port 22 ssh2",
        "Nov 22 10:00:01 10.0.0.42 ZoneAlarm: FWIN,2004/11/22,10:00:01,10.0.0.5:1034,"
        "10.0.0.1:80,tcp",
        "2004-11-22T10:00:01+01:00 ::1 kernel: IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.1 LEN=60"
        " PROTO=TCP SPT=1 DPT=22"]), max_size=8),
        st.sampled_from([None, "", "10.0.0.9"]), st.sampled_from([None, "", "gw"]),
        st.sampled_from(["", "/var/log/antivirus-1.log", "messages"]))
    def test_analyseLinesIsRecordForThenEvaluate(self, lines, ip, hostname, stream):
        """
        analyseLines gives, for each line, recordFor then evaluate; C{None}
        for C{ip}/C{hostname} takes them from the syslog header as C{mice
        analyze} does.
        """
        results = list(self.engine.analyseLines(lines, ip, stream, hostname))
        self.assertEqual([index for index, _, _ in results], list(range(len(lines))))
        for (_, record, taken), line in zip(results, lines):
            host = syslogHost(line)
            lineIp = ip if ip is not None else (host if isAddress(host) else "")
            reference = referenceRecord(self.engine, line, lineIp, stream,
                                        host if hostname is None else hostname)
            self.assertTrue(sameRecord(record, reference), (line, record, reference))
            self.assertEqual(taken, referenceEvaluate(self.engine, reference))
            self.assertEqual(taken, self.engine.evaluate(record))

    @given(st.integers(min_value=0, max_value=10 ** 12), st.text(max_size=8),
           st.text(max_size=8), st.lists(st.tuples(st.text(max_size=6), st.text(max_size=12)),
                                         max_size=3))
    def test_jsonPiecesAreJsonDumps(self, line, application, path, pairs):
        """
        mice analyze --json prints each action's asDict as json.dumps does,
        whatever the strings hold (quotes, backslashes, control characters,
        non-ASCII).
        """
        rule = Rule(path, 3, application or "*", "*", Action("icon", icon=path),
                    compileCondition("*"))
        taken = [Taken(rule, "icon", icon=path), Taken(rule, "alert", "high"),
                 Taken(rule, "display", fields=tuple(pairs) or (("line", path),)),
                 Taken(None, "drop")]
        formatter = _LogIdsJson()
        for _ in range(2):  # the second time from the cached pieces
            self.assertEqual(formatter.format(line, application, taken),
                             "".join(json.dumps(t.asDict(line, application)) + "\n"
                                     for t in taken))

    @given(st.integers(min_value=0, max_value=10 ** 12), st.text(max_size=8),
           st.text(max_size=8), st.lists(st.tuples(st.text(max_size=6), st.text(max_size=12)),
                                         max_size=3))
    def test_listing(self, line, application, path, pairs):
        """
        mice analyze's listing (without --json) of each action, from its
        cached pieces, is the text the command made of each action before
        it cached them.
        """
        rule = Rule(path, 3, application or "*", "*", Action("icon", icon=path),
                    compileCondition("*"))
        taken = [Taken(rule, "icon", icon=path), Taken(rule, "alert", "high"),
                 Taken(rule, "display", fields=tuple(pairs) or (("line", path),)),
                 Taken(rule, "display", fields=()), Taken(rule, "display", "high", fields=()),
                 Taken(None, "drop")]

        def before(action):
            detail = (action.severity or action.icon
                      or " ".join(f"{k}={v}" for k, v in action.fields or ()))
            return (f"{line}: {application or '-'} {action.kind}"
                    f"{' ' + detail if detail else ''}"
                    f" [{action.rule.where if action.rule else 'no rule'}]\n")
        listing = _LogIdsListing()
        formatter = _LogIdsJson()
        for _ in range(2):  # the second time from the cached pieces
            self.assertEqual(listing.lines(line, [(application, taken)]),
                             "".join(map(before, taken)))
            self.assertEqual(formatter.lines(line, [(application, taken[:3]), ("x", taken[5:])]),
                             "".join(json.dumps(t.asDict(line, application)) + "\n"
                                     for t in taken[:3])
                             + json.dumps(taken[5].asDict(line + 1, "x")) + "\n")

    def setUp(self):
        rules, _ = loadRules(RULES)
        extra, problems = parseRules(
            "sshd,user eq root AND src_ip ne 10.0.0.0/8,alert\n"
            "sshd,src_port >= 1024 OR src_port = 22 AND loghost eq lan,display=user#loghost\n"
            "sshd,*,display=\n"
            "iptables,dst_port = 22 AND src_ip eq 1.2.*.*,warn\n"
            "ZoneAlarm,src_ip eq 10.0.0.* AND ip ne 10.0.0.42,display=src_ip#src_port\n",
            "extra.txt")
        self.assertEqual(problems, [])
        filters, _ = loadFilters(FILTERS)
        netdef, _ = loadNetDef(NETDEF)
        self.engine = LogIdsEngine(rules + extra, filters, netdef)


# The richer rules and filters of the line evaluator's tests: fields of
# every origin (a regex's groups, unnamed ones among them; a split; source
# made into src_ip/src_port, or the filter's own src_ip; the built-in
# ones; missing ones), and values for every statement's shortcut (plain
# characters, a ^prefix, a regex with a literal, IP wildcards and networks,
# numbers, empty).
_LINE_FILTERS = r"""
[rx]
match  = ^rx
fields = ^rx (\w*) (?P<s>\S*) ?(?P<source>\S*)(?: (?P<n>\d+))?(?: t=(?P<t>.*))?
[own]
match  = ^own
fields = ^own (?P<src_ip>\S*) (?P<source>\S*)
[sep]
file      = *.csv
separator = ,
names     = s#source#t
[bare]
match = ^bare
"""
_lineFields = st.sampled_from(["s", "t", "n", "source", "src_ip", "src_port", "ip", "loghost",
                               "line", "application", "missing"])
_lineValues = st.sampled_from(["ab", "^a", "^rx", "a.b", "b$", "(?i)A", "10.0.0.*", "10.*.*.*",
                               "10.0.0.0/8", "1", "10", "x", "*", "a_b", "\\_", "rx", "::1"])
_lineStatements = st.tuples(_lineFields, st.sampled_from(
    ["=", ">=", "!=", "eq", "ne", "gt", "le", "ct", "nc"]), _lineValues)
_lineRules = st.tuples(
    st.sampled_from(["rx", "RX", "own", "sep", "bare", "*", "other"]),
    st.lists(_lineStatements, min_size=1, max_size=3),
    st.lists(st.sampled_from(["AND", "OR"]), min_size=2, max_size=2),
    st.sampled_from(["alert", "warn", "reject", "icon=x.bmp", "display=", "display=ip#loghost",
                     "display=src_ip#src_port#line", "display=application#missing#n",
                     "display=s#t#source"]),
    st.booleans(),
).map(lambda t: f"{t[0]},{'*' if t[4] else _join(t[1], t[2])},{t[3]}")
_lineLines = st.lists(st.lists(st.sampled_from(["rx ", "own ", "bare", "a", "b", "A", " ", ",",
                                                "t=", "10.0.0.5:22", "1.2.3.4", "[::1]:9", "7",
                                                "\n", "_", "é"]),
                               max_size=8).map("".join)
                      | st.sampled_from(["Nov 22 10:00:01 10.0.0.5 rx", "Nov 22 10:00:01 gw rx ab",
                                         "rx a b 10.0.0.5:22 7 t=x y", "rx _ ab", "own  x:1",
                                         "own 1.2.3.4 10.0.0.5:22", "ab,[::1]:9,t,u", "a,b"]),
                      max_size=6)


def _ruleText(lines):
    """The rules among C{lines} that load (a ct value may not be a regex)."""
    return "\n".join(line for line in lines if not parseRules(line)[1])


class LineEvaluatorTests(SynchronousTestCase):
    """
    L{LogIdsEngine.actions} (a line's rules compiled with its filter block,
    parsing only what they read; the blocks tried by generated code) gives
    what L{LogIdsEngine.analyseLines} gives.
    """

    def engine(self, ruleLines, filters=_LINE_FILTERS):
        rules, _ = parseRules(_ruleText(ruleLines))
        loaded, problems = parseFilters(filters)
        self.assertEqual(problems, [])
        netdef, _ = parseNetDef("10.0.0.5 five\n10.0.0.0/8 lan\n")
        return LogIdsEngine(rules, loaded, netdef)

    def assertSameActions(self, engine, lines, ip, stream, hostname):
        expected = [(record.application, taken)
                    for _, record, taken in engine.analyseLines(lines, ip, stream, hostname)]
        self.assertEqual(list(engine.actions(lines, ip, stream, hostname)), expected)

    @given(st.lists(_lineRules, max_size=10), _lineLines,
           st.sampled_from([None, "", "10.0.0.9"]), st.sampled_from([None, "", "gw"]),
           st.sampled_from(["", "/var/log/x.csv", "messages"]))
    def test_actionsAreAnalyseLines(self, ruleLines, lines, ip, hostname, stream):
        self.assertSameActions(self.engine(ruleLines), lines, ip, stream, hostname)

    @given(st.lists(_lineRules, max_size=6), _lineLines)
    def test_withoutGeneratedCode(self, ruleLines, lines):
        """
        Rules or blocks beyond what the compiler takes: the engine evaluates
        them one by one and tries the blocks in a loop, with the same
        results.
        """
        import mice.analysis.logids

        def refuse(*args):
            raise RecursionError("too deep")
        mice.analysis.logids.compile = refuse
        try:
            engine = self.engine(ruleLines)
            self.assertEqual(compileLineEvaluator(engine.rules), None)
            self.assertSameActions(engine, lines, None, "/var/log/x.csv", None)
        finally:
            del mice.analysis.logids.compile

    def test_examples(self):
        """Every field of every block shown and tested, on lines each block parses."""
        fields = ["s", "t", "n", "source", "src_ip", "src_port", "ip", "loghost", "line",
                  "application", "missing"]
        ruleLines = [f"{app},*,display={'#'.join(fields)}" for app in ("rx", "own", "sep", "*")]
        ruleLines += [f"{app},*,display=" for app in ("rx", "own", "sep", "bare")]
        ruleLines += [f"{app},{field} ne x,display={field}" for app in ("rx", "sep")
                      for field in fields]
        engine = self.engine(ruleLines)
        lines = ["Nov 22 10:00:01 10.0.0.5 rx a b 10.0.0.5:22 7 t=x y", "rx _ ab", "own  x:1",
                 "own 1.2.3.4 [::1]:22", "ab,[::1]:9,t,u", "a,b", "bare", "other", "rx"]
        for stream in ("", "/var/log/x.csv"):
            for ip, hostname in ((None, None), ("10.0.0.9", "gw"), ("", "")):
                self.assertSameActions(engine, lines, ip, stream, hostname)

    def test_statementEdges(self):
        """
        Each statement, compiled into either kind of generated code, on an
        empty, a missing and a present field, and on a number of more
        digits than int() takes, is what its predicate says.
        """
        conditions = ["ct a.b", "nc a.b", "ct ^$", "nc ^$", "ct (?i)X", "nc (?i)X", "ct ab",
                      "nc ab", "ct ^a", "nc ^a", "eq 10.0.0.*", "ne 10.0.0.*", "eq 10.0.0.0/8",
                      "ne 10.0.0.0/8", "eq ::1", ">= 1", "!= 1", "= 10", "lt b", "eq *", "ne *"]
        rules, problems = parseRules("".join(f"a,f {c},display=f\na,f {c} OR f >= 2,alert\n"
                                             for c in conditions))
        self.assertEqual(problems, [])
        block = Filter("a", match=re.compile("^a"), fields=re.compile("^a(?: (?P<f>.*))?"))
        onFields = compileEvaluator(rules)
        onLine = compileLineEvaluator(rules, "a", block)
        for value in [None, "", "10.0.0.1", "a.b", "ab", "x", "1", "10", "9" * 5000, "\u0663"]:
            line = "a" if value is None else f"a {value}"
            fields = {} if value is None else {"f": value}
            expected = [Taken(rule, rule.action.kind, rule.action.severity, icon=rule.action.icon)
                        if rule.action.kind != "display"
                        else Taken(rule, "display", fields=(("f", fields.get("f", "")),))
                        for rule in rules if rule.test(fields)]
            self.assertEqual(onFields(fields, ()), expected, value and value[:20])
            self.assertEqual(onLine(line, None), expected, value and value[:20])

    def test_handMadeRuleTest(self):
        """A rule whose test is any predicate gets the record's fields."""
        rule = Rule("r.txt", 1, "rx", "custom", Action("alert"),
                    lambda fields: fields.get("s") == "b" and fields["ip"] == "10.0.0.9")
        engine = LogIdsEngine([rule], parseFilters(_LINE_FILTERS)[0])
        self.assertEqual(list(engine.actions(["rx a b", "rx a c"], "10.0.0.9")),
                         [("rx", [Taken(rule, "alert", "high")]), ("rx", [Taken(None, "drop")])])

    def test_parsesOnlyWhatRulesRead(self):
        """
        A line is parsed only when a rule of its application reads a field
        of its block; its host only when a rule reads ip or loghost.
        """
        searched = []
        hosts = []

        class Counting:
            def __init__(self, pattern):
                self.pattern = re.compile(pattern)
                self.groupindex = self.pattern.groupindex

            def search(self, line):
                searched.append(line)
                return self.pattern.search(line)

        block = Filter("a", match=re.compile("^a"), fields=Counting("^a (?P<s>.*)"))

        def host(line):
            hosts.append(line)
            return ("10.0.0.1", "lan")

        for rules, parsed, asked in [("a,*,alert\na,line ct x,reject", 0, 0),
                                     ("a,s eq b,alert", 1, 0),
                                     ("a,*,display=", 1, 0),
                                     ("a,s eq b,display=loghost", 1, 1),
                                     ("a,line ct x,display=loghost", 0, 0),
                                     ("a,ip eq *,alert\na,ip eq 10.0.0.1,alert", 0, 1)]:
            del searched[:], hosts[:]
            evaluate = compileLineEvaluator(parseRules(rules)[0], "a", block)
            evaluate("a b", host)
            self.assertEqual((len(searched), len(hosts)), (parsed, asked), rules)


#: The blocks of the shipped filter.txt as they were before issue 6 made
#: their regexes cheaper: the shipped ones must select the same lines and
#: give the same fields.
PREVIOUS_FILTERS = r"""
[ZoneAlarm]
match  = ZoneAlarm:
fields = ZoneAlarm: (?P<type>\w+),(?P<date>[^,]*),(?P<time>[^,]*),(?P<source>[^,]*),(?P<dest>[^,]*),(?P<transport>\w+)
[Antivirus]
file      = antivirus*.log
separator = ,
names     = date#time#username#message#virusname#infectedfile
[sshd]
match  = \ssshd\[\d+\]:
fields = ^(?P<timestamp>\w{3} +\d+ [\d:]{8}|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) sshd\[(?P<pid>\d+)\]: (?P<message>(?:(?P<event>Accepted|Failed) (?P<method>\S+) for (?:invalid user )?(?P<user>\S+) from (?P<src_ip>\S+) port (?P<src_port>\d+)|Invalid user (?P<invalid_user>\S*) from (?P<invalid_from>\S+))?.*)$
[su]
match  = \ssu(?:\[\d+\])?:
fields = ^(?P<timestamp>\w{3} +\d+ [\d:]{8}|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) su(?:\[(?P<pid>\d+)\])?: (?P<message>(?P<result>FAILED SU |)\(to (?P<target_user>[^)]*)\) (?P<user>\S+) on (?P<tty>\S+).*|.*)$
[sudo]
match  = \ssudo(?:\[\d+\])?:
fields = ^(?P<timestamp>\w{3} +\d+ [\d:]{8}|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) sudo(?:\[\d+\])?: +(?P<user>\S+) : (?:(?P<failure>.*?) ; )?TTY=(?P<tty>\S*) ; PWD=(?P<pwd>.*?) ; USER=(?P<target_user>\S+) ; (?:\S+ ; )*COMMAND=(?P<command>.*)$
[iptables]
match  = \skernel: .*\bIN=\S* OUT=\S*
fields = ^(?P<timestamp>\w{3} +\d+ [\d:]{8}|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) kernel: (?:\[[\d. ]+\] )?(?P<prefix>.*?) ?IN=(?P<in>\S*) OUT=(?P<out>\S*) .*?SRC=(?P<src_ip>\S+) DST=(?P<dst_ip>\S+) LEN=(?P<len>\d+) .*?PROTO=(?P<proto>\S+)(?: SPT=(?P<src_port>\d+) DPT=(?P<dst_port>\d+))?
[audit]
match  = \btype=\w+ msg=audit\(
fields = \btype=(?P<type>\w+) msg=audit\((?P<stamp>[\d.]+):(?P<serial>\d+)\):(?=(?:.*?\bpid=(?P<pid>\d+))?)(?=(?:.*?\buid=(?P<uid>\d+))?)(?=(?:.*?\bauid=(?P<auid>\d+))?)(?=(?:.*?\bacct="?(?P<acct>[^"\s]*))?)(?=(?:.*?\bexe="(?P<exe>[^"]*)")?)(?=(?:.*?\baddr=(?P<src_ip>[^\s']+))?)(?=(?:.*?\bres=(?P<res>\w+))?)
[apache]
match  = ^\S+ \S+ \S+ \[[^\]]+\] "
fields = ^(?P<src_ip>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+)(?: (?P<url>\S+)(?: (?P<protocol>[^"]+))?)?" (?P<status>\d{3}) (?P<size>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?
"""

#: Pieces of the lines the shipped blocks are about, and of what trips
#: regexes up: the keys of each block, spaces, quotes, newlines, word and
#: non-word characters, digits (a Unicode one too).
_PIECES = [
    "Nov 22 10:00:01 ", "2004-11-22T10:00:01+01:00 ", "gw ", "sshd[12]: ", "su: ", "su[3]: ",
    "sudo: ", " sudo[4]:  ", "kernel: ", "[ 12.5] ", "ZoneAlarm: ", "FWIN,", "2004/11/22,",
    "10.0.0.5:1034,", "tcp", "Accepted ", "Failed ", "Invalid user ", "password ", "for ",
    "invalid user ", "root ", "from ", "10.0.0.5 ", "port ", "22", " ssh2", "(to root) ",
    "FAILED SU ", "alice ", "on ", "pts/0", "alice : ", "3 incorrect password attempts ; ",
    "TTY=pts/0 ; ", "PWD=/home/a b ; ", "USER=root ; ", "ENV=x ; ", "COMMAND=/bin/ls",
    "IN=eth0 ", "OUT= ", "OUT=eth1 ", "MAC=00:11 ", "SRC=1.2.3.4 ", "DST=10.0.0.1 ", "LEN=60 ",
    "TOS=0x00 ", "PROTO=TCP", " SPT=5555", " DPT=22", "S", "P", "I", "SuSE-FW-DROP ", "DROP:",
    "type=SYSCALL ", "type=USER_LOGIN ", "msg=audit(1100000000.123:456):", "msg=audit(1:2): ",
    "pid=", "uid=", "auid=", "acct=", "exe=", "addr=", "res=", "ppid=", "euid=", "xpid=",
    "success=", "msg='op=login ", "hostname=? ", "'", '"', '"/usr/sbin/sshd"', "4294967295",
    "failed'", "_", "=", "a", "é", "\u0663", "0", " ", "  ", "\n", "\t", "10.0.0.5 - frank ",
    "[10/Oct/2000:13:55:36 -0700] ", '"GET ', "/apache_pb.gif", " HTTP/1.0", '" ', "200 ",
    "2326", "-", ' "http://x/" "Mozilla/4.08"', '"-"', "]",
]
_pieceLines = st.lists(st.sampled_from(_PIECES), max_size=24).map("".join)


def _previousPatterns():
    filters, problems = parseFilters(PREVIOUS_FILTERS)
    assert problems == [], problems
    return [pattern for block in filters for pattern in (block.match, block.fields)
            if pattern is not None]


class ShippedFilterTests(SynchronousTestCase):
    """
    The shipped filter.txt selects the lines the previous one selected,
    with the same fields: same application, same (name, value) pairs in the
    same order (C{bench/bench_logids.py --compare-filters} checks the same
    on the bench's corpus).
    """

    def setUp(self):
        self.previous = LogIdsEngine((), parseFilters(PREVIOUS_FILTERS)[0])
        self.shipped = LogIdsEngine((), loadFilters(FILTERS)[0])

    def assertAsBefore(self, line, stream=""):
        before = self.previous.recordFor(line, "10.0.0.1", stream, "h")
        now = self.shipped.recordFor(line, "10.0.0.1", stream, "h")
        self.assertTrue(sameRecord(now, before), (line, now, before))

    @given(st.one_of(_pieceLines,
                     st.sampled_from(_previousPatterns()).flatmap(st.from_regex),
                     st.tuples(_pieceLines, st.sampled_from(_previousPatterns()).flatmap(
                         st.from_regex), _pieceLines).map("".join)))
    def test_sameRecords(self, line):
        self.assertAsBefore(line)

    def test_examples(self):
        """The example lines in the file's comments, and a few edges."""
        with open(FILTERS, encoding="utf-8") as f:
            examples = [line[4:] for line in f if line.startswith("#   ")]
        self.assertGreaterEqual(len(examples), 9)
        for line in examples + [
                "type=USER_LOGIN msg=audit(1:2): pid=1 exe=\"/x uid=5\" uid=0 uid=7 acct=\"r\"",
                "type=X msg=audit(1:2): pid=\nuid=5 pid=3 addr=' addr=1.2.3.4 res=ok exe=\"a\nb\"",
                "type=X msg=audit(1:2):auid=1 xuid=2 a_uid=3 euid=4 uid=\u0663 res= res=",
                "Nov 22 10:00:01 gw kernel: IN=a OUT=b SRC=1 DST=2 LEN=3 PROTO=x IN=c OUT=d",
                "Nov 22 10:00:01 gw kernel: x IN=a OUT= S SRC=1 DST=2 LEN=3 P PROTO=UDP SPT=1 DPT=2",
                "Nov 22 10:00:01 gw kernel: IN=a\nOUT= IN=b OUT=c SRC=1 DST=2 LEN=3 PROTO=x",
                "Nov 22 10:00:01 gw sshd[1]: Failed password for invalid user x from 1 port 2 ssh2"]:
            self.assertAsBefore(line)
        antivirus = [line for line in examples if line.startswith("2004/")]
        self.assertAsBefore(antivirus[0], "/var/log/antivirus-1.log")

    def test_shippedCopy(self):
        """The packaged filter.txt (mice-allinone's) is the shipped one."""
        packaged = os.path.join(os.path.dirname(os.path.dirname(ETC)), "..", "mice", "data",
                                "logids", "filter.txt")
        with open(FILTERS, "rb") as shipped, open(packaged, "rb") as copy:
            self.assertEqual(copy.read(), shipped.read())


class DefaultPamFieldsTests(SynchronousTestCase):
    """
    The default content's C{pam} block reads its fields with a look-behind
    before the old form's program name (C{sshd(pam_unix)[1]:}): C{re} no
    longer tries that branch inside every word.  The same match, span and
    groups, as without it.
    """

    @given(st.lists(st.sampled_from([
        "sshd", "(pam_unix)", "[1234]: ", "pam_unix", "(sshd:auth): ", "pam_", "x-y", "-",
        "authentication failure", "; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.5",
        "  user=root", " ", "(", ")", "[", "]", ":", "su", "a.b", "\xe9"]), max_size=10)
        .map("".join))
    def test_sameMatch(self, line):
        pam = [block for block in loadFilters(shippedEngineFiles()[1])[0]
               if block.name == "pam"][0].fields
        before = re.compile(pam.pattern.replace("(?<![\\w-])", "", 1))
        self.assertNotEqual(before.pattern, pam.pattern)
        now, then = pam.search(line), before.search(line)
        self.assertEqual(now and (now.span(), now.groups()), then and (then.span(), then.groups()))


def shippedEngineFiles():
    """The default content's rules, filter and netdef files."""
    from mice.analysis.offline import defaultContent
    from mice.config import loadAaRules

    settings = loadAaRules(defaultContent().aarules)
    return settings.rulesFile, settings.filterFile, settings.netdefFile


class RuleFileTests(SynchronousTestCase):
    def test_badLinesReportedRestLoads(self):
        """
        A line that does not parse is a L{Problem} with C{file:line} and the
        reason; the other lines load.
        """
        rules, problems = parseRules(
            "# comment\n\nsshd,user eq root,alert\nsshd,user eq,alert\nsshd\n"
            "sshd,user eq root,explode\n,*,alert\nsshd,user eq root,icon=\n"
            "sshd,user eq root,DROP=x\nsshd,*,warn\n", "r.txt")
        self.assertEqual([r.lineNumber for r in rules], [3, 10])
        self.assertEqual([str(p) for p in problems], [
            "r.txt:4: incomplete statement 'user eq' (expected: field condition value)",
            "r.txt:5: expected application,condition,action",
            "r.txt:6: unknown action 'explode' (one of alert, warning, warn, display=,"
            " icon=, drop, reject)",
            "r.txt:7: no application (write * for any)",
            "r.txt:8: icon needs a file: icon=file.bmp",
            "r.txt:9: drop takes no argument ('DROP=x')",
        ])

    def test_commasInCondition(self):
        """The condition runs from the first comma to the last one."""
        rules, problems = parseRules("app,s ct ^a{1,2}$,alert\n")
        self.assertEqual(problems, [])
        self.assertEqual(rules[0].condition, "s ct ^a{1,2}$")
        self.assertTrue(rules[0].test({"s": "aa"}))

    def test_seedExampleLoadsUnchanged(self):
        """
        The shipped rules.txt is the seed's example, and loads without a
        problem.
        """
        with open(RULES) as f:
            self.assertEqual(f.read(), SEED_RULES)
        rules, problems = loadRules(RULES)
        self.assertEqual(problems, [])
        self.assertEqual(len(rules), 21)
        self.assertEqual(rules[0].where, f"{RULES}:1")

    def test_shippedFiltersAndNetDef(self):
        filters, problems = loadFilters(FILTERS)
        self.assertEqual(problems, [])
        self.assertEqual([f.name for f in filters], ["ZoneAlarm", "Antivirus", "sshd", "su",
                                                     "sudo", "iptables", "audit", "apache"])
        _, problems = loadNetDef(NETDEF)
        self.assertEqual(problems, [])


class ApplicationTests(SynchronousTestCase):
    def test_caseInsensitive(self):
        """
        Rules name applications case-insensitively (the seed's example mixes
        C{ZoneAlarm}/C{ZoneALARM}); the record keeps the filter's spelling.
        """
        engine = engineFrom("zONEaLARM,*,alert\nZoneAlarm,*,warning\n",
                            "[ZoneAlarm]\nmatch = ZA\n")
        record = engine.recordFor("ZA: x")
        self.assertEqual(record.application, "ZoneAlarm")
        self.assertEqual(summary(engine.evaluate(record)),
                         [(1, "alert", "high"), (2, "warning", "medium")])

    def test_everyMatchingRuleApplies(self):
        """There is no first-match stop: every rule that checks true applies."""
        engine = engineFrom("a,*,reject\na,s eq 1,alert\na,s eq 2,alert\na,s eq 1,drop\n",
                            "[a]\nmatch = ^a\nfields = s=(?P<s>\\d)\n")
        self.assertEqual(summary(engine.evaluate(engine.recordFor("a s=1"))),
                         [(1, "reject", None), (2, "alert", "high"), (4, "drop", None)])

    def test_catchAllOnlyForUnnamedApplications(self):
        """
        C{*,*} applies only to records whose application no other rule
        names, even when it comes first and even when that application's
        rules do not match; lines no filter selects are such records.
        """
        engine = engineFrom("*,*,reject\na,s eq 1,alert\n",
                            "[a]\nmatch = ^a\nfields = s=(?P<s>\\d)\n[b]\nmatch = ^b\n")
        self.assertEqual(summary(engine.evaluate(engine.recordFor("a s=1"))),
                         [(2, "alert", "high")])
        self.assertEqual(summary(engine.evaluate(engine.recordFor("a s=2"))),
                         [(None, "drop", None)])
        self.assertEqual(summary(engine.evaluate(engine.recordFor("b"))),
                         [(1, "reject", None)])
        record = engine.recordFor("nobody's")
        self.assertEqual(record.application, "")
        self.assertEqual(summary(engine.evaluate(record)), [(1, "reject", None)])

    def test_unmatchedRecordDropped(self):
        """A record no rule matches is dropped: one drop without a rule."""
        engine = engineFrom("a,s eq 1,alert\n", "[a]\nmatch = ^a\n")
        taken = engine.evaluate(engine.recordFor("a"))
        self.assertEqual(summary(taken), [(None, "drop", None)])
        self.assertEqual(taken[0].asDict(7, "a"),
                         {"line": 7, "application": "a", "rule": None, "action": "drop"})
        self.assertEqual(summary(engineFrom("").evaluate(engine.recordFor("x"))),
                         [(None, "drop", None)])


class FieldTests(SynchronousTestCase):
    def test_builtins(self):
        """
        Every record has C{application}, C{ip}, C{loghost} (the netdef name
        of C{ip}), C{line}; C{source} is split into C{src_ip} and
        C{src_port}.
        """
        engine = engineFrom("", "[fw]\nmatch = ^fw\nfields = ^fw (?P<source>\\S+)\n",
                            "10.0.0.* lan\n")
        record = engine.recordFor("fw 10.0.0.5:1034", ip="10.0.0.9", hostname="gw")
        self.assertEqual(record, LogIdsRecord("fw", {
            "source": "10.0.0.5:1034", "src_ip": "10.0.0.5", "src_port": "1034",
            "application": "fw", "ip": "10.0.0.9", "loghost": "lan",
            "line": "fw 10.0.0.5:1034"}, ("source",)))
        self.assertEqual(engine.recordFor("fw x", ip="192.0.2.1",
                                          hostname="gw").fields["loghost"], "gw")
        self.assertEqual(engine.recordFor("fw x", ip="192.0.2.1").fields["loghost"],
                         "192.0.2.1")
        self.assertEqual(splitSource("[fd00::1]:22"), ("fd00::1", "22"))
        self.assertEqual(splitSource("fd00::1"), ("fd00::1", ""))
        self.assertEqual(splitSource("10.0.0.5"), ("10.0.0.5", ""))

    def test_unparsedFieldsKeepApplication(self):
        """
        A line whose C{match} selects an application but whose fields do not
        parse is that application's record with only the built-in fields.
        """
        engine = engineFrom("a,*,display=\n",
                            "[a]\nmatch = ^a\nfields = ^a (?P<n>\\d+)$\n")
        record = engine.recordFor("a b c", ip="10.0.0.1")
        self.assertEqual(record.application, "a")
        self.assertEqual(sorted(record.fields), ["application", "ip", "line", "loghost"])
        self.assertEqual(summary(engine.evaluate(record)),
                         [(1, "display", (("line", "a b c"),))])

    def test_filterFormat(self):
        """
        C{file} globs the stream name (the base name without a C{/});
        C{separator}+C{names} split the line, the last name taking the
        rest; the first block that selects a line wins.
        """
        engine = engineFrom("", "[av]\nfile = antivirus*.log\nseparator = ,\nnames = a#b\n"
                                "[logs]\nfile = /var/log/*\n[all]\nmatch = .  # any\n")
        record = engine.recordFor("1,2,3", stream="/tmp/antivirus-1.log")
        self.assertEqual((record.application, record.order, record.fields["b"]),
                         ("av", ("a", "b"), "2,3"))
        self.assertEqual(engine.recordFor("1", stream="/tmp/antivirus-1.log").order, ())
        self.assertEqual(engine.recordFor("x", stream="/var/log/syslog").application, "logs")
        self.assertEqual(engine.recordFor("x", stream="/tmp/x").application, "all")

    def test_badFilters(self):
        """Each bad filter line is reported; the block is left out, the others load."""
        filters, problems = parseFilters(
            "match = x\n[a]\nmatch = (\n[b]\nfields = (?P<ip>.)\nmatch = b\n[B]\nmatch = b\n"
            "[c]\nfile = *\nseparator = ,\n[d]\nmatch = d\ncolour = red\n[ok]\nmatch = ok\n",
            "f.txt")
        self.assertEqual([f.name for f in filters], ["ok"])
        self.assertEqual([str(p).split(" (")[0] for p in problems], [
            "f.txt:1: match outside an [Application] block",
            "f.txt:3: match: not a regular expression: missing ), unterminated subpattern"
            " at position 0",
            "f.txt:5: fields: ip is a built-in field",
            "f.txt:7: [B] is defined twice",
            "f.txt:11: separator and names go together",
            "f.txt:14: unknown key 'colour'",
        ])

    def test_netdef(self):
        """netdef: address, wildcard or CIDR; the first match names the host."""
        netdef, problems = parseNetDef("# hosts\n10.0.0.1 gateway  # the router\n"
                                       "10.0.0.* lan one\n10.0.0.0/8 corp\n::1 me\n"
                                       "nonsense x\n10.0.0.2\n", "n.txt")
        self.assertEqual([str(p).split(" is")[0] for p in problems],
                         ["n.txt:6: 'nonsense'", "n.txt:7: expected: pattern name"])
        self.assertEqual([netdef.name(ip) for ip in
                          ("10.0.0.1", "10.0.0.7", "10.8.0.1", "::1", "11.0.0.1", "")],
                         ["gateway", "lan one", "corp", "me", None, None])


class ActionTests(SynchronousTestCase):
    def setUp(self):
        self.engine = engineFrom(
            "a,*,ALERT\na,*,Warning\na,*,warn\na,*,display=n#line#nothing#src_port\n"
            "a,*,display=\na,*,Icon=virus.bmp\na,*,drop\na,*,REJECT\n",
            "[a]\nmatch = ^a\nfields = ^a (?P<n>\\d+) (?P<source>\\S+)\n")

    def test_actions(self):
        """
        alert is high, warning/warn medium; display shows its fields in its
        order (an unknown one as C{""}), an empty list the whole record in
        the log's order; icon names its file; drop and reject; names are
        case-insensitive.
        """
        record = self.engine.recordFor("a 5 10.0.0.1:22", ip="10.0.0.9")
        self.assertEqual(summary(self.engine.evaluate(record)), [
            (1, "alert", "high"), (2, "warning", "medium"), (3, "warning", "medium"),
            (4, "display", (("n", "5"), ("line", "a 5 10.0.0.1:22"), ("nothing", ""),
                            ("src_port", "22"))),
            (5, "display", (("n", "5"), ("source", "10.0.0.1:22"))),
            (6, "icon", "virus.bmp"), (7, "drop", None), (8, "reject", None)])

    def test_asDict(self):
        """The JSON objects of C{mice analyze --json}."""
        record = self.engine.recordFor("a 5 10.0.0.1:22")
        dicts = [t.asDict(3, record.application) for t in self.engine.evaluate(record)]
        self.assertEqual(dicts[0], {"line": 3, "application": "a", "rule": "rules.txt:1",
                                    "action": "alert", "severity": "high"})
        self.assertEqual(dicts[4]["fields"], [["n", "5"], ["source", "10.0.0.1:22"]])
        self.assertEqual(dicts[5], {"line": 3, "application": "a", "rule": "rules.txt:6",
                                    "action": "icon", "icon": "virus.bmp"})
        self.assertEqual(dicts[7], {"line": 3, "application": "a", "rule": "rules.txt:8",
                                    "action": "reject"})


class SeedExampleTests(SynchronousTestCase):
    """
    The seed's example rules file behaves as the seed describes.
    """

    def setUp(self):
        self.engine = engineFrom(SEED_RULES, SEED_FILTERS)

    def run_(self, line, stream=""):
        return summary(self.engine.evaluate(
            self.engine.recordFor(line, ip="10.0.0.5", stream=stream)))

    def test_zoneAlarm(self):
        """
        Every ZoneAlarm line alerts and is displayed (C{host eq *}: the field
        is missing, and C{*} matches anything); tcp ones get the icon.
        """
        display = (("type", "FWIN"), ("date", "2004/11/22"), ("time", "10:00:01"),
                   ("ip", "10.0.0.5"), ("source", "10.0.0.9:1034"), ("dest", "10.0.0.5:80"))
        self.assertEqual(
            self.run_("ZoneAlarm: FWIN,2004/11/22,10:00:01,10.0.0.9:1034,10.0.0.5:80,tcp"),
            [(1, "alert", "high"), (2, "display", display + (("transport", "tcp"),)),
             (3, "icon", "desktopoutbounddenied.bmp")])
        self.assertEqual(
            self.run_("ZoneAlarm: FWIN,2004/11/22,10:00:01,10.0.0.9:1034,10.0.0.5:80,udp"),
            [(1, "alert", "high"), (2, "display", display + (("transport", "udp"),))])

    def test_antivirus(self):
        """
        Infected: alert (C{ip eq *}), display, icon, alert again; cleaned:
        alert, display, the cleaned icon.
        """
        infected = self.run_("2004/11/22,10:00:01,alice,infected,EICAR,C:\\eicar.com",
                             "/var/log/antivirus-1.log")
        display = (("date", "2004/11/22"), ("time", "10:00:01"), ("ip", "10.0.0.5"),
                   ("username", "alice"), ("virusname", "EICAR"),
                   ("infectedfile", "C:\\eicar.com"))
        self.assertEqual(infected, [(4, "alert", "high"), (5, "display", display),
                                    (6, "icon", "virus.bmp"), (7, "alert", "high")])
        cleaned = self.run_("2004/11/22,10:00:01,alice,cleaned,EICAR,C:\\eicar.com",
                            "/var/log/antivirus-1.log")
        self.assertEqual(cleaned, [(4, "alert", "high"), (8, "display", display),
                                   (9, "icon", "viruscleaned.bmp")])

    def test_others(self):
        """
        Event logs are rejected; Snort and Running Services are displayed;
        ADS Scanner and the integrity checker alert only when their
        condition holds; an application without rules and a line no filter
        selects fall to C{*,*,reject}.
        """
        self.assertEqual(self.run_("AppEvent: x"), [(10, "reject", None)])
        self.assertEqual(self.run_("host snort[1]: alert"),
                         [(13, "display", (("application", "Snort"),
                                           ("line", "host snort[1]: alert")))])
        self.assertEqual(self.run_("service: Secure Shell;sshd;running;auto"),
                         [(14, "display", (("display", "Secure Shell"), ("servfilename", "sshd"),
                                           ("state", "running"), ("startup", "auto")))])
        self.assertEqual(self.run_("ADS: scan started size=12"),
                         [(17, "display", (("loghost", "10.0.0.5"),
                                           ("ads", "scan started"), ("size", "12"))),
                          (18, "alert", "high")])
        self.assertEqual(self.run_("ADS: scan finished size=12"), [(None, "drop", None)])
        self.assertEqual(self.run_("integrity: /etc/passwd changed"),
                         [(19, "display", (("loghost", "10.0.0.5"),
                                           ("line", "integrity: /etc/passwd changed"))),
                          (20, "alert", "high")])
        self.assertEqual(self.run_("integrity: check started"), [(None, "drop", None)])
        self.assertEqual(self.run_("unruled: x"), [(21, "reject", None)])
        self.assertEqual(self.run_("no filter selects this"), [(21, "reject", None)])


class ProblemTests(SynchronousTestCase):
    def test_str(self):
        self.assertEqual(str(Problem("r.txt", 3, "bad")), "r.txt:3: bad")


class QuickerRegexTests(SynchronousTestCase):
    """
    L{quickerRegex}: C{(?:[^S]|\\\\.)*} unrolled, the same matches and groups.
    """

    def assertRewritten(self, pattern, expected):
        self.assertEqual(quickerRegex(re.compile(pattern)).pattern, expected)

    def test_unrolled(self):
        self.assertRewritten(r'a(?:[^"\\]|\\.)*b', r'a[^"\\]*(?:\\.[^"\\]*)*b')
        self.assertRewritten(r'(?P<x>(?:[^" \\]|\\.)+)',
                             r'(?P<x>(?:[^" \\]|\\.)[^" \\]*(?:\\.[^" \\]*)*)')
        self.assertRewritten(r'(?:[^\]\\]|\\.)*x', r'[^\]\\]*(?:\\.[^\]\\]*)*x')
        self.assertRewritten(r'[]](?:[^"\\]|\\.)*', r'[]][^"\\]*(?:\\.[^"\\]*)*')
        self.assertRewritten(r'[^]](?:[^"\\]|\\.)*', r'[^]][^"\\]*(?:\\.[^"\\]*)*')

    def test_leftAlone(self):
        """
        Without a backslash in the class (the alternatives could start
        alike), lazy, possessive, verbose: the regex as it is.
        """
        for pattern in (r'(?:[^"]|\\.)*', r'(?:[^"\\]|\\.)*?x', r'(?:[^"\\]|\\.)++x',
                        r'(?x)(?:[^"\\]|\\.)*', r'(?:[^"\\]|\\.)?', r'abc'):
            regex = re.compile(pattern)
            self.assertIs(quickerRegex(regex), regex, pattern)

    def test_shippedApacheFields(self):
        """The default content's Apache fields regex is the one it speeds up."""
        from mice.analysis.offline import defaultContent
        from mice.config import loadAaRules

        settings = loadAaRules(defaultContent().aarules)
        _, filters, _, _ = loadFiles(settings.rulesFile, settings.filterFile,
                                     settings.netdefFile)
        [apache] = [block for block in filters if block.name == "apache"]
        self.assertIsNot(quickerRegex(apache.fields), apache.fields)

    @given(st.lists(st.sampled_from(['"', " ", "\\", "a", "]", "[", "-", "200", "GET",
                                     " - - [", "] \"", "\" ", "\\\"", "1.2.3.4", "/x"]),
                    max_size=24).map("".join))
    def test_sameGroups(self, text):
        """The apache fields regex and a few others find the same groups."""
        patterns = [
            r'^(?:\S+ (?=\S+ \S+ \S+ \[)|)(?P<src_ip>\S+) (?P<ident>\S+) (?P<user>\S+)'
            r' \[(?P<time>[^\]]+)\] "(?P<method>[^" ]*)(?: (?P<url>(?:[^" \\]|\\.)*)'
            r'(?: (?P<protocol>(?:[^"\\]|\\.)+)|)|)" (?P<status>\d{3}) (?P<size>\d+|-)'
            r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"|)',
            r'"((?:[^"\\]|\\.)*)"', r'((?:[^"\\]|\\.)+)\]', r'((?:[^\] \\]|\\.)*)(a?)$',
            r'((?:[^"\\]|\\.)*)((?:[^"\\]|\\.)+?)\]']
        for pattern in patterns:
            regex = re.compile(pattern)
            faster = quickerRegex(regex)
            self.assertIsNot(faster, regex)
            for way in ("search", "match", "fullmatch"):
                found = getattr(regex, way)(text)
                again = getattr(faster, way)(text)
                self.assertEqual(found and (found.span(), found.groups()),
                                 again and (again.span(), again.groups()), (pattern, way))


class WidenedRegexTests(SynchronousTestCase):
    """
    L{widenedRegex}: what a scan of the whole line looks for, so that a
    statement's regex runs only on lines where it may match.
    """

    def widened(self, pattern, flags=0):
        found = widenedRegex(re.compile(pattern, flags))
        return None if found is None else found.pattern

    def test_assertionsLeftOut(self):
        self.assertEqual(self.widened(r"^Failed password$"), "Failed password")
        self.assertEqual(self.widened(r"\bcmd\.exe\b"), r"cmd\.exe")
        self.assertEqual(self.widened(r"/root\.exe(?![\w.-])"), r"/root\.exe")
        self.assertEqual(self.widened(r"(?<=GET )/etc(?=/passwd)"), "/etc")
        self.assertEqual(self.widened(r"\Aabc\Z"), "abc")
        self.assertEqual(self.widened(r"[^$]x[\b^]yz"), r"[^$]x[\b^]yz")
        self.assertEqual(self.widened(r"(?i)a(?:b|c)d"), "(?i)a(?:b|c)d")
        self.assertEqual(self.widened(r"(?i:union)(?:x|y)"), "(?i:union)(?:x|y)")

    def test_notWidened(self):
        """
        An assertion with a quantifier, a pattern that matches an empty or
        a short text, or may end with a repeat (a report at each place it
        could stop), verbose: C{None}.
        """
        for pattern in (r"abc(?=x)?d", r"abc(?=x)*", r".", r"x?", r"ab", r"^$", r"Failed \S+",
                        r"(?:abc|de\d*)", r"(?x) abc", r"abc(?:d|e+)"):
            self.assertIsNone(self.widened(pattern), pattern)

    def test_shippedStatements(self):
        """
        The default content's statements are scanned (with the blocks, in
        one Hyperscan database) when Hyperscan is installed.
        """
        requireHyperscan()
        engine = shippedEngine()
        self.assertGreater(len(engine._statements), 20)
        scanner = engine._blockScanner("/var/log/messages")
        self.assertEqual(scanner[3], len(engine._statements))

    @SLOW
    @given(st.sampled_from(range(60)), st.text(alphabet="ab ./%2e-'\"<>=:;()", max_size=8),
           st.text(alphabet="ab ./%2e-'\"<>=:;()", max_size=8), st.data())
    def test_fieldInLine(self, which, before, after, data):
        """
        Where a shipped statement's regex finds a match in a field, its
        widened regex finds one in any line holding the field.
        """
        regexes = shippedRegexes()
        regex = regexes[which % len(regexes)]
        widened = widenedRegex(regex)
        assume(widened is not None)
        field = data.draw(st.from_regex(regex, fullmatch=False).filter(
            lambda text: "\n" not in text and regex.search(text)))
        self.assertIsNotNone(widened.search(before + field + after))


def shippedEngine():
    from mice.analysis.offline import defaultContent
    from mice.config import loadAaRules

    settings = loadAaRules(defaultContent().aarules)
    return LogIdsEngine(*loadFiles(settings.rulesFile, settings.filterFile,
                                   settings.netdefFile)[:3])


def shippedRegexes():
    """The regexes of the default content's ct and nc statements."""
    out = []
    for rule in shippedEngine().rules:
        for statement in getattr(rule.test, "parts", ((), ()))[0]:
            pattern = getattr(statement.value, "__self__", None)
            if isinstance(pattern, re.Pattern) and statement.kind in ("ct", "nc"):
                out.append(pattern)
    return out


def groupedActions(engine, lines, text=None, **where):
    """
    L{LogIdsEngine.actionsGrouped}'s groups as L{LogIdsEngine.actions}
    gives the actions, C{(application, actions)} per line in order; that
    every line is in one group, once, is checked on the way.
    """
    grouped = engine.actionsGrouped(lines, text, **where)
    if grouped is None:
        return None
    decided, each = grouped
    out = {}
    for application, taken, indexes in decided:
        for index in indexes:
            assert index not in out, index
            out[index] = (application, list(taken))
    for index, application, taken in each:
        assert index not in out, index
        out[index] = (application, taken)
    assert sorted(out) == list(range(len(lines))), sorted(out)
    return [out[index] for index in range(len(lines))]


class ScannedActionsTests(SynchronousTestCase):
    """
    L{LogIdsEngine.actionsScanned} (the blocks and the statements' regexes
    found by one Hyperscan scan of the batch) takes the actions
    L{LogIdsEngine.actions} takes.
    """

    def setUp(self):
        requireHyperscan()

    def test_detectionCorpus(self):
        """
        The detection bench's lines (every family, their look-alikes) with
        a few variants a scan could read otherwise: the same actions.
        """
        import sys

        sys.path.insert(0, os.path.join(ROOT, "bench"))
        try:
            from gendetection import generate
        finally:
            sys.path.pop(0)
        lines = [line for line, _ in generate(4000, 5)]
        lines += [line.replace(" ", "\x1c", 1) for line in lines[:300]]
        lines += [line + " \xe9" for line in lines[:300]]
        lines += ['10.0.0.5 - - [22/Nov/2004:10:00:11 +0000] "GET /x.php?id=1%27+OR+%271%27%3D'
                  '%271 HTTP/1.1" 200 5 "-" "curl"',
                  '10.0.0.5 - - [22/Nov/2004:10:00:11 +0000] "GET /a?q=<script>alert(1)'
                  '</script> HTTP/1.1" 404 5 "-" "sqlmap/1.0"']
        engine = shippedEngine()
        expected = list(engine.actions(lines, ip=None, stream="/var/log/x", hostname=None))
        scanned = list(engine.actionsScanned(lines, ip=None, stream="/var/log/x",
                                             hostname=None))
        self.assertEqual(scanned, expected)
        # By groups: most lines decided by what the scan found.
        grouped = engine.actionsGrouped(lines, ip=None, stream="/var/log/x", hostname=None)
        self.assertGreater(sum(len(indexes) for _, _, indexes in grouped[0]), len(lines) // 10)
        self.assertEqual(groupedActions(engine, lines, ip=None, stream="/var/log/x",
                                        hostname=None), expected)
        kinds = {action.kind for _, taken in expected for action in taken}
        self.assertTrue({"alert", "warning", "display", "reject", "drop"} <= kinds, kinds)

    def test_lineWithNewline(self):
        """
        A batch where a line holds a newline (its text is not one line per
        line) takes L{LogIdsEngine.actions}' actions, also after a scan of
        the same text with lines it does hold (the newlines are counted
        once per batch text, and compared with each call's lines).
        """
        engine = shippedEngine()
        first = "Dec  1 00:00:00 gate sshd[1]: Failed password for root from 10.0.0.1 port 2 ssh2"
        second = "Dec  1 00:00:01 gate sshd[2]: Accepted password for bob from 10.0.0.2 port 3 ssh2"
        text = first + "\n" + second
        joined = [text]  # one "line" holding the newline
        both = list(engine.actionsScanned([first, second], text, ip=None, stream="x",
                                          hostname=None))
        self.assertEqual(
            both, list(engine.actions([first, second], ip=None, stream="x", hostname=None)))
        one = list(engine.actionsScanned(joined, text, ip=None, stream="x", hostname=None))
        self.assertEqual(one, list(engine.actions(joined, ip=None, stream="x", hostname=None)))
        self.assertEqual(len(one), 1)
        # actionsGrouped leaves such a batch to actions.
        self.assertIsNone(engine.actionsGrouped(joined, text, ip=None, stream="x",
                                                hostname=None))
        self.assertEqual(groupedActions(engine, [first, second], text, ip=None, stream="x",
                                        hostname=None), both)


class ScannedEmptyMatchTests(SynchronousTestCase):
    """
    L{LogIdsEngine.actionsScanned} chooses the blocks whose C{match} can
    match an empty line as L{LogIdsEngine.actions} does: Hyperscan reports
    such a match at a line's start, where the byte before is the previous
    line's newline, and not at all after the newline that ends a batch.
    """

    engine = None

    def setUp(self):
        requireHyperscan()
        if ScannedEmptyMatchTests.engine is None:
            ScannedEmptyMatchTests.engine = engineFrom(
                "blank,*,alert\nastart,*,warning\nstart,*,drop\nopt,*,reject\n"
                "end,line ct ab,alert\n*,*,display\n",
                "[blank]\nmatch = ^$\n[astart]\nmatch = a|^$\n[start]\nmatch = ^b\n"
                "[opt]\nmatch = ^c?$\n[end]\nmatch = $\n")

    def test_emptyLines(self):
        """Every empty line is C{blank}'s, the last one too (it was the next block's)."""
        lines = ["abc", "", "x", "", "ab", ""]
        self.assertIsNotNone(self.engine._blockScanner("x"))
        scanned = list(self.engine.actionsScanned(lines, stream="x"))
        self.assertEqual([application for application, _ in scanned],
                         ["astart", "blank", "end", "blank", "astart", "blank"])
        self.assertEqual(scanned, list(self.engine.actions(lines, stream="x")))
        self.assertEqual(list(self.engine.actionsScanned([""], stream="x")),
                         list(self.engine.actions([""], stream="x")))

    @given(st.lists(st.text(alphabet="abc \x1c\xe9", max_size=4), min_size=1, max_size=12))
    def test_sameAsActions(self, lines):
        expected = list(self.engine.actions(lines, stream="x"))
        self.assertEqual(list(self.engine.actionsScanned(lines, stream="x")), expected)
        self.assertEqual(groupedActions(self.engine, lines, stream="x"), expected)


class ScannedExactTests(SynchronousTestCase):
    """
    The blocks whose C{match} Hyperscan compiles exactly (no prefilter)
    select a line without a search: those whose match could hold a newline
    too (each line is scanned on its own), not a back reference.
    """

    engine = None

    def setUp(self):
        requireHyperscan()
        if ScannedExactTests.engine is None:
            ScannedExactTests.engine = engineFrom(
                "cross,*,alert\nspace,*,warning\nab,*,drop\n*,*,display\n",
                "[cross]\nmatch = c[^x]a\n[space]\nmatch = b\\sc\n[ab]\nmatch = ^ab\n"
                "[back]\nmatch = (a)\\1\n[end]\nmatch = c$\n[other]\nmatch = b\n")

    def test_exact(self):
        exact = self.engine._blockScanner("x")[4]
        self.assertEqual(exact, (True, True, True, False, True, True))

    def test_acrossLines(self):
        """A match across two lines selects neither."""
        lines = ["xc", "ab", "b", "c", "aa", "c"]
        scanned = list(self.engine.actionsScanned(lines, stream="x"))
        self.assertEqual([application for application, _ in scanned],
                         ["end", "ab", "other", "end", "back", "end"])
        self.assertEqual(scanned, list(self.engine.actions(lines, stream="x")))

    @given(st.lists(st.text(alphabet="abcx \x1c\xe9", max_size=5), min_size=1, max_size=12))
    def test_sameAsActions(self, lines):
        expected = list(self.engine.actions(lines, stream="x"))
        self.assertEqual(list(self.engine.actionsScanned(lines, stream="x")), expected)
        self.assertEqual(groupedActions(self.engine, lines, stream="x"), expected)


#: Statements for L{DecidedActionsTests}: regexes a scan finds (short
#: literals), others it does not (a long literal, too short a match), nc,
#: eq and a field of no block.
_DECIDED_STATEMENTS = ["line ct ab.", "g ct x[yz]w", "line ct ^b.c", "f ct w.d",
                       "line ct cabd", "f ct .", "f eq ab", "g nc b.b", "h ct ab."]


def _decidedRules():
    condition = st.one_of(
        st.just("*"),
        st.lists(st.sampled_from(_DECIDED_STATEMENTS), min_size=1, max_size=3).flatmap(
            lambda statements: st.lists(st.sampled_from([" AND ", " OR "]),
                                        min_size=len(statements) - 1,
                                        max_size=len(statements) - 1).map(
                lambda joins: statements[0] + "".join(
                    join + statement for join, statement in zip(joins, statements[1:])))))
    action = st.sampled_from(["alert=0x1000", "warning=0x1001", "reject", "drop",
                              "display=f#g", "display="])
    rule = st.tuples(st.sampled_from(["app", "*"]), condition, action).map(",".join)
    return st.lists(rule, min_size=1, max_size=5).map(lambda rules: "\n".join(rules) + "\n")


class DecidedActionsTests(SynchronousTestCase):
    """
    L{decidedActions}: a plan whose rules take the same actions on every
    line whose scan found none of its statements' regexes (every rule
    needs one, or takes no display) gives them without parsing the line,
    in L{LogIdsEngine.actionsScanned}.
    """

    FILTERS = "[app]\nmatch = a\nfields = ^(?P<f>\\w*) ?(?P<g>.*)$\n"

    def setUp(self):
        requireHyperscan()

    def plans(self, engine):
        return engine._plans + (engine._nothing,)

    def scanned(self, engine, lines):
        """
        The kinds of the actions L{LogIdsEngine.actionsScanned} gives each
        of C{lines}, and the lines the first block's plan ran on (parsed).
        """
        plan = engine._plans[0]
        ran = []
        run = plan.run
        plan.run = lambda *args: ran.append(args[0]) or run(*args)
        kinds = [[t.kind for t in taken]
                 for _, taken in engine.actionsScanned(lines, stream="x")]
        return kinds, ran

    def test_shipped(self):
        """
        The default content: the lines of no block take C{*,*,reject}
        unless the scan found the kernel's AVC line, lighttpd's
        authentication, saslauthd's failure or Tomcat's locked account;
        those of the blocks whose rules all need a scanned regex are
        dropped when the scan found none.  Those of
        C{apache_error}, C{audit}, C{dovecot}, C{dropbear}, C{exim},
        C{ftp}, C{nginx_error}, C{opensmtpd}, C{postfix} and C{sendmail}
        need the regexes with a literal of their own scanned too (C{user },
        C{ModSecurity: }, C{ success=}...), which they are for those blocks
        only.
        """
        engine = shippedEngine()
        decided = {plan.application: plan for plan in self.plans(engine)
                   if plan.decided is not None}
        self.assertEqual(sorted(decided), ["", "apache_error", "audit", "dovecot", "dropbear",
                                           "exim", "ftp", "imapd", "nginx_error",
                                           "opensmtpd", "postfix", "sendmail"])
        self.assertEqual(decided["nginx_error"].decided, (Taken(None, "drop"),))
        # (The kernel's own AVC line, lighttpd's authentication,
        # saslauthd's failure and Tomcat's locked account, of no block, are
        # the statements they have: a line whose scan found none of them
        # takes *,*,reject.)
        self.assertEqual(len(decided[""].gate), 4)
        self.assertEqual([(t.rule.condition, t.kind) for t in decided[""].decided],
                         [("*", "reject")])
        self.assertEqual(decided["imapd"].decided, (Taken(None, "drop"),))
        self.assertEqual(decided["apache_error"].decided, (Taken(None, "drop"),))

    def test_literalsScannedWhenThatDecides(self):
        """
        A regex with a literal of its own (C{xyzw} in C{xyzw.}) is tested
        for its literal, not scanned for; when scanning for it too makes a
        block's actions known from the scan, it is scanned, and the lines
        where the scan found none of them are not parsed.  When the other
        regexes decide already, it is not scanned.
        """
        drop = (Taken(None, "drop"),)
        engine = engineFrom("app,g ct xyzw.,alert=0x1000\n", self.FILTERS)
        plan = engine._plans[0]
        self.assertEqual(plan.decided, drop)
        self.assertIn("xyzw.", [regex.pattern for regex in engine._statements])
        self.assertEqual(self.scanned(engine, ["a", "a xyzwq", "a b", "ab xyzw"]),
                         ([["drop"], ["alert"], ["drop"], ["drop"]], ["a xyzwq"]))

        engine = engineFrom("app,line ct ab. AND g ct xyzw.,alert=0x1000\n", self.FILTERS)
        self.assertEqual(engine._plans[0].decided, drop)
        self.assertEqual([regex.pattern for regex in engine._statements], ["ab."])
        # A rule no scan decides (f eq) keeps every literal a field test.
        engine = engineFrom("app,g ct xyzw.,alert=0x1000\napp,f eq a,warning=0x1001\n",
                            self.FILTERS)
        self.assertIsNone(engine._plans[0].decided)
        self.assertEqual(engine._statements, [])

    def test_knownAnswers(self):
        """
        A scanned C{ct} is false when the scan did not find it: AND it with
        anything is false, OR it with something not known is not known; a
        rule always true decides only if it displays nothing.
        """
        def decided(rules):
            engine = engineFrom(rules, self.FILTERS)
            return engine._plans[0].decided

        drop = (Taken(None, "drop"),)
        self.assertEqual(decided("app,line ct ab. AND f eq ab,alert=0x1000\n"), drop)
        self.assertEqual(decided("app,f eq ab AND line ct ab.,alert=0x1000\n"), drop)
        self.assertIsNone(decided("app,line ct ab. OR f eq ab,alert=0x1000\n"))
        self.assertIsNone(decided("app,line ct cabd,alert=0x1000\n"))
        self.assertIsNone(decided("app,g nc b.b,alert=0x1000\n"))
        self.assertIsNone(decided("app,*,display=f\n"))
        engine = engineFrom("app,line ct ab.,alert=0x1000\napp,*,reject\n", self.FILTERS)
        self.assertEqual([t.kind for t in engine._plans[0].decided], ["reject"])

    def test_noParse(self):
        """A line whose scan found none of the plan's regexes is not parsed."""
        engine = engineFrom("app,line ct ab.,alert=0x1000\n*,*,reject\n", self.FILTERS)
        self.assertIsNotNone(engine._plans[0].decided)
        self.assertEqual(self.scanned(engine, ["a", "abc d", "zz", "xa b"]),
                         ([["drop"], ["alert"], ["reject"], ["drop"]], ["abc d"]))

    @given(_decidedRules(),
           st.lists(st.text(alphabet="abcdwxyz \xe9", max_size=8), min_size=1, max_size=8),
           st.sets(st.integers(0, 5)))
    def test_sameAsRun(self, rules, lines, maybe):
        """
        For any rules and line, and any C{maybe} holding none of the gate's
        ids, a decided plan's C{run} gives what it decided; the scan's
        actions are those of L{LogIdsEngine.actions}.
        """
        engine = engineFrom(rules, self.FILTERS)
        host = engine._hostOf(None, None)
        for plan in self.plans(engine):
            if plan.decided is None:
                continue
            outside = frozenset(maybe - plan.gate)
            for line in lines:
                self.assertEqual(plan.run(line, host, outside), list(plan.decided))
        expected = list(engine.actions(lines, stream="x"))
        self.assertEqual(list(engine.actionsScanned(lines, stream="x")), expected)
        self.assertEqual(groupedActions(engine, lines, stream="x"), expected)


class RecordForApplicationTests(SynchronousTestCase):
    """
    L{LogIdsEngine.recordFor} given the line's application (known from
    L{LogIdsEngine.actions}) makes the record it makes without.
    """

    def test_sameRecords(self):
        engine = shippedEngine()
        lines = [
            "Nov 22 10:00:01 www sshd[1234]: Failed password for root from 10.0.0.5 port 5"
            " ssh2",
            '10.0.0.5 - - [22/Nov/2004:10:00:11 +0000] "GET /a HTTP/1.0" 200 5 "-" "x"',
            "Nov 22 10:00:01 www sudo:    alice : 3 incorrect password attempts ; TTY=pts/0",
            "nothing any block selects"]
        for line, (application, _) in zip(
                lines, engine.actions(lines, ip=None, stream="/x", hostname=None)):
            self.assertEqual(engine.recordFor(line, "10.0.0.1", "/x", "www", application),
                             engine.recordFor(line, "10.0.0.1", "/x", "www"))
        self.assertEqual(engine.recordFor(lines[1], "", "/x", "", "apache").application,
                         "apache")

    def test_otherStream(self):
        """An application the stream's blocks do not have: the block is looked for."""
        filters, problems = parseFilters("[web]\nfile = *.log\nmatch = ^A\nfields = ^A(?P<a>.)\n")
        self.assertEqual(problems, [])
        engine = LogIdsEngine(parseRules("web,*,reject\n")[0], filters)
        self.assertEqual(engine.recordFor("Axyz", "", "/x.log", "", "web").fields["a"], "x")
        self.assertEqual(engine.recordFor("Axyz", "", "/x.txt", "", "web").application, "")


class ScannedRefusedTests(SynchronousTestCase):
    """
    A block's C{match} or a statement's regex that Hyperscan refuses (C{x*}
    matches the empty string, PCRE reads C{\\A} and C{\\v} otherwise) is
    tried with C{re} on every line, and the other blocks and statements stay
    on Hyperscan (one such regex sent every block back to plain regexes,
    and nothing said so): the same actions, and a note naming each.
    """

    engine = None
    FILTERS = ("[sshd]\nmatch = sshd\n[root]\nmatch = \\Aroot\n[pam]\nmatch = pam\n"
               "[catch]\nmatch = x*\n[never]\nmatch = never\n")
    RULES = ("sshd,line ct \\d\\v\\d,alert\nsshd,line ct Failed,warning\nroot,*,alert\n"
             "pam,line ct failure,display\ncatch,*,reject\nnever,*,alert\n*,*,drop\n")

    def setUp(self):
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            raise self.skipTest("hyperscan is not installed") from None
        if ScannedRefusedTests.engine is None:
            filters, problems = parseFilters(self.FILTERS, "f.txt")
            rules, ruleProblems = parseRules(self.RULES, "r.txt")
            self.assertEqual(problems + ruleProblems, [])
            ScannedRefusedTests.engine = LogIdsEngine(rules, filters)

    def test_othersStayOnHyperscan(self):
        scanner = self.engine._blockScanner("x")
        self.assertIsNotNone(scanner)
        self.assertEqual(sorted(p.regex.pattern for p in scanner[0].patterns),
                         ["never", "pam", "sshd"])

    def test_notes(self):
        self.assertEqual(self.engine.hyperscanNotes("x"), [
            "r.txt:1: the regex '\\\\d\\\\v\\\\d' is not on Hyperscan: Hyperscan reads \\v"
            " otherwise than Python's re; its statements run on every line (slower)",
            "f.txt:4: [root] match '\\\\Aroot' is not on Hyperscan: Hyperscan reads \\A"
            " otherwise than Python's re; it is searched with re in every line (slower),"
            " the other blocks stay on Hyperscan",
            "f.txt:8: [catch] match 'x*' is not on Hyperscan: it matches the empty string;"
            " it is searched with re in every line (slower), the other blocks stay on"
            " Hyperscan",
            ])
        filters, _ = parseFilters("[sshd]\nmatch = sshd\n")
        rules, _ = parseRules("sshd,line ct Failed,alert\n")
        self.assertEqual(LogIdsEngine(rules, filters).hyperscanNotes("x"), [])

    @given(st.lists(st.lists(st.sampled_from(
        ["sshd ", "root", " root", "pam ", "failure", "Failed", "1\x0b2", "1\x0b", "2", "x",
         "never", "\x1c", "\xe9", ""]), max_size=4).map("".join), min_size=1, max_size=12))
    def test_sameAsActions(self, lines):
        expected = list(self.engine.actions(lines, stream="x"))
        self.assertEqual(list(self.engine.actionsScanned(lines, stream="x")), expected)
        self.assertEqual(groupedActions(self.engine, lines, stream="x"), expected)
