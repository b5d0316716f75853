"""
Tests for reloading an analysis agent's rules (L{mice.services.reload},
L{mice.services.bufferdaemon.BufferDaemon.reload}, the analysis modules'
C{reload()}), driven with a L{Clock} over StringTransports; the real
process reloaded by SIGHUP under load: C{tests.integration.test_reload}.
"""

import os
import signal

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.decoders.logformat import LogFormatDecoder
from mice.idmef import fromXml
from mice.interfaces import IReloadable, ReloadError
from mice.postproc import aaregex, aarules
from mice.protocols import wire
from mice.ringbuffer import MemoryRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.reload import HangupReload
from mice.testing import FakeSender, capturedLog, writeAgentConfigs, writeLogIdsConfig
from tests.unit.services.test_bufferdaemon import HOST, acks, line, received

NEW_RULE = 'Ex_Rule = ".*RELOADED-RULE.*"\n'
MARKED = "Nov 22 10:00:01 web01 app[1]: RELOADED-RULE seen"
FAILED = "Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7 port 52311"


def addRule(path, text):
    with open(path) as f:
        conf = f.read()
    with open(path, "w") as f:
        f.write(conf.replace("[EXPLOIT]\n", "[EXPLOIT]\n" + text, 1))


class FakeSignals:
    """The parts of the C{signal} module that L{HangupReload} uses."""

    SIGHUP = signal.SIGHUP

    def __init__(self, previous=signal.SIG_DFL):
        self.handlers = {signal.SIGHUP: previous}

    def signal(self, signum, handler):
        previous, self.handlers[signum] = self.handlers[signum], handler
        return previous


class ThreadCalls:
    """An C{IReactorThreads} that runs nothing until told."""

    def __init__(self):
        self.calls = []

    def callFromThread(self, f, *args, **kwargs):
        self.calls.append((f, args, kwargs))

    def runAll(self):
        calls, self.calls = self.calls, []
        for f, args, kwargs in calls:
            f(*args, **kwargs)


class HangupReloadTests(SynchronousTestCase):
    def test_installedChainedAndRestored(self):
        """
        While it runs, SIGHUP schedules the reload in the reactor thread
        and then calls the handler that was there; stopping puts that one
        back.
        """
        before = []
        signals = FakeSignals(previous=lambda signum, frame: before.append(signum))
        reactor = ThreadCalls()
        reloads = []
        service = HangupReload(lambda: reloads.append(1), reactor, signals)
        service.startService()
        handler = signals.handlers[signal.SIGHUP]
        handler(signal.SIGHUP, None)
        self.assertEqual((reloads, before), ([], [signal.SIGHUP]),
                         "nothing is reloaded inside the signal handler")
        reactor.runAll()
        self.assertEqual(reloads, [1])
        service.stopService()
        self.assertEqual(signals.handlers[signal.SIGHUP](signal.SIGHUP, None), None)
        self.assertEqual(before, [signal.SIGHUP] * 2, "the previous handler is back")

    def test_defaultActionNotCalled(self):
        """
        SIG_DFL (end the process) is not a handler to chain to.
        """
        signals = FakeSignals()
        service = HangupReload(lambda: None, ThreadCalls(), signals)
        service.startService()
        signals.handlers[signal.SIGHUP](signal.SIGHUP, None)
        service.stopService()
        self.assertIs(signals.handlers[signal.SIGHUP], signal.SIG_DFL)

    def test_failureLogged(self):
        capturedLog(self)
        reactor = ThreadCalls()
        service = HangupReload(lambda: 1 / 0, reactor, FakeSignals())
        service.startService()
        service._handle(signal.SIGHUP, None)
        reactor.runAll()
        service.stopService()
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)


class AgentHarness:
    """
    An analysis agent (the log decoder and C{mice_mod_pop_aa_regex} from a
    config written in a temporary directory) over StringTransports.
    """

    def __init__(self, case):
        directory = os.path.abspath(case.mktemp())
        writeAgentConfigs(directory, 4455)
        self.conf = os.path.join(directory, "aa.conf")
        self.clock = Clock()
        self.analyzer = aaregex.build(self.conf, self.clock)
        self.management = FakeSender("ManagementHost")
        self.analyzer.attachSenders({"M": self.management})
        self.pipeline = Pipeline(LogFormatDecoder(), self.analyzer, MemoryRing(64),
                                 name="dec->aa_regex")
        self.daemon = BufferDaemon([], [self.pipeline], self.clock, timeInterval=1.0)
        self.daemon.startService()
        case.addCleanup(self.daemon.stopService)
        case.addCleanup(self.management.acknowledge)
        self.protocol = self.daemon.factory.buildProtocol(None)
        self.protocol.makeConnection(
            StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 4000)))
        self.protocol.dataReceived(line(wire.hello("web01", "log")))
        received(self.protocol)
        self.batches = 0

    def send(self, lines):
        self.batches += 1
        first = (self.batches - 1) * 100 + 1
        self.protocol.dataReceived(line(wire.batch(
            self.batches, "/var/log/messages", first, HOST,
            [["2026-11-22", "10:00:01", text, ""] for text in lines])))
        return self.batches

    def alertLines(self):
        """The log lines of every alert submitted so far."""
        return [fromXml(document)[0].data("log line")
                for batch in self.management.submitted for document in batch.records]


class AgentReloadTests(SynchronousTestCase):
    def setUp(self):
        self.events = capturedLog(self)

    def logged(self, level="error"):
        return [formatEvent(e) for e in self.events if e.get("log_level").name == level]

    def test_newRuleFromTheNextFlush(self):
        """
        A rule added to the config is in effect for the next flush once
        reloaded; the flush in progress when the reload comes finishes with
        the rules it had, its batch is acknowledged, nothing is lost.
        """
        h = AgentHarness(self)
        verifyObject(IReloadable, h.analyzer)
        h.send([MARKED + " #1"])
        h.clock.advance(1)
        self.assertEqual(h.alertLines(), [], "no rule for it yet")
        self.assertEqual(acks(h.protocol), [1])

        h.send([MARKED + " #2", FAILED])
        h.clock.advance(1)
        # The flush of batch 2 is in the post-processor's hands (the
        # ManagementHost has not acknowledged) when the rules are reloaded.
        self.assertEqual(acks(h.protocol), [])
        addRule(h.conf, NEW_RULE)
        result = self.successResultOf(h.daemon.reload())
        [(name, loaded)] = result
        self.assertEqual(name, "dec->aa_regex")
        self.assertIn("rules", loaded)
        h.management.acknowledge()
        self.assertEqual(acks(h.protocol), [2], "the flush in progress finishes")

        h.send([MARKED + " #3"])
        h.clock.advance(1)
        h.management.acknowledge()
        self.assertEqual(acks(h.protocol), [3])
        self.assertEqual([x for x in h.alertLines() if "RELOADED" in x], [MARKED + " #3"])
        self.assertEqual(h.pipeline.storedRecords, 4)
        self.assertEqual(h.daemon.connections, {h.protocol}, "no connection dropped")

    def test_badFileKeepsTheOldRules(self):
        """
        A config that does not load is refused whole: every bad line is
        logged as file:line, and the rules that ran keep running.
        """
        h = AgentHarness(self)
        addRule(h.conf, NEW_RULE)
        self.successResultOf(h.daemon.reload())
        addRule(h.conf, 'Ex_Rule = ".*(unclosed.*"\nNoSuchKey = 1\n')
        self.assertEqual(self.successResultOf(h.daemon.reload()), [("dec->aa_regex", None)])
        errors = self.logged()
        self.assertTrue(any(e.startswith(f"{h.conf}:") for e in errors), errors)
        self.assertIn("dec->aa_regex: not reloaded", errors[-1])
        h.send([MARKED + " #1"])
        h.clock.advance(1)
        h.management.acknowledge()
        self.assertEqual(h.alertLines(), [MARKED + " #1"], "the reloaded rule still runs")

    def test_reloadDuringReloadRunsAgain(self):
        """
        A reload asked for while one is running (a module whose reload
        returns a Deferred) runs once more after it; both callers hear of
        the end.
        """
        pending = []

        class Slow:
            name = "slow"

            def reload(self):
                d = Deferred()
                pending.append(d)
                return d

        clock = Clock()
        daemon = BufferDaemon([], [Pipeline(LogFormatDecoder(), Slow(), MemoryRing(4),
                                            name="slow")], clock)
        first = daemon.reload()
        second = daemon.reload()
        third = daemon.reload()
        self.assertEqual(len(pending), 1)
        pending[0].callback("one")
        self.assertEqual(len(pending), 2, "run once more, not twice")
        self.assertNoResult(first)
        pending[1].callback("two")
        for d in (first, second, third):
            self.assertEqual(self.successResultOf(d), [("slow", "two")])

    def test_nothingToReload(self):
        daemon = BufferDaemon([], [], Clock())
        self.assertEqual(self.successResultOf(daemon.reload()), [])
        self.assertIn("reload: no module of this daemon has files to read again",
                      self.logged("info"))


class RulesReloadTests(SynchronousTestCase):
    """
    C{mice_mod_pop_aa_rules}: rules.txt, filter.txt and netdef.txt.
    """

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        writeLogIdsConfig(self.directory, 4455, "sshd,event eq Failed,alert\n")
        self.conf = os.path.join(self.directory, "aa-rules.conf")
        self.analyzer = aarules.build(self.conf, Clock())
        self.addCleanup(self.analyzer.counter.close)

    def rulesFile(self):
        return self.analyzer.settings.rulesFile

    def test_reloaded(self):
        verifyObject(IReloadable, self.analyzer)
        old = self.analyzer.engine
        with open(self.rulesFile(), "a") as f:
            f.write("sshd,event eq Accepted,warning\n")
        loaded = self.analyzer.reload()
        self.assertIn("2 rules", loaded)
        self.assertIsNot(self.analyzer.engine, old)

    def test_badLinesRefusedAndNamed(self):
        old = self.analyzer.engine
        with open(self.rulesFile(), "a") as f:
            f.write("sshd,event eq Accepted,warning\nthis is no rule\nsshd,user eq x,explode\n")
        error = self.assertRaises(ReloadError, self.analyzer.reload)
        self.assertEqual(len(error.problems), 2, error.problems)
        for problem, number in zip(error.problems, (3, 4)):
            self.assertTrue(problem.startswith(f"{self.rulesFile()}:{number}:"), problem)
        self.assertIs(self.analyzer.engine, old, "the old rules keep running")

    def test_missingFileRefused(self):
        old = self.analyzer.engine
        os.remove(self.rulesFile())
        error = self.assertRaises(ReloadError, self.analyzer.reload)
        self.assertIn(self.rulesFile(), str(error))
        self.assertIs(self.analyzer.engine, old)
