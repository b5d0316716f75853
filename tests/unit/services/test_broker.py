"""
Tests for L{mice.services.broker}'s channel recovery (issue 18): when the
broker closes a channel, cancels a consumer or returns a batch while the
connection stays up, both ends open a new channel on the same connection
after a backoff (L{mice.protocols.amqp.afterChannelError}), driven here
by a L{Clock}; the channel and the connection are stand-ins that record
what they are asked (the real broker: C{tests.integration.test_broker}).
"""

from types import SimpleNamespace

from pika import exceptions
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mice.decoders.logformat import LogFormatDecoder
from mice.protocols import amqp, wire
from mice.protocols.amqp import BrokerTarget, parseAmqpUrl
from mice.ringbuffer import MemoryRing
from mice.services.broker import BrokerIntake, BrokerSender
from mice.services.bufferdaemon import BufferDaemon, Pipeline

URL = "amqp://mice:s3cret-password@mq.example.org:5673/prod"
HOST = {"hostname": "web01", "domain": "", "ip": "10.0.0.5", "osystem": "Linux",
        "release": "", "version": ""}


class StandInChannel:
    """
    A channel that records what it is told, and ends when the test says.
    """

    def __init__(self, connection):
        self.connection = connection._impl
        self.on_closed = Deferred()
        self.is_open = True
        self.acks = []
        self.published = []
        self.closedByClient = False

    def close(self):
        self.closedByClient = True
        self.end(exceptions.ChannelClosedByClient(200, "Normal shutdown"))

    def end(self, reason):
        self.is_open = False
        self.on_closed.callback(reason)

    def basic_ack(self, tag, multiple=False):
        self.acks.append((tag, multiple))

    def basic_nack(self, tag, multiple=False, requeue=True):
        pass

    def basic_publish(self, exchange, key, body, properties, mandatory=False):
        d = Deferred()
        self.published.append((body, d))
        return d


class StandInConnection:
    """
    A connection that is open; C{channel()} is a Deferred the test fires.
    """

    def __init__(self):
        self._impl = object()
        self.is_open = True
        self.transport = SimpleNamespace(lost=0)
        self.transport.loseConnection = lambda: setattr(self.transport, "lost",
                                                        self.transport.lost + 1)
        self.opening = []

    def channel(self):
        d = Deferred()
        self.opening.append(d)
        return d


class HeldStore:
    name = "held"
    maxErrors = 3

    def start(self):
        pass

    def process(self, records):
        return Deferred()

    def stop(self):
        pass


class RecoveryMixin:
    def setUp(self):
        self.clock = Clock()
        self.target = BrokerTarget(parseAmqpUrl(URL), "mice.rawlog")
        self.endpoint = TCP4ClientEndpoint(MemoryReactor(), "127.0.0.1", 1)
        self.logged = []
        observer = lambda event: self.logged.append(formatEvent(event))  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.connection = StandInConnection()

    def start(self, client):
        client.startService()
        self.addCleanup(client.stopService)
        client._connection = self.connection
        self.channel = StandInChannel(self.connection)
        client._channelReady(self.channel)
        return client

    def delays(self):
        return [call.getTime() - self.clock.seconds() for call in self.clock.getDelayedCalls()]


class IntakeRecoveryTests(RecoveryMixin, SynchronousTestCase):
    def setUp(self):
        super().setUp()
        self.daemon = BufferDaemon([], [Pipeline(LogFormatDecoder(), HeldStore(),
                                                 MemoryRing(64), flushRecords=1000)],
                                   Clock(), timeInterval=60.0)
        self.daemon.startService()
        self.addCleanup(self.daemon.stopService)
        self.intake = self.start(BrokerIntake(self.target, self.daemon, self.clock,
                                              self.endpoint))

    def message(self, tag, channel):
        body = wire.encodeMessage(wire.batch(
            0, "/var/log/messages", tag, HOST, [["2026-11-22", "10:00:00", f"line {tag}", ""]]))
        return SimpleNamespace(channel=channel, body=body,
                               method=SimpleNamespace(delivery_tag=tag, redelivered=False),
                               properties=SimpleNamespace(headers=amqp.headers("web01", "log")))

    def test_closedByBrokerReopens(self):
        """
        The broker closes the consumer's channel (406): the intake forgets
        its delivery tags, and opens a new channel on the same connection
        0.5 s later; one line says so, with the broker's host:port, the
        queue and the reason, and no credentials.
        """
        self.intake._deliver(self.message(1, self.channel))
        self.assertEqual(self.intake.unacknowledged, 1)
        self.channel.end(exceptions.ChannelClosedByBroker(
            406, "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out"))
        self.assertIsNone(self.intake.channel)
        self.assertEqual(self.intake.unacknowledged, 0)
        self.assertEqual(self.delays(), [0.5])
        self.assertEqual(self.connection.opening, [])
        self.clock.advance(0.5)
        self.assertEqual(len(self.connection.opening), 1)
        self.assertEqual(self.connection.transport.lost, 0)
        [line] = [line for line in self.logged if "a new channel" in line]
        self.assertEqual(
            line, "broker mq.example.org:5673 vhost prod queue mice.rawlog: 406"
                  " PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out;"
                  " 1 batches held unacknowledged (the daemon stores them; what the queue"
                  " still has it gives out again, and the stores ignore the copies); a new"
                  " channel (the queue declared again) in 0.5 s")
        self.assertEqual([line for line in self.logged if "s3cret" in line or "mice:" in line],
                         [])

    def test_backoffUntilSetUp(self):
        """
        Each new channel the broker refuses doubles the wait (up to 30 s);
        one set up resets it.
        """
        self.channel.end(exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no queue"))
        waits = []
        for _ in range(8):
            [delay] = self.delays()
            waits.append(delay)
            self.clock.advance(delay)
            self.connection.opening.pop().errback(
                exceptions.ChannelClosedByBroker(403, "ACCESS_REFUSED - no"))
        self.assertEqual(waits, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0])
        [delay] = self.delays()
        self.clock.advance(delay)
        channel = StandInChannel(self.connection)
        self.intake._channelReady(channel)
        channel.end(exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no queue"))
        self.assertEqual(self.delays(), [0.5])

    def test_consumerCancelled(self):
        """
        The broker cancels the consumer (its queue was deleted) while the
        channel stays open: the messages received before the cancel go to
        the daemon, the channel is closed and a new one opened 0.5 s later.
        """
        queue = SimpleNamespace(pending=[self.message(1, self.channel),
                                         self.message(2, self.channel)])
        self.intake._consumingEnded(Failure(exceptions.ConsumerCancelled()), queue,
                                    self.channel)
        self.assertTrue(self.channel.closedByClient)
        self.assertIsNone(self.intake.channel)
        self.assertEqual(self.delays(), [0.5])
        [line] = [line for line in self.logged if "a new channel" in line]
        self.assertIn("consumer cancelled by the broker", line)
        # Both went to the daemon before the channel was given up.
        self.assertIn("2 batches held unacknowledged", line)

    def test_channelClosedWithConnection(self):
        """
        A channel that ends with its connection is the reconnect's: no new
        channel on the connection that is going.
        """
        self.channel.end(exceptions.StreamLostError("reset"))
        self.assertIs(self.intake.channel, self.channel)
        self.assertEqual(self.delays(), [])

    def test_stopCancelsReopen(self):
        self.channel.end(exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no queue"))
        self.intake.stopService()
        self.assertEqual(self.delays(), [])

    def test_connectionLostCancelsReopen(self):
        """
        The connection goes while a new channel waits its turn: the
        reconnect sets one up, not the old connection's timer.
        """
        self.channel.end(exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no queue"))
        self.intake.brokerLost(self.connection, Failure(Exception("gone")))
        self.assertEqual(self.delays(), [])


class SenderRecoveryTests(RecoveryMixin, SynchronousTestCase):
    def setUp(self):
        super().setUp()
        self.sender = self.start(BrokerSender(self.target, "web01", "log", self.clock,
                                              self.endpoint))

    def submit(self, seq):
        return self.sender.submit("/var/log/messages", seq, HOST,
                                  [["2026-11-22", "10:00:00", f"line {seq}", ""]])

    def test_returnedBatchReopens(self):
        """
        A batch returned unroutable (its queue was deleted): every
        unconfirmed batch is published again, on a new channel opened 0.5 s
        later on the same connection, not a new connection.
        """
        first, second = self.submit(1), self.submit(2)
        self.assertEqual(len(self.channel.published), 2)
        returned = SimpleNamespace(method=SimpleNamespace(reply_code=312,
                                                          reply_text="NO_ROUTE"))
        self.channel.published[0][1].errback(exceptions.UnroutableError([returned]))
        self.channel.published[1][1].errback(exceptions.UnroutableError([returned]))
        self.assertTrue(self.channel.closedByClient)
        self.assertEqual(self.delays(), [0.5])
        [line] = [line for line in self.logged if "a new channel" in line]
        self.assertIn("312 NO_ROUTE - batch 1 returned: NO_ROUTE; 2 unconfirmed batches will"
                      " be published again", line)
        self.clock.advance(0.5)
        self.assertEqual(len(self.connection.opening), 1)
        self.assertEqual(self.connection.transport.lost, 0)
        channel = StandInChannel(self.connection)
        self.sender._channelReady(channel)
        self.sender._pump()
        self.assertEqual(len(channel.published), 2)
        for _, d in channel.published:
            d.callback(None)
        self.assertEqual([self.successResultOf(d).seq for d in (first, second)], [1, 2])

    def test_closedByBrokerResends(self):
        """
        The broker closes the publisher's channel (404) with a batch
        awaiting its confirm: it is published again on the new channel.
        """
        self.submit(1)
        self.channel.published[0][1].errback(exceptions.ChannelClosedByBroker(404, "x"))
        self.channel.end(exceptions.ChannelClosedByBroker(404, "NOT_FOUND - no exchange"))
        self.assertEqual(self.sender._outbox.takeSendable()[0].seq, 1)

    def test_nackedReopens(self):
        self.submit(1)
        self.channel.published[0][1].errback(exceptions.NackError([]))
        self.assertEqual(self.delays(), [0.5])
        [line] = [line for line in self.logged if "a new channel" in line]
        self.assertIn("batch 1 not confirmed", line)
