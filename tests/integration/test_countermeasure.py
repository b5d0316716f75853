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


class CountermeasureTests(TestCase):
    timeout = 120

    async def agent(self, config):
        agent = build("rid_4_countermeasure", config, reactor)
        await agent.start()
        self.addCleanup(agent.stop)
        client = agent.clients["daemon1"]
        await waitFor(lambda: client.connected, 30, "the agent's link")
        return agent

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
