# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice initdb URL}: create the raw-log and alert schemas.
"""

import sys

from twisted.internet.defer import ensureDeferred


async def _initdb(reactor, url, tables, journal=False):
    from mice.db import journal as reactionJournal
    from mice.db import schema
    from mice.db.pools import connectionPool

    pool, dialect = connectionPool(url, reactor)
    pool.start()
    try:
        await pool.runInteraction(schema.createSchema, dialect, tables)
        if journal:
            await pool.runInteraction(reactionJournal.createJournal, dialect)
    finally:
        pool.close()


def run(args):
    from twisted.internet import reactor
    from twisted.internet.task import react

    from mice.config import parseDatabaseUrl
    from mice.db import schema

    try:
        url = parseDatabaseUrl(args.url)
    except ValueError as e:
        print(f"mice initdb: {e}", file=sys.stderr)
        return 2
    from mice.db.journal import JOURNAL_TABLES

    tables = {"rawlog": schema.RAWLOG_TABLES, "alert": schema.ALERT_TABLES,
              "all": schema.RAWLOG_TABLES + schema.ALERT_TABLES}[args.tables]
    journal = args.tables in ("alert", "all")
    status = []

    async def main(reactor):
        try:
            await _initdb(reactor, url, tables, journal)
        except Exception as e:
            print(f"mice initdb: {args.url.split('@')[-1]}: {e}", file=sys.stderr)
            status.append(1)
        else:
            made = tables + (JOURNAL_TABLES if journal else ())
            print(f"created {', '.join(made)} in {url.redacted()}")

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    del reactor
    return status[0] if status else 0


def addParser(commands):
    p = commands.add_parser("initdb", help="create the raw-log and alert schemas")
    p.add_argument("url", metavar="URL",
                   help="sqlite:///path.db or mysql://user:pass@host:port/db")
    p.add_argument("--tables", choices=("rawlog", "alert", "all"), default="all")
    p.set_defaults(run=run)
