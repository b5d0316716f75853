#!/usr/bin/env python
"""
Faults under the raw-log pipeline: ``mice send`` → BufferDaemon (twistd,
memory-mapped ring) → a private MariaDB (its own data directory and loopback
port, never the shared server), with one fault per scenario.

    python bench/bench_faults.py                      # every scenario, 2-minute faults
    python bench/bench_faults.py --minutes 10 --scenario store-killed

For each scenario it prints the lines sent, stored, lost and duplicated, the
BufferDaemon's memory (VmRSS) before the fault, at its end and once every
line is stored, and the peak RSS (VmHWM) of each process.

A scenario is a function in L{SCENARIOS}: it is given a L{Run} whose
processes are up and storing, does its fault for C{seconds}, and returns
once things are back (the run then waits for every line).  Add one by
writing such a function and listing it.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import TWISTD, freePort, waitForPort  # noqa: E402

from mice.testing import PrivateMariaDB, writeRawLogConfigs  # noqa: E402

MICE = [sys.executable, "-m", "mice.cli"]
TABLES = ("rawlog_line", "firewall_line", "scslog_line")
SAMPLE = (
    "Nov 22 10:00:01 web01 sshd[4242]: Accepted publickey for alice from 10.0.0.7 port 52311",
    "Nov 22 10:00:02 web01 kernel: IN=eth0 OUT= SRC=10.0.0.9 DST=10.0.0.5 PROTO=TCP DPT=22",
    "Nov 22 10:00:03 web01 CRON[777]: (root) CMD (run-parts /etc/cron.hourly)",
)


def memory(pid):
    """
    @return: C{{"VmRSS": bytes, "VmHWM": bytes, "RssAnon": bytes}} of
        C{pid}, empty when it is gone.
    """
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon"):
                    fields[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return fields


class _Cleanups:
    """
    What L{PrivateMariaDB} needs of a test case, for a script.
    """

    def __init__(self):
        self.calls = []

    def addCleanup(self, function, *args):
        self.calls.append((function, args))

    def fail(self, message):
        raise SystemExit(message)

    def run(self):
        for function, args in reversed(self.calls):
            try:
                function(*args)
            except Exception as e:
                print(f"cleanup: {e}", file=sys.stderr)


class Run:
    """
    The processes of one scenario, and what was measured of them.

    @ivar server: the L{PrivateMariaDB}.
    @ivar peaks: the peak RSS seen of each process, by name.
    """

    def __init__(self, directory, lines, timeInterval):
        self.directory = directory
        self.lines = lines
        self.cleanups = _Cleanups()
        self.server = PrivateMariaDB(self.cleanups)
        self.peaks = {}
        self.timeInterval = timeInterval
        self.daemon = self.sender = None

    def start(self):
        import pymysql

        self.server.start()
        self.waitUntil(self.server.ready, 60, "the private MariaDB to start")
        with pymysql.connect(**self.server.connectArgs, autocommit=True) as admin:
            with admin.cursor() as cursor:
                cursor.execute("CREATE DATABASE mice")
        self.port = freePort()
        conf = writeRawLogConfigs(
            self.directory, f"mysql://root@127.0.0.1:{self.server.port}/mice", port=self.port,
            mmSize=64, rbSize=0, timeInterval=self.timeInterval, batchSize=5000, maxErr=10)
        corpus = os.path.join(self.directory, "corpus.log")
        with open(corpus, "w") as f:
            for i in range(self.lines):
                f.write(f"{SAMPLE[i % len(SAMPLE)]} #{i}\n")
        self.log = open(os.path.join(self.directory, "processes.log"), "ab")
        self.cleanups.addCleanup(self.log.close)
        self.daemonLog = os.path.join(self.directory, "daemon.log")
        self.daemon = self.spawn(TWISTD + ["--nodaemon", "--pidfile=", "--logfile",
                                           self.daemonLog, "mice-bufferdaemon", "-c", conf])
        waitForPort(self.port)
        self.sender = self.spawn(MICE + ["send", "--to", f"127.0.0.1:{self.port}", "--timeout",
                                         "3600", corpus])
        self.waitUntil(lambda: self.stored()[1] >= min(20000, self.lines // 4), 120,
                       "rows to arrive")

    def spawn(self, argv):
        process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def reap():
            if process.poll() is None:
                process.kill()
            process.wait()

        self.cleanups.addCleanup(reap)
        return process

    def processes(self):
        running = {"bufferdaemon": self.daemon, "mice send": self.sender,
                   "mariadbd": self.server.process}
        return {name: p.pid for name, p in running.items() if p is not None and p.poll() is None}

    def measure(self):
        """
        Note the peak RSS of every process now running.
        """
        for name, pid in self.processes().items():
            self.peaks[name] = max(self.peaks.get(name, 0), memory(pid).get("VmHWM", 0))

    def daemonRss(self):
        return memory(self.daemon.pid).get("VmRSS", 0)

    def wait(self, seconds):
        """
        Let C{seconds} pass, measuring.
        """
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.measure()
            if self.daemon.poll() is not None:
                raise SystemExit(f"the BufferDaemon died; see {self.daemonLog}")
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

    def waitUntil(self, predicate, timeout, what):
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            self.measure()
            time.sleep(0.25)

    def stored(self):
        """
        @return: C{(rows, distinct (stream, seq))} in the store; C{(0, 0)}
            while it cannot be read.
        """
        import pymysql

        try:
            db = pymysql.connect(**self.server.connectArgs, database="mice", connect_timeout=2,
                                 read_timeout=10)
        except pymysql.MySQLError:
            return 0, 0
        try:
            rows = distinct = 0
            with db.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT stream, seq) FROM {table}")
                    n, d = cursor.fetchone()
                    rows, distinct = rows + n, distinct + d
            return rows, distinct
        except pymysql.MySQLError:
            return 0, 0
        finally:
            db.close()

    def finish(self, timeout):
        """
        Wait for C{mice send} to end and every line to be stored, then stop
        the daemon.

        @return: C{(rows, distinct)} stored.
        """
        end = time.monotonic() + timeout
        while self.sender.poll() is None and time.monotonic() < end:
            self.wait(1)
        if self.sender.poll() is None:
            print(f"mice send has not finished after {timeout:.0f} s", file=sys.stderr)
        self.waitUntil(lambda: self.stored()[1] >= self.lines or time.monotonic() > end,
                       timeout, "every line")
        self.wait(2)
        self.recovered = self.daemonRss()
        self.measure()
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(60)
        return self.stored()

    def close(self):
        self.cleanups.run()


def storeKilled(run, seconds):
    """
    The database is killed with SIGKILL, as a crash would, and started
    again after C{seconds}.
    """
    run.server.kill()
    run.wait(seconds)
    run.server.start()


def storeFrozen(run, seconds):
    """
    The database is stopped with SIGSTOP: its connections stay open and
    unanswered (queries time out, new connections hang at the greeting);
    it goes on after C{seconds}.
    """
    os.kill(run.server.process.pid, signal.SIGSTOP)
    try:
        run.wait(seconds)
    finally:
        os.kill(run.server.process.pid, signal.SIGCONT)


#: C{(name, function)}: each function does its fault for the given seconds.
SCENARIOS = [
    ("store-killed", storeKilled),
    ("store-frozen", storeFrozen),
]


def runScenario(name, scenario, seconds, lines, timeInterval):
    directory = tempfile.mkdtemp(prefix=f"mice-bench-faults-{name}-")
    run = Run(directory, lines, timeInterval)
    try:
        run.start()
        before = run.daemonRss()
        scenario(run, seconds)
        during = run.daemonRss()
        rows, distinct = run.finish(timeout=max(300.0, seconds * 2))
    finally:
        run.close()
    shutil.rmtree(directory, ignore_errors=True)
    return {"scenario": name, "seconds": seconds, "sent": lines, "stored": distinct,
            "lost": lines - distinct, "duplicated": rows - distinct,
            "rss": (before, during, run.recovered), "peaks": dict(run.peaks)}


def printTable(results):
    mib = 2 ** 20
    names = ("bufferdaemon", "mice send", "mariadbd")
    print(f"{'scenario':<14} {'fault s':>7} {'sent':>8} {'stored':>8} {'lost':>5} {'dup':>5}"
          f"  daemon RSS MiB before/end/after  " + "  ".join(f"peak {n} MiB" for n in names))
    for r in results:
        before, during, after = (x / mib for x in r["rss"])
        peaks = "  ".join(f"{r['peaks'].get(n, 0) / mib:>{len(n) + 9}.0f}" for n in names)
        print(f"{r['scenario']:<14} {r['seconds']:>7.0f} {r['sent']:>8} {r['stored']:>8}"
              f" {r['lost']:>5} {r['duplicated']:>5}  {before:>10.0f} / {during:>4.0f} /"
              f" {after:>4.0f}       {peaks}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0,
                        help="how long each fault lasts (default: 2)")
    parser.add_argument("--lines", type=int, default=300000,
                        help="lines mice send ships in each scenario (default: 300000)")
    parser.add_argument("--timeinv", type=float, default=2.0,
                        help="the BufferDaemon's TIMEINV, its flush and first retry interval")
    parser.add_argument("--scenario", action="append", choices=[n for n, _ in SCENARIOS],
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--hostile", action="store_true",
                        help="also flood a BufferDaemon with 2,000 idle and 20 slowloris"
                             " sockets under RLIMIT_NOFILE 1,024 beside good clients"
                             " (bench/scenarios_hostile.py)")
    args = parser.parse_args(argv)
    chosen = [(n, f) for n, f in SCENARIOS if not args.scenario or n in args.scenario]
    results = []
    if args.hostile:
        from scenarios_hostile import ScenarioSkipped, hostileScenario

        try:
            r = hostileScenario(seconds=args.minutes * 60)
        except ScenarioSkipped as e:
            print(f"hostile clients: skipped: {e}", file=sys.stderr)
        else:
            peak = r["daemon_peak_rss_mb"] * 2 ** 20
            results.append({"scenario": "hostile", "seconds": r["seconds"], "sent": r["sent"],
                            "stored": r["stored"], "lost": r["lost"],
                            "duplicated": r["duplicated"], "rss": (peak, peak, peak),
                            "peaks": {"bufferdaemon": peak}})
    for name, scenario in chosen:
        print(f"{name}: {args.minutes * 60:.0f} s ...", file=sys.stderr, flush=True)
        results.append(runScenario(name, scenario, args.minutes * 60, args.lines, args.timeinv))
    printTable(results)
    return 0 if all(r["lost"] == 0 and r["duplicated"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
