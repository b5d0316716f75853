# -*- test-case-name: tests.unit.analysis.test_aaregex,tests.unit.analysis.test_logids,tests.integration.test_aaregex,tests.integration.test_logids -*-
"""
Offline analysis, as C{mice analyze} prints it (like C{fail2ban-regex}):
reading a log file the way the BufferDaemon decodes it, and the bytes of
the listing and of C{--json} for the M-ICE rules and the LogIDS rules, made
from pieces cut once per rule so that a million lines print in seconds.
Pure: files in, text out; tests and benches import it.
"""

from collections import defaultdict


def zoneNamed(name):
    """
    The C{tzinfo} of C{--tz}: C{local} (C{None}: the host's own zone), C{UTC},
    a fixed offset (C{+01:00}) or an IANA name (C{Europe/Berlin}).
    """
    from datetime import UTC, datetime

    if name == "local":
        return None
    if name.upper() in ("UTC", "Z"):
        return UTC
    if name[:1] in "+-":
        return datetime.strptime(name.replace(":", ""), "%z").tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def openInput(path):
    """
    C{path} opened for reading bytes; C{-} is standard input (left open).
    """
    if path == "-":
        import io
        import sys

        return io.BufferedReader(io.FileIO(sys.stdin.fileno(), "rb", closefd=False))
    return open(path, "rb")


def readLines(path, size=1 << 22):
    """
    The lines of a log file, decoded as the BufferDaemon does (each line's
    bytes as L{mice.forwarder.format.decodeLogBytes} decodes them, without its
    C{\\n} or C{\\r\\n}), in batches of about C{size} bytes: C{(lines, text)},
    C{text} being C{"\\n".join(lines)}.

    A batch is decoded at once: a newline byte is never part of a UTF-8
    sequence, so decoding the lines together gives the lines decoded one
    by one, joined by newlines.
    """
    with openInput(path) as f:
        rest = b""
        while True:
            data = f.read(size)
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                rest += data
                continue
            block, rest = rest + data[:cut], data[cut + 1:]
            yield decodeBlock(block, True)
        if rest:
            yield decodeBlock(rest, False)


def decodeBlock(block, ended):
    """
    C{(lines, text)} of whole lines' bytes joined by newlines; C{ended}:
    whether a newline followed the last one (the file's last line may
    have none).
    """
    text = block.decode("utf-8", "backslashreplace")
    lines = text.split("\n")
    if "\r" in text:
        # CRLF endings: the CR before a newline goes with it.
        last = lines[-1]
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        if not ended:
            lines[-1] = last
        text = "\n".join(lines)
    return lines, text


def alertFormats(matches, descriptions, dumps=None):
    """
    The output of the alerts of one line's matches (one L{Match} tuple, of
    which there are few): a C{str.format} template of the line's number,
    source and target (and, for the listing, the line), built from the
    same fields L{makeAlert} gives the alert.

    @param dumps: C{json.dumps} for C{--json} (its objects, one a line),
        C{None} for the listing.
    """
    from mice.analysis.aaregex import SEVERITY, UNCLASSIFIED

    parts = []
    for match in matches:
        if match.alertId is None:
            classification, severity, aid = UNCLASSIFIED, "info", None
        else:
            classification = descriptions.get(match.alertId) or match.key
            severity = SEVERITY.get(match.alertId, "medium")
            aid = f"0x{match.alertId:04x}"
        if dumps is not None:
            head = '{"line": '
            middle = (f', "alertid": {dumps(aid)}, "classification": {dumps(classification)},'
                      ' "source": ')
            tail = (f', "severity": {dumps(severity)}, "rule": {dumps(match.key)},'
                    f' "sendto": {dumps(match.sendTo)}}}\n')
            parts.append(brace(head) + "{0}" + brace(middle) + "{1}"
                         + brace(', "target": ') + "{2}" + brace(tail))
        else:
            parts.append("{0}" + brace(f": {aid or '-'} {classification} [{match.key}"
                                        f" -> {match.sendTo}] {severity} ")
                         + "{1} -> {2}\n    {3}\n")
    return "".join(parts)


def brace(text):
    return text.replace("{", "{{").replace("}", "}}")


class LogIdsJson:
    """
    C{mice analyze --rules --json}'s output of a line's actions: each
    action's L{Taken.asDict} as C{json.dumps} prints it, one a line, made
    from pieces cut from C{json.dumps} of the same objects once per rule and
    application, so that the bytes are the same.
    """

    def __init__(self):
        import json

        self._dumps = json.dumps
        # What json.dumps does to a str (ensure_ascii).
        self._string = json.encoder.encode_basestring_ascii
        self._pieces = defaultdict(dict)
        self._names = {}

    def format(self, number, application, taken):
        """The text of the objects of one line's actions."""
        return self.lines(number, ((application, taken),))

    def lines(self, first, actions):
        """
        The text of the objects of the actions of lines C{first},
        C{first + 1}...: C{actions} holds C{(application, taken)} for each
        (L{LogIdsEngine.actions}).
        """
        byApplication = self._pieces
        names = self._names
        string = self._string
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication[application]
            head = f'{{"line": {number}'
            for action in taken:
                # A display's object differs from line to line by its fields only.
                fields = action.fields
                key = action if fields is None else action.rule
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None:
                    write(head + piece)
                else:
                    write(head + piece + ", ".join([
                        (names.get(name) or self._name(name)) + string(value) + "]"
                        for name, value in fields]) + "]}\n")
        return "".join(out)

    def _piece(self, application, action):
        """
        The object after C{{"line": N}: all of it and a newline, or for a
        C{display}, up to the fields list's C{[}.
        """
        start = '{"line": 0'
        if action.fields is None:
            text = self._dumps(action.asDict(0, application))
            assert text.startswith(start), text
            return text[len(start):] + "\n"
        text = self._dumps(action._replace(fields=()).asDict(0, application))
        assert text.startswith(start) and text.endswith('"fields": []}'), text
        return text[len(start):-2]

    def _name(self, name):
        text = self._names[name] = "[" + self._string(name) + ", "
        return text


class LogIdsListing:
    """
    C{mice analyze --rules}'s readable listing of a line's actions, one a
    line: C{N: application kind detail [rule]}; what does not change from
    line to line is made once per action and application.
    """

    def __init__(self):
        self._pieces = defaultdict(dict)

    def lines(self, first, actions):
        """The listing of lines C{first}, C{first + 1}... (see L{LogIdsJson.lines})."""
        byApplication = self._pieces
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication[application]
            for action in taken:
                fields = action.fields
                key = action if fields is None else (action.rule, action.kind,
                                                     action.severity, action.icon)
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None or action.severity or action.icon:
                    write(f"{number}{piece[0]}{piece[1]}")
                else:
                    detail = " ".join([f"{k}={v}" for k, v in fields])
                    write(f"{number}{piece[0]}{' ' + detail if detail else ''}{piece[1]}")
        return "".join(out)

    @staticmethod
    def _piece(application, action):
        """The text before the detail of fields and after it."""
        detail = action.severity or action.icon
        return (f": {application or '-'} {action.kind}{' ' + detail if detail else ''}",
                f" [{action.rule.where if action.rule else 'no rule'}]\n")
