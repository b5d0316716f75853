"""
Tests for L{mice.management.journal}: the reaction journal's decisions.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, RoutedAlert
from mice.management import journal


def job(key="k1", attempts=0, nextTry=0.0):
    routed = RoutedAlert(key, Alert("1", "a", "2004-11-22T10:00:01Z", "c"), "<x/>", "d",
                         "agent", "2026-01-01T00:00:00+00:00")
    return journal.Job(routed, 2, "rid_2_send_to_alert_db", "2026-01-01T00:00:00+00:00", attempts,
               nextTry)


class RetryPolicyTests(SynchronousTestCase):
    def test_doublesUpToTheMaximum(self):
        policy = journal.RetryPolicy(first=1.0, maximum=30.0)
        self.assertEqual([policy.delay(n) for n in range(0, 8)],
                         [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0])

    @given(st.integers(min_value=1, max_value=10 ** 6))
    def test_neverAboveTheMaximum(self, failures):
        policy = journal.RetryPolicy(first=0.5, maximum=300.0)
        self.assertTrue(0.5 <= policy.delay(failures) <= 300.0)


class DecisionTests(SynchronousTestCase):
    def test_success(self):
        self.assertEqual(journal.afterSuccess(job(attempts=2), "stored"),
                         journal.Decision("done", 3, 0.0, "stored"))
        self.assertEqual(journal.afterSuccess(job(), None).outcome, "done")

    def test_refusal(self):
        self.assertEqual(journal.afterRefusal(job(), "10.0.0.1 is on the never-block list"),
                         journal.Decision("refused", 1, 0.0,
                                  "refused: 10.0.0.1 is on the never-block list"))

    def test_failureIsRetriedWithBackoff(self):
        policy = journal.RetryPolicy(first=2.0, maximum=60.0)
        first = journal.afterFailure(job(), "connection refused", 100.0, policy)
        self.assertEqual(first, journal.Decision("pending", 1, 102.0,
                                         "attempt 1 failed: connection refused; next in 2s"))
        third = journal.afterFailure(job(attempts=2), "connection refused", 100.0, policy)
        self.assertEqual((third.state, third.attempts, third.nextTry), ("pending", 3, 108.0))

    def test_givenUpAfterAttempts(self):
        policy = journal.RetryPolicy(first=1.0, maximum=60.0, attempts=3)
        self.assertEqual(journal.afterFailure(job(attempts=1), "boom", 0.0, policy).state,
                         "pending")
        decision = journal.afterFailure(job(attempts=2), "boom", 0.0, policy)
        self.assertEqual((decision.state, decision.attempts), ("failed", 3))
        self.assertIn("given up", decision.outcome)

    def test_neverGivenUpByDefault(self):
        decision = journal.afterFailure(job(attempts=10 ** 6), "boom", 0.0, journal.RetryPolicy())
        self.assertEqual(decision.state, "pending")

    def test_longOutcomesAreCut(self):
        decision = journal.afterSuccess(job(), "x" * 10000)
        self.assertEqual(len(decision.outcome), journal.OUTCOME_CHARS)

    def test_journalRow(self):
        j = job()
        self.assertEqual(journal.journalRow(j, journal.Decision("done", 1, 0.0, "ok"), "now"),
                         ("k1", 2, "rid_2_send_to_alert_db", "done", 1, 0.0, "ok",
                          "2026-01-01T00:00:00+00:00", "now"))


class GateTests(SynchronousTestCase):
    def test_probesAfterFailures(self):
        """
        A working agent runs as many jobs as allowed; after a failure, none
        until the backoff has passed, then one probe at a time, until a
        success opens it fully again.
        """
        gate = journal.Gate(journal.RetryPolicy(first=1.0, maximum=8.0))
        self.assertEqual(gate.allowed(32, 0.0), 32)
        gate.failed(10.0)
        self.assertEqual((gate.allowed(32, 10.5), gate.allowed(32, 11.0)), (0, 1))
        gate.failed(11.0)
        self.assertEqual((gate.allowed(32, 12.9), gate.allowed(32, 13.0)), (0, 1))
        gate.succeeded()
        self.assertEqual(gate.allowed(32, 13.0), 32)


class ScheduleTests(SynchronousTestCase):
    def test_dueInArrivalOrder(self):
        schedule = journal.Schedule()
        for key in ("a", "b", "c"):
            self.assertTrue(schedule.add(job(key), 0.0))
        self.assertEqual([schedule.take(0.0).key[0] for _ in range(3)], ["a", "b", "c"])
        self.assertIsNone(schedule.take(0.0))

    def test_waitingUntilDue(self):
        schedule = journal.Schedule()
        schedule.add(job("late", nextTry=20.0), 0.0)
        schedule.add(job("soon", nextTry=5.0), 0.0)
        schedule.add(job("now"), 0.0)
        self.assertEqual(schedule.nextWake(), 5.0)
        self.assertEqual(schedule.take(1.0).key, ("now", 2))
        self.assertIsNone(schedule.take(4.9))
        self.assertEqual(schedule.take(5.0).key, ("soon", 2))
        self.assertEqual(schedule.nextWake(), 20.0)
        self.assertEqual(len(schedule), 1)

    def test_aKeyIsHeldOnce(self):
        """
        A job offered again (or read back from the journal) while its key is
        held, running or waiting for its outcome to be recorded, is not
        added; once released it may be.
        """
        schedule = journal.Schedule()
        self.assertTrue(schedule.add(job("a"), 0.0))
        taken = schedule.take(0.0)
        self.assertFalse(schedule.add(job("a"), 0.0))
        schedule.retry(taken, 0.0)
        self.assertEqual(schedule.take(0.0), taken)
        schedule.release(("a", 2))
        self.assertTrue(schedule.add(job("a"), 0.0))


class RecentTests(SynchronousTestCase):
    def test_bounded(self):
        recent = journal.Recent(size=3)
        for key in "abcd":
            recent.add(key)
        self.assertNotIn("a", recent)
        self.assertTrue(all(key in recent for key in "bcd"))
