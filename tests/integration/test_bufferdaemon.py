"""
L{mice.services.bufferdaemon} across a real process that dies between
acknowledging and storing (the rest of its tests, over StringTransports with a
L{Clock}: C{tests.unit.services.test_bufferdaemon}).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.ringbuffer import MmapRing
from tests.unit.services.test_bufferdaemon import Harness, acks


class MmapRingTests(SynchronousTestCase):
    def test_replayAfterRestart(self):
        """
        Entries acknowledged but not yet stored when the daemon died are
        stored by the next one.
        """
        path = self.mktemp()
        pid = os.fork()
        if pid == 0:
            # A daemon that dies after acknowledging, before storing.
            try:
                h = Harness(self, ring=MmapRing(path, 16, 2 ** 20))
                p = h.connect()
                h.send(p, 1, 1, 3)
                h.clock.advance(0)
                os._exit(0 if acks(p) == [1] else 1)
            finally:
                os._exit(2)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        h2 = Harness(self, ring=MmapRing(path, 16, 2 ** 20))
        self.assertEqual(h2.ring.replayed, 1)
        h2.clock.advance(2)
        self.assertEqual([(r.source, r.seq, r.logline) for r in h2.store.stored],
                         [("web01", i, f"line {i}") for i in (1, 2, 3)])
        self.assertEqual(len(h2.ring), 0)
