#!/usr/bin/env python
"""
Measure L{mice.db.classify.classify}: lines per second and peak RSS.

    python bench/bench_classify.py [--lines 1000000] [--corpus corpus.log]
        [--store sqlite:PATH | --store mysql] [--batch 5000]

Without C{--corpus} the lines come from C{bench/gencorpus.py} (seed 1).  The
records are made in batches (as the BufferDaemon hands them over) and only
the classification of each batch is timed.  C{--store} also times inserting the classified rows in batches
(C{mice.db.schema.insertClassified}) into a fresh SQLite file or a scratch
MariaDB database on 127.0.0.1 (dropped afterwards).
"""

import argparse
import gc
import itertools
import os
import resource
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gencorpus import generate  # noqa: E402

from mice.db import schema  # noqa: E402
from mice.db.classify import classify  # noqa: E402
from mice.record import LogRecord  # noqa: E402


def peakRSS():
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def records(lines, first=0, perSecond=20):
    """
    Records as a decoder makes them: the host columns shared by the records
    of one client (they come once per batch), a new time every
    C{perSecond} lines.
    """
    hosts = [
        ("client-%d" % i, "/var/log/messages", "host%d" % i, "example.org", "10.0.0.%d" % i)
        for i in range(4)
    ]
    out = []
    for seq, line in enumerate(lines, first):
        origin, stream, hostname, domain, ip = hosts[seq % 4]
        second = seq // perSecond
        clock = "%02d:%02d:%02d" % (second // 3600 % 24, second // 60 % 60, second % 60)
        out.append(LogRecord(origin, stream, seq, hostname, domain, ip, "Linux",
                             "2.6.5-7.97-default", "SuSE Linux 9.1", "2004-11-22", clock,
                             line, ""))
    return out


def store(kind, classified, batch):
    if kind.startswith("sqlite:"):
        import sqlite3

        path = kind.split(":", 1)[1]
        if os.path.exists(path):
            os.remove(path)
        connection = sqlite3.connect(path)
        dialect = schema.SQLITE

        def cleanup():
            connection.close()

    else:
        import pymysql

        name = "mice_bench_" + uuid.uuid4().hex[:12]
        connection = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4"
        )
        connection.cursor().execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
        connection.select_db(name)
        dialect = schema.MYSQL

        def cleanup():
            connection.cursor().execute("DROP DATABASE `%s`" % name)
            connection.close()

    try:
        cursor = connection.cursor()
        schema.createSchema(cursor, dialect)
        connection.commit()
        began = time.perf_counter()
        stored = 0
        for start in range(0, len(classified), batch):
            byTable = {}
            for table, row in classified[start : start + batch]:
                byTable.setdefault(table, []).append(row)
            stored += sum(schema.insertClassified(cursor, dialect, byTable).values())
            connection.commit()
        elapsed = time.perf_counter() - began
        print(
            "store %s: %d rows in %.2f s = %.0f rows/s (batches of %d)"
            % (dialect.name, stored, elapsed, stored / elapsed, batch)
        )
    finally:
        cleanup()


def lineSource(options):
    if options.corpus:
        with open(options.corpus, encoding="utf-8", errors="surrogateescape") as f:
            for _, line in zip(range(options.lines), f):
                yield line.rstrip("\n")
    else:
        yield from generate(options.lines, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--corpus")
    parser.add_argument("--store", help="sqlite:PATH or mysql")
    parser.add_argument("--batch", type=int, default=5000, help="records per batch")
    options = parser.parse_args(argv)

    # Batches as the BufferDaemon hands them over: build a batch's records,
    # then time classifying it.
    elapsed = 0.0
    counts = {}
    kept = [] if options.store else None
    lines = lineSource(options)
    total = 0
    gc.disable()
    while True:
        batch = records(list(itertools.islice(lines, options.batch)), first=total)
        if not batch:
            break
        began = time.perf_counter()
        classified = [classify(record) for record in batch]
        elapsed += time.perf_counter() - began
        total += len(batch)
        for table, _ in classified:
            counts[table] = counts.get(table, 0) + 1
        if kept is not None:
            kept.extend(classified)
    gc.enable()

    print(
        "classify: %d lines in %.3f s = %.0f lines/s (%.2f us/line, batches of %d)"
        % (total, elapsed, total / elapsed, elapsed / total * 1e6, options.batch)
    )
    print("tables: " + ", ".join("%s=%d" % item for item in sorted(counts.items())))
    if options.store:
        store(options.store, kept, options.batch)
    print("peak RSS: %.0f MiB" % peakRSS())


if __name__ == "__main__":
    main()
