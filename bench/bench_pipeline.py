#!/usr/bin/env python
"""
End-to-end throughput of the raw-log pipeline: ``mice send`` → BufferDaemon
(twistd, memory-mapped ring) → committed rows in SQLite or MariaDB.

    python bench/bench_pipeline.py --lines 1000000 --store sqlite
    python bench/bench_pipeline.py --lines 1000000 --store mariadb
    python bench/bench_pipeline.py --lines 1000000 --store mariadb --link all
    python bench/bench_pipeline.py --lines 1000000 --store sqlite --signkey
    python bench/bench_pipeline.py --lines 300000 --store mariadb --sign-cost 3

Prints lines per second from the start of ``mice send`` until the last row is
committed, the BufferDaemon's peak RSS (VmHWM) and the CPU each process
spent per line.  ``--link`` picks the link security: ``plain``, ``psk``
(pre-shared key, AES-256-GCM), ``tls`` (mutual certificates from ``mice
certs``), or ``all`` for the three in one run on the same corpus.  MariaDB
runs use a scratch database ``mice_bench_<pid>`` on 127.0.0.1:3306 (root),
dropped after.  ``--signkey`` makes the store sign its rows (a SIGNKEY made
for the run: the MAC chains of ``mice verify``), to measure what that costs;
``--sign-cost N`` runs without and with it in turn, N times each on the same
corpus, and prints the medians and what signing costs: in lines per second
and in CPU per line of the pipeline's processes (sender, BufferDaemon and,
for MariaDB, the server's threads serving its connections), the figure to
trust on a shared machine, with the load average before each run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _common import (  # noqa: E402
    addPipelineArguments,
    cpuSeconds,
    makeStore,
    peakRss,
    ringPauses,
    serverPid,
    startRawLogDaemon,
    terminate,
    threadCpuSeconds,
    waitForRows,
)
from gencorpus import generate  # noqa: E402

MICE = [sys.executable, "-m", "mice.cli"]
LINKS = ("plain", "psk", "tls")


def linkSettings(link, directory):
    """
    @return: C{(decoder config lines, mice send options)} for C{link}.
    """
    if link == "plain":
        return "", []
    if link == "psk":
        key = os.urandom(64).hex()
        keyFile = os.path.join(directory, "link.key")
        with open(keyFile, "w") as f:
            f.write(key)
        return f"ENCRYPT = yes\nENCKEY = {key}", ["--enckey-file", keyFile]
    from mice.security.certs import loadOrMakeCA, writeNode

    pki = os.path.join(directory, "pki")
    caKey, ca, _ = loadOrMakeCA(pki)
    serverCert, serverKey = writeNode(pki, caKey, ca, "127.0.0.1")
    clientCert, clientKey = writeNode(pki, caKey, ca, "client")
    caPath = os.path.join(pki, "ca.crt")
    return (f"ENCRYPT = yes\nTLSCERT = {serverCert}\nTLSKEY = {serverKey}\nTLSCA = {caPath}",
            ["--tls-cert", clientCert, "--tls-key", clientKey, "--tls-ca", caPath])


def run(args, corpus, link, directory, name=None):
    """
    One run.

    @return: C{(lines per second, CPU seconds per line of sender, daemon and
        the database server's connections, CPU seconds per line of the
        daemon)}.
    """
    load = os.getloadavg()[0]
    store = makeStore(args.store, os.path.join(directory, name or link))
    mmSize, rbSize = (64, 0) if args.ring == "mmap" else (0, 64)
    decoder, sendOptions = linkSettings(link, directory)
    signKey = None
    if args.signkey:
        signKey = os.path.join(directory, "sign.key")
        with open(signKey, "w") as f:
            f.write(os.urandom(64).hex())
    daemonLog = os.path.join(directory, name or link, "daemon.log")
    daemon, port = startRawLogDaemon(os.path.join(directory, name or link), store, daemonLog,
                                     mmSize=mmSize, rbSize=rbSize, timeInterval=1,
                                     batchSize=args.batch, maxErr=10, decoder=decoder,
                                     signKey=signKey)
    try:
        dbPid = serverPid() if args.store == "mariadb" else None
        dbCpu = cpuSeconds(dbPid) if dbPid else 0.0
        dbThreads = threadCpuSeconds(dbPid) if dbPid else {}
        daemonCpu = cpuSeconds(daemon.pid)
        start = time.perf_counter()
        sender = subprocess.Popen(MICE + ["send", "--to", f"127.0.0.1:{port}", "--window",
                                          str(args.window), *sendOptions, corpus],
                                  stdout=subprocess.DEVNULL)
        senderUsage = None

        def check():
            nonlocal senderUsage
            if daemon.poll() is not None:
                raise SystemExit(f"the BufferDaemon died; see {daemonLog}")
            if senderUsage is None:
                pid, status, usage = os.wait4(sender.pid, os.WNOHANG)
                if pid and status:
                    raise SystemExit(f"mice send failed ({status}); see {daemonLog}")
                senderUsage = usage if pid else None

        elapsed = waitForRows(store, args.lines, check) - start
        daemonCpu = cpuSeconds(daemon.pid) - daemonCpu
        dbCpu = cpuSeconds(dbPid) - dbCpu if dbPid else 0.0
        connCpu = store.connectionCpu(dbPid, dbThreads) if dbPid else 0.0
        senderCpu = sum((senderUsage or os.wait4(sender.pid, 0)[2])[:2])
        rss = peakRss(daemon.pid)
        stored = store.count(exact=True)
        if stored != args.lines:
            raise SystemExit(f"{stored} rows stored for {args.lines} lines")
    finally:
        terminate([daemon])
        store.close()
    pauses = ringPauses(daemonLog)
    size = os.path.getsize(corpus)
    print(f"load_before={load:.2f} store={args.store} link={link} ring={args.ring}"
          f" window={args.window}"
          f" signed={'yes' if args.signkey else 'no'}"
          f" lines={args.lines} bytes={size} seconds={elapsed:.2f}"
          f" lines_per_second={args.lines / elapsed:,.0f}"
          f" daemon_peak_rss_mb={rss / 2 ** 20:.1f} ring_full_pauses={pauses}")
    perLine = 1e6 / args.lines
    print(f"cpu_us_per_line: sender={senderCpu * perLine:.2f} daemon={daemonCpu * perLine:.2f}"
          + (f" mariadb_connections={connCpu * perLine:.2f} mariadb_all={dbCpu * perLine:.2f}"
             if dbPid else ""), flush=True)
    return (args.lines / elapsed, (senderCpu + daemonCpu + connCpu) / args.lines,
            daemonCpu / args.lines)


def signCost(args, corpus, directory):
    """
    Run without and with SIGNKEY in turn, C{args.sign_cost} times each, and
    print the medians and the cost of signing.
    """
    results = {False: [], True: []}
    for n in range(args.sign_cost):
        for signed in (False, True):
            args.signkey = signed
            results[signed].append(run(args, corpus, "plain", directory,
                                       f"run{n}-{'signed' if signed else 'plain'}"))
    rate = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in results.items()}
    daemon = {k: statistics.median(r[2] for r in v) for k, v in results.items()}
    print(f"sign_cost store={args.store} lines={args.lines} runs={args.sign_cost}:"
          f" lines_per_second {rate[False]:,.0f} -> {rate[True]:,.0f}"
          f" ({rate[True] / rate[False] - 1:+.1%});"
          f" pipeline_cpu_us_per_line {cpu[False] * 1e6:.2f} -> {cpu[True] * 1e6:.2f}"
          f" (lines per CPU second {cpu[False] / cpu[True] - 1:+.1%});"
          f" daemon_cpu_us_per_line {daemon[False] * 1e6:.2f} -> {daemon[True] * 1e6:.2f}"
          f" (signing {(daemon[True] - daemon[False]) * 1e6:+.2f})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    addPipelineArguments(parser)
    parser.add_argument("--window", type=int, default=8, help="mice send --window")
    parser.add_argument("--ring", choices=("mmap", "memory"), default="mmap",
                        help="mmap: MMSIZE=64, acknowledged once synced to the ring;"
                             " memory: RBSIZE=64 (the seed's default), acknowledged once stored")
    parser.add_argument("--link", choices=LINKS + ("all",), default="plain",
                        help="the link's security (all: each in turn, same corpus)")
    parser.add_argument("--signkey", action="store_true",
                        help="the store signs its rows (SIGNKEY, MAC chains)")
    parser.add_argument("--sign-cost", type=int, default=0, metavar="N",
                        help="run without and with SIGNKEY in turn, N times each, and print"
                             " what signing costs (medians)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mice-bench-") as directory:
        corpus = os.path.join(directory, "corpus.log")
        with open(corpus, "w", encoding="utf-8") as f:
            for line in generate(args.lines, args.seed):
                f.write(line + "\n")
        if args.sign_cost:
            signCost(args, corpus, directory)
            return
        rates = {link: run(args, corpus, link, directory)[0]
                 for link in (LINKS if args.link == "all" else (args.link,))}
    if "plain" in rates and len(rates) > 1:
        print("relative_to_plain: " + " ".join(
            f"{link}={rate / rates['plain']:.0%}" for link, rate in rates.items()))


if __name__ == "__main__":
    main()
