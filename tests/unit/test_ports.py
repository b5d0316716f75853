"""
Tests for L{mice.tap.ports}: mice-allinone's ports, with the question "is
this port free?" answered by the test.
"""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mice.tap.allinone import Options
from mice.tap.ports import choosePorts

PORTS = Options.ports
DEFAULTS = {"port": 3366, "agent-port": 3367, "management-port": 4455, "console-port": 8080,
            "reaction-port": 1977}


class ChoosePortsTests(SynchronousTestCase):
    def choose(self, options, taken, spare=(40001, 40002)):
        spare = list(spare)
        return choosePorts(options, PORTS, DEFAULTS, isFree=lambda port: port not in taken,
                           anyFreePort=lambda: spare.pop(0))

    def test_allFree(self):
        options = dict(DEFAULTS)
        self.assertEqual(self.choose(options, taken=()), [])
        self.assertEqual(options, DEFAULTS)

    def test_takenDefaultFallsBack(self):
        options = dict(DEFAULTS)
        notes = self.choose(options, taken={8080, 1977}, spare=(3366, 40001, 40002))
        self.assertEqual((options["console-port"], options["reaction-port"]), (40001, 40002))
        self.assertEqual(notes, [
            "127.0.0.1:8080 (the web console) is taken by another program: using"
            " 127.0.0.1:40001 instead (--console-port chooses one)",
            "127.0.0.1:1977 (the ReactionDaemon) is taken by another program: using"
            " 127.0.0.1:40002 instead (--reaction-port chooses one)"])

    def test_takenChoiceIsAnError(self):
        options = dict(DEFAULTS, **{"console-port": 9000})
        e = self.assertRaises(usage.UsageError, self.choose, options, taken={9000})
        self.assertEqual(str(e), "--console-port 9000: 127.0.0.1:9000 is taken (another program"
                                 " listens there); choose a free port for the web console")

    def test_samePortTwice(self):
        options = dict(DEFAULTS, **{"agent-port": 3366})
        e = self.assertRaises(usage.UsageError, self.choose, options, taken=())
        self.assertIn("--agent-port 3366: another option names that port too", str(e))
