"""
Tests for L{mice.analysis._hsscan}: the lines of a batch each Hyperscan
pattern is reported in, gathered in C, are those python-hyperscan's
callback gives (L{mice.analysis.aaregex.HyperscanPatterns.linesOf}'s
other path), and the rule engines give the same results with either.
"""

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from typing import NamedTuple
from unittest import SkipTest

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.analysis import aaregex
from mice.analysis.aaregex import AaRegexMatcher, HyperscanPatterns
from mice.analysis.hyperscancache import compileScanner
from mice.analysis.logids import LogIdsEngine, loadFiles
from mice.config import loadAaRegex
from tests import ROOT
from tests.unit.analysis import requireHyperscan

try:
    from mice.analysis import _hsscan
except ImportError:
    _hsscan = None

DEFAULT = os.path.join(ROOT, "mice", "data", "default")


def requireScanner():
    """
    C{mice.analysis._hsscan} (and python-hyperscan, which the tests compare
    it with).

    @raise SkipTest: when either is missing.
    """
    hyperscan = requireHyperscan()
    if _hsscan is None:
        raise SkipTest("mice.analysis._hsscan is not built (no libhyperscan-dev)")
    return hyperscan


class _Pattern(NamedTuple):
    """A pattern as L{HyperscanPatterns} takes one."""

    regex: re.Pattern


def encoded(lines):
    """C{(data, ends)} of C{lines} as L{aaregex._encodedLines} makes them."""
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    return data, list(accumulate(len(line) + 1 for line in data.split(b"\n")))


def callbackLines(db, data, ends):
    """
    What the C scan must give, from python-hyperscan's callback: each line
    of C{data} (to the byte before each of C{ends}) scanned on its own, and
    for each line some pattern was reported in, the set of their ids.
    """
    found = {}
    start = 0
    for index, end in enumerate(ends):
        ids = set()
        db.scan(data[start:end - 1], context=ids,
                match_event_handler=lambda ident, first, last, flags, known: known.add(ident))
        if ids:
            found[index] = frozenset(ids)
        start = end
    return found


#: Pattern sets, each with the flags HyperscanPatterns gives (the
#: strings: True for exact, no flag; False for prefilter).
PATTERN_SETS = (
    # Literals, classes and anchors, some of them exact.
    ((b"foo", True), (b"ba+r", False), (b"^x", True), (b"y$", False), (b"\\d{2,}", True),
     (b"^ab|cd$", True)),
    # What prefilter mode widens (back references), matches across lines
    # ((?s), \s), case folding, word boundaries.
    ((b"(a+)b\\1", False), (b"(?i)FOO.*bar", False), (b"(?s)a.c", False), (b"\\bab\\b", False),
     (b"x\\s+y", False), (b"(?i)^a", False)),
    # One pattern reported at many places of a line.
    ((b"a", True), (b"b", False), (b"a{2}", True)),
)

LINES = st.lists(
    st.one_of(st.text(alphabet="abcdxy019 FOOBAR\t", max_size=24),
              st.sampled_from(["foo", "bar", "baar", "aaba", "x", "", "abc", "ab", "12", "cd",
                               "FOO bar", "x y", "a\tc", "aaaa aaaa"])),
    min_size=1, max_size=40)


class LinesTests(SynchronousTestCase):
    """
    C{Database.lines} gives, for random batches, what python-hyperscan's
    callback gives on a database of the same expressions, flags and ids.
    """

    databases = None

    def setUp(self):
        hyperscan = requireScanner()
        if LinesTests.databases is None:
            exact = 0
            prefilter = hyperscan.HS_FLAG_PREFILTER
            databases = []
            for patterns in PATTERN_SETS:
                expressions = [expression for expression, _ in patterns]
                flags = [exact if isExact else prefilter for _, isExact in patterns]
                ids = [3 * i + 1 for i in range(len(patterns))]
                python = hyperscan.Database()
                python.compile(expressions=expressions, ids=ids, flags=flags)
                databases.append((python, _hsscan.Database(expressions, flags, ids)))
            LinesTests.databases = databases

    @given(LINES, st.integers(0, len(PATTERN_SETS) - 1))
    @example(["aaaa aaaa", "", "a"], 2)
    @example(["", ""], 0)
    @example(["abc", "", "x y", "a", "c"], 1)
    def test_sameAsCallback(self, lines, which):
        python, scanner = self.databases[which]
        data, ends = encoded(lines)
        expected = callbackLines(python, data, ends)
        self.assertEqual(scanner.lines(data, ends), expected)
        # The lines' ends found in C, from the newlines.
        self.assertEqual(scanner.lines(data), expected)

    @given(LINES, st.integers(0, len(PATTERN_SETS) - 1))
    @example(["aaaa aaaa", "", "a"], 2)
    @example(["ab", "ab", "x", "ab"], 0)
    def test_groups(self, lines, which):
        """
        C{Database.groups}: every line once, under the set C{lines} gives
        it (the empty set for a line it leaves out), in line order; the
        lines of one set share its frozenset.
        """
        _, scanner = self.databases[which]
        data, ends = encoded(lines)
        found = scanner.lines(data)
        groups = scanner.groups(data)
        self.assertEqual(groups, scanner.groups(data, ends))
        expected = {}
        for index in range(len(lines)):
            expected.setdefault(found.get(index, frozenset()), []).append(index)
        self.assertEqual(groups, expected)
        for named in groups:
            self.assertIsInstance(named, frozenset)

    @given(LINES, st.integers(0, len(PATTERN_SETS) - 1))
    def test_linesOf(self, lines, which):
        """
        L{HyperscanPatterns.linesOf} gives the same C{(found, unsure)} with
        the C scan and without (the refused patterns, the lines it is
        unsure of, the empty last line as before).
        """
        patterns = [_Pattern(re.compile(expression.decode("ascii")))
                    for expression, _ in PATTERN_SETS[which]]
        patterns.append(_Pattern(re.compile("x*")))  # Hyperscan refuses it
        exact = [i for i, (_, isExact) in enumerate(PATTERN_SETS[which]) if isExact]
        scan = HyperscanPatterns(patterns, exact=exact)
        self.assertIsNotNone(scan._scanner)
        self.assertEqual([index for index, _ in scan.refused], [len(patterns) - 1])
        lines = [line.replace("d", "\x1c") if "0" in line else line for line in lines]
        text = "\n".join(lines)
        withC = scan.linesOf(lines, text)
        groupsWithC = scan.groupsOf(lines, text)
        scan._scanner = None
        aaregex._lastBatch[0] = None
        withPython = scan.linesOf(lines, text)
        self.assertEqual(withC[1], withPython[1])
        self.assertEqual(withC[0], {index: frozenset(ids) for index, ids in withPython[0].items()})
        # groupsOf: the same lines, grouped by what they found (the unsure
        # ones left out), with the C scan and without.
        groups, unsure = groupsWithC
        self.assertEqual(set(unsure), set(withC[1]))
        expected = {}
        for index in range(len(lines)):
            if index not in unsure:
                expected.setdefault(withC[0].get(index, frozenset()), []).append(index)
        self.assertEqual(groups, expected)
        self.assertEqual(scan.groupsOf(lines, text)[0], expected)

    def test_acrossLines(self):
        """
        Each line is scanned on its own: a pattern whose match could hold a
        newline (C{\\s}, C{[^b]}, C{(?s).}) is compiled exactly when asked,
        and a match that would run across two lines of a batch is no
        report, with the C scan and without.
        """
        expressions = [r"x\s+y", r"a[^b]c", r"(?s)p.q"]
        scan = HyperscanPatterns([_Pattern(re.compile(e)) for e in expressions],
                                 exact=range(len(expressions)))
        self.assertEqual(scan.exact, frozenset(range(len(expressions))))
        lines = ["x", "y", "a", "c", "p", "q", "x  y", "a-c", "p=q"]
        text = "\n".join(lines)
        expected = ({6: {0}, 7: {1}, 8: {2}}, ())
        self.assertEqual(scan.linesOf(lines, text), expected)
        self.assertEqual(scan.groupsOf(lines, text)[0],
                         {frozenset(): [0, 1, 2, 3, 4, 5], frozenset({0}): [6],
                          frozenset({1}): [7], frozenset({2}): [8]})
        scan._scanner = None
        aaregex._lastBatch[0] = None
        self.assertEqual(scan.linesOf(lines, text), expected)

    def test_nonBoundaryOnEmptyLines(self):
        """
        C{\\B}, which Hyperscan finds in an empty line and C{re} does not, is
        compiled in prefilter mode: C{re} confirms the lines it names.
        """
        for expression in (r"\B", r"a?\B", r"(?:a|\B)"):
            scan = HyperscanPatterns([_Pattern(re.compile(expression))], exact=[0])
            self.assertEqual(scan.exact, frozenset(), expression)
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write('[ALERT_0x7777]\nSendTo = "N"\nRule = "\\B"\n')
        matcher = AaRegexMatcher(loadAaRegex(path), "hyperscan")
        lines = ["", " ", "a", "ab", "-", ""]
        self.assertEqual([index for index, _ in matcher.matchIndexed(lines, "\n".join(lines))],
                         [i for i, line in enumerate(lines) if re.search(r"\B", line)])

    @given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
                    min_size=1, max_size=6))
    @example([b"0123456789abcdef\x1c", b"\xff" + b"x" * 15, b"x" * 7 + b"\x1f"])
    def test_unusual(self, lines):
        """
        C{unusual} gives the lines holding a byte L{aaregex._HS_UNSURE}
        matches (beyond ASCII, or 0x1c-0x1f), wherever it is in a line: in
        a word of eight bytes it reads at once, or in the bytes after.
        """
        if _hsscan is None:
            raise SkipTest("mice.analysis._hsscan is not built (no libhyperscan-dev)")
        data = b"\n".join(lines)
        self.assertEqual(_hsscan.unusual(data),
                         [i for i, line in enumerate(lines) if aaregex._HS_UNSURE.search(line)])
        for at in range(40):
            for byte in (b"\x1c", b"\x1f", b"\x80", b"\xff"):
                line = b"a" * at + byte + b"b" * (39 - at)
                self.assertEqual(_hsscan.unusual(b"\x1b\x20\x7f\n" + line + b"\n\x1d"),
                                 [1, 2])

    def test_deduplicated(self):
        """A pattern reported many times in a line is in its set once."""
        _, scanner = self.databases[2]
        data, ends = encoded(["a" * 1000, "b", "a"])
        self.assertEqual(scanner.lines(data, ends),
                         {0: frozenset({1, 7}), 1: frozenset({4}), 2: frozenset({1})})

    def test_threads(self):
        """
        Scans in threads at once (the GIL released, the second clones the
        scratch space) each give their batch's lines.
        """
        python, scanner = self.databases[0]
        batches = [encoded(["foo bar %d" % i, "x", "cd" * i, "12" * i] * 2000) for i in range(8)]
        expected = [callbackLines(python, data, ends) for data, ends in batches]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda batch: scanner.lines(*batch), batches * 3))
        self.assertEqual(got, expected * 3)

    def test_serialized(self):
        """A database through C{serialize} and C{deserialize} scans the same."""
        _, scanner = self.databases[1]
        data, ends = encoded(["aba", "FOO x bar", "a", "c", "x", "  y"])
        copy = _hsscan.deserialize(scanner.serialize())
        self.assertEqual(copy.count, scanner.count)
        self.assertEqual(copy.lines(data, ends), scanner.lines(data, ends))
        self.assertEqual(_hsscan.version().split()[0].count("."), 2)


class BadInputTests(SynchronousTestCase):
    """What the C code is given wrongly raises a Python exception."""

    def setUp(self):
        requireScanner()
        self.scanner = _hsscan.Database([b"foo", b"bar"], [0, 0], [0, 1])

    def test_refusedPattern(self):
        """A pattern Hyperscan refuses: ValueError naming it, with Hyperscan's message."""
        error = self.assertRaises(ValueError, _hsscan.Database, [b"foo", b"(bar"], [0, 0],
                                  [0, 1])
        self.assertIn("expression 1", str(error))
        self.assertIn("parenthesis", str(error))
        error = self.assertRaises(ValueError, _hsscan.Database, [b"x*"], [0], [0])
        self.assertIn("empty", str(error))

    def test_badDatabase(self):
        for args, exception in (
                (([b"foo"], [0], [0, 1]), ValueError),
                (([], [], []), ValueError),
                ((["foo"], [0], [0]), TypeError),
                (([b"foo"], ["0"], [0]), TypeError),
                (([b"foo"], [0], [-1]), ValueError),
                (([b"foo"], [0], [1 << 40]), ValueError),
                (([b"fo\0o"], [0], [0]), ValueError),
                ((None, [0], [0]), TypeError),
                (([b"foo"], 0, [0]), TypeError)):
            self.assertRaises(exception, _hsscan.Database, *args)

    def test_badLines(self):
        data, ends = encoded(["foo", "bar"])
        for args, exception in (
                ((data, ends[:-1]), ValueError),
                ((data, [ends[0], len(data)]), ValueError),
                ((data, []), ValueError),
                ((data, [5, 2, 100]), ValueError),
                # Each end but the last just past a newline, the last just
                # past the data: a byte between two lines would be scanned
                # in none (and an end past the data read beyond it).
                ((data, [3, 8]), ValueError),
                ((data, [5, 8]), ValueError),
                ((data, [100, 200]), ValueError),
                ((data, [4, 9]), ValueError),
                ((data, [4, 4, 8]), ValueError),
                ((data, [4, "8"]), TypeError),
                ((data, 5), TypeError),
                (("foo\nbar", ends), TypeError),
                ((), TypeError)):
            self.assertRaises(exception, self.scanner.lines, *args)
        self.assertEqual(self.scanner.lines(data, ends), {0: {0}, 1: {1}})
        self.assertEqual(self.scanner.lines(data), {0: {0}, 1: {1}})
        self.assertEqual(self.scanner.lines(data, None), {0: {0}, 1: {1}})
        self.assertEqual(self.scanner.lines(b""), {})

    def test_badSerialized(self):
        good = self.scanner.serialize()
        for damaged in (b"", b"junk", good[:20], good[:len(good) // 2],
                        good[:12] + bytes([good[12] ^ 1]) + good[13:]):
            self.assertRaises(ValueError, _hsscan.deserialize, damaged)
        self.assertRaises(TypeError, _hsscan.deserialize, "text")


class BuiltTests(SynchronousTestCase):
    def test_builtHere(self):
        """
        Where the project is built with libhs's headers (CI installs
        libhyperscan-dev), the C scan is there: a checkout that lost it
        would analyze slower without a word.
        """
        if os.environ.get("CI") != "true":
            raise SkipTest("only CI insists on the C scan")
        self.assertIsNotNone(_hsscan)


class CompileScannerTests(SynchronousTestCase):
    """L{compileScanner} keeps its databases on disk, as L{compileDatabase} does."""

    def setUp(self):
        requireScanner()
        self.directory = self.mktemp()

    def stored(self, suffix=".hsscan"):
        return sorted(name for name in os.listdir(self.directory) if name.endswith(suffix))

    def test_storedThenLoaded(self):
        """
        The first compilation stores the database; the next one loads it;
        a damaged file is compiled again and replaced.
        """
        data, ends = encoded(["foo", "bar baz"])
        scanner = compileScanner([b"foo", b"ba[rz]"], [0, 1], [0, 0], directory=self.directory)
        self.assertEqual(scanner.lines(data, ends), {0: {0}, 1: {1}})
        [name] = self.stored()
        path = os.path.join(self.directory, name)
        with open(path, "rb") as f:
            good = f.read()
        loaded = compileScanner([b"foo", b"ba[rz]"], [0, 1], [0, 0], directory=self.directory)
        self.assertEqual(loaded.lines(data, ends), {0: {0}, 1: {1}})
        with open(path, "wb") as f:
            f.write(good[:100])
        again = compileScanner([b"foo", b"ba[rz]"], [0, 1], [0, 0], directory=self.directory)
        self.assertEqual(again.lines(data, ends), {0: {0}, 1: {1}})
        with open(path, "rb") as f:
            self.assertEqual(f.read(), good)

    def test_keyed(self):
        """
        Other expressions or flags, or another libhs, are another database;
        python-hyperscan's of the same expressions is another file (and
        kind) too.
        """
        from mice.analysis.hyperscancache import compileDatabase

        compileScanner([b"foo"], [0], [0], directory=self.directory)
        compileScanner([b"fo+"], [0], [0], directory=self.directory)
        compileScanner([b"foo"], [0], [2], directory=self.directory)
        compileDatabase([b"foo"], [0], [0], directory=self.directory)
        self.patch(_hsscan, "version", lambda: "0.0.0 another")
        compileScanner([b"foo"], [0], [0], directory=self.directory)
        self.assertEqual(len(self.stored()), 4)
        self.assertEqual(len(self.stored(".hsdb")), 1)

    def test_prunedApart(self):
        """
        Each kind keeps its C{keep} most recently used databases: storing
        these does not remove python-hyperscan's, nor the other way round.
        """
        from mice.analysis.hyperscancache import compileDatabase

        for n in range(3):
            compileDatabase([b"foo%d" % n], [0], [0], directory=self.directory, keep=3)
        for n in range(4):
            compileScanner([b"foo%d" % n], [0], [0], directory=self.directory, keep=3)
        compileDatabase([b"bar"], [0], [0], directory=self.directory, keep=3)
        self.assertEqual((len(self.stored()), len(self.stored(".hsdb"))), (3, 3))

    def test_badExpression(self):
        self.assertRaises(ValueError, compileScanner, [b"(foo"], [0], [0],
                          directory=self.directory)


def _detectionLines():
    """C{bench/gendetection.py}'s corpus, 20,000 lines of seed 3."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        from gendetection import generate
    finally:
        sys.path.pop(0)
    return [line for line, _ in generate(20000, 3)]


class EnginesTests(SynchronousTestCase):
    """
    The M-ICE rules (L{AaRegexMatcher.matchIndexed}) and the LogIDS rules
    (L{LogIdsEngine.actionsScanned}) give the same with the C scan and
    without, on the detection bench's lines.
    """

    def setUp(self):
        requireScanner()
        self.lines = _detectionLines()
        # A few lines Hyperscan could read otherwise, and an empty last line.
        self.lines += [line.replace(" ", "\x1c", 1) for line in self.lines[:50]]
        self.lines += [line + " \xe9" for line in self.lines[:50]] + [""]

    def assertSameWithoutC(self, results):
        """
        C{results()} gives C{(scanner, found)}: the C scan it used (or
        C{None}) and what it found; the same is found without the C scan,
        and more than a handful.
        """
        scanner, withC = results()
        self.assertIsNotNone(scanner)
        self.patch(aaregex, "_scannerFor", lambda expressions, flags: None)
        scanner, withPython = results()
        self.assertIsNone(scanner)
        self.assertEqual(withC, withPython)
        self.assertGreater(len(withC), 1000)

    def test_aaregex(self):
        def matches():
            matcher = AaRegexMatcher(loadAaRegex(os.path.join(DEFAULT,
                                                              "mice_mod_pop_aa_regex.conf")),
                                     strategy="hyperscan")
            return matcher._hsRules._scanner, matcher.matchIndexed(self.lines)

        self.assertSameWithoutC(matches)

    def test_logids(self):
        from mice.analysis.offline import defaultContent
        from mice.config import loadAaRules

        settings = loadAaRules(defaultContent().aarules)
        # One engine (its actions name its rules): its scanners made again.
        engine = LogIdsEngine(*loadFiles(settings.rulesFile, settings.filterFile,
                                         settings.netdefFile)[:3])

        def actions():
            engine._scanners.clear()
            taken = list(engine.actionsScanned(self.lines, ip=None, stream="/var/log/x",
                                               hostname=None))
            return engine._scanners["/var/log/x"][0]._scanner, taken

        self.assertSameWithoutC(actions)
