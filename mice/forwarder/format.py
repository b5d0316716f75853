# -*- test-case-name: tests.unit.decoders.test_logformat -*-
"""
The "simple" log format (C{mice_mod_fmt_simple}) on the client: the host
columns a DataForwarder sends, the time stamp found in a line, and the wire
record each line becomes.  Pure: no I/O, time passed in.  The server's side is L{mice.decoders.logformat}.
"""

import platform
import re
import time as _time
from datetime import date as _date

from zope.interface import implementer

from mice.interfaces import IFormatter
from mice.record import HostInfo

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d\Z")

_MONTHS = {name: i for i, name in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
#: ISO 8601, RFC 5424 (after its priority), journalctl's short-full
#: (C{Fri 2024-03-08 05:22:28 CET}: the day of the week before it), and
#: nginx's error log (C{2004/02/01 15:44:12}, the local time as written).
_ISO = re.compile(r"(?:<\d{1,3}>\d? ?|[A-Z][a-z]{2} )?(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d):(\d\d)")
_AUDIT = re.compile(r"msg=audit\((\d{9,11})(?:\.\d+)?:\d+\)")
#: journalctl's short-unix: seconds since the epoch, then the host.
_EPOCH = re.compile(r"(\d{9,10})\.\d{1,9} ")
_CLF = re.compile(r"\[(\d\d)/([A-Z][a-z][a-z])/(\d{4}):(\d\d):(\d\d):(\d\d) ")
#: Apache's error log: C{[Sun Dec 01 00:00:01 2024]} (2.2), with microseconds
#: (C{[Sun Dec 01 00:00:01.123456 2024]}, 2.4).
_CTIME = re.compile(r"\[[A-Z][a-z][a-z] ([A-Z][a-z][a-z]) ([ \d]\d) (\d\d):(\d\d):(\d\d)"
                    r"(?:\.\d+)? (\d{4})\]")


def nodeHostInfo():
    """
    The host columns for this machine from its node name and C{uname}, with
    no name lookup: the domain is what follows the node name's first dot.
    The daemons use L{mice.tap.runtime.localHostInfo}, which asks the
    resolver for the domain.
    """
    uname = platform.uname()
    hostname, _, domain = uname.node.partition(".")
    return HostInfo(hostname, domain, "", uname.system, uname.release, uname.version)


def _clock(h, m, s):
    return f"{h:02d}:{m:02d}:{s:02d}" if h < 24 and m < 60 and s < 61 else None


def _syslogDate(prefix, now, reference=None):
    """
    The ISO date of the syslog date C{prefix} (C{Nov 22}), or C{None}: in
    C{now}'s year, or the year before when that would be in the future;
    with C{reference} (an ISO date: the log's latest date with a year), in
    the year around it that puts it nearest.
    """
    month = _MONTHS.get(prefix[:3])
    if month is None or prefix[3:4] != " ":
        return None
    try:
        day = int(prefix[4:6])
    except ValueError:
        return None
    if reference is None:
        years = (now.year - 1,) if (month, day) > (now.month, now.day + 1) else (now.year,)
        near = None
    else:
        near = _date.fromisoformat(reference)
        years = (near.year, near.year - 1, near.year + 1)
    best = None
    for year in years:
        try:
            candidate = _date(year, month, day)
        except ValueError:  # Feb 29 of a year without one; day 31 of a short month
            continue
        if best is None or abs(candidate - near) < abs(best - near):
            best = candidate
    return None if best is None else best.isoformat()


class Timestamper:
    """
    Finds the time a log line was written.

    Understands RFC 3164 syslog (C{Nov 22 10:00:01}, C{Nov  2 10:00:01} and
    the unpadded C{Nov 2 10:00:01} some senders write, the year taken from
    C{now}, or the year before when that would be in the future), ISO 8601 and
    RFC 5424 (C{2004-02-01T15:44:12}, LAuS and rsyslog's high-precision
    format), nginx's error log (C{2004/02/01 15:44:12}), Linux audit records (C{msg=audit(1364481363.243:24287)}),
    Apache's common log format (C{[22/Nov/2004:10:00:01 +0000]}, the local
    time as written) and its error log's (C{[Mon Nov 22 10:00:01 2004]},
    C{[Mon Nov 22 10:00:01.123456 2004]}), and journalctl's output formats
    (short, short-precise C{Nov 22 10:00:01.123456}, short-iso, short-full
    C{Mon 2004-11-22 10:00:01 CET}, short-unix C{1101114001.123456}).  The
    common syslog case costs two dictionary lookups.

    @param now: a naive local L{datetime}.
    @param follow: read the year of a syslog date from the log itself: the
        year that puts it nearest the date of the latest line that has a
        year (ISO 8601, audit, Apache), once one was read (L{readYear}), as
        C{mice analyze} does with a file written before this year; else
        C{now}'s (live, where the line was written just now).
    """

    def __init__(self, now, follow=False):
        self.now = now
        self.follow = follow
        #: (follow) The date of the latest line with a year, C{None} before one.
        self.reference = None
        self._days = {}
        self._clocks = set()
        self._syslog = {}
        self._stamps = {}

    def __call__(self, line):
        """
        @return: C{(date, time)} strings, or C{None} if the line has none.
        """
        # Whether a syslog stamp is found, and which, depends on the first
        # 16 characters only: those of a line seen before give it at once.
        stamp = self._syslog.get(line[:16])
        if stamp is not None:
            return stamp
        prefix = line[:6]
        day = self._days.get(prefix)
        if day is None and prefix[:3] in _MONTHS:
            day = self._days[prefix] = _syslogDate(prefix, self.now, self.reference)
        if day is not None and line[6:7] == " " and (
                line[15:16] == " " or line[15:16] == "." and line[16:17].isdigit()):
            # (journalctl's short-precise writes microseconds after the
            # seconds: Mar 08 05:22:28.123456.)
            clock = line[7:15]
            if clock in self._clocks or _TIME.match(clock):
                self._clocks.add(clock)
                if len(self._syslog) >= _MAX_CACHED:
                    self._syslog.clear()
                stamp = self._syslog[line[:16]] = day, clock
                return stamp
        elif day is not None and line[5:6] == " " and line[4:5].isdigit():
            # A day of one digit not padded (Jun 7 01:10:56), as some
            # senders write it against RFC 3164.
            clock = line[6:14]
            if line[14:15] == " " and _TIME.match(clock):
                return day, clock
        return self._other(line)

    def stamps(self, lines):
        """
        C{[self(line) for line in lines]}, without a call for the lines whose
        syslog stamp is known already.
        """
        known = self._syslog.get
        return [known(line[:16]) or self(line) for line in lines]

    def at(self, now):
        """
        Read from C{now} on (a new day of a live stream): the dates it made
        from the old C{now} are forgotten, the log's year (C{reference}) is
        kept.
        """
        self.now = now
        self._days.clear()
        self._syslog.clear()

    def readYear(self, lines):
        """
        (C{follow}) The year of syslog dates from the first of C{lines}
        that has a year, if no line gave one yet: the dates of the lines
        before it in the log are read from it too.
        """
        if not self.follow or self.reference is not None:
            return
        for line in lines:
            stamp = self._dated(line)
            if stamp is not None:
                self.use(stamp[0])
                return

    def _other(self, line):
        stamp = self._dated(line)
        if stamp is not None and self.follow and stamp[0] != self.reference:
            self.use(stamp[0])
        return stamp

    def _dated(self, line):
        """The stamp of a line that has a year, else C{None}."""
        match = _ISO.match(line)
        if match is not None:
            return self._cached(match.group(), _isoStamp, match)
        match = _AUDIT.search(line, 0, 80)
        if match is not None:
            return self._cached(match.group(1), _auditStamp, match)
        if line[:1].isdigit():
            match = _EPOCH.match(line)
            if match is not None:
                return self._cached(match.group(1), _auditStamp, match)
        match = _CLF.search(line, 0, 120)
        if match is not None:
            return self._cached(match.group(), _clfStamp, match)
        if line[:1] == "[":
            match = _CTIME.match(line)
            if match is not None:
                return self._cached(match.group(), _ctimeStamp, match)
        return None

    def use(self, day):
        """
        Read the syslog dates' year from C{day} (an ISO date: the latest
        line with a year) from now on, or, C{None}, from C{now} (a stream
        without such a line yet): one reader serves several streams so.
        """
        if day == self.reference:
            return
        if day is not None and self.reference is not None and day[:7] == self.reference[:7]:
            # The same month: the nearest year of any date is the same.
            self.reference = day
            return
        self.reference = day
        self._days.clear()
        self._syslog.clear()

    def _cached(self, key, convert, match):
        """
        The stamp of C{match}, converted once per distinct C{key} (the part
        of the match the stamp depends on).
        """
        stamps = self._stamps
        stamp = stamps.get(key, _UNSEEN)
        if stamp is _UNSEEN:
            if len(stamps) >= _MAX_CACHED:
                stamps.clear()
            stamp = stamps[key] = convert(match)
        return stamp


#: Stamps a L{Timestamper} remembers before it starts over (a log moves on in
#: time: the recent ones are what a poll needs, and memory stays small).
_MAX_CACHED = 4096
_UNSEEN = object()


def _isoStamp(match):
    y, mo, d, h, mi, s = map(int, match.groups())
    try:
        when = _date(y, mo, d)
    except ValueError:
        return None
    clock = _clock(h, mi, s)
    return None if clock is None else (when.isoformat(), clock)


def _auditStamp(match):
    t = _time.localtime(int(match.group(1)))
    return _time.strftime("%Y-%m-%d", t), _time.strftime("%H:%M:%S", t)


def _clfStamp(match):
    d, mon, y, h, mi, s = match.groups()
    return _namedMonthStamp(y, mon, d, h, mi, s)


def _ctimeStamp(match):
    mon, d, h, mi, s, y = match.groups()
    return _namedMonthStamp(y, mon, d, h, mi, s)


def _namedMonthStamp(year, month, day, hour, minute, second):
    """
    C{(date, time)} of a stamp that names its month (C{Nov}), its other
    parts digits, or C{None} when it is no date and time.
    """
    if month not in _MONTHS:
        return None
    try:
        when = _date(int(year), _MONTHS[month], int(day))
    except ValueError:
        return None
    clock = _clock(int(hour), int(minute), int(second))
    return None if clock is None else (when.isoformat(), clock)


def parseTimestamp(line, now):
    """
    C{Timestamper(now)(line)}, for one line.
    """
    return Timestamper(now)(line)


def formatLine(line, now, nowStamp=None, timestamper=None):
    """
    The wire record for one log line.

    @param nowStamp: C{(date, time)} to use for lines without a timestamp;
        computed from C{now} when not given.
    @param timestamper: a L{Timestamper} to reuse across lines.
    """
    stamp = (timestamper or Timestamper(now))(line) or nowStamp or (
        now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"))
    return [stamp[0], stamp[1], line, ""]


def hostDict(info):
    return info._asdict()


def decodeLogBytes(raw):
    """
    A log line read from a file as text: invalid UTF-8 bytes become visible
    C{\\xNN} escapes instead of being lost or breaking the link.
    """
    return raw.decode("utf-8", "backslashreplace")


@implementer(IFormatter)
class SimpleFormat:
    """
    C{mice_mod_fmt_simple}: the host columns a DataForwarder sends with its
    lines (detected, with the config's overrides) and the wire record of one
    line (L{formatLine}).
    """

    def __init__(self, host):
        self.host = host

    def format(self, line, now, nowStamp=None, timestamper=None):
        return formatLine(line, now, nowStamp, timestamper)

    @classmethod
    def fromSettings(cls, settings, detected):
        """
        @param detected: the L{mice.record.HostInfo} of this machine.
        """
        overrides = {name: value for name, value in (
            ("hostname", settings.hostname), ("domain", settings.domain), ("ip", settings.ip))
            if value is not None}
        return cls(detected._replace(**overrides))
