"""
Fault tests of the analysis chain with real processes over 127.0.0.1: a
DataForwarder (C{twistd mice-dataforwarder}) follows a growing log into an
analysis agent (C{twistd mice-bufferdaemon}: C{mice_mod_dec_logformat} and
C{mice_mod_pop_aa_regex}), whose IDMEF alerts go to a ManagementHost stand-in
(C{twistd mice-bufferdaemon}: C{mice_mod_dec_idmef} and
C{mice_mod_pop_alertdb} into SQLite).  The agent, or the ManagementHost, is
killed with SIGKILL while alerts are in flight and started again: every alert
the rules raise is stored exactly once, nothing else is, and no IDMEF
messageid is given to two alerts (the AlertIDFile counter survives the kill).

What is in flight at a kill is made sure of, not left to timing: the process
is first stopped with SIGSTOP (its peers go on sending to it, and nothing is
acknowledged), and the logs afterwards must show the batches sent again and
the ring entries recovered.

The LogIDS variants (L{LogIdsAgentFaultTests}) run the same kills with the
agent's second pipeline, C{mice_mod_pop_aa_rules} with L{LOGIDS_RULES}, and
the ManagementHost's second one, C{mice_mod_dec_event} and
C{mice_mod_pop_eventdb} (C{console_event}, in the same SQLite file): the
LogIDS alerts and console events are stored exactly once too, and the
reject counts cover every rejected record.
"""

import bisect
import json
import os
import re
import shutil
import socket
from datetime import datetime
from typing import NamedTuple

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.analysis.aaregex import AaRegexMatcher
from mice.analysis.alertid import AlertIdFile
from mice.config import loadAaRegex, loadAaRules, loadBufferDaemon
from mice.forwarder.format import Timestamper
from mice.idmef import fromXml
from mice.postproc.aaregex import MATCHES_PER_LINE, linkStream
from mice.postproc.aarules import ACTIONS_PER_LINE, loadEngine, logidsStream, reportingHost
from mice.testing import SHIPPED_CONFIGS, sqliteRows, writeAgentConfigs, writeForwarderConfig
from tests.integration.processes import twistdArgv
from tests.integration.test_faults import accepting, freePort
from tests.integration.test_forwarder_faults import LogWriter, Processes, corpusLine

#: Lines the test writes (1000 a second): four alerts in every five lines
#: (SAMPLE's sshd line raises AuS and Ap_Name, the firewall DROP FwD, FAILED
#: SU AuF; the LAuS and cron lines raise nothing).
TOTAL_LINES = 6000

#: What a sender logs when its link is lost, and a BufferDaemon when its
#: ring held entries at start.
RESENT = re.compile(r"link to .* lost \(.*\); (\d+) unacknowledged batches will be sent again")
RECOVERED = r"{pipeline}: (\d+) unflushed ring entries recovered from the last run"

#: The forwarder's host name and address (its fmt.conf's HOSTNAME and IP):
#: the LogIDS records of lines without a syslog host name are its.
FORWARDER_HOST, FORWARDER_IP = "testhost", "10.0.0.2"

#: The LogIDS variants' rules, over the shipped filter.txt, on the corpus of
#: L{corpusLine}: the sshd line gets a warning and a display, the firewall
#: line an alert, an icon and a display naming a field it lacks, the su line
#: an alert, a drop and a display of the whole record; the LAuS line (no
#: filter block selects it, no rule matches it) is dropped automatically;
#: every cron line is rejected, and those whose number ends in 9 twice.
LOGIDS_RULES = r"""# The LogIDS rules of tests.integration.test_agent_faults.
sshd,event eq Accepted,warning
sshd,event eq Accepted AND user eq alice,display=user#src_ip#src_port
iptables,prefix ct DROP,alert
iptables,*,icon=firewall.bmp
iptables,dst_port = 22 AND proto eq TCP,display=src_ip#dst_ip#dst_port#nosuchfield
su,result ct ^FAILED,alert
su,*,drop
su,user eq bob,display=
*,line ct CRON\[,reject
*,line ct 9$,reject
"""
#: The agent's netdef.txt: the forwarder's address has a name.
LOGIDS_NETDEF = f"{FORWARDER_IP} collector\n"

#: The host name the agent and the ManagementHost give as their source.
SOURCE = socket.gethostname().split(".")[0] or "localhost"


def writeManagementConfigs(directory, port, database, timeInterval, batchSize, events=False):
    """
    Write the ManagementHost stand-in's BufferDaemon config: IDMEF decoded
    and stored in C{alert_entry} of the SQLite file C{database}, through a
    memory-mapped ring (what it acknowledged survives a SIGKILL); with
    C{events}, a second pipeline stores the console events in
    C{console_event} of the same file, through a ring of its own.

    @return: the config's path.
    """
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "decoder.conf"), "w") as f:
        f.write("[DECODER]\n")
    with open(os.path.join(directory, "alertdb.conf"), "w") as f:
        f.write(f"[MYSQL_SERVER]\nURL = sqlite:///{database}\nBATCHSIZE = {batchSize}\n")
    pipelines = [("mice_mod_dec_idmef", "mice_mod_pop_alertdb")]
    if events:
        pipelines.append(("mice_mod_dec_event", "mice_mod_pop_eventdb"))
    conf = os.path.join(directory, "bd-mh.conf")
    with open(conf, "w") as f:
        f.write(f"[ADDRESS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n"
                "[DECODING_MODULES]\n"
                + "".join(f"DEC_MOD = {decoder}\n" for decoder, _ in pipelines)
                + "[DECODING_MODULES_CONFIG_FILE]\n" + "DEC_FILE = decoder.conf\n" * len(pipelines)
                + "[POSTPROC_MODULES]\n"
                + "".join(f"POST_MOD = {post}\n" for _, post in pipelines)
                + "[POSTPROC_MODULES_CONFIG_FILE]\n" + "POST_FILE = alertdb.conf\n" * len(pipelines)
                + f"[TIME_INTERVALS]\nTIMEINV = {timeInterval}\n"
                "[CACHE_AND_RINGBUFFER]\nMMPATH = cache-mh\nMMSIZE = 64\nRBSIZE = 0\n")
    return conf


class AlertDatabase:
    """
    The ManagementHost stand-in's C{alert_entry} and C{console_event}, read
    with sqlite3.
    """

    def __init__(self, path):
        self.path = path

    def _query(self, sql, timeout):
        return sqliteRows(self.path, sql, timeout)

    def rows(self):
        """
        @return: C{[(origin, stream, seq, alertid, idmefmsg), ...]} ([] while
            there is no table yet).
        """
        return self._query("SELECT origin, stream, seq, alertid, idmefmsg FROM alert_entry",
                           5)

    def count(self, timeout=5):
        rows = self._query("SELECT COUNT(*) FROM alert_entry", timeout)
        return rows[0][0] if rows else 0

    def eventRows(self):
        """
        @return: C{[(origin, stream, seq, loghost, ip, application, action,
            rule, fields, icon, count, date, time, logline), ...]}, with
            C{fields} as a tuple of pairs (C{()} for none).
        """
        rows = self._query("SELECT origin, stream, seq, loghost, ip, application, action, rule,"
                           " fields, icon, count, date, time, logline FROM console_event", 5)
        return [row[:8] + (tuple(map(tuple, json.loads(row[8]))) if row[8] else (),)
                + row[9:] for row in rows]

    def progress(self):
        """
        @return: C{(alerts, events, rejected)}: the rows of C{alert_entry},
            the C{console_event} rows other than C{reject}, and the sum of
            the reject counts.
        """
        rows = self._query("SELECT COUNT(*) FROM alert_entry", 5)
        events = self._query("SELECT COALESCE(SUM(action <> 'reject'), 0),"
                             " COALESCE(SUM(CASE action WHEN 'reject' THEN count END), 0)"
                             " FROM console_event", 5)
        return (rows[0][0] if rows else 0,) + (events[0] if events else (0, 0))


class Expected(NamedTuple):
    """
    What the chain must store for the lines written so far.
    """

    alerts: dict
    """C{{(stream, seq): what the row carries}} (see L{carried})."""
    events: dict
    """C{{(stream, seq): console_event row}} of every display, icon and drop."""
    rejects: dict
    """C{{(stream, seq): (group, console_event row without its count)}} of
    every reject action; a reject event is stored under the key of the
    first record it counts."""
    rejected: dict
    """C{{group: [seq, ...]}}: the reject actions of each rule on each
    reporting host, in line order."""


def carried(row):
    """
    What an C{alert_entry} row carries, for comparing with L{Expected.alerts}:
    the ManagementHost's origin, the alertid column, the analyzer, the line
    and its origin; for a LogIDS alert also the severity, classification,
    rule, application and loghost.
    """
    origin, stream, seq, alertId, document = row
    [alert] = fromXml(document)
    out = (origin, alertId, alert.analyzerId, alert.data("log line"), alert.data("origin"))
    if stream.startswith("logids:"):
        out += (alert.severity, alert.classification, alert.data("rule"),
                alert.data("application"), alert.data("loghost"))
    return alert, out


class AnalysisChain(Processes):
    """
    The three processes in one temporary directory (removed when the test
    passes; kept, with the processes' logs, when it fails).

    @param managementInterval: the ManagementHost's TIMEINV.
    @param logids: whether the agent runs the LogIDS rules beside the M-ICE
        rules (L{LOGIDS_RULES}), and the ManagementHost stores console
        events beside alerts.
    """

    names = ("management", "agent", "dataforwarder")

    def __init__(self, case, managementInterval=0.2, managementBatch=1000, logids=False):
        self.makeDirectory(case, self.names, keepUnlessPassed=True)
        self.managementPort, self.agentPort = freePort(), freePort()
        self.store = AlertDatabase(os.path.join(self.directory, "alerts.db"))
        self.logPath = os.path.join(self.directory, "messages")
        self.writer = LogWriter(self.logPath)
        agentDirectory = os.path.join(self.directory, "agent")
        logidsOptions = {}
        if logids:
            # A copy: the agent (started twice) and the expectation read the
            # same blocks, whatever happens to the shipped file meanwhile.
            filters = os.path.join(self.directory, "filter.txt")
            shutil.copy(os.path.join(SHIPPED_CONFIGS, "logids", "filter.txt"), filters)
            logidsOptions = dict(logidsRules=LOGIDS_RULES, logidsFilters=filters,
                                 logidsNetdef=LOGIDS_NETDEF)
        agentConf = writeAgentConfigs(agentDirectory, self.managementPort,
                                      port=self.agentPort, mmSize=16, timeInterval=0.2,
                                      **logidsOptions)
        self.rules = loadAaRegex(os.path.join(agentDirectory, "aa.conf"))
        self.alertIdFiles = {self.rules.analyzerId: self.rules.alertIdFile}
        self.engine = None
        if logids:
            self.logids = loadAaRules(os.path.join(agentDirectory, "aa-rules.conf"))
            self.engine, problems = loadEngine(self.logids)
            case.assertEqual(problems, [])
            self.alertIdFiles[self.logids.analyzerId] = self.logids.alertIdFile
        managementConf = writeManagementConfigs(os.path.join(self.directory, "mh"),
                                                self.managementPort, self.store.path,
                                                managementInterval, managementBatch,
                                                events=logids)
        forwarderConf = writeForwarderConfig(
            os.path.join(self.directory, "fw"), [self.logPath], analysisPort=self.agentPort,
            sleepInterval=0.2, stateDirectory=os.path.join(self.directory, "state"),
            ip=FORWARDER_IP if logids else None)
        configs = {"management": ("mice-bufferdaemon", managementConf),
                   "agent": ("mice-bufferdaemon", agentConf),
                   "dataforwarder": ("mice-dataforwarder", forwarderConf)}
        self.argv = {name: twistdArgv(command, conf, self.logs[name])
                     for name, (command, conf) in configs.items()}
        self.pipelines = {name: [f"{spec.decoder}->{spec.postprocessor}"
                                 for spec in loadBufferDaemon(configs[name][1]).pipelines]
                          for name in ("management", "agent")}
        #: The agent's links to the ManagementHost: the M-ICE rules' alerts,
        #: and the LogIDS alerts and events.
        self.managementLinks = 3 if logids else 1
        # The forwarder stamps the lines with their own dates, the year of
        # a syslog date from the file's lines that have one (its first poll,
        # a whole chunk of the writer's, holds the first: the sample's Apache
        # line), else from its clock.
        self.timestamper = Timestamper(datetime.now(), follow=True)
        self.timestamper.readYear(corpusLine(i) for i in range(100))
        self.processes = {}
        self._expected = {}

    # -- processes -------------------------------------------------------

    def note(self, what):
        # A short timeout: the ManagementHost may be stopped holding a lock.
        self.output.write(f"--- {what} ({self.store.count(timeout=0.1)} alerts stored,"
                          f" {self.writer.written} lines written)\n".encode())
        self.output.flush()

    async def startServer(self, name):
        self.start(name)
        port = self.managementPort if name == "management" else self.agentPort
        await self.waitFor(lambda: accepting(port), 30, f"the {name} to listen")

    # -- looking ---------------------------------------------------------

    def logMark(self, name):
        """
        @return: where C{name}'s log ends now, for L{logged}.
        """
        return os.path.getsize(self.logs[name])

    async def logged(self, name, since, pattern, what, count=1):
        """
        Wait (at most 10 seconds) until C{name}'s log, after C{since}, has
        C{count} lines matching C{pattern}.

        @return: the numbers the pattern's group matched in the first
            C{count}.
        """
        found = []

        def search():
            with open(self.logs[name], encoding="utf-8", errors="replace") as f:
                f.seek(since)
                numbers = [int(n) for n in pattern.findall(f.read())]
            found[:] = numbers[:count]
            return len(numbers) >= count

        await self.waitFor(search, 10, f"the {name} to log {what}")
        return found

    async def recovered(self, name, since):
        """
        Wait until every pipeline of C{name} has logged its ring's entries
        recovered, after C{since}.

        @return: C{{pipeline: entries recovered}}.
        """
        out = {}
        for pipeline in self.pipelines[name]:
            [out[pipeline]] = await self.logged(
                name, since, re.compile(RECOVERED.format(pipeline=re.escape(pipeline))),
                f"the ring of {pipeline} recovered")
        return out

    def persistedAlertIds(self):
        """
        @return: C{{analyzer ID: the number its AlertIDFile holds}}.
        """
        return {analyzer: AlertIdFile(path).load()
                for analyzer, path in self.alertIdFiles.items()}

    def expected(self, lines=None):
        """
        @return: the L{Expected} alerts and events for the first C{lines}
            lines (by default, the lines written): every alert the M-ICE
            rules raise (routed to the ManagementHost), and with LogIDS
            every action its rules take, computed by the engine the agent
            loads, on the record the agent makes (L{reportingHost}).
        """
        lines = lines or self.writer.written
        if lines not in self._expected:
            self._expected[lines] = self._expect(lines)
        return self._expected[lines]

    def _expect(self, lines):
        matcher = AaRegexMatcher(self.rules)
        stream = linkStream(FORWARDER_HOST, self.logPath)
        logids = logidsStream(FORWARDER_HOST, self.logPath)
        alerts, events, rejects, rejected = {}, {}, {}, {}
        for lineSeq in range(1, lines + 1):
            line = corpusLine(lineSeq - 1)
            origin = f"{FORWARDER_HOST} {self.logPath} {lineSeq}"
            for index, match in enumerate(matcher.matchLine(line)):
                if match.sendTo in ("M", "B"):
                    alerts[(stream, lineSeq * MATCHES_PER_LINE + index)] = (
                        SOURCE, f"0x{match.alertId:04x}", self.rules.analyzerId, line, origin)
            if self.engine is None:
                continue
            ip, host = reportingHost(line, FORWARDER_HOST, FORWARDER_IP)
            record = self.engine.recordFor(line, ip, self.logPath, host)
            application, fields = record.application, record.fields
            date, time = self.timestamper(line)
            for index, taken in enumerate(self.engine.evaluate(record)):
                key = (logids, lineSeq * ACTIONS_PER_LINE + index)
                rule = taken.rule
                if taken.kind in ("alert", "warning"):
                    alerts[key] = (
                        SOURCE, None, self.logids.analyzerId, line, origin, taken.severity,
                        f"{application or '*'}: {rule.condition}",
                        f"{rule.where} {rule.text},{rule.action.kind}", application,
                        fields["loghost"])
                    continue
                row = (SOURCE, *key, fields["loghost"], fields["ip"], application, taken.kind,
                       None if rule is None else rule.where, taken.fields or (), taken.icon)
                if taken.kind == "reject":
                    group = (logids, rule.where, fields["loghost"], fields["ip"], application)
                    rejects[key] = (group, row + (date, time, None))
                    rejected.setdefault(group, []).append(key[1])
                else:
                    events[key] = row + (1, date, time, line if taken.kind == "drop" else None)
        return Expected(alerts, events, rejects, rejected)

    def target(self):
        """
        @return: the L{AlertDatabase.progress} of a complete store.
        """
        expected = self.expected()
        return (len(expected.alerts), len(expected.events),
                sum(len(seqs) for seqs in expected.rejected.values()))

    def progress(self):
        return (f"alerts, events and rejects stored: {self.store.progress()}, lines written:"
                f" {self.writer.written}")

    # -- the run ---------------------------------------------------------

    async def startStreaming(self):
        """
        Start the three processes on a log of 500 lines, and once their
        first alerts are stored keep appending, 100 lines every 0.1 seconds,
        until L{TOTAL_LINES} are written; then wait until a quarter of the
        alerts are stored.

        @return: a Deferred that fires when the writer is done.
        """
        await self.startServer("management")
        await self.startServer("agent")
        self.writer.append(500)
        self.start("dataforwarder")
        await self.waitFor(lambda: self.store.count() > 0, 30, "the first alerts to be stored")
        writing = ensureDeferred(self.writer.run(TOTAL_LINES, chunk=100, pause=0.1))

        def stopWriting():
            # A test that failed half-way leaves no writer behind.
            writing.addErrback(lambda f: f.trap(CancelledError))
            writing.cancel()
            return writing

        self.case.addCleanup(stopWriting)
        quarter = len(self.expected(TOTAL_LINES).alerts) // 4
        await self.waitFor(lambda: self.store.count() > quarter, 30,
                           "a quarter of the alerts to be stored")
        return writing

    async def finish(self, writing):
        """
        Let the writer finish, wait until every alert and event is stored
        (or nothing more arrives for 10 seconds: some are lost, and the
        check says which), stop the processes and check the store.

        @return: the C{alert_entry} rows.
        """
        await writing
        target = self.target()
        last, lastChange = None, reactor.seconds()
        deadline = lastChange + 60
        while reactor.seconds() < deadline:
            progress = self.store.progress()
            if all(have >= want for have, want in zip(progress, target)):
                break
            if progress != last:
                last, lastChange = progress, reactor.seconds()
            elif reactor.seconds() - lastChange > 10:
                break
            await deferLater(reactor, 0.1)
        for name in self.names[::-1]:
            await self.stop(name)
        rows = self.store.rows()
        self.assertExactlyOnce(rows)
        self.passed = True
        return rows

    def assertExactlyOnce(self, rows):
        """
        Every alert the rules raise for the lines written is stored once,
        under its own (stream, seq), carrying its own line, alert ID (M-ICE
        rules) or rule (LogIDS); nothing else is stored; no two rows of one
        analyzer share an IDMEF messageid, and each analyzer's own
        AlertIDFile, after the clean stop, is above its every messageid.
        With LogIDS, the console events too (L{_eventProblems}).
        """
        expected = self.expected()
        problems = []
        keys = [(stream, seq) for _, stream, seq, _, _ in rows]
        if len(keys) != len(set(keys)):
            problems.append(f"{len(keys) - len(set(keys))} (stream, seq) stored twice")
        missing = sorted(set(expected.alerts) - set(keys))
        extra = sorted(set(keys) - set(expected.alerts))
        for what, found in (("missing", missing), ("unexpected", extra)):
            if found:
                problems.append(f"{len(found)} alerts {what}, first {found[:5]}")
        messageIds = {}
        wrong = []
        for row in rows:
            alert, carries = carried(row)
            key = tuple(row[1:3])
            messageIds.setdefault(alert.analyzerId, {}).setdefault(
                alert.messageId, []).append(key)
            if key in expected.alerts and carries != expected.alerts[key]:
                wrong.append((key, carries, expected.alerts[key]))
        if wrong:
            problems.append(f"{len(wrong)} alerts carry another line, ID or rule, first"
                            f" {wrong[0]}")
        if set(messageIds) - set(self.alertIdFiles):
            problems.append(f"alerts of analyzers {sorted(set(messageIds) - set(self.alertIdFiles))}")
        persisted = self.persistedAlertIds()
        for analyzer, ids in messageIds.items():
            reused = {m: where for m, where in ids.items() if len(where) > 1}
            if reused:
                problems.append(f"{len(reused)} {analyzer} messageids given to two alerts,"
                                f" first {next(iter(reused.items()))}")
            highest = max(int(m) for m in ids)
            if analyzer in persisted and (persisted[analyzer] is None
                                          or persisted[analyzer] <= highest):
                problems.append(f"{analyzer}'s AlertIDFile holds {persisted[analyzer]}, not"
                                f" above messageid {highest}")
        files = {os.path.realpath(path) for path in self.alertIdFiles.values()}
        if len(files) != len(self.alertIdFiles):
            problems.append(f"the analyzers share an AlertIDFile: {self.alertIdFiles}")
        if self.engine is not None:
            problems.extend(self._eventProblems(expected, self.store.eventRows()))
        if problems:
            self.case.fail("not exactly once: " + "; ".join(problems) + "\n"
                           + self.diagnostics())

    def _eventProblems(self, expected, rows):
        """
        Every display, icon and drop event is stored once, with its fields,
        rule and loghost; nothing else is.  Every reject event is one a
        rule's reject makes (keyed by the first record of a batch that it
        rejects), and the counts cover every rejected record: an event
        counts the rule's rejected records of one batch, from its own on, so
        it covers the next C{count} of them; a record two events cover was
        counted twice (after a crash, docs/logids.rst), which is allowed.
        """
        problems = []
        keys = [(stream, seq) for _, stream, seq, *_ in rows]
        if len(keys) != len(set(keys)):
            problems.append(f"{len(keys) - len(set(keys))} events stored twice")
        shown = {(row[1], row[2]): row for row in rows if row[6] != "reject"}
        missing = sorted(set(expected.events) - set(shown))
        extra = sorted(set(shown) - set(expected.events))
        for what, found in (("missing", missing), ("unexpected", extra)):
            if found:
                problems.append(f"{len(found)} events {what}, first {found[:5]}")
        wrong = [(row, expected.events[key]) for key, row in shown.items()
                 if key in expected.events and row != expected.events[key]]
        if wrong:
            problems.append(f"{len(wrong)} events differ, first (stored, wanted) {wrong[0]}")
        covered, counted, unexpected, wrongRejects = set(), 0, [], []
        for row in rows:
            if row[6] != "reject":
                continue
            key, count = (row[1], row[2]), row[10]
            if key not in expected.rejects:
                unexpected.append(key)
                continue
            group, wanted = expected.rejects[key]
            if row[:10] + row[11:] != wanted:
                wrongRejects.append((row, wanted))
            seqs = expected.rejected[group]
            first = bisect.bisect_left(seqs, key[1])
            if first + count > len(seqs):
                wrongRejects.append((row, f"counts more than the {len(seqs) - first} records"
                                          f" rejected from its own on"))
            covered.update((group, seq) for seq in seqs[first:first + count])
            counted += count
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected reject events, first"
                            f" {unexpected[:5]}")
        if wrongRejects:
            problems.append(f"{len(wrongRejects)} reject events wrong, first {wrongRejects[0]}")
        everyRejected = {(group, seq) for group, seqs in expected.rejected.items()
                         for seq in seqs}
        if counted < len(everyRejected):
            problems.append(f"reject counts sum to {counted}, below the {len(everyRejected)}"
                            f" records rejected")
        uncovered = sorted(everyRejected - covered)
        if uncovered:
            problems.append(f"{len(uncovered)} rejected records no count covers, first"
                            f" {uncovered[:3]}")
        return problems


def messageIds(rows):
    """
    @return: C{{analyzer ID: {messageid, ...}}} of C{alert_entry} rows.
    """
    out = {}
    for *_, document in rows:
        [alert] = fromXml(document)
        out.setdefault(alert.analyzerId, set()).add(int(alert.messageId))
    return out


class AgentFaultTests(TestCase):
    """
    The chain with the M-ICE rules only.
    """

    timeout = 120
    logids = False

    async def test_agentKilled(self):
        """
        The analysis agent is killed with SIGKILL mid-stream, with the
        forwarder's batches to it unacknowledged and records in its rings
        whose alerts (and events) the ManagementHost has not acknowledged
        (both were stopped a moment with SIGSTOP), and started again with
        the same config, rings and AlertIDFiles: the forwarder sends its
        batches again, the agent analyses its rings' records again, the
        stores drop the repeats, and everything is stored exactly once.  No
        messageid the killed agent gave out is given again: for each
        analyzer they are all below the counter it had persisted, and the
        restarted agent starts there.
        """
        chain = AnalysisChain(self, logids=self.logids)
        writing = await chain.startStreaming()
        chain.suspend("management")
        await deferLater(reactor, 0.5)
        chain.suspend("agent")
        forwarderMark, agentMark = chain.logMark("dataforwarder"), chain.logMark("agent")
        await deferLater(reactor, 0.5)
        chain.kill("agent")
        persisted = chain.persistedAlertIds()
        chain.resume("management")
        self.assertFalse(writing.called, "the kill came too late to mean anything")
        [resent] = await chain.logged("dataforwarder", forwarderMark, RESENT,
                                      "that the agent's link is lost")
        self.assertGreater(resent, 0, "the forwarder had nothing in flight at the kill")
        # Only the killed agent's alerts: the restarted agent's are not
        # there yet.
        before = messageIds(chain.store.rows())
        await chain.startServer("agent")
        for pipeline, recovered in (await chain.recovered("agent", agentMark)).items():
            self.assertGreater(recovered, 0, pipeline)

        self.assertEqual(set(before), set(persisted), "an analyzer stored no alert before")
        for analyzer, ids in before.items():
            self.assertLess(max(ids), persisted[analyzer], analyzer)
        rows = await chain.finish(writing)
        after = messageIds(rows)
        for analyzer, ids in before.items():
            new = after[analyzer] - ids
            self.assertTrue(new, f"the restarted agent raised no {analyzer} alert")
            # Alerts of the killed agent that reached the ManagementHost
            # before the kill may be stored later, so only the largest is
            # sure to be new.
            self.assertGreaterEqual(max(new), persisted[analyzer], analyzer)

    async def test_managementHostKilled(self):
        """
        The ManagementHost stand-in is killed with SIGKILL mid-stream, with
        alerts (and events) it acknowledged still in its rings (it flushes
        every second; the kill comes half a second after a flush) and the
        agent's next ones unacknowledged (it was stopped a moment with
        SIGSTOP), and started again: it stores what its rings held, the
        agent sends the rest again, and everything is stored exactly once,
        with no messageid reused.
        """
        chain = AnalysisChain(self, managementInterval=1.0, managementBatch=5000,
                              logids=self.logids)
        writing = await chain.startStreaming()
        stored = chain.store.count()
        await chain.waitFor(lambda: chain.store.count() > stored, 10,
                            "the ManagementHost's next flush")
        await deferLater(reactor, 0.5)
        chain.suspend("management")
        agentMark, managementMark = chain.logMark("agent"), chain.logMark("management")
        await deferLater(reactor, 0.5)
        chain.kill("management")
        self.assertFalse(writing.called, "the kill came too late to mean anything")
        resent = await chain.logged("agent", agentMark, RESENT,
                                    "that its links to the ManagementHost are lost",
                                    count=chain.managementLinks)
        self.assertGreater(sum(resent), 0, "the agent had nothing in flight at the kill")
        await chain.startServer("management")
        for pipeline, recovered in (await chain.recovered("management", managementMark)).items():
            self.assertGreater(recovered, 0, pipeline)
        await chain.finish(writing)


class LogIdsAgentFaultTests(AgentFaultTests):
    """
    The same kills with the LogIDS rules beside the M-ICE rules in the
    agent (two pipelines of one decoder, each with its own ring and
    AlertIDFile) and the console events stored beside the alerts.
    """

    logids = True
