# -*- test-case-name: tests.unit.services.test_forwarder,tests.integration.test_forwarder -*-
"""
The DataForwarder: follow log files, filter, pseudonymise and format their
lines, and ship them to the raw-log database and the analysis agent, each
line acknowledged as durable before its file offset is persisted.

Per server there is a L{Destination}: a L{ReliableSender} (one acknowledged
stream, resent after a reconnect), a L{Spool} (memory up to SHMSIZE, then
disk) for the batches that wait while that server is down, and a L{Ledger}
of what it has acknowledged.  L{DataForwarder} polls every source every
SLEEPINV seconds, and again at once while there is more to read and every
server takes more.  A server that is connected but slow is not spooled for:
the file itself holds the lines until it catches up.  See
C{docs/forwarder.rst}.
"""

import os
from datetime import datetime
from operator import attrgetter

from twisted.application.internet import backoffPolicy
from twisted.application.service import MultiService, Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from mice.forwarder.prepare import ForwardBatch, LinePreparer, cutBatches, persistable
from mice.forwarder.spool import SpoolFull
from mice.forwarder.tailer import (
    ROTATE_GRACE,
    Follower,
    Line,
    Position,
    StreamFollower,
    isStream,
    startOf,
)
from mice.metrics import Metrics
from mice.protocols.rounds import Rounds

_EVENT_LEVELS = {"tamper": "error", "truncated": "warn", "overlong": "warn", "missing": "info",
                 "missing-directory": "warn",
                 "appeared": "info", "rotated": "info", "recreated": "info"}

#: The stream of the forwarder's own reports (tamper, lost lines...).
EVENT_STREAM = "mice-dataforwarder"

_lineData = attrgetter("data")


def reportingPolicy(description, reconnect, log, base=None):
    """
    ClientService's retry policy, which says once, after C{reconnect} failed
    attempts in a row, that the server is lost (and goes on retrying at the
    backoff ceiling).
    """
    base = base or backoffPolicy(initialDelay=0.5, maxDelay=30.0)

    def policy(attempt):
        delay = base(attempt)
        if reconnect and attempt == reconnect:
            log.error("{server} lost: {n} connection attempts failed; spooling its lines and"
                      " retrying every {delay:.0f} s", server=description, n=attempt,
                      delay=base(attempt + 100))
        return delay

    return policy


class Destination(Service):
    """
    One server the forwarder ships to.

    Batches are offered in order.  While few enough are unacknowledged and
    the spool is empty, a batch goes straight to the sender (from a file,
    also past the window while the server is connected: at most one poll's
    worth, since the forwarder then stops reading); otherwise it is spooled,
    and unspooled in order as acknowledgements make room.  Should the
    disk spool be full, batches wait in C{overflow} (at most one poll's
    worth: the forwarder stops reading files while it is not empty).

    @ivar lost: records that could not be delivered at all (over the
        server's line limit, or dropped from a stream while the spool was
        full): counted and logged, never silent.
    """

    log = Logger()

    def __init__(self, name, sender, spool, ledger, host, maxInFlight=32, onProgress=None):
        self.name = name
        self.sender = sender
        self.spool = spool
        self.ledger = ledger
        self.host = host
        self.maxInFlight = maxInFlight
        self.onProgress = onProgress
        self.overflow = []
        self.lost = 0
        self._spoolSubmitted = 0
        self._refills = Rounds(self._refillOnce)
        self.attachMetrics(Metrics("destination"))

    def attachMetrics(self, metrics):
        """
        Count into C{metrics} (the forwarder's): lines lost, spool bytes,
        and the sender's series.
        """
        server = self.sender.description
        self._lost = metrics.counter("lines_lost", server=server)
        metrics.watch("spool_bytes",
                      lambda: {server: self.spool.memoryBytes + self.spool.diskBytes})
        attach = getattr(self.sender, "attachMetrics", None)
        if attach is not None:
            attach(metrics)

    def _countLost(self, count):
        self.lost += count
        self._lost.inc(count)

    def startService(self):
        super().startService()
        if len(self.spool):
            self.log.info("{server}: {n} spooled batches from an earlier run to send",
                          server=self.sender.description, n=len(self.spool))
        self._refill()
        self.sender.startService()

    def stopService(self):
        super().stopService()
        return self.sender.stopService()

    @property
    def pending(self):
        """
        Batches handed to the sender and not yet acknowledged.
        """
        return len(self.ledger)

    @property
    def wantsMore(self):
        """
        Whether the forwarder should read more for this server: a connected
        server wants more while it keeps up; a lost one while the spool has
        room.
        """
        if self.overflow:
            return False
        if self.sender.connected:
            return self.pending < self.maxInFlight
        return True

    def offer(self, batch, droppable=False):
        """
        Take C{batch} for delivery.

        @param droppable: the batch comes from a stream that cannot be read
            again: drop it (counted, logged) rather than queue it in memory
            when the disk spool is full.
        """
        if not len(self.spool) and not self.overflow and (
                self.pending < self.maxInFlight or (self.sender.connected and not droppable)):
            # A connected server that is slow is not spooled for: the
            # forwarder stops reading files once its window is full, so what
            # one poll read past the window waits in the sender's outbox,
            # and the file still holds it should the link drop.
            self._submit(batch, fromSpool=False)
            return
        if self.overflow:
            self._overflow(batch, droppable)
            return
        try:
            self.spool.push(batch.encode())
        except SpoolFull:
            self._overflow(batch, droppable)
            return
        self._refill()

    def _overflow(self, batch, droppable):
        if droppable:
            self._countLost(len(batch.records))
            self.log.error("{server}: spool full; {n} lines of {stream} DROPPED",
                           server=self.sender.description, n=len(batch.records),
                           stream=batch.stream)
            return
        if not self.overflow:
            self.log.warn("{server}: the disk spool is full ({size} bytes); reading stops"
                          " until the server takes more", server=self.sender.description,
                          size=self.spool.diskLimit)
        self.overflow.append(batch)

    def _submit(self, batch, fromSpool):
        entry = self.ledger.add(batch, fromSpool)
        if not batch.records:
            self._acknowledged(None, entry)
            return
        d = self.sender.submit(batch.stream, batch.seq, self.host, batch.records, batch.seqs)
        # Only the sender's encoded line is kept until the acknowledgement,
        # not the records (the larger part of the memory in flight).
        d.addCallbacks(self._acknowledged, self._undeliverable, callbackArgs=(entry,),
                       errbackArgs=(entry, batch.stream, batch.seq, len(batch.records)))

    def _undeliverable(self, failure, entry, stream, seq, count):
        self._countLost(count)
        self.log.failure("{server}: {n} lines of {stream} from seq {seq} could not be"
                         " delivered", failure, server=self.sender.description,
                         n=count, stream=stream, seq=seq)
        self._acknowledged(None, entry)

    def _acknowledged(self, _, entry):
        fromSpool = self.ledger.acknowledge(entry)
        if fromSpool:
            self.spool.pop(fromSpool)
            self._spoolSubmitted -= fromSpool
        self._refill()
        if self.onProgress is not None:
            self.onProgress()

    def _refill(self):
        """
        Unspool in order while the window has room, and move what
        overflowed into the spool.  Marks are acknowledged as they are
        submitted, which calls this again: the inner call only asks the
        outer one for another round.
        """
        self._refills()

    def _refillOnce(self):
        spool = self.spool
        while self.pending < self.maxInFlight and self._spoolSubmitted < len(spool):
            want = self.maxInFlight - self.pending
            for item in spool.peek(self._spoolSubmitted + want)[self._spoolSubmitted:]:
                self._spoolSubmitted += 1
                self._submit(ForwardBatch.decode(item), fromSpool=True)
        while self.overflow:
            try:
                spool.push(self.overflow[0].encode())
            except SpoolFull:
                return
            del self.overflow[0]
            self._refills.again()
            if not self.overflow:
                self.log.info("{server}: the spool has room again; reading resumes",
                              server=self.sender.description)

    def close(self):
        self.spool.sync()
        self.spool.close()


class EventSource:
    """
    The forwarder's own reports (tamper, lines lost...) as log lines of
    their own stream, so that the servers see them too.
    """

    def __init__(self, hostname, seqBase):
        self.path = EVENT_STREAM
        self.hostname = hostname
        self._seq = seqBase
        self._queued = []

    @property
    def position(self):
        return Position(None, 0, self._seq)

    def positionAfter(self, line):
        return Position(None, 0, line.seq)

    def report(self, event, now):
        self._seq += 1
        text = (f"{now.strftime('%b %d %H:%M:%S').replace(' 0', '  ', 1)} {self.hostname}"
                f" mice-dataforwarder: {event.kind}: {event.message}")
        self._queued.append(Line(self._seq, text.encode("utf-8"), 0, None))

    def poll(self, now=None):
        lines, self._queued = self._queued, []
        return lines, []

    def close(self):
        pass


class DataForwarder(MultiService):
    """
    Polls the sources and hands their batches to every L{Destination}.

    @param paths: the FILE entries, in order.
    @param offsets: an L{mice.forwarder.tailer.OffsetStore}.
    @param rotateGrace: seconds a file rotated away must have been idle
        (and a newer one have data) before it is closed (ROTATEGRACE).
    """

    log = Logger()

    def __init__(self, paths, destinations, preparer, offsets, clock, sleepInterval=2.0,
                 maxLine=65536, readSize=1 << 20, saveInterval=1.0, hostname="localhost",
                 makeNotifier=None, wakeDelay=0.05, rotateGrace=ROTATE_GRACE, metrics=None):
        super().__init__()
        self.paths = list(paths)
        self.destinations = list(destinations)
        self.preparer = preparer or LinePreparer()
        self.offsets = offsets
        self.clock = clock
        self.sleepInterval = sleepInterval
        self.maxLine = maxLine
        self.readSize = readSize
        self.rotateGrace = rotateGrace
        self.hostname = hostname
        self.makeNotifier = makeNotifier
        self.notifier = None
        self.wakeDelay = wakeDelay
        self._watched = []
        self.sources = []
        self.counts = {"lines": 0, "filtered": 0, "truncated": 0, "events": 0}
        self._stored = {}
        self._saved = {}
        self._positions = {}
        self._wakeCall = None
        self._stalled = False
        self.metrics = metrics or Metrics("dataforwarder")
        self._linesRead = self.metrics.counter("lines_read")
        self._linesFiltered = self.metrics.counter("lines_filtered")
        for destination in self.destinations:
            destination.onProgress = self._progress
            destination.attachMetrics(self.metrics)
            destination.setServiceParent(self)
        self._poller = LoopingCall(self.poll)
        self._poller.clock = clock
        self._saver = LoopingCall(self.save)
        self._saver.clock = clock
        self._saveInterval = saveInterval

    # -- starting and stopping ---------------------------------------------

    def _seqBase(self, path):
        """
        Numbers for a stream that cannot be re-read: above anything
        acknowledged before, and above anything an earlier run could have
        handed out (microseconds since the epoch grow faster than a stream).
        """
        stored = self._stored.get(path)
        return max(int(self.clock.seconds() * 1e6), stored.seq if stored else 0)

    def privilegedStartService(self):
        self._stored = self.offsets.load()
        self._saved = dict(self._stored)
        for destination in self.destinations:
            for path, position in self._stored.items():
                destination.ledger.committed.setdefault(path, position)
        for path in self.paths:
            if isStream(path):
                source = StreamFollower(path, self._seqBase(path), self.maxLine, self.readSize)
                source.poll()  # opens it, before privileges are dropped
            else:
                source = Follower(path, self._stored.get(path), self.maxLine, self.readSize,
                                  grace=self.rotateGrace)
            self.sources.append(source)
        self.events = EventSource(self.hostname, self._seqBase(EVENT_STREAM))
        self.sources.append(self.events)
        self._positions = {source.path: source.position for source in self.sources}
        super().privilegedStartService()

    def startService(self):
        if not self.sources:
            self.privilegedStartService()
        super().startService()
        self._poller.start(self.sleepInterval, now=True).addErrback(
            lambda f: self.log.failure("the poll loop stopped", f))
        self._saver.start(self._saveInterval, now=False).addErrback(
            lambda f: self.log.failure("the offset saver stopped", f))
        if self.makeNotifier is not None:
            self.notifier = self.makeNotifier()
            if self.notifier is not None:
                self._watch()

    def _watch(self):
        """
        Have inotify wake the poll when a followed file (or a rotated copy
        of it) changes, instead of waiting up to SLEEPINV.
        """
        from twisted.python.filepath import FilePath

        names = {}
        for source in self.sources:
            if isinstance(source, Follower):
                directory, name = os.path.split(source.path)
                names.setdefault(directory, set()).add(name.encode())
        for directory, watched in names.items():
            if not os.path.isdir(directory):
                # Its files' "missing-directory" event says so; inotify would
                # only answer with an error code.
                self.log.info("not watching {directory} with inotify: it does not exist;"
                              " polling every {interval:g} s", directory=directory,
                              interval=self.sleepInterval)
                continue

            def changed(ignored, path, mask, watched=tuple(watched)):
                # The file, or one of its rotated copies (name.1, name-20041122).
                if path.asBytesMode().basename().startswith(watched):
                    self.wake(self.wakeDelay)
            try:
                self.notifier.watch(FilePath(directory), callbacks=[changed])
                self._watched.append(FilePath(directory))
            except Exception as e:
                self.log.info("not watching {directory} with inotify ({error}); polling every"
                              " {interval} s", directory=directory, error=e,
                              interval=self.sleepInterval)

    def stopService(self):
        if self.notifier is not None:
            self.notifier.loseConnection()
            self.notifier = None
        self._watched = []
        for loop in (self._poller, self._saver):
            if loop.running:
                loop.stop()
        if self._wakeCall is not None and self._wakeCall.active():
            self._wakeCall.cancel()
        self._wakeCall = None
        d = super().stopService()

        def closed(result):
            self.save()
            for destination in self.destinations:
                destination.close()
            for source in self.sources:
                source.close()
            return result

        return d.addBoth(closed)

    # -- polling -------------------------------------------------------------

    def wantsMore(self):
        return all(d.wantsMore for d in self.destinations)

    def poll(self):
        """
        Read what is new in every source (regular files only while every
        server takes more) and offer it to every server.
        """
        seconds = self.clock.seconds()
        now = datetime.fromtimestamp(seconds)
        more = False
        for source in self.sources:
            droppable = not isinstance(source, Follower)
            if not droppable and not self.wantsMore():
                # Not read now, but watched: a file rotated away and the
                # next one both stay open until reading resumes.
                self._stalled = True
                lines, events = source.watch()
            else:
                lines, events = source.poll(seconds)
            for event in events:
                self._report(source, event, now)
            if lines or source.position != self._positions.get(source.path):
                self._forward(source, lines, now, droppable)
            # A poll that read about its whole budget left more behind.
            more = more or 2 * (sum(map(len, map(_lineData, lines))) + len(lines)) >= self.readSize
        if self.events._queued:
            self._forward(self.events, self.events.poll()[0], now, True)
        if more:
            if self.wantsMore():
                self.wake()
            else:
                # The next acknowledgement that makes room polls again.
                self._stalled = True

    def _report(self, source, event, now):
        self.counts["events"] += 1
        level = _EVENT_LEVELS.get(event.kind, "warn")
        getattr(self.log, level)("{path}: {kind}: {report}", path=source.path,
                                 kind=event.kind, report=event.message)
        if event.kind in ("tamper", "truncated", "overlong") or (
                event.kind == "rotated" and "lost" in event.message):
            self.events.report(event, now)

    def _forward(self, source, lines, now, droppable):
        prepared = self.preparer.prepare(lines, now, source.path)
        self.counts["lines"] += len(lines)
        self.counts["filtered"] += prepared.filtered
        self._linesRead.inc(len(lines))
        if prepared.filtered:
            self._linesFiltered.inc(prepared.filtered)
        self.counts["truncated"] += prepared.truncated
        first = lines[0].seq if lines else 0
        self._positions[source.path] = source.position
        if first == 1 and source.path not in self._saved and isinstance(source, Follower):
            self._saveStart(source.path, lines[0])

        def positionAfter(seq):
            return source.positionAfter(lines[seq - first])

        batches = cutBatches(source.path, prepared, source.position, positionAfter)
        for destination in self.destinations:
            for batch in batches:
                destination.offer(batch, droppable)

    def wake(self, delay=0):
        """
        Poll again in C{delay} seconds (as soon as the reactor is free by
        default), unless a poll is already due sooner.
        """
        call = self._wakeCall
        if call is not None and call.active():
            if call.getTime() <= self.clock.seconds() + delay:
                return
            call.cancel()
        self._wakeCall = self.clock.callLater(delay, self._woken)

    def _woken(self):
        self._wakeCall = None
        if self.running:
            self.poll()

    def _progress(self):
        if self._stalled and self.wantsMore():
            self._stalled = False
            self.wake()

    # -- offsets -------------------------------------------------------------

    def _saveStart(self, path, line):
        """
        Before the first line of a path leaves, persist where it starts: the
        file it comes from, at offset 0.  Should the forwarder die before
        anything is acknowledged and the file be rotated meanwhile, the
        restart then finds it among the rotated copies and reads it again
        under the same numbers, instead of numbering the new file from 1
        (whose lines the stores would drop as duplicates).
        """
        self._persist(dict(self._saved, **{path: startOf(line)}))

    def _persist(self, positions):
        try:
            self.offsets.save(positions)
        except OSError as e:
            self.log.error("cannot save file offsets to {path}: {error}",
                           path=self.offsets.path, error=e.strerror)
            return
        self._saved = positions

    def save(self):
        """
        Persist the positions every server has acknowledged (when they
        changed), and sync the spools.
        """
        for destination in self.destinations:
            destination.spool.sync()
        positions = dict(self._saved)
        positions.update(persistable([d.ledger for d in self.destinations],
                                     [s.path for s in self.sources]))
        if positions != self._saved:
            self._persist(positions)


def makeSender(endpoint, source, clock, description, reconnect, log, securityFactory=None):
    """
    A L{ReliableSender} for one server, which reports it lost after
    C{reconnect} failed attempts.
    """
    from mice.protocols.link import PlainSecurity
    from mice.services.sender import ReliableSender

    return ReliableSender(endpoint, source, "log", clock, window=8,
                          retryPolicy=reportingPolicy(description, reconnect, log),
                          securityFactory=securityFactory or PlainSecurity,
                          description=description)


def defaultStateDirectory():
    return os.path.join(os.sep, "var", "lib", "mice", "dataforwarder")

