"""
Tests for L{mice.reactors.syslog} with memory transports and a clock: the
TCP target (connecting, reconnecting, a full buffer), the contract, the
config.  Real sockets are in L{tests.integration.test_reactors}.
"""

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mice.config import SyslogReactionSettings
from mice.interfaces import IReaction
from mice.reactors import syslog
from mice.reactors.syslog import StreamTarget, SyslogReaction, SyslogUnavailable
from mice.reactors.syslogformat import parseAlertLine
from tests.unit.reactors import routed


@implementer(IStreamClientEndpoint)
class Endpoint:
    """
    A client endpoint whose connection attempts the test settles.
    """

    def connect(self, factory):
        d = Deferred()
        self.attempts.append((factory, d))
        return d

    def __init__(self, reactor):
        self.reactor = reactor
        self.attempts = []

    def accept(self):
        """
        The oldest attempt connects: @return: (the protocol the service
        sees, its transport).
        """
        factory, d = self.attempts.pop(0)
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        d.callback(protocol)
        self.reactor.advance(0)
        return protocol, transport

    def refuse(self):
        factory, d = self.attempts.pop(0)
        d.errback(ConnectionRefusedError("refused"))
        self.reactor.advance(0)


def octetFrames(data):
    """
    Split an RFC 6587 octet-counted stream into its lines.
    """
    lines = []
    while data:
        length, _, rest = data.partition(b" ")
        lines.append(rest[:int(length)])
        data = rest[int(length):]
    return lines


class TcpTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.endpoint = Endpoint(self.reactor)

    def reaction(self, **settings):
        settings.setdefault("target", "tcp:syslog.example:6514")
        made = SyslogReaction("rid_1_write_to_syslog", SyslogReactionSettings(**settings),
                              self.reactor, endpoint=self.endpoint, hostname="mh01", procid=7)
        made.start()
        self.addCleanup(made.stop)
        return made

    def test_contract(self):
        made = self.reaction()
        verifyObject(IReaction, made)
        self.assertEqual(made.pipe, "rid_1_write_to_syslog")

    def test_octetCounting(self):
        made = self.reaction(format="rfc5424")
        protocol, transport = self.endpoint.accept()
        results = [self.successResultOf(made.react(routed(n))) for n in range(3)]
        self.assertTrue(results[0].startswith("sent "))
        lines = octetFrames(transport.value())
        self.assertEqual([parseAlertLine(line)[1]["key"] for line in lines],
                         [f"web01/0/{n}/0" for n in range(3)])
        self.assertEqual(made.sent, 3)
        self.assertTrue(lines[0].startswith(b"<34>1 "))

    def test_newlineFraming(self):
        made = self.reaction(framing="newline", format="rfc3164")
        protocol, transport = self.endpoint.accept()
        hostile = routed(1, description="line one\nline two\r\n<34>forged")
        self.successResultOf(made.react(hostile))
        self.successResultOf(made.react(routed(2)))
        lines = transport.value().split(b"\n")
        self.assertEqual(lines[-1], b"")
        self.assertEqual(len(lines), 3)
        self.assertEqual(parseAlertLine(lines[0])[1]["desc"], hostile.description)
        self.assertIn(b" mh01 mice[7]: alert ", lines[0])

    def test_waitsForTheConnection(self):
        """
        A line sent while connecting goes out once connected.
        """
        made = self.reaction()
        d = made.react(routed(1))
        self.assertNoResult(d)
        protocol, transport = self.endpoint.accept()
        self.successResultOf(d)
        self.assertEqual(len(octetFrames(transport.value())), 1)

    def test_notConnectedInTime(self):
        made = self.reaction()
        d = made.react(routed(1))
        self.reactor.advance(StreamTarget.patience)
        self.failureResultOf(d, SyslogUnavailable)
        self.assertEqual(made.failed, 1)

    def test_refusedFailsAtOnce(self):
        made = self.reaction()
        d = made.react(routed(1))
        self.endpoint.refuse()
        failure = self.failureResultOf(d, SyslogUnavailable)
        self.assertIn("not connected", failure.getErrorMessage())

    def test_reconnects(self):
        """
        After the connection is lost, lines fail until the service has
        connected again (with backoff), then go out on the new connection.
        """
        made = self.reaction()
        protocol, transport = self.endpoint.accept()
        self.successResultOf(made.react(routed(1)))
        protocol.connectionLost(Failure(ConnectionDone()))
        d = made.react(routed(2))
        self.assertNoResult(d)
        for _ in range(10):
            self.reactor.advance(0.5)
            if self.endpoint.attempts:
                break
        protocol, transport = self.endpoint.accept()
        self.successResultOf(d)
        self.assertEqual([parseAlertLine(line)[1]["key"]
                          for line in octetFrames(transport.value())], ["web01/0/2/0"])

    def test_reactAgainFromCallbacks(self):
        """
        A caller may react again, or stop, from the callbacks of a result:
        the first attempt's failure and the next one's success run inside
        the ClientService's state changes, which must not be re-entered.
        """
        made = self.reaction()
        again = []
        d = made.react(routed(1))
        d.addErrback(lambda failure: again.append(made.react(routed(2))))
        self.endpoint.refuse()
        self.assertNoResult(again[0])
        stopped = []
        again[0].addCallback(lambda _: stopped.append(made.stop()))
        for _ in range(10):
            self.reactor.advance(0.5)
            if self.endpoint.attempts:
                break
        protocol, transport = self.endpoint.accept()
        self.assertEqual(len(stopped), 1)
        self.assertEqual([parseAlertLine(line)[1]["key"]
                          for line in octetFrames(transport.value())], ["web01/0/2/0"])

    def test_fullBufferFails(self):
        """
        While the transport's buffer is full (it paused its producer), jobs
        fail at once rather than pile up in memory.
        """
        made = self.reaction()
        protocol, transport = self.endpoint.accept()
        transport.producer.pauseProducing()
        self.failureResultOf(made.react(routed(1)), SyslogUnavailable)
        self.assertEqual(transport.value(), b"")
        transport.producer.resumeProducing()
        self.successResultOf(made.react(routed(2)))


class BuildTests(SynchronousTestCase):
    def test_defaults(self):
        made = syslog.build("rid_1_write_to_syslog", None, MemoryReactorClock(), "/run/mice")
        verifyObject(IReaction, made)
        self.assertEqual((made.kind, str(made.target)), ("unix", "unix:/dev/log"))
        self.assertEqual((made.settings.facility, made.settings.severity), (4, "idmef"))

    def test_localRfc3164HasNoHostname(self):
        made = syslog.build("rid_1_write_to_syslog", None, MemoryReactorClock(), None)
        line = made.formatLine(routed(1))
        self.assertRegex(line, rb"\A<34>\w{3} [ \d]\d \d\d:\d\d:\d\d mice\[\d+\]: alert key=")

    def test_config(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[WRITE_TO_SYSLOG]\nTARGET = udp:127.0.0.1:5514\nFORMAT = rfc5424\n"
                    "FACILITY = local3\nSEVERITY = LOG_ERR\nTAG = ids\nHOSTNAME = mh\n")
        made = syslog.build("rid_1_write_to_syslog", path, MemoryReactorClock(), None)
        self.assertEqual(str(made.target), "udp:127.0.0.1:5514")
        line = made.formatLine(routed(1))
        self.assertTrue(line.startswith(b"<155>1 "), line)
        self.assertIn(b" mh ids ", line)
