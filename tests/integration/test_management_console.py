"""
The console inside the ManagementHost: a ManagementHost built from configs
with C{[CONSOLE]} (as C{twistd mice-bufferdaemon} builds it) serves, over
loopback, the alerts sent to it, told by act_generic when they are stored
and by the reaction queues when their outcomes are journaled.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from mice.config import loadBufferDaemon
from mice.console.auth import hashPassword
from mice.forwarder.shipping import shipFile
from mice.services.managementconsole import ManagementConsole
from mice.tap.bufferdaemon import buildBufferDaemon
from tests.integration.test_console import FAST, PASSWORD, Console
from tests.integration.test_management import DATA, ManagementHostMixin, writeManagementHost


class ConsoleInManagementHostTests(TestCase):
    timeout = 60

    setUp = ManagementHostMixin.setUp
    sender = ManagementHostMixin.sender
    idle = ManagementHostMixin.idle

    def databaseUrl(self):
        return "sqlite:///" + os.path.join(self.directory, "alerts.db")

    async def startConsoleHost(self):
        conf = writeManagementHost(self.directory, self.url)
        with open(os.path.join(self.directory, "act.conf"), "a") as f:
            f.write(f"[CONSOLE]\nPASSWORD_HASH = {hashPassword(PASSWORD, FAST)}\n"
                    "LISTEN = tcp:0:interface=127.0.0.1\n")
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        [port] = await daemon.startService()
        self.addCleanup(daemon.stopService)
        self.post = daemon.pipelines[0].postprocessor
        self.reactions, management = self.post.services
        self.assertIsInstance(management, ManagementConsole)
        self.management = management
        console = Console(self, None)
        console.port = (await management.console.server._waitingForPort).getHost().port
        return port.getHost().port, console

    async def test_servesAlertsSentToIt(self):
        """
        IDMEF shipped to the ManagementHost shows in its console's
        /api/alerts; the feed was told of the stored alerts, the heartbeats
        and the reactions' outcomes.
        """
        told = []
        port, console = await self.startConsoleHost()
        feed = self.management.feed
        for name in ("alertsStored", "heartbeat"):
            original = getattr(feed, name)
            self.patch(feed, name, lambda *a, original=original, name=name: (
                told.append(name), original(*a))[1])
        self.assertIn(feed, [o.feed for o in self.post.observers])
        self.assertIn(feed, self.reactions.queues["rid_2_send_to_alert_db"].observers)
        code, _ = await console.request("GET", "/api/alerts", login=False)
        self.assertEqual(code, 401)
        response, _ = await console.login()
        self.assertEqual(response.code, 200)
        sender = self.sender(port)
        for name in sorted(os.listdir(DATA)):
            await ensureDeferred(shipFile(sender, os.path.join(DATA, name), kind="idmef"))
        await self.idle()
        code, page = await console.request("GET", "/api/alerts?limit=50")
        self.assertEqual(code, 200)
        self.assertEqual(len(page["alerts"]), 10)
        self.assertIn("alertsStored", told)
        self.assertIn("heartbeat", told)
        code, beats = await console.request("GET", "/api/heartbeats")
        self.assertEqual(len(beats["analyzers"]), 3)
        code, cms = await console.request("GET", "/api/countermeasures")
        self.assertEqual((code, cms["countermeasures"]), (200, []))
