#!/usr/bin/env python
"""
RabbitMQ as the spine (issue 18), beside the direct link.

    python bench/bench_broker.py --lines 1000000 --store mariadb
    python bench/bench_broker.py --lines 1000000 --part rawlog --consumers 2
    python bench/bench_broker.py --lines 300000 --part agents --agents 1,2,3

``--part rawlog`` (default ``both``): a log file growing at full speed →
``twistd mice-dataforwarder`` → RabbitMQ (a quorum queue, publisher
confirms) → ``twistd mice-bufferdaemon`` consuming it → committed rows in
MariaDB (or SQLite), then the same with the forwarder's direct link to the
daemon.  Prints lines per second from the first byte written to the last
row, the peak RSS (VmHWM) of the forwarder and of the daemon, and the CPU
each spent, and the RabbitMQ server's (``beam.smp``) CPU over the run; then
checks that every line is stored exactly once.  ``--watch`` samples, every
0.25 s, the messages ready in the queue and what each consumer holds
unacknowledged (its ``[METRICS]`` page), and prints their means and how
often the consumer's window was full: a queue that grows while the window
is full means the consumer (its store) is the slow stage.

``--part agents``: the corpus in batches of 1,000 lines published to a
queue by M-ICE's own ``BrokerSender`` (publisher confirms, 64 batches in
flight, as a forwarder publishes; in a process of its own, the batches
made before the clock starts) while 1, 2 and 3 analysis
agents (``twistd mice-bufferdaemon`` with the shipped M-ICE rules,
``[BROKER]``) compete for it and publish their alerts, confirmed, to
another queue.  Prints the alerts per second and lines per second from the
first message published until every batch is acknowledged (each agent's
``mice_broker_batches_acknowledged_total``), and each agent's peak RSS and
CPU.

Queues are made in RabbitMQ's ``/`` vhost on 127.0.0.1:5672 (guest) with
names of their own, deleted after.  Run with the load printed: the machine
is shared.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _common  # noqa: E402
from bench_forwarder import Writer, alive, died, waitForLog, writeCorpus  # noqa: E402

from mice.testing import (  # noqa: E402
    writeAgentConfigs,
    writeForwarderConfig,
    writeRawLogConfigs,
)

cpuSeconds, freePort, makeStore = _common.cpuSeconds, _common.freePort, _common.makeStore
spawnTwistd = _common.spawnTwistd
peakRss, serverPid, terminate = _common.peakRss, _common.serverPid, _common.terminate
waitForRows = _common.waitForRows

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def blocking():
    import pika

    return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))


def deleteQueues(names):
    connection = blocking()
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)
    finally:
        connection.close()


#: --queue-type (quorum unless told).
QUEUE_TYPE = ["quorum"]


def brokerSection(queue, prefetch):
    return (f"\n[BROKER]\nAMQP = {URL}\nQUEUE = {queue}\nPREFETCH = {prefetch}\n"
            f"QUEUE_TYPE = {QUEUE_TYPE[0]}\n")


def metric(port, name):
    """
    The sum of a counter over its labels on a daemon's metrics page.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


class Watcher(threading.Thread):
    """
    Samples, every C{interval} seconds until stopped, the messages ready in
    the queue (a passive declare) and what the consumers hold
    unacknowledged (their metrics pages): which side waits for which.
    """

    def __init__(self, queue, ports, prefetch, interval=0.25):
        super().__init__(daemon=True)
        self.queue, self.ports, self.prefetch, self.interval = queue, ports, prefetch, interval
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        connection = blocking()
        try:
            channel = connection.channel()
            while not self.stopping.wait(self.interval):
                ready = channel.queue_declare(self.queue, passive=True).method.message_count
                held = [metric(port, "mice_broker_unacknowledged") for port in self.ports]
                self.samples.append((ready, held))
        finally:
            connection.close()

    def summary(self):
        self.stopping.set()
        self.join()
        n = len(self.samples) or 1
        full = sum(1 for _, held in self.samples for h in held if h >= self.prefetch)
        return (f"watch: samples={len(self.samples)}"
                f" queue_ready_mean={sum(r for r, _ in self.samples) / n:.1f}"
                f" queue_ready_max={max((r for r, _ in self.samples), default=0)}"
                f" consumer_unacked_mean={sum(sum(h) for _, h in self.samples) / n:.1f}"
                f" consumer_window_full={100 * full / (n * len(self.ports)):.0f}%")


def rawlog(args, directory, corpus, link, expected):
    """
    One run of forwarder → (broker | direct link) → BufferDaemon → store.
    """
    run = os.path.join(directory, link)
    store = makeStore(args.store, run)
    port = freePort()
    queue = f"mice-bench-{os.getpid()}-rawlog"
    consumers = args.consumers if link == "broker" else 1
    daemonConfs = [writeRawLogConfigs(os.path.join(run, f"daemon{n}"), store.url,
                                      port=port if n == 0 else 0, mmSize=64, rbSize=0,
                                      timeInterval=1, batchSize=args.batch, maxErr=10)
                   for n in range(consumers)]
    followed = os.path.join(run, "messages")
    open(followed, "wb").close()
    forwarderConf = writeForwarderConfig(os.path.join(run, "forwarder"), [followed],
                                         sqlPort=0 if link == "broker" else port,
                                         sleepInterval=args.sleep)
    ready = "link to raw-log database"
    metricsPorts = [freePort() for _ in daemonConfs]
    watcher = None
    if link == "broker":
        for daemonConf, metricsPort in zip(daemonConfs, metricsPorts):
            with open(daemonConf, "a") as f:
                f.write(brokerSection(queue, args.prefetch)
                        + (f"[METRICS]\nLISTEN = tcp:{metricsPort}:interface=127.0.0.1\n"
                           if args.watch else ""))
        with open(forwarderConf) as f:
            text = f.read()
        with open(forwarderConf, "w") as f:
            f.write(text.replace("SQLPORT = 0\n", f"SQLPORT = 0\nAMQP = {URL}\nQUEUE = {queue}\n"
                                                   f"QUEUE_TYPE = {QUEUE_TYPE[0]}\n"))
        ready = ": connected ("
    forwarderLog = os.path.join(run, "forwarder.log")
    daemons, forwarder = [], None
    beam = serverPid(("beam.smp",))
    database = serverPid() if args.store == "mariadb" else None
    try:
        for n, daemonConf in enumerate(daemonConfs):
            daemonLog = os.path.join(run, f"daemon{n}.log")
            daemons.append((spawnTwistd("mice-bufferdaemon", daemonConf, daemonLog), daemonLog))
            waitForLog("BufferDaemon", daemonLog,
                       "consuming" if link == "broker" else "listening", daemons[-1][0])
        forwarder = spawnTwistd("mice-dataforwarder", forwarderConf, forwarderLog)
        waitForLog("forwarder", forwarderLog, ready, forwarder)
        cpuBefore = (cpuSeconds(forwarder.pid), sum(cpuSeconds(d.pid) for d, _ in daemons),
                     cpuSeconds(beam) if beam else 0.0,
                     cpuSeconds(database) if database else 0.0)
        if args.watch and link == "broker":
            watcher = Watcher(queue, metricsPorts, args.prefetch)
            watcher.start()
        writer = Writer(corpus, followed)
        writer.start()
        writer.started.wait()
        committed = waitForRows(store, expected, alive({
            "forwarder": (forwarder, forwarderLog),
            **{f"BufferDaemon {n}": daemon for n, daemon in enumerate(daemons)}}), stall=60)
        if watcher is not None:
            consumed = sum(metric(port, "mice_broker_batches_consumed_total")
                           for port in metricsPorts)
            print(watcher.summary() + f" lines_per_message={args.lines / max(consumed, 1):.0f}",
                  flush=True)
            watcher = None
        cpu = (cpuSeconds(forwarder.pid) - cpuBefore[0],
               sum(cpuSeconds(d.pid) for d, _ in daemons) - cpuBefore[1],
               (cpuSeconds(beam) - cpuBefore[2]) if beam else 0.0,
               (cpuSeconds(database) - cpuBefore[3]) if database else 0.0)
        rss = (peakRss(forwarder.pid), max(peakRss(d.pid) for d, _ in daemons),
               peakRss(beam) if beam else 0)
        writer.join()
        stored = store.count(exact=True)
        diskBytes = storeBytes(store)
    finally:
        if watcher is not None:
            watcher.summary()
        terminate([forwarder] + [d for d, _ in daemons])
        store.close()
        if link == "broker":
            deleteQueues([queue])
    if committed is None or stored != expected:
        raise SystemExit(f"link={link}: {stored} rows stored for {expected} lines")
    elapsed = committed - writer.began
    perLine = 1e6 / args.lines
    print(f"link={link} queue_type={QUEUE_TYPE[0] if link == 'broker' else '-'}"
          f" consumers={consumers}"
          f" store={args.store} lines={args.lines} seconds={elapsed:.2f}"
          f" lines_per_second={args.lines / elapsed:,.0f}"
          f" forwarder_peak_rss_mb={rss[0] / 2 ** 20:.1f}"
          f" daemon_peak_rss_mb={rss[1] / 2 ** 20:.1f} (each)"
          + (f" rabbitmq_peak_rss_mb={rss[2] / 2 ** 20:.1f}" if link == "broker" else "")
          + f" cpu_us_per_line: forwarder={cpu[0] * perLine:.2f} daemons={cpu[1] * perLine:.2f}"
          + (f" rabbitmq={cpu[2] * perLine:.2f}" if link == "broker" else "")
          + (f" mariadb_all={cpu[3] * perLine:.2f}" if database else "")
          + f" store_bytes_per_line={diskBytes / args.lines:.0f}", flush=True)
    return args.lines / elapsed


def storeBytes(store):
    """
    The bytes the store takes on disk (MariaDB: data and indexes of its
    tables; SQLite: the file).
    """
    if hasattr(store, "path"):
        return os.path.getsize(store.path)
    with store.db.cursor() as cursor:
        cursor.execute("ANALYZE TABLE " + ", ".join(f"{store.name}.{t}" for t in
                                                      ("rawlog_line", "firewall_line",
                                                       "scslog_line")))
        cursor.fetchall()
        cursor.execute("SELECT COALESCE(SUM(data_length + index_length), 0) FROM"
                       " information_schema.TABLES WHERE table_schema = %s", (store.name,))
        return int(cursor.fetchone()[0])


def lineBodies(corpus, host, batch=1000):
    """
    The corpus as the forwarder publishes it: batch messages of C{batch}
    lines (the link protocol's batch line).
    """
    from datetime import datetime

    from mice.forwarder.shipping import ShipResult, logBatches
    from mice.protocols import wire

    with open(corpus, "rb") as f:
        return [wire.encodeMessage(wire.batch(n, "/var/log/messages", seq, host, records))
                for n, (seq, records) in enumerate(
                    logBatches(f, datetime(2004, 11, 22), 65536, ShipResult(), batch), 1)]


HOST = {"hostname": "web01", "domain": "", "ip": "10.0.0.5", "osystem": "Linux",
        "release": "", "version": ""}


def publishConfirmed(queue, queueType, corpus):
    """
    The publisher of C{--part agents} (run as C{bench_broker.py --publish}):
    the corpus's batches, made first, submitted to a L{BrokerSender} on
    the word C{go} on standard input, all at once (it keeps 64 in flight,
    as a forwarder's does); prints the seconds until the broker confirmed
    them all.
    """
    from datetime import datetime

    from twisted.internet import task
    from twisted.internet.defer import Deferred, gatherResults

    from mice.forwarder.shipping import ShipResult, logBatches
    from mice.protocols.amqp import BrokerTarget, parseAmqpUrl
    from mice.services.broker import brokerSender

    with open(corpus, "rb") as f:
        batches = list(logBatches(f, datetime(2004, 11, 22), 65536, ShipResult(), 1000))

    async def run(reactor):
        sender = brokerSender(reactor, BrokerTarget(parseAmqpUrl(URL), queue, queueType),
                              "web01", "log")
        sender.startService()
        while not sender.connected:
            await task.deferLater(reactor, 0.05, lambda: None)
        print("ready", flush=True)
        sys.stdin.readline()
        began = time.perf_counter()
        await gatherResults([sender.submit("/var/log/messages", seq, HOST, records)
                             for seq, records in batches])
        print(f"confirmed {time.perf_counter() - began:.3f}", flush=True)
        await sender.stopService()

    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor)))


def agents(args, directory, corpus, count):
    """
    One run of C{count} agents competing for a queue of the corpus's lines.
    """
    run = os.path.join(directory, f"agents{count}")
    linesQueue = f"mice-bench-{os.getpid()}-lines{count}"
    alertsQueue = f"mice-bench-{os.getpid()}-alerts{count}"
    bodies = lineBodies(corpus, HOST)
    processes, ports = [], []
    beam = serverPid(("beam.smp",))
    try:
        for n in range(count):
            agentDir = os.path.join(run, f"agent{n}")
            conf = writeAgentConfigs(agentDir, 1, mmSize=64, timeInterval=1)
            aa = os.path.join(agentDir, "aa.conf")
            with open(aa) as f:
                text = f.read()
            with open(aa, "w") as f:
                f.write(text.replace("Management = 127.0.0.1:1\n",
                                     f"ManagementAMQP = {URL}\nManagementQueue = {alertsQueue}\n")
                        .replace("[IDMEF_INFO]", f"[IDMEF_INFO]\nInstance = agent{n}"))
            port = freePort()
            with open(conf, "a") as f:
                f.write(brokerSection(linesQueue, args.prefetch)
                        + f"[METRICS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n")
            log = os.path.join(agentDir, "agent.log")
            processes.append((spawnTwistd("mice-bufferdaemon", conf, log), log))
            ports.append(port)
        for process, log in processes:
            waitForLog("agent", log, "consuming", process)
        cpuBefore = [cpuSeconds(p.pid) for p, _ in processes] + [cpuSeconds(beam) if beam else 0]
        publisher = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--publish", linesQueue,
             "--queue-type", QUEUE_TYPE[0], corpus],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        processes.append((publisher, os.devnull))
        if publisher.stdout.readline().strip() != "ready":
            raise RuntimeError("the publisher did not connect")
        began = time.perf_counter()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        confirmed = publisher.stdout.readline().split()
        if confirmed[:1] != ["confirmed"]:
            raise RuntimeError(f"the publisher failed: {confirmed}")
        published = time.perf_counter()
        publisher.wait(60)
        processes.pop()
        while True:
            acknowledged = sum(metric(port, "mice_broker_batches_acknowledged_total")
                               for port in ports)
            if acknowledged >= len(bodies):
                break
            for process, log in processes:
                if process.poll() is not None:
                    raise died("agent", log)
            time.sleep(0.05)
        done = time.perf_counter()
        alerts = sum(metric(port, "mice_alerts_total") for port in ports)
        cpu = [cpuSeconds(p.pid) - before for (p, _), before in zip(processes, cpuBefore)]
        beamCpu = (cpuSeconds(beam) - cpuBefore[-1]) if beam else 0.0
        rss = [peakRss(p.pid) for p, _ in processes]
        shares = [metric(port, "mice_broker_batches_acknowledged_total") for port in ports]
    finally:
        terminate(process for process, _ in processes)
        deleteQueues([linesQueue, alertsQueue])
    elapsed = done - began
    print(f"agents={count} lines={args.lines} alerts={alerts:.0f} seconds={elapsed:.2f}"
          f" (publishing, confirmed {published - began:.2f})"
          f" alerts_per_second={alerts / elapsed:,.0f}"
          f" lines_per_second={args.lines / elapsed:,.0f}"
          f" batches_per_agent={json.dumps([int(s) for s in shares])}"
          f" agent_peak_rss_mb={json.dumps([round(r / 2 ** 20, 1) for r in rss])}"
          f" agent_cpu_us_per_line={json.dumps([round(c * 1e6 / args.lines, 2) for c in cpu])}"
          f" rabbitmq_cpu_us_per_line={beamCpu * 1e6 / args.lines:.2f}"
          f" message_bytes_per_line={sum(map(len, bodies)) / args.lines:.0f}", flush=True)
    return alerts / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.addPipelineArguments(parser, store="mariadb")
    parser.add_argument("--sleep", type=float, default=0.2, help="the forwarder's SLEEPINV")
    parser.add_argument("--prefetch", type=int, default=64,
                        help="[BROKER] PREFETCH: batches a consumer holds unacknowledged")
    parser.add_argument("--consumers", type=int, default=1,
                        help="rawlog part: BufferDaemons competing for the broker's queue")
    parser.add_argument("--queue-type", choices=("quorum", "classic"), default="quorum")
    parser.add_argument("--watch", action="store_true",
                        help="rawlog part: sample the queue's ready messages and the consumers'"
                             " unacknowledged ones (which side waits)")
    parser.add_argument("--part", choices=("rawlog", "agents", "both"), default="both")
    parser.add_argument("--links", default="broker,direct",
                        help="rawlog part: broker, direct or both (comma-separated)")
    parser.add_argument("--agents", default="1,2,3", help="agents part: agent counts")
    parser.add_argument("--publish", metavar="QUEUE",
                        help="(internal) publish CORPUS to QUEUE with publisher confirms")
    parser.add_argument("corpus", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    QUEUE_TYPE[0] = args.queue_type
    if args.publish:
        publishConfirmed(args.publish, args.queue_type, args.corpus)
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" cores={os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mice-bench-broker-") as directory:
        corpus = os.path.join(directory, "corpus.log")
        writeCorpus(corpus, args.lines, args.seed)
        if args.part in ("rawlog", "both"):
            for link in args.links.split(","):
                rawlog(args, directory, corpus, link, args.lines)
        if args.part in ("agents", "both"):
            for count in map(int, args.agents.split(",")):
                agents(args, directory, corpus, count)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}",
          flush=True)


if __name__ == "__main__":
    main()
