# -*- test-case-name: tests.unit.analysis.test_aaregex,tests.integration.test_aaregex -*-
"""
The AlertID counter of an analysis agent: the IDMEF messageid, persisted in
C{AlertIDFile} in blocks so that a number is never handed out twice, across
restarts (a crash skips the rest of a block) and across the modules of one
process that name the same file (L{sharedAlertCounter}); a second process
naming the file is refused (an exclusive C{flock} on C{AlertIDFile.lock}).
"""

import fcntl
import os


class AlertCounter:
    """
    The IDMEF messageid counter, never reused across restarts.

    Numbers are reserved in blocks: before the first number of a block is
    handed out, the end of the block is persisted (C{store.save}), and on
    start the counter resumes at the persisted end.  A crash therefore
    skips the rest of a block, but never repeats a number.

    @param store: has C{load()} (the persisted end, or C{None}) and
        C{save(end)}, which must be durable when it returns
        (L{AlertIdFile}).
    @param start: the config's C{AlertID}: the first number ever used.
    """

    def __init__(self, store, start=1, block=1000):
        if block < 1:
            raise ValueError("block must be at least 1")
        self._store = store
        self._block = block
        lock = getattr(store, "lock", None)
        if lock is not None:
            lock()
        try:
            persisted = store.load()
        except ValueError:
            getattr(store, "close", lambda: None)()
            raise
        self._next = max(start, persisted or 0)
        self._end = self._next

    def next(self):
        """
        A number no earlier run and no earlier call has returned.
        """
        if self._next >= self._end:
            self._store.save(self._next + self._block)
            self._end = self._next + self._block
        number = self._next
        self._next += 1
        return number

    def skipTo(self, number):
        """
        Hand out no number below C{number} from now on.
        """
        if number > self._next:
            self._next = number

    def close(self):
        """
        Persist exactly where the counter stands, so a clean stop skips none.
        """
        if self._next < self._end:
            self._store.save(self._next)
            self._end = self._next
        release = getattr(self._store, "close", None)
        if release is not None:
            release()


class _SharedEntry:
    def __init__(self, counter):
        self.counter = counter
        self.users = 0


#: The counters of L{sharedAlertCounter}, by the real path of their file.
_sharedCounters = {}


def sharedAlertCounter(path, start=1, block=1000):
    """
    The AlertID counter of the C{AlertIDFile} at C{path}, shared by every
    user of that file in this process.

    Two counters on one file would each resume at the persisted end and
    hand out the same numbers: every module that draws IDMEF messageids
    from an AlertIDFile (C{mice_mod_pop_aa_regex}, the LogIDS agent, two
    pipelines of one BufferDaemon) takes its counter from here instead.
    Users are told apart by nothing: each gets its own handle, and the
    numbers of all of them are unique, in this run and across restarts.
    The file is kept by its real path, so C{a/../alertid} or a symbolic
    link to it is the same counter.  Not thread-safe: use it from one
    thread (the reactor's).

    @param start: this user's C{AlertID} (the first number ever used): the
        counter hands out nothing below the largest C{start} of its users.
    @param block: how many numbers are reserved per save
        (L{AlertCounter}); the first user's is kept.
    @return: a L{SharedAlertCounter}: C{next()}, and C{close()}, which
        persists the exact position once the last user of the file closed.
    @raise ValueError: the file holds no counter.
    """
    key = os.path.realpath(path)
    entry = _sharedCounters.get(key)
    if entry is None:
        entry = _SharedEntry(AlertCounter(AlertIdFile(path), start, block))
        _sharedCounters[key] = entry
    else:
        entry.counter.skipTo(start)
    entry.users += 1
    return SharedAlertCounter(path, key, entry)


class SharedAlertCounter:
    """
    One user's handle on a counter of L{sharedAlertCounter}.

    @ivar path: the file, as this user named it.
    """

    def __init__(self, path, key, entry):
        self.path = path
        self._key = key
        self._entry = entry

    @property
    def closed(self):
        return self._entry is None

    def next(self):
        """
        A number no other user, no earlier run and no earlier call has returned.

        @raise ValueError: this handle is closed.
        """
        if self._entry is None:
            raise ValueError(f"{self.path}: this AlertID counter is closed")
        return self._entry.counter.next()

    def close(self):
        """
        Done with the counter (again: nothing).  The last user's close
        persists where the counter stands (L{AlertCounter.close}); the next
        L{sharedAlertCounter} of the file resumes there.
        """
        entry, self._entry = self._entry, None
        if entry is None:
            return
        entry.users -= 1
        if entry.users == 0:
            # Gone from the registry first: should the save fail, the next
            # user loads the end of the block reserved, above every number given.
            if _sharedCounters.get(self._key) is entry:
                del _sharedCounters[self._key]
            entry.counter.close()


class AlertIdFile:
    """
    L{AlertCounter}'s store: the number in C{AlertIDFile}, replaced
    atomically (a temporary file, fsync, rename, fsync of the directory),
    so the file holds either the old number or the new, never a torn one.
    """

    def __init__(self, path):
        self.path = path
        self._lock = None

    def lock(self):
        """
        Hold C{path.lock} (C{flock}) while a counter counts in this file
        (L{AlertCounter} takes it, its C{close} lets it go): two processes
        counting in one file would hand out the same numbers.  The kernel
        drops the lock when the process dies, however it dies.

        @raise ValueError: another process holds it.
        """
        if self._lock is not None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"{self.path}: this AlertIDFile is in use by another process"
                             f" (pid {holder}); give each agent its own") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._lock = fd

    def close(self):
        """Let another process count in this file."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def load(self):
        try:
            with open(self.path, encoding="ascii") as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        try:
            return int(text, 0)
        except ValueError:
            raise ValueError(f"{self.path}: not an AlertID counter: {text[:40]!r}") from None

    def save(self, value):
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{self.path}.tmp{os.getpid()}"
        with open(temporary, "w", encoding="ascii") as f:
            f.write(f"{value}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class MemoryAlertIdStore:
    """
    An L{AlertIdFile} in memory, for tests and C{mice analyze} without a file.
    """

    def __init__(self, value=None):
        self.value = value
        self.saves = []

    def load(self):
        return self.value

    def save(self, value):
        self.value = value
        self.saves.append(value)



class PrefixedCounter:
    """
    A counter whose ids are C{PREFIX-N}: C{[IDMEF_INFO] Instance}, so that
    analysis agents competing for one broker queue, each with its own
    AlertIDFile, never hand out the same messageid.
    """

    def __init__(self, counter, prefix):
        self.counter = counter
        self.prefix = prefix

    def next(self):
        return f"{self.prefix}-{self.counter.next()}"

    def close(self):
        self.counter.close()
