"""
The parts of L{mice.analysis.aaregex}'s tests (C{tests.unit.analysis.test_aaregex})
that run processes: C{mice analyze -c}, and the AlertIDFile shared with, or
locked by, another process.
"""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.aaregex import STRATEGIES, AaRegexMatcher, descriptionsFrom, makeAlert
from mice.analysis.alertid import AlertCounter, AlertIdFile
from mice.config import loadAaRegex, loadMatchFile
from tests.integration.processes import mice
from tests.unit.analysis.test_aaregex import (
    ETC,
    FW_DROP,
    MATCH_FILE,
    SEED,
    SSH_FAILED,
    AlertIdDirectory,
    record,
    writeConfig,
)


class SharedAlertCounterTests(AlertIdDirectory, SynchronousTestCase):
    """
    L{sharedAlertCounter}'s users in a process that dies without closing.
    """

    def test_crashedUsersNeverRepeat(self):
        """
        Without any close (a kill -9), a new process's counter starts above
        every number both users were given.
        """
        crashed = subprocess.run(
            [sys.executable, "-c",
             "import os\nfrom mice.analysis.alertid import sharedAlertCounter\n"
             f"first = sharedAlertCounter({self.path!r}, block=5)\n"
             f"second = sharedAlertCounter({self.path!r}, block=5)\n"
             "print([c.next() for _ in range(7) for c in (first, second)], flush=True)\n"
             "os._exit(9)\n"], capture_output=True, text=True, timeout=30)
        self.assertEqual(crashed.returncode, 9, crashed.stderr)
        used = json.loads(crashed.stdout)
        self.assertEqual(len(used), len(set(used)))
        # The new process: a counter of its own on the file.
        after = AlertCounter(AlertIdFile(self.path), 1, 5)
        self.addCleanup(after.close)
        self.assertGreater(after.next(), max(used))


class AnalyzeCommandTests(SynchronousTestCase):
    def setUp(self):
        self.log = self.mktemp()
        with open(self.log, "wb") as f:
            f.write("\n".join([SSH_FAILED, "Nov 22 10:00:05 gate cron[1]: (root) CMD (ls)",
                               FW_DROP, "Nov 22 10:00:06 gate su: FAILED SU (to root) bob on"
                               " /dev/pts/1 \xe9"]).encode("utf-8")
                    + b"\nNov 22 10:00:07 gate sshd[9]: bad \xff byte\n")

    def test_json(self):
        status, out, err = mice("analyze", "-c", SEED, self.log, "--json", "--tz", "UTC")
        self.assertEqual(status, 0, err)
        self.assertEqual([json.loads(line) for line in out.splitlines()], [
            {"line": 1, "alertid": "0x1020", "classification": "Authentication Failure",
             "source": "61.2.3.4", "target": None, "severity": "high", "rule": "AuF_Rule",
             "sendto": "M"},
            {"line": 1, "alertid": "0x6010", "classification": "Monitoring Application",
             "source": "61.2.3.4", "target": None, "severity": "low", "rule": "Ap_Name",
             "sendto": "M"},
            {"line": 3, "alertid": "0x8010", "classification": "Firewall Rule: Drop",
             "source": "61.2.3.4", "target": "10.0.0.1", "severity": "high",
             "rule": "FwD_Rule", "sendto": "M"},
            {"line": 4, "alertid": "0x1020", "classification": "Authentication Failure",
             "source": None, "target": None, "severity": "high", "rule": "AuF_Rule",
             "sendto": "M"},
            {"line": 5, "alertid": "0x6010", "classification": "Monitoring Application",
             "source": None, "target": None, "severity": "low", "rule": "Ap_Name",
             "sendto": "M"},
        ])
        self.assertIn("5 lines, 4 matched a rule, 5 alerts", err)
        for key, count in (("AuS_Rule", 0), ("AuF_Rule", 2), ("Ap_Name", 2), ("Ex_Rule", 0),
                           ("FwD_Rule", 1), ("FwA_Rule", 0), ("FwI_Rule", 0)):
            self.assertTrue(re.search(rf"{key} +0x[0-9a-f]{{4}} SendTo=M: {count}\n", err),
                            (key, err))

    def test_listing(self):
        status, out, err = mice("analyze", "-c", SEED, self.log)
        self.assertEqual(status, 0, err)
        self.assertIn("1: 0x1020 Authentication Failure [AuF_Rule -> M] high 61.2.3.4 -> -",
                      out)
        self.assertIn("bad \\xff byte", out)
        self.assertIn("FwD_Rule  0x8010 SendTo=M: 1", out)
        self.assertEqual(err, "")

    def test_errors(self):
        status, _, err = mice("analyze", "-c", SEED, self.log + ".missing")
        self.assertEqual(status, 1)
        self.assertIn("No such file", err)
        bad = writeConfig(self, "[AUTH]\nAuSendTo = \"Q\"\n")
        status, _, err = mice("analyze", "-c", bad, self.log)
        self.assertEqual(status, 1)
        self.assertIn(f"{bad}:2:", err)
        status, _, err = mice("analyze", "--rules", "rules.txt", self.log)
        self.assertEqual(status, 2)
        self.assertIn("--rules and --filters go together", err)

    def test_strategiesAgree(self):
        outputs = {mice("analyze", "-c", SEED, self.log, "--json", "--tz", "UTC",
                        "--strategy", s)[1] for s in STRATEGIES if s != "hyperscan"}
        self.assertEqual(len(outputs), 1)


class FastPathTests(SynchronousTestCase):
    """
    The faster paths (matchIndexed, addressesFor, mice analyze's reading and
    output) give what the plain ones give.
    """

    def test_outputIsTheAlerts(self):
        """
        mice analyze --json and the listing print what makeAlert's alerts
        say, on a gencorpus sample with CRLF lines and bad bytes in it.
        """
        sys.path.insert(0, os.path.join(os.path.dirname(ETC), os.pardir, "bench"))
        try:
            from gencorpus import generate
        finally:
            sys.path.pop(0)
        lines = list(generate(5000, 2))
        raw = [line.encode("utf-8") + (b" \xff\rx" if i % 11 == 0 else b"")
               for i, line in enumerate(lines)]
        log = self.mktemp()
        with open(log, "wb") as f:
            f.write(b"".join(data + (b"\r\n" if i % 7 == 0 else b"\n")
                             for i, data in enumerate(raw)))
        settingsSeed = loadAaRegex(SEED)
        matcher = AaRegexMatcher(settingsSeed)
        descriptions = descriptionsFrom(loadMatchFile(MATCH_FILE))
        now = datetime(2004, 11, 22, 12)
        expectedJson, expectedListing = [], []
        for number, data in enumerate(raw, 1):
            line = data.decode("utf-8", "backslashreplace")
            rec = record(line, number, "", "", "", "")
            for match in matcher.matchLine(line):
                alert = makeAlert(rec, match, 1, "MICE-RegEx", descriptions, now, UTC)
                source = alert.sources[0].address if alert.sources else None
                target = alert.targets[0].address if alert.targets else None
                aid = None if match.alertId is None else f"0x{match.alertId:04x}"
                expectedJson.append(json.dumps({
                    "line": number, "alertid": aid, "classification": alert.classification,
                    "source": source, "target": target, "severity": alert.severity,
                    "rule": match.key, "sendto": match.sendTo}))
                expectedListing.append(
                    f"{number}: {aid or '-'} {alert.classification} [{match.key} ->"
                    f" {match.sendTo}] {alert.severity} {source or '-'} -> {target or '-'}")
                expectedListing.append(f"    {line}")
        self.assertGreater(len(expectedJson), 1000)
        status, out, err = mice("analyze", "-c", SEED, log, "--json", "--tz", "UTC")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.split("\n"), expectedJson + [""])
        status, out, err = mice("analyze", "-c", SEED, log, "--tz", "UTC")
        self.assertEqual(status, 0, err)
        # (mice() reads the output as text: with universal newlines.)
        listing = "\n".join(expectedListing) + "\n"
        listing = listing.replace("\r\n", "\n").replace("\r", "\n")
        self.assertEqual(out[:len(listing)], listing)
        self.assertIn("5000 lines, ", out[len(listing):])


class AlertIdFileLockTests(SynchronousTestCase):
    """
    Two processes counting in one AlertIDFile would hand out the same
    numbers: the second is refused while the first counts.
    """

    def test_secondProcessRefused(self):
        path = os.path.join(os.path.abspath(self.mktemp()), "alertid")
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys\nfrom mice.analysis.alertid import AlertCounter, AlertIdFile\n"
             f"c = AlertCounter(AlertIdFile({path!r}))\nprint(c.next(), flush=True)\n"
             "sys.stdin.read()\nc.close()\n"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.stdin.close)
        self.assertEqual(holder.stdout.readline().strip(), "1")
        error = self.assertRaises(ValueError, AlertCounter, AlertIdFile(path))
        self.assertIn(f"{path}: this AlertIDFile is in use by another process"
                      f" (pid {holder.pid})", str(error))
        holder.stdin.close()
        holder.wait()
        counter = AlertCounter(AlertIdFile(path))
        self.addCleanup(counter.close)
        self.assertEqual(counter.next(), 2, "numbering goes on where the first stopped")
