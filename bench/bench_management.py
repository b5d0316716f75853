#!/usr/bin/env python
"""
End-to-end throughput of the ManagementHost: ``mice send --kind idmef`` →
the seed's ManagementHost (twistd mice-bufferdaemon: the IDMEF decoder and
act_generic with the seed's match file and the RFC 4765 DTD) → committed
``alert_entry`` rows with every reaction done, in SQLite or MariaDB.

    python bench/bench_management.py --alerts 100000 --store sqlite
    python bench/bench_management.py --alerts 100000 --store mariadb
    python bench/bench_management.py --correlate mice/data/default/correlation.conf

The alerts are M-ICE rule alerts (every alert ID of the seed's match file in
turn, with a log line, addresses, users) as an analysis agent writes them.
Their reactions are those of ``--rids`` whose agent's module is installed
(reaction 2, the alert database, always; 1 and 3 once their modules are
there, each with the config given by ``--agent-conf PIPE=FILE`` or its
defaults): an alert counts once its ``alert_entry`` row is committed and
every reaction job it triggers is recorded as done in the journal.

Prints alerts per second from the start of ``mice send`` until the last
reaction is done, the ManagementHost's peak RSS (VmHWM) and its CPU per
alert.  MariaDB runs use a scratch database ``mice_bench_<pid>`` on
127.0.0.1:3306 (root), dropped after.
"""

import argparse
import importlib
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import (  # noqa: E402
    connectionCpu,
    cpuSeconds,
    freePort,
    peakRss,
    serverPid,
    spawnTwistd,
    terminate,
    threadCpuSeconds,
    waitForPort,
)

from mice.alerts import Alert, Node  # noqa: E402
from mice.config import ALERT_IDS  # noqa: E402
from mice.idmef import toXml  # noqa: E402
from mice.reactors import builderName  # noqa: E402
from mice.testing import SHIPPED_CONFIGS  # noqa: E402

MICE = [sys.executable, "-m", "mice.cli"]
PIPES = {1: "rid_1_write_to_syslog", 2: "rid_2_send_to_alert_db", 3: "rid_3_save_to_file"}


def corpus(path, alerts):
    """
    C{alerts} IDMEF documents, one M-ICE alert each, concatenated as an
    agent's documents would be (``mice send --kind idmef`` cuts them).
    """
    ids = sorted(ALERT_IDS.values())
    with open(path, "wb") as f:
        for n in range(1, alerts + 1):
            aid = ids[n % len(ids)]
            host = n % 200
            alert = Alert(
                str(n), "MICE-RegEx", "2026-12-04T10:%02d:%02d+00:00" % (n // 60 % 60, n % 60),
                "rule %04x" % aid, alertId=aid, detectTime="2026-12-04T10:00:00+00:00",
                severity="high" if aid in (0x1020, 0x7010) else "medium",
                sources=(Node(address=f"198.51.100.{host}", port=40000 + host % 1000,
                              protocol="tcp"),),
                targets=(Node(hostname=f"web{host:03d}", address=f"192.0.2.{host}",
                              user="root", process="sshd", pid=800 + host, service="ssh",
                              port=22),),
                analyzerHost="aa.example.org",
                additionalData=(("log line", f"Nov 22 10:00:01 web{host:03d} sshd[{800 + host}]:"
                                              f" Failed password for root from 198.51.100.{host}"
                                              f" port {40000 + host % 1000} ssh2"),
                                ("origin", f"web{host:03d} /var/log/messages {n}"),
                                ("rule", "AUTH AuF")))
            f.write(toXml(alert))
            f.write(b"\n")


def available(rids):
    """The RIDs of C{rids} whose agent's module imports; the others, said."""
    out = []
    for rid in rids:
        module = builderName(PIPES[rid]).rpartition(".")[0]
        try:
            importlib.import_module(module)
        except ImportError as e:
            print(f"# reaction {rid} ({PIPES[rid]}) left out: {e}", file=sys.stderr)
            continue
        out.append(rid)
    return out


class SyslogSink:
    """
    A local syslog socket (a UNIX datagram socket, as C{/dev/log} is) that
    reaction 1 writes to when no C{--agent-conf rid_1_write_to_syslog=...}
    says otherwise: a thread of the bench reads and counts its lines, so
    the bench needs no syslog daemon and charges the daemon nothing for it.
    """

    def __init__(self, directory):
        self.path = os.path.join(directory, "log")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 2 ** 20)
        self.socket.bind(self.path)
        self.socket.settimeout(0.2)
        self.lines = 0
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        while not self._stop:
            try:
                self.socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.lines += 1

    def conf(self):
        return f"[WRITE_TO_SYSLOG]\nTARGET = unix:{self.path}\nFORMAT = rfc3164\n"

    def close(self):
        self._stop = True
        self._thread.join()
        self.socket.close()


def writeConfigs(directory, url, port, rids, agentConfs, args):
    with open(os.path.join(SHIPPED_CONFIGS, "matchfiles", "match_file_aa_regex.txt")) as f:
        matchFile = f.read()
    os.makedirs(os.path.join(directory, "matchfiles"))
    with open(os.path.join(directory, "matchfiles", "match_file_aa_regex.txt"), "w") as f:
        f.write(matchFile)
    for pipe, conf in agentConfs.items():
        with open(os.path.join(directory, pipe + ".conf"), "w") as out:
            if isinstance(conf, SyslogSink):
                out.write(conf.conf())
                continue
            with open(conf) as f:
                out.write(f.read())
    dtd = os.path.join(SHIPPED_CONFIGS, "idmef-message.dtd")
    with open(os.path.join(directory, "act.conf"), "w") as f:
        f.write("[REACTION_ID]\n" + "".join(f"RID = {rid}\n" for rid in rids)
                + "[RID_PIPENAME]\n" + "".join(f"PIPE = {PIPES[rid]}\n" for rid in rids)
                + '[ANALYZER_ID]\nANAID = "MICE-RegEx"\n[ANALYZER_MATCHFILE]\n'
                "MF = match_file_aa_regex.txt\n"
                + ("" if args.no_dtd else f"[IDMEF_INFO]\nDTDFile = {dtd}\n")
                + f"[MISC]\nPIPE_PATH = run\nMATCH_PATH = matchfiles\n"
                f"[JOURNAL]\nURL = {url}\nBATCHSIZE = {args.batch}\nIN_FLIGHT = 32\n"
                + (f"[CORRELATION]\nRULES = {os.path.abspath(args.correlate)}\n"
                   if args.correlate else ""))
    ring = ("MMPATH = cache\nMMSIZE = 64\nRBSIZE = 0\n" if args.ring == "mmap"
            else "RBSIZE = 100\n")
    conf = os.path.join(directory, "bd.conf")
    with open(conf, "w") as f:
        f.write(f"[ADDRESS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n"
                "[ENCODING_MODULES]\nENC_MOD = mice_mod_enc_idmef_twofish\n"
                "[OUTPUT_MODULES]\nOUT_MOD = mice_mod_out_act_generic\n"
                "[OUTPUT_MODULES_CONFIG_FILE]\nOUT_FILE = act.conf\n"
                f"[TIME_INTERVALS]\nTIMEINV = {args.timeinv}\n[CACHE_AND_RINGBUFFER]\n{ring}")
    return conf


class Counter:
    """Committed alert rows and finished reaction jobs, in SQLite or MariaDB."""

    def __init__(self, kind, directory):
        self.kind = kind
        if kind == "sqlite":
            self.path = os.path.join(directory, "alerts.db")
            self.url = "sqlite:///" + self.path
        else:
            import pymysql

            self.name = f"mice_bench_{os.getpid()}"
            self.db = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
            with self.db.cursor() as c:
                c.execute(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4")
            self.url = f"mysql://root@127.0.0.1:3306/{self.name}"

    def query(self, sql):
        try:
            if self.kind == "sqlite":
                if not os.path.exists(self.path):
                    return None
                with sqlite3.connect(self.path, timeout=5) as db:
                    return db.execute(sql).fetchone()[0]
            with self.db.cursor() as c:
                c.execute(sql.replace("FROM ", f"FROM {self.name}."))
                return c.fetchone()[0]
        except Exception:
            return None

    def rows(self):
        return self.query("SELECT COALESCE(MAX(row_id), 0) FROM alert_entry") or 0

    def unfinished(self):
        """Jobs not done (None while the journal is not there)."""
        return self.query("SELECT COUNT(*) FROM reaction_job WHERE state <> 'done'")

    def jobs(self):
        return self.query("SELECT COUNT(*) FROM reaction_job") or 0

    def connectionCpu(self, pid, before):
        return connectionCpu(self.db, self.name, pid, before)

    def close(self):
        if self.kind != "sqlite":
            with self.db.cursor() as c:
                c.execute(f"DROP DATABASE IF EXISTS {self.name}")
            self.db.close()


def run(args, path, rids, agentConfs, directory, expectedJobs):
    counter = Counter(args.store, directory)
    port = freePort()
    conf = writeConfigs(directory, counter.url, port, rids, agentConfs, args)
    daemonLog = os.path.join(directory, "daemon.log")
    daemon = spawnTwistd("mice-bufferdaemon", conf, daemonLog, cwd=directory)
    try:
        waitForPort(port)
        dbPid = serverPid() if args.store == "mariadb" else None
        dbThreads = threadCpuSeconds(dbPid) if dbPid else {}
        cpu = cpuSeconds(daemon.pid)
        start = time.perf_counter()
        sender = subprocess.Popen(MICE + ["send", "--kind", "idmef", "--to",
                                          f"127.0.0.1:{port}", "--window", str(args.window),
                                          path], stdout=subprocess.DEVNULL)
        rowsAt = None
        while True:
            if daemon.poll() is not None:
                raise SystemExit(f"the ManagementHost died; see {daemonLog}")
            if sender.poll() not in (None, 0):
                raise SystemExit(f"mice send failed; see {daemonLog}")
            if rowsAt is None and counter.rows() >= args.alerts:
                rowsAt = time.perf_counter() - start
            if rowsAt is not None and counter.jobs() >= expectedJobs \
                    and counter.unfinished() == 0:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu = cpuSeconds(daemon.pid) - cpu
        serverCpu = counter.connectionCpu(dbPid, dbThreads) if dbPid else 0.0
        rss = peakRss(daemon.pid)
        stored = counter.query("SELECT COUNT(*) FROM alert_entry")
        if stored != args.alerts:
            raise SystemExit(f"{stored} rows for {args.alerts} alerts")
    finally:
        terminate([daemon])
        counter.close()
    print(f"store={args.store} ring={args.ring} dtd={'no' if args.no_dtd else 'yes'}"
          f" correlation={'yes' if args.correlate else 'no'}"
          f" reactions={','.join(map(str, rids))} alerts={args.alerts} jobs={expectedJobs}"
          f" seconds={elapsed:.2f} alerts_per_second={args.alerts / elapsed:,.0f}"
          f" rows_committed_after={rowsAt:.2f}s"
          f" daemon_peak_rss_mb={rss / 2 ** 20:.1f}"
          f" daemon_cpu_us_per_alert={cpu * 1e6 / args.alerts:.0f}"
          + (f" mariadb_connections_cpu_us_per_alert={serverCpu * 1e6 / args.alerts:.0f}"
             if serverCpu else ""), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=100000)
    parser.add_argument("--store", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--rids", default="1,2,3", help="the reactions to run (of 1, 2, 3)")
    parser.add_argument("--agent-conf", action="append", default=[], metavar="PIPE=FILE",
                        help="a reaction agent's config (e.g. a syslog target)")
    parser.add_argument("--batch", type=int, default=2000, help="act_generic BATCHSIZE")
    parser.add_argument("--window", type=int, default=16, help="mice send --window")
    parser.add_argument("--timeinv", type=float, default=0.5, help="TIMEINV")
    parser.add_argument("--ring", choices=("mmap", "memory"), default="mmap")
    parser.add_argument("--no-dtd", action="store_true", help="no DTD check")
    parser.add_argument("--correlate", metavar="RULES",
                        help="run the correlation stage with these rules ([CORRELATION])")
    args = parser.parse_args(argv)
    rids = available(sorted(int(rid) for rid in args.rids.split(",")) or [2])
    if 2 not in rids:
        rids = sorted(rids + [2])
    agentConfs = dict(item.split("=", 1) for item in args.agent_conf)
    from mice.config import loadMatchFile
    from mice.matchfile import MatchTable

    table = MatchTable.fromSettings(loadMatchFile(
        os.path.join(SHIPPED_CONFIGS, "matchfiles", "match_file_aa_regex.txt")))
    ids = sorted(ALERT_IDS.values())
    expectedJobs = sum(len(set(table.lookup(ids[n % len(ids)]).rids) & set(rids))
                       for n in range(1, args.alerts + 1))
    with tempfile.TemporaryDirectory(prefix="mice-bench-mh-") as directory:
        path = os.path.join(directory, "alerts.xml")
        corpus(path, args.alerts)
        sink = None
        if 1 in rids and PIPES[1] not in agentConfs:
            sink = agentConfs[PIPES[1]] = SyslogSink(directory)
        try:
            run(args, path, rids, agentConfs, directory, expectedJobs)
        finally:
            if sink is not None:
                sink.close()


if __name__ == "__main__":
    main()
