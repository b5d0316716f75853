"""
Tests for L{mice.services.bufferdaemon} driven through the link protocol
over StringTransports, with a L{Clock}.
"""

import json
import os

from hypothesis import given, settings
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
from mice.testing import MemoryPostProcessor

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
        self.assertEqual(received(p), [wire.welcome(65536, 1000)])

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
        every connection); it keeps retrying and resumes by itself.
        """
        h = Harness(self, maxErrors=3)
        p = h.connect()
        received(p)
        h.store.failing = True
        h.send(p, 1, 1, 2)
        h.clock.pump([2, 2])
        self.assertFalse(h.daemon.paused)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        h.clock.advance(2)
        self.assertTrue(h.daemon.paused)
        self.assertEqual(p.transport.producerState, "paused")
        h.clock.pump([2] * 5)
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

    def test_replayAfterRestart(self):
        """
        Entries acknowledged but not yet stored when the daemon died are
        stored by the next one.
        """
        path = self.mktemp()
        pid = os.fork()
        if pid == 0:
            # A daemon that dies after acknowledging, before storing.
            try:
                h = Harness(self, ring=MmapRing(path, 16, 2 ** 20))
                p = h.connect()
                h.send(p, 1, 1, 3)
                h.clock.advance(0)
                os._exit(0 if acks(p) == [1] else 1)
            finally:
                os._exit(2)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        h2 = Harness(self, ring=MmapRing(path, 16, 2 ** 20))
        self.assertEqual(h2.ring.replayed, 1)
        h2.clock.advance(2)
        self.assertEqual([(r.source, r.seq, r.logline) for r in h2.store.stored],
                         [("web01", i, f"line {i}") for i in (1, 2, 3)])
        self.assertEqual(len(h2.ring), 0)


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
    @settings(deadline=None, max_examples=200)
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
