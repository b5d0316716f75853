#!/usr/bin/env python
"""
End-to-end throughput of the raw-log pipeline: ``mice send`` → BufferDaemon
(twistd, memory-mapped ring) → committed rows in SQLite or MariaDB.

    python bench/bench_pipeline.py --lines 1000000 --store sqlite
    python bench/bench_pipeline.py --lines 1000000 --store mariadb

Prints lines per second from the start of ``mice send`` until the last row is
committed, and the BufferDaemon's peak RSS (VmHWM).  MariaDB runs use a
scratch database ``mice_bench_<pid>`` on 127.0.0.1:3306 (root), dropped after.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import TWISTD, freePort, makeStore, peakRss, waitForPort  # noqa: E402
from gencorpus import generate  # noqa: E402

from mice.testing import writeRawLogConfigs  # noqa: E402

MICE = [sys.executable, "-m", "mice.cli"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000, help="rows per insert transaction")
    parser.add_argument("--window", type=int, default=8, help="mice send --window")
    parser.add_argument("--ring", choices=("mmap", "memory"), default="mmap",
                        help="mmap: MMSIZE=64, acknowledged once synced to the ring;"
                             " memory: RBSIZE=64 (the seed's default), acknowledged once stored")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mice-bench-") as directory:
        corpus = os.path.join(directory, "corpus.log")
        with open(corpus, "w", encoding="utf-8") as f:
            for line in generate(args.lines, args.seed):
                f.write(line + "\n")
        size = os.path.getsize(corpus)
        store = makeStore(args.store, directory)
        port = freePort()
        mmSize, rbSize = (64, 0) if args.ring == "mmap" else (0, 64)
        conf = writeRawLogConfigs(directory, store.url, port=port, mmSize=mmSize, rbSize=rbSize,
                                  timeInterval=1, batchSize=args.batch, maxErr=10)
        daemonLog = os.path.join(directory, "daemon.log")
        daemon = subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile=", "--logfile", daemonLog,
                                            "mice-bufferdaemon", "-c", conf])
        try:
            waitForPort(port)
            start = time.perf_counter()
            sender = subprocess.Popen(MICE + ["send", "--to", f"127.0.0.1:{port}",
                                              "--window", str(args.window), corpus],
                                      stdout=subprocess.DEVNULL)
            # MAX(row_id) is cheap to poll; COUNT(*) on a growing table is not.
            while store.count() < args.lines:
                if daemon.poll() is not None:
                    raise SystemExit(f"the BufferDaemon died; see {daemonLog}")
                time.sleep(0.1)
            elapsed = time.perf_counter() - start
            sender.wait()
            rss = peakRss(daemon.pid)
            with open(daemonLog) as f:
                pauses = sum(1 for line in f if "pausing" in line)
            stored = store.count(exact=True)
            if stored != args.lines:
                raise SystemExit(f"{stored} rows stored for {args.lines} lines")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait()
            store.close()
    print(f"store={args.store} ring={args.ring} window={args.window} lines={args.lines} bytes={size} seconds={elapsed:.2f}"
          f" lines_per_second={args.lines / elapsed:,.0f}"
          f" daemon_peak_rss_mb={rss / 2 ** 20:.1f} ring_full_pauses={pauses}")


if __name__ == "__main__":
    main()
