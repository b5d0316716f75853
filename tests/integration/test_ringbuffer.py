"""
L{mice.ringbuffer}'s memory-mapped ring across a real process killed with
SIGKILL (the rest of its tests: C{tests.unit.test_ringbuffer}).
"""

import os
import signal

from twisted.trial.unittest import SynchronousTestCase

from mice.ringbuffer import MmapRing
from tests.unit.test_ringbuffer import MmapRingFiles, payloadFor


class MmapRingTests(MmapRingFiles, SynchronousTestCase):
    def test_forkedWriterKilled(self):
        """
        A process killed with SIGKILL without closing the ring loses nothing:
        the next open replays exactly the unreleased entries, in order.
        """
        path = self.mktemp()
        pid = os.fork()
        if pid == 0:
            try:
                ring = MmapRing(path, 100, 1 << 16)
                for i in range(10):
                    ring.append(payloadFor(i, 500))
                ring.release(3)
                ring.sync()
                ring.append(payloadFor(10, 500))
                ring.release(4)
                os.kill(os.getpid(), signal.SIGKILL)
            finally:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.assertTrue(os.WIFSIGNALED(status))
        self.assertEqual(os.WTERMSIG(status), signal.SIGKILL)
        ring = self.makeRing(100, 1 << 16, path=path)
        self.assertEqual(ring.replayed, 7)
        self.assertEqual(ring.discarded, 0)
        self.assertEqual(
            [(e.seq, e.payload) for e in ring.peek()],
            [(i + 1, payloadFor(i, 500)) for i in range(4, 11)],
        )
        self.assertEqual(ring.append(b"after").seq, 12)
