# -*- test-case-name: tests.unit.services.test_sender -*-
"""
A reconnecting, acknowledged sender: the client side of every M-ICE link.

L{ReliableSender.submit} queues a batch and returns a Deferred that fires once
the server has acknowledged it as durable.  Unacknowledged batches stay in the
outbox; when the connection drops they are sent again on the next one (the
server's stores are idempotent, so a resend never duplicates anything).
"""

import socket

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger
from zope.interface import implementer

from mice.metrics import Metrics
from mice.outbox import Outbox, OutgoingBatch, UnknownBatch
from mice.protocols import wire
from mice.protocols.link import LinkClientFactory, PlainSecurity
from mice.services.waiters import Waiters


class BatchTooLarge(Exception):
    """
    The server's line limit is smaller than a batch: it can never be sent.
    """


@implementer(IStreamClientEndpoint)
class NamedEndpoint:
    """
    A client endpoint that goes by the name of its server (C{"analysis agent
    127.0.0.1:3367"}) in every log line, ClientService's "Scheduling retry 2
    to connect ..." included, instead of an endpoint object's repr; and that
    says why it cannot connect, once per outage (the retries after it are
    ClientService's info lines).
    """

    log = Logger()

    def __init__(self, endpoint, name):
        self.endpoint = endpoint
        self.name = name
        self._failing = False

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def connect(self, factory):
        def connected(protocol):
            self._failing = False
            return protocol

        def failed(reason):
            if not self._failing:
                self._failing = True
                self.log.warn("cannot connect to {server}: {reason}; retrying with backoff",
                              server=self.name, reason=reason.getErrorMessage().rstrip("."))
            return reason

        return self.endpoint.connect(factory).addCallbacks(connected, failed)


def endpointName(endpoint):
    """
    C{host:port} of a TCP client endpoint (or the path of a UNIX one); its
    repr for any other.
    """
    for host, port in (("_hostText", "_port"), ("_host", "_port")):
        if hasattr(endpoint, host) and hasattr(endpoint, port):
            return f"{getattr(endpoint, host)}:{getattr(endpoint, port)}"
    if hasattr(endpoint, "_path"):
        return f"unix:{endpoint._path}"
    return repr(endpoint)


def reconnecting(endpoint, name, factory, clock, retryPolicy=None):
    """
    The L{ClientService} of every M-ICE link: C{endpoint} under the name
    C{name}, retried with backoff (0.5 s up to 30 s) unless C{retryPolicy}
    says otherwise.
    """
    return ClientService(
        NamedEndpoint(endpoint, name), factory, clock=clock,
        retryPolicy=retryPolicy or backoffPolicy(initialDelay=0.5, maxDelay=30.0))


class ReconnectingService(Service):
    """
    A service that keeps one connection up, through L{reconnecting}, while it
    runs: a link's sender, the ReactionDaemon's client, a broker's ends.
    Their C{__init__} calls L{_reconnect}; L{_stopping} is where one ends
    what it has under way before the connection stops.

    @ivar description: what the logs call the other end.
    """

    def _reconnect(self, endpoint, description, factory, clock, retryPolicy):
        self.description = description
        self._client = reconnecting(endpoint, description, factory, clock, retryPolicy)

    def startService(self):
        super().startService()
        self._client.startService()

    def stopService(self):
        super().stopService()
        self._stopping()
        return self._client.stopService()

    def _stopping(self):
        """End what is under way, before the connection stops (nothing here)."""


class BatchBook:
    """
    What every sender keeps (L{ReliableSender} on a link,
    L{mice.services.broker.BrokerSender} on a broker): the batches submitted
    and not yet acknowledged (an L{Outbox} of C{window} in flight), who waits
    for each, and who waits for them all.
    """

    def _openBook(self, source, kind, window):
        self.source = source
        self.kind = kind
        self.acknowledgedRecords = 0
        self.resentBatches = 0
        self._outbox = Outbox(window)
        self._waiting = {}
        self._idle = Waiters()
        self._nextId = 1
        self._readyBefore = False

    def _attachBookMetrics(self, metrics):
        """
        Count into C{metrics} what every sender counts: batches sent again,
        reconnects, whether it is connected, batches not yet acknowledged.
        """
        server = self.description
        self.metrics = metrics
        self._reconnects = metrics.counter("link_reconnects", server=server)
        self._resent = metrics.counter("batches_resent", server=server)
        metrics.watch("link_connected", lambda: {server: int(self.connected)})
        metrics.watch("unacknowledged_batches", lambda: {server: len(self._outbox)})

    def _ready(self, message):
        """
        Connected (a reconnect, counted, after the first time): log
        C{message} and send what waits.
        """
        if self._readyBefore:
            self._reconnects.inc()
        self._readyBefore = True
        self.log.info(message, server=self.description, pending=len(self._outbox))
        self._pump()

    @property
    def pendingRecords(self):
        """
        Records submitted and not yet acknowledged.
        """
        return self._outbox.records

    @property
    def pendingBatches(self):
        return len(self._outbox)

    def whenIdle(self):
        """
        @return: a Deferred that fires once everything submitted so far is
            acknowledged.
        """
        if not self._outbox:
            return succeed(None)
        return self._idle.wait()

    def _makeBatch(self, stream, seq, host, records, seqs=None):
        batchId = self._nextId
        self._nextId += 1
        line = wire.encodeMessage(wire.batch(batchId, stream, seq, host, records, seqs))
        d = Deferred()
        self._waiting[batchId] = d
        return OutgoingBatch(batchId, stream, seq, len(records), line), d

    def _acknowledge(self, batchId):
        """
        Batch C{batchId} is safe: send more, tell who waits for it (and for
        everything, once nothing is left).

        @raise UnknownBatch: it is not in flight.
        """
        batch = self._outbox.acknowledge(batchId)
        self.acknowledgedRecords += batch.count
        self._pump()
        self._waiting.pop(batchId).callback(batch)
        if not self._outbox:
            self._idle.fire()
        return batch

    def _requeue(self):
        """
        The connection is gone: what was in flight is sent again, first.

        @return: how many batches.
        """
        requeued = self._outbox.requeueInFlight()
        self.resentBatches += requeued
        self._resent.inc(requeued)
        return requeued


class ReliableSender(BatchBook, ReconnectingService):
    """
    @ivar metrics: the L{mice.metrics.Metrics} its series go to (labelled
        with C{description}): reconnects, batches resent, whether the link
        is up, batches not yet acknowledged.
    """

    log = Logger()

    def __init__(self, endpoint, source, kind, clock, window=8, retryPolicy=None,
                 securityFactory=PlainSecurity, description=None, metrics=None):
        self._openBook(source, kind, window)
        self.maxLine = None
        self.maxRecord = None
        self._clock = clock
        self._refusals = Waiters()
        self._link = None
        self._factory = LinkClientFactory(self, securityFactory, clock=clock)
        self._reconnect(endpoint, description or endpointName(endpoint), self._factory, clock,
                        retryPolicy)
        self.attachMetrics(metrics or Metrics("sender"))

    def attachMetrics(self, metrics):
        """
        Count into C{metrics} (a daemon's, shared by its senders).
        """
        self._attachBookMetrics(metrics)

    # What users call

    @property
    def connected(self):
        return self._link is not None

    def submit(self, stream, seq, host, records, seqs=None):
        """
        Queue C{records} (the first one with sequence number C{seq} in
        C{stream}; the others follow, or have the numbers C{seqs}) for
        sending.

        @return: a Deferred firing with the L{OutgoingBatch} once it is
            acknowledged.
        """
        batch, d = self._makeBatch(stream, seq, host, records, seqs)
        self._outbox.add(batch)
        self._pump()
        return d

    def _split(self, batch):
        """
        A batch longer than the server's line limit is replaced by its two
        halves; its Deferred fires once both are acknowledged.  A single
        record that is still too long cannot be delivered to this server:
        that fails loudly.

        @return: the halves (none for a single record).
        """
        original = self._waiting.pop(batch.batchId)
        if batch.count == 1:
            self.log.error("a record of {stream} (seq {seq}, {size} bytes encoded) exceeds the"
                           " server's {limit}-byte line limit; NOT delivered",
                           stream=batch.stream, seq=batch.seq, size=len(batch.line),
                           limit=self.maxLine)
            original.errback(BatchTooLarge(batch.batchId))
            return []
        message = wire.decodeMessage(batch.line)
        records, seqs, half = message["recs"], message.get("seqs"), batch.count // 2
        first, d1 = self._makeBatch(batch.stream, batch.seq, message["host"], records[:half],
                                    seqs and seqs[:half])
        second, d2 = self._makeBatch(batch.stream, seqs[half] if seqs else batch.seq + half,
                                     message["host"], records[half:], seqs and seqs[half:])
        DeferredList([d1, d2], fireOnOneErrback=True, consumeErrors=True).addCallbacks(
            lambda _: original.callback(batch), lambda f: original.errback(f.value.subFailure))
        return [first, second]

    # What the link protocol calls

    def linkReady(self, link, maxLine, maxRecord):
        self._link = link
        self.maxLine, self.maxRecord = maxLine, maxRecord
        self._ready("link to {server} ready ({pending} batches to send)")

    def linkRefused(self, link, reason):
        """
        The server refused this client at hello (wrong kind, bad source...):
        it will refuse again, so whoever waits in L{whenRefused} is told.
        """
        self.log.error("{server} refused this client: {reason}", server=self.description,
                       reason=reason)
        self._refusals.fire(reason)

    def whenRefused(self):
        """
        @return: a Deferred that fires with the server's reason the next time
            it refuses this client at hello.
        """
        return self._refusals.wait()

    def ackReceived(self, link, batchId):
        try:
            self._acknowledge(batchId)
        except UnknownBatch:
            link.refuse(f"acknowledgement for batch {batchId}, which is not in flight")

    def linkLost(self, link, reason):
        if link is not self._link:
            return
        self._link = None
        requeued = self._requeue()
        self.log.info("link to {server} lost ({reason}); {requeued} unacknowledged batches"
                      " will be sent again", server=self.description,
                      reason=reason.getErrorMessage(), requeued=requeued)

    def _pump(self):
        link = self._link
        if link is None:
            return
        while True:
            sendable = self._outbox.takeSendable()
            if not sendable:
                return
            for i, batch in enumerate(sendable):
                if link.sealedLength(len(batch.line)) > self.maxLine:
                    # Give this batch and the ones after it back, in order,
                    # and split it where it stands; then take again.
                    self._outbox.putBack(sendable[i:])
                    self._outbox.replaceFirst(self._split(batch))
                    break
                link.sendBatchLine(batch.line)


def sendersFor(reactor, links, source=None, metrics=None):
    """
    The senders of an analysis module's links (L{mice.postproc.agent.LinkSpec}s),
    each secured as its config says; the caller runs them as services.

    @param source: this host's name on the links (default: the host name).
    @param metrics: the daemon's L{mice.metrics.Metrics}, if it has one.
    @return: C{{route: sender}}.
    """
    from twisted.internet.endpoints import clientFromString

    from mice.security.policy import LinkSecurity

    if source is None:
        source = socket.gethostname().split(".")[0] or "localhost"
    from mice.protocols.amqp import BrokerTarget

    senders = {}
    for link in links:
        if isinstance(link.address, BrokerTarget):
            from mice.services.broker import brokerSender

            senders[link.route] = brokerSender(
                reactor, link.address, link.analyzerId or source, link.kind,
                description=f"{link.description} {link.address}", metrics=metrics)
            continue
        security = LinkSecurity.fromSettings(link.encryption, link.key, "aes-256-gcm",
                                             link.tls, where=link.where, keyName=link.keyName)
        host = link.address.host.replace(":", "\\:")
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:host={host}:port={link.address.port}"),
            link.address.host)
        senders[link.route] = ReliableSender(endpoint, source, link.kind, reactor,
                                             securityFactory=security.securityFactory(),
                                             description=f"{link.description} {link.address}",
                                             metrics=metrics)
    return senders
