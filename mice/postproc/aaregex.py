# -*- test-case-name: tests.test_agent -*-
"""
C{mice_mod_pop_aa_regex}: the analysis agent's post-processor.

Every record of a flush is matched against the M-ICE rules
(L{mice.aaregex}); each match whose section sends somewhere becomes an
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
the persisted AlertID counter (L{mice.aaregex.sharedAlertCounter}: one per
file in a process) and is never reused.
"""

import hashlib
import socket
from datetime import datetime
from operator import itemgetter

from twisted.internet.defer import DeferredList, succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.aaregex import (
    AaRegexMatcher,
    AlertCounter,
    descriptionsFrom,
    makeAlert,
    sharedAlertCounter,
)
from mice.alerts import MAX_DOCUMENT, bounded
from mice.idmef import toXml
from mice.idmefdecoder import ReceivedAlert
from mice.interfaces import IPostProcessor
from mice.logformat import LogBatch
from mice.protocols.wire import MAX_STREAM

#: Matches per line are numbered below this (19 rule keys and DEFAULT).
MATCHES_PER_LINE = 32

_ROUTES = {"M": ("M",), "A": ("A",), "B": ("M", "A"), "N": ()}


def linkStream(origin, stream):
    """
    The link stream of the alerts about C{origin}'s C{stream}.
    """
    name = f"{origin}|{stream}"
    if len(name) <= MAX_STREAM:
        return name
    return f"{origin[:100]}|sha256:{hashlib.sha256(stream.encode('utf-8')).hexdigest()}"


def alertDocument(alert, log):
    """
    The IDMEF document of C{alert} as text, at most L{MAX_DOCUMENT} bytes:
    an alert about a very long line is sent with its texts cut
    (L{mice.alerts.bounded}), and C{log} says so.
    """
    document = toXml(alert)
    if len(document) > MAX_DOCUMENT:
        log.warn("alert {id} about {origin}: its IDMEF document is {size} bytes; sent with"
                 " the line and the other long texts cut", id=alert.messageId,
                 origin=alert.data("origin"), size=len(document))
        for lineChars, textChars in ((4096, 128), (1024, 32), (128, 8)):
            document = toXml(bounded(alert, lineChars, textChars))
            if len(document) <= MAX_DOCUMENT:
                break
    return document.decode("utf-8")


class _Outgoing:
    """
    The alerts of one flush for one server, by link stream.

    A flush may hold a record twice (two ring entries of one batch: the
    client sent it again after its link was lost, or the agent died before
    acknowledging it), so an alert's (stream, seq) may be added twice: the
    first is kept.  A batch's sequence numbers must increase, and a batch
    the server refuses is refused again at every resend.
    """

    def __init__(self):
        self.streams = {}

    def add(self, stream, seq, document):
        self.streams.setdefault(stream, {}).setdefault(seq, document)

    def submit(self, sender):
        deferreds = []
        for stream, bySeq in self.streams.items():
            items = sorted(bySeq.items(), key=itemgetter(0))
            seqs = [seq for seq, _ in items]
            documents = [document for _, document in items]
            for start in range(0, len(items), 100):
                part = seqs[start:start + 100]
                deferreds.append(sender.submit(stream, part[0], None,
                                               documents[start:start + 100], part))
        return deferreds


@implementer(IPostProcessor)
class AaRegexAnalyzer:
    """
    @param senders: C{{"M": sender, "A": sender}} for the servers the config
        names (L{mice.services.sender.ReliableSender}s, kind C{idmef}).
    @param clock: for the time of alerts whose record has none.
    """

    name = "mice_mod_pop_aa_regex"
    log = Logger()
    maxErrors = 10
    batchSize = 5000

    def __init__(self, settings, senders, counter, clock, descriptions=None, tz=None):
        self.settings = settings
        self.matcher = AaRegexMatcher(settings)
        self.senders = senders
        self.counter = counter
        self.clock = clock
        self.descriptions = descriptions or {}
        self.tz = tz
        self.alerts = 0
        self.unrouted = 0

    def start(self):
        for sender in self.senders.values():
            sender.startService()
        return succeed(None)

    def stop(self):
        self.counter.close()
        return DeferredList([sender.stopService() for sender in self.senders.values()])

    def process(self, records):
        outgoing = {route: _Outgoing() for route in self.senders}
        now = datetime.fromtimestamp(self.clock.seconds())
        for chunk in getattr(records, "chunks", (records,)):
            if type(chunk) is LogBatch or (chunk and type(chunk[0]) is not ReceivedAlert):
                self._analyse(list(chunk), outgoing, now)
            else:
                self._relay(chunk, outgoing)
        deferreds = []
        for route, sender in self.senders.items():
            deferreds.extend(outgoing[route].submit(sender))
        if not deferreds:
            return succeed(len(records))
        return DeferredList(deferreds, fireOnOneErrback=True, consumeErrors=True).addCallback(
            lambda _: len(records))

    def _analyse(self, chunk, outgoing, now):
        settings = self.settings
        nextId = self.counter.next
        streams = {}
        # Only the records that raise a match cost a step (matchIndexed).
        for position, matches in self.matcher.matchIndexed([r.logline for r in chunk]):
            record = chunk[position]
            stream = None
            for index, match in enumerate(matches):
                routes = _ROUTES[match.sendTo]
                if not routes:
                    continue
                alert = makeAlert(record, match, nextId(), settings.analyzerId,
                                  self.descriptions, now, self.tz)
                document = alertDocument(alert, self.log)
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
        IDMEF from an agent before this one in the chain: on to the
        ManagementHost, under the sender's own identity.
        """
        if "M" not in outgoing:
            self.unrouted += len(chunk)
            return
        for received in chunk:
            outgoing["M"].add(linkStream(received.source, received.stream), received.seq,
                              received.xml)


def build(configPath, reactor):
    """
    The C{mice_mod_pop_aa_regex} module from its config (see L{mice.registry}).
    """
    import os

    from twisted.internet.endpoints import clientFromString

    from mice.config import loadAaRegex, loadMatchFile
    from mice.securelink import LinkSecurity
    from mice.services.sender import ReliableSender

    settings = loadAaRegex(configPath)
    source = socket.gethostname().split(".")[0] or "localhost"
    senders = {}
    for route, address, key, keyName, what in (
            ("M", settings.management, settings.mngmntKey, "MngmntKey", "ManagementHost"),
            ("A", settings.agent, settings.agentKey, "AgentKey", "next analysis agent")):
        used = any(route in _ROUTES[section.sendTo] for section in settings.sections)
        if address is None or not used:
            continue
        security = LinkSecurity.fromSettings(settings.encryption, key, "aes-256-gcm",
                                             settings.tls, where=settings.path, keyName=keyName)
        host = address.host.replace(":", "\\:")
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:host={host}:port={address.port}"), address.host)
        senders[route] = ReliableSender(endpoint, source, "idmef", reactor,
                                        securityFactory=security.securityFactory(),
                                        description=f"{what} {address}")
    if settings.alertIdFile:
        os.makedirs(os.path.dirname(settings.alertIdFile), exist_ok=True)
        # Shared with any other module of this process naming the same file.
        counter = sharedAlertCounter(settings.alertIdFile, settings.alertId)
    else:
        from mice.aaregex import MemoryAlertIdStore

        counter = AlertCounter(MemoryAlertIdStore(), settings.alertId)
    matchFile = os.path.join(os.path.dirname(configPath), "matchfiles",
                             "match_file_aa_regex.txt")
    descriptions = descriptionsFrom(loadMatchFile(matchFile)) if os.path.exists(matchFile) \
        else {}
    return AaRegexAnalyzer(settings, senders, counter, reactor, descriptions)
