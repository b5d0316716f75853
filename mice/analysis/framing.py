# -*- test-case-name: tests.unit.analysis.test_framing -*-
"""
Syslog lines in RFC 5424's framing, and messages rsyslog wrote once for
several, read as the rule sets read every other syslog line.

A file written with rsyslog's C{RSYSLOG_SyslogProtocol23Format}, or the
messages of a sender speaking RFC 5424 kept as they came, hold lines such
as::

    <38>1 2019-07-08T17:40:16.954167-04:00 web1 sshd 57915 - - Failed password for root from 192.0.2.1 port 59197 ssh2

where the rules (the default content's and the seed's) expect the program
and its pid as every other syslog file writes them, C{sshd[57915]: }.
Before a line reaches the rule sets, L{traditional} gives it the form
rsyslog's C{RSYSLOG_FileFormat} writes for the same message::

    2019-07-08T17:40:16.954167-04:00 web1 sshd[57915]: Failed password for root from 192.0.2.1 port 59197 ssh2

the priority, the version, the message id and the structured data left
out, a byte-order mark before the message dropped (and a priority
before a classic or ISO date, C{<38>Nov 22 10:00:01 ...}, as a sender
puts it on the wire, dropped too).  A nil host name
(C{-}) is left out, as is a nil process id (C{sshd: }); without an
application name the line has no tag.  A line whose timestamp is nil, or
that is not RFC 5424's, is read as it is.  The raw-log store keeps the
line as it was written: this is the line the rules, their alerts and
C{mice analyze} show.

rsyslog also writes a message repeated at once as one line
(C{$RepeatedMsgReduction}, on in Debian's and Ubuntu's configuration)::

    Dec  7 06:10:12 srv1 sshd[2012]: message repeated 5 times: [ Failed password for root from 198.51.100.12 port 22 ssh2]

which is read as the message it repeats, once::

    Dec  7 06:10:12 srv1 sshd[2012]: Failed password for root from 198.51.100.12 port 22 ssh2

The line raises one alert, which says how many times the message came
(L{repeatCount}: its additional data C{repeated}, C{5}), and the correlation
rules count it that many times: five failed passwords in one connection are
a brute force whether rsyslog wrote them as five lines or as one.
"""

import re

#: C{<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA[ MSG]}
#: (RFC 5424 6): structured data is C{-} or elements C{[id name="value"...]},
#: a value holding C{\\"}, C{\\\\} and C{\\]} escaped.
_RFC5424 = re.compile(
    r"<\d{1,3}>1 (\d{4}-\d\d-\d\dT\S+) (\S+) (\S+) (\S+) \S+"
    r" (?:-|(?:\[[^\]\s\"]+(?: [^=\s\]\"]+=\"(?:[^\"\\]|\\.)*\")*\])+)(?: \ufeff?(.*)|)\Z",
    re.S)


#: C{<PRI>} before C{Nov 22 10:00:01} or C{2004-11-22T10:00:01}.
_PRIORITY = re.compile(r"<\d{1,3}>(?=[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\d[T ]\d\d:)")

#: rsyslog's C{message repeated N times: [ MESSAGE]} after the header.
_REPEATED_TEXT = "message repeated "
_REPEATED = re.compile(r"message repeated (\d+) times: \[ ?(.*)\]\Z", re.S)


#: The most times L{repeatCount} says a message came (rsyslog writes a
#: repeated message at least every 30 s by default; more than a million
#: in one line is a forged line, not a count to carry on).
MAX_REPEAT = 1000000


def traditional(line):
    """
    C{line} as rsyslog's C{RSYSLOG_FileFormat} writes the message, if it
    is in RFC 5424's framing, the message it repeats if it is rsyslog's
    C{message repeated N times}; else C{line} itself.
    """
    if line.startswith("<"):
        line = _fromRfc5424(line)
    at, match = _repeated(line)
    return line if match is None else line[:at] + match.group(2)


def repeatCount(line):
    """
    How many times the message of C{line} came: C{N} for rsyslog's
    C{message repeated N times: [ MESSAGE]} (read as L{traditional} reads
    it), else 1 (and at most L{MAX_REPEAT}).
    """
    if line.startswith("<"):
        line = _fromRfc5424(line)
    _, match = _repeated(line)
    count = 1 if match is None else int(match.group(1))
    return min(count, MAX_REPEAT) if count > 1 else 1


def _repeated(line):
    """
    C{(at, match)} of rsyslog's C{message repeated N times: [ MESSAGE]} in
    a line in the file form: the first one, after the header's C{": "}
    (one search, not one per C{": "}); C{match} C{None} when there is none.
    """
    at = line.find(_REPEATED_TEXT)
    if at < 2 or line[at - 2:at] != ": ":
        return at, None
    return at, _REPEATED.match(line, at)


def _fromRfc5424(line):
    match = _RFC5424.match(line)
    if match is None:
        # A priority before a classic or ISO date, as a sender put it on
        # the wire: the file format has none.
        dated = _PRIORITY.match(line)
        return line if dated is None else line[dated.end():]
    stamp, host, app, pid, message = match.groups()
    head = stamp if host == "-" else f"{stamp} {host}"
    if app == "-":
        return f"{head} {message}" if message else head
    tag = f"{app}:" if pid == "-" else f"{app}[{pid}]:"
    if not message:
        return f"{head} {tag}"
    # rsyslog's sp-if-no-1st-sp: a message that starts with a space keeps it.
    return f"{head} {tag}{message}" if message[0] == " " else f"{head} {tag} {message}"


def traditionalLines(lines, text=None):
    """
    C{(lines, text)} with each line L{traditional}: the same list and
    text when none is read otherwise (C{text}: C{"\\n".join(lines)},
    joined here when C{None}).
    """
    if text is None:
        text = "\n".join(lines)
    # Few lines start with "<" or repeat a message: searches for those, in
    # C, pass most batches.
    if (not text.startswith("<") and "\n<" not in text
            and _REPEATED_TEXT not in text):
        return lines, text
    read = [traditional(line) if line[:1] == "<" or _REPEATED_TEXT in line else line
            for line in lines]
    if all(map(str.__eq__, read, lines)):
        return lines, text
    return read, "\n".join(read)


def traditionalRecord(record):
    """
    A L{mice.record.LogRecord} with its line L{traditional}: C{record}
    itself when its line is read as it is.
    """
    line = record.logline
    if line[:1] != "<" and _REPEATED_TEXT not in line:
        return record
    framed = traditional(line)
    return record if framed is line else record._replace(logline=framed)


def traditionalRecords(records):
    """
    C{records} (a list of L{mice.record.LogRecord}s), each
    L{traditionalRecord}: the same list when every line is read as it
    is.
    """
    out = None
    for index, record in enumerate(records):
        line = record.logline
        if line[:1] == "<" or _REPEATED_TEXT in line:
            framed = traditionalRecord(record)
            if framed is not record:
                if out is None:
                    out = list(records)
                out[index] = framed
    return records if out is None else out
