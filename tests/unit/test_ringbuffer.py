"""
Tests for L{mice.ringbuffer} (a writer process killed: C{tests.integration.test_ringbuffer}).
"""

import os
import random
import struct
from collections import deque

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice import ringbuffer
from mice.ringbuffer import (
    HEADER_SIZE,
    RECORD_HEADER_SIZE,
    SLOT_OFFSETS,
    Entry,
    MemoryRing,
    MmapRing,
    RingCorrupt,
    RingFull,
    RingLocked,
    openRing,
)


def payloadFor(n, size):
    """
    A payload of C{size} bytes that differs from append to append.
    """
    return random.Random(n).randbytes(size)


def recordSize(length):
    return (length + RECORD_HEADER_SIZE + 7) & ~7


class RecordingMmapRing(MmapRing):
    """
    An L{MmapRing} that keeps an image of what would be on disk after a power
    loss: the file as it was at open, with every range it msyncs since.
    """

    def _fsyncAll(self):
        super()._fsyncAll()
        with open(self.path, "rb") as f:
            self.durableImage = bytearray(f.read())

    def _msync(self, offset, length):
        super()._msync(offset, length)
        self.durableImage[offset : offset + length] = self._mm[offset : offset + length]


def powerLossImage(ring, seed, grain, share):
    """
    What the disk may hold after a power loss: the durable image, with a
    random C{share} of its C{grain}-byte blocks replaced by what the page
    cache held (the kernel may have written back any of them).
    """
    with open(ring.path, "rb") as f:
        current = f.read()
    image = bytearray(ring.durableImage)
    rng = random.Random(seed)
    for at in range(0, len(image), grain):
        if rng.random() < share:
            image[at : at + grain] = current[at : at + grain]
    return bytes(image)


class RingTestsMixin:
    """
    Behaviour both rings share.  C{makeRing(capacity, byteCapacity)} makes
    the ring under test; C{byteCapacity} is generous unless a test needs it.
    """

    # The steps of the model tests (a ring against a deque of (seq, payload)).

    def releaseLikeModel(self, ring, model, nextSeq, count):
        """
        Release the first C{count} seqs from the oldest kept, in the ring and
        the model; a release beyond the last seq given must be refused.

        @return: the seq released up to, or C{None} when refused.
        """
        upTo = (model[0][0] if model else nextSeq) + count - 1
        if upTo >= nextSeq:
            self.assertRaises(ValueError, ring.release, upTo)
            return None
        ring.release(upTo)
        while model and model[0][0] <= upTo:
            model.popleft()
        return upTo

    def assertPeekLikeModel(self, ring, model, count, maxBytes):
        """
        C{ring.peek(count, maxBytes)} gives the model's first entries: at most
        C{count}, and within C{maxBytes} unless that leaves none.
        """
        peeked = ring.peek(count, maxBytes)
        expected = []
        total = 0
        for seq, payload in list(model)[:count]:
            total += len(payload)
            if expected and total > maxBytes:
                break
            expected.append((seq, payload))
        self.assertEqual([(e.seq, e.payload) for e in peeked], expected)

    def test_fifo(self):
        """
        Entries come out oldest first, with increasing seqs and the objects
        given to C{append}.
        """
        ring = self.makeRing(10)
        appended = [ring.append(payloadFor(i, 10 * i), obj=("obj", i)) for i in range(5)]
        self.assertEqual([e.seq for e in appended], [1, 2, 3, 4, 5])
        self.assertEqual(ring.peek(), appended)
        self.assertEqual(ring.peek()[2], Entry(3, payloadFor(2, 20), ("obj", 2)))

    def test_capacity(self):
        """
        The (capacity + 1)th entry raises L{RingFull}, and fits after a
        release.
        """
        ring = self.makeRing(3)
        for _i in range(3):
            ring.append(b"x")
        self.assertTrue(ring.full)
        self.assertFalse(ring.canAppend(1))
        self.assertRaises(RingFull, ring.append, b"x")
        ring.release(1)
        self.assertFalse(ring.full)
        self.assertEqual(ring.append(b"y").seq, 4)

    def test_releasePrefix(self):
        """
        C{release} drops every entry up to and including the seq given;
        releasing an already released seq does nothing.
        """
        ring = self.makeRing(10)
        for i in range(6):
            ring.append(payloadFor(i, 5))
        ring.release(3)
        self.assertEqual([e.seq for e in ring.peek()], [4, 5, 6])
        ring.release(2)
        self.assertEqual(len(ring), 3)
        ring.release(6)
        self.assertEqual(len(ring), 0)
        self.assertEqual(ring.peek(), [])
        self.assertEqual(ring.usedBytes, 0)

    def test_releaseBeyondLast(self):
        """
        Releasing beyond the last entry appended is a C{ValueError}, and
        changes nothing.
        """
        ring = self.makeRing(10)
        ring.append(b"a")
        ring.append(b"b")
        exc = self.assertRaises(ValueError, ring.release, 3)
        self.assertIn("seq 2", str(exc))
        self.assertEqual(len(ring), 2)
        ring.release(2)
        self.assertRaises(ValueError, ring.release, 3)

    def test_lenAndUsedBytes(self):
        ring = self.makeRing(10)
        self.assertEqual((len(ring), ring.usedBytes, ring.full), (0, 0, False))
        ring.append(b"abc")
        ring.append(b"defgh")
        self.assertEqual(len(ring), 2)
        self.assertGreaterEqual(ring.usedBytes, 8)
        ring.release(1)
        self.assertEqual(len(ring), 1)
        ring.release(2)
        self.assertEqual(ring.usedBytes, 0)

    def test_peekLimits(self):
        """
        C{peek} stops at C{maxEntries} and before exceeding C{maxBytes}, but
        returns at least one entry.
        """
        ring = self.makeRing(10)
        for _i in range(5):
            ring.append(b"x" * 100)
        self.assertEqual([e.seq for e in ring.peek(maxEntries=2)], [1, 2])
        self.assertEqual([e.seq for e in ring.peek(maxBytes=250)], [1, 2])
        self.assertEqual([e.seq for e in ring.peek(maxBytes=300)], [1, 2, 3])
        self.assertEqual([e.seq for e in ring.peek(maxBytes=10)], [1])
        self.assertEqual([e.seq for e in ring.peek(maxEntries=1, maxBytes=1000)], [1])
        self.assertRaises(ValueError, ring.peek, maxEntries=0)

    def test_seqMonotonicOverLaps(self):
        """
        Seqs keep increasing by one through many laps of the ring.
        """
        ring = self.makeRing(4, 512)
        expected = 1
        for i in range(200):
            payload = payloadFor(i, (i * 7) % 90)
            while not ring.canAppend(len(payload)):
                ring.release(ring.peek(maxEntries=1)[0].seq)
            self.assertEqual(ring.append(payload).seq, expected)
            expected += 1
        self.assertEqual(ring.peek()[-1].seq, 200)
        self.assertEqual(ring.peek()[-1].payload, payloadFor(199, (199 * 7) % 90))

    def test_closed(self):
        ring = self.makeRing(3)
        ring.close()
        ring.close()
        self.assertRaises(ValueError, ring.append, b"x")
        self.assertFalse(ring.canAppend(1))

    def test_acceptsBytesLike(self):
        """
        A bytearray payload is copied, so changing it later changes nothing.
        """
        ring = self.makeRing(3)
        data = bytearray(b"abc")
        ring.append(data)
        data[0] = ord("z")
        self.assertEqual(ring.peek()[0].payload, b"abc")
        self.assertIs(type(ring.peek()[0].payload), bytes)


class MemoryRingTests(RingTestsMixin, SynchronousTestCase):
    def makeRing(self, capacity, byteCapacity=None):
        return MemoryRing(capacity, byteCapacity)

    def test_notDurable(self):
        self.assertFalse(MemoryRing(1).durable)

    def test_byteCapacity(self):
        """
        The payloads' total length stays within C{byteCapacity}.
        """
        ring = MemoryRing(10, 100)
        ring.append(b"x" * 60)
        self.assertTrue(ring.canAppend(40))
        self.assertFalse(ring.canAppend(41))
        exc = self.assertRaises(RingFull, ring.append, b"x" * 41)
        self.assertIn("60 of 100", str(exc))
        ring.append(b"x" * 40)
        self.assertTrue(ring.full)
        self.assertEqual(ring.usedBytes, 100)
        ring.release(1)
        self.assertEqual(ring.usedBytes, 40)

    def test_oversized(self):
        exc = self.assertRaises(ValueError, MemoryRing(10, 100).append, b"x" * 101)
        self.assertIn("101", str(exc))

    def test_usedBytesIsPayloadBytes(self):
        ring = MemoryRing(10)
        ring.append(b"abc")
        ring.append(b"defgh")
        self.assertEqual(ring.usedBytes, 8)

    def test_invalidCapacity(self):
        self.assertRaises(ValueError, MemoryRing, 0)
        self.assertRaises(ValueError, MemoryRing, 1, 0)

    @given(
        capacity=st.integers(1, 12),
        byteCapacity=st.one_of(st.none(), st.integers(1, 600)),
        ops=st.lists(
            st.one_of(
                st.tuples(st.just("append"), st.integers(0, 200)),
                st.tuples(st.just("release"), st.integers(-1, 14)),
                st.tuples(st.just("peek"), st.integers(1, 14), st.integers(0, 700)),
            ),
            max_size=80,
        ),
    )
    def test_model(self, capacity, byteCapacity, ops):
        """
        Any sequence of operations behaves like a bounded deque.
        """
        ring = MemoryRing(capacity, byteCapacity)
        model = deque()
        nextSeq = 1
        for op in ops:
            if op[0] == "append":
                payload = payloadFor(nextSeq, op[1])
                used = sum(len(p) for _, p in model)
                fits = len(model) < capacity and (
                    byteCapacity is None or used + len(payload) <= byteCapacity
                )
                self.assertEqual(ring.canAppend(len(payload)), fits)
                if fits:
                    self.assertEqual(ring.append(payload).seq, nextSeq)
                    model.append((nextSeq, payload))
                    nextSeq += 1
                elif byteCapacity is not None and len(payload) > byteCapacity:
                    self.assertRaises(ValueError, ring.append, payload)
                else:
                    self.assertRaises(RingFull, ring.append, payload)
            elif op[0] == "release":
                self.releaseLikeModel(ring, model, nextSeq, op[1])
            else:
                self.assertPeekLikeModel(ring, model, op[1], op[2])
            self.assertEqual(len(ring), len(model))
            self.assertEqual(ring.usedBytes, sum(len(p) for _, p in model))
        self.assertEqual([(e.seq, e.payload) for e in ring.peek()], list(model))


class MmapRingFiles:
    """
    Rings in temporary files, closed when the test ends.
    """

    def makeRing(self, capacity, byteCapacity=1 << 16, path=None):
        ring = MmapRing(path or self.mktemp(), capacity, byteCapacity)
        self.addCleanup(ring.close)
        return ring

    def reopen(self, ring, capacity=None, byteCapacity=None, cls=MmapRing):
        ring.close()
        reopened = cls(
            ring.path,
            capacity or ring.capacity,
            byteCapacity or ring.byteCapacity,
        )
        self.addCleanup(reopened.close)
        return reopened

    def readFile(self, path):
        with open(path, "rb") as f:
            return f.read()

    def patchFile(self, path, offset, data):
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(data)

    def recordingRing(self, capacity, byteCapacity, entries, size):
        """
        A L{RecordingMmapRing} holding C{entries} payloads of C{size} bytes.
        """
        ring = RecordingMmapRing(self.mktemp(), capacity, byteCapacity)
        self.addCleanup(ring.close)
        for i in range(entries):
            ring.append(payloadFor(i, size))
        return ring

    def assertCorrupt(self, path, *said, named=True):
        """
        Opening the ring file at C{path} fails with L{RingCorrupt}, whose
        message says every one of C{said} (and the path, if C{named}).
        """
        exc = self.assertRaises(RingCorrupt, MmapRing, path, 10, 1 << 16)
        for text in (path, *said) if named else said:
            self.assertIn(text, str(exc))


class MmapRingTests(MmapRingFiles, RingTestsMixin, SynchronousTestCase):
    def test_durable(self):
        self.assertTrue(MmapRing.durable)

    def test_fileLayout(self):
        """
        The file is a header page plus the data region, created at full size.
        """
        ring = self.makeRing(5, 1000)
        self.assertEqual(ring.byteCapacity, 1000)
        self.assertEqual(os.path.getsize(ring.path), HEADER_SIZE + 1000)
        self.assertEqual(self.readFile(ring.path)[:8], b"M-ICE RB")
        self.assertEqual(os.stat(ring.path).st_mode & 0o777, 0o600)
        self.assertEqual((ring.replayed, ring.discarded, ring.geometryMismatch), (0, 0, False))

    def test_byteCapacityRoundedDown(self):
        self.assertEqual(self.makeRing(5, 1003).byteCapacity, 1000)

    def test_invalidGeometry(self):
        self.assertRaises(ValueError, MmapRing, self.mktemp(), 0, 1000)
        self.assertRaises(ValueError, MmapRing, self.mktemp(), 5, 63)

    def test_byteBound(self):
        """
        Records never overwrite live ones: when the data region is full,
        C{append} raises L{RingFull} until a release makes room.
        """
        ring = self.makeRing(100, 256)
        # Each 48-byte payload takes a 64-byte record: four fill the region.
        for i in range(4):
            ring.append(payloadFor(i, 48))
        self.assertEqual(ring.usedBytes, 256)
        self.assertTrue(ring.full)
        exc = self.assertRaises(RingFull, ring.append, b"x")
        self.assertIn("256 of 256", str(exc))
        ring.release(1)
        self.assertTrue(ring.canAppend(48))
        self.assertFalse(ring.canAppend(49))
        ring.append(payloadFor(4, 48))
        self.assertEqual([e.payload for e in ring.peek()], [payloadFor(i, 48) for i in range(1, 5)])

    def test_oversizedRecord(self):
        """
        A record larger than the whole data region is a C{ValueError} naming
        both sizes.
        """
        ring = self.makeRing(10, 256)
        exc = self.assertRaises(ValueError, ring.append, b"x" * 241)
        self.assertIn("241 bytes", str(exc))
        self.assertIn("256 bytes", str(exc))
        self.assertFalse(ring.canAppend(241))
        ring.append(b"x" * 240)

    def test_usedBytesCountsRecords(self):
        ring = self.makeRing(10)
        ring.append(b"abc")
        ring.append(b"x" * 9)
        self.assertEqual(ring.usedBytes, recordSize(3) + recordSize(9))

    def test_wrapMarker(self):
        """
        A record that does not fit before the end of the data region goes at
        its start, after a wrap marker, and survives a reopen.
        """
        ring = self.makeRing(10, 256)
        for i in range(3):
            ring.append(payloadFor(i, 48))  # 3 x 64 bytes
        ring.release(2)
        ring.append(payloadFor(3, 80))  # 96 bytes: 64 left at the end
        self.assertEqual(ring.usedBytes, 64 + 64 + 96)
        data = self.readFile(ring.path)
        self.assertEqual(data[HEADER_SIZE + 192 : HEADER_SIZE + 196], b"\xff" * 4)
        self.assertEqual(struct.unpack_from("<IIQ", data, HEADER_SIZE)[::2], (80, 4))
        ring = self.reopen(ring)
        self.assertEqual(
            [(e.seq, e.payload) for e in ring.peek()],
            [(3, payloadFor(2, 48)), (4, payloadFor(3, 80))],
        )

    def test_emptyRingTakesLargestRecord(self):
        """
        An empty ring accepts any record that fits in the data region, even
        when its tail is in the middle.
        """
        ring = self.makeRing(10, 256)
        ring.append(b"x" * 100)
        ring.release(1)
        self.assertTrue(ring.canAppend(240))
        ring.append(b"y" * 240)
        self.assertEqual(self.reopen(ring).peek()[0], Entry(2, b"y" * 240, None))

    def test_replayAfterClose(self):
        """
        Reopening replays the unreleased entries in order, without their
        objects, and seqs continue after them.
        """
        ring = self.makeRing(10)
        for i in range(6):
            ring.append(payloadFor(i, 100 * i), obj=i)
        ring.release(2)
        ring = self.reopen(ring)
        self.assertEqual(ring.replayed, 4)
        self.assertEqual(ring.discarded, 0)
        self.assertEqual(
            ring.peek(), [Entry(i + 1, payloadFor(i, 100 * i), None) for i in range(2, 6)]
        )
        self.assertEqual(ring.append(b"next").seq, 7)

    def test_seqsNeverReused(self):
        """
        Seqs continue after a reopen even when everything was released.
        """
        ring = self.makeRing(10)
        for _i in range(3):
            ring.append(b"x")
        ring.release(3)
        ring = self.reopen(ring)
        self.assertEqual(ring.replayed, 0)
        self.assertEqual(ring.append(b"y").seq, 4)

    def test_unsyncedReleaseMayReplay(self):
        """
        Without a sync, a release may be lost in a power loss: the entries
        come back (stores are idempotent), but nothing acknowledged is lost.
        """
        ring = self.recordingRing(10, 4096, 4, 30)
        ring.sync()
        ring.release(3)
        lost = self.mktemp()
        with open(lost, "wb") as f:
            f.write(ring.durableImage)
        recovered = MmapRing(lost, 10, 4096)
        self.addCleanup(recovered.close)
        self.assertEqual([e.seq for e in recovered.peek()], [1, 2, 3, 4])

    def test_syncFlushesOnlyWhatChanged(self):
        """
        C{sync} msyncs the pages written since the last sync, then the header
        page; it does nothing when nothing changed.
        """
        ring = self.makeRing(100, 1 << 20)
        flushed = []
        ring._msync = lambda offset, length: flushed.append((offset, length))
        ring.append(b"x" * 5000)
        ring.sync()
        self.assertEqual(flushed, [(HEADER_SIZE, recordSize(5000))])
        del flushed[:]
        ring.append(b"y" * 10)
        ring.release(1)
        ring.sync()
        self.assertEqual(
            flushed,
            [(HEADER_SIZE + 4096, recordSize(5000) - 4096 + recordSize(10)), (0, HEADER_SIZE)],
        )
        del flushed[:]
        ring.sync()
        self.assertEqual(flushed, [])

    def test_releasedSpaceReusedAfterHeaderFlush(self):
        """
        Space released since the last sync is reused only once the new
        release point is durable: C{append} flushes the header page first.
        """
        ring = self.makeRing(100, 256)
        for i in range(4):
            ring.append(payloadFor(i, 48))
        ring.sync()
        flushed = []
        msync = ring._msync
        ring._msync = lambda offset, length: (
            flushed.append((offset, length)),
            msync(offset, length),
        )
        ring.release(2)
        self.assertEqual(flushed, [])
        ring.append(payloadFor(4, 48))
        self.assertEqual(flushed, [(0, HEADER_SIZE)])
        ring.append(payloadFor(5, 48))
        self.assertEqual(flushed, [(0, HEADER_SIZE)])

    def recover(self, image, capacity, byteCapacity):
        """
        Open a copy of C{image}, a file's bytes after a power loss.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(image)
        return self.makeRing(capacity, byteCapacity, path=path)

    def test_powerLossAfterReusingReleasedSpace(self):
        """
        Appending into space released since the last sync flushes the new
        release point first, so a power loss that keeps the new data but
        not the header written since still finds the acknowledged entries.
        """
        ring = self.recordingRing(100, 256, 4, 48)
        ring.sync()
        ring.release(2)
        ring.append(payloadFor(4, 48))  # where the first entry was
        with open(ring.path, "rb") as f:
            current = f.read()
        image = bytes(ring.durableImage[:HEADER_SIZE]) + current[HEADER_SIZE:]
        recovered = self.recover(image, 100, 256)
        self.assertEqual([e.seq for e in recovered.peek()][:2], [3, 4])

    def test_tornHeaderNeverBehindLastSync(self):
        """
        Whatever mix of old, new and torn header slots a power loss leaves,
        the release point found is never older than the last sync's: the
        slot holding that state is not written again until the next sync.
        """
        ring = self.recordingRing(100, 4096, 8, 20)
        ring.release(1)
        ring.sync()
        ring.release(2)
        ring.release(3)
        ring.release(4)
        with open(ring.path, "rb") as f:
            current = f.read()
        durable = bytes(ring.durableImage)
        slotSize = 36
        versions = {
            "old": lambda at: durable[at : at + slotSize],
            "new": lambda at: current[at : at + slotSize],
            "torn": lambda at: current[at : at + 16] + durable[at + 16 : at + slotSize],
        }
        for first in versions:
            for second in versions:
                image = bytearray(current)
                for at, version in zip(SLOT_OFFSETS, (first, second)):
                    image[at : at + slotSize] = versions[version](at)
                recovered = self.recover(bytes(image), 100, 4096)
                seqs = [e.seq for e in recovered.peek()]
                self.assertIn(seqs[0], (2, 3, 4, 5), (first, second))
                self.assertEqual(seqs[-1], 8)
                recovered.close()

    def test_tornLastWrite(self):
        """
        A last record whose bytes do not match its crc was never
        acknowledged: it is discarded, counted, and its seq is used again.
        """
        ring = self.makeRing(10, 4096)
        for i in range(3):
            ring.append(payloadFor(i, 100))
        ring.close()
        lastPayload = HEADER_SIZE + 2 * recordSize(100) + RECORD_HEADER_SIZE
        self.patchFile(ring.path, lastPayload + 50, b"garbage" * 7)
        ring = self.reopen(ring)
        self.assertEqual((ring.replayed, ring.discarded), (2, 1))
        self.assertEqual([e.payload for e in ring.peek()], [payloadFor(0, 100), payloadFor(1, 100)])
        ring = self.reopen(ring)
        self.assertEqual((ring.replayed, ring.discarded), (2, 0))
        self.assertEqual(ring.append(b"again").seq, 3)
        ring = self.reopen(ring)
        self.assertEqual([e.payload for e in ring.peek()][-1], b"again")

    def test_tornBatch(self):
        """
        Every record after a torn one that carries the following seqs is
        discarded too.
        """
        ring = self.makeRing(10, 4096)
        for i in range(5):
            ring.append(payloadFor(i, 100))
        ring.close()
        self.patchFile(ring.path, HEADER_SIZE + 2 * recordSize(100) + 20, b"\0" * 8)
        ring = self.reopen(ring)
        self.assertEqual((ring.replayed, ring.discarded), (2, 3))

    def killedImage(self, ring):
        """
        A copy of C{ring}'s file as a kill -9 would leave it (the page cache
        survives), at a new path.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(self.readFile(ring.path))
        return path

    def test_crashedWritesNotRevived(self):
        """
        After a crash, records written after the tail are cleared: appending
        the same payload again with the same seq (a client resending its
        batch) does not chain on an intact record the crashed process wrote
        after a torn one.
        """
        ring = self.makeRing(10, 4096)
        ring.append(payloadFor(1, 100))
        ring.append(payloadFor(2, 100))
        path = self.killedImage(ring)
        # The first record's seq field never reached the disk.
        self.patchFile(path, HEADER_SIZE + 8, bytes(8))
        ring = self.makeRing(10, 4096, path=path)
        self.assertEqual((ring.replayed, ring.discarded), (0, 0))
        self.assertEqual(ring.append(payloadFor(1, 100)).seq, 1)
        ring = self.reopen(ring)
        self.assertEqual([(e.seq, e.payload) for e in ring.peek()], [(1, payloadFor(1, 100))])

    def test_freeSpaceZeroedOnlyAfterCrash(self):
        """
        Opening after a crash zeroes the free part of the data region;
        opening after a clean close leaves it alone.
        """
        ring = self.makeRing(10, 4096)
        for i in range(3):
            ring.append(payloadFor(i, 100))
        ring.release(1)
        ring = self.reopen(ring)
        stale = HEADER_SIZE + RECORD_HEADER_SIZE
        self.assertEqual(self.readFile(ring.path)[stale : stale + 100], payloadFor(0, 100))
        ring = self.makeRing(10, 4096, path=self.killedImage(ring))
        self.assertEqual([e.seq for e in ring.peek()], [2, 3])
        data = self.readFile(ring.path)
        self.assertEqual(data[stale : stale + 100], bytes(100))
        self.assertEqual(
            data[HEADER_SIZE + 3 * recordSize(100) :], bytes(4096 - 3 * recordSize(100))
        )

    def slots(self, path):
        data = self.readFile(path)
        return [struct.unpack_from("<QQQI", data, offset) for offset in SLOT_OFFSETS]

    def test_newestSlotCorrupt(self):
        """
        Garbage in the newest header slot (a torn write of it) makes the open
        fall back to the other one: here the release point of the last sync.
        """
        ring = self.makeRing(10)
        for i in range(5):
            ring.append(payloadFor(i, 10))
        ring.release(1)
        ring.sync()
        ring.release(2)
        path = self.killedImage(ring)
        generations = [slot[0] for slot in self.slots(path)]
        newest = SLOT_OFFSETS[generations.index(max(generations))]
        self.patchFile(path, newest + 4, b"garbage")
        ring = self.makeRing(10, path=path)
        self.assertEqual([e.seq for e in ring.peek()], [2, 3, 4, 5])
        self.assertEqual(ring.append(b"x").seq, 6)
        ring.release(3)
        ring = self.reopen(ring)
        self.assertEqual([e.seq for e in ring.peek()], [4, 5, 6])

    def test_bothSlotsCorrupt(self):
        ring = self.makeRing(10)
        ring.close()
        for offset in SLOT_OFFSETS:
            self.patchFile(ring.path, offset, b"\x01" * 32)
        self.assertCorrupt(ring.path, "slots")

    def test_badMagic(self):
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"this is not a ring file" * 1000)
        self.assertCorrupt(path, "magic")

    def test_badVersion(self):
        ring = self.makeRing(10)
        ring.close()
        self.patchFile(ring.path, 8, struct.pack("<I", 99))
        self.assertCorrupt(ring.path, "version 99")

    def test_badHeaderChecksum(self):
        ring = self.makeRing(10)
        ring.close()
        self.patchFile(ring.path, 16, struct.pack("<Q", 11))
        self.assertCorrupt(ring.path, "checksum", named=False)

    def test_truncatedFile(self):
        ring = self.makeRing(10)
        ring.close()
        os.truncate(ring.path, HEADER_SIZE + 100)
        self.assertCorrupt(ring.path, "truncated")

    def test_emptyFileInitialised(self):
        """
        An empty file, or one whose header was never written (a crash while
        creating it), is initialised.
        """
        path = self.mktemp()
        open(path, "wb").close()
        ring = self.makeRing(10, 1024, path=path)
        ring.append(b"x")
        ring.close()
        self.patchFile(path, 0, bytes(HEADER_SIZE))
        ring = self.makeRing(10, 1024, path=path)
        self.assertEqual(ring.replayed, 0)

    def test_locked(self):
        """
        A second open of the same file, in this process or another, fails.
        """
        ring = self.makeRing(10)
        exc = self.assertRaises(RingLocked, MmapRing, ring.path, 10, 1 << 16)
        self.assertIn(ring.path, str(exc))
        self.assertIsInstance(exc, RingCorrupt)
        ring.close()
        self.makeRing(10, path=ring.path)

    def test_geometryChangeEmpty(self):
        """
        A file with another geometry and no live entries is re-created with
        the requested one; seqs continue.
        """
        ring = self.makeRing(10, 1024)
        ring.append(b"x")
        ring.release(1)
        ring = self.reopen(ring, 20, 2048)
        self.assertEqual((ring.capacity, ring.byteCapacity), (20, 2048))
        self.assertFalse(ring.geometryMismatch)
        self.assertEqual(os.path.getsize(ring.path), HEADER_SIZE + 2048)
        self.assertEqual(ring.append(b"y").seq, 2)

    def test_geometryChangeFits(self):
        """
        A file with another geometry whose live entries fit in the requested
        one is rewritten with it, keeping the entries and their seqs.
        """
        ring = self.makeRing(10, 1024)
        for i in range(5):
            ring.append(payloadFor(i, 100))
        ring.release(2)
        ring = self.reopen(ring, 3, 400)
        self.assertEqual((ring.capacity, ring.byteCapacity, ring.geometryMismatch), (3, 400, False))
        self.assertEqual(ring.replayed, 3)
        self.assertEqual(
            [(e.seq, e.payload) for e in ring.peek()],
            [(i + 1, payloadFor(i, 100)) for i in range(2, 5)],
        )
        self.assertFalse(os.path.exists(ring.path + ".resize"))
        self.assertEqual(self.reopen(ring).replayed, 3)

    def test_geometryChangeDoesNotFit(self):
        """
        When the live entries do not fit in the requested geometry, the file
        keeps its own and C{geometryMismatch} says so.
        """
        ring = self.makeRing(10, 1024)
        for i in range(5):
            ring.append(payloadFor(i, 100))
        ring = self.reopen(ring, 4, 1024)
        self.assertTrue(ring.geometryMismatch)
        self.assertEqual((ring.capacity, ring.byteCapacity), (10, 1024))
        self.assertEqual(ring.replayed, 5)
        ring.release(5)
        ring = self.reopen(ring, 4, 1024)
        self.assertEqual((ring.capacity, ring.geometryMismatch), (4, False))

    @given(
        capacity=st.integers(1, 12),
        byteCapacity=st.integers(8, 160).map(lambda n: n * 8),
        ops=st.lists(
            st.one_of(
                st.tuples(st.just("append"), st.integers(0, 300)),
                st.tuples(st.just("release"), st.integers(-1, 14)),
                st.tuples(st.just("peek"), st.integers(1, 14), st.integers(0, 700)),
                st.tuples(st.just("sync")),
                st.tuples(st.just("reopen")),
                st.tuples(
                    st.just("crash"),
                    st.integers(0, 2**32),
                    st.sampled_from([8, 512, 4096]),
                    st.sampled_from([0.0, 0.3, 0.7, 1.0]),
                ),
            ),
            max_size=60,
        ),
    )
    def test_model(self, capacity, byteCapacity, ops):
        """
        Any sequence of operations behaves like a bounded deque, also across
        reopens; after a simulated power loss (the durable image with any
        blocks written since the last msync, old or new), the ring replays
        every acknowledged entry not yet released, in order, and nothing
        that was released before the last sync.
        """
        path = self.mktemp()
        ring = RecordingMmapRing(path, capacity, byteCapacity)
        self.addCleanup(lambda: ring.close())
        model = deque()
        nextSeq = 1
        ackedSeq = 0  # everything up to this seq is durable
        releasedAtSync = 0  # the release point made durable by the last sync
        released = 0
        for op in ops:
            if op[0] == "append":
                payload = payloadFor(nextSeq, op[1])
                can = ring.canAppend(len(payload))
                if can:
                    self.assertEqual(ring.append(payload).seq, nextSeq)
                    model.append((nextSeq, payload))
                    nextSeq += 1
                elif recordSize(len(payload)) > byteCapacity:
                    self.assertRaises(ValueError, ring.append, payload)
                else:
                    self.assertRaises(RingFull, ring.append, payload)
                    # Refusing needs a reason: the count, or too little room
                    # even allowing for the gap a wrap leaves.
                    self.assertTrue(model)
                    self.assertTrue(
                        len(model) == capacity
                        or ring.usedBytes + 2 * recordSize(len(payload)) > byteCapacity
                    )
            elif op[0] == "release":
                upTo = self.releaseLikeModel(ring, model, nextSeq, op[1])
                if upTo is not None:
                    released = max(released, upTo)
            elif op[0] == "peek":
                self.assertPeekLikeModel(ring, model, op[1], op[2])
            elif op[0] == "sync":
                ring.sync()
                ackedSeq = nextSeq - 1
                releasedAtSync = released
            elif op[0] == "reopen":
                ring.close()
                ring = RecordingMmapRing(path, capacity, byteCapacity)
                self.assertEqual(ring.replayed, len(model))
                self.assertEqual(ring.discarded, 0)
                ackedSeq = nextSeq - 1
                releasedAtSync = released
            else:
                _, seed, grain, share = op
                image = powerLossImage(ring, seed, grain, share)
                ring.close()
                path = self.mktemp()
                with open(path, "wb") as f:
                    f.write(image)
                ring = RecordingMmapRing(path, capacity, byteCapacity)
                replayed = [(e.seq, e.payload) for e in ring.peek()]
                self.assertEqual(ring.replayed, len(replayed))
                everything = dict(model)
                seqs = [seq for seq, _ in replayed]
                self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))) if seqs else [])
                for seq, payload in replayed:
                    self.assertGreater(seq, releasedAtSync)
                    self.assertLess(seq, nextSeq)
                    if seq in everything:
                        self.assertEqual(payload, everything[seq])
                acknowledged = {seq for seq, _ in model if seq <= ackedSeq}
                self.assertLessEqual(acknowledged, set(seqs))
                if share == 1.0:
                    # A kill -9: the page cache survives whole.
                    self.assertEqual(replayed, list(model))
                    self.assertEqual(ring.discarded, 0)
                # Carry on from what was recovered.
                model = deque(replayed)
                # Acknowledged seqs are never issued again.
                self.assertGreater(ring._nextSeq, max(ackedSeq, releasedAtSync))
                nextSeq = ring._nextSeq
                released = replayed[0][0] - 1 if replayed else nextSeq - 1
                ackedSeq = nextSeq - 1
                releasedAtSync = released
            self.assertEqual(len(ring), len(model))
        ring.close()
        ring = MmapRing(path, capacity, byteCapacity)
        self.assertEqual([(e.seq, e.payload) for e in ring.peek()], list(model))
        if ring.canAppend(0):
            self.assertEqual(ring.append(b"").seq, nextSeq)
        ring.close()


class OpenRingTests(SynchronousTestCase):
    def test_mmap(self):
        path = self.mktemp()
        ring = openRing(path, 10, 4096, 100)
        self.addCleanup(ring.close)
        self.assertIsInstance(ring, MmapRing)
        self.assertEqual((ring.capacity, ring.byteCapacity), (10, 4096))

    def test_mmapDefaultBytes(self):
        ring = openRing(self.mktemp(), 10, 0, 0)
        self.addCleanup(ring.close)
        self.assertEqual(ring.byteCapacity, ringbuffer.DEFAULT_MM_BYTES)

    def test_memory(self):
        ring = openRing("/nonexistent/ring", 0, 0, 100)
        self.assertIsInstance(ring, MemoryRing)
        self.assertEqual(ring.capacity, 100)

    def test_neither(self):
        exc = self.assertRaises(ValueError, openRing, "", 0, 0, 0)
        self.assertIn("MMSIZE", str(exc))

    def test_mmapWithoutPath(self):
        self.assertRaises(ValueError, openRing, "", 10, 4096, 0)


class PurityTests(SynchronousTestCase):
    def test_noTwisted(self):
        """
        The ring buffer is a pure module.
        """
        with open(ringbuffer.__file__) as f:
            source = f.read()
        self.assertNotIn("twisted", source)
        self.assertNotIn("import time", source)
