"""
Tests for L{mice.services.reactiondaemon.Countermeasures}, the
ReactionDaemon's engine, with a clock and a memory process reactor: the
commands it runs (and does not run twice), expiry, failed undos retried,
the rate limit, idempotent reaction ids, manual undos, and what a restart
undoes and applies again.  The store is a real SQLite database (in memory,
shared by the engines of a "restart").
"""

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase

from mice.config import loadConfigText
from mice.db.countermeasures import CountermeasureStore, SynchronousPool
from mice.protocols.reaction import DONE, FAILED, REFUSED, checkRequest, react
from mice.reactors.decisions import ACTIVE, LIFTED, LIFTING
from mice.reactors.system import SystemModule
from mice.services.reactiondaemon import Countermeasures
from mice.testing import MemoryProcessReactor

START = 1_800_000_000.0

CONFIG = """\
[COMMAND]
ARGV = /usr/sbin/ipset -exist add mice4 {ip}
UNDO = /usr/sbin/ipset -exist del mice4 {ip}
PARAMS = ip:ip
TIMEOUT = 10
[POLICY]
DURATION = 600
MAXDURATION = 3600
RATE = 3
NEVER = 198.51.100.0/24
"""


def request(requestId, action="apply", **kw):
    return checkRequest(react(requestId, action, **kw))


def apply(requestId, ip="192.0.2.7", duration=None, fid=1, by="tester"):
    return request(requestId, fid=fid, params={"ip": ip}, duration=duration, by=by)


class Deployment:
    """
    A reactor, a store, and an engine that can be "restarted" over the
    same store.
    """

    def __init__(self, case, config=CONFIG):
        self.case = case
        self.config = config
        self.reactor = MemoryProcessReactor()
        self.reactor.advance(START)
        self.pool = SynchronousPool()
        case.addCleanup(self.pool.connection.close)
        self.start()

    def start(self):
        module = SystemModule(loadConfigText(self.config, "/etc/mice/rct.conf",
                                             kind="rct_system").settings, self.reactor)
        module.canRun = lambda path: True
        self.engine = Countermeasures({1: module}, CountermeasureStore(self.pool), self.reactor,
                                      protected=[("192.0.2.1", "this host")])
        self.case.successResultOf(ensureDeferred(self.engine.restore()))
        # Re-applies and lifts of a restore start on the next turn.
        self.reactor.advance(0)
        return self.engine

    def restart(self):
        self.case.successResultOf(self.engine.stop())
        return self.start()

    @property
    def spawned(self):
        return self.reactor.spawned

    def commands(self):
        return [" ".join(s.args[1:]) for s in self.spawned]

    def finish(self, exitCode=0, stderr=b""):
        """
        End the last command started.
        """
        transport = self.spawned[-1].transport
        self.case.assertFalse(transport.ended)
        transport.end(exitCode, stderr=stderr)

    def handle(self, req, peer="192.0.2.50", finish=True, exitCode=0):
        d = self.engine.handle(req, peer, "test")
        if finish and not d.called and self.spawned and not self.spawned[-1].transport.ended:
            self.finish(exitCode)
        return self.case.successResultOf(d)

    def rows(self):
        return {row[0]: row[1:] for row in self.pool.connection.execute(
            "SELECT id, state, until, lifted_by, lift_reason FROM countermeasure")}


class ApplyTests(SynchronousTestCase):
    def setUp(self):
        self.d = Deployment(self)

    def test_applyRunsOnce(self):
        answer = self.d.handle(apply("r1", duration=60))
        self.assertEqual(answer["status"], DONE, answer)
        self.assertEqual(self.d.commands(), ["-exist add mice4 192.0.2.7"])
        self.assertEqual(answer["countermeasure"]["until"], START + 60)
        self.assertEqual(answer["countermeasure"]["by"], "tester (test@192.0.2.50)")
        self.assertEqual(self.d.rows()["r1"][:2], (ACTIVE, START + 60))

    def test_extendNotRepeat(self):
        """
        A second apply of the same parameters runs nothing: a longer one
        extends, a shorter one keeps the longer end.
        """
        self.d.handle(apply("r1", duration=60))
        longer = self.d.handle(apply("r2", duration=300), finish=False)
        self.assertEqual(longer["status"], DONE)
        self.assertIn("extended", longer["text"])
        self.assertEqual(longer["countermeasure"]["id"], "r1")
        self.assertEqual(longer["countermeasure"]["until"], START + 300)
        shorter = self.d.handle(apply("r3", duration=10), finish=False)
        self.assertIn("longer than asked", shorter["text"])
        self.assertEqual(shorter["countermeasure"]["until"], START + 300)
        self.assertEqual(len(self.d.spawned), 1)
        self.assertEqual(self.d.rows()["r1"][:2], (ACTIVE, START + 300))
        # The extension moved the expiry: nothing is lifted at +60.
        self.d.reactor.advance(60)
        self.assertEqual(len(self.d.spawned), 1)
        self.d.reactor.advance(240)
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")

    def test_equivalentAddressesAreOne(self):
        self.d.handle(apply("r1", ip="2001:db8::7"))
        answer = self.d.handle(apply("r2", ip="2001:DB8:0:0::7"), finish=False)
        self.assertIn("already active (r1)", answer["text"])
        self.assertEqual(len(self.d.spawned), 1)

    def test_undoAtExpiry(self):
        self.d.handle(apply("r1", duration=60))
        self.d.reactor.advance(59)
        self.assertEqual(len(self.d.spawned), 1)
        self.d.reactor.advance(1)
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")
        self.assertEqual(self.d.spawned[-1].env["MICE_ACTION"], "undo")
        self.assertEqual(self.d.rows()["r1"][0], LIFTING)
        self.d.finish()
        self.assertEqual(self.d.rows()["r1"], (LIFTED, START + 60, "expiry", "expired"))
        self.assertEqual(self.d.engine.current, {})

    def test_failedUndoRetriedWithBackoff(self):
        self.d.handle(apply("r1", duration=60))
        self.d.reactor.advance(60)
        self.d.finish(1, stderr=b"busy\n")
        self.assertEqual(self.d.rows()["r1"][0], LIFTING)
        for delay in (1, 2, 4):
            self.d.reactor.advance(delay - 0.01)
            count = len(self.d.spawned)
            self.d.reactor.advance(0.01)
            self.assertEqual(len(self.d.spawned), count + 1, f"retry after {delay}s")
            self.d.finish(1)
        self.d.reactor.advance(8)
        self.d.finish(0)
        self.assertEqual(self.d.rows()["r1"][0], LIFTED)
        self.assertEqual(self.d.reactor.getDelayedCalls(), [])

    def test_durationCapped(self):
        answer = self.d.handle(apply("r1", duration=0))
        self.assertIn("permanent capped at MAXDURATION 3600s", answer["text"])
        self.assertEqual(answer["countermeasure"]["until"], START + 3600)

    def test_defaultDuration(self):
        self.assertEqual(self.d.handle(apply("r1"))["countermeasure"]["until"], START + 600)

    def test_commandFails(self):
        d = self.d.engine.handle(apply("r1"), "192.0.2.50", "test")
        self.d.finish(1, stderr=b"ipset v7.1: Kernel error received: Operation not permitted\n")
        answer = self.successResultOf(d)
        self.assertEqual((answer["status"], answer["exit"], answer["retry"]), (FAILED, 1, True))
        self.assertEqual(answer["stderr"], ["ipset v7.1: Kernel error received: Operation not"
                                            " permitted"])
        self.assertEqual(self.d.rows(), {})
        # The same id again (the ManagementHost retries): it runs again.
        self.assertEqual(self.d.handle(apply("r1"))["status"], DONE)
        self.assertEqual(len(self.d.spawned), 2)

    def test_timeout(self):
        d = self.d.engine.handle(apply("r1"), "192.0.2.50", "test")
        self.d.reactor.advance(10)
        self.d.reactor.advance(3)
        self.assertEqual(self.d.spawned[0].transport.signals, ["TERM", "KILL"])
        self.d.spawned[0].transport.end(signal=9)
        answer = self.successResultOf(d)
        self.assertEqual(answer["status"], FAILED)
        self.assertIn("timed out", answer["text"])


class RefusalTests(SynchronousTestCase):
    def setUp(self):
        self.d = Deployment(self)

    def refused(self, req, peer="192.0.2.50"):
        answer = self.d.handle(req, peer=peer, finish=False)
        self.assertEqual(answer["status"], REFUSED, answer)
        self.assertEqual(self.d.spawned, [])
        return answer

    def test_injections(self):
        for n, value in enumerate(["1.2.3.4; rm -rf /", "$(id)", "`id`", "1.2.3.4\nid", "-h",
                                   "\u0661\u0662\u0663.1.1.1", "\uff11.\uff12.\uff13.\uff14"]):
            self.refused(apply(f"r{n}", ip=value))

    def test_neverLists(self):
        self.assertIn("NEVER", self.refused(apply("a", ip="198.51.100.9"))["text"])
        self.assertIn("loopback", self.refused(apply("b", ip="127.0.0.1"))["text"])
        self.assertIn("this host", self.refused(apply("c", ip="192.0.2.1"))["text"])
        self.assertIn("a ManagementHost", self.refused(apply("d", ip="192.0.2.50"))["text"])

    def test_peersStayProtected(self):
        """
        Every peer that authenticated is protected, not only the one asking.
        """
        self.d.engine.peers.add("192.0.2.60")
        self.refused(apply("a", ip="192.0.2.60"), peer="192.0.2.50")

    def test_unknownFunction(self):
        self.assertIn("no function 0x000002", self.refused(apply("a", fid=2))["text"])

    def test_wrongParams(self):
        self.refused(request("a", fid=1, params={"ip": "192.0.2.7", "extra": "x"}))
        self.refused(request("b", fid=1, params={}))

    def test_refusalIsFinal(self):
        """
        A refusal is recorded: the same id gets the same answer.
        """
        first = self.refused(apply("a", ip="$(id)"))
        second = self.d.handle(apply("a", ip="$(id)"), finish=False)
        self.assertEqual(second, dict(first, repeat=True))

    def test_rateLimit(self):
        for n in range(3):
            self.d.handle(apply(f"r{n}", ip=f"192.0.2.{10 + n}"))
        answer = self.d.handle(apply("r3", ip="192.0.2.20"), finish=False)
        self.assertEqual((answer["status"], answer["retry"]), (REFUSED, True))
        self.assertIn("rate limit", answer["text"])
        self.assertEqual(len(self.d.spawned), 3)
        # Extending an active one is no command: not limited.
        self.assertEqual(self.d.handle(apply("r4", ip="192.0.2.10", duration=900),
                                       finish=False)["status"], DONE)
        self.d.reactor.advance(60)
        self.assertEqual(self.d.handle(apply("r3", ip="192.0.2.20"))["status"], DONE)


class IdempotenceTests(SynchronousTestCase):
    def setUp(self):
        self.d = Deployment(self)

    def test_sameIdSameAnswer(self):
        first = self.d.handle(apply("r1"))
        again = self.d.handle(apply("r1"), finish=False)
        self.assertEqual(again, dict(first, repeat=True))
        self.assertEqual(len(self.d.spawned), 1)

    def test_sameIdOtherRequest(self):
        self.d.handle(apply("r1"))
        answer = self.d.handle(apply("r1", ip="192.0.2.8"), finish=False)
        self.assertEqual(answer["status"], REFUSED)
        self.assertIn("used before for another request", answer["text"])
        self.assertEqual(len(self.d.spawned), 1)

    def test_resentWhileRunning(self):
        """
        A resend that arrives while the first copy runs (the link dropped
        and came back) waits for the same answer; the command runs once.
        """
        first = self.d.engine.handle(apply("r1"), "192.0.2.50", "test")
        second = self.d.engine.handle(apply("r1"), "192.0.2.50", "test")
        self.assertNoResult(second)
        self.d.finish()
        self.assertEqual(self.successResultOf(second),
                         dict(self.successResultOf(first), repeat=True))
        self.assertEqual(len(self.d.spawned), 1)

    def test_sameParamsAtOnce(self):
        """
        Two requests for the same parameters at the same time: the second
        waits for the first and extends it, the command runs once.
        """
        first = self.d.engine.handle(apply("r1", duration=60), "192.0.2.50", "test")
        second = self.d.engine.handle(apply("r2", duration=120), "192.0.2.50", "test")
        self.d.finish()
        self.assertEqual(self.successResultOf(first)["status"], DONE)
        self.assertIn("extended", self.successResultOf(second)["text"])
        self.assertEqual(len(self.d.spawned), 1)


class UndoAndListTests(SynchronousTestCase):
    def setUp(self):
        self.d = Deployment(self)

    def test_manualUndo(self):
        self.d.handle(apply("r1", duration=600))
        answer = self.d.handle(request("u1", "undo", target="r1", by="alice"))
        self.assertEqual(answer["status"], DONE)
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")
        state, until, by, reason = self.d.rows()["r1"]
        self.assertEqual((state, by, reason), (LIFTED, "alice (test@192.0.2.50)",
                                               "undone by hand"))
        self.assertEqual(answer["countermeasure"]["liftedat"], START)
        # Nothing left to expire.
        self.d.reactor.advance(600)
        self.assertEqual(len(self.d.spawned), 2)
        # Lifting it again is done (nothing to do), and an unknown id refused.
        again = self.d.handle(request("u2", "undo", target="r1"), finish=False)
        self.assertEqual(again["status"], DONE)
        self.assertIn("lifted already", again["text"])
        self.assertEqual(self.d.handle(request("u3", "undo", target="nope"),
                                       finish=False)["status"], REFUSED)

    def test_undoByParams(self):
        self.d.handle(apply("r1"))
        answer = self.d.handle(request("u1", "undo", fid=1, params={"ip": "192.0.2.7"}))
        self.assertEqual(answer["status"], DONE)
        self.assertEqual(self.d.rows()["r1"][0], LIFTED)
        nothing = self.d.handle(request("u2", "undo", fid=1, params={"ip": "192.0.2.7"}),
                                finish=False)
        self.assertEqual(nothing["text"], "nothing active to lift")

    def test_failedManualUndo(self):
        self.d.handle(apply("r1"))
        d = self.d.engine.handle(request("u1", "undo", target="r1"), "192.0.2.50", "test")
        self.d.finish(1, stderr=b"nope\n")
        answer = self.successResultOf(d)
        self.assertEqual((answer["status"], answer["retry"]), (FAILED, True))
        self.assertEqual(self.d.rows()["r1"][0], LIFTING)
        # A new apply while it is being lifted: refused for now.
        busy = self.d.handle(apply("r2"), finish=False)
        self.assertEqual((busy["status"], busy["retry"]), (REFUSED, True))
        # The retry lifts it.
        self.d.reactor.advance(1)
        self.d.finish(0)
        self.assertEqual(self.d.rows()["r1"][0], LIFTED)

    def test_list(self):
        for n in range(3):
            self.d.handle(apply(f"r{n}", ip=f"192.0.2.{10 + n}"))
            self.d.reactor.advance(1)
        answer = self.d.engine.handle(request("l1", "list", limit=2), None, "test")
        page = self.successResultOf(answer)
        self.assertEqual([c["id"] for c in page["active"]], ["r0", "r1"])
        self.assertEqual(page["next"], 2)
        rest = self.successResultOf(self.d.engine.handle(request("l2", "list", after=2), None,
                                                         "test"))
        self.assertEqual([c["id"] for c in rest["active"]], ["r2"])
        self.assertNotIn("next", rest)


class RestartTests(SynchronousTestCase):
    def setUp(self):
        self.d = Deployment(self)

    def test_reappliedAfterRestart(self):
        """
        A reboot clears a firewall: what is active is applied again, and
        lifted on time.
        """
        self.d.handle(apply("r1", duration=600))
        self.d.reactor.advance(100)
        self.d.restart()
        self.assertEqual(self.d.commands()[-1], "-exist add mice4 192.0.2.7")
        self.assertEqual(self.d.spawned[-1].env["MICE_REACTION_ID"], "r1")
        self.d.finish()
        self.d.reactor.advance(499)
        self.assertEqual(len(self.d.spawned), 2)
        self.d.reactor.advance(1)
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")

    def test_expiredWhileDownIsLifted(self):
        self.d.handle(apply("r1", duration=60))
        self.d.restart()
        self.d.finish()  # the re-apply
        self.d.engine.stop()
        self.d.reactor.advance(3600)  # down for an hour
        self.d.start()
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")
        self.d.finish()
        self.assertEqual(self.d.rows()["r1"][:1] + self.d.rows()["r1"][2:],
                         (LIFTED, "expiry", "expired"))

    def test_manualUndoNotReapplied(self):
        self.d.handle(apply("r1", duration=600))
        self.d.handle(request("u1", "undo", target="r1", by="alice"))
        count = len(self.d.spawned)
        self.d.restart()
        self.assertEqual(len(self.d.spawned), count)
        self.assertEqual(self.d.engine.current, {})

    def test_failedUndoRetriedAfterRestart(self):
        self.d.handle(apply("r1", duration=60))
        self.d.reactor.advance(60)
        self.d.finish(1)
        self.d.restart()
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 192.0.2.7")
        self.d.finish(0)
        self.assertEqual(self.d.rows()["r1"][0], LIFTED)

    def test_answersSurvive(self):
        first = self.d.handle(apply("r1"))
        self.d.restart()
        self.d.finish()  # the re-apply
        self.assertEqual(self.d.handle(apply("r1"), finish=False), dict(first, repeat=True))

    def test_crashWhileApplying(self):
        """
        The daemon dies while the command runs: the countermeasure was
        recorded first, so the restart applies it again, and the
        ManagementHost's resend of the same id finds it active.
        """
        self.d.engine.handle(apply("r1"), "192.0.2.50", "test")
        self.d.start()  # a crash: nothing stopped
        self.assertEqual(len(self.d.spawned), 2)
        self.d.finish()
        answer = self.d.handle(apply("r1"), finish=False)
        self.assertEqual(answer["status"], DONE)
        self.assertIn("already active (r1)", answer["text"])
        self.assertEqual(len(self.d.spawned), 2)

    def test_noLongerAllowedIsLifted(self):
        self.d.handle(apply("r1", ip="203.0.113.5"))
        self.d.config = CONFIG.replace("NEVER = 198.51.100.0/24", "NEVER = 203.0.113.0/24")
        self.d.restart()
        self.assertEqual(self.d.commands()[-1], "-exist del mice4 203.0.113.5")
        self.d.finish()
        self.assertIn("no longer allowed", self.d.rows()["r1"][3])

    def test_failedReapplyRetried(self):
        self.d.handle(apply("r1", duration=600))
        self.d.restart()
        self.d.finish(1)
        self.d.reactor.advance(1)
        self.assertEqual(self.d.commands()[-1], "-exist add mice4 192.0.2.7")
        self.d.finish(0)
        self.assertEqual(len(self.d.spawned), 3)

    def test_restartRunsFewCommandsAtOnce(self):
        """
        A restart with many active countermeasures applies them again a few
        at a time, not all at once.
        """
        self.d.config = CONFIG.replace("RATE = 3", "RATE = 0")
        self.d.restart()
        for n in range(20):
            self.d.handle(apply(f"r{n}", ip=f"192.0.2.{100 + n}"))
        self.d.restart()
        running = [s for s in self.d.spawned if not s.transport.ended]
        self.assertEqual(len(running), 8)
        while running:
            running[0].transport.end(0)
            running = [s for s in self.d.spawned if not s.transport.ended]
            self.assertLessEqual(len(running), 8)
        self.assertEqual(len(self.d.spawned), 40)
