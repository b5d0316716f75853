# -*- test-case-name: tests.integration.test_metrics,tests.unit.test_metrics -*-
"""
Serving a daemon's L{mice.metrics.Metrics}: the Prometheus text page on the
C{[METRICS]} C{LISTEN} endpoint, and the counters logged once a minute.

L{metricsService} is what a tap calls: it returns a C{MultiService} to add
to the daemon's tree (the logger always; the page when an endpoint is
given).
"""

from twisted.application.service import MultiService, Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

from mice.metrics import CONTENT_TYPE
from mice.services.listening import optionalListener

#: Seconds between two log lines of the counters.
LOG_INTERVAL = 60.0


class MetricsPage(Resource):
    """
    The Prometheus text exposition of a L{mice.metrics.Metrics}, rendered in
    the reactor thread (see L{mice.metrics}).  Every path serves it
    (C{/metrics} is what Prometheus asks for by default).
    """

    isLeaf = True

    def __init__(self, metrics):
        super().__init__()
        self.metrics = metrics

    def render_GET(self, request):
        request.setHeader(b"Content-Type", CONTENT_TYPE.encode("ascii"))
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        return self.metrics.text()

    render_HEAD = render_GET


class MetricsLogger(Service):
    """
    Logs one line of a daemon's counters every C{interval} seconds (the
    clock injected).  A failure to read them is logged, never raised into
    the loop.
    """

    log = Logger()

    def __init__(self, metrics, clock, interval=LOG_INTERVAL):
        self.metrics = metrics
        self.clock = clock
        self.interval = interval
        self._loop = LoopingCall(self.logOnce)
        self._loop.clock = clock

    def startService(self):
        super().startService()
        self._loop.start(self.interval, now=False)

    def stopService(self):
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def logOnce(self):
        try:
            self.log.info("{daemon} metrics: {summary}", daemon=self.metrics.daemon,
                          summary=self.metrics.summary())
        except Exception:
            self.log.failure("{daemon}: cannot read the metrics", daemon=self.metrics.daemon)


def metricsService(listen, metrics, reactor, logInterval=LOG_INTERVAL):
    """
    The metrics of a daemon as a service: the minute log line, and the
    Prometheus page on C{listen} (a server endpoint string) if given.

    @param listen: e.g. C{tcp:9108:interface=127.0.0.1}, or C{None}.
    @return: a C{MultiService}; its C{page} attribute is the endpoint
        service (C{None} without an endpoint).
    """
    from twisted.internet.endpoints import serverFromString

    service = MultiService()
    service.setName("metrics")
    MetricsLogger(metrics, reactor, logInterval).setServiceParent(service)
    service.page = None
    if listen:
        site = Site(MetricsPage(metrics))
        site.noisy = False
        # A daemon whose metrics cannot listen still runs; the failure is logged.
        service.page = optionalListener(serverFromString(reactor, listen), site,
                                        "the metrics page", listen,
                                        "set [METRICS] LISTEN to a free port")
        service.page.setServiceParent(service)
    return service
