# -*- test-case-name: tests.integration.test_syslogrelay -*-
"""
C{mice_mod_pop_syslog}: relays records to a syslog target.

The target is C{udp:HOST:PORT} or C{unix:/dev/log} (a datagram socket, as
syslog daemons offer).  A datagram that cannot be sent at all fails the
batch; it stays buffered and is offered again.  Each record becomes one datagram: the original log
line behind a priority and, for RFC 5424, a header naming the host the line
came from.  Datagrams are fire-and-forget by nature: the records count as
done once handed to the kernel.  While the receiver's queue is full the
relay waits for it (without blocking the reactor); a receiver stalled for
too long or a send error fails the batch, which the BufferDaemon keeps and
offers again (datagrams already sent from it are then sent twice).
"""


import socket

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.interfaces import IPostProcessor
from mice.reactors.syslogformat import INFO, priority
from mice.reactors.syslogformat import parseTarget as _parseTarget

MAX_DATAGRAM = 8192


def formatRecord(record, facility, tag, fmt):
    """
    @return: the datagram (bytes) relaying C{record}.  The log line is sent
    as it is: it already has its own syslog header (RFC 3164), or follows
    an RFC 5424 header naming the host it came from.
    """
    pri = priority(facility, INFO)
    if fmt == "rfc5424":
        host = record.hostname or record.source or "-"
        text = (f"<{pri}>1 {record.date}T{record.time} {host} {tag} - - - {record.logline}")
    else:
        text = f"<{pri}>{record.logline}"
    data = text.encode("utf-8", "replace")
    return data[:MAX_DATAGRAM]


def parseTarget(target):
    """
    @return: C{("udp", (host, port))} or C{("unix", path)}: the relay sends
        datagrams only (L{mice.reactors.syslog} also speaks TCP).
    @raise ValueError: neither.
    """
    return _parseTarget(target, kinds=("udp", "unix"))


@implementer(IPostProcessor)
class SyslogRelay:
    """
    Writes each record to a connected, non-blocking datagram socket.  A full
    socket buffer (the syslog daemon is behind) fails the batch, which the
    BufferDaemon keeps and offers again.
    """

    name = "mice_mod_pop_syslog"
    log = Logger()
    maxErrors = 10
    batchSize = 1000
    #: One flush at a time: one socket, records in order.
    concurrency = 1

    #: How long to wait for a syslog daemon that is behind before failing.
    patience = 5.0

    def __init__(self, target, facility, tag, fmt, clock):
        self.kind, self.address = parseTarget(target)
        self.facility = facility
        self.tag = tag
        self.format = fmt
        self.clock = clock
        self._socket = None

    def start(self):
        if self._socket is None:
            if self.kind == "unix":
                family = socket.AF_UNIX
            else:
                family = socket.getaddrinfo(*self.address, type=socket.SOCK_DGRAM)[0][0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            self._socket = sock
        return succeed(None)

    def process(self, records):
        """
        Send every record, waiting (without blocking) while the receiver's
        queue is full, for at most C{patience} seconds in a row.
        """
        done = Deferred()
        formatted = [formatRecord(r, self.facility, self.tag, self.format) for r in records]
        self._sendFrom(formatted, 0, done, 0.0)
        return done

    def _sendFrom(self, datagrams, index, done, waited):
        try:
            self.start()
            send = self._socket.send
            while index < len(datagrams):
                send(datagrams[index])
                index += 1
        except BlockingIOError:
            if waited < self.patience:
                self.clock.callLater(0.01, self._sendFrom, datagrams, index, done, waited + 0.01)
                return
            self.stop()
            done.errback(OSError(f"syslog relay to {self.address}: receiver stalled for"
                                 f" {self.patience}s"))
            return
        except OSError as e:
            self.stop()
            done.errback(OSError(f"syslog relay to {self.address}: {e}"))
            return
        done.callback(len(datagrams))

    def stop(self):
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def build(configPath, reactor):
    from mice.config import loadPopSyslog

    settings = loadPopSyslog(configPath)
    return SyslogRelay(settings.target, settings.facility, settings.tag, settings.format,
                       reactor)
