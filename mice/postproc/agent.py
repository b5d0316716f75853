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
from collections import Counter
from operator import itemgetter
from typing import NamedTuple

from twisted.internet.defer import DeferredList, succeed

from mice.alerts import MAX_DOCUMENT, bounded
from mice.idmef import toXml
from mice.interfaces import ReloadError
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


class LinkSpec(NamedTuple):
    """
    A link an analysis module sends on, as its config names it: the daemon
    builds its sender (L{mice.services.sender.sendersFor}), runs it as a
    child service and hands it to the module (L{AgentModule.attachSenders}).
    """

    route: str
    """C{"M"}, C{"A"} or C{"events"}."""
    address: object
    """A L{mice.config.HostPort}."""
    key: str
    keyName: str
    """The config key the key came from, for warnings about it."""
    description: str
    kind: str
    """The link kind: C{"idmef"} or C{"event"}."""
    encryption: bool
    tls: object
    where: str
    """The config file, for messages."""
    analyzerId: str = None
    """The module's AnalyzerID: its name on a broker target (C{address} a
    L{mice.protocols.amqp.BrokerTarget}), the same for every agent that
    runs this config, so that an alert raised again by another agent (a
    batch redelivered) has the same key (L{mice.alerts.alertKey})."""


def linkSpecs(settings, links):
    """
    L{LinkSpec}s for C{(route, address, key, key name, description, kind)}
    of a config's C{[HOST_INFO]} (C{Encryption}, the keys, TLS).
    """
    return tuple(LinkSpec(route, address, key, keyName, what, kind, settings.encryption,
                          settings.tls, settings.path, settings.analyzerId)
                 for route, address, key, keyName, what, kind in links)


class AgentModule:
    """
    An analysis module's life and its flushes' end.

    @ivar links: the L{LinkSpec}s its config names; the daemon builds their
        senders and runs them, as child services, and hands them over with
        L{attachSenders}.
    @ivar senders: C{{route: sender}} (L{mice.services.sender.ReliableSender}s).
    @ivar counter: the IDMEF messageid counter, closed on stop.
    """

    maxErrors = 10
    batchSize = 5000
    #: One flush at a time: alerts leave in line order, numbered in order.
    concurrency = 1
    links = ()
    #: The config it was built from, read again by C{reload}.
    configPath = None
    alertCounts = None
    """C{{(alert id, analyzer): n}} of the flush under way, once metrics are attached."""

    def configured(self, configPath, settings, links):
        """
        Remember the config this module was built from (C{settings}, loaded
        from C{configPath}) and the links it names (see L{linkSpecs}).

        @return: this module.
        """
        self.links = linkSpecs(settings, links)
        self.configPath = configPath
        return self

    def readConfig(self, read):
        """
        C{read(configPath)} for a C{reload}: what it returns.

        @raise ReloadError: the module was built without a config, or
            C{read} raised a L{mice.config.ConfigError} (every bad line
            named) or an C{OSError} (the file it could not read).
        """
        from mice.config import ConfigError

        if self.configPath is None:
            raise ReloadError([f"{self.name}: built without a config file, nothing to read"])
        try:
            return read(self.configPath)
        except ConfigError as e:
            raise ReloadError(getattr(e, "errors", [e])) from None
        except OSError as e:
            raise ReloadError([f"{e.filename or self.configPath}: {e.strerror or e}"]) from None

    def keepLinks(self, settings, links):
        """
        Warn when a config read again names other links than the running
        ones (ManagementHost, next agent, keys, TLS): those stay until the
        next restart.
        """
        if linkSpecs(settings, links) != tuple(self.links):
            self.log.warn("{path}: the links (ManagementHost, next agent, their keys or TLS)"
                          " changed; they apply at the next restart, the running ones are"
                          " kept", path=self.configPath)

    def attachMetrics(self, metrics):
        """
        Count the alerts raised, by alert id and analyzer, into C{metrics}
        (C{mice_alerts_total}): tallied in a dict per alert, added to the
        counters once per flush.
        """
        self.metrics = metrics
        self.alertCounts = Counter()
        self._alertCounters = {}

    def countAlert(self, alert):
        if self.alertCounts is not None:
            self.alertCounts[(alert.alertId, alert.analyzerId)] += 1

    def _publishAlertCounts(self):
        counts, self.alertCounts = self.alertCounts, Counter()
        for key, n in counts.items():
            counter = self._alertCounters.get(key)
            if counter is None:
                alertId, analyzer = key
                counter = self._alertCounters[key] = self.metrics.counter(
                    "alerts", alertid="none" if alertId is None else f"0x{alertId:04x}",
                    analyzer=analyzer)
            counter.inc(n)

    def attachSenders(self, senders):
        """
        The senders of L{links}, by route, which the daemon runs.
        """
        self.senders = dict(senders)

    @property
    def description(self):
        """
        The servers this module sends to, for the BufferDaemon's log (a
        flush waits for their acknowledgements).
        """
        return ", ".join(sender.description for sender in self.senders.values())

    def start(self):
        return succeed(None)

    def stop(self):
        self.counter.close()
        return succeed(None)

    def outgoing(self):
        """A new flush's L{Outgoing} per route."""
        return {route: Outgoing() for route in self.senders}

    def send(self, outgoing, count):
        """
        Submit a flush's L{Outgoing}s.

        @return: a Deferred firing with C{count} once every server has
            acknowledged everything, or failing with the first failure.
        """
        if self.alertCounts:
            self._publishAlertCounts()
        deferreds = []
        for route, sender in self.senders.items():
            deferreds.extend(outgoing[route].submit(sender))
        if not deferreds:
            return succeed(count)
        return DeferredList(deferreds, fireOnOneErrback=True, consumeErrors=True).addCallback(
            lambda _: count)


def agentCounter(settings):
    """
    The messageid counter of a config's C{[IDMEF_INFO]}: the AlertIDFile's,
    shared with any other module of this process on the same file
    (L{mice.analysis.alertid.sharedAlertCounter}), or one in memory without a file;
    its ids are C{INSTANCE-N} when C{Instance} is given.
    """
    from mice.analysis.alertid import (
        AlertCounter,
        MemoryAlertIdStore,
        PrefixedCounter,
        sharedAlertCounter,
    )

    if not settings.alertIdFile:
        counter = AlertCounter(MemoryAlertIdStore(), settings.alertId)
    else:
        os.makedirs(os.path.dirname(settings.alertIdFile), exist_ok=True)
        counter = sharedAlertCounter(settings.alertIdFile, settings.alertId)
    if getattr(settings, "instance", None):
        return PrefixedCounter(counter, settings.instance)
    return counter
