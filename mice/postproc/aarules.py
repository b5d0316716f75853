# -*- test-case-name: tests.integration.test_aarules -*-
"""
C{mice_mod_pop_aa_rules}: the LogIDS rules (L{mice.analysis.logids}) as an analysis
agent's post-processor, beside or instead of C{mice_mod_pop_aa_regex}.

Every record of a flush becomes a LogIDS record (its filter block, its
fields, the built-in ones; C{ip} and C{loghost} from the client's host
columns) and every rule that applies to it acts:

  - C{alert} and C{warning} raise an IDMEF alert (severity high and
    medium) that goes where the config's C{SendTo} says (M, A, B or N);
  - C{display}, C{icon} and C{drop} (and the automatic drop of a record no
    rule matched) make a console event (L{mice.decoders.events}) for the
    ManagementHost's console;
  - C{reject} is counted: one event per flush for each rule and reporting
    host, with the count, and nothing shown.

Alerts and events are delivered at least once, the way
L{mice.postproc.aaregex} delivers its alerts: a flush is done only once
every server it sent to has acknowledged; on the link, an action is
numbered by its record (the record's sequence number times
L{ACTIONS_PER_LINE}, plus the action's index), in a stream of its own
(C{logids:origin|stream}), so a repeat after a crash is stored once, and
the M-ICE rules' alerts about the same records never collide with these.
"""

from datetime import datetime

from twisted.logger import Logger
from zope.interface import implementer

from mice.analysis.framing import repeatCount, traditionalRecord
from mice.analysis.logids import isAddress, syslogHost
from mice.analysis.logidsalerts import makeLogIdsAlert
from mice.decoders.events import eventRecord
from mice.interfaces import IPostProcessor, IReloadable, ReloadError
from mice.postproc.agent import (
    ROUTES,
    AgentModule,
    agentCounter,
    alertDocument,
    linkStream,
)

#: The actions of one record are numbered below this on the link; an action
#: beyond it (a line that 256 rules act on) is counted and not sent.
ACTIONS_PER_LINE = 256


def logidsStream(origin, stream):
    """
    The link stream of the LogIDS alerts and events about C{origin}'s
    C{stream}.
    """
    return linkStream(origin, stream, "logids:")


def reportingHost(line, hostname, ip):
    """
    C{(ip, hostname)} of the host that logged C{line}, for the LogIDS
    record (whose C{loghost} is the netdef name of C{ip}, else the host
    name, else the address): the syslog header's host when the line has
    one, which is the client that shipped the line (C{hostname}, C{ip})
    only when their names agree; else that client.
    """
    host = syslogHost(line)
    if not host or host.isdigit():
        # No header, or a time stamp followed by a number (the syscall
        # logger's pid): not a host name.
        return ip, hostname
    if isAddress(host):
        return host, host
    if host.split(".")[0] == hostname.split(".")[0]:
        return ip, host
    return "", host


def _localTime(record):
    """The record's date and time as C{YYYY-MM-DDTHH:MM:SS}, or C{None}."""
    if len(record.date) == 10 and len(record.time) == 8:
        return f"{record.date}T{record.time}"
    return None


class _Rejects:
    """
    The rejected records of one chunk, counted by rule and reporting host.
    """

    def __init__(self):
        self._counts = {}

    def add(self, stream, seq, taken, logids, time):
        fields = logids.fields
        key = (stream, taken.rule.where, fields["loghost"], fields["ip"], logids.application)
        entry = self._counts.get(key)
        if entry is None:
            self._counts[key] = [seq, 1, time]
        else:
            entry[1] += 1

    def events(self):
        for (stream, rule, loghost, ip, application), (seq, count, time) in \
                self._counts.items():
            yield stream, seq, eventRecord("reject", loghost, ip, application, rule, time,
                                           count=count)


@implementer(IPostProcessor, IReloadable)
class AaRulesAnalyzer(AgentModule):
    """
    @param engine: a L{mice.analysis.logids.LogIdsEngine}.
    @param senders: C{{"M": sender, "A": sender}} of kind C{idmef} for the
        alerts, as the config routes them, and C{"events"}: a sender of
        kind C{event} to the ManagementHost
        (L{mice.services.sender.ReliableSender}s).
    @param counter: the L{AlertCounter} of the IDMEF messageids.
    @param clock: for the time of alerts whose record has none.
    """

    name = "mice_mod_pop_aa_rules"
    log = Logger()

    def __init__(self, settings, engine, senders, counter, clock, tz=None):
        self.settings = settings
        self.engine = engine
        self.senders = senders
        self.counter = counter
        self.clock = clock
        self.tz = tz
        self.attachSenders(senders)
        self.alerts = 0
        self.events = 0
        self.unsent = 0

    def attachSenders(self, senders):
        super().attachSenders(senders)
        self.routes = tuple(route for route in ROUTES[self.settings.sendTo]
                            if route in self.senders)

    def reload(self):
        """
        Read the config and its C{rules.txt}, C{filter.txt} and
        C{netdef.txt} again; the next flush uses them.  Unlike at start-up,
        where a bad line is skipped, a file with a bad line is not taken at
        all: the rules that run stay whole.  The links stay as they were
        started (a change is warned about and applies at the next restart).

        @raise ReloadError: a file does not load (every bad line named); the
            old rules, filters and netdef keep running.
        """
        from mice.analysis.logids import LogIdsEngine, loadFiles
        from mice.config import loadAaRules

        def read(configPath):
            settings = loadAaRules(configPath)
            return settings, loadFiles(settings.rulesFile, settings.filterFile,
                                       settings.netdefFile)

        settings, (rules, filters, netdef, problems) = self.readConfig(read)
        if problems:
            raise ReloadError(problems)
        self.keepLinks(settings, rulesLinks(settings))
        self.settings, self.engine = settings, LogIdsEngine(rules, filters, netdef)
        self.routes = tuple(route for route in ROUTES[settings.sendTo] if route in self.senders)
        return f"{len(rules)} rules, {len(filters)} filters"

    def process(self, records):
        outgoing = self.outgoing()
        now = datetime.fromtimestamp(self.clock.seconds())
        rejects = {}
        for chunk in getattr(records, "chunks", (records,)):
            self._analyse(chunk, outgoing, now, rejects)
        events = outgoing.get("events")
        if events is not None:
            for (stream, seq), event in rejects.items():
                events.add(stream, seq, event)
                self.events += 1
        return self.send(outgoing, len(records))

    def _analyse(self, chunk, outgoing, now, flushRejects):
        """
        Analyse one ring entry's records into C{outgoing}; its reject
        counts go into C{flushRejects}, by their link key.  A flush may hold
        one batch twice (sent again by the client): a count of the same
        first record keeps the larger, as the stores do.
        """
        engine = self.engine
        events = outgoing.get("events")
        rejects = _Rejects()
        streams = {}
        for record in chunk:
            # How many times its message came (rsyslog's "message repeated
            # N times"), then RFC 5424's framing as rsyslog writes the
            # message to a file.
            repeated = repeatCount(record.logline)
            record = traditionalRecord(record)
            ip, host = reportingHost(record.logline, record.hostname, record.ip)
            logids = engine.recordFor(record.logline, ip, record.stream, host)
            taken = engine.evaluate(logids)
            key = (record.source, record.stream)
            stream = streams.get(key)
            if stream is None:
                stream = streams[key] = logidsStream(*key)
            base = record.seq * ACTIONS_PER_LINE
            time = _localTime(record)
            for index, action in enumerate(taken):
                if index == ACTIONS_PER_LINE:
                    self.unsent += len(taken) - index
                    self.log.warn("{stream} line {seq}: {count} rule actions, only the first"
                                  " {limit} are sent", stream=record.stream, seq=record.seq,
                                  count=len(taken), limit=ACTIONS_PER_LINE)
                    break
                seq = base + index
                kind = action.kind
                if kind == "alert" or kind == "warning":
                    self._alert(record, logids, action, stream, seq, outgoing, now, repeated)
                elif events is None:
                    self.unsent += 1
                elif kind == "reject":
                    rejects.add(stream, seq, action, logids, time)
                else:
                    fields = logids.fields
                    events.add(stream, seq, eventRecord(
                        kind, fields["loghost"], fields["ip"], logids.application,
                        None if action.rule is None else action.rule.where, time,
                        fields=action.fields, icon=action.icon,
                        line=record.logline if kind == "drop" else None))
                    self.events += 1
        for stream, seq, event in rejects.events():
            known = flushRejects.get((stream, seq))
            if known is None or known["count"] < event["count"]:
                flushRejects[(stream, seq)] = event

    def _alert(self, record, logids, action, stream, seq, outgoing, now, repeated=1):
        if not self.routes:
            if self.settings.sendTo != "N":
                self.unsent += 1
            return
        alert = makeLogIdsAlert(record, logids, action, self.counter.next(),
                                self.settings.analyzerId, now, self.tz, repeated)
        document = alertDocument(alert, self.log)
        self.countAlert(alert)
        self.alerts += 1
        for route in self.routes:
            outgoing[route].add(stream, seq, document)


def loadEngine(settings, log=None):
    """
    The L{mice.analysis.logids.LogIdsEngine} of an C{aa_rules} config's files.  A
    line of them that does not load is logged (C{file:line: reason}) and
    skipped; the rest load.

    @raise OSError: a file cannot be read.
    """
    from mice.analysis.logids import LogIdsEngine, loadFiles

    rules, filters, netdef, problems = loadFiles(settings.rulesFile, settings.filterFile,
                                                 settings.netdefFile)
    for problem in problems:
        (log or AaRulesAnalyzer.log).error("{problem} (skipped)", problem=str(problem))
    return LogIdsEngine(rules, filters, netdef), problems


def rulesLinks(settings):
    """
    The links an C{aa_rules} config sends on (see L{linkSpecs}).
    """
    routes = ROUTES[settings.sendTo]
    links = [("events", settings.management, settings.mngmntKey, "MngmntKey",
              "ManagementHost (LogIDS console events)", "event")]
    if "M" in routes:
        links.append(("M", settings.management, settings.mngmntKey, "MngmntKey",
                      "ManagementHost (LogIDS alerts)", "idmef"))
    if "A" in routes:
        links.append(("A", settings.agent, settings.agentKey, "AgentKey",
                      "next analysis agent (LogIDS alerts)", "idmef"))
    return links


def build(configPath, reactor):
    """
    The C{mice_mod_pop_aa_rules} module from its config (see L{mice.registry}).
    """
    from mice.config import loadAaRules

    settings = loadAaRules(configPath)
    engine, _ = loadEngine(settings)
    analyzer = AaRulesAnalyzer(settings, engine, {}, agentCounter(settings), reactor)
    return analyzer.configured(configPath, settings, rulesLinks(settings))
