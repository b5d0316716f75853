# -*- test-case-name: tests.integration.test_agent,tests.integration.test_aarules -*-
"""
What the analysis modules of an agent share (C{mice_mod_pop_aa_regex},
L{mice.postproc.aaregex}; C{mice_mod_pop_aa_rules},
L{mice.postproc.aarules}): the SendTo routes, the link streams their alerts
go in, the bound on an IDMEF document, the batches of one flush per server,
and the links and AlertID counter their configs name.

Delivery is at least once: a flush is done only when every server it sent
to has acknowledged what it sent (L{AgentModule.send}), so until then the
records stay in the agent's ring and are analysed again after a crash; the
receiving stores ignore a (source, stream, seq) they already have.
"""

import hashlib
import os
import socket
from operator import itemgetter

from twisted.internet.defer import DeferredList, succeed

from mice.alerts import MAX_DOCUMENT, bounded
from mice.idmef import toXml
from mice.protocols.wire import MAX_STREAM

#: SendTo: the servers each letter sends to (M ManagementHost, A the next
#: analysis agent, B both, N none).
ROUTES = {"M": ("M",), "A": ("A",), "B": ("M", "A"), "N": ()}


def linkStream(origin, stream, prefix=""):
    """
    The link stream of the alerts about C{origin}'s C{stream}: C{prefix}
    keeps one module's apart from another's about the same records.
    """
    name = f"{prefix}{origin}|{stream}"
    if len(name) <= MAX_STREAM:
        return name
    return (f"{prefix}{origin[:100]}|"
            f"sha256:{hashlib.sha256(stream.encode('utf-8')).hexdigest()}")


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


class Outgoing:
    """
    The records of one flush for one server, by link stream.

    A flush may hold a record twice (two ring entries of one batch: the
    client sent it again after its link was lost, or the agent died before
    acknowledging it), so a (stream, seq) may be added twice: the first is
    kept.  A batch's sequence numbers must increase, and a batch the server
    refuses is refused again at every resend.
    """

    def __init__(self):
        self.streams = {}

    def add(self, stream, seq, record):
        self.streams.setdefault(stream, {}).setdefault(seq, record)

    def submit(self, sender):
        deferreds = []
        for stream, bySeq in self.streams.items():
            items = sorted(bySeq.items(), key=itemgetter(0))
            seqs = [seq for seq, _ in items]
            records = [record for _, record in items]
            for start in range(0, len(items), 100):
                part = seqs[start:start + 100]
                deferreds.append(sender.submit(stream, part[0], None,
                                               records[start:start + 100], part))
        return deferreds


class AgentModule:
    """
    An analysis module's life and its flushes' end.

    Its senders are L{services}: a BufferDaemon built by
    L{mice.tap.bufferdaemon} runs them as its children (started before the
    module, stopped after its last flush); a module used on its own, with
    senders no service runs, starts and stops them itself.

    @ivar senders: C{{route: sender}} (L{mice.services.sender.ReliableSender}s).
    @ivar counter: the IDMEF messageid counter, closed on stop.
    """

    maxErrors = 10
    batchSize = 5000

    @property
    def services(self):
        """The senders, for the daemon to run as its children."""
        return tuple(self.senders.values())

    def _ownSenders(self):
        return [sender for sender in self.senders.values()
                if getattr(sender, "parent", None) is None]

    def start(self):
        for sender in self._ownSenders():
            if not sender.running:
                sender.startService()
        return succeed(None)

    def stop(self):
        self.counter.close()
        return DeferredList([sender.stopService() for sender in self._ownSenders()
                             if sender.running])

    def outgoing(self):
        """A new flush's L{Outgoing} per route."""
        return {route: Outgoing() for route in self.senders}

    def send(self, outgoing, count):
        """
        Submit a flush's L{Outgoing}s.

        @return: a Deferred firing with C{count} once every server has
            acknowledged everything, or failing with the first failure.
        """
        deferreds = []
        for route, sender in self.senders.items():
            deferreds.extend(outgoing[route].submit(sender))
        if not deferreds:
            return succeed(count)
        return DeferredList(deferreds, fireOnOneErrback=True, consumeErrors=True).addCallback(
            lambda _: count)


def agentSenders(reactor, settings, links):
    """
    The senders of an analysis module's config (C{[HOST_INFO]}:
    C{Encryption}, the keys, TLS).

    @param links: C{(route, address, key, key name, description, kind)}
        for each server to send to.
    @return: C{{route: sender}}.
    """
    from twisted.internet.endpoints import clientFromString

    from mice.security.policy import LinkSecurity
    from mice.services.sender import ReliableSender

    source = socket.gethostname().split(".")[0] or "localhost"
    senders = {}
    for route, address, key, keyName, what, kind in links:
        security = LinkSecurity.fromSettings(settings.encryption, key, "aes-256-gcm",
                                             settings.tls, where=settings.path, keyName=keyName)
        host = address.host.replace(":", "\\:")
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:host={host}:port={address.port}"), address.host)
        senders[route] = ReliableSender(endpoint, source, kind, reactor,
                                        securityFactory=security.securityFactory(),
                                        description=f"{what} {address}")
    return senders


def agentCounter(settings):
    """
    The messageid counter of a config's C{[IDMEF_INFO]}: the AlertIDFile's,
    shared with any other module of this process on the same file
    (L{mice.analysis.aaregex.sharedAlertCounter}), or one in memory without a file.
    """
    from mice.analysis.aaregex import AlertCounter, MemoryAlertIdStore, sharedAlertCounter

    if not settings.alertIdFile:
        return AlertCounter(MemoryAlertIdStore(), settings.alertId)
    os.makedirs(os.path.dirname(settings.alertIdFile), exist_ok=True)
    return sharedAlertCounter(settings.alertIdFile, settings.alertId)
