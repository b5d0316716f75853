"""
Measure the ManagementHost's reaction agents alone: alerts per second
through each agent's C{react}, one job at a time as the reaction service
runs them (C{--concurrency} jobs in flight at once), against real targets
on this machine.

    python bench/bench_reaction_agents.py [--alerts 20000] [--agents syslog,file,fifo]
        [--concurrency 1]

 - syslog: RFC 5424 lines to a UNIX datagram socket read by another process;
 - file: documents appended to a file in a temporary directory;
 - fifo: records through a FIFO to a reader process
   (C{python -m mice.reactors.fiforeader}), each done once read: one job
   at a time this measures the round trip to the reader process.

The alerts are M-ICE alerts with their IDMEF documents (about 1 KiB).
Figures are wall time and the CPU time of this process (the reader
processes' aside), and this process's peak RSS.
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SINK = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
print("ready", flush=True)
count = 0
while True:
    data = s.recv(65536)
    if data == b"end":
        print(count, flush=True)
        break
    count += 1
"""


def alerts(count):
    from mice.alerts import Alert, Node, RoutedAlert
    from mice.idmef import toXml

    made = []
    for n in range(count):
        alert = Alert(
            str(n), "MICE-RegEx", "2026-11-22T10:00:01+00:00", "RT_AUTH_F", alertId=0x1020,
            severity="high", sources=(Node(address="192.0.2.7", user="mallory"),),
            targets=(Node(address="10.0.0.1", hostname="web01", user="root"),),
            additionalData=(("log line", "Nov 22 10:00:01 web01 sshd[1]: Failed password for"
                             f" root from 192.0.2.7 port {n} ssh2"),))
        made.append(RoutedAlert(f"web01/0/{n}/0", alert, toXml(alert).decode(),
                                "Authentication failed", "aa01", "2026-11-22T10:00:02Z"))
    return made


CONCURRENCY = 1


async def drive(agent, routed):
    """
    React to every alert, C{CONCURRENCY} jobs at a time; a failed job is
    retried at once (the service would back off).
    """
    from twisted.internet.defer import gatherResults

    retries = [0]

    async def one(alert):
        while True:
            try:
                await agent.react(alert)
                return
            except Exception:
                retries[0] += 1
                if retries[0] % 100 == 0:
                    await deferLater(0.01)

    async def lane(alerts):
        for alert in alerts:
            await one(alert)

    from twisted.internet.defer import ensureDeferred
    await gatherResults([ensureDeferred(lane(routed[i::CONCURRENCY]))
                         for i in range(CONCURRENCY)])
    return retries[0]


def deferLater(seconds):
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)


async def benchSyslog(reactor, routed, directory):
    from mice.config import SyslogReactionSettings
    from mice.reactors.syslog import SyslogReaction

    path = os.path.join(directory, "log")
    sink = subprocess.Popen([sys.executable, "-c", SINK, path], stdout=subprocess.PIPE)
    sink.stdout.readline()
    agent = SyslogReaction("rid_1_write_to_syslog",
                           SyslogReactionSettings(target=f"unix:{path}", format="rfc5424"),
                           reactor)
    await agent.start()
    retries = await drive(agent, routed)
    agent.stop()
    end = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    end.sendto(b"end", path)
    received = int(sink.stdout.readline())
    sink.wait()
    return f"{received} lines received, {retries} retries (receiver's queue full)"


async def benchFile(reactor, routed, directory):
    from mice.reactors.savetofile import SaveToFile

    path = os.path.join(directory, "alerts.idmef")
    agent = SaveToFile("rid_3_save_to_file", path)
    agent.start()
    retries = await drive(agent, routed)
    agent.stop()
    with open(path, "rb") as f:
        lines = f.read().count(b"\n")
    return f"{lines} lines, {os.path.getsize(path) // 1024} KiB, {retries} retries"


async def benchFifo(reactor, routed, directory):
    from mice.reactors.external import FifoReaction

    path = os.path.join(directory, "rid_5_bench")
    out = os.path.join(directory, "out.json")
    agent = FifoReaction("rid_5_bench", path, reactor, maxHeld=1000)
    agent.start()
    reader = subprocess.Popen([sys.executable, "-m", "mice.reactors.fiforeader", path,
                               "--out", out, "--once", "--chunk", "65536"],
                              env=dict(os.environ, PYTHONPATH=ROOT))
    retries = await drive(agent, routed)
    await agent.stop()
    reader.wait()
    with open(out) as f:
        lines = sum(1 for _ in f)
    return f"{lines} records read, {retries} retries (no reader yet)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--agents", default="syslog,file,fifo")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="jobs in flight at once (default: 1)")
    args = parser.parse_args()
    global CONCURRENCY
    CONCURRENCY = args.concurrency

    from twisted.internet import reactor
    from twisted.internet.defer import ensureDeferred

    routed = alerts(args.alerts)
    benches = {"syslog": benchSyslog, "file": benchFile, "fifo": benchFifo}

    async def run():
        with tempfile.TemporaryDirectory(prefix="mice-bench-") as directory:
            for name in args.agents.split(","):
                wall, cpu = time.perf_counter(), time.process_time()
                detail = await benches[name](reactor, routed, directory)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(f"{name:7} {args.alerts / wall:9,.0f} alerts/s wall"
                      f" {args.alerts / cpu:9,.0f} alerts/s CPU   {detail}", flush=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak RSS {rss} MiB")

    failure = []
    d = ensureDeferred(run())
    d.addErrback(failure.append)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    if failure:
        failure[0].raiseException()


if __name__ == "__main__":
    main()
