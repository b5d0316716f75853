"""
The reaction agents against real targets: syslog over a UNIX datagram
socket, UDP and TCP on 127.0.0.1; the alert file rotated by rename and by
delete; FIFOs with and without readers, a slow reader, a reader that goes
away, real reader processes.
"""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

from lxml import etree
from twisted.internet import reactor
from twisted.internet.defer import DeferredList
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.config import SyslogReactionSettings
from mice.reactors import external, savetofile
from mice.reactors.external import FifoReaction, FifoUnavailable, NotAFifo
from mice.reactors.framing import FifoRecordReader
from mice.reactors.savetofile import NotAFile, SaveToFile
from mice.reactors.syslog import SyslogReaction, SyslogUnavailable
from mice.reactors.syslogformat import parseAlertLine
from tests import ROOT
from tests.unit.reactors import routed
from tests.unit.reactors.test_syslog import octetFrames

HOSTILE = 'evil\n<13>Nov 22 10:00:00 mh forged: root login\r\x00\x1b[2J\u2028" key="x'


def sleep(seconds):
    return deferLater(reactor, seconds, lambda: None)


async def eventually(check, timeout=10.0, interval=0.05):
    """
    Wait until C{check()} is true, at most C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        await sleep(interval)


def shortDirectory(testCase):
    """
    A fresh directory with a short path (UNIX socket paths are limited to
    about 100 bytes), removed after the test.
    """
    directory = tempfile.mkdtemp(prefix="mice-rx-")

    def remove():
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)

    testCase.addCleanup(remove)
    return directory


def unixDatagramSocket(testCase, path):
    """
    A UNIX datagram socket bound to C{path} that nothing reads (a syslog
    daemon that has stopped reading), closed after the test.
    """
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    testCase.addCleanup(daemon.close)
    daemon.bind(path)
    return daemon


def waitingDatagrams(daemon):
    """
    The datagrams waiting on socket C{daemon}, read without blocking, in
    the order they were sent.
    """
    daemon.setblocking(False)
    received = []
    while True:
        try:
            received.append(daemon.recv(65536))
        except BlockingIOError:
            return received


def withUmask(testCase, mask):
    old = os.umask(mask)
    testCase.addCleanup(os.umask, old)


def canonical(data):
    root = etree.fromstring(data if isinstance(data, bytes) else data.encode("utf-8"))
    return etree.tostring(root, method="c14n")


# ---------------------------------------------------------------------------
# syslog
# ---------------------------------------------------------------------------

class Datagrams(DatagramProtocol):
    def __init__(self):
        self.received = []

    def datagramReceived(self, data, address=None):
        self.received.append(data)


class Stream(Protocol):
    def connectionMade(self):
        self.factory.connections.append(self)
        self.data = b""

    def dataReceived(self, data):
        self.factory.data.append(data)


class StreamServer(Factory):
    protocol = Stream

    def __init__(self):
        self.data = []
        self.connections = []

    def received(self):
        return b"".join(self.data)


class SyslogTests(TestCase):
    timeout = 60

    def reaction(self, target, **settings):
        made = SyslogReaction("rid_1_write_to_syslog",
                              SyslogReactionSettings(target=target, **settings), reactor,
                              hostname="mh01")
        self.addCleanup(made.stop)
        return made

    def assertLine(self, data, key, **fields):
        self.assertNotIn(b"\n", data)
        self.assertNotIn(b"\r", data)
        self.assertNotIn(b"\0", data)
        self.assertEqual(len(data.decode("utf-8").splitlines()), 1)
        pri, parsed = parseAlertLine(data)
        self.assertEqual(parsed["key"], key)
        for name, value in fields.items():
            self.assertEqual(parsed[name], value)
        return pri, parsed

    def localDaemon(self):
        """
        A socket as the local syslog daemon's: its path, the L{Datagrams}
        reading it and its port.
        """
        path = os.path.join(shortDirectory(self), "log")
        collector = Datagrams()
        return path, collector, reactor.listenUNIXDatagram(path, collector)

    async def restartDaemon(self, port, path, collector):
        """
        The local syslog daemon on C{port} restarts: its socket C{path} goes
        away and comes back, read by C{collector}, until the test ends.
        """
        await port.stopListening()
        if os.path.exists(path):
            os.unlink(path)
        self.addCleanup(reactor.listenUNIXDatagram(path, collector).stopListening)

    async def test_unixDatagramBothFormats(self):
        """
        The local syslog socket gets one datagram per alert, one line each,
        hostile fields escaped; RFC 3164 to the local socket has no HOSTNAME.
        """
        path, collector, port = self.localDaemon()
        self.addCleanup(port.stopListening)
        for fmt in ("rfc3164", "rfc5424"):
            made = self.reaction(f"unix:{path}", format=fmt)
            await made.start()
            hostile = routed(1, key=f"{fmt}\nkey", description=HOSTILE, classification=HOSTILE,
                             logLine=HOSTILE * 1000)
            outcome = await made.react(hostile)
            self.assertIn(f"to unix:{path}", outcome)
        await eventually(lambda: len(collector.received) == 2)
        first, second = collector.received
        self.assertLine(first, "rfc3164\nkey", desc=HOSTILE, **{"class": HOSTILE})
        self.assertRegex(first, rb"\A<34>\w{3} [ \d]\d \d\d:\d\d:\d\d mice\[\d+\]: alert key=")
        self.assertLine(second, "rfc5424\nkey", desc=HOSTILE)
        self.assertRegex(second, rb"\A<34>1 \S+Z mh01 mice \d+ alert - alert key=")

    async def test_noSocketThenSocket(self):
        """
        No syslog socket: the job fails at once (to be retried); once the
        daemon is there the retry goes through.
        """
        path = os.path.join(shortDirectory(self), "log")
        made = self.reaction(f"unix:{path}")
        await made.start()
        started = time.monotonic()
        with self.assertRaises(SyslogUnavailable):
            await made.react(routed(1))
        self.assertLess(time.monotonic() - started, 1.0)
        collector = Datagrams()
        port = reactor.listenUNIXDatagram(path, collector)
        self.addCleanup(port.stopListening)
        await made.react(routed(1))
        await eventually(lambda: collector.received)
        self.assertLine(collector.received[0], "web01/0/1/0")

    async def test_daemonRestarts(self):
        """
        The syslog daemon makes a new socket: the next line reconnects.
        """
        path, collector, port = self.localDaemon()
        made = self.reaction(f"unix:{path}")
        await made.start()
        await made.react(routed(1))
        await eventually(lambda: len(collector.received) == 1)
        await self.restartDaemon(port, path, collector)
        await made.react(routed(2))
        await eventually(lambda: len(collector.received) == 2)
        self.assertEqual([parseAlertLine(d)[1]["key"] for d in collector.received],
                         ["web01/0/1/0", "web01/0/2/0"])

    async def test_queueFull(self):
        """
        A syslog daemon that does not read: once its queue is full the
        lines wait for it, and fail (nothing is dropped silently) once it has
        read nothing for the target's patience; after it reads, lines go
        through again.
        """
        path = os.path.join(shortDirectory(self), "log")
        daemon = unixDatagramSocket(self, path)
        made = self.reaction(f"unix:{path}")
        made.target.patience = 0.2
        await made.start()
        sent = 0
        started = time.monotonic()
        with self.assertRaises(SyslogUnavailable) as raised:
            for n in range(100000):
                await made.react(routed(n))
                sent += 1
        self.assertIn("queue is full", str(raised.exception))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertGreater(sent, 0)
        received = waitingDatagrams(daemon)
        self.assertEqual(len(received), sent)
        self.assertEqual(parseAlertLine(received[-1])[1]["key"], f"web01/0/{sent - 1}/0")
        await made.react(routed(sent))

    async def test_burstWaitsForTheDaemon(self):
        """
        A burst of lines far larger than the socket's queue (10 datagrams
        on a bare kernel) to a daemon that reads: every line waits its turn
        and goes through, in order, none failed (a full queue is the daemon
        being busy, not gone).
        """
        path, collector, port = self.localDaemon()
        self.addCleanup(port.stopListening)
        made = self.reaction(f"unix:{path}")
        await made.start()
        burst = [made.react(routed(n)) for n in range(500)]
        outcomes = await DeferredList(burst, consumeErrors=True)
        self.assertEqual([ok for ok, _ in outcomes], [True] * 500)
        await eventually(lambda: len(collector.received) == 500)
        self.assertEqual([parseAlertLine(d)[1]["key"] for d in collector.received],
                         [f"web01/0/{n}/0" for n in range(500)])

    async def test_batch(self):
        """
        L{SyslogReaction.reactBatch} (what the reaction queue calls): a line
        per alert, in order, an outcome each; with no socket, each fails.
        """
        path = os.path.join(shortDirectory(self), "log")
        made = self.reaction(f"unix:{path}")
        await made.start()
        outcomes = await made.reactBatch([routed(1), routed(2)])
        self.assertEqual([outcome.check(SyslogUnavailable) for outcome in outcomes],
                         [SyslogUnavailable] * 2)
        collector = Datagrams()
        port = reactor.listenUNIXDatagram(path, collector)
        self.addCleanup(port.stopListening)
        outcomes = await made.reactBatch([routed(n) for n in range(3)])
        self.assertTrue(all(f"to unix:{path}" in outcome for outcome in outcomes), outcomes)
        await eventually(lambda: len(collector.received) == 3)
        self.assertEqual([parseAlertLine(d)[1]["key"] for d in collector.received],
                         [f"web01/0/{n}/0" for n in range(3)])

    async def test_batchBurstWaitsInOrder(self):
        """
        A batch far larger than the socket's queue: the datagrams the
        socket takes go straight out, the rest wait their turn; every line
        goes through, in order, an outcome each.
        """
        path, collector, port = self.localDaemon()
        self.addCleanup(port.stopListening)
        made = self.reaction(f"unix:{path}")
        await made.start()
        outcomes = await made.reactBatch([routed(n) for n in range(500)])
        self.assertEqual(len(outcomes), 500)
        self.assertTrue(all(f"to unix:{path}" in outcome for outcome in outcomes), outcomes)
        self.assertEqual(made.sent, 500)
        await eventually(lambda: len(collector.received) == 500)
        self.assertEqual([parseAlertLine(d)[1]["key"] for d in collector.received],
                         [f"web01/0/{n}/0" for n in range(500)])

    async def test_reactNow(self):
        """
        L{SyslogReaction.reactNow} (a flush's reactions done before it is
        journaled): the lines the socket takes at once are sent, in order,
        an outcome each; from the first it has no room for on, none is
        sent and each is left (C{None}) for the queue; with no socket,
        none is sent.
        """
        path = os.path.join(shortDirectory(self), "log")
        made = self.reaction(f"unix:{path}")
        await made.start()
        self.assertEqual(made.reactNow([routed(1), routed(2)]), [None, None])
        daemon = unixDatagramSocket(self, path)
        await made.reactBatch([routed(0)])
        outcomes = made.reactNow([routed(n) for n in range(1, 2001)])
        sent = len([o for o in outcomes if o is not None])
        self.assertGreater(sent, 0)
        self.assertLess(sent, 2000, "the socket's queue never filled")
        self.assertTrue(all(f"to unix:{path}" in o for o in outcomes[:sent]))
        self.assertEqual(outcomes[sent:], [None] * (2000 - sent))
        received = waitingDatagrams(daemon)
        self.assertEqual([parseAlertLine(d)[1]["key"] for d in received],
                         [f"web01/0/{n}/0" for n in range(sent + 1)])

    async def test_batchAfterTheDaemonRestarts(self):
        """
        A batch to a syslog socket made again since the last: it is
        connected to again and every line goes through.
        """
        path, collector, port = self.localDaemon()
        made = self.reaction(f"unix:{path}")
        await made.start()
        await made.reactBatch([routed(1)])
        await eventually(lambda: len(collector.received) == 1)
        await self.restartDaemon(port, path, collector)
        outcomes = await made.reactBatch([routed(n) for n in range(2, 5)])
        self.assertTrue(all(isinstance(outcome, str) for outcome in outcomes), outcomes)
        await eventually(lambda: len(collector.received) == 4)

    async def test_udp(self):
        collector = Datagrams()
        port = reactor.listenUDP(0, collector, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        target = f"udp:127.0.0.1:{port.getHost().port}"
        made = self.reaction(target, format="rfc5424", facility=16, severity=3)
        await made.start()
        for n in range(20):
            await made.react(routed(n, description=HOSTILE))
        await eventually(lambda: len(collector.received) == 20)
        for n, data in enumerate(collector.received):
            pri, _ = self.assertLine(data, f"web01/0/{n}/0", desc=HOSTILE)
            self.assertEqual(pri, 16 * 8 + 3)

    async def tcpServer(self, portNumber=0):
        server = StreamServer()
        port = reactor.listenTCP(portNumber, server, interface="127.0.0.1")
        return server, port

    async def test_tcpBothFramings(self):
        for framing in ("octet-counting", "newline"):
            server, port = await self.tcpServer()
            self.addCleanup(port.stopListening)
            made = self.reaction(f"tcp:127.0.0.1:{port.getHost().port}", framing=framing,
                                 format="rfc5424")
            made.start()
            for n in range(50):
                await made.react(routed(n, description=HOSTILE if n % 2 else "plain"))
            await made.stop()
            await eventually(lambda server=server: server.received().count(b"alert key=") == 50)
            data = server.received()
            if framing == "newline":
                self.assertTrue(data.endswith(b"\n"))
                lines = data.split(b"\n")[:-1]
            else:
                lines = octetFrames(data)
            self.assertEqual(len(lines), 50)
            for n, line in enumerate(lines):
                self.assertLine(line, f"web01/0/{n}/0")

    async def test_tcpReconnects(self):
        """
        The TCP target goes away: jobs fail quickly (to be retried); it
        comes back on the same port: lines flow again on a new connection.
        """
        server, port = await self.tcpServer()
        number = port.getHost().port
        made = self.reaction(f"tcp:127.0.0.1:{number}")
        made.start()
        await made.react(routed(1))
        await eventually(lambda: server.connections)
        await port.stopListening()
        server.connections[0].transport.loseConnection()
        await eventually(lambda: made.target.protocol is None)
        started = time.monotonic()
        with self.assertRaises(SyslogUnavailable):
            await made.react(routed(2))
        self.assertLess(time.monotonic() - started, 6.0)
        server, port = await self.tcpServer(number)
        self.addCleanup(port.stopListening)
        deadline = time.monotonic() + 30
        while True:
            try:
                await made.react(routed(2))
                break
            except SyslogUnavailable:
                self.assertLess(time.monotonic(), deadline)
                await sleep(0.2)
        await eventually(lambda: b"alert key=" in server.received())
        self.assertEqual([parseAlertLine(line)[1]["key"]
                          for line in octetFrames(server.received())], ["web01/0/2/0"])


# ---------------------------------------------------------------------------
# save to file
# ---------------------------------------------------------------------------

class SaveToFileTests(TestCase):
    timeout = 60

    def setUp(self):
        self.directory = self.mktemp()
        self.path = os.path.join(self.directory, "alerts.idmef")

    def agent(self, **options):
        made = SaveToFile("rid_3_save_to_file", self.path, **options)
        made.start()
        self.addCleanup(made.stop)
        return made

    def lines(self, path=None):
        with open(path or self.path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n") or not data)
        return data.split(b"\n")[:-1]

    async def test_appendsOneLinePerDocument(self):
        """
        Each document is one line that parses back to it; the file is made
        with mode 0640 whatever the umask, and its directory too.
        """
        withUmask(self, 0o077)
        agent = self.agent()
        pretty = etree.tostring(etree.fromstring(routed(2).document.split("\n", 1)[1]),
                                pretty_print=True).decode()
        documents = [routed(1).document, pretty, routed(3, logLine=HOSTILE).document]
        for n, document in enumerate(documents, 1):
            outcome = await agent.react(routed(n, document=document))
            self.assertIn("appended", outcome)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)
        lines = self.lines()
        self.assertEqual(len(lines), 3)
        for line, document in zip(lines, documents):
            self.assertEqual(canonical(line), canonical(document.split("\n", 1)[1]
                                                        if document.startswith("<?xml")
                                                        else document))
        self.assertEqual(agent.written, 3)

    async def test_batch(self):
        """
        L{SaveToFile.reactBatch} (what the reaction queue calls): the new
        documents appended with one write, in order; a repeat of the file
        or of the batch itself is not written again; a document that cannot
        be framed is refused alone.
        """
        from mice.interfaces import ReactionRefused

        agent = self.agent()
        await agent.react(routed(1))
        batch = [routed(2), routed(1), routed(3), routed(3),
                 routed(4, document="<not xml\nat all"), routed(5)]
        outcomes = await agent.reactBatch(batch)
        self.assertEqual(len(outcomes), len(batch))
        self.assertIn("appended", outcomes[0])
        self.assertIn("a repeat", outcomes[1])
        self.assertIn("appended", outcomes[2])
        self.assertIn("a repeat", outcomes[3])
        self.assertTrue(outcomes[4].check(ReactionRefused))
        self.assertIn("appended", outcomes[5])
        self.assertEqual([canonical(line) for line in self.lines()],
                         [canonical(routed(n).document.split("\n", 1)[1]) for n in (1, 2, 3, 5)])
        self.assertEqual((agent.written, agent.repeats, agent.failed), (4, 2, 1))

    async def test_rotateByRename(self):
        agent = self.agent()
        await agent.react(routed(1))
        os.rename(self.path, self.path + ".1")
        await agent.react(routed(2))
        self.assertEqual(len(self.lines(self.path + ".1")), 1)
        self.assertEqual(len(self.lines()), 1)
        self.assertIn(b'messageid="2"', self.lines()[0])
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)

    async def test_rotateByDelete(self):
        agent = self.agent(mode=0o600)
        await agent.react(routed(1))
        os.unlink(self.path)
        await agent.react(routed(2))
        self.assertEqual([b'messageid="2"' in line for line in self.lines()], [True])
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)

    async def test_copyTruncate(self):
        agent = self.agent()
        await agent.react(routed(1))
        os.truncate(self.path, 0)
        await agent.react(routed(2))
        self.assertEqual(len(self.lines()), 1)

    async def test_reopen(self):
        """
        reopen() (what SIGHUP does) makes the new file at once.
        """
        agent = self.agent()
        await agent.react(routed(1))
        os.rename(self.path, self.path + ".1")
        agent.reopen()
        self.assertTrue(os.path.exists(self.path))
        self.assertEqual(os.path.getsize(self.path), 0)
        await agent.react(routed(2))
        self.assertEqual(len(self.lines()), 1)

    async def test_repeats(self):
        """
        A repeat of a job (same key) writes nothing, in the same run and
        after a restart (the end of the file is remembered).
        """
        agent = self.agent()
        await agent.react(routed(1))
        await agent.react(routed(2))
        self.assertIn("a repeat", await agent.react(routed(2)))
        agent.stop()
        again = self.agent()
        self.assertIn("a repeat", await again.react(routed(2)))
        self.assertIn("a repeat", await again.react(routed(1)))
        await again.react(routed(3))
        self.assertEqual(len(self.lines()), 3)
        self.assertEqual((again.written, again.repeats), (1, 2))
        off = SaveToFile("rid_3_save_to_file", self.path, remember=0)
        off.start()
        self.addCleanup(off.stop)
        await off.react(routed(3))
        self.assertEqual(len(self.lines()), 4)

    async def test_unfinishedLineCutOff(self):
        """
        A last line without its newline (a power cut mid-write) is cut off
        when the file is opened, so the next document starts a line.
        """
        agent = self.agent()
        await agent.react(routed(1))
        agent.stop()
        with open(self.path, "ab") as f:
            f.write(b"<IDMEF-Message><Alert messageid=")
        self.agent()
        self.assertEqual(len(self.lines()), 1)
        again = self.agent()
        await again.react(routed(2))
        self.assertEqual(len(self.lines()), 2)
        for line in self.lines():
            canonical(line)

    async def test_notARegularFile(self):
        """
        A FIFO (or a directory) at the path: a clear error at once, never a
        blocked ManagementHost.
        """
        os.makedirs(self.directory)
        os.mkfifo(self.path)
        agent = SaveToFile("rid_3_save_to_file", self.path)
        started = time.monotonic()
        self.assertRaises(NotAFile, agent.start)
        self.assertLess(time.monotonic() - started, 1.0)
        os.unlink(self.path)
        os.mkdir(self.path)
        self.assertRaises(OSError, agent.start)

    async def test_followedWhileRotated(self):
        """
        A reader following the file, tail -F style, sees every document
        whole across a rotation.
        """
        agent = self.agent()
        seen = []
        follower = open(self.path, "rb")
        self.addCleanup(lambda: follower.close())
        buffered = b""
        for n in range(200):
            await agent.react(routed(n))
            if n == 100:
                buffered += follower.read()
                follower.close()
                os.rename(self.path, self.path + ".1")
                await agent.react(routed(1000))
                follower = open(self.path, "rb")
            chunk = follower.read()
            buffered += chunk
            *complete, buffered = buffered.split(b"\n")
            seen.extend(complete)
        self.assertEqual(buffered, b"")
        self.assertEqual(len(seen), 201)
        for line in seen:
            canonical(line)

    def test_build(self):
        config = os.path.join(self.mktemp())
        with open(config, "w") as f:
            f.write("[SAVE_TO_FILE]\nPATH = out/alerts.idmef\nMODE = 0600\nREMEMBER = 10\n"
                    "SYNC = yes\n")
        made = savetofile.build("rid_3_save_to_file", config, reactor, "/run/mice")
        self.assertEqual(made.path, os.path.join(os.path.dirname(os.path.abspath(config)),
                                                 "out", "alerts.idmef"))
        self.assertEqual((made.mode, made.sync), (0o600, True))
        default = savetofile.build("rid_3_save_to_file", None, reactor, "/run/mice")
        self.assertEqual(default.path, "/run/mice/rid_3_save_to_file.idmef")


# ---------------------------------------------------------------------------
# FIFOs
# ---------------------------------------------------------------------------

class FifoTests(TestCase):
    timeout = 90

    def setUp(self):
        self.directory = shortDirectory(self)
        self.path = os.path.join(self.directory, "rid_5_demo")
        self.openFds = set()

    def agent(self, **options):
        made = FifoReaction("rid_5_demo", self.path, reactor, **options)
        made.start()
        self.addCleanup(made.stop)
        return made

    def readerProcess(self, out):
        process = subprocess.Popen(
            [sys.executable, "-m", "mice.reactors.fiforeader", self.path, "--out", out],
            env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.PIPE)

        def stop():
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stderr.close()

        self.addCleanup(stop)
        return process

    def readerFd(self):
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.openFds.add(fd)
        self.addCleanup(self.closeReader, fd)
        return fd

    def closeReader(self, fd):
        if fd in self.openFds:
            self.openFds.discard(fd)
            os.close(fd)

    async def readRecords(self, fd, count, chunk, pause):
        """
        Read the FIFO C{fd} as a slow reader does, C{chunk} bytes at a time
        with a C{pause} between reads, until C{count} whole records came;
        none may be malformed.

        @return: the records (L{FifoRecordReader.feed}'s).
        """
        reader = FifoRecordReader()
        records = []
        while len(records) < count:
            try:
                got, bad = reader.feed(os.read(fd, chunk))
                self.assertEqual(bad, [])
                records.extend(got)
            except BlockingIOError:
                pass
            await sleep(pause)
        return records

    def keys(self, out):
        if not os.path.exists(out):
            return []
        with open(out) as f:
            return [json.loads(line)["key"] for line in f]

    async def retryUntilDone(self, agent, alert, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await agent.react(alert)
            except FifoUnavailable:
                self.assertLess(time.monotonic(), deadline)
                await sleep(0.1)

    async def test_madeWithItsMode(self):
        withUmask(self, 0)
        self.agent(mode=0o660)
        info = os.stat(self.path)
        self.assertTrue(stat.S_ISFIFO(info.st_mode))
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o660)

    def test_existingFifoMadePrivate(self):
        """
        A FIFO left with a mode that lets others open it is set to MODE.
        """
        os.mkfifo(self.path)
        os.chmod(self.path, 0o666)
        self.agent(mode=0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)

    def test_foreignOpenFifoRefused(self):
        """
        A FIFO others may open that belongs to someone else (so its mode
        cannot be fixed): refused at start.
        """
        if os.geteuid() != 0:
            raise self.skipTest("needs root to give the FIFO to another user")
        os.mkfifo(self.path)
        os.chmod(self.path, 0o666)
        os.chown(self.path, 65534, -1)
        made = FifoReaction("rid_5_demo", self.path, reactor)
        self.assertRaises(NotAFifo, made.start)

    def test_notAFifo(self):
        with open(self.path, "w") as f:
            f.write("important\n")
        made = FifoReaction("rid_5_demo", self.path, reactor)
        self.assertRaises(NotAFifo, made.start)
        with open(self.path) as f:
            self.assertEqual(f.read(), "important\n")

    async def test_noReaderThenReaderProcess(self):
        """
        No reader: the job fails at once and nothing blocks; a reader
        process attaches; the retry succeeds, and so do the next records.
        """
        agent = self.agent()
        started = time.monotonic()
        with self.assertRaises(FifoUnavailable):
            await agent.react(routed(0))
        self.assertLess(time.monotonic() - started, 1.0)
        out = os.path.join(self.directory, "out.json")
        self.readerProcess(out)
        await self.retryUntilDone(agent, routed(0))
        for n in range(1, 30):
            self.assertIn("read from", await agent.react(routed(n)))
        await eventually(lambda: len(self.keys(out)) == 30)
        self.assertEqual(self.keys(out), [f"web01/0/{n}/0" for n in range(30)])

    async def test_slowReader(self):
        """
        Records bigger than the pipe, and a reader taking 4 KiB at a time:
        they go in pieces, nothing blocks, each arrives whole.
        """
        agent = self.agent()
        fd = self.readerFd()
        pending = [agent.react(routed(n, logLine="x" * 150000)) for n in range(3)]
        records = await self.readRecords(fd, 3, 4096, 0.001)
        for d in pending:
            self.assertIn("read from", await d)
        self.assertEqual([fields["key"] for fields, _ in records],
                         [f"web01/0/{n}/0" for n in range(3)])
        for fields, document in records:
            self.assertEqual(int(fields["length"]), len(document))
            canonical(document)

    async def test_readerGoesAwayMidStream(self):
        """
        The reader leaves in the middle of a big record: the jobs fail soon
        (the reactor sees our end's error), nothing blocks; a new reader
        gets only whole records.
        """
        agent = self.agent()
        fd = self.readerFd()
        pending = [agent.react(routed(n, logLine="y" * 300000)) for n in range(2)]
        await sleep(0.05)
        os.read(fd, 10000)
        self.closeReader(fd)
        for d in pending:
            with self.assertRaises(FifoUnavailable):
                await d
        self.assertEqual(agent.held, 0)
        fd = self.readerFd()
        done = agent.react(routed(7))
        records = await self.readRecords(fd, 1, 65536, 0.005)
        await done
        self.assertEqual([fields["key"] for fields, _ in records], ["web01/0/7/0"])

    async def test_readerKilled(self):
        """
        A reader process killed with -9 while records flow, then started
        again: the records the dead one never read from the pipe are
        retried and reach the new one.  It may have read a record or two
        it had no time to act on (its last 4 KiB read): that is all a
        killed reader can lose; the up to 64 KiB waiting in the pipe are
        not lost.
        """
        agent = self.agent(timeout=5.0)
        out = os.path.join(self.directory, "out.json")
        first = self.readerProcess(out)
        await self.retryUntilDone(agent, routed(0))
        jobs = {}
        for n in range(1, 200):
            jobs[n] = agent.react(routed(n, logLine="z" * 2000))
            if n == 100:
                os.kill(first.pid, signal.SIGKILL)
            await sleep(0.001)
        failed = []
        for n, d in jobs.items():
            try:
                await d
            except FifoUnavailable:
                failed.append(n)
        self.readerProcess(out)
        for n in failed:
            await self.retryUntilDone(agent, routed(n, logLine="z" * 2000))
        expected = {f"web01/0/{n}/0" for n in range(200)}
        retried = {f"web01/0/{n}/0" for n in failed}
        await eventually(lambda: set(self.keys(out)) >= retried)
        self.assertGreater(len(failed), 0)
        missing = expected - set(self.keys(out))
        self.assertLessEqual(len(missing), 3, sorted(missing))

    async def test_stopClosesWithoutBlocking(self):
        agent = self.agent()
        self.readerFd()
        d = agent.react(routed(1, logLine="w" * 200000))
        started = time.monotonic()
        await agent.stop()
        self.assertLess(time.monotonic() - started, external.STOP_GRACE + 1)
        with self.assertRaises(FifoUnavailable):
            await d
        with self.assertRaises(FifoUnavailable):
            await agent.react(routed(2))


def docsExample(name):
    """
    The code block between C{.. reader-NAME-start} and C{.. reader-NAME-end}
    in docs/reactions.rst, dedented.
    """
    with open(os.path.join(ROOT, "docs", "reactions.rst")) as f:
        text = f.read()
    block = text.split(f".. reader-{name}-start", 1)[1].split(f".. reader-{name}-end", 1)[0]
    lines = block.split("\n")
    code = [line[4:] for line in lines if line.startswith("    ") or not line.strip()]
    return "\n".join(code).strip("\n") + "\n"


class DocumentedReaderTests(TestCase):
    """
    The readers printed in docs/reactions.rst work as printed.
    """

    timeout = 60

    async def readWith(self, argv):
        directory = shortDirectory(self)
        path = os.path.join(directory, "rid_5_notify")
        agent = FifoReaction("rid_5_notify", path, reactor)
        agent.start()
        self.addCleanup(agent.stop)
        out = open(os.path.join(directory, "out"), "wb")
        process = subprocess.Popen([*argv, path], stdout=out, stderr=subprocess.PIPE)

        def stop():
            process.kill()
            process.wait()
            process.stderr.close()
            out.close()

        self.addCleanup(stop)
        alerts = [routed(1, description="Authentication failed: root"),
                  routed(2, description="Ünïcode, spaces & 100% \"quotes\""),
                  routed(3, logLine="x" * 20000, alertId=None)]
        deadline = time.monotonic() + 20
        for alert in alerts:
            while True:
                try:
                    await agent.react(alert)
                    break
                except FifoUnavailable:
                    self.assertLess(time.monotonic(), deadline)
                    await sleep(0.05)
        path = os.path.join(directory, "out")
        await eventually(lambda: open(path, "rb").read().count(b"\n") >= 3)
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()

    async def test_sh(self):
        script = os.path.join(shortDirectory(self), "reader.sh")
        with open(script, "w") as f:
            f.write(docsExample("sh"))
        lines = await self.readWith(["bash", script])
        self.assertEqual(lines, ["alert web01/0/1/0 0x1020: Authentication failed: root",
                                 'alert web01/0/2/0 0x1020: Ünïcode, spaces & 100% "quotes"',
                                 "alert web01/0/3/0 -: Authentication failed"])

    async def test_python(self):
        script = os.path.join(shortDirectory(self), "reader.py")
        with open(script, "w") as f:
            f.write(docsExample("python"))
        lines = await self.readWith([sys.executable, script])
        self.assertEqual(lines, ["alert web01/0/1/0 0x1020: Authentication failed: root",
                                 'alert web01/0/2/0 0x1020: Ünïcode, spaces & 100% "quotes"',
                                 "alert web01/0/3/0 -: Authentication failed"])
