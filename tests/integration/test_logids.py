"""
C{mice analyze --rules} run as a process: the command-line part of
L{mice.analysis.logids}'s tests (C{tests.unit.analysis.test_logids}).
"""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from tests.integration.processes import mice
from tests.unit.analysis.test_logids import FILTERS, NETDEF, RULES


class AnalyzeTests(SynchronousTestCase):
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        for name, text in [("rules.txt", "sshd,event eq Failed AND user eq root,alert\n"
                                         "sshd,event eq Failed,display=user#src_ip#loghost\n"
                                         "SSHD,event eq Accepted,warn\n"
                                         "iptables,dst_port = 22,icon=fw.bmp\n"
                                         "*,*,reject\n")]:
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.dir, "log"), "w") as f:
            f.write("Nov 22 10:00:01 10.0.0.5 sshd[1]: Failed password for root"
                    " from 192.0.2.7 port 5555 ssh2\n"
                    "Nov 22 10:00:02 www sshd[1]: Accepted publickey for bob"
                    " from 192.0.2.8 port 5556 ssh2\n"
                    "Nov 22 10:00:03 www sshd[1]: Connection closed\n"
                    "Nov 22 10:00:04 gw kernel: DROP IN=eth0 OUT= SRC=192.0.2.9"
                    " DST=10.0.0.1 LEN=60 TTL=64 PROTO=TCP SPT=5555 DPT=22\n"
                    "Nov 22 10:00:05 www cron[2]: job\n")

    def test_json(self):
        """
        One JSON object per action in line order; the automatic drop has
        rule null; the per-rule summary goes to stderr.
        """
        status, out, err = mice("analyze", "--rules", "rules.txt", "--filters", FILTERS,
                                "--netdef", NETDEF, "log", "--json", cwd=self.dir)
        self.assertEqual(status, 0, err)
        self.assertEqual([json.loads(line) for line in out.splitlines()], [
            {"line": 1, "application": "sshd", "rule": "rules.txt:1", "action": "alert",
             "severity": "high"},
            {"line": 1, "application": "sshd", "rule": "rules.txt:2", "action": "display",
             "fields": [["user", "root"], ["src_ip", "192.0.2.7"], ["loghost", "lan"]]},
            {"line": 2, "application": "sshd", "rule": "rules.txt:3", "action": "warning",
             "severity": "medium"},
            {"line": 3, "application": "sshd", "rule": None, "action": "drop"},
            {"line": 4, "application": "iptables", "rule": "rules.txt:4", "action": "icon",
             "icon": "fw.bmp"},
            {"line": 5, "application": "", "rule": "rules.txt:5", "action": "reject"},
        ])
        self.assertEqual(err.splitlines(), [
            "log: 5 lines, 4 matched a rule, 6 actions, 1 dropped (no rule)",
            "actions per rule:",
            "  rules.txt:1: sshd,event eq Failed AND user eq root,alert: 1",
            "  rules.txt:2: sshd,event eq Failed,display: 1",
            "  rules.txt:3: SSHD,event eq Accepted,warning: 1",
            "  rules.txt:4: iptables,dst_port = 22,icon: 1",
            "  rules.txt:5: *,*,reject: 1",
            "  (no rule): automatic drop: 1",
        ])

    def test_text(self):
        """Without --json: a listing, then the summary, on stdout; --ip sets ip."""
        status, out, err = mice("analyze", "--rules", "rules.txt", "--filters", FILTERS,
                                "--netdef", NETDEF, "--ip", "127.0.0.1", "log", cwd=self.dir)
        self.assertEqual((status, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[:2], ["1: sshd alert high [rules.txt:1]",
                                     "1: sshd display user=root src_ip=192.0.2.7"
                                     " loghost=localhost [rules.txt:2]"])
        self.assertIn("3: sshd drop [no rule]", lines)
        self.assertIn("  (no rule): automatic drop: 1", lines)

    def test_seedRules(self):
        """The shipped files run as they are."""
        status, out, err = mice("analyze", "--rules", RULES, "--filters", FILTERS,
                                "--netdef", NETDEF, "log", "--json", cwd=self.dir)
        self.assertEqual(status, 0, err)
        self.assertEqual({json.loads(line)["action"] for line in out.splitlines()},
                         {"reject"})

    def test_badFiles(self):
        """Bad lines in any of the files: each listed as file:line: reason, exit 1."""
        with open(os.path.join(self.dir, "bad.txt"), "w") as f:
            f.write("sshd,user eq,alert\nsshd,*,alert\nsshd,*,beep\n")
        status, out, err = mice("analyze", "--rules", "bad.txt", "--filters", FILTERS,
                                "--netdef", "bad.txt", "log", cwd=self.dir)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual([line.split(": ")[0] for line in err.splitlines()],
                         ["bad.txt:1", "bad.txt:3", "bad.txt:1", "bad.txt:2", "bad.txt:3"])
        status, _, err = mice("analyze", "--rules", "rules.txt", "log", cwd=self.dir)
        self.assertEqual(status, 2)
        self.assertIn("--rules and --filters go together", err)
        status, _, err = mice("analyze", "--rules", "rules.txt", "--filters", FILTERS,
                              "missing", cwd=self.dir)
        self.assertEqual(status, 1)
        self.assertIn("missing: No such file", err)
