# -*- test-case-name: tests.integration.test_console_data -*-
"""
The console's read side over SQL (L{SqlConsoleData}): the alert database
(C{alert_entry}), the console events (C{console_event}), and, where they
exist, the ManagementHost's reaction journal (C{reaction_job},
C{received_alert}) and heartbeats (C{analyzer_heartbeat}), on SQLite or
MariaDB/MySQL through an adbapi pool.

Tables that do not exist (yet) are not an error: their part of the
console is empty.  Which tables and columns exist is read from the
database's catalog and read again every L{CATALOG_SECONDS}, so a table
created later shows up without a restart.  The SQL expects:

  - C{reaction_job (alertkey, rid, pipe, state, attempts, next_try,
    outcome, created, updated)}, joined to an alert by C{alertkey}, which
    C{alert_entry} has from the ManagementHost on (or, lacking it, through
    C{received_alert (alertkey, origin, stream, seq, idx)});
  - C{analyzer_heartbeat (analyzerid, name, host, last_heartbeat,
    last_seen, heartbeat_interval)}, times as ISO 8601 text (UTC when
    they carry no zone).

Countermeasures are not in this database (each ReactionDaemon keeps its
own): they come from an L{ICountermeasureSource}.
"""

from datetime import UTC, datetime

from twisted.internet.defer import fail, succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.console import query
from mice.console.interfaces import IConsoleData, ICountermeasureSource
from mice.db.schema import _dialect, ensureIndexes, quote, searchColumns, searchCondition

#: Seconds between two readings of which tables and columns exist.
CATALOG_SECONDS = 30.0
#: The tables the console reads.
TABLES = ("alert_entry", "console_event", "reaction_job", "received_alert",
          "analyzer_heartbeat")
#: Heartbeat interval assumed when an analyzer gives none (Prelude's default).
DEFAULT_HEARTBEAT = 600.0
#: The most hosts the panes are loaded for at start.
MAX_HOSTS = 500

JOB_COLUMNS = ("rid", "pipe", "state", "attempts", "next_try", "outcome", "created",
               "updated")
HEARTBEAT_COLUMNS = ("analyzerid", "name", "host", "last_heartbeat", "last_seen",
                     "heartbeat_interval")


@implementer(ICountermeasureSource)
class NoCountermeasures:
    """
    No ReactionDaemon known to the console: nothing active, nothing to lift.
    """

    def active(self):
        return succeed([])

    def lift(self, daemon, countermeasureId, by, reason):
        return fail(LookupError(f"no ReactionDaemon {daemon!r} is known to the console"))


def catalog(txn, dialect):
    """
    C{{table: set of columns}} of the console's tables that exist.  A
    transaction function.
    """
    dialect = _dialect(dialect)
    found = {}
    if dialect.name == "mysql":
        txn.execute("SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() AND table_name IN (%s)"
                    % ", ".join(["%s"] * len(TABLES)), TABLES)
        for table, column in txn.fetchall():
            found.setdefault(query.text(table), set()).add(query.text(column))
        return found
    txn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (%s)"
                % ", ".join(["?"] * len(TABLES)), TABLES)
    for (table,) in txn.fetchall():
        txn.execute("SELECT * FROM %s WHERE 1 = 0" % quote(table))
        found[table] = {d[0] for d in txn.description}
    return found


def _rows(txn, sql, params=()):
    txn.execute(sql, params)
    return txn.fetchall()


def searchAlerts(txn, dialect, search, searched=True):
    pages = []
    for _, sql, params in query.alertSearchStatements(dialect, search, searched=searched):
        pages.append([query.alertSummary(row) for row in _rows(txn, sql, params)])
    rows, cursor = query.mergePages(pages, search.limit)
    return {"alerts": rows, "next": cursor}


def alertDetail(txn, dialect, tables, rowId):
    dialect = _dialect(dialect)
    p = dialect.placeholder
    columns = query.SUMMARY_COLUMNS + tuple(
        c for c in ("origin", "stream", "seq", "alertkey", "received")
        if c in tables["alert_entry"])
    found = _rows(txn, "SELECT %s FROM `alert_entry` WHERE `row_id` = %s"
                  % (", ".join(quote(c) for c in columns), p), (rowId,))
    if not found:
        return None
    values = dict(zip(columns, found[0]))
    alert = query.alertSummary(found[0][:len(query.SUMMARY_COLUMNS)], document=True)
    for name in ("origin", "stream", "seq", "alertkey", "received"):
        if name in values:
            alert[name if name != "alertkey" else "alertKey"] = (
                values[name] if name == "seq" else query.text(values[name]))
    key = alert.get("alertKey")
    if key is None and "received_alert" in tables and "origin" in values:
        keys = _rows(txn, "SELECT `alertkey` FROM `received_alert` WHERE `origin` = %s AND"
                          " `stream` = %s AND `seq` = %s ORDER BY `idx`" % (p, p, p),
                     (values["origin"], values["stream"], values["seq"]))
        key = query.text(keys[0][0]) if keys else None
        alert["alertKey"] = key
    reactions = []
    if key is not None and "reaction_job" in tables:
        present = [c for c in JOB_COLUMNS if c in tables["reaction_job"]]
        for row in _rows(txn, "SELECT %s FROM `reaction_job` WHERE `alertkey` = %s ORDER BY"
                              " `rid`" % (", ".join(quote(c) for c in present), p), (key,)):
            job = {name: (value if name in ("rid", "attempts", "next_try")
                          else query.text(value)) for name, value in zip(present, row)}
            reactions.append(job)
    return {"alert": alert, "reactions": reactions}


def alertsSince(txn, dialect, rowId, limit):
    sql = query.sinceStatement(dialect, "alert_entry", query.SUMMARY_COLUMNS, limit)
    return [query.alertSummary(row) for row in _rows(txn, sql, (rowId,))]


def eventsSince(txn, dialect, rowId, limit):
    sql = query.sinceStatement(dialect, "console_event", query.EVENT_COLUMNS, limit)
    return [query.eventShape(row) for row in _rows(txn, sql, (rowId,))]


def latestRowIds(txn, tables):
    marks = []
    for table in ("alert_entry", "console_event"):
        if table in tables:
            value = _rows(txn, "SELECT MAX(`row_id`) FROM %s" % quote(table))[0][0]
            marks.append(int(value or 0))
        else:
            marks.append(0)
    return tuple(marks)


def hasSearchColumns(dialect, tables):
    """
    Whether C{alert_entry} (in C{tables}, from L{catalog}) has every
    indexed search column of its dialect (L{searchColumns}; SQLite has
    none to have).
    """
    return set(searchColumns(dialect, "alert_entry").values()) <= tables["alert_entry"]


def hostPanes(txn, dialect, tables, linesPerHost, alertsPerHost=10):
    """
    The host panes as the database holds them now (see
    L{mice.console.model.HostBoard.load}).  A transaction function; at a
    start only (the grouped count of alerts reads every row's index entry).
    """
    p = _dialect(dialect).placeholder
    snapshot = {"hosts": [], "counts": [], "recent": []}
    if "console_event" in tables:
        names = [query.text(row[0]) for row in _rows(
            txn, "SELECT DISTINCT `loghost` FROM `console_event` LIMIT %d" % MAX_HOSTS)]
        columns = ", ".join(quote(c) for c in query.EVENT_COLUMNS)
        for name in names:
            lines = [query.eventShape(row) for row in _rows(
                txn, f"SELECT {columns} FROM `console_event` WHERE `loghost` = {p} AND"
                     f" `action` = 'display' ORDER BY `row_id` DESC LIMIT {linesPerHost}",
                (name,))]
            icons = [query.eventShape(row) for row in _rows(
                txn, f"SELECT {columns} FROM `console_event` WHERE `loghost` = {p} AND"
                     f" `action` = 'icon' ORDER BY `row_id` DESC LIMIT 1", (name,))]
            addresses = [query.text(row[0]) for row in _rows(
                txn, f"SELECT DISTINCT `ip` FROM (SELECT `ip` FROM `console_event` WHERE"
                     f" `loghost` = {p} ORDER BY `row_id` DESC LIMIT 1000) AS recent", (name,))
                if row[0]]
            counted = dict(_rows(
                txn, f"SELECT `action`, SUM(`count`) FROM `console_event` WHERE `loghost` ="
                     f" {p} AND `action` IN ('drop', 'reject') GROUP BY `action`", (name,)))
            icon = icons[0] if icons else None
            snapshot["hosts"].append({
                "name": name, "addresses": addresses,
                "lines": [{"rowId": e["rowId"], "date": e["date"], "time": e["time"],
                           "application": e["application"], "rule": e["rule"],
                           "fields": e["fields"],
                           "line": e["line"] if e["fields"] is None else None}
                          for e in reversed(lines)],
                "icon": icon and {"name": icon["icon"], "date": icon["date"],
                                  "time": icon["time"], "application": icon["application"]},
                "dropped": int(counted.get("drop") or 0),
                "rejected": int(counted.get("reject") or 0)})
    if "alert_entry" in tables:
        counts = _rows(txn, "SELECT `target_address`, `classification`, COUNT(*) FROM"
                            " `alert_entry` GROUP BY `target_address`, `classification`")
        snapshot["counts"] = [[query.text(a), query.text(c), int(n)] for a, c, n in counts]
        columns = ", ".join(quote(c) for c in query.SUMMARY_COLUMNS)
        addresses = sorted({a for a, _, _ in snapshot["counts"] if a})[:MAX_HOSTS]
        searched = hasSearchColumns(dialect, tables)
        for address in addresses:
            condition, params = searchCondition(dialect, "target_address", address, searched)
            snapshot["recent"].extend(query.alertSummary(row) for row in _rows(
                txn, f"SELECT {columns} FROM `alert_entry` WHERE {condition}"
                     f" ORDER BY `date` DESC, `time` DESC, `row_id` DESC"
                     f" LIMIT {alertsPerHost}", params))
    return snapshot


def hostAddresses(txn, dialect, name):
    p = _dialect(dialect).placeholder
    return [query.text(row[0]) for row in _rows(
        txn, f"SELECT DISTINCT `ip` FROM (SELECT `ip` FROM `console_event` WHERE `loghost` ="
             f" {p} ORDER BY `row_id` DESC LIMIT 1000) AS recent", (name,)) if row[0]]


def _seconds(text):
    """Seconds since the epoch of an ISO 8601 time (UTC without a zone)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(query.text(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def heartbeats(txn, tables, now, staleAfter):
    present = [c for c in HEARTBEAT_COLUMNS if c in tables["analyzer_heartbeat"]]
    analyzers = []
    for row in _rows(txn, "SELECT %s FROM `analyzer_heartbeat` ORDER BY `analyzerid`"
                     % ", ".join(quote(c) for c in present)):
        values = dict(zip(present, row))
        interval = values.get("heartbeat_interval")
        interval = float(interval) if interval else None
        seen = _seconds(values.get("last_seen"))
        age = None if seen is None else max(0.0, now - seen)
        limit = staleAfter * (interval or DEFAULT_HEARTBEAT)
        analyzers.append({
            "analyzerId": query.text(values.get("analyzerid")),
            "name": query.text(values.get("name")), "host": query.text(values.get("host")),
            "lastHeartbeat": query.text(values.get("last_heartbeat")),
            "lastSeen": query.text(values.get("last_seen")), "interval": interval,
            "age": age, "stale": age is None or age > limit, "staleAfter": limit})
    return analyzers


def consoleLog(txn, dialect, search):
    pages = [[query.eventShape(row) for row in _rows(txn, sql, params)]
             for sql, params in query.logStatements(dialect, search)]
    records, cursor = query.mergeLog(pages, search.limit)
    p = _dialect(dialect).placeholder
    where, args = "`action` IN ('drop', 'reject')", ()
    if search.host is not None:
        where += f" AND `loghost` = {p}"
        args = (search.host,)
    counts = {"drop": 0, "reject": 0}
    byHost = {}
    for action, host, events, records_ in _rows(
            txn, f"SELECT `action`, `loghost`, COUNT(*), SUM(`count`) FROM `console_event`"
                 f" WHERE {where} GROUP BY `action`, `loghost`", args):
        action, host = query.text(action), query.text(host)
        n = int(events if action == "drop" else records_ or 0)
        counts[action] = counts.get(action, 0) + n
        byHost.setdefault(host, {"drop": 0, "reject": 0})[action] = n
    return {"counts": counts, "byHost": byHost, "records": records, "next": cursor}


@implementer(IConsoleData)
class SqlConsoleData:
    """
    L{IConsoleData} over an adbapi pool.

    @param pool: an C{adbapi.ConnectionPool} (L{mice.db.pools.connectionPool}).
    @param dialect: its L{mice.db.schema.Dialect}.
    @param countermeasures: an L{ICountermeasureSource}.
    @param clock: for re-reading the catalog.
    """

    log = Logger()

    def __init__(self, pool, dialect, clock, countermeasures=None):
        self.pool = pool
        self.dialect = _dialect(dialect)
        self.clock = clock
        self.countermeasureSource = countermeasures or NoCountermeasures()
        self._tables = None
        self._tablesAt = None
        self._warnedSearch = False

    def start(self):
        """
        Add the indexes the searches need to tables made before them (a
        store that cannot alter its tables still serves, more slowly).
        """
        def added(names):
            if names:
                self.log.info("console: added indexes {names}", names=", ".join(names))

        def cannot(failure):
            self.log.warn("console: cannot add the search indexes ({error}); searches may be"
                          " slow", error=failure.getErrorMessage())

        return self.pool.runInteraction(ensureIndexes, self.dialect).addCallbacks(added, cannot)

    def forgetTables(self):
        """Read the catalog again at the next call (tables were just made)."""
        self._tables = None

    def tables(self):
        """
        @return: a Deferred firing with C{{table: columns}} of those that exist.
        """
        now = self.clock.seconds()
        if self._tables is not None and now - self._tablesAt < CATALOG_SECONDS:
            return succeed(self._tables)

        def read(found):
            self._tables, self._tablesAt = found, now
            return found

        return self.pool.runInteraction(catalog, self.dialect).addCallback(read)

    def _with(self, table, empty, function, arguments):
        """
        Run C{function(txn, ...)} if C{table} exists (with C{tables}
        given first where it wants them), else give C{empty}.
        """
        def run(tables):
            if table not in tables:
                return empty
            return self.pool.runInteraction(function, *arguments(tables))

        return self.tables().addCallback(run)

    def _searched(self, tables):
        """
        Whether C{alert_entry} has its search columns (MySQL/MariaDB); a
        table without them is searched on its columns, slowly, and the
        console says once how to fix that.
        """
        if hasSearchColumns(self.dialect, tables):
            return True
        if not self._warnedSearch:
            self._warnedSearch = True
            self.log.warn("console: alert_entry lacks its indexed search columns: searches"
                          " read and sort every match; run `mice initdb --upgrade URL`")
        return False

    def searchAlerts(self, search):
        return self._with("alert_entry", {"alerts": [], "next": None}, searchAlerts,
                          lambda t: (self.dialect, search, self._searched(t)))

    def alert(self, rowId):
        return self._with("alert_entry", None, alertDetail,
                          lambda t: (self.dialect, t, rowId))

    def alertsSince(self, rowId, limit):
        return self._with("alert_entry", [], alertsSince,
                          lambda t: (self.dialect, rowId, limit))

    def consoleEventsSince(self, rowId, limit):
        return self._with("console_event", [], eventsSince,
                          lambda t: (self.dialect, rowId, limit))

    def latestRowIds(self):
        return self.tables().addCallback(
            lambda t: self.pool.runInteraction(latestRowIds, t))

    def hosts(self, linesPerHost):
        return self.tables().addCallback(
            lambda t: self.pool.runInteraction(hostPanes, self.dialect, t, linesPerHost))

    def hostAddresses(self, name):
        return self._with("console_event", [], hostAddresses,
                          lambda t: (self.dialect, name))

    def heartbeats(self, now, staleAfter):
        return self._with("analyzer_heartbeat", [], heartbeats,
                          lambda t: (t, now, staleAfter))

    def consoleLog(self, search):
        return self._with("console_event",
                          {"counts": {"drop": 0, "reject": 0}, "byHost": {}, "records": [],
                           "next": None}, consoleLog, lambda t: (self.dialect, search))

    def countermeasures(self):
        return self.countermeasureSource.active()

    def liftCountermeasure(self, daemon, countermeasureId, by, reason):
        return self.countermeasureSource.lift(daemon, countermeasureId, by, reason)
