#!/usr/bin/env python
"""
Measure the console: alert search latency on a large C{alert_entry}, and
the live stream's fan-out.

    python bench/bench_console.py search [--rows 1000000] [--store sqlite:PATH | --store mysql]
        [--queries 30] [--keep]
    python bench/bench_console.py fanout [--streams 50] [--alerts 5000]

C{search} fills C{alert_entry} (SQLite file, or a scratch MariaDB database
on 127.0.0.1 dropped afterwards unless C{--keep}) with C{--rows} alerts
spread over 100 days, 19 alert ids, 5,000 source addresses, 200 target
hosts, 500 users and 3 analyzers, with the schema's indexes, then runs
each filter of the console's search C{--queries} times with different
values (first page, 50 alerts, through L{mice.console.data} as the
console does: the SQL, the rows, their JSON shape) and prints the median
and 99th percentile of each.  The IDMEF column holds a short document
(~300 bytes) carrying a severity and a log line, so that 1,000,000 rows
stay a few hundred MB.

C{fanout} runs a console on a SQLite file with C{--streams} open
Server-Sent Events streams (clients on loopback, in the same process),
stores C{--alerts} alerts and prints how many alerts per second reached
every stream, by wall time and by the process's CPU time (server and
clients together, so an upper bound of the server's share).
"""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mice.db import schema  # noqa: E402

COLUMNS = schema.COLUMNS["alert_entry"]

CLASSES = [(0x1010, "Authentication success"), (0x1020, "Authentication failure"),
           (0x2010, "RoW"), (0x2020, "RoO"), (0x2030, "RoR"), (0x2040, "RoS"),
           (0x2050, "RoE"), (0x3010, "ReS"), (0x3020, "ReF"), (0x4010, "WrS"),
           (0x4020, "WrF"), (0x5010, "Mo_UID"), (0x5020, "Mo_GID"), (0x6010, "Ap_Name"),
           (0x7010, "Ex"), (0x8010, "FwD"), (0x8020, "FwR"), (0x8030, "FwA"),
           (0x8040, "FwI")]
ANALYZERS = ("MICE-RegEx", "MICE-LogIDS", "prelude-lml")
DOC = ('<?xml version="1.0"?><IDMEF-Message xmlns="http://iana.org/idmef"><Alert messageid="%d">'
       '<Assessment><Impact severity="%s"/></Assessment><AdditionalData meaning="log line"'
       ' type="string"><string>sshd[%d]: Failed password for u%d from 192.0.2.%d</string>'
       '</AdditionalData></Alert></IDMEF-Message>')


def rows(count, seed=1):
    rng = random.Random(seed)
    for seq in range(1, count + 1):
        alertId, classification = CLASSES[rng.randrange(len(CLASSES))]
        day = 1 + rng.randrange(100)
        date = "2026-%02d-%02d" % (1 + (day - 1) // 28, 1 + (day - 1) % 28)
        clock = "%02d:%02d:%02d" % (rng.randrange(24), rng.randrange(60), rng.randrange(60))
        user = rng.randrange(500)
        values = {
            "origin": "bench", "stream": "idmef", "seq": seq, "idx": 0,
            "alertkey": f"bench idmef {seq} 0", "alertid": f"0x{alertId:04x}",
            "alertdesc": classification, "classification": classification, "date": date,
            "time": clock, "analyzerid": ANALYZERS[rng.randrange(3)],
            "source_address": "198.51.%d.%d" % divmod(rng.randrange(5000), 256),
            "source_user": f"u{user}" if rng.random() < 0.5 else None,
            "source_process": "sshd", "source_service": "ssh",
            "target_address": "10.0.%d.%d" % divmod(rng.randrange(200), 256),
            "target_user": f"u{rng.randrange(500)}" if rng.random() < 0.3 else None,
            "idmefmsg": DOC % (seq, rng.choice(("medium", "high")), seq, user, seq % 256),
            "signature": ""}
        yield tuple(values.get(column) for column in COLUMNS)


def fill(cursor, dialect, count, chunk=20000):
    schema.createSchema(cursor, dialect, ("alert_entry",))
    started = time.monotonic()
    batch = []
    for row in rows(count):
        batch.append(row)
        if len(batch) == chunk:
            schema.insertRows(cursor, dialect, "alert_entry", batch)
            batch = []
    if batch:
        schema.insertRows(cursor, dialect, "alert_entry", batch)
    return time.monotonic() - started


def searches(rng):
    """(name, query arguments) of each filter, a new value each time."""
    def day():
        d = 1 + rng.randrange(100)
        return "2026-%02d-%02d" % (1 + (d - 1) // 28, 1 + (d - 1) % 28)

    alertId, classification = CLASSES[rng.randrange(len(CLASSES))]
    return [
        ("all", {}),
        ("time range (a day)", {"from": day(), "to": None}),
        ("classification", {"classification": CLASSES[rng.randrange(len(CLASSES))][1]}),
        ("alert id", {"alertid": f"0x{alertId:04x}"}),
        ("source address", {"source": "198.51.%d.%d" % divmod(rng.randrange(5000), 256)}),
        ("target address", {"target": "10.0.%d.%d" % divmod(rng.randrange(200), 256)}),
        ("user (source or target)", {"user": f"u{rng.randrange(500)}"}),
        ("analyzer", {"analyzer": ANALYZERS[rng.randrange(3)]}),
        ("host (2 addresses)", {"host": "h"}),
        ("alert id + time range", {"alertid": f"0x{alertId:04x}", "from": day()}),
    ]


def runSearches(cursor, dialect, queries, pages=20):
    from mice.console.data import searchAlerts
    from mice.console.query import AlertSearch

    rng = random.Random(7)
    times = {}
    for _ in range(queries):
        for name, args in searches(rng):
            if "from" in args and args.get("to", 1) is None:
                args["to"] = args["from"]
            search = AlertSearch.fromArgs({k: [v] for k, v in args.items() if v is not None})
            if name.startswith("host"):
                # A host name resolved to two addresses, as the console does.
                search = search.withAddresses(["10.0.%d.%d" % divmod(rng.randrange(200), 256)
                                               for _ in range(2)])
            started = time.perf_counter()
            page = searchAlerts(cursor, dialect, search)
            times.setdefault(name, []).append(time.perf_counter() - started)
            assert len(page["alerts"]) <= 50
        # A deep page: keyset pagination makes page 20 cost what page 1 does.
        search = AlertSearch()
        for _ in range(pages):
            page = searchAlerts(cursor, dialect, search)
            search = AlertSearch.fromArgs({"after": [page["next"]]})
        started = time.perf_counter()
        searchAlerts(cursor, dialect, search)
        times.setdefault(f"all, page {pages + 1}", []).append(time.perf_counter() - started)
    return times


def report(label, times):
    print(f"{label}: alert search, first page of 50 (ms)")
    print(f"  {'filter':28} {'median':>8} {'p99':>8}")
    for name, values in times.items():
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"  {name:28} {statistics.median(values) * 1000:8.1f} {p99 * 1000:8.1f}")


def benchSearch(args):
    if args.store.startswith("sqlite"):
        path = args.store.partition(":")[2] or os.path.join(tempfile.gettempdir(),
                                                            "mice-bench-console.db")
        exists = os.path.exists(path)
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        cursor = connection.cursor()
        if not exists:
            cursor.execute("BEGIN")
            took = fill(cursor, "sqlite", args.rows)
            cursor.execute("COMMIT")
            print(f"sqlite: {args.rows} rows stored in {took:.0f} s ({path},"
                  f" {os.path.getsize(path) / 2**20:.0f} MiB)")
        cursor.execute("ANALYZE")
        report(f"sqlite, {args.rows} rows", runSearches(cursor, "sqlite", args.queries))
        connection.close()
        if not args.keep:
            os.remove(path)
        return
    import pymysql

    name = args.database or "mice_bench_console_" + uuid.uuid4().hex[:8]
    admin = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    connection = pymysql.connect(host="127.0.0.1", user="root", database=name,
                                 autocommit=True, charset="utf8mb4")
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema ="
                       " DATABASE() AND table_name = 'alert_entry'")
        if not cursor.fetchone()[0]:
            took = fill(cursor, "mysql", args.rows)
            print(f"mariadb: {args.rows} rows stored in {took:.0f} s (database {name})")
        cursor.execute("ANALYZE TABLE alert_entry")
        cursor.fetchall()
        report(f"mariadb, {args.rows} rows", runSearches(cursor, "mysql", args.queries))
    finally:
        if not args.keep:
            admin.cursor().execute(f"DROP DATABASE `{name}`")
        connection.close()
        admin.close()


def benchFanout(args):
    from argon2 import PasswordHasher
    from twisted.internet import reactor
    from twisted.internet.protocol import ClientFactory, Protocol

    from mice.config import ConsoleSettings, parseDatabaseUrl
    from mice.console.auth import hashPassword
    from mice.console.data import SqlConsoleData
    from mice.console.feed import ConsoleFeed
    from mice.console.service import consoleService
    from mice.db.pools import connectionPool
    from mice.testing import consoleAlertRow

    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "alerts.db")
    connection = sqlite3.connect(path)
    schema.createSchema(connection.cursor(), "sqlite", schema.ALERT_TABLES)
    connection.commit()
    template = consoleAlertRow(0)
    pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + path), reactor)
    data = SqlConsoleData(pool, dialect, reactor)
    feed = ConsoleFeed(data, reactor, tailSeconds=0.05)
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    settings = ConsoleSettings(listen="tcp:0:interface=127.0.0.1",
                               passwordHash=hashPassword("benchmark password", fast))
    service = consoleService(settings, data, feed, reactor)
    session = service.console.sessions.open("admin")
    counts = []
    done = {}
    cut = []
    marks = {}

    def finish():
        if len(done) + len(cut) == args.streams:
            marks["cpu"] = time.process_time() - marks["cpu"]
            reactor.stop()

    class Stream(Protocol):
        def connectionMade(self):
            self.count = 0
            self.tail = b""
            counts.append(self)
            self.transport.write(b"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: mice_console="
                                 + session.token.encode() + b"\r\n\r\n")

        def dataReceived(self, data):
            text = self.tail + data
            self.count += text.count(b"event: alert\n")
            self.tail = text[-16:]
            if self.count >= args.alerts and self not in done:
                done[self] = time.monotonic()
                finish()

        def connectionLost(self, reason):
            # The console cuts a stream that falls BACKLOG_BYTES behind (a
            # browser would resume from its last id; this client does not).
            if self not in done and "start" in marks:
                cut.append(self)
                finish()

    # Each alert its own key (alert_entry is unique on alertkey).
    key = COLUMNS.index("alertkey")
    rows = [template[:2] + (seq,) + template[3:key] + (f"fanout {seq}",) + template[key + 1:]
            for seq in range(1, args.alerts + 1)]

    def store():
        connection.executemany(schema.insertStatement("sqlite", "alert_entry"), rows)
        connection.commit()
        stored = connection.execute("SELECT COUNT(*) FROM alert_entry").fetchone()[0]
        if stored != args.alerts:
            raise SystemExit(f"fan-out: {stored} alerts stored, not {args.alerts}")
        marks["start"] = time.monotonic()
        marks["cpu"] = time.process_time()
        feed.alertsStored()

    async def start():
        service.startService()
        port = (await service.server._waitingForPort).getHost().port
        while not feed.loaded:
            await _sleep(reactor, 0.05)
        factory = ClientFactory.forProtocol(Stream)
        for _ in range(args.streams):
            reactor.connectTCP("127.0.0.1", port, factory)
        while len(feed.streams) < args.streams:
            await _sleep(reactor, 0.05)
        store()

    from twisted.internet.defer import ensureDeferred

    reactor.callWhenRunning(lambda: ensureDeferred(start()))
    reactor.callLater(600, reactor.stop)
    reactor.run()
    if cut:
        print(f"fan-out: {len(cut)} of {args.streams} streams fell 4 MiB behind and were cut"
              f" (the clients share one process with the console: fewer --alerts)")
    if not done:
        raise SystemExit("fan-out: no stream received every alert")
    began, cpu = marks["start"], marks["cpu"]
    took = max(done.values()) - began
    print(f"fan-out: {args.alerts} alerts to {len(done)} streams in {took:.2f} s:"
          f" {args.alerts / took:,.0f} alerts/s per stream,"
          f" {args.alerts * len(done) / took:,.0f} events/s in all")
    # The console and its 50 clients share the process: its CPU time
    # (server and clients both) is what a loaded machine does not inflate.
    print(f"fan-out CPU: {cpu:.2f} s (server and clients): {args.alerts / cpu:,.0f} alerts/s"
          f" per stream per CPU second")


def _sleep(reactor, seconds):
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds, lambda: None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search")
    search.add_argument("--rows", type=int, default=1000000)
    search.add_argument("--store", default="sqlite:")
    search.add_argument("--database", help="MariaDB database to use (and keep)")
    search.add_argument("--queries", type=int, default=30)
    search.add_argument("--keep", action="store_true")
    fanout = commands.add_parser("fanout")
    fanout.add_argument("--streams", type=int, default=50)
    fanout.add_argument("--alerts", type=int, default=5000)
    args = parser.parse_args()
    if args.command == "search":
        benchSearch(args)
    else:
        benchFanout(args)


if __name__ == "__main__":
    main()
