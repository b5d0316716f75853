# -*- test-case-name: tests.unit.forwarder.test_tailer -*-
"""
Follow one log file path through appends, rotations, truncations and tampering.

A L{Follower} is what the DataForwarder's polling service asks, every
SLEEPINV seconds, "what is new in this file?".  It hands out complete lines,
numbered by a per-path sequence that keeps increasing across rotations, and
L{Event}s for everything unusual (rotation, copytruncate, recreation, tamper,
missing file, overlong line).  L{OffsetStore} persists the L{Position}s that
the server has acknowledged so that a restart resumes exactly there.

This module is pure: no reactor, no clock, no sleeping: the caller passes
the time to L{Follower.poll}.  All file access goes through a small C{fs}
object (L{OSFileSystem} by default) so that a test may replace it.  The rules
are described in C{docs/tailer.rst}.
"""

import errno
import glob
import hashlib
import json
import os
import stat
import tempfile
from functools import partial
from itertools import accumulate, islice, repeat
from typing import NamedTuple

__all__ = [
    "FINGERPRINT_SIZE",
    "ROTATE_GRACE",
    "Event",
    "FileIdentity",
    "Follower",
    "Line",
    "OSFileSystem",
    "OffsetStore",
    "Position",
    "StreamFollower",
    "isStream",
    "startOf",
]

FINGERPRINT_SIZE = 1024
"""
The fingerprint of a file covers at most this many of its first bytes.
"""

ROTATE_GRACE = 5.0
"""
The default grace period, in seconds: a file rotated away (renamed or
deleted) is read on until it has been idle this long and a newer file has
data, since the writer may go on appending to it until it reopens the path.
"""

_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip")


class FileIdentity(NamedTuple):
    device: int
    inode: int
    fingerprint: bytes
    """
    SHA-256 of the file's first C{min(offset, FINGERPRINT_SIZE)} bytes, where
    C{offset} is the offset the identity was taken at (the end of the content
    handed out so far); so a L{Position} carries what is needed to check it.
    """


class Position(NamedTuple):
    identity: FileIdentity | None
    offset: int
    """
    The byte offset just after the last complete line handed out.
    """
    seq: int
    """
    The number of lines handed out so far from this path's stream, across
    rotations; also the C{seq} of the last line handed out.
    """


class Line(NamedTuple):
    seq: int
    """
    1 for the first line of the path's stream, then one more per line.
    """
    data: bytes
    """
    The line without its newline, at most C{maxLine} bytes.
    """
    endOffset: int
    """
    The offset just after this line (and its newline) in the file it came from.
    """
    identity: FileIdentity


class Event(NamedTuple):
    kind: str
    """
    One of C{appeared}, C{rotated}, C{truncated}, C{recreated}, C{tamper},
    C{missing}, C{missing-directory} (the path's directory does not exist
    either), C{overlong}.
    """
    message: str


_newLine = partial(tuple.__new__, Line)
_plusOne = (1).__add__


def _fingerprint(head):
    return hashlib.sha256(head[:FINGERPRINT_SIZE]).digest()


def startOf(line):
    """
    The L{Position} before C{line}, the first line of its path's stream:
    offset 0 of the file it came from.
    """
    return Position(line.identity._replace(fingerprint=_fingerprint(b"")), 0, line.seq - 1)


class OSFileSystem:
    """
    The file access a L{Follower} needs, done with the C{os} module.
    """

    def stat(self, path):
        """
        @raise FileNotFoundError: when C{path} does not exist.
        """
        return os.stat(path)

    def isDirectory(self, path):
        return os.path.isdir(path)

    def open(self, path):
        return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def fstat(self, fd):
        return os.fstat(fd)

    def pread(self, fd, size, offset):
        return os.pread(fd, size, offset)

    def close(self, fd):
        os.close(fd)

    def rotatedNames(self, path):
        """
        The names a rotated-away copy of C{path} usually has: C{path.0},
        C{path.1} and C{path-*} (dateext), compressed ones left out.
        """
        names = [path + ".1", path + ".0"]
        names.extend(sorted(glob.glob(glob.escape(path) + "-*"), reverse=True))
        return [n for n in names if not n.endswith(_COMPRESSED_SUFFIXES)]


class _Stream:
    """
    One open file being read: the lines of the path come from a queue of these.

    Invariant: C{readOffset == lineStart + pendingLength}, and C{head} holds the
    file's bytes C{[0:min(readOffset, FINGERPRINT_SIZE)]}.

    @ivar lingers: the file was rotated away by rename or deletion, and its
        writer may still append to it: it is closed only after the grace
        period (a copytruncate copy, which nobody writes to, does not linger).
    @ivar lastData: when the last poll that read data from it ran (C{None}
        before the first poll since it was rotated away).
    """

    lingers = False
    lastData = None

    def __init__(self, fs, fd, st, offset, head):
        self.fs = fs
        self.fd = fd
        self.device = st.st_dev
        self.inode = st.st_ino
        self.lineStart = offset
        self.readOffset = offset
        self.pending = bytearray()
        self.pendingLength = 0
        self.head = head
        self._fullIdentity = None

    def sameFile(self, st):
        return (st.st_dev, st.st_ino) == (self.device, self.inode)

    def identityAt(self, offset):
        if offset >= FINGERPRINT_SIZE and len(self.head) >= FINGERPRINT_SIZE:
            if self._fullIdentity is None:
                self._fullIdentity = FileIdentity(
                    self.device, self.inode, _fingerprint(self.head)
                )
            return self._fullIdentity
        return FileIdentity(self.device, self.inode, _fingerprint(self.head[:offset]))

    def position(self, seq):
        return Position(self.identityAt(self.lineStart), self.lineStart, seq)

    def readHead(self, size):
        return self.fs.pread(self.fd, min(size, FINGERPRINT_SIZE), 0)

    def restartAt(self, offset):
        """
        Forget pending bytes and read on from C{offset}.
        """
        self.lineStart = self.readOffset = offset
        self.pending = bytearray()
        self.pendingLength = 0
        self.head = self.readHead(offset)
        self._fullIdentity = None

    def close(self):
        if self.fd is not None:
            self.fs.close(self.fd)
            self.fd = None


class Follower:
    """
    Follow the log file at one path.

    A file rotated away by rename or deletion stays open and is read on
    through its descriptor, before the newer files, until it has been idle
    for C{grace} seconds and a newer file has data; a copytruncate copy is
    closed as soon as it is read to its end.

    @ivar path: the followed path.
    @ivar grace: the grace period, in seconds.
    """

    def __init__(self, path, position=None, maxLine=65536, readSize=1 << 20, fs=None,
                 grace=ROTATE_GRACE):
        if maxLine < 1 or readSize < 1:
            raise ValueError("maxLine and readSize must be at least 1")
        if not grace >= 0:
            raise ValueError("grace must be a number of seconds, at least 0")
        self.path = path
        self.maxLine = maxLine
        self.readSize = readSize
        self.grace = grace
        self._fs = OSFileSystem() if fs is None else fs
        self._stored = position
        self._started = False
        self._seq = 0 if position is None else position.seq
        self._last = position if position is not None else Position(None, 0, 0)
        self._draining = []
        self._current = None
        self._everOpened = False
        self._missingReported = False
        self._lastStream = None

    # -- public -----------------------------------------------------------

    @property
    def position(self):
        """
        Where the next line starts: the L{Position} to persist once everything
        handed out so far is acknowledged.

        It is in the file of the last line handed out while that file is
        open (the older files were read to their end before it), else in
        the oldest open file.
        """
        stream = self._lastStream
        if stream is None or stream.fd is None:
            streams = self._streams()
            stream = streams[0] if streams else None
        if stream is not None:
            return stream.position(self._seq)
        return self._last._replace(seq=self._seq)

    def positionAfter(self, line):
        """
        The L{Position} to persist once C{line} and every line before it are
        acknowledged.
        """
        return Position(line.identity, line.endOffset, line.seq)

    def poll(self, now=None):
        """
        Read what is new, at most C{readSize} bytes: the files rotated away,
        oldest first, then the path's file; a file is read only once every
        older one is read to its end.

        @param now: the time, in seconds (any origin, never going back);
            C{None} takes the grace period as over.
        @return: C{(lines, events)}, the complete lines in order and the
            events noticed on the way.
        """
        lines, events = [], []
        if not self._started:
            self._started = True
            self._start(lines, events)
        else:
            self._checkPath(lines, events)
        budget = self.readSize
        older = []
        for stream in list(self._draining):
            if stream.lastData is None:
                stream.lastData = now
            budget, atEnd = self._readAfter(older, stream, budget, now, lines, events)
            if not atEnd:
                return lines, events
            if stream is self._draining[0] and self._done(stream, now):
                self._finish(stream, lines, events)
                self._draining.pop(0)
            else:
                older.append(stream)
        if self._current is not None and budget > 0:
            self._readAfter(older, self._current, budget, now, lines, events)
        return lines, events

    def watch(self):
        """
        Notice a rotation, recreation or copytruncate of the path without
        reading: for a caller that cannot take lines now.  The file the path
        names is opened, so a second rotation before the next L{poll} loses
        nothing.

        @return: C{(lines, events)}; C{lines} holds at most the partial last
            line of a file truncated with no copy found.
        """
        lines, events = [], []
        if self._started:
            self._checkPath(lines, events)
        return lines, events

    def close(self):
        for stream in self._streams():
            stream.close()
        self._draining = []
        self._current = None

    # -- files rotated away -----------------------------------------------

    def _retire(self, stream, lingers=True):
        """
        C{stream} is no longer the path's file (or is a copytruncate copy):
        read it after the older ones, before the path's file.
        """
        stream.lingers = lingers
        stream.lastData = None
        self._draining.append(stream)

    def _readAfter(self, older, stream, budget, now, lines, events):
        """
        Read C{stream}, the files C{older} than it being read to their end.
        If it has grown, their partial last lines are handed out first, as
        lines of their own: the writer has moved on, and once a line of
        C{stream} is handed out a restart resumes in C{stream}.
        """
        if older and self._fs.fstat(stream.fd).st_size > stream.readOffset:
            for old in older:
                self._flushPartial(old, lines, events)
        before = stream.readOffset
        budget, atEnd = self._read(stream, budget, lines, events)
        if stream.readOffset > before:
            stream.lastData = now
        return budget, atEnd

    def _done(self, stream, now):
        """
        Whether C{stream}, the oldest file rotated away, read to its end, may
        be closed: a copy at once; a file its writer may still append to
        once it has been idle for the grace period and a newer file has data
        (the writer has reopened the path).
        """
        if not stream.lingers:
            return True
        if now is not None and now - stream.lastData < self.grace:
            return False
        newer = self._draining[1:] + ([self._current] if self._current is not None else [])
        return any(self._fs.fstat(other.fd).st_size > 0 for other in newer)

    # -- opening ----------------------------------------------------------

    def _streams(self):
        return self._draining + ([self._current] if self._current is not None else [])

    def _stat(self, path):
        try:
            return self._fs.stat(path)
        except FileNotFoundError:
            return None

    def _open(self, path, offset=0):
        """
        Open C{path} as a stream read from C{offset}; C{None} if it is gone.
        """
        try:
            fd = self._fs.open(path)
        except FileNotFoundError:
            return None
        st = self._fs.fstat(fd)
        stream = _Stream(self._fs, fd, st, offset, b"")
        stream.head = stream.readHead(offset)
        self._everOpened = True
        return stream

    def _matches(self, identity, offset, path):
        """
        Open C{path} if it is the file of C{identity} and at least C{offset}
        long: same device and inode, and the same first bytes.
        """
        st = self._stat(path)
        if st is None or (st.st_dev, st.st_ino) != identity[:2] or st.st_size < offset:
            return None
        stream = self._open(path, offset)
        if stream is None:
            return None
        if stream.sameFile(st) and _fingerprint(stream.head) == identity.fingerprint:
            return stream
        stream.close()
        return None

    def _findCopy(self, head, offset, excludeInode):
        """
        Look among the rotation names for a copy of the file whose first bytes
        are C{head} and that holds at least C{offset} bytes (what copytruncate
        leaves); open it at C{offset}.
        """
        return self._findRotated(
            offset, excludeInode, lambda stream: stream.head == head[:FINGERPRINT_SIZE])

    def _findRotated(self, offset, excludeInode, matches):
        """
        Open, at C{offset}, the first file under the rotation names (other
        than inode C{excludeInode}, and at least C{offset} bytes long) whose
        open stream C{matches}.

        @return: C{(name, stream)}, or C{(None, None)}.
        """
        for name in self._fs.rotatedNames(self.path):
            st = self._stat(name)
            if st is None or st.st_ino == excludeInode or st.st_size < offset:
                continue
            stream = self._open(name, offset)
            if stream is None:
                continue
            if matches(stream):
                return name, stream
            stream.close()
        return None, None

    def _start(self, lines, events):
        """
        The first poll: resume from the stored position if there is one.
        """
        stored = self._stored
        if stored is None or stored.identity is None:
            self._checkPath(lines, events)
            return
        identity, offset = stored.identity, stored.offset
        st = self._stat(self.path)
        if st is not None and (st.st_dev, st.st_ino) == identity[:2]:
            stream = self._open(self.path, 0)
            if stream is None:
                self._checkPath(lines, events)
                return
            self._everOpened = True
            head = stream.readHead(offset)
            size = self._fs.fstat(stream.fd).st_size
            fingerprintOk = (
                len(head) == min(offset, FINGERPRINT_SIZE)
                and _fingerprint(head) == identity.fingerprint
            )
            if fingerprintOk and size >= offset:
                stream.restartAt(offset)
                self._current = stream
                return
            self._current = stream
            stream.restartAt(0)
            self._sameInodeChanged(
                stream, identity, offset, size, fingerprintOk, lines, events
            )
            return
        for name in self._fs.rotatedNames(self.path):
            old = self._matches(identity, offset, name)
            if old is not None:
                self._retire(old)
                events.append(Event(
                    "rotated",
                    f"{self.path} was rotated while stopped; finishing {name} "
                    f"from offset {offset}",
                ))
                break
        else:
            if st is not None or identity is not None:
                events.append(Event(
                    "rotated",
                    f"{self.path}: the file of the stored position (inode "
                    f"{identity.inode}, offset {offset}) was not found; lines "
                    f"written to it after that offset are lost; reading "
                    f"{self.path} from 0",
                ))
        self._checkPath(lines, events, quiet=True)

    def _sameInodeChanged(self, stream, identity, offset, size, fingerprintOk, lines, events):
        """
        After a restart, the path's file is the stored one but it is shorter
        than the stored offset or its first bytes changed.
        """
        name, copy = self._findCopyByIdentity(identity, offset, stream.inode)
        if copy is not None:
            self._retire(copy, lingers=False)
            events.append(Event(
                "truncated",
                f"{self.path} was truncated while stopped (copytruncate); "
                f"finishing the copy {name} from offset {offset}, then "
                f"{self.path} from 0",
            ))
        elif size < offset and not fingerprintOk:
            events.append(Event(
                "truncated",
                f"{self.path} was truncated while stopped (size {size} < offset "
                f"{offset}) and no copy was found; reading it from 0",
            ))
        else:
            stream.restartAt(size)
            events.append(Event(
                "tamper",
                f"Logfile inconsistency: {self.path} "
                + (f"shrank from {offset} to {size} bytes" if size < offset
                   else "no longer has the content already shipped")
                + f" while stopped; continuing from its end at offset {size}",
            ))

    def _findCopyByIdentity(self, identity, offset, excludeInode):
        return self._findRotated(
            offset, excludeInode,
            lambda stream: (len(stream.head) == min(offset, FINGERPRINT_SIZE)
                            and _fingerprint(stream.head) == identity.fingerprint))

    # -- watching the path ------------------------------------------------

    def _checkPath(self, lines, events, quiet=False):
        st = self._stat(self.path)
        current = self._current
        if st is None:
            if current is not None:
                self._retire(current)
                self._current = None
            if not self._missingReported:
                self._missingReported = True
                events.append(self._missing())
            return
        if current is not None and current.sameFile(st):
            self._checkSameFile(current, st, lines, events)
            return
        if current is None and self._draining and self._draining[-1].sameFile(st):
            # Moved away and back: the same file, go on reading it.
            self._current = self._draining.pop()
            self._missingReported = False
            return
        new = self._open(self.path, 0)
        if new is None:
            return
        if current is not None:
            self._retire(current)
            deleted = self._fs.fstat(current.fd).st_nlink == 0
            kind = "recreated" if deleted else "rotated"
            events.append(Event(
                kind,
                f"{self.path} was {'deleted and recreated' if deleted else 'rotated'}; "
                f"reading the old file (inode {current.inode}) on until it has been idle "
                f"for {self.grace:g} s, and the new one (inode {new.inode}) from 0",
            ))
        elif self._missingReported and not quiet:
            kind = "recreated" if self._hadFile else "appeared"
            events.append(Event(kind, f"{self.path} appeared (inode {new.inode}); reading from 0"))
        self._hadFile = True
        self._missingReported = False
        self._current = new

    _hadFile = False

    def _missing(self):
        """
        The event for a path that does not exist: in plain words when its
        very directory is missing (a typo in FILE, a package not installed).
        """
        directory = os.path.dirname(self.path) or os.curdir
        isDirectory = getattr(self._fs, "isDirectory", None)
        if isDirectory is not None and not isDirectory(directory):
            return Event("missing-directory",
                         f"{self.path} does not exist: its directory {directory} does not exist"
                         " either (is FILE right?); it is followed once it appears")
        return Event("missing", f"{self.path} does not exist")

    def _checkSameFile(self, stream, st, lines, events):
        """
        The path still names the file being read: check it did not shrink and
        that its first bytes are those already read.
        """
        self._hadFile = True
        size = st.st_size
        expected = stream.head
        actual = stream.readHead(min(size, len(expected)))
        if size >= stream.readOffset and actual == expected:
            return
        name, copy = self._findCopy(expected, stream.readOffset, stream.inode)
        if copy is not None:
            self._truncated(stream, lines, events, copy, name)
            return
        common = min(len(actual), len(expected))
        prefixKept = common > 0 and actual[:common] == expected[:common]
        if size < stream.readOffset and not prefixKept:
            self._truncated(stream, lines, events, None, None)
            return
        skipped = stream.pendingLength
        what = (
            f"shrank from {stream.readOffset} to {size} bytes" if size < stream.readOffset
            else "has changed content already shipped (fingerprint mismatch)"
        )
        stream.restartAt(size)
        events.append(Event(
            "tamper",
            f"Logfile inconsistency: {self.path} {what}; not re-reading it, "
            f"continuing from its end at offset {size}"
            + (f" ({skipped} bytes of a partial line dropped)" if skipped else ""),
        ))

    def _truncated(self, stream, lines, events, copy, name):
        """
        copytruncate: finish what was read (and the copy, if found), then
        read the file from 0.
        """
        if copy is not None:
            copy.lineStart = stream.lineStart
            copy.pending, copy.pendingLength = stream.pending, stream.pendingLength
            self._retire(copy, lingers=False)
            self._lastStream = copy
            how = f"finishing the copy {name} from offset {copy.readOffset}"
        else:
            self._flushPartial(stream, lines, events)
            how = "no copy found, lines written just before the truncation may be lost"
        stream.restartAt(0)
        events.append(Event(
            "truncated", f"{self.path} was truncated (copytruncate); {how}; reading it from 0"
        ))

    # -- reading ----------------------------------------------------------

    def _read(self, stream, budget, lines, events):
        """
        Read up to C{budget} bytes of C{stream}, handing out complete lines.

        @return: the budget left and whether the end of the file was reached.
        """
        data = self._fs.pread(stream.fd, budget, stream.readOffset)
        if stream.readOffset < FINGERPRINT_SIZE:
            stream.head += data[: FINGERPRINT_SIZE - stream.readOffset]
        stream.readOffset += len(data)
        pieces = data.split(b"\n")
        unfinished = pieces.pop()
        first = 0
        # One line at a time: the end of a line begun in the last read, and
        # the lines of the first FINGERPRINT_SIZE bytes (each has its own
        # identity).
        while first < len(pieces) and (stream.pendingLength or stream.lineStart < FINGERPRINT_SIZE
                                       or len(stream.head) < FINGERPRINT_SIZE):
            self._addPiece(stream, pieces[first])
            self._emit(stream, stream.lineStart + stream.pendingLength + 1, lines, events)
            first += 1
        if first < len(pieces):
            self._emitWhole(stream, pieces[first:] if first else pieces, lines, events)
        self._addPiece(stream, unfinished)
        return budget - len(data), len(data) < budget

    def _emitWhole(self, stream, pieces, lines, events):
        """
        Hand out C{pieces}, whole lines past the first FINGERPRINT_SIZE
        bytes, with nothing pending before them: all of one identity, so
        their L{Line}s are built without a Python call per line.
        """
        if max(map(len, pieces)) > self.maxLine:
            for piece in pieces:
                self._addPiece(stream, piece)
                self._emit(stream, stream.lineStart + stream.pendingLength + 1, lines, events)
            return
        seq, count = self._seq, len(pieces)
        ends = list(accumulate(map(_plusOne, map(len, pieces)), initial=stream.lineStart))
        lines.extend(map(_newLine, zip(range(seq + 1, seq + 1 + count), pieces,
                                       islice(ends, 1, None),
                                       repeat(stream.identityAt(ends[1])))))
        self._seq = seq + count
        stream.lineStart = ends[-1]
        self._lastStream = stream

    def _addPiece(self, stream, piece):
        room = self.maxLine - len(stream.pending)
        if room > 0:
            stream.pending += piece[:room]
        stream.pendingLength += len(piece)

    def _emit(self, stream, endOffset, lines, events):
        self._seq += 1
        data = bytes(stream.pending)
        if stream.pendingLength > self.maxLine:
            events.append(Event(
                "overlong",
                f"{self.path}: line {self._seq} is {stream.pendingLength} bytes long; "
                f"truncated to {self.maxLine}",
            ))
        lines.append(Line(self._seq, data, endOffset, stream.identityAt(endOffset)))
        stream.lineStart = endOffset
        stream.pending = bytearray()
        stream.pendingLength = 0
        self._lastStream = stream

    def _finish(self, stream, lines, events):
        """
        The stream's file is rotated away and done with: hand out a last
        line without newline, if any, and close it.
        """
        self._flushPartial(stream, lines, events)
        self._last = stream.position(self._seq)
        stream.close()

    def _flushPartial(self, stream, lines, events):
        if stream.pendingLength:
            self._emit(stream, stream.readOffset, lines, events)


def isStream(path):
    """
    Whether C{path} is a character device or a FIFO: read as a stream, with
    no offsets and no rotation.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


class StreamFollower:
    """
    Read lines from a character device or a FIFO, without blocking.

    A stream cannot be read again, so it has no L{Position}: its lines are
    numbered from C{seqBase}, which the caller chooses so that numbers never
    repeat across restarts (see C{docs/forwarder.rst}).  A FIFO whose
    writers all closed is kept open, and read on when one opens it again.
    """

    def __init__(self, path, seqBase, maxLine=65536, readSize=1 << 20):
        self.path = path
        self.maxLine = maxLine
        self.readSize = readSize
        self._seq = seqBase
        self._fd = None
        self._pending = bytearray()
        self._pendingLength = 0
        self._failed = False

    @property
    def position(self):
        """
        A stream has no offset: its position only carries the last number
        handed out, so that a restart numbers on above it.
        """
        return Position(None, 0, self._seq)

    def positionAfter(self, line):
        return Position(None, 0, line.seq)

    def _open(self, events):
        try:
            # O_RDWR on a FIFO keeps it open when the last writer closes; a
            # character device is opened read-only.
            flags = os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
            mode = os.stat(self.path).st_mode
            flags |= os.O_RDWR if stat.S_ISFIFO(mode) else os.O_RDONLY
            self._fd = os.open(self.path, flags)
        except OSError as e:
            if not self._failed:
                self._failed = True
                events.append(Event("missing", f"{self.path}: cannot open: {e.strerror}"))
            return False
        if self._failed:
            events.append(Event("appeared", f"{self.path} opened"))
        self._failed = False
        return True

    def poll(self, now=None):
        """
        Read what is there, at most C{readSize} bytes.

        @param now: unused (a stream has no rotation), as for L{Follower.poll}.
        """
        lines, events = [], []
        if self._fd is None and not self._open(events):
            return lines, events
        budget = self.readSize
        while budget > 0:
            try:
                data = os.read(self._fd, min(budget, 1 << 16))
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                events.append(Event("missing", f"{self.path}: read failed: {e.strerror};"
                                               " reopening"))
                self.close()
                break
            if not data:
                break
            budget -= len(data)
            self._split(data, lines, events)
        return lines, events

    def _split(self, data, lines, events):
        start = 0
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            self._add(data[start:newline])
            self._emit(lines, events)
            start = newline + 1
        self._add(data[start:])

    def _add(self, piece):
        room = self.maxLine - len(self._pending)
        if room > 0:
            self._pending += piece[:room]
        self._pendingLength += len(piece)

    def _emit(self, lines, events):
        self._seq += 1
        if self._pendingLength > self.maxLine:
            events.append(Event("overlong", f"{self.path}: line {self._seq} is"
                                            f" {self._pendingLength} bytes long; truncated"
                                            f" to {self.maxLine}"))
        lines.append(Line(self._seq, bytes(self._pending), 0, None))
        self._pending = bytearray()
        self._pendingLength = 0

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OffsetStore:
    """
    The acknowledged L{Position} of every followed path, in one JSON file
    replaced atomically.
    """

    def __init__(self, path):
        self.path = path

    def load(self):
        """
        @return: C{{path: Position}}; empty when the file does not exist.
        @raise ValueError: when the file exists but cannot be read as a store.
        """
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(raw)
            positions = {}
            for path, p in doc["positions"].items():
                identity = None
                if p["identity"] is not None:
                    d = p["identity"]
                    identity = FileIdentity(
                        int(d["device"]), int(d["inode"]), bytes.fromhex(d["fingerprint"])
                    )
                positions[path] = Position(identity, int(p["offset"]), int(p["seq"]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"offset store {self.path} is unreadable: {e!r}") from e
        return positions

    def save(self, positions):
        doc = {"version": 1, "positions": {}}
        for path, p in positions.items():
            identity = None
            if p.identity is not None:
                identity = {
                    "device": p.identity.device,
                    "inode": p.identity.inode,
                    "fingerprint": p.identity.fingerprint.hex(),
                }
            doc["positions"][path] = {"identity": identity, "offset": p.offset, "seq": p.seq}
        data = json.dumps(doc, sort_keys=True).encode("utf-8")
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(
            prefix=os.path.basename(self.path) + ".", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dirfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
