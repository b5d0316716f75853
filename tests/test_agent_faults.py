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
"""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
from contextlib import closing

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.aaregex import AaRegexMatcher, AlertIdFile
from mice.config import loadAaRegex
from mice.idmef import fromXml
from mice.postproc.aaregex import MATCHES_PER_LINE
from mice.testing import writeAgentConfigs, writeForwarderConfig
from tests.test_faults import TWISTD, accepting, freePort, waitFor
from tests.test_forwarder_faults import LogWriter, corpusLine, tail

#: Lines the test writes (1000 a second): four alerts in every five lines
#: (SAMPLE's sshd line raises AuS and Ap_Name, the firewall DROP FwD, FAILED
#: SU AuF; the LAuS and cron lines raise nothing).
TOTAL_LINES = 6000

#: What a sender logs when its link is lost, and a BufferDaemon when its
#: ring held entries at start.
RESENT = re.compile(r"link to .* lost \(.*\); (\d+) unacknowledged batches will be sent again")
RECOVERED = re.compile(r"(\d+) unflushed ring entries recovered from the last run")


def writeManagementConfigs(directory, port, database, timeInterval, batchSize):
    """
    Write the ManagementHost stand-in's BufferDaemon config: IDMEF decoded
    and stored in C{alert_entry} of the SQLite file C{database}, through a
    memory-mapped ring (what it acknowledged survives a SIGKILL).

    @return: the config's path.
    """
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "decoder.conf"), "w") as f:
        f.write("[DECODER]\n")
    with open(os.path.join(directory, "alertdb.conf"), "w") as f:
        f.write(f"[MYSQL_SERVER]\nURL = sqlite:///{database}\nBATCHSIZE = {batchSize}\n")
    conf = os.path.join(directory, "bd-mh.conf")
    with open(conf, "w") as f:
        f.write(f"[ADDRESS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n"
                "[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_idmef\n"
                "[DECODING_MODULES_CONFIG_FILE]\nDEC_FILE = decoder.conf\n"
                "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_alertdb\n"
                "[POSTPROC_MODULES_CONFIG_FILE]\nPOST_FILE = alertdb.conf\n"
                f"[TIME_INTERVALS]\nTIMEINV = {timeInterval}\n"
                "[CACHE_AND_RINGBUFFER]\nMMPATH = cache-mh\nMMSIZE = 64\nRBSIZE = 0\n")
    return conf


class AlertDatabase:
    """
    The ManagementHost stand-in's C{alert_entry}, read with sqlite3.
    """

    def __init__(self, path):
        self.path = path

    def _query(self, sql, timeout):
        if not os.path.exists(self.path):
            return []
        try:
            with closing(sqlite3.connect(self.path, timeout=timeout)) as db:
                return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []

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


class AnalysisChain:
    """
    The three processes in one temporary directory (removed when the test
    passes; kept, with the processes' logs, when it fails).

    @param managementInterval: the ManagementHost's TIMEINV.
    """

    names = ("management", "agent", "dataforwarder")

    def __init__(self, case, managementInterval=0.2, managementBatch=1000):
        self.case = case
        self.directory = os.path.abspath(case.mktemp())
        os.makedirs(self.directory)
        self.passed = False
        case.addCleanup(self._removeIfPassed)
        self.managementPort, self.agentPort = freePort(), freePort()
        self.store = AlertDatabase(os.path.join(self.directory, "alerts.db"))
        self.logPath = os.path.join(self.directory, "messages")
        self.writer = LogWriter(self.logPath)
        self.logs = {name: os.path.join(self.directory, name + ".log")
                     for name in self.names + ("processes",)}
        self.output = open(self.logs["processes"], "ab")
        case.addCleanup(self.output.close)
        agentDirectory = os.path.join(self.directory, "agent")
        agentConf = writeAgentConfigs(agentDirectory, self.managementPort,
                                      port=self.agentPort, mmSize=16, timeInterval=0.2)
        self.rules = loadAaRegex(os.path.join(agentDirectory, "aa.conf"))
        managementConf = writeManagementConfigs(os.path.join(self.directory, "mh"),
                                                self.managementPort, self.store.path,
                                                managementInterval, managementBatch)
        forwarderConf = writeForwarderConfig(
            os.path.join(self.directory, "fw"), [self.logPath], analysisPort=self.agentPort,
            sleepInterval=0.2, stateDirectory=os.path.join(self.directory, "state"))
        configs = {"management": ("mice-bufferdaemon", managementConf),
                   "agent": ("mice-bufferdaemon", agentConf),
                   "dataforwarder": ("mice-dataforwarder", forwarderConf)}
        self.argv = {name: TWISTD + ["--nodaemon", "--pidfile=", "--logfile", self.logs[name],
                                     command, "-c", conf]
                     for name, (command, conf) in configs.items()}
        self.processes = {}

    def _removeIfPassed(self):
        if self.passed:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- processes -------------------------------------------------------

    def note(self, what):
        # A short timeout: the ManagementHost may be stopped holding a lock.
        self.output.write(f"--- {what} ({self.store.count(timeout=0.1)} alerts stored,"
                          f" {self.writer.written} lines written)\n".encode())
        self.output.flush()

    def start(self, name):
        self.note(f"starting {name}")
        process = subprocess.Popen(self.argv[name], stdout=self.output,
                                   stderr=subprocess.STDOUT, cwd=self.directory,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def reap():
            if process.poll() is None:
                process.kill()
            process.wait()

        self.case.addCleanup(reap)
        self.processes[name] = process

    async def startServer(self, name):
        self.start(name)
        port = self.managementPort if name == "management" else self.agentPort
        await self.waitFor(lambda: accepting(port), 30, f"the {name} to listen")

    def suspend(self, name):
        """
        Stop C{name} with SIGSTOP: its connections stay open, and it reads
        and acknowledges nothing until L{resume} (or a kill).
        """
        os.kill(self.processes[name].pid, signal.SIGSTOP)
        self.note(f"suspended {name} with SIGSTOP")

    def resume(self, name):
        os.kill(self.processes[name].pid, signal.SIGCONT)
        self.note(f"resumed {name} with SIGCONT")

    def kill(self, name):
        process = self.processes.pop(name)
        self.case.assertIsNone(process.poll(), f"{name} died by itself\n{self.diagnostics()}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.note(f"killed {name} with SIGKILL")

    async def stop(self, name):
        """
        Stop C{name} with SIGTERM and check that it shut down cleanly.
        """
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        await self.waitFor(lambda: process.poll() is not None, 30, f"{name} to stop")
        self.case.assertIn(process.returncode, (0, -signal.SIGTERM), self.diagnostics())
        self.case.assertIn("Server Shut Down.", tail(self.logs[name], 5), self.diagnostics())

    # -- looking ---------------------------------------------------------

    def logMark(self, name):
        """
        @return: where C{name}'s log ends now, for L{logged}.
        """
        return os.path.getsize(self.logs[name])

    async def logged(self, name, since, pattern, what):
        """
        Wait (at most 10 seconds) until C{name}'s log, after C{since}, has a
        line matching C{pattern}.

        @return: the number the pattern's group matched.
        """
        found = []

        def search():
            with open(self.logs[name], encoding="utf-8", errors="replace") as f:
                f.seek(since)
                match = pattern.search(f.read())
            if match:
                found.append(int(match.group(1)))
            return bool(match)

        await self.waitFor(search, 10, f"the {name} to log {what}")
        return found[0]

    def persistedAlertId(self):
        return AlertIdFile(self.rules.alertIdFile).load()

    def expected(self, lines=None):
        """
        @return: C{{(stream, seq): (line, alert ID)}} of every alert the
            rules raise (routed to the ManagementHost) for the first C{lines}
            lines (by default, the lines written).
        """
        matcher = AaRegexMatcher(self.rules)
        stream = f"testhost|{self.logPath}"
        out = {}
        for lineSeq in range(1, (lines or self.writer.written) + 1):
            line = corpusLine(lineSeq - 1)
            for index, match in enumerate(matcher.matchLine(line)):
                if match.sendTo in ("M", "B"):
                    out[(stream, lineSeq * MATCHES_PER_LINE + index)] = (line, match.alertId)
        return out

    def diagnostics(self):
        parts = [f"in {self.directory}"]
        for path in self.logs.values():
            parts.append(f"--- tail of {path}:\n{tail(path)}")
        return "\n".join(parts)

    async def waitFor(self, predicate, timeout, what):
        try:
            await waitFor(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e} (alerts stored: {self.store.count()}, lines written:"
                                 f" {self.writer.written})\n{self.diagnostics()}") from None

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
        quarter = len(self.expected(TOTAL_LINES)) // 4
        await self.waitFor(lambda: self.store.count() > quarter, 30,
                           "a quarter of the alerts to be stored")
        return writing

    async def finish(self, writing):
        """
        Let the writer finish, wait until every alert is stored (or nothing
        more arrives for 10 seconds: alerts are lost, and the check says
        which), stop the processes and check the store.

        @return: the rows stored.
        """
        await writing
        total = len(self.expected())
        last, lastChange = -1, reactor.seconds()
        deadline = lastChange + 60
        while reactor.seconds() < deadline:
            count = self.store.count()
            if count >= total:
                break
            if count != last:
                last, lastChange = count, reactor.seconds()
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
        under its own (stream, seq), carrying its own line and alert ID;
        nothing else is stored; no two rows share an IDMEF messageid, and the
        AlertIDFile, after the clean stop, is above every messageid.
        """
        expected = self.expected()
        origin = socket.gethostname().split(".")[0] or "localhost"
        problems = []
        keys = [(stream, seq) for _, stream, seq, _, _ in rows]
        if len(keys) != len(set(keys)):
            problems.append(f"{len(keys) - len(set(keys))} (stream, seq) stored twice")
        missing = sorted(set(expected) - set(keys))
        extra = sorted(set(keys) - set(expected))
        for what, found in (("missing", missing), ("unexpected", extra)):
            if found:
                problems.append(f"{len(found)} alerts {what}, first {found[:5]}")
        messageIds = {}
        wrong = []
        for rowOrigin, stream, seq, alertId, document in rows:
            [alert] = fromXml(document)
            messageIds.setdefault(alert.messageId, []).append((stream, seq))
            if (stream, seq) not in expected:
                continue
            line, wantedId = expected[(stream, seq)]
            carried = (rowOrigin, alertId, alert.data("log line"), alert.data("origin"))
            wanted = (origin, f"0x{wantedId:04x}", line,
                      f"testhost {self.logPath} {seq // MATCHES_PER_LINE}")
            if carried != wanted:
                wrong.append((seq, carried, wanted))
        if wrong:
            problems.append(f"{len(wrong)} alerts carry another line or ID, first {wrong[0]}")
        reused = {m: where for m, where in messageIds.items() if len(where) > 1}
        if reused:
            problems.append(f"{len(reused)} messageids given to two alerts, first"
                            f" {next(iter(reused.items()))}")
        numbers = [int(m) for m in messageIds]
        persisted = self.persistedAlertId()
        if numbers and (persisted is None or persisted <= max(numbers)):
            problems.append(f"AlertIDFile holds {persisted}, not above messageid {max(numbers)}")
        if problems:
            self.case.fail("not exactly once: " + "; ".join(problems) + "\n"
                           + self.diagnostics())


def messageIds(rows):
    return {int(fromXml(document)[0].messageId) for *_, document in rows}


class AgentFaultTests(TestCase):
    timeout = 120

    async def test_agentKilled(self):
        """
        The analysis agent is killed with SIGKILL mid-stream, with the
        forwarder's batches to it unacknowledged and records in its ring
        whose alerts the ManagementHost has not acknowledged (both were
        stopped a moment with SIGSTOP), and started again with the same
        config, ring and AlertIDFile: the forwarder sends its batches again,
        the agent analyses its ring's records again, the store drops the
        repeats, and every alert is stored exactly once.  No messageid the
        killed agent gave out is given again: they are all below the counter
        it had persisted, and the restarted agent starts there.
        """
        chain = AnalysisChain(self)
        writing = await chain.startStreaming()
        chain.suspend("management")
        await deferLater(reactor, 0.5)
        chain.suspend("agent")
        forwarderMark, agentMark = chain.logMark("dataforwarder"), chain.logMark("agent")
        await deferLater(reactor, 0.5)
        chain.kill("agent")
        persisted = chain.persistedAlertId()
        chain.resume("management")
        self.assertFalse(writing.called, "the kill came too late to mean anything")
        resent = await chain.logged("dataforwarder", forwarderMark, RESENT,
                                    "that the agent's link is lost")
        self.assertGreater(resent, 0, "the forwarder had nothing in flight at the kill")
        await chain.startServer("agent")
        recovered = await chain.logged("agent", agentMark, RECOVERED, "its ring recovered")
        self.assertGreater(recovered, 0)

        before = messageIds(chain.store.rows())
        self.assertTrue(before)
        self.assertLess(max(before), persisted)
        rows = await chain.finish(writing)
        after = messageIds(rows) - before
        self.assertTrue(after, "the restarted agent raised no alert")
        # Alerts of the killed agent that reached the ManagementHost before
        # the kill may be stored later, so only the largest is sure to be new.
        self.assertGreaterEqual(max(after), persisted)

    async def test_managementHostKilled(self):
        """
        The ManagementHost stand-in is killed with SIGKILL mid-stream, with
        alerts it acknowledged still in its ring (it flushes every second;
        the kill comes half a second after a flush) and the agent's next
        alerts unacknowledged (it was stopped a moment with SIGSTOP), and
        started again: it stores what its ring held, the agent sends the
        rest again, and every alert is stored exactly once, with no
        messageid reused.
        """
        chain = AnalysisChain(self, managementInterval=1.0, managementBatch=5000)
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
                                    "that the ManagementHost's link is lost")
        self.assertGreater(resent, 0, "the agent had nothing in flight at the kill")
        await chain.startServer("management")
        recovered = await chain.logged("management", managementMark, RECOVERED,
                                       "its ring recovered")
        self.assertGreater(recovered, 0)
        await chain.finish(writing)
