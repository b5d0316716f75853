"""
The ManagementHost's correlation stage (L{mice.postproc.correlation})
inside the act_generic post-processor, on the in-memory journal with
task.Clock: correlated alerts journaled and routed with the flush that
made them, the checkpoint with them, a failed flush and a restart.
"""

from datetime import UTC, datetime

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, Node
from mice.analysis.correlation import DEFAULT_RULES, loadCorrelationText
from mice.decoders.idmef import ReceivedAlert
from mice.idmef import fromXml, toXml
from mice.management.routing import Router
from mice.matchfile import MatchTable
from mice.metrics import Metrics
from mice.postproc.actgeneric import ActGeneric
from mice.postproc.correlation import CorrelationStage
from mice.testing import MemoryJournal

PIPES = {2: "rid_2_send_to_alert_db", 4: "rid_4_countermeasure"}

#: The default rules (brute force: 5 failures from one address in 60 s), with
#: alerts held 5 s for later ones.
with open(DEFAULT_RULES) as f:
    RULES = loadCorrelationText(f.read().replace("LATENESS = 10 ", "LATENESS = 5 "), "rules.conf")

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC).timestamp()


def failures(seqs, source="203.0.113.9", repeated=None):
    """
    One IDMEF document per failed login, the n-th at START + n seconds
    (C{repeated}: of a line whose message came that many times).
    """
    out = []
    data = () if repeated is None else (("repeated", str(repeated)),)
    for seq in seqs:
        stamp = datetime.fromtimestamp(START + seq, UTC).isoformat()
        alert = Alert(str(seq), "MICE-RegEx", stamp, "Authentication Failure", 0x1020,
                      detectTime=stamp, sources=(Node(address=source),),
                      additionalData=data)
        out.append(ReceivedAlert("agent1", "s", seq, (alert,), toXml(alert).decode()))
    return out


class StageTests(SynchronousTestCase):
    def setUp(self):
        self.journal = MemoryJournal()
        self.clock = Clock()
        self.clock.advance(START + 1000)

    def build(self):
        tables = {
            "MICE-RegEx": MatchTable("mf", [(0x1020, "Authentication Failure")], {2: (0x1020,)}),
            "MICE-Correlation": MatchTable("mf", [(0x9010, "Brute force")],
                                           {2: (0x9010,), 4: (0x9010,)})}
        post = ActGeneric(Router(tables, PIPES), self.journal, self.clock)
        post.correlation = CorrelationStage(RULES, "MICE-Correlation", self.journal,
                                            self.clock, interval=1.0)
        self.successResultOf(post.start())
        ticking = post.correlation.service(post)
        ticking.startService()
        self.addCleanup(ticking.stopService)
        self.addCleanup(post.stop)
        self.ticking = ticking
        return post

    def correlated(self):
        return {key: row for key, row in self.journal.alerts.items()
                if row[5] == "MICE-Correlation"}

    def test_bruteForceJournaledAndRouted(self):
        """
        Five failures from one address: once they are past the lateness
        (the stage's tick, LATENESS seconds later), 0x9010 is journaled
        from the analyzer MICE-Correlation, routed by its match file to
        reactions 2 and 4, its document a CorrelationAlert naming the five;
        the checkpoint is journaled with it.
        """
        post = self.build()
        self.assertEqual(self.successResultOf(post.process(failures(range(5)))), 5)
        self.assertEqual(self.correlated(), {})
        self.assertIn("MICE-Correlation", self.journal.correlationStates)
        self.clock.pump([1.0] * 6)
        [(key, row)] = self.correlated().items()
        self.assertEqual(row[6], "0x9010")
        self.assertEqual(row[7], "Brute force")
        self.assertEqual(row[9], "2,4")
        self.assertEqual({rid for k, rid in self.journal.jobs if k == key}, {2, 4})
        [alert] = fromXml(row[12])
        self.assertEqual(alert.correlation.alerts, tuple(("MICE-RegEx", str(n)) for n in range(5)))
        self.assertEqual(alert.sources[0].address, "203.0.113.9")
        # Nothing more: suppressed, and the tick has nothing held.
        self.successResultOf(post.process(failures(range(5, 10))))
        self.clock.pump([1.0] * 10)
        self.assertEqual(len(self.correlated()), 1)

    def test_repeatedMessage(self):
        """
        Two alerts of lines whose message came 3 times each (rsyslog's
        "message repeated 3 times", the additional data C{repeated} in
        their documents) are six failures: 0x9010, its evidence the two.
        """
        post = self.build()
        self.successResultOf(post.process(failures(range(2), repeated=3)))
        self.clock.pump([1.0] * 6)
        [(key, row)] = self.correlated().items()
        [alert] = fromXml(row[12])
        self.assertEqual(alert.correlation.alerts, (("MICE-RegEx", "0"), ("MICE-RegEx", "1")))
        self.assertEqual(alert.data("count"), "5")

    def test_metrics(self):
        """The stage's counts are the gauge mice_correlation_alerts."""
        post = self.build()
        metrics = Metrics("test")
        self.ticking.attachMetrics(metrics)
        self.successResultOf(post.process(failures(range(5))))
        self.clock.pump([1.0] * 6)
        text = metrics.text().decode()
        self.assertIn('mice_correlation_alerts{what="alerts"} 5.0', text)
        self.assertIn('mice_correlation_alerts{what="correlated"} 1.0', text)

    def test_failedFlushCountedAgain(self):
        """
        A flush the journal failed is counted again from the last
        checkpoint when it is sent again: the correlated alert is made
        once, not lost.
        """
        post = self.build()
        self.successResultOf(post.process(failures(range(3))))
        self.journal.failing = True
        self.failureResultOf(post.process(failures(range(3, 5))))
        self.journal.failing = False
        self.successResultOf(post.process(failures(range(3, 5))))
        # The flush that makes the correlated alert fails: made again by the next.
        self.journal.failing = True
        self.clock.pump([1.0] * 6)
        self.assertTrue(self.flushLoggedErrors(RuntimeError))
        self.journal.failing = False
        self.assertEqual(self.correlated(), {})
        self.clock.pump([1.0] * 2)
        self.assertEqual(len(self.correlated()), 1)

    def test_restart(self):
        """
        A new post-processor on the same journal (a restart) goes on from
        the checkpoint: a batch sent again is not counted twice, the
        counts made before are not lost.
        """
        post = self.build()
        self.successResultOf(post.process(failures(range(3))))
        post.stop()
        self.ticking.stopService()
        post = self.build()
        self.successResultOf(post.process(failures(range(3))))     # resent
        self.clock.pump([1.0] * 6)
        self.assertEqual(self.correlated(), {})
        self.successResultOf(post.process(failures(range(3, 5))))
        self.clock.pump([1.0] * 6)
        self.assertEqual(len(self.correlated()), 1)
        post.stop()
        self.ticking.stopService()
        post = self.build()
        self.successResultOf(post.process(failures(range(5))))
        self.clock.pump([1.0] * 6)
        self.assertEqual(len(self.correlated()), 1)

    def test_flushesSerialized(self):
        """While a flush is being journaled, the next one waits for it."""
        post = self.build()
        self.journal.holding = True
        first = post.process(failures(range(2)))
        second = post.process(failures(range(2, 4)))
        self.assertEqual(self.journal.calls.count("journalAlerts"), 1)
        self.journal.release()
        self.assertEqual(self.successResultOf(first), 2)
        self.assertEqual(self.journal.calls.count("journalAlerts"), 2)
        self.journal.release()
        self.assertEqual(self.successResultOf(second), 2)
