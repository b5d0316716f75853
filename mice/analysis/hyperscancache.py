# -*- test-case-name: tests.unit.analysis.test_hyperscancache -*-
"""
Compiled Hyperscan databases kept on disk: compiling the default content's
rules takes 0.4 s of CPU, loading the compiled database a tenth of a
millisecond, so C{mice analyze} and the agents compile a rule set once per
machine.

A database is stored under a name made from a hash of what was compiled
(the expressions, their ids and flags, the mode; for the databases of
C{mice.analysis._hsscan}, L{compileScanner}, also libhs's version), in
C{$MICE_CACHE_DIR} if set (empty: no cache), else
C{$XDG_CACHE_HOME/mice/hyperscan} or C{~/.cache/mice/hyperscan}.
Hyperscan checks a database it loads (its version, the CPU features it was
compiled for, a checksum); one it refuses, or a file that cannot be read
or written, means compiling as without the cache.

Every edit of a rule file makes a new database, so the directory is
pruned whenever one is stored: the L{KEEP} most recently used databases
of each kind stay (loading one marks it used; python-hyperscan's are
C{.hsdb} files, L{compileScanner}'s C{.hsscan}), older ones are removed,
and so are temporary files a killed writer left behind for over an hour.
"""

import hashlib
import os
import tempfile
import time

#: Bumped when what a stored database means changes.
_FORMAT = b"mice-hyperscan-1"

#: How many databases the cache keeps (the most recently used ones).
KEEP = 32

#: Seconds after which a temporary file is a killed writer's leftover.
_ABANDONED = 3600


def cacheDirectory():
    """The directory of the stored databases, or C{None}: no cache."""
    configured = os.environ.get("MICE_CACHE_DIR")
    if configured is not None:
        return os.path.join(configured, "hyperscan") if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mice", "hyperscan")


def _key(expressions, ids, flags, mode):
    digest = hashlib.sha256(_FORMAT)
    digest.update(repr((mode, list(ids), list(flags))).encode("ascii"))
    for expression in expressions:
        digest.update(len(expression).to_bytes(8, "big"))
        digest.update(expression)
    return digest.hexdigest()


def _loaded(path, load, errors):
    """
    The database stored at C{path} (C{load(data)} of its bytes), or
    C{None} where it cannot be read or C{load} refuses it (C{errors}).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
        db = load(data)
    except (OSError, ValueError, TypeError) + errors:
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return db


def _loadedPython(data, mode):
    import hyperscan

    db = hyperscan.loadb(data, mode)
    db.scratch = hyperscan.Scratch(db)
    return db


def _prune(directory, keep, now, suffix=".hsdb"):
    """
    Remove all but the C{keep} most recently used databases of
    C{directory} (its files named C{*suffix}), and temporary files older
    than L{_ABANDONED} seconds.
    """
    databases = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.name.endswith(suffix):
                        databases.append((entry.stat().st_mtime, entry.path))
                    elif entry.name.endswith(".tmp") and \
                            now - entry.stat().st_mtime > _ABANDONED:
                        os.unlink(entry.path)
                except OSError:
                    pass
    except OSError:
        return
    databases.sort(reverse=True)
    for _, path in databases[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass


def _store(directory, path, dump, errors, keep):
    """Store C{dump()} (a database's bytes) at C{path} in C{directory}, then prune it."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(dump())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError,) + errors:
        return
    _prune(directory, keep, time.time(), os.path.splitext(path)[1])


def _cachedOrCompiled(directory, name, load, build, dump, errors, keep):
    """
    The database stored as C{name} in C{directory} (C{load(bytes)} of its
    file), else C{build()}'s, stored there (C{dump(db)}, its bytes).
    C{directory} C{None} is L{cacheDirectory}; empty, no cache.  C{errors}:
    what C{load} and C{dump} raise for a database they cannot handle.
    """
    if directory is None:
        directory = cacheDirectory()
    path = os.path.join(directory, name) if directory else None
    if path is not None:
        db = _loaded(path, load, errors)
        if db is not None:
            return db
    db = build()
    if path is not None:
        _store(directory, path, lambda: dump(db), errors, keep)
    return db


def compileDatabase(expressions, ids, flags, mode=None, directory=None, keep=KEEP):
    """
    A block-mode (by default) C{hyperscan.Database} of C{expressions}
    (bytes) with their C{ids} and C{flags}: loaded from the cache when it
    holds it, else compiled (and stored).

    @param directory: where the databases are kept (L{cacheDirectory} by
        default).
    @param keep: how many databases that directory keeps (L{KEEP}).
    @raise hyperscan.error: an expression does not compile.
    """
    import hyperscan

    if mode is None:
        mode = hyperscan.HS_MODE_BLOCK
    expressions, ids, flags = list(expressions), list(ids), list(flags)

    def build():
        db = hyperscan.Database(mode=mode)
        db.compile(expressions=expressions, ids=ids, flags=flags)
        return db

    return _cachedOrCompiled(directory, _key(expressions, ids, flags, mode) + ".hsdb",
                             lambda data: _loadedPython(data, mode), build, hyperscan.dumpb,
                             (hyperscan.error,), keep)


def compileScanner(expressions, ids, flags, directory=None, keep=KEEP):
    """
    A block-mode L{mice.analysis._hsscan.Database} of C{expressions}
    (bytes) with their C{ids} and C{flags}, as L{compileDatabase} makes a
    python-hyperscan one: loaded from the cache when it holds it, else
    compiled (and stored).  It is compiled by the system's libhs, not by
    the copy python-hyperscan links, so it is stored apart, under a name
    that also holds libhs's version (a new libhs compiles again).

    @param directory: where the databases are kept (L{cacheDirectory} by
        default).
    @param keep: how many of these databases that directory keeps (and as
        many of python-hyperscan's).
    @raise ImportError: C{mice.analysis._hsscan} is not built.
    @raise ValueError: an expression does not compile.
    """
    from mice.analysis import _hsscan

    expressions, ids, flags = list(expressions), list(ids), list(flags)

    def load(data):
        db = _hsscan.deserialize(data)
        if db.count != len(expressions):
            raise ValueError("a database of another rule set")
        return db

    return _cachedOrCompiled(
        directory, _key(expressions, ids, flags, ("_hsscan", _hsscan.version())) + ".hsscan",
        load, lambda: _hsscan.Database(expressions, flags, ids),
        lambda db: db.serialize(), (RuntimeError,), keep)
