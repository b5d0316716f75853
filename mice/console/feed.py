# -*- test-case-name: tests.unit.console.test_feed -*-
"""
The console's live side (L{ConsoleFeed}, an L{IConsoleFeed}): it reads new
alert and console event rows (every L{TAIL_SECONDS}, and at once when the
ManagementHost says it stored some), keeps the host panes
(L{mice.console.model.HostBoard}) and the ring of recent events, and
fans every event out to the open Server-Sent Events streams
(L{Subscription}), which resume after a reconnect from C{Last-Event-ID}
(see L{mice.console.model}).

Countermeasures live on the ReactionDaemons, not in the database: while a
stream is open the feed asks the console's L{ICountermeasureSource}
(through L{IConsoleData.countermeasures}) every L{COUNTERMEASURE_SECONDS}
what is active and publishes what changed (C{applied}, C{extended},
C{expired}, C{lifted}), so that an expiry or a C{mice react --undo} run
outside the console shows within seconds.  An outcome of a countermeasure
reaction (C{countermeasurePipes}) asks at once (an apply shows as soon as
its ReactionDaemon said done), and a lift from the console is published
as it is done.

A stream whose browser does not read (its transport pauses us) is given
up to L{BACKLOG_BYTES} of backlog, then closed: the browser reconnects
and resumes from its last id, so a slow reader costs bounded memory and
loses nothing.
"""

import os

from twisted.application.service import Service
from twisted.internet.defer import DeferredList, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from mice.console.interfaces import IConsoleFeed
from mice.console.model import KEEPALIVE, EventRing, HostBoard

#: Seconds between two reads of new rows (the ManagementHost's pushes make
#: it sooner; rows written by another process wait at most this long).
TAIL_SECONDS = 1.0
#: Rows read per table per query.
TAIL_ROWS = 500
#: Rows read back for a resuming stream before it is told to reload instead.
REPLAY_ROWS = 2000
KEEPALIVE_SECONDS = 15.0
#: Seconds between two askings of what countermeasures are active (while a
#: stream is open).
COUNTERMEASURE_SECONDS = 2.0
BACKLOG_BYTES = 4 * 2 ** 20


class Subscription:
    """
    One open stream: what the feed writes to.

    @param write: writes bytes to the browser.
    @param close: ends the stream.
    """

    def __init__(self, write, close):
        self._write = write
        self._close = close
        self.paused = False
        self.closed = False
        self.ready = False
        self._backlog = []
        self._backlogBytes = 0
        self._held = []

    def send(self, data):
        if self.closed:
            return
        if not self.ready:
            # Live events while the replay of a resuming stream runs.
            self._held.append(data)
            return
        self._deliver(data)

    def _deliver(self, data):
        if self.paused:
            self._backlog.append(data)
            self._backlogBytes += len(data)
            if self._backlogBytes > BACKLOG_BYTES:
                self.close()
            return
        self._write(data)

    def start(self, replay):
        """Send C{replay} (bytes each), then what came meanwhile; go live."""
        for data in replay:
            self._deliver(data)
        held, self._held = self._held, []
        for data in held:
            self._deliver(data)
        self.ready = True

    # IPushProducer, registered with the request

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        backlog, self._backlog, self._backlogBytes = self._backlog, [], 0
        for data in backlog:
            if self.closed or self.paused:
                self._backlog.append(data)
                self._backlogBytes += len(data)
                continue
            self._write(data)

    def stopProducing(self):
        self.closed = True

    def close(self):
        if not self.closed:
            self.closed = True
            self._backlog = []
            self._close()


@implementer(IConsoleFeed)
class ConsoleFeed(Service):
    """
    @param data: the L{mice.console.interfaces.IConsoleData} rows are read from.
    @param clock: the reactor (for the tail, the keepalives).
    """

    log = Logger()

    def __init__(self, data, clock, boot=None, ringSize=2000, linesPerHost=20,
                 tailSeconds=TAIL_SECONDS, countermeasurePipes=(),
                 countermeasureSeconds=COUNTERMEASURE_SECONDS):
        """
        @param countermeasurePipes: the pipes of the countermeasure
            reactions: their outcomes make the feed ask what is active at once.
        """
        self.data = data
        self.clock = clock
        self.ring = EventRing(boot or os.urandom(4).hex(), ringSize)
        self.board = HostBoard(linesPerHost=linesPerHost)
        self.linesPerHost = linesPerHost
        self.streams = set()
        self.loaded = False
        self._tailing = False
        self._again = False
        self._tail = LoopingCall(self.tail)
        self._tail.clock = clock
        self._tailSeconds = tailSeconds
        self._keepalive = LoopingCall(self._sendKeepalive)
        self._keepalive.clock = clock
        self.countermeasurePipes = frozenset(countermeasurePipes)
        self._countermeasureSeconds = countermeasureSeconds
        self._watch = LoopingCall(self.checkCountermeasures)
        self._watch.clock = clock
        #: {(daemon, id): countermeasure} as last asked, or None (not yet).
        self._active = None
        self._checking = False
        self._checkAgain = False

    @property
    def subscribers(self):
        return len(self.streams)

    # Service

    def startService(self):
        super().startService()
        self._keepalive.start(KEEPALIVE_SECONDS, now=False)
        self._watch.start(self._countermeasureSeconds, now=False)
        return self.load().addBoth(self._startTail)

    def _startTail(self, result):
        if self.running and not self._tail.running:
            self._tail.start(self._tailSeconds, now=False)
        return result

    def stopService(self):
        super().stopService()
        for loop in (self._tail, self._keepalive, self._watch):
            if loop.running:
                loop.stop()
        for stream in list(self.streams):
            stream.close()
        self.streams.clear()

    def load(self):
        """
        Read where the tables stand and the host panes (once, at start).
        """
        def marks(ids):
            self.ring.alertRow, self.ring.eventRow = ids
            return self.data.hosts(self.linesPerHost)

        def panes(snapshot):
            self.board.load(snapshot)
            self.loaded = True
            self.log.info("console: {hosts} host panes, alert row {a}, event row {e}",
                          hosts=len(self.board.panes), a=self.ring.alertRow,
                          e=self.ring.eventRow)

        def failed(failure):
            self.log.failure("console: cannot read the database; live updates start from"
                             " what is stored next", failure)

        return self.data.latestRowIds().addCallback(marks).addCallback(panes).addErrback(failed)

    # IConsoleFeed: what the ManagementHost calls

    def alertsStored(self):
        self.clock.callLater(0, self.tail)

    def consoleEventsStored(self):
        self.clock.callLater(0, self.tail)

    def reactionOutcome(self, outcome):
        self.publish("reaction", dict(outcome))
        if outcome.get("pipe") in self.countermeasurePipes:
            self.clock.callLater(0, self.checkCountermeasures)

    def countermeasureChanged(self, change):
        change = dict(change)
        if self._active is not None:
            key = (change.get("daemon"), change.get("id"))
            if change.get("state") == "lifted":
                self._active.pop(key, None)
            elif "state" in change:
                self._active[key] = change
        self.publish("countermeasure", change)

    # Countermeasures: asked, not stored here

    def checkCountermeasures(self):
        """
        Ask what countermeasures are active (only while a stream is open)
        and publish what changed since the last asking: C{change}
        C{applied} (new), C{extended} (its C{until} moved), C{expired} (gone
        after its C{until}) or C{lifted} (gone before it: undone).  Never
        raises; one asking at a time.

        @return: a Deferred firing when done.
        """
        if not self.streams:
            # Nobody watches: what changes meanwhile is read by the page
            # when it opens; start afresh then.
            self._active = None
            return succeed(None)
        if self._checking:
            self._checkAgain = True
            return succeed(None)
        self._checking = True

        def compare(found):
            now = self.clock.seconds()
            active = {(c.get("daemon"), c.get("id")): c for c in found or ()}
            known, self._active = self._active, active
            if known is None:
                return
            for key, countermeasure in active.items():
                before = known.get(key)
                if before is None:
                    self.publish("countermeasure", dict(countermeasure, change="applied"))
                elif before.get("until") != countermeasure.get("until"):
                    self.publish("countermeasure", dict(countermeasure, change="extended"))
            for key, countermeasure in known.items():
                if key not in active:
                    until = countermeasure.get("until")
                    ended = "expired" if until is not None and until <= now else "lifted"
                    self.publish("countermeasure", dict(countermeasure, state="lifted",
                                                        change=ended))

        def failed(failure):
            self.log.failure("console: cannot ask which countermeasures are active", failure)

        def done(_):
            self._checking = False
            if self._checkAgain and self.running:
                self._checkAgain = False
                return self.checkCountermeasures()

        return self.data.countermeasures().addCallback(compare).addErrback(failed).addBoth(done)

    def heartbeat(self, analyzer):
        self.publish("heartbeat", dict(analyzer))

    # Fan-out

    def publish(self, kind, data, alertRow=None, eventRow=None):
        event = self.ring.add(kind, data, alertRow, eventRow)
        for stream in list(self.streams):
            stream.send(event.bytes)
            if stream.closed:
                self.streams.discard(stream)
        return event

    def _sendKeepalive(self):
        for stream in list(self.streams):
            stream.send(KEEPALIVE)
            if stream.closed:
                self.streams.discard(stream)

    def tail(self):
        """
        Read the rows stored since the last read and publish them.  Never
        raises; one read at a time (a call meanwhile reads again after).

        @return: a Deferred firing when done.
        """
        if self._tailing:
            self._again = True
            return succeed(None)
        self._tailing = True
        d = DeferredList([self.data.alertsSince(self.ring.alertRow, TAIL_ROWS),
                          self.data.consoleEventsSince(self.ring.eventRow, TAIL_ROWS)],
                         fireOnOneErrback=True, consumeErrors=True)

        def read(results):
            (_, alerts), (_, events) = results
            self._publishRows(alerts, events)
            return len(alerts) >= TAIL_ROWS or len(events) >= TAIL_ROWS

        def failed(failure):
            self.log.failure("console: cannot read new alerts and console events",
                             failure.value.subFailure if hasattr(failure.value, "subFailure")
                             else failure)
            return False

        def done(more):
            self._tailing = False
            if (more or self._again) and self.running:
                self._again = False
                return self.tail()

        return d.addCallbacks(read, failed).addCallback(done)

    def _publishRows(self, alerts, events):
        # Console events first: they name the hosts the alerts belong to.
        for event in events:
            if event["rowId"] <= self.ring.eventRow:
                continue
            event = dict(event, host=self.board.applyEvent(event))
            self.publish("line", event, eventRow=event["rowId"])
        for alert in alerts:
            if alert["rowId"] <= self.ring.alertRow:
                continue
            alert = dict(alert, host=self.board.applyAlert(alert))
            self.publish("alert", alert, alertRow=alert["rowId"])

    # Streams

    def subscribe(self, write, close, lastId):
        """
        Open a stream that resumes after L{mice.console.model.EventId}
        C{lastId} (C{None}: from now on).

        @return: the L{Subscription} (register it as the request's producer).
        """
        stream = Subscription(write, close)
        self.streams.add(stream)
        if self._active is None:
            # What is active now, to tell changes from (the page reads the
            # list itself as it opens).
            self.checkCountermeasures()
        if lastId is None:
            stream.start([])
            return stream
        events = self.ring.after(lastId)
        if events is not None:
            stream.start([event.bytes for event in events])
            return stream
        self._replay(stream, lastId)
        return stream

    def unsubscribe(self, stream):
        self.streams.discard(stream)

    def _replay(self, stream, lastId):
        """
        Read back the rows a stream missed (up to the marks the ring has
        now: later ones reach it live), then a C{resync}.
        """
        untilAlert, untilEvent = self.ring.alertRow, self.ring.eventRow
        fromAlert, fromEvent = min(lastId.alertRow, untilAlert), min(lastId.eventRow,
                                                                     untilEvent)
        if untilAlert - fromAlert > REPLAY_ROWS or untilEvent - fromEvent > REPLAY_ROWS:
            stream.start([self.ring.replayed("reload", {}, untilAlert, untilEvent).bytes])
            return
        d = DeferredList([self.data.alertsSince(fromAlert, REPLAY_ROWS),
                          self.data.consoleEventsSince(fromEvent, REPLAY_ROWS)],
                         fireOnOneErrback=True, consumeErrors=True)

        def read(results):
            (_, alerts), (_, events) = results
            alerts = [a for a in alerts if a["rowId"] <= untilAlert]
            events = [e for e in events if e["rowId"] <= untilEvent]
            # In row order across both tables is not known; events then
            # alerts, each in order, as the tail publishes them.
            replay, a, e = [], fromAlert, fromEvent
            for event in events:
                e = event["rowId"]
                data = dict(event, host=event["host"] or event["ip"] or "?")
                replay.append(self.ring.replayed("line", data, a, e).bytes)
            for alert in alerts:
                a = alert["rowId"]
                data = dict(alert, host=self.board.hostOfAlert(alert))
                replay.append(self.ring.replayed("alert", data, a, e).bytes)
            replay.append(self.ring.replayed("resync", {}, untilAlert, untilEvent).bytes)
            stream.start(replay)

        def failed(failure):
            self.log.failure("console: cannot read back events for a resuming stream",
                             failure)
            stream.start([self.ring.replayed("reload", {}, untilAlert, untilEvent).bytes])

        d.addCallbacks(read, failed)
