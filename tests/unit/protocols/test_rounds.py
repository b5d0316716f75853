"""
Tests for L{mice.protocols.rounds}: work that its own callbacks call again
runs again after the round in progress, never inside it; work asked for
many times before it runs by the clock runs once.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols.rounds import Rounds, Soon


class RoundsTests(SynchronousTestCase):
    def test_once(self):
        """Called with no one asking for more, the work runs once."""
        done = []
        rounds = Rounds(lambda: done.append(rounds.running))
        self.assertTrue(rounds())
        self.assertEqual(done, [True])
        self.assertFalse(rounds.running)

    def test_calledFromInside(self):
        """
        A call from inside the work does not run it inside itself: it asks
        for another round, run after the one in progress, until a round
        asks for none.
        """
        events, inner = [], []

        def work():
            events.append("start")
            if len(events) < 6:
                inner.append(rounds())
            events.append("end")

        rounds = Rounds(work)
        self.assertTrue(rounds())
        self.assertEqual(events, ["start", "end"] * 4)
        self.assertEqual(inner, [False, False, False])

    def test_again(self):
        """L{Rounds.again} from inside the work asks for one more round."""
        counts = []

        def work():
            counts.append(len(counts))
            if len(counts) < 4:
                rounds.again()

        rounds = Rounds(work)
        rounds()
        self.assertEqual(counts, [0, 1, 2, 3])

    def test_failure(self):
        """
        Work that raises ends the rounds: the error goes to the caller, and
        the next call runs the work again.
        """
        calls = []

        def work():
            calls.append(None)
            if len(calls) == 1:
                rounds.again()
                raise ValueError("first")

        rounds = Rounds(work)
        self.assertRaises(ValueError, rounds)
        self.assertFalse(rounds.running)
        self.assertTrue(rounds())
        self.assertEqual(len(calls), 2)


class SoonTests(SynchronousTestCase):
    def test_once(self):
        """Asked for several times before it runs, the work runs once, later."""
        clock, done = Clock(), []
        soon = Soon(clock, lambda: done.append(clock.seconds()))
        soon()
        soon()
        self.assertTrue(soon.pending)
        self.assertEqual(done, [])
        clock.advance(0)
        self.assertEqual(done, [0])
        self.assertFalse(soon.pending)
        soon()
        clock.advance(0)
        self.assertEqual(done, [0, 0])

    def test_delay(self):
        """The delay of the first ask holds: a later ask does not move the run."""
        clock, done = Clock(), []
        soon = Soon(clock, lambda: done.append(clock.seconds()))
        soon(2.0)
        soon(0.5)
        clock.pump([0.5, 0.5, 0.5, 0.5])
        self.assertEqual(done, [2.0])

    def test_cancel(self):
        """A cancelled run does not happen; the next ask schedules one again."""
        clock, done = Clock(), []
        soon = Soon(clock, lambda: done.append(None))
        soon.cancel()
        soon()
        soon.cancel()
        self.assertFalse(soon.pending)
        self.assertEqual(clock.getDelayedCalls(), [])
        clock.advance(1)
        self.assertEqual(done, [])
        soon()
        clock.advance(0)
        self.assertEqual(done, [None])
