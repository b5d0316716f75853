"""
Tests for L{mice.postproc.actgeneric} with the in-memory journal: what a
flush journals, what it offers the reaction queues, what it counts.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, Heartbeat, alertKey
from mice.decoders.idmef import ReceivedAlert
from mice.idmef import toXml
from mice.management.routing import MATCHED, NO_MATCH_FILE, Router
from mice.matchfile import MatchTable
from mice.postproc.actgeneric import ActGeneric
from mice.testing import MemoryJournal

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
