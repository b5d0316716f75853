# -*- test-case-name: tests.integration.test_upgrade -*-
"""
C{mice initdb --upgrade}: bring tables made by the 2004 scripts (manual
chapters 5.2.2 and 7.3.2: C{rawlog_line}, C{scslog_line}, C{firewall_line},
C{alert_entry} with only the seed's columns) to today's schema, keeping
every row.

For each such table: it is renamed C{<table>_2004}, today's table is
created, and every old row is copied into it with a synthetic provenance:
C{origin} C{'legacy'}, C{stream} the table's name, C{seq} the old row's
position (1, 2, ... in the order the old table gives its rows: SQLite's
C{rowid}, the insertion order of a MariaDB/MySQL table without a key).
Columns the old table lacks are C{NULL} (or L{LEGACY_FILL}'s value).  The
old table is kept: drop it once satisfied.

Each step can be run again: a run interrupted after the rename (MariaDB
commits each C{RENAME}/C{CREATE} at once) finishes the copy the next time,
and a table with legacy rows already copied is not copied twice.

A table that has C{origin} but lacks newer columns (made by an older
M-ICE) gets them with C{ALTER TABLE ... ADD COLUMN}, nullable; on
MySQL/MariaDB an C{alert_entry} without the console's indexed search
columns (L{mice.db.schema.SEARCH_COLUMNS}) gets them and their indexes in
one C{ALTER TABLE} (the table is copied once: about a minute per million
alerts, see C{docs/console.rst}).

Pure: the transaction functions take a DB-API cursor.
"""

from mice.db import schema
from mice.db.schema import COLUMNS, quote

LEGACY_ORIGIN = "legacy"
BACKUP_SUFFIX = "_2004"

def _legacyKey(dialect):
    """
    An old alert's C{alertkey}: unique, and never one of today's (those are
    32 hex digits, L{mice.alerts.alertKey}).
    """
    if dialect.name == "sqlite":
        return "'legacy-' || ({seq})"
    return "CONCAT('legacy-', {seq})"


#: Per table, SQL expressions (over the old table's columns; or a function
#: of the dialect giving one) for columns of today's table that an old row
#: lacks and that may not be NULL; an expression may use C{{seq}}, the
#: synthetic sequence number.
LEGACY_FILL = {
    # The ManagementHost's alert_entry: one row per alert of a message
    # (idx), unique on its key.
    "alert_entry": {"idx": "0", "alertkey": _legacyKey},
}

#: Tables an upgrade looks at.
UPGRADABLE = schema.RAWLOG_TABLES + ("alert_entry",)


class UpgradeError(Exception):
    pass


def _rowNumber(dialect):
    if dialect.name == "sqlite":
        return "ROW_NUMBER() OVER (ORDER BY rowid)"
    return "ROW_NUMBER() OVER ()"


def _addColumnType(dialect, kind):
    sqlType = dialect.sqlType(kind)
    # ADD COLUMN cannot add a NOT NULL column without a default to a table
    # with rows: old rows get NULL.
    return sqlType.replace(" NOT NULL", "")


def upgradeTable(txn, dialect, table):
    """
    Upgrade one table if it needs it.  A transaction function.

    @return: a line saying what was done, or C{None} if nothing was.
    """
    dialect = schema._dialect(dialect)
    existing = schema.existingTables(txn, dialect)
    backup = table + BACKUP_SUFFIX
    done = []
    if table in existing:
        columns = schema.tableColumns(txn, dialect, table)
        if "origin" not in columns:
            if backup in existing:
                raise UpgradeError(f"both {table} (of the 2004 schema) and {backup} exist:"
                                   f" rename or drop one of them")
            txn.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(backup)}")
            existing = (existing - {table}) | {backup}
            done.append(f"renamed the 2004 table {table} to {backup}")
        else:
            missing = [(name, kind) for name, kind in schema._TABLES[table]
                       if name not in columns]
            for name, kind in missing:
                txn.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)}"
                            f" {_addColumnType(dialect, kind)}")
            if missing:
                done.append(f"added {', '.join(n for n, _ in missing)} to {table}")
            searched = schema.searchUpgradeStatement(txn, dialect, table)
            if searched is not None:
                statement, names = searched
                txn.execute(statement)
                done.append(f"added the indexed search columns {', '.join(names)} to {table}")
    if backup in existing:
        if table not in existing:
            for statement in schema.createStatements(dialect, (table,)):
                txn.execute(statement)
            done.append(f"created {table}")
        p = dialect.placeholder
        txn.execute(f"SELECT COUNT(*) FROM {quote(table)} WHERE origin = {p} AND stream = {p}",
                    (LEGACY_ORIGIN, table))
        if txn.fetchone()[0] == 0:
            copied = _copyLegacy(txn, dialect, table, backup)
            done.append(f"copied {copied} rows of {backup} into {table} (origin"
                        f" '{LEGACY_ORIGIN}', stream '{table}'); drop {backup} once satisfied")
    return "; ".join(done) or None


def _copyLegacy(txn, dialect, table, backup):
    old = set(schema.tableColumns(txn, dialect, backup))
    fill = LEGACY_FILL.get(table, {})
    names, values = [], []
    for name in COLUMNS[table]:
        if name in ("origin", "stream", "seq"):
            continue
        if name in old:
            names.append(name)
            values.append(quote(name))
        elif name in fill:
            names.append(name)
            expression = fill[name](dialect) if callable(fill[name]) else fill[name]
            values.append(expression.format(seq=_rowNumber(dialect)))
    p = dialect.placeholder
    head = ["origin", "stream", "seq"] + names
    txn.execute(
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in head)})"
        f" SELECT {p}, {p}, {_rowNumber(dialect)}"
        + "".join(", " + v for v in values)
        + f" FROM {quote(backup)}", (LEGACY_ORIGIN, table))
    txn.execute(f"SELECT COUNT(*) FROM {quote(table)} WHERE origin = {p} AND stream = {p}",
                (LEGACY_ORIGIN, table))
    return txn.fetchone()[0]


def legacyTables(txn, dialect, tables=UPGRADABLE):
    """
    The tables of C{tables} that exist and lack columns of today's schema.
    A transaction function.
    """
    existing = schema.existingTables(txn, dialect)
    return [t for t in tables if t in existing and schema.missingColumns(txn, dialect, t)]


def upgradeSchema(txn, dialect, tables=UPGRADABLE):
    """
    Upgrade C{tables}.  A transaction function.

    @return: the lines saying what was done.
    """
    return [line for line in (upgradeTable(txn, dialect, t) for t in tables) if line]
