"""
Tests for L{mice.reactors.decisions}: countermeasures are decisions, not
commands.
"""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols.reaction import checkRequest, react
from mice.reactors import decisions

NOW = 1_800_000_000.0


def countermeasure(until=NOW + 600, state=decisions.ACTIVE, id="r1", params=None):
    return decisions.Countermeasure(id, 1, params or {"ip": "192.0.2.7"}, NOW - 10, until, "test",
                          state)


class DurationTests(SynchronousTestCase):
    def test_default(self):
        self.assertEqual(decisions.effectiveDuration(None, 600, 86400), (600.0, None))

    def test_permanent(self):
        self.assertEqual(decisions.effectiveDuration(0, 600, 0), (None, None))
        self.assertEqual(decisions.effectiveDuration(None, 0, 0), (None, None))

    def test_capped(self):
        duration, note = decisions.effectiveDuration(100000, 600, 86400)
        self.assertEqual(duration, 86400.0)
        self.assertIn("capped at MAXDURATION", note)
        duration, note = decisions.effectiveDuration(0, 600, 86400)
        self.assertEqual(duration, 86400.0)
        self.assertIn("permanent capped", note)


class ApplyTests(SynchronousTestCase):
    def test_nothingActiveRuns(self):
        decision = decisions.decideApply(None, NOW, 600)
        self.assertTrue(decision.run)
        self.assertEqual(decision.until, NOW + 600)

    def test_longerExtends(self):
        decision = decisions.decideApply(countermeasure(until=NOW + 100), NOW, 600)
        self.assertEqual((decision.run, decision.until, decision.changed),
                         (False, NOW + 600, True))
        self.assertIn("extended", decision.note)

    def test_shorterNeverShortens(self):
        decision = decisions.decideApply(countermeasure(until=NOW + 6000), NOW, 600)
        self.assertEqual((decision.run, decision.until, decision.changed),
                         (False, NOW + 6000, False))
        self.assertIn("longer than asked", decision.note)

    def test_permanentStays(self):
        decision = decisions.decideApply(countermeasure(until=None), NOW, 600)
        self.assertEqual((decision.run, decision.until, decision.changed), (False, None, False))

    def test_permanentWins(self):
        decision = decisions.decideApply(countermeasure(until=NOW + 10), NOW, None)
        self.assertEqual((decision.run, decision.until, decision.changed), (False, None, True))

    @given(st.one_of(st.none(), st.floats(0, 1e7)), st.one_of(st.none(), st.floats(1, 1e7)))
    def test_neverShorter(self, existingLeft, duration):
        """
        Whatever is asked, an active countermeasure never ends sooner and
        its command never runs again.
        """
        existing = countermeasure(until=None if existingLeft is None else NOW + existingLeft)
        decision = decisions.decideApply(existing, NOW, duration)
        self.assertFalse(decision.run)
        if existing.until is None:
            self.assertIsNone(decision.until)
        elif decision.until is not None:
            self.assertGreaterEqual(decision.until, existing.until)


class RestoreTests(SynchronousTestCase):
    def test_plan(self):
        expired = countermeasure(until=NOW - 1, id="expired")
        active = countermeasure(until=NOW + 60, id="active", params={"ip": "192.0.2.8"})
        permanent = countermeasure(until=None, id="permanent", params={"ip": "192.0.2.9"})
        lifting = countermeasure(state=decisions.LIFTING, id="lifting", params={"ip": "192.0.2.10"})
        lifted = countermeasure(state=decisions.LIFTED, id="lifted", params={"ip": "192.0.2.11"})
        undo, reapply = decisions.restorePlan([expired, active, permanent, lifting, lifted], NOW)
        self.assertEqual([c.id for c in undo], ["expired", "lifting"])
        self.assertEqual(undo[0].state, decisions.LIFTING)
        self.assertEqual((undo[0].liftedBy, undo[0].liftReason), ("expiry", "expired"))
        self.assertEqual([c.id for c in reapply], ["active", "permanent"])


class RateTests(SynchronousTestCase):
    def test_perMinute(self):
        limiter = decisions.RateLimiter(3)
        self.assertEqual([limiter.allow(NOW + i) for i in range(3)], [None] * 3)
        self.assertEqual(limiter.allow(NOW + 10), 50)
        self.assertEqual(limiter.allow(NOW + 59.5), 0.5)
        self.assertIsNone(limiter.allow(NOW + 60))
        self.assertEqual(limiter.allow(NOW + 60), 1)

    def test_unlimited(self):
        limiter = decisions.RateLimiter(0)
        self.assertEqual({limiter.allow(NOW) for _ in range(1000)}, {None})


class MiscTests(SynchronousTestCase):
    def test_backoff(self):
        self.assertEqual([decisions.backoffDelay(n) for n in range(1, 6)], [1, 2, 4, 8, 16])
        self.assertEqual(decisions.backoffDelay(40), 300)
        self.assertEqual(decisions.backoffDelay(3, initial=0.5, maximum=1.5), 1.5)

    def test_paramsKey(self):
        self.assertEqual(decisions.paramsKey({"b": "2", "a": "1"}),
                         decisions.paramsKey({"a": "1", "b": "2"}))
        self.assertEqual(countermeasure().key, (1, '{"ip":"192.0.2.7"}'))

    def test_digestIgnoresWho(self):
        first = checkRequest(react("x", "apply", fid=1, params={"ip": "192.0.2.7"},
                                   duration=60, by="alice"))
        second = checkRequest(react("x", "apply", fid=1, params={"ip": "192.0.2.7"},
                                    duration=60, by="bob"))
        other = checkRequest(react("x", "apply", fid=1, params={"ip": "192.0.2.8"},
                                   duration=60))
        self.assertEqual(decisions.requestDigest(first), decisions.requestDigest(second))
        self.assertNotEqual(decisions.requestDigest(first), decisions.requestDigest(other))

    def test_describe(self):
        described = replace(countermeasure(), lastBy="bob").describe()
        self.assertEqual(described["params"], {"ip": "192.0.2.7"})
        self.assertEqual((described["until"], described["lastby"]), (NOW + 600, "bob"))

    def test_isoTime(self):
        self.assertEqual(decisions.isoTime(0), "1970-01-01T00:00:00Z")
