# -*- test-case-name: tests.unit.test_metrics,tests.integration.test_metrics -*-
"""
The metrics every M-ICE daemon can serve: one vocabulary of Prometheus
series (L{SERIES}), a registry per daemon (L{Metrics}), the text
exposition on a twisted.web resource (L{mice.services.metrics.MetricsPage}) at a
C{[METRICS]} C{LISTEN} endpoint, and one log line of the counters every
minute (L{mice.services.metrics.MetricsLogger}).  This module is the
vocabulary only: no reactor, no twisted.web.

Two kinds of series:

  - I{counters} that the daemons bump with small hooks, once per batch
    (never per line): C{metrics.counter("batches_received", kind="log")}
    returns the labelled child to keep and C{.inc(n)};
  - I{gauges read at scrape time} (ring fill, spool bytes, batches not yet
    acknowledged, active countermeasures): a daemon registers a function
    with L{Metrics.watch} that reads its own state, so nothing is updated
    on the hot path at all, and the function runs in the reactor thread,
    where that state lives.

That last point is why the page is ours and not
C{prometheus_client.twisted.MetricsResource}: that one runs the
collection in the reactor's thread pool (reading the daemon's state from
another thread), and it imports the global reactor.  Ours renders
C{generate_latest} in the reactor thread; a scrape costs a few hundred
microseconds.

Names follow Prometheus' conventions (C{mice_} prefix, C{_total} on
counters, base units); see C{docs/metrics.rst}.
"""

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

#: Every series: short name -> (kind, help, label names).  The exposed name
#: is C{mice_<short name>}, and C{_total} is added to counters.
SERIES = {
    # BufferDaemon: what its links bring and what it acknowledges.
    "batches_received": ("counter", "Batches received on the daemon's links.", ("kind",)),
    "records_received": ("counter", "Records (log lines, IDMEF documents, console events)"
                                    " received on the daemon's links.", ("kind",)),
    "batches_acknowledged": ("counter", "Batches acknowledged to their senders as durable.",
                             ()),
    "records_stored": ("counter", "Records a post-processor made durable (stored, relayed"
                                  " or analysed).", ("pipeline",)),
    "rows_stored": ("counter", "New rows inserted by the raw-log database, by table (a"
                               " resent row is not counted).", ("table",)),
    "flow_pauses": ("counter", "Times the daemon paused its links (full ring or held"
                               " post-processor).", ()),
    "connections_refused": ("counter", "Link connections closed for a protocol problem, by"
                                       " reason.", ("reason",)),
    "ring_fill_ratio": ("gauge", "How full each pipeline's ring buffer is (0..1).",
                        ("pipeline",)),
    "ring_records": ("gauge", "Records buffered in each pipeline's ring.", ("pipeline",)),
    "links_open": ("gauge", "Open link connections.", ()),
    # Senders (forwarder, analysis agents): the client side of links.
    "link_reconnects": ("counter", "Times a link to a server became ready again after the"
                                   " first time.", ("server",)),
    "link_connected": ("gauge", "Whether the link to a server is ready (1) or not (0).",
                       ("server",)),
    "unacknowledged_batches": ("gauge", "Batches sent or queued and not yet acknowledged.",
                               ("server",)),
    "batches_resent": ("counter", "Batches sent again after a link was lost.", ("server",)),
    # Broker (RabbitMQ) senders and intakes: mice.services.broker.
    "broker_batches_published": ("counter", "Batches published to a broker queue.",
                                 ("server",)),
    "broker_batches_confirmed": ("counter", "Batches the broker confirmed as persisted.",
                                 ("server",)),
    "broker_batches_consumed": ("counter", "Batches delivered by a broker queue.", ("queue",)),
    "broker_batches_redelivered": ("counter", "Batches a broker queue delivered again (another"
                                              " consumer, or a reconnect, had them).",
                                   ("queue",)),
    "broker_batches_acknowledged": ("counter", "Batches acknowledged to a broker once stored.",
                                    ("queue",)),
    "broker_batches_rejected": ("counter", "Messages of a broker queue rejected as no M-ICE"
                                           " batch for this daemon.", ("queue",)),
    "broker_unacknowledged": ("gauge", "Batches consumed and not yet acknowledged.",
                              ("queue",)),
    # DataForwarder.
    "lines_read": ("counter", "Log lines read from the followed files.", ()),
    "lines_filtered": ("counter", "Log lines dropped by the filter module.", ()),
    "lines_lost": ("counter", "Log lines that could not be delivered (counted, logged).",
                   ("server",)),
    "spool_bytes": ("gauge", "Bytes waiting in a server's spool (memory and disk).",
                    ("server",)),
    # Analysis and management.
    "alerts": ("counter", "Alerts raised or received, by M-ICE alert id and analyzer.",
               ("alertid", "analyzer")),
    "reactions": ("counter", "Reaction jobs finished, by reaction id and outcome.",
                  ("rid", "outcome")),
    "countermeasures_active": ("gauge", "Countermeasures active now.", ()),
    "correlation_alerts": ("gauge", "Alerts the correlation stage counted (alerts) or"
                                    " made (correlated), and those it could not count as"
                                    " they came (late, duplicate, evicted, forced, bad time,"
                                    " future), since its state began.", ("what",)),
    "console_logins": ("counter", "Console login attempts, by result.", ("result",)),
    "console_streams": ("gauge", "Open live-update streams of the console.", ()),
}

PREFIX = "mice_"


class UnknownSeries(KeyError):
    """A name that is not in L{SERIES}."""


def _spec(name, kind):
    try:
        spec = SERIES[name]
    except KeyError:
        raise UnknownSeries(f"no metric series {name!r} (known: {', '.join(sorted(SERIES))})"
                            ) from None
    if spec[0] != kind:
        raise TypeError(f"metric series {name!r} is a {spec[0]}, not a {kind}")
    return spec


class _Watched:
    """
    A collector of the gauges read at scrape time.
    """

    def __init__(self):
        self.readers = {}

    def describe(self):
        return []

    def collect(self):
        for name, readers in sorted(self.readers.items()):
            _, documentation, labels = SERIES[name]
            family = GaugeMetricFamily(PREFIX + name, documentation, labels=labels)
            for reader in readers:
                values = reader()
                if not isinstance(values, dict):
                    values = {(): values}
                for labelValues, value in values.items():
                    if not isinstance(labelValues, tuple):
                        labelValues = (labelValues,)
                    family.add_metric([str(v) for v in labelValues], float(value))
            yield family


class Metrics:
    """
    One daemon's series, in a registry of its own.

    Series are made on first use, so a daemon's page shows only what it
    does.  L{counter} is meant to be called once, at wiring time, and the
    child it returns kept: C{child.inc(n)} is then all a hook costs.

    @ivar daemon: the daemon's name, for the minute log line.
    @ivar registry: the L{CollectorRegistry} served at C{[METRICS]}.
    """

    def __init__(self, daemon="mice"):
        self.daemon = daemon
        self.registry = CollectorRegistry(auto_describe=False)
        self._counters = {}
        self._watched = _Watched()
        self.registry.register(self._watched)

    def counter(self, name, **labels):
        """
        The counter C{name} of L{SERIES} with C{labels} (all its labels,
        by name), to C{.inc()}.
        """
        _, documentation, labelNames = _spec(name, "counter")
        family = self._counters.get(name)
        if family is None:
            family = self._counters[name] = Counter(
                PREFIX + name, documentation, labelNames, registry=self.registry)
        if set(labels) != set(labelNames):
            raise TypeError(f"{name} takes the labels {', '.join(labelNames) or 'none'},"
                            f" got {', '.join(labels) or 'none'}")
        return family.labels(**labels) if labelNames else family

    def watch(self, name, reader):
        """
        Serve the gauge C{name} of L{SERIES} from C{reader()}, called at
        every scrape (in the reactor thread): it returns a number (no
        labels) or C{{label value(s): number}}.  Several readers of one
        gauge add their samples (give them different labels).
        """
        _spec(name, "gauge")
        self._watched.readers.setdefault(name, []).append(reader)

    def text(self):
        """The Prometheus text exposition (bytes)."""
        return generate_latest(self.registry)

    def samples(self):
        """
        C{(name, labels, value)} of every sample, counters' C{_created}
        samples left out: what the minute log line shows.
        """
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                yield sample.name, sample.labels, sample.value

    def summary(self):
        """
        One line of every sample: C{name=value} and C{name{label=value}=value},
        the C{mice_} prefix left out.
        """
        parts = []
        for name, labels, value in self.samples():
            short = name[len(PREFIX):] if name.startswith(PREFIX) else name
            if labels:
                short += "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
            parts.append(f"{short}={value:g}")
        return " ".join(parts) if parts else "(no metrics yet)"


def refusalReason(reason):
    """
    The C{reason} label of C{connections_refused} for a refusal text: a
    few fixed words, so that the series stays small whatever a peer sends.
    """
    text = reason.lower()
    for word, label in (("longer than", "overlong"), ("authentic", "authentication"),
                        ("decrypt", "authentication"), ("replay", "authentication"),
                        ("handshake", "authentication"), ("hello", "hello"),
                        ("takes no", "kind"), ("tls", "tls")):
        if word in text:
            return label
    return "protocol"


CONTENT_TYPE = CONTENT_TYPE_LATEST
