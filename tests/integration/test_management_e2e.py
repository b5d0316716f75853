"""
Issue 13, end to end with real twistd processes over 127.0.0.1: a
DataForwarder follows a growing log into an analysis agent (the M-ICE
rules), whose alerts go to a ManagementHost running the real reactions 1
(syslog, to a UNIX datagram socket the test listens on), 2 (C{alert_entry}
in the journal's SQLite file), 3 (save to file) and 5, an external program's
FIFO read by C{python -m mice.reactors.fiforeader}.

The ManagementHost is killed with SIGKILL mid-stream, at points the test
observes rather than times (half the lines written and the rest after the
kill; the FIFO's jobs pending, its reader attached only after the
restart; SIGSTOP first, so the journal is read as the kill finds it) and
started again: every alert is stored exactly once and every reaction it asks for is done:
the file and the FIFO reader's output hold each expected alert exactly once
(reaction 3 skips a repeat by its key, remembered from the file's end; the
reader skips a key it has seen), and the syslog socket got a line for each
(a repeat allowed: syslog keeps nothing to dedupe on).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.config import loadMatchFile
from mice.testing import SHIPPED_CONFIGS, writeManagementDaemon
from tests.integration.processes import chainArgv
from tests.integration.test_faults import accepting, freePort
from tests.integration.test_forwarder_faults import LogWriter, Processes, tail

#: Lines written (SAMPLE's five kinds: four alerts in every five lines).
TOTAL_LINES = 1500
EXPECTED_ALERTS = TOTAL_LINES // 5 * 4
FIFO_PIPE = "rid_5_e2e_reader"

#: The external reaction gets the authentication failures and the firewall
#: drops (the shipped match file's RID_5 is empty).
RID_5 = "[RID_5]\nAID_5 = 0x1020\nAID_5 = 0x8010\n"

KEY = re.compile(rb' key="([^"]+)"')


class Datagrams(DatagramProtocol):
    def __init__(self):
        self.received = []

    def datagramReceived(self, data, address):
        self.received.append(data)


class Deployment(Processes):
    names = ("management", "agent", "dataforwarder")

    def __init__(self, case):
        self.case = case
        self.directory = os.path.abspath(case.mktemp())
        os.makedirs(self.directory)
        self.passed = False
        case.addCleanup(self._removeIfPassed)
        self.managementPort, self.agentPort = freePort(), freePort()
        self.logPath = os.path.join(self.directory, "messages")
        self.writer = LogWriter(self.logPath)
        self.logs = {name: os.path.join(self.directory, name + ".log")
                     for name in self.names + ("processes", "reader")}
        self.output = open(self.logs["processes"], "ab")
        case.addCleanup(self.output.close)
        # A short path for the socket (108 bytes at most).
        socketDirectory = tempfile.mkdtemp(prefix="mice-e2e-")
        case.addCleanup(shutil.rmtree, socketDirectory, True)
        self.syslogPath = os.path.join(socketDirectory, "log")
        self.syslog = Datagrams()
        port = reactor.listenUNIXDatagram(self.syslogPath, self.syslog)
        case.addCleanup(port.stopListening)
        mh = os.path.join(self.directory, "mh")
        self.database = os.path.join(self.directory, "journal.db")
        self.savedPath = os.path.join(self.directory, "alerts.idmef")
        self.pipePath = os.path.join(self.directory, "run")
        self.fifo = os.path.join(self.pipePath, FIFO_PIPE)
        self.readerOut = os.path.join(self.directory, "reader.jsonl")
        self.argv = chainArgv(self.directory, self.logs, self.logPath, self._writeManagementHost(mh),
                              self.managementPort, self.agentPort, mmSize=16)
        self.processes = {}

    def _writeManagementHost(self, directory):
        matchfiles = os.path.join(directory, "matchfiles")
        os.makedirs(matchfiles)
        with open(os.path.join(SHIPPED_CONFIGS, "matchfiles", "match_file_aa_regex.txt")) as f:
            text = f.read()
        text = text.replace("[RID_5]\n", RID_5)
        matchPath = os.path.join(matchfiles, "match_file_aa_regex.txt")
        with open(matchPath, "w") as f:
            f.write(text)
        self.matchFile = loadMatchFile(matchPath)
        with open(os.path.join(directory, "rid_1_write_to_syslog.conf"), "w") as f:
            f.write(f"[WRITE_TO_SYSLOG]\nTARGET = unix:{self.syslogPath}\nFORMAT = rfc3164\n"
                    "FACILITY = auth\nSEVERITY = idmef\nTAG = mice\nMAXLENGTH = 2048\n")
        with open(os.path.join(directory, "rid_3_save_to_file.conf"), "w") as f:
            f.write(f"[SAVE_TO_FILE]\nPATH = {self.savedPath}\nMODE = 0640\n"
                    "REMEMBER = 4096\nSYNC = no\n")
        with open(os.path.join(directory, FIFO_PIPE + ".conf"), "w") as f:
            f.write("[FIFO]\nMODE = 0600\nMAXHELD = 256\nTIMEOUT = 30\n")
        with open(os.path.join(directory, "act.conf"), "w") as f:
            f.write("[REACTION_ID]\nRID = 1\nRID = 2\nRID = 3\nRID = 5\n"
                    "[RID_PIPENAME]\nPIPE = rid_1_write_to_syslog\n"
                    "PIPE = rid_2_send_to_alert_db\nPIPE = rid_3_save_to_file\n"
                    f"PIPE = {FIFO_PIPE}\n"
                    '[ANALYZER_ID]\nANAID = "MICE-RegEx"\n'
                    "[ANALYZER_MATCHFILE]\nMF = match_file_aa_regex.txt\n"
                    f"[MISC]\nPIPE_PATH = {self.pipePath}\nMATCH_PATH = {matchfiles}\n"
                    f"[JOURNAL]\nURL = sqlite:///{self.database}\n"
                    "RETRY_FIRST = 0.2\nRETRY_MAX = 1\n")
        return writeManagementDaemon(directory, self.managementPort,
                                     ring="MMPATH = cache-mh\nMMSIZE = 16\nRBSIZE = 0\n")

    def _removeIfPassed(self):
        if self.passed:
            shutil.rmtree(self.directory, ignore_errors=True)

    def note(self, what):
        self.output.write(f"--- {what} ({self.count('SELECT COUNT(*) FROM alert_entry', 0.1)}"
                          f" alerts stored, {self.writer.written} lines written)\n".encode())
        self.output.flush()

    def progress(self):
        return (f"{self.writer.written} lines written, "
                f"{self.count('SELECT COUNT(*) FROM alert_entry')} alerts stored")

    def diagnostics(self):
        return "\n".join([f"in {self.directory}"] + [f"--- tail of {path}:\n{tail(path)}"
                                                     for path in self.logs.values()])

    def query(self, sql, timeout=5):
        import sqlite3
        from contextlib import closing

        if not os.path.exists(self.database):
            return []
        try:
            with closing(sqlite3.connect(self.database, timeout=timeout)) as db:
                return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []

    def count(self, sql, timeout=5):
        rows = self.query(sql, timeout)
        return rows[0][0] if rows else 0

    async def startServer(self, name):
        self.start(name)
        port = self.managementPort if name == "management" else self.agentPort
        await self.waitFor(lambda: accepting(port), 30, f"the {name} to listen")

    async def startReader(self):
        await self.waitFor(lambda: os.path.exists(self.fifo), 10, "the FIFO")
        log = open(self.logs["reader"], "ab")
        self.case.addCleanup(log.close)
        process = subprocess.Popen([sys.executable, "-m", "mice.reactors.fiforeader",
                                    self.fifo, "--out", self.readerOut],
                                   stdout=log, stderr=subprocess.STDOUT)

        def reap():
            if process.poll() is None:
                process.terminate()
            process.wait()

        self.case.addCleanup(reap)
        self.reader = process

    # -- what the reactions did ---------------------------------------------

    def syslogKeys(self):
        keys = []
        for datagram in self.syslog.received:
            found = KEY.search(datagram)
            if found is not None:
                keys.append(found.group(1).decode())
        return keys

    def savedDocuments(self):
        if not os.path.exists(self.savedPath):
            return []
        with open(self.savedPath, "rb") as f:
            return [line for line in f.read().split(b"\n") if line]

    def readerKeys(self):
        if not os.path.exists(self.readerOut):
            return []
        with open(self.readerOut) as f:
            return [json.loads(line)["key"] for line in f if line.strip()]


class ManagementEndToEndTests(TestCase):
    timeout = 90

    async def test_allReactionsThroughAKill(self):
        """
        The kill is placed by what the test observes, never by a clock (a
        loaded machine runs the chain at any speed): half the lines are
        written, the rest only after the kill; the FIFO's reader is started
        only after the restart, so its jobs are pending at the kill whatever
        the speed of the other reactions.
        """
        from mice.reactors.framing import documentLine

        chain = Deployment(self)
        await chain.startServer("management")
        await chain.startServer("agent")
        chain.start("dataforwarder")
        await chain.writer.run(TOTAL_LINES // 2, chunk=50, pause=0.05)
        await chain.waitFor(lambda: chain.count("SELECT COUNT(*) FROM alert_entry") > 150, 30,
                            "the first alerts stored")
        await chain.waitFor(
            lambda: chain.count("SELECT COUNT(*) FROM reaction_job WHERE state = 'pending'"
                                f" AND pipe = '{FIFO_PIPE}'") > 0, 30,
            "the FIFO's jobs pending (no reader yet)")
        chain.suspend("management")
        pending = chain.count("SELECT COUNT(*) FROM reaction_job WHERE state = 'pending'")
        chain.kill("management")
        self.assertLess(chain.writer.written, TOTAL_LINES, "the kill came after the stream")
        self.assertGreater(pending, 0, "no reaction was pending at the kill")
        await chain.startServer("management")
        await chain.startReader()
        await chain.writer.run(TOTAL_LINES, chunk=50, pause=0.05)
        await chain.waitFor(
            lambda: chain.count("SELECT COUNT(*) FROM alert_entry") >= EXPECTED_ALERTS, 40,
            "every alert stored")
        await chain.waitFor(
            lambda: chain.count("SELECT COUNT(*) FROM reaction_job WHERE state <> 'done'") == 0,
            20, "every reaction done")
        await deferLater(reactor, 0.5)

        rows = chain.query("SELECT alertkey, alertid, idmefmsg FROM alert_entry")
        self.assertEqual(len(rows), EXPECTED_ALERTS, f"{pending} pending at the kill")
        self.assertEqual(len({key for key, _, _ in rows}), EXPECTED_ALERTS)
        aids = {key: int(aid, 0) if isinstance(aid, str) else aid for key, aid, _ in rows}

        def expected(rid):
            listed = set(chain.matchFile.reactions.get(rid, ()))
            return {key for key, aid in aids.items() if aid in listed}

        syslog = chain.syslogKeys()
        self.assertEqual(set(syslog), expected(1))
        saved = chain.savedDocuments()
        self.assertEqual(len(saved), len(set(saved)), "a document saved twice")
        self.assertEqual(set(saved), {documentLine(document) for key, aid, document in rows
                                      if key in expected(3)})
        reader = chain.readerKeys()
        self.assertEqual(len(reader), len(set(reader)))
        self.assertEqual(set(reader), expected(5))
        self.assertTrue(expected(5) and expected(1))
        chain.passed = True

