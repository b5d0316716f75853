"""
Tests for L{mice.metrics} (the series), L{mice.services.metrics} (the minute
log line) and the hooks in the BufferDaemon, the sender and the forwarder.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from mice.decoders.logformat import LogFormatDecoder
from mice.metrics import SERIES, Metrics, UnknownSeries, refusalReason
from mice.protocols import wire
from mice.ringbuffer import MemoryRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.bufferdaemon import ringFillRatio as ringFill
from mice.services.metrics import MetricsLogger, MetricsPage
from mice.testing import MemoryPostProcessor

HOST = {"hostname": "web01", "domain": "example.org", "ip": "10.0.0.5",
        "osystem": "Linux", "release": "6.1", "version": "#1"}


def sample(metrics, name, **labels):
    for sampleName, sampleLabels, value in metrics.samples():
        if sampleName == name and sampleLabels == labels:
            return value
    return None


class MetricsTests(SynchronousTestCase):
    def test_counterMadeOnFirstUse(self):
        """
        A daemon's page holds only the series it used; a counter is
        exposed with C{_total} and its labels.
        """
        metrics = Metrics("test")
        self.assertEqual(list(metrics.samples()), [])
        metrics.counter("batches_received", kind="log").inc(3)
        metrics.counter("batches_received", kind="log").inc()
        self.assertEqual(sample(metrics, "mice_batches_received_total", kind="log"), 4)
        text = metrics.text().decode()
        self.assertIn('mice_batches_received_total{kind="log"} 4.0', text)
        self.assertNotIn("mice_lines_read", text)

    def test_unknownAndWrongLabels(self):
        metrics = Metrics()
        self.assertRaises(UnknownSeries, metrics.counter, "no_such_thing")
        self.assertRaises(TypeError, metrics.counter, "batches_received")
        self.assertRaises(TypeError, metrics.counter, "ring_fill_ratio", pipeline="x")
        self.assertRaises(TypeError, metrics.watch, "lines_read", lambda: 1)

    def test_watchedGaugeReadAtScrape(self):
        """
        A watched gauge calls its reader at each scrape: the value is the
        state now, and nothing was set beforehand.
        """
        metrics = Metrics()
        state = {"a": 1}
        metrics.watch("spool_bytes", lambda: dict(state))
        metrics.watch("countermeasures_active", lambda: 2)
        self.assertEqual(sample(metrics, "mice_spool_bytes", server="a"), 1)
        state["a"] = 10
        state["b"] = 5
        self.assertEqual(sample(metrics, "mice_spool_bytes", server="a"), 10)
        self.assertEqual(sample(metrics, "mice_spool_bytes", server="b"), 5)
        self.assertIn("mice_countermeasures_active 2.0", metrics.text().decode())

    def test_everySeriesValid(self):
        """
        Every series of the vocabulary can be made in one registry.
        """
        metrics = Metrics()
        for name, (kind, _, labels) in SERIES.items():
            if kind == "counter":
                metrics.counter(name, **{label: "x" for label in labels}).inc()
            else:
                metrics.watch(name, lambda labels=labels: {tuple("x" for _ in labels): 1.5})
        text = metrics.text().decode()
        for name, (kind, _, _) in SERIES.items():
            self.assertIn("mice_" + name + ("_total" if kind == "counter" else ""), text)

    def test_summary(self):
        metrics = Metrics("bufferdaemon")
        self.assertEqual(metrics.summary(), "(no metrics yet)")
        metrics.counter("lines_read").inc(1500)
        metrics.counter("alerts", alertid="0x1020", analyzer="MICE-RegEx").inc(2)
        self.assertEqual(metrics.summary(),
                         "lines_read_total=1500 alerts_total{alertid=0x1020,analyzer=MICE-RegEx}=2")

    def test_refusalReasons(self):
        """
        Refusal texts, whatever a peer sent, map to a few labels.
        """
        self.assertEqual(refusalReason("message longer than 65536 bytes"), "overlong")
        self.assertEqual(refusalReason("authentication failed: bad tag"), "authentication")
        self.assertEqual(refusalReason("this server takes no 'idmef' data"), "kind")
        self.assertEqual(refusalReason("closed before its hello"), "hello")
        self.assertEqual(refusalReason("batch 3: garbage \x00<script>"), "protocol")


class MetricsLoggerTests(SynchronousTestCase):
    def test_oneLineAMinute(self):
        """
        The logger logs one line of the counters every interval, on the
        injected clock, and nothing before.
        """
        clock = Clock()
        metrics = Metrics("dataforwarder")
        counter = metrics.counter("lines_read")
        logger = MetricsLogger(metrics, clock)
        with capturedLogs() as events:
            logger.startService()
            clock.pump([30])
            self.assertEqual(events, [])
            counter.inc(42)
            clock.pump([30])
            counter.inc(8)
            clock.pump([60])
            logger.stopService()
            clock.pump([60, 60])
        lines = [e for e in events if e.get("log_format", "").endswith("metrics: {summary}")]
        self.assertEqual([e["summary"] for e in lines], ["lines_read_total=42",
                                                           "lines_read_total=50"])
        self.assertEqual(lines[0]["daemon"], "dataforwarder")
        self.assertEqual(lines[0]["log_level"], LogLevel.info)

    def test_failureLoggedNotRaised(self):
        clock = Clock()
        metrics = Metrics("x")

        def broken():
            raise RuntimeError("gone")

        metrics.watch("links_open", broken)
        logger = MetricsLogger(metrics, clock)
        with capturedLogs() as events:
            logger.startService()
            clock.pump([60, 60])
        self.assertTrue(logger._loop.running)
        logger.stopService()
        self.assertEqual(len([e for e in events if "log_failure" in e]), 2)
        self.flushLoggedErrors(RuntimeError)


def line(message):
    return wire.encodeMessage(message) + b"\n"


class BufferDaemonMetricsTests(SynchronousTestCase):
    """
    The BufferDaemon's hooks: a counter bump per batch, gauges at scrape.
    """

    def setUp(self):
        self.clock = Clock()
        self.metrics = Metrics("bufferdaemon")
        self.store = MemoryPostProcessor()
        self.ring = MemoryRing(4)
        self.pipeline = Pipeline(LogFormatDecoder(maxRecord=1000), self.store, self.ring,
                                 name="log->memory")
        self.daemon = BufferDaemon([], [self.pipeline], self.clock, timeInterval=2.0,
                                   metrics=self.metrics)
        self.daemon.startService()
        self.addCleanup(self.daemon.stopService)

    def connect(self):
        protocol = self.daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport(
            peerAddress=IPv4Address("TCP", "127.0.0.1", 40000)))
        protocol.dataReceived(line(wire.hello("web01", "log")))
        return protocol

    def send(self, protocol, batchId, seq, n):
        protocol.dataReceived(line(wire.batch(
            batchId, "/var/log/messages", seq, HOST,
            [["2026-11-22", "10:00:00", f"line {seq + i}", ""] for i in range(n)])))

    def test_receivedStoredAcknowledged(self):
        protocol = self.connect()
        self.send(protocol, 1, 1, 3)
        self.send(protocol, 2, 4, 2)
        m = self.metrics
        self.assertEqual(sample(m, "mice_batches_received_total", kind="log"), 2)
        self.assertEqual(sample(m, "mice_records_received_total", kind="log"), 5)
        self.assertEqual(sample(m, "mice_ring_records", pipeline="log->memory"), 5)
        self.assertEqual(sample(m, "mice_ring_fill_ratio", pipeline="log->memory"), 0.5)
        self.assertEqual(sample(m, "mice_links_open"), 1)
        self.assertEqual(sample(m, "mice_batches_acknowledged_total"), 0)
        self.clock.advance(2)
        self.assertEqual(sample(m, "mice_records_stored_total", pipeline="log->memory"), 5)
        self.assertEqual(sample(m, "mice_batches_acknowledged_total"), 2)
        self.assertEqual(sample(m, "mice_ring_fill_ratio", pipeline="log->memory"), 0)

    def test_pausesCounted(self):
        protocol = self.connect()
        for i in range(5):
            self.send(protocol, i + 1, 10 * i + 1, 1)
        self.assertTrue(self.daemon.paused)
        self.assertEqual(sample(self.metrics, "mice_flow_pauses_total"), 1)
        self.assertEqual(sample(self.metrics, "mice_ring_fill_ratio", pipeline="log->memory"),
                         1.0)
        self.clock.advance(2)
        self.assertFalse(self.daemon.paused)
        self.assertEqual(sample(self.metrics, "mice_flow_pauses_total"), 1)

    def test_refusedCounted(self):
        protocol = self.connect()
        protocol.dataReceived(b"not json at all\n")
        self.assertEqual(sample(self.metrics, "mice_connections_refused_total",
                                reason="protocol"), 1)
        other = self.daemon.factory.buildProtocol(None)
        other.makeConnection(StringTransport())
        other.dataReceived(b"x" * (self.daemon.maxLine + 10) + b"\n")
        self.assertEqual(sample(self.metrics, "mice_connections_refused_total",
                                reason="overlong"), 1)

    def test_ringFill(self):
        ring = MemoryRing(10, byteCapacity=100)
        self.assertEqual(ringFill(ring), 0)
        ring.append(b"x" * 50)
        self.assertEqual(ringFill(ring), 0.5)


class PageTests(SynchronousTestCase):
    def test_render(self):
        from twisted.web.test.requesthelper import DummyRequest

        metrics = Metrics()
        metrics.counter("lines_read").inc(7)
        request = DummyRequest([b"metrics"])
        body = MetricsPage(metrics).render_GET(request)
        self.assertIn(b"mice_lines_read_total 7.0", body)
        self.assertTrue(request.responseHeaders.getRawHeaders(b"content-type")[0]
                        .startswith(b"text/plain"))
