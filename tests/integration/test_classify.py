"""
The part of L{mice.db.classify}'s tests (C{tests.unit.db.test_classify}) that
runs another interpreter: what importing the classifier loads.
"""

import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from tests import ROOT


class RowSafetyTests(SynchronousTestCase):
    def test_pure(self):
        """
        The classifier and the schema import no database driver and no
        reactor.
        """
        code = (
            "import sys, mice.db.classify, mice.db.schema; "
            "print(sorted(m for m in ('pymysql', 'sqlite3', 'twisted.internet') if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        self.assertEqual(out.strip(), "[]")
