"""
Reaction 4 against a real ReactionDaemon (twistd) over loopback: an alert
bans its source with the real command; the same attacker again gets a
longer ban; a ManagementHost restart (a new agent over the same offence
history) repeats a delivery without running anything twice; a daemon that
is down makes react fail (the service retries), and the delivery is made
once it is back.
"""

import os

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from mice.interfaces import ReactionRefused
from mice.reactors.countermeasure import ReactionRetry, build
from tests.integration.test_faults import waitFor
from tests.integration.test_reactiondaemon import KEY, Daemon
from tests.unit.reactors.test_countermeasure import routed


def writeAgent(directory, port, duration=2):
    path = os.path.join(directory, "rid_4_countermeasure.conf")
    with open(path, "w") as f:
        f.write(f"[COUNTERMEASURE]\nDURATION = {duration}\nFACTOR = 2\nMAXDURATION = 1h\n"
                f"STATEDB = countermeasure.db\nTIMEOUT = 10\n"
                f"[DAEMON_1]\nADDRESS = 127.0.0.1:{port}\nSERVES = *\nPASSWORD = {KEY}\n")
    return path


async def startAgent(case, config):
    """Reaction 4 from C{config}, started, its link to daemon1 up."""
    agent = build("rid_4_countermeasure", config, reactor)
    await agent.start()
    case.addCleanup(agent.stop)
    client = agent.clients["daemon1"]
    await waitFor(lambda: client.connected, 30, "the agent's link")
    return agent


class CountermeasureTests(TestCase):
    timeout = 120

    def agent(self, config):
        return startAgent(self, config)

    async def test_banEscalateRestartOutage(self):
        daemon = Daemon(self)
        await daemon.start()
        config = writeAgent(daemon.directory, daemon.port)
        agent = await self.agent(config)

        outcome = await agent.react(routed("alert-1", source="203.0.113.5"))
        self.assertIn("for 2s (ban 1 of 203.0.113.5/32)", outcome)
        self.assertTrue(daemon.banned("203.0.113.5"))
        await waitFor(lambda: not daemon.banned("203.0.113.5"), 10, "the first ban to end")

        # The same attacker again: a longer ban.
        outcome = await agent.react(routed("alert-2", source="203.0.113.5"))
        self.assertIn("for 4s (ban 2 of 203.0.113.5/32)", outcome)
        view = await agent.activeCountermeasures()
        [ban] = view["daemon1"]["active"]
        self.assertEqual(ban["until"] - ban["since"], 4)
        self.assertIn("ManagementHost rid_4_countermeasure", ban["by"])

        # The ManagementHost restarts and its journal calls react again.
        await agent.stop()
        agent = await self.agent(config)
        runs = len(daemon.runs())
        outcome = await agent.react(routed("alert-2", source="203.0.113.5"))
        self.assertIn("for 4s (ban 2 of", outcome)
        self.assertEqual(len(daemon.runs()), runs)

        # The daemon is down: react fails, to be retried.
        daemon.kill()
        with self.assertRaises(ReactionRetry):
            await agent.react(routed("alert-3", source="203.0.113.6"))
        self.assertFalse(daemon.banned("203.0.113.6"))
        await daemon.start()
        client = agent.clients["daemon1"]
        await waitFor(lambda: client.connected, 40, "the agent to reconnect")
        outcome = await agent.react(routed("alert-3", source="203.0.113.6"))
        self.assertIn("ban 1 of 203.0.113.6/32", outcome)
        self.assertTrue(daemon.banned("203.0.113.6"))
        self.assertEqual(sum(r.startswith("apply 203.0.113.6 ") for r in daemon.runs()), 1)

        # Never asked: loopback, and the daemon's own address.
        with self.assertRaises(ReactionRefused):
            await agent.react(routed("alert-4", source="127.0.0.1"))


def alertsFromLogLine(line, seq, now):
    """
    The IDMEF alerts the M-ICE rules raise for a log line of the client
    web01, as the ManagementHost parses them back, routed.
    """
    from datetime import UTC, datetime

    from mice.alerts import RoutedAlert
    from mice.analysis.aaregex import AaRegexMatcher, makeAlert
    from mice.config import loadAaRegex
    from mice.idmef import fromXml, toXml
    from mice.record import LogRecord
    from tests import ROOT

    settings = loadAaRegex(os.path.join(ROOT, "etc", "mice", "mice_mod_pop_aa_regex.conf"))
    record = LogRecord("web01", "/var/log/messages", seq, "web01", "example.org", "192.0.2.20",
                       "Linux", "", "", "2026-12-04", "10:00:01", line, "")
    routed = []
    for index, match in enumerate(AaRegexMatcher(settings).matchLine(line)):
        document = toXml(makeAlert(record, match, seq * 10 + index, "MICE-RegEx", {},
                                   datetime.fromtimestamp(now, UTC)))
        [alert] = fromXml(document)
        routed.append(RoutedAlert(f"aa01|web01|/var/log/messages|{seq}|{index}", alert,
                                  document.decode(), match.key, "aa01",
                                  "2026-12-04T10:00:02Z"))
    return routed


class RealAlertTests(TestCase):
    timeout = 120

    async def test_exploitLineBansItsSource(self):
        """
        An exploit signature in web01's log, through the M-ICE rules and
        IDMEF as the ManagementHost receives it: reaction 4 bans the
        attacker on the ReactionDaemon serving web01, once; the same
        attacker again, after that ban, gets a longer one.
        """
        daemon = Daemon(self)
        await daemon.start()
        config = os.path.join(daemon.directory, "rid_4_countermeasure.conf")
        with open(config, "w") as f:
            f.write(f"[COUNTERMEASURE]\nDURATION = 2\nFACTOR = 3\nSTATEDB = cm.db\n"
                    f"[DAEMON_1]\nADDRESS = 127.0.0.1:{daemon.port}\nSERVES = web01\n"
                    f"PASSWORD = {KEY}\n")
        agent = build("rid_4_countermeasure", config, reactor)
        await agent.start()
        self.addCleanup(agent.stop)
        await waitFor(lambda: agent.clients["daemon1"].connected, 30, "the agent's link")

        line = ("Dec  4 10:00:01 web01 sshd[4711]: fatal: Local: crc32 compensation attack:"
                " network attack detected from 203.0.113.9")
        [exploit] = [r for r in alertsFromLogLine(line, 7, reactor.seconds())
                     if r.alert.alertId == 0x7010]
        self.assertEqual(exploit.alert.sources[0].address, "203.0.113.9")
        outcome = await agent.react(exploit)
        self.assertIn("for 2s (ban 1 of 203.0.113.9/32)", outcome)
        self.assertTrue(daemon.banned("203.0.113.9"))
        await agent.react(exploit)  # the journal's retry
        self.assertEqual(daemon.runs()[0].split()[:2], ["apply", "203.0.113.9"])
        self.assertEqual(len(daemon.runs()), 1)
        await waitFor(lambda: not daemon.banned("203.0.113.9"), 10, "the ban to end")

        [again] = [r for r in alertsFromLogLine(line, 8, reactor.seconds())
                   if r.alert.alertId == 0x7010]
        outcome = await agent.react(again)
        self.assertIn("for 6s (ban 2 of 203.0.113.9/32)", outcome)
        view = await agent.activeCountermeasures()
        [ban] = view["daemon1"]["active"]
        self.assertEqual(ban["until"] - ban["since"], 6)


class LiveViewTests(TestCase):
    """
    The console's live stream shows countermeasures change on a real
    ReactionDaemon without a reload: applied by reaction 4, undone outside
    the console (C{mice react --undo}), expired.
    """

    timeout = 120

    async def test_changesReachTheStream(self):
        from mice.services.managementconsole import CountermeasureSource
        from tests.integration.test_console import Console, until, writeDatabase
        from tests.integration.test_reactiondaemon import _inThread

        daemon = Daemon(self)
        await daemon.start()
        agent = await startAgent(self, writeAgent(daemon.directory, daemon.port, duration=8))
        path = os.path.join(daemon.directory, "alerts.db")
        writeDatabase(path)
        console = await Console(self, path, countermeasures=CountermeasureSource(agent),
                                countermeasurePipes=["rid_4_countermeasure"]).start()
        await console.login()
        stream = await console.stream()

        def changes():
            return {(data["params"].get("ip"), data.get("change")): data
                    for _, kind, data in stream.events()
                    if kind == "countermeasure" and "params" in data}

        await until(lambda: console.feed._active is not None)
        for n, source in enumerate(("203.0.113.5", "203.0.113.6")):
            await agent.react(routed(f"alert-{n}", source=source))
            # What the reaction queue tells the feed once the outcome is journaled.
            console.feed.reactionOutcome({"pipe": "rid_4_countermeasure", "state": "done"})
        await until(lambda: {("203.0.113.5", "applied"), ("203.0.113.6", "applied")}
                    <= set(changes()), 10)

        undone = changes()[("203.0.113.6", "applied")]["id"]
        status, out, err = await _inThread(daemon, "--undo", undone, "--by", "alice")
        self.assertEqual(status, 0, err)
        await until(lambda: ("203.0.113.6", "lifted") in changes(), 10)
        self.assertEqual(changes()[("203.0.113.6", "lifted")]["state"], "lifted")

        await until(lambda: ("203.0.113.5", "expired") in changes(), 30)
        self.assertNotIn(("203.0.113.5", "lifted"), changes())
        code, found = await console.request("GET", "/api/countermeasures")
        self.assertEqual((code, found["countermeasures"]), (200, []))
