"""
Tests for L{mice.reactors.system}: the exact argv and environment handed
to C{spawnProcess}, timeouts, what a failed command reports, and the
C{rct_system} config kind.
"""

import os

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.config import ConfigError, loadConfigText
from mice.interfaces import ICountermeasureModule
from mice.reactors import system
from mice.reactors.argv import InvalidValue
from mice.testing import MemoryProcessReactor, capturedLog

CONFIG = """\
[COMMAND]
ARGV  = /usr/sbin/ipset -exist add mice4 {ip}
UNDO  = /usr/sbin/ipset -exist del mice4 {ip}
ARGV6 = /usr/sbin/ipset -exist add mice6 {ip}
UNDO6 = /usr/sbin/ipset -exist del mice6 {ip}
PARAMS = ip:ip
TIMEOUT = 5
[POLICY]
DURATION = 10m
MAXDURATION = 1d
RATE = 30
NEVER = 198.51.100.0/24
"""

#: Configs that L{CONFIG} turns into by one replacement, each refused:
#: what is wrong, the text replaced, its replacement, and the line and a
#: fragment of the error.
BROKEN_CONFIGS = (
    ("a placeholder not in PARAMS", "del mice4 {ip}", "del mice4 {address}", 3,
     "UNDO: {address} is not in PARAMS"),
    ("a placeholder joined to other text", "add mice4 {ip}", "add mice4 -s{ip}", 2,
     "whole word"),
    ("a relative program", "/usr/sbin/ipset -exist add mice4", "ipset add mice4", 2,
     "absolute path"),
    ("ARGV6 without UNDO6", "UNDO6", "#UNDO6", 4, "ARGV6 needs UNDO6"),
    ("an unknown type", "PARAMS = ip:ip", "PARAMS = ip:address", 6, "unknown type 'address'"),
    ("no UNDO", "UNDO  =", "#UNDO  =", 1, "missing required key UNDO"),
    ("a NEVER that is no address", "198.51.100.0/24", "example.com", 12,
     "expected an IP address or network"),
)


def settings(text=CONFIG, name="mice_mod_rct_system.conf"):
    return loadConfigText(text, os.path.join("/etc/mice", name), kind="rct_system").settings


def module(text=CONFIG, dummy=False):
    reactor = MemoryProcessReactor()
    made = (system.DummyModule if dummy else system.SystemModule)(settings(text), reactor)
    made.canRun = lambda path: True
    return made, reactor


class SystemModuleTests(SynchronousTestCase):
    def test_interface(self):
        made, _ = module()
        self.assertTrue(verifyObject(ICountermeasureModule, made))
        self.assertEqual((made.defaultDuration, made.maxDuration, made.rate), (600, 86400, 30))

    def test_argvHandedToSpawnProcess(self):
        """
        The argv is the template's words with the canonical value as one
        word; no shell, no PTY, a minimal environment, stdin closed.
        """
        made, reactor = module()
        d = made.apply(made.check({"ip": "192.0.2.7"}), "r-1")
        [spawned] = reactor.spawned
        self.assertEqual(spawned.executable, "/usr/sbin/ipset")
        self.assertEqual(spawned.args, ["/usr/sbin/ipset", "-exist", "add", "mice4", "192.0.2.7"])
        self.assertEqual(spawned.env, {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
                                       "LANG": "C", "MICE_ACTION": "apply",
                                       "MICE_REACTION_ID": "r-1"})
        self.assertFalse(spawned.usePTY)
        self.assertEqual(spawned.childFDs, {0: "w", 1: "r", 2: "r"})
        self.assertTrue(spawned.transport.stdinClosed)
        self.assertNoResult(d)
        spawned.transport.end(0)
        result = self.successResultOf(d)
        self.assertTrue(result.ok)
        self.assertEqual(result.describe(), "exit 0")

    def test_ipv6AndUndo(self):
        made, reactor = module()
        made.undo(made.check({"ip": "2001:DB8::7"}), "r-2")
        made.apply(made.check({"ip": "192.0.2.7"}), "r-3")
        made.undo(made.check({"ip": "192.0.2.7"}), "r-4")
        self.assertEqual([s.args[2:] for s in reactor.spawned],
                         [["del", "mice6", "2001:db8::7"], ["add", "mice4", "192.0.2.7"],
                          ["del", "mice4", "192.0.2.7"]])
        self.assertEqual(reactor.spawned[0].env["MICE_ACTION"], "undo")

    def test_withoutArgv6(self):
        made, reactor = module(CONFIG.replace("ARGV6", "#").replace("UNDO6", "#"))
        made.apply(made.check({"ip": "2001:db8::7"}), "r")
        self.assertEqual(reactor.spawned[0].args[3:], ["mice4", "2001:db8::7"])

    def test_failure(self):
        made, reactor = module()
        d = made.apply(made.check({"ip": "192.0.2.7"}), "r")
        stderr = b"".join(b"line %d\n" % n for n in range(20))
        reactor.spawned[0].transport.end(2, stderr=b"ipset v7: Set mice4 does not exist\n"
                                         + stderr)
        result = self.successResultOf(d)
        self.assertFalse(result.ok)
        self.assertEqual(result.exitCode, 2)
        self.assertEqual(len(result.stderr), system.STDERR_LINES)
        self.assertEqual(result.describe(), "exit status 2: ipset v7: Set mice4 does not exist")

    def test_stderrBounded(self):
        made, reactor = module()
        d = made.apply(made.check({"ip": "192.0.2.7"}), "r")
        protocol = reactor.spawned[0].protocol
        for _ in range(100):
            protocol.errReceived(b"x" * 1000)
        self.assertEqual(len(protocol.stderr), system.STDERR_BYTES)
        reactor.spawned[0].transport.end(1)
        self.assertEqual(len(self.successResultOf(d).stderr[0]), 300)

    def test_timeout(self):
        """
        After TIMEOUT the command gets SIGTERM, after the grace SIGKILL,
        and it is reported as timed out.
        """
        made, reactor = module()
        d = made.apply(made.check({"ip": "192.0.2.7"}), "r")
        transport = reactor.spawned[0].transport
        reactor.advance(4.9)
        self.assertEqual(transport.signals, [])
        reactor.advance(0.1)
        self.assertEqual(transport.signals, ["TERM"])
        reactor.advance(system.KILL_GRACE)
        self.assertEqual(transport.signals, ["TERM", "KILL"])
        transport.end(signal=9)
        result = self.successResultOf(d)
        self.assertTrue(result.timedOut)
        self.assertFalse(result.ok)
        self.assertEqual((result.exitCode, result.signal), (None, "SIGKILL"))
        self.assertEqual(result.describe(), "timed out and was killed")
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_noTimerLeft(self):
        made, reactor = module()
        d = made.apply(made.check({"ip": "192.0.2.7"}), "r")
        reactor.spawned[0].transport.end(0)
        self.successResultOf(d)
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_cannotRun(self):
        made, reactor = module()
        made.canRun = system.runnable
        result = self.successResultOf(made.apply(made.check({"ip": "192.0.2.7"}), "r"))
        self.assertEqual(reactor.spawned, [])
        self.assertEqual(result.exitCode, 127)
        self.assertIn("cannot run /usr/sbin/ipset", result.describe())

    def test_checks(self):
        made, _ = module()
        self.assertRaises(InvalidValue, made.check, {"ip": "198.51.100.3"})
        self.assertIn("NEVER at mice_mod_rct_system.conf:12", str(self.assertRaises(
            InvalidValue, made.check, {"ip": "198.51.100.3"})))
        self.assertRaises(InvalidValue, made.check, {"ip": "127.0.0.1"})
        self.assertRaises(InvalidValue, made.check, {"ip": "192.0.2.1"},
                          [("192.0.2.1", "a ManagementHost")])
        self.assertEqual(made.check({"ip": "192.0.2.1"}), {"ip": "192.0.2.1"})


class DummyModuleTests(SynchronousTestCase):
    def test_logsAndRunsNothing(self):
        events = capturedLog(self)
        made, reactor = module(dummy=True)
        result = self.successResultOf(made.apply(made.check({"ip": "192.0.2.7"}), "r-9"))
        self.assertTrue(result.ok)
        self.assertEqual(reactor.spawned, [])
        [event] = [e for e in events if e.get("id") == "r-9"]
        self.assertEqual(event["argv"], "/usr/sbin/ipset -exist add mice4 192.0.2.7")

    def test_withoutConfig(self):
        made = system.buildDummy(None, MemoryProcessReactor())
        self.assertEqual(made.argv(made.check({"ip": "192.0.2.7"})),
                         ["/usr/sbin/iptables", "-w", "-I", "INPUT", "-s", "192.0.2.7", "-j",
                          "DROP"])
        self.assertRaises(InvalidValue, made.check, {"ip": "$(id)"})

    def test_systemNeedsConfig(self):
        e = self.assertRaises(ConfigError, system.build, None, MemoryProcessReactor())
        self.assertIn("needs an RCT_FILE", str(e))


class ConfigTests(SynchronousTestCase):
    def error(self, text, line, *fragments):
        e = self.assertRaises(ConfigError, loadConfigText, text, "/etc/mice/x.conf",
                              kind="rct_system")
        errors = getattr(e, "errors", [e])
        for fragment in fragments:
            self.assertTrue(any(fragment in err.message and err.line == line for err in errors),
                            f"{fragment!r} at line {line} not in {[str(x) for x in errors]}")

    def test_loads(self):
        s = settings()
        self.assertEqual(s.params, (("ip", "ip"),))
        self.assertEqual((s.duration, s.maxDuration, s.timeout), (600, 86400, 5.0))
        self.assertEqual(s.never, (("198.51.100.0/24", 12),))

    def test_brokenConfigs(self):
        """
        Each of L{BROKEN_CONFIGS} is refused with its error at its line.
        """
        for what, good, bad, line, fragment in BROKEN_CONFIGS:
            with self.subTest(what):
                self.assertIn(good, CONFIG)
                self.error(CONFIG.replace(good, bad), line, fragment)

    def test_durations(self):
        s = settings(CONFIG.replace("DURATION = 10m", "DURATION = 2h").replace(
            "MAXDURATION = 1d", "MAXDURATION = 2w"))
        self.assertEqual((s.duration, s.maxDuration), (7200, 1209600))
        self.error(CONFIG.replace("DURATION = 10m", "DURATION = soon"), 9, "expected a duration")

    def test_missingProgramWarns(self):
        loaded = loadConfigText(CONFIG.replace("/usr/sbin/ipset -exist add mice4",
                                               "/nonexistent/bin/ban"), "/etc/mice/x.conf",
                                kind="rct_system")
        self.assertIn("ARGV: /nonexistent/bin/ban does not exist",
                      [w.message for w in loaded.warnings])
        self.assertRaises(ConfigError, loadConfigText, CONFIG.replace(
            "/usr/sbin/ipset -exist add mice4", "/nonexistent/bin/ban"), "/etc/mice/x.conf",
            strict=True, kind="rct_system")

    def test_detected(self):
        self.assertEqual(loadConfigText(CONFIG, "/etc/mice/x.conf").kind, "rct_system")
