"""
Tests for the twistd service makers and the .tac files.
"""

import io
import os
import sqlite3
import sys

from twisted.application.service import IService
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.persisted.sob import loadValueFromFile
from twisted.python import usage
from twisted.trial.unittest import SkipTest, TestCase

from mice.services.bufferdaemon import BufferDaemon
from mice.services.forwarder import DataForwarder
from mice.tap import allinone, bufferdaemon
from mice.testing import temporaryFile
from tests import ROOT
from tests.integration.test_faults import freePort, rowCount, waitFor

log = Logger()


class BufferDaemonOptionsTests(TestCase):
    def test_badConfigIsUsageError(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[ADDRESS]\nBINDTO = 127.0.0.1\nPORT = 1\n")
        e = self.assertRaises(usage.UsageError, bufferdaemon.Options().parseOptions,
                              ["-c", path])
        self.assertIn(f"{path}:3:", str(e))

    def test_unknownModuleIsUsageError(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[ADDRESS]\nBINDTO = 127.0.0.1\n[PORT_NUMBER]\nPORT = 1\n"
                    "[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_nothing\n"
                    "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_mysql\n[TIME_INTERVALS]\nTIMEINV = 2\n")
        e = self.assertRaises(usage.UsageError, bufferdaemon.Options().parseOptions,
                              ["-c", path])
        # With the line that names it (issue 12: it came without file:line).
        self.assertIn(f"{path}:6: unknown decoder module 'mice_mod_dec_nothing'", str(e))

    def test_missingFile(self):
        e = self.assertRaises(usage.UsageError, bufferdaemon.Options().parseOptions,
                              ["-c", "/nonexistent/bd.conf"])
        self.assertIn("/nonexistent/bd.conf", str(e))


class TacTests(TestCase):
    def test_rawlogdb(self):
        """
        The shipped .tac builds the raw-log BufferDaemon from the shipped
        config: port 3366 and the SQLite store its pop_mysql config names.
        """
        application = loadValueFromFile(os.path.join(ROOT, "tac", "rawlogdb.tac"),
                                        "application")
        [service] = list(IService(application))
        self.assertIsInstance(service, BufferDaemon)
        self.addCleanup(lambda: [p.postprocessor.stop() for p in service.pipelines])
        self.assertEqual([e._port for e in service.endpoints], [3366])
        [pipeline] = service.pipelines
        self.assertEqual(pipeline.postprocessor.name, "mice_mod_pop_mysql")
        self.assertTrue(pipeline.postprocessor.description.endswith(
            os.path.join("var", "rawlog.db")))


class ClientTacTests(TestCase):
    def test_client(self):
        """
        The shipped client .tac builds the DataForwarder of the shipped
        config: both servers, the sample file list, state under var/.
        """
        application = loadValueFromFile(os.path.join(ROOT, "tac", "client.tac"),
                                        "application")
        [service] = list(IService(application))
        self.assertIsInstance(service, DataForwarder)
        self.assertEqual([d.name for d in service.destinations], ["sql", "analysis"])
        self.assertEqual(service.paths, [os.path.join(ROOT, "var", "log", "messages")])
        self.assertEqual(service.offsets.path,
                         os.path.join(ROOT, "var", "dataforwarder", "offsets.json"))
        for destination in service.destinations:
            destination.close()


class RunSettingsTests(TestCase):
    def settings(self):
        from mice.config import loadDataForwarder

        return loadDataForwarder(os.path.join(ROOT, "etc", "mice", "dataforwarder.conf"))

    def test_pidfileFromPidPath(self):
        from mice.tap.runtime import applyRunSettings

        options = {"pidfile": "twistd.pid", "uid": None, "gid": None}
        applyRunSettings(self.settings(), options, "mice-dataforwarder", isRoot=False)
        self.assertEqual(options["pidfile"],
                         os.path.join(ROOT, "var", "run", "mice-dataforwarder.pid"))
        # As twistd gives it: made absolute against the directory it runs in.
        options = {"pidfile": os.path.abspath("twistd.pid"), "uid": None, "gid": None}
        applyRunSettings(self.settings(), options, "mice-dataforwarder", isRoot=False)
        self.assertEqual(options["pidfile"],
                         os.path.join(ROOT, "var", "run", "mice-dataforwarder.pid"))
        options = {"pidfile": "/elsewhere.pid"}
        applyRunSettings(self.settings(), options, "mice-dataforwarder", isRoot=False)
        self.assertEqual(options["pidfile"], "/elsewhere.pid", "--pidfile wins")

    def test_userAndGroupWhenRoot(self):
        from mice.tap.runtime import applyRunSettings

        settings = self.settings()
        import dataclasses

        settings = dataclasses.replace(settings, user="root", group="root")
        options = {"pidfile": "", "uid": None, "gid": None}
        self.assertEqual(applyRunSettings(settings, options, "x", isRoot=True), [])
        self.assertEqual((options["uid"], options["gid"]), (0, 0))
        options = {"pidfile": "", "uid": None, "gid": None}
        warnings = applyRunSettings(settings, options, "x", isRoot=False)
        self.assertEqual((options["uid"], len(warnings)), (None, 2))
        options = {"pidfile": "", "uid": None, "gid": None}
        settings = dataclasses.replace(settings, user="no-such-user-here")
        warnings = applyRunSettings(settings, options, "x", isRoot=True, stayRoot=True)
        self.assertIn("USER = no-such-user-here: no such user", warnings[0])

    def test_failClosedWithoutTheUser(self):
        """
        Started as root, a daemon whose USER does not exist refuses to run,
        naming the config's line, unless --stay-root says otherwise.
        """
        from mice.config import ConfigError
        from mice.tap.runtime import applyRunSettings

        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "bd.conf")
        with open(path, "w") as f:
            f.write("[ADDRESS]\nLISTEN = tcp:0\n[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_logformat\n"
                    "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_syslog\n[TIME_INTERVALS]\nTIMEINV = 1\n"
                    "[SECURITY_AND_PRIVACY]\nUSER = no-such-user-here\nGROUP = root\n")
        from mice.config import loadBufferDaemon

        settings = loadBufferDaemon(path)
        options = {"pidfile": "", "uid": None, "gid": None}
        e = self.assertRaises(ConfigError, applyRunSettings, settings, options, "x", isRoot=True)
        self.assertTrue(str(e).startswith(f"{path}:10: USER = no-such-user-here: no such user;"
                                          " refusing to run as root"), str(e))
        self.assertIsNone(options["uid"])

    def test_failClosedRealProcess(self):
        """
        A real C{twistd mice-bufferdaemon} started as root with a USER that
        does not exist exits with the config's line, and runs with
        C{--stay-root}.
        """
        import subprocess

        from tests.integration.test_faults import TWISTD

        if os.getuid() != 0:
            raise SkipTest("needs root: the check is about dropping root's privileges")
        path = temporaryFile(self, "[ADDRESS]\nLISTEN = tcp:0:interface=127.0.0.1\n"
                             "[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_logformat\n"
                             "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_syslog\n"
                             "[TIME_INTERVALS]\nTIMEINV = 1\n"
                             "[SECURITY_AND_PRIVACY]\nUSER = no-such-user-here\n", "bd.conf")
        env = dict(os.environ, PYTHONPATH=ROOT)
        result = subprocess.run(
            [*TWISTD, "-n", "--pidfile", "",
             "mice-bufferdaemon", "-c", path], capture_output=True, text=True, timeout=60,
            env=env, cwd=os.path.dirname(path))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{path}:10: USER = no-such-user-here: no such user; refusing to run"
                      " as root", result.stderr + result.stdout)


def alertCount(dataDir, query="SELECT COUNT(*) FROM alert_entry"):
    try:
        with sqlite3.connect(os.path.join(dataDir, "alerts.db")) as db:
            return db.execute(query).fetchone()[0] or 0
    except sqlite3.OperationalError:
        return 0


def eventCounts(dataDir):
    """C{(events shown, records rejected)} in C{console_event}."""
    return (alertCount(dataDir, "SELECT COUNT(*) FROM console_event WHERE action != 'reject'"),
            alertCount(dataDir, "SELECT SUM(count) FROM console_event WHERE action = 'reject'"))


def logidsExpectation(sample):
    """
    C{(alerts, events shown, records rejected)} the LogIDS rules of
    mice-allinone make of the sample.
    """
    from mice.config import loadAaRules
    from mice.postproc.aarules import loadEngine

    engine = loadEngine(loadAaRules(allinone.LOGIDS_RULES))[0]
    alerts = shown = rejected = 0
    for line in sample:
        for taken in engine.evaluate(engine.recordFor(line)):
            if taken.kind in ("alert", "warning"):
                alerts += 1
            elif taken.kind == "reject":
                rejected += 1
            else:
                shown += 1
    return alerts, shown, rejected


class AllInOneTests(TestCase):
    timeout = 60

    async def test_shipsTheSampleOnce(self):
        """
        mice-allinone stores the bundled sample log in SQLite, and the alerts
        the analysis agent raises from it; started again, it stores nothing
        twice.
        """
        from mice.analysis.aaregex import AaRegexMatcher
        from mice.config import loadAaRegex

        dataDir = os.path.abspath(self.mktemp())
        ports = [str(freePort()) for _ in range(5)]
        database = os.path.join(dataDir, "rawlog.db")
        with open(allinone.SAMPLE, "rb") as f:
            sample = [line.rstrip(b"\n").decode() for line in f]
        lines = len(sample)
        matcher = AaRegexMatcher(loadAaRegex(allinone.AGENT_RULES))
        expectedAlerts = sum(1 for line in sample for match in matcher.matchLine(line)
                             if match.sendTo in "MB")
        self.assertGreater(expectedAlerts, 50)
        logidsAlerts, shown, rejected = logidsExpectation(sample)
        self.assertGreater(min(logidsAlerts, shown, rejected), 50)
        expectedAlerts += logidsAlerts
        bans = os.path.join(dataDir, "bans.log")
        for run in range(2):
            options = allinone.Options()
            options.parseOptions(["--data-dir", dataDir, "--port", ports[0],
                                  "--agent-port", ports[1], "--management-port", ports[2],
                                  "--reaction-port", ports[3], "--console-port", ports[4]])
            out, real = io.StringIO(), sys.stdout
            sys.stdout = out
            try:
                service = allinone.makeService(options)
            finally:
                sys.stdout = real
            started = reactor.seconds()
            service.startService()
            if run == 0:
                await self.checkConsole(out.getvalue(), int(ports[4]), bans, started)
            await waitFor(lambda: rowCount(database)[0] >= lines, 30, "the sample's rows")
            await waitFor(lambda: alertCount(dataDir) >= expectedAlerts, 30, "the alerts")
            await waitFor(lambda: all(n >= e for n, e in zip(eventCounts(dataDir),
                                                             (shown, rejected))), 30,
                          "the console events")
            [forwarder] = [s for s in service if isinstance(s, DataForwarder)]
            await waitFor(lambda f=forwarder: not any(d.pending for d in f.destinations), 30,
                          "the last acknowledgements")
            await service.stopService()
            await deferLater(reactor, 0)
        self.assertEqual(forwarder.counts["lines"], 0, "the second run read nothing again")
        with sqlite3.connect(database) as db:
            counts = [db.execute(f"SELECT COUNT(*), COUNT(DISTINCT seq) FROM {t}").fetchone()
                      for t in ("rawlog_line", "firewall_line", "scslog_line")]
        self.assertEqual(sum(n for n, _ in counts), lines)
        self.assertEqual(sum(d for _, d in counts), lines)
        self.assertGreater(counts[1][0], 0)
        self.assertEqual(alertCount(dataDir), expectedAlerts)
        self.assertEqual(eventCounts(dataDir), (shown, rejected))
        # The real ManagementHost: every alert journaled once, reaction 2
        # done for each, the match file's reactions journaled for the M-ICE
        # rules' alerts (they run, or wait for their agent's module).
        self.assertEqual(alertCount(dataDir, "SELECT COUNT(*) FROM received_alert"),
                         expectedAlerts)
        self.assertEqual(alertCount(dataDir, "SELECT COUNT(*) FROM reaction_job WHERE"
                                             " rid = 2 AND state = 'done'"), expectedAlerts)
        self.assertGreater(alertCount(dataDir, "SELECT COUNT(*) FROM reaction_job WHERE"
                                               " rid = 5"), 0)
        # Reaction 4 banned the exploit's source, once (its other alerts,
        # web attacks, ban nobody: SCOPE = none).
        self.assertEqual(alertCount(dataDir, "SELECT COUNT(*) FROM reaction_job WHERE"
                                             " rid = 4 AND state != 'done'"), 0)
        self.assertEqual(alertCount(dataDir, "SELECT COUNT(*) FROM reaction_job WHERE"
                                             " rid = 4 AND outcome LIKE '%ban 1 of"
                                             " 203.0.113.66%'"), 1)

    async def checkConsole(self, printed, port, bans, started):
        """
        The printed console password logs in; /api/alerts shows alerts and
        /api/countermeasures the exploit's ban, which bans.log has applied.
        """
        from tests.integration.test_console import Console

        [line] = [line for line in printed.splitlines() if line.startswith("The console:")]
        self.assertIn(f"http://127.0.0.1:{port}/ user admin password ", line)
        password = line.rsplit(" ", 1)[1]
        console = Console(self, None)
        console.port = port
        await waitFor(lambda: os.path.exists(bans) and " apply 203.0.113.66" in open(bans).read(),
                      30, "the countermeasure in bans.log")
        response, _ = await console.login(password)
        self.assertEqual(response.code, 200)
        found = {}

        async def poll():
            while len(found) < 2:
                code, page = await console.request("GET", "/api/alerts?limit=5")
                if code == 200 and page["alerts"]:
                    found.setdefault("alert", reactor.seconds() - started)
                code, active = await console.request("GET", "/api/countermeasures")
                if code == 200 and any(c["params"].get("ip") == "203.0.113.66"
                                       for c in active["countermeasures"]):
                    found.setdefault("countermeasure", reactor.seconds() - started)
                await deferLater(reactor, 0.1, lambda: None)

        await poll()
        self.assertLess(max(found.values()), 60)
        # Lifted from the console: the ReactionDaemon runs the undo.
        code, active = await console.request("GET", "/api/countermeasures")
        [ban] = active["countermeasures"]
        code, lifted = await console.request(
            "POST", "/api/countermeasures/lift",
            {"daemon": ban["daemon"], "id": ban["id"], "reason": "test"},
            headers={"X-CSRF-Token": console.csrf})
        self.assertEqual((code, lifted), (200, {"outcome": f"lifted {ban['id']}"}))
        with open(bans) as f:
            self.assertIn(" undo 203.0.113.66", f.read())
        code, active = await console.request("GET", "/api/countermeasures")
        self.assertEqual(active["countermeasures"], [])
        log.info("mice-allinone: first alert {alert:.2f}s, first countermeasure"
                 " {countermeasure:.2f}s after start (console API)", **found)

    def test_configsAreTheDaemons(self):
        """
        mice-allinone writes the single daemons' configs into its data
        directory (every one valid for mice check-config), builds each part
        from them with the daemons' own builders, and prints what runs
        where; agents whose module is missing are named, not fatal.
        """
        import io
        import sys

        from mice.config import loadConfig
        from mice.services.bufferdaemon import BufferDaemon

        dataDir = os.path.abspath(self.mktemp())
        options = allinone.Options()
        options.parseOptions(["--no-ship", "--data-dir", dataDir, "--port", "1",
                              "--agent-port", "2", "--management-port", "3",
                              "--reaction-port", "4", "--console-port", "5"])
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        service = allinone.makeService(options)
        daemons = [s for s in service if isinstance(s, BufferDaemon)]
        self.addCleanup(lambda: [p.postprocessor.stop() for d in daemons
                                 for p in d.pipelines])
        self.assertEqual(len(daemons), 3)
        etc = os.path.join(dataDir, "etc")
        kinds = {name: loadConfig(os.path.join(etc, name), strict=True).kind
                 for name in sorted(os.listdir(etc)) if name.endswith(".conf")}
        self.assertEqual(kinds["bufferdaemon-mngmthost.conf"], "bufferdaemon")
        self.assertEqual(kinds["mice_mod_pop_act_generic.conf"], "act_generic")
        for name in os.listdir(etc):
            if name.endswith(".conf"):
                self.assertEqual(os.stat(os.path.join(etc, name)).st_mode & 0o077, 0, name)
        printed = out.getvalue()
        self.assertIn("ManagementHost    127.0.0.1:3", printed)
        self.assertIn("reaction 2 rid_2_send_to_alert_db: sqlite:///", printed)
        self.assertIn(os.path.join(dataDir, "run", "mice_fifo_demo"), printed)
        management = daemons[1]
        post = management.pipelines[0].postprocessor
        reactions, console = post.services[:2]
        # The default correlation rules: brute force (0x9010) is what reaction 4 can ban.
        self.assertEqual(post.correlation.rules.path, allinone.DEFAULT_CORRELATION)
        with open(os.path.join(etc, "rid_4_countermeasure.conf")) as f:
            self.assertIn("[ALERT_0x9010]\nSCOPE = all\n", f.read())
        self.assertIn("The console: http://127.0.0.1:5/ user admin password ", printed)
        password = allinone.consolePassword(dataDir)
        self.assertIn(password, printed)
        self.assertEqual(os.stat(os.path.join(dataDir, "console-password")).st_mode & 0o777,
                         0o600)
        with open(os.path.join(etc, "mice_mod_pop_act_generic.conf")) as f:
            self.assertNotIn(password, f.read())
        self.assertIn("ReactionDaemon    127.0.0.1:4", printed)
        self.assertEqual(sorted(reactions.pipes.items()), sorted(allinone.REACTIONS))
        for pipe in reactions.missing:
            self.assertIn(f"{pipe}: NOT INSTALLED", printed)


class ManagementHostTapTests(TestCase):
    def test_theSeedsFiles(self):
        """
        The seed's ManagementHost config builds the real ManagementHost: the
        IDMEF decoder checking the shipped RFC 4765 DTD, act_generic with
        the seed's match file and its four reactions (agents 1, 3 and 4
        stand-ins here: other modules build them), reaction 2 in the
        journal's transaction, the reaction queues as the daemon's child.
        """
        from twisted.internet.testing import MemoryReactorClock

        from mice import reactors
        from mice.decoders.idmef import IdmefDecoder
        from mice.postproc.actgeneric import ActGeneric

        stand = "tests.integration.test_management.buildMemoryAgent"
        self.patch(reactors, "AGENTS", dict(reactors.AGENTS, rid_1_write_to_syslog=stand,
                                            rid_3_save_to_file=stand,
                                            rid_4_countermeasure=stand))
        options = bufferdaemon.Options()
        options.parseOptions(["-c", os.path.join(ROOT, "etc", "mice",
                                                 "bufferdaemon-mngmthost.conf")])
        daemon = bufferdaemon.buildBufferDaemon(options.settings, MemoryReactorClock())
        [pipeline] = daemon.pipelines
        post = pipeline.postprocessor
        self.addCleanup(post.stop)
        self.assertIsInstance(pipeline.decoder, IdmefDecoder)
        self.assertIsNotNone(pipeline.decoder.dtd)
        self.assertIsInstance(post, ActGeneric)
        self.assertTrue(post.checkedByDecoder and pipeline.eager)
        [reactions] = [child for child in daemon if child.name != "metrics"]
        self.assertEqual(post.services, (reactions,))
        self.assertEqual(sorted(reactions.pipes.items()), [
            (1, "rid_1_write_to_syslog"), (2, "rid_2_send_to_alert_db"),
            (3, "rid_3_save_to_file"), (4, "rid_4_countermeasure")])
        self.assertEqual(sorted(reactions.queues), sorted(reactions.pipes.values()))
        self.assertEqual(list(post.inline), [2])
        self.assertEqual(post.router.tables["MICE-RegEx"].lookup(0x7010).rids, (1, 2, 3, 4))
        self.assertEqual(post.journal.description,
                         "sqlite:///" + os.path.join(ROOT, "var", "alerts.db"))

    def test_tac(self):
        """
        tac/mngmthost.tac builds the same from the shipped config.
        """
        from mice import reactors
        from mice.postproc.actgeneric import ActGeneric

        stand = "tests.integration.test_management.buildMemoryAgent"
        self.patch(reactors, "AGENTS", dict(reactors.AGENTS, rid_1_write_to_syslog=stand,
                                            rid_3_save_to_file=stand,
                                            rid_4_countermeasure=stand))
        application = loadValueFromFile(os.path.join(ROOT, "tac", "mngmthost.tac"),
                                        "application")
        [service] = list(IService(application))
        self.assertIsInstance(service, BufferDaemon)
        [pipeline] = service.pipelines
        [reactions] = pipeline.postprocessor.services
        self.addCleanup(lambda: [queue.agent.stop() for queue in reactions.queues.values()])
        self.addCleanup(pipeline.postprocessor.stop)
        self.assertIsInstance(pipeline.postprocessor, ActGeneric)
        self.assertEqual([e._port for e in service.endpoints], [4455])

    def test_missingAgentIsAClearError(self):
        """
        Without the module of a reaction agent the seed's config names, the
        start stops with the config, the pipe and why.
        """
        from twisted.internet.testing import MemoryReactorClock

        from mice import reactors
        from mice.config import ConfigError

        self.patch(reactors, "AGENTS", dict(reactors.AGENTS,
                                            rid_1_write_to_syslog="mice.reactors.nosuch.build"))
        options = bufferdaemon.Options()
        options.parseOptions(["-c", os.path.join(ROOT, "etc", "mice",
                                                 "bufferdaemon-mngmthost.conf")])
        e = self.assertRaises(ConfigError, bufferdaemon.buildBufferDaemon, options.settings,
                              MemoryReactorClock())
        self.assertIn("mice_mod_pop_act_generic.conf", str(e))
        self.assertIn("pipe 'rid_1_write_to_syslog' (mice.reactors.nosuch.build) cannot be"
                      " loaded: ModuleNotFoundError", str(e))


class PrivilegeWarningTests(TestCase):
    def test_warnsWhenTwistdNotTold(self):
        from mice.config import loadBufferDaemon

        settings = loadBufferDaemon(os.path.join(ROOT, "etc", "mice",
                                                 "bufferdaemon-rawlogdb.conf"))
        warnings = bufferdaemon.privilegeWarnings(settings, {})
        self.assertEqual(len(warnings), 2)
        self.assertIn("USER = datafwd is applied by twistd's --uid", warnings[0])
        self.assertEqual(bufferdaemon.privilegeWarnings(settings, {"uid": 99, "gid": 99}), [])


class SyslogTests(TestCase):
    def test_facilityFromConfig(self):
        """
        SYSLOGFAC sends every log event to syslog too, with that facility.
        """
        from twisted.logger import Logger, globalLogPublisher
        from twisted.python.syslog import SyslogObserver

        from mice.tap.runtime import startSyslog

        opened, sent = [], []
        self.patch(SyslogObserver, "openlog", lambda *args: opened.append(args[-3:]))
        self.patch(SyslogObserver, "syslog", lambda *args: sent.append(args[-2:]))
        observer = startSyslog(19, "mice-test")
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        Logger().error("tamper: {what}", what="Logfile inconsistency")
        self.assertEqual(opened, [("mice-test", 0, 19)])
        self.assertTrue(any("Logfile inconsistency" in message for _, message in sent), sent)


class AllInOnePortTests(TestCase):
    """
    mice-allinone's ports against real sockets: a default one another
    program holds falls back, with a line saying so; one chosen on the
    command line that is taken is a usage error naming it.
    """

    def hold(self, port):
        import socket

        holder = socket.socket()
        self.addCleanup(holder.close)
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError:
            pass  # another program holds it already: taken all the same

    def freePorts(self):
        return ["--port", str(freePort()), "--agent-port", str(freePort()),
                "--management-port", str(freePort()), "--reaction-port", str(freePort())]

    def test_takenDefaultConsolePortFallsBack(self):
        self.hold(8080)
        options = allinone.Options()
        options.parseOptions(self.freePorts())
        self.assertNotEqual(options["console-port"], 8080)
        [note] = options.portNotes
        self.assertEqual(note, "127.0.0.1:8080 (the web console) is taken by another program:"
                               f" using 127.0.0.1:{options['console-port']} instead"
                               " (--console-port chooses one)")

    def test_takenChosenPort(self):
        port = freePort()
        self.hold(port)
        e = self.assertRaises(usage.UsageError, allinone.Options().parseOptions,
                              [*self.freePorts(), "--console-port", str(port)])
        self.assertIn(f"--console-port {port}: 127.0.0.1:{port} is taken", str(e))
