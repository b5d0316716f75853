# -*- test-case-name: tests.test_logids -*-
"""
The LogIDS 2.0 rule language (seed C{004_...}, the C{rules.txt} chapter),
with the C{filter.txt} and C{netdef.txt} formats M-ICE defines for it (the
chapters that defined them are missing): see C{docs/logids.rst}.

  - L{parseRules}, L{parseFilters}, L{parseNetDef} read the three files.
    None of them raises on bad content: each returns what loaded and a list
    of L{Problem}s (C{file:line: reason}); a bad line is skipped, the rest
    load.
  - L{LogIdsEngine} turns a log line into a L{LogIdsRecord} (which filter
    block selects it, its fields, the built-in fields) and evaluates the
    rules on it: the L{Taken} actions, in rules file order.

Conditions are compiled once, into closures over the record's field dict.
Pure: no reactor, no I/O except the C{load*} helpers that read a path.
"""

import ipaddress
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import NamedTuple

try:  # The regex parser of the re module, to find a pattern's literals.
    from re._constants import LITERAL as _LITERAL
    from re._parser import parse as _parseRegex
except ImportError:  # pragma: no cover (moved in a later Python: no prefilter)
    _parseRegex = _LITERAL = None

#: Fields every record has, whatever its filter block says.
BUILTIN_FIELDS = ("application", "ip", "loghost", "line")
#: Fields made from C{source} (C{10.0.0.5:1034}), unless the filter defines them.
SOURCE_FIELDS = ("src_ip", "src_port")

NUMERIC_CONDITIONS = ("=", "==", "<=", ">=", "!=")
STRING_CONDITIONS = ("eq", "ne", "gt", "ge", "lt", "le")
REGEX_CONDITIONS = ("ct", "nc")
CONDITIONS = NUMERIC_CONDITIONS + STRING_CONDITIONS + REGEX_CONDITIONS

ACTIONS = ("alert", "warning", "display", "icon", "drop", "reject")
#: Severity of the actions that raise an alert.
SEVERITY = {"alert": "high", "warning": "medium"}


class Problem(NamedTuple):
    """A line of a LogIDS file that did not load."""

    path: str
    line: int
    reason: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.reason}"


# ---------------------------------------------------------------------------
# Values

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def number(text):
    """
    C{text} as a number (surrounding white space allowed), or C{None} when
    it is not a plain decimal number.  No C{nan}, C{inf}, hex or C{1_000}.
    """
    # str.isdecimal is the regex's \d (Unicode category Nd), and such a
    # text has no white space to strip: the common case, without a regex.
    if text.isdecimal():
        try:
            return int(text)
        except ValueError:
            return Decimal(text)  # see _integer
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return _integer(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


def _integer(text):
    try:
        return int(text)
    except ValueError:
        # More digits than int() converts (sys.get_int_max_str_digits): a
        # log line must not stop the engine.  Decimal is exact, and
        # compares exactly with int and float.
        return Decimal(text)


def unescapeValue(raw):
    """
    A condition's value as written (space-delimited) to what it means:
    C{_} stands for a space, C{\\_} for an underscore.
    """
    if "_" not in raw:
        return raw
    return "_".join(part.replace("_", " ") for part in raw.split("\\_"))


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


@lru_cache(maxsize=4096)
def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def isAddress(text):
    """Whether C{text} is an IPv4 or IPv6 address."""
    return _address(text) is not None


_SYSLOG_HOST = re.compile(r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)"
                          r" (\S+) ").match


def syslogHost(line):
    """The host field of C{line}'s syslog header (RFC 3164 or an ISO time
    stamp), or C{""}."""
    found = _SYSLOG_HOST(line)
    return found.group(1) if found else ""


def ipPattern(text):
    """
    A predicate on strings for an IP pattern, or C{None} if C{text} is not
    one.  Patterns: a wildcard of four dotted parts, each an octet or C{*}
    (at least one C{*}: C{10.0.0.*}, C{10.*.*.*}), where C{*} stands for any
    one octet; or a network in CIDR form (C{10.0.0.0/8}, C{fd00::/8}).
    """
    found = _ipPattern(text)
    if found is None:
        return None
    kind, test = found
    if kind == "wild":
        return lambda value: test(value) is not None
    return test


def _ipPattern(text):
    """
    L{ipPattern} as C{("wild", fullmatch)}, a wildcard's regex (a value is
    in it when C{fullmatch(value)} is not C{None}), or C{("net",
    predicate)}; C{None} when C{text} is not a pattern.
    """
    parts = text.split(".")
    if len(parts) == 4 and "*" in parts and all(
            p == "*" or re.fullmatch(_OCTET, p) for p in parts):
        regex = re.compile(r"\.".join(_OCTET if p == "*" else re.escape(p) for p in parts))
        return "wild", regex.fullmatch
    if "/" in text and (re.fullmatch(r"[\d.]+/\d+", text)
                        or re.fullmatch(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/\d+", text)):
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        known = {}

        def inNetwork(value):
            # Parsing an address and testing it is slow; the addresses of a
            # site's logs repeat.
            try:
                return known[value]
            except KeyError:
                pass
            address = _address(value)
            result = address is not None and address.version == network.version \
                and address in network
            if len(known) >= 65536:
                known.clear()
            known[value] = result
            return result
        return "net", inNetwork
    return None


def splitSource(source):
    """
    C{source} (C{10.0.0.5:1034}, C{[fd00::1]:22}, C{10.0.0.5}) as
    C{(src_ip, src_port)}; the port is C{""} when there is none.
    """
    source = source.strip()
    if source.startswith("["):
        host, sep, rest = source[1:].partition("]")
        if sep:
            return host, rest[1:] if rest.startswith(":") else ""
    host, sep, port = source.rpartition(":")
    if sep and ":" not in host and port.isdigit():
        return host, port
    return source, ""


# ---------------------------------------------------------------------------
# Conditions


class Statement(NamedTuple):
    """
    One C{expr1 cond expr2} statement, compiled: what L{compileStatement}'s
    predicate and the engine's generated code (L{compileEvaluator}) both
    evaluate.
    """

    kind: str
    """C{const} (C{value} is the result), C{eq}/C{ne} (string equality),
    C{wild}/C{notwild} (C{value} is an IP wildcard's regex C{fullmatch}),
    C{in}/C{notin} (C{value} is an IP network predicate), C{gt ge lt le}
    (string order), C{ct}/C{nc} (C{value} is a regex's C{search}) or
    C{number} (C{value} is C{(operator, number)})."""
    name: str
    value: object


_NUMERIC_OPERATORS = {"=": "==", "==": "==", "<=": "<=", ">=": ">=", "!=": "!="}
_ORDER_OPERATORS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _always(fields):
    return True


def _never(fields):
    return False


_ALWAYS = Statement("const", "", True)
_NEVER = Statement("const", "", False)
_always.parts = ((_ALWAYS,), ())
_never.parts = ((_NEVER,), ())


def parseStatement(name, condition, raw):
    """
    One C{expr1 cond expr2} statement as a L{Statement}.

    @raise ValueError: C{cond} is not a condition, or a C{ct}/C{nc} value
        is not a regular expression.
    """
    cond = condition.lower()
    if cond not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r} (one of {' '.join(CONDITIONS)})")
    value = unescapeValue(raw)

    if cond in NUMERIC_CONDITIONS:
        right = number(value)
        if right is None:
            return _NEVER
        return Statement("number", name, (_NUMERIC_OPERATORS[cond], right))

    if cond in REGEX_CONDITIONS:
        try:
            search = re.compile(value).search
        except re.error as e:
            raise ValueError(f"{cond} {raw!r}: not a regular expression: {e}") from None
        return Statement(cond, name, search)

    if cond in ("eq", "ne"):
        # ne is always the negation of eq with the same value.
        if value == "*":
            return _ALWAYS if cond == "eq" else _NEVER
        pattern = _ipPattern(value)
        if pattern is not None:
            kind, test = pattern
            if kind == "wild":
                return Statement("wild" if cond == "eq" else "notwild", name, test)
            return Statement("in" if cond == "eq" else "notin", name, test)
        return Statement(cond, name, value)

    return Statement(cond, name, value)


def statementPredicate(statement):
    """A L{Statement} as a predicate on a field dict."""
    kind, name, value = statement
    if kind == "const":
        return _always if value else _never
    if kind == "number":
        operator_, right = value
        compare = {"==": operator.eq, "<=": operator.le, ">=": operator.ge,
                   "!=": operator.ne}[operator_]

        def numeric(fields):
            left = number(fields.get(name, ""))
            return left is not None and compare(left, right)
        return numeric
    if kind == "ct":
        return lambda fields: value(fields.get(name, "")) is not None
    if kind == "nc":
        return lambda fields: value(fields.get(name, "")) is None
    if kind == "wild":
        return lambda fields: value(fields.get(name, "")) is not None
    if kind == "notwild":
        return lambda fields: value(fields.get(name, "")) is None
    if kind == "in":
        return lambda fields: value(fields.get(name, ""))
    if kind == "notin":
        return lambda fields: not value(fields.get(name, ""))
    if kind == "eq":
        return lambda fields: fields.get(name, "") == value
    if kind == "ne":
        return lambda fields: not fields.get(name, "") == value
    if kind == "gt":
        return lambda fields: fields.get(name, "") > value
    if kind == "ge":
        return lambda fields: fields.get(name, "") >= value
    if kind == "lt":
        return lambda fields: fields.get(name, "") < value
    return lambda fields: fields.get(name, "") <= value


def compileStatement(name, condition, raw):
    """
    One C{expr1 cond expr2} statement as a predicate on a field dict.

    @raise ValueError: see L{parseStatement}.
    """
    return statementPredicate(parseStatement(name, condition, raw))


def compileCondition(text):
    """
    A rule's condition as a predicate on a field dict: C{*}, or statements
    joined by C{AND}/C{OR}, folded strictly left to right.

    The predicate's C{parts} attribute is C{(statements, ands)}: the
    L{Statement}s and, between each two, whether they are joined by AND
    (what L{compileEvaluator} generates code from).

    @raise ValueError: it does not parse (the reason).
    """
    tokens = text.split()
    if not tokens:
        raise ValueError("empty condition (write * for always)")
    if tokens == ["*"]:
        return _always
    if len(tokens) % 4 != 3:
        statement = tokens[len(tokens) // 4 * 4:]
        raise ValueError(f"incomplete statement {' '.join(statement)!r}"
                         " (expected: field condition value)")
    statements = []
    ands = []
    for i in range(0, len(tokens), 4):
        if i:
            joiner = tokens[i - 1].upper()
            if joiner not in ("AND", "OR"):
                raise ValueError(f"expected AND or OR, not {tokens[i - 1]!r}")
            ands.append(joiner == "AND")
        statements.append(parseStatement(*tokens[i:i + 3]))
    predicates = [statementPredicate(s) for s in statements]
    first = predicates[0]
    if len(predicates) == 1:
        if first not in (_always, _never):
            first.parts = (tuple(statements), ())
        return first
    rest = tuple(zip(ands, predicates[1:]))

    def fold(fields):
        value = first(fields)
        for isAnd, statement in rest:
            # Sequential: (value AND next) or (value OR next), no precedence.
            if isAnd:
                value = value and statement(fields)
            else:
                value = value or statement(fields)
        return value
    fold.parts = (tuple(statements), tuple(ands))
    return fold


# ---------------------------------------------------------------------------
# Rules


class Action(NamedTuple):
    kind: str
    """One of L{ACTIONS}."""
    fields: tuple | None = None
    """C{display}: the field names, C{()} for the whole record."""
    icon: str | None = None
    """C{icon}: the file name."""

    @property
    def severity(self):
        return SEVERITY.get(self.kind)


def parseAction(text):
    """
    @raise ValueError: not an action.
    """
    name, sep, argument = text.strip().partition("=")
    name = name.strip().lower()
    argument = argument.strip()
    if name in ("alert", "warning", "warn", "drop", "reject"):
        if sep:
            raise ValueError(f"{name} takes no argument ({text.strip()!r})")
        return Action("warning" if name == "warn" else name)
    if name == "display":
        names = tuple(n.strip() for n in argument.split("#")) if argument else ()
        if "" in names:
            raise ValueError(f"display: empty field name in {argument!r}")
        return Action("display", fields=names)
    if name == "icon":
        if not argument:
            raise ValueError("icon needs a file: icon=file.bmp")
        return Action("icon", icon=argument)
    raise ValueError(f"unknown action {text.strip()!r} (one of alert, warning, warn,"
                     " display=, icon=, drop, reject)")


@dataclass(frozen=True, eq=False)
class Rule:
    path: str
    lineNumber: int
    application: str
    """As written; C{*} for every application no other rule names."""
    condition: str
    action: Action
    test: object
    """The compiled condition: fields -> bool."""

    @property
    def where(self):
        return f"{self.path}:{self.lineNumber}"

    @property
    def text(self):
        return f"{self.application},{self.condition}"


def parseRules(text, path="rules.txt"):
    """
    The rules of a C{rules.txt}.

    A line is C{application,condition,action}: the application ends at the
    first comma and the action starts after the last one, so a C{ct} regex
    may contain commas.  C{#} starts a comment only at the start of a line
    (C{display=a#b} uses it).

    @return: C{(rules, problems)}.
    """
    rules = []
    problems = []
    for number_, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        application, sep1, rest = stripped.partition(",")
        condition, sep2, action = rest.rpartition(",")
        if not (sep1 and sep2):
            problems.append(Problem(path, number_, "expected application,condition,action"))
            continue
        application = application.strip()
        if not application:
            problems.append(Problem(path, number_, "no application (write * for any)"))
            continue
        try:
            parsedAction = parseAction(action)
            test = compileCondition(condition)
        except ValueError as e:
            problems.append(Problem(path, number_, str(e)))
            continue
        rules.append(Rule(path, number_, application, condition.strip(), parsedAction, test))
    return rules, problems


# ---------------------------------------------------------------------------
# Filters


@dataclass(frozen=True)
class Filter:
    """One C{[Application]} block of C{filter.txt}."""

    name: str
    match: object = None
    """A compiled regex searched in the line, or C{None}."""
    file: str | None = None
    """A glob on the stream (file) name: the whole path if it has a C{/},
    else the base name."""
    fields: object = None
    """A compiled regex with named groups, searched in the line."""
    separator: str | None = None
    names: tuple = ()

    @property
    def fieldNames(self):
        if self.fields is not None:
            return tuple(self.fields.groupindex)
        return self.names

    def selects(self, line, stream=""):
        if self.file is not None:
            target = stream if "/" in self.file else stream.rpartition("/")[2]
            if not fnmatchcase(target, self.file):
                return False
        return self.match is None or self.match.search(line) is not None

    def parse(self, line):
        """
        The filter's fields of C{line}, C{(name, value)} in order, or C{()}
        when they do not parse.  An optional group that did not take part
        is C{""}.
        """
        if self.fields is not None:
            found = self.fields.search(line)
            if found is None:
                return ()
            return tuple((k, v or "") for k, v in found.groupdict().items())
        if self.separator is not None:
            values = line.split(self.separator, len(self.names) - 1)
            if len(values) != len(self.names):
                return ()
            return tuple(zip(self.names, values))
        return ()


_FILTER_KEYS = ("match", "file", "fields", "separator", "names")
_RESERVED = frozenset(BUILTIN_FIELDS)
_NAME = re.compile(r"[A-Za-z_][\w-]*")


def _stripComment(value):
    # "# comment" after white space ends a value; "\#" (regex) and "a#b"
    # (names) are not comments.
    found = re.search(r"\s#", value)
    return value[:found.start()] if found else value


def _separator(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace("\\t", "\t")


def _finishFilter(path, start, name, keys, problems):
    """A L{Filter} from a block's keys, or C{None} (problems appended)."""
    before = len(problems)

    def bad(key, reason):
        problems.append(Problem(path, keys[key][0] if key in keys else start, reason))

    match = fields = None
    if "match" in keys:
        try:
            match = re.compile(keys["match"][1])
        except re.error as e:
            bad("match", f"match: not a regular expression: {e}")
    if "match" not in keys and "file" not in keys:
        bad(None, f"[{name}] needs match or file")
    if "fields" in keys:
        if "separator" in keys or "names" in keys:
            bad("fields", "fields and separator/names exclude each other")
        try:
            fields = re.compile(keys["fields"][1])
        except re.error as e:
            bad("fields", f"fields: not a regular expression: {e}")
        else:
            if not fields.groupindex:
                bad("fields", "fields: the regex has no named group (?P<name>...)")
            for field in fields.groupindex:
                if field in _RESERVED:
                    bad("fields", f"fields: {field} is a built-in field")
    names = ()
    separator = None
    if ("separator" in keys) != ("names" in keys):
        bad("separator" if "separator" in keys else "names", "separator and names go together")
    elif "separator" in keys:
        separator = _separator(keys["separator"][1])
        if not separator:
            bad("separator", "separator is empty")
        names = tuple(n.strip() for n in keys["names"][1].split("#"))
        for field in names:
            if not _NAME.fullmatch(field):
                bad("names", f"names: {field!r} is not a field name")
            elif field in _RESERVED:
                bad("names", f"names: {field} is a built-in field")
        if len(set(names)) != len(names):
            bad("names", "names: a name repeats")
    if len(problems) != before:
        return None
    return Filter(name, match, keys["file"][1] if "file" in keys else None, fields,
                  separator, names)


def parseFilters(text, path="filter.txt"):
    """
    The blocks of a C{filter.txt}.

    @return: C{(filters, problems)}: filters in file order; a block with a
        problem is left out (its lines are reported, the other blocks load).
    """
    filters = []
    problems = []
    seen = set()
    block = None  # [line, name, keys, ok]

    def finish():
        if block is not None and block[3]:
            loaded = _finishFilter(path, block[0], block[1], block[2], problems)
            if loaded is not None:
                filters.append(loaded)

    for number_, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            finish()
            name = stripped[1:-1].strip() if stripped.endswith("]") else ""
            block = [number_, name, {}, True]
            if not name:
                problems.append(Problem(path, number_, f"bad block header {stripped!r}"))
                block[3] = False
            elif name.casefold() in seen:
                problems.append(Problem(path, number_, f"[{name}] is defined twice"
                                        " (application names are case-insensitive)"))
                block[3] = False
            seen.add(name.casefold())
            continue
        key, sep, value = stripped.partition("=")
        key = key.strip().lower()
        if not sep:
            problems.append(Problem(path, number_, "expected key = value"))
        elif block is None:
            problems.append(Problem(path, number_, f"{key} outside an [Application] block"))
        elif key not in _FILTER_KEYS:
            problems.append(Problem(path, number_, f"unknown key {key!r}"
                                    f" (one of {', '.join(_FILTER_KEYS)})"))
            block[3] = False
        elif key in block[2]:
            problems.append(Problem(path, number_, f"{key} given twice in [{block[1]}]"))
            block[3] = False
        else:
            block[2][key] = (number_, _stripComment(value).strip())
    finish()
    return filters, problems


# ---------------------------------------------------------------------------
# netdef


class NetDef:
    """
    C{netdef.txt}: C{pattern name} per line; C{pattern} an IP wildcard
    (C{10.0.0.*}), a network (C{10.0.0.0/8}) or an address; the first
    pattern that matches names the host.
    """

    def __init__(self, entries=()):
        self.entries = tuple(entries)
        self._cache = {}

    def name(self, ip):
        """The name of the host at C{ip}, or C{None}."""
        try:
            return self._cache[ip]
        except KeyError:
            pass
        found = None
        for matches, name in self.entries:
            if matches(ip):
                found = name
                break
        if len(self._cache) < 65536:
            self._cache[ip] = found
        return found


def _addressPredicate(text):
    address = _address(text)
    if address is None:
        return None
    return lambda value: _address(value) == address


def parseNetDef(text, path="netdef.txt"):
    """@return: C{(netdef, problems)}."""
    entries = []
    problems = []
    for number_, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        if len(parts) != 2:
            problems.append(Problem(path, number_, "expected: pattern name"))
            continue
        pattern, name = parts[0], _stripComment(parts[1]).strip()
        matches = ipPattern(pattern) or _addressPredicate(pattern)
        if matches is None:
            problems.append(Problem(path, number_, f"{pattern!r} is not an address,"
                                    " a wildcard (10.0.0.*) or a network (10.0.0.0/8)"))
            continue
        if not name:
            problems.append(Problem(path, number_, "expected: pattern name"))
            continue
        entries.append((matches, name))
    return NetDef(entries), problems


def _read(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def loadRules(path):
    return parseRules(_read(path), path)


def loadFilters(path):
    return parseFilters(_read(path), path)


def loadNetDef(path):
    return parseNetDef(_read(path), path)


# ---------------------------------------------------------------------------
# The engine


class LogIdsRecord(NamedTuple):
    application: str
    """The filter block's name as written; C{""}: no block selected the line."""
    fields: dict
    """Every field by name: built-in, the filter's, C{src_ip}/C{src_port}."""
    order: tuple
    """The filter's field names that parsed, in their order (the record
    as the log has it)."""


class Taken(NamedTuple):
    """One action a rule (or the automatic drop) took on a record."""

    rule: Rule | None
    """C{None}: the automatic drop of a record no rule matched."""
    kind: str
    severity: str | None = None
    fields: tuple | None = None
    """C{display}: C{(name, value)} pairs."""
    icon: str | None = None

    def asDict(self, line, application):
        """The JSON object C{mice analyze --json} prints."""
        result = {"line": line, "application": application,
                  "rule": None if self.rule is None else self.rule.where,
                  "action": self.kind}
        if self.severity is not None:
            result["severity"] = self.severity
        if self.fields is not None:
            result["fields"] = [list(pair) for pair in self.fields]
        if self.icon is not None:
            result["icon"] = self.icon
        return result


def requiredLiteral(pattern):
    """
    A string that every line C{pattern} (a compiled regex) finds a match in
    contains: the longest run of plain characters in the top level of the
    pattern (C{sshd[} in C{\\ssshd\\[\\d+\\]:}), or C{""} when there is none
    or the pattern ignores case.  C{literal in line} is a cheap test that
    lets L{LogIdsEngine} skip the regex on most lines another block's.
    """
    if (_parseRegex is None or not isinstance(pattern.pattern, str)
            or pattern.flags & re.IGNORECASE):
        return ""
    try:
        tree = _parseRegex(pattern.pattern, pattern.flags)
    except Exception:  # it compiled: this should not happen; then no prefilter
        return ""
    # Each top-level item must match, one after the other: consecutive
    # LITERAL items match consecutive characters of the line.
    best = run = ""
    for op, argument in tree.data:
        if op is _LITERAL:
            run += chr(argument)
            if len(run) > len(best):
                best = run
        else:
            run = ""
    return best


def _found(line):
    return True


class _Plan:
    """
    What the engine does with the lines one filter block (or none)
    selects: how it parses them, and its application's compiled rules.
    """

    __slots__ = ("filter", "application", "literal", "search", "parse", "hasSource",
                 "evaluate")

    def __init__(self, block, evaluate):
        self.filter = block
        # The application's rules: (fields, order) -> [Taken].
        self.evaluate = evaluate
        # line -> (fields dict, order); ({}, ()) when it does not parse.
        self.parse = _parseNothing
        self.hasSource = False
        if block is None:
            self.application = ""
            self.literal = ""
            self.search = None
            return
        self.application = block.name
        self.literal = "" if block.match is None else requiredLiteral(block.match)
        self.search = _found if block.match is None else block.match.search
        if block.fields is not None:
            self.parse = _fieldsParser(block.fields.search, block.fieldNames)
        elif block.separator is not None:
            self.parse = _splitParser(block.separator, block.names)
        self.hasSource = "source" in block.fieldNames


def _parseNothing(line):
    return {}, ()


def _fieldsParser(search, names):
    def parse(line):
        found = search(line)
        if found is None:
            return {}, ()
        # groupdict("") is {name: value or ""}, in the groups' order.
        return found.groupdict(""), names
    return parse


def _splitParser(separator, names):
    count = len(names)
    split = str.split

    def parse(line):
        values = split(line, separator, count - 1)
        if len(values) != count:
            return {}, ()
        return dict(zip(names, values)), names
    return parse


_tupleNew = tuple.__new__
_DROP = Taken(None, "drop")
_LINE_ONLY = ("line",)
_UNSET = object()
#: Bounds of the engine's caches (streams, applications, reporting hosts).
_CACHE_SIZE = 4096


def _wholeRecord(rule, fields, order):
    """C{display=}'s action: the record's fields in the log's order."""
    return _tupleNew(Taken, (rule, "display", None,
                             tuple([(n, fields.get(n, "")) for n in order or _LINE_ONLY]), None))


def _evaluateEach(rules):
    """The rules, evaluated one by one: what L{compileEvaluator} generates."""
    def evaluate(fields, order):
        taken = []
        for rule in rules:
            if rule.test(fields):
                action = rule.action
                if action.kind == "display":
                    names = action.fields or order or _LINE_ONLY
                    taken.append(Taken(rule, "display",
                                       fields=tuple((n, fields.get(n, "")) for n in names)))
                else:
                    taken.append(Taken(rule, action.kind, action.severity, icon=action.icon))
        return taken or [_DROP]
    return evaluate


_STATEMENT_CODE = {
    "eq": "{f} == {v}", "ne": "not {f} == {v}",
    "gt": "{f} > {v}", "ge": "{f} >= {v}", "lt": "{f} < {v}", "le": "{f} <= {v}",
    "ct": "{v}({f}) is not None", "nc": "{v}({f}) is None",
    "wild": "{v}({f}) is not None", "notwild": "{v}({f}) is None",
    "in": "{v}({f})", "notin": "not {v}({f})",
}


def compileEvaluator(rules):
    """
    One function C{(fields, order) -> [Taken]} doing what evaluating each of
    C{rules} (one application's, in file order) on a record does, as Python
    code generated for them: each field the conditions read is looked up
    once, a condition two rules share is evaluated once, the actions that do
    not depend on the record are made once.

    The generated source holds only names it makes up (C{f0}, C{k3}...);
    every value of the rules (field names, strings, regexes) is bound to
    such a name, never written into the code.  A rule whose test is not a
    L{compileCondition} predicate (no C{parts}) is called as it is.
    """
    namespace = {"_new": _tupleNew, "Taken": Taken, "_DROP": _DROP, "_number": number,
                 "_whole": _wholeRecord, "_UNSET": _UNSET}
    constants = {}

    def constant(value):
        key = (type(value), value)
        try:
            return constants[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: bind it anyway
            key = None
        name = f"k{len(namespace)}"
        namespace[name] = value
        if key is not None:
            constants[key] = name
        return name

    fieldNames = {}

    def field(name):
        if name not in fieldNames:
            fieldNames[name] = f"f{len(fieldNames)}"
        return fieldNames[name]

    # A field several numeric statements read is made a number once, by
    # the first of them that runs (g0 is _UNSET until then).
    numericUses = {}
    for rule in rules:
        for statement in getattr(rule.test, "parts", ((), ()))[0]:
            if statement.kind == "number":
                numericUses[statement.name] = numericUses.get(statement.name, 0) + 1
    numbers = {}

    def statementCode(statement):
        kind, name, value = statement
        if kind == "const":
            return "True" if value else "False"
        if kind == "number":
            operator_, right = value
            made = f"_number({field(name)})"
            if numericUses[name] > 1:
                cached = numbers.setdefault(name, f"g{len(numbers)}")
                made = f"({cached} if {cached} is not _UNSET else ({cached} := {made}))"
            return f"(n := {made}) is not None and n {operator_} {constant(right)}"
        return _STATEMENT_CODE[kind].format(f=field(name), v=constant(value))

    body = []
    conditions = {}
    for rule in rules:
        parts = getattr(rule.test, "parts", None)
        if parts is None:
            test = f"{constant(rule.test)}(fields)"
        elif len(parts[0]) == 1 and parts[0][0].kind == "const":
            test = "True" if parts[0][0].value else "False"
        elif parts in conditions:
            test = conditions[parts]
        else:
            statements, ands = parts
            test = conditions[parts] = f"c{len(conditions)}"
            # The fold, one statement after the other (no nesting, however
            # long the chain): AND evaluates the next statement only when
            # the value so far is true, OR only when it is false.
            body.append(f"{test} = {statementCode(statements[0])}")
            for isAnd, statement in zip(ands, statements[1:]):
                body.append(f"if {'' if isAnd else 'not '}{test}:")
                body.append(f"    {test} = {statementCode(statement)}")
        action = rule.action
        if action.kind != "display":
            made = constant(Taken(rule, action.kind, action.severity, icon=action.icon))
            line = f"append({made})"
        elif action.fields:
            values = []
            for name in action.fields:
                value = fieldNames.get(name) or f"get({constant(name)}, '')"
                values.append(f"({constant(name)}, {value}), ")
            line = (f"append(_new(Taken, ({constant(rule)}, 'display', None,"
                    f" ({''.join(values)}), None)))")
        else:
            line = f"append(_whole({constant(rule)}, fields, order))"
        if test == "True":
            body.append(line)
        elif test != "False":
            body.append(f"if {test}:")
            body.append(f"    {line}")
    head = ["def evaluate(fields, order):", "    get = fields.get",
            *(f"    {var} = get({constant(name)}, '')" for name, var in fieldNames.items()),
            *(f"    {var} = _UNSET" for var in numbers.values()),
            "    taken = []", "    append = taken.append"]
    source = "\n".join(head + [f"    {line}" for line in body]
                       + ["    return taken or [_DROP]", ""])
    try:
        exec(compile(source, "<logids rules>", "exec"), namespace)
    except (SyntaxError, RecursionError, MemoryError, OverflowError, ValueError):
        # Beyond what the compiler takes (a rules file of a size never seen):
        # the same, rule by rule.
        return _evaluateEach(tuple(rules))
    return namespace["evaluate"]


class LogIdsEngine:
    """
    Rules, filters and netdef, compiled: L{recordFor} a line, then
    L{evaluate} the record; or L{analyseLines}, both for a batch of lines.
    """

    def __init__(self, rules=(), filters=(), netdef=None):
        self.rules = tuple(rules)
        self.filters = tuple(filters)
        self.netdef = netdef if netdef is not None else NetDef()
        byApplication = {}
        catchAll = []
        for rule in self.rules:
            if rule.application == "*":
                catchAll.append(rule)
            else:
                byApplication.setdefault(rule.application.casefold(), []).append(rule)
        self._byApplication = {k: tuple(v) for k, v in byApplication.items()}
        self._catchAll = tuple(catchAll)
        self._compiled = {}
        self._evaluators = {}
        self._plans = tuple(_Plan(block, self._evaluatorFor(block.name))
                            for block in self.filters)
        self._nothing = _Plan(None, self._evaluatorFor(""))
        self._streams = {}

    def _evaluatorFor(self, application):
        """The compiled rules of C{application}'s records (see L{rulesFor})."""
        try:
            return self._evaluators[application]
        except KeyError:
            pass
        rules = self.rulesFor(application)
        evaluate = self._compiled.get(rules)
        if evaluate is None:
            evaluate = self._compiled[rules] = compileEvaluator(rules)
        if len(self._evaluators) >= _CACHE_SIZE:
            self._evaluators.clear()
        self._evaluators[application] = evaluate
        return evaluate

    def _candidates(self, stream):
        """
        C{(literal, search, plan)} of the blocks whose C{file} glob (if any)
        selects C{stream}, in file order, up to the first that selects every
        line of it (a C{file} without C{match}).
        """
        try:
            return self._streams[stream]
        except KeyError:
            pass
        candidates = []
        for plan in self._plans:
            block = plan.filter
            if block.file is not None:
                target = stream if "/" in block.file else stream.rpartition("/")[2]
                if not fnmatchcase(target, block.file):
                    continue
            candidates.append((plan.literal, plan.search, plan))
            if block.match is None:
                break
        candidates = tuple(candidates)
        if len(self._streams) >= _CACHE_SIZE:
            self._streams.clear()
        self._streams[stream] = candidates
        return candidates

    def _select(self, line, candidates):
        """
        The plan of the first block that selects C{line}: the same block as
        trying each block's L{Filter.selects} in file order.  A block's
        regex runs only on lines that hold its L{requiredLiteral}.
        """
        for literal, search, plan in candidates:
            if literal in line and search(line) is not None:
                return plan
        return self._nothing

    def _record(self, plan, line, ip, loghost):
        fields, order = plan.parse(line)
        if plan.hasSource and order:
            srcIp, srcPort = splitSource(fields["source"])
            fields.setdefault("src_ip", srcIp)
            fields.setdefault("src_port", srcPort)
        fields["application"] = plan.application
        fields["ip"] = ip
        fields["loghost"] = loghost
        fields["line"] = line
        return _tupleNew(LogIdsRecord, (plan.application, fields, order))

    def recordFor(self, line, ip="", stream="", hostname=""):
        """
        The record of C{line}: the first filter block that selects it (its
        C{file} glob on C{stream}, its C{match} on the line) gives the
        application and fields.  C{ip} is the reporting host's address;
        C{loghost} is its netdef name, else C{hostname}, else C{ip}.
        """
        plan = self._select(line, self._candidates(stream))
        return self._record(plan, line, ip, self.netdef.name(ip) or hostname or ip)

    def rulesFor(self, application):
        """The rules that apply to C{application}'s records, in file order."""
        return self._byApplication.get(application.casefold(), self._catchAll)

    def evaluate(self, record):
        """
        Every action the rules take on C{record}, in rules file order; a
        record no rule matched is dropped (one L{Taken} with rule C{None}).
        """
        return self._evaluatorFor(record.application)(record.fields, record.order)

    def analyseLines(self, lines, ip="", stream="", hostname=""):
        """
        L{recordFor} then L{evaluate} on each of C{lines}, which come from
        the same C{stream}: yields C{(index, record, taken)} for every line,
        in order (C{index} counts from 0; C{taken} is what L{evaluate}
        returns).

        C{ip=None}: each line's reporting host is the host of its syslog
        header (L{syslogHost}) when that is an address, else C{""};
        C{hostname=None}: that host.  (C{mice analyze}'s way, when there is
        no better source for them.)
        """
        # recordFor and evaluate, inlined: this loop is mice analyze's.
        candidates = self._candidates(stream)
        nothing = self._nothing
        new = _tupleNew
        perLine = ip is None or hostname is None
        if perLine:
            header = _SYSLOG_HOST
            hosts = {}  # the header's host: (ip, loghost)
        else:
            lineIp, loghost = ip, self.netdef.name(ip) or hostname or ip
        for index, line in enumerate(lines):
            if perLine:
                found = header(line)
                host = found.group(1) if found else ""
                known = hosts.get(host)
                if known is None:
                    if ip is not None:
                        lineIp = ip
                    else:
                        lineIp = host if isAddress(host) else ""
                    name = host if hostname is None else hostname
                    if len(hosts) >= _CACHE_SIZE:
                        hosts.clear()
                    known = hosts[host] = (lineIp, self.netdef.name(lineIp) or name or lineIp)
                lineIp, loghost = known
            plan = nothing
            for literal, search, candidate in candidates:
                if literal in line and search(line) is not None:
                    plan = candidate
                    break
            fields, order = plan.parse(line)
            if order and plan.hasSource:
                srcIp, srcPort = splitSource(fields["source"])
                fields.setdefault("src_ip", srcIp)
                fields.setdefault("src_port", srcPort)
            fields["application"] = application = plan.application
            fields["ip"] = lineIp
            fields["loghost"] = loghost
            fields["line"] = line
            yield index, new(LogIdsRecord, (application, fields, order)), \
                plan.evaluate(fields, order)
