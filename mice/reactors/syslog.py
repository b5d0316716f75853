# -*- test-case-name: tests.unit.reactors.test_syslog,tests.integration.test_reactors -*-
"""
Reaction 1, C{rid_1_write_to_syslog}: one syslog line per alert.

The line (L{mice.reactors.syslogformat.formatAlert}) goes to the local
syslog socket (C{unix:/dev/log}, a datagram socket), or to a UDP or TCP
target; configured by C{rid_1_write_to_syslog.conf}
(L{mice.config.SyslogReactionSettings}).

When is a line done?  A datagram counts as done once the kernel took it; a
TCP line once it is handed to a connected transport whose buffer is not
full (syslog over TCP, RFC 6587, has no acknowledgement: lines in flight
when a connection breaks can be lost).  A local syslog socket whose queue
is full (C{/dev/log} holds C{net.unix.max_dgram_qlen} datagrams, 10 on a
bare kernel: a burst of alerts fills it) is waited on until the daemon has
read some, in order, for at most L{DatagramTarget.patience} seconds.
Everything else fails the job at once and the ManagementHost's reaction
service retries it with backoff: no syslog socket, a refused or
unreachable target, a receiver that reads nothing for that long, a TCP
target not connected within L{StreamTarget.patience} seconds or with a
full buffer.  Nothing waits without bound and nothing is held here but
the jobs in flight: the journal holds the jobs.

Datagrams are sent on a non-blocking socket of our own rather than
Twisted's datagram ports, which drop a datagram silently when the
receiver's queue is full (C{EAGAIN}); here that fails the job instead.

A repeat (the service calls L{SyslogReaction.react} again for a job it had
not recorded as done before a crash) is a second identical line but for
its timestamp: the same C{key="..."} field, by which a reader can drop it.
"""

import errno
import os
import re
import socket

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IPushProducer, IStreamClientEndpoint, IWriteDescriptor
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from mice.interfaces import IReaction
from mice.reactors.syslogformat import formatAlert, formatAlerts, frame, parseTarget


class SyslogUnavailable(Exception):
    """
    The line could not be handed over now; the job is retried.
    """


def _hostname(name):
    """
    C{name} fit for the HOSTNAME field: printable ASCII without spaces, at
    most 255 characters.
    """
    name = re.sub(r"[^!-~]", "-", name or "")[:255]
    return name or "-"


@implementer(IWriteDescriptor)
class _Writable:
    """
    What the reactor watches while a L{DatagramTarget}'s receiver has a full
    queue: told when the socket can take a datagram again.
    """

    def __init__(self, target, sock):
        self.target = target
        self.socket = sock

    def fileno(self):
        return self.socket.fileno()

    def doWrite(self):
        self.target._sendWaiting()

    def connectionLost(self, reason):
        self.target._failWaiting("closed")

    def logPrefix(self):
        return "syslog"


class DatagramTarget:
    """
    A connected, non-blocking datagram socket to a UNIX socket path or a UDP
    address; (re)connected when needed.

    A receiver whose queue is full (C{EAGAIN}) makes lines wait, in order,
    until the reactor says the socket is writable again, for at most
    L{patience} seconds from the last datagram the receiver took.
    """

    log = Logger()

    #: Seconds lines wait for a receiver whose queue is full to read again.
    patience = 5.0

    def __init__(self, kind, address, reactor):
        self.kind = kind
        self.address = address
        self.reactor = reactor
        self._socket = None
        self._waiting = []
        self._writable = None
        self._giveUp = None

    def __str__(self):
        if self.kind == "unix":
            return f"unix:{self.address}"
        host, port = self.address
        return f"udp:[{host}]:{port}" if ":" in host else f"udp:{host}:{port}"

    def start(self):
        """
        Try to connect now; a target that is not there yet is no error (the
        first job fails and is retried).
        """
        d = self._connect()
        d.addErrback(lambda f: self.log.warn("syslog target {target} not reachable yet: {why}",
                                             target=str(self), why=f.getErrorMessage()))
        return d

    def _resolve(self):
        if self.kind == "unix":
            return succeed((socket.AF_UNIX, self.address))
        host, port = self.address
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM,
                                      flags=socket.AI_NUMERICHOST)
            return succeed((info[0][0], info[0][4]))
        except socket.gaierror:
            pass
        d = self.reactor.resolve(host)
        d.addCallback(lambda ip: (socket.AF_INET, (ip, port)))
        return d

    def _connect(self):
        if self._socket is not None:
            return succeed(self._socket)

        def connect(resolved):
            family, address = resolved
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.connect(address)
            except OSError as e:
                sock.close()
                raise SyslogUnavailable(f"syslog target {self}: {e.strerror or e}") from None
            if self._socket is not None:
                sock.close()
            else:
                self._socket = sock
            return self._socket

        return self._resolve().addCallback(connect)

    def send(self, data):
        if self._waiting:
            # Behind lines that wait for the receiver: after them, in order.
            d = Deferred()
            self._waiting.append((d, data))
            return d
        return self._connect().addCallback(self._sendNow, data, True)

    def sendMany(self, datagrams):
        """
        L{send} each of C{datagrams}, in order: straight onto the socket
        while it takes them (no Deferred each); from the first the receiver
        has no room for (or any other error) on, through L{send}.

        @return: a L{Deferred} firing with a list: each datagram's length,
            or the L{Failure} of its L{send}.
        """
        now = self.sendNow(datagrams)
        sent = [len(data) for data in datagrams[:now]]
        if now == len(datagrams):
            return succeed(sent)
        # A full queue waits, a stale socket is connected again, anything
        # else fails: what L{send} does with one.
        return self._sendEach(datagrams[now:], sent)

    def sendNow(self, datagrams):
        """
        Send the first of C{datagrams} the socket takes at once, in order,
        and nothing after the first it does not (a full queue, an error, no
        socket yet, lines waiting): those are left to L{send}.

        @return: how many were sent.
        """
        sock = self._socket
        if sock is None or self._waiting:
            return 0
        sent = 0
        for data in datagrams:
            try:
                sock.send(data)
            except OSError:
                break
            sent += 1
        return sent

    def _sendEach(self, datagrams, sent=()):
        d = DeferredList([self.send(data) for data in datagrams], consumeErrors=True)
        return d.addCallback(lambda results: list(sent) + [value for _, value in results])

    def _wait(self, sock, data):
        """Hold C{data} until C{sock} is writable (L{patience} at most)."""
        d = Deferred()
        self._waiting.append((d, data))
        if self._writable is None:
            self._writable = _Writable(self, sock)
            self.reactor.addWriter(self._writable)
            self._giveUp = self.reactor.callLater(self.patience, self._failWaiting,
                                                  f"its queue is full (nothing read for"
                                                  f" {self.patience:g} s)")
        return d

    def _sendWaiting(self):
        sock = self._writable.socket
        sent = False
        while self._waiting:
            d, data = self._waiting[0]
            try:
                sock.send(data)
            except BlockingIOError:
                break
            except OSError as e:
                self._failWaiting(e.strerror or str(e))
                self.close()
                return
            self._waiting.pop(0)
            sent = True
            d.callback(len(data))
        if sent and self._giveUp is not None and self._giveUp.active():
            self._giveUp.reset(self.patience)
        if not self._waiting:
            self._stopWaiting()

    def _stopWaiting(self):
        if self._writable is not None:
            self.reactor.removeWriter(self._writable)
            self._writable = None
        if self._giveUp is not None and self._giveUp.active():
            self._giveUp.cancel()
        self._giveUp = None

    def _failWaiting(self, why):
        waiting, self._waiting = self._waiting, []
        self._stopWaiting()
        for d, _ in waiting:
            d.errback(SyslogUnavailable(f"syslog target {self}: {why}"))

    def _sendNow(self, sock, data, again):
        try:
            sock.send(data)
        except BlockingIOError:
            return self._wait(sock, data)
        except OSError as e:
            self.close()
            stale = e.errno in (errno.ECONNREFUSED, errno.ENOTCONN, errno.ECONNRESET, errno.EPIPE)
            if again and stale and self.kind == "unix":
                # The syslog daemon restarted and made a new socket: connect
                # to that one once before giving up.
                return self._connect().addCallback(self._sendNow, data, False)
            raise SyslogUnavailable(f"syslog target {self}: {e.strerror or e}") from None
        return len(data)

    def close(self):
        if self._waiting or self._writable is not None:
            self._failWaiting("closed")
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def stop(self):
        self.close()


@implementer(IPushProducer)
class _SyslogStream(Protocol):
    """
    One TCP connection to a syslog server.  It registers itself as the
    transport's producer only to learn when the transport's buffer is full.
    """

    paused = False

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self.factory.target._connected(self)

    def dataReceived(self, data):
        """
        A syslog server sends nothing; whatever it sends is ignored.
        """

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False

    def stopProducing(self):
        self.paused = True

    def connectionLost(self, reason):
        self.factory.target._lost(self, reason)


@implementer(IStreamClientEndpoint)
class _ReportingEndpoint:
    """
    An endpoint that tells its L{StreamTarget} when a connection attempt
    fails, before the L{ClientService} hears of it.
    """

    def __init__(self, endpoint, target):
        self.endpoint = endpoint
        self.target = target

    def __repr__(self):
        # ClientService's "Scheduling retry ... to connect {endpoint}" line.
        return f"syslog target {self.target.name}"

    def connect(self, factory):
        d = self.endpoint.connect(factory)
        d.addErrback(self.target._attemptFailed)
        return d


class StreamTarget:
    """
    A TCP syslog server, kept connected by a L{ClientService} that reconnects
    with backoff.

    Lines sent while not connected wait for the next connection for at most
    L{patience} seconds, and fail at once when that attempt fails.  The
    target keeps its own connection state and list of waiters instead of
    calling the service's C{whenConnected}: a caller may react again from
    a callback of ours, and the service's state machine refuses to be
    entered from inside its own transitions.
    """

    log = Logger()

    #: How long a line waits for a connection before its job fails.
    patience = 5.0

    def __init__(self, endpoint, name, reactor):
        self.name = name
        self.reactor = reactor
        factory = Factory.forProtocol(_SyslogStream)
        factory.target = self
        self.protocol = None
        self._waiting = []
        self.service = ClientService(_ReportingEndpoint(endpoint, self), factory, clock=reactor,
                                     retryPolicy=backoffPolicy(initialDelay=0.5, maxDelay=30.0))

    def __str__(self):
        return self.name

    def _connected(self, protocol):
        self.protocol = protocol
        self.log.info("syslog target {target} connected", target=self.name)
        # Our callers' callbacks run in a later turn: now the endpoint and
        # the service are still in the middle of connecting.
        self.reactor.callLater(0, self._sendWaiting)

    def _sendWaiting(self):
        if self.protocol is None:
            return
        waiting, self._waiting = self._waiting, []
        for d, data, timer in waiting:
            if timer.active():
                timer.cancel()
            try:
                written = self._write(self.protocol, data)
            except SyslogUnavailable:
                d.errback()
            else:
                d.callback(written)

    def _attemptFailed(self, failure):
        why = f"not connected ({failure.getErrorMessage()})"
        self.reactor.callLater(0, self._failWaiting, why)
        return failure

    def _lost(self, protocol, reason):
        if self.protocol is protocol:
            self.protocol = None
            self.log.info("syslog target {target} lost: {why}", target=self.name,
                          why=reason.getErrorMessage())

    def _failWaiting(self, why):
        waiting, self._waiting = self._waiting, []
        for d, _, timer in waiting:
            if timer.active():
                timer.cancel()
            d.errback(SyslogUnavailable(f"syslog target {self.name}: {why}"))

    def _timedOut(self, entry):
        if entry in self._waiting:
            self._waiting.remove(entry)
            entry[0].errback(SyslogUnavailable(
                f"syslog target {self.name}: not connected within {self.patience} seconds"))

    def start(self):
        self.service.startService()

    def send(self, data):
        if self.protocol is not None:
            return maybeDeferred(self._write, self.protocol, data)
        d = Deferred()
        entry = [d, data, None]
        entry[2] = self.reactor.callLater(self.patience, self._timedOut, entry)
        self._waiting.append(entry)
        return d

    def _write(self, protocol, data):
        if protocol.paused:
            raise SyslogUnavailable(f"syslog target {self.name}: behind (its buffer is full)")
        protocol.transport.write(data)
        return len(data)

    def stop(self):
        self._failWaiting("stopping")
        return self.service.stopService()


@implementer(IReaction)
class SyslogReaction:
    """
    Writes one line per alert to a L{DatagramTarget} or a L{StreamTarget}.

    @ivar sent: lines handed over.
    @ivar failed: jobs failed (each is retried by the reaction service).
    """

    log = Logger()

    def __init__(self, pipe, settings, reactor, endpoint=None, hostname=None, procid=None):
        """
        @param settings: a L{mice.config.SyslogReactionSettings}.
        @param endpoint: for a C{tcp:} target, the client endpoint to use
            instead of a L{HostnameEndpoint} to the configured address.
        """
        self.pipe = pipe
        self.settings = settings
        self.reactor = reactor
        self.kind, address = parseTarget(settings.target)
        self.hostname = _hostname(settings.hostname or hostname or socket.gethostname())
        self.procid = procid or os.getpid()
        if self.kind == "tcp":
            host, port = address
            if endpoint is None:
                endpoint = HostnameEndpoint(reactor, host, port, timeout=StreamTarget.patience)
            self.target = StreamTarget(endpoint, settings.target, reactor)
        else:
            self.target = DatagramTarget(self.kind, address, reactor)
        self.sent = 0
        self.failed = 0

    def start(self):
        return self.target.start()

    def formatLine(self, routed):
        """C{routed}'s line, before framing."""
        return self._format(formatAlert, routed)

    def _format(self, formatter, routed):
        """
        C{formatter} (L{formatAlert} or L{formatAlerts}) of C{routed} with
        this agent's settings, now.  An RFC 3164 line to the local socket
        has no HOSTNAME: the local syslog daemon adds its own.
        """
        settings = self.settings
        hostname = self.hostname
        if settings.format == "rfc3164" and self.kind == "unix" and not settings.hostname:
            hostname = None
        return formatter(routed, settings.format, settings.facility, settings.severity,
                         self.reactor.seconds(), hostname=hostname, tag=settings.tag,
                         procid=self.procid, maxLength=settings.maxLength)

    def react(self, routed):
        line = self.formatLine(routed)
        d = self.target.send(frame(line, self.kind, self.settings.framing))

        def sent(_):
            self.sent += 1
            return f"sent {len(line)} bytes to {self.target}"

        def failed(failure):
            self.failed += 1
            return failure

        return d.addCallbacks(sent, failed)

    #: Alerts the reaction queue hands L{reactBatch} at a time.
    batchLimit = 500

    def reactBatch(self, routedAlerts):
        """
        L{react} for many alerts, a line each, in order: the reaction
        queue's way to run this agent (one timeout and one outcome batch for
        them all rather than one per alert).

        @return: a L{Deferred} firing with each alert's outcome, in order:
            its text, or a L{Failure}.
        """
        sendMany = getattr(self.target, "sendMany", None)
        if sendMany is None:
            d = DeferredList([self.react(routed) for routed in routedAlerts],
                             consumeErrors=True)
            return d.addCallback(lambda results: [outcome for _, outcome in results])
        lines = self.formatLines(routedAlerts)
        kind, framing = self.kind, self.settings.framing
        target = str(self.target)

        def outcomes(results):
            out = []
            for line, result in zip(lines, results):
                if isinstance(result, int):
                    self.sent += 1
                    out.append(f"sent {len(line)} bytes to {target}")
                else:
                    self.failed += 1
                    out.append(result)
            return out

        return sendMany([frame(line, kind, framing) for line in lines]).addCallback(outcomes)

    def reactNow(self, routedAlerts):
        """
        The lines of C{routedAlerts} the datagram socket takes at once, sent
        now: the outcome of each, C{None} for those not sent (left to
        L{reactBatch}).  A TCP target sends none here.
        """
        sendNow = getattr(self.target, "sendNow", None)
        outcomes = []
        if sendNow is not None and self.target._socket is not None and not self.target._waiting:
            kind, framing = self.kind, self.settings.framing
            target = str(self.target)
            # A slice at a time: what a full queue stops is not formatted
            # in vain (the queue formats it again when it sends it).
            for start in range(0, len(routedAlerts), 16):
                lines = self.formatLines(routedAlerts[start:start + 16])
                sent = sendNow([frame(line, kind, framing) for line in lines])
                self.sent += sent
                outcomes.extend(f"sent {len(line)} bytes to {target}" for line in lines[:sent])
                if sent < len(lines):
                    break
        return outcomes + [None] * (len(routedAlerts) - len(outcomes))

    def formatLines(self, routedAlerts):
        """L{formatLine} of each of C{routedAlerts}, at one time."""
        return self._format(formatAlerts, routedAlerts)

    def stop(self):
        return self.target.stop()


def build(pipe, configPath, reactor, pipePath):
    """
    The syslog reaction for C{pipe}, configured by C{configPath} (C{None}:
    the defaults of L{mice.config.SyslogReactionSettings}).  C{pipePath} is
    not used: this reaction has no FIFO.
    """
    from mice.config import loadSyslogReaction

    return SyslogReaction(pipe, loadSyslogReaction(configPath), reactor)
