"""
Tests for L{mice.services.waiters}: Deferreds that fire together.
"""

from twisted.trial.unittest import SynchronousTestCase

from mice.services.waiters import Waiters


class WaitersTests(SynchronousTestCase):
    def test_fireAll(self):
        """Every Deferred waiting fires with the result, once."""
        waiters = Waiters()
        fired = []
        for _ in range(3):
            waiters.wait().addCallback(fired.append)
        self.assertEqual(len(waiters), 3)
        waiters.fire("refused")
        self.assertEqual(fired, ["refused"] * 3)
        self.assertEqual(len(waiters), 0)
        waiters.fire("again")
        self.assertEqual(fired, ["refused"] * 3)

    def test_waitFromCallback(self):
        """
        A Deferred asked for by a callback of one fired waits for the next
        time, not this one.
        """
        waiters = Waiters()
        fired = []
        waiters.wait().addCallback(lambda result: waiters.wait().addCallback(fired.append))
        waiters.fire(1)
        self.assertEqual(fired, [])
        waiters.fire(2)
        self.assertEqual(fired, [2])
