"""
Tests for the link's keepalive: a server's welcome asks for one, and the
client (L{mice.services.sender.ReliableSender} over
L{mice.protocols.link.LinkClientProtocol}) sends a ping whenever it has sent
nothing for that long.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols import wire
from mice.services.sender import ReliableSender
from tests.unit.services.test_sender import FakeEndpoint, sent


class KeepaliveTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.sender = ReliableSender(self.endpoint, "web01", "log", self.clock, window=2)
        self.addCleanup(self.sender.stopService)

    def connect(self, keepalive):
        self.sender.startService()
        protocol = self.endpoint.protocols[-1]
        sent(protocol)
        protocol.dataReceived(
            wire.encodeMessage(wire.welcome(4096, 1000, keepalive=keepalive)) + b"\n")
        return protocol

    def test_pingWhenSilent(self):
        protocol = self.connect(100)
        self.clock.advance(99)
        self.assertEqual(sent(protocol), [])
        self.clock.advance(1)
        self.assertEqual(sent(protocol), [wire.ping()])
        self.clock.pump([100] * 3)
        self.assertEqual(sent(protocol), [wire.ping()] * 3)

    def test_noPingWhileSending(self):
        """
        A client that sends batches sends no pings; the first ping comes a
        whole interval after its last message.
        """
        protocol = self.connect(100)
        for n in range(1, 6):
            self.clock.advance(60)
            self.sender.submit("f", n, None, ["r"])
            [message] = sent(protocol)
            self.assertEqual(message["t"], wire.BATCH)
            protocol.dataReceived(wire.encodeMessage(wire.ack(message["id"])) + b"\n")
        self.clock.advance(99)
        self.assertEqual(sent(protocol), [])
        self.clock.advance(1)
        self.assertEqual(sent(protocol), [wire.ping()])

    def test_noKeepaliveAsked(self):
        """
        A server that does not ask (an older one, which would take a ping
        for a bad batch) gets no pings.
        """
        protocol = self.connect(None)
        self.clock.pump([100] * 10)
        self.assertEqual(sent(protocol), [])

    def test_stopsWithTheConnection(self):
        protocol = self.connect(100)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.sender.stopService()
        self.assertEqual([c for c in self.clock.getDelayedCalls()
                          if "keepalive" in repr(c).lower()], [])

    def test_badKeepaliveRefused(self):
        self.sender.startService()
        protocol = self.endpoint.protocols[-1]
        message = wire.welcome(4096, 1000)
        message["keepalive"] = "soon"
        protocol.dataReceived(wire.encodeMessage(message) + b"\n")
        self.assertTrue(protocol.transport.disconnecting)
