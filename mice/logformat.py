# -*- test-case-name: tests.test_logformat -*-
"""
The "simple" log format (C{mice_mod_fmt_simple}): what a log line becomes on
the wire, and what the BufferDaemon's C{mice_mod_dec_logformat} decoder makes
of it.  Pure: no I/O except L{localHostInfo}, time passed in.

On the wire a C{log} batch carries the host columns once (C{"host"}) and one
C{[date, time, logline, signature]} list per line.
"""

import platform
import re
import socket
import time as _time
from datetime import date as _date
from datetime import datetime

from zope.interface import implementer

from mice.interfaces import IDecoder
from mice.protocols.wire import ProtocolError, checkBatch
from mice.record import HostInfo, LogRecord

_MONTHS = {name: i for i, name in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_ISO = re.compile(r"(?:<\d{1,3}>\d? ?)?(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)")
_AUDIT = re.compile(r"msg=audit\((\d{9,11})(?:\.\d+)?:\d+\)")


def localHostInfo():
    """
    The host columns for this machine.
    """
    fqdn = socket.getfqdn()
    hostname = socket.gethostname().split(".")[0]
    domain = fqdn[len(hostname) + 1:] if fqdn.startswith(hostname + ".") else ""
    uname = platform.uname()
    return HostInfo(hostname, domain, "", uname.system, uname.release, uname.version)


def _clock(h, m, s):
    return f"{h:02d}:{m:02d}:{s:02d}" if h < 24 and m < 60 and s < 61 else None


def parseTimestamp(line, now):
    """
    Find the time a log line was written.

    Understands RFC 3164 syslog (C{Nov 22 10:00:01}, the year taken from
    C{now}, or the year before when that would be in the future), ISO 8601 and
    RFC 5424 (C{2004-02-01T15:44:12}, LAuS and rsyslog's high-precision
    format), and Linux audit records (C{msg=audit(1364481363.243:24287)}).

    @param now: a naive local L{datetime}.
    @return: C{(date, time)} strings, or C{None} if the line has no timestamp.
    """
    month = _MONTHS.get(line[:3])
    if month is not None and line[3:4] == " " and line[15:16] == " ":
        try:
            day = int(line[4:6])
            clock = _clock(int(line[7:9]), int(line[10:12]), int(line[13:15]))
            year = now.year
            if (month, day) > (now.month, now.day + 1):
                year -= 1
            when = _date(year, month, day)
        except ValueError:
            pass
        else:
            if clock is not None and line[9] == line[12] == ":":
                return when.isoformat(), clock
    match = _ISO.match(line)
    if match is not None:
        y, mo, d, h, mi, s = map(int, match.groups())
        try:
            when = _date(y, mo, d)
        except ValueError:
            return None
        clock = _clock(h, mi, s)
        return None if clock is None else (when.isoformat(), clock)
    match = _AUDIT.search(line, 0, 80)
    if match is not None:
        t = _time.localtime(int(match.group(1)))
        return _time.strftime("%Y-%m-%d", t), _time.strftime("%H:%M:%S", t)
    return None


def formatLine(line, now, nowStamp=None):
    """
    The wire record for one log line.

    @param nowStamp: C{(date, time)} to use for lines without a timestamp;
        computed from C{now} when not given.
    """
    stamp = parseTimestamp(line, now) or nowStamp or (
        now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"))
    return [stamp[0], stamp[1], line, ""]


def hostDict(info):
    return info._asdict()


_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d\Z")
_HOST_FIELDS = HostInfo._fields


@implementer(IDecoder)
class LogFormatDecoder:
    """
    C{mice_mod_dec_logformat}: checks a C{log} batch and makes its
    L{LogRecord}s.  Anything out of shape is a L{ProtocolError}: a correct
    sender never produces it, so the batch is refused rather than stored
    half-right.
    """

    kind = "log"

    def __init__(self, maxRecord=65536):
        self.maxRecord = maxRecord
        self._dates = set()
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

    def decode(self, source, message):
        batchId, stream, seq, host, records = checkBatch(message)
        hostFields = self._host(host, batchId)
        maxRecord = self.maxRecord
        out = []
        append = out.append
        for i, rec in enumerate(records):
            if type(rec) is not list or len(rec) != 4:
                raise ProtocolError(f"batch {batchId}: record {i} is not"
                                    " [date, time, logline, signature]")
            day, clock, line, signature = rec
            if not self._checkDate(day) or type(clock) is not str or not _TIME.match(clock):
                raise ProtocolError(f"batch {batchId}: record {i} has a bad date or time")
            if type(line) is not str or type(signature) is not str:
                raise ProtocolError(f"batch {batchId}: record {i}: logline and signature"
                                    " must be strings")
            if len(line) > maxRecord // 4 and len(line.encode("utf-8", "replace")) > maxRecord:
                raise ProtocolError(f"batch {batchId}: record {i} is longer than"
                                    f" {maxRecord} bytes")
            if line and max(line) >= "\ud800" and _hasSurrogates(line):
                raise ProtocolError(f"batch {batchId}: record {i} is not valid Unicode")
            append(LogRecord(source, stream, seq + i, *hostFields, day, clock, line, signature))
        return out


def _hasSurrogates(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decodeLogBytes(raw):
    """
    A log line read from a file as text: invalid UTF-8 bytes become visible
    C{\\xNN} escapes instead of being lost or breaking the link.
    """
    return raw.decode("utf-8", "backslashreplace")


def now():
    return datetime.now()


def buildDecoder(configPath, reactor):
    """
    The C{mice_mod_dec_logformat} module (see L{mice.registry}).
    """
    from mice.config import loadDecoder

    settings = loadDecoder(configPath)
    if settings.encrypt:
        from mice.config import ConfigError

        raise ConfigError(settings.path, None,
                          "ENCRYPT = yes needs the secure link, which this version does not"
                          " have yet; set ENCRYPT = no")
    return LogFormatDecoder(maxRecord=settings.maxRecord)
