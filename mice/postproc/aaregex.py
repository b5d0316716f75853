# -*- test-case-name: tests.integration.test_agent -*-
"""
C{mice_mod_pop_aa_regex}: the analysis agent's post-processor.

Every record of a flush is matched against the M-ICE rules
(L{mice.analysis.aaregex}); each match whose section sends somewhere becomes an
IDMEF alert (L{mice.idmef}) and goes to the ManagementHost (SendTo M), to
the next analysis agent (A), or both (B).  IDMEF documents an agent
receives from an agent before it in the chain go on to the ManagementHost.

Alerts are delivered at least once: a flush is done only when every server
it sent to has acknowledged its alerts as durable, so until then the
records stay in the agent's ring (and are analysed again after a crash).
The alert's identity on the link is what makes the repeat harmless: the
stream names the record's origin and stream, the sequence number is the
record's times 32 plus the match's index, and the receiving stores ignore
a (source, stream, seq) they already have.  The IDMEF messageid comes from
the persisted AlertID counter (L{mice.analysis.alertid.sharedAlertCounter}: one per
file in a process) and is never reused.
"""

from datetime import datetime

from twisted.logger import Logger
from zope.interface import implementer

from mice.analysis.aaregex import AaRegexMatcher, defaultStrategy, descriptionsFrom, makeAlert
from mice.analysis.framing import repeatCount, traditionalRecords
from mice.decoders.idmef import ReceivedAlert
from mice.decoders.logformat import LogBatch
from mice.interfaces import IPostProcessor, IReloadable
from mice.postproc.agent import (
    ROUTES,
    AgentModule,
    agentCounter,
    alertDocument,
    linkStream,
)

#: Matches per line are numbered below this (19 rule keys and DEFAULT).
MATCHES_PER_LINE = 32


@implementer(IPostProcessor, IReloadable)
class AaRegexAnalyzer(AgentModule):
    """
    @param senders: C{{"M": sender, "A": sender}} for the servers the config
        names (L{mice.services.sender.ReliableSender}s, kind C{idmef}).
    @param clock: for the time of alerts whose record has none.
    """

    name = "mice_mod_pop_aa_regex"
    log = Logger()

    def __init__(self, settings, senders, counter, clock, descriptions=None, tz=None):
        self.settings = settings
        self.matcher = self._matcherFor(settings)
        self.senders = senders
        self.counter = counter
        self.clock = clock
        self.descriptions = descriptions or {}
        self.tz = tz
        self.alerts = 0
        self.unrouted = 0
        self.relayed = 0

    def reload(self):
        """
        Read the config (its rules) and the match file again; the next flush
        uses them.  The links (ManagementHost, next agent, keys, TLS) stay as
        they were started: a change to them is warned about and applies at
        the next restart.

        @raise ReloadError: the config or the match file does not load
            (every bad line named); the old rules keep running.
        """
        from mice.config import loadAaRegex

        def read(configPath):
            settings = loadAaRegex(configPath)
            return settings, matchDescriptions(configPath), self._matcherFor(settings)

        settings, descriptions, matcher = self.readConfig(read)
        self.keepLinks(settings, regexLinks(settings))
        self.settings, self.matcher, self.descriptions = settings, matcher, descriptions
        return (f"{len(matcher.rules)} rules of {len(settings.sections)} sections,"
                f" {len(descriptions)} alert descriptions")

    def _matcherFor(self, settings):
        """
        The matcher of C{settings}' rules, with the default strategy
        (Hyperscan when it is installed); a pattern Hyperscan refuses is
        searched with C{re} alone, and said once, by C{file:line}.
        """
        matcher = AaRegexMatcher(settings, defaultStrategy())
        for note in matcher.hyperscanNotes():
            self.log.warn("{note}", note=note)
        return matcher

    def process(self, records):
        outgoing = self.outgoing()
        now = datetime.fromtimestamp(self.clock.seconds())
        for chunk in getattr(records, "chunks", (records,)):
            if type(chunk) is LogBatch or (chunk and type(chunk[0]) is not ReceivedAlert):
                self._analyse(list(chunk), outgoing, now)
            else:
                self._relay(chunk, outgoing)
        return self.send(outgoing, len(records))

    def _analyse(self, chunk, outgoing, now):
        # RFC 5424's framing as rsyslog writes the message to a file, and
        # rsyslog's "message repeated N times" read as the message (how
        # many times it came is read from the record as it was written).
        written = chunk
        chunk = traditionalRecords(chunk)
        settings = self.settings
        nextId = self.counter.next
        streams = {}
        # Only the records that raise a match cost a step (matchIndexed).
        for position, matches in self.matcher.matchIndexed([r.logline for r in chunk]):
            record = chunk[position]
            repeated = (1 if written is chunk or written[position] is record
                        else repeatCount(written[position].logline))
            stream = None
            for index, match in enumerate(matches):
                routes = ROUTES[match.sendTo]
                if not routes:
                    continue
                alert = makeAlert(record, match, nextId(), settings.analyzerId,
                                  self.descriptions, now, self.tz, repeated)
                document = alertDocument(alert, self.log)
                self.countAlert(alert)
                if stream is None:
                    key = (record.source, record.stream)
                    stream = streams.get(key)
                    if stream is None:
                        stream = streams[key] = linkStream(*key)
                seq = record.seq * MATCHES_PER_LINE + index
                self.alerts += 1
                for route in routes:
                    if route in outgoing:
                        outgoing[route].add(stream, seq, document)
                    else:
                        self.unrouted += 1

    def _relay(self, chunk, outgoing):
        """
        IDMEF from an agent before this one in the chain (SendTo A or B
        there): on to the ManagementHost, document as it came, under the
        sender's own identity (its source and stream in the link stream,
        its sequence number), so a resend is recognised there.  At least
        once: the flush ends only when the ManagementHost has acknowledged.
        """
        if "M" not in outgoing:
            if chunk:
                self.log.error("{n} IDMEF documents from agents before this one, and no"
                               " Management address to relay them to: dropped",
                               n=len(chunk))
            self.unrouted += len(chunk)
            return
        self.relayed += len(chunk)
        for received in chunk:
            outgoing["M"].add(linkStream(received.source, received.stream), received.seq,
                              received.xml)


def regexLinks(settings):
    """
    The links an C{aa_regex} config's sections send on (see L{linkSpecs}).
    """
    links = []
    for route, address, key, keyName, what in (
            ("M", settings.management, settings.mngmntKey, "MngmntKey", "ManagementHost"),
            ("A", settings.agent, settings.agentKey, "AgentKey", "next analysis agent")):
        # The ManagementHost's link also carries what this agent relays
        # (IDMEF from the agents before it in a chain), whatever its rules.
        if address is not None and (route == "M" or any(route in ROUTES[section.sendTo]
                                                         for section in settings.sections)):
            links.append((route, address, key, keyName, what, "idmef"))
    return links


def matchDescriptions(configPath):
    """
    The alert descriptions of the match file beside C{configPath}
    (C{matchfiles/match_file_aa_regex.txt}), none when there is no such file.

    @raise mice.config.ConfigError: the match file is bad.
    """
    import os

    from mice.config import loadMatchFile

    matchFile = os.path.join(os.path.dirname(configPath), "matchfiles",
                             "match_file_aa_regex.txt")
    return descriptionsFrom(loadMatchFile(matchFile)) if os.path.exists(matchFile) else {}


def build(configPath, reactor):
    """
    The C{mice_mod_pop_aa_regex} module from its config (see L{mice.registry}).
    """
    from mice.config import loadAaRegex

    settings = loadAaRegex(configPath)
    analyzer = AaRegexAnalyzer(settings, {}, agentCounter(settings), reactor,
                               matchDescriptions(configPath))
    return analyzer.configured(configPath, settings, regexLinks(settings))
