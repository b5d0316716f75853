"""
Tests for L{mice.protocols.guard}: the wrapping factory that applies the
admission policy to a listener, driven with a L{Clock} and StringTransports
(and, through the link protocol, with the BufferDaemon).
"""

import os

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import Logger, LogLevel, formatEvent
from twisted.protocols.policies import WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mice.config import ListenLimits
from mice.decoders.logformat import LogFormatDecoder
from mice.protocols import guard, wire
from mice.protocols.admission import AdmissionPolicy
from mice.protocols.guard import GuardFactory, OpenFiles, countOpenFiles, markAuthenticated
from mice.protocols.link import LinkServerFactory
from mice.ringbuffer import MemoryRing
from mice.security.certs import loadOrMakeCA, writeNode
from mice.security.policy import LinkSecurity
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.testing import MemoryPostProcessor


class Recorder(Protocol):
    def __init__(self):
        self.received = []
        self.lost = None

    def dataReceived(self, data):
        self.received.append(data)
        if data == b"login":
            markAuthenticated(self.transport)

    def connectionLost(self, reason):
        self.lost = reason


class FixedOpenFiles(OpenFiles):
    """
    L{OpenFiles} over a count we set.
    """

    def __init__(self, limit, used):
        self.used = used
        super().__init__(limit=limit, count=lambda: self.used, refresh=1.0)


def limits(**kw):
    values = dict(handshakeTimeout=10.0, idleTimeout=300.0, maxConnections=100,
                  maxPerPeer=3, maxPending=50, fdReserve=8, warnInterval=60.0)
    values.update(kw)
    return ListenLimits(**values)


class Harness:
    def __init__(self, case, openFiles=None, requireAuthentication=True, **kw):
        self.clock = Clock()
        self.events = []
        case.patch(guard, "log", Logger(observer=self.events.append))
        self.factory = GuardFactory(Factory.forProtocol(Recorder), self.clock,
                                    AdmissionPolicy(limits(**kw)),
                                    openFiles or FixedOpenFiles(1024, 10),
                                    requireAuthentication=requireAuthentication, name="test")
        self.factory.doStart()
        case.addCleanup(self.stop)

    def stop(self):
        if self.factory.numPorts:
            self.factory.doStop()

    def connect(self, host="10.0.0.1", port=5000, address=None):
        address = address or IPv4Address("TCP", host, port)
        protocol = self.factory.buildProtocol(address)
        if protocol is None:
            return None
        protocol.makeConnection(StringTransport(peerAddress=address))
        return protocol

    def lose(self, protocol):
        protocol.connectionLost(Failure(ConnectionDone()))

    def warnings(self):
        return [e["text"] for e in self.events
                if e["log_level"] == LogLevel.warn and "text" in e]

    def counters(self):
        return self.factory.counters()


class HandshakeDeadlineTests(SynchronousTestCase):
    def test_closedWhenNotAuthenticatedInTime(self):
        """
        A connection that has not authenticated within the handshake timeout
        is aborted (a peer that reads nothing cannot keep it with unsent
        bytes), counted and logged at warning level.
        """
        h = Harness(self)
        p = h.connect()
        h.clock.advance(9.9)
        self.assertFalse(p.transport.disconnecting)
        h.clock.advance(0.1)
        self.assertTrue(p.transport.disconnected)  # StringTransport: aborted
        h.lose(p)
        self.assertEqual(h.counters()["handshake_timeouts_total"], 1)
        self.assertEqual(h.counters()["open_connections"], 0)
        [text] = h.warnings()
        self.assertIn("closing a connection from 10.0.0.1: not authenticated within 10 s",
                      text)

    def test_slowBytesDoNotExtendIt(self):
        """
        One byte a second (slowloris) does not move the deadline.
        """
        h = Harness(self)
        p = h.connect()
        for _ in range(10):
            p.dataReceived(b"x")
            h.clock.advance(1)
        self.assertTrue(p.transport.disconnected)
        self.assertEqual(len(p.wrappedProtocol.received), 10)

    def test_authenticatedInTime(self):
        h = Harness(self)
        p = h.connect()
        h.clock.advance(5)
        p.dataReceived(b"login")
        h.clock.advance(100)
        self.assertFalse(p.transport.disconnecting)
        self.assertEqual(h.counters()["authenticated_connections"], 1)
        self.assertEqual(h.counters()["handshake_timeouts_total"], 0)

    def test_markAuthenticatedThroughWrappers(self):
        """
        A protocol under another wrapper (TLS is one) reaches the guard:
        wrappers pass unknown attributes on to their transport.
        """
        clock = Clock()
        factory = GuardFactory(WrappingFactory(Factory.forProtocol(Recorder)), clock,
                               AdmissionPolicy(limits()), FixedOpenFiles(1024, 10))
        address = IPv4Address("TCP", "10.0.0.1", 1)
        p = factory.buildProtocol(address)
        p.makeConnection(StringTransport(peerAddress=address))
        inner = p.wrappedProtocol.wrappedProtocol
        self.assertIsInstance(inner, Recorder)
        inner.dataReceived(b"login")
        self.assertTrue(p.admitted.authenticated)
        clock.advance(20)
        self.assertFalse(p.transport.disconnecting)

    def test_markAuthenticatedWithoutGuard(self):
        markAuthenticated(StringTransport())

    def test_noAuthenticationRequired(self):
        """
        A listener without a handshake of its own (a web page) counts its
        connections as authenticated: only the limits and idle timeout apply.
        """
        h = Harness(self, requireAuthentication=False)
        p = h.connect()
        h.clock.advance(299)
        self.assertFalse(p.transport.disconnecting)
        self.assertEqual(h.counters()["authenticated_connections"], 1)
        h.clock.advance(1)
        self.assertTrue(p.transport.disconnected)


class IdleTests(SynchronousTestCase):
    def authenticated(self, h):
        p = h.connect()
        p.dataReceived(b"login")
        return p

    def test_idleClosed(self):
        h = Harness(self)
        p = self.authenticated(h)
        h.clock.advance(299)
        self.assertFalse(p.transport.disconnecting)
        h.clock.advance(1)
        self.assertTrue(p.transport.disconnected)
        h.lose(p)
        self.assertEqual(h.counters()["idle_timeouts_total"], 1)
        [text] = h.warnings()
        self.assertIn("closing the link from 10.0.0.1: nothing received for 300 s", text)

    def test_dataKeepsItOpen(self):
        h = Harness(self)
        p = self.authenticated(h)
        for _ in range(10):
            h.clock.advance(200)
            p.dataReceived(b"ping")
        self.assertFalse(p.transport.disconnecting)
        h.clock.advance(300)
        self.assertTrue(p.transport.disconnected)

    def test_pausedIsNotIdle(self):
        """
        While the server does not read (its ring is full, its database is
        down), the peer's silence is not counted; after resuming it has the
        whole timeout again.
        """
        h = Harness(self)
        p = self.authenticated(h)
        inner = p.wrappedProtocol
        inner.transport.pauseProducing()
        self.assertEqual(p.transport.producerState, "paused")
        h.clock.pump([60] * 60)
        self.assertFalse(p.transport.disconnecting)
        inner.transport.resumeProducing()
        self.assertEqual(p.transport.producerState, "producing")
        h.clock.pump([10] * 29)
        self.assertFalse(p.transport.disconnecting)
        h.clock.pump([10] * 2)
        self.assertTrue(p.transport.disconnected)

    def test_timersGoWithTheConnection(self):
        h = Harness(self)
        p = self.authenticated(h)
        q = h.connect(port=2)
        h.lose(p)
        h.lose(q)
        # Only the summaries' loop is left.
        self.assertEqual(len(h.clock.getDelayedCalls()), 1)
        h.lose(q)  # twice: counted once
        self.assertEqual(h.counters()["open_connections"], 0)


class RefusalTests(SynchronousTestCase):
    def test_perPeerRefusedAndLoggedOncePerInterval(self):
        h = Harness(self)
        kept = [h.connect(port=i) for i in range(3)]
        self.assertNotIn(None, kept)
        for p in kept:
            p.dataReceived(b"login")
        for i in range(50):
            self.assertIsNone(h.connect(port=100 + i))
        other = h.connect(host="10.0.0.2")
        self.assertIsNotNone(other)
        other.dataReceived(b"login")
        self.assertEqual(h.counters()["refused_total"]["per_peer"], 50)
        [text] = h.warnings()
        self.assertIn("refusing a connection from 10.0.0.1: it has 3 connections open"
                      " (MAXCONN_PER_PEER = 3)", text)
        # The interval ends: one summary line.
        h.clock.pump([1] * 60)
        self.assertEqual(len(h.warnings()), 2)
        self.assertIn("connections refused: MAXCONN_PER_PEER: 49 more from 10.0.0.1 in the"
                      " last 60 s", h.warnings()[1])

    def test_ipv6PeersBySlash64(self):
        h = Harness(self)
        for i in range(3):
            self.assertIsNotNone(h.connect(address=IPv6Address("TCP", f"2001:db8::{i + 1}", 1)))
        self.assertIsNone(h.connect(address=IPv6Address("TCP", "2001:db8::ffff", 1)))
        self.assertIsNotNone(h.connect(address=IPv6Address("TCP", "2001:db8:0:1::1", 1)))

    def test_unixSocket(self):
        h = Harness(self)
        for _ in range(5):
            self.assertIsNotNone(h.connect(address=UNIXAddress(None)))

    def test_fdReserve(self):
        """
        When free descriptors fall to the reserve, new peers are refused and
        peers that authenticated recently are still let in; the guard counts
        the descriptors its own connections take between two measurements.
        """
        files = FixedOpenFiles(100, 80)
        h = Harness(self, openFiles=files, maxPerPeer=100)
        known = h.connect(host="10.0.0.9")
        known.dataReceived(b"login")
        h.lose(known)
        # 100 - 80 = 20 free; the reserve is 8: 12 new connections leave 8
        # free, the 13th is refused.
        admitted = [h.connect(host="10.0.1.1", port=i) for i in range(13)]
        self.assertEqual(admitted.count(None), 1)
        self.assertIsNone(admitted[-1])
        self.assertEqual(h.counters()["refused_total"]["fd_reserve"], 1)
        self.assertIsNotNone(h.connect(host="10.0.0.9"))
        [text] = h.warnings()
        self.assertIn("only 8 file descriptors left (FD_RESERVE = 8)", text)
        # Closing connections frees descriptors at once.
        for p in admitted[:5]:
            h.lose(p)
        self.assertIsNotNone(h.connect(host="10.0.1.1", port=99))

    def test_fdsMeasuredAgain(self):
        files = FixedOpenFiles(100, 95)
        h = Harness(self, openFiles=files)
        self.assertIsNone(h.connect())
        files.used = 10
        self.assertIsNone(h.connect(port=2))  # measured less than a second ago
        h.clock.advance(1)
        self.assertIsNotNone(h.connect(port=3))

    def test_refusedConnectionBuildsNothing(self):
        built = []

        class Counting(Factory):
            def buildProtocol(self, addr):
                built.append(addr)
                return Recorder()

        clock = Clock()
        factory = GuardFactory(Counting(), clock, AdmissionPolicy(limits(maxConnections=1)),
                               FixedOpenFiles(1024, 10))
        factory.buildProtocol(IPv4Address("TCP", "10.0.0.1", 1))
        self.assertIsNone(factory.buildProtocol(IPv4Address("TCP", "10.0.0.2", 1)))
        self.assertEqual(len(built), 1)

    def test_wrappedFactoryRefuses(self):
        clock = Clock()
        factory = GuardFactory(Factory(), clock, AdmissionPolicy(limits()),
                               FixedOpenFiles(1024, 10))
        factory.wrappedFactory.buildProtocol = lambda addr: None
        self.assertIsNone(factory.buildProtocol(IPv4Address("TCP", "10.0.0.1", 1)))
        self.assertEqual(factory.counters()["open_connections"], 0)

    def test_startWarnsWhenTheFileLimitIsTooLow(self):
        h = Harness(self, openFiles=FixedOpenFiles(1024, 10), maxConnections=1000,
                    fdReserve=64)
        texts = [formatEvent(e) for e in h.events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(texts), 1)
        self.assertIn("test: MAXCONN (1000) and FD_RESERVE (64) exceed the open-file limit"
                      " (1024)", texts[0])

    def test_startLogsTheLimits(self):
        h = Harness(self)
        [text] = [formatEvent(e) for e in h.events]
        self.assertEqual(text, "test: at most 100 connections (3 per peer, 50 in handshake"
                               " from new peers), 10 s to authenticate, 300 s idle; 8 of 1024"
                               " file descriptors in reserve")

    def test_stopLogsTheSummaries(self):
        h = Harness(self)
        for i in range(5):
            h.connect(port=i)
        h.factory.doStop()
        self.assertIn("1 more from 10.0.0.1", h.warnings()[-1])
        # The summaries' loop is stopped; the connections' deadlines stay.
        self.assertEqual(len(h.clock.getDelayedCalls()), 3)


class OpenFilesTests(SynchronousTestCase):
    def test_countOpenFiles(self):
        count = countOpenFiles()
        if count is None:
            raise self.skipTest("this system does not list open file descriptors")
        with open(__file__):
            self.assertEqual(countOpenFiles(), count + 1)

    def test_refresh(self):
        counts = [10, 20]
        files = OpenFiles(limit=100, count=lambda: counts.pop(0), refresh=1.0)
        self.assertEqual(files.free(0), 90)
        files.opened()
        files.opened()
        files.closed()
        self.assertEqual(files.free(0.5), 89)
        self.assertEqual(files.free(1.0), 80)
        self.assertEqual(counts, [])

    def test_unknown(self):
        self.assertIsNone(OpenFiles(limit=100, count=lambda: None).free(0))
        files = OpenFiles(limit=100, count=lambda: 5)
        files.limit = None
        self.assertIsNone(files.free(0))


def _daemon(case):
    clock = Clock()
    store = MemoryPostProcessor()
    ring = MemoryRing(2)
    pipeline = Pipeline(LogFormatDecoder(maxRecord=1000), store, ring, flushRecords=100)
    daemon = BufferDaemon([], [pipeline], clock, timeInterval=2.0, maxLine=65536,
                          maxRecord=1000, limits=limits(maxPerPeer=10),
                          openFiles=FixedOpenFiles(1024, 10))
    daemon.startService()
    case.addCleanup(daemon.stopService)
    daemon.guard.doStart()
    case.addCleanup(daemon.guard.doStop)
    return daemon, clock


def _connect(daemon, port):
    address = IPv4Address("TCP", "10.0.0.1", port)
    protocol = daemon.guard.buildProtocol(address)
    protocol.makeConnection(StringTransport(peerAddress=address))
    return protocol


def _line(message):
    return wire.encodeMessage(message) + b"\n"


class BufferDaemonGuardTests(SynchronousTestCase):
    """
    The BufferDaemon's listeners are guarded, and its link protocol tells the
    guard when a client's hello is accepted.
    """

    def test_helloAuthenticates(self):
        daemon, clock = _daemon(self)
        p = _connect(daemon, 1)
        p.dataReceived(_line(wire.hello("web01", "log")))
        self.assertEqual(daemon.counters()["authenticated_connections"], 1)
        [welcome] = [wire.decodeMessage(x) for x in p.transport.value().split(b"\n")[:-1]]
        self.assertEqual(welcome["keepalive"], 100)
        clock.advance(60)
        self.assertFalse(p.transport.disconnecting)

    def test_noHelloNoLink(self):
        daemon, clock = _daemon(self)
        p = _connect(daemon, 1)
        clock.advance(10)
        self.assertTrue(p.transport.disconnected)
        self.assertEqual(daemon.counters()["handshake_timeouts_total"], 1)

    def test_pingsKeepTheLinkOpen(self):
        daemon, clock = _daemon(self)
        p = _connect(daemon, 1)
        p.dataReceived(_line(wire.hello("web01", "log")))
        p.transport.clear()
        for _ in range(10):
            clock.advance(100)
            p.dataReceived(_line(wire.ping()))
        self.assertFalse(p.transport.disconnecting)
        # A ping is not a batch: nothing stored, nothing answered.
        self.assertEqual(p.transport.value(), b"")
        clock.advance(300)
        self.assertTrue(p.transport.disconnected)

    def test_longLineBeforeHelloRefused(self):
        """
        Before its hello is accepted a peer cannot make the server buffer
        MAXLINE bytes: lines are limited to HANDSHAKE_MAX_LINE.
        """
        daemon, clock = _daemon(self)
        p = _connect(daemon, 1)
        p.dataReceived(b"x" * (wire.HANDSHAKE_MAX_LINE + 2))
        self.assertTrue(p.transport.disconnecting)
        q = _connect(daemon, 2)
        q.dataReceived(_line(wire.hello("web01", "log")))
        q.dataReceived(b"y" * (wire.HANDSHAKE_MAX_LINE + 2))
        self.assertFalse(q.transport.disconnecting)

    def test_protocolErrorsRateLimited(self):
        """
        Garbage from a peer closes its connection with a warning through the
        guard: once per peer per interval, the rest summed up (anyone who
        can connect can send garbage on every connection).
        """
        daemon, clock = _daemon(self)
        events = []
        self.patch(guard, "log", Logger(observer=events.append))
        for port in range(1, 6):
            p = _connect(daemon, port)
            p.dataReceived(b"GET / HTTP/1.0\r\n\r\n")
            self.assertTrue(p.transport.disconnecting)
            self.assertIn(b'"t":"error"', p.transport.value())
            p.connectionLost(Failure(ConnectionDone()))
        texts = [e["text"] for e in events if "text" in e]
        self.assertEqual(len(texts), 1)
        self.assertIn("link from 10.0.0.1:1: closing: malformed message", texts[0])
        self.assertEqual(daemon.counters()["protocol_errors_total"], 5)
        clock.advance(60)
        texts = [e["text"] for e in events if "text" in e]
        self.assertEqual(texts[1], "connections closed: protocol errors: 4 more from 10.0.0.1"
                                   " in the last 60 s")

    def test_lostBeforeHelloRateLimited(self):
        daemon, clock = _daemon(self)
        events = []
        self.patch(guard, "log", Logger(observer=events.append))
        for port in range(1, 4):
            p = _connect(daemon, port)
            p.connectionLost(Failure(ConnectionLost("reset by peer")))
        texts = [e["text"] for e in events if "text" in e]
        self.assertEqual(len(texts), 1)
        self.assertIn("link from 10.0.0.1:1: closed before its hello", texts[0])

    def test_handshakeTimeoutNotReportedTwice(self):
        """
        A connection the guard aborted for its deadline is not reported
        again by the link as "closed before its hello".
        """
        daemon, clock = _daemon(self)
        events = []
        self.patch(guard, "log", Logger(observer=events.append))
        p = _connect(daemon, 1)
        clock.advance(10)
        p.connectionLost(Failure(ConnectionAborted()))
        texts = [e["text"] for e in events if "text" in e]
        self.assertEqual(len(texts), 1)
        self.assertIn("not authenticated within 10 s", texts[0])
        self.assertEqual(daemon.counters()["protocol_errors_total"], 0)

    def test_pendingConnectionsAreNotPaused(self):
        """
        A full ring pauses the links that may send batches; a connection
        still in its handshake is not paused (it sends no batch), so it
        completes its handshake (and is paused then) instead of being held
        until its deadline.
        """
        daemon, clock = _daemon(self)
        links = []
        for port in (1, 2):
            p = _connect(daemon, port)
            p.dataReceived(_line(wire.hello("web01", "log")))
            links.append(p)
        pending = _connect(daemon, 3)
        records = [["2026-11-22", "10:00:00", "line", ""]]
        for i, p in enumerate(links):
            p.dataReceived(_line(wire.batch(1, "/f", 1 + i, {"hostname": "h"}, records)))
        self.assertTrue(daemon.paused)
        self.assertEqual([p.transport.producerState for p in links], ["paused", "paused"])
        self.assertEqual(pending.transport.producerState, "producing")
        pending.dataReceived(_line(wire.hello("db01", "log")))
        self.assertEqual(pending.transport.producerState, "paused")
        self.assertEqual(daemon.counters()["authenticated_connections"], 3)
        clock.advance(2)
        self.assertFalse(daemon.paused)
        self.assertEqual([p.transport.producerState for p in [*links, pending]],
                         ["producing"] * 3)


class ListenerTests(SynchronousTestCase):
    """
    What a BufferDaemon listens with: the guard, outermost (a refused
    connection costs no TLS object).
    """

    def listen(self, security=None):
        reactor = MemoryReactorClock()
        daemon = BufferDaemon([serverFromString(reactor, "tcp:3366:interface=127.0.0.1")],
                              [Pipeline(LogFormatDecoder(), MemoryPostProcessor(),
                                        MemoryRing(2))],
                              reactor, security=security, limits=limits(),
                              openFiles=FixedOpenFiles(1024, 10))
        daemon.startService()
        self.addCleanup(daemon.stopService)
        [(port, factory, backlog, interface)] = reactor.tcpServers
        return factory

    def test_plain(self):
        factory = self.listen()
        self.assertIsInstance(factory, GuardFactory)
        self.assertIsInstance(factory.wrappedFactory, LinkServerFactory)

    def test_tlsInside(self):
        pki = os.path.abspath(self.mktemp())
        caKey, ca, _ = loadOrMakeCA(pki)
        certificate, key = writeNode(pki, caKey, ca, "127.0.0.1")
        security = LinkSecurity.fromSettings(
            True, tls=(certificate, key, os.path.join(pki, "ca.crt")))
        factory = self.listen(security)
        self.assertIsInstance(factory, GuardFactory)
        self.assertIsInstance(factory.wrappedFactory, TLSMemoryBIOFactory)
        self.assertIsInstance(factory.wrappedFactory.wrappedFactory, LinkServerFactory)
        # A connection over the limit gets no TLS object.
        for port in range(3):
            self.assertIsNotNone(factory.buildProtocol(IPv4Address("TCP", "10.0.0.1", port)))
        self.assertIsNone(factory.buildProtocol(IPv4Address("TCP", "10.0.0.1", 9)))
