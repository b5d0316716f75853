#!/usr/bin/env python
"""
Hostile clients beside a good one (issue 12, part 3): a raw-log
BufferDaemon (twistd, SQLite store, pre-shared key) runs under an open-file
limit of 1,024 while 2,000 idle sockets and 20 slowloris sockets (one byte a
second) hold its port, and ``mice send`` ships lines through the same port.

    python bench/scenarios_hostile.py --seconds 120
    python bench/scenarios_hostile.py --seconds 120 --reconnect   # a persistent attacker

``hostileScenario(seconds)`` returns a dict (``bench_faults.py`` prints it as
a row): lines sent, stored, lost, duplicated, the daemon's peak RSS, the
hostile sockets opened, held at once and closed by the server, how long the
good client took, and what the daemon logged (warnings, refusals, EMFILE).

The daemon's ``[LIMITS]`` set MAXCONN and MAXPENDING far above what 1,024
descriptors allow (as an operator might): the descriptor reserve is what
keeps the port usable.  The good client first ships a few lines before the
flood, so its address is known (peers that authenticated recently keep
getting in when the reserve is reached); a second one (the "newcomer") ships
from an address the daemon has not seen, and gets in as soon as handshake
deadlines free descriptors.  The flood runs for
``seconds`` (at least until the good client is done and, without
``reconnect``, until the server has closed every hostile socket).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from _common import TWISTD, freePort, peakRss, waitForPort  # noqa: E402

from mice.testing import HostileFlood, writeRawLogConfigs  # noqa: E402

MICE = [sys.executable, "-m", "mice.cli"]
KEY = "0123456789abcdef" * 8
#: The address of the good client that has not connected before the flood
#: (the hostile sockets use 127.0.0.2 and up).
NEWCOMER_ADDRESS = "127.0.0.254"


class ScenarioSkipped(Exception):
    """
    This machine cannot run the scenario (the reason says why).
    """


def raiseOwnFileLimit(needed):
    """
    Raise this process's soft open-file limit to at least C{needed} (up to
    the hard limit).

    @return: the previous limits, to restore.
    @raise ScenarioSkipped: the hard limit is too low.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ScenarioSkipped(f"the hostile clients need {needed} open files in this process;"
                              f" its hard limit is {hard} (raise it: ulimit -Hn)")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return soft, hard


def checkLoopbackAddresses():
    """
    @raise ScenarioSkipped: this system cannot connect from 127.0.0.2 and
        up (Linux routes all of 127.0.0.0/8 to the loopback; others may not).
    """
    import socket

    with socket.socket() as s:
        try:
            s.bind((NEWCOMER_ADDRESS, 0))
        except OSError as e:
            raise ScenarioSkipped(f"cannot bind {NEWCOMER_ADDRESS} ({e.strerror}): the hostile"
                                  " clients need the loopback addresses 127.0.0.2 and up"
                                  ) from None


def writeLog(path, count, tag):
    with open(path, "w") as f:
        for n in range(count):
            f.write(f"Nov 22 10:{n // 60 % 60:02d}:{n % 60:02d} web01 sshd[{n % 30000}]:"
                    f" {tag} line {n}\n")


def countRows(database):
    import sqlite3

    if not os.path.exists(database):
        return 0, 0
    with sqlite3.connect(database, timeout=10) as db:
        total, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT origin || '|' || stream || '|' || seq)"
            " FROM rawlog_line").fetchone()
    return total, distinct


def waitUntil(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def hostileScenario(seconds=60, idle=2000, slow=20, lines=50000, fileLimit=1024,
                    reconnect=False, sendTimeout=None, limits=None, directory=None,
                    backlog=1024, newcomerLines=1000, keepLog=False):
    """
    Run the flood beside a good client; see the module docstring.

    @param seconds: how long the flood lasts at least.
    @param sendTimeout: how long the good client may take (default: 30 s,
        or C{seconds} if longer).
    @param limits: extra C{[LIMITS]} lines (C{{"HANDSHAKE_TIMEOUT": 5}}).
    @param directory: where to put the configs, store and logs (default: a
        temporary directory, removed after).
    @param newcomerLines: lines a second good client ships from an address
        that never connected before (L{NEWCOMER_ADDRESS}), started with the
        first: it gets in once the server has closed enough hostile
        sockets (0: no such client).
    @param keepLog: add the daemon's warnings (C{"daemon_log"}, a list of
        lines) to the result.
    @return: a dict of figures.
    @raise ScenarioSkipped: this machine cannot run it.
    """
    checkLoopbackAddresses()
    previous = raiseOwnFileLimit(idle + slow + 512)
    ownDirectory = directory is None
    directory = os.path.abspath(directory or tempfile.mkdtemp(prefix="mice-hostile-"))
    os.makedirs(directory, exist_ok=True)
    sendTimeout = sendTimeout or max(30, seconds)
    settings = {"MAXCONN": 4096, "MAXPENDING": 4096, **(limits or {})}
    daemon = flood = None
    try:
        port = freePort()
        database = os.path.join(directory, "rawlog.db")
        conf = writeRawLogConfigs(directory, f"sqlite:///{database}", port=port,
                                  decoder=f"ENCRYPT = yes\nENCKEY = {KEY}")
        with open(conf) as f:
            text = f.read()
        # A listen queue that takes the burst: connections refused by a full
        # queue never reach the daemon, and would test nothing.
        text = text.replace(f"LISTEN = tcp:{port}:interface=127.0.0.1",
                            f"LISTEN = tcp:{port}:interface=127.0.0.1:backlog={backlog}")
        with open(conf, "w") as f:
            f.write(text + "[LIMITS]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        handshake = float(settings.get("HANDSHAKE_TIMEOUT", 10))
        keyFile = os.path.join(directory, "key")
        with open(keyFile, "w") as f:
            f.write(KEY)
        first, main = os.path.join(directory, "first.log"), os.path.join(directory, "main.log")
        newcomerLog = os.path.join(directory, "newcomer.log")
        writeLog(first, 10, "before the flood")
        writeLog(main, lines, "during the flood")
        writeLog(newcomerLog, newcomerLines, "from a new peer")
        daemonLog = os.path.join(directory, "daemon.log")

        def limitFiles():
            resource.setrlimit(resource.RLIMIT_NOFILE, (fileLimit, fileLimit))

        with open(daemonLog, "wb") as out:
            daemon = subprocess.Popen(
                TWISTD + ["-n", "--pidfile=", "mice-bufferdaemon", "-c", conf],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=limitFiles,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        waitForPort(port)
        if daemon.poll() is not None:
            raise RuntimeError(f"the BufferDaemon exited ({daemon.returncode}); see {daemonLog}")

        def send(path, timeout, source="good", bindAddress=None, wait=True):
            target = (["--to", f"127.0.0.1:{port}"] if bindAddress is None else
                      ["--endpoint", f"tcp:host=127.0.0.1:port={port}:bindAddress={bindAddress}"])
            process = subprocess.Popen(
                MICE + ["send", *target, "--enckey-file", keyFile, "--source", source,
                        "--timeout", str(timeout), path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            return finish(process, timeout) if wait else process

        def finish(process, timeout):
            try:
                out, err = process.communicate(timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            return subprocess.CompletedProcess(process.args, process.returncode, out, err)

        primed = send(first, 30)
        if primed.returncode != 0:
            raise RuntimeError(f"the first mice send failed: {primed.stderr}")

        flood = HostileFlood(port, idle=idle, slow=slow, reconnect=reconnect)
        floodStarted = time.monotonic()
        flood.start()
        waitUntil(lambda: flood.settled, 60)
        held = flood.open
        settledAfter = time.monotonic() - floodStarted

        started = time.monotonic()
        newcomer = None
        if newcomerLines:
            newcomer = send(newcomerLog, sendTimeout, "newcomer", NEWCOMER_ADDRESS, wait=False)
        sent = send(main, sendTimeout)
        sendSeconds = time.monotonic() - started
        heldDuringSend = flood.open
        newcomerResult = newcomerSeconds = None
        if newcomer is not None:
            newcomerResult = finish(newcomer, sendTimeout)
            newcomerSeconds = time.monotonic() - started
        expected = 10 + lines + newcomerLines
        waitUntil(lambda: countRows(database)[1] >= expected, 30, 0.25)

        remaining = seconds - (time.monotonic() - floodStarted)
        if remaining > 0:
            time.sleep(remaining)
        if not reconnect:
            # Every hostile socket must be closed by the server, within the
            # handshake deadline (and some) of the last one connected.  Those
            # still open then are probed: a connection the server never
            # kept (its accept queue overflowed) is reset, one it holds must
            # be closed by its deadline.
            waitUntil(lambda: flood.open == 0, handshake + 5 - (time.monotonic() - floodStarted),
                      0.25)
            if flood.open:
                flood.probe()
                waitUntil(lambda: flood.open == 0, handshake + 10, 0.25)
        allClosedAfter = time.monotonic() - floodStarted
        leftOpen = flood.stop()
        rss = peakRss(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        total, distinct = countRows(database)
        with open(daemonLog, encoding="utf-8", errors="replace") as f:
            logged = f.read().splitlines()
        warnings = [line for line in logged if "#warn]" in line or "#error]" in line
                    or "#critical]" in line]
        return {
            "scenario": "hostile clients" + (" (reconnecting)" if reconnect else ""),
            "seconds": round(allClosedAfter, 1),
            "sent": expected,
            "stored": distinct,
            "lost": expected - distinct,
            "duplicated": total - distinct,
            "daemon_peak_rss_mb": round(rss / 2 ** 20, 1),
            "good_client_exit": sent.returncode,
            "good_client_seconds": round(sendSeconds, 2),
            "good_client_error": sent.stderr.strip()[-500:] if sent.returncode else "",
            "newcomer_exit": newcomerResult and newcomerResult.returncode,
            "newcomer_seconds": newcomerSeconds and round(newcomerSeconds, 2),
            "newcomer_error": (newcomerResult.stderr.strip()[-500:]
                               if newcomerResult and newcomerResult.returncode else ""),
            "hostile_attempts": flood.attempts,
            "hostile_connected": flood.connected,
            "hostile_connect_failed": flood.connectFailed,
            "hostile_held_at_once": held,
            "hostile_held_during_send": heldDuringSend,
            "hostile_closed_by_server": flood.closedByServer,
            "hostile_probed": flood.probed,
            "hostile_left_open": leftOpen,
            "flood_settled_seconds": round(settledAfter, 2),
            "slowloris_bytes": flood.slowBytes,
            "daemon_warnings": len(warnings),
            "daemon_emfile_lines": sum(1 for line in logged if "EMFILE" in line),
            **({"daemon_log": warnings} if keepLog else {}),
        }
    finally:
        if flood is not None:
            flood.stop()
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        resource.setrlimit(resource.RLIMIT_NOFILE, previous)
        if ownDirectory:
            shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--lines", type=int, default=50000)
    parser.add_argument("--file-limit", type=int, default=1024)
    parser.add_argument("--reconnect", action="store_true",
                        help="open a hostile socket again whenever the server closes one")
    parser.add_argument("--log", action="store_true", help="print the daemon's warnings")
    args = parser.parse_args()
    try:
        result = hostileScenario(args.seconds, idle=args.idle, slow=args.slow,
                                 lines=args.lines, fileLimit=args.file_limit,
                                 reconnect=args.reconnect, keepLog=True)
    except ScenarioSkipped as e:
        print(f"skipped: {e}")
        return 0
    log = result.pop("daemon_log")
    print(json.dumps(result, indent=2))
    if args.log:
        print("\n".join(log))
    ok = result["lost"] == 0 and result["good_client_exit"] == 0 and not result["newcomer_exit"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
