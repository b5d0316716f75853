# -*- test-case-name: tests.unit.db.test_schema,tests.integration.test_schema -*-
"""
The M-ICE database schema and every piece of SQL text that depends on the
database: the seed's tables (manual chapters 5.2.2 and 7.3.2), how to create
them and how to insert into them, for SQLite (the embedded default) and
MariaDB/MySQL (through PyMySQL).

Pure: nothing here imports a database driver or the reactor.  The transaction
functions (L{createSchema}, L{insertRows}, L{insertClassified}) take a DB-API
cursor, which is what C{adbapi.ConnectionPool.runInteraction} hands them.

What we add to the seed's columns, and why (see C{docs/schema.rst}):

  - C{row_id}: an auto-increment primary key.  (Not C{id}: C{firewall_line}
    already has a seed column C{id}, the IP header's identification field.)
  - C{origin}, C{stream}, C{seq}: where the row came from, C{UNIQUE} together,
    so that a resent batch never makes a duplicate row.  (Not C{source}:
    C{firewall_line.source} is the seed's packet source address.)  These are
    L{mice.record.LogRecord}'s C{source}, C{stream} and C{seq}.
  - C{received}: when the row was stored, UTC, filled in by the database.
  - in C{scslog_line} and C{firewall_line}: the record's host columns that
    the seed lacks, the whole C{logline} and its C{signature}, so that
    classifying a line into a parsed table loses nothing.
  - indexes on (C{date}, C{time}), on C{hostname} and on C{alertid}.
"""

from dataclasses import dataclass
from functools import cache
from operator import itemgetter

RAWLOG_TABLES = ("rawlog_line", "scslog_line", "firewall_line")
ALERT_TABLES = ("alert_entry", "console_event")
ALL_TABLES = RAWLOG_TABLES + ALERT_TABLES
"""Table names, as tuples: combine them with C{+}."""

UNSET_ID = 4294967295
"""
What C{scslog_line}'s C{pid}, C{uid} and C{euid} (C{INT UNSIGNED NOT NULL}
in the seed) hold when the line has no usable value: C{-1}, a name other than
C{root}, a number outside 0..2**32-1, or nothing.  It is (u32)-1, which is
also what the kernel's audit subsystem itself writes for an unset id.
"""

ORIGIN_MAX = 128
STREAM_MAX = 255
"""Longest C{origin} and C{stream} (in characters) a row may carry."""

_PROVENANCE = (("origin", "origin"), ("stream", "stream"), ("seq", "seq"))
_HOST = (
    ("hostname", "text"),
    ("domain", "text"),
    ("ip", "text"),
    ("osystem", "text"),
    ("release", "text"),
    ("version", "text"),
)
_WHEN = (("date", "date"), ("time", "time"))
_LINE = (("logline", "text"), ("signature", "text"))

_TABLES = {
    "rawlog_line": _PROVENANCE + _HOST + _WHEN + _LINE,
    "scslog_line": _PROVENANCE
    + _HOST
    + _WHEN
    + (
        ("syscall", "text"),
        ("program", "text"),
        ("pid", "uint"),
        ("uid", "uint"),
        ("euid", "uint"),
        ("call", "text"),
        ("comment", "text"),
    )
    + _LINE,
    # The seed puts date and time last here.
    "firewall_line": _PROVENANCE
    + _HOST
    + (
        ("action", "text"),
        ("if_in", "text"),
        ("if_out", "text"),
        ("mac", "text"),
        ("source", "text"),
        ("destination", "text"),
        ("ip_length", "text"),
        ("tos", "text"),
        ("prec", "text"),
        ("ttl", "text"),
        ("id", "text"),
        ("protocol", "text"),
        ("src_port", "text"),
        ("dst_port", "text"),
        ("pac_length", "text"),
    )
    + _WHEN
    + _LINE,
    # The seed's 16 columns between the alert's key (several alerts may
    # share one IDMEF message, so the message's origin, stream and seq are
    # not enough: idx is the alert's place in it) and what the DTD check
    # found wrong with its document.
    "alert_entry": _PROVENANCE
    + (
        ("idx", "uint"),
        ("alertkey", "key"),
        ("alertid", "text"),
        ("alertdesc", "text"),
        ("classification", "text"),
        ("date", "date"),
        ("time", "time"),
        ("analyzerid", "text"),
        ("source_address", "text"),
        ("source_user", "text"),
        ("source_process", "text"),
        ("source_service", "text"),
        ("target_address", "text"),
        ("target_user", "text"),
        ("target_process", "text"),
        ("target_service", "text"),
        ("idmefmsg", "text"),
        ("signature", "text"),
        ("dtd_problems", "text"),
    ),
    # What the LogIDS rules show on the ManagementHost's console (not in the
    # seed: see mice.decoders.events).
    "console_event": _PROVENANCE
    + (
        ("loghost", "text"),
        ("ip", "text"),
        ("application", "text"),
        ("action", "text"),
        ("rule", "text"),
        ("fields", "text"),
        ("icon", "text"),
        ("count", "uint"),
        ("date", "date"),
        ("time", "time"),
        ("logline", "text"),
    ),
}

COLUMNS = {table: tuple(name for name, _ in spec) for table, spec in _TABLES.items()}

#: The columns each table is unique on: a row already stored under them is
#: never stored again.
UNIQUE = {table: ("origin", "stream", "seq") for table in _TABLES}
UNIQUE["alert_entry"] = ("alertkey",)
"""
The insert column order of each table: a row for C{table} is a tuple with
C{len(COLUMNS[table])} values in this order.  C{row_id} and C{received} are
the database's to fill in and are not part of it.
"""

_INDEXES = {
    # table: ((index suffix, ((column, MySQL prefix length or None), ...)), ...)
    "rawlog_line": (("time", (("date", None), ("time", None))), ("host", (("hostname", 64),))),
    "scslog_line": (("time", (("date", None), ("time", None))), ("host", (("hostname", 64),))),
    "firewall_line": (
        ("time", (("date", None), ("time", None))),
        ("host", (("hostname", 64),)),
    ),
    # The console's alert search (mice.console.query) filters on one column
    # and pages newest first by (date, time, row_id): an index per filter
    # column, followed by date and time, serves both (row_id is in every
    # index entry, SQLite's rowid and InnoDB's primary key).  On
    # MySQL/MariaDB the filter columns are MEDIUMTEXT, which only a prefix
    # can index, and after a prefix the index no longer gives the order
    # (every match is read and sorted): there the index is on the column's
    # search copy (SEARCH_COLUMNS).  Measured by bench/bench_console.py on
    # 1,000,000 rows.
    "alert_entry": (
        ("time", (("date", None), ("time", None))),
        ("alertid", (("alertid", 32), ("date", None), ("time", None))),
        ("class", (("classification", 64), ("date", None), ("time", None))),
        ("source", (("source_address", 64), ("date", None), ("time", None))),
        ("target", (("target_address", 64), ("date", None), ("time", None))),
        ("suser", (("source_user", 64), ("date", None), ("time", None))),
        ("tuser", (("target_user", 64), ("date", None), ("time", None))),
        ("analyzer", (("analyzerid", 64), ("date", None), ("time", None))),
    ),
    # The console's host panes (latest display lines and icon of a host)
    # and its console log (drops and rejects, counted per host).
    "console_event": (
        ("time", (("date", None), ("time", None))),
        ("host", (("loghost", 64), ("action", 16))),
        ("action", (("action", 16), ("loghost", 64))),
    ),
}


#: MySQL/MariaDB: per table, C{(search column, column)}: a STORED generated
#: C{VARCHAR(255)} copy of the column's first 255 characters, which an
#: index holds whole (see L{searchCondition}).  Not in L{COLUMNS}: the
#: database fills them, no insert names them.  SQLite indexes its TEXT
#: columns whole and has none.
SEARCH_COLUMNS = {
    "alert_entry": (
        ("search_alertid", "alertid"),
        ("search_class", "classification"),
        ("search_source", "source_address"),
        ("search_target", "target_address"),
        ("search_suser", "source_user"),
        ("search_tuser", "target_user"),
        ("search_analyzer", "analyzerid"),
    ),
}
SEARCH_LENGTH = 255


def searchColumns(dialect, table):
    """
    C{{column: search column}} of C{table} in C{dialect} (empty on SQLite).
    """
    if _dialect(dialect).name != "mysql":
        return {}
    return {column: search for search, column in SEARCH_COLUMNS.get(table, ())}


def searchColumnStatement(search, column):
    """The definition of a search column (L{SEARCH_COLUMNS}), MySQL/MariaDB."""
    return "%s VARCHAR(%d) AS (LEFT(%s, %d)) STORED" % (
        quote(search), SEARCH_LENGTH, quote(column), SEARCH_LENGTH)


def searchCondition(dialect, column, value, searched=True):
    """
    C{(condition, params)} that C{column} equals C{value}, through the
    column's indexed search copy where it has one (C{searched}: the table
    has them, L{SEARCH_COLUMNS}): the copy holds the first 255
    characters, so the column itself is compared too (it only matters for
    longer values, and costs nothing on the few rows the index finds).
    """
    dialect = _dialect(dialect)
    p = dialect.placeholder
    search = searchColumns(dialect, "alert_entry").get(column) if searched else None
    if search is None:
        return f"{quote(column)} = {p}", (value,)
    return (f"{quote(search)} = {p} AND {quote(column)} = {p}",
            (value[:SEARCH_LENGTH], value))


def _indexColumns(dialect, table, columns):
    """The index's column list: search copies and prefixes on MySQL/MariaDB."""
    if dialect.name != "mysql":
        return ", ".join(quote(column) for column, _ in columns)
    searched = searchColumns(dialect, table)
    return ", ".join(
        quote(searched[column]) if column in searched
        else quote(column) + ("(%d)" % prefix if prefix else "")
        for column, prefix in columns)


def quote(identifier):
    """
    Quote an identifier for both dialects (C{release}, C{call}, C{date} and
    C{time} are keywords in MySQL; backticks work in SQLite too).
    """
    return "`" + identifier.replace("`", "``") + "`"


@dataclass(frozen=True)
class Dialect:
    """
    What differs between the databases M-ICE stores into.

    @ivar name: C{'sqlite'} or C{'mysql'}.
    @ivar placeholder: the DB-API paramstyle marker of the driver
        (C{qmark} for sqlite3, C{format} for PyMySQL).
    @ivar insertVerb: the insert that skips a row whose (C{origin},
        C{stream}, C{seq}) is already stored.
    @ivar types: column kind -> SQL type.
    """

    name: str
    placeholder: str
    insertVerb: str
    primaryKey: str
    received: str
    tableOptions: str
    indexesInline: bool
    types: tuple

    def sqlType(self, kind):
        return dict(self.types)[kind]


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    insertVerb="INSERT OR IGNORE INTO",
    primaryKey="INTEGER PRIMARY KEY AUTOINCREMENT",
    received="TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP",
    tableOptions="",
    indexesInline=False,
    types=(
        ("origin", "TEXT NOT NULL"),
        ("stream", "TEXT NOT NULL"),
        ("seq", "INTEGER NOT NULL"),
        ("key", "TEXT NOT NULL"),
        ("text", "TEXT"),
        # TEXT, not DATE/TIME: SQLite would give those NUMERIC affinity.
        ("date", "TEXT"),
        ("time", "TEXT"),
        ("uint", "INTEGER NOT NULL"),
    ),
)

MYSQL = Dialect(
    name="mysql",
    placeholder="%s",
    insertVerb="INSERT IGNORE INTO",
    primaryKey="BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY",
    received="DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP())",
    tableOptions=" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    indexesInline=True,
    types=(
        # Binary collation: the idempotency key must not fold case.
        ("origin", "VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL" % ORIGIN_MAX),
        ("stream", "VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL" % STREAM_MAX),
        ("seq", "BIGINT NOT NULL"),
        ("key", "VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"),
        # MEDIUMTEXT where the seed says TEXT: TEXT stops at 65,535 bytes, a
        # long line of 4-byte characters passes that, and InnoDB stores both
        # the same way.
        ("text", "MEDIUMTEXT"),
        ("date", "DATE"),
        ("time", "TIME"),
        ("uint", "INT UNSIGNED NOT NULL"),
    ),
)

DIALECTS = {"sqlite": SQLITE, "mysql": MYSQL, "mariadb": MYSQL}


def dialectNamed(name):
    """
    The L{Dialect} for a URL scheme or driver name (C{sqlite}, C{mysql},
    C{mariadb}).

    @raise ValueError: unknown name.
    """
    try:
        return DIALECTS[name.lower()]
    except KeyError:
        raise ValueError(
            "unknown database dialect %r (known: %s)" % (name, ", ".join(sorted(DIALECTS)))
        ) from None


def _dialect(dialect):
    return dialectNamed(dialect) if isinstance(dialect, str) else dialect


def _tables(tables):
    if isinstance(tables, str):
        tables = (tables,)
    unknown = set(tables) - set(ALL_TABLES)
    if unknown:
        raise ValueError("unknown table(s): %s" % ", ".join(sorted(unknown)))
    return [table for table in ALL_TABLES if table in tables]


def createStatements(dialect, tables=ALL_TABLES):
    """
    The statements that create C{tables} and their indexes.  Running them
    again is harmless (C{IF NOT EXISTS}); they do not alter tables that
    already exist.

    @param dialect: a L{Dialect} or its name.
    @param tables: table names (a subset of L{ALL_TABLES}).
    @return: a list of SQL statements, one per C{execute}.
    """
    dialect = _dialect(dialect)
    statements = []
    for table in _tables(tables):
        lines = ["%s %s" % (quote("row_id"), dialect.primaryKey)]
        lines += ["%s %s" % (quote(name), dialect.sqlType(kind)) for name, kind in _TABLES[table]]
        lines.append("%s %s" % (quote("received"), dialect.received))
        lines += [searchColumnStatement(search, column)
                  for column, search in searchColumns(dialect, table).items()]
        lines.append(
            "CONSTRAINT %s UNIQUE (%s)"
            % (quote(table + "_key"), ", ".join(quote(c) for c in UNIQUE[table]))
        )
        indexes = []
        for suffix, columns in _INDEXES[table]:
            name = quote("%s_%s" % (table, suffix))
            parts = _indexColumns(dialect, table, columns)
            if dialect.indexesInline:
                lines.append("INDEX %s (%s)" % (name, parts))
            else:
                indexes.append(
                    "CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (name, quote(table), parts)
                )
        statements.append(
            "CREATE TABLE IF NOT EXISTS %s (\n  %s\n)%s"
            % (quote(table), ",\n  ".join(lines), dialect.tableOptions)
        )
        statements.extend(indexes)
    return statements


_insertCache = {}


def insertStatement(dialect, table):
    """
    The statement that inserts one row into C{table}, for C{executemany}.  A
    row whose (C{origin}, C{stream}, C{seq}) is already stored is skipped.

    For MySQL the text is exactly C{INSERT ... VALUES (%s, ...)} with nothing
    after it, which is the form PyMySQL's C{executemany} turns into multi-row
    INSERTs (one round trip per ~1 MB of rows instead of one per row).
    """
    dialect = _dialect(dialect)
    key = (dialect.name, table)
    statement = _insertCache.get(key)
    if statement is None:
        columns = COLUMNS[table]
        statement = "%s %s (%s) VALUES (%s)" % (
            dialect.insertVerb,
            quote(table),
            ", ".join(quote(c) for c in columns),
            ", ".join([dialect.placeholder] * len(columns)),
        )
        _insertCache[key] = statement
    return statement


@cache
def insertKeepingLargest(dialect, table, column):
    """
    The statement that inserts one row into C{table}, for C{executemany},
    where a row whose (C{origin}, C{stream}, C{seq}) is already stored is
    not added again but keeps the larger C{column} of the two.  For
    C{console_event}'s reject counts: a batch sent again after a crash may
    count more records from the same first one, and the larger count is
    the one that covers them all.
    """
    dialect = _dialect(dialect)
    columns = COLUMNS[table]
    target = quote(column)
    head = "INSERT INTO %s (%s) VALUES (%s)" % (
        quote(table), ", ".join(quote(c) for c in columns),
        ", ".join([dialect.placeholder] * len(columns)))
    if dialect.name == "mysql":
        return f"{head} ON DUPLICATE KEY UPDATE {target} = GREATEST({target}, VALUES({target}))"
    key = ", ".join(quote(c) for c in ("origin", "stream", "seq"))
    return f"{head} ON CONFLICT ({key}) DO UPDATE SET {target} = max({target}, excluded.{target})"


def indexStatements(dialect, table, present=None):
    """
    C{(index name, statement)} that add each index of C{table} to a table
    that exists (for a table made before an index was added here).

    @param present: the table's columns: an index on a search column the
        table lacks (L{SEARCH_COLUMNS}, added by C{mice initdb --upgrade})
        is left out.
    """
    dialect = _dialect(dialect)
    searched = searchColumns(dialect, table)
    for suffix, columns in _INDEXES[table]:
        name = "%s_%s" % (table, suffix)
        if present is not None and any(searched.get(c, c) not in present for c, _ in columns):
            continue
        parts = _indexColumns(dialect, table, columns)
        if dialect.name == "mysql":
            yield name, "ALTER TABLE %s ADD INDEX %s (%s)" % (quote(table), quote(name), parts)
        else:
            yield name, "CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (
                quote(name), quote(table), parts)


def searchUpgradeStatement(txn, dialect, table):
    """
    The one C{ALTER TABLE} (one copy of the table) that gives C{table} the
    search columns it lacks (L{SEARCH_COLUMNS}), with their indexes in
    place of the prefix indexes of the same names, or C{None} if it lacks
    none.  A transaction function, for C{mice initdb --upgrade}.

    @return: C{(statement, names of the columns added)} or C{None}.
    """
    dialect = _dialect(dialect)
    searched = searchColumns(dialect, table)
    columns = set(tableColumns(txn, dialect, table))
    missing = {column: search for column, search in searched.items() if search not in columns}
    if not missing:
        return None
    txn.execute("SELECT DISTINCT index_name FROM information_schema.statistics"
                " WHERE table_schema = DATABASE() AND table_name = %s", (table,))
    indexes = {row[0] for row in txn.fetchall()}
    parts = ["ADD COLUMN " + searchColumnStatement(search, column)
             for column, search in missing.items()]
    for suffix, indexed in _INDEXES[table]:
        if not any(column in missing for column, _ in indexed):
            continue
        name = "%s_%s" % (table, suffix)
        if name in indexes:
            parts.append("DROP INDEX %s" % quote(name))
        parts.append("ADD INDEX %s (%s)" % (quote(name), _indexColumns(dialect, table, indexed)))
    return ("ALTER TABLE %s %s" % (quote(table), ", ".join(parts)),
            sorted(missing.values()))


def missingColumns(txn, dialect, table):
    """
    The columns of today's C{table} (L{COLUMNS}, and L{SEARCH_COLUMNS} on
    MySQL/MariaDB) that the table in the database lacks.  A transaction
    function.
    """
    columns = set(tableColumns(txn, dialect, table))
    wanted = COLUMNS[table] + tuple(searchColumns(dialect, table).values())
    return [c for c in wanted if c not in columns]


def ensureIndexes(txn, dialect, tables=ALERT_TABLES):
    """
    Add the indexes of L{_INDEXES} that C{tables} (those that exist) lack.
    A transaction function.

    @return: the names of the indexes added.
    """
    dialect = _dialect(dialect)
    added = []
    for table in tables:
        if dialect.name == "mysql":
            txn.execute("SELECT DISTINCT index_name FROM information_schema.statistics"
                        " WHERE table_schema = DATABASE() AND table_name = %s", (table,))
            present = {row[0] for row in txn.fetchall()}
            txn.execute("SELECT COUNT(*) FROM information_schema.tables"
                        " WHERE table_schema = DATABASE() AND table_name = %s", (table,))
            if not txn.fetchone()[0]:
                continue
        else:
            txn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                        (table,))
            present = {row[0] for row in txn.fetchall()}
            txn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,))
            if not txn.fetchone()[0]:
                continue
        columns = set(tableColumns(txn, dialect, table))
        for name, statement in indexStatements(dialect, table, columns):
            if name not in present:
                txn.execute(statement)
                added.append(name)
    return added


def createSchema(txn, dialect, tables=ALL_TABLES):
    """
    Create C{tables} (if they do not exist yet).  A transaction function.

    @param txn: a DB-API cursor (the C{runInteraction} transaction).
    """
    for statement in createStatements(dialect, tables):
        txn.execute(statement)


def mysqlEscape(text):
    """
    Escape C{text} for a single-quoted MySQL string literal, as the server's
    own escaping function does (C{\\}, C{'}, C{"}, NUL, LF, CR, Ctrl-Z).

    Valid while the session's sql_mode lacks NO_BACKSLASH_ESCAPES, which
    L{mice.db.pools} ensures for every connection it opens.  Most lines hold none
    or few of these characters, and a substring test costs a quarter of a
    C{replace} that finds nothing (which itself is four times faster than
    C{str.translate}); backslashes go first.  Returns C{text} itself when
    there is nothing to escape.
    """
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "'" in text:
        text = text.replace("'", "\\'")
    if '"' in text:
        text = text.replace('"', '\\"')
    if "\0" in text:
        text = text.replace("\0", "\\0")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    if "\x1a" in text:
        text = text.replace("\x1a", "\\Z")
    return text


#: Bytes of row literals per INSERT statement (below every server's default
#: max_allowed_packet).
MYSQL_STATEMENT_BYTES = 1000000


def mysqlLiteral(value):
    """
    The MySQL literal for C{value}: C{None}, C{int}, C{float} (finite) or
    C{str}.
    """
    if type(value) is str:
        return "'" + mysqlEscape(value) + "'"
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is float and value == value and abs(value) != float("inf"):
        return repr(value)
    raise TypeError(f"cannot store a {type(value).__name__} value")


def mysqlInsertStatements(table, rows, columns=None, tail=""):
    """
    Multi-row C{INSERT IGNORE} statements for C{rows}, each under
    L{MYSQL_STATEMENT_BYTES}.

    This is the hot path of the raw-log database.  Escaping with
    L{mysqlEscape} is several times faster than the driver's per-value
    escaping, and most values (host columns, dates, times) repeat from row
    to row, so short values' literals are made once per call.

    @param columns: the columns of C{rows} (default: L{COLUMNS}C{[table]}).
    @param tail: what follows the values (C{ON DUPLICATE KEY UPDATE ...});
        with one, the statements are C{INSERT}, not C{INSERT IGNORE}.
    """
    head = "%s %s (%s) VALUES " % (
        "INSERT INTO" if tail else "INSERT IGNORE INTO", quote(table),
        ", ".join(quote(c) for c in (columns or COLUMNS[table])))
    literals = {}
    cached = literals.get

    def literal(value):
        text = mysqlLiteral(value)
        if value is None or (type(value) is str and len(value) < 64):
            literals[value] = text
        return text

    values, size = [], 0
    for row in rows:
        # A literal is never empty, so "or" only calls literal() on a miss.
        text = "(" + ",".join([cached(v) or literal(v) for v in row]) + ")"
        if values and size + len(text) > MYSQL_STATEMENT_BYTES:
            yield head + ",".join(values) + tail
            values, size = [], 0
        values.append(text)
        size += len(text) + 1
    if values:
        yield head + ",".join(values) + tail


def insertRows(txn, dialect, table, rows):
    """
    Insert C{rows} (tuples in L{COLUMNS}C{[table]} order) into C{table},
    skipping rows already stored.  A transaction function.

    @return: how many rows were new.
    """
    if not rows:
        return 0
    if _dialect(dialect).name == "mysql":
        new = 0
        for statement in mysqlInsertStatements(table, rows):
            txn.execute(statement)
            new += max(txn.rowcount, 0)
        return new
    txn.executemany(insertStatement(dialect, table), rows)
    return max(txn.rowcount, 0)


def insertClassified(txn, dialect, rowsByTable):
    """
    Insert the output of L{mice.db.classify.classify} grouped by table.  A
    transaction function.

    @param rowsByTable: C{{table: [row, ...]}}.
    @return: C{{table: number of new rows}}.
    """
    return {
        table: insertRows(txn, dialect, table, rows) for table, rows in sorted(rowsByTable.items())
    }


def _remembering(convert):
    """
    C{(lookup, convert)} for the values of a flush's rows: C{lookup(value)}
    is a dictionary lookup of what C{convert} gave before (C{None} the first
    time), and the C{convert} returned remembers what it gives for values
    that repeat from row to row (anything but a long text: dates, times,
    interfaces, ids).
    """
    remembered = {}

    def remember(value):
        text = convert(value)
        if type(value) is not str or len(value) < 64:
            remembered[value] = text
        return text

    return remembered.get, remember


def mysqlBatchStatements(table, groups):
    """
    Multi-row C{INSERT IGNORE} statements for rows given the way
    L{mice.db.classify.classifyBatch} gives them, each under
    L{MYSQL_STATEMENT_BYTES}: the same text as L{mysqlInsertStatements}
    makes of the same rows.

    The raw-log database's hot path: the columns a batch shares (origin,
    stream, host) are written as literals once per batch, and a line costs
    one format operation, the escaping of its text and a dictionary lookup
    per other value (short values repeat from row to row: dates, times,
    interfaces, ids).

    @param groups: C{(key, rows)} pairs: C{key} the batch's C{(origin,
        stream, hostname, domain, ip, osystem, release, version)}, C{rows}
        C{(seq, date, time, fields, logline, signature)} tuples; or
        C{(key, rows, signatures)} triples (L{signedRows}), whose
        signatures are stored instead of the rows' own, as they are.
    """
    head = "INSERT IGNORE INTO %s (%s) VALUES " % (
        quote(table), ", ".join(quote(c) for c in COLUMNS[table]))
    cached, literal = _remembering(mysqlLiteral)
    escape = mysqlEscape
    firewall = table == "firewall_line"
    values, size = [], 0
    for key, rows, signed in map(signedRows, groups):
        keyText = "(%s,%s," % (mysqlLiteral(key[0]), mysqlLiteral(key[1]))
        hostText = "," + ",".join([mysqlLiteral(v) for v in key[2:]]) + ","
        for (seq, day, clock, fields, line, _), signature in rows:
            # A literal is never empty, so "or" only calls literal() on a miss.
            when = (cached(day) or literal(day)) + "," + (cached(clock) or literal(clock))
            if fields:
                fieldText = ",".join([cached(v) or literal(v) for v in fields])
                middle = fieldText + "," + when if firewall else when + "," + fieldText
            else:
                middle = when
            if signed:
                # A signer's text: letters, digits and ':-+/=', never escaped.
                text = "%s%d%s%s,'%s','%s')" % (keyText, seq, hostText, middle, escape(line),
                                                signature)
            else:
                text = "%s%d%s%s,'%s',%s)" % (keyText, seq, hostText, middle, escape(line),
                                               cached(signature) or literal(signature))
            if values and size + len(text) > MYSQL_STATEMENT_BYTES:
                yield head + ",".join(values)
                values, size = [], 0
            values.append(text)
            size += len(text) + 1
    if values:
        yield head + ",".join(values)


#: A row's own signature (L{signedRows}).
_ownSignature = itemgetter(5)


def signedRows(group):
    """
    C{(key, pairs, signed)} of a group of L{mysqlBatchStatements}: C{pairs}
    gives each row and the signature to store with it (the row's own, or
    the one beside it in a C{(key, rows, signatures)} triple: C{signed}).
    """
    if len(group) == 3:
        key, rows, signatures = group
        return key, zip(rows, signatures), True
    key, rows = group
    return key, zip(rows, map(_ownSignature, rows)), False


def batchRows(table, groups):
    """
    The row tuples, in L{COLUMNS} order, of rows given as for
    L{mysqlBatchStatements}.
    """
    firewall = table == "firewall_line"
    for key, rows, _ in map(signedRows, groups):
        keyHead, host = key[:2], key[2:]
        for (seq, day, clock, fields, line, _), signature in rows:
            if firewall:
                yield keyHead + (seq,) + host + fields + (day, clock, line, signature)
            else:
                yield keyHead + (seq,) + host + (day, clock) + fields + (line, signature)


def loadDataEscape(text):
    """
    Escape C{text} for a field of C{LOAD DATA}'s default format (fields
    ended by tab, rows by newline, escapes by backslash): only these three
    and NUL need it.  Returns C{text} itself when there is nothing to escape.
    """
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\0" in text:
        text = text.replace("\0", "\\0")
    return text


def loadDataField(value):
    """
    The C{LOAD DATA} field for C{value}: C{None} (C{\\N}), C{int} or C{str}.
    """
    if type(value) is str:
        return loadDataEscape(value)
    if value is None:
        return "\\N"
    if type(value) is int:
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} value")


#: Characters of rows per C{LOAD DATA} statement: a flush of long lines is
#: sent in several, so that its text never takes much more memory than its
#: records do.
LOAD_DATA_CHARS = 4 * 2 ** 20


def loadDataChunks(table, groups, limit=LOAD_DATA_CHARS):
    """
    The C{LOAD DATA} input for rows given as for L{mysqlBatchStatements}, in
    chunks of about C{limit} characters (whole rows; a single longer row is
    a chunk) that each share one key.

    Only the columns that change from row to row are in the text, in
    L{LOAD_DATA_COLUMNS} order; what a batch shares (origin, stream, host)
    is set once per statement (L{loadDataStatement}), so the server, which
    reads this text a character at a time, does not read it for every row.
    The hot path of the raw-log store on MySQL/MariaDB: a date and a time
    from L{mice.db.classify.classifyBatch} are valid or C{None}, so they need no
    escaping; a line costs one f-string and the escaping of its text.

    @return: an iterator of C{(key, text)}.
    """
    cached, field = _remembering(loadDataField)
    escape = loadDataEscape
    null = "\\N"
    firewall = table == "firewall_line"
    parts = []
    append = parts.append
    size = 0
    current = None
    for key, rows, signed in map(signedRows, groups):
        if key != current and parts:
            yield current, "".join(parts)
            parts.clear()
            size = 0
        current = key
        for (seq, day, clock, fields, line, _), signature in rows:
            if fields:
                # A field is empty only for "", which "or" merely recomputes.
                fieldText = "\t".join([cached(v) or field(v) for v in fields])
                if firewall:
                    middle = f"{fieldText}\t{day or null}\t{clock or null}"
                else:
                    middle = f"{day or null}\t{clock or null}\t{fieldText}"
            else:
                middle = f"{day or null}\t{clock or null}"
            if signed:
                # A signer's text: letters, digits and ':-+/=', never escaped.
                text = f"{seq}\t{middle}\t{escape(line)}\t{signature}\n"
            else:
                text = (f"{seq}\t{middle}\t{escape(line)}\t"
                        f"{escape(signature) if signature else ''}\n")
            size += len(text)
            if size > limit and parts:
                yield key, "".join(parts)
                parts.clear()
                size = len(text)
            append(text)
    if parts:
        yield current, "".join(parts)


#: The columns of L{loadDataChunks}'s rows: C{seq} and everything after
#: the host columns.
LOAD_DATA_COLUMNS = {table: ("seq",) + columns[9:] for table, columns in COLUMNS.items()}
_KEY_COLUMNS = ("origin", "stream", "hostname", "domain", "ip", "osystem", "release", "version")


def loadDataStatement(table, name, key):
    """
    The C{LOAD DATA LOCAL INFILE} statement that inserts L{loadDataChunks}'s
    rows, read from the local file C{name}, into C{table}, with C{key}'s
    origin, stream and host columns, skipping rows already stored
    (C{IGNORE}, as C{INSERT IGNORE}).
    """
    return (
        "LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE %s CHARACTER SET utf8mb4"
        " FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\'"
        " LINES STARTING BY '' TERMINATED BY '\\n' (%s) SET %s"
        % (mysqlLiteral(name), quote(table),
           ", ".join(quote(c) for c in LOAD_DATA_COLUMNS[table]),
           ", ".join("%s = %s" % (quote(c), mysqlLiteral(v)) for c, v in zip(_KEY_COLUMNS, key)))
    )


#: What MySQL/MariaDB say when LOAD DATA LOCAL is disabled (the server's
#: local_infile, or the client's capability): ER_NOT_ALLOWED_COMMAND,
#: MySQL 8's ER_CLIENT_LOCAL_FILES_DISABLED, MariaDB's
#: ER_LOAD_INFILE_CAPABILITY_DISABLED.
LOCAL_DATA_REFUSED = frozenset((1148, 3948, 4166))


def _loadData(txn, table, groups):
    """
    Insert with C{LOAD DATA LOCAL} when the connection can offer data from
    memory (L{mice.db.pools.localDataDriver}) and the server allows it.

    @return: how many rows were new, or C{None} if C{LOAD DATA} cannot be
        used on this connection (then it is not tried again on it).
    """
    connection = getattr(txn, "connection", None)
    offer = getattr(connection, "offerLocalData", None)
    if offer is None or getattr(connection, "localDataRefused", False):
        return None
    name = "mice-" + table
    new = 0
    for key, chunk in loadDataChunks(table, groups, LOAD_DATA_CHARS):
        offer(name, chunk.encode("utf-8"))
        try:
            txn.execute(loadDataStatement(table, name, key))
        except Exception as e:
            if getattr(e, "args", (None,))[0] in LOCAL_DATA_REFUSED:
                # Whatever a chunk before loaded, the INSERT IGNOREs skip.
                connection.localDataRefused = True
                return None
            raise
        new += max(txn.rowcount, 0)
    return new


def insertBatches(txn, dialect, groupsByTable):
    """
    Insert rows grouped by table and batch (see L{mysqlBatchStatements}),
    skipping rows already stored.  A transaction function.

    On MySQL/MariaDB through a connection of L{mice.db.pools.localDataDriver}, the
    rows of each table go in one C{LOAD DATA LOCAL} statement: the server
    spends about a third less time on it than on the same rows as C{INSERT}
    literals.  Elsewhere, or when the server refuses C{LOAD DATA LOCAL}, they
    go in multi-row C{INSERT IGNORE}s.

    @param groupsByTable: C{{table: [(key, rows), ...]}}.
    @return: C{{table: number of new rows}}.
    """
    counts = {}
    mysql = _dialect(dialect).name == "mysql"
    for table, groups in sorted(groupsByTable.items()):
        if mysql:
            new = _loadData(txn, table, groups)
            if new is None:
                new = 0
                for statement in mysqlBatchStatements(table, groups):
                    txn.execute(statement)
                    new += max(txn.rowcount, 0)
        else:
            txn.executemany(insertStatement(dialect, table), batchRows(table, groups))
            new = max(txn.rowcount, 0)
        counts[table] = new
    return counts


# -- What a store finds in the database ------------------------------------

SIGNATURE_HEAD = "signature_head"
"""
The table of chain heads of the tamper-evident stores (L{mice.db.signature}):
one row per chain, the last signed row's C{seq} and signature.
"""


def signatureHeadStatements(dialect):
    """
    The statement that creates L{SIGNATURE_HEAD} (if it does not exist).
    """
    dialect = _dialect(dialect)
    if dialect.name == "mysql":
        key = "VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"
        return [
            "CREATE TABLE IF NOT EXISTS `signature_head` (\n"
            f"  `chain` {key},\n  `chainkey` {key},\n  `label` MEDIUMTEXT,\n"
            "  `seq` BIGINT NOT NULL,\n  `signature` VARCHAR(255) NOT NULL,\n"
            "  PRIMARY KEY (`chain`, `chainkey`)\n)" + dialect.tableOptions]
    return [
        "CREATE TABLE IF NOT EXISTS `signature_head` (\n"
        "  `chain` TEXT NOT NULL,\n  `chainkey` TEXT NOT NULL,\n  `label` TEXT,\n"
        "  `seq` INTEGER NOT NULL,\n  `signature` TEXT NOT NULL,\n"
        "  PRIMARY KEY (`chain`, `chainkey`)\n)"]


def tableStatements(dialect, table):
    """
    The statements that create one table: one of L{ALL_TABLES} or
    L{SIGNATURE_HEAD}.
    """
    if table == SIGNATURE_HEAD:
        return signatureHeadStatements(dialect)
    return createStatements(dialect, (table,))


def existingTables(txn, dialect):
    """
    The names of the tables of the connection's database (those the user
    can see: on MySQL/MariaDB, those it has some privilege on).  A
    transaction function.
    """
    if _dialect(dialect).name == "mysql":
        txn.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = DATABASE()")
    else:
        txn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in txn.fetchall()}


def tableColumns(txn, dialect, table):
    """
    The column names of C{table}, in order.  A transaction function.
    """
    if _dialect(dialect).name == "mysql":
        txn.execute("SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() AND table_name = %s"
                    " ORDER BY ordinal_position", (table,))
    else:
        txn.execute("PRAGMA table_info(%s)" % quote(table))
        return tuple(row[1] for row in txn.fetchall())
    return tuple(row[0] for row in txn.fetchall())


class StoreUnusable(Exception):
    """
    A store cannot start on this database (a table is missing and cannot
    be created, or is of an older schema): retrying does not help, an
    operator must act.  C{str()} is one line that says what to do.
    """


class MissingTable(StoreUnusable):
    pass


class LegacyTable(StoreUnusable):
    pass


#: What MySQL/MariaDB say when a statement is not allowed to the user:
#: ER_TABLEACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR,
#: ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR.
ACCESS_DENIED = frozenset((1142, 1044, 1227, 1045))


def _errorText(error):
    args = getattr(error, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"error {args[0]}: {args[1]}"
    return str(error) or type(error).__name__


def prepareTables(txn, dialect, tables, where=""):
    """
    Make sure C{tables} are there and of today's schema, creating only the
    ones that are missing: against existing tables a store needs no more
    than the privileges its inserts need (see C{docs/schema.rst}).  A
    transaction function.

    @param tables: names from L{ALL_TABLES} and L{SIGNATURE_HEAD}.
    @param where: the database, for messages (a path or a URL without its
        password).
    @return: the tables created.
    @raise MissingTable: a table is missing and could not be created.
    @raise LegacyTable: a table lacks columns of today's schema (made by the
        2004 scripts, or by an older M-ICE).
    """
    dialect = _dialect(dialect)
    existing = existingTables(txn, dialect)
    created = []
    at = f" in {where}" if where else ""
    for table in tables:
        if table in existing:
            if table == SIGNATURE_HEAD:
                continue
            missing = missingColumns(txn, dialect, table)
            if missing:
                made = ("by the 2004 scripts" if "origin" in missing
                        else "by an older M-ICE")
                raise LegacyTable(
                    f"table {table}{at} was made {made} (it lacks {', '.join(missing)}):"
                    f" run `mice initdb --upgrade URL` to bring it to today's schema,"
                    f" keeping its rows")
            continue
        try:
            for statement in tableStatements(dialect, table):
                txn.execute(statement)
        except Exception as e:
            raise MissingTable(
                f"table {table}{at} does not exist (or this user has no privilege on it)"
                f" and cannot be created here ({_errorText(e)}): create it with"
                f" `mice initdb URL` as a user who may") from None
        created.append(table)
    return created
