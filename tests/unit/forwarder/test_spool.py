"""
Tests for L{mice.forwarder.spool}.
"""

import os
import shutil
from collections import deque

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.forwarder.spool import POSITION_NAME, Spool, SpoolFull, segmentName


def item(i, size=10):
    """
    A recognisable payload of C{size} bytes.
    """
    return (b"%06d:" % (i,) + b"x" * size)[:size]


def segmentFiles(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".seg"))


class SpoolTestsMixin:
    def makeSpool(self, directory=None, memoryBytes=100, diskBytes=10**6, segmentBytes=100):
        directory = directory or self.mktemp()
        spool = Spool(directory, memoryBytes, diskBytes, segmentBytes)
        self.addCleanup(spool.close)
        return spool


class MemoryTierTests(SpoolTestsMixin, SynchronousTestCase):
    def test_memoryOnly(self):
        spool = self.makeSpool(memoryBytes=100)
        items = [item(i) for i in range(10)]
        for each in items:
            spool.push(each)
        self.assertEqual(len(spool), 10)
        self.assertEqual(spool.memoryBytes, 100)
        self.assertEqual(spool.diskBytes, 0)
        self.assertEqual(segmentFiles(spool.directory), [])
        self.assertEqual(spool.peek(3), items[:3])
        self.assertEqual(spool.peek(50), items)
        spool.pop(4)
        self.assertEqual(spool.peek(50), items[4:])
        self.assertEqual(spool.memoryBytes, 60)

    def test_peekDoesNotRemove(self):
        spool = self.makeSpool()
        spool.push(b"a")
        self.assertEqual(spool.peek(1), [b"a"])
        self.assertEqual(spool.peek(1), [b"a"])
        self.assertEqual(len(spool), 1)

    def test_popTooMany(self):
        spool = self.makeSpool()
        spool.push(b"a")
        self.assertRaises(ValueError, spool.pop, 2)
        self.assertEqual(len(spool), 1)

    def test_memoryLostOnReopen(self):
        """
        Items only in memory do not survive: the caller re-reads them from
        the log file.
        """
        directory = self.mktemp()
        spool = self.makeSpool(directory)
        spool.push(b"a")
        spool.close()
        self.assertEqual(len(self.makeSpool(directory)), 0)

    def test_closed(self):
        spool = self.makeSpool()
        spool.close()
        self.assertRaises(ValueError, spool.push, b"a")
        spool.close()


class DiskTierTests(SpoolTestsMixin, SynchronousTestCase):
    def test_overflowKeepsOrder(self):
        """
        Past the memory bound items go to disk, and keep going to disk while
        anything is there, even after memory was drained.
        """
        spool = self.makeSpool(memoryBytes=30, segmentBytes=10**6)
        items = [item(i) for i in range(6)]
        for each in items:
            spool.push(each)
        self.assertEqual((spool.memoryItems, spool.diskItems), (3, 3))
        self.assertEqual(spool.peek(10), items)
        self.assertEqual(spool.peek(4), items[:4])
        spool.pop(3)
        self.assertEqual(spool.memoryBytes, 0)
        spool.push(item(6))
        self.assertEqual((spool.memoryItems, spool.diskItems), (0, 4))
        self.assertEqual(spool.peek(10), items[3:] + [item(6)])
        spool.pop(4)
        self.assertEqual(len(spool), 0)
        self.assertEqual(spool.diskBytes, 0)
        self.assertEqual(segmentFiles(spool.directory), [])
        spool.push(item(7))
        self.assertEqual((spool.memoryItems, spool.diskItems), (1, 0))

    def test_segmentRollover(self):
        """
        A record that would take a segment past C{segmentBytes} starts the
        next one; an item larger than a segment gets one of its own.
        """
        spool = self.makeSpool(memoryBytes=0, segmentBytes=40)
        for i in range(4):
            spool.push(item(i, 12))  # 20 bytes with the header
        spool.push(item(4, 100))
        spool.push(item(5, 12))
        self.assertEqual(segmentFiles(spool.directory),
                         [segmentName(i) for i in range(4)])
        self.assertEqual(spool.diskBytes, 4 * 20 + 108 + 20)
        self.assertEqual(spool.peek(10),
                         [item(i, 12) for i in range(4)] + [item(4, 100), item(5, 12)])

    def test_popDeletesConsumedSegments(self):
        spool = self.makeSpool(memoryBytes=0, segmentBytes=40)
        for i in range(6):
            spool.push(item(i, 12))
        spool.pop(1)
        self.assertEqual(len(segmentFiles(spool.directory)), 3)
        self.assertEqual(spool.diskBytes, 120)
        spool.pop(2)
        self.assertEqual(segmentFiles(spool.directory), [segmentName(1), segmentName(2)])
        self.assertEqual(spool.diskBytes, 80)
        self.assertEqual(spool.peek(10), [item(i, 12) for i in range(3, 6)])

    def test_reopenReplaysUnconsumed(self):
        directory = self.mktemp()
        spool = self.makeSpool(directory, memoryBytes=20, segmentBytes=50)
        items = [item(i) for i in range(12)]
        for each in items:
            spool.push(each)
        spool.pop(5)
        spool.sync()
        spool.close()
        again = self.makeSpool(directory, memoryBytes=20, segmentBytes=50)
        self.assertEqual(again.corrupt, 0)
        self.assertEqual(again.problems, [])
        self.assertEqual(len(again), 7)
        self.assertEqual(again.peek(100), items[5:])
        again.push(b"new")
        self.assertEqual(again.peek(100), items[5:] + [b"new"])

    def test_reopenAfterDrainContinuesNumbering(self):
        """
        Segment numbers never go back, so an old read position can never
        point past new segments.
        """
        directory = self.mktemp()
        spool = self.makeSpool(directory, memoryBytes=0)
        spool.push(b"a")
        spool.pop(1)
        spool.close()
        again = self.makeSpool(directory, memoryBytes=0)
        again.push(b"b")
        self.assertEqual(segmentFiles(directory), [segmentName(1)])
        again.close()
        self.assertEqual(self.makeSpool(directory).peek(5), [b"b"])

    def test_leftoverConsumedSegmentDeleted(self):
        """
        A segment consumed before a crash that prevented its deletion is
        deleted when the spool is opened.
        """
        directory = self.mktemp()
        spool = self.makeSpool(directory, memoryBytes=0, segmentBytes=20)
        spool.push(item(0))
        spool.push(item(1))
        first = os.path.join(directory, segmentName(0))
        shutil.copy(first, first + ".keep")
        spool.pop(1)
        spool.close()
        os.rename(first + ".keep", first)
        again = self.makeSpool(directory)
        self.assertEqual(again.peek(5), [item(1)])
        self.assertEqual(segmentFiles(directory), [segmentName(1)])

    def test_positionFileFormat(self):
        directory = self.mktemp()
        spool = self.makeSpool(directory, memoryBytes=0)
        spool.push(b"abc")
        spool.push(b"de")
        spool.pop(1)
        with open(os.path.join(directory, POSITION_NAME), "rb") as f:
            self.assertEqual(f.read(), b"0 11\n")


class BoundTests(SpoolTestsMixin, SynchronousTestCase):
    def test_spoolFull(self):
        spool = self.makeSpool(memoryBytes=10, diskBytes=44)
        spool.push(item(0))
        spool.push(item(1))
        spool.push(item(2))
        self.assertRaises(SpoolFull, spool.push, item(3))
        self.assertEqual(len(spool), 3)
        self.assertEqual(spool.diskBytes, 36)
        spool.push(b"")  # a header still fits
        self.assertEqual(spool.peek(10), [item(0), item(1), item(2), b""])

    def test_pushOrDropCounts(self):
        spool = self.makeSpool(memoryBytes=10, diskBytes=40)
        results = [spool.pushOrDrop(item(i)) for i in range(5)]
        self.assertEqual(results, [True, True, True, False, False])
        self.assertEqual((spool.dropped, spool.droppedBytes), (2, 20))
        self.assertEqual(spool.peek(10), [item(i) for i in range(3)])

    def test_spaceFreedOnlyWhenSegmentDeleted(self):
        """
        A partly consumed segment still takes its whole size on disk.
        """
        spool = self.makeSpool(memoryBytes=0, diskBytes=40, segmentBytes=40)
        spool.push(item(0))
        spool.push(item(1))
        spool.pop(1)
        self.assertRaises(SpoolFull, spool.push, item(2))
        spool.pop(1)
        spool.push(item(2))
        self.assertEqual(spool.peek(5), [item(2)])


class CorruptionTests(SpoolTestsMixin, SynchronousTestCase):
    def fill(self, directory, count, segmentBytes=40):
        spool = self.makeSpool(directory, memoryBytes=0, segmentBytes=segmentBytes)
        items = [item(i, 12) for i in range(count)]
        for each in items:
            spool.push(each)
        spool.sync()
        spool.close()
        return items

    def test_tornTail(self):
        """
        A last record cut short by a crash is discarded and counted; the
        records before it are intact, and new ones follow them.
        """
        directory = self.mktemp()
        items = self.fill(directory, 5)
        last = os.path.join(directory, segmentName(2))
        os.truncate(last, 9)
        spool = self.makeSpool(directory)
        self.assertEqual(spool.corrupt, 1)
        self.assertEqual(len(spool.problems), 1)
        self.assertIn("torn tail", spool.problems[0])
        self.assertEqual(spool.peek(10), items[:4])
        spool.push(b"after")
        self.assertEqual(spool.peek(10), items[:4] + [b"after"])
        spool.close()
        again = self.makeSpool(directory)
        self.assertEqual(again.corrupt, 0)
        self.assertEqual(again.peek(10), items[:4] + [b"after"])

    def test_tornTailMidRecordKeepsEarlierRecordsOfSegment(self):
        directory = self.mktemp()
        items = self.fill(directory, 3, segmentBytes=10**6)
        path = os.path.join(directory, segmentName(0))
        os.truncate(path, 2 * 20 + 15)
        spool = self.makeSpool(directory)
        self.assertEqual(spool.corrupt, 1)
        self.assertEqual(spool.peek(10), items[:2])
        self.assertEqual(os.path.getsize(path), 40)

    def test_flippedByteInMiddle(self):
        """
        A corrupt record in an earlier segment loses the rest of that
        segment, counted and explained; later segments are delivered.
        """
        directory = self.mktemp()
        items = self.fill(directory, 6)
        middle = os.path.join(directory, segmentName(1))
        with open(middle, "r+b") as f:
            f.seek(8 + 3)
            byte = f.read(1)
            f.seek(8 + 3)
            f.write(bytes([byte[0] ^ 0xFF]))
        spool = self.makeSpool(directory)
        self.assertEqual(spool.corrupt, 1)
        self.assertEqual(len(spool.problems), 1)
        self.assertIn("checksum mismatch", spool.problems[0])
        self.assertIn(segmentName(1), spool.problems[0])
        self.assertEqual(spool.peek(10), items[:2] + items[4:])
        spool.pop(4)
        self.assertEqual(len(spool), 0)
        self.assertEqual(segmentFiles(directory), [])

    def test_unreadablePosition(self):
        directory = self.mktemp()
        items = self.fill(directory, 3)
        with open(os.path.join(directory, POSITION_NAME), "wb") as f:
            f.write(b"garbage")
        spool = self.makeSpool(directory)
        self.assertEqual(spool.peek(10), items)
        self.assertEqual(len(spool.problems), 1)


class SpoolModel:
    """
    The reference: a deque of (item, segment or None for memory) with the
    same tier, rollover and bound rules, and segment sizes.
    """

    def __init__(self, memoryBytes, diskBytes, segmentBytes):
        self.memoryLimit = memoryBytes
        self.diskLimit = diskBytes
        self.segmentBytes = segmentBytes
        self.items = deque()
        self.segments = {}  # seq -> [size, live records]
        self.writing = None
        self.nextSeq = 0

    def memoryBytes(self):
        return sum(len(i) for i, seg in self.items if seg is None)

    def diskBytes(self):
        return sum(size for size, live in self.segments.values())

    def push(self, item):
        onDisk = any(seg is not None for _, seg in self.items)
        if not onDisk and self.memoryBytes() + len(item) <= self.memoryLimit:
            self.items.append((item, None))
            return True
        record = 8 + len(item)
        if self.diskBytes() + record > self.diskLimit:
            return False
        if self.writing is not None:
            size = self.segments[self.writing][0]
            if size and size + record > self.segmentBytes:
                self.writing = None
        if self.writing is None:
            self.writing = self.nextSeq
            self.nextSeq += 1
            self.segments[self.writing] = [0, 0]
        self.segments[self.writing][0] += record
        self.segments[self.writing][1] += 1
        self.items.append((item, self.writing))
        return True

    def pop(self, n):
        for _ in range(n):
            _, seg = self.items.popleft()
            if seg is not None:
                self.segments[seg][1] -= 1
                if not self.segments[seg][1]:
                    del self.segments[seg]
                    if seg == self.writing:
                        self.writing = None

    def reopen(self):
        self.items = deque((i, seg) for i, seg in self.items if seg is not None)
        self.writing = None


operations = st.lists(
    # Pushes are drawn more often than the rest, so that runs reach the disk
    # tier, several segments and the disk bound.
    st.tuples(
        st.sampled_from(["push"] * 5 + ["peek", "pop", "pop", "reopen"]),
        st.integers(0, 120),
    ),
    min_size=10,
    max_size=80,
)


class ModelTests(SynchronousTestCase):
    @given(operations)
    def test_matchesModel(self, ops):
        directory = self.mktemp()
        limits = dict(memoryBytes=100, diskBytes=1000, segmentBytes=200)
        spool = Spool(directory, **limits)
        model = SpoolModel(**limits)
        try:
            for counter, (op, arg) in enumerate(ops):
                if op == "push":
                    payload = item(counter, arg)
                    self.assertEqual(spool.pushOrDrop(payload), model.push(payload))
                elif op == "peek":
                    n = arg % 13
                    self.assertEqual(spool.peek(n), [i for i, _ in list(model.items)[:n]])
                elif op == "pop":
                    n = min(arg % 6, len(model.items))
                    spool.pop(n)
                    model.pop(n)
                else:
                    spool.close()
                    spool = Spool(directory, **limits)
                    model.reopen()
                    self.assertEqual(spool.corrupt, 0)
                self.assertEqual(len(spool), len(model.items))
                self.assertEqual(spool.memoryBytes, model.memoryBytes())
                self.assertEqual(spool.diskBytes, model.diskBytes())
                self.assertEqual(len(segmentFiles(directory)), len(model.segments))
            self.assertEqual(spool.peek(len(model.items)), [i for i, _ in model.items])
        finally:
            spool.close()
            shutil.rmtree(directory, ignore_errors=True)
