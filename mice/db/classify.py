# -*- test-case-name: tests.unit.db.test_classify,tests.integration.test_classify -*-
"""
Which raw-log table a log line belongs in, and its row there.

The raw-log database (manual chapter 5.2) has three tables: C{firewall_line}
for netfilter LOG lines, C{scslog_line} for audit syscall records (LAuS
C{aucat} lines and Linux auditd C{SYSCALL} records, raw or through syslog)
and C{rawlog_line} for everything else.  L{classify} sends every record to
exactly one of them and builds the row in L{mice.db.schema.COLUMNS} order.

This is the raw-log database's hot path, so most lines are turned away by a
substring test or two before any regular expression runs.

It never raises for a record of strings, and every row it builds can be
inserted by L{mice.db.schema.insertRows} into either database:

  - C{pid}, C{uid}, C{euid} are C{INT UNSIGNED NOT NULL}: a value that is
    missing, C{-1}, not a number or outside 0..2**32-1 is stored as
    L{mice.db.schema.UNSET_ID} (4294967295, auditd's own "unset"); the login
    name C{root} is stored as 0.
  - C{date} and C{time} that are not a real C{YYYY-MM-DD} (year 1000 or
    later) and C{HH:MM:SS} become C{NULL}.
  - Text that cannot be encoded as UTF-8 (lone surrogates, from a
    C{surrogateescape} decode) has those characters replaced by
    C{\\xNN} escapes of the original bytes.
  - An C{origin} or C{stream} longer than its column is shortened to a
    prefix plus the SHA-1 of the whole name, so it stays unique.

Netfilter fields that are absent or empty (C{OUT=}) are C{NULL}.  The
C{date} and C{time} of every row are the record's; the time stamp inside the
line is kept in C{logline}.
"""

import re
from datetime import date as _Date
from hashlib import sha1

from mice.analysis.extract import SYSLOG_PRIORITY, SYSLOG_STAMP
from mice.db.schema import ORIGIN_MAX, STREAM_MAX, UNSET_ID

RAWLOG = "rawlog_line"
SCSLOG = "scslog_line"
FIREWALL = "firewall_line"

# "Nov 22 10:00:00 host " (RFC 3164), "2004-11-22T10:00:00.123+01:00 host ",
# and journalctl's other formats: the syslog time stamps the rules read
# (mice.analysis.extract.SYSLOG_STAMP), then the host, and busybox's
# facility.level ("kern.warn ") as the rules read it.
_SYSLOG_HEADER = r"(?:<\d{1,3}>)?" + SYSLOG_STAMP + r" \S+ " + SYSLOG_PRIORITY

# What comes before the log prefix when no "kernel: " tag does.
_FW_HEAD = re.compile(
    r"(?:" + _SYSLOG_HEADER + r"(?:[\w./-]+\[\d+\]: )?)?(?:\[\s*\d+\.\d+\]\s*)?"
)
_FW_FIELD = re.compile(r"(?<!\S)([A-Z][A-Z0-9_]*)=(\S*)")
# The usual IPv4 layout, in one match (the repeats are bounded so that a
# hostile line cannot make it backtrack for long).
_FW_FAST = re.compile(
    r"IN=(\S+)? OUT=(\S+)? (?:PHYS\w+=\S+ ){0,2}(?:MAC=(\S+)? )?(?:(?!MAC=)\S+ ){0,6}?"
    r"SRC=(\S+)? DST=(\S+)? LEN=(\S+)? TOS=(\S+)? PREC=(\S+)? TTL=(\S+)? ID=(\S+)? "
    r"(?:\S+ ){0,6}?PROTO=(\S+)(?: SPT=(\S+) DPT=(\S+))?(?: LEN=(\S+))?"
)
_KERNEL_TIME = re.compile(r"\[\s*\d+\.\d+\]")

_AUDIT_START = re.compile(
    r"(?:"
    + _SYSLOG_HEADER
    + r"(?:kernel:(?: \[\s*\d+\.\d+\])?(?: audit:)?|(?=[\w./-]*audi)[\w./-]+(?:\[\d+\])?:) )?"
    r"(?:node=\S+ )?"
    r"(?:type=(?:SYSCALL|1300) (?:msg=)?audit\([^()]*\) ?: ?"
    r"|SYSCALL "
    r"|audit\([\d.:]+\): (?=arch=))"
)
# "quoted", EACCES(Permission denied) (bounded: no rescans of a long line), bare.
_AUDIT_VALUE = r'("[^"]*"|\w+\([^()]{0,80}\)|[^\s\x1d]*)'
_AUDIT_FIELD = re.compile(r"(?<!\S)(\w+)=" + _AUDIT_VALUE)
# The kernel's own field order of a SYSCALL record, in one match.
_AUDIT_FAST = re.compile(
    r"arch=\S+ syscall=(\S+) (?:success=(\S+) exit=(\w+\([^()]{0,80}\)|\S+) )?(?:a\d=\S+ ){0,4}"
    r"items=\S+ ppid=\S+ pid=(\S+) auid=\S+ uid=(\S+) gid=\S+ euid=(\S+) (?:\S+ ){0,10}?"
    r"comm=" + _AUDIT_VALUE + r" exe=" + _AUDIT_VALUE + r"(?: subj=\S+)? key=" + _AUDIT_VALUE
)
_AUDIT_HEX = re.compile(r"(?:[0-9A-F]{2})+")

# 2004-02-01T16:19:36 3322 1302 -1 [PROC_realgid] setgroups32(1, [51]); result=0
_LAUS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \d+ (\S+) (\S+) \[(\w+)\] (\w+\(.*)", re.S)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_goodDates = set()
_goodTimes = set()


def _checkedDate(value):
    """
    C{value} if it is a date both databases store as given, else C{None}.
    """
    if value in _goodDates:
        return value
    if value.__class__ is str and _DATE.fullmatch(value) and value >= "1000":
        try:
            _Date.fromisoformat(value)
        except ValueError:
            return None
        _remember(_goodDates, value, 4096)
        return value
    return None


def _checkedTime(value):
    """
    C{value} if it is a C{HH:MM:SS} time of day, else C{None}.
    """
    if value in _goodTimes:
        return value
    if value.__class__ is str and _TIME.fullmatch(value):
        _remember(_goodTimes, value, 100000)
        return value
    return None


def _clean(value):
    """
    C{value} as text a database driver can encode: lone surrogates become
    C{\\xNN} escapes of the bytes they stand for.
    """
    if value.__class__ is not str:
        if value is None:
            return None
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", "backslashreplace")
        value = str(value)
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def _keyText(value, limit):
    value = _clean(value) or ""
    if len(value) <= limit:
        return value
    digest = sha1(value.encode("utf-8")).hexdigest()
    return value[: limit - len(digest) - 1] + "~" + digest


def _uint(value):
    """
    An C{INT UNSIGNED NOT NULL} column's value for the text C{value}.
    """
    if value is not None and len(value) <= 10 and value.isdigit() and value.isascii():
        number = int(value)
        if number <= 0xFFFFFFFF:
            return number
    elif value == "root":
        return 0
    return UNSET_ID


def _common(record):
    """
    The record's own columns, made safe to insert: the row's head (origin,
    stream, seq, hostname, domain, ip, osystem, release, version, date,
    time), then logline and signature.
    """
    logline = record[11]
    signature = record[12]
    if (
        logline.__class__ is str
        and logline.isascii()
        and record[3:9] in _asciiHosts
        and record[:2] in _asciiKeys
        and signature.__class__ is str
        and signature.isascii()
    ):
        if record[9] in _goodDates and record[10] in _goodTimes:
            return record[:11], logline, signature
        return (
            record[:9] + (_checkedDate(record[9]), _checkedTime(record[10])),
            logline,
            signature,
        )
    return _slowCommon(record)


_asciiHosts = set()
_asciiKeys = set()


def _remember(cache, key, limit=1024):
    """
    Add C{key} to the set C{cache} of values known good, emptied when it
    holds more than C{limit}.
    """
    if len(cache) > limit:
        cache.clear()
    cache.add(key)


def _allAscii(values):
    try:
        return "".join(values).isascii()
    except TypeError:
        return False


def _slowCommon(record):
    (origin, stream, seq, hostname, domain, ip, osystem, release, version,
     date, time, logline, signature) = record
    if _allAscii(record[3:9]):
        _remember(_asciiHosts, record[3:9])
    else:
        hostname, domain, ip, osystem, release, version = map(_clean, record[3:9])
    if _allAscii(record[:2]) and len(origin) <= ORIGIN_MAX and len(stream) <= STREAM_MAX:
        _remember(_asciiKeys, record[:2])
    else:
        origin = _keyText(origin, ORIGIN_MAX)
        stream = _keyText(stream, STREAM_MAX)
    logline = _clean(logline) or ""
    signature = _clean(signature)
    head = (origin, stream, seq, hostname, domain, ip, osystem, release, version,
            _checkedDate(date), _checkedTime(time))
    return head, logline, signature


def _interfaces(line):
    """
    Where C{IN=... OUT=} starts in C{line}, or -1.  (Found from C{" OUT="}
    backwards: a regular expression search would rescan the rest of the
    line at every C{IN=} of a hostile one.)
    """
    out = line.find(" OUT=")
    while out >= 0:
        found = line.find("IN=", line.rfind(" ", 0, out) + 1, out)
        if found >= 0:
            return found
        out = line.find(" OUT=", out + 5)
    return -1


def _firewall(line):
    """
    The C{firewall_line} columns from C{action} to C{pac_length}, or C{None}
    if C{line} is no netfilter LOG line.
    """
    begin = _interfaces(line)
    if begin < 0:
        return None
    kernel = line.find("kernel: ", 0, begin)
    if kernel >= 0:
        prefixStart = kernel + 8
        if line.startswith("[", prefixStart):
            stamp = _KERNEL_TIME.match(line, prefixStart)
            if stamp is not None:
                prefixStart = stamp.end()
    else:
        prefixStart = _FW_HEAD.match(line, 0, begin).end()
    action = line[prefixStart:begin].strip() or None
    fast = _FW_FAST.match(line, begin)
    if fast is not None:
        return (action,) + fast.groups()
    ipPart, _, protoPart = line[begin:].partition(" PROTO=")
    fields = dict(_FW_FIELD.findall(ipPart))
    get = fields.get
    # ICMP errors quote the offending packet in brackets: not ours.
    protoPart = protoPart.partition("[")[0]
    protocol, _, protoPart = protoPart.partition(" ")
    getProto = dict(_FW_FIELD.findall(protoPart)).get
    return (
        action,
        get("IN") or None,
        get("OUT") or None,
        get("MAC") or None,
        get("SRC") or None,
        get("DST") or None,
        get("LEN") or None,
        # IPv6: traffic class and hop limit in the IPv4 columns.
        get("TOS") or get("TC") or None,
        get("PREC") or None,
        get("TTL") or get("HOPLIMIT") or None,
        get("ID") or None,
        protocol or None,
        getProto("SPT") or None,
        getProto("DPT") or None,
        getProto("LEN") or None,
    )


def _auditText(value):
    if not value or value == "(null)":
        return None
    if value[0] == '"':
        return value[1:-1] if len(value) > 1 and value[-1] == '"' else value[1:]
    if _AUDIT_HEX.fullmatch(value):
        # auditd writes a string that holds a space, quote or control
        # character in hex.
        return bytes.fromhex(value).decode("utf-8", "backslashreplace")
    return value


def _auditd(line):
    """
    The C{scslog_line} columns from C{syscall} to C{comment} of an auditd
    SYSCALL record, or C{None}.
    """
    start = _AUDIT_START.match(line)
    if start is None:
        return None
    fast = _AUDIT_FAST.match(line, start.end())
    if fast is not None:
        syscall, success, exit, pid, uid, euid, comm, exe, key = fast.groups()
        if success is None:
            call = "syscall=" + syscall
        else:
            call = "syscall=%s success=%s exit=%s" % (syscall, success, exit)
    else:
        get = dict(_AUDIT_FIELD.findall(line, start.end())).get
        syscall = get("syscall") or None
        pid, uid, euid = get("pid"), get("uid"), get("euid")
        comm, exe, key = get("comm"), get("exe"), get("key")
        call = " ".join(
            "%s=%s" % (name, get(name)) for name in ("syscall", "success", "exit") if get(name)
        )
    return (
        syscall,
        _auditText(exe) or _auditText(comm),
        _uint(pid),
        _uint(uid),
        _uint(euid),
        call or None,
        _auditText(key),
    )


def _laus(line):
    """
    The C{scslog_line} columns from C{syscall} to C{comment} of a LAuS
    C{aucat} syscall line, or C{None}.
    """
    match = _LAUS.match(line)
    if match is None:
        return None
    pid, login, syscallClass, data = match.groups()
    data = data.rstrip()
    call, semicolon, result = data.rpartition(";")
    result = result.strip()
    if semicolon and result.startswith("result="):
        call = call.rstrip()
        comment = result
    else:
        call = data
        comment = None
    return (syscallClass, None, _uint(pid), _uint(login), UNSET_ID, call, comment)


def routeLine(line):
    """
    Which table C{line} (already made safe by L{_clean}) belongs in, and that
    table's own columns parsed from it.

    @return: C{(table, fields)}: for L{FIREWALL} the columns C{action} to
        C{pac_length}, for L{SCSLOG} C{syscall} to C{comment}, for
        L{RAWLOG} C{()}.
    """
    try:
        if " SRC=" in line and " PROTO=" in line:
            fields = _firewall(line)
            if fields is not None:
                return FIREWALL, fields
        if "syscall=" in line:
            fields = _auditd(line)
            if fields is not None:
                return SCSLOG, fields
        if len(line) > 24 and line[10] == "T" and line[4] == "-" and "] " in line:
            fields = _laus(line)
            if fields is not None:
                return SCSLOG, fields
    except Exception:
        # A parser bug must not wedge the store (a batch that cannot be
        # classified would be offered again forever): keep the line whole.
        pass
    return RAWLOG, ()


def _classify(record):
    head, line, signature = _common(record)
    table, fields = routeLine(line)
    if table is FIREWALL:
        return FIREWALL, head[:9] + fields + head[9:] + (line, signature)
    return table, head + fields + (line, signature)


def classify(record):
    """
    Route one log record to its raw-log table.

    @param record: a L{mice.record.LogRecord}.
    @return: C{(table, row)}: the table name (L{RAWLOG}, L{FIREWALL} or
        L{SCSLOG}) and the row, a tuple in C{mice.db.schema.COLUMNS[table]}
        order.
    """
    return _classify(record)


def safeKey(source, stream, host):
    """
    A batch's origin, stream and six host columns, made safe to insert as
    L{classify} makes them in each row: C{(origin, stream, hostname, domain,
    ip, osystem, release, version)}.
    """
    origin, stream, seq, *hostFields = _slowCommon(
        (source, stream, 0, *host, None, None, "", ""))[0][:9]
    return (origin, stream, *hostFields)


def classifyBatch(source, stream, seq, host, records, seqs=None):
    """
    L{classify} for every record of one batch, without making a
    L{mice.record.LogRecord} per line: what is the same for the whole batch
    (origin, stream, host columns) is made safe once.

    @param host: the six host columns.
    @param records: C{[date, time, logline, signature]} lists (strings, as
        the decoder checked them); the first has sequence number C{seq}, and
        the others follow it, or have the numbers C{seqs}.
    @return: C{(key, rowsByTable)}: C{key} is L{safeKey}'s, and
        C{rowsByTable} maps each table to a list of C{(seq, date, time,
        fields, logline, signature)} where C{fields} are L{routeLine}'s.
        L{mice.db.schema} turns these into rows.
    """
    key = safeKey(source, stream, host)
    rowsByTable = {}
    goodDates, goodTimes = _goodDates, _goodTimes
    cache = {}
    numbers = seqs if seqs is not None else range(seq, seq + len(records))
    for n, (day, clock, line, signature) in zip(numbers, records):
        if day not in goodDates:
            day = _checkedDate(day)
        if clock not in goodTimes:
            clock = _checkedTime(clock)
        if not (line.isascii() and signature.isascii()):
            line = _clean(line) or ""
            signature = _clean(signature)
        table, fields = routeLine(line)
        rows = cache.get(table)
        if rows is None:
            rows = cache[table] = rowsByTable[table] = []
        rows.append((n, day, clock, fields, line, signature))
    return key, rowsByTable
