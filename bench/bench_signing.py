#!/usr/bin/env python
"""
What signing (SIGNKEY) costs the raw-log store, in process: the CPU per row
of L{mice.postproc.rawlogdb.storeRecords} into a fresh SQLite file,
unsigned and signed in turn, and of the signing step alone
(L{mice.db.signature.Signing.signGroups}).

    python bench/bench_signing.py [--lines 100000] [--runs 5]

The lines come from C{bench/gencorpus.py} (seed 1), in C{log} batches of
C{--batch-lines} (as C{mice send} ships them) and flushes of C{--flush}
rows, with the BufferDaemon's garbage collector thresholds.  Only the store
is timed (CPU seconds of this process, C{time.process_time}), so the figure
is steadier on a loaded machine than C{bench_pipeline.py --sign-cost}, which
measures the whole pipeline.  Prints the medians of C{--runs} runs.
"""

import argparse
import gc
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gencorpus import generate  # noqa: E402

from mice.db import schema  # noqa: E402
from mice.db.classify import classifyBatch  # noqa: E402
from mice.db.signature import Signer  # noqa: E402
from mice.decoders.logformat import LogBatch  # noqa: E402
from mice.postproc.rawlogdb import storeRecords  # noqa: E402
from mice.services.bufferdaemon import GC_THRESHOLDS  # noqa: E402

HOST = ("client", "example.org", "127.0.0.1", "Linux", "2.6.8", "#1")
_CLOCK = re.compile(r"\d\d:\d\d:\d\d")


class Flush:
    """A flush of C{log} batches, as the BufferDaemon hands it to the store."""

    def __init__(self, chunks):
        self.chunks = chunks

    def __len__(self):
        return sum(len(chunk.recs) for chunk in self.chunks)


def flushes(lines, batchLines, flushRows):
    seq = 1
    result = []
    for start in range(0, len(lines), flushRows):
        chunks = []
        for first in range(start, min(start + flushRows, len(lines)), batchLines):
            recs = []
            for line in lines[first:min(first + batchLines, start + flushRows)]:
                clock = _CLOCK.search(line)
                recs.append(["2004-11-22", clock.group() if clock else "10:00:00", line, ""])
            chunks.append(LogBatch("client", "/var/log/messages", seq, HOST, recs))
            seq += len(recs)
        result.append(Flush(chunks))
    return result


def storeAll(directory, flushList, signed):
    """CPU seconds to store every flush in a new SQLite file."""
    path = os.path.join(directory, f"run-{time.monotonic_ns()}.db")
    db = sqlite3.connect(path)
    txn = db.cursor()
    schema.prepareTables(txn, "sqlite", schema.RAWLOG_TABLES + (schema.SIGNATURE_HEAD,))
    db.commit()
    signer = Signer(os.urandom(64)) if signed else None
    start = time.process_time()
    for flush in flushList:
        if signer is None:
            storeRecords(txn, "sqlite", flush)
            db.commit()
        else:
            signing = signer.begin()
            storeRecords(txn, "sqlite", flush, signer=signing)
            signing.finish(txn, "sqlite")
            db.commit()
            signing.committed()
    spent = time.process_time() - start
    db.close()
    os.remove(path)
    return spent


def signOnly(directory, flushList):
    """CPU seconds of C{signGroups} alone over every flush."""
    db = sqlite3.connect(":memory:")
    txn = db.cursor()
    schema.prepareTables(txn, "sqlite", schema.RAWLOG_TABLES + (schema.SIGNATURE_HEAD,))
    grouped = []
    for flush in flushList:
        groupsByTable = {}
        for chunk in flush.chunks:
            key, rowsByTable = classifyBatch(chunk.source, chunk.stream, chunk.seq, chunk.host,
                                             chunk.recs)
            for table, rows in rowsByTable.items():
                groupsByTable.setdefault(table, []).append((key, rows))
        grouped.append(groupsByTable)
    signer = Signer(os.urandom(64))
    start = time.process_time()
    for groupsByTable in grouped:
        signing = signer.begin()
        signing.signGroups(txn, "sqlite", groupsByTable)
        signing.finish(txn, "sqlite")
        signing.committed()
    spent = time.process_time() - start
    db.close()
    return spent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-lines", type=int, default=500)
    parser.add_argument("--flush", type=int, default=5000)
    args = parser.parse_args(argv)
    flushList = flushes(list(generate(args.lines, 1)), args.batch_lines, args.flush)
    gc.set_threshold(*GC_THRESHOLDS)
    times = {"unsigned": [], "signed": [], "signGroups": []}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mice-bench-sign-") as directory:
        for _ in range(args.runs):
            times["unsigned"].append(storeAll(directory, flushList, False))
            times["signed"].append(storeAll(directory, flushList, True))
            times["signGroups"].append(signOnly(directory, flushList))
    us = {k: statistics.median(v) / args.lines * 1e6 for k, v in times.items()}
    print(f"load_before={load:.2f} lines={args.lines} runs={args.runs}"
          f" store_cpu_us_per_row unsigned={us['unsigned']:.2f} signed={us['signed']:.2f}"
          f" (signing {us['signed'] - us['unsigned']:+.2f}, {us['unsigned'] / us['signed'] - 1:+.1%}"
          f" rows per CPU second) signGroups_us_per_row={us['signGroups']:.2f}", flush=True)


if __name__ == "__main__":
    main()
