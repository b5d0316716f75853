# -*- test-case-name: tests.unit.reactors.test_syslogformat -*-
"""
syslog lines, pure: what the syslog reaction (L{mice.reactors.syslog}) and
the syslog relay (L{mice.postproc.syslog}) send, and how to read an alert
line back.

An alert becomes exactly one line whatever its fields hold: every value is
written C{name="value"} with backslash, double quote, control characters
(C0, DEL, C1), line and paragraph separators, Unicode format characters
(bidirectional overrides, zero-width characters) and unassigned or
surrogate code points escaped (C{\\\\}, C{\\"}, C{\\xHH}, C{\\uHHHH},
C{\\UHHHHHHHH}), so neither a newline nor a terminal escape from an
attacker's log line reaches the syslog file or breaks the framing of a
stream.  L{parseAlertLine} undoes it.

No I/O, no reactor: time comes in as C{now} (seconds since the epoch).
See C{docs/reactions.rst}.
"""

import re
import time
import unicodedata
from datetime import UTC, datetime

#: syslog severities (RFC 5424 table 2).
EMERG, ALERT, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG = range(8)

#: The syslog severity of each IDMEF severity when the config says
#: C{SEVERITY = idmef}: a high alert is critical, a medium one a warning.
SEVERITY_OF = {"high": CRIT, "medium": WARNING, "low": NOTICE, "info": INFO}

#: The MSGID of an alert line (RFC 5424) and the first word of its message.
MSGID = "alert"

#: The order fields are written in (and cut in, when a line is too long:
#: the last ones go first).
FIELDS = ("key", "id", "aid", "severity", "desc", "class", "src", "srcuser", "dst",
          "dstuser", "analyzer", "analyzerhost", "from", "created")

#: A field value longer than this many characters is cut, saying how much.
FIELD_CHARS = 512

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_SPECIAL_ASCII = re.compile(r'[\x00-\x1f\x7f"\\]')
#: Non-ASCII categories escaped: controls, format characters (bidi overrides,
#: zero-width), line and paragraph separators, surrogates, unassigned.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})


def priority(facility, severity):
    """
    The PRI value of a facility and a severity (RFC 5424 6.2.1).
    """
    return facility * 8 + severity


def _escapeChar(char):
    if char == "\\":
        return "\\\\"
    if char == '"':
        return '\\"'
    code = ord(char)
    if code < 0x100:
        return "\\x%02x" % code
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def escape(text):
    """
    C{text} fit to stand between double quotes on one syslog line (see the
    module docstring); L{unescape} reverses it.
    """
    if text.isascii():
        if _SPECIAL_ASCII.search(text) is None:
            return text
        return _SPECIAL_ASCII.sub(lambda match: _escapeChar(match.group()), text)
    parts = []
    for char in text:
        if char < "\x80":
            parts.append(_escapeChar(char) if char in '"\\' or char < " " or char == "\x7f"
                         else char)
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            parts.append(_escapeChar(char))
        else:
            parts.append(char)
    return "".join(parts)


_ESCAPE = re.compile(r'\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|(.))', re.S)


def _unescapeOne(match):
    code = match.group(1) or match.group(2) or match.group(3)
    if code is not None:
        return chr(int(code, 16))
    return match.group(4)


def unescape(text):
    """
    The text L{escape} was given.
    """
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescapeOne, text)


def _cut(text, limit):
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit} more]"


def _nodes(nodes, attribute):
    values = []
    for node in nodes:
        value = getattr(node, attribute)
        if attribute == "address" and value is None:
            value = node.hostname
        if value is not None and value not in values:
            values.append(str(value))
    return ",".join(values) if values else None


def alertFields(routed):
    """
    C{(name, value)} for every field of L{FIELDS} that C{routed} (a
    L{mice.alerts.RoutedAlert}) has, in that order; values are text,
    unescaped.
    """
    alert = routed.alert
    found = {
        "key": routed.key,
        "id": alert.messageId,
        "aid": None if alert.alertId is None else "0x%04X" % alert.alertId,
        "severity": alert.severity,
        "desc": routed.description,
        "class": alert.classification,
        "src": _nodes(alert.sources, "address"),
        "srcuser": _nodes(alert.sources, "user"),
        "dst": _nodes(alert.targets, "address"),
        "dstuser": _nodes(alert.targets, "user"),
        "analyzer": alert.analyzerId,
        "analyzerhost": alert.analyzerHost,
        "from": routed.receivedFrom,
        "created": alert.createTime,
    }
    return tuple((name, str(found[name])) for name in FIELDS
                 if found[name] is not None and found[name] != "")


def rfc3164Timestamp(now):
    """
    C{Mmm dd hh:mm:ss} in local time (RFC 3164 4.1.2).
    """
    t = time.localtime(now)
    return "%s %2d %02d:%02d:%02d" % (_MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min,
                                      t.tm_sec)


def rfc5424Timestamp(now):
    """
    RFC 3339 in UTC with microseconds (RFC 5424 6.2.3).
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def header(fmt, pri, now, hostname, tag, procid, msgid="-"):
    """
    The text of a syslog line before its message, up to and including the
    space (RFC 5424) or C{": "} (RFC 3164) after which it starts.  An RFC
    3164 line has no HOSTNAME when C{hostname} is C{None} (what the local
    socket expects: the syslog daemon adds its own).
    """
    if fmt == "rfc5424":
        return "<%d>1 %s %s %s %s %s - " % (pri, rfc5424Timestamp(now), hostname or "-",
                                            tag or "-", procid or "-", msgid)
    host = f"{hostname} " if hostname else ""
    pid = f"[{procid}]" if procid else ""
    return "<%d>%s %s%s%s: " % (pri, rfc3164Timestamp(now), host, tag, pid)


def formatAlert(routed, fmt, facility, severity, now, hostname=None, tag="mice", procid=None,
                maxLength=2048):
    """
    One alert as one syslog line (UTF-8 bytes, no newline): the header of
    C{fmt} (C{"rfc3164"} or C{"rfc5424"}) then C{alert} and the fields of
    L{alertFields}, each C{name="escaped value"}.

    @param severity: a syslog severity, or C{"idmef"} for the alert's own
        (L{SEVERITY_OF}).
    @param maxLength: bytes the line may take.  Field values longer than
        L{FIELD_CHARS} are cut first; if the line is still too long, the
        last fields are cut to fit or left out.  The key is always there.
    """
    if severity == "idmef":
        severity = SEVERITY_OF.get(routed.alert.severity, WARNING)
    return _formatLine(routed, header(fmt, priority(facility, severity), now, hostname, tag,
                                      procid, MSGID), maxLength)


def formatAlerts(routedAlerts, fmt, facility, severity, now, hostname=None, tag="mice",
                 procid=None, maxLength=2048):
    """
    L{formatAlert} of each of C{routedAlerts}, all at C{now}: the same
    lines, with each header made once (per syslog severity) rather than
    once per alert.
    """
    headers = {}
    lines = []
    for routed in routedAlerts:
        level = (SEVERITY_OF.get(routed.alert.severity, WARNING) if severity == "idmef"
                 else severity)
        start = headers.get(level)
        if start is None:
            start = headers[level] = header(fmt, priority(facility, level), now, hostname,
                                            tag, procid, MSGID)
        lines.append(_formatLine(routed, start, maxLength))
    return lines


def _formatLine(routed, start, maxLength):
    """
    The line of C{routed} after its header C{start} (L{formatAlert}).
    """
    fields = alertFields(routed)
    # Most lines fit whole: made in one piece, and cut field by field only
    # when they do not (the same bytes either way when they fit).
    line = (start + MSGID + "".join([
        ' key="%s"' % escape(value) if name == "key"
        else ' %s="%s"' % (name, escape(_cut(value, FIELD_CHARS)))
        for name, value in fields])).encode("utf-8")
    if len(line) <= maxLength:
        return line
    line = (start + MSGID).encode("utf-8")
    for name, value in fields:
        if name == "key":
            line += b' key="%s"' % escape(value).encode("utf-8")
            continue
        value = escape(_cut(value, FIELD_CHARS))
        item = (' %s="%s"' % (name, value)).encode("utf-8")
        if len(line) + len(item) <= maxLength:
            line += item
            continue
        room = maxLength - len(line) - len(' ="%s"' % _CUT) - len(name)
        if room >= 16:
            line += (' %s="%s%s"' % (name, _cutEscaped(value, room), _CUT)).encode("utf-8")
        break
    return line


_CUT = " [... cut]"


def _cutEscaped(escaped, room):
    """
    The longest start of an escaped value that fits in C{room} UTF-8 bytes
    and does not end inside an escape sequence or a character.
    """
    data = escaped.encode("utf-8")[:room].decode("utf-8", "ignore")
    # Never leave half an escape: drop a trailing backslash run of odd
    # length, or an incomplete \xHH / \uHHHH / \UHHHHHHHH.
    tail = re.search(r'(\\+)([xuU][0-9a-f]*)?$', data)
    if tail is not None:
        slashes, rest = tail.group(1), tail.group(2) or ""
        if len(slashes) % 2:
            need = {"x": 3, "u": 5, "U": 9}.get(rest[:1], 0)
            if not rest or len(rest) < need:
                data = data[:tail.start() + len(slashes) - 1]
    return data


_FIELD = re.compile(r' ([a-z]+)="((?:[^"\\]|\\.)*)"', re.S)
_RFC5424 = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)\Z", re.S)
_RFC3164 = re.compile(r"<(\d{1,3})>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (?:(\S+) )?([!-~]+?)"
                      r"(?:\[([^\]]*)\])?: (.*)\Z", re.S)


def parseAlertLine(data):
    """
    Read back a line L{formatAlert} wrote (bytes or text).

    @return: C{(pri, fields)}: the PRI number and a dict of the fields,
        unescaped.
    @raise ValueError: not such a line.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    match = _RFC5424.match(data)
    if match is not None:
        pri, message = int(match.group(1)), match.group(8)
        if match.group(6) != MSGID:
            raise ValueError("not an alert line: MSGID is not alert")
    else:
        match = _RFC3164.match(data)
        if match is None:
            raise ValueError("neither an RFC 5424 nor an RFC 3164 line")
        pri, message = int(match.group(1)), match.group(6)
    if not message.startswith(MSGID + " "):
        raise ValueError("not an alert line")
    rest = message[len(MSGID):]
    fields = {}
    position = 0
    while position < len(rest):
        found = _FIELD.match(rest, position)
        if found is None:
            raise ValueError(f"bad field at {rest[position:position + 20]!r}")
        fields[found.group(1)] = unescape(found.group(2))
        position = found.end()
    if "key" not in fields:
        raise ValueError("an alert line without its key")
    return pri, fields


def frame(line, transport, framing="octet-counting"):
    """
    C{line} as it goes out on C{transport} (C{"unix"}, C{"udp"} or
    C{"tcp"}): a datagram is the line itself; on TCP, RFC 6587 octet
    counting (C{LEN SP line}) or the line and a newline (safe: a line
    never holds one).
    """
    if transport != "tcp":
        return line
    if framing == "newline":
        return line + b"\n"
    return b"%d %s" % (len(line), line)


def parseTarget(target, kinds=("unix", "udp", "tcp")):
    """
    @return: C{("unix", path)}, C{("udp", (host, port))} or C{("tcp", (host,
        port))}, for the kinds in C{kinds}.
    @raise ValueError: anything else.
    """
    kind, _, rest = target.partition(":")
    if kind == "unix" and rest and kind in kinds:
        return "unix", rest
    if kind in ("udp", "tcp") and kind in kinds:
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return kind, (host, int(port))
    shown = " or ".join({"unix": "unix:PATH", "udp": "udp:HOST:PORT",
                         "tcp": "tcp:HOST:PORT"}[k] for k in kinds)
    raise ValueError(f"syslog TARGET must be {shown}, not {target!r}")
