"""
Tests for L{mice.postproc.syslog}: records relayed over a real loopback UDP
socket and a real UNIX datagram socket.
"""

import os
import tempfile

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mice.postproc.syslog import SyslogRelay, formatRecord, parseTarget
from mice.record import LogRecord

RECORD = LogRecord("web01", "/var/log/messages", 1, "web01", "", "", "Linux", "", "",
                   "2026-11-22", "10:00:01", "Nov 22 10:00:01 web01 sshd[1]: Accepted", "")


class FormatTests(SynchronousTestCase):
    def test_rfc3164(self):
        self.assertEqual(formatRecord(RECORD, 3, "mice", "rfc3164"),
                         b"<30>Nov 22 10:00:01 web01 sshd[1]: Accepted")

    def test_rfc5424(self):
        self.assertEqual(formatRecord(RECORD, 16, "mice", "rfc5424"),
                         b"<134>1 2026-11-22T10:00:01 web01 mice - - - "
                         b"Nov 22 10:00:01 web01 sshd[1]: Accepted")

    def test_targets(self):
        self.assertEqual(parseTarget("udp:127.0.0.1:514"), ("udp", ("127.0.0.1", 514)))
        self.assertEqual(parseTarget("udp:[::1]:514"), ("udp", ("::1", 514)))
        self.assertEqual(parseTarget("unix:/dev/log"), ("unix", "/dev/log"))
        for bad in ("tcp:x:1", "udp:host", "udp:host:99999", "unix:"):
            self.assertRaises(ValueError, parseTarget, bad)


class Collector(DatagramProtocol):
    def __init__(self, expected):
        self.expected = expected
        self.received = []
        self.done = Deferred()

    def datagramReceived(self, data, address=None):
        self.received.append(data)
        if len(self.received) == self.expected:
            self.done.callback(self.received)


class RelayTests(TestCase):
    timeout = 20

    async def relayThrough(self, target, collector):
        relay = SyslogRelay(target, 3, "mice", "rfc3164", reactor)
        await relay.start()
        self.addCleanup(relay.stop)
        records = [RECORD._replace(seq=i, logline=f"line {i}") for i in range(50)]
        self.assertEqual(await relay.process(records), 50)
        received = await collector.done
        self.assertEqual(received, [b"<30>line %d" % i for i in range(50)])

    async def test_udp(self):
        collector = Collector(50)
        port = reactor.listenUDP(0, collector, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        await self.relayThrough(f"udp:127.0.0.1:{port.getHost().port}", collector)

    async def test_unixDatagram(self):
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, "log")
        collector = Collector(50)
        port = reactor.listenUNIXDatagram(path, collector)
        self.addCleanup(port.stopListening)
        await self.relayThrough(f"unix:{path}", collector)
