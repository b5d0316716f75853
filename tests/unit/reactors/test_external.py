"""
Tests for L{mice.reactors.external}'s state machine, with a fake pipe and a
memory reactor: no reader, a slow reader, a reader that goes away or stalls,
the bound on what is held, stopping.  Real FIFOs and reader processes are
in L{tests.integration.test_reactors}.
"""

import errno

from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.alerts import RoutedAlert
from mice.interfaces import IReaction, ReactionRefused
from mice.reactors import external
from mice.reactors.external import FifoReaction, FifoUnavailable
from mice.reactors.framing import FifoRecordReader, fifoRecord
from tests.unit.reactors import routed

PIPE_BUF = 4096


class FakePipe:
    """
    A FIFO as the kernel keeps it: a buffer of C{capacity} bytes, writes of
    at most PIPE_BUF bytes all or nothing, EAGAIN when full, ENXIO on open
    without a reader, EPIPE once the reader is gone, and what a reader left
    unread kept while our end is open.
    """

    def __init__(self, capacity=65536):
        self.capacity = capacity
        self.reader = False
        self.buffer = bytearray()
        self.read = bytearray()
        self.made = []
        self.openFds = set()
        self.closed = []
        self.nextFd = 100

    def ensure(self, path, mode):
        self.made.append((path, mode))
        return len(self.made) == 1

    def open(self, path):
        if not self.reader:
            raise OSError(errno.ENXIO, "No such device or address")
        self.nextFd += 1
        self.openFds.add(self.nextFd)
        return self.nextFd

    def write(self, fd, data):
        assert fd in self.openFds
        if not self.reader:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        room = self.capacity - len(self.buffer)
        if room == 0 or (len(data) <= PIPE_BUF and len(data) > room):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        count = min(room, len(data))
        self.buffer += data[:count]
        return count

    def unread(self, fd):
        return len(self.buffer)

    def readerGone(self, fd):
        return not self.reader

    def close(self, fd):
        self.openFds.remove(fd)
        self.closed.append(fd)
        if not self.reader:
            del self.buffer[:]

    # the reader's side

    def take(self, count=None):
        count = len(self.buffer) if count is None else count
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        self.read += data
        return data

    def records(self):
        records, bad = FifoRecordReader().feed(bytes(self.read))
        return [fields["key"] for fields, _ in records], bad


def big(number, size=100000):
    return routed(number, logLine="x" * size)


class FifoTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.pipe = FakePipe()
        self.fifo = FifoReaction("rid_5_notify", "/run/mice/rid_5_notify", self.reactor,
                                 maxHeld=4, timeout=10.0, fifos=self.pipe)
        self.fifo.start()

    def connection(self):
        return self.fifo._connection

    def readAll(self):
        """
        The reader takes everything, and the reaction looks at the pipe.
        """
        self.pipe.take()
        self.reactor.advance(external.POLL_INTERVAL)

    def test_contract(self):
        verifyObject(IReaction, self.fifo)
        self.assertEqual(self.pipe.made, [("/run/mice/rid_5_notify", 0o600)])

    def test_noReader(self):
        """
        Without a reader the job fails at once; nothing is held, nothing
        waits on the reactor.
        """
        failure = self.failureResultOf(self.fifo.react(routed(1)), FifoUnavailable)
        self.assertIn("no reader", failure.getErrorMessage())
        self.assertEqual((self.fifo.held, self.fifo.failed, self.fifo.written), (0, 1, 0))
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(self.reactor.getWriters(), [])

    def test_laterReader(self):
        """
        A retry once a reader is there succeeds, once the reader read it.
        """
        self.failureResultOf(self.fifo.react(routed(1)), FifoUnavailable)
        self.pipe.reader = True
        d = self.fifo.react(routed(1))
        self.assertNoResult(d)
        self.assertEqual(self.fifo.held, 1)
        self.readAll()
        self.assertIn("read from /run/mice/rid_5_notify", self.successResultOf(d))
        self.assertEqual(self.pipe.records(), (["web01/0/1/0"], []))
        self.assertTrue(self.pipe.read.startswith(b"\0MICE-REACTION/1 "))
        self.assertEqual((self.fifo.held, self.fifo.written), (0, 1))
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_oneNulPerConnection(self):
        self.pipe.reader = True
        ds = [self.fifo.react(routed(n)) for n in range(3)]
        self.readAll()
        for d in ds:
            self.successResultOf(d)
        self.assertEqual(bytes(self.pipe.read), b"\0" + b"".join(
            fifoRecord(routed(n)) for n in range(3)))

    def test_partlyRead(self):
        """
        A record counts as done only once the reader read all of it.
        """
        self.pipe.reader = True
        first, second = self.fifo.react(routed(1)), self.fifo.react(routed(2))
        self.pipe.take(len(fifoRecord(routed(1))) + 1)
        self.reactor.advance(external.POLL_INTERVAL)
        self.successResultOf(first)
        self.assertNoResult(second)
        self.pipe.take(10)
        self.reactor.advance(external.POLL_INTERVAL)
        self.assertNoResult(second)
        self.readAll()
        self.successResultOf(second)

    def test_slowReader(self):
        """
        A record bigger than the pipe goes in pieces as the reader makes
        room; the reactor tells us when there is some.
        """
        self.pipe.reader = True
        self.pipe.capacity = 10000
        d = self.fifo.react(big(1))
        self.assertEqual(self.reactor.getWriters(), [self.connection()])
        pieces = 0
        while self.pipe.buffer:
            self.pipe.take()
            self.connection().doWrite()
            pieces += 1
        self.reactor.advance(external.POLL_INTERVAL)
        self.successResultOf(d)
        self.assertGreater(pieces, 9)
        self.assertEqual(self.pipe.records(), (["web01/0/1/0"], []))
        self.assertEqual(self.reactor.getWriters(), [])

    def test_smallRecordsAreAtomic(self):
        """
        A record of at most PIPE_BUF bytes waits for room for all of it.
        """
        self.pipe.reader = True
        record = len(fifoRecord(routed(1))) + 1
        self.pipe.capacity = record + 100
        one, two = self.fifo.react(routed(1)), self.fifo.react(routed(2))
        self.assertEqual(len(self.pipe.buffer), record)
        self.pipe.take(50)
        self.connection().doWrite()
        self.assertEqual(len(self.pipe.buffer), record - 50)
        self.readAll()
        self.connection().doWrite()
        self.readAll()
        self.successResultOf(one)
        self.successResultOf(two)
        self.assertEqual(self.pipe.records(), (["web01/0/1/0", "web01/0/2/0"], []))

    def test_bounded(self):
        """
        At most maxHeld records are held; more fail at once.
        """
        self.pipe.reader = True
        held = [self.fifo.react(routed(n)) for n in range(4)]
        self.failureResultOf(self.fifo.react(routed(9)), FifoUnavailable)
        self.assertEqual((self.fifo.held, self.fifo.failed), (4, 1))
        self.readAll()
        for d in held:
            self.successResultOf(d)

    def test_readerGoesAwayMidRecord(self):
        """
        The reader leaves halfway through a record: every record held fails
        (the half-written one too), our end is closed (so the kernel drops
        the half); the next reader gets whole records, a NUL first.
        """
        self.pipe.reader = True
        self.pipe.capacity = 20000
        held = [self.fifo.react(big(1)), self.fifo.react(routed(2))]
        self.pipe.take(5000)
        self.pipe.reader = False
        self.connection().doWrite()
        for d in held:
            self.assertIn("went away", self.failureResultOf(d, FifoUnavailable)
                          .getErrorMessage())
        self.assertEqual((self.fifo.held, self.fifo.failed), (0, 2))
        self.assertEqual(self.pipe.openFds, set())
        self.assertEqual(self.reactor.getWriters(), [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.pipe.reader = True
        self.pipe.read = bytearray()
        d = self.fifo.react(routed(2))
        self.readAll()
        self.successResultOf(d)
        self.assertEqual(self.pipe.records(), (["web01/0/2/0"], []))

    def test_readerDiesWithRecordsUnread(self):
        """
        Records in the pipe that the reader never read fail when it goes
        away: they are retried, not lost.
        """
        self.pipe.reader = True
        first, second = self.fifo.react(routed(1)), self.fifo.react(routed(2))
        self.pipe.take(len(fifoRecord(routed(1))) + 1)
        self.pipe.reader = False
        self.reactor.advance(external.POLL_INTERVAL)
        self.successResultOf(first)
        self.failureResultOf(second, FifoUnavailable)
        self.assertEqual(self.pipe.openFds, set())

    def test_reactorSaysReaderGone(self):
        """
        The reactor's error event for our end (no reader) while we wait to
        write is the reader going away.
        """
        self.pipe.reader = True
        self.pipe.capacity = 100
        d = self.fifo.react(routed(1))
        connection = self.connection()
        self.pipe.reader = False
        connection.connectionLost(Failure(OSError("gone")))
        self.failureResultOf(d, FifoUnavailable)
        self.assertEqual(self.pipe.openFds, set())

    def test_stalledReader(self):
        """
        A reader that takes nothing for TIMEOUT seconds: the records fail
        and our end is closed; a reader that keeps taking is never timed out.
        """
        self.pipe.reader = True
        self.pipe.capacity = 20000
        d = self.fifo.react(big(1))
        for _ in range(8):
            self.reactor.pump([external.POLL_INTERVAL] * 100)
            self.pipe.take(1000)
            self.connection().doWrite()
        self.assertNoResult(d)
        self.reactor.pump([external.POLL_INTERVAL] * 600)
        self.assertIn("took nothing", self.failureResultOf(d, FifoUnavailable)
                      .getErrorMessage())
        self.assertEqual(self.pipe.openFds, set())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_refused(self):
        bad = RoutedAlert("k", routed(1).alert, "<a>\0</a>", "d", "s", "t")
        self.failureResultOf(self.fifo.react(bad), ReactionRefused)
        self.assertEqual(self.fifo.refused, 1)

    def test_stopWaitsForTheRecordUnderWay(self):
        """
        stop() fails the records not begun, and lets the reader finish the
        one under way.
        """
        self.pipe.reader = True
        self.pipe.capacity = 20000
        begun, waiting = self.fifo.react(big(1)), self.fifo.react(routed(2))
        stopped = self.fifo.stop()
        self.failureResultOf(waiting, FifoUnavailable)
        self.assertNoResult(stopped)
        self.failureResultOf(self.fifo.react(routed(3)), FifoUnavailable)
        while self.pipe.buffer:
            self.pipe.take()
            self.connection().doWrite()
        self.reactor.advance(external.POLL_INTERVAL)
        self.successResultOf(begun)
        self.successResultOf(stopped)
        self.assertEqual(self.pipe.openFds, set())

    def test_stopGivesUp(self):
        self.pipe.reader = True
        d = self.fifo.react(routed(1))
        stopped = self.fifo.stop()
        self.reactor.advance(external.STOP_GRACE)
        self.failureResultOf(d, FifoUnavailable)
        self.successResultOf(stopped)
        self.assertEqual(self.pipe.openFds, set())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stopIdle(self):
        self.pipe.reader = True
        d = self.fifo.react(routed(1))
        self.readAll()
        self.successResultOf(d)
        self.successResultOf(self.fifo.stop())
        self.assertEqual(self.pipe.openFds, set())

    def test_retryFromErrback(self):
        """
        A caller that reacts again from a failure's errback (re-entering
        while the reaction fails its records) gets its own result.
        """
        self.pipe.reader = True
        again = []
        d = self.fifo.react(routed(1))
        d.addErrback(lambda _: again.append(self.fifo.react(routed(1))))
        self.pipe.reader = False
        self.reactor.advance(external.POLL_INTERVAL)
        self.failureResultOf(again[0], FifoUnavailable)
        self.assertEqual(self.fifo.held, 0)


class BuildTests(SynchronousTestCase):
    def test_defaults(self):
        made = external.build("rid_5_notify", None, MemoryReactorClock(), "/run/mice")
        verifyObject(IReaction, made)
        self.assertEqual((made.path, made.mode, made.maxHeld, made.timeout),
                         ("/run/mice/rid_5_notify", 0o600, 256, 30.0))

    def test_config(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[FIFO]\nPATH = fifos/notify\nMODE = 0660\nMAXHELD = 9\nTIMEOUT = 2.5\n")
        made = external.build("rid_5_notify", path, MemoryReactorClock(), "/run/mice")
        self.assertEqual(made.path.rsplit("/", 2)[-2:], ["fifos", "notify"])
        self.assertEqual((made.mode, made.maxHeld, made.timeout), (0o660, 9, 2.5))


class ReadBeforeGoneTests(SynchronousTestCase):
    def test_epipeAfterReading(self):
        """
        The reader read a record, then left; the next write finds it gone:
        the record it read is done, the others fail.
        """
        reactor = MemoryReactorClock()
        pipe = FakePipe()
        pipe.reader = True
        fifo = FifoReaction("rid_5_notify", "/run/fifo", reactor, fifos=pipe)
        first = fifo.react(routed(1))
        pipe.take()
        pipe.reader = False
        second = fifo.react(routed(2))
        self.successResultOf(first)
        self.failureResultOf(second, FifoUnavailable)
        self.assertEqual((fifo.written, fifo.failed, fifo.held), (1, 1, 0))
        self.assertEqual(reactor.getDelayedCalls(), [])
