"""
The ReactionDaemon as a real twistd process over loopback, running a real
harmless command (a small script that writes a file in a temporary
directory): applied, listed, lifted on time, applied again after a kill -9
and a restart, lifted by hand and then never applied again; injection
attempts refused with nothing run; a wrong key, plain text, a replayed
session and a flipped bit refused and logged while a good client beside
them carries on.
"""

import base64
import os
import shlex
import signal
import subprocess
import sys

from twisted.internet import reactor
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.protocols import reaction, wire
from mice.security.policy import LinkSecurity
from mice.security.psk import PskSecurity, deriveMasterKey
from mice.services.reactionclient import ReactionClient
from tests.integration.processes import MICE, TWISTD
from tests.integration.test_faults import accepting, freePort, waitFor
from tests.integration.test_securelink import RawLink, Replay

KEY = "0123456789abcdef" * 8
WRONG = "fedcba9876543210" * 8

#: The command the daemon runs: it records every run and keeps one file per
#: banned address while it is banned.
SCRIPT = """\
import os, sys
action, value, directory = sys.argv[1:4]
with open(os.path.join(directory, "runs.log"), "a") as log:
    log.write(f"{action} {value} {os.environ.get('MICE_REACTION_ID')}\\n")
path = os.path.join(directory, "banned-" + value.replace(":", "_").replace("/", "_"))
if action == "apply":
    with open(path, "w") as f:
        f.write(value)
elif os.path.exists(path):
    os.remove(path)
"""


def writeDaemon(directory, port, key=KEY):
    """
    A reactiondaemon.conf (and its module configs) in C{directory}: FID 1
    bans an C{ip}, FID 2 a C{cidr} no wider than /24, both with the script.
    """
    actions = os.path.join(directory, "actions")
    os.makedirs(actions, exist_ok=True)
    script = os.path.join(directory, "ban.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    command = f"{shlex.quote(sys.executable)} {shlex.quote(script)}"
    for name, param, kind in (("ip", "ip", "ip"), ("net", "net", "cidr")):
        with open(os.path.join(directory, f"rct_{name}.conf"), "w") as f:
            f.write(f"[COMMAND]\n"
                    f"ARGV = {command} apply {{{param}}} {shlex.quote(actions)}\n"
                    f"UNDO = {command} undo {{{param}}} {shlex.quote(actions)}\n"
                    f"PARAMS = {param}:{kind}\nTIMEOUT = 10\n"
                    f"[POLICY]\nDURATION = 600\nMAXDURATION = 1d\nRATE = 100\n"
                    f"NEVER = 198.51.100.0/24\nCIDR4 = 24\n")
    config = os.path.join(directory, "reactiondaemon.conf")
    with open(config, "w") as f:
        f.write(f"[FUNCTION_ID]\nFID = 0x000001\nFID = 0x000002\n"
                f"[REACTION_MODULES]\nRCT_MOD = mice_mod_rct_system\n"
                f"RCT_MOD = mice_mod_rct_system\n"
                f"[REACTION_MODULES_CONFIG_FILE]\nRCT_FILE = rct_ip.conf\nRCT_FILE = rct_net.conf\n"
                f"[NETWORK]\nIP = 127.0.0.1\nPORT = {port}\n"
                f"[SECURITY]\nPASSWORD = {key}\n"
                f"[MISC]\nPIDPATH = run\nSTATEDIR = state\n"
                # Every refusal said, not summed up per peer and minute: the
                # tests' bad clients all come from 127.0.0.1.
                f"[LIMITS]\nWARN_INTERVAL = 0.001\n")
    return config, actions


class Daemon:
    """
    One ReactionDaemon deployment in a temporary directory, run as twistd.

    @param tls: C{(certificate, key, ca)} for a TLS link instead of the key.
    """

    def __init__(self, case, tls=None):
        self.case = case
        self.directory = os.path.abspath(case.mktemp())
        os.makedirs(self.directory)
        self.port = freePort()
        self.config, self.actions = writeDaemon(self.directory, self.port)
        if tls is not None:
            with open(self.config) as f:
                text = f.read()
            with open(self.config, "w") as f:
                f.write(text.replace(f"PASSWORD = {KEY}\n", "TLSCERT = {}\nTLSKEY = {}\n"
                                                            "TLSCA = {}\n".format(*tls)))
        self.logPath = os.path.join(self.directory, "reactiondaemon.log")
        self.process = None

    @classmethod
    async def running(cls, case, tls=None, config=""):
        """A new deployment, started, with C{config} added to its config file."""
        daemon = cls(case, tls)
        if config:
            with open(daemon.config, "a") as f:
                f.write(config)
        await daemon.start()
        return daemon

    async def start(self):
        log = open(self.logPath, "a")
        self.case.addCleanup(log.close)
        self.process = subprocess.Popen(
            [*TWISTD, "-n", "--pidfile=", "mice-reactiondaemon", "-c", self.config],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        process = self.process

        def reap():
            if process.poll() is None:
                process.kill()
            process.wait()

        self.case.addCleanup(reap)
        await waitFor(lambda: accepting(self.port) or process.poll() is not None, 30,
                      "the ReactionDaemon to listen")
        self.case.assertIsNone(process.poll(), self.log())

    def kill(self):
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log(self):
        with open(self.logPath, errors="replace") as f:
            return f.read()

    def runs(self):
        try:
            with open(os.path.join(self.actions, "runs.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def banned(self, value):
        return os.path.exists(os.path.join(self.actions, "banned-" + value))

    def react(self, *args, key=KEY):
        link = ["--key", key] if key else []
        result = subprocess.run(
            [*MICE, "react", "--to", f"127.0.0.1:{self.port}", *link, "--timeout", "20",
             *args], capture_output=True, text=True, timeout=60)
        return result.returncode, result.stdout, result.stderr

    def client(self, key=KEY):
        security = LinkSecurity.fromSettings(True, key)
        client = ReactionClient(clientFromString(reactor, f"tcp:127.0.0.1:{self.port}"),
                                reactor, "test", security.securityFactory(), timeout=20)
        client.startService()
        self.case.addCleanup(client.stopService)
        return client


async def _inThread(daemon, *args, **kwargs):
    from twisted.internet.threads import deferToThread

    return await deferToThread(daemon.react, *args, **kwargs)


class LifecycleTests(TestCase):
    timeout = 120

    async def test_applyListUndoRestart(self):
        daemon = await Daemon.running(self)

        # Applied, listed, lifted on time: not before its 3 s (measured from
        # before the request, however slow the machine), and soon after.
        import time

        asked = time.monotonic()
        status, out, err = await _inThread(daemon, "--fid", "0x000001", "--param",
                                           "ip=192.0.2.7", "--duration", "3", "--id", "short-1")
        self.assertEqual(status, 0, out + err + daemon.log())
        self.assertIn("done: applied", out)
        self.assertTrue(daemon.banned("192.0.2.7"))
        status, out, err = await _inThread(daemon, "--list")
        self.assertEqual(status, 0, err)
        self.assertIn("short-1  0x000001  ip=192.0.2.7", out)
        await waitFor(lambda: not daemon.banned("192.0.2.7"), 20, "the lift at expiry")
        self.assertGreaterEqual(time.monotonic() - asked, 3, "lifted too early")
        self.assertEqual(daemon.runs(), ["apply 192.0.2.7 short-1", "undo 192.0.2.7 short-1"])

        # A long one, then kill -9; a "reboot" clears what the command did.
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.8",
                                           "--duration", "600", "--id", "long-1")
        self.assertEqual(status, 0, out + err)
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.8",
                                           "--duration", "60", "--id", "long-2")
        self.assertIn("already active (long-1)", out)
        daemon.kill()
        os.remove(os.path.join(daemon.actions, "banned-192.0.2.8"))
        await daemon.start()
        await waitFor(lambda: daemon.banned("192.0.2.8"), 10, "the re-apply after restart")
        self.assertEqual(daemon.runs()[2:], ["apply 192.0.2.8 long-1", "apply 192.0.2.8 long-1"])

        # The ManagementHost resends the first request: same answer, no run.
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.8",
                                           "--duration", "600", "--id", "long-1")
        self.assertEqual(status, 0, out + err)
        self.assertIn("earlier answer", out)
        self.assertEqual(len(daemon.runs()), 4)

        # Lifted by hand: recorded, and never applied again.
        status, out, err = await _inThread(daemon, "--undo", "long-1", "--by", "alice")
        self.assertEqual(status, 0, out + err)
        self.assertIn("lifted long-1", out)
        self.assertFalse(daemon.banned("192.0.2.8"))
        daemon.kill()
        await daemon.start()
        status, out, err = await _inThread(daemon, "--list", "--json")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.strip(), '{"active": []}')
        await deferLater(reactor, 1)
        self.assertFalse(daemon.banned("192.0.2.8"))
        self.assertEqual(daemon.runs()[-1], "undo 192.0.2.8 long-1")
        self.assertEqual(len(daemon.runs()), 5)
        status, out, err = await _inThread(daemon, "--undo", "no-such-id")
        self.assertEqual(status, 1)
        self.assertIn("refused: no countermeasure no-such-id", out)


class InjectionTests(TestCase):
    timeout = 120

    async def test_refusedNothingRun(self):
        daemon = await Daemon.running(self)
        client = daemon.client()
        attempts = [
            (1, {"ip": "1.2.3.4; rm -rf /"}), (1, {"ip": "$(id)"}), (1, {"ip": "`id`"}),
            (1, {"ip": "192.0.2.7\nrm -rf /"}), (1, {"ip": "-h"}), (1, {"ip": "--help"}),
            (1, {"ip": "198.51.100.7"}),            # NEVER
            (1, {"ip": "127.0.0.1"}),               # loopback
            (1, {"ip": "::ffff:127.0.0.1"}),        # loopback, mapped
            (1, {"ip": "\u0661\u0662\u0663.1.1.1"}),  # Arabic-Indic digits
            (1, {"ip": "\uff11\uff19\uff12.0.2.7"}),  # fullwidth digits
            (1, {"ip": "fe80::1%eth0"}),
            (1, {"ip": "192.0.2.7", "cmd": "id"}),
            (2, {"net": "10.0.0.0/8"}),             # wider than /24
            (2, {"net": "198.51.100.0/24"}),        # NEVER
            (2, {"net": "127.0.0.0/24"}),
            (7, {"ip": "192.0.2.7"}),               # no such function
        ]
        for n, (fid, params) in enumerate(attempts):
            answer = await client.request(reaction.react(f"bad-{n}", "apply", fid=fid,
                                                         params=params))
            self.assertEqual(answer["status"], "refused", (params, answer))
        self.assertEqual(daemon.runs(), [])
        self.assertEqual(os.listdir(daemon.actions), [])
        log = daemon.log()
        self.assertIn("is on the never list (NEVER at rct_ip.conf:", log)
        self.assertIn("is not plain ASCII", log)
        # The command line says so too, with exit status 1.
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=$(id)")
        self.assertEqual(status, 1)
        self.assertIn("refused: ip: '$(id)' is not an IPv4 or IPv6 address", out)
        # And a good one goes through.
        answer = await client.request(reaction.react("good", "apply", fid=2,
                                                     params={"net": "203.0.113.0/24"}))
        self.assertEqual(answer["status"], "done", answer)
        self.assertEqual(daemon.runs(), ["apply 203.0.113.0/24 good"])


class Garbage(Protocol):
    def __init__(self, data):
        self.data = data
        from twisted.internet.defer import Deferred

        self.closed = Deferred()

    def connectionMade(self):
        self.transport.write(self.data)

    def connectionLost(self, reason):
        self.closed.callback(None)


class BadClientTests(TestCase):
    timeout = 120

    async def connect(self, daemon, protocol):
        return await connectProtocol(clientFromString(reactor, f"tcp:127.0.0.1:{daemon.port}"),
                                     protocol)

    async def handshaken(self, daemon, tamper=None):
        link = RawLink(PskSecurity([deriveMasterKey(KEY)], "aes-256-gcm"), tamper)
        await self.connect(daemon, link)
        await link.ready
        link.sendMessage(reaction.hello("raw"))
        return link

    async def test_silentPeerCut(self):
        """
        The ReactionDaemon's listener is guarded like a BufferDaemon's: a
        peer that connects and never authenticates is closed at
        HANDSHAKE_TIMEOUT, and a good client is heard beside it.
        """
        import time

        daemon = await Daemon.running(self, config="HANDSHAKE_TIMEOUT = 1\n")
        silent = Garbage(b"")
        await self.connect(daemon, silent)
        started = time.monotonic()
        await silent.closed
        self.assertLess(time.monotonic() - started, 10)
        answer = await daemon.client().request(reaction.react(
            "after-silent", "apply", fid=1, params={"ip": "203.0.113.40"}))
        self.assertEqual(answer["status"], "done", answer)

    async def test_refusedAndLogged(self):
        daemon = await Daemon.running(self)
        good = daemon.client()

        # A wrong key (the command line exits 2, the daemon logs it).
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.9",
                                           "--timeout", "3", key=WRONG)
        self.assertEqual(status, 2, out + err)
        self.assertIn("a wrong key or CRYPTMOD?", err)
        self.assertIn("closing: encrypted link: the client does not know the key", daemon.log())

        # Plain text, no handshake.
        garbage = Garbage(wire.encodeMessage(reaction.hello("plain")) + b"\n"
                          + wire.encodeMessage(reaction.react(
                              "plain-1", "apply", fid=1, params={"ip": "192.0.2.9"})) + b"\n")
        await self.connect(daemon, garbage)
        await garbage.closed

        # A captured session, replayed.
        link = await self.handshaken(daemon)
        link.sendMessage(reaction.react("cap-1", "apply", fid=1, params={"ip": "192.0.2.10"}))
        await waitFor(lambda: daemon.banned("192.0.2.10"), 10, "the captured apply")
        link.transport.loseConnection()
        await link.closed
        status, out, err = await _inThread(daemon, "--undo", "cap-1")
        self.assertEqual(status, 0, out + err)
        replay = Replay(link.sent)
        await self.connect(daemon, replay)
        await replay.closed

        # A flipped bit in a sealed request.
        def flip(line):
            raw = bytearray(base64.b64decode(line))
            raw[5] ^= 0x01
            return base64.b64encode(bytes(raw))

        tampered = await self.handshaken(daemon, tamper=flip)
        tampered.sendMessage(reaction.react("flip-1", "apply", fid=1,
                                            params={"ip": "192.0.2.11"}))
        await tampered.closed

        # The good client beside them was never disturbed.
        answer = await good.request(reaction.react("good-1", "apply", fid=1,
                                                   params={"ip": "192.0.2.12"}))
        self.assertEqual(answer["status"], "done", answer)
        self.assertEqual(daemon.runs(), ["apply 192.0.2.10 cap-1", "undo 192.0.2.10 cap-1",
                                         "apply 192.0.2.12 good-1"])
        log = daemon.log()
        self.assertIn("expected the client's hello of MICE-PSK/1", log)
        self.assertIn("fails authentication (tampered, replayed, reordered or cut)", log)
        self.assertGreaterEqual(log.count("the client does not know the key"), 2, log)
        self.assertIsNone(daemon.process.poll())


class TapTests(TestCase):
    def test_tac(self):
        """
        The shipped .tac builds the ReactionDaemon of the shipped config:
        port 1977 on loopback, FID 1 runs commands, FID 0xFF is the dummy.
        """
        from twisted.application.service import IService
        from twisted.persisted.sob import loadValueFromFile

        from mice.services.reactiondaemon import ReactionDaemon
        from tests import ROOT

        application = loadValueFromFile(os.path.join(ROOT, "tac", "reactiondaemon.tac"),
                                        "application")
        [top] = list(IService(application))
        service = top.getServiceNamed("reactiondaemon")
        self.assertEqual(top.getServiceNamed("metrics").page, None)
        self.addCleanup(service.engine.store.close)
        self.assertIsInstance(service, ReactionDaemon)
        self.assertEqual([e._port for e in service.endpoints], [1977])
        self.assertEqual([e._interface for e in service.endpoints], ["127.0.0.1"])
        self.assertEqual({fid: m.name for fid, m in service.engine.functions.items()},
                         {1: "mice_mod_rct_system", 0xFF: "mice_mod_rct_dummy"})
        self.assertEqual(service.security.mode, "psk")
        self.assertTrue(service.engine.store.description.endswith(
            os.path.join("var", "reactiondaemon", "reactiondaemon.db")))

    def options(self, text):
        from twisted.python import usage

        from mice.tap import reactiondaemon

        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(text)
        options = reactiondaemon.Options()
        try:
            options.parseOptions(["-c", path])
        except usage.UsageError as e:
            return e
        return options

    def test_badConfigs(self):
        from twisted.python import usage

        base = ("[FUNCTION_ID]\nFID = 1\n[REACTION_MODULES]\nRCT_MOD = mice_mod_rct_dummy\n"
                "[NETWORK]\nIP = 127.0.0.1\nPORT = 1977\n[SECURITY]\nPASSWORD = {key}\n")
        self.assertIsInstance(self.options(base.format(key=KEY)).settings.functions, tuple)
        error = self.options(base.format(key=KEY).replace("rct_dummy", "rct_nuke"))
        self.assertIsInstance(error, usage.UsageError)
        self.assertIn("unknown reaction module 'mice_mod_rct_nuke'", str(error))
        error = self.options(base.replace("PASSWORD = {key}\n", ""))
        self.assertIn("[SECURITY] needs PASSWORD", str(error))

    def test_wellKnownPassphraseOnlyOnLoopback(self):
        from mice.config import ConfigError
        from mice.tap.reactiondaemon import buildReactionDaemon

        base = ("[FUNCTION_ID]\nFID = 1\n[REACTION_MODULES]\nRCT_MOD = mice_mod_rct_dummy\n"
                "[NETWORK]\nIP = {ip}\nPORT = 1977\n[SECURITY]\nPASSWORD = changeme\n"
                "[MISC]\nSTATEDIR = state\n")
        options = self.options(base.format(ip="127.0.0.1"))
        service = buildReactionDaemon(options.settings, reactor, ownAddresses=[])
        service.engine.store.close()
        for ip in ("0.0.0.0", "192.0.2.1"):
            options = self.options(base.format(ip=ip))
            e = self.assertRaises(ConfigError, buildReactionDaemon, options.settings, reactor)
            self.assertIn("well-known default passphrase", str(e))
            self.assertIn(f"interface={ip}", str(e))

    def test_systemWithoutConfig(self):
        from mice.config import ConfigError
        from mice.tap.reactiondaemon import buildReactionDaemon

        options = self.options("[FUNCTION_ID]\nFID = 1\n[REACTION_MODULES]\n"
                               "RCT_MOD = mice_mod_rct_system\n[NETWORK]\nIP = 127.0.0.1\n"
                               f"PORT = 1977\n[SECURITY]\nPASSWORD = {KEY}\n")
        e = self.assertRaises(ConfigError, buildReactionDaemon, options.settings, reactor)
        self.assertIn("FID 0x000001: mice_mod_rct_system needs an RCT_FILE", str(e))


class TLSTests(TestCase):
    timeout = 120

    async def test_clientCertificates(self):
        """
        With TLSCERT/TLSKEY/TLSCA the daemon hears only clients with a
        certificate of its CA; mice react takes the TLS files.
        """
        from mice.security.certs import loadOrMakeCA, writeNode

        pki = os.path.abspath(self.mktemp())
        caKey, ca, _ = loadOrMakeCA(pki)
        server = writeNode(pki, caKey, ca, "127.0.0.1")
        client = writeNode(pki, caKey, ca, "mngmthost")
        other = os.path.join(pki, "other")
        otherKey, otherCA, _ = loadOrMakeCA(other, "Some Other CA")
        stranger = writeNode(other, otherKey, otherCA, "mngmthost")
        caPath = os.path.join(pki, "ca.crt")
        daemon = await Daemon.running(self, tls=(*server, caPath))
        status, out, err = await _inThread(
            daemon, "--fid", "1", "--param", "ip=192.0.2.7", "--tls-cert", client[0],
            "--tls-key", client[1], "--tls-ca", caPath, key=None)
        self.assertEqual(status, 0, out + err + daemon.log())
        self.assertTrue(daemon.banned("192.0.2.7"))
        self.assertIn("authenticated (tls)", daemon.log())
        status, out, err = await _inThread(
            daemon, "--fid", "1", "--param", "ip=192.0.2.8", "--tls-cert", stranger[0],
            "--tls-key", stranger[1], "--tls-ca", caPath, "--timeout", "3", key=None)
        self.assertEqual(status, 2, out + err)
        self.assertFalse(daemon.banned("192.0.2.8"))
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.9",
                                           "--timeout", "3")
        self.assertEqual(status, 2, out + err)
        [run] = daemon.runs()
        self.assertTrue(run.startswith("apply 192.0.2.7 cli-"), run)


class MetricsTests(TestCase):
    timeout = 120

    async def test_scrape(self):
        """
        A ReactionDaemon with [METRICS] LISTEN serves the countermeasures
        active and its open links in Prometheus' text format.
        """
        from twisted.web.client import Agent, readBody

        metricsPort = freePort()
        daemon = await Daemon.running(
            self, config=f"[METRICS]\nLISTEN = tcp:{metricsPort}:interface=127.0.0.1\n")
        status, out, err = await _inThread(daemon, "--fid", "1", "--param", "ip=192.0.2.44",
                                           "--duration", "600")
        self.assertEqual(status, 0, err)

        async def scrape():
            response = await Agent(reactor).request(
                b"GET", b"http://127.0.0.1:%d/metrics" % metricsPort)
            return (await readBody(response)).decode()

        await waitFor(lambda: accepting(metricsPort), 10, "the metrics page")
        text = await scrape()
        self.assertIn("mice_countermeasures_active 1.0", text)
        self.assertIn("# TYPE mice_links_open gauge", text)
