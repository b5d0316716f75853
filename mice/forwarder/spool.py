# -*- test-case-name: tests.unit.forwarder.test_spool -*-
"""
The forwarder's spool: an ordered FIFO of opaque items (encoded batches) that
wait for a server, held in memory up to a bound and then on disk up to another.

Pure: no reactor, no clock.  The caller decides when to L{Spool.sync} and what
to do when L{Spool.push} raises L{SpoolFull}; nothing is ever dropped
silently (L{Spool.pushOrDrop} counts what it drops).

Items in the memory tier are lost when the process dies, by design: the caller
persists file offsets only for acknowledged lines, so lines that were only in
memory are read again from their log file after a restart.  Only the disk tier
comes back when a spool is opened again.

Disk format (see C{docs/spool.rst}): segment files C{spool-<16 digits>.seg},
each a sequence of records C{[u32 length][u32 crc32][payload]} (big-endian),
and a C{position} file (replaced atomically) naming the segment and offset of
the oldest unconsumed record.
"""

import os
import re
import struct
import zlib
from collections import deque
from dataclasses import dataclass, field

_HEADER = struct.Struct(">II")
_SEGMENT_NAME = re.compile(r"^spool-(\d{16})\.seg$")
POSITION_NAME = "position"


class SpoolFull(Exception):
    """
    The disk tier cannot take this item without exceeding its bound.
    """


def segmentName(seq):
    return "spool-%016d.seg" % (seq,)


@dataclass(eq=False)
class _Segment:
    """
    One segment file still holding unconsumed records.

    @ivar readOffset: where the oldest unconsumed record starts.
    @ivar end: where valid records end (the file size, unless a corrupt
        record was found there when the spool was opened).
    @ivar size: bytes the file occupies on disk.
    @ivar records: unconsumed records.
    @ivar fd: the file, while it is open for reading.
    """

    seq: int
    path: str
    readOffset: int
    end: int
    size: int
    records: int
    fd: int | None = field(default=None, init=False)

    def open(self):
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDONLY)
        return self.fd

    def closeFd(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _preadExactly(fd, size, offset):
    chunks = []
    while size:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _writeAll(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsyncDirectory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """
    A FIFO of C{bytes} items: memory first, then disk.

    An item goes to memory while no item is on disk and the memory tier
    would still hold at most C{memoryBytes} with it; otherwise it is appended
    to the current disk segment.  Once anything is on disk, new items go to
    disk too, so the memory tier always holds the oldest items.

    @ivar memoryLimit: the memory tier's bound, in payload bytes.
    @ivar diskLimit: the disk tier's bound, in bytes of segment files
        (headers included; a partly consumed segment counts whole until
        it is fully consumed and deleted).
    @ivar dropped: items refused by L{pushOrDrop}.
    @ivar droppedBytes: their payload bytes.
    @ivar corrupt: corrupt or torn records found when opening.
    @ivar problems: one message per corrupt record found, for the log.
    """

    def __init__(self, directory, memoryBytes, diskBytes, segmentBytes=4 * 2**20):
        if memoryBytes < 0 or diskBytes < 0 or segmentBytes < 1:
            raise ValueError("spool bounds must be positive")
        self.directory = directory
        self.memoryLimit = memoryBytes
        self.diskLimit = diskBytes
        self.segmentBytes = segmentBytes
        self.dropped = 0
        self.droppedBytes = 0
        self.corrupt = 0
        self.problems = []
        self._memory = deque()
        self._memoryBytes = 0
        self._segments = deque()
        self._diskRecords = 0
        self._diskBytes = 0
        self._writeFd = None
        self._writing = None
        self._unsyncedDirectory = False
        self._closed = False
        os.makedirs(directory, exist_ok=True)
        self._recover()

    # Sizes

    def __len__(self):
        return len(self._memory) + self._diskRecords

    @property
    def memoryBytes(self):
        """
        Payload bytes held in memory.
        """
        return self._memoryBytes

    @property
    def diskBytes(self):
        """
        Bytes of segment files held on disk.
        """
        return self._diskBytes

    @property
    def memoryItems(self):
        return len(self._memory)

    @property
    def diskItems(self):
        return self._diskRecords

    # Adding

    def push(self, item):
        """
        Append C{item}.

        @raise SpoolFull: it belongs on disk and would take the disk tier
            past C{diskBytes}; nothing was stored.
        """
        self._checkOpen()
        item = bytes(item)
        if not self._diskRecords and self._memoryBytes + len(item) <= self.memoryLimit:
            self._memory.append(item)
            self._memoryBytes += len(item)
            return
        recordSize = _HEADER.size + len(item)
        if self._diskBytes + recordSize > self.diskLimit:
            raise SpoolFull(
                "spool full: %d bytes on disk, bound %d, item of %d bytes"
                % (self._diskBytes, self.diskLimit, len(item)))
        self._append(item)

    def pushOrDrop(self, item):
        """
        Like L{push}, but count a refused item in C{dropped} and
        C{droppedBytes} instead of raising.

        @return: C{True} if the item was spooled, C{False} if dropped.
        """
        try:
            self.push(item)
        except SpoolFull:
            self.dropped += 1
            self.droppedBytes += len(item)
            return False
        return True

    def _append(self, item):
        recordSize = _HEADER.size + len(item)
        segment = self._writing
        if segment is not None and segment.size and segment.size + recordSize > self.segmentBytes:
            self._finishWriting()
            segment = None
        if segment is None:
            segment = self._startSegment()
        _writeAll(self._writeFd,
                  _HEADER.pack(len(item), zlib.crc32(item)) + item)
        segment.size += recordSize
        segment.end = segment.size
        segment.records += 1
        self._diskBytes += recordSize
        self._diskRecords += 1

    def _startSegment(self):
        seq = self._nextSeq
        self._nextSeq += 1
        path = os.path.join(self.directory, segmentName(seq))
        self._writeFd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        segment = _Segment(seq, path, 0, 0, 0, 0)
        self._segments.append(segment)
        self._writing = segment
        self._unsyncedDirectory = True
        return segment

    def _finishWriting(self):
        if self._writeFd is not None:
            os.close(self._writeFd)
            self._writeFd = None
        self._writing = None

    # Taking

    def peek(self, n):
        """
        @return: the oldest C{n} items (fewer if the spool holds fewer),
            without removing them.  Only those records are read from disk.
        """
        self._checkOpen()
        items = []
        for item in self._memory:
            if len(items) >= n:
                return items
            items.append(item)
        for segment in self._segments:
            if len(items) >= n:
                break
            temporary = segment.fd is None and segment is not self._segments[0]
            fd = segment.open()
            try:
                offset = segment.readOffset
                for _ in range(min(segment.records, n - len(items))):
                    payload, offset = self._readRecord(segment, fd, offset)
                    items.append(payload)
            finally:
                if temporary:
                    segment.closeFd()
        return items

    def pop(self, n):
        """
        Remove the oldest C{n} items (those the server acknowledged).
        Segments fully consumed are deleted, after the new read position is
        on disk.
        """
        self._checkOpen()
        if n > len(self):
            raise ValueError("cannot pop %d items from a spool of %d" % (n, len(self)))
        while n and self._memory:
            self._memoryBytes -= len(self._memory.popleft())
            n -= 1
        if not n:
            return
        finished = []
        while n:
            segment = self._segments[0]
            take = min(n, segment.records)
            fd = segment.open()
            offset = segment.readOffset
            for _ in range(take):
                length, _crc = _HEADER.unpack(_preadExactly(fd, _HEADER.size, offset))
                offset += _HEADER.size + length
            segment.readOffset = offset
            segment.records -= take
            self._diskRecords -= take
            n -= take
            if not segment.records:
                self._segments.popleft()
                finished.append(segment)
        if self._segments:
            head = self._segments[0]
            self._writePosition(head.seq, head.readOffset)
        else:
            self._finishWriting()
            self._writePosition(self._nextSeq, 0)
        for segment in finished:
            segment.closeFd()
            os.unlink(segment.path)
            self._diskBytes -= segment.size

    def _readRecord(self, segment, fd, offset):
        header = _preadExactly(fd, _HEADER.size, offset)
        length, _crc = _HEADER.unpack(header)
        payload = _preadExactly(fd, length, offset + _HEADER.size)
        if len(payload) != length:
            raise OSError("spool segment %s shrank under us at offset %d"
                          % (segment.path, offset))
        return payload, offset + _HEADER.size + length

    # Durability

    def sync(self):
        """
        fsync the segment being written (and the directory, if segments
        were created since the last sync).
        """
        self._checkOpen()
        if self._writeFd is not None:
            os.fsync(self._writeFd)
        if self._unsyncedDirectory:
            _fsyncDirectory(self.directory)
            self._unsyncedDirectory = False

    def close(self):
        """
        Close the files.  Items in memory are forgotten; disk items stay for
        the next L{Spool} opened on this directory.
        """
        if self._closed:
            return
        self._finishWriting()
        for segment in self._segments:
            segment.closeFd()
        self._closed = True

    def _checkOpen(self):
        if self._closed:
            raise ValueError("spool is closed")

    def _positionPath(self):
        return os.path.join(self.directory, POSITION_NAME)

    def _writePosition(self, seq, offset):
        path = self._positionPath()
        temporary = path + ".tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _writeAll(fd, b"%d %d\n" % (seq, offset))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        _fsyncDirectory(self.directory)
        self._unsyncedDirectory = False

    def _readPosition(self):
        try:
            with open(self._positionPath(), "rb") as f:
                text = f.read()
        except FileNotFoundError:
            return 0, 0
        try:
            seq, offset = (int(field) for field in text.split())
            if seq < 0 or offset < 0:
                raise ValueError(text)
        except ValueError:
            self.problems.append(
                "%s: unreadable read position %r; replaying every segment"
                % (self._positionPath(), text[:40]))
            return 0, 0
        return seq, offset

    # Opening

    def _recover(self):
        positionSeq, positionOffset = self._readPosition()
        found = []
        for name in os.listdir(self.directory):
            match = _SEGMENT_NAME.match(name)
            if match:
                found.append(int(match.group(1)))
        found.sort()
        self._nextSeq = max([positionSeq] + [seq + 1 for seq in found])
        for seq in found:
            path = os.path.join(self.directory, segmentName(seq))
            if seq < positionSeq:
                # Consumed; the process died before deleting it.
                os.unlink(path)
                continue
            start = positionOffset if seq == positionSeq else 0
            segment = self._scan(seq, path, start, isLast=seq == found[-1])
            if segment.records:
                self._segments.append(segment)
                self._diskRecords += segment.records
                self._diskBytes += segment.size
            else:
                os.unlink(path)

    def _scan(self, seq, path, start, isLast):
        """
        Count and verify the records of one segment from C{start}.  The
        first bad record ends the segment: a torn tail of the last segment
        (the writer died mid-record) is truncated away; anything else is
        left in place and skipped.  Either way it is counted.
        """
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if start > size:
                self.problems.append(
                    "%s: read position %d beyond the end (%d); segment skipped"
                    % (path, start, size))
                self.corrupt += 1
                return _Segment(seq, path, size, size, size, 0)
            offset = start
            records = 0
            f.seek(offset)
            while offset < size:
                header = f.read(_HEADER.size)
                problem = None
                if len(header) < _HEADER.size:
                    problem = "torn record header"
                    atTail = True
                else:
                    length, crc = _HEADER.unpack(header)
                    recordEnd = offset + _HEADER.size + length
                    if recordEnd > size:
                        problem = "record of %d bytes runs past the end" % (length,)
                        atTail = True
                    else:
                        crcSoFar = 0
                        remaining = length
                        while remaining:
                            chunk = f.read(min(remaining, 2**20))
                            crcSoFar = zlib.crc32(chunk, crcSoFar)
                            remaining -= len(chunk)
                        if crcSoFar != crc:
                            problem = "checksum mismatch in a record of %d bytes" % (length,)
                            atTail = recordEnd == size
                if problem is None:
                    offset = recordEnd
                    records += 1
                    continue
                self.corrupt += 1
                if isLast and atTail:
                    self.problems.append(
                        "%s: offset %d: %s (torn tail, %d bytes discarded)"
                        % (path, offset, problem, size - offset))
                    os.truncate(path, offset)
                    size = offset
                else:
                    self.problems.append(
                        "%s: offset %d: %s; skipped the rest of the segment "
                        "(%d bytes, records in it are lost)"
                        % (path, offset, problem, size - offset))
                break
        return _Segment(seq, path, start, offset, size, records)
