# -*- test-case-name: tests.integration.test_reactors -*-
"""
Reaction 3, C{rid_3_save_to_file}: each alert's IDMEF document appended to
a file, one document per line (L{mice.reactors.framing.documentLine}).

Safe to follow and to rotate:

 - each line (document and newline) goes out in one C{write} on a file
   opened C{O_APPEND}, so lines never interleave or split; a short write
   (the disk is full) is cut off again (C{ftruncate}) and the job fails, to
   be retried; a line left without its newline by a power cut is cut off
   when the file is next opened (or, if no newline is near, ended with one);
 - before each write the path is checked against the open file (device and
   inode): a file moved away (logrotate's default) or deleted is closed and
   a new one created at the path, with C{MODE} (0640 by default, whatever
   the umask; a missing directory is made, 0750); L{SaveToFile.reopen} does the same on demand: the
   ManagementHost calls it on SIGHUP;
 - C{copytruncate} rotation works too: with C{O_APPEND} the next line goes
   at the new end.

Repeats: the keys and the documents (a digest of each line) of the last
C{REMEMBER} alerts are remembered, seeded at start from the lines at the
end of the file, so the service's repeat of a job after a crash (it wrote
the line, then died before recording the job done) writes nothing.  A
repeat can still duplicate a document when the file was rotated in
between, or when more than C{REMEMBER} alerts went by.

The writes are plain blocking system calls in the reactor thread, as
Twisted's own log files do: appending a few kilobytes to a local file does
not wait for the disk (unless C{SYNC = yes}).
"""

import errno
import os
import stat
from collections import OrderedDict
from hashlib import blake2b

from twisted.internet.defer import fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from mice.interfaces import IReaction, ReactionRefused
from mice.reactors.framing import FramingError, documentLine

#: How much of the end of the file is read when it is opened, to remember
#: the documents already there and to find a line left unfinished.
TAIL_BYTES = 1024 * 1024


class NotAFile(OSError):
    """
    The path names something that is not a regular file.
    """


def _digest(line):
    return blake2b(line, digest_size=16).digest()


class _Recent:
    """
    A bounded set remembering the last C{size} items added.
    """

    def __init__(self, size):
        self.size = size
        self._items = OrderedDict()

    def __contains__(self, item):
        return item in self._items

    def add(self, item):
        if self.size <= 0:
            return
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)


@implementer(IReaction)
class SaveToFile:
    """
    Appends each alert's document to C{path} as one line.

    @ivar written: documents appended.
    @ivar repeats: documents not appended because they were already there.
    @ivar failed: jobs failed (each is retried by the reaction service).
    """

    log = Logger()

    def __init__(self, pipe, path, mode=0o640, remember=4096, sync=False):
        self.pipe = pipe
        self.path = os.path.abspath(path)
        self.mode = mode
        self.sync = sync
        self._keys = _Recent(remember)
        self._lines = _Recent(remember)
        self._fd = None
        self._identity = None
        self.written = 0
        self.repeats = 0
        self.failed = 0

    # -- opening ---------------------------------------------------------------

    def start(self):
        """
        Open (or create) the file now, so a wrong path stops the
        ManagementHost at start-up with a clear error.
        """
        self._open()

    def reopen(self):
        """
        Close the file and open the path again (after a rotation: the
        ManagementHost calls this on SIGHUP).  A failure is logged; the next
        alert tries again.
        """
        self._close()
        try:
            self._open()
        except OSError as e:
            self.log.warn("save to file: cannot reopen {path}: {why}", path=self.path,
                          why=e.strerror or str(e))

    def _open(self):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, self.mode)
            created = True
        except FileExistsError:
            fd = os.open(self.path, flags)
            created = False
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise NotAFile(errno.EINVAL, f"{self.path} is not a regular file")
            if created:
                os.fchmod(fd, self.mode)
            self._repairAndRemember(fd, info.st_size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._identity = (info.st_dev, info.st_ino)
        if created:
            self.log.info("save to file: created {path}", path=self.path)

    def _repairAndRemember(self, fd, size):
        """
        Remember the documents at the end of the file; cut off a last line
        left without its newline.
        """
        if size == 0:
            return
        offset = max(0, size - TAIL_BYTES)
        tail = os.pread(fd, size - offset, offset)
        if not tail.endswith(b"\n"):
            last = tail.rfind(b"\n")
            if last >= 0:
                os.ftruncate(fd, offset + last + 1)
                self.log.warn("save to file: cut off {count} bytes of an unfinished line at"
                              " the end of {path}", count=len(tail) - last - 1, path=self.path)
                tail = tail[:last + 1]
            else:
                os.write(fd, b"\n")
                self.log.warn("save to file: ended the unfinished last line of {path}",
                              path=self.path)
                return
        lines = tail.split(b"\n")[:-1]
        if offset > 0:
            lines = lines[1:]
        for line in lines[-self._lines.size:] if self._lines.size > 0 else ():
            self._lines.add(_digest(line + b"\n"))

    def _close(self):
        if self._fd is not None:
            fd, self._fd, self._identity = self._fd, None, None
            try:
                os.close(fd)
            except OSError:
                pass

    def _current(self):
        """
        The open file, after making sure it is still the one at the path.
        """
        if self._fd is not None:
            try:
                info = os.stat(self.path)
            except FileNotFoundError:
                info = None
            if info is None or (info.st_dev, info.st_ino) != self._identity:
                self.log.info("save to file: {path} was {what}; starting a new file",
                              path=self.path, what="deleted" if info is None else "replaced")
                self._close()
        if self._fd is None:
            self._open()
        return self._fd

    # -- writing ---------------------------------------------------------------

    def react(self, routed):
        try:
            line = documentLine(routed.document) + b"\n"
        except FramingError as e:
            self.failed += 1
            return fail(ReactionRefused(str(e)))
        digest = _digest(line)
        if routed.key in self._keys or digest in self._lines:
            self.repeats += 1
            self._keys.add(routed.key)
            return succeed(f"already in {self.path} (a repeat)")
        try:
            self._append(line)
        except OSError as e:
            self.failed += 1
            return fail(e)
        self._keys.add(routed.key)
        self._lines.add(digest)
        self.written += 1
        return succeed(f"appended {len(line)} bytes to {self.path}")

    #: Alerts the reaction queue hands L{reactBatch} at a time.
    batchLimit = 500

    def reactBatch(self, routedAlerts):
        """
        L{react} for many alerts: their new documents appended with one
        write (and one C{fsync} with C{SYNC}); the reaction queue's way to
        run this agent.

        @return: a L{Deferred} firing with each alert's outcome, in order:
            its text, or a L{Failure} (refused, or the write failed).
        """
        return succeed(self.reactNow(routedAlerts))

    def reactNow(self, routedAlerts):
        """
        L{reactBatch}, done at once: the outcomes themselves (the
        ManagementHost journals them with their alerts).
        """
        outcomes = [None] * len(routedAlerts)
        lines, appended, keys, digests = [], [], set(), set()
        for index, routed in enumerate(routedAlerts):
            try:
                line = documentLine(routed.document) + b"\n"
            except FramingError as e:
                self.failed += 1
                outcomes[index] = Failure(ReactionRefused(str(e)))
                continue
            digest = _digest(line)
            key = routed.key
            if key in self._keys or digest in self._lines or key in keys or digest in digests:
                self.repeats += 1
                self._keys.add(key)
                outcomes[index] = f"already in {self.path} (a repeat)"
                continue
            keys.add(key)
            digests.add(digest)
            lines.append(line)
            appended.append((index, key, digest, len(line)))
        if lines:
            try:
                self._append(b"".join(lines))
            except OSError as e:
                self.failed += len(appended)
                failure = Failure(e)
                for index, _, _, _ in appended:
                    outcomes[index] = failure
                return outcomes
            for index, key, digest, size in appended:
                self._keys.add(key)
                self._lines.add(digest)
                outcomes[index] = f"appended {size} bytes to {self.path}"
            self.written += len(appended)
        return outcomes

    def _append(self, line):
        fd = self._current()
        try:
            done = os.write(fd, line)
        except OSError:
            self._close()
            raise
        if done != len(line):
            # Never leave half a document for the next one to follow.
            try:
                os.ftruncate(fd, os.fstat(fd).st_size - done)
            finally:
                self._close()
            raise OSError(errno.ENOSPC, f"{self.path}: only {done} of {len(line)} bytes"
                                        " written (disk full?); cut off, to be retried")
        if self.sync:
            os.fsync(fd)

    def stop(self):
        self._close()


def build(pipe, configPath, reactor, pipePath):
    """
    The save-to-file reaction for C{pipe}, configured by C{configPath}
    (C{None}: the defaults of L{mice.config.SaveToFileSettings}, and the file
    C{<pipe>.idmef} in C{pipePath}).
    """
    from mice.config import loadSaveToFile

    settings = loadSaveToFile(configPath)
    path = settings.file
    if path is None:
        path = os.path.join(pipePath or os.getcwd(), f"{pipe}.idmef")
        SaveToFile.log.warn("save to file: no PATH configured for {pipe}; writing to {path}",
                            pipe=pipe, path=path)
    return SaveToFile(pipe, path, mode=settings.mode, remember=settings.remember,
                      sync=settings.sync)
