"""
The analysis agent: C{mice_mod_pop_aa_regex} raising IDMEF alerts to the
ManagementHost, C{mice_mod_dec_idmef} receiving them, and the whole chain
over loopback with the agent restarted in the middle.
"""

import os

from hypothesis import given
from hypothesis import strategies as st
from twisted.application.service import MultiService
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import Clock
from twisted.logger import formatEvent
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from mice.analysis.aaregex import AaRegexMatcher, defaultStrategy
from mice.analysis.alertid import AlertCounter, MemoryAlertIdStore
from mice.config import loadAaRegex, loadBufferDaemon, loadDataForwarder
from mice.decoders.idmef import IdmefDecoder, ReceivedAlert
from mice.idmef import fromXml, toXml
from mice.postproc.aaregex import MATCHES_PER_LINE, AaRegexAnalyzer, linkStream
from mice.protocols import wire
from mice.protocols.wire import ProtocolError, batch
from mice.record import LogRecord
from mice.ringbuffer import openRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.tap import dataforwarder
from mice.tap.bufferdaemon import attachSenders, buildBufferDaemon
from mice.testing import (
    FakeSender,
    MemoryPostProcessor,
    capturedLog,
    decodeChecked,
    writeAgentConfigs,
    writeForwarderConfig,
)
from tests import ROOT
from tests.integration.test_faults import waitFor


async def memoryManagementHost(case, ringSize=64, name="management", **daemon):
    """
    A ManagementHost stand-in on a loopback port: the IDMEF decoder into a
    L{MemoryPostProcessor}, through a memory ring of C{ringSize} entries;
    stopped when C{case} ends.

    @param daemon: more arguments of its L{BufferDaemon} (C{security}).
    @return: C{(the post-processor, the listening port)}.
    """
    received = MemoryPostProcessor()
    management = BufferDaemon(
        [serverFromString(reactor, "tcp:0:interface=127.0.0.1")],
        [Pipeline(IdmefDecoder(), received, openRing(None, 0, None, ringSize), name=name)],
        reactor, timeInterval=0.1, **daemon)
    [port] = await management.startService()
    case.addCleanup(management.stopService)
    return received, port

ETC = os.path.join(ROOT, "etc", "mice")

FAILED = "Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7 port 52311 ssh2"
CRON = "Nov 22 10:00:04 web01 CRON[990]: (root) CMD (run-parts /etc/cron.hourly)"
DROP = ("Nov 22 10:00:02 fw kernel: SuSE-FW-DROP-DEFAULT IN=eth0 OUT= SRC=10.0.0.5 DST=10.0.0.1"
        " LEN=60 PROTO=TCP SPT=40000 DPT=22")


def record(seq, line, stream="/var/log/messages"):
    return LogRecord("web01", stream, seq, "web01", "", "10.0.0.2", "Linux", "6.1", "#1",
                     "2004-11-22", "10:00:01", line, "")


class AnalyzerTests(SynchronousTestCase):
    def setUp(self):
        self.settings = loadAaRegex(os.path.join(ETC, "mice_mod_pop_aa_regex.conf"))
        self.management = FakeSender("ManagementHost")
        self.analyzer = AaRegexAnalyzer(self.settings, {"M": self.management},
                                        AlertCounter(MemoryAlertIdStore(), 1), Clock(),
                                        {0x1020: "Authentication Failure"})

    def test_alertsToTheManagementHost(self):
        d = self.analyzer.process([record(1, CRON), record(2, FAILED), record(3, DROP)])
        self.assertNoResult(d)
        [submitted] = self.management.submitted
        self.assertEqual(submitted.stream, "web01|/var/log/messages")
        # FAILED raises AuF and Ap_Name (sshd), DROP raises FwD; CRON nothing.
        self.assertEqual(submitted.numbers, [2 * MATCHES_PER_LINE, 2 * MATCHES_PER_LINE + 1,
                                             3 * MATCHES_PER_LINE])
        alerts = [fromXml(document)[0] for document in submitted.records]
        self.assertEqual([a.alertId for a in alerts], [0x1020, 0x6010, 0x8010])
        self.assertEqual(alerts[0].classification, "Authentication Failure")
        self.assertEqual(alerts[0].sources[0].address, "10.0.0.7")
        self.assertEqual(alerts[0].data("log line"), FAILED)
        self.assertEqual(len({a.messageId for a in alerts}), 3)
        self.management.acknowledge()
        self.assertEqual(self.successResultOf(d), 3)

    def test_rfc5424(self):
        """
        A line in RFC 5424's framing raises the alerts of the line rsyslog
        writes for it, which the alert shows.
        """
        framed = ("<38>1 2004-11-22T10:00:01.5+01:00 web01 sshd 811 - [origin ip=\"10.0.0.2\"]"
                  " Failed password for alice from 10.0.0.7 port 52311 ssh2")
        read = ("2004-11-22T10:00:01.5+01:00 web01 sshd[811]: Failed password for alice from"
                " 10.0.0.7 port 52311 ssh2")
        d = self.analyzer.process([record(1, CRON), record(2, framed)])
        [submitted] = self.management.submitted
        alerts = [fromXml(document)[0] for document in submitted.records]
        self.assertEqual([a.alertId for a in alerts], [0x1020, 0x6010])
        self.assertEqual(alerts[0].sources[0].address, "10.0.0.7")
        self.assertEqual(alerts[0].data("log line"), read)
        self.management.acknowledge()
        self.assertEqual(self.successResultOf(d), 2)

    def test_repeated(self):
        """
        A line rsyslog wrote once for several (C{message repeated N times})
        raises the alerts of the message, which say how many times it came
        (additional data C{repeated}, which the correlation stage counts);
        the others say nothing of it.
        """
        repeated = ("Nov 22 10:00:01 web01 sshd[811]: message repeated 4 times: [ Failed"
                    " password for alice from 10.0.0.7 port 52311 ssh2]")
        d = self.analyzer.process([record(1, FAILED), record(2, repeated)])
        [submitted] = self.management.submitted
        alerts = [fromXml(document)[0] for document in submitted.records]
        self.assertEqual([(a.alertId, a.data("repeated")) for a in alerts],
                         [(0x1020, None), (0x6010, None), (0x1020, "4"), (0x6010, "4")])
        self.assertEqual(alerts[2].data("log line"), FAILED)
        self.management.acknowledge()
        self.assertEqual(self.successResultOf(d), 2)

    def test_dateOutOfRange(self):
        """
        A record dated in year 1 (a client's clock, or a hostile line read
        as an ISO time) raises its alerts, timed when they are made; it
        used to raise ValueError in the batch, which was then never done.
        """
        old = record(1, FAILED)._replace(date="0001-01-01", time="00:00:00")
        d = self.analyzer.process([old, record(2, DROP)])
        [submitted] = self.management.submitted
        alerts = [fromXml(document)[0] for document in submitted.records]
        self.assertEqual([a.alertId for a in alerts], [0x1020, 0x6010, 0x8010])
        self.assertTrue(alerts[0].detectTime.startswith("1970-01-01T"), alerts[0].detectTime)
        self.management.acknowledge()
        self.assertEqual(self.successResultOf(d), 2)

    def test_alertsCounted(self):
        """
        With metrics attached, the alerts of a flush are counted by alert id
        and analyzer, once the flush is sent.
        """
        from mice.metrics import Metrics

        metrics = Metrics("agent")
        self.analyzer.attachMetrics(metrics)
        self.analyzer.process([record(1, FAILED), record(2, FAILED), record(3, DROP)])
        counted = {(labels["alertid"], labels["analyzer"]): value
                   for name, labels, value in metrics.samples() if name == "mice_alerts_total"}
        self.assertEqual(counted, {("0x1020", "MICE-RegEx"): 2, ("0x6010", "MICE-RegEx"): 2,
                                   ("0x8010", "MICE-RegEx"): 1})

    def test_defaultStrategy(self):
        """
        The agent matches with the default strategy (Hyperscan when it is
        installed), which finds what the pure-Python literal scan finds.
        """
        self.assertEqual(self.analyzer.matcher.strategy, defaultStrategy())
        lines = [FAILED, CRON, DROP, "", "sshd[1]: Accepted password for bob"]
        self.assertEqual(self.analyzer.matcher.matchIndexed(lines),
                         AaRegexMatcher(self.settings, "literal").matchIndexed(lines))

    def test_refusedPatternSaid(self):
        """
        A rule Hyperscan refuses (it matches the empty string) is said by
        file:line when the agent is built, and still matches.
        """
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            raise SkipTest("hyperscan is not installed") from None
        conf = os.path.join(self.mktemp() + ".conf")
        with open(os.path.join(ETC, "mice_mod_pop_aa_regex.conf")) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace('AuSendTo = "M"\n', 'AuSendTo = "M"\nAuS_Rule = "x*"\n', 1))
        settings = loadAaRegex(conf)
        events = capturedLog(self)
        analyzer = AaRegexAnalyzer(settings, {"M": self.management},
                                   AlertCounter(MemoryAlertIdStore(), 1), Clock())
        said = [formatEvent(e) for e in events if "is not on Hyperscan" in formatEvent(e)]
        self.assertEqual(len(said), 1, said)
        self.assertTrue(said[0].startswith(f"{conf}:"), said)
        self.assertIn("'x*'", said[0])
        self.assertEqual(analyzer.matcher.matchIndexed([CRON, FAILED]),
                         AaRegexMatcher(settings, "literal").matchIndexed([CRON, FAILED]))

    def test_sendToNoneRaisesNothing(self):
        line = "Nov 22 10:00:01 web01 CRON[1]: nothing to see"
        self.assertEqual(self.successResultOf(self.analyzer.process([record(1, line)])), 1)
        self.assertEqual(self.management.submitted, [])

    def test_relaysAlertsOfAnAgentBefore(self):
        alert = fromXml(toXml(makeOne()))[0]
        document = toXml(alert).decode()
        received = ReceivedAlert("agent1", "web01|/var/log/messages", 64, (alert,), document)
        d = self.analyzer.process([received])
        [submitted] = self.management.submitted
        self.assertEqual((submitted.stream, submitted.numbers, submitted.records),
                         ("agent1|web01|/var/log/messages", [64], [document]))
        self.management.acknowledge()
        self.successResultOf(d)

    def test_longStreamNames(self):
        name = linkStream("web01", "/" + "x" * 300)
        self.assertLessEqual(len(name), 255)
        self.assertTrue(name.startswith("web01|sha256:"))


def makeOne():
    from mice.alerts import Alert, Node

    return Alert("7", "MICE-RegEx", "2004-11-22T10:00:01+00:00", "Authentication Failure",
                 alertId=0x1020, severity="high", sources=(Node(address="10.0.0.7"),),
                 additionalData=(("log line", FAILED),))


class IdmefDecoderTests(SynchronousTestCase):
    def test_decode(self):
        document = toXml(makeOne()).decode()
        [received] = IdmefDecoder().decode("agent1", wire.checkBatch(batch(1, "s", 64, None, [document])))
        self.assertEqual((received.source, received.stream, received.seq), ("agent1", "s", 64))
        self.assertEqual(received.alerts[0].alertId, 0x1020)
        self.assertEqual(IdmefDecoder().recover("agent1", batch(1, "s", 64, None, [document])),
                         [received])

    def test_hostileRefused(self):
        laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  '<!ENTITY lol2 "&lol;&lol;&lol;">]><IDMEF-Message>&lol2;</IDMEF-Message>')
        for document in (laughs, "<not-idmef/>", 5, "x" * 70000):
            self.assertRaises(ProtocolError, decodeChecked, IdmefDecoder(maxBytes=65536), "a",
                              batch(1, "s", 1, None, [document]))


async def startedModule(testCase, analyzer):
    """
    What the daemon does with an analysis module: run the senders of its
    links, hand them over, start it; everything stopped when C{testCase}
    ends.
    """
    senders = MultiService()
    attachSenders(analyzer, senders, reactor)
    senders.startService()
    testCase.addCleanup(senders.stopService)
    await analyzer.start()
    testCase.addCleanup(analyzer.stop)
    return analyzer


def agentFrom(conf, port=None):
    """
    The analysis agent that the BufferDaemon config C{conf} describes, on
    loopback C{port} if given (the same port again after a restart).
    """
    agent = buildBufferDaemon(loadBufferDaemon(conf), reactor)
    if port is not None:
        agent.endpoints = [serverFromString(reactor, f"tcp:{port}:interface=127.0.0.1")]
    return agent


def appendLines(path, lines):
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")


async def restartedAgent(testCase, agent, conf, port, whileDown):
    """
    Stop C{agent}, call C{whileDown}, and start it again from C{conf} on the
    same C{port}: the new agent, stopped when C{testCase} ends.
    """
    await agent.stopService()
    whileDown()
    agent = agentFrom(conf, port)
    await agent.startService()
    testCase.addCleanup(agent.stopService)
    return agent


class ChainTests(TestCase):
    """
    DataForwarder → analysis agent → a ManagementHost endpoint, over
    loopback TCP; the agent is stopped and started again in the middle.
    """

    timeout = 60

    async def test_agentRestartedNothingLostOrDoubled(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        received, port = await memoryManagementHost(self)
        conf = writeAgentConfigs(os.path.join(directory, "agent"), port.getHost().port)

        agent = agentFrom(conf)
        [agentPort] = await agent.startService()
        agentAddress = agentPort.getHost().port

        log = os.path.join(directory, "messages")
        lines = [FAILED + f" #{n}" if n % 3 == 0 else CRON + f" #{n}" for n in range(600)]
        with open(log, "w") as f:
            f.write("\n".join(lines[:300]) + "\n")
        forwarderConf = writeForwarderConfig(directory, [log], analysisPort=agentAddress)
        forwarder = dataforwarder.buildForwarder(loadDataForwarder(forwarderConf), reactor)
        forwarder.startService()
        self.addCleanup(forwarder.stopService)

        def keys():
            return {(r.stream, r.seq) for r in received.stored}

        matcher = AaRegexMatcher(loadAaRegex(os.path.join(directory, "agent", "aa.conf")))
        expected = set()
        for seq, line in enumerate(lines, 1):
            for index, match in enumerate(matcher.matchLine(line)):
                if match.sendTo in "MB":
                    expected.add((f"testhost|{log}", seq * MATCHES_PER_LINE + index))
        firstHalf = {key for key in expected if key[1] < 301 * MATCHES_PER_LINE}
        await waitFor(lambda: keys() >= firstHalf, 20, "the first half's alerts")

        agent = await restartedAgent(self, agent, conf, agentAddress,
                                     lambda: appendLines(log, lines[300:]))
        await waitFor(lambda: keys() >= expected, 30, "every alert")
        self.assertEqual(keys(), expected, "no alert the rules do not raise")
        messageIds = {}
        for r in received.stored:
            messageIds.setdefault((r.stream, r.seq), set()).add(r.alerts[0].messageId)
        self.assertEqual(len({m for ids in messageIds.values() for m in ids}),
                         sum(len(ids) for ids in messageIds.values()),
                         "a messageid is never reused")



class AlertDatabaseModuleTests(SynchronousTestCase):
    def test_build(self):
        """
        C{mice_mod_pop_alertdb} is the alert store, from a database config
        like C{mice_mod_pop_mysql}'s (a relative SQLite URL is the config's).
        """
        from twisted.internet.testing import MemoryReactorClock

        from mice.postproc.alertdb import AlertStore
        from mice.registry import findModule

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        conf = os.path.join(directory, "alertdb.conf")
        with open(conf, "w") as f:
            f.write("[MYSQL_SERVER]\nURL = sqlite:///alerts.db\nMAXERR = 4\nBATCHSIZE = 200\n")
        store = findModule("mice_mod_pop_alertdb", "postprocessor").build(
            conf, MemoryReactorClock())
        self.assertIsInstance(store, AlertStore)
        self.assertEqual((store.description, store.maxErrors, store.batchSize),
                         (os.path.join(directory, "alerts.db"), 4, 200))
        store.stop()


class SendersAreChildrenTests(SynchronousTestCase):
    def test_daemonRunsTheSenders(self):
        """
        The agent's senders are child services of its BufferDaemon (issue
        11): the daemon starts them before the module and stops them after
        it; the module neither starts nor stops them.
        """
        from twisted.internet.testing import MemoryReactorClock

        directory = os.path.abspath(self.mktemp())
        conf = writeAgentConfigs(directory, 4455)
        daemon = buildBufferDaemon(loadBufferDaemon(conf), MemoryReactorClock())
        [pipeline] = daemon.pipelines
        analyzer = pipeline.postprocessor
        self.assertEqual({child for child in daemon if child.name != "metrics"},
                         set(analyzer.senders.values()))
        self.successResultOf(analyzer.start())
        self.assertFalse(any(sender.running for sender in analyzer.senders.values()))
        self.successResultOf(analyzer.stop())


class SharedAlertIdFileTests(SynchronousTestCase):
    """
    Two C{mice_mod_pop_aa_regex} modules of one process (two pipelines of a
    BufferDaemon) whose configs name one AlertIDFile draw their messageids
    from one counter.
    """

    def analyzer(self, directory, alertIdFile):
        from twisted.internet.testing import MemoryReactorClock

        from mice.postproc.aaregex import build

        writeAgentConfigs(directory, 4455)
        conf = os.path.join(directory, "aa.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("AlertIDFile = alertid", f"AlertIDFile = {alertIdFile}"))
        analyzer = build(conf, MemoryReactorClock())
        analyzer.senders = {"M": FakeSender()}
        return analyzer

    def messageIds(self, analyzer):
        return [int(fromXml(document)[0].messageId)
                for submitted in analyzer.senders["M"].submitted
                for document in submitted.records]

    def test_twoAnalyzersOneAlertIdFile(self):
        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "var", "alertid")
        first = self.analyzer(os.path.join(directory, "one"), path)
        # The same file, spelled another way.
        second = self.analyzer(os.path.join(directory, "two"),
                               os.path.join(directory, "two", "..", "var", "alertid"))
        for seq in range(1, 6):
            first.process([record(seq, FAILED)])
            second.process([record(seq, DROP)])
        ids = self.messageIds(first) + self.messageIds(second)
        self.assertEqual(len(ids), 15)
        self.assertEqual(len(set(ids)), 15, "a messageid given twice")
        self.successResultOf(first.stop())
        self.successResultOf(second.stop())
        again = self.analyzer(os.path.join(directory, "three"), path)
        again.process([record(1, FAILED)])
        self.assertGreater(min(self.messageIds(again)), max(ids))
        self.successResultOf(again.stop())


class SecureAgentLinkTests(TestCase):
    timeout = 30

    async def test_alertsOverMutualTLS(self):
        """
        With Encryption = yes and TLSCERT/TLSKEY/TLSCA in [HOST_INFO], the
        agent's alerts reach the ManagementHost over TLS.
        """
        from mice.postproc.aaregex import build
        from mice.security.certs import loadOrMakeCA, writeNode
        from mice.security.policy import LinkSecurity

        directory = os.path.abspath(self.mktemp())
        pki = os.path.join(directory, "pki")
        caKey, ca, _ = loadOrMakeCA(pki)
        server = writeNode(pki, caKey, ca, "127.0.0.1")
        client = writeNode(pki, caKey, ca, "agent")
        caPath = os.path.join(pki, "ca.crt")
        received, port = await memoryManagementHost(
            self, name="mh", security=LinkSecurity.fromSettings(True, tls=(*server, caPath)))
        writeAgentConfigs(
            directory, port.getHost().port,
            encryption=f"Encryption = yes\nTLSCERT = {client[0]}\nTLSKEY = {client[1]}\n"
                       f"TLSCA = {caPath}")
        analyzer = build(os.path.join(directory, "aa.conf"), reactor)
        await startedModule(self, analyzer)
        await analyzer.process([record(1, FAILED)])
        await waitFor(lambda: len(received.stored) == 2, 10, "the two alerts")
        self.assertEqual({r.alerts[0].alertId for r in received.stored}, {0x1020, 0x6010})


_NASTY = st.text(alphabet=st.sampled_from(["&", "<", '"', "\r", "\x1b", "\ud800", "\U0001f600",
                                           "a", " "]), min_size=0, max_size=3000)


class BoundedDocumentTests(SynchronousTestCase):
    """
    An alert about a very long line is sent cut, never as a document the
    ManagementHost's decoder (MAXRECORD 65536) refuses at every resend.
    """

    @given(st.integers(0, 70000), _NASTY, _NASTY, st.integers(0, 6))
    def test_boundedFits(self, length, text, other, nodes):
        from mice.alerts import MAX_DOCUMENT, Alert, Node, bounded

        line = (text * (length // max(len(text), 1) + 1))[:length] if text else "x" * length
        long = (other * 40)[:10000]
        node = Node(address=long, hostname=long, protocol=long, user=long, process=long,
                    service=long, port=1, pid=2, uid=3)
        alert = Alert("1", "MICE-RegEx", "2004-11-22T10:00:01+00:00", long,
                      analyzerHost=long, sources=(node,) * nodes, targets=(node,) * nodes,
                      additionalData=(("log line", line), ("origin", long), ("rule", long)))
        self.assertLessEqual(len(toXml(bounded(alert))), MAX_DOCUMENT)
        if len(line) <= 4096:
            self.assertEqual(bounded(alert).data("log line"), line)

    def test_agentCutsTheLongLine(self):
        settings = loadAaRegex(os.path.join(ETC, "mice_mod_pop_aa_regex.conf"))
        management = FakeSender()
        analyzer = AaRegexAnalyzer(settings, {"M": management},
                                   AlertCounter(MemoryAlertIdStore(), 1), Clock())
        line = FAILED + " " + "&" * 60000
        analyzer.process([record(1, line)])
        [submitted] = management.submitted
        decoded = IdmefDecoder(maxBytes=65536).decode(
            "agent", wire.checkBatch(batch(1, submitted.stream, submitted.seq, None, submitted.records,
                           submitted.seqs)))
        kept = decoded[0].alerts[0].data("log line")
        self.assertTrue(kept.startswith(FAILED))
        self.assertTrue(kept.endswith(f"[... {len(line) - 4096} more characters]"))
