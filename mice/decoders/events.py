# -*- test-case-name: tests.integration.test_aarules -*-
"""
Console events: what the LogIDS rules (L{mice.analysis.logids}) show on the
ManagementHost's console besides alerts, and the C{event} kind of the link
protocol that carries them there.

An analysis agent's C{mice_mod_pop_aa_rules} (L{mice.postproc.aarules})
makes one event per C{display}, C{icon} and C{drop} action, and one per
flush for the C{reject}s of a rule on a host (a count: rejected records are
not shown, only counted).  Events are delivered like alerts: at least once,
numbered on the link by the record they are about, so the ManagementHost
stores each once (C{console_event}, L{mice.postproc.eventdb}).

A record of an C{event} batch is a JSON object::

    {"action": "display", "loghost": "fw1", "ip": "10.0.0.1",
     "application": "ZoneAlarm", "rule": "rules.txt:2",
     "time": "2004-11-22T10:00:01", "fields": [["type", "FWIN"], ...]}

with C{"icon": "virus.bmp"} for C{icon}, C{"line": "..."} for C{drop} and
C{"count": 3} for C{reject}; C{rule} is C{null} for the automatic drop of
a record no rule matched.
"""

from typing import NamedTuple

from zope.interface import implementer

from mice.interfaces import IDecoder
from mice.protocols.wire import ProtocolError

#: The actions that make console events (alert and warning make IDMEF).
EVENT_ACTIONS = ("display", "icon", "drop", "reject")
#: The largest record an C{event} batch may carry, encoded (bytes).
MAX_EVENT = 65536
MAX_FIELDS = 256

_TEXT_KEYS = ("loghost", "ip", "application", "rule", "time", "icon", "line")


class ConsoleEvent(NamedTuple):
    """
    One console event received, with where it came from: the sender
    (C{source}), its C{stream} and C{seq}, unique together.
    """

    source: str
    stream: str
    seq: int
    action: str
    loghost: str
    ip: str
    application: str
    rule: str | None
    time: str | None
    """ISO 8601 local time of the record (C{YYYY-MM-DDTHH:MM:SS}), if known."""
    fields: tuple
    """C{display}: C{(name, value)} pairs, in the rule's order."""
    icon: str | None
    line: str | None
    count: int


def eventRecord(action, loghost, ip, application, rule, time, fields=None, icon=None,
                line=None, count=None):
    """
    The wire record of one event (see the module docstring).
    """
    record = {"action": action, "loghost": loghost, "ip": ip, "application": application,
              "rule": rule, "time": time}
    if fields is not None:
        record["fields"] = [[name, value] for name, value in fields]
    if icon is not None:
        record["icon"] = icon
    if line is not None:
        record["line"] = line
    if count is not None:
        record["count"] = count
    return record


def checkEvent(record):
    """
    The checked parts of one wire record.

    @return: C{(action, loghost, ip, application, rule, time, fields, icon,
        line, count)}.
    @raise ValueError: naming what is wrong.
    """
    if type(record) is not dict:
        raise ValueError("not an object")
    action = record.get("action")
    if action not in EVENT_ACTIONS:
        raise ValueError(f"'action' must be one of {', '.join(EVENT_ACTIONS)}")
    values = {}
    for key in _TEXT_KEYS:
        value = record.get(key)
        if value is not None and type(value) is not str:
            raise ValueError(f"{key!r} must be a string")
        values[key] = value
    fields = record.get("fields", ())
    if type(fields) not in (list, tuple) or len(fields) > MAX_FIELDS:
        raise ValueError(f"'fields' must be a list of at most {MAX_FIELDS} pairs")
    pairs = []
    for pair in fields:
        if (type(pair) is not list or len(pair) != 2
                or type(pair[0]) is not str or type(pair[1]) is not str):
            raise ValueError("'fields' must hold [name, value] string pairs")
        pairs.append((pair[0], pair[1]))
    count = record.get("count", 1)
    if type(count) is not int or not 0 < count < 2 ** 31:
        raise ValueError("'count' must be a positive integer")
    return (action, values["loghost"] or "", values["ip"] or "", values["application"] or "",
            values["rule"], values["time"], tuple(pairs), values["icon"], values["line"], count)


@implementer(IDecoder)
class EventDecoder:
    """
    The C{mice_mod_dec_event} decoding module: C{event} batches from
    analysis agents.  A record that is not a valid event refuses the whole
    batch, and that connection is closed with the reason.
    """

    kind = "event"

    def __init__(self, maxRecord=MAX_EVENT):
        self.maxRecord = maxRecord

    def _events(self, source, stream, numbers, records, batchId):
        out = []
        for index, (n, record) in enumerate(zip(numbers, records)):
            try:
                checked = checkEvent(record)
            except ValueError as e:
                raise ProtocolError(f"batch {batchId}: record {index}: {e}") from None
            out.append(ConsoleEvent(source, stream, n, *checked))
        return out

    def decode(self, source, batch):
        return self._events(source, batch.stream, batch.recordNumbers(), batch.records, batch.id)

    def recover(self, source, message):
        records = message["recs"]
        numbers = message.get("seqs") or range(message["seq"], message["seq"] + len(records))
        return self._events(source, message["stream"], numbers, records, message.get("id"))


def buildDecoder(configPath, reactor):
    """
    The C{mice_mod_dec_event} module: its config is a decoding module's
    (C{[DECODER]}: the link's security).
    """
    from mice.config import loadDecoder

    settings = loadDecoder(configPath)
    decoder = EventDecoder(maxRecord=max(settings.maxRecord, 4096))
    return decoder
