# -*- test-case-name: tests.unit.services.test_bufferdaemon -*-
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
"""

import gc
from collections import deque
from collections.abc import Sequence

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

from mice.metrics import Metrics, refusalReason
from mice.protocols import wire
from mice.protocols.link import LinkServerFactory, PlainSecurity

#: How many decoded records, and how many bytes of their batches, a pipeline
#: with a memory-mapped ring keeps in memory beside the ring (at least).  A
#: flush of an entry kept decodes nothing; one of an entry not kept decodes
#: its JSON again, which cost an eighth of the daemon's time when only two
#: flushes' worth were kept.  The decoded records take about three times
#: their batch's bytes for short lines, less for long ones.
HELD_RECORDS = 65536
HELD_BYTES = 16 * 2 ** 20

#: The cyclic garbage collector's thresholds while a BufferDaemon runs.  Every
#: batch allocates a thousand lists (its decoded records), which survive
#: until flushed: with Python's default first threshold (700) the collector
#: ran more than once per batch and walked them again and again, a third of
#: the cost of decoding them.  Collections still happen, every 50,000 new
#: objects, so reference cycles are still freed.
GC_THRESHOLDS = (50000, 20, 20)


class _Ack:
    """
    One received batch waiting to be durable in C{remaining} pipelines.
    """

    __slots__ = ("connection", "batchId", "remaining", "counter")

    def __init__(self, connection, batchId, remaining, counter):
        self.connection = connection
        self.batchId = batchId
        self.remaining = remaining
        self.counter = counter

    def done(self):
        self.remaining -= 1
        if self.remaining == 0:
            self.connection.sendAck(self.batchId)
            self.counter.inc()


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


def ringFill(ring):
    """
    How full C{ring} is, 0 to 1: the larger of its entry and byte use.
    """
    fill = len(ring) / ring.capacity if ring.capacity else 0.0
    if getattr(ring, "byteCapacity", None):
        fill = max(fill, ring.usedBytes / ring.byteCapacity)
    return min(1.0, fill)


class _Flush:
    """
    Ring entries taken by one flush, in the post-processor's hands.

    @ivar stored: C{None} while running, then whether it succeeded.
    """

    __slots__ = ("lastSeq", "entries", "count", "held", "heldBytes", "stored")

    def __init__(self, lastSeq, entries, count, held, heldBytes):
        self.lastSeq = lastSeq
        self.entries = entries
        self.count = count
        self.held = held
        self.heldBytes = heldBytes
        self.stored = None


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

    def __init__(self, decoder, postprocessor, ring, flushRecords=5000, maxErrors=10,
                 name=None, concurrency=1):
        self.decoder = decoder
        self.postprocessor = postprocessor
        self.ring = ring
        self.flushRecords = flushRecords
        self.maxErrors = maxErrors
        self.concurrency = concurrency
        self.name = name or f"{type(decoder).__name__}->{postprocessor.name}"
        self.bufferedRecords = 0
        self.storedRecords = 0
        self.heldRecords = 0
        self.heldBytes = 0
        self.heldRecordsLimit = max(2 * flushRecords * concurrency, HELD_RECORDS)
        self.heldBytesLimit = HELD_BYTES
        self.consecutiveErrors = 0
        self._pendingAcks = deque()
        self._idleWaiters = []
        self._inFlight = deque()
        self._takenUpTo = 0
        self._takenEntries = 0
        self._takenRecords = 0
        self._releasedUpTo = 0
        self._retake = False

    @property
    def flushing(self):
        return bool(self._inFlight)

    @property
    def untakenRecords(self):
        return self.bufferedRecords - self._takenRecords

    def canTake(self):
        """
        Whether a new flush may start now and has something to take.
        """
        return (not self._retake and len(self._inFlight) < self.concurrency
                and len(self.ring) > self._takenEntries)

    def whenNotFlushing(self):
        """
        @return: a Deferred that fires once no flush is in progress.
        """
        if not self.flushing:
            return succeed(None)
        d = Deferred()
        self._idleWaiters.append(d)
        return d

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
        if not self.ring.durable:
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
            waiters, self._idleWaiters = self._idleWaiters, []
            for d in waiters:
                d.callback(None)

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
    The generic server; see the module docstring.  Its child services (the
    senders of its post-processors) start before it listens and stop after
    its last flush.

    @ivar pipelines: the L{Pipeline}s, in config order.
    @ivar ports: the listening ports once started.
    @ivar metrics: the daemon's L{mice.metrics.Metrics} (batches and
        records received and acknowledged, records stored, pauses, refused
        connections, ring fill), bumped once per batch or flush.
    """

    log = Logger()

    def __init__(self, endpoints, pipelines, clock, timeInterval=2.0, maxLine=4 * 2 ** 20,
                 maxRecord=65536, securityFactory=PlainSecurity, onListenFailure=None,
                 security=None, metrics=None):
        """
        @param onListenFailure: called with the failure when an endpoint
            cannot listen (after it is logged); C{twistd} stops, since a
            server that cannot listen is of no use.
        @param security: a L{mice.security.policy.LinkSecurity} (pre-shared key
            or TLS); it replaces C{securityFactory}.
        """
        MultiService.__init__(self)
        self.endpoints = list(endpoints)
        self.onListenFailure = onListenFailure
        self.pipelines = list(pipelines)
        self.clock = clock
        self.timeInterval = timeInterval
        self.maxLine = maxLine
        self.maxRecord = maxRecord
        if security is not None:
            securityFactory = security.securityFactory()
        self.factory = LinkServerFactory(self, securityFactory)
        self._listeningFactory = (self.factory if security is None
                                  else security.wrapServerFactory(self.factory))
        self.ports = []
        self.connections = set()
        self.paused = False
        self._byKind = {}
        for pipeline in self.pipelines:
            self._byKind.setdefault(pipeline.decoder.kind, []).append(pipeline)
        self._overflow = deque()
        self._syncPending = []
        self._syncCall = None
        self._flushSoon = None
        self._loop = LoopingCall(self.flush)
        self._loop.clock = clock
        self._stopped = None
        self._instrument(metrics or Metrics("bufferdaemon"))

    def _instrument(self, metrics):
        self.metrics = metrics
        self._received = {}
        self._acknowledged = metrics.counter("batches_acknowledged")
        self._pauses = metrics.counter("flow_pauses")
        self._stored = {p.name: metrics.counter("records_stored", pipeline=p.name)
                        for p in self.pipelines}
        metrics.watch("ring_fill_ratio",
                      lambda: {p.name: ringFill(p.ring) for p in self.pipelines})
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
                lambda f, p=pipeline: self.log.failure(
                    "{pipeline}: post-processor failed to start; retrying at every flush",
                    f, pipeline=p.name))
        self._loop.start(self.timeInterval, now=False).addErrback(
            lambda f: self.log.failure("the flush loop stopped", f))
        return self.listen().addErrback(self._listenFailed)

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
        for call in (self._syncCall, self._flushSoon):
            if call is not None and call.active():
                call.cancel()
        self._syncCall = self._flushSoon = None
        d.addCallback(lambda _: self._sync())
        d.addCallback(lambda _: DeferredList([p.whenNotFlushing() for p in self.pipelines]))
        d.addCallback(lambda _: self._drain())
        d.addCallback(lambda _: DeferredList(
            [maybeDeferred(p.postprocessor.stop) for p in self.pipelines]))
        d.addCallback(lambda _: [p.ring.close() for p in self.pipelines])
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

    # The receiver interface of LinkServerFactory

    def connectionMade(self, connection):
        self.connections.add(connection)
        if self.paused:
            connection.pauseProducing()

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

    def batchReceived(self, connection, message, payload):
        pipelines = self._byKind[connection.kind]
        batch = wire.checkBatch(message)
        batchId = batch.id
        decoded = [p.decoder.decode(connection.source, batch) for p in pipelines]
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
            if pipeline.ring.durable:
                self._syncPending.append(ack)
            if pipeline.untakenRecords >= pipeline.flushRecords:
                self._scheduleFlush()
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
        if self._flushSoon is None and self.running:
            self._flushSoon = self.clock.callLater(0, self._flushNow)

    def _flushNow(self):
        self._flushSoon = None
        self.flush()

    def flush(self):
        """
        Give every pipeline's untaken entries to its post-processor, in as
        many flushes as it may run at once.  Called every TIMEINV seconds;
        never raises.
        """
        for pipeline in self.pipelines:
            try:
                self._startFlushes(pipeline)
            except Exception:
                # Never let the LoopingCall die: the next tick tries again.
                self.log.failure("{pipeline}: flush failed", pipeline=pipeline.name)

    def _startFlushes(self, pipeline):
        """
        Start as many flushes as C{pipeline} may run, stopping at the first
        that fails at once (the next tick tries again).

        @return: their Deferreds.
        """
        started = []
        while pipeline.canTake():
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
        d = maybeDeferred(pipeline.postprocessor.process, records) if records else succeed(None)

        def stored(_):
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
            return True

        def failed(failure):
            pipeline.consecutiveErrors += 1
            pipeline.settle(flush, False)
            if pipeline.consecutiveErrors == pipeline.maxErrors:
                self.log.critical(
                    "{pipeline}: {n} consecutive post-processing failures (MAXERR); no longer"
                    " accepting or acknowledging data until it works again; last error: {error}",
                    pipeline=pipeline.name, n=pipeline.consecutiveErrors,
                    error=failure.getErrorMessage())
                self._updateFlow()
            elif pipeline.consecutiveErrors < pipeline.maxErrors:
                self.log.failure("{pipeline}: post-processing {count} records failed"
                                 " ({n} in a row); they stay buffered", failure,
                                 pipeline=pipeline.name, count=len(records),
                                 n=pipeline.consecutiveErrors)
            return False

        return d.addCallbacks(stored, failed)

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
            self._pauses.inc()
            self.log.info("buffers full or post-processing held: pausing {n} connections",
                          n=len(self.connections))
            for connection in list(self.connections):
                connection.pauseProducing()
        elif not shouldPause and self.paused:
            self.paused = False
            self.log.info("resuming {n} connections", n=len(self.connections))
            for connection in list(self.connections):
                if self.paused:
                    break
                connection.resumeProducing()
