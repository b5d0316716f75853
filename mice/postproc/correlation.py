# -*- test-case-name: tests.integration.test_correlation,tests.unit.postproc.test_correlationstage -*-
"""
The ManagementHost's correlation stage: act_generic's C{[CORRELATION]}
(see C{docs/correlation.rst}).

The act_generic post-processor (L{mice.postproc.actgeneric}) hands it
every alert of every flush, from every host, before it journals the
flush.  The stage counts them with a L{Correlator} and gives back the
correlated alerts they made, as IDMEF documents received from the
stage's own analyzer id: they are routed through the match files, stored
and reacted to like any alert.  Its checkpoint goes into the same
transaction as the flush (C{correlation_state}), so after a kill -9 the
stage starts again from exactly what was journaled: no count lost, no
correlated alert made twice.  That needs one flush at a time: while the
stage is on, act_generic's flushes are serialized (L{serialized}).

Every C{INTERVAL} seconds it flushes nothing (L{tick}), so that alerts
held waiting for later ones (the lateness tolerance) are counted when no
later ones come.
"""

from twisted.application.internet import TimerService
from twisted.internet.defer import DeferredLock
from twisted.logger import Logger

from mice.analysis.correlation import Correlator
from mice.decoders.idmef import ReceivedAlert
from mice.idmef import toXml

#: The stream name the correlated alerts come in on (their keys are made of it).
STREAM = "correlation"


class CorrelationStage:
    """
    @ivar correlator: the L{Correlator}, once L{start}ed.
    @ivar committed: the checkpoint last journaled (what a failed flush
        goes back to).
    """

    log = Logger()

    def __init__(self, rules, analyzerId, journal, clock, interval=1.0, name=None):
        self.rules = rules
        self.analyzerId = analyzerId
        self.name = name or analyzerId
        self.journal = journal
        self.clock = clock
        self.interval = interval
        self.correlator = None
        self.committed = None
        self.lock = DeferredLock()
        self._reported = {}
        self._reportedAt = float("-inf")

    def start(self):
        """Read the last checkpoint from the journal: counting starts from it."""
        def loaded(state):
            self.committed = state
            self.correlator = Correlator(self.rules, self.analyzerId, state)
            self.log.info("correlation: {rules} rules from {path}, {held} alerts held and"
                          " {keys} keys from the last checkpoint", rules=len(self.rules.rules),
                          path=self.rules.path, held=self.correlator.held,
                          keys=self.correlator.keys)

        return self.journal.loadCorrelationState(self.name).addCallback(loaded)

    def service(self, post):
        """
        The service that ticks C{post} (the act_generic post-processor)
        every L{interval}: one of the services the daemon runs as
        act_generic's children.
        """
        ticking = _Ticking(self, self.interval, self.tick, post)
        ticking.clock = self.clock
        ticking.setName("correlation")
        return ticking

    def serialized(self, function, *args):
        """Run C{function(*args)} (a flush) once no other flush runs."""
        return self.lock.run(function, *args)

    def tick(self, post):
        """Count what waited long enough: an empty flush, unless one runs."""
        if self.lock.locked or self.correlator is None or not self.correlator.held:
            return None
        d = post.process([])
        d.addErrback(lambda f: self.log.failure("correlation: counting held alerts failed", f))
        return d

    def correlate(self, alerts, now, receivedAt):
        """
        Count a flush's alerts (and what waited long enough).

        @return: C{(records, state)}: the correlated alerts as
            L{ReceivedAlert}s, and C{(name, checkpoint, receivedAt)} to
            journal with the flush, or C{None} when nothing changed.
        """
        correlator = self.correlator
        before = (correlator.held, correlator.released, correlator.counts["alerts"])
        made = []
        for alert in alerts:
            made.extend(correlator.feed(alert, now))
        made.extend(correlator.advance(now))
        self._report()
        if not made and before == (correlator.held, correlator.released,
                                   correlator.counts["alerts"]):
            return [], None
        records = []
        for alert in made:
            document = toXml(alert).decode("utf-8")
            records.append(ReceivedAlert(self.analyzerId, STREAM, int(alert.messageId[:15], 16),
                                         (alert,), document))
        return records, (self.name, correlator.checkpoint(), receivedAt)

    def journaled(self, state):
        """The flush that carried C{state} is committed."""
        if state is not None:
            self.committed = state[1]

    def failed(self):
        """The flush was not journaled: count from the last checkpoint again."""
        self.correlator = Correlator(self.rules, self.analyzerId, self.committed)

    def _report(self):
        """Log what was not counted as it should be, at most once a minute."""
        now = self.clock.seconds()
        if now < self._reportedAt + 60:
            return
        counts = self.correlator.counts
        for what in ("late", "evicted", "forced", "bad time", "future"):
            if counts[what] != self._reported.get(what, 0):
                self.log.warn("correlation: {n} alerts {what} so far (docs/correlation.rst)",
                              n=counts[what], what=what)
                self._reported[what] = counts[what]
                self._reportedAt = now


class _Ticking(TimerService):
    """The stage's ticks, and its counts served as C{mice_correlation_alerts}."""

    def __init__(self, stage, *args):
        super().__init__(*args)
        self.stage = stage

    def attachMetrics(self, metrics):
        metrics.watch("correlation_alerts", self.counts)

    def counts(self):
        correlator = self.stage.correlator
        return dict(correlator.counts) if correlator is not None else {}
