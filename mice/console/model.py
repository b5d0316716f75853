# -*- test-case-name: tests.unit.console.test_model -*-
"""
The console's live state, pure: the host panes (L{HostBoard}), the ring of
recent events with their ids (L{EventRing}), and Server-Sent Events
framing (L{frame}).

An event id is C{A.E.B.N}: C{A} and C{E} the last C{alert_entry} and
C{console_event} row ids the console had read when the event was made,
C{B} the console's boot (random, per start) and C{N} the event's serial
number in that boot.  A browser that reconnects sends the last id it got
(C{Last-Event-ID}): while the same boot holds the events after C{N} in its
ring they are sent again as they were; otherwise (a restart, or a browser
away too long) the alerts and console events after rows C{A} and C{E} are
read back from the database, and a C{resync} event tells the page to
fetch what is not kept in rows (heartbeats, countermeasures).  C{N} of
C{r} marks an event read back that way (it is not in any ring).
"""

import json
import re
from collections import deque
from typing import NamedTuple

#: Kinds of events a stream carries.
KINDS = ("alert", "line", "reaction", "countermeasure", "heartbeat", "resync", "reload")

_ID = re.compile(r"(\d{1,19})\.(\d{1,19})\.([0-9a-f]{1,32})\.(\d{1,19}|r)\Z")


class EventId(NamedTuple):
    alertRow: int
    eventRow: int
    boot: str
    serial: int | None
    """C{None}: an event read back from the database (C{r})."""

    def __str__(self):
        return "%d.%d.%s.%s" % (self.alertRow, self.eventRow, self.boot,
                                "r" if self.serial is None else self.serial)


def asciiText(value):
    """
    C{value}, text or bytes from a request, as text; C{None} when it is
    empty or bytes that are not ASCII.
    """
    if not value:
        return None
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value


def parseEventId(text):
    """
    @return: the L{EventId} of C{text}, or C{None} when it is not one.
    """
    text = asciiText(text)
    if text is None:
        return None
    match = _ID.match(text.strip())
    if not match:
        return None
    a, e, boot, n = match.groups()
    return EventId(int(a), int(e), boot, None if n == "r" else int(n))


def frame(eventId, kind, data):
    """
    One Server-Sent Events message (bytes).  The JSON is ASCII (every
    other character escaped), so no line break or control character of a
    log line can end a field early.
    """
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return ("id: %s\nevent: %s\ndata: %s\n\n" % (eventId, kind, payload)).encode("ascii")


KEEPALIVE = b": keepalive\n\n"


class Event(NamedTuple):
    id: EventId
    kind: str
    data: dict
    bytes: bytes


class EventRing:
    """
    The last C{size} events, and the row ids read so far.

    @ivar alertRow: the last C{alert_entry} row id read.
    @ivar eventRow: the last C{console_event} row id read.
    """

    def __init__(self, boot, size=2000, alertRow=0, eventRow=0):
        self.boot = boot
        self.size = size
        self.alertRow = alertRow
        self.eventRow = eventRow
        self.serial = 0
        self._events = deque(maxlen=size)

    def __len__(self):
        return len(self._events)

    @property
    def lastId(self):
        """The id of where the stream stands now (as of the last event)."""
        return EventId(self.alertRow, self.eventRow, self.boot, self.serial)

    def add(self, kind, data, alertRow=None, eventRow=None):
        """
        Record a new event (advancing the row marks for a durable one).

        @return: the L{Event}.
        """
        if alertRow is not None:
            self.alertRow = max(self.alertRow, alertRow)
        if eventRow is not None:
            self.eventRow = max(self.eventRow, eventRow)
        self.serial += 1
        eventId = EventId(self.alertRow, self.eventRow, self.boot, self.serial)
        event = Event(eventId, kind, data, frame(eventId, kind, data))
        self._events.append(event)
        return event

    def replayed(self, kind, data, alertRow, eventRow):
        """
        An event read back from the database for a resuming stream (not
        kept in the ring): its id carries the rows, and C{r}.
        """
        eventId = EventId(alertRow, eventRow, self.boot, None)
        return Event(eventId, kind, data, frame(eventId, kind, data))

    def after(self, eventId):
        """
        The events after C{eventId}, if this ring can say.

        @return: a list (possibly empty), or C{None} when the ring cannot
            tell (another boot, an event read back, or events since then
            already dropped from the ring): read back from the database.
        """
        if eventId is None or eventId.boot != self.boot or eventId.serial is None:
            return None
        if eventId.serial > self.serial:
            return None
        if eventId.serial == self.serial:
            return []
        oldest = self._events[0].id.serial if self._events else self.serial + 1
        if eventId.serial + 1 < oldest:
            return None
        return [event for event in self._events if event.id.serial > eventId.serial]


class HostBoard:
    """
    One pane per reporting host, as LogIDS showed one window per machine:
    its latest C{display} lines, its last icon, counts of its alerts by
    classification and its most recent alerts.

    Hosts are named as the console events name them (the netdef name, see
    C{docs/logids.rst}); an alert belongs to the host whose address is
    the alert's target address, or else to a pane named by that address.
    Bounded: at most C{maxHosts} panes (the least recently active one
    goes), C{linesPerHost} lines and C{alertsPerHost} alerts each.
    """

    def __init__(self, linesPerHost=20, alertsPerHost=10, maxHosts=500):
        self.linesPerHost = linesPerHost
        self.alertsPerHost = alertsPerHost
        self.maxHosts = maxHosts
        self.panes = {}
        self.byAddress = {}
        self.classifications = {}
        self._tick = 0

    def _pane(self, name):
        pane = self.panes.get(name)
        if pane is None:
            if len(self.panes) >= self.maxHosts:
                oldest = min(self.panes.values(), key=lambda p: p["_touched"])
                self._drop(oldest["name"])
            pane = self.panes[name] = {
                "name": name, "addresses": [], "lines": deque(maxlen=self.linesPerHost),
                "icon": None, "counts": {}, "alerts": 0,
                "recentAlerts": deque(maxlen=self.alertsPerHost), "lastAlert": None,
                "dropped": 0, "rejected": 0, "_touched": 0}
        self._tick += 1
        pane["_touched"] = self._tick
        return pane

    def _drop(self, name):
        pane = self.panes.pop(name)
        for address in pane["addresses"]:
            if self.byAddress.get(address) == name:
                del self.byAddress[address]

    def _address(self, pane, address):
        if not address:
            return
        owner = self.byAddress.get(address)
        if owner == pane["name"]:
            return
        if owner is not None and owner in self.panes and owner == address:
            # A pane named by the address only (alerts seen before any
            # console event of its host): fold it into the named host.
            self._merge(self.panes[owner], pane)
        self.byAddress[address] = pane["name"]
        if address not in pane["addresses"]:
            pane["addresses"].append(address)

    def _merge(self, source, target):
        for classification, n in source["counts"].items():
            target["counts"][classification] = target["counts"].get(classification, 0) + n
        target["alerts"] += source["alerts"]
        merged = sorted([*target["recentAlerts"], *source["recentAlerts"]],
                        key=lambda a: a["rowId"])
        target["recentAlerts"].clear()
        target["recentAlerts"].extend(merged)
        if source["lastAlert"] and (not target["lastAlert"]
                                    or source["lastAlert"] > target["lastAlert"]):
            target["lastAlert"] = source["lastAlert"]
        self._drop(source["name"])

    def hostOfAlert(self, alert):
        """The pane name an alert summary belongs to (C{None}: no address)."""
        address = alert.get("targetAddress")
        if not address:
            return None
        return self.byAddress.get(address, address)

    def applyEvent(self, event):
        """
        A console event (L{mice.console.query.eventShape}).

        @return: the pane's name.
        """
        name = event["host"] or event["ip"] or "?"
        pane = self._pane(name)
        self._address(pane, event["ip"])
        action = event["action"]
        if action == "display":
            pane["lines"].append({
                "rowId": event["rowId"], "date": event["date"], "time": event["time"],
                "application": event["application"], "rule": event["rule"],
                "fields": event["fields"],
                "line": event["line"] if event["fields"] is None else None})
        elif action == "icon":
            pane["icon"] = {"name": event["icon"], "date": event["date"],
                            "time": event["time"], "application": event["application"]}
        elif action == "drop":
            pane["dropped"] += 1
        elif action == "reject":
            pane["rejected"] += event["count"] or 1
        return name

    def applyAlert(self, alert):
        """
        An alert summary (L{mice.console.query.alertSummary}).

        @return: the pane's name, or C{None} for an alert without a target
            address (counted in the classifications only).
        """
        classification = alert.get("classification") or "(none)"
        self.classifications[classification] = self.classifications.get(classification, 0) + 1
        name = self.hostOfAlert(alert)
        if name is None:
            return None
        pane = self._pane(name)
        self._address(pane, alert.get("targetAddress"))
        pane["counts"][classification] = pane["counts"].get(classification, 0) + 1
        pane["alerts"] += 1
        pane["recentAlerts"].append(_brief(alert))
        when = _when(alert)
        if when and (not pane["lastAlert"] or when > pane["lastAlert"]):
            pane["lastAlert"] = when
        return name

    def load(self, snapshot):
        """
        Start from what the database holds (L{mice.console.data}'s
        C{hosts}): C{{"hosts": [{"name", "addresses", "lines", "icon",
        "dropped", "rejected"}], "counts": [[address, classification,
        n], ...], "recent": [alert summary, ...]}}.
        """
        for host in snapshot.get("hosts", ()):
            pane = self._pane(host["name"])
            for address in host.get("addresses", ()):
                self._address(pane, address)
            pane["lines"].extend(host.get("lines", ()))
            pane["icon"] = host.get("icon")
            pane["dropped"] = host.get("dropped", 0)
            pane["rejected"] = host.get("rejected", 0)
        for address, classification, n in snapshot.get("counts", ()):
            classification = classification or "(none)"
            self.classifications[classification] = \
                self.classifications.get(classification, 0) + n
            if not address:
                continue
            pane = self._pane(self.byAddress.get(address, address))
            self._address(pane, address)
            pane["counts"][classification] = pane["counts"].get(classification, 0) + n
            pane["alerts"] += n
        for alert in sorted(snapshot.get("recent", ()), key=lambda a: a["rowId"]):
            name = self.hostOfAlert(alert)
            if name in self.panes:
                pane = self.panes[name]
                pane["recentAlerts"].append(_brief(alert))
                when = _when(alert)
                if when and (not pane["lastAlert"] or when > pane["lastAlert"]):
                    pane["lastAlert"] = when

    def snapshot(self):
        """The panes as JSON-able dicts, by name."""
        return [{key: (list(value) if isinstance(value, deque) else value)
                 for key, value in pane.items() if not key.startswith("_")}
                for _, pane in sorted(self.panes.items())]


def _when(alert):
    if not alert.get("date"):
        return None
    return f"{alert['date']}T{alert.get('time') or '00:00:00'}"


def _brief(alert):
    return {key: alert.get(key) for key in (
        "rowId", "alertId", "classification", "date", "time", "severity", "sourceAddress",
        "sourceUser", "targetUser", "analyzer")}
