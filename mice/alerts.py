# -*- test-case-name: tests.unit.test_idmef -*-
"""
What an analysis agent raises, before and after it is IDMEF: an L{Alert}.

L{mice.analysis.aaregex} (the M-ICE rule engine) and later the LogIDS rule engine
make them from log records; L{mice.idmef} turns them into RFC 4765
C{IDMEF-Message/Alert} documents and parses such documents (from any
analyzer: ours, Prelude, Snort) back into them, for the ManagementHost.
Pure: no I/O.
"""

import hashlib
from dataclasses import dataclass, field, replace

#: IDMEF Assessment/Impact severities (RFC 4765 4.2.6.1).
SEVERITIES = ("info", "low", "medium", "high")


@dataclass(frozen=True)
class Node:
    """
    One end of what an alert is about: IDMEF Source or Target, flattened.
    Every field is optional (C{None}: not known).
    """

    address: str | None = None
    """An IPv4 or IPv6 address."""
    hostname: str | None = None
    port: int | None = None
    protocol: str | None = None
    """The IANA protocol name (C{tcp}, C{udp}, C{icmp}...)."""
    user: str | None = None
    uid: int | None = None
    process: str | None = None
    pid: int | None = None
    service: str | None = None
    """A service name (C{ssh}), when it is known."""

    @property
    def empty(self):
        return all(value is None for value in vars(self).values())


@dataclass(frozen=True)
class Correlation:
    """
    What makes an alert a correlated one: IDMEF C{CorrelationAlert}
    (RFC 4765 4.2.5.3), the reason the alerts were grouped and the alerts
    themselves.
    """

    name: str
    """Why the alerts were grouped: the correlation rule's name."""
    alerts: tuple = ()
    """C{(analyzerId, messageId)} of each evidence alert (IDMEF
    C{alertident} and its C{analyzerid}), in event-time order."""


@dataclass(frozen=True)
class Alert:
    """
    One alert.

    @ivar messageId: the IDMEF messageid: the persisted AlertID counter of
        the agent that made it, as text; unique per analyzer.
    @ivar alertId: the M-ICE alert ID (0x1010 ... 0x8040), which the
        ManagementHost's match file maps to reactions; C{None} for an alert
        from another analyzer whose classification M-ICE does not know.
    """

    messageId: str
    analyzerId: str
    createTime: str
    """ISO 8601 with a time zone (C{2004-11-22T10:00:01+00:00})."""
    classification: str
    """The IDMEF Classification text: the alert ID's description."""
    alertId: int | None = None
    detectTime: str | None = None
    severity: str = "medium"
    """One of L{SEVERITIES}."""
    sources: tuple = ()
    """L{Node}s."""
    targets: tuple = ()
    """L{Node}s."""
    analyzerHost: str | None = None
    """The host the analyzer runs on, when known."""
    additionalData: tuple = field(default_factory=tuple)
    """C{(meaning, value)} string pairs; M-ICE puts the original log line
    (meaning C{"log line"}), its origin (C{"origin"}: source host, stream and
    sequence number) and the rule that matched (C{"rule"})."""
    correlation: Correlation | None = None
    """For an alert made by the correlation stage
    (L{mice.analysis.correlation}): its evidence, written as IDMEF
    C{CorrelationAlert}."""

    def data(self, meaning):
        """
        The first additional data value of C{meaning}, or C{None}.
        """
        for name, value in self.additionalData:
            if name == meaning:
                return value
        return None


#: The largest IDMEF document an M-ICE agent sends, in bytes: what an IDMEF
#: decoding module takes by default (C{MAXRECORD}).  A bigger one would be
#: refused by the ManagementHost again at every resend.
MAX_DOCUMENT = 65536


def _cut(text, limit):
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit} more characters]"


def bounded(alert, lineChars=4096, textChars=128):
    """
    C{alert} with its texts cut short: the log line to C{lineChars}
    characters, every other text to C{textChars} (the classification to
    four times that), each cut saying how much it left out, and at most two
    sources, two targets and six additional data.  With the defaults its
    IDMEF document fits in L{MAX_DOCUMENT} whatever the characters (at most
    six bytes each once escaped).  The whole line is still in the raw-log
    database, under the alert's origin.
    """

    def node(n):
        return Node(address=_cut(n.address, textChars), hostname=_cut(n.hostname, textChars),
                    port=n.port, protocol=_cut(n.protocol, textChars),
                    user=_cut(n.user, textChars), uid=n.uid,
                    process=_cut(n.process, textChars), pid=n.pid,
                    service=_cut(n.service, textChars))

    return replace(
        alert, classification=_cut(alert.classification, 4 * textChars),
        analyzerHost=_cut(alert.analyzerHost, textChars),
        sources=tuple(node(n) for n in alert.sources[:2]),
        targets=tuple(node(n) for n in alert.targets[:2]),
        additionalData=tuple(
            (_cut(meaning, textChars),
             _cut(value, lineChars if meaning == "log line" else textChars))
            for meaning, value in alert.additionalData[:6]))


@dataclass(frozen=True)
class RoutedAlert:
    """
    One alert as the ManagementHost received and routed it: what a reaction
    agent (L{mice.interfaces.IReaction}) is given.

    @ivar key: unique and stable for this alert across resends and
        restarts (the sender's source, stream and sequence number and the
        alert's index in its IDMEF message): the idempotency key of every
        reaction to it.
    @ivar alert: the parsed L{Alert}.
    @ivar document: an C{IDMEF-Message} holding this alert alone, as text.
    @ivar description: the C{alertdesc}: the match file's description of
        the alert id, else the IDMEF classification text.
    @ivar receivedFrom: the sender (the analysis agent's source name).
    @ivar receivedAt: when the ManagementHost received it, ISO 8601 UTC.
    """

    key: str
    alert: Alert
    document: str
    description: str
    receivedFrom: str
    receivedAt: str
    problems: str | None = None
    """What the DTD check (act_generic's C{DTDFile}) found wrong with the
    document, one problem a line; C{None} when it is valid or was not
    checked.  An invalid document is still stored and reacted to."""
    rids: tuple = ()
    """The reaction IDs this alert triggers (the match file's, or the
    default ones for an alert no match file knows), for the record."""
    stream: str = ""
    """The sender's stream the IDMEF message came in."""
    seq: int = 0
    """The message's sequence number in C{stream}."""
    index: int = 0
    """The alert's place among the message's alerts, from 0."""


def alertKey(source, stream, seq, index):
    """
    The L{RoutedAlert.key} of the C{index}th Alert (from 0) of the IDMEF
    message a sender (C{source}) sent as C{seq} of C{stream}: 32 hex
    digits, the same whenever the message is sent again, different for
    every other (source, stream, seq, index).
    """
    text = "%s\0%s\0%d\0%d" % (source, stream, seq, index)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Heartbeat:
    """
    An IDMEF Heartbeat: an analyzer saying it is alive.  Not an alert: the
    ManagementHost keeps each analyzer's last one (C{analyzer_heartbeat}).
    """

    analyzerId: str
    createTime: str
    """ISO 8601, the analyzer's clock."""
    messageId: str | None = None
    name: str | None = None
    """The Analyzer's C{name} (or C{model}) attribute."""
    host: str | None = None
    """The Analyzer's Node name or address."""
    interval: int | None = None
    """The HeartbeatInterval in seconds, when given."""

