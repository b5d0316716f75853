# -*- test-case-name: tests.unit.protocols.test_guard -*-
"""
Connection hygiene for any listener: a wrapping factory that applies an
L{AdmissionPolicy} (L{mice.protocols.admission}).

Wrap the outermost factory a port listens with (outside TLS, so that a
refused connection costs no TLS object)::

    port = endpoint.listen(GuardFactory(factory, reactor, AdmissionPolicy(limits),
                                        name="BufferDaemon"))

and tell the guard when a connection's peer has authenticated, from the
protocol that knows (the link protocol does it when the M-ICE hello is
accepted, which comes after the pre-shared-key handshake or TLS)::

    markAuthenticated(self.transport)

C{markAuthenticated} reaches the guard through any wrapper between them
(L{twisted.protocols.tls.TLSMemoryBIOProtocol} passes unknown attributes on
to its own transport), and does nothing when there is no guard.  A listener
whose protocol has no authentication of its own (a web page with a login
form) passes C{requireAuthentication=False}: its connections count as
authenticated from the start, so only the limits and the idle timeout apply.

The guard:
  - refuses at once (C{buildProtocol} returns C{None}, Twisted closes the
    socket) what the policy refuses, with the number of free file
    descriptors from L{OpenFiles};
  - closes (aborts: a peer that does not read cannot hold the socket with
    unsent bytes) a connection that has not authenticated within the
    handshake timeout, and an authenticated one that has sent nothing for
    the idle timeout (the clock stops while the server itself has paused
    reading it);
  - logs the policy's warnings and, every interval, its summaries.

Twisted's own last resort stays underneath: when C{accept} fails with
C{EMFILE}, its port releases a spare descriptor, accepts and closes what
waits, and logs that at info level.  The fd reserve is there so that this
does not happen.
"""

import errno
import os
import sys

from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from mice.protocols.admission import AdmissionPolicy

log = Logger()

try:
    import resource
except ImportError:  # pragma: no cover (not POSIX)
    resource = None


def softFileLimit():
    """
    The process's soft limit of open files, or C{None} if it has none we
    can read.
    """
    if resource is None:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def countOpenFiles():
    """
    How many file descriptors this process has open, from C{/proc/self/fd}
    (Linux) or C{/dev/fd} (the BSDs, macOS); C{None} where neither lists
    them; C{sys.maxsize} when there is no descriptor left to look with.
    """
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            # The listing holds one descriptor of its own while it runs.
            return len(os.listdir(directory)) - 1
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE):
                return sys.maxsize
    return None


class OpenFiles:
    """
    How many more file descriptors the process may open.

    Counting them lists a directory of a thousand entries when a thousand
    are open: that is done at most once per C{refresh} seconds, and kept up
    to date in between with the guarded connections opened and closed
    since (L{opened}, L{closed}).  One instance serves every guard of a
    process (L{processOpenFiles}).
    """

    def __init__(self, limit=None, count=countOpenFiles, refresh=1.0):
        self.limit = softFileLimit() if limit is None else limit
        self._count = count
        self.refresh = refresh
        self._measured = None
        self._measuredAt = None
        self._since = 0

    def opened(self):
        self._since += 1

    def closed(self):
        self._since -= 1

    def inUse(self, now):
        """
        @return: the descriptors open, or C{None} if they cannot be counted.
        """
        at = self._measuredAt
        if at is None or not 0 <= now - at < self.refresh:
            measured = self._count()
            if measured is None:
                return None
            self._measured, self._measuredAt, self._since = measured, now, 0
        return self._measured + self._since

    def free(self, now):
        """
        @return: how many more may be opened, or C{None} if unknown.
        """
        if self.limit is None:
            return None
        used = self.inUse(now)
        return None if used is None else self.limit - used


_processOpenFiles = None


def processOpenFiles():
    """
    The L{OpenFiles} every guard of this process shares.
    """
    global _processOpenFiles
    if _processOpenFiles is None:
        _processOpenFiles = OpenFiles()
    return _processOpenFiles


def markAuthenticated(transport):
    """
    Tell the guard under C{transport} (if any) that the peer has
    authenticated: its handshake deadline is lifted and its idle timeout
    starts.
    """
    mark = getattr(transport, "peerAuthenticated", None)
    if mark is not None:
        mark()


def reportProblem(transport, text):
    """
    Have the guard under C{transport} log C{text} (why the connection is
    being closed, naming the peer) at warning level, once per peer per
    interval with the rest summed up: anyone who can connect can cause one
    such line per connection.

    @return: whether there was a guard to take it (if not, log it yourself).
    """
    report = getattr(transport, "peerProblem", None)
    if report is None:
        return False
    report(text)
    return True


class GuardedProtocol(ProtocolWrapper):
    """
    One admitted connection: the transport of the protocol it wraps, with
    the handshake and idle clocks.
    """

    def __init__(self, factory, wrappedProtocol, admitted):
        super().__init__(factory, wrappedProtocol)
        self.admitted = admitted
        self._timer = None
        self._lastReceived = None
        self._readingPaused = False
        self._lost = False

    def makeConnection(self, transport):
        factory = self.factory
        if factory.requireAuthentication:
            self._timer = factory.clock.callLater(factory.policy.limits.handshakeTimeout,
                                                  self._handshakeExpired)
        else:
            self._authenticated()
        super().makeConnection(transport)

    def dataReceived(self, data):
        if self.admitted.authenticated:
            self._lastReceived = self.factory.clock.seconds()
        self.wrappedProtocol.dataReceived(data)

    def peerAuthenticated(self):
        """
        See L{markAuthenticated}.
        """
        if self.admitted.authenticated or self._lost:
            return
        self._cancelTimer()
        self._authenticated()

    def _authenticated(self):
        factory = self.factory
        now = factory.clock.seconds()
        factory.policy.authenticated(self.admitted, now)
        self._lastReceived = now
        self._timer = factory.clock.callLater(factory.policy.limits.idleTimeout,
                                              self._idleCheck)

    def peerProblem(self, text):
        """
        See L{reportProblem}.
        """
        factory = self.factory
        factory.logNotices(factory.policy.problem(self.admitted, factory.clock.seconds(), text))

    def pauseProducing(self):
        self._readingPaused = True
        self.transport.pauseProducing()

    def resumeProducing(self):
        self._readingPaused = False
        if self.admitted.authenticated:
            # Time the server did not read is not the peer's silence.
            self._lastReceived = self.factory.clock.seconds()
        self.transport.resumeProducing()

    def _handshakeExpired(self):
        self._timer = None
        factory = self.factory
        factory.logNotices(factory.policy.handshakeTimedOut(self.admitted,
                                                            factory.clock.seconds()))
        self._abort()

    def _idleCheck(self):
        factory = self.factory
        clock, idle = factory.clock, factory.policy.limits.idleTimeout
        now = clock.seconds()
        quiet = now - self._lastReceived
        if self._readingPaused or quiet < idle:
            self._timer = clock.callLater(idle if self._readingPaused else idle - quiet,
                                          self._idleCheck)
            return
        self._timer = None
        factory.logNotices(factory.policy.idleTimedOut(self.admitted, now))
        self._abort()

    def _abort(self):
        self.disconnecting = True
        self.transport.abortConnection()

    def _cancelTimer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def connectionLost(self, reason):
        if self._lost:
            return
        self._lost = True
        self._cancelTimer()
        self.factory.connectionClosed(self)
        super().connectionLost(reason)


class GuardFactory(WrappingFactory):
    """
    Wraps a listener's factory: see the module docstring.

    @param clock: the reactor, or a L{twisted.internet.task.Clock}.
    @param policy: the L{AdmissionPolicy} (one per listener, or shared by
        listeners that share the limits).
    @param openFiles: an L{OpenFiles}; the process's by default.
    @param name: what the logs call this listener.
    """

    protocol = GuardedProtocol
    noisy = False

    def __init__(self, wrappedFactory, clock, policy=None, openFiles=None,
                 requireAuthentication=True, name="listener"):
        super().__init__(wrappedFactory)
        self.clock = clock
        self.policy = policy if policy is not None else AdmissionPolicy()
        self.openFiles = openFiles if openFiles is not None else processOpenFiles()
        self.requireAuthentication = requireAuthentication
        self.name = name
        self._summaries = None

    def counters(self):
        """
        The policy's counters (see L{AdmissionPolicy.counters}).
        """
        return self.policy.counters()

    def startFactory(self):
        limits = self.policy.limits
        self._summaries = LoopingCall(self._logDue)
        self._summaries.clock = self.clock
        self._summaries.start(limits.warnInterval, now=False)
        fileLimit = self.openFiles.limit
        log.info("{listener}: at most {maxConnections} connections ({maxPerPeer} per peer,"
                 " {maxPending} in handshake from new peers), {handshake:g} s to authenticate,"
                 " {idle:g} s idle; {fdReserve} of {fileLimit} file descriptors in reserve",
                 listener=self.name, maxConnections=limits.maxConnections,
                 maxPerPeer=limits.maxPerPeer, maxPending=limits.maxPending,
                 handshake=limits.handshakeTimeout, idle=limits.idleTimeout,
                 fdReserve=limits.fdReserve, fileLimit=fileLimit or "unlimited")
        if fileLimit is not None and limits.maxConnections + limits.fdReserve > fileLimit:
            log.warn("{listener}: MAXCONN ({maxConnections}) and FD_RESERVE ({fdReserve})"
                     " exceed the open-file limit ({fileLimit}): the reserve will refuse"
                     " new peers before MAXCONN is reached; raise the limit (LimitNOFILE="
                     " in a systemd unit, ulimit -n) or lower MAXCONN",
                     listener=self.name, maxConnections=limits.maxConnections,
                     fdReserve=limits.fdReserve, fileLimit=fileLimit)

    def stopFactory(self):
        if self._summaries is not None and self._summaries.running:
            self._summaries.stop()
        self._summaries = None
        self.logNotices(self.policy.summaries(self.clock.seconds()))

    def _logDue(self):
        self.logNotices(self.policy.due(self.clock.seconds()))

    def logNotices(self, notices):
        for notice in notices:
            log.warn("{listener}: {text}", listener=self.name, text=notice.text,
                     event=notice.event, peer=notice.peer, count=notice.count)

    def buildProtocol(self, addr):
        now = self.clock.seconds()
        decision = self.policy.admit(getattr(addr, "host", None), now, self.openFiles.free(now))
        self.logNotices(decision.notices)
        admitted = decision.admitted
        if admitted is None:
            return None
        try:
            wrapped = self.wrappedFactory.buildProtocol(addr)
        except BaseException:
            self.policy.closed(admitted)
            raise
        if wrapped is None:
            self.policy.closed(admitted)
            return None
        self.openFiles.opened()
        return self.protocol(self, wrapped, admitted)

    def connectionClosed(self, protocol):
        """
        Called by a L{GuardedProtocol} when its connection is gone.
        """
        self.policy.closed(protocol.admitted)
        self.openFiles.closed()
