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
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import NamedTuple

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
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


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
    parts = text.split(".")
    if len(parts) == 4 and "*" in parts and all(
            p == "*" or re.fullmatch(_OCTET, p) for p in parts):
        regex = re.compile(r"\.".join(_OCTET if p == "*" else re.escape(p) for p in parts))
        fullmatch = regex.fullmatch
        return lambda value: fullmatch(value) is not None
    if "/" in text and (re.fullmatch(r"[\d.]+/\d+", text)
                        or re.fullmatch(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/\d+", text)):
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None

        def inNetwork(value):
            address = _address(value)
            return address is not None and address.version == network.version \
                and address in network
        return inNetwork
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


def _always(fields):
    return True


def _never(fields):
    return False


def compileStatement(name, condition, raw):
    """
    One C{expr1 cond expr2} statement as a predicate on a field dict.

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
            return _never
        compare = {"=": operator.eq, "==": operator.eq, "<=": operator.le,
                   ">=": operator.ge, "!=": operator.ne}[cond]

        def numeric(fields):
            left = number(fields.get(name, ""))
            return left is not None and compare(left, right)
        return numeric

    if cond in REGEX_CONDITIONS:
        try:
            search = re.compile(value).search
        except re.error as e:
            raise ValueError(f"{cond} {raw!r}: not a regular expression: {e}") from None
        if cond == "ct":
            return lambda fields: search(fields.get(name, "")) is not None
        return lambda fields: search(fields.get(name, "")) is None

    if cond in ("eq", "ne"):
        if value == "*":
            matches = _always
        else:
            pattern = ipPattern(value)
            if pattern is not None:
                def matches(fields):
                    return pattern(fields.get(name, ""))
            else:
                def matches(fields):
                    return fields.get(name, "") == value
        if cond == "eq":
            return matches
        return lambda fields: not matches(fields)

    if cond == "gt":
        return lambda fields: fields.get(name, "") > value
    if cond == "ge":
        return lambda fields: fields.get(name, "") >= value
    if cond == "lt":
        return lambda fields: fields.get(name, "") < value
    return lambda fields: fields.get(name, "") <= value


def compileCondition(text):
    """
    A rule's condition as a predicate on a field dict: C{*}, or statements
    joined by C{AND}/C{OR}, folded strictly left to right.

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
        statements.append(compileStatement(*tokens[i:i + 3]))
    first = statements[0]
    if len(statements) == 1:
        return first
    rest = tuple(zip(ands, statements[1:]))

    def fold(fields):
        value = first(fields)
        for isAnd, statement in rest:
            # Sequential: (value AND next) or (value OR next), no precedence.
            if isAnd:
                value = value and statement(fields)
            else:
                value = value or statement(fields)
        return value
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


class LogIdsEngine:
    """
    Rules, filters and netdef, compiled: L{recordFor} a line, then
    L{evaluate} the record.
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

    def recordFor(self, line, ip="", stream="", hostname=""):
        """
        The record of C{line}: the first filter block that selects it (its
        C{file} glob on C{stream}, its C{match} on the line) gives the
        application and fields.  C{ip} is the reporting host's address;
        C{loghost} is its netdef name, else C{hostname}, else C{ip}.
        """
        application = ""
        parsed = ()
        for block in self.filters:
            if block.selects(line, stream):
                application = block.name
                parsed = block.parse(line)
                break
        fields = dict(parsed)
        if "source" in fields:
            srcIp, srcPort = splitSource(fields["source"])
            fields.setdefault("src_ip", srcIp)
            fields.setdefault("src_port", srcPort)
        fields["application"] = application
        fields["ip"] = ip
        fields["loghost"] = self.netdef.name(ip) or hostname or ip
        fields["line"] = line
        return LogIdsRecord(application, fields, tuple(name for name, _ in parsed))

    def rulesFor(self, application):
        """The rules that apply to C{application}'s records, in file order."""
        return self._byApplication.get(application.casefold(), self._catchAll)

    def evaluate(self, record):
        """
        Every action the rules take on C{record}, in rules file order; a
        record no rule matched is dropped (one L{Taken} with rule C{None}).
        """
        fields = record.fields
        taken = []
        for rule in self.rulesFor(record.application):
            if rule.test(fields):
                action = rule.action
                if action.kind == "display":
                    names = action.fields or record.order or ("line",)
                    taken.append(Taken(rule, "display",
                                       fields=tuple((n, fields.get(n, "")) for n in names)))
                else:
                    taken.append(Taken(rule, action.kind, action.severity, icon=action.icon))
        if not taken:
            taken.append(Taken(None, "drop"))
        return taken
