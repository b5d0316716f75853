"""
Tests for L{mice.postproc.actgeneric} with the in-memory journal: what a
flush journals, what it offers the reaction queues, what it counts.
"""

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, Heartbeat, alertKey
from mice.decoders.idmef import ReceivedAlert
from mice.idmef import toXml
from mice.management.journal import Job, RetryPolicy
from mice.management.routing import MATCHED, NO_MATCH_FILE, Router
from mice.matchfile import MatchTable
from mice.postproc.actgeneric import ActGeneric
from mice.services.management import ReactionQueue, ReactionService
from mice.testing import MemoryJournal, MemoryReaction
from tests.unit.services.test_management import journaled, routed

PIPES = {1: "rid_1_write_to_syslog", 2: "rid_2_send_to_alert_db"}


class Dispatcher:
    def __init__(self):
        self.offered = []

    def offer(self, routedAlerts, skip=frozenset()):
        self.offered.append(([r.key for r in routedAlerts], skip))


class InlineAgent:
    description = "memory"

    def __init__(self):
        self.stored = []

    def rowFor(self, routed):
        return ("row", routed.key)

    def storeRows(self, txn, rows):
        self.stored.extend(rows)

    def start(self):
        pass


def received(seq, alertIds, analyzer="MICE-RegEx", heartbeats=()):
    alerts = tuple(Alert(str(seq * 10 + i), analyzer, "2004-11-22T10:00:01+00:00", "text",
                         alertId=aid) for i, aid in enumerate(alertIds))
    documents = tuple(toXml(a).decode() for a in alerts)
    return ReceivedAlert("agent1", "s", seq, alerts, "<message/>", tuple(heartbeats),
                         documents if len(alerts) > 1 else (), None)


class ActGenericTests(SynchronousTestCase):
    def setUp(self):
        table = MatchTable("mf", [(0x1010, "Authentication Success")],
                           {1: (0x1010,), 2: (0x1010,)})
        self.journal = MemoryJournal()
        self.dispatcher = Dispatcher()
        self.post = ActGeneric(Router({"MICE-RegEx": table}, PIPES), self.journal, Clock(),
                               dispatcher=self.dispatcher)

    def test_journalsThenOffers(self):
        """
        Each alert of each document is journaled with its routing, one job
        per reaction, then offered; the flush's Deferred fires after both.
        """
        d = self.post.process([received(1, [0x1010, 0x9999]),
                               received(2, [0x1010], analyzer="prelude")])
        self.assertEqual(self.successResultOf(d), 2)
        keys = [alertKey("agent1", "s", 1, 0), alertKey("agent1", "s", 1, 1),
                alertKey("agent1", "s", 2, 0)]
        self.assertEqual(sorted(self.journal.alerts), sorted(keys))
        self.assertEqual([self.journal.alerts[k][7:10] for k in keys], [
            ("Authentication Success", MATCHED, "1,2"),
            ("text", "unknown alert id", "2"), ("text", NO_MATCH_FILE, "2")])
        self.assertEqual(sorted(self.journal.jobs), sorted(
            [(keys[0], 1), (keys[0], 2), (keys[1], 2), (keys[2], 2)]))
        self.assertEqual(self.dispatcher.offered, [(keys, frozenset())])

    def test_resentBatchNeitherJournaledNorOfferedAgain(self):
        batch = [received(1, [0x1010])]
        self.successResultOf(self.post.process(batch))
        self.successResultOf(self.post.process(batch))
        self.assertEqual(self.dispatcher.offered[1], ([], frozenset()))
        self.assertEqual(self.post.router.counts[MATCHED], 1, "a resend is not counted")
        self.assertEqual(self.post.counts["new alerts"], 1)

    def test_notAcknowledgedBeforeTheJournal(self):
        self.journal.holding = True
        d = self.post.process([received(1, [0x1010])])
        self.assertNoResult(d)
        self.assertEqual(self.dispatcher.offered, [])
        self.journal.release()
        self.successResultOf(d)
        self.assertEqual(len(self.dispatcher.offered), 1)

    def test_inlineAlertDatabase(self):
        """
        The alert database on the journal's database is done in the
        journal's transaction: its jobs are journaled as done, its rows
        stored then (for new alerts only), its document not kept twice, and
        it is not offered to its queue.
        """
        agent = InlineAgent()
        self.post.inline = {2: agent}
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        key = alertKey("agent1", "s", 1, 0)
        self.assertEqual(self.journal.states(), {(key, 1): ("pending", 0),
                                                 (key, 2): ("done", 1)})
        self.assertEqual(agent.stored, [("row", key)])
        self.assertIsNone(self.journal.alerts[key][12])
        self.assertEqual(self.dispatcher.offered, [([key], frozenset({2}))])
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.assertEqual(agent.stored, [("row", key)])

    def test_heartbeats(self):
        beat = Heartbeat("sensor", "2026-01-01T00:00:00Z", "hb1", "snort", "ids01", 60)
        self.successResultOf(self.post.process([received(1, [], heartbeats=[beat])]))
        [row] = self.journal.heartbeats.values()
        self.assertEqual((row[0], row[1], row[2], row[3], row[5], row[6], row[7]),
                         ("sensor", "snort", "ids01", "2026-01-01T00:00:00Z", 60, "hb1",
                          "agent1"))
        self.assertEqual(self.journal.alerts, {})


ACT_CONF = """\
[REACTION_ID]
RID = 1
RID = 2
[RID_PIPENAME]
PIPE = rid_1_write_to_syslog
PIPE = rid_2_send_to_alert_db
[ANALYZER_ID]
ANAID = "MICE-RegEx"
[ANALYZER_MATCHFILE]
MF = match.txt
[MISC]
MATCH_PATH = .
"""

MATCH = """\
[ALERT_ID]
AID = 0x1010
[ALERT_ID_DESCRIPTION]
AID_DESC = "Authentication Success"
[RID_1]
{rid1}
[RID_2]
AID_2 = 0x1010
"""


class ReopeningAgent:
    pipe = "rid_3_save_to_file"

    def __init__(self):
        self.reopened = 0

    def reopen(self):
        self.reopened += 1


class Queue:
    def __init__(self, agent, clock=None):
        self.agent = agent
        self.clock = clock
        self.configText = None
        self.replaced = []

    def replaceAgent(self, agent):
        self.replaced.append(agent)
        self.agent = agent


class ReloadTests(SynchronousTestCase):
    """
    L{ActGeneric.reload} (SIGHUP): the match files read again, used from the
    next flush; a file that does not load keeps the old routing.
    """

    def setUp(self):
        import os

        from mice.config import loadActGeneric, loadMatchFile

        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.config = os.path.join(self.directory, "act.conf")
        with open(self.config, "w") as f:
            f.write(ACT_CONF)
        self.matchPath = os.path.join(self.directory, "match.txt")
        self.writeMatch("AID_1 = 0x1010")
        settings = loadActGeneric(self.config)
        router = Router.fromSettings(settings, {self.matchPath: loadMatchFile(self.matchPath)})
        self.journal = MemoryJournal()
        self.dispatcher = Dispatcher()
        self.agent = ReopeningAgent()
        self.clock = Clock()
        self.queue = Queue(self.agent, self.clock)
        self.dispatcher.queues = {self.agent.pipe: self.queue}
        self.post = ActGeneric(router, self.journal, self.clock, dispatcher=self.dispatcher,
                               configPath=self.config)

    def writeMatch(self, rid1, extra=""):
        with open(self.matchPath, "w") as f:
            f.write(MATCH.format(rid1=rid1) + extra)

    def jobsOf(self, seq):
        self.clock.advance(1)
        self.successResultOf(self.post.process([received(seq, [0x1010])]))
        key = alertKey("agent1", "s", seq, 0)
        return sorted(rid for k, rid in self.journal.jobs if k == key)

    def test_reloadedRoutingAppliesToTheNextFlush(self):
        self.assertEqual(self.jobsOf(1), [1, 2])
        self.writeMatch("")
        loaded = self.post.reload()
        self.assertIn("1 match files", loaded)
        self.assertEqual(self.jobsOf(2), [2])
        self.assertEqual(self.agent.reopened, 1)
        # What was counted before the reload is still counted.
        self.assertEqual(sum(self.post.router.counts.values()), 2)

    def test_badMatchFileKeepsTheOldRouting(self):
        from mice.interfaces import ReloadError

        self.writeMatch("AID_1 = nothex\nAID_1 = 0x10z0")
        e = self.assertRaises(ReloadError, self.post.reload)
        self.assertEqual(len(e.problems), 2, e.problems)
        self.assertTrue(all("match.txt:" in problem for problem in e.problems), e.problems)
        self.assertEqual(self.jobsOf(1), [1, 2])
        self.assertEqual(self.agent.reopened, 0)

    def test_missingMatchFile(self):
        import os

        from mice.interfaces import ReloadError

        os.remove(self.matchPath)
        e = self.assertRaises(ReloadError, self.post.reload)
        self.assertIn("match.txt", e.problems[0])
        self.assertEqual(self.jobsOf(1), [1, 2])

    def writeAgentConfig(self, text):
        import os

        with open(os.path.join(self.directory, "rid_3_save_to_file.conf"), "w") as f:
            f.write(text)

    def test_changedAgentConfigRebuildsTheAgent(self):
        """
        A reaction agent's C{<PIPE>.conf} that changed since it was built:
        the agent is built again from it and takes over its queue; a reload
        that changes nothing rebuilds nothing.
        """
        import os

        from mice.reactors.savetofile import SaveToFile

        saved = os.path.join(self.directory, "alerts.idmef")
        self.writeAgentConfig(f"[SAVE_TO_FILE]\nPATH = {saved}\n")
        loaded = self.post.reload()
        self.assertIn("reconfigured rid_3_save_to_file", loaded)
        [agent] = self.queue.replaced
        self.assertIsInstance(agent, SaveToFile)
        self.assertEqual(agent.path, saved)
        self.assertEqual(self.agent.reopened, 0)
        self.post.reload()
        self.assertEqual(len(self.queue.replaced), 1)
        self.assertEqual(self.agent.reopened, 0)

    def test_badAgentConfigKeepsTheAgent(self):
        """
        An agent's config that does not load: the reload is refused naming
        the file, the running agent (and the old routing) kept.
        """
        from mice.interfaces import ReloadError

        self.writeAgentConfig("[SAVE_TO_FILE]\nMODE = rw\n")
        self.writeMatch("")
        e = self.assertRaises(ReloadError, self.post.reload)
        self.assertTrue(any("rid_3_save_to_file.conf" in str(problem) for problem in e.problems),
                        e.problems)
        self.assertEqual(self.queue.replaced, [])
        self.assertIs(self.queue.agent, self.agent)
        self.assertEqual(self.jobsOf(1), [1, 2])

    def test_alertDatabaseConfigAppliesAtRestart(self):
        """
        The alert database's config is not rebuilt on a reload (its rows go
        with the journal's transaction): warned about, the agent kept.
        """
        import os

        agent = ReopeningAgent()
        agent.pipe = "rid_2_send_to_alert_db"
        queue = Queue(agent, self.clock)
        self.dispatcher.queues[agent.pipe] = queue
        with open(os.path.join(self.directory, "rid_2_send_to_alert_db.conf"), "w") as f:
            f.write("[ALERT_DB]\n")
        self.post.reload()
        self.assertEqual(queue.replaced, [])

    def test_withoutConfig(self):
        from mice.interfaces import ReloadError

        self.post.configPath = None
        self.assertRaises(ReloadError, self.post.reload)


class NowReaction(MemoryReaction):
    """
    An agent that can react at once (C{reactNow}): up to L{room} alerts a
    call, the others left (C{None}); L{failingNow} fails them all.
    """

    def __init__(self, pipe):
        super().__init__(pipe)
        self.now = []
        self.room = None
        self.failingNow = False

    def reactNow(self, routedAlerts):
        taken = routedAlerts if self.room is None else routedAlerts[:self.room]
        self.now.extend(taken)
        if self.room is not None:
            self.room -= len(taken)
        if self.failingNow:
            return [Failure(OSError("disk full"))] * len(taken) + [None] * (
                len(routedAlerts) - len(taken))
        return ([f"now {routed.key}" for routed in taken]
                + [None] * (len(routedAlerts) - len(taken)))


class ReactNowTests(SynchronousTestCase):
    """
    An agent that can react at once reacts before the flush's transaction,
    to the alerts the journal does not hold, and its jobs are journaled
    once, with their outcomes, in that transaction.
    """

    def setUp(self):
        table = MatchTable("mf", [(0x1010, "Authentication Success")],
                           {1: (0x1010,), 2: (0x1010,)})
        self.clock = Clock()
        self.journal = MemoryJournal()
        self.agent = NowReaction(PIPES[1])
        self.queue = ReactionQueue(self.agent, self.journal, self.clock,
                                   RetryPolicy(first=1.0, maximum=8.0))
        self.service = ReactionService(PIPES, [self.queue])
        self.service.startService()
        self.addCleanup(self.service.stopService)
        self.clock.advance(0)
        self.post = ActGeneric(Router({"MICE-RegEx": table}, PIPES), self.journal, self.clock,
                               dispatcher=self.service)
        self.post.inline = {2: InlineAgent()}
        self.key = alertKey("agent1", "s", 1, 0)

    def test_journaledOnceWithItsOutcome(self):
        """
        The job is journaled done in the flush's transaction: no outcome
        is recorded after, the agent's C{react} is never called, and the
        flush fires after the transaction.
        """
        self.journal.holding = True
        d = self.post.process([received(1, [0x1010])])
        self.journal.release()
        self.assertNoResult(d)
        self.assertEqual(self.agent.now and [r.key for r in self.agent.now], [self.key])
        self.journal.release()
        self.assertEqual(self.successResultOf(d), 1)
        self.journal.holding = False
        self.clock.advance(0)
        self.assertEqual(self.journal.states(), {(self.key, 1): ("done", 1),
                                                 (self.key, 2): ("done", 1)})
        self.assertEqual(self.journal.jobs[(self.key, 1)][6], f"now {self.key}")
        self.assertNotIn("recordOutcomes", self.journal.calls)
        self.assertEqual(self.agent.reacted, [])
        self.assertEqual(self.queue.counts["done"], 1)
        self.assertEqual(self.queue._early, {})
        self.assertIn((self.key, 1), self.queue.recent)

    def test_resentNotRunAgain(self):
        """
        A batch sent again finds its alert journaled: nothing is run.
        """
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.queue.recent = type(self.queue.recent)()
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.clock.advance(0)
        self.assertEqual(len(self.agent.now), 1)
        self.assertEqual(self.agent.reacted, [])

    def test_transactionFailsThenRetried(self):
        """
        The journal's transaction fails after the agent reacted: the flush
        fails (not acknowledged), and its retry journals the outcome the
        agent gave without reacting again.
        """
        self.journal.holding = True
        d = self.post.process([received(1, [0x1010])])
        self.journal.holding = False
        self.journal.failing = True
        self.journal.release()
        self.failureResultOf(d, RuntimeError)
        self.assertEqual(len(self.agent.now), 1)
        self.journal.failing = False
        self.assertEqual(self.journal.jobs, {})
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.clock.advance(0)
        self.assertEqual(len(self.agent.now), 1)
        self.assertEqual(self.agent.reacted, [])
        self.assertEqual(self.journal.states()[(self.key, 1)], ("done", 1))

    def test_concurrentFlushesOfOneAlert(self):
        """
        Two flushes holding one alert (a resend) at once: both find it new,
        the agent reacts once, and both journal its outcome.
        """
        self.journal.holding = True
        first = self.post.process([received(1, [0x1010])])
        second = self.post.process([received(1, [0x1010])])
        self.journal.release()
        self.journal.holding = False
        self.journal.release()
        self.successResultOf(first)
        self.successResultOf(second)
        self.clock.advance(0)
        self.assertEqual(len(self.agent.now), 1)
        self.assertEqual(self.agent.reacted, [])
        self.assertEqual(self.journal.states()[(self.key, 1)], ("done", 1))

    def test_notTakenGoesTheUsualWay(self):
        """
        The alerts the agent cannot take at once are journaled pending and
        run by the queue after, their outcomes recorded.
        """
        self.agent.room = 1
        records = [received(n, [0x1010]) for n in range(1, 4)]
        self.successResultOf(self.post.process(records))
        self.clock.advance(0)
        self.clock.advance(0)
        keys = [alertKey("agent1", "s", n, 0) for n in range(1, 4)]
        self.assertEqual([r.key for r in self.agent.now], keys[:1])
        self.assertEqual([r.key for r in self.agent.reacted], keys[1:])
        self.assertEqual({self.journal.states()[(k, 1)] for k in keys}, {("done", 1)})
        self.assertEqual(self.journal.jobs[(keys[0], 1)][6], f"now {keys[0]}")
        self.assertEqual(self.journal.jobs[(keys[1], 1)][6], f"reacted to {keys[1]}")

    def test_failureJournaledForItsRetry(self):
        """
        An agent failing at once: the job is journaled pending with the
        attempt and its next try, and tried again then by the queue.
        """
        self.agent.failingNow = True
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.clock.advance(0)
        row = self.journal.jobs[(self.key, 1)]
        self.assertEqual((row[3], row[4], row[5]), ("pending", 1, 1.0))
        self.assertIn("disk full", row[6])
        self.assertEqual(self.agent.reacted, [])
        self.clock.advance(1.0)
        self.clock.advance(0)
        self.assertEqual([r.key for r in self.agent.reacted], [self.key])
        self.assertEqual(self.journal.states()[(self.key, 1)], ("done", 2))

    def test_failingAgentNotRunAtOnce(self):
        """
        Once its agent failed, a queue reacts at once no more (its probe
        and backoff apply) until it works again.
        """
        self.agent.failingNow = True
        self.successResultOf(self.post.process([received(1, [0x1010])]))
        self.successResultOf(self.post.process([received(2, [0x1010])]))
        self.assertEqual(len(self.agent.now), 1)
        self.assertEqual(self.journal.states()[(alertKey("agent1", "s", 2, 0), 1)],
                         ("pending", 0))

    def test_doneAtOnceButJournaledPending(self):
        """
        A job done at once whose flush journaled it pending all the same
        (a flush of the same alert at the same time that did not have its
        outcome) is recorded with the outcome when offered, not run again.
        """
        job = Job(routed(1, rids=(1,)), 1, PIPES[1], "t0")
        rows = self.service.runNow([job.routed])
        self.assertEqual(list(rows), [job.key])
        journaled(self.journal, [job.routed], PIPES)
        self.service.offer([job.routed], skip=frozenset({2}))
        self.clock.advance(0)
        self.assertEqual(self.journal.states()[job.key], ("done", 1))
        self.assertEqual(self.agent.reacted, [])
        self.assertEqual(len(self.agent.now), 1)
        self.assertEqual(self.queue.pending, 0)
        self.assertIn(job.key, self.queue.recent)
