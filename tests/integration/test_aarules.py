"""
The LogIDS rules in the analysis agent: C{mice_mod_pop_aa_rules} raising
IDMEF alerts and console events, C{mice_mod_dec_event} and the
C{console_event} store receiving them, C{check-config} on the LogIDS files,
and the chain over loopback with the agent restarted in the middle.
"""

import io
import os
import sqlite3
from contextlib import redirect_stderr, redirect_stdout

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mice.analysis.alertid import AlertCounter, MemoryAlertIdStore
from mice.analysis.logids import LogIdsEngine, parseFilters, parseNetDef, parseRules
from mice.cli import main
from mice.config import (
    ConfigError,
    loadAaRules,
    loadBufferDaemon,
    loadDataForwarder,
    parseDatabaseUrl,
)
from mice.db.pools import connectionPool
from mice.decoders.events import ConsoleEvent, EventDecoder, checkEvent, eventRecord
from mice.decoders.idmef import IdmefDecoder
from mice.idmef import fromXml
from mice.postproc.aaregex import linkStream
from mice.postproc.aarules import (
    ACTIONS_PER_LINE,
    AaRulesAnalyzer,
    loadEngine,
    logidsStream,
    reportingHost,
)
from mice.postproc.eventdb import EventStore
from mice.protocols import wire
from mice.protocols.wire import ProtocolError, batch
from mice.record import LogRecord
from mice.ringbuffer import openRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline, Records
from mice.tap import dataforwarder
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import (
    FakeSender,
    MemoryPostProcessor,
    bufferDaemonConfig,
    decodeChecked,
    sqliteRows,
    temporaryFile,
    writeAgentConfigs,
    writeFile,
    writeForwarderConfig,
    writeLogIdsAgent,
)
from tests.integration.test_agent import (
    ETC,
    agentFrom,
    appendLines,
    record,
    restartedAgent,
    startedModule,
)
from tests.integration.test_faults import waitFor

FAILED = "Nov 22 10:00:01 web01 sshd[811]: Failed password for root from 10.0.0.7 port 52311 ssh2"
ACCEPTED = ("Nov 22 10:00:02 web01 sshd[812]: Accepted publickey for eve from 192.0.2.9 port 4022"
            " ssh2")
SESSION = "Nov 22 10:00:03 web01 sshd[812]: pam_unix(sshd:session): session opened for user eve"
OTHER = "Nov 22 10:00:04 web01 sshd[813]: Received disconnect from 10.0.0.8 port 1: bye"
CRON = "Nov 22 10:00:05 web01 CRON[990]: (root) CMD (run-parts /etc/cron.hourly)"

RULES = """\
sshd,event eq Failed,warning
sshd,event eq Failed AND user eq root,alert
sshd,event eq Failed,display=user#src_ip
sshd,event eq Accepted,icon=login.bmp
sshd,message ct ^pam,reject
*,*,reject
"""


def engine(rules=RULES, netdef="10.0.0.2 webserver\n"):
    with open(os.path.join(ETC, "logids", "filter.txt")) as f:
        filters, problems = parseFilters(f.read())
    assert not problems, problems
    loaded, problems = parseRules(rules, "rules.txt")
    assert not problems, problems
    names, problems = parseNetDef(netdef)
    return LogIdsEngine(loaded, filters, names)


class Settings:
    """What L{AaRulesAnalyzer} reads of its settings."""

    def __init__(self, sendTo="M", analyzerId="MICE-LogIDS"):
        self.sendTo = sendTo
        self.analyzerId = analyzerId


class AnalyzerTests(SynchronousTestCase):
    def setUp(self):
        self.management = FakeSender("ManagementHost")
        self.agent = FakeSender("next agent")
        self.events = FakeSender("ManagementHost console")

    def analyzer(self, sendTo="M", rules=RULES):
        senders = {"M": self.management, "A": self.agent, "events": self.events}
        return AaRulesAnalyzer(Settings(sendTo), engine(rules), senders,
                               AlertCounter(MemoryAlertIdStore(), 1), Clock())

    def test_alertAndWarningAreIdmef(self):
        """
        C{alert} is an IDMEF alert of severity high, C{warning} medium; the
        source comes from the filter's fields, the rule and reporting host
        are in the additional data.
        """
        d = self.analyzer().process([record(5, FAILED)])
        [submitted] = self.management.submitted
        self.assertEqual(submitted.stream, "logids:web01|/var/log/messages")
        self.assertEqual(submitted.numbers, [5 * ACTIONS_PER_LINE, 5 * ACTIONS_PER_LINE + 1])
        warning, alert = (fromXml(document)[0] for document in submitted.records)
        self.assertEqual((warning.severity, alert.severity), ("medium", "high"))
        self.assertEqual(alert.classification, "sshd: event eq Failed AND user eq root")
        self.assertEqual(alert.analyzerId, "MICE-LogIDS")
        self.assertEqual(alert.sources[0].address, "10.0.0.7")
        self.assertEqual(alert.sources[0].port, 52311)
        self.assertEqual(alert.data("log line"), FAILED)
        self.assertEqual(alert.data("loghost"), "webserver")
        self.assertTrue(alert.data("rule").startswith("rules.txt:2 sshd,event eq Failed AND"))
        self.assertNotEqual(warning.messageId, alert.messageId)
        self.assertEqual(self.agent.submitted, [])
        self.assertNoResult(d)
        self.management.acknowledge()
        self.assertNoResult(d)  # the display event is not acknowledged yet
        self.events.acknowledge()
        self.assertEqual(self.successResultOf(d), 1)

    def test_rfc5424(self):
        """
        A line in RFC 5424's framing is read as the line rsyslog writes for
        it: its fields, its actions, and the line the alert shows.
        """
        framed = ("<38>1 2004-11-22T10:00:01Z web01 sshd 811 - -"
                  " Failed password for root from 10.0.0.7 port 52311 ssh2")
        d = self.analyzer().process([record(5, framed)])
        [submitted] = self.management.submitted
        warning, alert = (fromXml(document)[0] for document in submitted.records)
        self.assertEqual(alert.sources[0].address, "10.0.0.7")
        self.assertEqual(alert.data("log line"), "2004-11-22T10:00:01Z web01 sshd[811]: Failed"
                         " password for root from 10.0.0.7 port 52311 ssh2")
        self.management.acknowledge()
        self.events.acknowledge()
        self.assertEqual(self.successResultOf(d), 1)

    def test_repeated(self):
        """
        A line rsyslog wrote once for several raises the alerts of the
        message, which say how many times it came (C{repeated}).
        """
        line = ("Nov 22 10:00:01 web01 sshd[811]: message repeated 3 times: [ Failed password"
                " for root from 10.0.0.7 port 52311 ssh2]")
        d = self.analyzer().process([record(5, line)])
        [submitted] = self.management.submitted
        alerts = [fromXml(document)[0] for document in submitted.records]
        self.assertEqual([a.data("repeated") for a in alerts], ["3", "3"])
        self.assertEqual(alerts[0].data("log line"), FAILED)
        self.management.acknowledge()
        self.events.acknowledge()
        self.assertEqual(self.successResultOf(d), 1)

    def test_longLineCut(self):
        """
        An alert about a very long line fits the ManagementHost's decoder.
        """
        line = FAILED + " " + "<" * 70000
        self.analyzer().process([record(1, line)])
        [submitted] = self.management.submitted
        for received in IdmefDecoder(maxBytes=65536).decode("agent", wire.checkBatch(batch(
                1, submitted.stream, submitted.seq, None, submitted.records, submitted.seqs))):
            self.assertTrue(received.alerts[0].data("log line").startswith(FAILED))

    def test_routes(self):
        for sendTo, management, agent in (("A", 0, 1), ("B", 1, 1), ("N", 0, 0)):
            self.setUp()
            self.analyzer(sendTo).process([record(5, FAILED)])
            self.assertEqual((len(self.management.submitted), len(self.agent.submitted)),
                             (management, agent), sendTo)
            self.assertEqual(len(self.events.submitted), 1, "events go to the console anyway")

    def test_consoleEvents(self):
        """
        display gives the named fields in order, icon the file; a record of
        an application rules name that no rule matches is dropped to the
        console log with its line.
        """
        self.analyzer().process([record(1, FAILED), record(2, ACCEPTED), record(3, OTHER)])
        [submitted] = self.events.submitted
        self.assertEqual(submitted.stream, "logids:web01|/var/log/messages")
        self.assertEqual(submitted.numbers, [ACTIONS_PER_LINE + 2, 2 * ACTIONS_PER_LINE,
                                             3 * ACTIONS_PER_LINE])
        display, icon, drop = submitted.records
        self.assertEqual(display, eventRecord(
            "display", "webserver", "10.0.0.2", "sshd", "rules.txt:3", "2004-11-22T10:00:01",
            fields=[("user", "root"), ("src_ip", "10.0.0.7")]))
        self.assertEqual((icon["action"], icon["icon"], icon["rule"]),
                         ("icon", "login.bmp", "rules.txt:4"))
        self.assertEqual((drop["action"], drop["rule"], drop["line"]), ("drop", None, OTHER))

    def test_rejectsCounted(self):
        """
        Rejected records are not shown: one event per rule and host counts
        them, numbered by the first.
        """
        self.analyzer().process([record(1, SESSION), record(2, CRON), record(3, SESSION),
                                 record(4, CRON + " again"), record(5, SESSION)])
        [submitted] = self.events.submitted
        events = {e["rule"]: (n, e["count"], e["application"])
                  for n, e in zip(submitted.numbers, submitted.records)}
        self.assertEqual(events, {"rules.txt:5": (ACTIONS_PER_LINE, 3, "sshd"),
                                  "rules.txt:6": (2 * ACTIONS_PER_LINE, 2, "")})

    def test_besideTheMiceRules(self):
        """
        The LogIDS alerts about a record have a link stream of their own:
        the M-ICE rules' alerts about the same record never collide.
        """
        self.assertNotEqual(logidsStream("web01", "/var/log/messages"),
                            linkStream("web01", "/var/log/messages"))
        long = logidsStream("web01", "/" + "x" * 300)
        self.assertLessEqual(len(long), 255)
        self.assertTrue(long.startswith("logids:web01|sha256:"))

    def test_recordTwiceInOneFlush(self):
        """
        A flush may hold a record twice: two ring entries of one batch, when
        the client sent it again after its link was lost or the agent was
        killed before acknowledging it.  Each action goes out once, in
        batches the ManagementHost's decoders accept (their sequence numbers
        must increase: a batch they refuse is refused at every resend, and
        the link never moves again).
        """
        chunk = [record(1, FAILED), record(2, ACCEPTED), record(3, SESSION)]
        d = self.analyzer().process(Records([chunk, list(chunk)]))
        for sender, decoder, numbers in (
                (self.management, IdmefDecoder(), [ACTIONS_PER_LINE, ACTIONS_PER_LINE + 1]),
                (self.events, EventDecoder(), [ACTIONS_PER_LINE + 2, 2 * ACTIONS_PER_LINE,
                                               3 * ACTIONS_PER_LINE])):
            [submitted] = sender.submitted
            self.assertEqual(submitted.numbers, numbers)
            decoder.decode("agent", wire.checkBatch(batch(1, submitted.stream, submitted.seq, None,
                                          submitted.records, submitted.seqs)))
            sender.acknowledge()
        self.assertEqual(self.successResultOf(d), 6)

    def test_rejectCountOfABatchSentAgainWithMore(self):
        """
        A client that sent a batch again with more lines (after a restart)
        makes two counts from the same first record in one flush: the
        larger goes out, the one that covers every record.
        """
        first = [record(1, CRON), record(2, CRON)]
        again = first + [record(3, CRON), record(4, CRON)]
        self.analyzer().process(Records([first, again]))
        [submitted] = self.events.submitted
        self.assertEqual([(n, e["count"]) for n, e in zip(submitted.numbers, submitted.records)],
                         [(ACTIONS_PER_LINE, 4)])

    def test_nothingToSend(self):
        d = self.analyzer(rules="sshd,*,reject\n").process([])
        self.assertEqual(self.successResultOf(d), 0)

    def test_reportingHost(self):
        self.assertEqual(reportingHost(FAILED, "web01", "10.0.0.2"), ("10.0.0.2", "web01"))
        self.assertEqual(reportingHost(FAILED, "loghost", "10.0.0.2"), ("", "web01"))
        self.assertEqual(reportingHost("Nov 22 10:00:01 10.1.1.1 sshd[1]: x", "a", "10.0.0.2"),
                         ("10.1.1.1", "10.1.1.1"))
        self.assertEqual(reportingHost("1.2.3.4 - - [22/Nov/2004:00:00:00 +0000] \"GET /\"",
                                       "www", "10.0.0.3"), ("10.0.0.3", "www"))
        self.assertEqual(reportingHost("2004-11-22T00:00:01 3301 1529 -1 [PROC_execute] x",
                                       "ws1", "10.0.0.4"), ("10.0.0.4", "ws1"))


class MiceRulesRecordTwiceTests(SynchronousTestCase):
    """
    C{mice_mod_pop_aa_regex} batches its alerts the same way
    (L{mice.postproc.aaregex}): a flush holding a record twice sends each
    alert once, in a batch the ManagementHost accepts.
    """

    def test_recordTwiceInOneFlush(self):
        from twisted.internet.testing import MemoryReactorClock

        from mice.postproc.aaregex import MATCHES_PER_LINE, build

        directory = os.path.abspath(self.mktemp())
        writeAgentConfigs(directory, 4455)
        analyzer = build(os.path.join(directory, "aa.conf"), MemoryReactorClock())
        self.addCleanup(analyzer.counter.close)
        management = analyzer.senders["M"] = FakeSender()
        chunk = [record(1, FAILED), record(2, CRON)]
        d = analyzer.process(Records([chunk, list(chunk)]))
        [submitted] = management.submitted
        self.assertEqual(submitted.numbers, [MATCHES_PER_LINE, MATCHES_PER_LINE + 1])
        IdmefDecoder().decode("agent", wire.checkBatch(batch(1, submitted.stream, submitted.seq, None,
                                             submitted.records, submitted.seqs)))
        management.acknowledge()
        self.assertEqual(self.successResultOf(d), 4)


_LINES = st.one_of(
    st.text(max_size=200),
    st.sampled_from([FAILED, ACCEPTED, SESSION, OTHER, CRON]).flatmap(
        lambda line: st.integers(0, len(line)).flatmap(
            lambda cut: st.text(max_size=30).map(lambda junk: line[:cut] + junk))))


class PropertyTests(SynchronousTestCase):
    @given(st.lists(_LINES, min_size=1, max_size=20),
           st.sampled_from(["web01", "", "host-ü"]), st.sampled_from(["10.0.0.2", "", "::1"]))
    def test_anyLinesGiveValidEvents(self, lines, hostname, ip):
        """
        Whatever the lines, the analyzer does not raise, every event it
        sends is one the ManagementHost's decoder accepts, and every alert
        parses back.
        """
        management, events = FakeSender(), FakeSender()
        analyzer = AaRulesAnalyzer(Settings(), engine(), {"M": management, "events": events},
                                   AlertCounter(MemoryAlertIdStore(), 1), Clock())
        records = [LogRecord("web01", "/var/log/messages", n, hostname, "", ip, "", "", "",
                             "2004-11-22", "10:00:01", line, "")
                   for n, line in enumerate(lines, 1)]
        analyzer.process(records)
        for submitted in events.submitted:
            self.assertEqual(len(EventDecoder().decode("agent", wire.checkBatch(batch(
                1, submitted.stream, submitted.seq, None, submitted.records, submitted.seqs)))),
                len(submitted.records))
            for event in submitted.records:
                checkEvent(event)
        for submitted in management.submitted:
            for document in submitted.records:
                self.assertEqual(len(fromXml(document)), 1)


class EventDecoderTests(SynchronousTestCase):
    def test_decode(self):
        record = eventRecord("display", "fw", "10.0.0.1", "iptables", "rules.txt:3",
                             "2004-11-22T10:00:01", fields=[("src_ip", "10.0.0.9")])
        [event] = EventDecoder().decode("agent1", wire.checkBatch(batch(1, "s", 512, None, [record])))
        self.assertEqual(event, ConsoleEvent(
            "agent1", "s", 512, "display", "fw", "10.0.0.1", "iptables", "rules.txt:3",
            "2004-11-22T10:00:01", (("src_ip", "10.0.0.9"),), None, None, 1))
        self.assertEqual(EventDecoder().recover("agent1", batch(1, "s", 512, None, [record])),
                         [event])

    def test_refused(self):
        good = eventRecord("drop", "fw", "", "", None, None, line="x")
        for bad in ("a string", {**good, "action": "alert"}, {**good, "loghost": 5},
                    {**good, "fields": [["a"]]}, {**good, "fields": [["a", 1]]},
                    {**good, "count": 0}, {**good, "count": True}, {**good, "fields": "ab"}):
            self.assertRaises(ProtocolError, decodeChecked, EventDecoder(), "a",
                              batch(1, "s", 1, None, [good, bad]))


class EventStoreTests(TestCase):
    async def test_storedOnce(self):
        path = os.path.abspath(self.mktemp())
        pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + path), reactor)
        store = EventStore(pool, dialect)
        self.addCleanup(store.stop)
        events = EventDecoder().decode("agent1", wire.checkBatch(batch(1, "s", 512, None, [
            eventRecord("display", "fw", "10.0.0.1", "iptables", "rules.txt:3",
                        "2004-11-22T10:00:01", fields=[("src_ip", "10.0.0.9")]),
            eventRecord("reject", "fw", "10.0.0.1", "iptables", "rules.txt:4", None, count=7)])))
        await store.process(events)
        await store.process(events)
        rows = sqlite3.connect(path).execute(
            "SELECT origin, stream, seq, loghost, action, rule, fields, count, date, time"
            " FROM console_event ORDER BY seq").fetchall()
        self.assertEqual(rows, [
            ("agent1", "s", 512, "fw", "display", "rules.txt:3", '[["src_ip", "10.0.0.9"]]', 1,
             "2004-11-22", "10:00:01"),
            ("agent1", "s", 513, "fw", "reject", "rules.txt:4", None, 7, None, None)])


def checkConfig(*paths):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["check-config", *paths])
    return status, out.getvalue(), err.getvalue()


class ConfigTests(SynchronousTestCase):
    def test_shippedConfig(self):
        settings = loadAaRules(os.path.join(ETC, "mice_mod_pop_aa_rules.conf"))
        self.assertEqual((settings.sendTo, settings.analyzerId), ("M", "MICE-LogIDS"))
        engine, problems = loadEngine(settings)
        self.assertEqual(problems, [])
        self.assertTrue(engine.rules)

    def write(self, text, name="aa.conf"):
        return temporaryFile(self, text, name)

    def test_missingAgent(self):
        path = self.write("[HOST_INFO]\nManagement = 127.0.0.1:1\n[LOGIDS]\nRules = r.txt\n"
                          "Filters = f.txt\nSendTo = \"B\"\n")
        error = self.assertRaises(ConfigError, loadAaRules, path)
        self.assertIn(f"{path}:6:", str(error))
        self.assertIn("no Agent", str(error))

    def test_checkConfigListsEveryBadLine(self):
        """
        check-config exits 1 listing every rule line that does not load,
        with file:line and the reason, for a rules file given itself or
        named by an aa_rules config.
        """
        rules = self.write("sshd,*,alert\nnot a rule\nsshd,user foo x,alert\n"
                           "sshd,user eq x,explode\n", "rules.txt")
        status, out, err = checkConfig(rules)
        self.assertEqual(status, 1)
        self.assertEqual([line.split(": ")[0] for line in err.splitlines()],
                         [f"{rules}:2", f"{rules}:3", f"{rules}:4"])
        self.assertIn("unknown action 'explode'", err)
        self.assertIn("1 rules, 3 bad line(s)", out)
        conf = self.write(f"[HOST_INFO]\nManagement = 127.0.0.1:1\n[LOGIDS]\nRules = {rules}\n"
                          f"Filters = {os.path.join(ETC, 'logids', 'filter.txt')}\n")
        status, out, err = checkConfig(conf)
        self.assertEqual(status, 1)
        self.assertEqual(len(err.splitlines()), 3)

    def test_checkConfigShipped(self):
        status, out, err = checkConfig(
            os.path.join(ETC, "mice_mod_pop_aa_rules.conf"),
            *(os.path.join(ETC, "logids", name)
              for name in ("rules.txt", "filter.txt", "netdef.txt")))
        self.assertEqual(status, 0)
        # Only the seed's passphrase is warned about.
        self.assertEqual([line for line in err.splitlines()
                          if "is a well-known default secret" not in line], [])
        self.assertIn("rules.txt: LogIDS rules file, 21 rules, OK", out)

    def test_badNetdefAndFilter(self):
        status, _, err = checkConfig(self.write("10.0.0.300 x\n", "netdef.txt"),
                                     self.write("[x]\nfields = (\n", "filter.txt"))
        self.assertEqual(status, 1)
        self.assertIn("netdef.txt:1:", err)
        self.assertIn("filter.txt:2:", err)


class ChainTests(TestCase):
    """
    DataForwarder → LogIDS analysis agent → a ManagementHost endpoint with
    an IDMEF and an event pipeline, over loopback TCP; the agent is stopped
    and started again in the middle.
    """

    timeout = 60

    async def test_agentRestartedNothingLostOrDoubled(self):
        directory = os.path.abspath(self.mktemp())
        alerts, events = MemoryPostProcessor(), MemoryPostProcessor()
        management = BufferDaemon(
            [serverFromString(reactor, "tcp:0:interface=127.0.0.1")],
            [Pipeline(IdmefDecoder(), alerts, openRing(None, 0, None, 64), name="alerts"),
             Pipeline(EventDecoder(), events, openRing(None, 0, None, 64), name="events")],
            reactor, timeInterval=0.1)
        [port] = await management.startService()
        self.addCleanup(management.stopService)
        conf = writeLogIdsAgent(os.path.join(directory, "agent"), port.getHost().port, RULES)

        agent = agentFrom(conf)
        [agentPort] = await agent.startService()
        agentAddress = agentPort.getHost().port

        log = os.path.join(directory, "messages")
        kinds = (FAILED, ACCEPTED, OTHER, SESSION, CRON)
        lines = [kinds[n % len(kinds)] + f" #{n}" for n in range(600)]
        with open(log, "w") as f:
            f.write("\n".join(lines[:300]) + "\n")
        forwarder = dataforwarder.buildForwarder(
            loadDataForwarder(writeForwarderConfig(directory, [log], analysisPort=agentAddress)),
            reactor)
        forwarder.startService()
        self.addCleanup(forwarder.stopService)

        expectedAlerts, expectedEvents, rejected = set(), set(), 0
        reference = engine()
        stream = f"logids:testhost|{log}"
        for seq, line in enumerate(lines, 1):
            for index, taken in enumerate(reference.evaluate(reference.recordFor(line))):
                key = (stream, seq * ACTIONS_PER_LINE + index)
                if taken.kind in ("alert", "warning"):
                    expectedAlerts.add(key)
                elif taken.kind == "reject":
                    rejected += 1
                else:
                    expectedEvents.add(key)

        def keys(processor, reject=False):
            return {(r.stream, r.seq) for r in processor.stored
                    if reject == (getattr(r, "action", None) == "reject")}

        half = 301 * ACTIONS_PER_LINE
        await waitFor(lambda: keys(alerts) >= {k for k in expectedAlerts if k[1] < half}
                      and keys(events) >= {k for k in expectedEvents if k[1] < half}, 20,
                      "the first half's alerts and events")
        agent = await restartedAgent(self, agent, conf, agentAddress,
                                     lambda: appendLines(log, lines[300:]))
        await waitFor(lambda: keys(alerts) >= expectedAlerts and keys(events) >= expectedEvents
                      and sum(e.count for e in events.stored if e.action == "reject")
                      >= rejected, 30, "every alert and event")
        # At least once: a repeat is the same (stream, seq) and the stores
        # keep one; nothing the rules do not take arrives.
        self.assertEqual(keys(alerts), expectedAlerts)
        self.assertEqual(keys(events), expectedEvents)
        owners = {}
        for r in alerts.stored:
            owners.setdefault(r.alerts[0].messageId, set()).add((r.stream, r.seq))
        self.assertEqual([m for m, found in owners.items() if len(found) > 1], [],
                         "a messageid is never reused")
        # The lines' syslog host, not the forwarder's (testhost).
        self.assertEqual({e.loghost for e in events.stored}, {"web01"})


class ManagementStandInTests(TestCase):
    """
    The modules of C{bufferdaemon-alertdb.conf} (C{mice_mod_dec_idmef},
    C{mice_mod_dec_event}, C{mice_mod_pop_alertdb}, C{mice_mod_pop_eventdb})
    store what an C{mice_mod_pop_aa_rules} agent sends.
    """

    timeout = 30

    async def test_alertsAndEventsStored(self):
        from mice.postproc.aarules import build

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "db.conf"), "w") as f:
            f.write("[MYSQL_SERVER]\nURL = sqlite:///alerts.db\n")
        conf = writeFile(directory, "bd-mh.conf", bufferDaemonConfig(
            [("mice_mod_dec_idmef", None, "mice_mod_pop_alertdb", "db.conf"),
             ("mice_mod_dec_event", None, "mice_mod_pop_eventdb", "db.conf")],
            timeInterval=0.1, ring="MMPATH = cache-mh\nMMSIZE = 4\n"))
        management = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        [port] = await management.startService()
        self.addCleanup(management.stopService)
        writeLogIdsAgent(directory, port.getHost().port, RULES)
        analyzer = build(os.path.join(directory, "aa-rules.conf"), reactor)
        await startedModule(self, analyzer)
        await analyzer.process([record(1, FAILED), record(2, ACCEPTED), record(3, SESSION)])
        database = os.path.join(directory, "alerts.db")

        def rows(query):
            return sqliteRows(database, query)

        await waitFor(lambda: len(rows("SELECT 1 FROM alert_entry")) == 2
                      and len(rows("SELECT 1 FROM console_event")) == 3, 10,
                      "two alerts and three events")
        self.assertEqual(rows("SELECT analyzerid, source_address FROM alert_entry"),
                         [("MICE-LogIDS", "10.0.0.7")] * 2)
        self.assertEqual(sorted(rows("SELECT action, loghost, count FROM console_event")),
                         [("display", "webserver", 1), ("icon", "webserver", 1),
                          ("reject", "webserver", 1)])
