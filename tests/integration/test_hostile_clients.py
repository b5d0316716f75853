"""
Hostile clients against a real BufferDaemon (twistd, SQLite store,
pre-shared key) under an open-file limit of 1,024 (issue 12, part 3): 2,000
idle sockets and 20 slowloris sockets (one byte a second) hold its port
while good clients ship lines through it.

Before the connection guard, about 1,000 such sockets stopped all intake (a
good client stored 0 of 50,000 lines) and the only trace was Twisted's
info-level "EMFILE encountered".  The scenario is the benchmark's
(C{bench/scenarios_hostile.py}), run here for as short as it can be.
"""

import importlib.util
import os

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests import ROOT


def _scenarios():
    spec = importlib.util.spec_from_file_location(
        "scenarios_hostile", os.path.join(ROOT, "bench", "scenarios_hostile.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class HostileClientsTests(SynchronousTestCase):
    def test_floodBesideGoodClients(self):
        """
        The good client (whose address authenticated before the flood) has
        all its 50,000 lines stored while the hostile sockets hold every
        descriptor the reserve lets them have; a client from a new address
        gets in once handshake deadlines free descriptors; the server
        closes every hostile socket; nothing is lost or stored twice; the
        refusals are warnings, a bounded number of them, and EMFILE never
        happens.
        """
        scenarios = _scenarios()
        directory = os.path.abspath(self.mktemp())
        try:
            result = scenarios.hostileScenario(seconds=0, idle=2000, slow=20, lines=50000,
                                               fileLimit=1024, sendTimeout=30,
                                               newcomerLines=1000, directory=directory,
                                               keepLog=True)
        except scenarios.ScenarioSkipped as e:
            raise SkipTest(str(e)) from None
        log = result.pop("daemon_log")
        shown = f"{result}\n" + "\n".join(log[:40])
        self.assertEqual(result["good_client_exit"], 0, shown)
        self.assertEqual(result["newcomer_exit"], 0, shown)
        self.assertEqual((result["sent"], result["stored"], result["lost"],
                          result["duplicated"]), (51010, 51010, 0, 0), shown)
        # The flood was real: it held most of what 1,024 descriptors allow,
        # and still did while the good client shipped.
        self.assertGreater(result["hostile_held_at_once"], 800, shown)
        self.assertGreater(result["hostile_held_during_send"], 800, shown)
        self.assertLess(result["good_client_seconds"], 30, shown)
        # Every hostile socket was closed by the server.
        self.assertEqual(result["hostile_connected"], 2020, shown)
        self.assertEqual((result["hostile_closed_by_server"], result["hostile_left_open"]),
                         (2020, 0), shown)
        self.assertGreaterEqual(result["slowloris_bytes"], 20, shown)
        # Loud, but not a flood of its own.
        self.assertEqual(result["daemon_emfile_lines"], 0, shown)
        self.assertTrue(any("FD_RESERVE" in line for line in log), shown)
        self.assertTrue(any("not authenticated within 10 s" in line for line in log), shown)
        self.assertLess(result["daemon_warnings"], 150, shown)
