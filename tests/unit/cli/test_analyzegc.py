"""
C{mice analyze} collects garbage as the BufferDaemon that runs the analysis
agents does (L{mice.record.GC_THRESHOLDS}) while it analyses, and gives the
process its own thresholds back after, whatever happened.
"""

import gc
import io
import os
import sys

from twisted.trial.unittest import SynchronousTestCase

from mice.cli import main
from mice.record import GC_THRESHOLDS


class _Seen(io.StringIO):
    """A stdout that notes the collector's thresholds at each write."""

    def __init__(self):
        super().__init__()
        self.thresholds = set()

    def write(self, text):
        self.thresholds.add(gc.get_threshold())
        return super().write(text)


class AnalyzeCollectorTests(SynchronousTestCase):
    def setUp(self):
        self.before = gc.get_threshold()
        self.addCleanup(gc.set_threshold, *self.before)
        # Not the thresholds analyze sets, so that restoring them shows.
        gc.set_threshold(700, 10, 10)
        self.out = _Seen()
        self.patch(sys, "stdout", self.out)
        self.patch(sys, "stderr", io.StringIO())
        self.log = self.mktemp()
        with open(self.log, "w", encoding="utf-8") as f:
            f.write("Nov 22 10:00:01 www sshd[1234]: Failed password for root from"
                    " 10.0.0.5 port 5555 ssh2\n" * 3)

    def test_whileAnalysing(self):
        """
        The output is written under L{GC_THRESHOLDS}; the thresholds before
        come back after.
        """
        self.assertEqual(main(["analyze", self.log]), 0)
        self.assertIn(GC_THRESHOLDS, self.out.thresholds)
        self.assertEqual(gc.get_threshold(), (700, 10, 10))

    def test_restoredOnError(self):
        """A log that cannot be read: an error, and the thresholds before."""
        os.mkdir(self.log + ".d")
        self.assertEqual(main(["analyze", self.log + ".d"]), 1)
        self.assertEqual(gc.get_threshold(), (700, 10, 10))
