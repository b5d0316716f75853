"""
C{mice analyze} as a process: with no rule option it runs the default
content (M-ICE rules, LogIDS rules, correlation rules) as C{mice-allinone}
does; any combination of C{-c}, C{--rules}/C{--filters} and
C{--correlate}; standard input; C{--ruleperf}.  The loop itself:
C{tests.unit.analysis.test_offline}.
"""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from mice.analysis.correlation import DEFAULT_RULES
from mice.analysis.offline import defaultContent
from mice.config import loadAaRules
from tests.integration.processes import mice
from tests.unit.analysis.test_offline import FILTERS, RULES, failed


def brute(lines=None):
    """Five failed passwords from one address, a cron line, a sixth failure."""
    return lines or [*(failed(second) for second in (1, 5, 9, 14, 20)),
                     "Nov 22 10:00:30 gate cron[2]: (root) CMD (ls)", failed(40, "192.0.2.9")]


class AnalyzeTests(SynchronousTestCase):
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "auth.log")
        self.text = "\n".join(brute()) + "\n"
        with open(self.log, "w") as f:
            f.write(self.text)
        for name, text in (("rules.txt", RULES), ("filter.txt", FILTERS)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)

    def test_default(self):
        """
        No rule option: mice-allinone's content.  Every alert or action from
        a line has its 1-based line; the brute force is one correlated
        alert naming its five lines.
        """
        status, out, err = mice("analyze", self.log, "--json", "--tz", "UTC")
        self.assertEqual(status, 0, err)
        objects = [json.loads(line) for line in out.splitlines()]
        fromLines = [o for o in objects if not o.get("correlated")]
        self.assertTrue(fromLines)
        for o in fromLines:
            self.assertIn(o["line"], range(1, 8), o)
        # Both rule sets ran: an M-ICE alert and a LogIDS action.
        self.assertTrue(any("alertid" in o for o in fromLines))
        self.assertTrue(any("action" in o for o in fromLines))
        correlated = [o for o in objects if o.get("correlated")]
        self.assertEqual([(o["alertid"], o["source"]) for o in correlated],
                         [("0x9010", "192.0.2.7")])
        # Its evidence: failures of the first five lines (each line raises an
        # alert in both rule sets, and the ManagementHost counts both).
        self.assertEqual(correlated[0]["lines"][0], 1)
        self.assertLessEqual(set(correlated[0]["lines"]), {1, 2, 3, 4, 5})
        self.assertIn("correlated alerts: 1", err)
        self.assertIn("matches per rule:", err)
        self.assertIn("actions per rule:", err)

    def test_sameAsExplicit(self):
        """The default is the default content's files, given explicitly."""
        content = defaultContent()
        logids = loadAaRules(content.aarules)
        explicit = mice("analyze", "-c", content.aaregex, "--rules", logids.rulesFile,
                        "--filters", logids.filterFile, "--netdef", logids.netdefFile,
                        "--correlate", content.correlation, "--match-file", content.matchFile,
                        self.log, "--json", "--tz", "UTC")
        default = mice("analyze", self.log, "--json", "--tz", "UTC")
        self.assertEqual(default[0], 0, default[2])
        self.assertEqual(explicit[:2], default[:2])

    def test_standardInput(self):
        """C{-} reads standard input: the same output as the file."""
        fromFile = mice("analyze", self.log, "--json", "--tz", "UTC")
        fromStdin = mice("analyze", "-", "--json", "--tz", "UTC", stdin=self.text)
        self.assertEqual(fromStdin[:2], fromFile[:2])
        self.assertIn("-: 7 lines", fromStdin[2])

    def test_combination(self):
        """Any two: the LogIDS rules and the correlation rules (no M-ICE rules)."""
        status, out, err = mice("analyze", "--rules", "rules.txt", "--filters", "filter.txt",
                                "--correlate", DEFAULT_RULES, "auth.log", "--json",
                                cwd=self.dir)
        self.assertEqual(status, 0, err)
        objects = [json.loads(line) for line in out.splitlines()]
        # LogIDS alerts have no alert id: nothing to correlate, no rejects shown.
        self.assertEqual({(o["action"], o["rule"]) for o in objects},
                         {("alert", "rules.txt:1")})
        self.assertEqual([o["line"] for o in objects], [1, 2, 3, 4, 5, 7])
        self.assertIn("rules.txt:3: *,*,reject: 1", err)
        self.assertIn("correlated alerts: 0", err)

    def test_ruleperf(self):
        """--ruleperf: a row per rule, the slowest first, after the counts."""
        status, out, err = mice("analyze", self.log, "--ruleperf")
        self.assertEqual(status, 0, err)
        table = out.split("rule performance (slowest first)")[1].splitlines()[1:]
        self.assertTrue(any(row.endswith("M-ICE AuF_Rule") for row in table), table)
        self.assertTrue(any("LogIDS filter block" in row for row in table), table)
        self.assertTrue(any(row.endswith("correlation") for row in table), table)
        times = [float(row.split()[0]) for row in table]
        self.assertEqual(times, sorted(times, reverse=True))

    def test_errors(self):
        """A bad correlation file: file:line, exit 1; --idmef with two rule sets: exit 2."""
        bad = os.path.join(self.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("[x]\nALERT_ID = 0x1020\nCOUNT = many\n")
        status, out, err = mice("analyze", "--correlate", bad, self.log)
        self.assertEqual((status, out), (1, ""))
        self.assertIn(f"{bad}:", err)
        status, _, err = mice("analyze", self.log, "--idmef")
        self.assertEqual(status, 2)
        self.assertIn("--idmef is for -c", err)
