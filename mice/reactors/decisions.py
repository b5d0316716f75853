# -*- test-case-name: tests.unit.reactors.test_decisions -*-
"""
The ReactionDaemon's decisions about countermeasures, pure: what an
C{apply} does to what is already active, how long a countermeasure lasts,
what a restart undoes and re-applies, when a failed undo is tried again and
how many commands a minute may run.

Countermeasures are decisions, not commands (CrowdSec's word): one active
countermeasure per (FID, parameters); asking again for one that is active
extends it (the longer of the two wins, a ban is never shortened) and never
runs its command a second time.  Time is passed in as C{now} (seconds since
the epoch, from the daemon's clock).
"""

import hashlib
import json
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime

__all__ = [
    "ACTIVE", "LIFTING", "LIFTED", "Countermeasure", "ApplyDecision", "decideApply",
    "effectiveDuration", "paramsKey", "restorePlan", "RateLimiter", "backoffDelay",
    "requestDigest",
]

#: The command ran (or is being run) and its effect is wanted.
ACTIVE = "active"
#: Being lifted: its undo runs, or failed and will be tried again.
LIFTING = "lifting"
#: Lifted for good (expired, or undone by someone); kept as history.
LIFTED = "lifted"


def paramsKey(params):
    """
    The canonical text of canonical parameters: equal parameters, equal key.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class Countermeasure:
    """
    One countermeasure, as the daemon's store keeps it.

    @ivar id: the reaction id of the C{apply} that made it.
    @ivar params: canonical parameters (a dict of names to strings).
    @ivar until: when it ends (seconds since the epoch), or C{None}:
        permanent.
    @ivar askedBy: who asked for it (the request's C{by}, and the peer).
    @ivar liftedBy: who lifted it (a person or C{expiry}), when lifted or
        being lifted.
    """

    id: str
    fid: int
    params: dict
    since: float
    until: float | None
    askedBy: str
    state: str = ACTIVE
    lastBy: str | None = None
    liftedAt: float | None = None
    liftedBy: str | None = None
    liftReason: str | None = None

    @property
    def key(self):
        return (self.fid, paramsKey(self.params))

    def expired(self, now):
        return self.until is not None and self.until <= now

    def describe(self):
        """
        The JSON-able dict a C{list} answers with.
        """
        return {"id": self.id, "fid": self.fid, "params": dict(self.params),
                "since": self.since, "until": self.until, "by": self.askedBy,
                "state": self.state, "lastby": self.lastBy, "liftedat": self.liftedAt,
                "liftedby": self.liftedBy, "reason": self.liftReason}


def effectiveDuration(requested, default, maximum):
    """
    How long a countermeasure asked for lasts.

    @param requested: seconds asked for, C{0} for permanent, C{None} for
        the function's default.
    @param default: DURATION (0 = permanent).
    @param maximum: MAXDURATION (0 = no maximum).
    @return: C{(seconds or None for permanent, note or None)}; the note says
        when the request was capped.
    """
    duration = default if requested is None else requested
    if maximum and (duration == 0 or duration > maximum):
        asked = "permanent" if duration == 0 else f"{duration:g}s"
        return float(maximum), f"{asked} capped at MAXDURATION {maximum:g}s"
    if duration == 0:
        return None, None
    return float(duration), None


@dataclass(frozen=True)
class ApplyDecision:
    """
    What an C{apply} does.

    @ivar run: run the command (nothing active for these parameters).
    @ivar until: the countermeasure's end after this apply (C{None}:
        permanent).
    @ivar changed: the end moved (the store must be told).
    @ivar note: what happened, for the answer.
    """

    run: bool
    until: float | None
    changed: bool
    note: str


def isoTime(seconds):
    """
    C{seconds} since the epoch as ISO 8601 UTC (C{2026-01-02T03:04:05Z}).
    """
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(until):
    return "permanent" if until is None else f"until {isoTime(until)}"


def decideApply(existing, now, duration):
    """
    @param existing: the active L{Countermeasure} for the same FID and
        parameters, or C{None}.
    @param duration: from L{effectiveDuration} (C{None}: permanent).
    @return: an L{ApplyDecision}.
    """
    wanted = None if duration is None else now + duration
    if existing is None or existing.state != ACTIVE:
        return ApplyDecision(True, wanted, True, f"applied, {_when(wanted)}")
    if existing.until is None:
        return ApplyDecision(False, None, False,
                             f"already active ({existing.id}), permanent")
    if wanted is None or wanted > existing.until:
        return ApplyDecision(False, wanted, True,
                             f"already active ({existing.id}); extended {_when(wanted)}")
    return ApplyDecision(False, existing.until, False,
                         f"already active ({existing.id}), {_when(existing.until)}"
                         " (longer than asked)")


def restorePlan(countermeasures, now):
    """
    What a daemon starting again does with what its store holds.

    @return: C{(undo, reapply)}: the countermeasures to lift now (expired,
        or being lifted when the daemon stopped) and those to apply again
        (the command's effect may be gone: a reboot clears a firewall).
        Lifted ones (expired, or undone by hand) are never re-applied.
    """
    undo, reapply = [], []
    for countermeasure in countermeasures:
        if countermeasure.state == LIFTING:
            undo.append(countermeasure)
        elif countermeasure.state == ACTIVE:
            if countermeasure.expired(now):
                undo.append(replace(countermeasure, state=LIFTING, liftedAt=now,
                                    liftedBy="expiry", liftReason="expired"))
            else:
                reapply.append(countermeasure)
    return undo, reapply


def backoffDelay(attempt, initial=1.0, maximum=300.0):
    """
    The delay before retry number C{attempt} (1, 2, ...) of a failed undo
    or re-apply: doubling from C{initial}, at most C{maximum}.
    """
    return min(maximum, initial * 2 ** max(0, min(attempt - 1, 30)))


class RateLimiter:
    """
    At most C{perMinute} commands in any 60 seconds (0: no limit).
    """

    def __init__(self, perMinute):
        self.perMinute = perMinute
        self._times = deque()

    def _forget(self, now):
        while self._times and self._times[0] <= now - 60:
            self._times.popleft()

    def allow(self, now):
        """
        @return: C{None} and count one command, or the seconds until one is
            allowed.
        """
        if not self.perMinute:
            return None
        self._forget(now)
        if len(self._times) >= self.perMinute:
            return self._times[0] + 60 - now
        self._times.append(now)
        return None


def requestDigest(request):
    """
    A digest of what a request asks (not of who asked or when), so a repeat
    of a reaction id with other content is told from a resend.
    """
    fields = {"action": request.action, "fid": request.fid, "params": request.params,
              "duration": request.duration, "target": request.target}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
