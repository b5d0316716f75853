"""
Tests for L{mice.services.management}: the reaction queues, with a
deterministic clock, the in-memory journal (L{mice.testing.MemoryJournal})
and in-memory agents (L{mice.testing.MemoryReaction}).
"""

from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, RoutedAlert, alertKey
from mice.idmef import toXml
from mice.management.journal import Job, RetryPolicy
from mice.services.management import ReactionQueue, ReactionService
from mice.testing import MemoryJournal, MemoryReaction

NOW = "2026-12-04T10:00:00+00:00"


def routed(seq, rids=(9,)):
    alert = Alert(str(seq), "MICE-RegEx", "2004-11-22T10:00:01+00:00", "c", alertId=0x1020)
    return RoutedAlert(alertKey("agent1", "s", seq, 0), alert, toXml(alert).decode(), "desc",
                       "agent1", NOW, None, rids, "s", seq, 0)


def journaled(journal, items, pipes):
    """Journal C{items} as the post-processor would."""
    alerts, jobs = [], []
    for r in items:
        alerts.append((r.key, r.receivedFrom, r.stream, r.seq, r.index, r.alert.analyzerId,
                       "0x1020", r.description, "matched", ",".join(map(str, r.rids)),
                       r.problems, r.receivedAt, r.document))
        jobs.extend((r.key, rid, pipes[rid], "pending", 0, 0.0, None, NOW, NOW)
                    for rid in r.rids)
    journal.journalAlerts(alerts, jobs)


class QueueTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.journal = MemoryJournal()
        self.agent = MemoryReaction("rid_9_memory")
        self.policy = RetryPolicy(first=1.0, maximum=16.0)

    def queue(self, agent=None, **kwargs):
        queue = ReactionQueue(agent or self.agent, self.journal, self.clock, self.policy,
                              **kwargs)
        queue.startService()
        self.addCleanup(lambda: queue.running and queue.stopService())
        self.clock.advance(0)
        return queue

    def offer(self, queue, items, rid=9):
        journaled(self.journal, items, {rid: queue.pipe})
        queue.offer([Job(r, rid, queue.pipe, NOW) for r in items])

    def settle(self, seconds=0.0, steps=1):
        for _ in range(steps):
            self.clock.advance(seconds)

    def test_runsAndRecords(self):
        """
        Offered jobs run, and their outcomes are recorded in the journal
        as done, with the agent's outcome text and one attempt.
        """
        queue = self.queue()
        items = [routed(n) for n in range(3)]
        self.offer(queue, items)
        self.settle(steps=3)
        self.assertEqual(self.agent.reacted, items)
        self.assertEqual(set(self.journal.states().values()), {("done", 1)})
        row = self.journal.jobs[(items[0].key, 9)]
        self.assertEqual(row[6], f"reacted to {items[0].key}")
        self.assertEqual(queue.counts["done"], 3)
        self.assertEqual(queue.pending, 0)

    def test_replaceAgent(self):
        """
        A replaced agent (its config changed, SIGHUP) finishes the reactions
        it has in flight and is stopped only then; the new one is started and
        runs every job from then on.
        """
        self.agent.holding = True
        queue = self.queue()
        first = routed(1)
        self.offer(queue, [first])
        self.settle()
        [(_, held)] = self.agent.waiting
        new = MemoryReaction("rid_9_memory")
        stopped = queue.replaceAgent(new)
        self.settle()
        self.assertEqual(new.started, 1)
        self.assertNoResult(stopped)
        self.assertEqual(self.agent.stopped, 0)
        second = routed(2)
        self.offer(queue, [second])
        self.settle(steps=3)
        self.assertEqual(new.reacted, [second])
        held.callback("done at last")
        self.successResultOf(stopped)
        self.assertEqual(self.agent.stopped, 1)
        self.settle(steps=3)
        self.assertEqual(self.agent.reacted, [first])
        self.assertEqual(set(self.journal.states().values()), {("done", 1)})

    def test_pendingReadBackAtStart(self):
        """
        A queue starting reads back its pipe's pending jobs (a restart),
        runs them, and never runs a job recorded as done.
        """
        pipes = {9: "rid_9_memory", 8: "rid_8_other"}
        items = [routed(n, rids=(8, 9)) for n in range(4)]
        journaled(self.journal, items, pipes)
        self.journal.recordOutcomes([(items[0].key, 9, "rid_9_memory", "done", 1, 0.0, "ok",
                                      NOW, NOW)])
        self.queue()
        self.settle(steps=4)
        self.assertEqual([r.key for r in self.agent.reacted], [r.key for r in items[1:]])
        self.assertEqual(self.agent.reacted[0].document, items[1].document)
        self.assertEqual(self.agent.reacted[0].rids, (8, 9))
        self.assertEqual(self.journal.states("rid_8_other"),
                         {(r.key, 8): ("pending", 0) for r in items})

    def test_unreadableAlertGivenUp(self):
        """
        A pending job whose alert cannot be read back (its document pruned)
        is recorded as failed, with why, and not read back again.
        """
        items = [routed(1), routed(2)]
        journaled(self.journal, items, {9: "rid_9_memory"})
        key = items[0].key
        self.journal.alerts[key] = self.journal.alerts[key][:12] + (None,)
        queue = self.queue()
        self.settle(steps=4)
        self.assertEqual(self.journal.states(), {(key, 9): ("failed", 0),
                                                 (items[1].key, 9): ("done", 1)})
        self.assertIn("neither received_alert nor alert_entry", self.journal.jobs[(key, 9)][6])
        self.assertEqual(queue.counts["failed"], 1)

    def test_offeredTwiceRunsOnce(self):
        """
        A job both read back at start and offered (or offered twice) runs
        once.
        """
        items = [routed(1)]
        journaled(self.journal, items, {9: "rid_9_memory"})
        queue = self.queue()
        queue.offer([Job(items[0], 9, "rid_9_memory", NOW)])
        queue.offer([Job(items[0], 9, "rid_9_memory", NOW)])
        self.settle(steps=3)
        queue.offer([Job(items[0], 9, "rid_9_memory", NOW)])
        self.settle(steps=3)
        self.assertEqual(len(self.agent.reacted), 1)

    def test_retryWithBackoff(self):
        """
        A failing agent's job is recorded as pending with its attempts and
        the next try; the queue stops at the failure, then probes one job
        at a time after 1, 2, 4... seconds of failures in a row, without
        using up the other jobs' attempts; once the agent works, every job
        is done and the queue runs fully again.
        """
        queue = self.queue()
        self.agent.failing = True
        items = [routed(n) for n in range(3)]
        self.offer(queue, items)
        self.settle(steps=2)
        self.assertEqual(len(self.agent.reacted), 1)
        self.assertEqual(self.journal.states()[(items[0].key, 9)], ("pending", 1))
        row = self.journal.jobs[(items[0].key, 9)]
        self.assertIn("attempt 1 failed: the target is down; next in 1s", row[6])
        self.assertEqual(row[5], 1.0)
        self.settle(0.9)
        self.assertEqual(len(self.agent.reacted), 1)
        self.settle(0.1)
        self.assertEqual(len(self.agent.reacted), 2)
        # Two failures in a row: the next probe after 2s.
        self.settle(1.9)
        self.assertEqual(len(self.agent.reacted), 2)
        self.settle(0.1)
        self.assertEqual(len(self.agent.reacted), 3)
        self.assertEqual(sorted(self.journal.states().values()),
                         [("pending", 1), ("pending", 1), ("pending", 1)])
        self.agent.failing = False
        self.settle(4.0, steps=3)
        self.assertEqual(set(self.journal.states().values()), {("done", 2)})
        self.assertEqual(queue.counts["retried"], 3)
        self.assertEqual(queue.gate.failures, 0)

    def test_refusedIsFinal(self):
        queue = self.queue()
        self.agent.refusing = True
        self.offer(queue, [routed(1)])
        self.settle(100.0, steps=3)
        self.assertEqual(len(self.agent.reacted), 1)
        [(state, attempts)] = self.journal.states().values()
        self.assertEqual((state, attempts), ("refused", 1))

    def test_givenUp(self):
        self.policy = RetryPolicy(first=1.0, maximum=2.0, attempts=3)
        queue = self.queue()
        self.agent.failing = True
        self.offer(queue, [routed(1)])
        self.settle(2.0, steps=10)
        self.assertEqual(self.journal.states(), {(routed(1).key, 9): ("failed", 3)})
        self.assertEqual(queue.counts["failed"], 1)

    def test_boundedInFlight(self):
        """
        At most IN_FLIGHT reactions of one agent run at once.
        """
        self.agent.holding = True
        queue = self.queue(inFlight=4)
        self.offer(queue, [routed(n) for n in range(10)])
        self.settle()
        self.assertEqual(len(self.agent.waiting), 4)
        for _, d in self.agent.waiting[:2]:
            d.callback("ok")
        self.settle(steps=2)
        self.assertEqual(len(self.agent.waiting), 6)
        self.assertEqual(len(queue.inFlight), 4)

    def test_timeout(self):
        """
        A reaction that never answers counts as failed after the timeout,
        and is tried again.
        """
        self.agent.holding = True
        queue = self.queue(timeout=5.0)
        self.offer(queue, [routed(1)])
        self.settle()
        self.settle(5.0)
        [(state, attempts)] = self.journal.states().values()
        self.assertEqual((state, attempts), ("pending", 1))
        self.assertIn("timed out after 5s", self.journal.jobs[(routed(1).key, 9)][6])
        self.settle(1.0, steps=2)
        self.assertEqual(len(self.agent.waiting), 2)

    def test_oneFailingAgentDoesNotDelayAnother(self):
        """
        Two queues on one journal: while one agent fails, the other's jobs
        all run at once.
        """
        broken, working = MemoryReaction("rid_1_broken"), MemoryReaction("rid_2_working")
        broken.failing = True
        pipes = {1: "rid_1_broken", 2: "rid_2_working"}
        service = ReactionService(pipes, [ReactionQueue(broken, self.journal, self.clock,
                                                        self.policy),
                                          ReactionQueue(working, self.journal, self.clock,
                                                        self.policy)])
        service.startService()
        self.addCleanup(service.stopService)
        self.clock.advance(0)
        items = [routed(n, rids=(1, 2)) for n in range(50)]
        journaled(self.journal, items, pipes)
        service.offer(items)
        self.settle(steps=3)
        self.assertEqual(len(working.reacted), 50)
        self.assertEqual(set(self.journal.states("rid_2_working").values()), {("done", 1)})
        self.assertEqual(sorted(self.journal.states("rid_1_broken").values())[-2:],
                         [("pending", 0), ("pending", 1)])

    def test_agentStartRetried(self):
        self.agent.startFailures = 2
        queue = self.queue()
        self.offer(queue, [routed(1)])
        self.settle()
        self.assertEqual(self.agent.reacted, [])
        self.settle(1.0)
        self.settle(2.0)
        self.settle(steps=2)
        self.assertEqual(len(self.agent.reacted), 1)
        self.assertEqual(queue.running, True)

    def test_journalDownKeepsOutcomes(self):
        """
        While the journal cannot record outcomes, they are kept and written
        once it can: a done reaction is never run again for it.
        """
        queue = self.queue()
        self.journal.failing = True
        items = [routed(n) for n in range(3)]
        self.journal.failing = False
        journaled(self.journal, items, {9: "rid_9_memory"})
        self.journal.failing = True
        queue.offer([Job(r, 9, "rid_9_memory", NOW) for r in items])
        self.settle(steps=2)
        self.assertEqual(len(self.agent.reacted), 3)
        self.assertEqual(set(self.journal.states().values()), {("pending", 0)})
        self.journal.failing = False
        self.settle(1.0, steps=2)
        self.assertEqual(set(self.journal.states().values()), {("done", 1)})
        self.assertEqual(len(self.agent.reacted), 3)

    def test_spillAndReadBack(self):
        """
        Beyond what it may hold, a queue leaves jobs in the journal and
        reads them back as it drains: every job runs once, memory stays
        bounded.
        """
        self.agent.holding = True
        queue = self.queue(hold=10, page=4, inFlight=2)
        items = [routed(n) for n in range(30)]
        self.offer(queue, items)
        self.settle()
        self.assertLessEqual(queue.pending, 10)
        for _ in range(200):
            waiting, self.agent.waiting = self.agent.waiting, []
            for _, d in waiting:
                d.callback("ok")
            self.settle(steps=2)
            self.assertLessEqual(queue.pending, 10)
        self.assertEqual(sorted(r.key for r in self.agent.reacted),
                         sorted(r.key for r in items))
        self.assertEqual(set(self.journal.states().values()), {("done", 1)})

    def test_batchAgent(self):
        """
        An agent with reactBatch gets many jobs in one call; a batch that
        fails as a whole is tried again.
        """
        calls = []

        class Batching(MemoryReaction):
            batchLimit = 5
            broken = True

            def reactBatch(self, items):
                calls.append(len(items))
                if self.broken:
                    self.broken = False
                    return fail(OSError("the database is down"))
                return [f"stored {r.key}" for r in items]

        queue = self.queue(Batching("rid_2_send_to_alert_db"))
        self.offer(queue, [routed(n) for n in range(12)])
        self.settle(1.0, steps=6)
        self.assertEqual(calls[0], 5)
        self.assertEqual(set(self.journal.states().values()) - {("done", 1), ("done", 2)},
                         set())
        self.assertEqual(len(self.journal.states()), 12)

    def test_stopWaitsForInFlight(self):
        """
        Stopping waits for the reactions running, records their outcomes,
        then stops the agent; a reaction still running after the stop
        timeout stays pending (run again at the next start).
        """
        self.agent.holding = True
        queue = self.queue(inFlight=2)
        self.offer(queue, [routed(1), routed(2)])
        self.settle()
        d = queue.stopService()
        self.assertNoResult(d)
        self.agent.waiting[0][1].callback("ok")
        self.settle(10.0)
        self.successResultOf(d)
        self.assertEqual(self.agent.stopped, 1)
        self.assertEqual(sorted(self.journal.states().values()), [("done", 1), ("pending", 0)])

    def test_recentlyFinishedNotRunAgain(self):
        queue = self.queue()
        item = routed(1)
        self.offer(queue, [item])
        self.settle(steps=3)
        queue.offer([Job(item, 9, queue.pipe, NOW)])
        self.settle(steps=3)
        self.assertEqual(len(self.agent.reacted), 1)


class ServiceTests(SynchronousTestCase):
    def test_jobsWithoutAQueueWait(self):
        """
        A pipe whose agent could not be built: its jobs are counted, not
        run; they wait in the journal.
        """
        service = ReactionService({1: "rid_1_write_to_syslog"}, [], missing=["rid_1"])
        service.offer([routed(1, rids=(1,))])
        self.assertEqual(service.unqueued, 1)

    def test_whenIdle(self):
        clock, journal = Clock(), MemoryJournal()
        agent = MemoryReaction()
        agent.holding = True
        service = ReactionService({9: agent.pipe}, [ReactionQueue(agent, journal, clock)])
        service.startService()
        clock.advance(0)
        items = [routed(1)]
        journaled(journal, items, {9: agent.pipe})
        service.offer(items)
        idle = service.whenIdle(clock)
        clock.advance(0.1)
        self.assertNoResult(idle)
        agent.waiting[0][1].callback("ok")
        clock.advance(0.1)
        clock.advance(0.1)
        self.successResultOf(idle)
        self.assertIsInstance(idle, Deferred)
