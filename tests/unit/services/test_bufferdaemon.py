"""
Tests for L{mice.services.bufferdaemon} driven through the link protocol
over StringTransports, with a L{Clock} (a daemon process that dies:
C{tests.integration.test_bufferdaemon}).
"""

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from mice.decoders.logformat import LogFormatDecoder
from mice.protocols import wire
from mice.ringbuffer import MemoryRing, MmapRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.testing import MemoryPostProcessor, capturedLog

HOST = {"hostname": "web01", "domain": "example.org", "ip": "10.0.0.5",
        "osystem": "Linux", "release": "6.1", "version": "#1"}


def records(n, start=0):
    return [["2026-11-22", "10:00:%02d" % (i % 60), f"line {start + i}", ""] for i in range(n)]


def line(message):
    return wire.encodeMessage(message) + b"\n"


class Harness:
    def __init__(self, case, ring=None, maxErrors=3, flushRecords=5000, maxLine=65536,
                 eager=False):
        self.clock = Clock()
        self.store = MemoryPostProcessor(maxErrors=maxErrors, batchSize=flushRecords)
        self.ring = MemoryRing(4) if ring is None else ring
        self.pipeline = Pipeline(LogFormatDecoder(maxRecord=1000), self.store, self.ring,
                                 flushRecords=flushRecords, maxErrors=maxErrors, eager=eager)
        self.daemon = BufferDaemon([], [self.pipeline], self.clock, timeInterval=2.0,
                                   maxLine=maxLine, maxRecord=1000)
        self.daemon.startService()
        case.addCleanup(self.daemon.stopService)

    def connect(self, source="web01", kind="log", port=40000):
        protocol = self.daemon.factory.buildProtocol(None)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        protocol.makeConnection(transport)
        protocol.dataReceived(line(wire.hello(source, kind)))
        return protocol

    def send(self, protocol, batchId, seq, n):
        protocol.dataReceived(line(wire.batch(batchId, "/var/log/messages", seq, HOST,
                                              records(n, seq))))


def received(protocol):
    lines = protocol.transport.value().split(b"\n")[:-1]
    protocol.transport.clear()
    return [wire.decodeMessage(x) for x in lines]


def acks(protocol):
    return [m["id"] for m in received(protocol) if m["t"] == "ack"]


class MemoryRingTests(SynchronousTestCase):
    def test_welcome(self):
        h = Harness(self)
        p = h.connect()
        self.assertEqual(received(p), [wire.welcome(65536, 1000, keepalive=100)])

    def test_ackOnlyOnceStored(self):
        """
        With a memory ring a batch is acknowledged only after the
        post-processor stored it, which happens every TIMEINV.
        """
        h = Harness(self)
        p = h.connect()
        received(p)
        h.send(p, 1, 1, 3)
        h.send(p, 2, 4, 2)
        self.assertEqual(acks(p), [])
        self.assertEqual(h.store.stored, [])
        h.clock.advance(2)
        self.assertEqual(acks(p), [1, 2])
        stored = h.store.stored
        self.assertEqual([(r.source, r.stream, r.seq, r.logline) for r in stored],
                         [("web01", "/var/log/messages", i, f"line {i}") for i in range(1, 6)])
        self.assertEqual(stored[0].hostname, "web01")
        self.assertEqual(len(h.ring), 0)

    def test_flushSoonerWhenMuchIsBuffered(self):
        h = Harness(self, flushRecords=4)
        p = h.connect()
        h.send(p, 1, 1, 5)
        h.clock.advance(0)
        self.assertEqual(acks(p), [1])

    def test_eagerFlushesAtOnce(self):
        """
        An eager pipeline (the ManagementHost's) flushes within EAGER_DELAY
        of a batch's arrival, not every TIMEINV; what comes during a flush
        goes in the next one, right after it.
        """
        h = Harness(self, eager=True)
        h.store.process = lambda records: h.processing.append((records, Deferred())) or \
            h.processing[-1][1]
        h.processing = []
        p = h.connect()
        received(p)
        h.send(p, 1, 1, 3)
        h.clock.advance(0.04)
        self.assertEqual(len(h.processing), 0, "batches of one moment flushed together")
        h.clock.advance(0.01)
        self.assertEqual(len(h.processing), 1)
        h.send(p, 2, 4, 2)
        h.send(p, 3, 6, 1)
        h.clock.advance(0.05)
        self.assertEqual(len(h.processing), 1, "one flush at a time")
        h.processing[0][1].callback(None)
        self.assertEqual(acks(p), [1])
        h.clock.advance(0.05)
        self.assertEqual([len(records) for records, _ in h.processing], [3, 3])
        h.processing[1][1].callback(None)
        self.assertEqual(acks(p), [2, 3])

    def test_fullRingPausesAndResumes(self):
        """
        A full ring pauses every connection; nothing is dropped, and once the
        post-processor has drained the ring everyone resumes and every batch
        is acknowledged.
        """
        h = Harness(self, ring=MemoryRing(2))
        p1 = h.connect(port=1)
        p2 = h.connect(source="db01", port=2)
        h.send(p1, 1, 1, 1)
        self.assertEqual(p1.transport.producerState, "producing")
        h.send(p1, 2, 2, 1)
        self.assertTrue(h.daemon.paused)
        self.assertEqual((p1.transport.producerState, p2.transport.producerState),
                         ("paused", "paused"))
        # The peer's bytes still arrive while paused; they wait in the protocol.
        h.send(p2, 1, 1, 1)
        self.assertEqual(len(h.ring), 2)
        h.clock.advance(2)
        # The flush drained the ring, the connections resumed, and the batch
        # that waited in p2's buffer went in and was flushed in the same tick.
        self.assertEqual(acks(p1), [1, 2])
        self.assertEqual(acks(p2), [1])
        self.assertEqual(p1.transport.producerState, "producing")
        self.assertEqual(len(h.ring), 0)
        self.assertEqual(sorted((r.source, r.seq) for r in h.store.stored),
                         [("db01", 1), ("web01", 1), ("web01", 2)])

    def test_maxErrorsHoldsThenRecovers(self):
        """
        After MAXERR failures in a row the daemon stops taking data (pauses
        every connection); it keeps retrying, TIMEINV after the first
        failure and twice as long each time, and resumes by itself.
        """
        h = Harness(self, maxErrors=3)
        p = h.connect()
        received(p)
        h.store.failing = True
        h.send(p, 1, 1, 2)
        h.clock.pump([2, 2])
        self.assertFalse(h.daemon.paused)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        h.clock.pump([2, 2])
        self.assertEqual(h.store.calls, 3, "at 2, 4 and 8 s")
        self.assertTrue(h.daemon.paused)
        self.assertEqual(p.transport.producerState, "paused")
        h.clock.pump([2] * 3)
        self.assertEqual(h.store.calls, 3, "the next attempt is at 16 s")
        self.assertEqual(acks(p), [])
        self.assertEqual(len(h.ring), 1)
        h.store.failing = False
        h.clock.advance(2)
        self.assertEqual(acks(p), [1])
        self.assertFalse(h.daemon.paused)
        self.assertEqual(p.transport.producerState, "producing")
        self.assertEqual(len(h.store.stored), 2)

    def test_stopFlushesEverything(self):
        h = Harness(self)
        p = h.connect()
        h.send(p, 1, 1, 3)
        self.successResultOf(h.daemon.stopService())
        self.assertEqual(len(h.store.stored), 3)
        self.assertTrue(h.store.stopped)


class BadInputTests(SynchronousTestCase):
    """
    Bad input closes that connection with a reason; the others carry on.
    """

    def assertRefused(self, h, protocol, words):
        messages = received(protocol)
        self.assertEqual(messages[-1]["t"], "error")
        self.assertIn(words, messages[-1]["reason"])
        self.assertTrue(protocol.transport.disconnecting)

    def test_garbage(self):
        h = Harness(self)
        good = h.connect(port=1)
        bad = h.connect(port=2)
        received(bad)
        bad.dataReceived(b"\x00\x01 definitely not json\n")
        self.assertRefused(h, bad, "malformed message")
        h.send(good, 1, 1, 1)
        h.clock.advance(2)
        self.assertEqual(acks(good), [1])

    def test_invalidUTF8(self):
        h = Harness(self)
        bad = h.connect()
        received(bad)
        bad.dataReceived(b'{"t":"batch","id":1,"stream":"\xff\xfe"}\n')
        self.assertRefused(h, bad, "invalid UTF-8")

    def test_overlongLine(self):
        h = Harness(self, maxLine=1024)
        bad = h.connect()
        received(bad)
        bad.dataReceived(b"x" * 4000)
        self.assertRefused(h, bad, "longer than 1024 bytes")

    def test_batchBeforeHello(self):
        h = Harness(self)
        protocol = h.daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        protocol.dataReceived(line(wire.batch(1, "s", 1, HOST, records(1))))
        self.assertRefused(h, protocol, "expected hello")

    def test_kindNotServed(self):
        h = Harness(self)
        p = h.connect(kind="idmef")
        self.assertRefused(h, p, "takes no 'idmef' data")

    def test_badRecords(self):
        h = Harness(self)
        for recs, words in [
            ([["2026-02-30", "10:00:00", "x", ""]], "bad date"),
            ([["2026-11-22", "25:00:00", "x", ""]], "bad date or time"),
            ([["2026-11-22", "10:00:00", "x"]], "not [date"),
            ([["2026-11-22", "10:00:00", 5, ""]], "must be strings"),
            ([["2026-11-22", "10:00:00", "x" * 1001, ""]], "longer than 1000 bytes"),
            ([["2026-11-22", "10:00:00", "bad \ud800 surrogate", ""]], "not valid Unicode"),
        ]:
            p = h.connect()
            received(p)
            # ASCII escapes, so that a lone surrogate can be sent as a hostile
            # peer would.
            p.dataReceived(json.dumps(wire.batch(1, "s", 1, HOST, recs)).encode() + b"\n")
            self.assertRefused(h, p, words)
        self.assertEqual(len(h.ring), 0)


class MmapRingTests(SynchronousTestCase):
    def test_ackedOnceSynced(self):
        """
        With a memory-mapped ring a batch is acknowledged as soon as it is in
        the ring and synced (at the end of the reactor turn), before it is
        stored.
        """
        ring = MmapRing(self.mktemp(), 16, 2 ** 20)
        h = Harness(self, ring=ring)
        p = h.connect()
        received(p)
        h.send(p, 1, 1, 2)
        h.send(p, 2, 3, 2)
        self.assertEqual(acks(p), [])
        h.clock.advance(0)
        self.assertEqual(acks(p), [1, 2])
        self.assertEqual(h.store.stored, [])
        h.clock.advance(2)
        self.assertEqual(len(h.store.stored), 4)

    def test_lateAckedOnlyOnceStored(self):
        """
        A connection that asks for it (C{ackAfterStore}: a broker's
        consumer) is acknowledged only once its batch is stored, even from
        a memory-mapped ring, and in ring order with the others.
        """
        ring = MmapRing(self.mktemp(), 16, 2 ** 20)
        h = Harness(self, ring=ring)
        late, early = h.connect(port=40001), h.connect(port=40002)
        late.ackAfterStore = True
        received(late), received(early)
        h.send(late, 1, 1, 2)
        h.send(early, 1, 1, 2)
        h.clock.advance(0)
        self.assertEqual((acks(late), acks(early)), ([], [1]))
        h.clock.advance(2)
        self.assertEqual(len(h.store.stored), 4)
        self.assertEqual(acks(late), [1])

    def test_decodedKeptWithinLimits(self):
        """
        Decoded batches are kept beside a memory-mapped ring only within the
        pipeline's record and byte limits; the others are decoded again from
        the ring at flush time, and the post-processor gets the same records
        either way.  The limits free up as entries are released.
        """
        for limits in ((65536, 2 ** 20), (5, 2 ** 20), (65536, 400)):
            h = Harness(self, ring=MmapRing(self.mktemp(), 16, 2 ** 20))
            h.pipeline.heldRecordsLimit, h.pipeline.heldBytesLimit = limits
            p = h.connect()
            for n in range(4):
                h.send(p, n + 1, 1 + 3 * n, 3)
            kept = [e.obj is not None for e in h.ring.peek()]
            self.assertEqual(kept, {(65536, 2 ** 20): [True] * 4,
                                    (5, 2 ** 20): [True, False, False, False],
                                    (65536, 400): [True, False, False, False]}[limits])
            h.clock.advance(0)
            h.clock.advance(2)
            self.assertEqual([r.seq for r in h.store.stored], list(range(1, 13)))
            self.assertEqual([r.logline for r in h.store.stored],
                             ["line %d" % i for n in range(4) for i in range(1 + 3 * n, 4 + 3 * n)])
            self.assertEqual((h.pipeline.heldRecords, h.pipeline.heldBytes), (0, 0))
            h.send(p, 5, 13, 3)
            self.assertIsNotNone(h.ring.peek()[0].obj)

class FlushRobustnessTests(SynchronousTestCase):
    def test_flushErrorDoesNotStopTheLoop(self):
        """
        An unexpected error in a flush is logged, and the next TIMEINV tick
        flushes again.
        """
        h = Harness(self)
        p = h.connect()
        received(p)
        h.send(p, 1, 1, 2)
        original = h.pipeline.takeBatch
        h.pipeline.takeBatch = lambda: 1 / 0
        h.clock.advance(2)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        h.pipeline.takeBatch = original
        h.clock.advance(2)
        self.assertEqual(acks(p), [1])


class SeveralPipelinesTests(SynchronousTestCase):
    def test_everyPipelineOfTheKindGetsTheBatch(self):
        """
        One daemon, two decoder/post-processor pairs for log data (say the
        raw-log database and a syslog relay): each gets every record, and a
        batch is acknowledged only once it is durable in both.
        """
        clock = Clock()
        stores = [MemoryPostProcessor(), MemoryPostProcessor()]
        pipelines = [Pipeline(LogFormatDecoder(), stores[0], MemoryRing(8)),
                     Pipeline(LogFormatDecoder(), stores[1], MmapRing(self.mktemp(), 8, 2 ** 20))]
        daemon = BufferDaemon([], pipelines, clock, timeInterval=2.0)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        protocol = daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        protocol.dataReceived(line(wire.hello("web01", "log")))
        received(protocol)
        protocol.dataReceived(line(wire.batch(1, "/var/log/messages", 1, HOST, records(3))))
        clock.advance(0)
        self.assertEqual(acks(protocol), [], "durable in the mmap ring only")
        clock.advance(2)
        self.assertEqual(acks(protocol), [1])
        self.assertEqual([r.seq for r in stores[0].stored], [1, 2, 3])
        self.assertEqual(stores[0].stored, stores[1].stored)


class FuzzTests(SynchronousTestCase):
    @given(st.lists(st.binary(max_size=200), max_size=8), st.booleans())
    def test_randomBytesNeverRaiseNorStore(self, chunks, helloFirst):
        """
        Whatever bytes a peer sends, in whatever pieces, the server protocol
        neither raises nor buffers a record; it either waits for more or
        closes the connection.
        """
        h = Harness(self)
        protocol = h.daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        if helloFirst:
            protocol.dataReceived(line(wire.hello("web01", "log")))
        for chunk in chunks:
            protocol.dataReceived(chunk)
        self.assertEqual(len(h.ring), 0)
        h.clock.advance(2)
        self.assertEqual(h.store.stored, [])
        h.daemon.stopService()


class ControlledStore(MemoryPostProcessor):
    """
    A post-processor whose calls finish when the test says.
    """

    def __init__(self):
        super().__init__(maxErrors=5)
        self.calls = []

    def process(self, records):
        d = Deferred()
        self.calls.append((records, d))
        return d


class ConcurrentFlushTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.store = ControlledStore()
        self.pipeline = Pipeline(LogFormatDecoder(), self.store, MemoryRing(16), flushRecords=2,
                                 maxErrors=5, concurrency=2)
        self.daemon = BufferDaemon([], [self.pipeline], self.clock, timeInterval=2.0)
        self.daemon.startService()
        self.protocol = self.daemon.factory.buildProtocol(None)
        self.protocol.makeConnection(StringTransport())
        self.protocol.dataReceived(line(wire.hello("web01", "log")))
        received(self.protocol)
        for n in (1, 2, 3):
            self.protocol.dataReceived(line(wire.batch(n, "s", n * 10, HOST, records(2, n * 10))))

    def seqs(self, call):
        return [r.seq for r in call[0]]

    def test_inOrderRelease(self):
        """
        Two flushes run at once; the second finishing first releases
        nothing until the first is done.
        """
        self.clock.advance(0)
        self.assertEqual([self.seqs(c) for c in self.store.calls], [[10, 11], [20, 21]])
        self.store.calls[1][1].callback(None)
        self.assertEqual(acks(self.protocol), [])
        self.assertEqual(len(self.pipeline.ring), 3)
        self.store.calls[0][1].callback(None)
        self.assertEqual(acks(self.protocol), [1, 2])
        self.clock.advance(0)
        self.assertEqual([self.seqs(c) for c in self.store.calls[2:]], [[30, 31]])
        self.store.calls[2][1].callback(None)
        self.assertEqual(acks(self.protocol), [3])
        self.assertEqual(len(self.pipeline.ring), 0)

    def test_failureRetakesEverythingUnreleased(self):
        """
        When the first of two flushes fails, the second's success releases
        nothing; once both have settled, the next tick takes both batches
        again (stores are idempotent), and nothing is acknowledged before it
        is stored.
        """
        self.clock.advance(0)
        first, second = self.store.calls
        self.store.calls = []
        first[1].errback(RuntimeError("the store is down"))
        self.assertEqual(self.store.calls, [], "nothing new while one is in flight")
        second[1].callback(None)
        self.assertEqual(acks(self.protocol), [])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.clock.advance(2)
        self.assertEqual([self.seqs(c) for c in self.store.calls], [[10, 11], [20, 21]])
        for call in self.store.calls:
            call[1].callback(None)
        self.assertEqual(acks(self.protocol), [1, 2])

    def tearDown(self):
        stopped = self.daemon.stopService()
        while not stopped.called:
            for call in self.store.calls:
                if not call[1].called:
                    call[1].callback(None)
            self.clock.advance(0)
        self.successResultOf(stopped)


class RecordsTests(SynchronousTestCase):
    def test_sequenceOverChunks(self):
        """
        A flush's L{Records} read as one list of its chunks' records,
        without copying them.
        """
        from mice.services.bufferdaemon import Records

        chunks = [[1, 2], [3], [4, 5, 6]]
        records = Records(chunks)
        self.assertIs(records.chunks, chunks)
        self.assertEqual(len(records), 6)
        self.assertEqual(list(records), [1, 2, 3, 4, 5, 6])
        self.assertEqual(records, [1, 2, 3, 4, 5, 6])
        self.assertEqual([records[i] for i in range(-6, 6)], [1, 2, 3, 4, 5, 6] * 2)
        self.assertEqual(records[2:4], [3, 4])
        self.assertRaises(IndexError, records.__getitem__, 6)
        self.assertFalse(Records([]))

    def test_flushGivesDecodedBatches(self):
        """
        The post-processor gets the decoder's L{LogBatch}es themselves.
        """
        from mice.decoders.logformat import LogBatch

        harness = Harness(self)
        protocol = harness.connect()
        harness.send(protocol, 1, 10, 3)
        harness.send(protocol, 2, 13, 2)
        taken = harness.pipeline.takeBatch()[1]
        self.assertEqual([type(c) for c in taken.chunks], [LogBatch, LogBatch])
        self.assertEqual([r.seq for r in taken], [10, 11, 12, 13, 14])


class GarbageCollectorTests(SynchronousTestCase):
    def test_thresholdsWhileRunning(self):
        """
        A running daemon collects garbage less often (its decoded batches
        would be walked again and again); stopping it restores the process's
        thresholds.
        """
        import gc

        from mice.services.bufferdaemon import GC_THRESHOLDS

        before = gc.get_threshold()
        self.addCleanup(gc.set_threshold, *before)
        h = Harness(self)
        self.assertEqual(gc.get_threshold(), GC_THRESHOLDS)
        self.successResultOf(h.daemon.stopService())
        self.assertEqual(gc.get_threshold(), before)


class SilentStore(MemoryPostProcessor):
    """
    A post-processor that fails, answers or keeps silent as the test says,
    and notes when it was called.
    """

    description = "mysql://db.example.org:3306/mice"

    def __init__(self, clock, **kw):
        super().__init__(**kw)
        self.clock = clock
        self.silent = False
        self.times = []
        self.pending = []

    def process(self, records):
        self.times.append(self.clock.seconds())
        if self.silent:
            d = Deferred()
            self.pending.append((d, list(records)))
            return d
        return super().process(records)

    def answer(self):
        for d, records in self.pending:
            self.stored.extend(records)
            d.callback(len(records))
        self.pending = []


class OutageHarness(Harness):
    """
    A L{Harness} with a L{SilentStore} whose daemon logs into C{events}.
    """

    def __init__(self, case, maxErrors=100, ring=None):
        from twisted.logger import Logger

        self.events = []
        self.clock = Clock()
        self.store = SilentStore(self.clock, maxErrors=maxErrors)
        self.ring = MemoryRing(4) if ring is None else ring
        self.pipeline = Pipeline(LogFormatDecoder(maxRecord=1000), self.store, self.ring,
                                 maxErrors=maxErrors, name="log->db")
        self.daemon = BufferDaemon([], [self.pipeline], self.clock, timeInterval=2.0,
                                   maxRecord=1000)
        self.daemon.log = Logger(observer=self.events.append)
        self.daemon.startService()
        case.addCleanup(self.daemon.stopService)

    def sendDuringOutage(self, **storeState):
        """
        Connect, put the store in C{storeState} (C{failing=True},
        C{silent=True}) and send a batch of two records.

        @return: the connection's protocol.
        """
        p = self.connect()
        received(p)
        for name, value in storeState.items():
            setattr(self.store, name, value)
        self.send(p, 1, 1, 2)
        return p

    def warnings(self, *words):
        """
        The text of every warning (or worse) logged that holds all C{words}.
        """
        from twisted.logger import LogLevel, formatEvent

        return [formatEvent(e) for e in self.events
                if e["log_level"] >= LogLevel.warn
                and all(w in formatEvent(e) for w in words)]


class OutageTests(SynchronousTestCase):
    """
    A store that fails or keeps silent for a long time: retries back off up
    to a cap and keep nothing per attempt, and the daemon says loudly what
    is going on (issue 12).
    """

    def test_retryDelay(self):
        from mice.services.bufferdaemon import RETRY_MAX, retryDelay

        self.assertEqual([retryDelay(n, 2.0) for n in range(1, 7)],
                         [2.0, 4.0, 8.0, RETRY_MAX, RETRY_MAX, RETRY_MAX])
        self.assertEqual(retryDelay(10 ** 6, 0.2), RETRY_MAX)

    def test_retriesBackOffToACap(self):
        """
        A failing store is tried again TIMEINV after its first failure, then
        twice as long each time, then every RETRY_MAX seconds, however long
        the outage; nothing waits on the clock but the flush loop and the one
        retry.  Once it works, everything is stored.
        """
        h = OutageHarness(self)
        p = h.sendDuringOutage(failing=True)
        h.clock.pump([1.0] * 3600)
        self.assertEqual(h.store.times[:7], [2.0, 4.0, 8.0, 16.0, 31.0, 46.0, 61.0])
        self.assertEqual(len(h.store.times), 4 + (3600 - 16) // 15)
        self.assertLessEqual(len(h.clock.getDelayedCalls()), 3)
        self.assertEqual(h.pipeline.failedRounds, len(h.store.times))
        self.flushLoggedErrors(RuntimeError)
        h.store.failing = False
        h.clock.pump([1.0] * 15)
        self.assertEqual(acks(p), [1])
        self.assertEqual(len(h.store.stored), 2)
        self.assertEqual(h.pipeline.failedRounds, 0)
        self.assertIsNone(h.pipeline.retryAt)

    def test_outageIsToldAboutBoundedly(self):
        """
        The failures before MAXERR are logged one by one, naming the store
        and when it is retried; then a reminder a minute at most; then the
        recovery, with how long the trouble lasted.
        """
        h = OutageHarness(self, maxErrors=3)
        h.sendDuringOutage(failing=True)
        h.clock.pump([1.0] * 600)
        self.flushLoggedErrors(RuntimeError)
        failed = h.warnings("failed in mysql://db.example.org:3306/mice")
        self.assertEqual(len(failed), 2)
        self.assertIn("retrying in 4 s", failed[1])
        self.assertEqual(len(h.warnings("failures (MAXERR) of mysql://db.example.org:3306/mice")),
                         1)
        self.assertEqual(len(h.warnings("pausing intake", "ring 25% full (1 of 4 entries",
                                        "mysql://db.example.org:3306/mice failing (MAXERR)")), 1)
        stillFailing = h.warnings("still failing")
        self.assertTrue(8 <= len(stillFailing) <= 10, stillFailing)
        self.assertIn("the store is down", stillFailing[0])
        h.store.failing = False
        h.clock.pump([1.0] * 15)
        recovered = h.warnings("mysql://db.example.org:3306/mice works again after")
        self.assertEqual(len(recovered), 1)
        self.assertIn("after 599 s of trouble (42 failed flushes)", recovered[0])

    def test_silentStoreIsWarnedAbout(self):
        """
        A store that has not answered for five seconds is a warning at once,
        naming it and how long it has been waiting; again as the wait doubles;
        and when it answers, how long the trouble lasted.
        """
        h = OutageHarness(self)
        p = h.sendDuringOutage(silent=True)
        h.clock.pump([1.0] * 6)
        self.assertEqual(h.store.times, [2.0])
        self.assertEqual(h.warnings("has not answered"), [])
        h.clock.pump([1.0])
        silent = h.warnings("mysql://db.example.org:3306/mice has not answered for 5 s")
        self.assertEqual(len(silent), 1)
        h.clock.pump([1.0] * 35)
        self.assertEqual(len(h.warnings("has not answered")), 4, "at 5, 10, 20 and 40 s")
        h.store.answer()
        recovered = h.warnings("mysql://db.example.org:3306/mice works again after 40 s")
        self.assertEqual(len(recovered), 1)
        self.assertEqual(acks(p), [1])
        h.clock.pump([1.0] * 60)
        self.assertEqual(len(h.warnings("has not answered")), 4)

    def test_failuresLeaveNoCycles(self):
        """
        Once a failed flush is logged, what its traceback reached is freed
        at once, without the cyclic garbage collector: a store that keeps
        failing must not pile up connections and records (issue 12).
        """
        import gc
        import weakref

        class Connection:
            pass

        alive = []

        def failingProcess(records):
            # As PyMySQL does: the exception raised keeps the one handled,
            # whose traceback holds this frame, which holds both.
            connection = Connection()
            alive.append(weakref.ref(connection))
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except OSError as e:
                error = RuntimeError("Can't connect")
                error.original_exception = e
                raise error from e

        h = OutageHarness(self)
        p = h.connect()
        h.send(p, 1, 1, 2)
        h.store.process = failingProcess
        self.addCleanup(gc.enable)
        gc.disable()
        h.clock.pump([1.0] * 60)
        self.flushLoggedErrors(RuntimeError)
        gc.enable()
        self.assertGreater(len(alive), 3)
        self.assertEqual([ref for ref in alive if ref() is not None], [])

    def test_pauseAndResumeAreWarnings(self):
        """
        Pausing and resuming intake are warnings that say how full the ring
        is; a ring full under load, pausing at every flush, is summed up
        every FLOW_REPORT seconds instead of a line per pause.
        """
        from mice.services.bufferdaemon import FLOW_REPORT

        h = OutageHarness(self, ring=MemoryRing(2))
        p = h.connect()
        received(p)
        h.send(p, 1, 1, 1)
        h.send(p, 2, 2, 1)
        self.assertTrue(h.daemon.paused)
        self.assertEqual(len(h.warnings("pausing intake from 1 connections",
                                        "ring 100% full (2 of 2 entries")), 1)
        h.clock.advance(2)
        self.assertFalse(h.daemon.paused)
        self.assertEqual(len(h.warnings("resuming intake from 1 connections after 2.0 s paused",
                                        "ring 0% full")), 1)
        batch = 3
        for _ in range(10):
            h.send(p, batch, batch, 1)
            h.send(p, batch + 1, batch + 1, 1)
            batch += 2
            h.clock.advance(2)
        self.assertEqual(len(h.warnings("pausing intake")), 1)
        h.clock.pump([1.0] * int(FLOW_REPORT - 20))
        summary = h.warnings(f"intake paused 10 more times in the last {FLOW_REPORT:.0f} s")
        self.assertEqual(len(summary), 1, h.warnings())
        self.assertIn("running now", summary[0])
        h.send(p, batch, batch, 1)
        h.send(p, batch + 1, batch + 1, 1)
        h.clock.advance(2)
        self.successResultOf(h.daemon.stopService())
        self.assertEqual(len(h.warnings("intake paused 1 more times in the last 4 s")), 1,
                         "said when the daemon stops")

    def test_storeNameHasNoPassword(self):
        """
        The raw-log store is named by host, port and database in the log,
        never with the URL's user or password.
        """
        from twisted.internet.testing import MemoryReactor

        from mice.postproc import rawlogdb
        from mice.services.bufferdaemon import storeName

        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[MYSQL_SERVER]\nURL = mysql://micedb:s3cr%40t@db.example.org:3307/mice\n")
        store = rawlogdb.build(path, MemoryReactor())
        self.assertEqual(storeName(store), "mysql://db.example.org:3307/mice")


class UnusableStoreTests(SynchronousTestCase):
    """
    A store that cannot work on its database as it is (a table missing it
    may not create, a 2004 table) stops the daemon with one critical line
    instead of retrying forever (issue 16).
    """

    def test_storeUnusableStops(self):
        from twisted.internet.defer import fail
        from twisted.logger import LogLevel

        from mice.db.schema import MissingTable

        store = MemoryPostProcessor()
        store.start = lambda: fail(MissingTable("table firewall_line does not exist: run"
                                                " `mice initdb URL`"))
        stopped = []
        events = capturedLog(self)
        daemon = BufferDaemon([], [Pipeline(LogFormatDecoder(), store, MemoryRing(4))],
                              Clock(), onListenFailure=stopped.append)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        self.assertEqual(len(stopped), 1)
        self.assertTrue(stopped[0].check(MissingTable))
        critical = [e for e in events if e.get("log_level") == LogLevel.critical]
        self.assertEqual(len(critical), 1)
        self.assertIn("firewall_line", critical[0]["reason"])
