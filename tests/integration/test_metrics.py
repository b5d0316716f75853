"""
The Prometheus endpoint of a real BufferDaemon over loopback: a raw-log
database built from its config with C{[METRICS] LISTEN}, fed by a real
sender, scraped with twisted.web's Agent.
"""

import os

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from mice.config import loadBufferDaemon
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import writeRawLogConfigs

HOST = {"hostname": "web01", "domain": "", "ip": "10.0.0.5", "osystem": "Linux",
        "release": "6.1", "version": "#1"}


class MetricsEndpointTests(TestCase):
    timeout = 60

    async def test_scrape(self):
        """
        After a batch is stored, the page lists the records received and
        stored, the new rows per table and the ring's fill, in Prometheus'
        text format.
        """
        directory = self.mktemp()
        conf = writeRawLogConfigs(directory, f"sqlite:///{os.path.abspath(directory)}/raw.db")
        with open(conf, "a") as f:
            f.write("[METRICS]\nLISTEN = tcp:0:interface=127.0.0.1\n")
        settings = loadBufferDaemon(conf)
        daemon = buildBufferDaemon(settings, reactor)
        listening = daemon.startService()
        self.addCleanup(daemon.stopService)
        port = (await listening)[0].getHost().port
        page = daemon.getServiceNamed("metrics").page
        metricsPort = (await page._waitingForPort).getHost().port

        sender = ReliableSender(TCP4ClientEndpoint(reactor, "127.0.0.1", port), "web01", "log",
                                reactor, description="raw-log test")
        sender.startService()
        self.addCleanup(sender.stopService)
        await sender.submit("/var/log/messages", 1, HOST,
                            [["2026-11-22", "10:00:0%d" % i, f"sshd[1]: line {i}", ""]
                             for i in range(3)])

        response = await Agent(reactor).request(
            b"GET", b"http://127.0.0.1:%d/metrics" % metricsPort)
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers.getRawHeaders(b"content-type")[0]
                        .startswith(b"text/plain; version="))
        text = (await readBody(response)).decode()
        self.assertIn('mice_batches_received_total{kind="log"} 1.0', text)
        self.assertIn('mice_records_received_total{kind="log"} 3.0', text)
        self.assertIn("mice_batches_acknowledged_total 1.0", text)
        self.assertIn("# TYPE mice_ring_fill_ratio gauge", text)
        self.assertIn("mice_links_open 1.0", text)
        # The store's rows once the flush ran (the ack came from the ring).
        for _ in range(50):
            if 'mice_rows_stored_total{table="rawlog_line"} 3.0' in text:
                break
            await _sleep(0.1)
            response = await Agent(reactor).request(
                b"GET", b"http://127.0.0.1:%d/metrics" % metricsPort)
            text = (await readBody(response)).decode()
        self.assertIn('mice_rows_stored_total{table="rawlog_line"} 3.0', text)


def _sleep(seconds):
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)
