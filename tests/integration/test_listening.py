"""
L{mice.services.listening}: the metrics page (and the web console, built
the same way) on a port another program holds: one error line naming what,
where and the fix, no "Unhandled Error" traceback, and the service stops
cleanly.
"""

import socket

from twisted.internet import reactor
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from mice.metrics import Metrics
from mice.services.metrics import metricsService
from tests.integration.test_faults import freePort


class TakenPortTests(TestCase):
    async def test_metricsPortTaken(self):
        port = freePort()
        holder = socket.socket()
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        listen = f"tcp:{port}:interface=127.0.0.1"
        service = metricsService(listen, Metrics("test"), reactor)
        with capturedLogs() as events:
            service.startService()
        self.assertEqual(
            [formatEvent(e) for e in events if e["log_level"] >= LogLevel.error],
            [f"the metrics page cannot listen on {listen}: [Errno 98] Address already in use;"
             " the daemon runs without it (set [METRICS] LISTEN to a free port)"])
        self.assertFalse([e for e in events if e.get("log_failure") is not None])
        await service.stopService()
