# -*- test-case-name: tests.integration.test_journal,tests.unit.management.test_journal -*-
"""
The ManagementHost's reaction journal in SQL: its tables and the
transaction functions that write and read them, for SQLite and
MariaDB/MySQL.

  - C{received_alert}: every alert the ManagementHost accepted, routed or
    not, with its document: what the reactions are made from, again after
    a restart.  Unique on C{alertkey} (L{mice.alerts.alertKey}).
  - C{reaction_job}: one row per (alert, reaction ID): its pipe, its
    state (C{pending}, C{done}, C{refused}, C{failed}), the attempts made,
    when to try next, the last outcome, when it was made and last changed.
    Unique on (C{alertkey}, C{rid}).  The audit trail of every reaction.
  - C{analyzer_heartbeat}: each analyzer's last IDMEF Heartbeat.
  - C{correlation_state}: the correlation stage's checkpoint
    (L{mice.analysis.correlation.Correlator.checkpoint}), written in the
    transaction that journals the batch it counted.

L{journalAlerts} writes a flush's alerts, jobs and heartbeats in one
transaction, idempotent on the keys; L{recordOutcomes} writes what the
reaction queues did; L{pendingJobs} reads a queue's unfinished jobs back.

Pure: the functions take a DB-API cursor (what C{runInteraction} gives)
and a L{mice.db.schema.Dialect}; nothing here imports a driver or the
reactor.
"""

from functools import cache
from typing import NamedTuple

from mice.db.schema import ORIGIN_MAX, STREAM_MAX, _dialect, mysqlInsertStatements, quote

JOURNAL_TABLES = ("received_alert", "reaction_job", "analyzer_heartbeat", "correlation_state")

#: Job states.
PENDING, DONE, REFUSED, FAILED = "pending", "done", "refused", "failed"
STATES = (PENDING, DONE, REFUSED, FAILED)

#: Keys per C{IN (...)} list.
_IN_CHUNK = 500

ALERT_COLUMNS = ("alertkey", "origin", "stream", "seq", "idx", "analyzerid", "alertid",
                 "description", "routing", "rids", "problems", "received_at", "document")
JOB_COLUMNS = ("alertkey", "rid", "pipe", "state", "attempts", "next_try", "outcome",
               "created", "updated")
HEARTBEAT_COLUMNS = ("analyzerid", "name", "host", "last_heartbeat", "last_seen",
                     "heartbeat_interval", "messageid", "origin")


def _types(dialect):
    if dialect.name == "mysql":
        binary = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        return {
            "pk": "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY",
            "key": "VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL",
            "origin": f"VARCHAR({ORIGIN_MAX}) {binary} NOT NULL",
            "stream": f"VARCHAR({STREAM_MAX}) {binary} NOT NULL",
            "analyzer": f"VARCHAR(255) {binary} NOT NULL",
            "name": "VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL",
            "short": "VARCHAR(64) CHARACTER SET utf8mb4",
            "int": "BIGINT NOT NULL",
            "nint": "BIGINT",
            "real": "DOUBLE NOT NULL",
            "text": "MEDIUMTEXT",
            "time": "VARCHAR(40) CHARACTER SET ascii",
            "blob": "LONGBLOB NOT NULL",
            "options": " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        }
    return {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "key": "TEXT NOT NULL",
            "origin": "TEXT NOT NULL", "stream": "TEXT NOT NULL", "analyzer": "TEXT NOT NULL",
            "name": "TEXT NOT NULL", "short": "TEXT", "int": "INTEGER NOT NULL",
            "nint": "INTEGER", "real": "REAL NOT NULL", "text": "TEXT", "time": "TEXT",
            "blob": "BLOB NOT NULL", "options": ""}


_SPEC = {
    "received_alert": (
        ("row_id", "pk"), ("alertkey", "key"), ("origin", "origin"), ("stream", "stream"),
        ("seq", "int"), ("idx", "int"), ("analyzerid", "text"), ("alertid", "short"),
        ("description", "text"), ("routing", "short"), ("rids", "short"),
        ("problems", "text"), ("received_at", "time"), ("document", "text")),
    "reaction_job": (
        ("job_id", "pk"), ("alertkey", "key"), ("rid", "int"), ("pipe", "name"),
        ("state", "short"), ("attempts", "int"), ("next_try", "real"), ("outcome", "text"),
        ("created", "time"), ("updated", "time")),
    "analyzer_heartbeat": (
        ("analyzerid", "analyzer"), ("name", "text"), ("host", "text"),
        ("last_heartbeat", "time"), ("last_seen", "time"), ("heartbeat_interval", "nint"),
        ("messageid", "text"), ("origin", "text")),
    "correlation_state": (("name", "analyzer"), ("state", "blob"), ("updated", "time")),
}

#: table: (constraint suffix, UNIQUE columns) and (index suffix, columns).
_UNIQUE = {"received_alert": ("key", ("alertkey",)),
           "reaction_job": ("key", ("alertkey", "rid")),
           "analyzer_heartbeat": ("key", ("analyzerid",)),
           "correlation_state": ("key", ("name",))}
_INDEXES = {"received_alert": (("received", ("received_at",)),),
            "reaction_job": (("queue", ("pipe", "state", "job_id")),),
            "analyzer_heartbeat": (), "correlation_state": ()}


def createStatements(dialect):
    """
    The statements that create the journal's tables (if they do not exist).
    """
    dialect = _dialect(dialect)
    types = _types(dialect)
    mysql = dialect.name == "mysql"
    statements = []
    for table, spec in _SPEC.items():
        lines = [f"{quote(name)} {types[kind]}" for name, kind in spec]
        suffix, columns = _UNIQUE[table]
        if table in ("analyzer_heartbeat", "correlation_state"):
            lines.append(f"PRIMARY KEY ({', '.join(quote(c) for c in columns)})")
        else:
            lines.append(f"CONSTRAINT {quote(f'{table}_{suffix}')} UNIQUE"
                         f" ({', '.join(quote(c) for c in columns)})")
        indexes = []
        for name, columns in _INDEXES[table]:
            index = quote(f"{table}_{name}")
            if mysql:
                lines.append(f"INDEX {index} ({', '.join(quote(c) for c in columns)})")
            else:
                indexes.append(f"CREATE INDEX IF NOT EXISTS {index} ON {quote(table)}"
                               f" ({', '.join(quote(c) for c in columns)})")
        statements.append(f"CREATE TABLE IF NOT EXISTS {quote(table)} (\n  "
                          + ",\n  ".join(lines) + f"\n){types['options']}")
        statements.extend(indexes)
    return statements


def createJournal(txn, dialect):
    """Create the journal's tables.  A transaction function."""
    for statement in createStatements(dialect):
        txn.execute(statement)


@cache
def _insertIgnore(dialect, table, columns):
    verb = "INSERT IGNORE INTO" if dialect.name == "mysql" else "INSERT OR IGNORE INTO"
    return "%s %s (%s) VALUES (%s)" % (verb, quote(table), ", ".join(map(quote, columns)),
                                       ", ".join([dialect.placeholder] * len(columns)))


def _insert(txn, dialect, table, columns, rows, statement, tail=""):
    """
    Insert C{rows}: on MySQL/MariaDB as multi-row statements with literals
    escaped by L{mysqlInsertStatements} (the driver's escaping of each
    value costs more than the server's work), elsewhere with
    C{executemany} of C{statement}.
    """
    if dialect.name == "mysql":
        for text in mysqlInsertStatements(table, rows, columns, tail):
            txn.execute(text)
    else:
        txn.executemany(statement, rows)


_JOB_CHANGED = ("state", "attempts", "next_try", "outcome", "updated")
_JOB_TAIL = " ON DUPLICATE KEY UPDATE " + ", ".join(
    f"{quote(c)} = VALUES({quote(c)})" for c in _JOB_CHANGED)


def _insertHead(dialect, table, columns):
    """C{INSERT INTO table (columns) VALUES (placeholders)}: an upsert's head."""
    return "INSERT INTO %s (%s) VALUES (%s)" % (
        quote(table), ", ".join(map(quote, columns)),
        ", ".join([dialect.placeholder] * len(columns)))


@cache
def _upsertJobs(dialect):
    head = _insertHead(dialect, "reaction_job", JOB_COLUMNS)
    if dialect.name == "mysql":
        return head + _JOB_TAIL
    return head + " ON CONFLICT (`alertkey`, `rid`) DO UPDATE SET " + ", ".join(
        f"{quote(c)} = excluded.{quote(c)}" for c in _JOB_CHANGED)


@cache
def _upsertHeartbeat(dialect):
    head = _insertHead(dialect, "analyzer_heartbeat", HEARTBEAT_COLUMNS)
    changed = [c for c in HEARTBEAT_COLUMNS if c not in ("analyzerid", "last_seen")]
    if dialect.name == "mysql":
        # Assignments run left to right: last_seen goes last, so every
        # condition compares with the row's old value.  A heartbeat sent
        # again after a crash does not take last_seen back.
        newer = "VALUES(`last_seen`) >= `last_seen`"
        return head + " ON DUPLICATE KEY UPDATE " + ", ".join(
            [f"{quote(c)} = IF({newer}, VALUES({quote(c)}), {quote(c)})" for c in changed]
            + [f"`last_seen` = IF({newer}, VALUES(`last_seen`), `last_seen`)"])
    return (head + " ON CONFLICT (`analyzerid`) DO UPDATE SET "
            + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed + ["last_seen"])
            + " WHERE excluded.`last_seen` >= `analyzer_heartbeat`.`last_seen`")


def _chunks(items, size=_IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def knownAlerts(txn, dialect, keys):
    """
    @return: the set of C{keys} already in C{received_alert}.
    """
    dialect = _dialect(dialect)
    found = set()
    for chunk in _chunks(list(keys)):
        txn.execute("SELECT `alertkey` FROM `received_alert` WHERE `alertkey` IN (%s)"
                    % ", ".join([dialect.placeholder] * len(chunk)), chunk)
        found.update(row[0] for row in txn.fetchall())
    return found


def journalAlerts(txn, dialect, alerts, jobs, heartbeats=(), inline=None, correlation=None,
                  known=None):
    """
    Journal one flush: its alerts, the reaction jobs of those not journaled
    before, and its heartbeats.  A transaction function; running it again
    with the same rows changes nothing (a resent batch never makes a
    reaction twice).

    @param alerts: C{received_alert} rows (L{ALERT_COLUMNS} order), keys
        unique among them.
    @param jobs: C{reaction_job} rows (L{JOB_COLUMNS} order).
    @param heartbeats: C{analyzer_heartbeat} rows (L{HEARTBEAT_COLUMNS}).
    @param inline: a function C{(txn, newKeys)} doing, in this very
        transaction, the reactions whose jobs C{jobs} gives as done
        already (the alert database when it shares the journal's): done
        exactly once, with their journal entry.
    @param correlation: C{(name, state, updated)}: the correlation
        stage's checkpoint after counting this flush, kept in this very
        transaction (L{saveCorrelationState}).
    @param known: the keys of C{alerts} already journaled, when the caller
        read them (L{knownAlerts}) before this transaction; C{None}: read
        here.  Either way two transactions journaling one alert at once
        both take it as new (neither sees the other's row): the rows are
        inserted once (C{INSERT IGNORE}), and the reaction queues run its
        jobs once.
    @return: the keys of the alerts that were new: only their jobs were
        added, and only they need to be handed to the reaction queues.
    """
    dialect = _dialect(dialect)
    if known is None:
        known = knownAlerts(txn, dialect, [row[0] for row in alerts])
    new = [row for row in alerts if row[0] not in known]
    if new:
        _insert(txn, dialect, "received_alert", ALERT_COLUMNS, new,
                _insertIgnore(dialect, "received_alert", ALERT_COLUMNS))
    newKeys = {row[0] for row in new}
    newJobs = [row for row in jobs if row[0] in newKeys]
    if newJobs:
        _insert(txn, dialect, "reaction_job", JOB_COLUMNS, newJobs,
                _insertIgnore(dialect, "reaction_job", JOB_COLUMNS))
    if inline is not None and newKeys:
        inline(txn, newKeys)
    if heartbeats:
        latest = {}
        for row in heartbeats:
            if row[0] not in latest or row[4] >= latest[row[0]][4]:
                latest[row[0]] = row
        txn.executemany(_upsertHeartbeat(dialect), list(latest.values()))
    if correlation is not None:
        saveCorrelationState(txn, dialect, *correlation)
    return newKeys


def saveCorrelationState(txn, dialect, name, state, updated):
    """
    Keep the correlation stage C{name}'s checkpoint C{state} (bytes).  A
    transaction function.
    """
    dialect = _dialect(dialect)
    p = dialect.placeholder
    head = ("INSERT INTO `correlation_state` (`name`, `state`, `updated`) VALUES (%s, %s, %s)"
            % (p, p, p))
    if dialect.name == "mysql":
        tail = " ON DUPLICATE KEY UPDATE `state` = VALUES(`state`), `updated` = VALUES(`updated`)"
    else:
        tail = (" ON CONFLICT (`name`) DO UPDATE SET `state` = excluded.`state`,"
                " `updated` = excluded.`updated`")
    txn.execute(head + tail, (name, bytes(state), updated))


def loadCorrelationState(txn, dialect, name):
    """
    The correlation stage C{name}'s last checkpoint (bytes), or C{None}.
    A transaction function.
    """
    dialect = _dialect(dialect)
    txn.execute("SELECT `state` FROM `correlation_state` WHERE `name` = %s"
                % dialect.placeholder, (name,))
    row = txn.fetchone()
    return None if row is None else bytes(row[0])


def recordOutcomes(txn, dialect, rows):
    """
    Write what became of reaction jobs: C{reaction_job} rows
    (L{JOB_COLUMNS} order) whose state, attempts, next try, outcome and
    update time replace the stored ones.  A transaction function.
    """
    if rows:
        dialect = _dialect(dialect)
        _insert(txn, dialect, "reaction_job", JOB_COLUMNS, list(rows), _upsertJobs(dialect),
                _JOB_TAIL)


class PendingJob(NamedTuple):
    """A job read back from the journal, with its alert."""

    jobId: int
    alertKey: str
    rid: int
    attempts: int
    nextTry: float
    created: str
    origin: str
    stream: str
    seq: int
    idx: int
    description: str | None
    problems: str | None
    receivedAt: str
    rids: str | None
    document: str


def pendingJobs(txn, dialect, pipe, afterId=0, limit=1000, alertEntry=False):
    """
    The C{pending} jobs of C{pipe} whose id is above C{afterId}, oldest
    first, at most C{limit}, each with its alert's document: what a
    reaction queue loads at start and whenever it had more than it could
    hold.  A transaction function.

    @param alertEntry: whether C{alert_entry} is in this database, holding
        the documents C{received_alert} does not (those the alert database
        reaction stored in the journal's transaction).
    @return: L{PendingJob}s (C{document} C{None} when it is nowhere).
    """
    dialect = _dialect(dialect)
    p = dialect.placeholder
    document, join = "a.`document`", ""
    if alertEntry:
        document = "COALESCE(a.`document`, e.`idmefmsg`)"
        join = " LEFT JOIN `alert_entry` e ON e.`alertkey` = a.`alertkey`"
    txn.execute(
        "SELECT j.`job_id`, j.`alertkey`, j.`rid`, j.`attempts`, j.`next_try`, j.`created`,"
        " a.`origin`, a.`stream`, a.`seq`, a.`idx`, a.`description`,"
        f" a.`problems`, a.`received_at`, a.`rids`, {document}"
        " FROM `reaction_job` j JOIN `received_alert` a ON a.`alertkey` = j.`alertkey`"
        f"{join} WHERE j.`pipe` = {p} AND j.`state` = {p} AND j.`job_id` > {p}"
        f" ORDER BY j.`job_id` LIMIT {int(limit)}", (pipe, PENDING, afterId))
    return [PendingJob(*row) for row in txn.fetchall()]


def pendingPipes(txn, dialect):
    """
    @return: C{{pipe: number of pending jobs}}.  A transaction function.
    """
    p = _dialect(dialect).placeholder
    txn.execute(f"SELECT `pipe`, COUNT(*) FROM `reaction_job` WHERE `state` = {p}"
                " GROUP BY `pipe`", (PENDING,))
    return dict(txn.fetchall())


def jobsOf(txn, dialect, alertKey):
    """
    The journal of one alert: C{(rid, pipe, state, attempts, outcome,
    created, updated)} per reaction, by rid.  A transaction function (for
    the console, and tests).
    """
    p = _dialect(dialect).placeholder
    txn.execute("SELECT `rid`, `pipe`, `state`, `attempts`, `outcome`, `created`, `updated`"
                f" FROM `reaction_job` WHERE `alertkey` = {p} ORDER BY `rid`", (alertKey,))
    return [tuple(row) for row in txn.fetchall()]

