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
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gencorpus import generate  # noqa: E402

from mice.testing import writeRawLogConfigs  # noqa: E402

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
MICE = [sys.executable, "-m", "mice.cli"]
TABLES = ("rawlog_line", "firewall_line", "scslog_line")


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpuSeconds(pid):
    """
    User plus system CPU seconds a process has used so far (0 if it is gone).
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serverPid(names=("mariadbd", "mysqld")):
    """
    The local database server's pid, to charge it its CPU per line.
    """
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in names:
                        return int(entry)
            except OSError:
                pass
    return None


def threadCpuSeconds(pid):
    """
    C{{tid: CPU seconds}} of every thread of C{pid}.  (The server reuses
    threads for new connections, so a thread's total is not one
    connection's: take the difference from a snapshot.)
    """
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    return {int(tid): cpuSeconds(f"{pid}/task/{tid}") for tid in tids}


def peakRss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class SQLiteStore:
    def __init__(self, directory):
        self.path = os.path.join(directory, "rawlog.db")
        self.url = "sqlite:///" + self.path

    def count(self, exact=False):
        if not os.path.exists(self.path):
            return 0
        query = "SELECT COUNT(*) FROM {}" if exact else "SELECT COALESCE(MAX(row_id), 0) FROM {}"
        try:
            with sqlite3.connect(self.path, timeout=5) as db:
                return sum(db.execute(query.format(t)).fetchone()[0] for t in TABLES)
        except sqlite3.OperationalError:
            return 0

    def close(self):
        pass


class MariaDBStore:
    def __init__(self, directory):
        import pymysql

        self.name = f"mice_bench_{os.getpid()}"
        self.db = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
        with self.db.cursor() as c:
            c.execute(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4")
        self.url = f"mysql://root@127.0.0.1:3306/{self.name}"

    def count(self, exact=False):
        total = 0
        query = "SELECT COUNT(*) FROM {}" if exact else "SELECT COALESCE(MAX(row_id), 0) FROM {}"
        with self.db.cursor() as c:
            for t in TABLES:
                try:
                    c.execute(query.format(f"{self.name}.{t}"))
                except Exception:
                    return 0
                total += c.fetchone()[0]
        return total

    def connectionCpu(self, serverPid, before):
        """
        CPU seconds, since the snapshot C{before}, of the server threads
        serving this database's connections (the daemon's): unlike the
        server's total, other clients of the server do not disturb it.
        """
        now = threadCpuSeconds(serverPid)
        with self.db.cursor() as c:
            c.execute("SELECT TID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <>"
                      " CONNECTION_ID()", (self.name,))
            return sum(now.get(tid, 0.0) - before.get(tid, 0.0) for (tid,) in c.fetchall())

    def close(self):
        with self.db.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {self.name}")
        self.db.close()


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
        store = SQLiteStore(directory) if args.store == "sqlite" else MariaDBStore(directory)
        port = freePort()
        mmSize, rbSize = (64, 0) if args.ring == "mmap" else (0, 64)
        conf = writeRawLogConfigs(directory, store.url, port=port, mmSize=mmSize, rbSize=rbSize,
                                  timeInterval=1, batchSize=args.batch, maxErr=10)
        daemonLog = os.path.join(directory, "daemon.log")
        daemon = subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile=", "--logfile", daemonLog,
                                            "mice-bufferdaemon", "-c", conf])
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            dbPid = serverPid() if args.store == "mariadb" else None
            dbCpu = cpuSeconds(dbPid) if dbPid else 0.0
            dbThreads = threadCpuSeconds(dbPid) if dbPid else {}
            daemonCpu = cpuSeconds(daemon.pid)
            start = time.perf_counter()
            sender = subprocess.Popen(MICE + ["send", "--to", f"127.0.0.1:{port}",
                                              "--window", str(args.window), corpus],
                                      stdout=subprocess.DEVNULL)
            # MAX(row_id) is cheap to poll; COUNT(*) on a growing table is not.
            # MAX(row_id) may run ahead of the rows, though (InnoDB leaves
            # auto-increment gaps after a LOAD DATA): count them once it
            # says they could all be there.
            exact = False
            while True:
                if daemon.poll() is not None:
                    raise SystemExit(f"the BufferDaemon died; see {daemonLog}")
                if store.count(exact) >= args.lines:
                    if exact:
                        break
                    exact = True
                else:
                    time.sleep(0.1 if not exact else 0.02)
            elapsed = time.perf_counter() - start
            daemonCpu = cpuSeconds(daemon.pid) - daemonCpu
            dbCpu = cpuSeconds(dbPid) - dbCpu if dbPid else 0.0
            connCpu = store.connectionCpu(dbPid, dbThreads) if dbPid else 0.0
            senderCpu = sum(os.wait4(sender.pid, 0)[2][:2])
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
    perLine = 1e6 / args.lines
    print(f"cpu_us_per_line: sender={senderCpu * perLine:.2f} daemon={daemonCpu * perLine:.2f}"
          + (f" mariadb_connections={connCpu * perLine:.2f} mariadb_all={dbCpu * perLine:.2f}"
             if dbPid else ""))


if __name__ == "__main__":
    main()
