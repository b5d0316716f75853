"""
The README's cheap examples run for real, as written, from the checkout
(C{tests.unit.test_readme} extracts them and checks that they parse): the
offline analysis commands on the bundled sample log, and C{mice
check-config} on every config an example names.
"""

import json
import os
import sqlite3

from twisted.trial.unittest import SynchronousTestCase

from tests import ROOT
from tests.integration.processes import mice
from tests.unit.test_readme import README, examples


class ReadmeRunsTests(SynchronousTestCase):
    def setUp(self):
        with open(README, encoding="utf-8") as f:
            self.examples = examples(f.read())

    def test_analyzeExamples(self):
        analyze = [e for e in self.examples if e.argv[:2] == ("mice", "analyze")]
        self.assertGreaterEqual(len(analyze), 5)
        for example in analyze:
            status, out, err = mice(*example.argv[1:], cwd=ROOT)
            self.assertEqual(status, 0, f"README.rst:{example.line}: {err}")
            if "--json" in example.argv:
                objects = [json.loads(line) for line in out.splitlines()
                           if line.startswith("{")]
                self.assertGreater(len(objects), 10, f"README.rst:{example.line}")
            else:
                self.assertGreater(len(out.splitlines()), 10, f"README.rst:{example.line}")

    def test_initdbExample(self):
        """
        C{mice initdb sqlite:///var/alerts.db}, in a directory of its own
        with the checkout's C{var/} in it.
        """
        [initdb] = [e for e in self.examples if e.argv[:2] == ("mice", "initdb")]
        directory = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(directory, "var"))
        status, out, err = mice(*initdb.argv[1:], cwd=directory)
        self.assertEqual(status, 0, f"README.rst:{initdb.line}: {err}")
        with sqlite3.connect(os.path.join(directory, "var", "alerts.db")) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        self.assertLessEqual({"rawlog_line", "alert_entry"}, tables)

    def test_namedConfigsCheck(self):
        configs = sorted({argv[i + 1] for _, argv in self.examples
                          if argv[0] in ("mice", "twistd")
                          for i, word in enumerate(argv[:-1])
                          if word in ("-c", "--link-config")})
        self.assertGreaterEqual(len(configs), 6)
        status, out, err = mice("check-config", *configs, cwd=ROOT)
        self.assertEqual(status, 0, err)
        for config in configs:
            self.assertIn(f"{config}: ", out)
        self.assertTrue(all(os.path.isfile(os.path.join(ROOT, c)) for c in configs))
