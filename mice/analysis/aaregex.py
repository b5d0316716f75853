# -*- test-case-name: tests.unit.analysis.test_aaregex -*-
"""
The M-ICE rule engine (C{mice_mod_pop_aa_regex}, seed chapter 6.2): which
rules of a C{mice_mod_pop_aa_regex.conf} a log line matches, and the
L{mice.alerts.Alert} each match raises.

Semantics, as in the original's C{regexec}:

  - A rule is a regular expression I{searched} in the log line (unanchored:
    C{.*X.*} means "contains X").  The config loader has compiled every
    pattern with Python's C{re}, so Python's syntax is what a rule means.
  - C{""} switches a rule off.  A rule key may repeat (C{AuF_Rule = ...}
    three times); its patterns are alternatives.
  - A line raises B{one match per rule key}, not per pattern: the key is
    what has an alert ID, so two AuF patterns matching one line are one
    "Authentication Failure", while an AuF and an Ap_Name match on the same
    sshd line are two alerts (different IDs, and possibly different
    routes).  Matches come in config order (section, then key).
  - Each section's SendTo (C{M} ManagementHost, C{A} the next analysis
    agent, C{B} both, C{N} none) is the route of its matches.  A match
    routed C{N} still I{classifies} the line (it is reported by C{mice
    analyze} and keeps the line away from DEFAULT); it is sent nowhere.
  - MONITORING: C{Mo_UID} and C{Mo_GID} are matched against the user and
    group IDs found in the record (L{mice.analysis.extract.idValues}: C{uid=},
    C{euid=}, C{auid=}, C{(uid=N)}, C{gid=}, C{egid=}, and LAuS C{aucat}
    lines' login field and set*id calls), each value as a whole
    (C{re.fullmatch}): C{Mo_UID = "0|1000"} watches root and uid 1000, not
    every uid with a 0 in it.  The unset ID (-1, 4294967295) never matches.
  - SOCKET is parsed (the loader warns when a SOCKET rule is set) and
    reserved: it never matches.
  - DEFAULT: a line that no enabled rule matched is an I{unclassified}
    event.  With C{DeSendTo = "N"} (the seed's) nothing happens; otherwise
    the line raises one alert with no alert ID (L{DEFAULT_KEY},
    classification L{UNCLASSIFIED}, severity C{info}) on DeSendTo's route.

Speed: see L{AaRegexMatcher}.  Pure: no reactor; the only I/O is in
L{AlertIdFile}, which the agent opens by path through L{sharedAlertCounter}
(one counter per file in a process).
"""

import bisect
import re
from datetime import datetime
from itertools import accumulate

# The parser behind re.compile (private, but there since Python 3.11, which
# setup.cfg requires; read through mice.analysis.reparse): it tells which
# literals a pattern cannot match without.
from re import _constants as _sre_constants
from typing import NamedTuple

from mice.alerts import Alert
from mice.analysis.extract import idValues, nodesFor
from mice.analysis.hyperscancache import compileDatabase, compileScanner
from mice.analysis.reparse import parsed as _parsed

#: The key of the DEFAULT section's unclassified-line match.
DEFAULT_KEY = "DEFAULT"
UNCLASSIFIED = "Unclassified log line"

#: Severity per alert ID: what an operator should look at first.  Failures,
#: exploits, dropped or illegal packets and code run as root are attacks or
#: their traces (high); other superuser actions, failed reads/writes,
#: monitored IDs and rejects are worth a look (medium); accepted logins and
#: packets are informational (info), other successes context (low).
SEVERITY = {
    0x1010: "info", 0x1020: "high",
    0x2010: "medium", 0x2020: "medium", 0x2030: "medium", 0x2040: "medium",
    0x2050: "high",
    0x3010: "low", 0x3020: "medium",
    0x4010: "low", 0x4020: "medium",
    0x5010: "medium", 0x5020: "medium",
    0x6010: "low",
    0x7010: "high",
    0x8010: "high", 0x8020: "medium", 0x8030: "info", 0x8040: "high",
    # The default content's own IDs ([ALERT_<id>] sections, docs/detection.rst).
    0x1021: "high", 0x1022: "high", 0x1023: "high", 0x1024: "medium", 0x1025: "high",
    0x1027: "high", 0x1029: "high", 0x102A: "high", 0x102B: "high", 0x102C: "high",
    0x5030: "medium", 0x5040: "medium",
    0x7011: "high", 0x7012: "high", 0x7013: "high", 0x7014: "medium", 0x7015: "high",
    0x7016: "medium", 0x7020: "medium",
}  # fmt: skip

#: The rules matched against IDs rather than text.
_ID_RULES = {"Mo_UID": "uid", "Mo_GID": "gid"}


class Match(NamedTuple):
    """
    One rule key a line matched: C{alertId} is C{None} for L{DEFAULT_KEY}.
    """

    key: str
    alertId: int | None
    section: str
    sendTo: str


# ---------------------------------------------------------------------------
# Pattern analysis

_LEAD = re.compile(r"^\.\*\??(?![+*?{])")


def stripDotStar(pattern):
    """
    C{pattern} without a leading and trailing C{.*} (or C{.*?}).

    For a search these never change whether a line matches: C{.*} can match
    the empty string where the rest starts or ends.  They only cost: C{re}
    retries C{.*X} at every position, which makes a search quadratic in
    the line's length.  A possessive C{.*+} is left alone (it does change
    the meaning), as is anything the result would not compile as.
    """
    stripped = _LEAD.sub("", pattern, count=1)
    for tail in (".*?", ".*"):
        if stripped.endswith(tail):
            head = stripped[: -len(tail)]
            backslashes = len(head) - len(head.rstrip("\\"))
            if backslashes % 2 == 0 and not head.endswith(("*", "+", "?", "}")):
                stripped = head
            break
    try:
        re.compile(stripped)
    except re.error:
        return pattern
    return stripped


def _isIgnoreCase(flags):
    return bool(flags & _sre_constants.SRE_FLAG_IGNORECASE)


def _sequenceFactor(items):
    """
    The best "one of these literals must appear" set for a parsed sequence
    (the one whose shortest literal is longest), or C{None}.
    """
    LITERAL = _sre_constants.LITERAL
    best = None

    def consider(factor):
        nonlocal best
        if factor and (best is None or min(map(len, factor)) > min(map(len, best))):
            best = factor

    run = []
    for op, av in items:
        if op is LITERAL:
            run.append(chr(av))
            continue
        if run:
            consider(frozenset(("".join(run),)))
            run = []
        if op is _sre_constants.SUBPATTERN:
            group, addFlags, delFlags, sub = av
            if not _isIgnoreCase(addFlags):
                consider(_sequenceFactor(sub))
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT,
                    getattr(_sre_constants, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            if low >= 1:
                sub = list(sub)
                if len(sub) == 1 and sub[0][0] is LITERAL:
                    # x{20}: the literal repeated as often as it must be.
                    consider(frozenset((chr(sub[0][1]) * min(low, 64),)))
                else:
                    consider(_sequenceFactor(sub))
        elif op is getattr(_sre_constants, "ATOMIC_GROUP", None):
            consider(_sequenceFactor(av))
        elif op is _sre_constants.BRANCH:
            union = set()
            for branch in av[1]:
                factor = _sequenceFactor(branch)
                if factor is None:
                    union = None
                    break
                union |= factor
            if union:
                consider(frozenset(union))
    if run:
        consider(frozenset(("".join(run),)))
    return best


def analysePattern(pattern):
    """
    What the literal prefilter needs to know of a pattern.

    @return: C{(literals, pure)}: a frozenset of strings one of which every
        match contains (C{None}: none is known, the pattern is tried on
        every line), and whether the pattern I{is} its single literal (then
        finding the literal is the match, and no regex runs).
    """
    try:
        parsed = _parsed(pattern)
    except Exception:
        return None, False
    if _isIgnoreCase(parsed.state.flags):
        return None, False
    items = list(parsed)
    factor = _sequenceFactor(items)
    if factor is None or "" in factor:
        return None, False
    # A literal with a newline is found across two lines of a batch, never
    # in one line: it is no match by itself.
    pure = (len(factor) == 1 and bool(items)
            and all(op is _sre_constants.LITERAL for op, _ in items)
            and "\n" not in next(iter(factor)))
    return factor, pure


#: Characters from the most to the least common in logs (syslog, audit,
#: netfilter, web servers; the rest are rarer still).  The scan costs little
#: at a character no literal starts with, so literals start at rare ones.
_COMMON = ' 0123456789:=.esoitanrdl/hcumpf-[]_gybwkvTSPNDEOARCILF"(),x;'
_RANK = {ch: rank for rank, ch in enumerate(_COMMON)}


def anchorOf(literal, least=4):
    """
    The tail of C{literal} the scan looks for: from its rarest character
    among those leaving at least C{least} characters.  Any part of a
    required literal is required too, and C{re} only starts a match
    attempt at a character some literal begins with; starting at a space
    or an C{e} would mean an attempt at nearly every position.
    """
    if len(literal) <= least:
        return literal
    last = len(literal) - least
    rare = len(_COMMON)
    best = min(range(last + 1), key=lambda i: (-_RANK.get(literal[i], rare), i))
    return literal[best:]


def literalTrie(literals):
    """
    One regular expression matching any of C{literals}, written as a trie
    (C{Fail(?:ed (?:password|rsa))}): C{re} tries alternatives one by one,
    so sharing prefixes makes the scan cost per position grow with the
    number of distinct next characters, not with the number of literals.
    At one position it finds the longest literal.
    """
    trie = {}
    for literal in literals:
        node = trie
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node):
        ends = "" in node
        branches = [re.escape(ch) + emit(child)
                    for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if ends else body

    return emit(trie)


# ---------------------------------------------------------------------------
# The matcher

class _Pattern:
    """
    One pattern of a rule key, stripped (L{stripDotStar}) and analysed.
    """

    __slots__ = ("rule", "regex", "literals", "pure", "whole", "text", "where")

    def __init__(self, rule, pattern, where=None):
        self.rule = rule
        self.text = pattern
        self.where = where
        self.regex = re.compile(stripDotStar(pattern))
        literals, pure = analysePattern(self.regex.pattern)
        self.whole = None
        if literals is not None:
            anchors = frozenset(anchorOf(literal) for literal in literals)
            if pure and anchors != literals:
                # Found, a shortened literal is a hint; "in" confirms it,
                # cheaper than a search.
                self.whole = next(iter(literals))
                pure = False
            literals = anchors
        self.literals, self.pure = literals, pure


class _Rule:
    __slots__ = ("index", "match", "patterns", "idKind", "idRegexes")

    def __init__(self, index, match, patterns, where=None):
        self.index = index
        self.match = match
        self.idKind = _ID_RULES.get(match.key)
        if self.idKind:
            self.patterns = ()
            self.idRegexes = tuple(re.compile(p) for p in patterns)
        else:
            where = where or (None,) * len(patterns)
            self.patterns = tuple(_Pattern(index, p, w) for p, w in zip(patterns, where))
            self.idRegexes = ()

    def search(self, line):
        for pattern in self.patterns:
            if pattern.regex.search(line) is not None:
                return True
        return False

    def matchIds(self, ids):
        values = ids[0] if self.idKind == "uid" else ids[1]
        for regex in self.idRegexes:
            for value in values:
                if regex.fullmatch(value) is not None:
                    return True
        return False


class _EveryLine:
    """A gate that lets every line through (L{AaRegexMatcher}'s C{alternation})."""

    @staticmethod
    def search(line):
        return True


_EVERY_LINE = _EveryLine()


#: The strategies L{AaRegexMatcher} can use (all give the same results).
STRATEGIES = ("literal", "alternation", "contains", "hyperscan")


def defaultStrategy():
    """
    The M-ICE rules' scan strategy, of the agents and of C{mice analyze}:
    Hyperscan when it is installed, else the pure-Python literal scan (the
    same results).  On the default content's 67 patterns Hyperscan reads
    batches of 500 lines seven to nine times as fast, on the seed's 14
    twice (docs/analysis.rst).
    """
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return "literal"
    return "hyperscan"


class AaRegexMatcher:
    """
    An L{mice.config.AaRegexSettings} compiled once, for many lines.

    Every pattern is reduced to the literals one of which any match must
    contain (L{analysePattern}); the line is scanned once for all literals
    of all rules with one trie-shaped regex (L{literalTrie}), and only the
    patterns whose literals were found are tried -- or taken as matched
    outright when the pattern is nothing but a literal (most M-ICE rules:
    C{.*Failed password.*}).  A line that holds no literal costs that one
    scan.  L{matchLines} goes further: it scans a whole batch joined by
    newlines at once, so a line with no literal costs no Python at all.
    Patterns without a usable literal (case-insensitive ones, C{\\d+}) are
    tried on every line.  The work for a given set of found literals is
    planned once and cached.

    The results are exact, per rule: the literals are only a prefilter.
    The scan restarts one character after each literal it finds (not after
    its end), so literals inside or across others are found too, and the
    shorter literals starting where a longer one was found are its
    prefixes, known in advance.

    The other L{STRATEGIES} are there to be measured against
    (C{bench/bench_analyze.py}): C{alternation} gates each line with one
    search of all (stripped) patterns as one alternation and then tries
    every pattern; C{contains} tests each literal with C{in}; C{hyperscan}
    finds the literals of a batch with Hyperscan instead of C{re}, when it
    is installed (C{pip install mice-ids[hyperscan]}).
    """

    def __init__(self, settings, strategy="literal"):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self._path = settings.path
        self.defaultSendTo = settings.defaultSendTo or "N"
        self.defaultMatch = Match(DEFAULT_KEY, None, "DEFAULT", self.defaultSendTo)
        self._nothing = (self.defaultMatch,) if self.defaultSendTo != "N" else ()
        rules = []
        for section in settings.sections:
            if section.name in ("SOCKET", "DEFAULT"):
                continue
            for rule in section.rules:
                if rule.enabled and rule.alertId is not None:
                    match = Match(rule.key, rule.alertId, section.name, section.sendTo or "N")
                    lines = getattr(rule, "lines", ())
                    where = tuple(f"{settings.path}:{line}" if line else settings.path
                                  for line in lines) if len(lines) == len(rule.patterns) \
                        else (settings.path,) * len(rule.patterns)
                    rules.append(_Rule(len(rules), match, rule.patterns, where))
        self.rules = tuple(rules)
        self.enabledMatches = tuple(rule.match for rule in rules)
        patterns = [p for rule in rules for p in rule.patterns]
        self._idRules = tuple(r for r in rules if r.idKind)
        self._always = tuple(p for p in patterns if p.literals is None)
        # Whether a line without literals can match at all.
        self._simple = not self._idRules and not self._always
        byLiteral = {}
        for pattern in patterns:
            for literal in pattern.literals or ():
                byLiteral.setdefault(literal, []).append(pattern)
        self._byLiteral = {lit: tuple(ps) for lit, ps in byLiteral.items()}
        literals = sorted(byLiteral, key=lambda s: (-len(s), s))
        self._literals = tuple(literals)
        # The scan reports the longest literal at each position; the
        # shorter ones starting there too are its prefixes.
        self._prefixes = {a: tuple(b for b in literals if b != a and a.startswith(b))
                          for a in literals}
        self._trie = re.compile(literalTrie(literals)) if literals else None
        # The batch scan (L{matchIndexed}): the same trie with the newline as
        # one more literal, so that one C{findall} gives the literals of
        # every line, line by line, without a Python step per hit.  It does
        # not restart after each hit: a literal that starts inside a hit is
        # either inside it too (C{_within}, known in advance), or runs past
        # its end, and then it is one of the few C{_extending} that literal,
        # which the line is asked for with C{in}.  Literals with a newline
        # or a NUL (the separators) keep the scan of L{matchLines}.
        self._lineScan = None
        if literals and strategy == "literal" and not any(
                "\n" in lit or "\x00" in lit for lit in literals):
            # In the trie, not before it: "\n|trie" would cost re its
            # first-character prefilter, and three times the time.
            self._lineScan = re.compile(literalTrie(literals + ["\n"]))
            self._within = {a: frozenset(b for b in literals if b != a and b in a)
                            for a in literals}
            starts = {}
            for b in literals:
                for j in range(1, len(b)):
                    starts.setdefault(b[:j], set()).add(b)
            self._extending = {}
            for a in literals:
                after = set()
                for k in range(1, len(a)):
                    after |= starts.get(a[k:], set())
                if after:
                    self._extending[a] = tuple(sorted(after))
        self._segmentPlans = {}
        self._hsPlans = {}
        self._hsRefused = ()
        #: C{(pattern, reason)} for each pattern the C{hyperscan} strategy
        #: does not scan for (L{hyperscanNotes}).
        self.hyperscanRefused = ()
        self._plans = {}
        self._plansBySet = {}
        self._orders = {}
        if strategy == "alternation":
            alternatives = [p.regex.pattern for p in patterns]
            self._gate = None
            if alternatives:
                try:
                    self._gate = re.compile("|".join(f"(?:{p})" for p in alternatives))
                except re.error:
                    # A pattern with global flags ((?i)...) cannot be an
                    # alternative: every line tries every rule.
                    self._gate = _EVERY_LINE
        elif strategy == "hyperscan":
            self._hyperscan = _HyperscanLiterals(literals) if literals else None
            # The rules themselves in one Hyperscan database: a batch is one
            # scan, and only the lines it names run a Python regex.
            self._hsRules = None
            if patterns and not self._idRules:
                # Exactly where Hyperscan can: a report of such a pattern in
                # a line is a match, not a line to search again with re.
                hsRules = HyperscanPatterns(patterns, exact=range(len(patterns)))
                if hsRules.patterns:
                    self._hsRules = hsRules
                    # Those it refuses are searched by re in every line.
                    self._hsRefused = tuple(patterns[i] for i, _ in hsRules.refused)
                self.hyperscanRefused = tuple((patterns[i], reason)
                                              for i, reason in hsRules.refused)

    # -- per line ----------------------------------------------------------

    def matchLine(self, line):
        """
        The L{Match}es of one line, in config order; C{()} if none, or
        C{(self.defaultMatch,)} when no rule matched and DEFAULT routes
        unclassified lines somewhere.
        """
        if self.strategy == "alternation":
            return self._finish(line, self._alternationRules(line))
        if self.strategy == "contains":
            found = [lit for lit in self._literals if lit in line]
        elif self._trie is None:
            found = ()
        else:
            found = []
            search = self._trie.search
            hit = search(line)
            while hit is not None:
                found.append(hit.group())
                # From the next character, not the match's end: a literal
                # may start inside another one (C{hd} in C{sshd}).
                hit = search(line, hit.start() + 1)
        return self._fromFound(line, found)

    def matchLines(self, lines):
        """
        C{[self.matchLine(line) for line in lines]}, faster: the batch is
        searched for the literals in one pass.
        """
        if self._lineScan is not None and lines:
            results = [()] * len(lines)
            for index, matches in self.matchIndexed(lines):
                results[index] = matches
            return results
        return self._matchLinesByHits(lines)

    def matchIndexed(self, lines, text=None):
        """
        C{[(i, m) for i, m in enumerate(self.matchLines(lines)) if m]}: the
        lines that raise a match, by index, without a step per line that
        raises none.  The fastest way through a big batch (tens of thousands
        of lines at once cost less per line than a few thousand).

        @param text: C{"\\n".join(lines)} if the caller has it already (read
            from a file, say); it spares the join.
        """
        scan = self._lineScan
        if self.strategy == "hyperscan" and self._hsRules is not None and lines:
            return self._hyperscanIndexed(lines, text)
        if scan is None or not lines:
            return [(i, m) for i, m in enumerate(self._matchLinesByHits(lines)) if m]
        if text is None:
            text = "\n".join(lines)
        # The scan gives literals (none has a NUL) and newlines: joined with
        # NULs and split at the newlines, they fall into one string per line.
        segments = ("\x00" + "\x00".join(scan.findall(text)) + "\x00").split("\n")
        if len(segments) != len(lines):
            # A line with a newline in it would shift every later line.
            return [(i, m) for i, m in enumerate(map(self.matchLine, lines)) if m]
        # Line i's literals are segments[i] between NULs: "\0lit\0lit\0";
        # a line without any is "\0" (or "\0\0" alone).
        plans = self._segmentPlans
        out = []
        append = out.append
        if self._simple and not self._nothing:
            for index, segment in enumerate(segments):
                if segment > "\x00\x00":
                    plan = plans.get(segment)
                    if plan is None:
                        plan = self._segmentPlan(segment)
                    if plan[0] is not None:
                        append((index, plan[0]))
                        continue
                    sure = self._confirmed(lines[index], plan)
                    if sure:
                        append((index, self._ordered(sure)))
            return out
        finish = self._finish
        for index, segment in enumerate(segments):
            line = lines[index]
            if segment > "\x00\x00":
                plan = plans.get(segment)
                if plan is None:
                    plan = self._segmentPlan(segment)
                matches = finish(line, self._confirmed(line, plan))
            else:
                matches = finish(line, frozenset())
            if matches:
                append((index, matches))
        return out

    def _segmentPlan(self, segment):
        """
        The plan of a line whose scan gave C{segment}: C{(ordered, (sure,
        maybe), present, checks)}.  C{ordered} is the line's matches when
        no pattern needs trying (else C{None}); C{(sure, maybe)} is what
        L{_plan} gives for the literals in the line, or C{None} when the line
        must first be asked whether it holds the C{checks} (literals that may
        start inside one found and run past it) besides the C{present} ones.
        """
        found = [literal for literal in segment.split("\x00") if literal]
        present = set(found)
        checks = set()
        for literal in found:
            present |= self._within[literal]
            checks.update(self._extending.get(literal, ()))
        checks -= present
        if checks:
            plan = (None, None, frozenset(present), tuple(sorted(checks)))
        else:
            sure, maybe = self._plan(tuple(sorted(present)))
            ordered = None
            if not maybe and self._simple:
                ordered = self._ordered(sure) if sure else self._nothing
            plan = (ordered, (sure, maybe), None, ())
        if len(self._segmentPlans) > 65536:
            self._segmentPlans.clear()
        self._segmentPlans[segment] = plan
        return plan

    def _checkedPlan(self, line, plan):
        present = plan[2]
        extra = [literal for literal in plan[3] if literal in line]
        if extra:
            present = set(present)
            for literal in extra:
                present.add(literal)
                present |= self._within[literal]
        key = tuple(sorted(present))
        return self._plans.get(key) or self._plan(key)

    def _hyperscanIndexed(self, lines, text):
        """
        L{matchIndexed} with Hyperscan: one scan of the batch for every
        pattern (L{HyperscanPatterns}), then, on the lines it names, the
        patterns it named confirmed by C{re}.  Lines where Hyperscan's
        reading of a pattern could differ from C{re}'s (not ASCII, or with
        a character C{re} takes for a space and Hyperscan does not) take
        L{matchLine}.
        """
        if text is None:
            text = "\n".join(lines)
        if not joinsLines(text, lines):
            return [(i, m) for i, m in enumerate(map(self.matchLine, lines)) if m]
        found, unsure = self._hsRules.linesOf(lines, text)
        plans = self._hsPlans
        patterns = self._hsRules.patterns
        refused = self._refusedIn(lines, unsure) if self._hsRefused else None
        out = []
        append = out.append
        for index in sorted(found):
            key = frozenset(found[index])
            plan = plans.get(key)
            if plan is None:
                plan = self._hsPlan(key, patterns)
            sure, maybe = plan
            if maybe:
                line = lines[index]
                extra = [p.rule for p in maybe if p.rule not in sure
                         and p.regex.search(line) is not None]
                if extra:
                    sure = sure.union(extra)
            if refused:
                more = refused.pop(index, None)
                if more:
                    sure = sure.union(more)
            if sure:
                append((index, self._ordered(sure)))
        if refused:
            # The lines where only the patterns Hyperscan refused match.
            for index, more in refused.items():
                append((index, self._ordered(frozenset(more))))
            out.sort(key=_firstItem)
        for index in unsure:
            matches = self.matchLine(lines[index])
            if matches:
                append((index, matches))
        if unsure:
            out.sort(key=_firstItem)
        if self._nothing:
            # DEFAULT sends the lines no rule matched somewhere: every line.
            matched = dict(out)
            nothing = self._nothing
            return [(i, matched.get(i, nothing)) for i in range(len(lines))]
        return out

    def _refusedIn(self, lines, unsure):
        """
        C{{index: rules}} of the lines of a batch that the patterns
        Hyperscan refused match (C{re}, line by line), except C{unsure}.
        """
        out = {}
        for pattern in self._hsRefused:
            search, rule = pattern.regex.search, pattern.rule
            for index, line in enumerate(lines):
                if search(line) is not None and index not in unsure:
                    out.setdefault(index, []).append(rule)
        return out

    def hyperscanNotes(self):
        """
        One line for each pattern the C{hyperscan} strategy cannot scan
        for (C{file:line: KEY pattern: why}): they are searched with C{re} in
        every line, the others stay on Hyperscan.  Empty otherwise.
        """
        return [f"{where}: {message}" for where, message in self.hyperscanWarnings()]

    def hyperscanWarnings(self):
        """L{hyperscanNotes} as C{(file:line, message)}."""
        keys = {rule.index: rule.match.key for rule in self.rules}
        off = []
        if self.strategy == "hyperscan" and self._idRules and any(r.patterns for r in self.rules):
            off = [(self._path, f"{', '.join(r.match.key for r in self._idRules)} (user and group"
                                f" id rules) keep every M-ICE rule off Hyperscan (slower): the"
                                f" literal scan runs instead")]
        return off + [(pattern.where or "?",
                 f"{keys[pattern.rule]} {pattern.text!r} is not on Hyperscan: {reason}; it is"
                 f" searched with re in every line (slower), the other patterns stay on"
                 f" Hyperscan")
                for pattern, reason in self.hyperscanRefused]

    def _hsPlan(self, idents, patterns):
        """
        For the patterns Hyperscan found in a line: the rules sure to match
        (a literal pattern, which a line holds or not) and those to confirm.
        """
        sure = set()
        maybe = []
        exact = self._hsRules.exact
        for ident in sorted(idents):
            pattern = patterns[ident]
            if ident in exact or (pattern.pure and "\n" not in pattern.regex.pattern):
                sure.add(pattern.rule)
            else:
                maybe.append(pattern)
        plan = (frozenset(sure), tuple(maybe))
        if len(self._hsPlans) > 65536:
            self._hsPlans.clear()
        self._hsPlans[idents] = plan
        return plan

    def _matchLinesByHits(self, lines):
        if self.strategy in ("alternation", "contains") or not self._literals or not lines:
            return [self.matchLine(line) for line in lines]
        text = "\n".join(lines)
        if text.count("\n") != len(lines) - 1:
            # A line with a newline in it would shift every later line.
            return [self.matchLine(line) for line in lines]
        if self.strategy == "hyperscan":
            hits = self._hyperscan.scan(text)
        else:
            hits = []
            append = hits.append
            search = self._trie.search
            hit = search(text)
            while hit is not None:
                start = hit.start()
                append((start, hit.group()))
                hit = search(text, start + 1)
        foundPerLine = {}
        if hits:
            ends = list(accumulate(len(line) + 1 for line in lines))
            locate = bisect.bisect_right
            # Hits come in order: most fall in the line of the one before.
            index, end = -1, -1
            for start, literal in hits:
                if start >= end:
                    index = locate(ends, start)
                    end = ends[index]
                    foundPerLine[index] = [literal]
                else:
                    foundPerLine[index].append(literal)
        fromFound = self._fromFound
        if not self._simple or self._nothing:
            return [fromFound(line, foundPerLine.get(i, ())) for i, line in enumerate(lines)]
        results = [()] * len(lines)
        for index, found in foundPerLine.items():
            results[index] = fromFound(lines[index], found)
        return results

    def _confirmed(self, line, plan):
        """
        The rules a line matches, given its segment's plan: those the
        literals found make sure of, and those of the patterns still to try
        that match.
        """
        sure, maybe = plan[1] or self._checkedPlan(line, plan)
        if maybe:
            extra = [p.rule for p in maybe if p.rule not in sure
                     and (p.regex.search(line) if p.whole is None else p.whole in line)]
            if extra:
                sure = sure.union(extra)
        return sure

    def _fromFound(self, line, found):
        if found:
            key = tuple(found)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plan(key)
            sure, maybe = plan
            if maybe:
                extra = [p.rule for p in maybe if p.rule not in sure
                         and (p.regex.search(line) if p.whole is None else p.whole in line)]
                if extra:
                    sure = sure.union(extra)
            if self._simple:
                return self._ordered(sure) if sure else self._nothing
            return self._finish(line, sure)
        if self._simple:
            return self._nothing
        return self._finish(line, frozenset())

    def _plan(self, found):
        """
        For the literals found by a scan: the rules that surely match (a
        pure literal pattern was found), and the patterns to try (a literal
        of theirs was found).
        """
        # The same literals in another order or number have the same plan.
        plan = self._plansBySet.get(frozenset(found))
        if plan is not None:
            self._remember(found, plan)
            return plan
        present = set(found)
        for literal in found:
            present.update(self._prefixes[literal])
        sure = set()
        maybe = {}
        for literal in present:
            for pattern in self._byLiteral[literal]:
                if pattern.pure:
                    sure.add(pattern.rule)
                else:
                    maybe[id(pattern)] = pattern
        tries = sorted((p for p in maybe.values() if p.rule not in sure),
                       key=lambda p: p.rule)
        plan = (frozenset(sure), tuple(tries))
        if len(self._plansBySet) > 65536:
            self._plansBySet.clear()
        self._plansBySet[frozenset(found)] = plan
        self._remember(found, plan)
        return plan

    def _remember(self, found, plan):
        # Bounded: a hostile stream of distinct lines must not grow it forever.
        if len(self._plans) > 65536:
            self._plans.clear()
        self._plans[found] = plan

    def _alternationRules(self, line):
        if self._gate is None or self._gate.search(line) is None:
            return frozenset()
        return frozenset(r.index for r in self.rules if not r.idKind and r.search(line))

    def _finish(self, line, matched):
        matched = set(matched)
        for pattern in self._always:
            if pattern.rule not in matched and pattern.regex.search(line):
                matched.add(pattern.rule)
        if self._idRules:
            ids = idValues(line)
            if ids[0] or ids[1]:
                for rule in self._idRules:
                    if rule.matchIds(ids):
                        matched.add(rule.index)
        if matched:
            return self._ordered(frozenset(matched))
        return self._nothing

    def _ordered(self, indexes):
        cached = self._orders.get(indexes)
        if cached is None:
            cached = self._orders[indexes] = tuple(self.rules[i].match for i in sorted(indexes))
        return cached


class _HyperscanLiterals:
    """
    The literal scan done by Hyperscan (optional, C{pip install hyperscan}):
    every occurrence of every literal, as C{(start, literal)}.
    """

    def __init__(self, literals):
        import hyperscan

        self._literals = literals
        self._lengths = [len(lit.encode("utf-8")) for lit in literals]
        self._db = compileDatabase(
            [re.escape(lit).encode("utf-8") for lit in literals], range(len(literals)),
            [hyperscan.HS_FLAG_SOM_LEFTMOST] * len(literals))

    def scan(self, text):
        data = text.encode("utf-8", "surrogatepass")
        hits = []
        append = hits.append
        literals = self._literals

        def onMatch(ident, start, end, flags, context):
            append((start, literals[ident]))

        self._db.scan(data, match_event_handler=onMatch)
        if not data.isascii():
            # Hyperscan counts bytes, the caller characters.
            hits = [(len(data[:start].decode("utf-8", "surrogatepass")), literal)
                    for start, literal in hits]
        hits.sort()
        return hits


#: What makes Hyperscan's reading of a pattern differ from C{re}'s on a
#: line: a character beyond ASCII (C{re}'s Unicode classes and case
#: folding), or one C{re} counts as whitespace and Hyperscan does not.
_HS_UNSURE = re.compile(rb"[^\x00-\x1b\x20-\x7f]+")
#: Python spellings Hyperscan (PCRE) reads otherwise or not at all: C{\A}
#: and C{\Z} (the buffer's ends, not the line's), C{{,n}} (a literal in
#: PCRE), the C{a}, C{L} and C{u} flags, C{\v} (PCRE's vertical spaces, the
#: newline and C{\r} among them; Python's vertical tab) and a C{[} in a
#: class before C{:}, C{.} or C{=} (PCRE's C{[:alpha:]}, Python's characters).
_HS_PYTHON_ONLY = re.compile(r"\\[AZv]|\{,|\(\?[imsx]*[aLu]|\[[^\]]*\[[:.=]")


#: What Hyperscan has no exact form of (it widens them in prefilter mode):
#: back references, look-arounds, atomic groups, possessive repeats,
#: conditionals; and C{\B} (L{_itemsExact}), which Hyperscan finds in an
#: empty line and C{re} does not.
_NOT_EXACT = frozenset(op for op in (
    _sre_constants.GROUPREF, _sre_constants.GROUPREF_EXISTS, _sre_constants.GROUPREF_IGNORE,
    _sre_constants.ASSERT, _sre_constants.ASSERT_NOT,
    getattr(_sre_constants, "ATOMIC_GROUP", None),
    getattr(_sre_constants, "POSSESSIVE_REPEAT", None)) if op is not None)


def _exactInHyperscan(pattern, flags=0):
    """
    Whether Hyperscan can compile C{pattern} as it is, not in prefilter
    mode: it holds nothing of L{_NOT_EXACT}.  C{False} when in doubt.  (A
    pattern Hyperscan refuses anyway is found when the database is
    compiled; this spares that compile the patterns sure to fail.)
    """
    try:
        parsed = _parsed(pattern, flags)
    except Exception:
        return False
    return _itemsExact(parsed.data)


def _itemsExact(items):
    for op, av in items:
        if op in _NOT_EXACT or (op is _sre_constants.AT
                                and av is _sre_constants.AT_NON_BOUNDARY):
            return False
        if op is _sre_constants.SUBPATTERN:
            if not _itemsExact(av[3].data):
                return False
        elif op is _sre_constants.BRANCH:
            if not all(_itemsExact(branch.data) for branch in av[1]):
                return False
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT):
            if not _itemsExact(av[2].data):
                return False
    return True


def _unusualLines(lines, data):
    """
    The indexes of those of a batch's C{lines} (C{data}: their UTF-8 bytes
    joined by newlines) that hold a byte L{_HS_UNSURE} matches: a line's
    C{str.isascii}, not C{_HS_UNSURE.finditer} through the batch's bytes
    (which steps through every byte in C{re}: 0.15 s for 120,000 lines of
    which one in twenty held a character beyond ASCII).
    """
    if _unusual is not None:
        return set(_unusual(data))
    if _hasSeparator(data):
        search = _SEPARATOR.search
        return {i for i, line in enumerate(lines)
                if not line.isascii() or search(line) is not None}
    return {i for i, line in enumerate(lines) if not line.isascii()}


#: The separators C{re} counts as whitespace and Hyperscan does not.
_SEPARATOR = re.compile("[\x1c-\x1f]")


def _hasSeparator(data):
    """
    Whether C{data} holds one of the separators C{\x1c}-C{\x1f} (C{re}'s
    spaces, not Hyperscan's): four C{memchr}s, where C{_HS_UNSURE.search}
    steps through a megabyte in C{re}.
    """
    return b"\x1c" in data or b"\x1d" in data or b"\x1e" in data or b"\x1f" in data


#: The batch L{_encoded}, L{joinsLines} and L{HyperscanPatterns.linesOf}
#: last did: C{[text, data, newlines, unusual]} (the M-ICE rules and the
#: LogIDS blocks scan the same batch one after the other; C{newlines} and
#: C{unusual}, the lines L{_unusualLines} gives, C{None} until asked for).
_lastBatch = [None, b"", None, None]


def batchBytes(text, data):
    """
    Tell the scans that C{data} is C{text}'s UTF-8 bytes (a batch as it was
    read and decoded), so that they do not encode it again.
    """
    _lastBatch[:] = [text, data, None, None]


def _encoded(text):
    """A batch's UTF-8 bytes."""
    last = _lastBatch
    if last[0] is not text:
        last[:] = [text, text.encode("utf-8", "surrogatepass"), None, None]
    return last[1]


def joinsLines(text, lines):
    """
    Whether C{text} can be C{"\\n".join(lines)}: it has one newline fewer
    than C{lines} has lines (a line holding a newline would shift every
    later line of a scan).  Counted once for the batch the M-ICE rules and
    the LogIDS blocks both scan.
    """
    last = _lastBatch
    if last[0] is not text:
        _encoded(text)
    if last[2] is None:
        # Those of its UTF-8 bytes, the same: no other character's
        # encoding holds the byte 0x0a.
        last[2] = _newlines(last[1]) if _newlines is not None else text.count("\n")
    return last[2] == len(lines) - 1


def _hsscanFunction(name):
    """C{mice.analysis._hsscan}'s function C{name}, or C{None} (not built, or built before it was)."""
    try:
        from mice.analysis import _hsscan
    except ImportError:
        return None
    return getattr(_hsscan, name, None)


_newlines = _hsscanFunction("newlines")
#: The lines of a batch's bytes holding a byte L{_HS_UNSURE} matches, in C.
_unusual = _hsscanFunction("unusual")


def _reported(ident, start, end, flags, known):
    """python-hyperscan's callback for L{HyperscanPatterns.linesOf}: the line's set."""
    known.add(ident)


def _firstItem(item):
    return item[0]


def _pythonOnly(regex):
    """
    Why Hyperscan cannot read C{regex} as C{re} does (L{HyperscanPatterns}
    leaves it out before compiling), or C{None}.
    """
    text = regex.pattern
    if not isinstance(text, str) or not text.isascii():
        return "it is not ASCII"
    spelling = _HS_PYTHON_ONLY.search(text)
    if spelling is not None:
        return f"Hyperscan reads {spelling.group()} otherwise than Python's re"
    if regex.flags & (re.ASCII | re.LOCALE | re.VERBOSE):
        return "it has the ASCII, LOCALE or VERBOSE flag"
    return None


def _scannerFor(expressions, flags):
    """
    The L{mice.analysis._hsscan.Database} of the expressions a
    L{HyperscanPatterns} compiled (ids: their indexes), kept on disk as
    python-hyperscan's are; C{None} where that module is not built, or
    where the system's libhs refuses what python-hyperscan's copy took:
    L{HyperscanPatterns.linesOf} then scans with python-hyperscan.
    """
    try:
        return compileScanner(expressions, range(len(expressions)), flags)
    except (ImportError, ValueError):
        return None


def _hyperscanReason(error):
    """Hyperscan's compile error, as a reason: C{"it matches the empty string"}..."""
    text = str(error.args[0] if getattr(error, "args", None) else error)
    if "empty buffer" in text:
        return "it matches the empty string"
    return f"Hyperscan refuses it ({text.rstrip('.')})"


class HyperscanPatterns:
    """
    The patterns of a matcher in one Hyperscan database, for a batch of
    lines joined by newlines, each line scanned on its own (a report is a
    match in that line, never one running across two).

    Compiled in prefilter mode (C{HS_FLAG_PREFILTER}: a construct Hyperscan
    lacks, such as a back reference, is widened, so it may report a line
    that does not match but never misses one that does): C{re} confirms
    every line that is not certain.  C{patterns} are those that compiled;
    a pattern Hyperscan cannot read as C{re} does is left out (and the
    matcher keeps its other scan).

    C{exact} (indexes of C{patterns}) asks for those patterns to be
    compiled as they are, not in prefilter mode, where Hyperscan can: a
    report of one of them in a line is then a match of C{re} in the line,
    on the lines L{linesOf} does not call unsure.  C{self.exact} holds the
    indexes in C{self.patterns} of those compiled so.
    """

    def __init__(self, patterns, exact=()):
        import hyperscan

        prefilter = hyperscan.HS_FLAG_PREFILTER
        usable = []
        refused = []
        for index, pattern in enumerate(patterns):
            text = pattern.regex.pattern
            reason = _pythonOnly(pattern.regex)
            if reason is not None:
                refused.append((index, reason))
                continue
            if pattern.regex.flags & re.IGNORECASE:
                text = "(?i)" + text
            if pattern.regex.flags & re.DOTALL:
                text = "(?s)" + text
            flags = prefilter
            if index in exact and _exactInHyperscan(pattern.regex.pattern,
                                                    pattern.regex.flags):
                flags = 0
            usable.append((pattern, text.encode("ascii"), flags, index))

        def compiled(chosen, cached=True):
            # Kept on disk (hyperscancache): compiling is most of the start.
            return compileDatabase([one[1] for one in chosen], range(len(chosen)),
                                   [one[2] for one in chosen],
                                   directory=None if cached else "")

        self._db = None
        if usable:
            try:
                self._db = compiled(usable)
            except hyperscan.error:
                # Leave out those Hyperscan cannot read, one by one; one it
                # cannot read exactly may do in prefilter mode.
                kept = []
                for one in usable:
                    for flags in dict.fromkeys((one[2], prefilter)):
                        try:
                            compiled([(one[0], one[1], flags)], cached=False)
                        except hyperscan.error as e:
                            error = e
                            continue
                        kept.append((one[0], one[1], flags, one[3]))
                        break
                    else:
                        refused.append((one[3], _hyperscanReason(error)))
                usable = kept
                self._db = compiled(usable) if usable else None
        # The same database for linesOf, its reports gathered in C (a
        # Python call for each is a tenth of mice analyze's time); scan
        # and the rest use self._db.
        self._scanner = None
        if self._db is not None:
            self._scanner = _scannerFor([one[1] for one in usable], [one[2] for one in usable])
        self.patterns = tuple(one[0] for one in usable)
        #: For each pattern of C{patterns} compiled, its index in the patterns given.
        self.indexes = tuple(one[3] for one in usable)
        #: C{(index, reason)} for each pattern given that Hyperscan does not
        #: scan for (index in the patterns given, in that order).
        self.refused = tuple(sorted(refused))
        self.exact = frozenset(i for i, one in enumerate(usable)
                               if not one[2] & hyperscan.HS_FLAG_PREFILTER)

    def linesOf(self, lines, text):
        """
        C{(found, unsure)} for a batch (C{text}: C{lines} joined by
        newlines, none holding one): C{found} maps the index of each line
        some pattern may match to the set of those patterns' indexes in
        C{patterns} (a frozenset from C{mice.analysis._hsscan}, a set from
        python-hyperscan's callback where it is not built); C{unsure} holds
        the lines where Hyperscan could read a pattern otherwise than C{re}
        (not ASCII, or with a character C{re} takes for a space and
        Hyperscan does not): they are not in C{found}, and the caller
        tries them another way.
        """
        data = _encoded(text)
        found = {}
        if self._scanner is not None:
            # The same, with frozensets, the reports gathered in C.
            found = self._scanner.lines(data)
        elif self._db is not None:
            scan = self._db.scan
            for index, line in enumerate(data.split(b"\n")):
                known = set()
                scan(line, match_event_handler=_reported, context=known)
                if known:
                    found[index] = known
        unsure = self._unsure(lines, data)
        for i in unsure:
            found.pop(i, None)
        return found, unsure

    def groupsOf(self, lines, text):
        """
        L{linesOf}'s scan, every line of the batch grouped by what it
        found: C{(groups, unsure)}, C{groups} mapping a frozenset of
        pattern indexes (C{frozenset()}: none) to the indexes of the lines
        that found just those, in order, the C{unsure} lines left out.
        The lines that found the same patterns share one frozenset, so a
        caller decides what the set means once, not once a line.
        """
        if self._scanner is not None:
            data = _encoded(text)
            groups = self._scanner.groups(data)
            unsure = self._unsure(lines, data)
        else:
            found, unsure = self.linesOf(lines, text)
            groups = {}
            for index in range(len(lines)):
                groups.setdefault(frozenset(found.get(index, ())), []).append(index)
        if unsure:
            left = set(unsure)
            groups = {named: kept for named, indexes in groups.items()
                      if (kept := [i for i in indexes if i not in left])}
        return groups, unsure

    def _unsure(self, lines, data):
        """
        The lines of a batch (C{data}: its bytes) where Hyperscan could read
        a pattern otherwise than C{re}: see L{linesOf}.
        """
        unsure = ()
        if not data.isascii() or _hasSeparator(data):
            # Found once for the batch both rule sets scan.
            last = _lastBatch
            if last[1] is data:
                if last[3] is None:
                    last[3] = frozenset(_unusualLines(lines, data))
                unsure = set(last[3])
            else:
                unsure = _unusualLines(lines, data)
        return unsure


def naiveMatches(settings, line):
    """
    The reference semantics, slowly: every enabled pattern searched on its
    own, in config order.  The tests hold L{AaRegexMatcher} to it.
    """
    out = []
    ids = None
    for section in settings.sections:
        if section.name in ("SOCKET", "DEFAULT"):
            continue
        for rule in section.rules:
            if not rule.enabled or rule.alertId is None:
                continue
            if rule.key in _ID_RULES:
                if ids is None:
                    ids = idValues(line)
                values = ids[0] if _ID_RULES[rule.key] == "uid" else ids[1]
                hit = any(re.fullmatch(p, v) for p in rule.patterns for v in values)
            else:
                hit = any(re.search(p, line) for p in rule.patterns)
            if hit:
                out.append(Match(rule.key, rule.alertId, section.name, section.sendTo or "N"))
    if not out and (settings.defaultSendTo or "N") != "N":
        out.append(Match(DEFAULT_KEY, None, "DEFAULT", settings.defaultSendTo))
    return tuple(out)


# ---------------------------------------------------------------------------
# Alerts

def descriptionsFrom(matchFile):
    """
    C{{alertId: description}} of a loaded match file (L{mice.config.loadMatchFile}).
    """
    return {aid: description for aid, description in matchFile.alerts if description}


class _Times:
    """
    The ISO 8601 time of a record's date and time, converted once per
    distinct second.
    """

    def __init__(self):
        self._cache = {}

    def __call__(self, date, time, tz):
        key = (date, time, tz)
        stamp = self._cache.get(key)
        if stamp is None:
            aware = recordInstant(date, time, tz)
            if aware is None:
                return None
            if len(self._cache) > 4096:
                self._cache.clear()
            stamp = self._cache[key] = aware.isoformat()
        return stamp


def recordInstant(date, time, tz):
    """
    The aware L{datetime} of a record's date and time in C{tz} (C{None}: the
    analysing host's zone), or C{None} when they are not a valid time there.
    """
    try:
        naive = datetime.fromisoformat(f"{date}T{time}")
        # A naive datetime's astimezone() takes the analysing host's zone and
        # its DST rule for that date (and refuses a date too near year 1 or
        # 9999 to be moved into it).
        return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


_times = _Times()
#: C{recordTime(date, time, tz)}: a record's ISO 8601 time, or C{None} when
#: its date and time are not valid (shared by the analysis modules).
recordTime = _times
_lastNodes = [None, None]
_FAST_ALERTS = not hasattr(Alert, "__post_init__") and not hasattr(Alert, "__slots__")


def isoTime(now):
    """
    C{now} (a L{datetime}, naive means local) as an ISO 8601 string with a zone.
    """
    if now.tzinfo is None:
        now = now.astimezone()
    return now.isoformat(timespec="seconds")


def makeAlert(record, match, messageId, analyzerId, descriptions, now, tz=None, repeated=1):
    """
    The L{Alert} one match of a record raises.

    @param record: a L{mice.record.LogRecord}.
    @param match: a L{Match} of its line.
    @param messageId: the IDMEF messageid (from L{AlertCounter}).
    @param descriptions: C{{alertId: description}} (L{descriptionsFrom});
        an ID it lacks is named by its rule key.
    @param now: a L{datetime}: the alert's times when the record has no
        valid date and time.
    @param tz: the zone of the record's date and time (a C{tzinfo}).  The
        record's time is the client's local time, and the simple log format
        does not say which zone that is; C{None} (the default) takes the
        analysing host's own zone, right when clients and servers share
        one, as the seed's setups do.  C{mice analyze --tz} sets it.
    @param repeated: how many times the line's message came
        (L{mice.analysis.framing.repeatCount}): above 1, the alert's
        additional data C{repeated}, which the correlation stage counts.
    """
    if match.alertId is None:
        classification = UNCLASSIFIED
        severity = "info"
    else:
        classification = descriptions.get(match.alertId) or match.key
        severity = SEVERITY.get(match.alertId, "medium")
    stamp = _times(record.date, record.time, tz) or isoTime(now)
    line = record.logline
    # A line that matched several rules raises several alerts about the
    # same nodes: read them once.
    key = (line, record.hostname, record.ip)
    if _lastNodes[0] == key:
        sources, targets = _lastNodes[1]
    else:
        sources, targets = nodesFor(line, record.hostname or None, record.ip or None)
        _lastNodes[:] = [key, (sources, targets)]
    fields = dict(
        messageId=str(messageId), analyzerId=analyzerId, createTime=stamp,
        classification=classification, alertId=match.alertId, detectTime=stamp,
        severity=severity, sources=sources, targets=targets,
        analyzerHost=None,
        additionalData=(("log line", line),
                        ("origin", f"{record.source} {record.stream} {record.seq}"),
                        ("rule", match.key)))
    if repeated > 1:
        fields["additionalData"] += (("repeated", str(repeated)),)
    if not _FAST_ALERTS:
        return Alert(**fields)
    # The frozen dataclass's __init__ sets each field with object.__setattr__,
    # a third of the cost of an alert; filling __dict__ at once makes the
    # same object (equal, same repr and hash).
    alert = object.__new__(Alert)
    alert.__dict__.update(fields)
    return alert
