# -*- test-case-name: tests.unit.management.test_journal -*-
"""
The reaction journal's decisions, pure: what becomes of a job after its
agent answered, when to try again, and which job a reaction queue runs
next.  The SQL is L{mice.db.journal}; the queues that act on these
decisions are L{mice.services.management}.

A job is one reaction (a reaction ID, served by one agent) to one alert.
It is C{pending} until its agent has done it (C{done}), refused it for
good (C{refused}: L{mice.interfaces.ReactionRefused}), or failed it
L{RetryPolicy.attempts} times (C{failed}; never, by default).  A failure
is tried again after a wait that doubles from L{RetryPolicy.first} up to
L{RetryPolicy.maximum}.

A queue's agent that fails is not hammered: after a failure the queue
runs one job at a time (a probe), and waits L{RetryPolicy.delay} of its
failures in a row before each probe, until one succeeds.  So while a
target is down (syslog gone, a FIFO without a reader, the database
down) its jobs wait in the journal without using up their attempts, and
other agents' queues are not concerned.
"""

import heapq
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from mice.db.journal import DONE, FAILED, PENDING, REFUSED

#: The longest outcome text kept in the journal.
OUTCOME_CHARS = 2000


class RetryPolicy(NamedTuple):
    first: float = 1.0
    """Seconds before the first retry."""
    maximum: float = 300.0
    """The longest wait."""
    attempts: int = 0
    """Attempts before a job is given up as C{failed}; 0: never."""

    def delay(self, failures):
        """The wait after C{failures} failures in a row (at least one)."""
        if failures <= 0:
            return 0.0
        return min(self.maximum, self.first * 2.0 ** min(failures - 1, 62))

    @classmethod
    def fromSettings(cls, settings):
        """From an L{mice.config.ActGenericSettings}' C{[JOURNAL]}."""
        return cls(settings.retryFirst, settings.retryMax, settings.attempts)


@dataclass
class Job:
    """
    One reaction to one alert, as a queue holds it.

    @ivar routed: the L{mice.alerts.RoutedAlert}.
    @ivar attempts: the attempts made so far.
    @ivar nextTry: when it may run (clock seconds; 0: now).
    @ivar created: when it was journaled (ISO 8601 UTC).
    """

    routed: object
    rid: int
    pipe: str
    created: str
    attempts: int = 0
    nextTry: float = 0.0

    @property
    def key(self):
        """The job's identity: its alert's key and its reaction ID."""
        return (self.routed.key, self.rid)


class Decision(NamedTuple):
    """What becomes of a job after an attempt: its journal columns."""

    state: str
    attempts: int
    nextTry: float
    outcome: str


def _cut(text):
    text = str(text)
    return text if len(text) <= OUTCOME_CHARS else text[:OUTCOME_CHARS - 3] + "..."


def afterSuccess(job, outcome):
    return Decision(DONE, job.attempts + 1, 0.0, _cut(outcome if outcome else "done"))


def afterRefusal(job, reason):
    return Decision(REFUSED, job.attempts + 1, 0.0, _cut(f"refused: {reason}"))


def afterFailure(job, error, now, policy):
    """
    A failed attempt: tried again after L{RetryPolicy.delay} of the job's
    attempts, or given up when they reach L{RetryPolicy.attempts}.
    """
    attempts = job.attempts + 1
    if policy.attempts and attempts >= policy.attempts:
        return Decision(FAILED, attempts, 0.0,
                        _cut(f"failed {attempts} times, given up; last: {error}"))
    wait = policy.delay(attempts)
    return Decision(PENDING, attempts, now + wait,
                    _cut(f"attempt {attempts} failed: {error}; next in {wait:g}s"))


def journalRow(job, decision, nowIso):
    """The C{reaction_job} row (L{mice.db.journal.JOB_COLUMNS}) of a decided job."""
    return (job.routed.key, job.rid, job.pipe, decision.state, decision.attempts, decision.nextTry,
            decision.outcome, job.created, nowIso)


class Gate:
    """
    Whether a queue may start jobs, and how many at once: all it may while
    its agent works, one probe after L{RetryPolicy.delay} of its failures
    in a row once it fails.
    """

    def __init__(self, policy):
        self.policy = policy
        self.failures = 0
        self.openAt = 0.0

    def failed(self, now):
        self.failures += 1
        self.openAt = now + self.policy.delay(self.failures)

    def succeeded(self):
        self.failures = 0
        self.openAt = 0.0

    def allowed(self, limit, now):
        """How many jobs may run at once now (0: none, wait until L{openAt})."""
        if not self.failures:
            return limit
        return 1 if now >= self.openAt else 0


class Schedule:
    """
    The jobs a queue holds: those due in arrival order, those waiting for
    their retry time by time.  Each alert's job is held once
    (L{add} refuses a key it holds: a job offered twice, or read back from
    the journal while it is held, runs once).
    """

    def __init__(self):
        self._ready = deque()
        self._waiting = []
        self._order = 0
        self.keys = set()

    def __len__(self):
        return len(self._ready) + len(self._waiting)

    def add(self, job, now):
        """@return: whether C{job} was added (False: its key is held)."""
        if job.key in self.keys:
            return False
        self.keys.add(job.key)
        self._put(job, now)
        return True

    def retry(self, job, now):
        """Hold C{job} again (its key still held) until its L{Job.nextTry}."""
        self._put(job, now)

    def _put(self, job, now):
        if job.nextTry <= now:
            self._ready.append(job)
        else:
            self._order += 1
            heapq.heappush(self._waiting, (job.nextTry, self._order, job))

    def take(self, now):
        """The next job due at C{now}, or C{None}; its key stays held."""
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            self._ready.append(heapq.heappop(waiting)[2])
        return self._ready.popleft() if self._ready else None

    def release(self, key):
        """Forget C{key}: its job is finished and recorded."""
        self.keys.discard(key)

    def nextWake(self):
        """When the next waiting job is due (C{None}: none waits)."""
        return self._waiting[0][0] if self._waiting else None

    @property
    def ready(self):
        return len(self._ready)


class Recent:
    """
    The keys of the last C{size} jobs a queue finished: a job offered again
    just after it finished (it was read back from the journal and offered
    by the post-processor at once) is not run again.
    """

    def __init__(self, size=65536):
        self._order = deque()
        self._keys = set()
        self.size = size

    def add(self, key):
        if key in self._keys:
            return
        self._order.append(key)
        self._keys.add(key)
        if len(self._order) > self.size:
            self._keys.discard(self._order.popleft())

    def __contains__(self, key):
        return key in self._keys
