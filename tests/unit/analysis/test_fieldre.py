"""
Tests for L{mice.analysis.fieldregex} and L{mice.analysis._fieldre}: a
fields regex run by PCRE2 gives what C{re} gives -- the same
C{m.groups('')}, or C{None} -- on any line, for the shipped filter blocks
and for generated patterns; what the rewrite is not sure of is refused,
and stays on C{re}.
"""

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from unittest import SkipTest

from hypothesis import assume, example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.analysis import fieldregex
from mice.analysis.fieldregex import groupsFunction, pcre2Pattern, pcre2Regex
from mice.analysis.logids import _fieldsParser, fieldGroups, parseFilters, quickerRegex
from tests import ROOT
from tests.unit.analysis.test_logids import PREVIOUS_FILTERS

try:
    from mice.analysis import _fieldre
except ImportError:
    _fieldre = None


def requireModule():
    """
    L{mice.analysis._fieldre}.

    @raise SkipTest: when it is not built (no libpcre2-dev).
    """
    if _fieldre is None:
        raise SkipTest("mice.analysis._fieldre is not built (no libpcre2-dev)")
    return _fieldre


def reGroups(regex, line):
    """What C{re} gives: C{regex.search(line).groups('')}, or C{None}."""
    found = regex.search(line)
    return None if found is None else found.groups("")


def _filterFields():
    """The C{fields} regexes of every filter.txt shipped, and of the old blocks."""
    texts = [PREVIOUS_FILTERS]
    for path in ("mice/data/default/logids/filter.txt", "mice/data/logids/filter.txt",
                 "etc/mice/logids/filter.txt"):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            texts.append(f.read())
    found = {}
    for text in texts:
        for block in parseFilters(text)[0]:
            if block.fields is not None:
                found[block.fields.pattern, block.fields.flags] = block.fields
    return list(found.values())


FIELDS = _filterFields()

with open(os.path.join(ROOT, "mice", "data", "sample.log"), encoding="utf-8") as _f:
    SAMPLE = _f.read().splitlines()

#: The characters the engines may read differently: the separators \x1c..\x1f
#: (re's \s), \v, \f, \r, newlines, backslashes and quotes.
ODD = "\x1c\x1d\x1e\x1f\x0b\x0c\r\n\t\\\"' "
ALPHABET = ODD + "abcxyzABKSs019_-.:;=()[]/@,"

#: Pieces of the lines the shipped blocks read, so that random lines match.
PIECES = ["sshd[", "12]: ", "Accepted ", "Failed ", "password ", "for ", "invalid user ",
          "from ", "10.0.0.1", " port ", "22", "pam_unix(sshd:auth): ", "pam_unix",
          "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4",
          " user=root", "kernel: ", "[ 12.5] ", "IN=eth0 ", "OUT= ", "SRC=1.2.3.4 ",
          "DST=5.6.7.8 ", "LEN=60 ", "PROTO=TCP", " SPT=1 DPT=2", '"GET / HTTP/1.1" ',
          "200 ", "123", ' "-" "agent\\" x"', "[client 1.2.3.4:5] ", "su: ", "sudo: ",
          " root : ", "TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls", "type=USER ",
          "msg=audit(1.2:3): ", "pid=1 uid=2 acct=\"x\" exe=\"/y\" addr=? res=ok",
          "audit[1]: ", "postfix/smtpd[1]: ", "dovecot: ", "exim[1]: ",
          "2004-11-22 00:00:00 ", "Nov 22 00:00:00 host ", "1.2.3.4 - - [22/Nov/2004] "]

pieces = st.sampled_from(PIECES) | st.text(alphabet=ALPHABET, max_size=6)
asciiLines = (st.lists(pieces, max_size=12).map("".join)
              | st.sampled_from(SAMPLE)
              | st.tuples(st.sampled_from(SAMPLE), st.integers(0, 300),
                          st.text(alphabet=ALPHABET, max_size=3)).map(
                              lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]))
#: Characters re reads otherwise than ASCII ones: \x85 and \xa0 are \s,
#: the long s and the Kelvin sign fold to s and k, the others are \w or \d.
NON_ASCII = "\x85\xa0\u2028\u017f\u212a\xe9\u0663\uff10"
anyLines = st.tuples(asciiLines, st.integers(0, 200), st.text(alphabet=NON_ASCII,
                                                                min_size=1, max_size=3)).map(
    lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:])


class FilterFieldsTests(SynchronousTestCase):
    """The shipped blocks' fields regexes give, with PCRE2, what they give with re."""

    def setUp(self):
        requireModule()
        self.compiled = []
        for regex in FIELDS:
            found = pcre2Regex(regex)
            if found is not None:
                self.compiled.append((regex, found))

    def test_defaultBlocksRewritten(self):
        """Every fields regex of the default filter.txt runs on PCRE2, with its JIT."""
        with open(os.path.join(ROOT, "mice/data/default/logids/filter.txt"),
                  encoding="utf-8") as f:
            blocks = [b for b in parseFilters(f.read())[0] if b.fields is not None]
        self.assertTrue(blocks)
        for block in blocks:
            found = pcre2Regex(block.fields)
            self.assertIsNotNone(found, block.name)
            self.assertTrue(found.jit, block.name)

    @given(st.lists(asciiLines, min_size=1, max_size=20))
    @example(["sshd[1]: Accepted password for \x1cx from 1.2.3.4 port 22",
              "Nov 22 00:00:00 gate kernel: IN=\x1f OUT= SRC=1 DST=2 LEN=3 PROTO=\x1e",
              '1.2.3.4 - - [x] "GET /a\\" b HTTP/1.0" 200 1 "r\\"" "a"'])
    def test_asciiLines(self, lines):
        for line in lines:
            for regex, compiled in self.compiled:
                self.assertEqual(compiled.groups(line), reGroups(regex, line),
                                 (regex.pattern, line))

    @given(st.lists(anyLines, min_size=1, max_size=10))
    def test_nonAsciiLines(self, lines):
        """A line that is not ASCII is searched by re, through the search given."""
        for regex, _ in self.compiled:
            searched = []

            def search(line, regex=regex, searched=searched):
                searched.append(line)
                return regex.search(line)
            compiled = pcre2Regex(regex, search)
            for line in lines:
                self.assertEqual(compiled.groups(line), reGroups(regex, line))
            self.assertEqual(searched, lines)

    def test_quickerRegex(self):
        """The rewrite of a fields regex and that of its L{quickerRegex} match alike."""
        for regex, compiled in self.compiled:
            quick = pcre2Regex(quickerRegex(regex))
            for line in SAMPLE:
                self.assertEqual(quick.groups(line), compiled.groups(line))


def _names():
    return (f"g{i}" for i in range(1000))


@st.composite
def patterns(draw, depth=3):
    """
    Small patterns of the constructs the rewrite handles, with the
    characters re and PCRE2 might read differently.
    """
    groups = [0]

    def atom():
        return draw(st.sampled_from([
            "a", "b", "x", " ", ":", '"', "\\\\", "\\.", "\\x1c", "\\n", "\\s", "\\S", "\\d",
            "\\D", "\\w", "\\W", ".", "[^\\s:]", "[\\S]", "[^\\S\\n]", "[a-c\\d]", '[^"\\\\]',
            "[\\s\\S]", "[^\\w]", "[\\x1c-\\x1f]", "(?i:k)", "(?i:[a-c])", "(?s:.)",
            "\\u017f", "[\\xa0-\\u2028]", "[^\\x85]"]))

    def anchor():
        return draw(st.sampled_from(["\\b", "\\B", "^", "$", "\\A", "\\Z", "(?m:^)",
                                     "(?m:$)"]))

    def node(level):
        kind = draw(st.integers(0, 9 if level else 1))
        if kind == 0:
            return atom()
        if kind == 1:
            return anchor()
        if kind == 2:
            inner = node(level - 1)
            quantifier = draw(st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{,2}",
                                               "{2,}"]))
            suffix = draw(st.sampled_from(["", "?", "+"]))
            return f"(?:{inner}){quantifier}{suffix}"
        if kind == 3:
            return "(?:" + "|".join(sequence(level - 1)
                                    for _ in range(draw(st.integers(2, 3)))) + ")"
        if kind == 4:
            groups[0] += 1
            if draw(st.booleans()):
                return f"(?P<g{groups[0]}>{sequence(level - 1)})"
            return f"({sequence(level - 1)})"
        if kind == 5:
            return f"(?>{sequence(level - 1)})"
        if kind == 6:
            sign = draw(st.sampled_from(["=", "!", "<=", "<!"]))
            inner = atom() if "<" in sign else sequence(level - 1)
            return f"(?{sign}{inner})"
        if kind == 7 and groups[0]:
            return f"\\{draw(st.integers(1, groups[0]))}"
        if kind == 8 and groups[0]:
            group = draw(st.integers(1, groups[0]))
            return f"(?({group}){sequence(level - 1)}|{sequence(level - 1)})"
        return atom() + atom()

    def sequence(level):
        return "".join(node(level) for _ in range(draw(st.integers(1, 3))))

    flags = draw(st.sampled_from(["", "(?i)", "(?s)", "(?m)", "(?a)", "(?x)"]))
    return flags + sequence(depth)


class GeneratedPatternTests(SynchronousTestCase):
    """Generated patterns, on generated lines: PCRE2 agrees with re, or is refused."""

    def setUp(self):
        requireModule()

    @given(patterns(), st.lists(st.text(alphabet=ALPHABET, max_size=12), min_size=1,
                                max_size=10))
    @example(r"\s", ["\x1c", "\x1f", " ", "\xa0"])
    @example(r"[^\s:]+", ["ab\x1d:c"])
    @example(r"(?m)^$", ["a\n"])
    @example(r"x$", ["x\n", "x\n\n", "x"])
    @example(r"\B", [""])
    @example(r"(?i)(a)\1", ["aA"])
    @example(r"a{,2}", ["{,2}", "aa"])
    @example(r"x\Z", ["x\n", "x"])
    @example(r"(?:\S+){2}+", ["00"])
    def test_sameAsRe(self, pattern, lines):
        try:
            regex = re.compile(pattern)
        except re.error:
            assume(False)
        try:
            compiled = _fieldre.Regex(pcre2Pattern(pattern), regex.groups, regex.search)
        except ValueError as e:
            self.assertTrue(str(e))
            return
        for line in lines:
            self.assertEqual(compiled.groups(line), reGroups(regex, line),
                             (pattern, compiled.pattern, line))


class RefusedTests(SynchronousTestCase):
    """What the rewrite is not sure of is refused, with the reason."""

    def test_refused(self):
        for pattern, reason in [
                (r"(a)*", "a group inside a repeat"),
                (r"(?:(?P<x>a)|b)+c", "a group inside a repeat"),
                (r"(a)(?:\1)+", "a back reference inside a repeat"),
                (r"(?:a|)*", "what can match the empty string"),
                (r"a{70000}", "more than 65535"),
                (r"(?!(a))", "a group inside a negative assertion"),
                (r"(?:\S+){2}+", "a possessive repeat of more than one character"),
                (r"(", "re refuses it")]:
            with self.assertRaises(ValueError) as caught:
                pcre2Pattern(pattern)
            self.assertIn(reason, str(caught.exception))
        self.assertRaises(ValueError, pcre2Pattern, "a", re.DEBUG)

    def test_refusedStaysOnRe(self):
        """L{fieldGroups} of a refused regex is re's, which gives the same."""
        regex = re.compile(r"(?:(?P<x>a)|b)+c")
        self.assertIsNone(pcre2Regex(regex))
        self.assertEqual(fieldGroups(regex)("zabc"), ("a",))
        self.assertIsNone(fieldGroups(regex)("zz"))

    def test_badArguments(self):
        self.assertRaises(TypeError, pcre2Pattern, b"a")
        self.assertRaises(TypeError, pcre2Pattern, "a", "i")
        module = requireModule()
        for args in [(1, 0, str), ("a", "0", str), ("a", 0, 5), ("a",), ()]:
            self.assertRaises(TypeError, module.Regex, *args)
        for args in [("(", 0, str), ("(a)", 0, str), ("a", -1, str), ("\xe9", 0, str)]:
            self.assertRaises(ValueError, module.Regex, *args)
        regex = module.Regex("(a)", 1, re.compile("(a)").search)
        for line in (b"a", None, 1):
            self.assertRaises(TypeError, regex.groups, line)
        self.assertRaises(TypeError, regex.groups)
        self.assertRaises(TypeError, regex.groups, "a", "b")
        self.assertEqual(regex.groups("xa"), ("a",))

    def test_searchRaises(self):
        """An error of the search given, on a line for re, is raised as it is."""
        module = requireModule()

        def search(line):
            raise ZeroDivisionError()
        regex = module.Regex("(a)", 1, search)
        self.assertEqual(regex.groups("a"), ("a",))
        self.assertRaises(ZeroDivisionError, regex.groups, "\xe9a")


class MatchedTests(SynchronousTestCase):
    """What L{mice.analysis._fieldre.Regex.groups} gives."""

    def setUp(self):
        self.module = requireModule()

    def regex(self, pattern, search=None):
        compiled = re.compile(pattern)
        return self.module.Regex(pcre2Pattern(pattern), compiled.groups,
                                 search or compiled.search)

    def test_unsetGroups(self):
        """A group that did not take part is '', as m.groups('') gives it."""
        regex = self.regex(r"(a)|(b)(c)?")
        self.assertEqual(regex.groups("b"), ("", "b", ""))
        self.assertEqual(regex.groups("a"), ("a", "", ""))
        self.assertIsNone(regex.groups("x"))
        self.assertEqual(self.regex("x").groups("ax"), ())

    def test_limitFallsBack(self):
        """
        Where PCRE2 stops on a limit (here its JIT's stack, on a long
        line), re decides.
        """
        searched = []
        compiled = re.compile(r"^(?:a|bc)*(d)$")

        def search(line):
            searched.append(line)
            return compiled.search(line)
        regex = self.regex(compiled.pattern, search)
        line = "a" * 300000 + "d"
        self.assertEqual(regex.groups(line), ("d",))
        self.assertEqual(searched, [line])

    def test_threads(self):
        """Threads matching with one Regex get each their own result."""
        regex = self.regex(r"(\d+)-(\w+)")
        lines = [f"{i}-x{i}" for i in range(2000)]
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(regex.groups, lines))
        self.assertEqual(found, [(str(i), f"x{i}") for i in range(2000)])

    def test_noLeak(self):
        """Many matches do not hold on to their strings."""
        regex = self.regex(r"(\w+) (\w+)")
        line = "hello world"
        before = sys.getrefcount(line)
        for _ in range(1000):
            regex.groups(line)
            regex.groups("h\xe9llo world")
        self.assertEqual(sys.getrefcount(line), before)


class FieldsParserTests(SynchronousTestCase):
    """L{_fieldsParser} builds groupdict('') from the groups tuple."""

    @given(st.lists(asciiLines | anyLines, min_size=1, max_size=10))
    @example(["ab", "b", "abcd", "d", ""])
    def test_groupdict(self, lines):
        for pattern in [r"(a)?(?P<x>b)(c)?(?P<y>d)?", r"(?P<only>b)", r"(a)(b)?", r"(?P<z>d)",
                        r"(x)?(?P<one>y)?(z)?"] + [regex.pattern for regex in FIELDS]:
            regex = re.compile(pattern)
            parse = _fieldsParser(fieldGroups(regex), regex)
            for line in lines:
                found = regex.search(line)
                expected = ({}, ()) if found is None else (found.groupdict(""),
                                                           tuple(regex.groupindex))
                got = parse(line)
                self.assertEqual(got, expected)
                self.assertEqual(list(got[0]), list(expected[0]))

    def test_groupsFunctionWithout(self):
        """Without the module (or a str pattern), re gives the groups."""
        groups = groupsFunction(re.compile(rb"(a)"))
        self.assertEqual(groups(b"xa"), (b"a",))
        self.patch(fieldregex, "_fieldre", None)
        regex = re.compile(r"(a)|(b)")
        self.assertIsNone(pcre2Regex(regex))
        groups = groupsFunction(regex)
        self.assertEqual((groups("b"), groups("x")), (("", "b"), None))


class BuiltTests(SynchronousTestCase):
    def test_builtHere(self):
        """
        Where the project is built with pcre2.h (CI installs libpcre2-dev),
        the PCRE2 module is there: a checkout that lost it would analyze
        slower without a word.
        """
        if os.environ.get("CI") != "true":
            raise SkipTest("only CI insists on the PCRE2 module")
        self.assertIsNotNone(_fieldre)
