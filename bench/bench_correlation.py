#!/usr/bin/env python
"""
Measure L{mice.analysis.correlation.Correlator}: alerts per second through
the engine with the default rules (C{mice/data/default/correlation.conf}),
CPU time of this process, the correlated alerts made, the keys kept, the
checkpoint's size and the CPU time to make it and read it back.

    python bench/bench_correlation.py [--alerts 500000] [--sources 5000]
        [--attack-share 0.1] [--seed 1]

The alerts are made beforehand (not timed): failed logins (0x1020,
0x1021, 0x1025) from C{--sources} addresses against a few users, one in
ten from a handful of brute-forcing addresses, web attacks (0x7010)
against several hosts, and alerts no rule counts (0x1010, 0x8010), with
event times a few per second that arrive slightly out of order (within
the lateness).
"""

import argparse
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mice.alerts import Alert, Node  # noqa: E402
from mice.analysis.correlation import DEFAULT_RULES, Correlator, loadCorrelation  # noqa: E402

START = datetime(2024, 3, 1, tzinfo=UTC).timestamp()


def makeAlerts(count, sources, attackShare, seed):
    rng = random.Random(seed)
    users = ["root", "admin", "oracle", "j.smith", "www-data"]
    attackers = [f"203.0.113.{n}" for n in range(1, 9)]
    hosts = [f"web{n:02d}" for n in range(1, 6)]
    alerts = []
    for n in range(count):
        t = START + n / 50.0 + rng.uniform(0, 3)        # out of order by up to 3 s
        stamp = datetime.fromtimestamp(t, UTC).isoformat()
        roll = rng.random()
        if roll < attackShare:
            source, alertId = rng.choice(attackers), rng.choice((0x1020, 0x1021))
        elif roll < 0.6:
            source = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(sources) % 250 + 1}"
            alertId = rng.choice((0x1020, 0x1021, 0x1025))
        elif roll < 0.7:
            source, alertId = rng.choice(attackers), 0x7010
        else:
            source, alertId = f"10.0.0.{rng.randrange(250) + 1}", rng.choice((0x1010, 0x8010))
        alerts.append(Alert(str(n), "MICE-RegEx", stamp, "bench", alertId, detectTime=stamp,
                            sources=(Node(address=source),),
                            targets=(Node(hostname=rng.choice(hosts), user=rng.choice(users)),)))
    return alerts


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=500000)
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--attack-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    alerts = makeAlerts(args.alerts, args.sources, args.attack_share, args.seed)
    rules = loadCorrelation(DEFAULT_RULES)
    correlator = Correlator(rules)
    made = 0
    wall, cpu0 = time.perf_counter(), cpu()
    feed = correlator.feed
    for alert in alerts:
        made += len(feed(alert))
    made += len(correlator.flush())
    cpuSeconds, wallSeconds = cpu() - cpu0, time.perf_counter() - wall

    # A checkpoint with the reorder buffer and the windows full.
    again = Correlator(rules)
    for alert in alerts[:min(len(alerts), 100000)]:
        again.feed(alert)
    checkpointStart = cpu()
    state = again.checkpoint()
    checkpointSeconds = cpu() - checkpointStart
    restoreStart = cpu()
    Correlator(rules, state=state)
    restoreSeconds = cpu() - restoreStart

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"alerts: {len(alerts)}, correlated: {made}"
          f" ({', '.join(f'{k} {v}' for k, v in sorted(correlator.counts.items()))})")
    print(f"engine: {len(alerts) / cpuSeconds:,.0f} alerts/s of CPU time"
          f" ({cpuSeconds:.2f} s CPU, {wallSeconds:.2f} s wall)")
    print(f"checkpoint: {len(state):,} bytes with {again.held} held and {again.keys} keys,"
          f" made in {checkpointSeconds * 1000:.0f} ms, read in {restoreSeconds * 1000:.0f} ms"
          " of CPU time")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
          " (mostly the alerts made beforehand)")


if __name__ == "__main__":
    main()
