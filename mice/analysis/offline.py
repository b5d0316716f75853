# -*- test-case-name: tests.unit.analysis.test_aaregex,tests.unit.analysis.test_logids,tests.integration.test_aaregex,tests.integration.test_logids -*-
"""
Offline analysis, as C{mice analyze} prints it (like C{fail2ban-regex}):
reading a log file the way the BufferDaemon decodes it, and the bytes of
the listing and of C{--json} for the M-ICE rules and the LogIDS rules, made
from pieces cut once per rule so that a million lines print in seconds.
Pure: files in, text out; tests and benches import it.
"""

import os
from array import array
from collections import defaultdict
from functools import partial
from typing import NamedTuple

from mice.analysis.extract import nodesFor
from mice.analysis.framing import repeatCount, traditionalLines
from mice.analysis.logids import isAddress, syslogHost
from mice.analysis.logidsalerts import fieldNodes
from mice.record import LogRecord


def zoneNamed(name):
    """
    The C{tzinfo} of C{--tz}: C{local} (C{None}: the host's own zone), C{UTC},
    a fixed offset (C{+01:00}) or an IANA name (C{Europe/Berlin}).
    """
    from datetime import UTC, datetime

    if name == "local":
        return None
    if name.upper() in ("UTC", "Z"):
        return UTC
    if name[:1] in "+-":
        return datetime.strptime(name.replace(":", ""), "%z").tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def openInput(path):
    """
    C{path} opened for reading bytes; C{-} is standard input (left open).
    """
    if path == "-":
        import io
        import sys

        return io.BufferedReader(io.FileIO(sys.stdin.fileno(), "rb", closefd=False))
    return open(path, "rb")


def readLines(path, size=1 << 22):
    """
    The lines of a log file, decoded as the BufferDaemon does (each line's
    bytes as L{mice.forwarder.format.decodeLogBytes} decodes them, without its
    C{\\n} or C{\\r\\n}), in batches of about C{size} bytes: C{(lines, text)},
    C{text} being C{"\\n".join(lines)}.

    A batch is decoded at once: a newline byte is never part of a UTF-8
    sequence, so decoding the lines together gives the lines decoded one
    by one, joined by newlines.
    """
    with openInput(path) as f:
        rest = b""
        while True:
            data = f.read(size)
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                rest += data
                continue
            block, rest = rest + data[:cut], data[cut + 1:]
            yield decodeBlock(block, True)
        if rest:
            yield decodeBlock(rest, False)


def decodeBlock(block, ended):
    """
    C{(lines, text)} of whole lines' bytes joined by newlines; C{ended}:
    whether a newline followed the last one (the file's last line may
    have none).
    """
    try:
        text = block.decode("utf-8")
        exact = True
    except UnicodeDecodeError:
        text = block.decode("utf-8", "backslashreplace")
        exact = False
    lines = text.split("\n")
    if exact and b"\r" not in block:
        # The scans read the batch's bytes: these are the text's UTF-8,
        # unless framing reads its lines otherwise (not encoded again).
        from mice.analysis.aaregex import batchBytes

        batchBytes(text, block)
    elif "\r" in text:
        # CRLF endings: the CR before a newline goes with it.
        last = lines[-1]
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        if not ended:
            lines[-1] = last
        text = "\n".join(lines)
    return lines, text


def alertFormats(matches, descriptions, dumps=None):
    """
    The output of the alerts of one line's matches (one L{Match} tuple, of
    which there are few): a C{str.format} template of the line's number,
    source and target (and, for the listing, the line), built from the
    same fields L{makeAlert} gives the alert.

    @param dumps: C{json.dumps} for C{--json} (its objects, one a line),
        C{None} for the listing.
    """
    from mice.analysis.aaregex import SEVERITY, UNCLASSIFIED

    parts = []
    for match in matches:
        if match.alertId is None:
            classification, severity, aid = UNCLASSIFIED, "info", None
        else:
            classification = descriptions.get(match.alertId) or match.key
            severity = SEVERITY.get(match.alertId, "medium")
            aid = f"0x{match.alertId:04x}"
        if dumps is not None:
            head = '{"line": '
            middle = (f', "alertid": {dumps(aid)}, "classification": {dumps(classification)},'
                      ' "source": ')
            tail = (f', "severity": {dumps(severity)}, "rule": {dumps(match.key)},'
                    f' "sendto": {dumps(match.sendTo)}}}\n')
            parts.append(brace(head) + "{0}" + brace(middle) + "{1}"
                         + brace(', "target": ') + "{2}" + brace(tail))
        else:
            parts.append("{0}" + brace(f": {aid or '-'} {classification} [{match.key}"
                                        f" -> {match.sendTo}] {severity} ")
                         + "{1} -> {2}\n    {3}\n")
    return "".join(parts)


def brace(text):
    return text.replace("{", "{{").replace("}", "}}")


class LogIdsJson:
    """
    C{mice analyze --rules --json}'s output of a line's actions: each
    action's L{Taken.asDict} as C{json.dumps} prints it, one a line, made
    from pieces cut from C{json.dumps} of the same objects once per rule and
    application, so that the bytes are the same.
    """

    def __init__(self):
        import json

        self._dumps = json.dumps
        # What json.dumps does to a str (ensure_ascii).
        self._string = json.encoder.encode_basestring_ascii
        self._pieces = defaultdict(dict)
        self._names = {}

    def format(self, number, application, taken):
        """The text of the objects of one line's actions."""
        return self.lines(number, ((application, taken),))

    def lines(self, first, actions):
        """
        The text of the objects of the actions of lines C{first},
        C{first + 1}...: C{actions} holds C{(application, taken)} for each
        (L{LogIdsEngine.actions}).
        """
        byApplication = self._pieces
        names = self._names
        string = self._string
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication[application]
            head = f'{{"line": {number}'
            for action in taken:
                # A display's object differs from line to line by its fields only.
                fields = action.fields
                key = action if fields is None else action.rule
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None:
                    write(head + piece)
                else:
                    write(head + piece + ", ".join([
                        (names.get(name) or self._name(name)) + string(value) + "]"
                        for name, value in fields]) + "]}\n")
        return "".join(out)

    def _piece(self, application, action):
        """
        The object after C{{"line": N}: all of it and a newline, or for a
        C{display}, up to the fields list's C{[}.
        """
        start = '{"line": 0'
        if action.fields is None:
            text = self._dumps(action.asDict(0, application))
            assert text.startswith(start), text
            return text[len(start):] + "\n"
        text = self._dumps(action._replace(fields=()).asDict(0, application))
        assert text.startswith(start) and text.endswith('"fields": []}'), text
        return text[len(start):-2]

    def _name(self, name):
        text = self._names[name] = "[" + self._string(name) + ", "
        return text


class LogIdsListing:
    """
    C{mice analyze --rules}'s readable listing of a line's actions, one a
    line: C{N: application kind detail [rule]}; what does not change from
    line to line is made once per action and application.
    """

    def __init__(self):
        self._pieces = defaultdict(dict)

    def lines(self, first, actions):
        """The listing of lines C{first}, C{first + 1}... (see L{LogIdsJson.lines})."""
        byApplication = self._pieces
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication[application]
            for action in taken:
                fields = action.fields
                key = action if fields is None else (action.rule, action.kind,
                                                     action.severity, action.icon)
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None or action.severity or action.icon:
                    write(f"{number}{piece[0]}{piece[1]}")
                else:
                    detail = " ".join([f"{k}={v}" for k, v in fields])
                    write(f"{number}{piece[0]}{' ' + detail if detail else ''}{piece[1]}")
        return "".join(out)

    @staticmethod
    def _piece(application, action):
        """The text before the detail of fields and after it."""
        detail = action.severity or action.icon
        return (f": {application or '-'} {action.kind}{' ' + detail if detail else ''}",
                f" [{action.rule.where if action.rule else 'no rule'}]\n")


# ---------------------------------------------------------------------------
# Default content

_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


class Content(NamedTuple):
    """
    The paths of a set of detection content: the M-ICE rules, the LogIDS
    rules module's config (whose C{[LOGIDS]} names its rules, filters and
    netdef), the match file that describes the alert IDs, and the
    correlation rules (C{None}: none).
    """

    aaregex: str
    aarules: str
    matchFile: str
    correlation: str | None


def defaultContent(data=_DATA):
    """
    The default detection content, which C{mice-allinone} runs and C{mice
    analyze} runs when given no rule option: what C{mice/data/default/}
    holds (the M-ICE rules C{mice_mod_pop_aa_regex.conf}, the LogIDS
    module's C{mice_mod_pop_aa_rules.conf},
    C{matchfiles/match_file_default.txt}, C{correlation.conf}); for a file
    it lacks, the seed's in C{mice/data/} (no correlation rules).
    """
    default = os.path.join(data, "default")

    def either(name, seed):
        path = os.path.join(default, name)
        if os.path.exists(path):
            return path
        return None if seed is None else os.path.join(data, seed)

    return Content(
        either("mice_mod_pop_aa_regex.conf", "mice_mod_pop_aa_regex.conf"),
        either("mice_mod_pop_aa_rules.conf", "mice_mod_pop_aa_rules.conf"),
        either(os.path.join("matchfiles", "match_file_default.txt"),
               os.path.join("matchfiles", "match_file_aa_regex.txt")),
        either("correlation.conf", None))


# ---------------------------------------------------------------------------
# The loop

#: The LogIDS actions C{mice analyze} leaves out of its output when it runs
#: more than the LogIDS rules (they are counted in the summary; C{--all-actions}
#: prints them): C{reject}, and the automatic drop of a line no rule matched.
_QUIET = frozenset(("reject",))


def _loud(taken):
    return [action for action in taken
            if action.rule is not None and action.kind not in _QUIET]


class OfflineAnalysis:
    """
    The one loop of C{mice analyze}, for any combination of the M-ICE rules
    (L{mice.analysis.aaregex}), the LogIDS rules (L{mice.analysis.logids})
    and the correlation rules (L{mice.analysis.correlation}), run the way the
    daemons run them: each line through both rule engines, and every alert
    that would reach the ManagementHost (a route C{M} or C{B}) into the
    correlation stage, in line order.  Tests and benches drive it as the
    command does: L{batch} per batch of lines (L{readLines}), L{finish} at
    the end of the input, then L{summary}.

    The output of a batch is text: for the M-ICE rules alone, their alerts
    (C{mice analyze -c}); for the LogIDS rules alone, every action
    (C{mice analyze --rules}); for more than one rule set, the alerts and
    actions of both in line order (a line's M-ICE alerts first), without
    the LogIDS C{reject}s and automatic drops unless C{everyAction}, and
    the correlated alerts after the line that completed them.  Every
    alert or action from one line carries its 1-based line number.

    @param aaregex: the M-ICE rules (L{mice.config.AaRegexSettings}) or C{None}.
    @param logids: a L{mice.analysis.logids.LogIdsEngine} or C{None}.
    @param correlation: the correlation rules (C{loadCorrelation}'s) or C{None}.
    @param output: C{"listing"}, C{"json"} or C{"idmef"} (M-ICE rules alone).
    @param ip: the reporting host's address for the LogIDS rules (C{None}:
        each line's syslog header host, when that is an address).
    @param ruleperf: count and time every rule (L{RulePerf}); slower.
    """

    def __init__(self, aaregex=None, logids=None, correlation=None, *, strategy=None,
                 descriptions=None, output="listing", stream="<stdin>", ip=None, tz=None,
                 now=None, everyAction=None, ruleperf=False, logidsSettings=None,
                 correlationAnalyzer="MICE-Correlation"):
        from collections import Counter
        from datetime import datetime

        from mice.forwarder.format import Timestamper

        if aaregex is None and logids is None and correlation is None:
            raise ValueError("no rules to run")
        self.settings = aaregex
        self.engine = logids
        self.combined = sum(x is not None for x in (aaregex, logids, correlation)) > 1
        if output == "idmef" and (self.combined or aaregex is None):
            raise ValueError("IDMEF output is for the M-ICE rules alone")
        self.output = output
        self.descriptions = descriptions or {}
        self.stream = stream
        self.ip = ip
        self.tz = tz
        self.now = now or datetime.now()
        self.everyAction = (not self.combined) if everyAction is None else everyAction
        self.lines = 0
        self.perf = RulePerf() if ruleperf else None
        # The year of syslog dates is the log's own (its lines that have one),
        # not this year's: a log of last year's lines read today.
        self._stamp = Timestamper(self.now, follow=True)
        self._stamps = {}
        self._read = ()
        #: The batch, its first line's number, and the time of the last
        #: line before it that has one (L{_when}).
        self._batch = ()
        self._first = 1
        self._carried = None
        self._eventTimes = {}
        self._hours = {}
        #: The scan strategy: of the M-ICE rules, and of the LogIDS blocks
        #: (Hyperscan or not).
        self.strategy = strategy or defaultStrategy()
        self.matcher = None
        if aaregex is not None:
            from mice.analysis.aaregex import AaRegexMatcher

            self.matcher = AaRegexMatcher(aaregex, self.strategy)
            if self.perf is not None:
                self.perf.timeMatcher(self.matcher)
            self._messageId = aaregex.alertId
            self._feedsOf = {}
            self._perTuple = Counter()
            self._formats = {}
            self._addresses = {None: "null"}
        self._logidsCounts = Counter()
        self._logidsText = None
        if logids is not None:
            self._logidsText = (LogIdsJson() if output == "json" else LogIdsListing()).lines
            self._logidsAnalyzer = (logidsSettings.analyzerId if logidsSettings is not None
                                    else "MICE-LogIDS")
            self._logidsMessageId = logidsSettings.alertId if logidsSettings is not None else 1
            self._logidsRoutes = (logidsSettings is None or logidsSettings.sendTo in "MB")
            if self.perf is not None:
                self.perf.timeEngine(logids)
        self.correlator = None
        self.correlated = Counter()
        if correlation is not None:
            from mice.analysis.correlation import Correlator

            self.correlator = Correlator(correlation, correlationAnalyzer)
            self._evidence = _LineOf()
            # The alert ids the rules count: only those alerts are made.
            self._wanted = frozenset(aid for rule in correlation.rules
                                     for aid in rule.alertIds)

    def hyperscanNotes(self):
        """
        With the C{hyperscan} strategy, one line for each rule regex it
        cannot scan for (C{file:line: why}): those run with C{re} on every
        line, which is slower; nothing is said otherwise.
        """
        if self.strategy != "hyperscan":
            return []
        notes = self.matcher.hyperscanNotes() if self.matcher is not None else []
        if self.engine is not None:
            notes += self.engine.hyperscanNotes(self.stream)
        return notes

    # -- the batches -----------------------------------------------------------

    def batch(self, lines, text=None):
        """
        The output of the next batch of lines (C{text}: C{"\\n".join(lines)}
        if the caller has it).
        """
        # RFC 5424's framing as rsyslog writes the message to a file, and
        # rsyslog's "message repeated N times" read as the message (the
        # lines as they were kept for _repeated).
        self._read = lines
        lines, text = traditionalLines(lines, text)
        first = self.lines + 1
        if first == 1:
            self._stamp.readYear(lines)
        elif self._batch:
            self._carried = self._lastTime(self._batch, len(self._batch)) or self._carried
        self.lines += len(lines)
        self._stamps = {}
        self._batch, self._first = lines, first
        pieces = []
        feed = [] if self.correlator is not None else None
        if self.matcher is not None:
            self._aaregex(lines, text, first, pieces, feed)
        if self.engine is not None:
            if not self.combined:
                return self._logidsAlone(lines, text, first)
            logidsPieces = []
            self._logids(lines, text, first, logidsPieces, feed)
            if pieces and logidsPieces:
                pieces += logidsPieces
                pieces.sort(key=_first)  # stable: a line's M-ICE alerts first
            else:
                pieces = pieces or logidsPieces
        if feed:
            feed.sort(key=_first)
            pieces += self._correlate(feed)
            pieces.sort(key=_first)
        return "".join([piece for _, piece in pieces])

    def finish(self):
        """The output at the end of the input: what the correlation stage still holds."""
        if self.correlator is None:
            return ""
        return "".join(self._correlatedText(alert) for alert in self._timed(
            "correlation", self.correlator.flush))

    def run(self, batches, write):
        """Every batch of C{batches} (L{readLines}'s), then L{finish}, into C{write}."""
        for lines, text in batches:
            write(self.batch(lines, text))
        write(self.finish())

    # -- the M-ICE rules ---------------------------------------------------------

    def _aaregex(self, lines, text, first, pieces, feed):
        from mice.analysis.aaregex import makeAlert
        from mice.analysis.extract import addressesFor

        matcher = self.matcher
        perf = self.perf
        if perf is not None:
            hits = perf.scan(matcher.matchIndexed, lines, text)
        else:
            hits = matcher.matchIndexed(lines, text)
        perTuple = self._perTuple
        formats = self._formats
        descriptions = self.descriptions
        output = self.output
        append = pieces.append
        settings = self.settings
        if output == "idmef":
            from mice.idmef import toXml
        elif output == "json":
            import json

            dumps = json.dumps
            addresses = self._addresses
        if output == "idmef":
            for index, matches in hits:
                perTuple[matches] += 1
                number = first + index
                record = self._record(lines[index], number)
                parts = []
                for match in matches:
                    alert = makeAlert(record, match, self._messageId, settings.analyzerId,
                                      descriptions, self.now, self.tz,
                                      self._repeated(index))
                    self._messageId += 1
                    parts.append(toXml(alert).decode("utf-8") + "\n")
                append((index, "".join(parts)))
            # (IDMEF is for the M-ICE rules alone: nothing to correlate.)
            return
        wanted = self._feeds if feed is not None else None
        # Whether framing read a line of the batch otherwise (_repeated).
        rewritten = self._read is not lines
        for index, matches in hits:
            perTuple[matches] += 1
            number = first + index
            line = lines[index]
            template = formats.get(matches)
            if template is None:
                template = formats[matches] = alertFormats(
                    matches, descriptions, dumps if output == "json" else None)
            feeds = wanted(matches) if wanted is not None else None
            if feeds:
                # The alerts for the correlation stage read the line's nodes
                # (makeAlert): the addresses are theirs, the line read once.
                sources, targets = nodesFor(line)
                source = sources[0].address if sources else None
                target = targets[0].address if targets else None
            else:
                source, target = addressesFor(line)
            if output == "json":
                jsonSource = addresses.get(source)
                if jsonSource is None:
                    jsonSource = addresses[source] = dumps(source)
                jsonTarget = addresses.get(target)
                if jsonTarget is None:
                    jsonTarget = addresses[target] = dumps(target)
                if len(addresses) > 65536:
                    addresses.clear()
                    addresses[None] = "null"
                if rewritten and (times := self._repeated(index)) > 1:
                    # After "target": the alerts of a message rsyslog wrote
                    # once for several (the correlation stage counts them).
                    jsonTarget = f'{jsonTarget}, "repeated": {times}'
                append((index, template.format(number, jsonSource, jsonTarget)))
            else:
                shown = target or "-"
                if rewritten and (times := self._repeated(index)) > 1:
                    shown = f"{shown} (message repeated {times} times)"
                append((index, template.format(number, source or "-", shown, line)))
            if feeds:
                self._miceAlerts(line, index, number, feeds, (sources, targets), feed)

    def _miceAlerts(self, line, index, number, matches, nodes, feed):
        """
        Into C{feed}, C{(index, number, alert, t)} for the correlation stage
        of each of C{matches} of a line: what it reads of the alert
        L{makeAlert} makes (its nodes, C{nodes}, are L{nodesFor}'s), and its
        event time C{t}.
        """
        t = self._seconds(self._when(line, number))
        origin = f"mice-analyze {self.stream} {number}"
        sources, targets = nodes
        analyzerId = self.settings.analyzerId
        repeated = self._repeated(index)
        for match in matches:
            feed.append((index, number, _newTuple(_FedAlert, (
                str(self._messageId), analyzerId, match.alertId, sources, targets, origin,
                repeated)), t))
            self._messageId += 1

    def _seconds(self, when):
        """
        The event time (L{mice.analysis.correlation.eventTime}) of the alerts
        of a line whose date and time are C{when}: converted once per time,
        from the instant of its hour's start (L{_hourStart}) where it can.
        """
        seconds = self._eventTimes.get(when, _UNREAD)
        if seconds is _UNREAD:
            date, clock = when
            start = None
            # HH:MM:SS, a leap second (:60) left to the whole conversion.
            if (len(clock) == 8 and clock[3:5] < "60" and clock[6:8] < "60"
                    and clock[3:5].isdigit() and clock[6:8].isdigit()):
                start = self._hourStart(date, clock[:2])
            if start is not None:
                seconds = start + int(clock[3:5]) * 60 + int(clock[6:8])
            else:
                from mice.analysis.aaregex import isoTime, recordInstant
                from mice.analysis.correlation import isoSeconds

                # The instant of recordTime's ISO text, without writing it.
                aware = recordInstant(date, clock, self.tz)
                seconds = (aware.timestamp() if aware is not None
                           else isoSeconds(isoTime(self.now)))
            if len(self._eventTimes) >= 4096:
                self._eventTimes.clear()
            self._eventTimes[when] = seconds
        return seconds

    def _hourStart(self, date, hour):
        """
        The instant (seconds since the epoch) of C{date} at C{hour}:00:00 in
        the log's zone, if the zone's offset from UTC is the same all that
        hour (the instant of C{hour:MM:SS} is then C{MM * 60 + SS} seconds
        later); else, or when it is no valid time, C{None}.
        """
        key = (date, hour)
        start = self._hours.get(key)
        if start is None:
            from mice.analysis.aaregex import recordInstant

            first = recordInstant(date, f"{hour}:00:00", self.tz)
            last = recordInstant(date, f"{hour}:59:59", self.tz)
            start = False
            if (first is not None and last is not None
                    and first.utcoffset() == last.utcoffset()):
                start = first.timestamp()
            if len(self._hours) >= 4096:
                self._hours.clear()
            self._hours[key] = start
        return start if start is not False else None

    def _repeated(self, index):
        """
        How many times the message of the batch's line C{index} came
        (L{repeatCount}: rsyslog's "message repeated N times", which the
        correlation stage counts as N): looked at only for a line that
        L{traditionalLines} read otherwise than it was written.
        """
        read, batch = self._read, self._batch
        if read is batch or read[index] is batch[index]:
            return 1
        return repeatCount(read[index])

    def _record(self, line, number):
        """The L{LogRecord} of a line, as the DataForwarder would ship it."""
        when = self._when(line, number)
        return _newTuple(LogRecord, ("mice-analyze", self.stream, number, "", "", "", "",
                                     "", "", when[0], when[1], line, ""))

    def _when(self, line, number):
        """
        The line's date and time: read once for both rule sets' alerts (the
        M-ICE rules' of a batch are made before the LogIDS rules').
        """
        when = self._stamps.get(number)
        if when is None:
            when = self._stamps[number] = (
                self._stamp(line) or self._lastTime(self._batch, number - self._first)
                or self._carried or ("", ""))
        return when

    def _lastTime(self, lines, end):
        """
        The time of the last of C{lines[:end]} that has one (of the last
        L{_LOOK_BACK}), or C{None}: the time of a line without its own (a
        program's format the L{Timestamper} does not read, a continuation)
        is that of the lines before it, not the time it is read at, which
        would put the correlation stage's event time ahead of the log's.
        """
        stamp = self._stamp
        known = self._stamps.get
        first = self._first if lines is self._batch else None
        for index in range(end - 1, max(end - _LOOK_BACK, 0) - 1, -1):
            when = (first is not None and known(first + index)) or stamp(lines[index])
            if when:
                return when
        return None

    def _feeds(self, matches):
        """
        Those of a line's matches whose alerts the correlation stage counts:
        sent to the ManagementHost (C{M}, C{B}), with an alert id a rule names.
        """
        feeds = self._feedsOf.get(matches)
        if feeds is None:
            feeds = self._feedsOf[matches] = tuple(
                m for m in matches if m.sendTo in _MANAGEMENT and m.alertId in self._wanted)
        return feeds

    # -- the LogIDS rules --------------------------------------------------------

    def _actions(self, lines, text):
        if self.perf is not None:
            return self.perf.actions(self.engine, lines, self.ip, self.stream)
        if self.strategy == "hyperscan":
            return self.engine.actionsScanned(lines, text, ip=self.ip, stream=self.stream,
                                              hostname=None)
        return self.engine.actions(lines, ip=self.ip, stream=self.stream, hostname=None)

    def _logidsAlone(self, lines, text, first):
        from itertools import chain, islice
        from operator import attrgetter, itemgetter

        ruleOf = attrgetter("rule")
        takenOf = itemgetter(1)
        counts = self._logidsCounts
        formatted = self._logidsText
        found = self._actions(lines, text)
        out = []
        # A few hundred lines at a time: what a batch makes is freed before
        # the garbage collector looks at it.
        number = first
        # The lines whose message rsyslog wrote once for several.
        repeated = {}
        if self._read is not lines:
            repeated = {index: times for index in range(len(lines))
                        if (times := self._repeated(index)) > 1}
        json = self.output == "json"
        while batch := list(islice(found, 256)):
            counts.update(map(ruleOf, chain.from_iterable(map(takenOf, batch))))
            if repeated and any(number - first + i in repeated for i in range(len(batch))):
                for i, actions in enumerate(batch):
                    piece = formatted(number + i, (actions,))
                    times = repeated.get(number - first + i)
                    out.append(piece if times is None else _withRepeated(piece, times, json))
            else:
                out.append(formatted(number, batch))
            number += len(batch)
        return "".join(out)

    def _logids(self, lines, text, first, pieces, feed):
        formatted = self._logidsText
        append = pieces.append
        alerting = feed is not None and self._logidsRoutes
        wantedIds = self._wanted if alerting else None
        rewritten = self._read is not lines
        for index, application, shown in self._logidsShown(lines, text):
            piece = formatted(first + index, ((application, shown),))
            if rewritten and (times := self._repeated(index)) > 1:
                piece = _withRepeated(piece, times, self.output == "json")
            append((index, piece))
            if alerting:
                # Most lines shown are displays: no list made for them.
                for action in shown:
                    if _wantedLogIds(action, wantedIds):
                        self._logidsAlerts(lines[index], index, first + index, [
                            action for action in shown
                            if _wantedLogIds(action, wantedIds)], feed, application)
                        break

    def _logidsShown(self, lines, text):
        """
        C{(index, application, actions)} for each line of the batch with
        actions to print (all of them with C{everyAction}, else those that
        are not a C{reject} or the automatic drop), in line order; every
        line's actions counted.  By the groups of
        L{mice.analysis.logids.LogIdsEngine.actionsGrouped} where it can:
        the lines it decided are counted by the group.
        """
        grouped = None
        if self.perf is None and self.strategy == "hyperscan":
            grouped = self.engine.actionsGrouped(lines, text, ip=self.ip, stream=self.stream,
                                                 hostname=None)
        if grouped is None:
            return self._shownEach(enumerate(self._actions(lines, text)))
        decided, each = grouped
        counts = self._logidsCounts
        every = self.everyAction
        shown = self._shownEach((index, (application, taken))
                                for index, application, taken in each)
        for application, taken, indexes in decided:
            count = len(indexes)
            for action in taken:
                counts[action.rule] += count
            loud = list(taken) if every else _loud(taken)
            if loud:
                shown += [(index, application, loud) for index in indexes]
        shown.sort(key=_first)
        return shown

    def _shownEach(self, found):
        """
        L{_logidsShown} of the lines C{found} gives, C{(index, (application,
        actions))} each: counted and chosen one line at a time.
        """
        counts = self._logidsCounts
        every = self.everyAction
        shown = []
        show = shown.append
        # The rule of each line's one action, counted at the end in one call.
        ones = []
        one = ones.append
        for index, (application, taken) in found:
            if len(taken) == 1:
                # Most lines: one action, often a reject or the automatic drop.
                action = taken[0]
                rule = action.rule
                one(rule)
                if not every and (rule is None or action.kind in _QUIET):
                    continue
                show((index, application, taken))
            else:
                counts.update([action.rule for action in taken])
                loud = taken if every else _loud(taken)
                if loud:
                    show((index, application, loud))
        counts.update(ones)
        return shown

    def _logidsAlerts(self, line, index, number, actions, feed, application=None):
        """
        Into C{feed}, C{(index, number, alert, t)} for each of C{actions}
        (C{alert}s and C{warning}s) of a line: what the correlation stage
        reads of the alert L{mice.analysis.logidsalerts.makeLogIdsAlert}
        makes (its nodes: the record's fields' and the line's), and its
        event time C{t}.
        """
        host = syslogHost(line) or ""
        ip = self.ip if self.ip is not None else (host if isAddress(host) else "")
        fields = self.engine.recordFor(line, ip, self.stream, host, application).fields
        sources, targets = fieldNodes(fields, *nodesFor(line, host or None, ip or None))
        t = self._seconds(self._when(line, number))
        origin = f"mice-analyze {self.stream} {number}"
        analyzerId = self._logidsAnalyzer
        repeated = self._repeated(index)
        for action in actions:
            feed.append((index, number, _newTuple(_FedAlert, (
                str(self._logidsMessageId), analyzerId, action.rule.action.alertId,
                sources, targets, origin, repeated)), t))
            self._logidsMessageId += 1

    # -- correlation -------------------------------------------------------------

    def _correlate(self, feed):
        out = []
        evidence = self._evidence
        feedAt = self.correlator.feedAt
        if self.perf is not None:
            feedAt = partial(self.perf.call, "correlation", feedAt)
        add = evidence.add
        for index, number, alert, t in feed:
            add(alert, number)
            made = feedAt(alert, t)
            if made:
                out += [(index, self._correlatedText(new)) for new in made]
        return out

    def _timed(self, name, function, *args):
        if self.perf is None:
            return function(*args)
        return self.perf.call(name, function, *args)

    def _correlatedText(self, alert):
        import json

        self.correlated[alert.alertId] += 1
        lines = sorted({self._evidence.get(key) for key in _evidenceOf(alert)} - {None})
        source = alert.sources[0].address if alert.sources else None
        target = alert.targets[0].address if alert.targets else None
        aid = None if alert.alertId is None else f"0x{alert.alertId:04x}"
        if self.output == "json":
            return json.dumps({"alertid": aid, "classification": alert.classification,
                               "source": source, "target": target,
                               "severity": alert.severity, "correlated": True,
                               "lines": lines}) + "\n"
        if self.output == "idmef":
            from mice.idmef import toXml

            return toXml(alert).decode("utf-8") + "\n"
        return (f"correlated: {aid or '-'} {alert.classification} {alert.severity}"
                f" {source or '-'} -> {target or '-'}\n"
                f"    from lines {', '.join(map(str, lines)) or '-'}\n")

    # -- the summary -------------------------------------------------------------

    def summary(self, name):
        """The counts per rule (and, with C{ruleperf}, the CPU time per rule)."""
        from mice.analysis.aaregex import DEFAULT_KEY

        out = []
        lines = self.lines
        if self.matcher is not None:
            from collections import Counter

            counts = Counter()
            matched = alerts = 0
            for matches, times in self._perTuple.items():
                if matches[0].key != DEFAULT_KEY:
                    matched += times
                alerts += len(matches) * times
                for match in matches:
                    counts[match.key] += times
            matcher = self.matcher
            out.append(f"{name}: {lines} lines, {matched} matched a rule, {alerts} alerts")
            out.append("matches per rule:")
            for match in matcher.enabledMatches:
                out.append(f"  {match.section:<10} {match.key:<9} 0x{match.alertId:04x}"
                           f" SendTo={match.sendTo}: {counts[match.key]}")
            out.append(f"  {'DEFAULT':<10} {'(none)':<9} {'-':<6} SendTo={matcher.defaultSendTo}:"
                       f" {lines - matched} unclassified lines"
                       + ("" if matcher.defaultSendTo != "N" else " (not sent)"))
        if self.engine is not None:
            counts = self._logidsCounts
            dropped = counts[None]
            out.append(f"{name}: {lines} lines, {lines - dropped} matched a rule,"
                       f" {sum(counts.values())} actions, {dropped} dropped (no rule)")
            out.append("actions per rule:")
            for rule in self.engine.rules:
                out.append(f"  {rule.where}: {rule.text},{rule.action.kind}: {counts[rule]}")
            out.append(f"  (no rule): automatic drop: {dropped}")
        if self.correlator is not None:
            out.append(f"correlated alerts: {sum(self.correlated.values())}")
            for aid, count in sorted(self.correlated.items(), key=lambda x: x[0] or 0):
                out.append(f"  0x{aid or 0:04x} {self.descriptions.get(aid, '')}: {count}")
        if self.perf is not None:
            out += self.perf.report()
        return "\n".join(out) + "\n"


_MANAGEMENT = frozenset("MB")
_UNREAD = object()
#: How many lines before one without a time L{OfflineAnalysis._when} reads.
_LOOK_BACK = 64


class _FedAlert(NamedTuple):
    """
    What the correlation stage reads of an alert (L{Correlator.feedAt}),
    under the names of L{mice.alerts.Alert}'s: C{mice analyze} makes this
    much of the alerts it feeds it, not their classification, text and
    additional data, which only the alerts it makes are printed with.
    Made with L{_newTuple}: the same tuple, without C{__new__}'s frame.
    """

    messageId: str
    analyzerId: str
    alertId: int
    sources: tuple
    targets: tuple
    origin: str
    repeated: int
    """How many times the line's message came (L{mice.analysis.framing.repeatCount})."""
    analyzerHost = None
    correlation = None

    def data(self, meaning):
        """
        As L{mice.alerts.Alert.data}: the origin (C{source stream seq}), and
        C{repeated} where the message came more than once.
        """
        if meaning == "origin":
            return self.origin
        if meaning == "repeated" and self.repeated > 1:
            return str(self.repeated)
        return None


#: C{LogRecord}s made without the named tuple's C{__new__} in Python (the
#: same object, in a third of the time).
_newTuple = tuple.__new__


def _wantedLogIds(action, wanted):
    """
    Whether a LogIDS action raises an alert that a correlation rule counts:
    an C{alert} or C{warning} whose rule gives it an alert id
    (C{alert=0x1020}) that a correlation rule names.
    """
    return ((action.kind == "alert" or action.kind == "warning")
            and action.rule.action.alertId in wanted)


def _first(item):
    return item[0]


def _withRepeated(text, times, json):
    """
    The output of one line's LogIDS actions (C{text}: an object or a
    listing line each) saying that rsyslog wrote its message once for
    C{times}: a C{"repeated"} member last in each object, or the words
    after each listing line's rule.
    """
    if json:
        return text.replace("}\n", f', "repeated": {times}}}\n')
    return text.replace("]\n", f"] (message repeated {times} times)\n")


class _LineOf:
    """
    The line number of each alert fed to the correlation stage, by its
    C{(analyzerId, messageId)}: the messageids of an analyzer are numbered
    one after the other here, so four bytes an alert hold the map.
    """

    def __init__(self):
        self._numbers = {}

    def add(self, alert, number):
        known = self._numbers.get(alert.analyzerId)
        ident = int(alert.messageId)
        if known is None:
            known = self._numbers[alert.analyzerId] = (ident, array("L"))
        first, numbers = known
        gap = ident - first - len(numbers)
        if gap < 0:
            raise ValueError(f"{alert.analyzerId} alert {ident} out of turn")
        if gap:  # ids of alerts not fed (--idmef numbers every alert)
            numbers.extend([0] * gap)
        numbers.append(number)

    def get(self, ident):
        known = self._numbers.get(ident[0])
        if known is None:
            return None
        index = int(ident[1]) - known[0]
        return (known[1][index] or None) if 0 <= index < len(known[1]) else None


def _evidenceOf(alert):
    """C{(analyzerId, messageId)} of the alerts a correlated alert was made of."""
    return alert.correlation.alerts if alert.correlation is not None else ()


def defaultStrategy():
    """
    The scan strategy of C{mice analyze}: L{mice.analysis.aaregex.defaultStrategy},
    the one the agents run.
    """
    from mice.analysis.aaregex import defaultStrategy

    return defaultStrategy()


# ---------------------------------------------------------------------------
# --ruleperf


class _TimedRegex:
    """A compiled regex whose C{search} and C{fullmatch} count their calls and time."""

    __slots__ = ("regex", "row", "pattern", "clock")

    def __init__(self, regex, row, clock):
        self.regex, self.row, self.pattern, self.clock = regex, row, regex.pattern, clock

    def search(self, line):
        return self._timed(self.regex.search, line)

    def fullmatch(self, value):
        return self._timed(self.regex.fullmatch, value)

    def _timed(self, match, text):
        began = self.clock()
        found = match(text)
        row = self.row
        row[1] += self.clock() - began
        row[0] += 1
        return found


class RulePerf:
    """
    Per-rule match counts and time, like SEC's C{--ruleperf}: how often each
    rule's regular expressions ran, how long they took in all, and how many
    lines the rule matched, so that a slow regex is found before it ships.

    The M-ICE rules' regexes are timed call by call; their shared literal
    prefilter (one scan of a batch for all rules, the reason most rules run
    on few lines) has a row of its own.  A LogIDS rule's row times its
    condition on every record of its application; a filter block's row is
    the time spent choosing the block and reading the fields of the lines it
    selected.  Times are C{time.perf_counter} around each call on the one
    thread that runs the rules (the clock a CPU-time clock would give, less
    its cost per call, which is a microsecond).
    """

    def __init__(self):
        import time

        self.clock = time.perf_counter
        # name: [calls, seconds, matches]
        self.rows = {}

    def row(self, name):
        row = self.rows.get(name)
        if row is None:
            row = self.rows[name] = [0, 0.0, 0]
        return row

    def call(self, name, function, *args):
        row = self.row(name)
        began = self.clock()
        try:
            return function(*args)
        finally:
            row[1] += self.clock() - began
            row[0] += 1

    # -- the M-ICE rules

    def timeMatcher(self, matcher):
        """Time every regex of C{matcher}'s rules (their rows: C{M-ICE KEY})."""
        self._matcher = matcher
        for rule in matcher.rules:
            row = self.row(f"M-ICE {rule.match.key}")
            for pattern in rule.patterns:
                pattern.regex = _TimedRegex(pattern.regex, row, self.clock)
            rule.idRegexes = tuple(_TimedRegex(r, row, self.clock) for r in rule.idRegexes)

    def scan(self, matchIndexed, lines, text):
        """C{matchIndexed(lines, text)}, its prefilter's time (not the rules') in a row."""
        rules = [self.rows[f"M-ICE {rule.match.key}"] for rule in self._matcher.rules]
        before = sum(row[1] for row in rules)
        began = self.clock()
        hits = matchIndexed(lines, text)
        spent = self.clock() - began - (sum(row[1] for row in rules) - before)
        row = self.row("M-ICE (prefilter scan, all rules)")
        row[0] += 1
        row[1] += spent
        for _, matches in hits:
            for match in matches:
                if match.alertId is not None:
                    self.rows[f"M-ICE {match.key}"][2] += 1
        return hits

    # -- the LogIDS rules

    def timeEngine(self, engine):
        """Prepare C{engine}'s rows: one per filter block and per rule."""
        from mice.analysis.logids import evaluateEach

        self._rulesRows = {rule: self.row(f"LogIDS {rule.where} {rule.text},{rule.action.kind}")
                           for rule in engine.rules}
        clock = self.clock
        rowsOf = self._rulesRows

        def test(rule, fields):
            row = rowsOf[rule]
            began = clock()
            hit = rule.test(fields)
            row[1] += clock() - began
            row[0] += 1
            if hit:
                row[2] += 1
            return hit
        self._evaluators = {}
        self._evaluateEach = lambda rules: evaluateEach(rules, test)

    def actions(self, engine, lines, ip, stream):
        """L{mice.analysis.logids.LogIdsEngine.actions}, each rule and block timed."""
        host = engine._hostOf(ip, None)
        clock = self.clock
        evaluators = self._evaluators
        for line in lines:
            lineIp, loghost = host(line)
            began = clock()
            record = engine.recordFor(line, lineIp, stream, loghost)
            spent = clock() - began
            row = self.row(f"LogIDS filter block {record.application or '(none)'}")
            row[0] += 1
            row[1] += spent
            row[2] += 1
            application = record.application
            evaluate = evaluators.get(application)
            if evaluate is None:
                evaluate = evaluators[application] = self._evaluateEach(
                    engine.rulesFor(application))
            yield application, evaluate(record.fields, record.order)

    def report(self):
        """The rows, the slowest first: calls, matches, milliseconds, microseconds a call."""
        out = ["rule performance (slowest first): calls, matches, total ms, us per call"]
        for name, (calls, seconds, matches) in sorted(
                self.rows.items(), key=lambda item: (-item[1][1], item[0])):
            out.append(f"  {seconds * 1000:10.1f} ms {calls:>10} calls {matches:>9} matches"
                       f" {seconds * 1e6 / calls if calls else 0:8.2f} us/call  {name}")
        return out
