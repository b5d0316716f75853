# -*- test-case-name: tests.unit.decoders.test_logformat -*-
"""
The BufferDaemon's C{mice_mod_dec_logformat} decoder: what a batch of log
lines from a DataForwarder (or C{mice send}) becomes on the server.  Pure:
no I/O.  What a client makes of a line is L{mice.forwarder.format}.

On the wire a C{log} batch carries the host columns once (C{"host"}) and one
C{[date, time, logline, signature]} list per line.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as _date

from zope.interface import implementer

from mice.interfaces import IDecoder
from mice.protocols.wire import ProtocolError
from mice.record import HostInfo, LogRecord

_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d\Z")
_HOST_FIELDS = HostInfo._fields


@dataclass(slots=True, eq=False, repr=False)
class LogBatch(Sequence):
    """
    The records of one C{log} batch as L{LogFormatDecoder} accepted them:
    what the batch says once (source, stream, first seq, host columns) and
    each line's C{[date, time, logline, signature]} list as it came off the
    wire.

    It is a sequence of L{LogRecord}s, made when asked for, so any
    post-processor can take it; the raw-log store reads the columns
    directly and never makes them (see L{mice.db.classify.classifyBatch}).
    """

    source: str
    stream: str
    seq: int
    host: tuple
    recs: list
    seqs: list | None = None
    """Every record's sequence number when they do not simply follow
    C{seq} (the sender's filter dropped lines), else C{None}."""

    @property
    def numbers(self):
        """
        The sequence number of every record.
        """
        return self.seqs if self.seqs is not None else range(self.seq, self.seq + len(self.recs))

    def __len__(self):
        return len(self.recs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.recs)))]
        if index < 0:
            index += len(self.recs)
        day, clock, line, signature = self.recs[index]
        return tuple.__new__(LogRecord, (self.source, self.stream, self.numbers[index],
                                         *self.host, day, clock, line, signature))

    def __iter__(self):
        new = tuple.__new__
        source, stream, host = self.source, self.stream, self.host
        for n, rec in zip(self.numbers, self.recs):
            yield new(LogRecord, (source, stream, n, *host, *rec))

    def __eq__(self, other):
        if isinstance(other, LogBatch | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self):
        return (f"<LogBatch {self.source!r} {self.stream!r} seq {self.seq}"
                f" ({len(self.recs)} records)>")


@implementer(IDecoder)
class LogFormatDecoder:
    """
    C{mice_mod_dec_logformat}: checks a C{log} batch and makes it a
    L{LogBatch} (a sequence of L{LogRecord}s).  Anything out of shape is a
    L{ProtocolError}: a correct sender never produces it, so the batch is
    refused rather than stored half-right.
    """

    kind = "log"

    def __init__(self, maxRecord=65536):
        self.maxRecord = maxRecord
        self._dates = set()
        self._times = set()
        self._hosts = {}

    def _host(self, host, batchId):
        if type(host) is not dict:
            raise ProtocolError(f"batch {batchId}: 'host' must be an object")
        key = tuple(host.get(f, "") for f in _HOST_FIELDS)
        if key in self._hosts:
            return self._hosts[key]
        for value in key:
            if type(value) is not str or len(value) > 255:
                raise ProtocolError(f"batch {batchId}: host fields must be strings of"
                                    " at most 255 characters")
        if len(self._hosts) > 1024:
            self._hosts.clear()
        self._hosts[key] = key
        return key

    def _checkDate(self, value):
        if value in self._dates:
            return True
        if type(value) is not str or not _DATE.match(value):
            return False
        try:
            _date.fromisoformat(value)
        except ValueError:
            return False
        if len(self._dates) > 4096:
            self._dates.clear()
        self._dates.add(value)
        return True

    def _checkTime(self, value):
        if type(value) is not str or not _TIME.match(value):
            return False
        self._times.add(value)
        return True

    def decode(self, source, batch):
        """
        Check every record of a batch whose envelope the daemon has checked
        (a L{mice.protocols.wire.Batch}).

        @return: a L{LogBatch} of the message's own record lists: nothing is
            copied or built per line.
        """
        batchId, stream, seq, host, records, numbers = batch
        hostFields = self._host(host, batchId)
        maxRecord = self.maxRecord
        dates, times = self._dates, self._times
        for n, rec in enumerate(records):
            if type(rec) is not list or len(rec) != 4:
                raise ProtocolError(f"batch {batchId}: record {n} is not"
                                    " [date, time, logline, signature]")
            day, clock, line, signature = rec
            if (day not in dates and not self._checkDate(day)) or (
                    clock not in times and not self._checkTime(clock)):
                raise ProtocolError(f"batch {batchId}: record {n} has a bad date or time")
            if type(line) is not str or type(signature) is not str:
                raise ProtocolError(f"batch {batchId}: record {n}: logline and signature"
                                    " must be strings")
            # isascii() is O(1); only other lines need encoding to be measured
            # and checked for lone surrogates (which JSON escapes can carry).
            if line.isascii() and signature.isascii():
                size = len(line)
            else:
                try:
                    size = len(line.encode("utf-8"))
                    signature.encode("utf-8")
                except UnicodeEncodeError:
                    raise ProtocolError(f"batch {batchId}: record {n} is not valid"
                                        " Unicode") from None
            if size > maxRecord:
                raise ProtocolError(f"batch {batchId}: record {n} is longer than"
                                    f" {maxRecord} bytes")
        return LogBatch(source, stream, seq, hostFields, records, numbers)

    def recover(self, source, message):
        """
        Decode a batch that L{decode} accepted before (read back from a ring
        buffer after it was checked): no checks again.
        """
        host = message["host"]
        return LogBatch(source, message["stream"], message["seq"],
                        tuple(host.get(f, "") for f in _HOST_FIELDS), message["recs"],
                        message.get("seqs"))


def buildDecoder(configPath, reactor):
    """
    The C{mice_mod_dec_logformat} module (see L{mice.registry}).
    """
    from mice.config import loadDecoder

    settings = loadDecoder(configPath)
    decoder = LogFormatDecoder(maxRecord=settings.maxRecord)
    return decoder
