"""
Issue 14, end to end with real twistd processes over 127.0.0.1: a
DataForwarder follows a log file into an analysis agent (the M-ICE rules),
whose alerts go to a ManagementHost (act_generic with the shipped match
file; reaction 4, C{rid_4_countermeasure}, asks a ReactionDaemon serving the
forwarder's host), whose C{mice_mod_rct_system} runs a harmless script that
records every run in a temporary directory.

An exploit signature (alert 0x7010, in the match file's C{RID_4}) from a
documentation address gets that address banned exactly once; once the ban
is over, the same attacker again gets a second ban that lasts longer (the
escalation of C{rid_4_countermeasure.conf}).
"""

import json
import os
import shutil

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from mice.testing import SHIPPED_CONFIGS, writeManagementDaemon
from tests.integration.processes import chainArgv
from tests.integration.test_faults import accepting, freePort
from tests.integration.test_forwarder_faults import Processes
from tests.integration.test_reactiondaemon import KEY, Daemon

ATTACKER = "203.0.113.9"

#: A line the shipped M-ICE rules see as an exploit signature (Ex_Rule,
#: 0x7010) and nothing else (no sshd: Ap_Name would raise 0x6010 too),
#: naming its source with "from ADDRESS port N".
EXPLOIT = ("Nov 22 10:00:{second:02d} web01 ftpd[{pid}]: crc32 compensation attack:"
           " network attack detected from {address} port {port}")

#: The first ban's length (seconds); the second is FACTOR (2) times longer.
FIRST = 3


def writeManagementHost(directory, port, daemonPort, database):
    """
    The ManagementHost's BufferDaemon config: act_generic with the shipped
    match file and reaction 4 only, asking the ReactionDaemon on
    127.0.0.1:C{daemonPort} (serving the forwarder's host, C{testhost}).
    """
    matchfiles = os.path.join(directory, "matchfiles")
    os.makedirs(matchfiles)
    shutil.copy(os.path.join(SHIPPED_CONFIGS, "matchfiles", "match_file_aa_regex.txt"),
                matchfiles)
    with open(os.path.join(directory, "rid_4_countermeasure.conf"), "w") as f:
        f.write("[COUNTERMEASURE]\nFID = 0x000001\nPARAM = ip=source.address\n"
                f"DURATION = {FIRST}\nSCOPE = host\nESCALATE = yes\nFACTOR = 2\n"
                "MAXDURATION = 1h\nHISTORY = 1h\nSTATEDB = countermeasure.db\nTIMEOUT = 10\n"
                f"[DAEMON_1]\nADDRESS = 127.0.0.1:{daemonPort}\nSERVES = testhost\n"
                f"PASSWORD = {KEY}\n")
    with open(os.path.join(directory, "act.conf"), "w") as f:
        f.write("[REACTION_ID]\nRID = 4\n[RID_PIPENAME]\nPIPE = rid_4_countermeasure\n"
                '[ANALYZER_ID]\nANAID = "MICE-RegEx"\n'
                "[ANALYZER_MATCHFILE]\nMF = match_file_aa_regex.txt\n"
                f"[MISC]\nPIPE_PATH = {os.path.join(directory, 'run')}\n"
                f"MATCH_PATH = {matchfiles}\n"
                f"[JOURNAL]\nURL = sqlite:///{database}\nRETRY_FIRST = 0.2\nRETRY_MAX = 1\n")
    return writeManagementDaemon(directory, port,
                                 ring="MMPATH = cache-mh\nMMSIZE = 16\nRBSIZE = 0\n")


class Chain(Processes):
    """
    The forwarder, the agent and the ManagementHost in one temporary
    directory, and the ReactionDaemon (L{Daemon}) in another.
    """

    names = ("management", "agent", "dataforwarder")

    def __init__(self, case):
        self.case = case
        self.directory = os.path.abspath(case.mktemp())
        os.makedirs(self.directory)
        self.daemon = Daemon(case)
        self.managementPort, self.agentPort = freePort(), freePort()
        self.logPath = os.path.join(self.directory, "messages")
        open(self.logPath, "w").close()
        self.logs = {name: os.path.join(self.directory, name + ".log")
                     for name in self.names + ("processes",)}
        self.logs["reactiondaemon"] = self.daemon.logPath
        self.output = open(self.logs["processes"], "ab")
        case.addCleanup(self.output.close)
        self.argv = chainArgv(self.directory, self.logs, self.logPath, writeManagementHost(
                os.path.join(self.directory, "mh"), self.managementPort, self.daemon.port,
                os.path.join(self.directory, "journal.db")),
                              self.managementPort, self.agentPort, mmSize=8)
        self.processes = {}
        self.attacks = 0

    def note(self, what):
        self.output.write(f"--- {what}\n".encode())
        self.output.flush()

    def progress(self):
        return f"{self.attacks} attack lines written; runs: {self.daemon.runs()}"

    async def startAll(self):
        await self.daemon.start()
        for name, port in (("management", self.managementPort), ("agent", self.agentPort)):
            self.start(name)
            await self.waitFor(lambda port=port: accepting(port), 30, f"the {name} to listen")
        self.start("dataforwarder")

    def attack(self, address=ATTACKER):
        self.attacks += 1
        with open(self.logPath, "a") as f:
            f.write(EXPLOIT.format(second=self.attacks, pid=800 + self.attacks,
                                   address=address, port=40000 + self.attacks) + "\n")

    def applied(self, address=ATTACKER):
        return [line for line in self.daemon.runs() if line.startswith(f"apply {address} ")]

    async def active(self):
        """
        @return: the ReactionDaemon's active countermeasures (C{mice react
            --list --json}).
        """
        status, out, err = await deferToThread(self.daemon.react, "--list", "--json")
        self.case.assertEqual(status, 0, out + err)
        active = []
        for line in out.splitlines():
            message = json.loads(line)
            active.extend(message.get("active") or ())
        return active


def lasting(countermeasure):
    """
    How long an active countermeasure (from C{--list --json}) lasts, in
    whole seconds.
    """
    return round(countermeasure["until"] - countermeasure["since"])


class CountermeasureEndToEndTests(TestCase):
    timeout = 60

    async def test_exploitBannedThenEscalated(self):
        chain = Chain(self)
        await chain.startAll()

        chain.attack()
        await chain.waitFor(lambda: chain.applied(), 30, "the first ban")
        [first] = chain.applied()
        active = await chain.active()
        self.assertEqual(len(active), 1, active)
        firstDuration = lasting(active[0])
        self.assertEqual(firstDuration, FIRST, active)
        self.assertTrue(chain.daemon.banned(ATTACKER))
        # Lifted on time, and never applied twice meanwhile (a resend of the
        # same reaction id runs nothing).
        await chain.waitFor(lambda: not chain.daemon.banned(ATTACKER), 15, "the first lift")
        self.assertEqual(chain.applied(), [first])

        chain.attack()
        await chain.waitFor(lambda: len(chain.applied()) == 2, 20, "the second ban")
        active = await chain.active()
        self.assertEqual(len(active), 1, active)
        self.assertGreater(lasting(active[0]), firstDuration, active)
        self.assertEqual(lasting(active[0]), 2 * FIRST, active)
        self.assertEqual(active[0]["params"], {"ip": ATTACKER})
        # Nothing else comes: the second alert was banned once too.
        await deferLater(reactor, 1)
        self.assertEqual(len(chain.applied()), 2, chain.daemon.runs())
        self.assertEqual([line.split()[1] for line in chain.daemon.runs()],
                         [ATTACKER] * len(chain.daemon.runs()))
