"""
Tests for L{mice.console.model}: event ids, the ring, SSE framing, the
host panes.
"""

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.console.model import EventId, EventRing, HostBoard, frame, parseEventId


def event(rowId, action="display", host="web01", ip="10.0.0.5", **kw):
    shaped = {"rowId": rowId, "origin": "agent", "host": host, "ip": ip,
              "application": "sshd", "action": action, "rule": "r:1",
              "fields": [["message", f"m{rowId}"]], "icon": None, "count": 1,
              "date": "2026-11-22", "time": "10:00:00", "line": None}
    shaped.update(kw)
    return shaped


def alert(rowId, target="10.0.0.5", classification="Authentication failure", **kw):
    shaped = {"rowId": rowId, "alertId": "0x1020", "classification": classification,
              "date": "2026-11-22", "time": "10:00:%02d" % (rowId % 60), "severity": "high",
              "targetAddress": target, "sourceAddress": "192.0.2.7"}
    shaped.update(kw)
    return shaped


class EventIdTests(SynchronousTestCase):
    def test_roundTrip(self):
        for eventId in (EventId(3, 4, "beef", 7), EventId(0, 0, "a1", None)):
            self.assertEqual(parseEventId(str(eventId)), eventId)
            self.assertEqual(parseEventId(str(eventId).encode()), eventId)

    def test_garbage(self):
        for text in (None, "", "1.2.3", "1.2.XY.3", b"\xff", "1.2.ab.-1",
                     "9" * 30 + ".1.ab.1"):
            self.assertIsNone(parseEventId(text))

    @given(st.text())
    def test_frameIsOneEvent(self, text):
        """
        Whatever a log line holds, its frame is one SSE event: three fields
        and the blank line at the end only.
        """
        data = frame(EventId(1, 2, "ab", 3), "line", {"line": text})
        lines = data.split(b"\n")
        self.assertEqual(lines[3:], [b"", b""])
        self.assertTrue(lines[2].startswith(b"data: "))
        self.assertEqual(json.loads(lines[2][6:])["line"], text)
        self.assertNotIn(b"\r", data)


class RingTests(SynchronousTestCase):
    def test_after(self):
        ring = EventRing("ab", size=3)
        start = ring.lastId
        self.assertEqual(ring.after(start), [])
        first = ring.add("alert", {}, alertRow=5)
        second = ring.add("heartbeat", {})
        self.assertEqual(second.id, EventId(5, 0, "ab", 2))
        self.assertEqual(ring.after(start), [first, second])
        self.assertEqual(ring.after(first.id), [second])
        for _ in range(3):
            ring.add("line", {}, eventRow=9)
        self.assertIsNone(ring.after(first.id), "fell out of the ring")
        self.assertIsNone(ring.after(EventId(5, 0, "other", 1)), "another boot")
        self.assertIsNone(ring.after(EventId(5, 0, "ab", None)), "read back")
        self.assertIsNone(ring.after(EventId(5, 0, "ab", 99)), "from the future")
        self.assertEqual(ring.lastId, EventId(5, 9, "ab", 5))

    def test_marksNeverGoBack(self):
        ring = EventRing("ab")
        ring.add("alert", {}, alertRow=10)
        ring.add("alert", {}, alertRow=3)
        self.assertEqual(ring.alertRow, 10)


class BoardTests(SynchronousTestCase):
    def test_linesIconCounts(self):
        board = HostBoard(linesPerHost=2)
        for i in range(1, 4):
            self.assertEqual(board.applyEvent(event(i)), "web01")
        board.applyEvent(event(4, action="icon", icon="virus.bmp", fields=None))
        board.applyEvent(event(5, action="drop", fields=None, line="x"))
        board.applyEvent(event(6, action="reject", fields=None, count=7))
        self.assertEqual(board.applyAlert(alert(1)), "web01")
        (pane,) = board.snapshot()
        self.assertEqual([line["rowId"] for line in pane["lines"]], [2, 3])
        self.assertEqual(pane["icon"]["name"], "virus.bmp")
        self.assertEqual((pane["dropped"], pane["rejected"]), (1, 7))
        self.assertEqual(pane["counts"], {"Authentication failure": 1})
        self.assertEqual(pane["addresses"], ["10.0.0.5"])
        self.assertEqual(pane["lastAlert"], "2026-11-22T10:00:01")
        self.assertNotIn("_touched", pane)
        json.dumps(board.snapshot())

    def test_alertBeforeItsHostIsNamed(self):
        """
        Alerts of an address no console event named yet get a pane of
        their own, folded into the host's once it is named.
        """
        board = HostBoard()
        self.assertEqual(board.applyAlert(alert(1, target="10.0.0.9")), "10.0.0.9")
        board.applyEvent(event(1, host="db01", ip="10.0.0.9"))
        (pane,) = board.snapshot()
        self.assertEqual(pane["name"], "db01")
        self.assertEqual(pane["counts"], {"Authentication failure": 1})
        self.assertEqual(board.applyAlert(alert(2, target="10.0.0.9")), "db01")

    def test_noTarget(self):
        board = HostBoard()
        self.assertIsNone(board.applyAlert(alert(1, target=None)))
        self.assertEqual(board.classifications, {"Authentication failure": 1})
        self.assertEqual(board.snapshot(), [])

    def test_bounded(self):
        board = HostBoard(maxHosts=3)
        for i in range(10):
            board.applyEvent(event(i, host=f"h{i}", ip=f"10.0.0.{i}"))
        self.assertEqual([p["name"] for p in board.snapshot()], ["h7", "h8", "h9"])
        self.assertEqual(set(board.byAddress), {"10.0.0.7", "10.0.0.8", "10.0.0.9"})

    def test_load(self):
        board = HostBoard()
        board.load({"hosts": [{"name": "web01", "addresses": ["10.0.0.5"],
                               "lines": [{"rowId": 1}], "icon": None, "dropped": 2,
                               "rejected": 3}],
                    "counts": [["10.0.0.5", "Authentication failure", 4],
                               ["10.0.0.8", "Root login", 1], [None, "Firewall", 2]],
                    "recent": [alert(9), alert(3, target="10.0.0.8")]})
        panes = {p["name"]: p for p in board.snapshot()}
        self.assertEqual(panes["web01"]["counts"], {"Authentication failure": 4})
        self.assertEqual(panes["web01"]["alerts"], 4)
        self.assertEqual([a["rowId"] for a in panes["web01"]["recentAlerts"]], [9])
        self.assertEqual(panes["10.0.0.8"]["counts"], {"Root login": 1})
        self.assertEqual(board.classifications,
                         {"Authentication failure": 4, "Root login": 1, "Firewall": 2})
