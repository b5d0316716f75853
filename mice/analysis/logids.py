# -*- test-case-name: tests.unit.analysis.test_logids -*-
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
    L{LogIdsEngine.actions} gives the actions of many lines without making
    their records.

Conditions are compiled once, into closures over the record's field dict,
and each application's rules into Python code (L{compileEvaluator},
L{compileLineEvaluator}).  Pure: no reactor, no I/O except the C{load*}
helpers that read a path.
"""

import ipaddress
import operator
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import lru_cache, partial
from typing import NamedTuple

from mice.analysis.extract import SYSLOG_STAMP
from mice.analysis.fieldregex import groupsFunction

try:  # The regex parser of the re module, to find a pattern's literals.
    from re._constants import AT as _AT
    from re._constants import AT_BEGINNING as _AT_BEGINNING
    from re._constants import AT_BEGINNING_STRING as _AT_BEGINNING_STRING
    from re._constants import ATOMIC_GROUP as _ATOMIC_GROUP
    from re._constants import BRANCH as _BRANCH
    from re._constants import LITERAL as _LITERAL
    from re._constants import MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT
    from re._constants import SUBPATTERN as _SUBPATTERN

    from mice.analysis.reparse import parsed as _parseRegex
    _REPEATS = (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT)
except ImportError:  # pragma: no cover (moved in a later Python: no prefilter)
    _parseRegex = _LITERAL = _AT = _AT_BEGINNING = _AT_BEGINNING_STRING = None
    _BRANCH = _SUBPATTERN = _ATOMIC_GROUP = None
    _REPEATS = ()

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


#: The header's time stamp, then the host.
_SYSLOG_HOST = re.compile(SYSLOG_STAMP + r" (\S+) ").match


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
    alertId: int | None = None
    """C{alert=0x1021}, C{warning=0x1020} (ours): the M-ICE alert ID the
    alert carries, so that match files and correlation rules know it."""

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
    if name in ("alert", "warning", "warn") and sep:
        try:
            alertId = int(argument, 16 if argument[:2].lower() == "0x" else 10)
        except ValueError:
            alertId = -1
        if not 0 <= alertId <= 0xFFFFFFFF:
            raise ValueError(f"{name}= takes an alert ID, e.g. {name}=0x1020"
                             f" ({text.strip()!r})")
        return Action("warning" if name == "warn" else name, alertId=alertId)
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
    for number_, stripped in _contentLines(text):
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
    path: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)
    """The line of its C{match} (else of its C{[name]})."""

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


def _contentLines(text):
    """
    The lines of a LogIDS file that say something, numbered from 1 and
    stripped: blank lines and lines starting with C{#} are skipped.
    """
    for number_, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number_, stripped


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
                  separator, names, path, keys["match"][0] if "match" in keys else start)


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

    for number_, stripped in _contentLines(text):
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
    for number_, stripped in _contentLines(text):
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


def loadFiles(rulesPath, filtersPath, netdefPath=None):
    """
    What an engine is made of, from its files: C{rules.txt}, C{filter.txt}
    and, if given, C{netdef.txt} (else an empty L{NetDef}).

    @return: C{(rules, filters, netdef, problems)}: a line that does not
        load is a problem (C{file:line: reason}); the others load.
    @raise OSError: a file cannot be read.
    """
    rules, problems = loadRules(rulesPath)
    filters, more = loadFilters(filtersPath)
    problems = list(problems) + list(more)
    netdef = NetDef()
    if netdefPath:
        netdef, more = loadNetDef(netdefPath)
        problems.extend(more)
    return rules, filters, netdef, problems


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
            if self.rule is not None and self.rule.action.alertId is not None:
                result["alertid"] = f"0x{self.rule.action.alertId:04x}"
        if self.fields is not None:
            result["fields"] = [list(pair) for pair in self.fields]
        if self.icon is not None:
            result["icon"] = self.icon
        return result


def _topLevel(pattern):
    """
    The top-level items of C{pattern} (a compiled regex) as the re module's
    parser gives them, or C{None} when they are not to be relied on: the
    pattern ignores case, is not a str pattern, or the parser is not there.
    """
    if (_parseRegex is None or not isinstance(pattern.pattern, str)
            or pattern.flags & re.IGNORECASE):
        return None
    try:
        return _parseRegex(pattern.pattern, pattern.flags).data
    except Exception:  # it compiled: this should not happen; then no shortcut
        return None


def requiredLiteral(pattern):
    """
    A string that every line C{pattern} (a compiled regex) finds a match in
    contains: the longest run of plain characters in the top level of the
    pattern (C{sshd[} in C{\\ssshd\\[\\d+\\]:}), or C{""} when there is none
    or the pattern ignores case.  C{literal in line} is a cheap test that
    lets L{LogIdsEngine} skip the regex on most lines another block's.
    """
    items = _topLevel(pattern)
    return "" if items is None else _longestLiteral(items)


def _longestLiteral(items):
    # Each item must match, one after the other: consecutive LITERAL items
    # match consecutive characters of the line.
    best = run = ""
    for op, argument in items:
        if op is _LITERAL:
            run += chr(argument)
            if len(run) > len(best):
                best = run
        else:
            run = ""
    return best


def requiredLiterals(pattern, limit=4):
    """
    Strings one of which every line C{pattern} finds a match in contains,
    longer ones than L{requiredLiteral}: the pattern spelled out into the
    sequences of items it may match as (an optional item, C{X?}, taken or
    not; an alternation C{a|b} as each alternative; a group without flags
    opened), and the longest run of plain characters of each (C{su:} and
    C{su[} for C{\\ssu(?:\\[\\d+\\])?:}).  A match of the pattern is a match
    of one of the sequences, which holds its run.  C{("",)} when some
    sequence has none, or there would be more than C{limit} of them.
    """
    items = _topLevel(pattern)
    if items is None:
        return ("",)

    def spelled(items):
        # The sequences items may match as (ValueError: more than limit).
        sequences = [[]]
        for item in items:
            op, argument = item
            if op is _SUBPATTERN and not argument[1] and not argument[2]:
                options = spelled(argument[3].data)
            elif op is _BRANCH:
                options = [option for alternative in argument[1]
                           for option in spelled(alternative.data)]
            elif op in _REPEATS and argument[0] == 0 and argument[1] == 1:
                options = [[], *spelled(argument[2].data)]
            else:
                options = [[item]]
            if len(sequences) * len(options) > limit:
                raise ValueError("too many")
            sequences = [sequence + option for sequence in sequences for option in options]
        return sequences

    try:
        sequences = spelled(items)
    except ValueError:
        return ("",)
    found = tuple(dict.fromkeys(_longestLiteral(sequence) for sequence in sequences))
    return ("",) if "" in found else found


def literalSearch(pattern):
    """
    What C{pattern.search(text) is not None} is when C{pattern} is plain
    characters, perhaps after a C{^} or C{\\A}: C{("in", literal)} (C{literal
    in text}) or C{("startswith", literal)} (C{text.startswith(literal)});
    else C{None}.
    """
    items = _topLevel(pattern)
    if items is None:
        return None
    test = "in"
    if items and items[0][0] is _AT and (
            items[0][1] is _AT_BEGINNING_STRING
            or (items[0][1] is _AT_BEGINNING and not pattern.flags & re.MULTILINE)):
        test, items = "startswith", items[1:]
    if not all(op is _LITERAL for op, _ in items):
        return None
    return test, "".join(chr(argument) for _, argument in items)


def _found(line):
    return True


#: C{(?:[^S]|\\.)*} and C{+}: "a character not in S (which holds the
#: backslash), or a backslash and any character", repeated -- how a quoted
#: string with escapes is read (Apache's C{"(?:[^"\\]|\\.)*"}).
_ESCAPED_RUN = re.compile(r"\(\?:\[\^((?:[^\]\\]|\\.)*)\]\|\\\\\.\)([*+])(?![?+])")


def quickerRegex(regex):
    """
    C{regex}, or a regex matching the same text with the same groups that
    C{re} runs faster: each C{(?:[^S]|\\.)*} outside a character class,
    with a backslash in S, unrolled to C{[^S]*(?:\\.[^S]*)*} (and the C{+}
    form to one step then that; not the lazy C{*?} and possessive C{*+}),
    four times faster on Apache's fields.
    The two alternatives never start with the same character, so a text has
    one way through either form, and both try the longest first: the same
    match and the same groups.
    """
    text = regex.pattern
    if (not isinstance(text, str) or r"|\\.)" not in text
            or regex.flags & re.VERBOSE):  # (spaces and # would be syntax)
        return regex
    out = []
    last = 0
    for found in _ESCAPED_RUN.finditer(text):
        inside = found.group(1)
        if r"\\" not in inside or not _outsideClass(text, found.start()):
            continue
        run = rf"[^{inside}]*(?:\\.[^{inside}]*)*"
        if found.group(2) == "+":
            run = rf"(?:[^{inside}]|\\.){run}"
        out += [text[last:found.start()], run]
        last = found.end()
    if not out:
        return regex
    try:
        faster = re.compile("".join(out) + text[last:], regex.flags)
    except re.error:  # pragma: no cover - the same syntax, rearranged
        return regex
    if faster.groups != regex.groups or faster.groupindex != regex.groupindex:
        return regex  # pragma: no cover
    return faster


def _outsideClass(text, end):
    """Whether position C{end} of a pattern is outside any C{[...]} and escape."""
    inClass = False
    i = 0
    while i < end:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if inClass:
            if c == "]":
                inClass = False
        elif c == "[":
            inClass = True
            # A "]" (after a "^") first in a class is one of its characters.
            if text[i + 1:i + 2] == "^":
                i += 1
            if text[i + 1:i + 2] == "]":
                i += 1
        i += 1
    return i == end and not inClass


class _Everything:
    """What C{maybe} is when no scan said which statements may hold: all."""

    __slots__ = ()

    def __contains__(self, item):
        return True


#: C{maybe} of a line no prefilter scan was made for: every statement may hold.
_ALL = _Everything()
_NONE = frozenset()
#: The assertions L{widenedRegex} drops (outside a class): C{\\b \\B \\A \\Z}.
_ASSERTION_ESCAPES = frozenset("bBAZ")


def _classEnd(text, i):
    """The index just past the character class starting at C{text[i]} (C{[})."""
    j = i + 1
    if text[j:j + 1] == "^":
        j += 1
    if text[j:j + 1] == "]":
        j += 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "]":
            return j + 1
        j += 1
    raise ValueError("unterminated class")


def _groupEnd(text, i):
    """The index just past the group starting at C{text[i]} (C{(})."""
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = _classEnd(text, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ValueError("unbalanced group")


@lru_cache(maxsize=4096)
def widenedRegex(regex):
    """
    A regex that finds a match in any text holding a substring C{regex}
    finds a match in (a field of a line, within the line), or C{None}: the
    pattern without what looks at a match's surroundings -- C{^ $ \\A \\Z
    \\b \\B} and look-arounds, true or not at a field's edge whatever the
    line holds there.  Leaving out an assertion only widens what matches.
    C{None} for a verbose pattern, one that would match an empty text, or
    an assertion with a quantifier.  Kept (compiled regexes are equal when
    their pattern and flags are): the rules compiler asks it of the same
    statements more than once.
    """
    text = regex.pattern
    if not isinstance(text, str) or regex.flags & re.VERBOSE:
        return None
    out = []
    i = 0
    try:
        while i < len(text):
            c = text[i]
            dropped = None
            if c == "\\":
                if text[i + 1:i + 2] in _ASSERTION_ESCAPES:
                    dropped = i + 2
                else:
                    out.append(text[i:i + 2])
                    i += 2
                    continue
            elif c == "[":
                end = _classEnd(text, i)
                out.append(text[i:end])
                i = end
                continue
            elif c in "^$":
                dropped = i + 1
            elif text.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                dropped = _groupEnd(text, i)
            if dropped is None:
                out.append(c)
                i += 1
                continue
            if text[dropped:dropped + 1] in ("*", "+", "?", "{"):
                return None
            i = dropped
        widened = re.compile("".join(out), regex.flags)
    except (ValueError, re.error):
        return None
    if widened.search("") is not None or not _fewReports(widened):
        return None
    return widened


#: A ct/nc regex whose required literal is shorter than this is scanned for
#: (L{widenedRegex}) with the filter blocks; one with a longer literal is
#: tested for that literal first, which is as quick.
_SCAN_BELOW = 4
#: The shortest match a widened regex may have, to be worth a scan.
_MIN_WIDTH = 3


def _fewReports(regex):
    """
    Whether a scan for C{regex} reports few places in a line: its matches
    are at least L{_MIN_WIDTH} characters long (C{.} would report every
    one), and none may end with a repeat of changing length (C{\\S+} at
    the end reports at every character it could stop at).
    """
    if _parseRegex is None:  # pragma: no cover
        return False
    try:
        parsed = _parseRegex(regex.pattern, regex.flags)
    except re.error:  # pragma: no cover - it compiled
        return False
    if parsed.getwidth()[0] < _MIN_WIDTH:
        return False
    return not _mayEndWithRepeat(parsed.data)


def _mayEndWithRepeat(items):
    if not items:
        return False
    op, argument = items[-1]
    if op in _REPEATS:
        return argument[0] != argument[1] or _mayEndWithRepeat(argument[2].data)
    if op is _SUBPATTERN:
        return _mayEndWithRepeat(argument[3].data)
    if op is _BRANCH:
        return any(_mayEndWithRepeat(branch.data) for branch in argument[1])
    if op is _ATOMIC_GROUP:
        return _mayEndWithRepeat(argument.data)
    # (A back reference at the end: Hyperscan's prefilter reports its group's end.)
    return False


class _Plan:
    """
    What the engine does with the lines one filter block (or none)
    selects: how it parses them, and its application's compiled rules.
    """

    __slots__ = ("filter", "application", "literal", "literals", "search", "parse",
                 "hasSource", "evaluate", "run", "gate", "decided")

    def __init__(self, block, evaluate, run=None):
        self.filter = block
        # The application's rules: (fields, order) -> [Taken].
        self.evaluate = evaluate
        # line -> (fields dict, order); ({}, ()) when it does not parse.
        self.parse = _parseNothing
        self.hasSource = False
        # What the line must hold for the block's match: the literal, or one
        # of the literals (longer ones, when the literal is too short to
        # leave out many lines: "su" of \ssu(?:\[\d+\])?: is in "sudo").
        self.literals = ("",)
        if block is None:
            self.application = ""
            self.literal = ""
            self.search = None
        else:
            self.application = block.name
            self.literal = "" if block.match is None else requiredLiteral(block.match)
            self.search = _found if block.match is None else block.match.search
            if block.fields is not None:
                self.parse = _fieldsParser(fieldGroups(block.fields), block.fields)
            elif block.separator is not None:
                self.parse = _splitParser(block.separator, block.names)
            self.hasSource = "source" in block.fieldNames
            self.literals = (self.literal,)
            if block.match is not None and len(self.literal) < 3:
                found = requiredLiterals(block.match)
                if min(map(len, found)) > len(self.literal):
                    self.literals = found
        # (line, host) -> [Taken], without a record (compileLineEvaluator).
        self.run = run or self._evaluateLine
        # What run returns on a line whose maybe holds no id of gate, if
        # that does not depend on the line (decidedActions), else None.
        self.gate, self.decided = getattr(run, "decided", None) or (None, None)

    def fields(self, line, ip, loghost):
        """
        C{(fields, order)} of C{line}: the block's, C{src_ip}/C{src_port}
        from C{source}, and the built-in ones.
        """
        fields, order = self.parse(line)
        if self.hasSource and order:
            srcIp, srcPort = splitSource(fields["source"])
            fields.setdefault("src_ip", srcIp)
            fields.setdefault("src_port", srcPort)
        fields["application"] = self.application
        fields["ip"] = ip
        fields["loghost"] = loghost
        fields["line"] = line
        return fields, order

    def _evaluateLine(self, line, host, maybe=_ALL):
        """C{run} the straightforward way, when the rules were not compiled for it."""
        return self.evaluate(*self.fields(line, *host(line)))


def _parseNothing(line):
    return {}, ()


def fieldGroups(regex):
    """
    C{line -> tuple or None}: C{regex.search(line).groups('')}, C{None}
    when C{regex} is not found in C{line} -- run by PCRE2 where it can be
    (L{mice.analysis.fieldregex.groupsFunction}), else by C{re} with
    L{quickerRegex}.

    PCRE2 runs C{regex} as it is written, not L{quickerRegex}'s form:
    its JIT runs Apache's C{(?:[^"\\]|\\.)*} as fast as the unrolled
    C{[^"\\]*(?:\\.[^"\\]*)*} (590 against 580 ns a line on the
    Apache lines of C{gendetection.py}; faster on lines it does not
    match), and what PCRE2 runs is then what the block says.
    """
    return groupsFunction(regex, quickerRegex(regex).search)


def _fieldsParser(groupsOf, regex):
    """
    C{line -> (fields, order)} of a block's C{fields} regex, C{groupsOf}
    its L{fieldGroups}: C{(m.groupdict(""), names)}, C{({}, ())} when it
    does not match.
    """
    # groupdict("") is {name: value or ""}, in the order of groupindex
    # (the names' order in the pattern); groups("")[i] is group i + 1.
    names = tuple(regex.groupindex)
    numbers = tuple(regex.groupindex.values())
    if numbers == tuple(range(1, regex.groups + 1)):
        def parse(line):
            groups = groupsOf(line)
            if groups is None:
                return {}, ()
            return dict(zip(names, groups)), names
        return parse
    pick = operator.itemgetter(*(number - 1 for number in numbers)) if numbers else None

    def parseSome(line):
        groups = groupsOf(line)
        if groups is None:
            return {}, ()
        if len(numbers) == 1:
            return {names[0]: pick(groups)}, names
        return dict(zip(names, pick(groups) if numbers else ())), names
    return parseSome


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


def _wholePairs(fields, order):
    """C{display=}'s fields: the record's, in the log's order."""
    return tuple([(n, fields.get(n, "")) for n in order or _LINE_ONLY])


def evaluateEach(rules, test=None):
    """
    The rules, evaluated one by one: what L{compileEvaluator} generates.

    @param test: C{(rule, fields) -> bool} instead of C{rule.test(fields)}
        (C{mice analyze --ruleperf} times each rule so).
    """
    def evaluate(fields, order):
        taken = []
        for rule in rules:
            if (rule.test(fields) if test is None else test(rule, fields)):
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
#: The statements that call a regex (or a network's predicate) on the field.
_MATCH_STATEMENTS = frozenset(("ct", "nc", "wild", "notwild", "in", "notin"))


def caselessWords(pattern):
    """
    The words of a case-insensitive alternation of plain ASCII words
    (C{(?i:nikto|sqlmap|nmap)}, C{(?i)cmd\\.exe|root\\.exe}), lower-cased,
    or C{None} for any other pattern.  On ASCII text, such a pattern finds
    what a case-sensitive search of the lower-cased words finds in the
    lower-cased text; C{re} tries each word at each position of the text
    (case-insensitively), a trie of them goes much faster.
    """
    if _parseRegex is None or not isinstance(pattern.pattern, str):
        return None
    try:
        items = list(_parseRegex(pattern.pattern, pattern.flags))
    except Exception:  # it compiled: this should not happen; then no shortcut
        return None
    caseless = bool(pattern.flags & re.IGNORECASE)
    if (len(items) == 1 and items[0][0] is _SUBPATTERN and items[0][1][0] is None
            and items[0][1][1] & re.IGNORECASE and not items[0][1][2]
            and not items[0][1][1] & ~(re.IGNORECASE | re.UNICODE)):
        caseless, items = True, list(items[0][1][3])
    if not caseless or pattern.flags & (re.ASCII | re.LOCALE):
        return None
    branches = items[0][1][1] if len(items) == 1 and items[0][0] is _BRANCH else [items]
    words = []
    for branch in branches:
        branch = list(branch)
        if not branch or not all(op is _LITERAL and argument < 128 for op, argument in branch):
            return None
        words.append("".join(chr(argument) for _, argument in branch).lower())
    return tuple(words)


def _wordTrie(words):
    from mice.analysis.aaregex import literalTrie

    return literalTrie(words)


def _prefiltered(kind, pattern, field, code):
    """
    Quicker code for a C{ct}, C{nc}, C{wild} or C{notwild} statement on
    C{field} with C{pattern}, or C{None}: the regex runs only on values that
    hold its L{requiredLiteral}.
    """
    literal = requiredLiteral(pattern)
    if not literal:
        return None
    run = code.constant(pattern.search if kind in ("ct", "nc") else pattern.fullmatch)
    literal = code.constant(literal)
    if kind in ("ct", "wild"):
        return f"{literal} in {field} and {run}({field}) is not None"
    return f"{literal} not in {field} or {run}({field}) is None"


#: What generated code finds in its namespace beside its constants.
_NAMESPACE = {"_new": _tupleNew, "Taken": Taken, "_DROP": _DROP, "_number": number,
              "_whole": _wholePairs, "_UNSET": _UNSET, "_split": splitSource, "_ALL": _ALL}
#: What generating code may fail with, for a rules file of a size never seen.
_TOO_BIG = (SyntaxError, RecursionError, MemoryError, OverflowError, ValueError)


class _Code:
    """
    Python source being generated, and the namespace it runs in: every value
    of the rules (field names, strings, regexes) is bound to a name
    L{constant} makes up (C{k3}), never written into the source.
    """

    def __init__(self):
        self.namespace = dict(_NAMESPACE)
        self._constants = {}

    def constant(self, value):
        """The name bound to C{value}."""
        key = (type(value), value)
        try:
            return self._constants[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: bind it anyway
            key = None
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        if key is not None:
            self._constants[key] = name
        return name

    def function(self, lines):
        """The function C{lines} (its source, line by line) define."""
        exec(compile("\n".join(lines + [""]), "<logids rules>", "exec"), self.namespace)
        return self.namespace[lines[0][4:].partition("(")[0]]


def _rulesBody(rules, code, read, display, whole, custom, prefilter=None, gates=None,
               scanBelow=None):
    """
    The statements of generated code that evaluate C{rules} (one
    application's, in file order) and append each action's L{Taken} to
    C{append}, in order; or C{None} when C{custom} refuses a rule.

    Each field a condition reads is C{read(name)} (an expression: the same
    name gives the same one); a field numeric statements read is made a
    number once; a condition several rules share is evaluated once.  AND/OR
    stay a strict left-to-right fold: AND evaluates the next statement only
    when the value so far is true, OR only when it is false.

    @param display: C{names -> (lines, pairs)}: the statements a
        C{display=f#g} action runs first and the expression of its C{(name,
        value)} pairs.
    @param whole: C{() -> (lines, pairs)}, the same for C{display=}.
    @param custom: C{rule -> expression or None} for a rule whose test is
        not a L{compileCondition} predicate (no C{parts}).
    @param prefilter: C{(field, pattern) -> id or None}: the id, in the
        C{maybe} the generated code is given, of a scan's prefilter for a
        C{ct}/C{nc} regex statement on C{field} (the regex runs only when
        C{maybe} holds it), or C{None}.
    @param gates: a dict given the id (in C{maybe}) of each C{ct} statement
        whose code so gated is false when C{maybe} lacks it, whatever the
        record holds: C{{statement: id}}.
    @param scanBelow: a regex is given to C{prefilter} when its required
        literal is shorter than this (L{_SCAN_BELOW} when C{None}); C{0}:
        every regex.
    @return: C{(lines, constant)}: C{constant} tells that every action is
        taken on every record and made once (C{lines} then only append).
    """
    # A field numeric statements read is made a number once: first thing
    # when the first statement of a condition reads it (so it is needed on
    # every record), else by the first of them that runs (g0 is _UNSET
    # until then) if several read it.
    numericUses = {}
    eager = set()
    for rule in rules:
        for i, statement in enumerate(getattr(rule.test, "parts", ((), ()))[0]):
            if statement.kind == "number":
                numericUses[statement.name] = numericUses.get(statement.name, 0) + 1
                if i == 0:
                    eager.add(statement.name)
    numbers = {}  # field name -> its number's variable
    first = []  # what the body starts with: those variables' values

    def numberCode(field):
        # number(), without a call for the usual text of digits.
        # (int() takes up to 640 digits whatever sys.set_int_max_str_digits says.)
        return f"(int({field}) if {field}.isdecimal() and len({field}) < 640 else _number({field}))"

    def statementCode(statement):
        kind, name, value = statement
        if kind == "const":
            return "True" if value else "False"
        if kind == "number":
            operator_, right = value
            made = numberCode(read(name))
            if name in eager or numericUses[name] > 1:
                if name not in numbers:
                    numbers[name] = f"g{len(numbers)}"
                    first.append(f"{numbers[name]} = {made if name in eager else '_UNSET'}")
                cached = numbers[name]
                if name in eager:
                    return f"{cached} is not None and {cached} {operator_} {code.constant(right)}"
                made = f"({cached} if {cached} is not _UNSET else ({cached} := {made}))"
            return f"(n := {made}) is not None and n {operator_} {code.constant(right)}"
        field = read(name)
        test = _STATEMENT_CODE[kind].format(f=field, v=code.constant(value))
        if kind not in _MATCH_STATEMENTS:
            return test
        pattern = getattr(value, "__self__", None)
        if isinstance(pattern, re.Pattern) and kind in ("ct", "nc"):
            found = literalSearch(pattern)
            if found is not None:  # A str method, as quick on "" as a test for "".
                test, literal = found
                literal = code.constant(literal)
                if test == "in":
                    return f"{literal} {'in' if kind == 'ct' else 'not in'} {field}"
                return f"{'' if kind == 'ct' else 'not '}{field}.startswith({literal})"
        if isinstance(pattern, re.Pattern) and kind in ("ct", "nc"):
            words = caselessWords(pattern)
            if words is not None:
                # An ASCII value: lower-cased, one case-sensitive search of
                # the words as a trie; else the pattern itself.
                quick = code.constant(re.compile(_wordTrie(words)).search)
                slow = code.constant(pattern.search)
                hit = (f"({quick}({field}.lower()) if {field}.isascii()"
                       f" else {slow}({field}))")
                test = f"{hit} is {'not ' if kind == 'ct' else ''}None"
        if isinstance(pattern, re.Pattern):
            test = _prefiltered(kind, pattern, field, code) or test
            # A regex with a literal of its own runs on few values already
            # (its "literal in field" test is as quick as a scan's report).
            ident = None
            if prefilter is not None and (scanBelow == 0 or len(requiredLiteral(pattern)) < (
                    _SCAN_BELOW if scanBelow is None else scanBelow)):
                ident = prefilter(field, pattern)
            if ident is not None and kind in ("ct", "nc"):
                if gates is not None and kind == "ct" and not statementPredicate(statement)({}):
                    gates[statement] = ident
                ident = code.constant(ident)
                test = (f"{ident} in maybe and ({test})" if kind == "ct"
                        else f"{ident} not in maybe or ({test})")
        # An empty field (a group that did not take part, a field the record
        # lacks) gives what it gives on every line.
        empty = statementPredicate(statement)({})
        return f"(({test}) if {field} else {empty})"

    body = []
    conditions = {}
    constant = True
    for rule in rules:
        parts = getattr(rule.test, "parts", None)
        if parts is None:
            test = custom(rule)
            if test is None:
                return None
        elif len(parts[0]) == 1 and parts[0][0].kind == "const":
            test = "True" if parts[0][0].value else "False"
        elif parts in conditions:
            test = conditions[parts]
        else:
            statements, ands = parts
            test = conditions[parts] = f"c{len(conditions)}"
            body.append(f"{test} = {statementCode(statements[0])}")
            for isAnd, statement in zip(ands, statements[1:]):
                body.append(f"if {'' if isAnd else 'not '}{test}:")
                body.append(f"    {test} = {statementCode(statement)}")
        action = rule.action
        if action.kind != "display":
            before = []
            line = f"append({code.constant(Taken(rule, action.kind, action.severity, icon=action.icon))})"
        else:
            before, pairs = display(action.fields) if action.fields else whole()
            line = f"append(_new(Taken, ({code.constant(rule)}, 'display', None, {pairs}, None)))"
            constant = False
        if test == "True":
            body += before + [line]
        elif test != "False":
            constant = False
            body.append(f"if {test}:")
            body += [f"    {statement}" for statement in before + [line]]
    return first + body, constant


def _function(head, body, constant):
    """
    The source of a generated function: C{head} (its C{def} and first
    statements), then C{body} (L{_rulesBody}'s) in a list it returns, or
    its one drop when C{body} took no action.
    """
    if constant:  # Only unconditional appends: the list is made at once.
        made = ", ".join(line[len("append("):-1] for line in body if line.startswith("append("))
        return head + [f"    return [{made or '_DROP'}]"]
    return head + ["    taken = []", "    append = taken.append",
                   *(f"    {line}" for line in body), "    return taken or [_DROP]"]


def compileEvaluator(rules):
    """
    One function C{(fields, order) -> [Taken]} doing what evaluating each of
    C{rules} (one application's, in file order) on a record does, as Python
    code generated for them (L{_rulesBody}): each field the conditions read
    is looked up once, a condition two rules share is evaluated once, the
    actions that do not depend on the record are made once.

    The generated source holds only names it makes up (C{f0}, C{k3}...);
    every value of the rules (field names, strings, regexes) is bound to
    such a name, never written into the code.  A rule whose test is not a
    L{compileCondition} predicate (no C{parts}) is called as it is.
    """
    code = _Code()
    fieldNames = {}

    def read(name):
        if name not in fieldNames:
            fieldNames[name] = f"f{len(fieldNames)}"
        return fieldNames[name]

    def display(names):
        values = []
        for name in names:
            value = fieldNames.get(name) or f"get({code.constant(name)}, '')"
            values.append(f"({code.constant(name)}, {value}), ")
        return [], f"({''.join(values)})"

    def whole():
        return [], "_whole(fields, order)"

    body, constant = _rulesBody(rules, code, read, display, whole,
                                lambda rule: f"{code.constant(rule.test)}(fields)")
    head = ["def evaluate(fields, order):", "    get = fields.get",
            *(f"    {var} = get({code.constant(name)}, '')" for name, var in fieldNames.items())]
    try:
        return code.function(_function(head, body, constant and not fieldNames))
    except _TOO_BIG:
        # Beyond what the compiler takes (a rules file of a size never seen):
        # the same, rule by rule.
        return evaluateEach(tuple(rules))


def compileLineEvaluator(rules, application="", block=None, prefilter=None):
    """
    One function C{(line, host) -> [Taken]} giving what L{compileEvaluator}'s
    function gives on the record of C{line} whose application is
    C{application} and whose fields C{block} (a L{Filter}, or C{None}: a
    line no block selects) parses, C{host(line)} giving the record's C{(ip,
    loghost)} — without making the record: C{line} is parsed only when a
    rule reads a field of the block (or shows the whole record), and only
    the fields the rules read are taken from it; C{host} is called only
    when a rule reads C{ip} or C{loghost}.

    With C{prefilter} (C{regex -> id or None}), the function takes a third
    argument, C{maybe}: the ids of the regexes a scan of the line found may
    match in it (L{widenedRegex}); a C{ct} or C{nc} statement on the line
    or one of its fields runs its regex only when C{maybe} holds its id
    (by default, L{_ALL}: always).

    @return: the function, or C{None} when a rule's test is not a
        L{compileCondition} predicate or the code is too big to compile.
    """
    code = _Code()
    names = () if block is None else block.fieldNames
    if block is not None and block.fields is not None:
        # groups("")[i] is group i + 1, "" when it did not take part: what
        # groupdict("") gives by name.
        where = {name: number_ - 1 for name, number_ in block.fields.groupindex.items()}
    elif block is not None and block.separator is not None:
        where = {name: i for i, name in enumerate(names)}  # a repeated name: the last
    else:
        names, where = (), {}
    hasSource = "source" in where
    parsed = {}  # a field of the block -> its variable ("" when the line does not parse)
    made = set()  # of "src_ip", "src_port", when made from source
    # Whether host() is called before the rules, or by a display; whether
    # a display shows the whole record (ok: the line parsed).
    uses = {"top": False, "lazy": False, "ok": False}

    def value(name, lazy):
        # The record's fields: the built-in ones win over the block's, the
        # block's src_ip/src_port over those made from source.
        if name == "application":
            return code.constant(application)
        if name == "line":
            return "line"
        if name in ("ip", "loghost"):
            uses["top"] = uses["top"] or not lazy
            return "hip" if name == "ip" else "hlog"
        if name in where:
            if name not in parsed:
                parsed[name] = f"p{len(parsed)}"
            return parsed[name]
        if name in SOURCE_FIELDS and hasSource:
            value("source", lazy)
            made.add(name)
            return "sip" if name == "src_ip" else "sport"
        return "''"

    def pairs(fieldNames):
        # A display shows ip or loghost: host() is called then, if not before.
        values = "".join(f"({code.constant(name)}, {value(name, True)}), "
                         for name in fieldNames)
        if not {"ip", "loghost"}.intersection(fieldNames):
            return [], f"({values})"
        uses["lazy"] = True
        return ["if hip is None:", "    hip, hlog = host(line)"], f"({values})"

    lineOnly = f"(({code.constant('line')}, line),)"

    def whole():
        if not names:
            return [], lineOnly
        uses["ok"] = True
        first, shown = pairs(names)
        return first, f"({shown} if ok else {lineOnly})"

    def linePrefilter(field, pattern):
        # The line and the block's fields are text of the line: a regex
        # finding something in them finds it in the line.
        if prefilter is not None and (field == "line" or field in parsed.values()):
            return prefilter(pattern)
        return None

    gates = {}
    scanBelow = None
    if (prefilter is not None and _decidedWhenScanned(rules, where, 0)
            and not _decidedWhenScanned(rules, where, None)):
        # Its actions are known from the scan alone when every regex of
        # its statements is scanned for, those with a literal of their
        # own too: a line whose scan found none of them is not parsed.
        scanBelow = 0
    found = _rulesBody(rules, code, lambda name: value(name, False), pairs, whole,
                       lambda rule: None, linePrefilter, gates, scanBelow)
    if found is None:
        return None
    body, constant = found
    head = ["def evaluate(line, host, maybe=_ALL):"]
    if parsed or uses["ok"]:
        empty = " = ".join([*parsed.values(), *(("sip", "sport") if made else ())])
        if block.fields is not None:
            head += [f"    groups = {code.constant(fieldGroups(block.fields))}(line)",
                     "    ok = groups is not None", "    if ok:"]
            values = {name: f"groups[{where[name]}]" for name in parsed}
        else:
            count = len(names)
            head += [f"    values = line.split({code.constant(block.separator)}, {count - 1})",
                     f"    ok = len(values) == {count}", "    if ok:"]
            values = {name: f"values[{where[name]}]" for name in parsed}
        head += [f"        {var} = {values[name]}" for name, var in parsed.items()]
        if made:
            head.append(f"        sip, sport = _split({parsed['source']})")
        if empty:
            head += ["    else:", f"        {empty} = ''"]
        elif head[-1] == "    if ok:":
            head.append("        pass")
    if uses["top"]:
        head.append("    hip, hlog = host(line)")
    elif uses["lazy"]:
        head.append("    hip = hlog = None")
    try:
        evaluate = code.function(_function(head, body, constant))
    except _TOO_BIG:
        return None
    evaluate.decided = decidedActions(rules, gates)
    return evaluate


def _decidedWhenScanned(rules, where, scanBelow):
    """
    Whether L{decidedActions} knows the actions of C{rules} from a scan
    (C{where}: the fields of their block) when the regexes scanned for are
    those L{_rulesBody} gives its C{prefilter} with C{scanBelow} (C{None}:
    those with a short literal, L{_SCAN_BELOW}; C{0}: all that have a
    widened form): what L{compileLineEvaluator} would gate, found without
    compiling.
    """
    fields = {}
    ids = {}

    def read(name):
        if name == "line":
            return "line"
        if name in where:
            return fields.setdefault(name, f"p{len(fields)}")
        return "''"

    def prefilter(field, pattern):
        if (field == "line" or field in fields.values()) and widenedRegex(pattern) is not None:
            return ids.setdefault((pattern.pattern, pattern.flags), len(ids))
        return None

    gates = {}
    found = _rulesBody(rules, _Code(), read, lambda names: ([], "()"), lambda: ([], "()"),
                       lambda rule: None, prefilter, gates, scanBelow)
    return found is not None and decidedActions(rules, gates) is not None


def decidedActions(rules, gates):
    """
    C{(gate, taken)}: what a function of L{compileLineEvaluator} returns,
    C{list(taken)}, on any line whose C{maybe} holds none of the ids of
    C{gate} -- when that does not depend on the line; else C{None}.

    It does not when a condition's value is not decided: a statement is
    known only if it is a constant, or a C{ct} statement of C{gates}
    (C{{statement: id}}, as L{_rulesBody} fills it: its code is false when
    C{maybe} lacks its id, whatever the record holds); AND and OR fold the
    known and unknown values strictly left to right (false AND anything is
    false, true OR anything is true); and a C{display} action a decided
    rule takes shows the record.  An empty C{gate}: the same actions on
    every line (C{*,*,reject}).
    """
    def known(statement):
        if statement.kind == "const":
            return bool(statement.value)
        if statement in gates:
            return False
        return None

    taken = []
    for rule in rules:
        parts = getattr(rule.test, "parts", None)
        if parts is None:
            return None
        statements, ands = parts
        value = known(statements[0])
        for isAnd, statement in zip(ands, statements[1:]):
            if value is (not isAnd):  # false AND x, true OR x: the value stays
                continue
            following = known(statement)
            if value is None:
                # Unknown AND false is false, unknown OR true is true.
                value = following if following is (not isAnd) else None
            else:
                value = following
        if value is None:
            return None
        if value:
            action = rule.action
            if action.kind == "display":
                return None
            taken.append(Taken(rule, action.kind, action.severity, icon=action.icon))
    return frozenset(gates.values()), tuple(taken) or (_DROP,)


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
        # The widened regexes of the rules' ct/nc statements on the line and
        # its fields, scanned with the blocks' (actionsScanned): a statement
        # whose regex the scan did not find in a line is not run on it.
        self._statements = []
        self._statementSources = []
        self._statementIds = {}
        prefilter = self._prefilter if _hyperscanInstalled() else None
        self._plans = tuple(
            _Plan(block, self._evaluatorFor(block.name),
                  compileLineEvaluator(self.rulesFor(block.name), block.name, block,
                                       prefilter))
            for block in self.filters)
        self._nothing = _Plan(None, self._evaluatorFor(""),
                              compileLineEvaluator(self.rulesFor(""), prefilter=prefilter))
        self._streams = {}
        self._named = {}
        self._loops = {}
        self._scanners = {}
        self._hsRefused = {}

    def _prefilter(self, regex):
        """The id of C{regex}'s widened form among the scanned statements, or C{None}."""
        key = (regex.pattern, regex.flags)
        ident = self._statementIds.get(key, _UNSET)
        if ident is _UNSET:
            ident = None
            widened = widenedRegex(regex)
            if widened is not None:
                ident = len(self._statements)
                self._statements.append(widened)
                self._statementSources.append(regex)
            self._statementIds[key] = ident
        return ident

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
        return _tupleNew(LogIdsRecord, (plan.application, *plan.fields(line, ip, loghost)))

    def recordFor(self, line, ip="", stream="", hostname="", application=None):
        """
        The record of C{line}: the first filter block that selects it (its
        C{file} glob on C{stream}, its C{match} on the line) gives the
        application and fields.  C{ip} is the reporting host's address;
        C{loghost} is its netdef name, else C{hostname}, else C{ip}.

        @param application: the line's application, when the caller knows
            it (from L{actions}): its block is then not looked for again.
        """
        plan = None
        if application is not None:
            plan = self._namedPlans(stream).get(application)
        if plan is None:
            plan = self._select(line, self._candidates(stream))
        return self._record(plan, line, ip, self.netdef.name(ip) or hostname or ip)

    def _namedPlans(self, stream):
        """C{{application: plan}} of the blocks of C{stream} (names are unique)."""
        named = self._named.get(stream)
        if named is None:
            plans = [plan for _, _, plan in self._candidates(stream)]
            if not plans or plans[-1].filter.match is not None:
                plans.append(self._nothing)
            named = {plan.application: plan for plan in plans}
            if len(self._named) >= _CACHE_SIZE:
                self._named.clear()
            self._named[stream] = named
        return named

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

    def _hostOf(self, ip, hostname):
        """
        C{line -> (ip, loghost)}: the reporting host of a line, as
        L{analyseLines} takes it from C{ip} and C{hostname} (C{None}: the
        line's syslog header's).
        """
        if ip is not None and hostname is not None:
            known = (ip, self.netdef.name(ip) or hostname or ip)
            return lambda line: known
        header = _SYSLOG_HOST
        netdefName = self.netdef.name
        hosts = {}  # the header's host: (ip, loghost)

        def host(line):
            found = header(line)
            name = found.group(1) if found else ""
            known = hosts.get(name)
            if known is None:
                lineIp = ip if ip is not None else (name if isAddress(name) else "")
                shown = name if hostname is None else hostname
                if len(hosts) >= _CACHE_SIZE:
                    hosts.clear()
                known = hosts[name] = (lineIp, netdefName(lineIp) or shown or lineIp)
            return known
        return host

    def actions(self, lines, ip="", stream="", hostname=""):
        """
        What L{analyseLines} finds, without the records: yields
        C{(application, taken)} for each of C{lines}, in order, C{taken}
        being what L{evaluate} returns on the line's record (C{ip} and
        C{hostname} as for L{analyseLines}).

        Quicker: a line is parsed only when a rule of its application reads
        a field of its filter block, and only the fields the rules read are
        taken from it; its syslog header is read only when a rule reads
        C{ip} or C{loghost}.
        """
        return self._loopFor(stream)(lines, self._hostOf(ip, hostname))

    def actionsScanned(self, lines, text=None, ip="", stream="", hostname=""):
        """
        What L{actions} yields, the blocks chosen by one Hyperscan scan of
        the batch (C{text}: C{"\\n".join(lines)} if the caller has it) for
        every block's C{match}: a line runs the C{match} regexes of the
        blocks the scan named only, and a line it named for none goes to
        the rules of no block without a regex.  Without Hyperscan, or for a
        block it cannot read, L{actions}.  L{actionsGrouped}'s groups, in
        line order.
        """
        grouped = self.actionsGrouped(lines, text, ip, stream, hostname)
        if grouped is None:
            return self.actions(lines, ip, stream, hostname)
        # The groups' actions put back in line order.
        decided, each = grouped
        out = [None] * len(lines)
        for application, taken, indexes in decided:
            for index in indexes:
                out[index] = (application, list(taken))
        for index, application, taken in each:
            out[index] = (application, taken)
        return iter(out)

    def actionsGrouped(self, lines, text=None, ip="", stream="", hostname=""):
        """
        What L{actions} gives, the blocks and statements chosen by one
        Hyperscan scan of the batch, by groups of lines: C{(decided,
        each)}, C{decided} a list of C{(application, actions, indexes)} for
        the lines whose actions the scan alone decided (the same for all
        of C{indexes}: every line that found the same patterns, which chose
        its block without a search and no statement of which can hold),
        C{each} a list of C{(index, application, actions)} for the other
        lines, each run on its own.  Every line of the batch is in one of
        them, once; neither is in line order.  Most lines of a log are
        decided (the rejects, the automatic drops, the displays of a whole
        block), and their caller counts them by the group, not once a
        line.  C{None} where the batch cannot be scanned (no Hyperscan, no
        block it can read, lines it cannot join): L{actions} then.
        """
        scanner = self._scannerOf(stream)
        if scanner is None or not lines:
            return None
        if text is None:
            text = "\n".join(lines)
        from mice.analysis.aaregex import joinsLines

        scan, blocks, last, first, exact, remap, always = scanner
        if not joinsLines(text, lines):
            return None
        host = self._hostOf(ip, hostname)
        groups, unsure = scan.groupsOf(lines, text)
        nothing = _NONE if first else _ALL
        decided = []
        each = []
        add = each.append
        for named, indexes in groups.items():
            if remap is not None:
                # Idents of the patterns given (not of those compiled), and
                # those Hyperscan refused, as if found in every line.
                named = frozenset(remap[i] for i in named) | always
            if named:
                plan, sure = _blockNamed(named, lines[indexes[0]], blocks, exact, first, last)
                maybe = named if first else nothing
            else:
                plan, sure, maybe = last, True, nothing
            if sure:
                known = _decided(plan, maybe)
                if known is not None:
                    decided.append((plan.application, tuple(known), indexes))
                    continue
                run, application = plan.run, plan.application
                for index in indexes:
                    add((index, application, run(lines[index], host, maybe)))
                continue
            for index in indexes:
                line = lines[index]
                plan, _ = _blockNamed(named, line, blocks, exact, first, last)
                add((index, plan.application, _planActions(plan, line, host, maybe)))
        if unsure:
            candidates = self._candidates(stream)
            for index in unsure:
                line = lines[index]
                plan = self._select(line, candidates)
                add((index, plan.application, _planActions(plan, line, host, _ALL)))
        return decided, each

    def _scannerOf(self, stream):
        """L{_blockScanner}C{(stream)}, made once a stream (a bounded cache)."""
        scanner = self._scanners.get(stream, _UNSET)
        if scanner is _UNSET:
            scanner = self._blockScanner(stream)
            if len(self._scanners) >= _CACHE_SIZE:
                self._scanners.clear()
            self._scanners[stream] = scanner
        return scanner

    def _blockScanner(self, stream):
        """
        C{(scan, blocks, last, first, exact)} for the blocks of C{stream}:
        the Hyperscan patterns of the statements' widened regexes (the
        first C{first}) and of the blocks' C{match} regexes in file order,
        the blocks' plans, the plan of a line none selects, and for each
        block whether its regex was compiled exactly; C{None} without
        Hyperscan.
        """
        try:
            from mice.analysis.aaregex import HyperscanPatterns
        except ImportError:  # pragma: no cover
            return None
        blocks = []
        last = self._nothing
        for _, _, plan in self._candidates(stream):
            if plan.filter.match is None:
                last = plan
                break
            blocks.append(plan)
        if not blocks:
            return None
        matching = [_Matching(plan.filter.match) for plan in blocks]
        statements = [_Matching(regex) for regex in self._statements]
        first = len(statements)
        try:
            # The blocks' regexes exactly where Hyperscan can: a line it
            # finds one in is that block's without a search.
            scan = HyperscanPatterns(statements + matching, exact=range(
                first, first + len(matching)))
        except ImportError:
            return None
        self._hsRefused[stream] = tuple(
            (blocks[i - first].filter if i >= first else self._statementSources[i], reason)
            for i, reason in scan.refused)
        if not scan.patterns:
            return None
        exactly = frozenset(scan.indexes[i] for i in scan.exact)
        exact = tuple(first + i in exactly for i in range(len(blocks)))
        remap = always = None
        if scan.refused:
            # A pattern Hyperscan refused may be in any line: its block is
            # tried (by re), its statement run, as if the scan had named it.
            remap = scan.indexes
            always = frozenset(i for i, _ in scan.refused)
        return scan, tuple(blocks), last, first, exact, remap, always

    def hyperscanNotes(self, stream=""):
        """
        One line for each filter block's C{match} and each rule's C{ct}/C{nc}
        regex (its widened form) that the Hyperscan scan of C{stream}'s
        blocks (L{actionsScanned}) cannot scan for: they are tried with
        C{re} on every line, the others stay on Hyperscan.  Empty without
        Hyperscan or when it takes them all.
        """
        return [f"{where}: {message}" for where, message in self.hyperscanWarnings(stream)]

    def hyperscanWarnings(self, stream=""):
        """L{hyperscanNotes} as C{(file:line, message)}."""
        if not _hyperscanInstalled():
            return []
        if stream not in self._scanners:
            self._scanners[stream] = self._blockScanner(stream)
        notes = []
        for what, reason in self._hsRefused.get(stream, ()):
            if isinstance(what, Filter):
                where = f"{what.path}:{what.line}" if what.path else "filter"
                notes.append((where, f"[{what.name}] match {what.match.pattern!r} is not on"
                                     f" Hyperscan: {reason}; it is searched with re in every"
                                     f" line (slower), the other blocks stay on Hyperscan"))
            else:
                rules = [rule for rule in self.rules if what.pattern in rule.condition
                         or what.pattern.replace(" ", "_") in rule.condition]
                where = rules[0].where if rules else "rules"
                notes.append((where, f"the regex {what.pattern!r} is not on Hyperscan:"
                                     f" {reason}; its statements run on every line (slower)"))
        return notes

    def _loopFor(self, stream):
        """
        The loop of L{actions} for the lines of C{stream}: C{(lines, host)
        -> iterator}, generated code trying the blocks of
        L{_candidates}C{(stream)} one after the other, as L{_select} does.
        """
        try:
            return self._loops[stream]
        except KeyError:
            pass
        candidates = self._candidates(stream)
        code = _Code()
        source = ["def actions(lines, host):", "    for line in lines:"]
        last = self._nothing
        for _, search, plan in candidates:
            if plan.filter.match is None:  # It selects every line (the last candidate).
                last = plan
                break
            test = f"{code.constant(search)}(line) is not None"
            held = [f"{code.constant(text)} in line" for text in plan.literals if text]
            if held:
                test = f"({' or '.join(held)}) and {test}"
            source += [f"        {'elif' if len(source) > 2 else 'if'} {test}:",
                       f"            yield {code.constant(plan.application)},"
                       f" {code.constant(plan.run)}(line, host)"]
        yieldLast = (f"yield {code.constant(last.application)},"
                     f" {code.constant(last.run)}(line, host)")
        if len(source) > 2:
            source += ["        else:", f"            {yieldLast}"]
        else:
            source.append(f"        {yieldLast}")
        try:
            loop = code.function(source)
        except _TOO_BIG:  # Blocks beyond count: the same, block by block.
            loop = partial(_actionsLoop, tuple(
                (literal, search, plan.run, plan.application)
                for literal, search, plan in candidates), self._nothing)
        if len(self._loops) >= _CACHE_SIZE:
            self._loops.clear()
        self._loops[stream] = loop
        return loop


def _blockNamed(named, line, blocks, exact, first, last):
    """
    C{(plan, sure)}: the plan of the first block, in file order, that the
    scan named for C{line} (C{named}: its pattern ids, the blocks' from
    C{first} on) and whose regex matches it, else C{last}; C{sure} when
    that did not depend on the line (no block's regex was searched in it).
    """
    sure = True
    for ident in sorted(named):
        if ident >= first:
            block = ident - first
            if exact[block]:
                return blocks[block], sure
            sure = False
            if blocks[block].search(line) is not None:
                return blocks[block], False
    return last, sure


def _decided(plan, maybe):
    """
    The actions of C{plan} on any line whose scan found C{maybe} (the
    statements' regexes it may hold, L{_ALL} when not scanned), if they do
    not depend on the line (L{decidedActions}), else C{None}.
    """
    gate = plan.gate
    if gate is not None and (not gate or (maybe is not _ALL and gate.isdisjoint(maybe))):
        return plan.decided
    return None


def _planActions(plan, line, host, maybe):
    """The actions of C{plan} on C{line} (the scan found C{maybe} in it)."""
    known = _decided(plan, maybe)
    return list(known) if known is not None else plan.run(line, host, maybe)


def _hyperscanInstalled():
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


class _Matching(NamedTuple):
    """A block's C{match}, as L{mice.analysis.aaregex.HyperscanPatterns} takes a pattern."""

    regex: re.Pattern


def _actionsLoop(candidates, nothing, lines, host):
    """L{LogIdsEngine._loopFor}'s loop, for blocks beyond what the compiler takes."""
    for line in lines:
        # The first block that selects the line: its run and application
        # are the loop's variables when it breaks.
        for literal, search, run, application in candidates:  # noqa: B007
            if literal in line and search(line) is not None:
                break
        else:
            run, application = nothing.run, nothing.application
        yield application, run(line, host)
