"""
Tests for L{mice.protocols.reaction}: the reaction messages, and the
ReactionDaemon's end of the link driven in memory (iosim) with the real
pre-shared-key security: only an authenticated peer is heard; a wrong key,
a replayed session, a flipped bit, plain text, an oversized or malformed
message are refused and logged, nothing runs, and a good client beside
them is unaffected.
"""

import base64

from twisted.internet.address import IPv4Address
from twisted.internet.defer import ensureDeferred
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from mice.config import loadConfigText
from mice.db.countermeasures import CountermeasureStore, SynchronousPool
from mice.protocols import reaction, wire
from mice.protocols.reaction import BadRequest, checkOutcome, checkRequest, react
from mice.reactors.system import SystemModule
from mice.security.policy import LinkSecurity
from mice.services.reactionclient import ReactionClient, ReactionUnreachable
from mice.services.reactiondaemon import Countermeasures, ReactionDaemon
from mice.testing import MemoryProcessReactor, capturedLog
from tests.unit.services.test_reactiondaemon import CONFIG, START

KEY = "0123456789abcdef" * 8
WRONG = "fedcba9876543210" * 8
PEER = IPv4Address("TCP", "192.0.2.50", 40000)


class RequestTests(SynchronousTestCase):
    def test_apply(self):
        request = checkRequest(react("r-1", "apply", fid=1, params={"ip": "192.0.2.7"},
                                     duration=600, by="alice"))
        self.assertEqual((request.id, request.action, request.fid, request.params,
                          request.duration, request.by), ("r-1", "apply", 1,
                                                           {"ip": "192.0.2.7"}, 600, "alice"))

    def test_undoAndList(self):
        self.assertEqual(checkRequest(react("u", "undo", target="r-1")).target, "r-1")
        request = checkRequest(react("l", "list", after=10, limit=5))
        self.assertEqual((request.after, request.limit), (10, 5))

    def malformed(self, message, withId=True):
        e = self.assertRaises(BadRequest, checkRequest, message)
        self.assertEqual(e.requestId, "r" if withId else None)
        return str(e)

    def test_malformed(self):
        good = react("r", "apply", fid=1, params={"ip": "192.0.2.7"})
        self.malformed(dict(good, id="a b"), withId=False)
        self.malformed(dict(good, id="x" * 129), withId=False)
        self.malformed(dict(good, id=7), withId=False)
        self.assertIn("unknown action", self.malformed(dict(good, action="exec")))
        self.malformed(dict(good, fid="1"))
        self.malformed(dict(good, fid=0x1000000))
        self.malformed(dict(good, fid=True))
        self.malformed(dict(good, params=["ip"]))
        self.malformed(dict(good, params={"IP": "x"}))
        self.malformed(dict(good, params={"ip": 1}))
        self.malformed(dict(good, params={"ip": "x" * 256}))
        self.malformed(dict(good, params={f"p{n}": "x" for n in range(17)}))
        self.malformed(dict(good, duration=-1))
        self.malformed(dict(good, duration=True))
        self.malformed(dict(good, duration=float("nan")))
        self.malformed(dict(good, duration=10 ** 9))
        self.malformed(dict(good, by="alice\nFAKE LOG LINE"))
        self.malformed(dict(react("r", "undo", target="a b")))
        self.malformed(dict(react("r", "list"), limit=0))

    def test_outcome(self):
        message = reaction.outcome("r", "refused", "no", retry=True, exit=None)
        self.assertEqual(message, {"t": "outcome", "id": "r", "status": "refused",
                                   "text": "no", "retry": True})
        self.assertEqual(checkOutcome(message), message)
        self.assertRaises(wire.ProtocolError, checkOutcome, dict(message, status="maybe"))
        self.assertRaises(wire.ProtocolError, checkOutcome, wire.error("bye"))


class LogWatcher:
    def __init__(self, case):
        self.events = capturedLog(case)

    def saw(self, text):
        return any(text in formatEvent(e) for e in self.events)


def makeDaemon(case, key=KEY, config=CONFIG):
    reactor = MemoryProcessReactor()
    reactor.advance(START)
    pool = SynchronousPool()
    case.addCleanup(pool.connection.close)
    module = SystemModule(loadConfigText(config, "/etc/mice/rct.conf",
                                         kind="rct_system").settings, reactor)
    module.canRun = lambda path: True
    engine = Countermeasures({1: module}, CountermeasureStore(pool), reactor)
    case.successResultOf(ensureDeferred(engine.restore()))
    daemon = ReactionDaemon([], engine, LinkSecurity.fromSettings(True, key))
    return daemon, reactor


class Link:
    """
    One connection to the daemon in memory, from a real L{ReactionClient}
    whose lines are recorded (so a test can replay or spoil them).
    """

    def __init__(self, case, daemon, reactor, key=KEY):
        self.client = ReactionClient(None, reactor, "test-client",
                                     LinkSecurity.fromSettings(True, key).securityFactory(),
                                     description="memory")
        clientFactory = reaction.ReactionClientFactory(
            self.client, LinkSecurity.fromSettings(True, key).securityFactory())
        self.sent = []

        def recordingClient(protocol):
            transport = iosim.FakeTransport(protocol, isServer=False)
            write = transport.write

            def recorded(data):
                self.sent.append(data)
                write(data)

            transport.write = recorded
            return transport

        self.clientProtocol, self.server, self.pump = iosim.connectedServerAndClient(
            lambda: daemon.factory.buildProtocol(PEER), lambda: clientFactory.buildProtocol(None),
            clientTransportFactory=recordingClient,
            serverTransportFactory=lambda p: iosim.FakeTransport(p, isServer=True,
                                                                 peerAddress=PEER))
        self.pump.flush()

    def ask(self, message):
        d = self.client.request(message, timeout=5)
        self.pump.flush()
        return d

    @property
    def closed(self):
        return self.server.transport.disconnecting or self.server.transport.disconnected


class LinkTests(SynchronousTestCase):
    def setUp(self):
        self.log = LogWatcher(self)
        self.daemon, self.reactor = makeDaemon(self)

    def good(self):
        link = Link(self, self.daemon, self.reactor)
        self.assertTrue(link.client.connected)
        return link

    def assertNothingRan(self, before=0):
        self.assertEqual(len(self.reactor.spawned), before)

    def applyOnce(self, link, requestId="r1", ip="192.0.2.7"):
        d = link.ask(react(requestId, "apply", fid=1, params={"ip": ip}, duration=60))
        self.reactor.spawned[-1].transport.end(0)
        link.pump.flush()
        return self.successResultOf(d)

    def test_goodClient(self):
        link = self.good()
        self.assertTrue(self.log.saw("test-client authenticated (psk)"))
        answer = self.applyOnce(link)
        self.assertEqual(answer["status"], "done", answer)
        self.assertEqual(self.reactor.spawned[0].args[-1], "192.0.2.7")
        listed = self.successResultOf(link.ask(react("l", "list")))
        self.assertEqual([c["id"] for c in listed["active"]], ["r1"])
        # The peer is now protected.
        refused = self.successResultOf(link.ask(react("r2", "apply", fid=1,
                                                      params={"ip": "192.0.2.50"})))
        self.assertIn("a ManagementHost", refused["text"])

    def test_wrongKey(self):
        link = Link(self, self.daemon, self.reactor, key=WRONG)
        self.assertTrue(link.closed)
        self.assertFalse(link.client.connected)
        self.assertTrue(self.log.saw("192.0.2.50:40000: closing: encrypted link: the client does"
                                     " not know the key"))
        self.assertNothingRan()
        self.assertEqual(self.daemon.engine.peers, set())
        self.applyOnce(self.good())

    def test_replayedSession(self):
        """
        Every line a good client sent, replayed on a new connection: the
        server's nonce is new, so the replayed proof fails; nothing runs
        again.
        """
        link = self.good()
        self.applyOnce(link)
        self.daemon.engine.peers.clear()
        server = self.daemon.factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "203.0.113.9", 5555))
        server.makeConnection(transport)
        server.dataReceived(b"".join(link.sent))
        self.assertTrue(transport.disconnecting)
        self.assertTrue(self.log.saw("203.0.113.9:5555: closing: encrypted link: the client does"
                                     " not know the key"))
        self.assertNothingRan(1)
        self.assertEqual(self.daemon.engine.counts["requests"], 1)

    def test_replayedMessage(self):
        """
        A request line replayed within its own session: the counter nonce
        no longer matches.
        """
        link = self.good()
        self.applyOnce(link)
        link.server.dataReceived(link.sent[-1])
        self.assertTrue(link.closed)
        self.assertTrue(self.log.saw("fails authentication (tampered, replayed"))
        self.assertNothingRan(1)

    def test_flippedBit(self):
        link = self.good()
        sealed = link.clientProtocol._security.seal(wire.encodeMessage(
            react("r1", "apply", fid=1, params={"ip": "192.0.2.7"})))
        raw = bytearray(base64.b64decode(sealed))
        raw[len(raw) // 2] ^= 0x04
        link.server.dataReceived(base64.b64encode(bytes(raw)) + b"\n")
        self.assertTrue(link.closed)
        self.assertTrue(self.log.saw("message 1 fails authentication"))
        self.assertNothingRan()
        self.applyOnce(self.good())

    def test_plainText(self):
        server = self.daemon.factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        server.makeConnection(transport)
        server.dataReceived(wire.encodeMessage(reaction.hello("intruder")) + b"\n"
                            + wire.encodeMessage(react("r1", "apply", fid=1,
                                                       params={"ip": "192.0.2.7"})) + b"\n")
        self.assertTrue(transport.disconnecting)
        self.assertTrue(self.log.saw("expected the client's hello of MICE-PSK/1"))
        self.assertNothingRan()

    def test_oversized(self):
        link = self.good()
        link.server.dataReceived(b"A" * (reaction.MAX_REQUEST_LINE + 10) + b"\n")
        self.assertTrue(link.closed)
        self.assertTrue(self.log.saw(f"message longer than {reaction.MAX_REQUEST_LINE} bytes"))
        self.assertNothingRan()

    def test_malformedWithId(self):
        """
        A request with a valid id but a bad field is answered (refused);
        the link stays.
        """
        link = self.good()
        answer = self.successResultOf(link.ask(dict(react("r1", "apply", fid=1,
                                                          params={"ip": "192.0.2.7"}),
                                                    duration="forever")))
        self.assertEqual(answer["status"], "refused")
        self.assertIn("malformed request", answer["text"])
        self.assertFalse(link.closed)
        self.assertTrue(self.log.saw("request r1 refused: malformed"))
        self.assertNothingRan()

    def test_malformedWithoutId(self):
        link = self.good()
        link.clientProtocol.sendMessage({"t": "react", "action": "apply"})
        link.pump.flush()
        self.assertTrue(link.closed)
        self.assertTrue(self.log.saw("malformed request"))

    def test_wrongKind(self):
        server = self.daemon.factory.buildProtocol(PEER)
        # A BufferDaemon client (kind log) that knows the key.
        client = LinkSecurity.fromSettings(True, KEY).securityFactory()()
        lines = []
        client.start(lines.append, isServer=False)
        transport = StringTransport(peerAddress=PEER)
        server.makeConnection(transport)
        for _ in range(2):
            server.dataReceived(b"".join(line + b"\n" for line in lines))
            lines.clear()
            for line in transport.value().split(b"\n")[:-1]:
                client.open(line)
            transport.clear()
        server.dataReceived(client.seal(wire.encodeMessage(wire.hello("fwd", "log"))) + b"\n")
        self.assertTrue(transport.disconnecting)
        self.assertTrue(self.log.saw("a ReactionDaemon takes links of kind 'reaction'"))

    def test_resendAfterReconnect(self):
        """
        The link drops before the answer: the client sends the same id on
        the next link and gets the one answer; the command ran once.
        """
        link = self.good()
        d = link.ask(react("r1", "apply", fid=1, params={"ip": "192.0.2.7"}))
        link.server.transport.loseConnection()
        link.pump.flush()
        self.assertFalse(link.client.connected)
        self.reactor.spawned[0].transport.end(0)
        self.assertNoResult(d)
        second = Link.__new__(Link)
        Link.__init__(second, self, self.daemon, self.reactor)
        # The new link is a new client object; hand the pending request over.
        second.client._pending = link.client._pending
        second.client.linkReady(second.clientProtocol)
        second.pump.flush()
        answer = self.successResultOf(d)
        self.assertEqual(answer["status"], "done")
        self.assertTrue(answer["repeat"])
        self.assertNothingRan(1)

    def test_unanswered(self):
        link = self.good()
        d = link.client.request(react("r1", "apply", fid=1, params={"ip": "192.0.2.7"}),
                                timeout=5)
        # Not pumped: no answer comes.
        self.reactor.advance(5)
        self.failureResultOf(d, ReactionUnreachable)

    def test_backpressure(self):
        """
        A peer that sends requests faster than they are done: the daemon
        stops reading from it, and reads again once half are answered.
        """
        self.daemon, self.reactor = makeDaemon(self, config=CONFIG.replace("RATE = 3",
                                                                           "RATE = 0"))
        link = self.good()
        transport = link.server.transport
        calls = []
        transport.pauseProducing = lambda: calls.append("pause")
        transport.resumeProducing = lambda: calls.append("resume")
        asked = [link.client.request(react(f"r{n}", "apply", fid=1,
                                           params={"ip": f"10.0.{n // 250}.{n % 250 + 1}"}),
                                     timeout=60)
                 for n in range(reaction.MAX_IN_FLIGHT + 10)]
        link.pump.flush()
        self.assertEqual(calls, ["pause"])
        self.assertEqual(link.server.inFlight, reaction.MAX_IN_FLIGHT + 10)
        def endOne():
            [running] = [s for s in self.reactor.spawned if not s.transport.ended][:1]
            running.transport.end(0)

        while link.server.inFlight >= reaction.MAX_IN_FLIGHT // 2:
            self.assertEqual(calls, ["pause"])
            endOne()
        self.assertEqual(calls, ["pause", "resume"])
        while link.server.inFlight:
            endOne()
        link.pump.flush()
        self.assertEqual(link.server.inFlight, 0)
        self.assertEqual({self.successResultOf(d)["status"] for d in asked}, {"done"})
