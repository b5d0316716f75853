"""
What the benchmarks share: the stores rows are counted in, the processes'
peak memory and CPU time, waiting for a daemon's port, and driving an
analysis module with fake senders.
"""

import gc
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
TABLES = ("rawlog_line", "firewall_line", "scslog_line")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


_PAUSES_SUMMED = re.compile(r"intake paused (\d+) more times")


def ringPauses(daemonLog):
    """
    How often a BufferDaemon paused its intake, from its log, read once it
    has stopped: pauses closer together than its FLOW_REPORT are summed up
    in one line (at the latest when it stops).
    """
    with open(daemonLog) as f:
        return sum(1 if "pausing intake" in line
                   else int(summed.group(1)) if (summed := _PAUSES_SUMMED.search(line))
                   else 0 for line in f)


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def waitForPort(port, tries=300):
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def spawnTwistd(command, conf, log, cwd=None):
    """
    Run the twistd plugin C{command} (C{mice-bufferdaemon}...) with the
    config C{conf}, in the foreground, logging to C{log}.
    """
    return subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile=", "--logfile", log, command,
                                      "-c", conf], cwd=cwd)


def startRawLogDaemon(directory, store, log, **options):
    """
    A raw-log BufferDaemon storing into C{store}, its configs written in
    C{directory} by L{mice.testing.writeRawLogConfigs} (C{options} passed
    on), logging to C{log}; once it listens.

    @return: C{(process, port)}.
    """
    from mice.testing import writeRawLogConfigs

    port = freePort()
    conf = writeRawLogConfigs(directory, store.url, port=port, **options)
    process = spawnTwistd("mice-bufferdaemon", conf, log)
    waitForPort(port)
    return process, port


def terminate(processes):
    """
    SIGTERM every process of C{processes} (C{None} for one not started)
    still running, and wait for it.
    """
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait()


def peakRss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def cpuSeconds(pid):
    """
    The user and system CPU time of a running process (or of a thread,
    C{"pid/task/tid"}), in seconds; 0 when it is gone.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces: count from after it.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


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


def connectionCpu(db, name, serverPid, before):
    """
    CPU seconds, since the snapshot C{before} (L{threadCpuSeconds}), of the
    MariaDB server threads serving the connections to the database C{name}
    (the daemon's) but C{db}'s own: unlike the server's total, other clients
    of the server do not disturb it.
    """
    now = threadCpuSeconds(serverPid)
    with db.cursor() as c:
        c.execute("SELECT TID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <>"
                  " CONNECTION_ID()", (name,))
        return sum(now.get(tid, 0.0) - before.get(tid, 0.0) for (tid,) in c.fetchall())


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
        return connectionCpu(self.db, self.name, serverPid, before)

    def close(self):
        with self.db.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {self.name}")
        self.db.close()


def addPipelineArguments(parser, store="sqlite"):
    """
    The options of the benches that ship a generated corpus into a store:
    C{--lines}, C{--store} (C{store} by default), C{--seed}, C{--batch}.
    """
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default=store)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000, help="rows per insert transaction")


def waitForRows(store, expected, check=None, stall=None):
    """
    Wait until C{expected} rows are committed in C{store} (L{makeStore}'s).

    C{MAX(row_id)} is cheap to poll, C{COUNT(*)} on a growing table is not;
    but the first may run ahead of the rows (InnoDB leaves auto-increment
    gaps after a C{LOAD DATA}), so the rows are counted exactly once it
    says they could all be there.

    @param check: called at every poll; it raises when a process the bench
        runs has died.
    @param stall: give up when the count has not grown for this many
        seconds (C{None}: never).
    @return: the time they were (C{time.perf_counter}), or C{None} if the
        count stalled first.
    """
    exact, last, lastChange = False, -1, time.monotonic()
    while True:
        if check is not None:
            check()
        count = store.count(exact=exact)
        if count >= expected:
            if exact:
                return time.perf_counter()
            exact = True
            continue
        if count != last:
            last, lastChange = count, time.monotonic()
        elif stall is not None and time.monotonic() - lastChange > stall:
            return None
        time.sleep(0.02 if exact else 0.05)


def makeStore(kind, directory):
    """
    @param kind: C{"sqlite"} or C{"mariadb"}.
    """
    return SQLiteStore(directory) if kind == "sqlite" else MariaDBStore(directory)


def measureChild(command, cwd=None, stdout=None, stderr=None, env=None):
    """
    Run C{command} to its end and measure it.

    @return: C{(exit status, wall seconds, CPU seconds, peak RSS in bytes)}.
        The peak is read from C{/proc} while the child runs: its rusage's
        C{ru_maxrss} starts from the (larger) process it was forked from.
    """
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=cwd, env=env)
    rss = 0
    while True:
        try:
            rss = max(rss, peakRss(child.pid))
        except OSError:
            pass
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, elapsed, usage.ru_utime + usage.ru_stime, rss


def corpusLines(path, limit):
    """
    The first C{limit} lines of the log file at C{path}, decoded as the
    agents decode them (invalid UTF-8 as C{\\xNN}).
    """
    with open(path, "rb") as f:
        lines = [raw.decode("utf-8", "backslashreplace") for raw in f.read().split(b"\n")[:limit]]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def driveAgent(analyzer, senders, recs, batch):
    """
    Feed C{recs} to the analysis module C{analyzer} (an L{IPostProcessor})
    in flushes of C{batch}, its L{mice.testing.FakeSender}s acknowledging
    each flush at once.

    @return: C{(wall seconds, CPU seconds, records each sender was given)}.
    """
    sent = [0] * len(senders)
    gc.collect()
    began, cpuBegan = time.perf_counter(), time.process_time()
    for first in range(0, len(recs), batch):
        d = analyzer.process(recs[first:first + batch])
        for index, sender in enumerate(senders):
            sender.acknowledge()
            sent[index] += sum(len(b.records) for b in sender.submitted)
            sender.submitted.clear()
        failures = []
        d.addErrback(failures.append)
        if failures:
            raise RuntimeError(failures[0])
    return time.perf_counter() - began, time.process_time() - cpuBegan, sent

