# -*- test-case-name: tests.unit.reactors.test_external,tests.integration.test_reactors -*-
"""
External reaction programs, as in the original M-ICE: every pipe name of
C{mice_mod_pop_act_generic.conf} that is not one of the built-in reactions
is a FIFO, C{PIPE_PATH/PIPE}, from which a program of the operator's reads
one record per alert (L{mice.reactors.framing.fifoRecord}: a header line,
the IDMEF document, a NUL byte; C{docs/reactions.rst} has readers in sh and
Python, and C{python -m mice.reactors.fiforeader} is one).

The ManagementHost never blocks on the FIFO:

 - it is opened C{O_WRONLY|O_NONBLOCK}: with no reader attached that fails
   at once (C{ENXIO}) and so does the job, which the reaction service
   retries with backoff;
 - writes are non-blocking, driven by the reactor (L{_FifoConnection} is an
   C{IWriteDescriptor}): a slow reader gets what the pipe takes and the
   rest when it has room; at most C{MAXHELD} records are held in memory
   (more fail at once: the journal keeps the jobs), and records that make
   no progress for C{TIMEOUT} seconds fail;
 - a record is done once the reader has read it from the pipe, not when
   it is written into it: the pipe's unread byte count (C{FIONREAD}) is
   watched while records wait there (from the next turn of the reactor
   on, then less and less often, every 20 ms at most while the reader
   reads nothing), so records a reader never read when
   it died are not lost but fail and are retried;
 - a reader that goes away (C{EPIPE}, or the pipe's error event) fails the
   records held, the one being written too; they are retried.

Records are never interleaved, and a reader can always tell a whole record
from what is left of one cut short: a record of at most C{PIPE_BUF} (4096)
bytes is written in one atomic C{write}; a longer one may go in pieces, and
when it is cut short (the reader went away or stalled, the ManagementHost
stopped or died) our end is closed, so the reader sees the end of the
stream; the next connection starts with a NUL, which ends whatever a
reader that kept the FIFO open still held, and every header gives the
document's length, so a reader drops a record whose document is shorter.

A repeat (the service calls L{FifoReaction.react} again after a crash
before the job was recorded done, or after a record was cut short) is the
same record again, with the same C{key} in its header: the reader drops
keys it has done if a second run would matter.
"""

import errno
import fcntl
import os
import select
import stat
import struct
import termios
from collections import deque

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IWriteDescriptor
from twisted.logger import Logger
from zope.interface import implementer

from mice.interfaces import IReaction, ReactionRefused
from mice.protocols.rounds import Rounds
from mice.reactors.framing import NUL, FramingError, fifoRecord

#: How long L{FifoReaction.stop} lets the reader take the records under way.
STOP_GRACE = 5.0

#: How often, at most, the pipe is looked at while records wait in it for
#: the reader: at once on the next turn of the reactor, then after 0.5 ms,
#: doubling up to this while the reader reads nothing.
POLL_INTERVAL = 0.02
_FIRST_POLL = 0.0005


class NotAFifo(OSError):
    """
    The path of a reaction's FIFO names something else.
    """


class FifoUnavailable(Exception):
    """
    A record could not be handed to the reader now; the job is retried.
    """


class PosixFifos:
    """
    The system calls a L{FifoReaction} makes (a test passes a fake).
    """

    def ensure(self, path, mode):
        """
        Make the FIFO at C{path} (and its directory) if missing, with
        C{mode}; refuse anything else at that path.

        @return: C{True} if it was made.
        @raise NotAFifo: something else is there.
        """
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750, exist_ok=True)
        try:
            os.mkfifo(path, mode)
        except FileExistsError:
            info = os.stat(path)
            if not stat.S_ISFIFO(info.st_mode):
                raise NotAFifo(errno.EEXIST, f"{path} exists and is not a FIFO; refusing to"
                                             " write alerts into it") from None
            if stat.S_IMODE(info.st_mode) != mode and info.st_uid == os.geteuid():
                os.chmod(path, mode)
                info = os.stat(path)
            if stat.S_IMODE(info.st_mode) & 0o007:
                raise NotAFifo(errno.EPERM, f"{path} is a FIFO others may open (mode"
                                            f" 0{stat.S_IMODE(info.st_mode):o}) and not ours to"
                                            " change: anyone could read the alerts or forge"
                                            " them; refusing to use it") from None
            return False
        os.chmod(path, mode)
        return True

    def open(self, path):
        """
        @return: a non-blocking file descriptor writing to the FIFO.
        @raise OSError: C{ENXIO} when no reader has it open.
        """
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                raise NotAFifo(errno.EINVAL, f"{path} is not a FIFO")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write(self, fd, data):
        return os.write(fd, data)

    def unread(self, fd):
        """
        Bytes in the pipe that no reader has read yet.
        """
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]

    def readerGone(self, fd):
        """
        Whether the pipe has no reader any more (its error event).
        """
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))

    def close(self, fd):
        os.close(fd)


@implementer(IWriteDescriptor)
class _FifoConnection:
    """
    Our open end of the FIFO, as the reactor sees it while records wait for
    room in the pipe.
    """

    def __init__(self, fd, owner):
        self.fd = fd
        self.owner = owner

    def fileno(self):
        return self.fd

    def doWrite(self):
        self.owner._pump()

    def connectionLost(self, reason):
        self.owner._lose(self, f"the reader went away ({reason.getErrorMessage()})")

    def logPrefix(self):
        return f"fifo {self.owner.path}"


class _Record:
    __slots__ = ("data", "written", "end", "done")

    def __init__(self, data):
        self.data = data
        self.written = 0
        self.end = None
        self.done = Deferred()


@implementer(IReaction)
class FifoReaction:
    """
    Feeds an external reaction program through its FIFO.

    @ivar written: records written whole and read by the reader.
    @ivar failed: jobs failed (no reader, reader gone or stalled, too many
        held); each is retried by the reaction service.
    @ivar refused: jobs refused for good (a document that cannot be framed).
    """

    log = Logger()

    def __init__(self, pipe, path, reactor, mode=0o600, maxHeld=256, timeout=30.0,
                 fifos=None):
        self.pipe = pipe
        self.path = os.path.abspath(path)
        self.reactor = reactor
        self.mode = mode
        self.maxHeld = maxHeld
        self.timeout = timeout
        self.fifos = fifos if fifos is not None else PosixFifos()
        self._queue = deque()
        self._unread = deque()
        self._sent = 0
        self._poll = None
        self._pollDelay = 0.0
        self._connection = None
        self._registered = False
        self._newConnection = False
        self._pumps = Rounds(self._pumpOnce)
        self._watchdog = None
        self._progress = 0.0
        self._stopping = False
        self._stopped = None
        self.written = 0
        self.failed = 0
        self.refused = 0

    @property
    def held(self):
        """
        Records in memory: waiting to be written, being written, or written
        and not read yet.
        """
        return len(self._queue) + len(self._unread)

    def start(self):
        """
        Make the FIFO if it is missing.

        @raise NotAFifo: something else is at its path: alerts are never
            written into a file or device by mistake.
        """
        if self.fifos.ensure(self.path, self.mode):
            self.log.info("reaction {pipe}: made the FIFO {path}", pipe=self.pipe, path=self.path)

    def react(self, routed):
        if self._stopping:
            self.failed += 1
            return fail(FifoUnavailable(f"{self.path}: the ManagementHost is stopping"))
        try:
            data = fifoRecord(routed)
        except FramingError as e:
            self.refused += 1
            return fail(ReactionRefused(str(e)))
        if self.held >= self.maxHeld:
            self.failed += 1
            return fail(FifoUnavailable(f"{self.path}: {self.held} records already wait for"
                                        " the reader"))
        record = _Record(data)
        self._queue.append(record)
        self._pump()
        return record.done

    # -- the connection ------------------------------------------------------

    def _connect(self):
        try:
            fd = self.fifos.open(self.path)
        except FileNotFoundError:
            # Deleted under us: make it again (no reader can have it open yet).
            self.fifos.ensure(self.path, self.mode)
            fd = self.fifos.open(self.path)
        self._connection = _FifoConnection(fd, self)
        self._newConnection = True
        self._sent = 0
        self._progress = self.reactor.seconds()
        self.log.info("reaction {pipe}: a reader has {path} open", pipe=self.pipe,
                      path=self.path)

    def _lose(self, connection, why):
        """
        Close C{connection}: the records the reader read are done, every
        other one held fails (the reader went away or stalled, or we are
        stopping).  The lists are settled before any callback runs, so a
        caller reacting again from one starts afresh.
        """
        if connection is not self._connection:
            return
        self._connection = None
        if self._registered:
            self._registered = False
            self.reactor.removeWriter(connection)
        self._cancelTimers()
        unread, queued = list(self._unread), list(self._queue)
        self._unread, self._queue = deque(), deque()
        read = []
        try:
            consumed = self._sent - self.fifos.unread(connection.fd)
        except OSError:
            consumed = 0
        while unread and unread[0].end <= consumed:
            read.append(unread.pop(0))
        try:
            self.fifos.close(connection.fd)
        except OSError:
            pass
        failed = unread + queued
        if failed:
            self.log.warn("reaction {pipe}: {why}; {count} record(s) to retry", pipe=self.pipe,
                          why=why, count=len(failed))
        for record in read:
            self.written += 1
            record.done.callback(f"read from {self.path} ({len(record.data)} bytes)")
        for record in failed:
            self.failed += 1
            record.done.errback(FifoUnavailable(f"{self.path}: {why}"))

    def _failAll(self, why):
        failed = [*self._unread, *self._queue]
        self._queue, self._unread = deque(), deque()
        self._cancelTimers()
        for record in failed:
            self.failed += 1
            record.done.errback(FifoUnavailable(why))

    # -- writing ---------------------------------------------------------------

    def _pump(self):
        """
        Write what the pipe takes now; wait for room for the rest.
        """
        if self._pumps():
            self._schedule()

    def _pumpOnce(self):
        self._writeSome()
        self._checkRead()

    def _writeSome(self):
        while self._queue:
            if self._connection is None:
                try:
                    self._connect()
                except OSError as e:
                    reason = ("no reader has it open" if e.errno == errno.ENXIO
                              else e.strerror or str(e))
                    self._failAll(f"{self.path}: {reason}")
                    return
            connection = self._connection
            record = self._queue[0]
            if self._newConnection and record.written == 0:
                # A NUL first on each connection ends whatever a reader kept
                # of a record cut short on the last one.
                record.data = NUL + record.data
                self._newConnection = False
            try:
                count = self.fifos.write(connection.fd, memoryview(record.data)[record.written:])
            except BlockingIOError:
                return
            except OSError as e:
                why = ("the reader went away" if e.errno == errno.EPIPE
                       else f"write failed: {e.strerror or e}")
                self._lose(connection, why)
                return
            if count > 0:
                self._progress = self.reactor.seconds()
            record.written += count
            self._sent += count
            if record.written >= len(record.data):
                self._queue.popleft()
                record.end = self._sent
                self._unread.append(record)
            elif count == 0:
                return

    def _checkRead(self):
        """
        Fire the records the reader has read: those that end at or before
        the bytes written less those still unread in the pipe.
        """
        if not self._unread or self._connection is None:
            return
        try:
            consumed = self._sent - self.fifos.unread(self._connection.fd)
        except OSError as e:
            self._lose(self._connection, f"cannot look into the pipe: {e.strerror or e}")
            return
        while self._unread and self._unread[0].end <= consumed:
            record = self._unread.popleft()
            self._progress = self.reactor.seconds()
            self._pollDelay = 0.0
            self.written += 1
            record.done.callback(f"read from {self.path} ({len(record.data)} bytes)")

    def _schedule(self):
        """
        While records wait: have the reactor say when the pipe has room for
        the next, look at the pipe every L{POLL_INTERVAL} seconds for those
        written and not read yet, and give up after C{timeout} seconds
        without progress.
        """
        connection = self._connection
        if connection is None or not self.held:
            self._cancelTimers()
            if self._registered and connection is not None:
                self._registered = False
                self.reactor.removeWriter(connection)
            if self._stopped is not None and not self.held:
                self._finishStopping()
            return
        if self._queue and not self._registered:
            self._registered = True
            self.reactor.addWriter(connection)
        elif not self._queue and self._registered:
            self._registered = False
            self.reactor.removeWriter(connection)
        if self._unread and self._poll is None:
            self._poll = self.reactor.callLater(self._pollDelay, self._lookAtPipe)
            self._pollDelay = min(POLL_INTERVAL, max(_FIRST_POLL, self._pollDelay * 2))
        if self._watchdog is None:
            self._watchdog = self.reactor.callLater(self.timeout, self._checkStalled)

    def _lookAtPipe(self):
        self._poll = None
        connection = self._connection
        if connection is None:
            return
        # What the reader read before it left is done: look at that first.
        self._checkRead()
        if self._connection is connection and self.fifos.readerGone(connection.fd):
            self._lose(connection, "the reader went away")
        self._schedule()

    def _checkStalled(self):
        self._watchdog = None
        if not self.held or self._connection is None:
            return
        idle = self.reactor.seconds() - self._progress
        if idle >= self.timeout:
            self._lose(self._connection, f"the reader took nothing for {idle:.0f} seconds")
            self._schedule()
        else:
            self._watchdog = self.reactor.callLater(self.timeout - idle, self._checkStalled)

    def _cancelTimers(self):
        for name in ("_watchdog", "_poll"):
            call = getattr(self, name)
            if call is not None:
                if call.active():
                    call.cancel()
                setattr(self, name, None)

    # -- stopping ------------------------------------------------------------

    def stop(self):
        """
        Take no more records; fail those not begun; give the reader up to
        L{STOP_GRACE} seconds to read those under way (one being written,
        those in the pipe), then close and fail what it has not read (it
        may still read them: a retry after the restart repeats them).
        """
        self._stopping = True
        begun = [record for record in self._queue if record.written > 0]
        waiting = [record for record in self._queue if record.written == 0]
        self._queue = deque(begun)
        for record in waiting:
            self.failed += 1
            record.done.errback(FifoUnavailable(f"{self.path}: the ManagementHost is stopping"))
        if not self.held:
            self._close()
            return succeed(None)
        self._stopped = Deferred()
        grace = self.reactor.callLater(min(STOP_GRACE, self.timeout), self._giveUp)
        self._stopped.addBoth(lambda result: grace.cancel() if grace.active() else None)
        return self._stopped

    def _giveUp(self):
        if self._connection is not None:
            self._lose(self._connection, "stopping with records the reader has not read")
        self._finishStopping()

    def _finishStopping(self):
        self._close()
        stopped, self._stopped = self._stopped, None
        if stopped is not None:
            stopped.callback(None)

    def _close(self):
        if self._connection is not None:
            self._lose(self._connection, "stopping")


def build(pipe, configPath, reactor, pipePath):
    """
    The external reaction of C{pipe}: its FIFO is C{PIPE_PATH/PIPE} (or the
    config's C{[FIFO] PATH}); C{configPath} is its C{<PIPE>.conf}, or
    C{None} for the defaults of L{mice.config.FifoReactionSettings}.
    """
    from mice.config import loadFifoReaction

    settings = loadFifoReaction(configPath)
    path = settings.fifo or os.path.join(pipePath or os.getcwd(), pipe)
    return FifoReaction(pipe, path, reactor, mode=settings.mode, maxHeld=settings.maxHeld,
                        timeout=settings.timeout)
