# -*- test-case-name: tests.unit.analysis.test_aaregex -*-
"""
What an alert is about, read from its log line: the source and target
L{mice.alerts.Node}s, and the user and group IDs the MONITORING rules
match.  Pure, and only run for lines that raised an alert (or, for the IDs,
when MONITORING has rules), so each step starts with a substring test.

Understood:

  - the syslog header's program and pid (C{sshd[4711]:}): the target
    process; C{sshd} also names the service C{ssh};
  - C{from IP port N} (sshd and others), C{from IP}, C{from IP:N}
    (Dropbear), sshd's C{authenticating user X IP port N}: the source
    address and port;
  - when the line has no C{from IP}: PAM's C{rhost=}, Dovecot's C{rip=},
    auditd's C{addr=}, and C{host[IP]} (Postfix, Sendmail): the source
    address; an IPv4-mapped IPv6 address (C{::ffff:10.0.0.5}) is the IPv4
    one;
  - C{for user X}, C{for invalid user X}, C{for X from}, C{Invalid user X
    from}, C{User X from}, PAM's C{user=X} (and C{ruser=Y}, the source
    user), Dovecot's C{user=<X>}, auditd's C{acct="X"}: the target user
    (user names may hold dots, C{john.doe});
  - su's C{(to root) bob on /dev/pts/1}: source user bob, target user root;
    sudo's C{bob : ... USER=root}: the same;
  - netfilter (iptables, SuSEfirewall2) C{SRC= DST= SPT= DPT= PROTO=}: the
    source and target address and port, and the protocol; pf's C{filterlog}
    (pfSense, OPNsense) the same from its comma-separated fields;
  - Apache's common log format (the client address first, after a virtual
    host if the format logs one, IPv4 or IPv6, or after a syslog header when
    the line was forwarded through syslog; an authenticated user is the
    source user) and error log (C{[client IP]}, C{[client IP:port]},
    C{[client [IPv6]:port]}): the source address; the user of a failed HTTP
    authentication (C{user X not found}, C{user X: authentication failure
    for}, digest's C{user `X' in realm}, mod_authnz_ldap's C{user X
    authentication failed}): the target user;
  - nginx's error log (C{2024/03/08 05:22:28 [error] 811#811: *5 ...}):
    the source address is the one after the first C{, client: }; the user
    of a failed HTTP login (C{user "X": password mismatch}, C{user "X" was
    not found in}) the target user.

A target that the line gives no address for is the client host the record
came from (its host name and IP columns), when those are known.
"""

import ipaddress
import re

from mice.alerts import Node

#: The time stamp of a syslog header, as the default rules take it: RFC 3164
#: (with journalctl's microseconds), RFC 3339 and ISO 8601 (journalctl's
#: short-full, its day of the week and zone around it), TAI64, journalctl's
#: short-unix.  Followed by the host, which it may be read as.
SYSLOG_TIME = (r"(?:[A-Z][a-z]{2} (?: ?\d|\d\d) \d\d:\d\d:\d\d(?:\.\d+)?|(?:[A-Z][a-z]{2} )?\d{4}-\d\d-\d\d"
               r"[T ][\d:.]+(?:Z|[+-]\d\d(?::?\d\d)?| [A-Z]{3,5}| [+-]\d\d(?:\d\d)?)?|@[0-9a-f]{24}"
               r"|\d{9,10}\.\d+)")
#: The same where the host is taken from what follows (no such doubt): an
#: ISO date needs its "T", short-full its zone.
SYSLOG_STAMP = (r"(?:[A-Z][a-z]{2} (?: ?\d|\d\d) \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+"
                r"|[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+|\d{9,10}\.\d+)")

#: The facility and level busybox's syslogd (Alpine, OpenWrt) writes after
#: the host: "Mar  8 05:22:28 ap auth.info sshd[1]: ..." (the rules take it
#: there too, in the same words: a list of the names cost three times as
#: much in the scans).
SYSLOG_PRIORITY = r"(?:[a-z]+[0-7]?\.[a-z]+ )?"
_HEADER = re.compile(r"(?:<\d{1,3}>)?" + SYSLOG_STAMP + r" \S+ " + SYSLOG_PRIORITY
                     + r"([^\s\[\]:]+)(?:\[(\d+)\])?: ")
# Each starts with a literal, which re finds with a fast substring search;
# a leading \\b or look-behind would make it try every position instead.
# (Dropbear 2019 and later: "from <IP:port>".)
_FROM = re.compile(r"from [\[<]?([0-9A-Fa-f.:]*[0-9A-Fa-f])[\]>]?(?: port (\d+)|:(\d+)\b)?")
# FTP servers' clients: vsftpd's Client "IP", Pure-FTPd's (user@IP).
_FTP_CLIENT = re.compile(r'(?:Client "|\((?:[^()@\s]*)@)(?:::ffff:)?([0-9A-Fa-f.:]*[0-9A-Fa-f])[")]')
# sshd's answer to an SSH-1 client (Nmap's probe).
_DIFFER_FOR = re.compile(r"Protocol major versions differ for \[?([0-9A-Fa-f.:]*[0-9A-Fa-f])\]?"
                         r"(?: port (\d+))?")
_AUTHENTICATING = re.compile(r"(?:authenticating|invalid) user (\S+) ([0-9A-Fa-f.:]+) port (\d+)")
_FOR_USER = re.compile(r"for (?:invalid user |user |illegal user )?(\S+) from ")
_FOR_USER_ONLY = re.compile(r"for user (\S+)")
_INVALID_USER = re.compile(r"nvalid user (\S+) from ")
_USER_FROM = re.compile(r"User (\S+) from ")
_SU = re.compile(r"\(to (\S+)\) (\S+) on (\S+)")
_SUDO = re.compile(r" sudo(?:\[\d+\])?: +(\S+) : .*? USER=(\S+) ;")
# Where a line names its client when it has no "from IP": PAM, Dovecot,
# auditd, Postfix and Sendmail's host[IP].  The host before "[IP]" is not
# in the pattern: no group takes it, and a match that began with it would
# hold the same groups and end at the same place (the host's characters
# are neither "[", "]" nor "="), while re would try it at every position
# of every line (a fifth of mice analyze's time).
_BRACKETED = r"\[((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)\]"
_OTHER_SOURCE = re.compile(r"(?:rhost=|rip=|addr=)([0-9A-Fa-f.:]+)|" + _BRACKETED)
# Its second alternative, for a line without "rhost=", "rip=" or "addr=",
# where the first never matches: re then looks for "[" only, not for every
# "r" and "a" of the line.
_BRACKETED_SOURCE = re.compile(_BRACKETED)
# The first alternative, found by L{_otherSources} without the regex.
_SOURCE_KEYWORDS = ("rhost=", "rip=", "addr=")
_SOURCE_VALUE = re.compile(r"[0-9A-Fa-f.:]+")
_PAM_USERS = re.compile(r" ruser=(\S*) rhost=\S* +user=(\S+)")
# A name of at most 256 characters: unbounded, a line repeating "user=<"
# without a ">" made re read to its end from each (quadratic).
_OTHER_USER = re.compile(r"\buser=<([^>]{1,256})>|\bacct=\"([^\"]{1,256})\"")
_CLF = re.compile(r"(?:\S+ (?=\S+ \S+ \S+ \[))?([0-9A-Fa-f.:]+) \S+ (\S+) \[")
# The syslog header (and tag) the rules accept before an access-log line
# forwarded through syslog (nginx's access_log syslog:, Apache's CustomLog
# piped to logger) or an nginx error-log line (error_log syslog:).
_SYSLOG_TAG = re.compile(r"(?:<\d{1,3}>)?" + SYSLOG_TIME + r" (?:\S+ )?" + SYSLOG_PRIORITY
                         + r"[\w./-]+(?:\[\d+\])?: ")
# HAProxy's HTTP log (option httplog), through syslog: the client and its
# port (an IPv6 address unbracketed: its port after the last colon), the
# accept date, the frontend, backend/server, timers and status.
_HAPROXY = re.compile(r"([0-9A-Fa-f.:]+):(\d+) \[\d[^\]]*\] \S+ \S+ [-+\d/]+ (?:-1|\d{3}) ")
# nginx's error log: its time stamp, level, pid#tid and connection; the
# client after the message (its first ", client: ": the user name a failed
# login names comes before it, the request, host and referrer after); the
# user of a failed HTTP login.
_NGINX = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#\d+: (?:\*\d+ )?")
_NGINX_CLIENT = re.compile(r", client: ([0-9A-Fa-f.:]+)")
# pf's filterlog (pfSense, OPNsense): the line's syslog header and tag, then
# its comma-separated fields (L{_filterlog}); the words anywhere else (in a
# request a client sent) are not pf's.
_FILTERLOG = re.compile(r"(?:<\d{1,3}>)?" + SYSLOG_TIME + r" (?:\S+ )?filterlog(?:\[\d+\])?: ")
_NGINX_USER = re.compile(r'user "([^"\n]{1,256})"(?:: password mismatch| was not found in ")')
# The client of Apache's error log: an address, address:port or
# [IPv6]:port.  An IPv6 address without brackets is taken whole: read
# lazily, its last group was taken for a port.
_CLIENT = re.compile(r"\[client \[?([0-9A-Fa-f.]*(?::[0-9A-Fa-f.]*){2,7}(?=\]|\]?:\d+\])"
                     r"|[0-9A-Fa-f.:]+?)\]?(?::(\d+))?\]")
# The user of an HTTP authentication failure in Apache's error log (basic:
# "user X: authentication failure for", "user X not found"; digest: "user
# X: password mismatch", "user `X' in realm `R' not found"), after the
# client, ModSecurity's second client, and Apache 2.4's AH code: matched
# where the line's first client ends, so that a "[client X] user Y" in the
# text of another message (a path asked for) names no one.
_HTTP_USER = re.compile(r"\] (?:\[client [^\]\s]+\] )?(?:AH\d{5}: )?(?:Digest: |(?:\[\d+\] )?auth_ldap "
                        r"authenticate: )?user (?:`([^'\n]{1,256})' in realm |"
                        r"([^\s`']{1,256}?)(?:: authentication failure for | not found\b|"
                        r": password mismatch\b| authentication failed; URI ))")

_UID = re.compile(r"\b(?:a|e)?uid=(\d+)")
_GID = re.compile(r"\be?gid=(\d+)")
_LAUS = re.compile(
    r"\d{4}-\d\d-\d\dT\S+ \d+ \d+ (\S+) \[(\w+)\] (\w+)\(([^)]*)\)")
_INT = re.compile(r"-?\d+")
_UNSET = ("-1", "4294967295")

_addresses = {}
# A dotted quad as ipaddress takes one (no leading zero, no octet over 255,
# ASCII digits): its normal form is itself, known without ipaddress's
# parse, which is most of the time of an address a line names first.
_DOTTED_QUAD = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}",
    re.ASCII)
_EMPTY_NODE = vars(Node())
_FAST_NODES = not hasattr(Node, "__post_init__") and not hasattr(Node, "__slots__")


def address(text):
    """
    C{text} as a normalised IP address, or C{None} if it is not one.
    """
    known = _addresses.get(text, False)
    if known is not False:
        return known
    if _DOTTED_QUAD.fullmatch(text) is not None:
        value = text
    else:
        value = _parsedAddress(text)
    if len(_addresses) > 65536:
        _addresses.clear()
    _addresses[text] = value
    return value


def _parsedAddress(text):
    """L{address} by C{ipaddress}: the normal form of C{text}, or C{None}."""
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped if mapped is not None else parsed)


def _port(text):
    if text is not None and text.isdigit():
        value = int(text)
        if value < 65536:
            return value
    return None


def _field(line, name):
    """
    The value of netfilter's C{ NAME=value} (C{name} with its space and
    C{=}), or C{None}.
    """
    start = line.find(name)
    if start < 0:
        return None
    start += len(name)
    end = line.find(" ", start)
    return line[start:] if end < 0 else line[start:end]


def _node(fields):
    """
    A L{Node} of C{fields}, made without the frozen dataclass's C{__init__}
    (one C{object.__setattr__} per field): an alert agent makes two per
    alerted line.  The result is the same object C{Node(**fields)} makes.
    """
    if not _FAST_NODES:
        return Node(**fields)
    node = object.__new__(Node)
    values = node.__dict__
    values.update(_EMPTY_NODE)
    values.update(fields)
    return node


def _source(line):
    """
    The source address and port a line names in words (C{from IP port N}
    and the others of the module's list), or C{(None, None)}.
    """
    if "from " in line:
        found = _FROM.search(line)
        if found is not None:
            text, port = found.group(1), found.group(2) or found.group(3)
            if text.count(":") == 1:
                # Dropbear's IPv4 address:port.
                text, _, port = text.partition(":")
            value = address(text)
            if value is not None:
                return value, _port(port)
    if " user " in line and (found := _named(_AUTHENTICATING, line, 2, 3)):
        return found
    if ('Client "' in line or "pure-ftpd" in line) and (found := _named(_FTP_CLIENT, line, 1)):
        return found
    if "versions differ for " in line and (found := _named(_DIFFER_FOR, line, 1, 2)):
        return found
    if "=" in line or "[" in line:
        if "rhost=" in line or "rip=" in line or "addr=" in line:
            found = _otherSources(line)
        else:
            found = (m.group(1) for m in _BRACKETED_SOURCE.finditer(line))
        for text in found:
            value = address(text)
            if value is not None:
                return value, None
    return None, None


def _named(regex, line, at, portAt=None):
    """
    C{(address, port)} of the first match of C{regex} in C{line} (its
    groups C{at} and C{portAt}), or C{None} when it has none or names no
    address.
    """
    found = regex.search(line)
    if found is None:
        return None
    value = address(found.group(at))
    if value is None:
        return None
    return value, _port(found.group(portAt)) if portAt else None


def _otherSources(line):
    """
    What C{_OTHER_SOURCE.finditer} finds in C{line}, in its order: the
    values of C{rhost=}, C{rip=}, C{addr=} and the bracketed addresses.
    Each keyword is found with C{str.find} and the bracketed addresses
    with their own regex (which starts with a literal): the alternation of
    all of them starts at any C{r}, C{a} or C{[}, and C{re} tries it at
    each, several times slower.  Merged by position, less those that start
    inside the one before (C{addr=} within the value C{1.2.3.addr}, say:
    C{finditer} goes on after a match), they are C{finditer}'s matches.
    """
    found = []
    for keyword in _SOURCE_KEYWORDS:
        start = line.find(keyword)
        while start >= 0:
            value = _SOURCE_VALUE.match(line, start + len(keyword))
            if value is not None:
                found.append((start, value.end(), value.group()))
            start = line.find(keyword, start + 1)
    if "[" in line:
        found += [(m.start(), m.end(), m.group(1)) for m in _BRACKETED_SOURCE.finditer(line)]
    found.sort()
    out = []
    end = 0
    for start, stop, text in found:
        if start >= end:
            out.append(text)
            end = stop
    return out


def _filterlog(line):
    """
    C{(protocol, (source, port), (target, port))} of a line of pf's
    C{filterlog} (pfSense, OPNsense: C{rule,sub,anchor,tracker,interface,
    reason,action,direction,4,tos,ecn,ttl,id,offset,flags,protocol id,
    protocol,length,source,destination[,source port,destination port,...]},
    IPv6's C{6,class,flow,hop limit,protocol,protocol id,length,source,
    destination[,...]}), or C{None} when C{line} is not one; a value it
    does not hold is C{None}.
    """
    found = _FILTERLOG.match(line)
    if found is None:
        return None
    fields = line[found.end():].split(",", 24)
    if len(fields) < 9:
        return None
    if fields[8] == "4":
        protocol, at = fields[16:17], 18
    elif fields[8] == "6":
        protocol, at = fields[12:13], 15
    else:
        return None
    if len(fields) < at + 2:
        return None
    protocol = protocol[0].lower() if protocol else ""
    ports = (None, None)
    if protocol in ("tcp", "udp") and len(fields) >= at + 4:
        ports = (_port(fields[at + 2]), _port(fields[at + 3]))
    return (protocol, (address(fields[at]), ports[0]), (address(fields[at + 1]), ports[1]))


def _nginx(line):
    """
    Where the message of an nginx error-log line starts (after its time
    stamp, level, pid and connection), or C{-1} when C{line} is not one;
    also behind the syslog header of nginx's C{error_log syslog:} (the
    error-log line whole after C{nginx: }).
    """
    if line[4:5] == "/":
        found = _NGINX.match(line)
    else:
        head = _SYSLOG_TAG.match(line)
        found = None if head is None else _NGINX.match(line, head.end())
    return -1 if found is None else found.end()


def _client(line):
    """
    C{(address, port, user)} of the client of an Apache access or error
    log line, of HAProxy's HTTP log, or of an nginx error-log line, or
    C{None}.
    """
    # The syslog header before an access-log line forwarded through
    # syslog (nginx's access_log syslog:, Apache's CustomLog piped to
    # logger) or HAProxy's log; read once for both.
    head = _SYSLOG_TAG.match(line) if "] " in line else None
    start = head.end() if head is not None else 0
    # HAProxy's first: the headers it captured (a user agent) are the
    # client's words, which could look like another format's client.
    if "] " in line and (found := _HAPROXY.match(line, start)) is not None:
        value = address(found.group(1))
        if value is not None:
            return value, _port(found.group(2)), None
    at = _nginx(line) if ", client: " in line else -1
    if at >= 0:
        found = _NGINX_CLIENT.search(line, at)
        value = address(found.group(1)) if found is not None else None
        return None if value is None else (value, None, None)
    if not ("] \"" in line or "[client " in line):
        return None
    found = _CLF.match(line)
    if found is None and start and "] \"" in line:
        found = _CLF.match(line, start)
    if found is not None:
        value = address(found.group(1))
        if value is not None:
            user = found.group(2)
            return value, None, None if user == "-" else user
    found = _CLIENT.search(line)
    if found is not None:
        value = address(found.group(1))
        if value is not None:
            return value, _port(found.group(2)), None
    return None


#: What L{nodesFor} read from recent lines (C{mice analyze} makes an alert
#: of each rule set for many lines, the agents one per rule a line matches):
#: bounded, cleared when full.  C{mice analyze} makes the M-ICE rules'
#: alerts of a whole batch (a megabyte: thousands of lines) before the
#: LogIDS rules' alerts of the same lines, so it holds a batch's alerted
#: lines: with 2,048, most lines were read twice.
_known = {}
_KNOWN_LINES = 16384


def nodesFor(line, hostname=None, ip=None):
    """
    The source and target L{Node}s of C{line}.

    @param hostname: the host name of the client the line came from.
    @param ip: its address.
    @return: C{(sources, targets)}: tuples of at most one L{Node} each,
        empty when nothing is known.
    """
    known = _known.get(line)
    if known is None:
        if len(_known) >= _KNOWN_LINES:
            _known.clear()
        known = _known[line] = _lineNodes(line)
    sources, target, targets = known
    if "address" in target or not (ip or hostname):
        return sources, targets
    # The client's host is the target when the line names no address.
    target = dict(target)
    if ip:
        value = address(ip)
        if value is not None:
            target["address"] = value
    if hostname:
        target["hostname"] = hostname
    return sources, (_node(target),) if target else ()


def _lineNodes(line):
    """
    C{(sources, target, targets)}: what L{nodesFor} reads from C{line}
    alone: the sources, the target's fields (not to be changed: shared)
    and the targets they make.
    """
    source = {}
    target = {}
    header = _HEADER.match(line)
    if header is not None:
        process, pid = header.groups()
        target["process"] = process
        if pid is not None:
            target["pid"] = int(pid)
        if process == "sshd":
            target["service"] = "ssh"
    value, port = _source(line)
    if value is not None:
        source["address"] = value
        if port is not None:
            source["port"] = port
    if "for " in line or "user " in line or "User " in line:
        found = (_FOR_USER.search(line) or _INVALID_USER.search(line)
                 or _AUTHENTICATING.search(line) or _USER_FROM.search(line)
                 or _FOR_USER_ONLY.search(line))
        if found is not None:
            target["user"] = found.group(1).strip("'")
        elif "[client " in line:
            found = _HTTP_USER.match(line, line.find("] ", line.find("[client ")))
            if found is not None:
                target["user"] = found.group(1) or found.group(2)
        elif ", client: " in line:
            start = _nginx(line)
            found = _NGINX_USER.match(line, start) if start >= 0 else None
            if found is not None:
                target["user"] = found.group(1)
    if "(to " in line:
        found = _SU.search(line)
        if found is not None:
            target["user"], source["user"] = found.group(1), found.group(2)
    elif "user=" in line or "acct=" in line:
        users = _PAM_USERS.search(line)
        if users is not None:
            target["user"] = users.group(2)
            if users.group(1):
                source["user"] = users.group(1)
        else:
            found = _OTHER_USER.search(line)
            if found is not None:
                target["user"] = found.group(1) or found.group(2)
    elif " USER=" in line:
        found = _SUDO.search(line)
        if found is not None:
            source["user"], target["user"] = found.groups()
    if " SRC=" in line and " DST=" in line:
        for node, addressKey, portKey in ((source, " SRC=", " SPT="),
                                          (target, " DST=", " DPT=")):
            value = address(_field(line, addressKey) or "")
            if value is not None:
                node["address"] = value
            port = _port(_field(line, portKey))
            if port is not None:
                node["port"] = port
        protocol = _field(line, " PROTO=")
        if protocol:
            protocol = protocol.lower()
            source["protocol"] = target["protocol"] = protocol
        if target.get("process") == "kernel":
            # The kernel logged the packet; it is not what the packet was about.
            del target["process"]
    elif " filterlog" in line and (packet := _filterlog(line)) is not None:
        for node, (value, port) in zip((source, target), packet[1:]):
            if value is not None:
                node["address"] = value
            if port is not None:
                node["port"] = port
        if packet[0]:
            source["protocol"] = target["protocol"] = packet[0]
    else:
        client = _client(line)
        if client is not None:
            value, port, user = client
            source["address"] = value
            # Not a port the line's words named (a user agent's "from IP
            # port N"): the client's, or none.
            source.pop("port", None)
            if port is not None:
                source["port"] = port
            if user is not None:
                source["user"] = user
    return ((_node(source),) if source else (), target,
            (_node(target),) if target else ())


def addressesFor(line, hostname=None, ip=None):
    """
    The source and target addresses of C{line}: what L{nodesFor} gives as
    the C{address} of its source and target node (C{None} where it has
    none), for half the work -- C{mice analyze} prints no more.
    """
    target = None
    source = _source(line)[0]
    if " SRC=" in line and " DST=" in line:
        value = address(_field(line, " SRC=") or "")
        if value is not None:
            source = value
        target = address(_field(line, " DST=") or "")
    elif " filterlog" in line and (packet := _filterlog(line)) is not None:
        source, target = packet[1][0] or source, packet[2][0]
    else:
        client = _client(line)
        if client is not None:
            source = client[0]
    if target is None and ip:
        target = address(ip)
    return source, target


def _unique(values):
    return tuple(dict.fromkeys(v for v in values if v not in _UNSET))


def idValues(line):
    """
    The user and group IDs a record names, as text, in order of appearance.

    C{uid=}, C{euid=}, C{auid=} (auditd, and C{(uid=N)} of PAM) are user
    IDs; C{gid=} and C{egid=} group IDs.  The saved and file-system IDs and
    a file's owner (C{ouid=}) are left out: they are not who acted.  For a
    LAuS C{aucat} line the login field is a user ID (it may be a name,
    C{root}), and the arguments of the set*uid calls are user IDs, those of
    set*gid and setgroups group IDs.  The unset ID (C{-1}, C{4294967295})
    is never one.

    @return: C{(uids, gids)}: tuples of strings.
    """
    uids = []
    gids = []
    if "id=" in line:
        uids = _UID.findall(line)
        gids = _GID.findall(line)
    if line[4:5] == "-" and line[10:11] == "T":
        laus = _LAUS.match(line)
        if laus is not None:
            login, _, call, arguments = laus.groups()
            uids.append(login)
            if call.startswith("setgroups"):
                listed = arguments.partition("[")[2].partition("]")[0]
                gids.extend(_INT.findall(listed))
            elif call.startswith(("setuid", "setreuid", "setresuid", "setfsuid")):
                uids.extend(_INT.findall(arguments))
            elif call.startswith(("setgid", "setregid", "setresgid", "setfsgid")):
                gids.extend(_INT.findall(arguments))
    if not uids and not gids:
        return (), ()
    return _unique(uids), _unique(gids)
