# -*- test-case-name: tests.unit.analysis.test_correlation -*-
"""
Thresholds and correlation on event time: the correlation stage of the
ManagementHost (and of C{mice analyze --correlate}).

A rules file (L{loadCorrelation}, format in C{docs/correlation.rst}) holds
rules of two kinds:

  - I{threshold}: C{COUNT} alerts whose id is one of C{ALERT_ID} with the
    same C{KEY} (source address, user, target host, or a combination)
    within C{WINDOW} seconds of event time make a new alert
    (C{NEW_ALERT_ID}): "5 failed logins from one address within 60 s";
  - I{distinct}: alerts with the same C{KEY} showing C{COUNT} different
    values of C{DISTINCT} (hosts, sources...) within C{WINDOW}: "failures
    against one account from 5 sources", "one attack against 3 hosts".

Once a rule fired for a key, it does not fire again for that key for
C{SUPPRESS} seconds of event time, and the next alert needs C{COUNT} new
pieces of evidence.

Event time is the alert's DetectTime (else CreateTime): the log's own
timestamp.  Alerts are held in a reorder buffer until the watermark (the
latest event time seen) has passed them by C{LATENESS} seconds, then
counted in event-time order (ties in analyzer and message id order), so
the same alerts give the same correlated alerts whatever order they
arrived in within that tolerance and however they were split into
batches: a replayed backlog gives what live traffic gave.  An alert
older than what was already counted is I{late}: it is not counted, and
L{Correlator.counts} says so.  So that live traffic is not held forever
when nothing newer comes, L{Correlator.advance} counts what has waited
C{LATENESS} seconds of processing time.

Memory is bounded: a rule keeps at most C{COUNT} pieces of evidence per
key, a key whose window and suppression are over is forgotten, at most
C{MAX_KEYS} keys per rule are kept (the least recently seen are evicted
beyond that, counted), and the reorder buffer holds at most
C{MAX_PENDING} alerts.  The whole state is L{Correlator.checkpoint}
bytes that a new L{Correlator} continues from (C{state=}).

Pure: no reactor, no I/O but L{loadCorrelation} reading its file; time
is passed in.
"""

import hashlib
import heapq
import json
import os
import zlib
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

from mice.alerts import SEVERITIES, Alert, Correlation, Node
from mice.config.errors import ConfigError, ConfigErrors
from mice.config.ini import _readText, parseIni

#: The default correlation rules (0x9010, 0x9020, 0x9030).
DEFAULT_RULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "data", "default", "correlation.conf")

#: The analyzer id of correlated alerts unless told otherwise.
ANALYZER_ID = "MICE-Correlation"

#: The options section of a rules file.
OPTIONS = "OPTIONS"

THRESHOLD = "threshold"
DISTINCT = "distinct"

#: The largest COUNT a rule may have (its evidence is kept in memory, per key).
MAX_COUNT = 1000

#: Analyzers whose latest event time is kept (live: L{Correlator._frontier}).
MAX_ANALYZERS = 1000

_STATE_VERSION = 5
#: The versions of a checkpoint a Correlator continues from (3: before
#: alerts carried a weight, L{_weight}; 4: before windows kept the lines
#: they fired on).
_STATE_VERSIONS = (3, 4, 5)


def _firstOf(side, attribute):
    """
    C{alert -> str or None}: the C{attribute} of the first node of the
    alert's C{side} (C{sources} or C{targets}) that has one (not C{None} or
    empty), as text; in one call a field (the correlation stage reads
    several of each alert fed).
    """
    nodes = attrgetter(side)

    def first(alert):
        for node in nodes(alert):
            value = getattr(node, attribute)
            if value is not None and value != "":
                return str(value)
        return None
    return first


_targetHostname = _firstOf("targets", "hostname")
_targetAddress = _firstOf("targets", "address")
_targetUser = _firstOf("targets", "user")
_sourceUser = _firstOf("sources", "user")


def _weight(alert):
    """
    How many pieces of evidence an alert is: the times its log line's
    message came (its additional data C{repeated}, from rsyslog's "message
    repeated N times", L{mice.analysis.framing.repeatCount}), else 1; at
    most L{MAX_COUNT}, the most any rule counts.
    """
    value = alert.data("repeated")
    if value is None:
        return 1
    try:
        count = int(value)
    except (TypeError, ValueError):
        return 1
    return min(count, MAX_COUNT) if count > 1 else 1


def _host(alert):
    """The host an alert is about: its target's name or address, else its analyzer's host."""
    return _targetHostname(alert) or _targetAddress(alert) or alert.analyzerHost or None


#: The fields a KEY or DISTINCT may name, and how to read each from an alert.
FIELDS = {
    "source.address": _firstOf("sources", "address"),
    "source.hostname": _firstOf("sources", "hostname"),
    "source.user": _sourceUser,
    "target.address": _targetAddress,
    "target.hostname": _targetHostname,
    "target.user": _targetUser,
    "target.service": _firstOf("targets", "service"),
    "user": lambda a: _targetUser(a) or _sourceUser(a),
    "host": _host,
    "alertid": lambda a: None if a.alertId is None else "0x%04x" % a.alertId,
    "analyzer": lambda a: a.analyzerId,
    "analyzer.host": lambda a: a.analyzerHost or None,
}


@dataclass(frozen=True)
class CorrelationRule:
    name: str
    alertIds: frozenset
    key: tuple
    """Field names (L{FIELDS}); an alert lacking one of them is not counted."""
    count: int
    window: float
    newAlertId: int
    classification: str
    severity: str = "high"
    suppress: float = 0.0
    distinct: str | None = None
    """A field name: the rule counts its different values (L{DISTINCT});
    C{None}: it counts alerts (L{THRESHOLD})."""
    line: int = 0

    @property
    def kind(self):
        return THRESHOLD if self.distinct is None else DISTINCT

    @property
    def fingerprint(self):
        """What the rule's kept state depends on: changed, the state is dropped."""
        return [sorted(self.alertIds), list(self.key), self.count, self.window, self.distinct]


@dataclass(frozen=True)
class CorrelationRules:
    """A loaded rules file."""

    rules: tuple
    path: str = "<rules>"
    lateness: float = 10.0
    """Seconds of event time an alert may come after a later one and still count."""
    maxKeys: int = 10000
    """Keys kept per rule."""
    maxPending: int = 100000
    """Alerts held in the reorder buffer."""
    future: float = 300.0
    """Seconds an alert's event time may be ahead of the processing time
    (when one is given); further ahead it is taken as the processing time."""

    def interestedIn(self, alertId):
        return any(alertId in rule.alertIds for rule in self.rules)


# -- the rules file ----------------------------------------------------------

_RULE_KEYS = ("ALERT_ID", "KEY", "COUNT", "WINDOW", "NEW_ALERT_ID", "CLASSIFICATION",
              "SEVERITY", "SUPPRESS", "DISTINCT", "TYPE")
_OPTION_KEYS = ("LATENESS", "MAX_KEYS", "MAX_PENDING", "FUTURE")


def _number(text, what, kind=float, minimum=0, positive=False):
    try:
        value = kind(text, 0) if kind is int else kind(text)
    except ValueError:
        raise ValueError(f"{what} must be a{'n integer' if kind is int else ' number'},"
                         f" got {text!r}") from None
    if value < minimum or (positive and value <= 0) or value != value:
        raise ValueError(f"{what} must be {'above' if positive else 'at least'} {minimum},"
                         f" got {text!r}")
    return value


def _alertId(text, what):
    words = [word for word in text.replace(",", " ").split()]
    if not words:
        raise ValueError(f"{what} is empty")
    ids = []
    for word in words:
        first, dash, last = word.partition("-")
        try:
            low = int(first, 0)
            high = int(last, 0) if dash else low
        except ValueError:
            raise ValueError(f"{what}: {word!r} is not an alert id (0x1020) or a range"
                             " (0x7010-0x70ff)") from None
        if high < low or high - low > 0xffff:
            raise ValueError(f"{what}: {word!r} is not a range from low to high")
        ids.extend(range(low, high + 1))
    return ids


def _fields(text, what):
    names = [word.strip().lower() for word in text.split(",") if word.strip()]
    if not names:
        raise ValueError(f"{what} is empty")
    for name in names:
        if name not in FIELDS:
            raise ValueError(f"{what}: unknown field {name!r}; one of {', '.join(FIELDS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names a field twice")
    return tuple(names)


def loadCorrelationText(text, filename="<rules>"):
    """
    Parse a correlation rules file's text (see L{loadCorrelation}).
    """
    ini = parseIni(text, filename)
    errors = []
    options = {"lateness": 10.0, "maxKeys": 10000, "maxPending": 100000, "future": 300.0}
    rules = []
    newIds = {}

    def error(line, message):
        errors.append(ConfigError(filename, line, message))

    for section in ini.sections:
        values = {}
        for entry in section.entries:
            key = entry.key.upper()
            allowed = _OPTION_KEYS if section.name.upper() == OPTIONS else _RULE_KEYS
            if key not in allowed:
                error(entry.line, f"[{section.name}]: unknown key {entry.key!r}; expected one"
                                  f" of {', '.join(allowed)}")
            elif key in values and key != "ALERT_ID":
                error(entry.line, f"[{section.name}]: {key} given twice")
            elif key == "ALERT_ID" and key in values:
                values[key] = (values[key][0] + " " + entry.value, values[key][1])
            else:
                values[key] = (entry.value, entry.line)
        if section.name.upper() == OPTIONS:
            for key, attribute, kind in (("LATENESS", "lateness", float),
                                         ("MAX_KEYS", "maxKeys", int),
                                         ("MAX_PENDING", "maxPending", int),
                                         ("FUTURE", "future", float)):
                if key in values:
                    text, line = values[key]
                    try:
                        options[attribute] = _number(text, key, kind,
                                                     minimum=1 if kind is int else 0)
                    except ValueError as e:
                        error(line, str(e))
            continue
        rule = _rule(section, values, error)
        if rule is None:
            continue
        if rule.newAlertId in newIds:
            error(rule.line, f"[{section.name}]: NEW_ALERT_ID 0x{rule.newAlertId:04x} is"
                             f" already made by [{newIds[rule.newAlertId]}]; one rule per"
                             " correlated alert id")
        newIds[rule.newAlertId] = section.name
        if rule.newAlertId in rule.alertIds:
            error(rule.line, f"[{section.name}]: NEW_ALERT_ID is one of its own ALERT_ID")
        rules.append(rule)
    if errors:
        errors.sort(key=lambda e: e.line or 0)
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return CorrelationRules(tuple(rules), filename, **options)


def _rule(section, values, error):
    name = section.name
    missing = [key for key in ("ALERT_ID", "KEY", "COUNT", "WINDOW", "NEW_ALERT_ID")
               if key not in values]
    if missing:
        error(section.line, f"[{name}]: missing {', '.join(missing)}")
        return None
    parsed = {}

    def get(key, parse, default=None):
        if key not in values:
            return default
        text, line = values[key]
        try:
            return parse(text)
        except ValueError as e:
            error(line, f"[{name}]: {e}")
            parsed["bad"] = True
            return default

    alertIds = get("ALERT_ID", lambda t: _alertId(t, "ALERT_ID"), [])
    key = get("KEY", lambda t: _fields(t, "KEY"), ())
    count = get("COUNT", lambda t: _number(t, "COUNT", int, minimum=1), 1)
    if count > MAX_COUNT:
        error(values["COUNT"][1], f"[{name}]: COUNT must be at most {MAX_COUNT}")
        parsed["bad"] = True
    window = get("WINDOW", lambda t: _number(t, "WINDOW", positive=True), 1.0)
    newAlertId = get("NEW_ALERT_ID", lambda t: _alertId(t, "NEW_ALERT_ID"), [0])
    if len(newAlertId) != 1:
        error(values["NEW_ALERT_ID"][1], f"[{name}]: NEW_ALERT_ID is one alert id")
        parsed["bad"] = True
    suppress = get("SUPPRESS", lambda t: _number(t, "SUPPRESS"), window)
    distinct = get("DISTINCT", lambda t: _fields(t, "DISTINCT"), None)
    if distinct is not None and len(distinct) != 1:
        error(values["DISTINCT"][1], f"[{name}]: DISTINCT is one field")
        parsed["bad"] = True
    kind = get("TYPE", lambda t: t.strip().lower(), None)
    if kind is not None and kind not in (THRESHOLD, DISTINCT):
        error(values["TYPE"][1], f"[{name}]: TYPE must be {THRESHOLD} or {DISTINCT}")
        parsed["bad"] = True
    elif kind == DISTINCT and distinct is None:
        error(values["TYPE"][1], f"[{name}]: TYPE = distinct needs DISTINCT = FIELD")
        parsed["bad"] = True
    elif kind == THRESHOLD and distinct is not None:
        error(values["DISTINCT"][1], f"[{name}]: TYPE = threshold counts alerts; remove"
                                     " DISTINCT or say TYPE = distinct")
        parsed["bad"] = True
    severity = get("SEVERITY", lambda t: t.strip().lower(), "high")
    if severity not in SEVERITIES:
        error(values["SEVERITY"][1], f"[{name}]: SEVERITY must be one of"
                                     f" {', '.join(SEVERITIES)}")
        parsed["bad"] = True
    classification = values.get("CLASSIFICATION", (f"Correlated alert {name}", 0))[0]
    if parsed:
        return None
    return CorrelationRule(
        name=name, alertIds=frozenset(alertIds), key=key, count=count, window=window,
        newAlertId=newAlertId[0], classification=classification, severity=severity,
        suppress=suppress, distinct=distinct[0] if distinct else None, line=section.line)


def loadCorrelation(path):
    """
    Load a correlation rules file.

    @return: L{CorrelationRules}.
    @raise ConfigError: naming C{file:line} of each bad line
        (L{ConfigErrors} for several), or the file when it cannot be read.
    """
    return loadCorrelationText(_readText(path), path)


# -- event time --------------------------------------------------------------

_times = {}


def eventTime(alert):
    """
    The alert's event time in seconds since the epoch: its DetectTime,
    else its CreateTime (a time without a zone is UTC).

    @raise ValueError: the time is not ISO 8601.
    """
    return isoSeconds(alert.detectTime or alert.createTime)


def isoSeconds(text):
    """
    An ISO 8601 time in seconds since the epoch (without a zone: UTC), as
    L{eventTime} reads an alert's.

    @raise ValueError: not ISO 8601 (C{TypeError}: not text).
    """
    seconds = _times.get(text)
    if seconds is None:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp()
        if len(_times) >= 4096:
            _times.clear()
        _times[text] = seconds
    return seconds


def _iso(seconds):
    return datetime.fromtimestamp(seconds, UTC).isoformat()


# -- the engine --------------------------------------------------------------

class _Window:
    """One rule's evidence for one key."""

    __slots__ = ("entries", "lastFired", "lastSeen", "fired")

    def __init__(self, distinct, count):
        # threshold: the last COUNT (t, analyzerId, messageId, origin);
        # distinct: value -> (t, analyzerId, messageId, origin) of the last COUNT values.
        self.entries = OrderedDict() if distinct else deque(maxlen=count)
        self.lastFired = None
        self.lastSeen = None
        # The log lines (origins) of the evidence it last fired on: another
        # analyzer's alert of one of them is not new evidence either.
        self.fired = ()


class Correlator:
    """
    The correlation engine (see the module's docstring).

    @ivar counts: C{Counter}: C{alerts} fed that a rule is interested in,
        C{late} (older than what was counted, or fed again), C{duplicate}
        (fed again while held), C{bad time}, C{future} (event time
        clamped), C{evicted} (keys dropped over C{MAX_KEYS}), C{forced}
        (released early over C{MAX_PENDING}), C{correlated}.
    """

    def __init__(self, rules, analyzerId=ANALYZER_ID, state=None):
        self.rules = rules
        self.analyzerId = analyzerId
        self._byId = {}
        for index, rule in enumerate(rules.rules):
            for alertId in rule.alertIds:
                self._byId.setdefault(alertId, []).append(index)
        # Each rule's readers of its key's fields and of its distinct one.
        self._readers = [(tuple(FIELDS[name] for name in rule.key),
                          None if rule.distinct is None else FIELDS[rule.distinct])
                         for rule in rules.rules]
        self._windows = [OrderedDict() for _ in rules.rules]
        self._pending = []        # heap of (t, analyzerId, messageId)
        self._held = {}           # (analyzerId, messageId) -> (arrival, [(rule, key, value)])
        self._arrivals = deque()  # (arrival, order) of held alerts, in arrival order
        self._marks = {}          # analyzerId -> [its latest event time, its last arrival]
        self.watermark = None
        self.released = None      # the last (t, analyzerId, messageId) counted
        self.counts = Counter()
        if state is not None:
            self._restore(state)

    # feeding

    def feed(self, alert, now=None):
        """
        Count one alert.

        @param now: the processing time (clock seconds) it arrived at, for
            L{advance}; C{None} offline.
        @return: the correlated alerts (L{mice.alerts.Alert}) this made.
        """
        try:
            t = eventTime(alert)
        except (TypeError, ValueError):
            t = None
        return self.feedAt(alert, t, now)

    def feedAt(self, alert, t, now=None):
        """
        L{feed}, the alert's event time read already (C{mice analyze} reads
        it once per log line): C{t}, L{eventTime}C{(alert)}, C{None} when
        that raised.  C{alert} needs only what the rules read of it (its
        C{alertId}, C{analyzerId}, C{messageId}, the nodes and the origin).
        """
        indexes = self._byId.get(alert.alertId) if alert.alertId is not None else None
        if t is None:
            if indexes:
                self.counts["bad time"] += 1
            return []
        if now is not None and t > now + self.rules.future:
            self.counts["future"] += 1
            t = float(now)
        if indexes:
            self.counts["alerts"] += 1
            ident = (alert.analyzerId, alert.messageId)
            order = (t, *ident)
            if self.released is not None and order <= self.released:
                self.counts["late"] += 1
                return []
            if ident in self._held:
                self.counts["duplicate"] += 1
                return []
            matches = []
            readers = self._readers
            for index in indexes:
                fields, distinct = readers[index]
                key = ((fields[0](alert),) if len(fields) == 1
                       else tuple([field(alert) for field in fields]))
                if None in key:
                    continue
                value = None
                if distinct is not None:
                    value = distinct(alert)
                    if value is None:
                        continue
                matches.append((index, key, value))
            if matches:
                heapq.heappush(self._pending, order)
                self._held[ident] = (now, matches, alert.data("origin"), _weight(alert))
                if now is not None:
                    self._arrivals.append((now, order))
        if self.watermark is None or t > self.watermark:
            self.watermark = t
        out = []
        limit = self._frontier(alert.analyzerId, t, now) - self.rules.lateness
        pending = self._pending
        while pending and pending[0][0] < limit:
            self._count(heapq.heappop(pending), out)
        while len(pending) > self.rules.maxPending:
            self.counts["forced"] += 1
            self._count(heapq.heappop(pending), out)
        return out

    def _frontier(self, analyzerId, t, now):
        """
        The event time the held alerts are counted up to (less
        C{LATENESS}).  Offline (C{now} C{None}) the alerts come in the
        order of the log: the latest event time seen.  Live, analyzers
        (hosts) send at their own pace, a backlog after an outage faster
        than the others: the earliest of the latest event times of the
        analyzers heard from within C{LATENESS} seconds of processing time,
        so that one running ahead does not make the others late.
        """
        if now is None:
            return self.watermark
        marks = self._marks
        mark = marks.get(analyzerId)
        if mark is None:
            if len(marks) >= MAX_ANALYZERS:
                # Forget the one heard from longest ago.
                del marks[min(marks, key=lambda name: marks[name][1])]
            marks[analyzerId] = [t, now]
        else:
            if t > mark[0]:
                mark[0] = t
            mark[1] = now
        quiet = now - self.rules.lateness
        return min(time for time, arrival in marks.values() if arrival >= quiet)

    def feedMany(self, alerts, now=None):
        out = []
        for alert in alerts:
            out.extend(self.feed(alert, now))
        return out

    def advance(self, now):
        """
        Count the held alerts that have waited C{LATENESS} seconds of
        processing time (and every one before them in event time): live
        traffic is not held until something newer comes.

        @return: the correlated alerts this made.
        """
        due = None
        deadline = now - self.rules.lateness
        arrivals, held = self._arrivals, self._held
        while arrivals and arrivals[0][0] <= deadline:
            _, order = arrivals.popleft()
            # (Skipped when it was counted already, by the watermark.)
            if order[1:] in held and (due is None or order > due):
                due = order
        out = []
        if due is not None:
            pending = self._pending
            while pending and pending[0] <= due:
                self._count(heapq.heappop(pending), out)
        return out

    def flush(self):
        """
        Count every held alert: the end of the input.

        @return: the correlated alerts this made.
        """
        out = []
        while self._pending:
            self._count(heapq.heappop(self._pending), out)
        return out

    @property
    def held(self):
        """How many alerts wait in the reorder buffer."""
        return len(self._pending)

    @property
    def keys(self):
        """How many keys the rules keep, all together."""
        return sum(len(windows) for windows in self._windows)

    def _count(self, order, out):
        t, analyzerId, messageId = order
        self.released = order
        _, matches, origin, weight = self._held.pop((analyzerId, messageId))
        evidence = (t, analyzerId, messageId, origin)
        for index, key, value in matches:
            rule = self.rules.rules[index]
            windows = self._windows[index]
            window = windows.get(key)
            if window is None:
                window = windows[key] = _Window(rule.distinct, rule.count)
            else:
                windows.move_to_end(key)
            window.lastSeen = t
            entries = window.entries
            if origin is not None and origin in window.fired:
                # The other analyzer's alert of a line the window fired on.
                self.counts["same line"] += 1
                continue
            if rule.distinct is None:
                if origin is not None and any(entry[3] == origin for entry in entries):
                    # The same log line, alerted on by another analyzer
                    # (the M-ICE and the LogIDS rules): counted once.
                    self.counts["same line"] += 1
                    continue
                # A message that came N times (rsyslog's "message repeated
                # N times") is N pieces of evidence.
                entries.extend([evidence] * min(weight, rule.count))
                full = len(entries) == rule.count
                oldest = entries[0] if full else None
            else:
                if value in entries:
                    del entries[value]
                entries[value] = evidence
                if len(entries) > rule.count:
                    entries.popitem(last=False)
                full = len(entries) == rule.count
                oldest = next(iter(entries.values())) if full else None
            if (full and oldest[0] >= t - rule.window
                    and (window.lastFired is None or t - window.lastFired >= rule.suppress)):
                out.append(self._correlated(rule, key, window, t))
                window.lastFired = t
                window.fired = tuple({entry[3] for entry in (
                    entries if rule.distinct is None else entries.values())} - {None})
                entries.clear()
            self._expire(rule, windows, t)

    def _expire(self, rule, windows, t):
        horizon = t - max(rule.window, rule.suppress)
        while windows:
            key, window = next(iter(windows.items()))
            if window.lastSeen >= horizon:
                break
            windows.popitem(last=False)
        while len(windows) > self.rules.maxKeys:
            windows.popitem(last=False)
            self.counts["evicted"] += 1

    def _correlated(self, rule, key, window, t):
        self.counts["correlated"] += 1
        if rule.distinct is None:
            evidence = list(window.entries)
            values = ()
        else:
            evidence = sorted(window.entries.values())
            values = tuple(window.entries)
        # Each alert once (an alert of a repeated message is several
        # pieces of evidence: "count" says how many).
        idents = tuple(dict.fromkeys((entry[1], entry[2]) for entry in evidence))
        fields = dict(zip(rule.key, key))
        source = Node(address=fields.get("source.address"),
                      hostname=fields.get("source.hostname"),
                      user=fields.get("source.user"))
        target = Node(address=fields.get("target.address"),
                      hostname=fields.get("target.hostname") or fields.get("host"),
                      user=fields.get("target.user") or fields.get("user"),
                      service=fields.get("target.service"))
        sources = [source] if not source.empty else []
        targets = [target] if not target.empty else []
        if rule.distinct == "source.address":
            sources.extend(Node(address=value) for value in values)
        elif rule.distinct in ("host", "target.hostname"):
            targets.extend(Node(hostname=value) for value in values)
        elif rule.distinct == "target.address":
            targets.extend(Node(address=value) for value in values)
        digest = hashlib.blake2b(
            json.dumps([rule.name, list(key), [list(i) for i in idents]]).encode("utf-8"),
            digest_size=10).hexdigest()
        stamp = _iso(t)
        keyText = ", ".join(f"{name}={value}" for name, value in fields.items())
        data = [("correlation rule", rule.name), ("key", keyText),
                ("count", str(len(evidence))), ("window", f"{rule.window:g}")]
        if values:
            data.append((rule.distinct, ", ".join(values)))
        return Alert(
            messageId=digest, analyzerId=self.analyzerId, createTime=stamp,
            classification=rule.classification, alertId=rule.newAlertId, detectTime=stamp,
            severity=rule.severity, sources=tuple(sources), targets=tuple(targets),
            additionalData=tuple(data), correlation=Correlation(rule.name, idents))

    # checkpoints

    def checkpoint(self):
        """
        The whole state, as bytes (compressed JSON) for L{Correlator}'s
        C{state=}: the held alerts, each rule's windows, the watermark and
        the counts.
        """
        rules = {}
        for rule, windows in zip(self.rules.rules, self._windows):
            # Tuples are written as JSON arrays as they are.
            items = list if rule.distinct is None else (lambda entries: list(entries.items()))
            kept = [(key, items(window.entries), window.lastFired, window.lastSeen,
                     list(window.fired))
                    for key, window in windows.items()]
            rules[rule.name] = {"rule": rule.fingerprint, "windows": kept}
        state = {
            "version": _STATE_VERSION, "watermark": self.watermark,
            "released": list(self.released) if self.released is not None else None,
            "pending": [[*order, self._held[order[1:]][0],
                         [[self.rules.rules[index].name, list(key), value]
                          for index, key, value in self._held[order[1:]][1]],
                         *self._held[order[1:]][2:]]
                        for order in sorted(self._pending)],
            "marks": self._marks,
            "rules": rules, "counts": dict(self.counts)}
        return zlib.compress(json.dumps(state, separators=(",", ":")).encode("utf-8"), 1)

    def _restore(self, state):
        if isinstance(state, (bytes, bytearray, memoryview)):
            state = json.loads(zlib.decompress(bytes(state)).decode("utf-8"))
        if state.get("version") not in _STATE_VERSIONS:
            raise ValueError(f"correlation state version {state.get('version')!r},"
                             f" expected {_STATE_VERSION}")
        self.watermark = state["watermark"]
        self.released = tuple(state["released"]) if state["released"] is not None else None
        self.counts = Counter(state.get("counts", {}))
        # A rule that is gone or changed (its alert ids, key, count, window
        # or distinct field) starts again from nothing.
        byName = {}
        for index, rule in enumerate(self.rules.rules):
            kept = state["rules"].get(rule.name)
            if kept is not None and kept["rule"] == json.loads(json.dumps(rule.fingerprint)):
                byName[rule.name] = index
        for name, kept in state["rules"].items():
            index = byName.get(name)
            if index is None:
                continue
            rule = self.rules.rules[index]
            windows = self._windows[index]
            for key, entries, lastFired, lastSeen, *fired in kept["windows"]:
                window = windows[tuple(key)] = _Window(rule.distinct, rule.count)
                if rule.distinct is None:
                    window.entries.extend(tuple(entry) for entry in entries)
                else:
                    for value, entry in entries:
                        window.entries[value] = tuple(entry)
                window.lastFired, window.lastSeen = lastFired, lastSeen
                # (Version 4 kept no origins of the evidence fired on.)
                window.fired = tuple(fired[0]) if fired else ()
        self._marks = {name: list(mark) for name, mark in state["marks"].items()}
        for t, analyzerId, messageId, arrival, matches, origin, *weight in state["pending"]:
            kept = [(byName[name], tuple(key), value) for name, key, value in matches
                    if name in byName]
            if kept:
                order = (t, analyzerId, messageId)
                # (Version 3 held no weight: each alert counted once.)
                self._held[order[1:]] = (arrival, kept, origin, weight[0] if weight else 1)
                self._pending.append(order)
                if arrival is not None:
                    self._arrivals.append((arrival, order))
        heapq.heapify(self._pending)
        self._arrivals = deque(sorted(self._arrivals))
