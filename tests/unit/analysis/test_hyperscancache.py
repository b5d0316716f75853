"""
Tests for L{mice.analysis.hyperscancache}: compiled Hyperscan databases
kept on disk.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.hyperscancache import cacheDirectory, compileDatabase
from tests.unit.analysis import requireHyperscan


def hits(db, data):
    found = []
    db.scan(data, match_event_handler=lambda ident, start, end, flags, context:
            found.append((ident, end)))
    return sorted(found)


class CompileDatabaseTests(SynchronousTestCase):
    def setUp(self):
        hyperscan = requireHyperscan()
        self.hyperscan = hyperscan
        self.directory = self.mktemp()
        self.flags = [hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_MULTILINE] * 2

    def compile(self, expressions, directory=None):
        return compileDatabase(expressions, range(len(expressions)), self.flags,
                               directory=self.directory if directory is None else directory)

    def stored(self):
        return [name for name in os.listdir(self.directory) if name.endswith(".hsdb")]

    def test_storedThenLoaded(self):
        """
        The first compilation stores the database; the next one with the
        same expressions loads it (a database stored under their name is
        what comes back, even one compiled from other expressions).
        """
        db = self.compile([b"foo", b"ba[rz]"])
        self.assertEqual(hits(db, b"foo\nbaz"), [(0, 3), (1, 7)])
        [name] = self.stored()
        other = self.compile([b"quux", b"zz"], directory="")
        with open(os.path.join(self.directory, name), "wb") as f:
            f.write(self.hyperscan.dumpb(other))
        loaded = self.compile([b"foo", b"ba[rz]"])
        self.assertEqual(hits(loaded, b"foo\nbaz quux"), [(0, 12)])

    def test_keyedByWhatIsCompiled(self):
        """Other expressions, ids or flags are another database."""
        self.compile([b"foo", b"bar"])
        self.compile([b"foo", b"baz"])
        compileDatabase([b"foo", b"bar"], [0, 7], self.flags, directory=self.directory)
        compileDatabase([b"foo", b"bar"], [0, 1], [0, 0], directory=self.directory)
        self.assertEqual(len(self.stored()), 4)

    def test_damagedFileCompiled(self):
        """
        A stored file Hyperscan refuses (damaged, truncated) is compiled
        again, and replaced.
        """
        db = self.compile([b"foo", b"bar"])
        [name] = self.stored()
        path = os.path.join(self.directory, name)
        with open(path, "rb") as f:
            good = f.read()
        for damaged in (b"", b"not a database", good[:len(good) // 2],
                        good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]):
            with open(path, "wb") as f:
                f.write(damaged)
            db = self.compile([b"foo", b"bar"])
            self.assertEqual(hits(db, b"bar foo"), [(0, 7), (1, 3)])
            with open(path, "rb") as f:
                self.assertEqual(f.read(), good)

    def test_pruned(self):
        """
        Storing a database keeps the C{keep} most recently used ones (a
        load marks one used) and removes the rest, and a temporary file a
        killed writer left over an hour ago; a younger one stays.
        """
        names = {}
        for n, when in enumerate((1000, 3000, 2000)):
            self.compile([b"foo%d" % n, b"bar"])
            [name] = set(self.stored()) - set(names.values())
            names[n] = name
            os.utime(os.path.join(self.directory, name), (when, when))
        abandoned = os.path.join(self.directory, "x.tmp")
        writing = os.path.join(self.directory, "y.tmp")
        for path in (abandoned, writing):
            with open(path, "wb") as f:
                f.write(b"half a database")
        os.utime(abandoned, (1000, 1000))
        self.compile([b"foo0", b"bar"])  # loaded: now the most recent
        compileDatabase([b"new", b"bar"], range(2), self.flags,
                        directory=self.directory, keep=3)
        remaining = set(os.listdir(self.directory))
        self.assertNotIn(names[2], remaining)
        self.assertTrue({names[0], names[1], "y.tmp"} <= remaining)
        self.assertNotIn("x.tmp", remaining)
        self.assertEqual(len(self.stored()), 3)

    def test_unwritableDirectory(self):
        """A cache directory that cannot be made: compiled, not stored."""
        with open(self.directory, "w") as f:
            f.write("a file, not a directory")
        db = self.compile([b"foo", b"bar"], directory=os.path.join(self.directory, "sub"))
        self.assertEqual(hits(db, b"foo"), [(0, 3)])

    def test_noCache(self):
        """An empty directory: compiled every time, nothing stored."""
        db = self.compile([b"foo", b"bar"], directory="")
        self.assertEqual(hits(db, b"bar"), [(1, 3)])
        self.assertFalse(os.path.exists(self.directory))

    def test_badExpression(self):
        """An expression that does not compile raises, as without the cache."""
        self.assertRaises(self.hyperscan.error, self.compile, [b"foo", b"(unclosed"])


class CacheDirectoryTests(SynchronousTestCase):
    def environ(self, **values):
        for name, value in values.items():
            old = os.environ.get(name)
            self.addCleanup(os.environ.__setitem__ if old is not None else
                            (lambda n, v: os.environ.pop(n, None)), name, old)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def test_configured(self):
        self.environ(MICE_CACHE_DIR="/var/cache/mice")
        self.assertEqual(cacheDirectory(), "/var/cache/mice/hyperscan")

    def test_disabled(self):
        self.environ(MICE_CACHE_DIR="")
        self.assertIsNone(cacheDirectory())

    def test_xdg(self):
        self.environ(MICE_CACHE_DIR=None, XDG_CACHE_HOME="/tmp/xdg")
        self.assertEqual(cacheDirectory(), "/tmp/xdg/mice/hyperscan")

    def test_home(self):
        self.environ(MICE_CACHE_DIR=None, XDG_CACHE_HOME=None, HOME="/home/alice")
        self.assertEqual(cacheDirectory(), "/home/alice/.cache/mice/hyperscan")
