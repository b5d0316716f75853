#!/usr/bin/env python
"""
End-to-end throughput of the DataForwarder: a log file growing at full speed
→ C{mice-dataforwarder} (twistd) → BufferDaemon (twistd, memory-mapped ring)
→ committed rows in SQLite or MariaDB.

    python bench/bench_forwarder.py --lines 1000000 --store mariadb
    python bench/bench_forwarder.py --lines 1000000 --store sqlite --filter --pseudo

A writer thread appends the C{gencorpus.py} corpus to the followed file in
64 KiB chunks (cut anywhere, so lines straddle writes) as fast as it can.
Prints one line: the lines per second from the first byte written until the
last row is committed, the peak RSS (VmHWM) of the forwarder and of the
daemon, and the CPU seconds (user + system, from /proc/PID/stat) each spent
over that interval, also per line (start-up is left out).  Then checks that
every line that passed the filter is stored exactly once (rows are unique by
origin, stream and seq); exits 1 otherwise.
MariaDB runs use a scratch database C{mice_bench_<pid>} on 127.0.0.1:3306
(root), dropped after.
"""

import argparse
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import (  # noqa: E402
    addPipelineArguments,
    cpuSeconds,
    makeStore,
    peakRss,
    ringPauses,
    spawnTwistd,
    startRawLogDaemon,
    terminate,
    waitForRows,
)
from gencorpus import generate  # noqa: E402

from mice.forwarder.filters import RegexFilter  # noqa: E402
from mice.forwarder.pseudonym import newKey  # noqa: E402
from mice.testing import writeForwarderConfig  # noqa: E402

#: --filter: drop cron's job lines and sshd's disconnects (about 8% of the corpus).
DROP_RULES = (r"/usr/sbin/cron\[\d+\]: \(", r"sshd\[\d+\]: Received disconnect from ")
CHUNK = 64 * 1024


def writeCorpus(path, lines, seed):
    """
    @return: how many lines the forwarder should store with and without
        the L{DROP_RULES}.
    """
    keep = RegexFilter(DROP_RULES).keep
    kept = 0
    with open(path, "w", encoding="utf-8") as f:
        for line in generate(lines, seed):
            f.write(line + "\n")
            kept += keep(line)
    return kept


class Writer(threading.Thread):
    """
    Appends C{source} to C{target} chunk by chunk, as fast as it can.
    """

    def __init__(self, source, target):
        super().__init__(daemon=True)
        self.source, self.target = source, target
        self.started = threading.Event()
        self.began = self.finished = None

    def run(self):
        fd = os.open(self.target, os.O_WRONLY | os.O_APPEND)
        try:
            with open(self.source, "rb") as f:
                self.began = time.perf_counter()
                self.started.set()
                while chunk := f.read(CHUNK):
                    os.write(fd, chunk)
            self.finished = time.perf_counter()
        finally:
            self.started.set()
            os.close(fd)


def died(name, log):
    """
    The error for a process that died, with the end of its log (the
    temporary directory it is in is about to go).
    """
    try:
        with open(log) as f:
            tail = "".join(f.readlines()[-20:])
    except OSError:
        tail = ""
    return SystemExit(f"the {name} died; the end of its log:\n{tail}")


def waitForLog(name, path, text, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise died(name, path)
        try:
            with open(path) as f:
                if text in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no {text!r} in {path} after {timeout} s")


def alive(processes):
    """
    A check for L{waitForRows}: it raises L{died} for the first of
    C{processes} (C{{name: (process, log)}}) that has ended.
    """
    def check():
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise died(name, log)
    return check


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    addPipelineArguments(parser)
    parser.add_argument("--filter", action="store_true",
                        help="FILTER = yes with DROP rules for cron jobs and sshd disconnects")
    parser.add_argument("--pseudo", action="store_true",
                        help="PSEUDO = yes with mice_mod_psd_keyed and a fresh key")
    parser.add_argument("--sleep", type=float, default=0.2, help="the forwarder's SLEEPINV")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mice-bench-") as directory:
        corpus = os.path.join(directory, "corpus.log")
        kept = writeCorpus(corpus, args.lines, args.seed)
        expected = kept if args.filter else args.lines
        size = os.path.getsize(corpus)
        followed = os.path.join(directory, "messages")
        open(followed, "wb").close()
        keyFile = None
        if args.pseudo:
            keyFile = os.path.join(directory, "pseudonym.key")
            with open(os.open(keyFile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(newKey().hex() + "\n")

        store = makeStore(args.store, directory)
        daemonLog = os.path.join(directory, "daemon.log")
        forwarderLog = os.path.join(directory, "forwarder.log")
        daemon = forwarder = None
        try:
            daemon, port = startRawLogDaemon(os.path.join(directory, "daemon"), store, daemonLog,
                                             mmSize=64, rbSize=0, timeInterval=1,
                                             batchSize=args.batch, maxErr=10)
            forwarderConf = writeForwarderConfig(
                os.path.join(directory, "forwarder"), [followed], sqlPort=port,
                sleepInterval=args.sleep, filterDrop=DROP_RULES if args.filter else (),
                pseudonymKeyFile=keyFile)
            forwarder = spawnTwistd("mice-dataforwarder", forwarderConf, forwarderLog)
            waitForLog("forwarder", forwarderLog, "link to raw-log database", forwarder)
            cpuBefore = cpuSeconds(forwarder.pid), cpuSeconds(daemon.pid)
            writer = Writer(corpus, followed)
            writer.start()
            writer.started.wait()
            committed = waitForRows(store, expected, alive(
                {"forwarder": (forwarder, forwarderLog), "BufferDaemon": (daemon, daemonLog)}),
                stall=60)
            forwarderCpu = cpuSeconds(forwarder.pid) - cpuBefore[0]
            daemonCpu = cpuSeconds(daemon.pid) - cpuBefore[1]
            forwarderRss, daemonRss = peakRss(forwarder.pid), peakRss(daemon.pid)
            writer.join()
            stored = store.count(exact=True)
        finally:
            terminate((forwarder, daemon))
            store.close()
        pauses = ringPauses(daemonLog)
    flags = "".join(f" +{name}" for name, on in (("filter", args.filter),
                                                  ("pseudo", args.pseudo)) if on)
    if committed is None:
        print(f"store={args.store}{flags} lines={args.lines}: only {stored} of {expected} rows"
              " stored", file=sys.stderr)
        raise SystemExit(1)
    elapsed = committed - writer.began
    print(f"store={args.store}{flags} lines={args.lines} bytes={size}"
          f" rows={stored} seconds={elapsed:.2f}"
          f" lines_per_second={args.lines / elapsed:,.0f}"
          f" write_seconds={writer.finished - writer.began:.2f}"
          f" forwarder_peak_rss_mb={forwarderRss / 2 ** 20:.1f}"
          f" daemon_peak_rss_mb={daemonRss / 2 ** 20:.1f}"
          f" forwarder_cpu_s={forwarderCpu:.2f}"
          f" ({forwarderCpu / args.lines * 1e6:.1f} us/line)"
          f" daemon_cpu_s={daemonCpu:.2f} ({daemonCpu / args.lines * 1e6:.1f} us/line)"
          f" ring_full_pauses={pauses}")
    if stored != expected:
        print(f"{stored} rows stored for {expected} lines", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
