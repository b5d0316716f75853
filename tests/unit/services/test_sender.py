"""
Tests for L{mice.outbox} and L{mice.services.sender}.
"""

from twisted.internet.defer import succeed
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mice.outbox import Outbox, OutgoingBatch, UnknownBatch
from mice.protocols import wire
from mice.protocols.link import PlainSecurity
from mice.services.reactionclient import ReactionClient
from mice.services.sender import ReliableSender, endpointName


def batch(n, count=1):
    return OutgoingBatch(n, "s", n * 10, count, b"line%d" % n)


class OutboxTests(SynchronousTestCase):
    def test_window(self):
        outbox = Outbox(2)
        for n in range(1, 5):
            outbox.add(batch(n, count=n))
        self.assertEqual([b.batchId for b in outbox.takeSendable()], [1, 2])
        self.assertEqual(outbox.takeSendable(), [])
        self.assertEqual((outbox.inFlight, outbox.records), (2, 10))
        self.assertEqual(outbox.acknowledge(2).batchId, 2)
        self.assertEqual([b.batchId for b in outbox.takeSendable()], [3])
        self.assertEqual(outbox.records, 8)

    def test_unknownAck(self):
        outbox = Outbox(2)
        outbox.add(batch(1))
        self.assertRaises(UnknownBatch, outbox.acknowledge, 1)
        outbox.takeSendable()
        outbox.acknowledge(1)
        self.assertRaises(UnknownBatch, outbox.acknowledge, 1)

    def test_putBackAndReplaceKeepOrder(self):
        outbox = Outbox(3)
        for n in range(1, 5):
            outbox.add(batch(n, count=2))
        taken = outbox.takeSendable()
        outbox.putBack(taken[1:])
        self.assertEqual((outbox.inFlight, outbox.queuedRecords), (1, 6))
        self.assertEqual(outbox.replaceFirst([batch(20), batch(21)]).batchId, 2)
        self.assertEqual([b.batchId for b in outbox.takeSendable()], [20, 21])
        self.assertEqual(outbox.records, 8)

    def test_requeueKeepsOrder(self):
        outbox = Outbox(3)
        for n in range(1, 6):
            outbox.add(batch(n))
        outbox.takeSendable()
        outbox.acknowledge(2)
        self.assertEqual(outbox.requeueInFlight(), 2)
        self.assertEqual(outbox.inFlight, 0)
        self.assertEqual([b.batchId for b in outbox.takeSendable()], [1, 3, 4])
        self.assertEqual(len(outbox), 4)


class FakeEndpoint:
    """
    An endpoint whose connections are StringTransports we drive by hand.
    """

    def __init__(self):
        self.protocols = []

    def connect(self, factory):
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.protocols.append(protocol)
        return succeed(protocol)


def sent(protocol):
    lines = protocol.transport.value().split(b"\n")[:-1]
    protocol.transport.clear()
    return [wire.decodeMessage(line) for line in lines]


class ReliableSenderTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.sender = ReliableSender(self.endpoint, "web01", "log", self.clock, window=2)

    def connect(self):
        self.sender.startService()
        protocol = self.endpoint.protocols[-1]
        self.assertEqual(sent(protocol), [wire.hello("web01", "log")])
        return protocol

    def welcome(self, protocol, maxLine=4096):
        protocol.dataReceived(wire.encodeMessage(wire.welcome(maxLine, 1000)) + b"\n")

    def test_sendsAfterWelcomeWithinWindow(self):
        acked = [self.sender.submit("f", n, None, ["r"] * n) for n in (1, 2, 3)]
        protocol = self.connect()
        self.assertEqual(sent(protocol), [])
        self.welcome(protocol)
        self.assertEqual([m["id"] for m in sent(protocol)], [1, 2])
        protocol.dataReceived(wire.encodeMessage(wire.ack(2)) + b"\n")
        self.assertEqual(self.successResultOf(acked[1]).count, 2)
        self.assertNoResult(acked[0])
        self.assertEqual([m["id"] for m in sent(protocol)], [3])
        self.assertEqual(self.sender.pendingRecords, 4)

    def test_resendAfterReconnect(self):
        protocol = self.connect()
        self.welcome(protocol)
        acked = [self.sender.submit("f", n, None, ["r"]) for n in (1, 2)]
        self.assertEqual([m["seq"] for m in sent(protocol)], [1, 2])
        protocol.connectionLost(Failure(ConnectionDone()))
        idle = self.sender.whenIdle()
        self.clock.advance(60)
        second = self.endpoint.protocols[-1]
        self.assertIsNot(second, protocol)
        sent(second)
        self.welcome(second)
        self.assertEqual([(m["id"], m["seq"]) for m in sent(second)], [(1, 1), (2, 2)])
        self.assertEqual(self.sender.resentBatches, 2)
        for n in (1, 2):
            second.dataReceived(wire.encodeMessage(wire.ack(n)) + b"\n")
        self.successResultOf(acked[0])
        self.assertIsNone(self.successResultOf(idle))
        self.assertEqual(self.sender.acknowledgedRecords, 2)

    def test_ackForUnknownBatchClosesLink(self):
        protocol = self.connect()
        self.welcome(protocol)
        protocol.dataReceived(wire.encodeMessage(wire.ack(99)) + b"\n")
        self.assertTrue(protocol.transport.disconnecting)
        self.assertIn(b"not in flight", protocol.transport.value())

    def test_batchTooLargeForServerIsSplit(self):
        """
        A batch longer than the server's line limit is sent as smaller
        batches, in order, with the right sequence numbers; its Deferred
        fires once all of them are acknowledged.
        """
        protocol = self.connect()
        self.welcome(protocol, maxLine=100)
        d = self.sender.submit("f", 10, None, ["x" * 20, "y" * 20, "z" * 20, "w" * 20])
        after = self.sender.submit("f", 14, None, ["v"])
        sentBatches = sent(protocol)
        self.assertEqual([(m["seq"], m["recs"]) for m in sentBatches],
                         [(10, ["x" * 20]), (11, ["y" * 20])])
        for m in sentBatches:
            protocol.dataReceived(wire.encodeMessage(wire.ack(m["id"])) + b"\n")
        sentBatches = sent(protocol)
        self.assertEqual([(m["seq"], m["recs"]) for m in sentBatches],
                         [(12, ["z" * 20]), (13, ["w" * 20])])
        self.assertNoResult(d)
        for m in sentBatches:
            protocol.dataReceived(wire.encodeMessage(wire.ack(m["id"])) + b"\n")
        self.assertEqual(self.successResultOf(d).count, 4)
        [last] = sent(protocol)
        self.assertEqual((last["seq"], last["recs"]), (14, ["v"]))
        protocol.dataReceived(wire.encodeMessage(wire.ack(last["id"])) + b"\n")
        self.successResultOf(after)
        self.assertEqual(self.sender.pendingRecords, 0)

    def test_recordTooLargeForServerFails(self):
        protocol = self.connect()
        self.welcome(protocol, maxLine=50)
        d = self.sender.submit("f", 1, None, ["x" * 100])
        self.failureResultOf(d)
        self.assertEqual(self.sender.pendingRecords, 0)
        self.flushLoggedErrors()

    def test_garbageFromServerClosesLink(self):
        protocol = self.connect()
        protocol.dataReceived(b"\xff\xfe\n")
        self.assertTrue(protocol.transport.disconnecting)




class RefusalTests(SynchronousTestCase):
    def test_refusedAtHello(self):
        """
        A server that refuses at hello is reported once through
        L{ReliableSender.whenRefused}.
        """
        endpoint = FakeEndpoint()
        sender = ReliableSender(endpoint, "web01", "idmef", Clock())
        refused = sender.whenRefused()
        sender.startService()
        protocol = endpoint.protocols[-1]
        protocol.dataReceived(wire.encodeMessage(wire.error("this server takes no 'idmef'"))
                              + b"\n")
        self.assertEqual(self.successResultOf(refused), "this server takes no 'idmef'")
        self.assertTrue(protocol.transport.disconnecting)
        self.flushLoggedErrors()


class ReconnectLogTests(SynchronousTestCase):
    """
    A link that cannot connect says so naming its server's host:port, not an
    endpoint object's repr, and warns once per outage.
    """

    def setUp(self):
        self.reactor = MemoryReactorClock()

    def refuse(self):
        connector = self.reactor.connectors[-1]
        factory = self.reactor.tcpClients[-1][2]
        factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))

    def test_retryLinesNameTheServer(self):
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", 3366)
        sender = ReliableSender(endpoint, "web01", "log", self.reactor,
                                description="raw-log database 127.0.0.1:3366")
        with capturedLogs() as events:
            sender.startService()
            self.refuse()
            self.reactor.pump([1.0] * 40)
            self.refuse()
        text = [formatEvent(event) for event in events]
        self.assertFalse([line for line in text if "object at 0x" in line], text)
        retries = [line for line in text if line.startswith("Scheduling retry")]
        self.assertEqual(retries[0][:len("Scheduling retry 1 to connect raw-log database"
                                         " 127.0.0.1:3366 in ")],
                         "Scheduling retry 1 to connect raw-log database 127.0.0.1:3366 in ")
        warnings = [event for event in events if event["log_level"] == LogLevel.warn]
        self.assertEqual([formatEvent(event) for event in warnings],
                         ["cannot connect to raw-log database 127.0.0.1:3366: Connection was"
                          " refused by other side; retrying with backoff"])
        self.addCleanup(sender.stopService)

    def test_defaultNameIsHostPort(self):
        endpoint = TCP4ClientEndpoint(self.reactor, "192.0.2.7", 1977)
        self.assertEqual(ReliableSender(endpoint, "web01", "log", self.reactor).description,
                         "192.0.2.7:1977")
        client = ReactionClient(endpoint, self.reactor, "mngmthost", PlainSecurity)
        self.assertEqual(client.description, "192.0.2.7:1977")
        self.assertEqual(endpointName(HostnameEndpoint(self.reactor, b"example.org", 4455)),
                         "example.org:4455")

    def test_reactionClientRetryNamesTheDaemon(self):
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", 1977)
        client = ReactionClient(endpoint, self.reactor, "mngmthost", PlainSecurity,
                                description="daemon1 127.0.0.1:1977")
        with capturedLogs() as events:
            client.startService()
            self.refuse()
        text = [formatEvent(event) for event in events]
        self.assertTrue([line for line in text
                         if line.startswith("Scheduling retry 1 to connect daemon1"
                                            " 127.0.0.1:1977 in ")], text)
        self.addCleanup(client.stopService)
