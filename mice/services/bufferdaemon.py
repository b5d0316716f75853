# -*- test-case-name: tests.unit.services.test_bufferdaemon,tests.integration.test_bufferdaemon -*-
"""
The BufferDaemon: M-ICE's generic server.

It listens, hands every batch to the decoding module of each pipeline that
serves the batch's kind, puts the decoded batch in that pipeline's ring
buffer, and every TIMEINV seconds (sooner when much is buffered) gives the
oldest entries to the pipeline's post-processing module.

A batch is acknowledged to its sender only once it is durable in every
pipeline: in a memory-mapped ring as soon as the ring is synced (one sync
per reactor turn covers every batch received in it), in a memory ring only
once the post-processor has stored it.  A pipeline may run several flushes
at once (see L{Pipeline}); entries are released in ring order.  A full ring pauses every connection
(C{pauseProducing}) instead of dropping anything, and so does a
post-processor that failed MAXERR times in a row, until it works again.

A post-processor that fails is retried after TIMEINV, then after twice as
long each time, up to L{RETRY_MAX} seconds; what it failed to store stays in
the ring.  Nothing is kept per attempt: a failure's tracebacks are dropped
once it is logged (they held the failed connection, its buffers and the
flush's records in reference cycles that only the cyclic collector, which
this daemon runs rarely, would have freed: issue 12).  A store that does
not answer for L{STALL_WARNING} seconds is warned about at once, and its
recovery too.

Only authenticated links are paused: a connection still in its handshake
sends no batch, and pausing it would only keep it until its deadline.

Every listener is guarded (L{mice.protocols.guard}): connection limits in
all, per peer and for handshakes, a file-descriptor reserve, a handshake
deadline and an idle timeout, from the config's C{[LIMITS]}.
"""

import gc
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from twisted.application.service import MultiService, Service
from twisted.internet.defer import (
    Deferred,
    DeferredList,
    FirstError,
    maybeDeferred,
    succeed,
)
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from mice.config.settings import ListenLimits
from mice.db.schema import StoreUnusable
from mice.interfaces import ReloadError
from mice.metrics import Metrics, refusalReason
from mice.protocols import wire
from mice.protocols.admission import AdmissionPolicy
from mice.protocols.guard import GuardFactory
from mice.protocols.link import LinkServerFactory, PlainSecurity
from mice.protocols.rounds import Soon
from mice.record import GC_THRESHOLDS
from mice.services.waiters import Waiters

#: How many decoded records, and how many bytes of their batches, a pipeline
#: with a memory-mapped ring keeps in memory beside the ring (at least).  A
#: flush of an entry kept decodes nothing; one of an entry not kept decodes
#: its JSON again, which cost an eighth of the daemon's time when only two
#: flushes' worth were kept.  The decoded records take about three times
#: their batch's bytes for short lines, less for long ones.
HELD_RECORDS = 65536
HELD_BYTES = 16 * 2 ** 20


#: The longest wait, in seconds, between two attempts of a failing
#: post-processor; the first retry comes TIMEINV after the failure and each
#: further one waits twice as long as the one before.
RETRY_MAX = 15.0

#: A flush still in its post-processor after this many seconds is warned
#: about (the store does not answer), and again each time the wait doubles.
STALL_WARNING = 5.0

#: While a post-processor keeps failing after MAXERR, how often (seconds)
#: the daemon says that it is still down.
STILL_DOWN_REPORT = 60.0

#: At most one pause line (and the resume line that pairs it) per this many
#: seconds; the pauses in between are counted and summed up.  A ring that
#: is full under load pauses and resumes intake at every flush.
FLOW_REPORT = 30.0


def retryDelay(failedRounds, initial, maximum=RETRY_MAX):
    """
    How long to wait before the next attempt of a post-processor that failed
    C{failedRounds} times in a row: C{initial}, doubling, at most C{maximum}.
    """
    return min(maximum, initial * 2.0 ** min(max(failedRounds, 1) - 1, 64))


def forgetTracebacks(failure):
    """
    Drop the tracebacks of C{failure} and of the exceptions it was raised
    from, once it has been logged, so that what they reached is freed now.

    A failed database call leaves reference cycles behind (PyMySQL keeps the
    exception it handled on the one it raises; C{threadpool} keeps the
    Failure in the frame its traceback starts from): through the frames, they
    hold the half-made connection with its SSL context and the flush's
    records, about a megabyte, until the cyclic collector runs a full
    collection.  The messages and the Failure's text traceback are kept.
    """
    seen = set()
    pending = [failure.value]
    while pending:
        exception = pending.pop()
        if not isinstance(exception, BaseException) or id(exception) in seen:
            continue
        seen.add(id(exception))
        exception.__traceback__ = None
        pending.append(exception.__cause__)
        pending.append(exception.__context__)
        # Libraries keep the exception they handled in an attribute too
        # (PyMySQL's original_exception).
        pending.extend(getattr(exception, "__dict__", {}).values())
    failure.cleanFailure()


def storeName(postprocessor):
    """
    What to call a post-processor's store in the log: its C{description}
    (a database's host:port or SQLite path, never a password) or its name.
    """
    return getattr(postprocessor, "description", None) or postprocessor.name


def _size(n):
    return f"{n / 2 ** 20:.1f} MiB" if n >= 2 ** 20 else f"{n / 1024:.1f} KiB"


def ringFill(ring):
    """
    How full C{ring} is, for the log: entries and bytes, and the larger of
    the two as a percentage.
    """
    entries, used = len(ring), ring.usedBytes
    percent = 100.0 * entries / ring.capacity if ring.capacity else 0.0
    text = f"{entries} of {ring.capacity} entries"
    byteCapacity = getattr(ring, "byteCapacity", None)
    if byteCapacity:
        percent = max(percent, 100.0 * used / byteCapacity)
        text += f", {_size(used)} of {_size(byteCapacity)}"
    else:
        text += f", {_size(used)}"
    return f"{percent:.0f}% full ({text})"

#: How long an eager pipeline (L{Pipeline.eager}) lets records gather
#: before it flushes them: what arrives in that moment goes in one
#: transaction, and a reaction or an acknowledgement waits at most that.
EAGER_DELAY = 0.05


class _Ack:
    """
    One received batch waiting to be durable in C{remaining} pipelines.
    """

    __slots__ = ("connection", "batchId", "remaining", "counter", "late")

    def __init__(self, connection, batchId, remaining, counter):
        self.connection = connection
        #: Acknowledged only once stored, even from a memory-mapped ring: a
        #: broker's consumer (L{mice.services.broker.BrokerIntake}), whose
        #: unacknowledged messages go to the other consumers should it die.
        self.late = getattr(connection, "ackAfterStore", False)
        self.batchId = batchId
        self.remaining = remaining
        self.counter = counter

    def done(self):
        self.remaining -= 1
        if self.remaining == 0:
            self.connection.sendAck(self.batchId)
            self.counter.inc()


def pseudonymizeRecords(records, pseudonymizer):
    """
    Replace the log line of every C{[date, time, logline, signature]}
    record of a C{log} batch by its pseudonymised form, in place.
    """
    pseudonymize = pseudonymizer.pseudonymize
    for record in records:
        record[2] = pseudonymize(record[2])


def envelope(source, payload):
    """
    What a ring entry holds: enough to decode the batch again after a restart.
    """
    return source.encode("utf-8") + b"\n" + payload


class Records(Sequence):
    """
    What one flush gives its post-processor: the records of several ring
    entries, each entry's as its decoder made them (a list or any sequence,
    such as L{mice.decoders.logformat.LogBatch}), without copying them into one list.
    A post-processor that knows its decoder's output may read C{chunks}.
    """

    __slots__ = ("chunks", "_count")

    def __init__(self, chunks):
        self.chunks = chunks
        self._count = sum(len(chunk) for chunk in chunks)

    def __len__(self):
        return self._count

    def __iter__(self):
        for chunk in self.chunks:
            yield from chunk

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        for chunk in self.chunks:
            if index < len(chunk):
                return chunk[index]
            index -= len(chunk)

    def __eq__(self, other):
        if isinstance(other, Records | list | tuple):
            return list(self) == list(other)
        return NotImplemented


def ringFillRatio(ring):
    """
    How full C{ring} is, 0 to 1: the larger of its entry and byte use.
    """
    fill = len(ring) / ring.capacity if ring.capacity else 0.0
    if getattr(ring, "byteCapacity", None):
        fill = max(fill, ring.usedBytes / ring.byteCapacity)
    return min(1.0, fill)


@dataclass(slots=True, eq=False)
class _Flush:
    """
    Ring entries taken by one flush, in the post-processor's hands.

    @ivar stored: C{None} while running, then whether it succeeded.
    """

    lastSeq: int
    entries: list
    count: int
    held: object
    heldBytes: int
    started: float | None = None
    stored: bool | None = field(default=None, init=False)


class Pipeline:
    """
    One decoding module, its ring buffer and its post-processing module.

    Up to C{concurrency} flushes may be in the post-processor at once (a
    database store with two connections prepares one batch while the server
    executes the other).  Entries are released strictly in ring order, as
    the flushes before them succeed.  When a flush fails, nothing new is
    taken until every flush in flight has settled; then everything not
    released is taken again (stores are idempotent, so what a later flush
    already stored is simply ignored the second time).
    """

    log = Logger()

    # What a new pipeline holds; each is set on the instance as it changes.

    # Records in the ring, stored, and held by flushes in flight (and their
    # bytes), with the bound on those held.
    bufferedRecords = 0
    storedRecords = 0
    heldRecords = 0
    heldBytes = 0
    heldBytesLimit = HELD_BYTES
    # The ring position and entries taken by flushes, the position released
    # (stored), and whether what is not released must be taken again.
    _takenUpTo = 0
    _takenEntries = 0
    _takenRecords = 0
    _releasedUpTo = 0
    _retake = False
    # The post-processor's trouble: failures in a row, rounds that failed,
    # when to try again, since when, the last "still down" report and the
    # stall watch (BufferDaemon._retryLater, _storeWorks, _watchStall).
    consecutiveErrors = 0
    failedRounds = 0
    retryAt = None
    troubleSince = None
    downReported = None
    stallStarted = None
    stallReportAt = STALL_WARNING
    retryCall = None
    stallCall = None

    def __init__(self, decoder, postprocessor, ring, flushRecords=5000, maxErrors=10,
                 name=None, concurrency=1, eager=False):
        """
        @param eager: flush as soon as a record is there and a flush may
            start, not only every TIMEINV or at C{flushRecords} (the
            ManagementHost: its reactions should not wait, and a sender
            waiting for acknowledgements from a ring in memory neither).
        """
        self.decoder = decoder
        self.postprocessor = postprocessor
        self.ring = ring
        self.eager = eager
        self.flushRecords = flushRecords
        self.maxErrors = maxErrors
        self.concurrency = concurrency
        self.name = name or f"{type(decoder).__name__}->{postprocessor.name}"
        self.heldRecordsLimit = max(2 * flushRecords * concurrency, HELD_RECORDS)
        self._pendingAcks = deque()
        self._idleWaiters = Waiters()
        self._inFlight = deque()

    @property
    def flushing(self):
        return bool(self._inFlight)

    @property
    def untakenRecords(self):
        return self.bufferedRecords - self._takenRecords

    def canTake(self, now=None):
        """
        Whether a new flush may start now and has something to take.

        @param now: the time, to wait until C{retryAt} after failures;
            C{None} to try anyway (the final flush when stopping).
        """
        if now is not None and self.retryAt is not None and now < self.retryAt:
            return False
        return (not self._retake and len(self._inFlight) < self.concurrency
                and len(self.ring) > self._takenEntries)

    def oldestInFlight(self):
        """
        @return: the start time of the oldest flush still in the
            post-processor, or C{None}.
        """
        started = [f.started for f in self._inFlight if f.stored is None and f.started is not None]
        return min(started, default=None)

    def waitingFlushes(self):
        """
        @return: how many flushes are still in the post-processor.
        """
        return sum(1 for f in self._inFlight if f.stored is None)

    def whenNotFlushing(self):
        """
        @return: a Deferred that fires once no flush is in progress.
        """
        if not self.flushing:
            return succeed(None)
        return self._idleWaiters.wait()

    @property
    def holding(self):
        """
        True while the post-processor has failed too often in a row.
        """
        return self.consecutiveErrors >= self.maxErrors

    def append(self, payload, records, ack):
        # A memory-mapped ring holds the batch already.  Its decoded records
        # are kept as well (sparing a decode at flush time) only up to
        # heldRecordsLimit records and heldBytesLimit payload bytes, so
        # memory stays bounded however large the ring.
        held = records
        if self.ring.durable:
            if (self.heldRecords + len(records) > self.heldRecordsLimit
                    or self.heldBytes + len(payload) > self.heldBytesLimit):
                held = None
            else:
                self.heldRecords += len(records)
                self.heldBytes += len(payload)
        entry = self.ring.append(payload, held)
        self.bufferedRecords += len(records)
        if not self.ring.durable or ack.late:
            self._pendingAcks.append((entry.seq, ack))
        return entry

    def recoverRecords(self, entry):
        """
        Decode an entry found in a memory-mapped ring after a restart.
        """
        source, _, payload = entry.payload.partition(b"\n")
        return self.decoder.recover(source.decode("utf-8"), wire.decodeMessage(payload))

    def takeBatch(self):
        """
        Take the oldest entries no flush has taken yet, about
        C{flushRecords} records' worth.

        @return: C{(flush, records)}, or C{None} when there is nothing to take;
            C{records} is a L{Records}.
        """
        chunks = []
        count = 0
        lastSeq = None
        held = heldBytes = entries = 0
        # Peek only about as many entries as a flush needs: peeking copies.
        perEntry = max(1, self.bufferedRecords // max(1, len(self.ring)))
        for entry in self.ring.peek(self._takenEntries + self.flushRecords // perEntry + 1):
            if entry.seq <= self._takenUpTo:
                continue
            recs = entry.obj
            if recs is not None:
                held += len(recs)
                heldBytes += len(entry.payload)
            else:
                try:
                    recs = self.recoverRecords(entry)
                except Exception as e:
                    self.log.error("{pipeline}: ring entry {seq} cannot be decoded ({error});"
                                   " skipped", pipeline=self.name, seq=entry.seq, error=e)
                    recs = []
            if recs:
                chunks.append(recs)
                count += len(recs)
            lastSeq = entry.seq
            entries += 1
            if count >= self.flushRecords:
                break
        if lastSeq is None:
            return None
        flush = _Flush(lastSeq, entries, count, held, heldBytes)
        self._inFlight.append(flush)
        self._takenUpTo = lastSeq
        self._takenEntries += entries
        self._takenRecords += count
        return flush, Records(chunks)

    def settle(self, flush, stored):
        """
        A flush finished: release, in ring order, every entry whose flush and
        every flush before it succeeded.
        """
        flush.stored = stored
        if not stored:
            self._retake = True
        inFlight = self._inFlight
        while inFlight and inFlight[0].stored:
            done = inFlight.popleft()
            self._takenEntries -= done.entries
            self._takenRecords -= done.count
            self._release(done)
        if self._retake and all(f.stored is not None for f in inFlight):
            # Everything in flight has settled; what was not released will
            # be taken again.
            inFlight.clear()
            self._takenEntries = self._takenRecords = 0
            self._takenUpTo = self._releasedUpTo
            self._retake = False
        if not inFlight:
            self._idleWaiters.fire()

    def _release(self, flush):
        self.ring.release(flush.lastSeq)
        self._releasedUpTo = flush.lastSeq
        if self.ring.durable:
            self.heldRecords -= flush.held
            self.heldBytes -= flush.heldBytes
        self.bufferedRecords = max(0, self.bufferedRecords - flush.count)
        self.storedRecords += flush.count
        acks = self._pendingAcks
        while acks and acks[0][0] <= flush.lastSeq:
            acks.popleft()[1].done()


class BufferDaemon(MultiService):
    """
    The generic server; see the module docstring.

    Its child services (an analysis module's senders, the
    ManagementHost's reaction queues: L{IPostProcessor.services}) start before its post-processors and stop
    after them, once the last flush is done.

    @ivar pipelines: the L{Pipeline}s, in config order.
    @ivar ports: the listening ports once started.
    @ivar metrics: the daemon's L{mice.metrics.Metrics} (batches and
        records received and acknowledged, records stored, pauses, refused
        connections, ring fill), bumped once per batch or flush.
    """

    log = Logger()

    def __init__(self, endpoints, pipelines, clock, timeInterval=2.0, maxLine=4 * 2 ** 20,
                 maxRecord=65536, securityFactory=PlainSecurity, onListenFailure=None,
                 security=None, limits=None, openFiles=None, name="BufferDaemon",
                 pseudonymizer=None, metrics=None):
        """
        @param onListenFailure: called with the failure when an endpoint
            cannot listen, or a store cannot start on its database
            (L{StoreUnusable}), after it is logged; C{twistd} stops, since a
            server that cannot listen or store is of no use.
        @param security: a L{mice.security.policy.LinkSecurity} (pre-shared key
            or TLS); it replaces C{securityFactory}.
        @param limits: the L{ListenLimits} of its listeners (the defaults
            when C{None}).
        @param openFiles: a L{mice.protocols.guard.OpenFiles} (the process's
            when C{None}).
        @param name: what the logs call it.
        @param pseudonymizer: an L{mice.interfaces.IPseudonymizer} (C{PSEUDO
            = yes}): the lines of C{log} batches are pseudonymised as they
            arrive, before the ring buffer, the stores or the analysis see
            them.
        """
        MultiService.__init__(self)
        self.endpoints = list(endpoints)
        self.onListenFailure = onListenFailure
        self.pipelines = list(pipelines)
        self.clock = clock
        self.timeInterval = timeInterval
        self.maxLine = maxLine
        self.maxRecord = maxRecord
        self.pseudonymizer = pseudonymizer
        if security is not None:
            securityFactory = security.securityFactory()
        self.limits = limits if limits is not None else ListenLimits()
        self.keepalive = self.limits.keepalive
        self.factory = LinkServerFactory(self, securityFactory)
        self.guard = GuardFactory(
            self.factory if security is None else security.wrapServerFactory(self.factory),
            clock, AdmissionPolicy(self.limits), openFiles, name=name)
        self._listeningFactory = self.guard
        self.ports = []
        self.connections = set()
        self.paused = False
        self._byKind = {}
        for pipeline in self.pipelines:
            self._byKind.setdefault(pipeline.decoder.kind, []).append(pipeline)
        self._overflow = deque()
        self._syncPending = []
        self._syncCall = None
        self._flushSoon = Soon(clock, self.flush)
        self._flushEager = Soon(clock, self.flush)
        self._loop = LoopingCall(self.flush)
        self._loop.clock = clock
        self._stopped = None
        self._pausedAt = None
        self._flowReported = None
        self._pauseReported = False
        self._unreportedPauses = 0
        self._unreportedPausedTime = 0.0
        self._flowReportCall = None
        self._reloading = None
        self._reloadAgain = False
        self._instrument(metrics or Metrics("bufferdaemon"))

    def _instrument(self, metrics):
        self.metrics = metrics
        self._received = {}
        self._acknowledged = metrics.counter("batches_acknowledged")
        self._pauses = metrics.counter("flow_pauses")
        self._stored = {p.name: metrics.counter("records_stored", pipeline=p.name)
                        for p in self.pipelines}
        metrics.watch("ring_fill_ratio",
                      lambda: {p.name: ringFillRatio(p.ring) for p in self.pipelines})
        metrics.watch("ring_records",
                      lambda: {p.name: p.bufferedRecords for p in self.pipelines})
        metrics.watch("links_open", lambda: len(self.connections))

    def _receivedCounters(self, kind):
        counters = self._received.get(kind)
        if counters is None:
            counters = self._received[kind] = (
                self.metrics.counter("batches_received", kind=kind),
                self.metrics.counter("records_received", kind=kind))
        return counters

    # Service

    def startService(self):
        super().startService()
        self._gcThresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        for pipeline in self.pipelines:
            replayed = getattr(pipeline.ring, "replayed", 0)
            if replayed:
                self.log.info("{pipeline}: {n} unflushed ring entries recovered from the last"
                              " run", pipeline=pipeline.name, n=replayed)
            maybeDeferred(pipeline.postprocessor.start).addErrback(
                self._startFailed, pipeline)
        self._loop.start(self.timeInterval, now=False).addErrback(
            lambda f: self.log.failure("the flush loop stopped", f))
        return self.listen().addErrback(self._listenFailed)

    def _startFailed(self, failure, pipeline):
        """
        A post-processor did not start.  One that cannot work on its database
        as it is (L{StoreUnusable}: a table missing that it may not create, a
        table of the 2004 schema) stops the daemon with one line: retrying
        would not help.  Anything else is retried at every flush.
        """
        if failure.check(StoreUnusable):
            self.log.critical("{pipeline}: {store} cannot start: {reason}",
                              pipeline=pipeline.name, store=storeName(pipeline.postprocessor),
                              reason=str(failure.value))
            if self.onListenFailure is not None:
                self.onListenFailure(failure)
            return None
        self.log.failure("{pipeline}: post-processor failed to start; retrying at every flush",
                         failure, pipeline=pipeline.name)

    def _listenFailed(self, failure):
        failure.trap(FirstError)
        reason = failure.value.subFailure
        self.log.critical("BufferDaemon cannot listen: {reason}",
                          reason=reason.getErrorMessage())
        if self.onListenFailure is None:
            return reason
        self.onListenFailure(reason)

    def listen(self):
        """
        Start listening on every endpoint.

        @return: a Deferred that fires with the list of ports.
        """
        def listening(port, endpoint):
            self.ports.append(port)
            self.log.info("BufferDaemon listening on {address}", address=port.getHost())
            return port

        ds = [endpoint.listen(self._listeningFactory).addCallback(listening, endpoint)
              for endpoint in self.endpoints]
        return DeferredList(ds, fireOnOneErrback=True, consumeErrors=True).addCallback(
            lambda results: [port for _, port in results])

    def stopService(self):
        """
        Stop listening, flush everything still buffered, stop the modules.

        @return: a Deferred that fires when that is done (the same one
            however often this is called).
        """
        if self._stopped is None:
            self._stopped = self._stop()
        d = Deferred()
        self._stopped.addBoth(lambda result: (d.callback(None), result)[1])
        return d

    def _stop(self):
        Service.stopService(self)
        thresholds = getattr(self, "_gcThresholds", None)
        if thresholds is not None:
            gc.set_threshold(*thresholds)
        ports, self.ports = self.ports, []
        d = DeferredList([maybeDeferred(port.stopListening) for port in ports])
        for connection in list(self.connections):
            connection.transport.loseConnection()
        if self._loop.running:
            self._loop.stop()
        if self._flowReportCall is not None and self._flowReportCall.active():
            # Say the pauses not said yet: the log is read after a stop too.
            self._flowReportCall.cancel()
            self._reportFlow()
        self._flushSoon.cancel()
        self._flushEager.cancel()
        calls = [self._syncCall, self._flowReportCall]
        for pipeline in self.pipelines:
            calls += [pipeline.retryCall, pipeline.stallCall]
            pipeline.retryCall = pipeline.stallCall = None
        for call in calls:
            if call is not None and call.active():
                call.cancel()
        self._syncCall = self._flowReportCall = None
        d.addCallback(lambda _: self._sync())
        d.addCallback(lambda _: DeferredList([p.whenNotFlushing() for p in self.pipelines]))
        d.addCallback(lambda _: self._drain())
        d.addCallback(lambda _: DeferredList(
            [maybeDeferred(p.postprocessor.stop) for p in self.pipelines]))
        d.addCallback(lambda _: [p.ring.close() for p in self.pipelines])
        # The children (senders, reaction queues) last: the final flushes
        # may need them.
        d.addCallback(lambda _: MultiService.stopService(self))
        return d

    def _drain(self):
        """
        Flush until the rings are empty or a post-processor fails.
        """
        ds = []
        for pipeline in self.pipelines:
            ds.extend(self._startFlushes(pipeline))
        if not ds:
            return succeed(None)
        return DeferredList(ds).addCallback(
            lambda results: self._drain() if all(ok and stored for ok, stored in results)
            else None)

    # Reload (SIGHUP, L{mice.services.reload})

    def reload(self):
        """
        Ask every post-processor that can (an optional C{reload()}, see
        L{mice.interfaces.IReloadable}) to read its files again.  Nothing
        else is touched: connections, rings and flushes in progress go on;
        a flush already in a post-processor finishes with the rules it
        started with, the next one uses the new rules.

        A module whose files do not load keeps what it had, and every bad
        line is logged (C{file:line: reason}).  A reload asked for while one
        runs (a module's C{reload()} may return a Deferred) runs once more
        after it.

        @return: a Deferred firing with C{[(pipeline name, what was loaded
            or None)]}.
        """
        if self._reloading is not None:
            self._reloadAgain = True
            return self._reloading.wait()
        self._reloading = Waiters()
        done = self._reloading.wait()
        self._reloadRound()
        return done

    def _reloadRound(self):
        reloadable = [p for p in self.pipelines
                      if callable(getattr(p.postprocessor, "reload", None))]
        if not reloadable:
            self.log.info("reload: no module of this daemon has files to read again")
        ds = [maybeDeferred(p.postprocessor.reload).addCallbacks(
            self._reloaded, self._reloadFailed, callbackArgs=(p,), errbackArgs=(p,))
            for p in reloadable]
        DeferredList(ds).addCallback(self._reloadRoundDone)

    def _reloaded(self, loaded, pipeline):
        self.log.info("{pipeline}: reloaded ({loaded})", pipeline=pipeline.name, loaded=loaded)
        return (pipeline.name, loaded)

    def _reloadFailed(self, failure, pipeline):
        if failure.check(ReloadError):
            for problem in failure.value.problems:
                self.log.error("{problem}", problem=problem, pipeline=pipeline.name)
            self.log.error("{pipeline}: not reloaded ({count} bad lines); the rules it had keep"
                           " running", pipeline=pipeline.name,
                           count=len(failure.value.problems))
        else:
            self.log.failure("{pipeline}: not reloaded; the rules it had keep running",
                             failure, pipeline=pipeline.name)
        return (pipeline.name, None)

    def _reloadRoundDone(self, results):
        if self._reloadAgain:
            self._reloadAgain = False
            self._reloadRound()
            return
        reloading, self._reloading = self._reloading, None
        reloading.fire([result for _, result in results])

    # The receiver interface of LinkServerFactory

    def counters(self):
        """
        The numbers a metrics endpoint exports: the listeners' (see
        L{mice.protocols.admission.AdmissionPolicy.counters}).
        """
        return self.guard.counters()

    def connectionMade(self, connection):
        self.connections.add(connection)

    def connectionRefused(self, connection, reason):
        """
        The link protocol closed C{connection} for a protocol problem.
        """
        self.metrics.counter("connections_refused", reason=refusalReason(reason)).inc()

    def connectionLost(self, connection):
        self.connections.discard(connection)
        if connection.source is not None:
            self.log.info("link from {peer} (source {source!r}) closed", peer=connection.peer,
                          source=connection.source)

    def helloReceived(self, connection, source, kind):
        if kind not in self._byKind:
            raise wire.ProtocolError(
                f"this server takes no {kind!r} data (it takes: {', '.join(self._byKind)})")
        self.log.info("link from {peer}: source {source!r}, kind {kind}",
                      peer=connection.peer, source=source, kind=kind)
        if self.paused:
            connection.pauseProducing()

    def batchReceived(self, connection, message, payload):
        pipelines = self._byKind[connection.kind]
        batch = wire.checkBatch(message)
        batchId = batch.id
        decoded = [p.decoder.decode(connection.source, batch) for p in pipelines]
        if self.pseudonymizer is not None and connection.kind == "log":
            # After the decoders' checks, so a record is judged as its sender
            # sent it.  The decoded batches hold the message's own record
            # lists (L{mice.decoders.logformat.LogBatch}): rewritten in place,
            # and the ring gets the message encoded again.
            pseudonymizeRecords(batch.records, self.pseudonymizer)
            payload = wire.encodeMessage(message)
        batches, records = self._receivedCounters(connection.kind)
        batches.inc()
        records.inc(len(batch.records))
        item = (pipelines, decoded, envelope(connection.source, payload),
                _Ack(connection, batchId, len(pipelines), self._acknowledged))
        if self._overflow or not self._fits(item):
            self._overflow.append(item)
        else:
            self._append(item)
        self._updateFlow()

    # Internals

    @staticmethod
    def _fits(item):
        pipelines, _, payload, _ = item
        return all(p.ring.canAppend(len(payload)) for p in pipelines)

    def _append(self, item):
        pipelines, decoded, payload, ack = item
        for pipeline, records in zip(pipelines, decoded):
            pipeline.append(payload, records, ack)
            if pipeline.ring.durable and not ack.late:
                self._syncPending.append(ack)
            if pipeline.untakenRecords >= pipeline.flushRecords:
                self._scheduleFlush()
            elif pipeline.eager and pipeline.canTake():
                self._scheduleEagerFlush()
        if self._syncPending and self._syncCall is None:
            self._syncCall = self.clock.callLater(0, self._sync)

    def _sync(self):
        """
        One msync for every batch appended since the last one, then their acks.
        """
        self._syncCall = None
        for pipeline in self.pipelines:
            if pipeline.ring.durable:
                pipeline.ring.sync()
        pending, self._syncPending = self._syncPending, []
        for ack in pending:
            ack.done()

    def _scheduleFlush(self):
        if self.running:
            self._flushSoon()

    def _scheduleEagerFlush(self):
        """
        A flush in L{EAGER_DELAY} (for eager pipelines): soon, but late
        enough for the batches of that moment to go in one flush.
        """
        if not self._flushSoon.pending and self.running:
            self._flushEager(min(EAGER_DELAY, self.timeInterval))

    def flush(self):
        """
        Give every pipeline's untaken entries to its post-processor, in as
        many flushes as it may run at once.  Called every TIMEINV seconds;
        never raises.
        """
        now = self.clock.seconds()
        for pipeline in self.pipelines:
            try:
                self._startFlushes(pipeline, now)
            except Exception:
                # Never let the LoopingCall die: the next tick tries again.
                self.log.failure("{pipeline}: flush failed", pipeline=pipeline.name)

    def _startFlushes(self, pipeline, now=None):
        """
        Start as many flushes as C{pipeline} may run, stopping at the first
        that fails at once (the next tick tries again).

        @param now: the time (a failing post-processor waits for its
            C{retryAt}); C{None} to try anyway, as the final flush does.
        @return: their Deferreds.
        """
        started = []
        while pipeline.canTake(now):
            errors = pipeline.consecutiveErrors
            started.append(self._flushPipeline(pipeline))
            if pipeline.consecutiveErrors > errors:
                break
        return started

    def _flushPipeline(self, pipeline):
        """
        @return: a Deferred firing with True if records were stored.
        """
        taken = pipeline.takeBatch()
        if taken is None:
            return succeed(False)
        flush, records = taken
        flush.started = self.clock.seconds()
        count = len(records)
        if records:
            d = maybeDeferred(pipeline.postprocessor.process, records)
            self._watchStall(pipeline)
        else:
            d = succeed(None)

        def stored(_):
            if count:
                self._storeWorks(pipeline, self.clock.seconds())
            self._watchStall(pipeline)
            if pipeline.holding:
                self.log.info("{pipeline}: post-processor works again after {n} failures;"
                              " accepting data again", pipeline=pipeline.name,
                              n=pipeline.consecutiveErrors)
            pipeline.consecutiveErrors = 0
            pipeline.settle(flush, True)
            self._stored[pipeline.name].inc(flush.count)
            self._admitOverflow()
            self._updateFlow()
            if pipeline.untakenRecords >= pipeline.flushRecords:
                self._scheduleFlush()
            elif pipeline.eager and pipeline.canTake():
                self._scheduleEagerFlush()
            return True

        def failed(failure):
            now = self.clock.seconds()
            pipeline.consecutiveErrors += 1
            pipeline.settle(flush, False)
            self._watchStall(pipeline)
            if pipeline.troubleSince is None:
                pipeline.troubleSince = flush.started
            delay = None
            if not pipeline.flushing:
                # Every flush of this round has settled: wait before the next.
                pipeline.failedRounds += 1
                delay = retryDelay(pipeline.failedRounds, self.timeInterval)
                self._retryLater(pipeline, now, delay)
            retry = (f"retrying in {delay:g} s" if delay is not None
                     else "retrying once the other flushes in progress end")
            if pipeline.consecutiveErrors == pipeline.maxErrors:
                self.log.critical(
                    "{pipeline}: {n} consecutive post-processing failures (MAXERR) of {store};"
                    " no longer accepting or acknowledging data until it works again; {retry};"
                    " last error: {error}", pipeline=pipeline.name, n=pipeline.consecutiveErrors,
                    store=storeName(pipeline.postprocessor), retry=retry,
                    error=failure.getErrorMessage())
                pipeline.downReported = now
                self._updateFlow()
            elif pipeline.consecutiveErrors < pipeline.maxErrors:
                pipeline.downReported = now
                self.log.failure("{pipeline}: post-processing {count} records failed in {store}"
                                 " ({n} in a row); they stay buffered; {retry}", failure,
                                 pipeline=pipeline.name, count=count,
                                 store=storeName(pipeline.postprocessor),
                                 n=pipeline.consecutiveErrors, retry=retry)
            elif delay is not None and now - (pipeline.downReported or 0.0) >= STILL_DOWN_REPORT:
                pipeline.downReported = now
                self.log.warn(
                    "{pipeline}: {store} still failing after {seconds:.0f} s ({n} failures in a"
                    " row); {retry}; ring {fill}; last error: {error}", pipeline=pipeline.name,
                    store=storeName(pipeline.postprocessor),
                    seconds=now - pipeline.troubleSince, n=pipeline.consecutiveErrors,
                    retry=retry, fill=ringFill(pipeline.ring), error=failure.getErrorMessage())
            forgetTracebacks(failure)
            return False

        return d.addCallbacks(stored, failed)

    def _retryLater(self, pipeline, now, delay):
        """
        Try C{pipeline}'s post-processor again in C{delay} seconds (and not
        before).
        """
        pipeline.retryAt = now + delay
        if pipeline.retryCall is not None and pipeline.retryCall.active():
            pipeline.retryCall.cancel()
        pipeline.retryCall = None
        if self.running:
            pipeline.retryCall = self.clock.callLater(delay, self._retry, pipeline)

    def _retry(self, pipeline):
        pipeline.retryCall = None
        try:
            self._startFlushes(pipeline, self.clock.seconds())
        except Exception:
            self.log.failure("{pipeline}: flush failed", pipeline=pipeline.name)

    def _storeWorks(self, pipeline, now):
        """
        A flush of C{pipeline} succeeded: forget the backoff, and say so if
        its store had been failing or silent.
        """
        pipeline.failedRounds = 0
        pipeline.retryAt = None
        if pipeline.retryCall is not None and pipeline.retryCall.active():
            pipeline.retryCall.cancel()
        pipeline.retryCall = None
        if pipeline.troubleSince is not None:
            self.log.warn("{pipeline}: {store} works again after {seconds:.0f} s of trouble"
                          " ({n} failed flushes); ring {fill}", pipeline=pipeline.name,
                          store=storeName(pipeline.postprocessor),
                          seconds=now - pipeline.troubleSince, n=pipeline.consecutiveErrors,
                          fill=ringFill(pipeline.ring))
        pipeline.troubleSince = None
        pipeline.downReported = None

    def _watchStall(self, pipeline):
        """
        Look at C{pipeline}'s oldest flush in progress when it will have
        waited for its store long enough to be warned about (again).
        """
        if pipeline.stallCall is not None:
            if pipeline.stallCall.active():
                pipeline.stallCall.cancel()
            pipeline.stallCall = None
        oldest = pipeline.oldestInFlight()
        if oldest is None or not self.running:
            return
        if oldest != pipeline.stallStarted:
            pipeline.stallStarted = oldest
            pipeline.stallReportAt = STALL_WARNING
        due = max(0.0, oldest + pipeline.stallReportAt - self.clock.seconds())
        pipeline.stallCall = self.clock.callLater(due, self._checkStall, pipeline)

    def _checkStall(self, pipeline):
        """
        Warn that C{pipeline}'s store has not answered: at once for a new
        silence, and again each time the wait doubles; a flush that is not
        answered either in a trouble already told about (a retry) is told
        about at most every L{STILL_DOWN_REPORT} seconds.
        """
        pipeline.stallCall = None
        oldest = pipeline.oldestInFlight()
        now = self.clock.seconds()
        waited = now - oldest if oldest is not None else 0.0
        if oldest == pipeline.stallStarted and waited >= pipeline.stallReportAt:
            retried = pipeline.troubleSince is not None and pipeline.troubleSince < oldest
            if not retried or now - (pipeline.downReported or 0.0) >= STILL_DOWN_REPORT:
                if pipeline.troubleSince is None:
                    pipeline.troubleSince = oldest
                pipeline.downReported = now
                self.log.warn("{pipeline}: {store} has not answered for {seconds:.0f} s"
                              " ({n} flushes waiting; in trouble for {trouble:.0f} s); ring {fill}",
                              pipeline=pipeline.name, store=storeName(pipeline.postprocessor),
                              seconds=waited, n=pipeline.waitingFlushes(),
                              trouble=now - pipeline.troubleSince, fill=ringFill(pipeline.ring))
            while pipeline.stallReportAt <= waited:
                pipeline.stallReportAt = min(2 * pipeline.stallReportAt,
                                             pipeline.stallReportAt + STILL_DOWN_REPORT)
        self._watchStall(pipeline)

    def _admitOverflow(self):
        while self._overflow and self._fits(self._overflow[0]):
            self._append(self._overflow.popleft())

    def _updateFlow(self):
        """
        Pause every connection while a ring is full, a batch waits outside the
        rings, or a post-processor is holding; resume when none is true.
        """
        shouldPause = bool(self._overflow) or any(
            p.ring.full or p.holding for p in self.pipelines)
        if shouldPause and not self.paused:
            self.paused = True
            self._intakePaused(self.clock.seconds())
            self._pauses.inc()
            for connection in list(self.connections):
                if connection.source is not None:
                    connection.pauseProducing()
        elif not shouldPause and self.paused:
            self.paused = False
            self._intakeResumed(self.clock.seconds())
            for connection in list(self.connections):
                if self.paused:
                    break
                if connection.paused:
                    connection.resumeProducing()

    def _pauseReason(self):
        reasons = [f"{p.name}: ring {ringFill(p.ring)}"
                   + (f", {storeName(p.postprocessor)} failing (MAXERR)" if p.holding else "")
                   for p in self.pipelines]
        if self._overflow:
            reasons.append(f"{len(self._overflow)} batches waiting for room")
        return "; ".join(reasons)

    def _intakePaused(self, now):
        """
        Say that intake pauses, unless a pause was said less than
        L{FLOW_REPORT} seconds ago: then count it for a summary.
        """
        self._pausedAt = now
        if self._flowReported is None or now - self._flowReported >= FLOW_REPORT:
            self._flowReported = now
            self._pauseReported = True
            self.log.warn("pausing intake from {n} connections: {reason}",
                          n=len(self.connections), reason=self._pauseReason())
            return
        self._pauseReported = False
        self._unreportedPauses += 1
        if self._flowReportCall is None and self.running:
            self._flowReportCall = self.clock.callLater(
                self._flowReported + FLOW_REPORT - now, self._reportFlow)

    def _intakeResumed(self, now):
        pausedFor = now - self._pausedAt if self._pausedAt is not None else 0.0
        self._pausedAt = None
        if self._pauseReported:
            self._pauseReported = False
            self.log.warn("resuming intake from {n} connections after {seconds:.1f} s"
                          " paused: {reason}", n=len(self.connections), seconds=pausedFor,
                          reason=self._pauseReason())
        else:
            self._unreportedPausedTime += pausedFor

    def _reportFlow(self):
        """
        Sum up the pauses not said one by one since the last line.
        """
        self._flowReportCall = None
        now = self.clock.seconds()
        pauses, self._unreportedPauses = self._unreportedPauses, 0
        pausedTime, self._unreportedPausedTime = self._unreportedPausedTime, 0.0
        if self.paused and self._pausedAt is not None:
            pausedTime += now - self._pausedAt
        state = "paused now" if self.paused else "running now"
        self.log.warn("intake paused {pauses} more times in the last {seconds:.0f} s ({paused:.1f} s"
                      " in all), {state}: {reason}", pauses=pauses,
                      seconds=now - self._flowReported, paused=pausedTime, state=state,
                      reason=self._pauseReason())
        self._flowReported = now
        # A resume after this line is said, so that the last line tells the truth.
        self._pauseReported = self.paused
