# -*- test-case-name: tests.integration.test_broker,tests.unit.protocols.test_amqp,tests.unit.config.test_broker -*-
"""
RabbitMQ as the spine between forwarders, agents and stores: the two ends of
a broker target (L{mice.protocols.amqp.BrokerTarget}), on pika's Twisted
adapter (C{pika.adapters.twisted_connection}).

L{BrokerSender} publishes batches with publisher confirms.  It has the
interface of L{mice.services.sender.ReliableSender} (C{submit} returns a
Deferred firing once the batch is safe), so a forwarder's
L{mice.services.forwarder.Destination} and an agent's modules use it as
they use a link: a batch counts as delivered, and the forwarder's offsets
advance, only once the broker has confirmed it (persisted in a durable
queue); what is unconfirmed when the connection drops is published again on
the next one.  While the broker is down the sender is not connected, and
the forwarder spools exactly as for a BufferDaemon that is down.

L{BrokerIntake} consumes a queue into a L{mice.services.bufferdaemon.BufferDaemon}
as if every message were a batch received on a link, with two differences:
a message is acknowledged only once its post-processor has made it durable
(stored, or forwarded and acknowledged), never when it merely reached the
ring; and the prefetch (at most that many unacknowledged messages) bounds
what the daemon holds, so a store that is slow slows consumption and the
broker keeps the rest.  Several intakes on one queue share its load; the
unacknowledged messages of one that dies go to the others, and the stores
ignore the (source, stream, seq) they already have.

Passwords never reach the log: targets are shown with
L{mice.protocols.amqp.AmqpUrl.masked}.
"""

from collections import deque

from twisted.internet.defer import inlineCallbacks
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from mice.metrics import Metrics
from mice.outbox import UnknownBatch
from mice.protocols import amqp, wire
from mice.services.sender import BatchBook, ReconnectingService
from mice.services.waiters import Waiters


def connectionParameters(url, name):
    """
    pika's parameters for C{url} (the address and TLS are the endpoint's:
    the Twisted adapter ignores them).
    """
    import pika

    return pika.ConnectionParameters(
        virtual_host=url.vhost, credentials=pika.PlainCredentials(url.user, url.password),
        heartbeat=int(url.option("heartbeat", 30)),
        client_properties={"connection_name": name, "product": "M-ICE"})


def brokerEndpoint(reactor, url):
    """
    The client endpoint of C{url}: TCP, or TLS for C{amqps://} (the
    system's CAs, or C{cacertfile}; a client certificate with C{certfile}
    and C{keyfile}).
    """
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

    timeout = int(url.option("connection_timeout", 10))
    endpoint = HostnameEndpoint(reactor, url.host, url.port, timeout=timeout)
    if not url.tls:
        return endpoint
    from twisted.internet import ssl

    trust = None
    if url.option("cacertfile"):
        with open(url.option("cacertfile"), "rb") as f:
            trust = ssl.Certificate.loadPEM(f.read())
    client = None
    if url.option("certfile"):
        with open(url.option("certfile"), "rb") as f:
            certificate = f.read()
        with open(url.option("keyfile") or url.option("certfile"), "rb") as f:
            key = f.read()
        client = ssl.PrivateCertificate.loadPEM(certificate + b"\n" + key)
    options = ssl.optionsForClientTLS(url.option("server_name_indication") or url.host,
                                      trustRoot=trust, clientCertificate=client)
    return wrapClientTLS(options, endpoint)


def _protocolClass():
    """
    pika's Twisted protocol, telling its owner when the AMQP connection is
    open and when it is gone (pika is imported when a broker is used).
    """
    from pika.adapters.twisted_connection import TwistedProtocolConnection

    class BrokerProtocol(TwistedProtocolConnection):
        def __init__(self, parameters, clock, owner):
            super().__init__(parameters, custom_reactor=clock)
            self.owner = owner
            self.ready.addErrback(self._notOpened)

        def connectionReady(self):
            self.owner.brokerReady(self)
            return self

        def _on_connection_failed(self, connection, error=None):
            # pika's adapter fails `ready` with AMQPConnectionError(attempts)
            # and drops the reason (a refused login, a vhost denied): keep it.
            self.openError = openingError(error, *getattr(self, "_lostWhile", (None, None)))
            super()._on_connection_failed(connection, error)

        def _notOpened(self, failure):
            # The broker refused the login or the vhost: it closes the
            # socket, and ClientService tries again after its backoff.
            error = getattr(self, "openError", None)
            if isinstance(error, Exception):
                failure = Failure(error)
            reason = failure.getErrorMessage() or failure.type.__name__
            self.owner.log.error("{server}: the broker did not open the connection: {reason}",
                                 server=self.owner.description, reason=reason)
            if refusal(failure.value):
                self.owner.brokerRefused(f"{failure.type.__name__}: {reason}")

        def connectionLost(self, reason):
            # What pika knew before the adapter overwrites it with
            # ConnectionDone: the broker's Connection.Close, the stage.
            impl = self._impl
            self._lostWhile = (getattr(impl, "_error", None),
                               getattr(impl, "connection_state", None))
            super().connectionLost(reason)
            self.owner.brokerLost(self, reason)

    return BrokerProtocol


def openingError(error, pending, state):
    """
    Why a connection did not open, from what pika knew when it was lost:
    the broker's own Connection.Close if it sent one, else the stage it was
    lost at (the login, or the vhost), else C{error}.
    """
    from pika import connection, exceptions

    if isinstance(pending, exceptions.ConnectionClosedByBroker):
        return pending
    if state == connection.Connection.CONNECTION_START:
        return exceptions.ProbableAuthenticationError(
            "the broker closed the connection at the login: wrong user or password?")
    if state == connection.Connection.CONNECTION_TUNE:
        return exceptions.ProbableAccessDeniedError(
            "the broker closed the connection at the vhost: one this user may not use?")
    return error


def refusal(error):
    """
    Whether C{error} (from opening a connection or setting up its channel)
    is the broker saying no -- bad credentials, a vhost or a queue this user
    may not use, a queue declared already with other arguments -- which
    trying again will not change.
    """
    from pika import exceptions

    if isinstance(error, exceptions.ProbableAuthenticationError
                  | exceptions.ProbableAccessDeniedError | exceptions.AuthenticationError):
        return True
    return (isinstance(error, exceptions.ChannelClosedByBroker
                       | exceptions.ConnectionClosedByBroker)
            and error.reply_code in (403, 406, 530))


class _BrokerFactory(Factory):
    def __init__(self, owner, parameters, clock):
        self.owner = owner
        self.parameters = parameters
        self.clock = clock
        self.protocolClass = _protocolClass()

    def buildProtocol(self, addr):
        protocol = self.protocolClass(self.parameters, self.clock, self.owner)
        protocol.factory = self
        return protocol


class _BrokerClient(ReconnectingService):
    """
    What both ends share: a reconnecting connection to the broker (a
    C{ClientService} with a backoff) and the channel set up on it.
    """

    log = Logger()

    def __init__(self, target, clock, endpoint, description, retryPolicy=None, name="mice"):
        self.target = target
        self.clock = clock
        self.channel = None
        self._connection = None
        self._refusals = Waiters()
        # Channels ended in a row without a new one set up since, and the
        # call that will open the next one (amqp.afterChannelError).
        self._channelFailures = 0
        self._reopenCall = None
        factory = _BrokerFactory(self, connectionParameters(target.url, name), clock)
        self._reconnect(endpoint, description or str(target), factory, clock, retryPolicy)

    @property
    def connected(self):
        return self.channel is not None

    @property
    def where(self):
        """
        The broker's address and the queue, for the log: never the user or
        the password.
        """
        url = self.target.url
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"broker {host}:{url.port} vhost {url.vhost} queue {self.target.queue}"

    def _stopping(self):
        self._cancelReopen()
        connection, self._connection = self._connection, None
        if connection is not None and connection.transport is not None:
            connection.transport.loseConnection()

    def brokerReady(self, connection):
        self._cancelReopen()
        self._channelFailures = 0
        self._connection = connection
        self._openOn(connection)

    def _openOn(self, connection):
        self._setUp(connection).addErrback(self._setUpFailed, connection)

    def _setUpFailed(self, failure, connection):
        from pika import exceptions

        reason = failure.getErrorMessage() or failure.type.__name__
        if refusal(failure.value):
            self.brokerRefused(f"{failure.type.__name__}: {reason}")
        error = failure.value
        if (isinstance(error, exceptions.ChannelClosed) and connection is self._connection
                and connection.is_open):
            # The broker said no to this channel (a queue declared with
            # other arguments, a permission): a new one, after a backoff.
            self._afterChannelEnded(connection, error.reply_code, error.reply_text,
                                    "setting up the channel failed")
            return
        self.log.error("{server}: setting up the channel failed ({reason}); reconnecting",
                       server=self.description, reason=reason)
        if connection.transport is not None:
            connection.transport.loseConnection()

    def _channelReady(self, channel):
        """
        C{channel} is set up (the queue declared, the consumer registered or
        confirms on): it is the one used, and its end is watched.
        """
        self.channel = channel
        self._channelFailures = 0
        channel.on_closed.addCallback(self._channelClosed, channel)

    def _channelClosed(self, reason, channel):
        """
        C{channel} has ended.  Its connection's end is L{brokerLost}'s
        business; the broker closing it alone (a channel-level error) is
        met by a new channel on the same connection.
        """
        from pika import exceptions

        if channel is not self.channel or not isinstance(reason, exceptions.ChannelClosed):
            return reason
        self.channel = None
        self._afterChannelEnded(self._connection, reason.reply_code, reason.reply_text,
                                self._channelGone())
        return None

    def _abandonChannel(self, channel, replyCode, replyText):
        """
        Stop using C{channel} (the broker cancelled the consumer, or
        returned a batch: the queue is gone) and open a new one.
        """
        self.channel = None
        what = self._channelGone()
        if channel.is_open:
            channel.close()
        self._afterChannelEnded(self._connection, replyCode, replyText, what)

    def _afterChannelEnded(self, connection, replyCode, replyText, what):
        plan = amqp.afterChannelError(replyCode, replyText, self._channelFailures)
        if plan.action == amqp.IGNORE or connection is None:
            return
        if plan.action == amqp.RECONNECT:
            self.log.error("{where}: channel closed ({reason}); reconnecting",
                           where=self.where, reason=plan.reason)
            if connection.transport is not None:
                connection.transport.loseConnection()
            return
        self._channelFailures += 1
        self.log.warn("{where}: {reason}; {what}; a new channel (the queue declared again)"
                      " in {delay:g} s", where=self.where, reason=plan.reason, what=what,
                      delay=plan.delay)
        self._cancelReopen()
        self._reopenCall = self.clock.callLater(plan.delay, self._reopen, connection)

    def _reopen(self, connection):
        self._reopenCall = None
        if self.running and connection is self._connection and connection.is_open:
            self._openOn(connection)

    def _cancelReopen(self):
        if self._reopenCall is not None and self._reopenCall.active():
            self._reopenCall.cancel()
        self._reopenCall = None

    @inlineCallbacks
    def _openChannel(self, connection):
        channel = yield connection.channel()
        target = self.target
        yield channel.queue_declare(queue=target.queue, durable=True,
                                    arguments=target.queueArguments())
        return channel

    def whenRefused(self):
        """
        @return: a Deferred that fires with the broker's reason the next time
            it refuses this client (L{refusal}); it goes on trying all the
            same, as a daemon should, and a command such as C{mice send}
            gives up.
        """
        return self._refusals.wait()

    def brokerRefused(self, reason):
        self._refusals.fire(reason)

    def brokerLost(self, connection, reason):
        if connection is self._connection:
            self._connection = None
            self._cancelReopen()
        if self.channel is not None and self.channel.connection is connection._impl:
            self.channel = None
            self.channelLost(reason)

    def channelLost(self, reason):
        """
        The connection is gone with the channel: the reconnect will set up
        another.
        """
        self.log.info("{server}: connection lost ({reason}); {what}", server=self.description,
                      reason=reason.getErrorMessage(), what=self._channelGone())

    def _channelGone(self):
        """
        The channel used is gone: forget what belonged to it.

        @return: what becomes of it, for the log.
        """
        return "nothing was in flight"


class BrokerSender(BatchBook, _BrokerClient):
    """
    Publishes batches to a queue, each counted as delivered once the broker
    confirms it.  The same interface as L{mice.services.sender.ReliableSender}.

    @ivar metrics: its series (labelled with C{description}): batches
        published, confirmed and published again after a reconnect, whether
        it is connected, batches not yet confirmed.
    """

    def __init__(self, target, source, kind, clock, endpoint, window=64, retryPolicy=None,
                 description=None, metrics=None, maxRecord=65536):
        super().__init__(target, clock, endpoint, description or f"broker {target}",
                         retryPolicy, name=f"mice {kind} sender {source}")
        self._openBook(source, kind, window)
        self.maxRecord = maxRecord
        self.maxLine = None
        self._headers = amqp.headers(source, kind)
        self.attachMetrics(metrics or Metrics("sender"))

    def attachMetrics(self, metrics):
        server = self.description
        self._attachBookMetrics(metrics)
        self._published = metrics.counter("broker_batches_published", server=server)
        self._confirmed = metrics.counter("broker_batches_confirmed", server=server)

    def submit(self, stream, seq, host, records, seqs=None):
        """
        Queue a batch for publishing.

        @return: a Deferred firing with its L{mice.outbox.OutgoingBatch} once
            the broker has confirmed it.
        """
        batch, d = self._makeBatch(stream, seq, host, records, seqs)
        self._outbox.add(batch)
        self._pump()
        return d

    @inlineCallbacks
    def _setUp(self, connection):
        channel = yield self._openChannel(connection)
        yield channel.confirm_delivery()
        if connection is not self._connection:
            return
        self._channelReady(channel)
        self._ready("{server}: connected ({pending} batches to publish)")

    def _channelGone(self):
        return f"{self._requeue()} unconfirmed batches will be published again"

    def _pump(self):
        channel = self.channel
        if channel is None:
            return
        import pika

        queue = self.target.queue
        for batch in self._outbox.takeSendable():
            properties = pika.BasicProperties(
                delivery_mode=2, content_type="application/json", headers=self._headers,
                message_id=amqp.messageId(self.source, batch.stream, batch.seq))
            d = channel.basic_publish("", queue, batch.line, properties, mandatory=True)
            self._published.inc()
            d.addCallbacks(self._confirmed_, self._refused, callbackArgs=(batch.batchId,),
                           errbackArgs=(channel, batch.batchId))

    def _confirmed_(self, _, batchId):
        try:
            self._acknowledge(batchId)
        except UnknownBatch:
            return  # requeued by a reconnect meanwhile: its new copy counts
        self._confirmed.inc()

    def _refused(self, failure, channel, batchId):
        """
        The broker refused a batch -- returned it (its queue is gone: deleted
        by an operator) or nacked it: start again on a new channel, which
        declares the queue again and publishes every unconfirmed batch
        again in order.  A channel or connection that closed is
        L{_channelClosed}'s or L{brokerLost}'s.
        """
        from pika import exceptions

        if channel is not self.channel or not failure.check(exceptions.UnroutableError,
                                                            exceptions.NackError):
            return None
        if failure.check(exceptions.UnroutableError) and failure.value.messages:
            returned = failure.value.messages[0].method
            replyCode, replyText = returned.reply_code, (
                f"batch {batchId} returned: {returned.reply_text}")
        else:
            replyCode, replyText = None, f"batch {batchId} not confirmed: {failure.value!r}"
        self._abandonChannel(channel, replyCode, replyText)
        return None


#: The most records a forwarder puts in one message
#: (L{mice.forwarder.shipping.logBatches}).
BATCH_RECORDS = 1000


def prefetchAdvice(prefetch, pipelines, batchRecords=BATCH_RECORDS):
    """
    What is wrong with a consumer's PREFETCH for the pipelines it feeds,
    whose acknowledgements wait for the store: one sentence each.

    The window (C{prefetch} messages of up to C{batchRecords} records) must
    hold what a pipeline's store works on -- C{concurrency} flushes of
    C{flushRecords} -- and one flush gathering behind them, or the store
    waits for deliveries and flushes come out small (a full window starts a
    flush at once).  Beyond what a memory-mapped ring keeps decoded
    (C{heldRecordsLimit}), more prefetch only costs memory: the rest is
    decoded again at flush time.
    """
    window = prefetch * batchRecords
    advice = []
    for pipeline in pipelines:
        need = (pipeline.concurrency + 1) * pipeline.flushRecords
        if window < need:
            advice.append(
                f"{pipeline.name}: PREFETCH {prefetch} holds up to {window:,} records, less"
                f" than its store works on ({pipeline.concurrency} flushes of"
                f" {pipeline.flushRecords:,}) plus one gathering ({need:,}): its flushes will"
                f" be small; PREFETCH {-(-need // batchRecords)} or more keeps it busy")
        elif pipeline.ring.durable and window > 2 * pipeline.heldRecordsLimit:
            advice.append(
                f"{pipeline.name}: PREFETCH {prefetch} holds up to {window:,} records, far"
                f" more than the daemon keeps decoded ({pipeline.heldRecordsLimit:,}): the"
                f" rest costs memory and a second decode, not speed;"
                f" PREFETCH {-(-need // batchRecords)} keeps the store busy")
    return advice


class _Delivery:
    """
    One delivered message as the BufferDaemon sees a link: its source and
    kind, and an acknowledgement that acks the delivery (after the store).
    """

    __slots__ = ("intake", "channel", "source", "kind", "redelivered")
    ackAfterStore = True
    paused = False

    def __init__(self, intake, channel, source, kind, redelivered):
        self.intake = intake
        self.channel = channel
        self.source = source
        self.kind = kind
        self.redelivered = redelivered

    @property
    def peer(self):
        return self.intake.description

    def sendAck(self, deliveryTag):
        self.intake.stored(self.channel, deliveryTag)

    def pauseProducing(self):
        pass

    resumeProducing = pauseProducing


class BrokerIntake(_BrokerClient):
    """
    Consumes a queue into a BufferDaemon (see the module docstring).

    @ivar metrics: the daemon's: batches consumed, redelivered (the broker
        gave them to another consumer before, or to this one before a
        reconnect), acknowledged after the store, rejected as malformed.
    """

    def __init__(self, target, daemon, clock, endpoint, description=None, retryPolicy=None,
                 metrics=None):
        super().__init__(target, clock, endpoint, description or f"broker {target}",
                         retryPolicy, name="mice intake")
        self.daemon = daemon
        self.unacknowledged = 0
        self._kinds = frozenset(p.decoder.kind for p in daemon.pipelines)
        # Delivery tags handed to the daemon and not yet acknowledged, in
        # delivery order; those of them it has made durable; the call that
        # will acknowledge them (one frame per reactor turn).
        self._outstanding = deque()
        self._durable = set()
        self._ackCall = None
        self._advised = False
        self.attachMetrics(metrics or daemon.metrics)

    def attachMetrics(self, metrics):
        queue = self.target.queue
        self._consumed = metrics.counter("broker_batches_consumed", queue=queue)
        self._redelivered = metrics.counter("broker_batches_redelivered", queue=queue)
        self._acked = metrics.counter("broker_batches_acknowledged", queue=queue)
        self._rejected = metrics.counter("broker_batches_rejected", queue=queue)
        metrics.watch("broker_unacknowledged", lambda: {queue: self.unacknowledged})

    def stopService(self):
        # The acknowledgements of the daemon's last flush go out before the
        # connection closes (the daemon stops its children after it).
        if self._ackCall is not None and self._ackCall.active():
            self._ackCall.cancel()
            self._acknowledge(self.channel)
        return super().stopService()

    @inlineCallbacks
    def _setUp(self, connection):
        channel = yield self._openChannel(connection)
        yield channel.basic_qos(prefetch_count=self.target.prefetch)
        queue, tag = yield channel.basic_consume(queue=self.target.queue, auto_ack=False)
        if connection is not self._connection:
            return
        self._channelReady(channel)
        self._forgetDeliveries()
        self.log.info("{server}: consuming (prefetch {prefetch})", server=self.description,
                      prefetch=self.target.prefetch)
        if not self._advised:
            self._advised = True
            for advice in prefetchAdvice(self.target.prefetch, self.daemon.pipelines):
                self.log.warn("{server}: {advice}", server=self.description, advice=advice)
        self._take(queue, channel)

    def _take(self, queue, channel):
        queue.get().addCallbacks(self._delivered, self._consumingEnded,
                                 callbackArgs=(queue, channel), errbackArgs=(queue, channel))

    def _consumingEnded(self, failure, queue, channel):
        """
        The consumer's queue is closed: its channel closed (L{_channelClosed}
        follows), or the broker cancelled the consumer (C{basic.cancel}: the
        queue was deleted, or its node went away) while the channel stays
        open, which stops the deliveries for good unless a new consumer is
        registered.  What arrived before the cancel is taken first (the
        daemon stores it); then a new channel declares the queue again.
        """
        from pika import exceptions

        if channel is not self.channel or not failure.check(exceptions.ConsumerCancelled):
            return None
        pending, queue.pending = queue.pending, []
        for message in pending:
            self._deliver(message)
        self._abandonChannel(channel, amqp.CONSUMER_CANCELLED,
                             "basic.cancel: the queue was deleted, or its node went away")
        return None

    def _delivered(self, message, queue, channel):
        self._deliver(message)
        # What arrived meanwhile, without a Deferred each.
        pending = queue.pending
        while pending and channel is self.channel:
            self._deliver(pending.pop(0))
        if channel is self.channel:
            self._take(queue, channel)

    def _deliver(self, message):
        channel, method = message.channel, message.method
        tag = method.delivery_tag
        if channel is not self.channel:
            return
        if not self.daemon.running:
            # The daemon is stopping: the broker gives it to another.
            channel.basic_nack(tag, requeue=True)
            return
        try:
            source, kind, batch = amqp.decodeDelivery(message.properties.headers, message.body,
                                                     tag)
            if kind not in self._kinds:
                raise amqp.BrokerError(f"this server takes no {kind!r} data (it takes:"
                                       f" {', '.join(sorted(self._kinds))})")
            self.daemon.batchReceived(
                _Delivery(self, channel, source, kind, method.redelivered), batch,
                message.body)
        except (amqp.BrokerError, wire.ProtocolError) as e:
            self._rejected.inc()
            self.log.error("{server}: message {tag} rejected, not an M-ICE batch for this"
                           " server: {error}", server=self.description, tag=tag, error=e)
            channel.basic_reject(tag, requeue=False)
            return
        # Counted once the daemon holds it (batchReceived did not raise): a
        # rejected tag is settled already and never waits in _outstanding.
        self._outstanding.append(tag)
        self.unacknowledged += 1
        self._consumed.inc()
        if method.redelivered:
            self._redelivered.inc()
        if self.unacknowledged >= self.target.prefetch and not any(
                p.flushing for p in self.daemon.pipelines):
            # The whole window waits for the store and no flush would end
            # to free it: flush now, not at TIMEINV.  (While one runs, its
            # end starts the next: flushing at every delivery would make
            # them a batch each.)
            self.daemon.flush()

    def stored(self, channel, deliveryTag):
        """
        The batch of C{deliveryTag} is durable in every pipeline: it will be
        acknowledged (unless its channel is gone: the broker has given it
        out again, and the stores will ignore the copy).

        Acknowledgements go out once per reactor turn, as one C{basic_ack}
        with C{multiple=True} for the longest run of delivered tags that
        are all durable: a flush that stores several batches acks them in
        one frame, and a tag stored before an older one (two pipelines of
        different kinds) waits for it, since C{multiple} would ack the
        older one too.
        """
        if channel is not self.channel:
            return
        self._durable.add(deliveryTag)
        if self._ackCall is None:
            self._ackCall = self.clock.callLater(0, self._acknowledge, channel)

    def _acknowledge(self, channel):
        self._ackCall = None
        if channel is not self.channel:
            return
        outstanding, durable = self._outstanding, self._durable
        last, count = None, 0
        while outstanding and outstanding[0] in durable:
            last = outstanding.popleft()
            durable.discard(last)
            count += 1
        if last is None:
            return
        self.unacknowledged -= count
        self._acked.inc(count)
        channel.basic_ack(last, multiple=True)

    def _forgetDeliveries(self):
        """
        A channel is gone or new: its delivery tags mean nothing any more.
        """
        if self._ackCall is not None and self._ackCall.active():
            self._ackCall.cancel()
        self._ackCall = None
        self._outstanding.clear()
        self._durable.clear()
        self.unacknowledged = 0

    def _channelGone(self):
        n = self.unacknowledged
        self._forgetDeliveries()
        return (f"{n} batches held unacknowledged (the daemon stores them; what the queue"
                f" still has it gives out again, and the stores ignore the copies)")


def brokerSender(reactor, target, source, kind, description=None, metrics=None,
                 retryPolicy=None, window=64, maxRecord=65536):
    """
    A L{BrokerSender} to C{target} on the real network.
    """
    return BrokerSender(target, source, kind, reactor, brokerEndpoint(reactor, target.url),
                        window=window, retryPolicy=retryPolicy, description=description,
                        metrics=metrics, maxRecord=maxRecord)


def brokerIntake(reactor, target, daemon, metrics=None):
    """
    A L{BrokerIntake} of C{target} into C{daemon}, as its child service.
    """
    intake = BrokerIntake(target, daemon, reactor, brokerEndpoint(reactor, target.url),
                          metrics=metrics)
    intake.setServiceParent(daemon)
    return intake
