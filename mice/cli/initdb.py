# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice initdb URL}: create the raw-log and alert schemas (with the
ManagementHost's reaction journal and the chain heads of signing stores,
C{signature_head}); C{mice initdb --upgrade URL} first brings tables made
by the 2004 scripts to today's schema, keeping their rows
(L{mice.db.upgrade}).
"""

import sys

from twisted.internet.defer import ensureDeferred


async def _initdb(reactor, url, tables, journal=False, upgrade=False):
    from mice.db import journal as reactionJournal
    from mice.db import schema
    from mice.db import upgrade as upgrading
    from mice.db.pools import connectionPool

    pool, dialect = connectionPool(url, reactor)
    pool.start()
    lines = []
    try:
        if upgrade:
            lines = await pool.runInteraction(
                upgrading.upgradeSchema, dialect,
                [t for t in upgrading.UPGRADABLE if t in tables])
        else:
            legacy = await pool.runInteraction(upgrading.legacyTables, dialect,
                                               [t for t in upgrading.UPGRADABLE if t in tables])
            if legacy:
                raise ValueError(f"{', '.join(legacy)} lack columns of today's schema (made by"
                                 " the 2004 scripts?): run `mice initdb --upgrade URL`")
        await pool.runInteraction(schema.createSchema, dialect, tables)
        await pool.runInteraction(_createHeads, dialect)
        if journal:
            await pool.runInteraction(reactionJournal.createJournal, dialect)
    finally:
        pool.close()
    return lines


def _createHeads(txn, dialect):
    from mice.db import schema

    for statement in schema.signatureHeadStatements(dialect):
        txn.execute(statement)


def run(args):
    from twisted.internet import reactor
    from twisted.internet.task import react

    from mice.config import parseDatabaseUrl
    from mice.db import schema
    from mice.db.journal import JOURNAL_TABLES

    try:
        url = parseDatabaseUrl(args.url)
    except ValueError as e:
        print(f"mice initdb: {e}", file=sys.stderr)
        return 2
    tables = {"rawlog": schema.RAWLOG_TABLES, "alert": schema.ALERT_TABLES,
              "all": schema.RAWLOG_TABLES + schema.ALERT_TABLES}[args.tables]
    journal = args.tables in ("alert", "all")
    status = []

    async def main(reactor):
        try:
            lines = await _initdb(reactor, url, tables, journal, args.upgrade)
        except Exception as e:
            print(f"mice initdb: {args.url.split('@')[-1]}: {e}", file=sys.stderr)
            status.append(1)
        else:
            for line in lines:
                print(line)
            made = tables + (JOURNAL_TABLES if journal else ()) + ("signature_head",)
            print(f"created {', '.join(made)} in {url.redacted()} (those that were missing)")

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    del reactor
    return status[0] if status else 0


def addArguments(p):
    p.add_argument("url", metavar="URL",
                   help="sqlite:///path.db or mysql://user:pass@host:port/db")
    p.add_argument("--tables", choices=("rawlog", "alert", "all"), default="all")
    p.add_argument("--upgrade", action="store_true",
                   help="bring tables made by the 2004 scripts to today's schema, keeping"
                        " their rows (the old table is kept as <table>_2004)")
    p.set_defaults(run=run)
