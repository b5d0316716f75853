"""
The ManagementHost killed with SIGKILL mid-stream, as a real
C{twistd mice-bufferdaemon} process, and started again: every alert is
stored once, every reaction it triggers is done exactly once, pending
reactions run after the restart, and reactions the journal had recorded as
done do not run again.

The alerts come from a sender in the test process (as an analysis agent
sends them).  The reactions are reaction 2 (C{alert_entry}) and a test
agent (L{mice.testing.FileReaction}, a plugin of role C{reaction} on the
daemon's path) that appends one line per alert to a file, slowly, so jobs
are pending in the journal at the kill, and logs every call with its
process id.  What is in flight at the kill is made sure of: the daemon is
first stopped with SIGSTOP (the sender goes on sending, nothing is
acknowledged), and the journal is read while it is stopped.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.alerts import Alert, Node, alertKey
from mice.idmef import toXml
from mice.services.sender import ReliableSender
from mice.testing import sqliteRows, writeManagementDaemon
from tests import ROOT
from tests.integration.processes import twistdArgv
from tests.integration.test_faults import accepting, freePort, waitFor
from tests.integration.test_forwarder_faults import Processes, tail

#: Alerts sent in all; every other one triggers the file agent too.
TOTAL = 3000
BATCH = 30
FILE_PIPE = "rid_5_file_test"

PLUGIN = f'''
from mice.registry import ModuleFactory

fileAgent = ModuleFactory("{FILE_PIPE}", [], "reaction-agent", "mice.testing.buildFileReaction",
                          "the kill -9 tests' file agent")
'''

MATCH_FILE = """\
[ALERT_ID]
AID = 0x1010
AID = 0x8010
[ALERT_ID_DESCRIPTION]
AID_DESC = "Authentication Success"
AID_DESC = "Firewall Rule: Drop"
[RID_2]
AID_2 = 0x1010
AID_2 = 0x8010
[RID_5]
AID_5 = 0x1010
"""


def document(n):
    alert = Alert(str(n), "MICE-RegEx", "2004-11-22T10:00:01+00:00", "c",
                  alertId=0x1010 if n % 2 == 0 else 0x8010,
                  sources=(Node(address="10.0.0.%d" % (n % 250 + 1)),))
    return toXml(alert).decode()


class ManagementHostProcess(Processes):
    names = ("management",)

    def __init__(self, case, mmSize):
        self.makeDirectory(case, self.names, keepUnlessPassed=True)
        self.port = freePort()
        self.database = os.path.join(self.directory, "alerts.db")
        self.files = os.path.join(self.directory, "run")
        plugins = os.path.join(self.directory, "pluginpath", "mice", "plugins")
        os.makedirs(plugins)
        with open(os.path.join(plugins, "mice_test_agents.py"), "w") as f:
            f.write(PLUGIN)
        self.pythonPath = os.pathsep.join([ROOT, os.path.join(self.directory, "pluginpath")])
        mh = os.path.join(self.directory, "mh")
        os.makedirs(mh)
        with open(os.path.join(mh, "match.txt"), "w") as f:
            f.write(MATCH_FILE)
        with open(os.path.join(mh, FILE_PIPE + ".conf"), "w") as f:
            f.write("0.004\n")
        with open(os.path.join(mh, "act.conf"), "w") as f:
            f.write("[REACTION_ID]\nRID = 2\nRID = 5\n"
                    f"[RID_PIPENAME]\nPIPE = rid_2_send_to_alert_db\nPIPE = {FILE_PIPE}\n"
                    '[ANALYZER_ID]\nANAID = "MICE-RegEx"\n[ANALYZER_MATCHFILE]\nMF = match.txt\n'
                    f"[MISC]\nPIPE_PATH = {self.files}\nMATCH_PATH = {mh}\n"
                    f"[JOURNAL]\nURL = sqlite:///{self.database}\nIN_FLIGHT = 1\n"
                    "RETRY_FIRST = 0.2\nRETRY_MAX = 1\n")
        ring = (f"MMPATH = cache-mh\nMMSIZE = {mmSize}\nRBSIZE = 0\n" if mmSize
                else "RBSIZE = 32\n")
        conf = writeManagementDaemon(mh, self.port, ring=ring)
        self.argv = {"management": twistdArgv("mice-bufferdaemon", conf,
                                              self.logs["management"])}
        self.processes = {}

    def start(self, name):
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = self.pythonPath
        try:
            return super().start(name)
        finally:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved

    def query(self, sql):
        return sqliteRows(self.database, sql)

    def count(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else 0

    def note(self, what):
        self.output.write(f"--- {what}\n".encode())
        self.output.flush()

    def diagnostics(self):
        return "\n".join([f"in {self.directory}"] + [f"--- tail of {path}:\n{tail(path)}"
                                                     for path in self.logs.values()])

    async def waitFor(self, predicate, timeout, what):
        try:
            await waitFor(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.diagnostics()}") from None

    async def startServer(self):
        self.start("management")
        await self.waitFor(lambda: accepting(self.port), 30, "the ManagementHost to listen")

    def fileLines(self):
        path = os.path.join(self.files, FILE_PIPE + ".log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split()[0] for line in f if line.strip()]

    def calls(self):
        path = os.path.join(self.files, FILE_PIPE + ".log.calls")
        with open(path) as f:
            return [tuple(line.split()) for line in f if line.strip()]


class ManagementHostKillTests(TestCase):
    timeout = 150
    mmSize = 16

    async def send(self, host, sender, halfway):
        """
        Send every alert; the second half only once C{halfway} fires (the
        daemon is stopped then), so the kill always finds batches in flight,
        however slowly the reactions follow on a loaded machine.
        """
        for first in range(1, TOTAL + 1, BATCH):
            if first == 1 + (TOTAL // BATCH // 2) * BATCH:
                await halfway
            numbers = list(range(first, min(first + BATCH, TOTAL + 1)))
            sender.submit("s", first, None, [document(n) for n in numbers])
            await deferLater(reactor, 0.02)
        await sender.whenIdle()

    async def test_killedMidStream(self):
        host = ManagementHostProcess(self, self.mmSize)
        await host.startServer()
        sender = ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{host.port}"),
                                "agent1", "idmef", reactor, description="management host")
        sender.startService()
        self.addCleanup(sender.stopService)
        halfway = Deferred()
        sending = ensureDeferred(self.send(host, sender, halfway))

        def stopSending():
            sending.addErrback(lambda f: f.trap(CancelledError))
            sending.cancel()
            return sending

        self.addCleanup(stopSending)
        await host.waitFor(lambda: len(host.fileLines()) > 100, 60, "the first reactions")
        host.suspend("management")
        halfway.callback(None)
        await deferLater(reactor, 0.5)
        doneBefore = {key for (key,) in host.query(
            f"SELECT alertkey FROM reaction_job WHERE pipe = '{FILE_PIPE}' AND state = 'done'")}
        pendingBefore = host.count(
            f"SELECT COUNT(*) FROM reaction_job WHERE pipe = '{FILE_PIPE}'"
            " AND state = 'pending'")
        mark = os.path.getsize(host.logs["management"])
        host.kill("management")
        self.assertFalse(sending.called, "the kill came too late to mean anything")
        self.assertGreater(pendingBefore, 0, "no reaction was pending at the kill")
        self.assertGreater(len(doneBefore), 0)
        await host.startServer()

        def readBack():
            with open(host.logs["management"]) as f:
                f.seek(mark)
                return "pending jobs read back from the journal" in f.read()

        await host.waitFor(readBack, 20, "the pending jobs read back")
        await sending
        expectedFile = {alertKey("agent1", "s", n, 0) for n in range(1, TOTAL + 1)
                        if n % 2 == 0}
        await host.waitFor(
            lambda: host.count("SELECT COUNT(*) FROM reaction_job WHERE state = 'done'")
            >= TOTAL + len(expectedFile), 60, "every reaction done")
        await host.stop("management")

        expected = {alertKey("agent1", "s", n, 0) for n in range(1, TOTAL + 1)}
        rows = host.query("SELECT alertkey FROM alert_entry")
        self.assertEqual(len(rows), TOTAL)
        self.assertEqual({key for (key,) in rows}, expected)
        self.assertEqual(host.query("SELECT rid, state, COUNT(*) FROM reaction_job"
                                    " GROUP BY rid, state ORDER BY rid"),
                         [(2, "done", TOTAL), (5, "done", len(expectedFile))])
        lines = host.fileLines()
        self.assertEqual(len(lines), len(expectedFile), "a reaction done twice in the file")
        self.assertEqual(set(lines), expectedFile)
        pids = []
        for pid, _ in host.calls():
            if pid not in pids:
                pids.append(pid)
        self.assertEqual(len(pids), 2)
        again = {key for pid, key in host.calls() if pid == pids[1]} & doneBefore
        self.assertEqual(again, set(), "reactions recorded as done ran again")
        host.passed = True


class ManagementHostMemoryRingKillTests(ManagementHostKillTests):
    """
    The same with the seed's ring in memory (RBSIZE): what the daemon
    acknowledged was journaled; what it had not, the sender sends again.
    """

    mmSize = 0
