"""
Tests for L{mice.db.countermeasures}: the ReactionDaemon's state on a real
SQLite database (in memory), and its group commits.
"""

import sqlite3
from dataclasses import replace

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from mice.db.countermeasures import CountermeasureStore, SynchronousPool
from mice.reactors.decisions import ACTIVE, LIFTED, LIFTING, Countermeasure

NOW = 1_800_000_000.0


def countermeasure(cid="r1", ip="192.0.2.7", state=ACTIVE, until=NOW + 600):
    return Countermeasure(cid, 1, {"ip": ip}, NOW, until, "alice", state)


class GatedPool:
    """
    A L{SynchronousPool} whose transactions wait until the test lets each
    one run: what arrives meanwhile queues, as behind adbapi's thread.
    """

    def __init__(self):
        self.pool = SynchronousPool()
        self.waiting = []
        self.transactions = 0

    def runInteraction(self, function, *args):
        d = Deferred()
        self.waiting.append((function, args, d))
        return d

    def release(self):
        function, args, d = self.waiting.pop(0)
        self.transactions += 1
        self.pool.runInteraction(function, *args).chainDeferred(d)


class StoreTests(SynchronousTestCase):
    def setUp(self):
        self.pool = SynchronousPool()
        self.addCleanup(self.pool.close)
        self.store = CountermeasureStore(self.pool)
        self.assertEqual(self.successResultOf(self.store.open(NOW)), [])

    def test_roundTrip(self):
        first = countermeasure()
        self.successResultOf(self.store.save(created=[first]))
        self.assertEqual(self.successResultOf(self.store.open(NOW)), [first])
        lifting = replace(first, state=LIFTING, liftedAt=NOW + 1, liftedBy="bob",
                          liftReason="undone by hand")
        self.successResultOf(self.store.save([lifting], answer=("u1", "d", "{}", NOW)))
        self.assertEqual(self.successResultOf(self.store.find("r1")), lifting)
        self.assertEqual(self.successResultOf(self.store.answerFor("u1")), ("d", "{}"))
        self.assertIsNone(self.successResultOf(self.store.answerFor("u2")))
        self.successResultOf(self.store.save([replace(lifting, state=LIFTED)]))
        self.assertEqual(self.successResultOf(self.store.open(NOW)), [])

    def test_oneCurrentPerParameters(self):
        self.successResultOf(self.store.save(created=[countermeasure("r1")]))
        f = self.failureResultOf(self.store.save(created=[countermeasure("r2")]))
        f.trap(sqlite3.IntegrityError)
        # Lifted, the same parameters may be applied again.
        self.successResultOf(self.store.save([countermeasure("r1", state=LIFTED)]))
        self.successResultOf(self.store.save(created=[countermeasure("r2")]))

    def test_updateUnknown(self):
        self.failureResultOf(self.store.save([countermeasure("nope")]), LookupError)

    def test_prune(self):
        old = replace(countermeasure(), state=LIFTED, liftedAt=NOW - 100 * 86400)
        self.successResultOf(self.store.save(created=[old],
                                             answer=("a", "d", "{}", NOW - 40 * 86400)))
        self.successResultOf(self.store.open(NOW))
        self.assertIsNone(self.successResultOf(self.store.find("r1")))
        self.assertIsNone(self.successResultOf(self.store.answerFor("a")))


class GroupCommitTests(SynchronousTestCase):
    def setUp(self):
        self.gate = GatedPool()
        self.addCleanup(self.gate.pool.close)
        self.store = CountermeasureStore(self.gate)
        opening = self.store.open(NOW)
        self.gate.release()
        self.successResultOf(opening)

    def test_writesGrouped(self):
        """
        Writes submitted while one commits go together in the next
        transaction; one that fails fails alone.
        """
        first = self.store.save(created=[countermeasure("r1", ip="192.0.2.1")])
        second = self.store.save(created=[countermeasure("r2", ip="192.0.2.2")])
        clash = self.store.save(created=[countermeasure("r3", ip="192.0.2.2")])
        third = self.store.save(created=[countermeasure("r4", ip="192.0.2.4")],
                                answer=("a4", "d", "{}", NOW))
        self.gate.release()
        self.successResultOf(first)
        self.assertNoResult(second)
        self.gate.release()
        self.successResultOf(second)
        self.failureResultOf(clash, sqlite3.IntegrityError)
        self.successResultOf(third)
        self.assertEqual(self.gate.transactions, 3)
        ids = sorted(row[0] for row in self.gate.pool.connection.execute(
            "SELECT id FROM countermeasure"))
        self.assertEqual(ids, ["r1", "r2", "r4"])

    def test_readsGrouped(self):
        self.store.save(answer=("a1", "d1", "{1}", NOW))
        self.gate.release()
        reads = [self.store.answerFor(i) for i in ("a1", "a2", "a1")]
        self.gate.release()
        self.assertEqual(self.successResultOf(reads[0]), ("d1", "{1}"))
        self.assertNoResult(reads[1])
        self.gate.release()
        self.assertIsNone(self.successResultOf(reads[1]))
        self.assertEqual(self.successResultOf(reads[2]), ("d1", "{1}"))
