"""
Tests for L{mice.forwarder.tailer}.
"""

import itertools
import json
import os
from typing import NamedTuple

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.forwarder import tailer
from mice.forwarder.tailer import Follower, OffsetStore, Position, startOf


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def rewrite(path, data):
    """
    Replace the content of C{path} in place (same inode).
    """
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)


class TailerTestMixin:
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "messages")
        self.writers = set()
        self.addCleanup(lambda: [os.close(fd) for fd in self.writers])

    def follow(self, **kw):
        follower = Follower(self.path, **kw)
        self.addCleanup(follower.close)
        return follower

    def followAfter(self, data):
        """
        Write C{data} to the file and follow it: the follower and what its
        first poll gave, C{(lines, events)}.
        """
        append(self.path, data)
        follower = self.follow()
        return follower, follower.poll()

    def positionAfterFirstLine(self, data):
        """
        Write C{data} to the file, follow it and stop: the position a
        restarted follower starts from, past the first line of C{data}.
        """
        follower, (lines, _) = self.followAfter(data)
        position = follower.positionAfter(lines[0])
        follower.close()
        return position

    def pollAll(self, follower, times=5):
        lines, events = [], []
        for _ in range(times):
            more, evs = follower.poll()
            lines.extend(more)
            events.extend(evs)
        return lines, events

    def assertKinds(self, events, kinds):
        self.assertEqual([e.kind for e in events], kinds)


class FakeStat(NamedTuple):
    st_dev: int
    st_ino: int
    st_size: int
    st_nlink: int


class _Inode:
    def __init__(self, number):
        self.number = number
        self.data = bytearray()
        self.links = 0


class MemoryFileSystem:
    """
    One directory in memory, as a L{Follower}'s C{fs}: names map to inodes,
    inode numbers are never reused, and an open descriptor keeps a renamed
    or unlinked file readable and writable, as on POSIX.

    @ivar descriptors: the Follower's open descriptors, C{{fd: inode}}.
    """

    device = 7

    def __init__(self):
        self.names = {}
        self.descriptors = {}
        self._inodes = itertools.count(100)
        self._fds = itertools.count(3)

    # -- what a test (logrotate, a writer) does ------------------------------

    def create(self, name, data=b""):
        """
        A new file at C{name}, which must not exist (logrotate's C{create}).
        """
        assert name not in self.names, name
        inode = _Inode(next(self._inodes))
        inode.data += data
        inode.links = 1
        self.names[name] = inode
        return inode

    def rename(self, old, new):
        if new in self.names:
            self.unlink(new)
        self.names[new] = self.names.pop(old)

    def unlink(self, name):
        self.names.pop(name).links -= 1

    def copy(self, src, dst):
        self.create(dst, bytes(self.names[src].data))

    def truncate(self, name):
        del self.names[name].data[:]

    # -- what a Follower does ------------------------------------------------

    def _stat(self, inode):
        return FakeStat(self.device, inode.number, len(inode.data), inode.links)

    def stat(self, path):
        if path not in self.names:
            raise FileNotFoundError(path)
        return self._stat(self.names[path])

    def open(self, path):
        if path not in self.names:
            raise FileNotFoundError(path)
        fd = next(self._fds)
        self.descriptors[fd] = self.names[path]
        return fd

    def fstat(self, fd):
        return self._stat(self.descriptors[fd])

    def pread(self, fd, size, offset):
        return bytes(self.descriptors[fd].data[offset:offset + size])

    def close(self, fd):
        del self.descriptors[fd]

    def rotatedNames(self, path):
        names = [path + ".1", path + ".0"]
        names.extend(sorted((n for n in self.names if n.startswith(path + "-")), reverse=True))
        return names

    def openInodes(self):
        """
        The inode numbers the Follower holds open, sorted.
        """
        return sorted(inode.number for inode in self.descriptors.values())


class Writer:
    """
    A program logging to a path: it appends to the file it opened (creating
    it if need be) until told to reopen, as a daemon does on SIGHUP.
    """

    def __init__(self, fs, path):
        self.fs = fs
        self.path = path
        self.reopen()

    def reopen(self):
        self.inode = self.fs.names.get(self.path) or self.fs.create(self.path)

    def write(self, data):
        self.inode.data += data

    def lines(self, *texts):
        self.write(b"".join(text.encode() + b"\n" for text in texts))


def logrotate(fs, path, create=True):
    """
    Rotate C{path} in C{fs} as logrotate does: C{path.1} -> C{path.2}...,
    C{path} -> C{path.1}, and with C{create} a new empty C{path}.
    """
    numbered = sorted((int(n[len(path) + 1:]) for n in fs.names
                       if n.startswith(path + ".") and n[len(path) + 1:].isdigit()), reverse=True)
    for n in numbered:
        fs.rename(f"{path}.{n}", f"{path}.{n + 1}")
    fs.rename(path, path + ".1")
    if create:
        fs.create(path)


class RotationTestMixin:
    """
    A L{Follower} of C{/var/log/messages} in a L{MemoryFileSystem}, polled
    by L{tick} at the times of a fake clock.
    """

    grace = 5.0

    def setUp(self):
        self.fs = MemoryFileSystem()
        self.path = "/var/log/messages"
        self.now = 1000.0
        self.lines, self.events = [], []

    def follow(self, **kw):
        kw.setdefault("grace", self.grace)
        follower = Follower(self.path, fs=self.fs, **kw)
        self.addCleanup(follower.close)
        return follower

    def tick(self, follower, seconds=1.0, times=1):
        """
        Advance the clock by C{seconds} and poll, C{times} times.

        @return: the data of the lines handed out.
        """
        got = []
        for _ in range(times):
            self.now += seconds
            lines, events = follower.poll(self.now)
            self.lines.extend(lines)
            self.events.extend(events)
            got.extend(line.data.decode() for line in lines)
        return got

    def rotate(self, create=True):
        logrotate(self.fs, self.path, create)

    def assertEveryLineOnce(self, expected):
        """
        The lines handed out are C{expected}, in that order, numbered 1, 2...
        """
        self.assertEqual([line.data.decode() for line in self.lines], expected)
        self.assertEqual([line.seq for line in self.lines], list(range(1, len(expected) + 1)))


class FollowerTests(TailerTestMixin, SynchronousTestCase):
    def test_plainAppend(self):
        f, (lines, events) = self.followAfter(b"one\ntwo\n")
        self.assertEqual([(ln.seq, ln.data, ln.endOffset) for ln in lines],
                         [(1, b"one", 4), (2, b"two", 8)])
        self.assertEqual(events, [])
        append(self.path, b"three\n")
        lines, events = f.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(3, b"three")])
        self.assertEqual(f.position.offset, 14)
        self.assertEqual(f.position.seq, 3)
        self.assertEqual(f.poll(), ([], []))

    def test_partialLineHeld(self):
        f, (lines, _) = self.followAfter(b"one\ntw")
        self.assertEqual([ln.data for ln in lines], [b"one"])
        self.assertEqual(f.position.offset, 4)
        self.assertEqual(f.poll(), ([], []))
        append(self.path, b"o\nthr")
        lines, _ = f.poll()
        self.assertEqual([(ln.seq, ln.data, ln.endOffset) for ln in lines], [(2, b"two", 8)])
        self.assertEqual(f.position.offset, 8)

    def test_rotationByRename(self):
        """
        Lines written to the old file just before the rename, including the
        end of a partial line, are handed out before the new file's lines.
        """
        f, (lines, _) = self.followAfter(b"a1\na")
        self.assertEqual([ln.data for ln in lines], [b"a1"])
        append(self.path, b"2\na3\nlast-no-newline")
        os.rename(self.path, self.path + ".1")
        append(self.path, b"b1\nb2\n")
        lines, events = self.pollAll(f)
        self.assertEqual([ln.data for ln in lines], [b"a2", b"a3", b"last-no-newline", b"b1", b"b2"])
        self.assertEqual([ln.seq for ln in lines], [2, 3, 4, 5, 6])
        self.assertKinds(events, ["rotated"])
        newInode = os.stat(self.path).st_ino
        self.assertEqual([ln.identity.inode for ln in lines][-2:], [newInode, newInode])
        self.assertEqual(f.position, Position(lines[-1].identity, 6, 6))

    def openWriter(self):
        """
        A writer's descriptor on the path (created if need be), appending.
        """
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.writers.add(fd)
        return fd

    def closeWriter(self, fd):
        self.writers.discard(fd)
        os.close(fd)

    def test_writerReopensLateRealFiles(self):
        """
        logrotate's C{create} with a late SIGHUP, on real files: the lines
        the writer appends to the renamed file through its descriptor are
        read until it reopens, then the new file's; the old file is closed
        once idle for the grace period.
        """
        opened = set()

        class TrackingFS(tailer.OSFileSystem):
            def open(self, path):
                fd = super().open(path)
                opened.add(fd)
                return fd

            def close(self, fd):
                opened.discard(fd)
                super().close(fd)

        writer = self.openWriter()
        os.write(writer, b"a1\n")
        f = self.follow(grace=5.0, fs=TrackingFS())
        now = 100.0
        self.assertEqual([ln.data for ln in f.poll(now)[0]], [b"a1"])
        os.rename(self.path, self.path + ".1")
        with open(self.path, "xb"):
            pass
        got, events = [], []
        for n in range(1, 4):
            os.write(writer, b"late %d\n" % n)
            now += 2.0
            lines, evs = f.poll(now)
            got.extend(lines)
            events.extend(evs)
        self.closeWriter(writer)
        writer = self.openWriter()
        os.write(writer, b"b1\n")
        for _ in range(4):
            now += 2.0
            lines, evs = f.poll(now)
            got.extend(lines)
            events.extend(evs)
        self.assertEqual([(ln.seq, ln.data) for ln in got],
                         [(2, b"late 1"), (3, b"late 2"), (4, b"late 3"), (5, b"b1")])
        self.assertKinds(events, ["rotated"])
        self.assertEqual(len(opened), 1, "the old file is closed")
        self.assertEqual(f.position.identity.inode, os.stat(self.path).st_ino)

    def test_deletedFileStillWrittenRealFiles(self):
        """
        Deleted, the writer still appending to it: the unlinked file is read
        through the open descriptor until the recreated file has data.
        """
        writer = self.openWriter()
        os.write(writer, b"a1\n")
        f = self.follow(grace=5.0)
        now = 100.0
        f.poll(now)
        os.unlink(self.path)
        os.write(writer, b"a2\n")
        lines, events = f.poll(now + 1)
        self.assertEqual([ln.data for ln in lines], [b"a2"])
        self.assertKinds(events, ["missing"])
        os.write(writer, b"a3\n")
        self.assertEqual([ln.data for ln in f.poll(now + 20)[0]], [b"a3"])
        self.closeWriter(writer)
        writer = self.openWriter()
        os.write(writer, b"b1\n")
        lines, events = f.poll(now + 21)
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(4, b"b1")])
        self.assertKinds(events, ["recreated"])

    def test_watchKeepsRotatedFilesWithoutReading(self):
        """
        While the caller takes no lines, L{Follower.watch} still opens each
        file the path names: two rotations between polls lose nothing.
        """
        append(self.path, b"a1\n")
        f = self.follow()
        self.assertEqual([ln.data for ln in f.poll()[0]], [b"a1"])
        append(self.path, b"a2\n")
        os.rename(self.path, self.path + ".1")
        append(self.path, b"b1\n")
        lines, events = f.watch()
        self.assertEqual(lines, [])
        self.assertKinds(events, ["rotated"])
        os.rename(self.path + ".1", self.path + ".2")
        os.rename(self.path, self.path + ".1")
        append(self.path, b"c1\n")
        self.assertEqual(f.watch()[0], [])
        lines, _ = self.pollAll(f)
        self.assertEqual([(ln.seq, ln.data) for ln in lines],
                         [(2, b"a2"), (3, b"b1"), (4, b"c1")])

    def test_startOf(self):
        append(self.path, b"first\n")
        [line], _ = self.follow().poll()
        start = startOf(line)
        self.assertEqual((start.offset, start.seq, start.identity.inode),
                         (0, 0, os.stat(self.path).st_ino))
        os.rename(self.path, self.path + ".1")
        append(self.path, b"second\n")
        lines, events = self.pollAll(self.follow(position=start))
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(1, b"first"), (2, b"second")])

    def test_copytruncate(self):
        """
        copytruncate: lines written before the copy are read from the copy,
        then the file from 0.
        """
        f, _ = self.followAfter(b"a1\n")
        append(self.path, b"a2\n")
        with open(self.path, "rb") as src, open(self.path + ".1", "wb") as dst:
            dst.write(src.read())
        rewrite(self.path, b"b1\n")
        lines, events = self.pollAll(f)
        self.assertEqual([ln.data for ln in lines], [b"a2", b"b1"])
        self.assertEqual([ln.seq for ln in lines], [2, 3])
        self.assertKinds(events, ["truncated"])

    def test_copytruncateWithoutCopy(self):
        """
        When the copy is gone (compressed at once), the truncated file is read
        from 0 and a partial line already read is handed out as it is.
        """
        f, _ = self.followAfter(b"a1\na2\npart")
        rewrite(self.path, b"b1\n")
        lines, events = self.pollAll(f)
        self.assertEqual([ln.data for ln in lines], [b"part", b"b1"])
        self.assertKinds(events, ["truncated"])

    def test_deleteAndRecreate(self):
        f, _ = self.followAfter(b"a1\n")
        append(self.path, b"a2\n")
        os.unlink(self.path)
        lines, events = f.poll()
        self.assertEqual([ln.data for ln in lines], [b"a2"])
        self.assertKinds(events, ["missing"])
        append(self.path, b"b1\n")
        lines, events = f.poll()
        self.assertEqual([ln.data for ln in lines], [b"b1"])
        self.assertKinds(events, ["recreated"])

    def test_deleteAndRecreateBetweenPolls(self):
        f, _ = self.followAfter(b"a1\n")
        append(self.path, b"a2\n")
        os.unlink(self.path)
        append(self.path, b"b1\n")
        lines, events = self.pollAll(f)
        self.assertEqual([ln.data for ln in lines], [b"a2", b"b1"])
        self.assertKinds(events, ["recreated"])

    def test_lateFile(self):
        f = self.follow()
        self.assertKinds(f.poll()[1], ["missing"])
        self.assertEqual(f.poll(), ([], []))
        append(self.path, b"x\n")
        lines, events = f.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(1, b"x")])
        self.assertKinds(events, ["appeared"])

    def test_shrinkIsTamper(self):
        f, _ = self.followAfter(b"a1\na2\na3\n")
        with open(self.path, "r+b") as fh:
            fh.truncate(6)
        lines, events = f.poll()
        self.assertEqual(lines, [])
        self.assertKinds(events, ["tamper"])
        self.assertIn("Logfile inconsistency", events[0].message)
        append(self.path, b"a4\n")
        lines, events = f.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(4, b"a4")])
        self.assertEqual(events, [])

    def test_rewriteIsTamper(self):
        """
        Shipped content rewritten with the same size: a tamper event, and the
        content is not read again.
        """
        f, _ = self.followAfter(b"login ok\n")
        rewrite(self.path, b"login no\n")
        lines, events = f.poll()
        self.assertEqual(lines, [])
        self.assertKinds(events, ["tamper"])
        self.assertIn("fingerprint", events[0].message)
        append(self.path, b"next\n")
        self.assertEqual([ln.data for ln in f.poll()[0]], [b"next"])

    def test_overlong(self):
        append(self.path, b"x" * 25 + b"\nok\n")
        f = self.follow(maxLine=10, readSize=7)
        lines, events = self.pollAll(f, 10)
        self.assertEqual([(ln.seq, ln.data, ln.endOffset) for ln in lines],
                         [(1, b"x" * 10, 26), (2, b"ok", 29)])
        self.assertKinds(events, ["overlong"])
        self.assertIn("line 1 is 25 bytes", events[0].message)

    def test_readSizeBound(self):
        append(self.path, b"".join(b"%03d\n" % i for i in range(100)))
        reads = []

        class CountingFS(tailer.OSFileSystem):
            def pread(self, fd, size, offset):
                data = super().pread(fd, size, offset)
                reads.append(len(data))
                return data

        f = self.follow(readSize=12, fs=CountingFS())
        lines, _ = f.poll()
        self.assertEqual([ln.data for ln in lines], [b"000", b"001", b"002"])
        self.assertLessEqual(sum(reads), 12 + tailer.FINGERPRINT_SIZE)
        lines, _ = self.pollAll(f, 40)
        self.assertEqual(len(lines), 97)

    def test_positionAfter(self):
        f, (lines, _) = self.followAfter(b"a\nb\n")
        self.assertEqual(f.positionAfter(lines[0]), Position(lines[0].identity, 2, 1))
        self.assertEqual(f.positionAfter(lines[1]), f.position)

    def test_restartSameFile(self):
        f, (lines, _) = self.followAfter(b"a1\na2\na3\n")
        stored = f.positionAfter(lines[1])
        f.close()
        append(self.path, b"a4\n")
        g = self.follow(position=stored)
        lines, events = g.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(3, b"a3"), (4, b"a4")])
        self.assertEqual(events, [])

    def test_restartLongFile(self):
        """
        The fingerprint covers 1024 bytes once the file is that long.
        """
        f, (lines, _) = self.followAfter(b"".join(b"line %04d\n" % i for i in range(300)))
        stored = f.positionAfter(lines[200])
        self.assertEqual(stored.identity, lines[-1].identity)
        f.close()
        lines, events = self.follow(position=stored).poll()
        self.assertEqual(lines[0].data, b"line 0201")
        self.assertEqual(events, [])

    def test_restartAcrossRotation(self):
        f, (lines, _) = self.followAfter(b"a1\na2\n")
        stored = f.positionAfter(lines[0])
        f.close()
        append(self.path, b"a3\n")
        os.rename(self.path, self.path + ".1")
        append(self.path, b"b1\n")
        g = self.follow(position=stored)
        lines, events = self.pollAll(g)
        self.assertEqual([(ln.seq, ln.data) for ln in lines],
                         [(2, b"a2"), (3, b"a3"), (4, b"b1")])
        self.assertKinds(events, ["rotated"])

    def test_restartAcrossDateextRotation(self):
        f, (lines, _) = self.followAfter(b"a1\na2\n")
        stored = f.positionAfter(lines[1])
        f.close()
        os.rename(self.path, self.path + "-20261122")
        append(self.path + ".1.gz", b"not this")
        append(self.path, b"b1\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(3, b"b1")])
        self.assertKinds(events, ["rotated"])

    def test_restartRotatedFileGone(self):
        stored = self.positionAfterFirstLine(b"a1\n")
        # A new inode (unlink then create might reuse the old inode number).
        append(self.path + ".new", b"b1\n")
        os.replace(self.path + ".new", self.path)
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([ln.data for ln in lines], [b"b1"])
        self.assertKinds(events, ["rotated"])
        self.assertIn("not found", events[0].message)

    def test_restartAcrossCopytruncate(self):
        stored = self.positionAfterFirstLine(b"a1\na2\n")
        with open(self.path, "rb") as src, open(self.path + ".1", "wb") as dst:
            dst.write(src.read())
        rewrite(self.path, b"b1\nb2\nb3\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([(ln.seq, ln.data) for ln in lines],
                         [(2, b"a2"), (3, b"b1"), (4, b"b2"), (5, b"b3")])
        self.assertKinds(events, ["truncated"])

    def test_restartAfterTamper(self):
        stored = self.positionAfterFirstLine(b"login ok\n")
        rewrite(self.path, b"login no\nmore\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual(lines, [])
        self.assertKinds(events, ["tamper"])


class RotationTests(RotationTestMixin, SynchronousTestCase):
    """
    Rotations while a writer goes on appending to the file it has open, in
    a L{MemoryFileSystem} with a fake clock (polls 1 s apart, a grace period
    of 5 s).
    """

    def test_writerReopensLate(self):
        """
        logrotate's default (rename, create an empty file, signal the
        writer later): what the writer appends to the renamed file meanwhile
        is read, each line in the poll after it was written, then the new
        file's lines.  The old descriptor is closed once the old file has
        been idle for the grace period and the new one has data.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1", "a2")
        f = self.follow()
        self.assertEqual(self.tick(f), ["a1", "a2"])
        old = writer.inode.number
        self.rotate()
        new = self.fs.names[self.path].number
        for n in range(1, 5):
            writer.lines(f"late {n}")
            self.assertEqual(self.tick(f), [f"late {n}"])
        self.assertEqual(self.fs.openInodes(), [old, new], "the new file is still empty")
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(f), ["b1"])
        self.assertEqual(self.tick(f, times=3), [])
        self.assertEqual(self.fs.openInodes(), [old, new], "idle for 4 s only")
        writer.lines("b2")
        self.assertEqual(self.tick(f), ["b2"])
        self.assertEqual(self.fs.openInodes(), [new])
        self.assertEveryLineOnce(["a1", "a2", "late 1", "late 2", "late 3", "late 4",
                                  "b1", "b2"])
        self.assertEqual([e.kind for e in self.events], ["rotated"])
        self.assertEqual(f.position, f.positionAfter(self.lines[-1]))
        self.assertEqual((f.position.identity.inode, f.position.seq), (new, 8))

    def test_writerReopensAtOnce(self):
        """
        A writer that reopens by itself right after the rename: the old
        file's last lines come first, the new file's in the same poll (not
        after the grace period).
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        writer.lines("a2")
        self.rotate()
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(f), ["a2", "b1"])
        writer.lines("b2")
        self.assertEqual(self.tick(f, times=5), ["b2"])
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEveryLineOnce(["a1", "a2", "b1", "b2"])

    def test_deletedFileStillWritten(self):
        """
        Deleted, and recreated only later: the writer goes on appending to
        the unlinked file, which is read through the open descriptor for as
        long as no new file has data.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        old = writer.inode.number
        self.fs.unlink(self.path)
        writer.lines("a2")
        self.assertEqual(self.tick(f), ["a2"])
        writer.lines("a3")
        self.assertEqual(self.tick(f, times=10), ["a3"])
        self.assertEqual(self.fs.openInodes(), [old])
        writer.lines("a4")
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(f), ["a4", "b1"])
        self.assertEqual(self.tick(f, times=6), [])
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEveryLineOnce(["a1", "a2", "a3", "a4", "b1"])
        self.assertEqual([e.kind for e in self.events], ["missing", "recreated"])

    def test_deletedAndRecreatedStillWritten(self):
        """
        Deleted and recreated between two polls, the writer still on the
        deleted file: its lines are read until it reopens.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        self.fs.unlink(self.path)
        self.fs.create(self.path)
        writer.lines("a2")
        self.assertEqual(self.tick(f), ["a2"])
        writer.lines("a3")
        self.assertEqual(self.tick(f, times=8), ["a3"])
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(f, times=7), ["b1"])
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEveryLineOnce(["a1", "a2", "a3", "b1"])
        self.assertEqual([e.kind for e in self.events], ["recreated"])

    def test_newFileLate(self):
        """
        Renamed, and the new file appears only when the writer reopens: the
        old file is read to its end, including what was written to it
        meanwhile and a last line without newline, before the new file.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        self.rotate(create=False)
        writer.lines("a2")
        self.assertEqual(self.tick(f), ["a2"])
        for n in range(3, 6):
            writer.lines(f"a{n}")
            self.assertEqual(self.tick(f, times=3), [f"a{n}"])
        writer.write(b"no newline")
        self.assertEqual(self.tick(f, times=7), [])
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(f), ["no newline", "b1"])
        self.tick(f, times=6)
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEveryLineOnce(["a1", "a2", "a3", "a4", "a5", "no newline", "b1"])
        self.assertEqual([e.kind for e in self.events], ["missing", "recreated"])

    def test_twoRotationsInOneGracePeriod(self):
        """
        messages -> messages.1 -> messages.2 while the first old file is
        still being drained (a small read budget leaves it behind): both old
        files are read in order, then the newest; every line once.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1", "a2")
        f = self.follow(readSize=16)
        self.assertEqual(self.tick(f), ["a1", "a2"])
        writer.lines(*[f"a{n}" for n in range(3, 11)])
        self.rotate()
        writer.lines("a11")
        self.tick(f)
        writer.reopen()
        writer.lines(*[f"b{n}" for n in range(1, 6)])
        self.rotate()
        writer.lines("b6")
        self.tick(f)
        writer.reopen()
        writer.lines("c1", "c2", "c3")
        self.assertEqual(len(self.fs.openInodes()), 3)
        self.tick(f, times=20)
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEveryLineOnce([f"a{n}" for n in range(1, 12)]
                                 + [f"b{n}" for n in range(1, 7)] + ["c1", "c2", "c3"])
        self.assertEqual([e.kind for e in self.events], ["rotated", "rotated"])

    def test_twoWriters(self):
        """
        Both files written at once (a second program already logs to the
        new file): in each poll the old file's lines come first.  The old
        file is closed only once it has been idle for the grace period;
        what is written to it after that is not read (the documented limit).
        """
        late = Writer(self.fs, self.path)
        late.lines("a1")
        f = self.follow()
        self.tick(f)
        self.rotate()
        prompt = Writer(self.fs, self.path)
        for n in range(1, 4):
            prompt.lines(f"b{n}")
            late.lines(f"a{n + 1}")
            self.assertEqual(self.tick(f, seconds=2.0), [f"a{n + 1}", f"b{n}"])
        self.assertEqual(self.tick(f, times=4), [])
        self.assertEqual(len(self.fs.openInodes()), 2, "idle for 4 s only")
        self.tick(f)
        self.assertEqual(self.fs.openInodes(), [prompt.inode.number])
        late.lines("too late")
        self.assertEqual(self.tick(f, times=3), [])

    def test_copytruncate(self):
        """
        copytruncate: the copy's last lines, then the file from 0; no
        writer appends to a copy, so it is closed as soon as it is read.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        writer.lines("a2")
        self.fs.copy(self.path, self.path + ".1")
        self.fs.truncate(self.path)
        writer.lines("b1")
        self.assertEqual(self.tick(f), ["a2", "b1"])
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        writer.lines("b2")
        self.assertEqual(self.tick(f), ["b2"])
        self.assertEveryLineOnce(["a1", "a2", "b1", "b2"])
        self.assertEqual([e.kind for e in self.events], ["truncated"])

    def test_restartWhileOldFileHeld(self):
        """
        While the old file is held, the position is in the file of the last
        line handed out: the old file until the first line of the new one (a
        restart then finds the old file as C{messages.1} and reads what was
        added to it), the new file after it (the old file was read to its
        end: a restart resumes in the new file and sends nothing twice).
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1", "a2")
        f = self.follow()
        self.tick(f)
        old = writer.inode.number
        self.rotate()
        writer.lines("a3")
        self.tick(f)
        self.assertEqual((f.position.identity.inode, f.position.offset, f.position.seq),
                         (old, 9, 3))
        writer.reopen()
        writer.lines("b1", "b2")
        self.tick(f)
        self.assertEqual(self.fs.openInodes(), [old, writer.inode.number])
        self.assertEqual(f.position, f.positionAfter(self.lines[-1]))
        self.assertEqual((f.position.identity.inode, f.position.offset, f.position.seq),
                         (writer.inode.number, 6, 5))
        stored = f.position
        f.close()
        writer.lines("b3")
        self.lines = []
        self.tick(self.follow(position=stored))
        self.assertEqual([(line.seq, line.data) for line in self.lines], [(6, b"b3")])

    def test_restartWhileWriterOnOldFile(self):
        """
        Restarted before the writer reopened: the old file found among the
        rotation names is followed as after a rotation seen live.
        """
        writer = Writer(self.fs, self.path)
        writer.lines("a1")
        f = self.follow()
        self.tick(f)
        self.rotate()
        writer.lines("a2")
        self.tick(f)
        stored = f.position
        f.close()
        self.lines, self.events = [], []
        writer.lines("a3")
        g = self.follow(position=stored)
        self.assertEqual(self.tick(g), ["a3"])
        writer.lines("a4")
        self.assertEqual(self.tick(g), ["a4"])
        writer.reopen()
        writer.lines("b1")
        self.assertEqual(self.tick(g, times=7), ["b1"])
        self.assertEqual(self.fs.openInodes(), [writer.inode.number])
        self.assertEqual([(line.seq, line.data) for line in self.lines],
                         [(3, b"a3"), (4, b"a4"), (5, b"b1")])
        self.assertEqual([e.kind for e in self.events], ["rotated"])


class OffsetStoreTests(SynchronousTestCase):
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "offsets.json")

    def positions(self):
        identity = tailer.FileIdentity(5, 77, b"\x01" * 32)
        return {"/var/log/messages": Position(identity, 123, 9), "/late": Position(None, 0, 0)}

    def test_roundTrip(self):
        store = OffsetStore(self.path)
        self.assertEqual(store.load(), {})
        store.save(self.positions())
        self.assertEqual(OffsetStore(self.path).load(), self.positions())
        self.assertEqual(os.listdir(self.dir), ["offsets.json"])

    def test_tornTempFile(self):
        """
        A crash while writing leaves at most a temporary file; the store still
        holds the previous positions and the next save works.
        """
        store = OffsetStore(self.path)
        store.save(self.positions())
        with open(self.path + ".abc.tmp", "wb") as f:
            f.write(b'{"version": 1, "positi')
        self.assertEqual(store.load(), self.positions())

        def crash(src, dst):
            raise OSError("power lost")

        self.patch(os, "replace", crash)
        self.assertRaises(OSError, store.save, {})
        self.assertEqual(store.load(), self.positions())
        self.assertEqual(sorted(os.listdir(self.dir)), ["offsets.json", "offsets.json.abc.tmp"])

    def test_corruptStoreIsAnError(self):
        with open(self.path, "w") as f:
            json.dump({"positions": {"x": {"offset": 1}}}, f)
        self.assertRaises(ValueError, OffsetStore(self.path).load)


def _scenarios():
    line = st.binary(min_size=0, max_size=30).map(lambda b: b.replace(b"\n", b"."))
    op = st.one_of(
        st.tuples(st.just("write"), st.lists(line, min_size=1, max_size=5),
                  st.lists(st.integers(0, 200), max_size=4)),
        st.tuples(st.just("partial"), line),
        st.tuples(st.just("rotate")),
        st.tuples(st.just("poll")),
    )
    return st.tuples(st.lists(op, max_size=40), st.integers(1, 64))


class PropertyTests(SynchronousTestCase):
    @given(_scenarios())
    def test_everyLineOnceInOrder(self, scenario):
        """
        Whatever the interleaving of appends (split anywhere, inside lines
        too), rename rotations and polls, the lines handed out are exactly
        the lines written, in order, numbered 1, 2, 3...

        A live follower only knows the files it has opened, so the test polls
        at least once between a file's creation and its rotation (that is,
        one rotation per poll interval).  A partial line left in a rotated file is a
        line of its own, handed out once a newer file has data: the test ends
        with a line written to the path.
        """
        ops, readSize = scenario
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "log")
        follower = Follower(path, readSize=readSize)
        self.addCleanup(follower.close)
        expected, got = [], []
        partial = None
        written = 0
        unseen = False
        generation = 0

        def poll():
            nonlocal unseen
            unseen = False
            lines, events = follower.poll()
            got.extend(lines)
            self.assertNotIn("tamper", [e.kind for e in events])

        def write(data):
            nonlocal unseen
            if not os.path.exists(path):
                unseen = True
            append(path, data)

        def writeLines(lines, cutsAt):
            nonlocal partial, written
            data = b"".join(ln + b"\n" for ln in lines)
            if partial is not None:
                expected.append(partial + lines[0])
                expected.extend(lines[1:])
                partial = None
            else:
                expected.extend(lines)
            cuts = sorted({c % (len(data) + 1) for c in cutsAt} | {0, len(data)})
            for a, b in zip(cuts, cuts[1:]):
                write(data[a:b])
            written += len(data)

        for op in ops:
            if op[0] == "write":
                writeLines(op[1], op[2])
            elif op[0] == "partial" and op[1]:
                write(op[1])
                partial = (partial or b"") + op[1]
                written += len(op[1])
            elif op[0] == "rotate" and os.path.exists(path):
                if unseen:
                    poll()
                generation += 1
                os.rename(path, f"{path}.{generation}")
                if partial is not None:
                    expected.append(partial)
                    partial = None
            elif op[0] == "poll":
                poll()
        writeLines([b"end"], [])
        for _ in range(written // readSize + 3):
            poll()
        follower.close()
        self.assertEqual([ln.data for ln in got], expected)
        self.assertEqual([ln.seq for ln in got], list(range(1, len(expected) + 1)))


class StreamFollowerTests(SynchronousTestCase):
    def test_characterDevice(self):
        """
        A character device (here a pseudo-terminal) is read as a stream:
        whole lines, numbered from the base, a partial one held.
        """
        from mice.forwarder.tailer import StreamFollower, isStream

        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        path = os.ttyname(slave)
        self.assertTrue(isStream(path))
        follower = StreamFollower(path, seqBase=1000)
        self.addCleanup(follower.close)
        self.assertEqual(follower.poll(), ([], []))
        os.write(master, b"kernel: one\nkernel: tw")
        lines, events = follower.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(1001, b"kernel: one")])
        os.write(master, b"o\n")
        lines, _ = follower.poll()
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(1002, b"kernel: two")])
        self.assertEqual(follower.position.seq, 1002)

    def test_missingDevice(self):
        from mice.forwarder.tailer import StreamFollower

        follower = StreamFollower("/nonexistent/device", seqBase=0)
        lines, events = follower.poll()
        self.assertEqual([e.kind for e in events], ["missing"])
        self.assertEqual(follower.poll(), ([], []), "reported once")


def _rotationSchedules():
    text = st.text("abxy", max_size=5)
    op = st.one_of(
        st.tuples(st.just("lines"), st.lists(text, min_size=1, max_size=4)),
        st.tuples(st.just("partial"), st.text("abxy", min_size=1, max_size=5)),
        st.tuples(st.just("rename")),
        st.tuples(st.just("unlink")),
        st.tuples(st.just("create")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("poll"), st.sampled_from([0.0, 0.5, 1.0, 2.5])),
        st.tuples(st.just("restart")),
    )
    return st.tuples(st.lists(op, min_size=5, max_size=60), st.integers(1, 32))


class RotationPropertyTests(SynchronousTestCase):
    @given(_rotationSchedules())
    def test_everyLineOnceWhateverTheSchedule(self, schedule):
        """
        One writer and logrotate, in any order: appends (partial lines too),
        renames (logrotate's numbering), deletions, creation of the new
        file, the writer reopening the path at any time later, polls at any
        pace, and restarts from the position persisted at that moment.
        Every line written is handed out, in the order written, numbered 1,
        2, 3...; a restart hands out again only lines already numbered,
        under the same numbers (which the stores drop as duplicates), and
        without a restart no line comes twice.  A partial line left at the
        end of a file the writer has left is a line of its own.  At the
        end, every old file is closed.

        The follower must have seen a file at the path before it is renamed
        or deleted (one rotation per poll interval), and a restart happens
        only while the position's file can be found again (at the path or
        as C{messages.1}, no other old file held): the limits described in
        C{docs/tailer.rst}.
        """
        ops, readSize = schedule
        fs = MemoryFileSystem()
        path = "/var/log/messages"
        writer = Writer(fs, path)
        files = [writer.inode]
        now = 0.0
        seen = set()
        runs, bases = [[]], [0]
        follower = Follower(path, readSize=readSize, grace=2.0, fs=fs)
        self.addCleanup(lambda: follower.close())

        def poll(seconds):
            nonlocal now
            now += seconds
            lines, events = follower.poll(now)
            runs[-1].extend(lines)
            for event in events:
                self.assertIn(event.kind, ("rotated", "missing", "recreated", "appeared"))
                self.assertNotIn("lost", event.message)
            if path in fs.names:
                seen.add(fs.names[path].number)

        for op in ops:
            if op[0] == "lines":
                writer.lines(*op[1])
            elif op[0] == "partial":
                writer.write(op[1].encode())
            elif op[0] in ("rename", "unlink") and path in fs.names:
                if fs.names[path].number not in seen:
                    poll(0.0)
                if op[0] == "rename":
                    logrotate(fs, path, create=False)
                else:
                    fs.unlink(path)
            elif op[0] == "create" and path not in fs.names:
                fs.create(path)
            elif op[0] == "reopen":
                writer.reopen()
                if writer.inode is not files[-1]:
                    files.append(writer.inode)
            elif op[0] == "poll":
                poll(op[1])
            elif op[0] == "restart":
                stored = follower.position
                findable = {fs.names[n].number for n in (path, path + ".1") if n in fs.names}
                if stored.identity is not None and (
                        stored.identity.inode not in findable
                        or not set(fs.openInodes()) <= findable):
                    continue
                follower.close()
                follower = Follower(path, stored, readSize=readSize, grace=2.0, fs=fs)
                runs.append([])
                bases.append(stored.seq)
                seen.clear()
        writer.reopen()
        if writer.inode is not files[-1]:
            files.append(writer.inode)
        writer.lines("end")
        expected = []
        for inode in files:
            pieces = bytes(inode.data).split(b"\n")
            if not pieces[-1] or inode is files[-1]:
                pieces.pop()
            expected.extend((inode.number, piece) for piece in pieces)
        for _ in range(len(expected) * 40 // readSize + 20):
            poll(2.5)
            if (fs.openInodes() == [files[-1].number] and runs[-1]
                    and runs[-1][-1].seq == len(expected)):
                break
        self.assertEqual(fs.openInodes(), [files[-1].number])
        last = 0
        for run, base in zip(runs, bases):
            self.assertLessEqual(base, last, "a restart skips no number")
            self.assertEqual([line.seq for line in run], list(range(base + 1, base + 1 + len(run))))
            last = run[-1].seq if run else base
            for line in run:
                self.assertEqual((line.identity.inode, line.data), expected[line.seq - 1])
        self.assertEqual(last, len(expected))


class MissingDirectoryTests(SynchronousTestCase):
    """
    A path whose very directory does not exist is reported in plain words,
    naming the directory, once; the file is followed once it appears.
    """

    def test_directoryMissing(self):
        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "apache2", "access.log")
        follower = Follower(path)
        self.addCleanup(follower.close)
        lines, events = follower.poll(now=0)
        self.assertEqual(events, [tailer.Event(
            "missing-directory",
            f"{path} does not exist: its directory {os.path.dirname(path)} does not exist"
            " either (is FILE right?); it is followed once it appears")])
        self.assertEqual(follower.poll(now=1), ([], []), "reported once")
        os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(b"GET /\n")
        lines, events = follower.poll(now=2)
        self.assertEqual([line.data for line in lines], [b"GET /"])
        self.assertEqual([event.kind for event in events], ["appeared"])

    def test_onlyTheFileMissing(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "messages")
        follower = Follower(path)
        self.addCleanup(follower.close)
        self.assertEqual(follower.poll(now=0)[1],
                         [tailer.Event("missing", f"{path} does not exist")])
