# -*- test-case-name: tests.unit.services.test_management,tests.integration.test_management -*-
"""
The ManagementHost's reactions as services: one L{ReactionQueue} per
reaction agent, under a L{ReactionService}, which the BufferDaemon runs as
its child (the act_generic post-processor offers it the new jobs; it never
starts or stops it).

A queue runs its agent's jobs from the reaction journal
(L{mice.db.journal}): the jobs the post-processor just journaled, offered
in memory, and, at start and whenever it had more than it could hold,
the C{pending} jobs it reads back from the journal.  It runs up to
C{IN_FLIGHT} at once, records every outcome in the journal (in batches),
and retries failures with backoff (L{mice.management.journal}).  A
failing agent only slows its own queue: every queue has its own jobs,
its own clock calls and its own share of the journal's pool.

Jobs are run at least once: a job done whose outcome was not yet
recorded when the process died runs again at the next start (agents
deduplicate by the alert's key where they can, L{mice.interfaces.IReaction}).
A job recorded as done never runs again.
"""

import os

from twisted.application.service import MultiService, Service
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    DeferredList,
    maybeDeferred,
    succeed,
)
from twisted.internet.defer import TimeoutError as ReactionTimeout
from twisted.logger import Logger

from mice.alerts import RoutedAlert
from mice.idmef import readMessage
from mice.interfaces import ReactionRefused
from mice.management.journal import (
    Gate,
    Job,
    Recent,
    RetryPolicy,
    Schedule,
    afterFailure,
    afterRefusal,
    afterSuccess,
    journalRow,
)
from mice.postproc.actgeneric import isoTime
from mice.protocols.rounds import Soon

#: Jobs a queue holds in memory; beyond, they wait in the journal only and
#: are read back, a page at a time, as the queue drains.
HOLD = 20000
#: Jobs read back from the journal at a time.
PAGE = 2000
#: Outcomes recorded in one transaction, at most.
RECORD_BATCH = 5000
#: Seconds a reaction may take before it counts as failed (and is tried again).
REACTION_TIMEOUT = 60.0
#: Seconds L{ReactionQueue.stopService} waits for reactions in flight.
STOP_TIMEOUT = 10.0


def routedFromJournal(pending):
    """
    The L{RoutedAlert} of a job read back from the journal
    (L{mice.db.journal.PendingJob}).
    """
    if pending.document is None:
        raise ValueError("its document is in neither received_alert nor alert_entry")
    message = readMessage(pending.document)
    rids = tuple(int(rid) for rid in (pending.rids or "").split(",") if rid)
    return RoutedAlert(pending.alertKey, message.alerts[0], pending.document,
                       pending.description or message.alerts[0].classification,
                       pending.origin, pending.receivedAt, pending.problems, rids,
                       pending.stream, pending.seq, pending.idx)


class ReactionQueue(Service):
    """
    The jobs of one reaction agent.

    @ivar agent: the L{mice.interfaces.IReaction} provider.
    @ivar counts: jobs done, refused, failed (given up), retried, and
        attempts that failed.
    """

    log = Logger()

    def __init__(self, agent, journal, clock, policy=None, inFlight=32, hold=HOLD,
                 page=PAGE, timeout=REACTION_TIMEOUT):
        self.agent = agent
        self.pipe = agent.pipe
        self.journal = journal
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.inFlightLimit = inFlight
        self.hold = hold
        self.page = page
        self.timeout = timeout
        self.schedule = Schedule()
        self.gate = Gate(self.policy)
        self.recent = Recent()
        self.inFlight = {}
        self.counts = {"done": 0, "refused": 0, "failed": 0, "retried": 0, "errors": 0}
        self._unrecorded = []
        self._recording = None
        self._recordRetry = None
        self._recordFailures = 0
        self._wake = None
        self._wakeAt = None
        self._soon = Soon(clock, self._pump)
        self._loadRetryAt = None
        self._loadFailures = 0
        self._loading = False
        self._loadAfter = 0
        self._needLoad = True
        self._spilled = False
        self._agentStarted = False
        self._stopping = False
        self._batch = getattr(agent, "reactBatch", None)
        self._batchLimit = max(1, int(getattr(agent, "batchLimit", 500)))
        self._reactNow = getattr(agent, "reactNow", None)
        #: C{{job key: (job, row)}}: jobs run by L{runNow} whose journal
        #: transaction has not committed yet (L{journaledNow}).
        self._early = {}
        self._isoAt = (None, None)
        #: The text of the agent's C{<PIPE>.conf} it was built from (C{None}:
        #: none), set by the builder: a reload rebuilds the agent when it changed.
        self.configText = None
        #: Told C{reactionOutcome(dict)} of every outcome once it is in the
        #: journal (the console's feed, L{mice.console.interfaces.IConsoleFeed}).
        self.observers = []

    def __repr__(self):
        return f"<ReactionQueue {self.pipe}>"

    # Service

    def startService(self):
        super().startService()
        self._stopping = False
        self._needLoad = True
        self._loadAfter = 0
        self._startAgent()

    def _startAgent(self):
        def started(_):
            self._agentStarted = True
            self.log.info("reaction agent {pipe} started", pipe=self.pipe)
            self._pumpSoon()

        def failed(failure):
            self.gate.failed(self.clock.seconds())
            self.log.error("reaction agent {pipe} failed to start ({error}); trying again in"
                           " {wait:g}s", pipe=self.pipe, error=failure.getErrorMessage(),
                           wait=self.policy.delay(self.gate.failures))
            self._wakeAt = None
            self._sleepUntil(self.gate.openAt, self._retryStart)

        maybeDeferred(self.agent.start).addCallbacks(started, failed)

    def replaceAgent(self, agent):
        """
        Run the jobs with C{agent} from now on (its C{<PIPE>.conf} changed,
        C{SIGHUP}): it is started, and the old agent is stopped once the
        reactions it has in flight are over (their outcomes are recorded as
        usual; one that fails is retried with the new agent).

        @return: a L{Deferred} that fires once the old agent is stopped.
        """
        old, self.agent = self.agent, agent
        self._batch = getattr(agent, "reactBatch", None)
        self._batchLimit = max(1, int(getattr(agent, "batchLimit", 500)))
        self._reactNow = getattr(agent, "reactNow", None)
        if self.running:
            self._agentStarted = False
            self._startAgent()
        inFlight = list(self.inFlight.values())
        d = DeferredList(inFlight) if inFlight else succeed(None)
        d.addCallback(lambda _: maybeDeferred(old.stop))
        d.addErrback(lambda f: self.log.failure("stopping the replaced reaction agent {pipe}",
                                                f, pipe=self.pipe))
        return d

    def _retryStart(self):
        if self.running and not self._agentStarted:
            self._startAgent()

    def stopService(self):
        super().stopService()
        self._stopping = True
        self._cancelWake()
        if self._recordRetry is not None and self._recordRetry.active():
            self._recordRetry.cancel()
        self._recordRetry = None
        inFlight = list(self.inFlight.values())
        d = DeferredList(inFlight) if inFlight else succeed(None)
        timer = self.clock.callLater(STOP_TIMEOUT, lambda: [f.cancel() for f in inFlight])
        d.addBoth(lambda _: timer.cancel() if timer.active() else None)
        d.addCallback(lambda _: self._record(final=True))
        d.addCallback(lambda _: maybeDeferred(self.agent.stop))
        d.addErrback(lambda f: self.log.failure("stopping reaction agent {pipe}", f,
                                                pipe=self.pipe))
        return d

    # What the reaction service calls

    def offer(self, jobs):
        """
        Jobs just journaled: hold them, unless the queue holds L{hold}
        already (then they wait in the journal, read back later).
        """
        now = self.clock.seconds()
        early = self._early
        for job in jobs:
            if job.key in self.recent:
                continue
            if early:
                taken = early.pop(job.key, None)
                if taken is not None:
                    # Done at once, but journaled pending (the transaction
                    # that journaled it did not have its outcome): recorded
                    # now, not run again (held as a job being recorded is).
                    self.schedule.keys.add(job.key)
                    self._unrecorded.append(taken)
                    self._record()
                    continue
            if len(self.schedule) >= self.hold:
                self._spilled = True
                continue
            self.schedule.add(job, now)
        self._pumpSoon()

    def _pumpSoon(self):
        """Run L{_pump} in a moment: an offer returns at once (the batch's ack waits)."""
        if self.running:
            self._soon()

    @property
    def pending(self):
        """Jobs held or running (not those only in the journal)."""
        return len(self.schedule)

    # Running jobs

    def _pump(self):
        if not self.running or self._stopping or not self._agentStarted:
            return
        now = self.clock.seconds()
        schedule = self.schedule
        while len(self._unrecorded) < 4 * self.hold:
            allowed = self.gate.allowed(self.inFlightLimit, now)
            if len(self.inFlight) >= allowed:
                break
            job = schedule.take(now)
            if job is None:
                break
            if self._batch is not None and allowed > 1:
                jobs = [job]
                while len(jobs) < self._batchLimit:
                    more = schedule.take(now)
                    if more is None:
                        break
                    jobs.append(more)
                self._runBatch(jobs)
            else:
                self._run(job)
        self._maybeLoad()
        self._scheduleWake(now)

    def _run(self, job):
        d = maybeDeferred(self.agent.react, job.routed)
        d.addTimeout(self.timeout, self.clock)
        token = object()
        self.inFlight[token] = d
        d.addBoth(self._ranOne, job, token)

    def _runBatch(self, jobs):
        d = maybeDeferred(self._batch, [job.routed for job in jobs])
        d.addTimeout(self.timeout, self.clock)
        token = object()
        self.inFlight[token] = d
        d.addBoth(self._ranBatch, jobs, token)

    def _ranOne(self, result, job, token):
        self.inFlight.pop(token, None)
        self._decide(job, result)
        self._afterRun()

    def _ranBatch(self, result, jobs, token):
        self.inFlight.pop(token, None)
        if isinstance(result, list) and len(result) == len(jobs):
            now = self.clock.seconds()
            for job, outcome in zip(jobs, result):
                self._decide(job, outcome, now)
        else:
            # One failure for the whole batch (the transaction failed): the
            # first job counts the attempt, the others wait with it.
            first, rest = jobs[0], jobs[1:]
            self._decide(first, result)
            now = self.clock.seconds()
            for job in rest:
                self.schedule.retry(job, now)
        self._afterRun()

    def _afterRun(self):
        self._record()
        self._pumpSoon()

    def _decide(self, job, result, now=None):
        row = self._decided(job, result, now)
        if row is not None:
            self._unrecorded.append((job, row))

    def _isoTime(self, now):
        """L{isoTime} of C{now}, made once for the jobs of a batch."""
        if self._isoAt[0] != now:
            self._isoAt = (now, isoTime(now))
        return self._isoAt[1]

    def _decided(self, job, result, now=None):
        """
        What became of C{job} given its agent's C{result} (text, or a
        Failure) at C{now} (default: the clock's): counted, logged, the
        gate told.

        @return: its C{reaction_job} row, or C{None} when the stop cut it
            short (not an attempt: it stays pending).
        """
        if now is None:
            now = self.clock.seconds()
        if hasattr(result, "check"):  # a Failure
            if result.check(ReactionRefused):
                decision = afterRefusal(job, result.getErrorMessage())
                self.counts["refused"] += 1
                self.gate.succeeded()
                self.log.warn("reaction {pipe} to alert {key} refused: {reason}",
                              pipe=self.pipe, key=job.routed.key, reason=result.getErrorMessage())
            else:
                error = ("timed out after %gs" % self.timeout
                         if result.check(CancelledError, ReactionTimeout)
                         else result.getErrorMessage())
                if self._stopping:
                    # Cut short by the stop: not an attempt; it stays pending.
                    return None
                decision = afterFailure(job, error or result.type.__name__, now, self.policy)
                self.counts["errors"] += 1
                self.gate.failed(now)
                if decision.state == "pending":
                    self.counts["retried"] += 1
                    self.log.warn("reaction {pipe} to alert {key}: {outcome}", pipe=self.pipe,
                                  key=job.routed.key, outcome=decision.outcome)
                else:
                    self.counts["failed"] += 1
                    self.log.error("reaction {pipe} to alert {key}: {outcome}", pipe=self.pipe,
                                   key=job.routed.key, outcome=decision.outcome)
        else:
            decision = afterSuccess(job, result)
            self.counts["done"] += 1
            if self.gate.failures:
                self.log.info("reaction agent {pipe} works again", pipe=self.pipe)
            self.gate.succeeded()
        row = journalRow(job, decision, self._isoTime(now))
        if decision.state == "pending":
            job.attempts, job.nextTry = decision.attempts, decision.nextTry
        return row

    # Reactions done before their jobs are journaled

    def runNow(self, jobs):
        """
        Do now, with the agent's C{reactNow}, the jobs of C{jobs} it can do
        at once, before they are journaled: each is then journaled once,
        with its outcome, in the transaction that journals its alert
        (instead of journaled pending, then changed).  The caller has made
        sure their alerts are not in the journal; a job this queue holds,
        finished a moment ago, or did already for a transaction that failed
        is not run again (the last gives the row it had).

        Only while the agent works (no failure since its last success) and
        the queue takes jobs; the jobs not done are journaled pending and
        offered as usual (L{offer}).

        @return: C{{job key: reaction_job row}} of the jobs decided.
        """
        rows = {}
        reactNow = self._reactNow
        if (reactNow is None or not self.running or self._stopping or not self._agentStarted
                or self.gate.failures or len(self._early) >= self.hold):
            return rows
        run = []
        for job in jobs:
            key = job.key
            early = self._early.get(key)
            if early is not None:
                rows[key] = early[1]
            elif key not in self.recent and key not in self.schedule.keys:
                run.append(job)
        for start in range(0, len(run), self._batchLimit):
            chunk = run[start:start + self._batchLimit]
            try:
                outcomes = reactNow([job.routed for job in chunk])
            except Exception:
                self.log.failure("reaction {pipe}: reacting at once failed; its jobs are"
                                 " journaled pending", pipe=self.pipe)
                break
            taken = 0
            now = self.clock.seconds()
            for job, outcome in zip(chunk, outcomes):
                if outcome is None:
                    continue
                taken += 1
                row = self._decided(job, outcome, now)
                if row is not None:
                    self._early[job.key] = (job, row)
                    rows[job.key] = row
            if taken < len(chunk) or self.gate.failures:
                # The agent cannot take more now: the rest go the usual way.
                break
        return rows

    def journaledNow(self, keys):
        """
        The transaction that journaled the jobs of C{keys} run by
        L{runNow} committed: they are finished, or (a failed attempt)
        held for their retry.
        """
        now = self.clock.seconds()
        early = self._early
        for key in keys:
            taken = early.pop(key, None)
            if taken is None:
                continue
            job, row = taken
            self._tell(row)
            if row[3] == "pending":
                self.schedule.add(job, now)
            else:
                self.recent.add(key)
        self._pumpSoon()

    # Recording outcomes

    def _tell(self, row):
        """Tell the observers of a recorded outcome (a failing one is logged)."""
        if not self.observers:
            return
        key, rid, pipe, state, attempts, _, outcome, _, updated = row
        change = {"alertkey": key, "rid": rid, "pipe": pipe, "state": state,
                  "attempts": attempts, "outcome": outcome, "updated": updated}
        for observer in self.observers:
            try:
                observer.reactionOutcome(dict(change))
            except Exception:
                self.log.failure("reaction {pipe}: telling {observer} of an outcome failed",
                                 pipe=self.pipe, observer=observer)

    def _record(self, final=False):
        """
        Write the outcomes not yet written, one transaction at a time.

        @return: a Deferred that fires when what was unrecorded at the call
            is recorded (or, with C{final}, has been tried once).
        """
        if self._recording is not None:
            if final:
                return self._recording.addBoth(lambda _: self._record(final=True))
            return self._recording
        if not self._unrecorded:
            return succeed(None)
        taken, self._unrecorded = (self._unrecorded[:RECORD_BATCH],
                                   self._unrecorded[RECORD_BATCH:])
        d = self._recording = self.journal.recordOutcomes([row for _, row in taken])

        def recorded(_):
            self._recording = None
            self._recordFailures = 0
            now = self.clock.seconds()
            for job, row in taken:
                if job is None:
                    continue
                self._tell(row)
                if row[3] == "pending":
                    # Recorded as tried: run again when due.
                    self.schedule.retry(job, now)
                else:
                    self.schedule.release(job.key)
                    self.recent.add(job.key)
            if self._unrecorded:
                return self._record(final)
            self._pumpSoon()

        def failed(failure):
            self._recording = None
            self._unrecorded[:0] = taken
            self._recordFailures += 1
            wait = self.policy.delay(self._recordFailures)
            self.log.error("reaction {pipe}: recording {n} outcomes in the journal failed"
                           " ({error}); trying again in {wait:g}s", pipe=self.pipe,
                           n=len(taken), error=failure.getErrorMessage(), wait=wait)
            if not final and self.running:
                self._recordRetry = self.clock.callLater(wait, self._record)

        d.addCallbacks(recorded, failed)
        return d

    # Reading the journal back

    def _maybeLoad(self):
        if self._loading or self._stopping or not self.running:
            return
        if self._loadRetryAt is not None and self.clock.seconds() < self._loadRetryAt:
            return
        if not (self._needLoad or self._spilled) or len(self.schedule) > self.hold // 2:
            return
        if not self._needLoad:
            # Spilled since the last pass ended: a new pass from the start.
            self._spilled = False
            self._needLoad = True
            self._loadAfter = 0
        self._loading = True
        d = self.journal.pendingJobs(self.pipe, self._loadAfter, self.page)

        def loaded(pending):
            self._loading = False
            self._loadRetryAt = None
            self._loadFailures = 0
            now = self.clock.seconds()
            added = 0
            for item in pending:
                self._loadAfter = max(self._loadAfter, item.jobId)
                key = (item.alertKey, item.rid)
                if key in self.recent or key in self.schedule.keys:
                    continue
                try:
                    routed = routedFromJournal(item)
                except Exception as e:
                    # Its document is gone (alert_entry pruned) or broken:
                    # recorded as failed, not read back again and again.
                    self.log.error("reaction {pipe}: the journal's alert {key} cannot be read"
                                   " ({error}); its job is given up", pipe=self.pipe,
                                   key=item.alertKey, error=e)
                    self._unrecorded.append((None, (
                        item.alertKey, item.rid, self.pipe, "failed", item.attempts, 0.0,
                        f"its alert cannot be read from the journal: {e}", item.created,
                        isoTime(now))))
                    self.counts["failed"] += 1
                    continue
                job = Job(routed, item.rid, self.pipe, item.created, item.attempts,
                          item.nextTry)
                if self.schedule.add(job, now):
                    added += 1
            if len(pending) < self.page:
                self._needLoad = False
            self._record()
            if added:
                self.log.info("reaction {pipe}: {n} pending jobs read back from the journal",
                              pipe=self.pipe, n=added)
            self._pumpSoon()

        def failed(failure):
            self._loading = False
            self._loadFailures += 1
            now = self.clock.seconds()
            wait = self.policy.delay(self._loadFailures)
            self._loadRetryAt = now + wait
            self.log.error("reaction {pipe}: reading pending jobs from the journal failed"
                           " ({error}); trying again in {wait:g}s", pipe=self.pipe,
                           error=failure.getErrorMessage(), wait=wait)
            self._scheduleWake(now)

        d.addCallbacks(loaded, failed)

    # Waking up

    def _scheduleWake(self, now):
        """
        Be woken when the next thing may run: a waiting job's retry time,
        jobs due but held back by a closed gate, a read of the journal
        that failed.  What waits for a reaction or a record in flight is
        woken by its end.
        """
        if not self.running or self._stopping:
            return
        times = []
        wake = self.schedule.nextWake()
        if wake is not None:
            times.append(wake)
        if self.schedule.ready:
            times.append(now)
        if self._loadRetryAt is not None and not self._loading:
            times.append(self._loadRetryAt)
        if not times:
            return
        when = min(times)
        if self.gate.failures:
            when = max(when, self.gate.openAt)
        if when <= now:
            return
        self._sleepUntil(when, self._woken)

    def _sleepUntil(self, when, call):
        if self._wake is not None and self._wake.active():
            if self._wakeAt is not None and self._wakeAt <= when:
                return
            self._wake.cancel()
        self._wakeAt = when
        self._wake = self.clock.callLater(max(0.0, when - self.clock.seconds()), call)

    def _woken(self):
        self._wake = self._wakeAt = None
        self._pump()

    def _cancelWake(self):
        if self._wake is not None and self._wake.active():
            self._wake.cancel()
        self._wake = self._wakeAt = None
        self._soon.cancel()


class ReactionService(MultiService):
    """
    The reaction queues, by pipe, as child services; what the act_generic
    post-processor offers new alerts to.

    @ivar missing: pipes whose agent could not be built (their jobs stay
        pending in the journal).
    """

    log = Logger()

    def __init__(self, pipes, queues, missing=()):
        """
        @param pipes: C{{rid: pipe}}.
        @param queues: L{ReactionQueue}s.
        """
        super().__init__()
        self.pipes = dict(pipes)
        self.queues = {}
        for queue in queues:
            self.queues[queue.pipe] = queue
            queue.setServiceParent(self)
        self.missing = tuple(missing)
        self.unqueued = 0

    def offer(self, routedAlerts, skip=frozenset(), done=()):
        """
        Hand new alerts' jobs to their queues: one per reaction ID of each
        alert, but those of C{skip} (reaction IDs done already) and of
        C{done} (job keys journaled with their outcome, L{runNow}).
        """
        byPipe = {}
        for routed in routedAlerts:
            for rid in routed.rids:
                if rid in skip or (done and (routed.key, rid) in done):
                    continue
                pipe = self.pipes[rid]
                byPipe.setdefault(pipe, []).append(Job(routed, rid, pipe, routed.receivedAt))
        for pipe, jobs in byPipe.items():
            queue = self.queues.get(pipe)
            if queue is None:
                self.unqueued += len(jobs)
                continue
            queue.offer(jobs)

    @property
    def reactsNow(self):
        """Whether an agent can react at once (L{runNow})."""
        return any(queue._reactNow is not None for queue in self.queues.values())

    def runNow(self, routedAlerts, skip=frozenset()):
        """
        L{ReactionQueue.runNow} of each queue with the new alerts' jobs
        (but those of C{skip}), before they are journaled.

        @return: C{{job key: reaction_job row}} of the jobs done (or
            failed) already, for the journal's transaction.
        """
        byPipe = {}
        for routed in routedAlerts:
            for rid in routed.rids:
                if rid in skip:
                    continue
                pipe = self.pipes[rid]
                byPipe.setdefault(pipe, []).append(Job(routed, rid, pipe, routed.receivedAt))
        rows = {}
        for pipe, jobs in byPipe.items():
            queue = self.queues.get(pipe)
            if queue is not None and queue._reactNow is not None:
                rows.update(queue.runNow(jobs))
        return rows

    def journaledNow(self, rows):
        """
        The jobs of C{rows} (what L{runNow} gave) are journaled: their
        queues finish them.
        """
        byPipe = {}
        for key, row in rows.items():
            byPipe.setdefault(row[2], []).append(key)
        for pipe, keys in byPipe.items():
            queue = self.queues.get(pipe)
            if queue is not None:
                queue.journaledNow(keys)

    def whenIdle(self, clock, interval=0.05):
        """
        A Deferred firing once no queue holds a job or an unrecorded
        outcome (for tests and benches).
        """
        d = Deferred()

        def check():
            if all(not q.pending and not q._unrecorded and q._recording is None and not q._early
                   and not q._needLoad and not q._spilled and not q.inFlight
                   for q in self.queues.values()):
                d.callback(None)
            else:
                clock.callLater(interval, check)

        check()
        return d


def buildReactionService(settings, journal, reactor, databaseUrl=None, optional=False):
    """
    The L{ReactionService} of an act_generic config: one queue per
    C{[REACTION_ID]}/C{[RID_PIPENAME]} pair, its agent built by
    L{mice.reactors.buildAgent} with its C{<PIPE>.conf} when there is one.

    @param databaseUrl: the journal's database URL, the alert database
        reaction's default.
    @param optional: build only the agents whose module can be imported and
        log the others (C{mice-allinone}); otherwise a missing module is an
        error.
    @raise mice.reactors.AgentUnavailable: an agent's module is missing
        (unless C{optional}).
    """
    from mice.reactors import AgentUnavailable, agentConfigText, buildAgent

    log = Logger()
    policy = RetryPolicy.fromSettings(settings)
    queues, missing = [], []
    for reaction in settings.reactions:
        try:
            agent = buildAgent(reaction.pipe, settings.agentConfig(reaction.pipe), reactor,
                               settings.pipePath, database=databaseUrl)
        except AgentUnavailable as e:
            if not optional:
                for queue in queues:
                    # What the agents built so far hold (a shared pool).
                    queue.agent.stop()
                raise
            log.warn("RID {rid} ({pipe}): {problem}; its reactions wait in the journal",
                     rid=reaction.rid, pipe=reaction.pipe, problem=str(e))
            missing.append(reaction.pipe)
            continue
        queue = ReactionQueue(agent, journal, reactor, policy, settings.inFlight)
        queue.configText = agentConfigText(settings.agentConfig(reaction.pipe))
        queues.append(queue)
    pipes = {reaction.rid: reaction.pipe for reaction in settings.reactions}
    return ReactionService(pipes, queues, missing)


def buildActGeneric(configPath, reactor):
    """
    The C{mice_mod_pop_act_generic} module (see L{mice.registry}): the
    post-processor, its reaction journal, and the L{ReactionService} it
    offers jobs to, in its C{services} for the daemon to run.

    The journal's database is C{[JOURNAL]} C{URL}; else the alert database
    reaction's (C{rid_2_send_to_alert_db.conf} beside the config); else
    L{mice.config.settings.DEFAULT_JOURNAL_URL}.

    @raise mice.config.ConfigError: the config or a match file is bad.
    """
    from mice.config import (
        ConfigError,
        loadActGeneric,
        loadMatchFile,
        loadPopMysql,
        parseDatabaseUrl,
    )
    from mice.config.settings import DEFAULT_JOURNAL_URL
    from mice.db.journalstore import openJournal
    from mice.management.routing import ALERT_DB_PIPE, Router
    from mice.postproc.actgeneric import ActGeneric
    from mice.reactors import AgentUnavailable

    log = Logger()
    settings = loadActGeneric(configPath)
    matchFiles = {}
    for analyzer in settings.analyzers:
        try:
            matchFiles[analyzer.matchFile] = loadMatchFile(analyzer.matchFile)
        except OSError as e:
            raise ConfigError(configPath, None, f"the match file of {analyzer.analyzerId!r}:"
                                                f" {analyzer.matchFile}: {e.strerror}") from None
    correlation = None
    if settings.correlation is not None:
        from mice.analysis.correlation import loadCorrelation

        correlation = loadCorrelation(settings.correlation.rules)
    router = Router.fromSettings(settings, matchFiles)
    for problem in router.problems:
        log.warn("{path}: {problem}", path=configPath, problem=problem)
    urlText = settings.journalUrl
    if urlText is None:
        alertDbConfig = settings.agentConfig(ALERT_DB_PIPE)
        urlText = (loadPopMysql(alertDbConfig).databaseUrl() if alertDbConfig is not None
                   else DEFAULT_JOURNAL_URL)
    url = parseDatabaseUrl(urlText)
    dtdPath = settings.dtdFile if settings.dtdFile and os.path.isfile(settings.dtdFile) else None
    if settings.dtdFile and dtdPath is None:
        log.warn("{path}: DTDFile {dtd} does not exist: documents are not validated",
                 path=configPath, dtd=settings.dtdFile)
    journal = openJournal(url, reactor)
    try:
        reactions = buildReactionService(settings, journal, reactor, urlText,
                                         optional=not settings.requireAgents)
    except AgentUnavailable as e:
        journal.close()
        raise ConfigError(configPath, None, str(e)) from None
    post = ActGeneric(router, journal, reactor, dtdPath=dtdPath, dispatcher=reactions,
                      batchSize=settings.batchSize, maxErrors=settings.maxErr,
                      configPath=configPath)
    post.services = (reactions,)
    if correlation is not None:
        from mice.postproc.correlation import CorrelationStage

        post.correlation = CorrelationStage(correlation, settings.correlation.analyzerId,
                                            journal, reactor, settings.correlation.interval)
    if settings.console is not None:
        from mice.services.managementconsole import buildManagementConsole

        post.services += (buildManagementConsole(settings.console, post, reactions, reactor),)
    if post.correlation is not None:
        post.services += (post.correlation.service(post),)
    for rid, pipe in reactions.pipes.items():
        queue = reactions.queues.get(pipe)
        agent = queue.agent if queue is not None else None
        if getattr(agent, "storeRows", None) is not None and agent.pool is journal.pool:
            # The alert database on the journal's own database: done in the
            # journal's transaction, exactly once, and the documents it
            # keeps are not kept twice.
            post.inline[rid] = agent
            journal.alertEntry = True
    log.info("{path}: reaction journal in {journal}; reactions {pipes}", path=configPath,
             journal=journal.description,
             pipes=", ".join(f"{rid}={pipe}" for rid, pipe in sorted(reactions.pipes.items())))
    return post
