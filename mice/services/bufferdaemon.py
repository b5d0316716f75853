# -*- test-case-name: tests.test_bufferdaemon -*-
"""
The BufferDaemon: M-ICE's generic server.

It listens, hands every batch to the decoding module of each pipeline that
serves the batch's kind, puts the decoded batch in that pipeline's ring
buffer, and every TIMEINV seconds (sooner when much is buffered) gives the
oldest entries to the pipeline's post-processing module.

A batch is acknowledged to its sender only once it is durable in every
pipeline: in a memory-mapped ring as soon as the ring is synced (one msync
per reactor turn covers every batch received in it), in a memory ring only
once the post-processor has stored it.  A full ring pauses every connection
(C{pauseProducing}) instead of dropping anything, and so does a
post-processor that failed MAXERR times in a row, until it works again.
"""

from collections import deque

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from mice.protocols import wire
from mice.protocols.link import LinkServerFactory, PlainSecurity


class _Ack:
    """
    One received batch waiting to be durable in C{remaining} pipelines.
    """

    __slots__ = ("connection", "batchId", "remaining")

    def __init__(self, connection, batchId, remaining):
        self.connection = connection
        self.batchId = batchId
        self.remaining = remaining

    def done(self):
        self.remaining -= 1
        if self.remaining == 0:
            self.connection.sendAck(self.batchId)


def envelope(source, payload):
    """
    What a ring entry holds: enough to decode the batch again after a restart.
    """
    return source.encode("utf-8") + b"\n" + payload


class Pipeline:
    """
    One decoding module, its ring buffer and its post-processing module.
    """

    log = Logger()

    def __init__(self, decoder, postprocessor, ring, flushRecords=5000, maxErrors=10,
                 name=None):
        self.decoder = decoder
        self.postprocessor = postprocessor
        self.ring = ring
        self.flushRecords = flushRecords
        self.maxErrors = maxErrors
        self.name = name or f"{type(decoder).__name__}->{postprocessor.name}"
        self.bufferedRecords = 0
        self.storedRecords = 0
        self.heldRecords = 0
        self.heldRecordsLimit = 2 * flushRecords
        self.consecutiveErrors = 0
        self.flushing = False
        self._pendingAcks = deque()
        self._idleWaiters = []

    def whenNotFlushing(self):
        """
        @return: a Deferred that fires once no flush is in progress.
        """
        if not self.flushing:
            return succeed(None)
        d = Deferred()
        self._idleWaiters.append(d)
        return d

    def flushDone(self):
        self.flushing = False
        waiters, self._idleWaiters = self._idleWaiters, []
        for d in waiters:
            d.callback(None)

    @property
    def holding(self):
        """
        True while the post-processor has failed too often in a row.
        """
        return self.consecutiveErrors >= self.maxErrors

    def append(self, payload, records, ack):
        # A memory-mapped ring holds the batch already.  Its decoded records
        # are kept as well (sparing a decode at flush time) only up to
        # heldRecordsLimit, so memory stays bounded however large the ring.
        held = records
        if self.ring.durable:
            if self.heldRecords + len(records) > self.heldRecordsLimit:
                held = None
            else:
                self.heldRecords += len(records)
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
        @return: C{(lastSeq, records, held)} of the oldest entries, about
            C{flushRecords} records' worth (C{held} of them kept decoded), or
            C{None} when the ring is empty.
        """
        records = []
        lastSeq = None
        held = 0
        # Peek only about as many entries as a flush needs: peeking copies.
        perEntry = max(1, self.bufferedRecords // max(1, len(self.ring)))
        for entry in self.ring.peek(self.flushRecords // perEntry + 1):
            recs = entry.obj
            if recs is not None:
                held += len(recs)
            else:
                try:
                    recs = self.recoverRecords(entry)
                except Exception as e:
                    self.log.error("{pipeline}: ring entry {seq} cannot be decoded ({error});"
                                   " skipped", pipeline=self.name, seq=entry.seq, error=e)
                    recs = []
            records.extend(recs)
            lastSeq = entry.seq
            if len(records) >= self.flushRecords:
                break
        return None if lastSeq is None else (lastSeq, records, held)

    def released(self, lastSeq, count, held):
        self.ring.release(lastSeq)
        if self.ring.durable:
            self.heldRecords -= held
        self.bufferedRecords = max(0, self.bufferedRecords - count)
        self.storedRecords += count
        acks = self._pendingAcks
        while acks and acks[0][0] <= lastSeq:
            acks.popleft()[1].done()


class BufferDaemon(Service):
    """
    The generic server; see the module docstring.

    @ivar pipelines: the L{Pipeline}s, in config order.
    @ivar ports: the listening ports once started.
    """

    log = Logger()

    def __init__(self, endpoints, pipelines, clock, timeInterval=2.0, maxLine=4 * 2 ** 20,
                 maxRecord=65536, securityFactory=PlainSecurity):
        self.endpoints = list(endpoints)
        self.pipelines = list(pipelines)
        self.clock = clock
        self.timeInterval = timeInterval
        self.maxLine = maxLine
        self.maxRecord = maxRecord
        self.factory = LinkServerFactory(self, securityFactory)
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
        self._loopDone = None
        self._stopped = None

    # Service

    def startService(self):
        super().startService()
        for pipeline in self.pipelines:
            replayed = getattr(pipeline.ring, "replayed", 0)
            if replayed:
                self.log.info("{pipeline}: {n} unflushed ring entries recovered from the last"
                              " run", pipeline=pipeline.name, n=replayed)
            maybeDeferred(pipeline.postprocessor.start).addErrback(
                lambda f, p=pipeline: self.log.failure(
                    "{pipeline}: post-processor failed to start; retrying at every flush",
                    f, pipeline=p.name))
        self._loopDone = self._loop.start(self.timeInterval, now=False)
        return self.listen()

    def listen(self):
        """
        Start listening on every endpoint.

        @return: a Deferred that fires with the list of ports.
        """
        def listening(port, endpoint):
            self.ports.append(port)
            self.log.info("BufferDaemon listening on {address}", address=port.getHost())
            return port

        ds = [endpoint.listen(self.factory).addCallback(listening, endpoint)
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
        super().stopService()
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
        return d

    def _drain(self):
        """
        Flush until the rings are empty or a post-processor fails.
        """
        pending = [p for p in self.pipelines if len(p.ring) and not p.flushing]
        if not pending:
            return succeed(None)
        ds = [self._flushPipeline(p) for p in pending]
        return DeferredList(ds).addCallback(
            lambda results: self._drain() if all(ok and stored for ok, stored in results)
            else None)

    # The receiver interface of LinkServerFactory

    def connectionMade(self, connection):
        self.connections.add(connection)
        if self.paused:
            connection.pauseProducing()

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
        batchId = wire.checkBatch(message)[0]
        decoded = [p.decoder.decode(connection.source, message) for p in pipelines]
        item = (pipelines, decoded, envelope(connection.source, payload),
                _Ack(connection, batchId, len(pipelines)))
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
            if pipeline.bufferedRecords >= pipeline.flushRecords:
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
        Give every pipeline's oldest entries to its post-processor.  Called
        every TIMEINV seconds; never raises.
        """
        for pipeline in self.pipelines:
            if not pipeline.flushing and len(pipeline.ring):
                try:
                    self._flushPipeline(pipeline)
                except Exception:
                    # Never let the LoopingCall die: the next tick tries again.
                    pipeline.flushDone()
                    self.log.failure("{pipeline}: flush failed", pipeline=pipeline.name)

    def _flushPipeline(self, pipeline):
        """
        @return: a Deferred firing with True if records were stored.
        """
        taken = pipeline.takeBatch()
        if taken is None:
            return succeed(False)
        lastSeq, records, held = taken
        pipeline.flushing = True
        d = maybeDeferred(pipeline.postprocessor.process, records) if records else succeed(None)

        def stored(_):
            pipeline.flushDone()
            if pipeline.holding:
                self.log.info("{pipeline}: post-processor works again after {n} failures;"
                              " accepting data again", pipeline=pipeline.name,
                              n=pipeline.consecutiveErrors)
            pipeline.consecutiveErrors = 0
            pipeline.released(lastSeq, len(records), held)
            self._admitOverflow()
            self._updateFlow()
            if pipeline.bufferedRecords >= pipeline.flushRecords:
                self._scheduleFlush()
            return True

        def failed(failure):
            pipeline.flushDone()
            pipeline.consecutiveErrors += 1
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
