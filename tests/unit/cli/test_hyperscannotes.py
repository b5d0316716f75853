"""
C{mice analyze} and C{mice check-config} say which rule regexes Hyperscan
cannot scan for (they run with C{re} on every line, slower), by file:line
and why; nothing when it takes them all (issue 17).
"""

import io
import os
import sys

from twisted.trial.unittest import SynchronousTestCase

from mice.cli import main
from tests import ROOT

DEFAULT = os.path.join(ROOT, "mice", "data", "default")


class HyperscanNotesTests(SynchronousTestCase):
    def setUp(self):
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            raise self.skipTest("hyperscan is not installed") from None
        directory = self.mktemp()
        os.makedirs(directory)
        with open(os.path.join(DEFAULT, "mice_mod_pop_aa_regex.conf"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.line = next(i for i, text in enumerate(lines, 1) if text.startswith("RoW_Rule"))
        lines[self.line - 1] = 'RoW_Rule = "x*"'
        self.config = os.path.join(directory, "aa.conf")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(DEFAULT, "logids", "filter.txt"), encoding="utf-8") as f:
            filters = f.read()
        self.filters = os.path.join(directory, "filter.txt")
        with open(self.filters, "w", encoding="utf-8") as f:
            f.write("[weird]\nmatch = \\Aweird\n" + filters)
        self.rules = os.path.join(DEFAULT, "logids", "rules.txt")
        self.log = os.path.join(directory, "x.log")
        with open(self.log, "w", encoding="utf-8") as f:
            f.write("Nov 22 10:00:01 www sshd[1234]: Failed password for root from 10.0.0.5"
                    " port 5555 ssh2\nweird x\n")

    def run_(self, argv):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        code = main(argv)
        return code, out.getvalue(), err.getvalue()

    def test_analyze(self):
        """
        One stderr line a refused regex (they were switched to re, all the
        rules with them, and nothing said so); the same output as without
        Hyperscan.
        """
        argv = ["analyze", self.log, "-c", self.config, "--rules", self.rules,
                "--filters", self.filters, "--json"]
        code, out, err = self.run_(argv)
        self.assertEqual(code, 0)
        notes = [line for line in err.splitlines() if "is not on Hyperscan" in line]
        self.assertEqual(notes, [
            f"mice analyze: {self.config}:{self.line}: RoW_Rule 'x*' is not on Hyperscan:"
            " it matches the empty string; it is searched with re in every line (slower),"
            " the other patterns stay on Hyperscan",
            f"mice analyze: {self.filters}:2: [weird] match '\\\\Aweird' is not on Hyperscan:"
            " Hyperscan reads \\A otherwise than Python's re; it is searched with re in every"
            " line (slower), the other blocks stay on Hyperscan"])
        self.assertEqual(self.run_([*argv, "--strategy", "literal"])[1], out)
        self.assertIn("RoW_Rule", out)

    def test_analyzeDefault(self):
        """The default content: nothing said."""
        code, _, err = self.run_(["analyze", self.log, "--json"])
        self.assertEqual(code, 0)
        self.assertNotIn("is not on Hyperscan", err)

    def test_checkConfig(self):
        """A warning a refused regex, at its file:line."""
        code, _, err = self.run_(["check-config", self.config, self.filters])
        self.assertEqual(code, 0)
        self.assertEqual([line for line in err.splitlines() if "is not on Hyperscan" in line], [
            f"{self.config}:{self.line}: warning: RoW_Rule 'x*' is not on Hyperscan: it"
            " matches the empty string; it is searched with re in every line (slower), the"
            " other patterns stay on Hyperscan",
            f"{self.filters}:2: warning: [weird] match '\\\\Aweird' is not on Hyperscan:"
            " Hyperscan reads \\A otherwise than Python's re; it is searched with re in every"
            " line (slower), the other blocks stay on Hyperscan"])
        code, _, err = self.run_(["check-config", self.rules,
                                  os.path.join(DEFAULT, "logids", "filter.txt")])
        self.assertNotIn("is not on Hyperscan", err)
