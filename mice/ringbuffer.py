# -*- test-case-name: tests.unit.test_ringbuffer,tests.integration.test_ringbuffer -*-
"""
The ring buffers between a BufferDaemon's receiving side and its post-processor.

The daemon appends each received batch (an opaque C{bytes} payload, plus the
decoded object so that live entries need not be decoded again); every TIMEINV
seconds the post-processor L{peek}s the oldest entries, stores them, and
L{release}s them.

L{MemoryRing} holds entries in memory (RBSIZE).  L{MmapRing} holds them in a
memory-mapped file (MMPATH/MMSIZE) and is crash-safe: once L{MmapRing.sync}
has returned, the entries appended so far survive a kill -9 or a power loss,
and the next open replays every entry not yet released, exactly once and in
order, and discards a torn last write.  The file format and the reasoning
behind it are in C{docs/ringbuffer.rst}.

This module is pure: no reactor, no clock.
"""

import errno
import fcntl
import mmap
import os
import struct
import sys
import zlib
from collections import deque
from itertools import islice
from typing import NamedTuple

__all__ = [
    "Entry",
    "MemoryRing",
    "MmapRing",
    "RingCorrupt",
    "RingFull",
    "RingLocked",
    "openRing",
]


class RingFull(Exception):
    """
    The ring has no room for the entry being appended.
    """


class RingCorrupt(Exception):
    """
    A ring file cannot be used; the message names the file and why.
    """


class RingLocked(RingCorrupt):
    """
    Another process has the ring file open.
    """


class Entry(NamedTuple):
    seq: int
    """
    Increases by one per append over the ring's whole life (persisted by
    L{MmapRing}); never reused.
    """
    payload: bytes
    obj: object = None
    """
    Whatever the caller passed to C{append}; C{None} after a replay from disk.
    """


def _checkLimits(maxEntries, maxBytes):
    if maxEntries is not None and maxEntries < 1:
        raise ValueError(f"maxEntries must be at least 1, not {maxEntries}")
    if maxBytes is not None and maxBytes < 0:
        raise ValueError(f"maxBytes must not be negative, not {maxBytes}")


def _checkCapacity(capacity):
    if not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be a positive number of entries, not {capacity!r}")


class _Ring:
    """
    What both rings share: they hold C{_entries}, a C{with} block closes
    them, and they are full when not even a one-byte payload fits.
    """

    def __len__(self):
        return len(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def full(self):
        return not self.canAppend(1)


class MemoryRing(_Ring):
    """
    A ring of at most C{capacity} entries, and at most C{byteCapacity} payload
    bytes when that is given, held in memory.  Lost when the process ends.

    @ivar usedBytes: the sum of the live payloads' lengths.
    @ivar full: C{True} when not even a one-byte payload can be appended.
    """

    durable = False

    def __init__(self, capacity, byteCapacity=None):
        _checkCapacity(capacity)
        if byteCapacity is not None and byteCapacity < 1:
            raise ValueError(f"byteCapacity must be positive or None, not {byteCapacity!r}")
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self._entries = deque()
        self._usedBytes = 0
        self._nextSeq = 1
        self._closed = False

    @property
    def usedBytes(self):
        return self._usedBytes

    def canAppend(self, size):
        """
        Whether a payload of C{size} bytes can be appended now.
        """
        if self._closed or len(self._entries) >= self.capacity:
            return False
        return self.byteCapacity is None or self._usedBytes + size <= self.byteCapacity

    def append(self, payload, obj=None):
        """
        Add an entry at the tail.

        @raise RingFull: no room, by count or by bytes.
        @raise ValueError: the payload is larger than C{byteCapacity}, so it
            would never fit (checked first: waiting would not help).
        """
        if self._closed:
            raise ValueError("ring is closed")
        if type(payload) is not bytes:
            payload = bytes(payload)
        size = len(payload)
        if self.byteCapacity is not None and size > self.byteCapacity:
            raise ValueError(
                f"payload of {size} bytes exceeds the ring's byte capacity of "
                f"{self.byteCapacity} bytes"
            )
        if len(self._entries) >= self.capacity:
            raise RingFull(f"ring full: {len(self._entries)} of {self.capacity} entries")
        if self.byteCapacity is not None and self._usedBytes + size > self.byteCapacity:
            raise RingFull(
                f"ring full: {size} bytes do not fit, {self._usedBytes} of "
                f"{self.byteCapacity} bytes in use"
            )
        entry = Entry(self._nextSeq, payload, obj)
        self._entries.append(entry)
        self._nextSeq += 1
        self._usedBytes += size
        return entry

    def peek(self, maxEntries=None, maxBytes=None):
        """
        The oldest unreleased entries, oldest first: at most C{maxEntries} of
        them, holding at most C{maxBytes} payload bytes, but always at least
        one if there is any.
        """
        _checkLimits(maxEntries, maxBytes)
        entries = self._entries
        if maxBytes is None:
            if maxEntries is None:
                return list(entries)
            return list(islice(entries, maxEntries))
        result = []
        total = 0
        for entry in islice(entries, maxEntries):
            total += len(entry.payload)
            if result and total > maxBytes:
                break
            result.append(entry)
        return result

    def release(self, upToSeq):
        """
        Drop every entry whose seq is at most C{upToSeq}.  Releasing what is
        already released does nothing.

        @raise ValueError: C{upToSeq} is beyond the last entry appended.
        """
        if upToSeq >= self._nextSeq:
            raise ValueError(
                f"cannot release up to seq {upToSeq}: the last entry appended is "
                f"seq {self._nextSeq - 1}"
            )
        entries = self._entries
        while entries and entries[0].seq <= upToSeq:
            self._usedBytes -= len(entries.popleft().payload)

    def sync(self):
        """
        Nothing to do: a memory ring is not durable.
        """

    def close(self):
        self._closed = True


# The file format; docs/ringbuffer.rst describes it.
MAGIC = b"M-ICE RB"
FORMAT_VERSION = 1
HEADER_SIZE = 4096
SLOT_OFFSETS = (512, 1024)
RECORD_HEADER_SIZE = 16
WRAP_MARKER = 0xFFFFFFFF
MIN_BYTE_CAPACITY = 64
MAX_PAYLOAD = 0xFFFFFFFE

_FIXED = struct.Struct("<8sIIQQ")  # magic, version, header size, capacity, data size
_FIXED_CRC_OFFSET = _FIXED.size
# generation, head offset, head seq, crc of the record before the head, flags
_SLOT = struct.Struct("<QQQII")
_CLEAN = 1  # flag: closed cleanly, nothing after the tail was written since
_RECORD = struct.Struct("<IIQ")  # payload length, chained crc32, seq
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# Where fdatasync(fd) also writes back pages dirtied through a shared
# mapping (Linux: one page cache); elsewhere msync is used.
_FDATASYNC_COVERS_MMAP = sys.platform.startswith("linux")
_fdatasync = getattr(os, "fdatasync", os.fsync)

# The size of one msync unit; the header is a multiple of it on every
# platform Python supports, so data offsets are aligned too.
_GRANULARITY = mmap.ALLOCATIONGRANULARITY


def _recordSize(payloadLength):
    return (payloadLength + RECORD_HEADER_SIZE + 7) & ~7


def _packFixed(capacity, dataSize):
    fixed = _FIXED.pack(MAGIC, FORMAT_VERSION, HEADER_SIZE, capacity, dataSize)
    return fixed + _U32.pack(zlib.crc32(fixed))


def _packSlot(generation, headOffset, headSeq, headPrevCrc, flags):
    body = _SLOT.pack(generation, headOffset, headSeq, headPrevCrc, flags)
    return body + _U32.pack(zlib.crc32(body))


def _fsyncDirectory(path):
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _initialize(fd, path, capacity, dataSize, headSeq=1):
    """
    Make the empty file open on C{fd} a ring file with this geometry whose
    next entry gets C{headSeq}.  The header is written last, so a crash midway
    leaves an all-zero header, which the next open initialises again.
    """
    os.ftruncate(fd, HEADER_SIZE + dataSize)
    try:
        # Reserve the blocks now: a sparse file on a full disk would make a
        # later store into the mapping kill the process with SIGBUS.
        os.posix_fallocate(fd, 0, HEADER_SIZE + dataSize)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            os.ftruncate(fd, 0)
            raise OSError(
                e.errno, f"no space for a {HEADER_SIZE + dataSize}-byte ring file", path
            ) from e
        if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    header = bytearray(HEADER_SIZE)
    fixed = _packFixed(capacity, dataSize)
    header[: len(fixed)] = fixed
    # Both slots valid, generation 1 in slot 0: slot 1 takes the next write.
    for slot, generation in enumerate((1, 0)):
        packed = _packSlot(generation, 0, headSeq, 0, _CLEAN)
        header[SLOT_OFFSETS[slot] : SLOT_OFFSETS[slot] + len(packed)] = packed
    os.pwrite(fd, bytes(header), 0)
    os.fsync(fd)
    _fsyncDirectory(path)


class MmapRing(_Ring):
    """
    A crash-safe ring of at most C{capacity} entries in a file of
    C{HEADER_SIZE + byteCapacity} bytes at C{path}, mapped into memory.

    Opening it creates the file if needed and replays the entries found
    there: C{replayed} says how many, C{discarded} how many torn or invalid
    records claiming to follow them were dropped.  An entry is durable once
    L{sync} returns after it was appended.

    If the file exists with another geometry, it is rewritten with the one
    asked for when its live entries fit in that; otherwise the file keeps its
    own geometry (C{capacity} and C{byteCapacity} say which) and
    C{geometryMismatch} is C{True} so that the caller can warn.  Only one
    process may have the file open (L{RingLocked}).

    @ivar byteCapacity: the data region's size: the requested byte capacity
        rounded down to a multiple of 8.
    @ivar usedBytes: the bytes of the data region held by live entries,
        record headers, alignment padding and wrap-around gaps included.
    @ivar full: C{True} when not even a one-byte payload can be appended.
    """

    durable = True

    def __init__(self, path, capacity, byteCapacity):
        _checkCapacity(capacity)
        if not isinstance(byteCapacity, int) or byteCapacity < MIN_BYTE_CAPACITY:
            raise ValueError(
                f"byteCapacity must be at least {MIN_BYTE_CAPACITY} bytes, not {byteCapacity!r}"
            )
        dataSize = byteCapacity & ~7
        self.path = path
        self.geometryMismatch = False
        self._closed = True
        self._fd = None
        self._mm = None
        self._open(capacity, dataSize)
        if (self.capacity, self.byteCapacity) != (capacity, dataSize):
            if self._fits(capacity, dataSize):
                try:
                    self._rewrite(capacity, dataSize)
                finally:
                    self._detach()
                self._open(capacity, dataSize)
            else:
                self.geometryMismatch = True

    def __repr__(self):
        return (
            f"<MmapRing {self.path!r} {len(self._entries)}/{self.capacity} entries, "
            f"{self.usedBytes}/{self.byteCapacity} bytes>"
        )

    # Opening

    def _open(self, capacity, dataSize):
        """
        Open, lock, validate, map and scan the file, creating it with the
        given geometry if it does not exist or was never initialised.
        """
        path = self.path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RingLocked(f"{path}: ring file is in use by another process") from None
            fileSize = os.fstat(fd).st_size
            header = os.pread(fd, HEADER_SIZE, 0)
            if not header.strip(b"\0"):
                os.ftruncate(fd, 0)
                _initialize(fd, path, capacity, dataSize)
                fileSize = HEADER_SIZE + dataSize
                header = os.pread(fd, HEADER_SIZE, 0)
            self.capacity, self.byteCapacity = self._readFixed(header, fileSize)
            self._mm = mmap.mmap(fd, fileSize)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._closed = False
        try:
            self._fsyncAll()
            self._recover()
        except BaseException:
            self._detach()
            raise

    def _readFixed(self, header, fileSize):
        path = self.path
        if len(header) < _FIXED_CRC_OFFSET + 4 or header[: len(MAGIC)] != MAGIC:
            raise RingCorrupt(
                f"{path}: not an M-ICE ring file (bad magic {header[: len(MAGIC)]!r})"
            )
        magic, version, headerSize, capacity, dataSize = _FIXED.unpack_from(header)
        if version != FORMAT_VERSION:
            raise RingCorrupt(
                f"{path}: ring file format version {version}; this code reads "
                f"version {FORMAT_VERSION}"
            )
        (crc,) = _U32.unpack_from(header, _FIXED_CRC_OFFSET)
        if crc != zlib.crc32(header[:_FIXED_CRC_OFFSET]):
            raise RingCorrupt(f"{path}: ring file header checksum mismatch")
        if (
            headerSize != HEADER_SIZE
            or capacity < 1
            or dataSize < MIN_BYTE_CAPACITY
            or dataSize % 8
        ):
            raise RingCorrupt(
                f"{path}: invalid geometry in header (header {headerSize} bytes, "
                f"{capacity} entries, {dataSize} data bytes)"
            )
        if fileSize != HEADER_SIZE + dataSize:
            raise RingCorrupt(
                f"{path}: file is {fileSize} bytes but its header says "
                f"{HEADER_SIZE + dataSize} (truncated or extended)"
            )
        return capacity, dataSize

    def _readSlots(self):
        """
        The valid header slot with the highest generation, as
        C{(slot, generation, headOffset, headSeq, headPrevCrc, flags)}.
        """
        best = None
        for slot, offset in enumerate(SLOT_OFFSETS):
            body = self._mm[offset : offset + _SLOT.size]
            (crc,) = _U32.unpack_from(self._mm, offset + _SLOT.size)
            if crc != zlib.crc32(body):
                continue
            generation, headOffset, headSeq, headPrevCrc, flags = _SLOT.unpack(body)
            if headOffset >= self.byteCapacity or headOffset % 8 or headSeq < 1:
                continue
            if best is None or generation > best[1]:
                best = (slot, generation, headOffset, headSeq, headPrevCrc, flags)
        if best is None:
            raise RingCorrupt(f"{self.path}: both header slots are invalid")
        return best

    def _recover(self):
        """
        Find the live entries: follow the chain of records from the release
        point for as long as each record carries the next seq and a valid
        chained crc.
        """
        slot, generation, headOffset, headSeq, headPrevCrc, flags = self._readSlots()
        dataSize = self.byteCapacity
        entries = deque()
        position = headOffset
        seq = headSeq
        crc = headPrevCrc
        with memoryview(self._mm) as view:
            while len(entries) < self.capacity:
                start = self._recordStart(position, headOffset)
                if start is None:
                    break
                length, recordCrc, recordSeq = _RECORD.unpack_from(
                    view, HEADER_SIZE + start % dataSize
                )
                if recordSeq != seq or not self._recordFits(start, length, headOffset):
                    break
                payloadAt = HEADER_SIZE + start % dataSize + RECORD_HEADER_SIZE
                expected = zlib.crc32(
                    view[payloadAt : payloadAt + length], zlib.crc32(_U64.pack(seq), crc)
                )
                if expected != recordCrc:
                    break
                entries.append((seq, start, length, recordCrc, None))
                crc = recordCrc
                seq += 1
                position = start + _recordSize(length)

        self._entries = entries
        self._nextSeq = seq
        self._headL = self._durableHeadL = headOffset
        self._headPrevCrc = headPrevCrc
        self._tailL = self._syncedL = position
        self._tailCrc = crc
        self._generation = generation
        self._durableSlot = slot
        self._headerDirty = False
        self.replayed = len(entries)
        self.discarded = self._countClaimants(position, seq, headOffset)
        if self.discarded or not flags & _CLEAN:
            # What a crashed process wrote after the tail may include intact
            # records; re-appending the same payloads with the same seqs
            # would chain them on again.  Zero all the free space.
            self._zeroFree()
        # Durable before anything is written, so that a crash from now on
        # is known as one at the next open.
        self._writeHeader()
        self._flushHeader()

    def _recordStart(self, position, headL):
        """
        Where a record following C{position} would start (past a wrap marker
        or a too-short end of the data region), or C{None} if there is no
        room for a record header there.
        """
        dataSize = self.byteCapacity
        offset = position % dataSize
        room = dataSize - offset
        if (
            room < RECORD_HEADER_SIZE
            or _U32.unpack_from(self._mm, HEADER_SIZE + offset)[0] == WRAP_MARKER
        ):
            position += room
        if position + RECORD_HEADER_SIZE - headL > dataSize:
            return None
        return position

    def _recordFits(self, start, length, headL):
        dataSize = self.byteCapacity
        return (
            length <= dataSize - start % dataSize - RECORD_HEADER_SIZE
            and start + _recordSize(length) - headL <= dataSize
        )

    def _countClaimants(self, position, seq, headL):
        """
        Count the records after the tail that claim to continue the chain
        (they carry the next seqs) but were not accepted: the torn end of a
        write that was never acknowledged.
        """
        count = 0
        while count < self.capacity:
            start = self._recordStart(position, headL)
            if start is None:
                break
            length, _, recordSeq = _RECORD.unpack_from(
                self._mm, HEADER_SIZE + start % self.byteCapacity
            )
            if recordSeq != seq + count or not self._recordFits(start, length, headL):
                break
            count += 1
            position = start + _recordSize(length)
        return count

    def _zeroFree(self):
        """
        Overwrite the free part of the data region with zeros, through the
        file rather than the mapping so that it does not grow the resident
        set, and make that durable.
        """
        zeros = bytes(min(self.byteCapacity, 1 << 20))
        for start, end in self._physicalRanges(self._tailL, self._headL + self.byteCapacity):
            while start < end:
                start += os.pwrite(self._fd, zeros[: end - start], HEADER_SIZE + start)
        self._fsyncAll()

    def _fits(self, capacity, dataSize):
        total = sum(_recordSize(length) for _, _, length, _, _ in self._entries)
        return len(self._entries) <= capacity and total <= dataSize

    def _rewrite(self, capacity, dataSize):
        """
        Copy the live entries, keeping their seqs, into a new file with the
        given geometry, and put it in place of this one.
        """
        temporary = self.path + ".resize"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _initialize(fd, temporary, capacity, dataSize, headSeq=self._headSeq())
        finally:
            os.close(fd)
        with MmapRing(temporary, capacity, dataSize) as target:
            for _seq, start, length, _, _ in self._entries:
                at = HEADER_SIZE + start % self.byteCapacity + RECORD_HEADER_SIZE
                target.append(self._mm[at : at + length])
        os.rename(temporary, self.path)
        _fsyncDirectory(self.path)

    def _detach(self):
        self._closed = True
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # Flushing; tests override these two to observe what becomes durable.

    def _msync(self, offset, length):
        """
        Make C{[offset, offset + length)} of the file durable.

        CPython's C{mmap.flush} holds the GIL for the whole disk wait, which
        stalls every other thread of the daemon (the database threads above
        all).  On Linux a shared mapping's dirty pages are the file's page
        cache, and C{msync(MS_SYNC)} is a ranged C{fdatasync}: C{fdatasync}
        on the descriptor makes at least the same range durable, and releases
        the GIL while it waits.  Making more durable than asked is safe (see
        docs/ringbuffer.rst: a state newer than the ring believes durable
        only means more replay).
        """
        if _FDATASYNC_COVERS_MMAP:
            _fdatasync(self._fd)
        else:
            self._mm.flush(offset, length)

    def _fsyncAll(self):
        os.fsync(self._fd)

    def _physicalRanges(self, fromL, toL):
        """
        The data offsets C{(start, end)} of the logical range C{[fromL, toL)}.
        """
        dataSize = self.byteCapacity
        if toL <= fromL:
            return []
        if toL - fromL >= dataSize:
            return [(0, dataSize)]
        start = fromL % dataSize
        end = start + toL - fromL
        if end <= dataSize:
            return [(start, end)]
        return [(start, dataSize), (0, end - dataSize)]

    def _flushData(self, fromL, toL):
        for start, end in self._physicalRanges(fromL, toL):
            start += HEADER_SIZE
            aligned = start - start % _GRANULARITY
            self._msync(aligned, HEADER_SIZE + end - aligned)

    def _writeHeader(self, flags=0):
        """
        Record the release point in the slot that does not hold the newest
        durable state, so a torn write of it can only lose states newer than
        that one.
        """
        self._generation += 1
        packed = _packSlot(
            self._generation,
            self._headL % self.byteCapacity,
            self._headSeq(),
            self._headPrevCrc,
            flags,
        )
        offset = SLOT_OFFSETS[1 - self._durableSlot]
        self._mm[offset : offset + len(packed)] = packed
        self._headerDirty = True

    def _flushHeader(self):
        if self._headerDirty:
            self._msync(0, HEADER_SIZE)
            self._durableSlot = 1 - self._durableSlot
            self._durableHeadL = self._headL
            self._headerDirty = False

    def _headSeq(self):
        return self._entries[0][0] if self._entries else self._nextSeq

    # The ring interface

    @property
    def usedBytes(self):
        return self._tailL - self._headL

    def canAppend(self, size):
        """
        Whether a payload of C{size} bytes can be appended now.
        """
        if self._closed or len(self._entries) >= self.capacity:
            return False
        recordSize = _recordSize(size)
        dataSize = self.byteCapacity
        if recordSize > dataSize or size > MAX_PAYLOAD:
            return False
        if not self._entries:
            return True
        room = dataSize - self._tailL % dataSize
        start = self._tailL if recordSize <= room else self._tailL + room
        return start + recordSize - self._headL <= dataSize

    def append(self, payload, obj=None):
        """
        Write an entry at the tail.  It is durable once L{sync} returns.

        Space released since the last L{sync} is reused only after the new
        release point is flushed (which this does when it needs the space):
        until then, a crash could bring back the old release point, and the
        records after it must still be there.

        @raise RingFull: no room, by count or by bytes.
        @raise ValueError: the record would be larger than the whole data
            region, so it would never fit (checked first: waiting would not
            help).
        """
        if self._closed:
            raise ValueError("ring is closed")
        if type(payload) is not bytes:
            payload = bytes(payload)
        length = len(payload)
        recordSize = (length + RECORD_HEADER_SIZE + 7) & ~7
        dataSize = self.byteCapacity
        if recordSize > dataSize or length > MAX_PAYLOAD:
            raise ValueError(
                f"payload of {length} bytes needs a {recordSize}-byte record; the "
                f"ring's data region is {dataSize} bytes"
            )
        entries = self._entries
        if len(entries) >= self.capacity:
            raise RingFull(f"ring full: {len(entries)} of {self.capacity} entries")
        tailL = self._tailL
        offset = tailL % dataSize
        room = dataSize - offset
        start = tailL if recordSize <= room else tailL + room
        if start + recordSize - self._durableHeadL > dataSize:
            start = self._makeRoom(recordSize)
            tailL = self._tailL
        mm = self._mm
        if start != tailL:
            _U32.pack_into(mm, HEADER_SIZE + tailL % dataSize, WRAP_MARKER)
        seq = self._nextSeq
        crc = zlib.crc32(payload, zlib.crc32(_U64.pack(seq), self._tailCrc))
        at = HEADER_SIZE + start % dataSize
        _RECORD.pack_into(mm, at, length, crc, seq)
        at += RECORD_HEADER_SIZE
        mm[at : at + length] = payload
        entries.append((seq, start, length, crc, obj))
        self._nextSeq = seq + 1
        self._tailCrc = crc
        self._tailL = start + recordSize
        return Entry(seq, payload, obj)

    def _makeRoom(self, recordSize):
        """
        Where a record of C{recordSize} bytes goes when it does not fit in the
        space free since the last durable release point: flush the release
        point, or, if the ring is empty, move head and tail to the start of
        the data region.

        @raise RingFull: neither helps.
        """
        dataSize = self.byteCapacity
        self._flushHeader()
        tailL = self._tailL
        room = dataSize - tailL % dataSize
        start = tailL if recordSize <= room else tailL + room
        if start + recordSize - self._durableHeadL <= dataSize:
            return start
        if not self._entries:
            # A wrap marker would lie inside the record: move head and tail
            # to the start instead, from a fully synced state.  The header
            # is flushed at once so the durable release point follows.
            self.sync()
            self._headL = self._tailL = self._syncedL = tailL + room
            self._writeHeader()
            self._flushHeader()
            return self._tailL
        raise RingFull(
            f"ring full: a {recordSize}-byte record does not fit, {self.usedBytes} of "
            f"{dataSize} bytes in use"
        )

    def peek(self, maxEntries=None, maxBytes=None):
        """
        The oldest unreleased entries, oldest first: at most C{maxEntries} of
        them, holding at most C{maxBytes} payload bytes, but always at least
        one if there is any.  Each payload is copied out of the file once.
        """
        _checkLimits(maxEntries, maxBytes)
        if self._closed:
            raise ValueError("ring is closed")
        mm = self._mm
        dataSize = self.byteCapacity
        result = []
        total = 0
        for seq, start, length, _, obj in islice(self._entries, maxEntries):
            total += length
            if maxBytes is not None and result and total > maxBytes:
                break
            at = HEADER_SIZE + start % dataSize + RECORD_HEADER_SIZE
            result.append(Entry(seq, mm[at : at + length], obj))
        return result

    def release(self, upToSeq):
        """
        Drop every entry whose seq is at most C{upToSeq} and record the new
        release point in the header (made durable by the next L{sync}; until
        then a crash may replay the released entries again, which the stores
        tolerate).  Releasing what is already released does nothing.

        @raise ValueError: C{upToSeq} is beyond the last entry appended.
        """
        if upToSeq >= self._nextSeq:
            raise ValueError(
                f"cannot release up to seq {upToSeq}: the last entry appended is "
                f"seq {self._nextSeq - 1}"
            )
        if self._closed:
            raise ValueError("ring is closed")
        entries = self._entries
        if not entries or entries[0][0] > upToSeq:
            return
        while entries and entries[0][0] <= upToSeq:
            last = entries.popleft()
        self._headPrevCrc = last[3]
        self._headL = entries[0][1] if entries else self._tailL
        self._writeHeader()

    def sync(self):
        """
        Make everything appended and released so far durable: msync the data
        written since the last sync, then the header page.
        """
        if self._closed:
            raise ValueError("ring is closed")
        if self._tailL != self._syncedL:
            self._flushData(self._syncedL, self._tailL)
            self._syncedL = self._tailL
        self._flushHeader()

    def close(self):
        """
        Sync, mark the file as closed cleanly, unmap and unlock.  Closing
        twice does nothing.
        """
        if self._closed:
            return
        try:
            self.sync()
            self._writeHeader(_CLEAN)
            self._flushHeader()
        finally:
            self._detach()


DEFAULT_MM_BYTES = 64 * 1024 * 1024


def openRing(mmPath, mmSize, mmBytes, rbSize):
    """
    The ring a BufferDaemon's settings ask for: an L{MmapRing} of C{mmSize}
    entries and C{mmBytes} data bytes (L{DEFAULT_MM_BYTES} when 0 or C{None})
    at C{mmPath} when C{mmSize} is positive, else a L{MemoryRing} of
    C{rbSize} entries.

    @raise ValueError: both sizes are 0, or C{mmSize} is set without a path.
    """
    if mmSize and mmSize > 0:
        if not mmPath:
            raise ValueError("MMSIZE is set but MMPATH is empty")
        return MmapRing(mmPath, mmSize, mmBytes or DEFAULT_MM_BYTES)
    if rbSize and rbSize > 0:
        return MemoryRing(rbSize)
    raise ValueError("no ring buffer configured: MMSIZE and RBSIZE are both 0")
