#!/usr/bin/env python
"""
The ReactionDaemon's throughput and the countermeasure's latency.

    python bench/bench_reactions.py --messages 5000 --alerts 300

1. Reaction messages per second through one ReactionDaemon (twistd, the
   PSK link, its SQLite state) with C{mice_mod_rct_dummy}: C{--messages}
   applies of distinct addresses sent at once over one link, each answered
   once it is durable; then as many C{list} pages, then as many undos.
2. Latency from C{react()} called on the countermeasure reaction (the
   ManagementHost's agent, in this process) to the command started on the
   daemon (C{mice_mod_rct_system} running C{/usr/bin/touch ADDRESS} in the
   daemon's directory: the file's modification time is when the command
   ran), one alert at a time, for C{--alerts} alerts with distinct sources:
   median and p99.  (Without the ManagementHost's routing and journal, which
   another branch builds: this is the agent and the daemon alone.)

Prints the daemon's peak RSS (VmHWM) and its CPU per message as well.
"""

import argparse
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import TWISTD, cpuSeconds, freePort, peakRss, waitForPort  # noqa: E402

KEY = os.urandom(64).hex()


def address(n):
    n += 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def writeConfigs(directory, port):
    touch = "/usr/bin/touch" if os.path.exists("/usr/bin/touch") else "/bin/touch"
    rm = "/usr/bin/rm" if os.path.exists("/usr/bin/rm") else "/bin/rm"
    with open(os.path.join(directory, "dummy.conf"), "w") as f:
        f.write("[COMMAND]\nARGV = /usr/sbin/ipset -exist add mice4 {ip}\n"
                "UNDO = /usr/sbin/ipset -exist del mice4 {ip}\nPARAMS = ip:ip\n"
                "[POLICY]\nDURATION = 1h\nRATE = 0\n")
    with open(os.path.join(directory, "touch.conf"), "w") as f:
        f.write(f"[COMMAND]\nARGV = {shlex.quote(touch)} {{ip}}\n"
                f"UNDO = {shlex.quote(rm)} -f {{ip}}\nPARAMS = ip:ip\n"
                "[POLICY]\nDURATION = 1h\nRATE = 0\n")
    config = os.path.join(directory, "reactiondaemon.conf")
    with open(config, "w") as f:
        f.write("[FUNCTION_ID]\nFID = 0x0000FF\nFID = 0x000001\n"
                "[REACTION_MODULES]\nRCT_MOD = mice_mod_rct_dummy\nRCT_MOD = mice_mod_rct_system\n"
                "[REACTION_MODULES_CONFIG_FILE]\nRCT_FILE = dummy.conf\nRCT_FILE = touch.conf\n"
                f"[NETWORK]\nIP = 127.0.0.1\nPORT = {port}\n[SECURITY]\nPASSWORD = {KEY}\n"
                "[MISC]\nSTATEDIR = state\n")
    agent = os.path.join(directory, "rid_4_countermeasure.conf")
    with open(agent, "w") as f:
        f.write(f"[COUNTERMEASURE]\nDURATION = 1h\nSTATEDB = agent.db\n"
                f"[DAEMON_1]\nADDRESS = 127.0.0.1:{port}\nSERVES = *\nPASSWORD = {KEY}\n")
    return config, agent


async def throughput(reactor, port, count, pid):
    from twisted.internet.defer import gatherResults
    from twisted.internet.endpoints import clientFromString

    from mice.protocols import reaction
    from mice.security.policy import LinkSecurity
    from mice.services.reactionclient import ReactionClient

    security = LinkSecurity.fromSettings(True, KEY)
    client = ReactionClient(clientFromString(reactor, f"tcp:127.0.0.1:{port}"), reactor,
                            "bench", security.securityFactory(), timeout=600)
    client.startService()
    await client.whenConnected()
    results = {}
    for action in ("apply", "list", "undo"):
        cpu = cpuSeconds(pid)
        started = time.perf_counter()
        if action == "apply":
            asked = [client.request(reaction.react(f"a{n}", "apply", fid=0xFF,
                                                   params={"ip": address(n)}, duration=3600))
                     for n in range(count)]
        elif action == "list":
            asked = [client.request(reaction.react(f"l{n}", "list", limit=1))
                     for n in range(count)]
        else:
            asked = [client.request(reaction.react(f"u{n}", "undo", target=f"a{n}"))
                     for n in range(count)]
        answers = await gatherResults(asked)
        elapsed = time.perf_counter() - started
        bad = [a for a in answers if a["status"] != "done"]
        if bad:
            raise SystemExit(f"{action}: {len(bad)} not done, e.g. {bad[0]}")
        results[action] = (count / elapsed, (cpuSeconds(pid) - cpu) / count)
    await client.stopService()
    return results


async def latency(reactor, agentConfig, directory, alerts):
    from mice.alerts import Alert, Node, RoutedAlert
    from mice.reactors.countermeasure import build

    agent = build("rid_4_countermeasure", agentConfig, reactor)
    await agent.start()
    client = agent.clients["daemon1"]
    while not client.connected:
        from twisted.internet.task import deferLater

        await deferLater(reactor, 0.05)
    delays = []
    for n in range(alerts):
        source = address(100000 + n)
        alert = Alert(messageId=str(n), analyzerId="bench", createTime="2026-01-01T00:00:00Z",
                      classification="bench", alertId=0x7010, sources=(Node(address=source),),
                      targets=(Node(hostname="client"),))
        routed = RoutedAlert(f"bench|{n}", alert, "", "Exploit", "bench", "")
        called = time.time()
        await agent.react(routed)
        delays.append(os.stat(os.path.join(directory, source)).st_mtime - called)
    await agent.stop()
    delays.sort()
    return statistics.median(delays), delays[max(0, int(len(delays) * 0.99) - 1)], delays[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--alerts", type=int, default=300)
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="mice-bench-reactions-")
    port = freePort()
    config, agentConfig = writeConfigs(directory, port)
    log = open(os.path.join(directory, "reactiondaemon.log"), "w")
    daemon = subprocess.Popen([*TWISTD, "-n", "--pidfile=", "mice-reactiondaemon", "-c", config],
                              stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    try:
        waitForPort(port)
        from twisted.internet import task

        found = {}

        async def run(reactor):
            found["throughput"] = await throughput(reactor, port, args.messages, daemon.pid)
            if args.alerts:
                found["latency"] = await latency(reactor, agentConfig, directory, args.alerts)

        from twisted.internet.defer import ensureDeferred

        try:
            task.react(lambda reactor: ensureDeferred(run(reactor)))
        except SystemExit as e:
            if e.code:
                raise
        rss = peakRss(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        log.close()
    print(f"ReactionDaemon, mice_mod_rct_dummy, PSK link, {args.messages} messages of each kind")
    for action, (rate, cpu) in found["throughput"].items():
        print(f"  {action:5}  {rate:8,.0f} messages/s   daemon CPU {cpu * 1e6:6.0f} us/message")
    print(f"  daemon peak RSS {rss / 2 ** 20:.1f} MiB")
    if "latency" in found:
        median, p99, worst = found["latency"]
        print(f"countermeasure react() -> command started ({args.alerts} alerts, one at a time,"
              f" /usr/bin/touch): median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
              f" max {worst * 1000:.1f} ms")
    print(f"(files in {directory})")


if __name__ == "__main__":
    main()
