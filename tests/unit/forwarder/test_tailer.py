"""
Tests for L{mice.forwarder.tailer}.
"""

import json
import os

from hypothesis import given, settings
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

    def follow(self, **kw):
        follower = Follower(self.path, **kw)
        self.addCleanup(follower.close)
        return follower

    def pollAll(self, follower, times=5):
        lines, events = [], []
        for _ in range(times):
            more, evs = follower.poll()
            lines.extend(more)
            events.extend(evs)
        return lines, events

    def assertKinds(self, events, kinds):
        self.assertEqual([e.kind for e in events], kinds)


class FollowerTests(TailerTestMixin, SynchronousTestCase):
    def test_plainAppend(self):
        append(self.path, b"one\ntwo\n")
        f = self.follow()
        lines, events = f.poll()
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
        append(self.path, b"one\ntw")
        f = self.follow()
        lines, _ = f.poll()
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
        append(self.path, b"a1\na")
        f = self.follow()
        lines, _ = f.poll()
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
        append(self.path, b"a1\n")
        f = self.follow()
        f.poll()
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
        append(self.path, b"a1\na2\npart")
        f = self.follow()
        f.poll()
        rewrite(self.path, b"b1\n")
        lines, events = self.pollAll(f)
        self.assertEqual([ln.data for ln in lines], [b"part", b"b1"])
        self.assertKinds(events, ["truncated"])

    def test_deleteAndRecreate(self):
        append(self.path, b"a1\n")
        f = self.follow()
        f.poll()
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
        append(self.path, b"a1\n")
        f = self.follow()
        f.poll()
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
        append(self.path, b"a1\na2\na3\n")
        f = self.follow()
        f.poll()
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
        append(self.path, b"login ok\n")
        f = self.follow()
        f.poll()
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
        append(self.path, b"a\nb\n")
        f = self.follow()
        lines, _ = f.poll()
        self.assertEqual(f.positionAfter(lines[0]), Position(lines[0].identity, 2, 1))
        self.assertEqual(f.positionAfter(lines[1]), f.position)

    def test_restartSameFile(self):
        append(self.path, b"a1\na2\na3\n")
        f = self.follow()
        lines, _ = f.poll()
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
        append(self.path, b"".join(b"line %04d\n" % i for i in range(300)))
        f = self.follow()
        lines, _ = f.poll()
        stored = f.positionAfter(lines[200])
        self.assertEqual(stored.identity, lines[-1].identity)
        f.close()
        lines, events = self.follow(position=stored).poll()
        self.assertEqual(lines[0].data, b"line 0201")
        self.assertEqual(events, [])

    def test_restartAcrossRotation(self):
        append(self.path, b"a1\na2\n")
        f = self.follow()
        lines, _ = f.poll()
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
        append(self.path, b"a1\na2\n")
        f = self.follow()
        lines, _ = f.poll()
        stored = f.positionAfter(lines[1])
        f.close()
        os.rename(self.path, self.path + "-20261122")
        append(self.path + ".1.gz", b"not this")
        append(self.path, b"b1\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([(ln.seq, ln.data) for ln in lines], [(3, b"b1")])
        self.assertKinds(events, ["rotated"])

    def test_restartRotatedFileGone(self):
        append(self.path, b"a1\n")
        f = self.follow()
        stored = f.positionAfter(f.poll()[0][0])
        f.close()
        # A new inode (unlink then create might reuse the old inode number).
        append(self.path + ".new", b"b1\n")
        os.replace(self.path + ".new", self.path)
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([ln.data for ln in lines], [b"b1"])
        self.assertKinds(events, ["rotated"])
        self.assertIn("not found", events[0].message)

    def test_restartAcrossCopytruncate(self):
        append(self.path, b"a1\na2\n")
        f = self.follow()
        stored = f.positionAfter(f.poll()[0][0])
        f.close()
        with open(self.path, "rb") as src, open(self.path + ".1", "wb") as dst:
            dst.write(src.read())
        rewrite(self.path, b"b1\nb2\nb3\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual([(ln.seq, ln.data) for ln in lines],
                         [(2, b"a2"), (3, b"b1"), (4, b"b2"), (5, b"b3")])
        self.assertKinds(events, ["truncated"])

    def test_restartAfterTamper(self):
        append(self.path, b"login ok\n")
        f = self.follow()
        stored = f.positionAfter(f.poll()[0][0])
        f.close()
        rewrite(self.path, b"login no\nmore\n")
        lines, events = self.pollAll(self.follow(position=stored))
        self.assertEqual(lines, [])
        self.assertKinds(events, ["tamper"])


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
    @settings(deadline=None, max_examples=300)
    @given(_scenarios())
    def test_everyLineOnceInOrder(self, scenario):
        """
        Whatever the interleaving of appends (split anywhere, inside lines
        too), rename rotations and polls, the lines handed out are exactly
        the lines written, in order, numbered 1, 2, 3...

        A live follower only knows the files it has opened, so the test polls
        at least once between a file's creation and its rotation (that is,
        one rotation per poll interval).  A partial line left in a rotated file is a
        line of its own.
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

        for op in ops:
            if op[0] == "write":
                data = b"".join(ln + b"\n" for ln in op[1])
                if partial is not None:
                    expected.append(partial + op[1][0])
                    expected.extend(op[1][1:])
                    partial = None
                else:
                    expected.extend(op[1])
                cuts = sorted({c % (len(data) + 1) for c in op[2]} | {0, len(data)})
                for a, b in zip(cuts, cuts[1:]):
                    write(data[a:b])
                written += len(data)
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
        for _ in range(written // readSize + 3):
            poll()
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
