"""
Tests for L{mice.console.feed}: the tail, the fan-out, resuming streams
(from the ring, and from the rows after a restart), slow readers.
"""

import json

from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mice.console.feed import BACKLOG_BYTES, COUNTERMEASURE_SECONDS, REPLAY_ROWS, ConsoleFeed
from mice.console.interfaces import IConsoleData, IConsoleFeed
from mice.console.model import parseEventId
from tests.unit.console.test_model import alert, event


@implementer(IConsoleData)
class RowsData:
    """An IConsoleData holding rows in lists (the tail's side only)."""

    def __init__(self):
        self.alerts = []
        self.events = []
        self.broken = False
        #: The countermeasures active, and how many times they were asked.
        self.active = []
        self.asked = 0
        self.unreachable = False

    def alertsSince(self, rowId, limit):
        if self.broken:
            return fail(RuntimeError("database gone"))
        return succeed([a for a in self.alerts if a["rowId"] > rowId][:limit])

    def consoleEventsSince(self, rowId, limit):
        return succeed([e for e in self.events if e["rowId"] > rowId][:limit])

    def latestRowIds(self):
        return succeed((max([a["rowId"] for a in self.alerts], default=0),
                        max([e["rowId"] for e in self.events], default=0)))

    def hosts(self, linesPerHost):
        return succeed({"hosts": [], "counts": [], "recent": []})

    def countermeasures(self):
        self.asked += 1
        if self.unreachable:
            return fail(RuntimeError("ReactionDaemon gone"))
        return succeed([dict(c) for c in self.active])

    for name in ("searchAlerts", "alert", "hostAddresses", "heartbeats", "consoleLog",
                 "liftCountermeasure"):
        locals()[name] = lambda self, *a: succeed(None)


class Browser:
    """The two callables a stream writes through, and what they got."""

    def __init__(self):
        self.data = b""
        self.closed = False

    def write(self, data):
        self.data += data

    def close(self):
        self.closed = True

    def events(self):
        found = []
        for block in self.data.split(b"\n\n"):
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                          if line and not line.startswith(b":"))
            if b"event" in fields:
                found.append((fields[b"id"].decode(), fields[b"event"].decode(),
                              json.loads(fields[b"data"])))
        return found


class FeedTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.data = RowsData()
        self.data.events.append(event(1))
        self.data.alerts.append(alert(1))
        self.feed = self.start()

    def start(self, boot=None):
        feed = ConsoleFeed(self.data, self.clock, boot=boot,
                           countermeasurePipes=["rid_4_countermeasure"])
        feed.startService()
        self.addCleanup(feed.stopService)
        return feed

    def subscribe(self, feed=None, lastId=None):
        browser = Browser()
        browser.stream = (feed or self.feed).subscribe(browser.write, browser.close,
                                                       parseEventId(lastId))
        return browser

    def test_interface(self):
        verifyObject(IConsoleFeed, self.feed)

    def test_startsAfterStoredRows(self):
        """
        Rows stored before the start are in the panes, not in the stream.
        """
        browser = self.subscribe()
        self.clock.advance(1)
        self.assertEqual(browser.events(), [])
        self.assertEqual((self.feed.ring.alertRow, self.feed.ring.eventRow), (1, 1))

    def test_tailPublishes(self):
        browser = self.subscribe()
        self.data.events.append(event(2, host="db01", ip="10.0.0.9"))
        self.data.alerts.append(alert(2, target="10.0.0.9"))
        self.clock.advance(1)
        kinds = [(kind, data["rowId"], data["host"]) for _, kind, data in browser.events()]
        self.assertEqual(kinds, [("line", 2, "db01"), ("alert", 2, "db01")])
        self.assertEqual(self.feed.board.panes["db01"]["counts"],
                         {"Authentication failure": 1})

    def test_pushReadsAtOnce(self):
        browser = self.subscribe()
        self.data.alerts.append(alert(2))
        self.feed.alertsStored()
        self.clock.advance(0)
        self.assertEqual([kind for _, kind, _ in browser.events()], ["alert"])

    def test_otherEvents(self):
        browser = self.subscribe()
        self.feed.reactionOutcome({"alertkey": "k", "rid": 2, "state": "done"})
        self.feed.countermeasureChanged({"id": "cm", "state": "lifted"})
        self.feed.heartbeat({"analyzerid": "MICE-RegEx"})
        self.assertEqual([kind for _, kind, _ in browser.events()],
                         ["reaction", "countermeasure", "heartbeat"])

    def test_resumeFromRing(self):
        browser = self.subscribe()
        self.data.alerts.append(alert(2))
        self.clock.advance(1)
        lastId = browser.events()[-1][0]
        browser.stream.close()
        self.feed.unsubscribe(browser.stream)
        self.data.alerts.append(alert(3))
        self.feed.heartbeat({"analyzerid": "x"})
        self.clock.advance(1)
        again = self.subscribe(lastId=lastId)
        self.assertEqual([(kind, data.get("rowId")) for _, kind, data in again.events()],
                         [("heartbeat", None), ("alert", 3)])

    def test_resumeAfterRestart(self):
        """
        A new boot reads back the rows after the marks of the browser's
        last id, then says to fetch the rest again (resync); live events
        follow, none twice.
        """
        browser = self.subscribe()
        self.data.alerts.append(alert(2))
        self.clock.advance(1)
        lastId = browser.events()[-1][0]
        self.feed.stopService()
        self.data.alerts.extend([alert(3), alert(4)])
        self.data.events.append(event(2))
        restarted = self.start()
        self.assertNotEqual(restarted.ring.boot, self.feed.ring.boot)
        again = self.subscribe(restarted, lastId)
        self.data.alerts.append(alert(5))
        self.clock.advance(1)
        got = [(kind, data.get("rowId")) for _, kind, data in again.events()]
        self.assertEqual(got, [("line", 2), ("alert", 3), ("alert", 4), ("resync", None),
                               ("alert", 5)])
        # Resuming from a replayed event reads back from the rows again.
        replayedId = again.events()[1][0]
        self.assertTrue(replayedId.endswith(".r"))
        third = self.subscribe(restarted, replayedId)
        self.assertEqual([(kind, data.get("rowId")) for _, kind, data in third.events()],
                         [("alert", 4), ("alert", 5), ("resync", None)])

    def test_tooFarBehindReloads(self):
        self.data.alerts.extend(alert(i) for i in range(2, REPLAY_ROWS + 10))
        restarted = self.start()
        again = self.subscribe(restarted, "1.1.ffff.3")
        self.assertEqual([kind for _, kind, _ in again.events()], ["reload"])

    def test_slowReaderClosed(self):
        browser = self.subscribe()
        browser.stream.pauseProducing()
        self.feed.heartbeat({"x": "y"})
        self.assertEqual(browser.data, b"")
        browser.stream.resumeProducing()
        self.assertEqual(len(browser.events()), 1)
        browser.stream.pauseProducing()
        while not browser.closed:
            self.feed.heartbeat({"pad": "x" * 65536})
        self.assertLess(len(browser.data), BACKLOG_BYTES)
        self.assertNotIn(browser.stream, self.feed.streams)

    def test_databaseGoneLogged(self):
        browser = self.subscribe()
        self.data.broken = True
        self.clock.advance(1)
        self.assertEqual(browser.events(), [])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.data.broken = False
        self.data.alerts.append(alert(2))
        self.clock.advance(1)
        self.assertEqual([kind for _, kind, _ in browser.events()], ["alert"])

    def test_keepalive(self):
        browser = self.subscribe()
        self.clock.pump([5] * 3)
        self.assertEqual(browser.data, b": keepalive\n\n")


def countermeasure(number, until=None, daemon="rd1"):
    return {"daemon": daemon, "host": "10.0.0.1", "id": f"cm{number}", "fid": 1,
            "params": {"ip": f"203.0.113.{number}"}, "since": 0, "until": until,
            "by": "test", "state": "active"}


class CountermeasureWatchTests(SynchronousTestCase):
    """
    Countermeasures changed on the ReactionDaemons reach the open streams:
    an apply at once (its reaction's outcome), a lift from the console at
    once, an expiry or an undo made elsewhere within COUNTERMEASURE_SECONDS.
    """

    def setUp(self):
        self.clock = Clock()
        self.data = RowsData()
        self.data.active.append(countermeasure(1, until=100))
        self.feed = ConsoleFeed(self.data, self.clock,
                                countermeasurePipes=["rid_4_countermeasure"])
        self.feed.startService()
        self.addCleanup(self.feed.stopService)
        self.browser = FeedTests.subscribe(self)

    def changes(self):
        return [(data["id"], data.get("change"), data.get("state"))
                for _, kind, data in self.browser.events() if kind == "countermeasure"]

    def test_appliedAtOnce(self):
        """An outcome of the countermeasure reaction asks at once."""
        self.data.active.append(countermeasure(2, until=50))
        self.feed.reactionOutcome({"pipe": "rid_2_send_to_alert_db", "state": "done"})
        self.clock.advance(0)
        self.assertEqual(self.changes(), [])
        self.feed.reactionOutcome({"pipe": "rid_4_countermeasure", "state": "done"})
        self.clock.advance(0)
        self.assertEqual(self.changes(), [("cm2", "applied", "active")])

    def test_expiredAndUndoneWithinSeconds(self):
        """
        A countermeasure gone after its until has expired; one gone before
        it was lifted (mice react --undo): each shows at the next asking.
        """
        self.data.active.append(countermeasure(2))
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes(), [("cm2", "applied", "active")])
        self.clock.pump([1.0] * 100)
        self.data.active = [c for c in self.data.active if c["id"] != "cm1"]
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes()[1:], [("cm1", "expired", "lifted")])
        self.data.active = []
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes()[2:], [("cm2", "lifted", "lifted")])
        self.clock.pump([COUNTERMEASURE_SECONDS] * 3)
        self.assertEqual(len(self.changes()), 3)

    def test_extended(self):
        self.data.active = [countermeasure(1, until=400)]
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes(), [("cm1", "extended", "active")])

    def test_liftFromConsoleOnce(self):
        """
        A lift the console made is published as it is done, and not again
        when the next asking finds it gone.
        """
        self.data.active = []
        self.feed.countermeasureChanged({"daemon": "rd1", "id": "cm1", "state": "lifted"})
        self.clock.pump([COUNTERMEASURE_SECONDS] * 2)
        self.assertEqual(self.changes(), [("cm1", None, "lifted")])

    def test_onlyWhileWatched(self):
        """
        Nobody watching, nobody is asked; the first stream to open takes
        what is active then as where changes start from.
        """
        self.browser.stream.close()
        self.feed.unsubscribe(self.browser.stream)
        self.clock.pump([COUNTERMEASURE_SECONDS])
        asked = self.data.asked
        self.clock.pump([COUNTERMEASURE_SECONDS] * 5)
        self.assertEqual(self.data.asked, asked)
        self.data.active.append(countermeasure(2))
        self.browser = FeedTests.subscribe(self)
        self.assertEqual(self.data.asked, asked + 1)
        self.data.active.append(countermeasure(3))
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes(), [("cm3", "applied", "active")])

    def test_askingFailsLogged(self):
        """A source that cannot answer is logged; the next asking goes on."""
        self.data.unreachable = True
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.data.unreachable = False
        self.data.active.append(countermeasure(2))
        self.clock.pump([COUNTERMEASURE_SECONDS])
        self.assertEqual(self.changes(), [("cm2", "applied", "active")])
