# -*- test-case-name: tests.integration.test_signature -*-
"""
C{mice verify URL --key FILE}: walk the HMAC chains of a tamper-evident
store (L{mice.db.signature}) and report, for each chain, the first row that
was altered, inserted or deleted.  Exit status 1 if any, 0 if none.
"""

import sys


async def _verify(reactor, url, key):
    from mice.db import signature
    from mice.db.pools import connectionPool

    pool, dialect = connectionPool(url, reactor)
    pool.start()
    try:
        return await pool.runInteraction(signature.verifyDatabase, dialect, key)
    finally:
        pool.close()


def run(args):
    from mice.cli.base import runToStatus
    from mice.config import parseDatabaseUrl
    from mice.db.signature import readSignKey

    try:
        url = parseDatabaseUrl(args.url)
        key = readSignKey(args.key)
    except (ValueError, OSError) as e:
        print(f"mice verify: {e}", file=sys.stderr)
        return 2

    async def main(reactor):
        try:
            reports = await _verify(reactor, url, key)
        except Exception as e:
            print(f"mice verify: {url.redacted()}: {e}", file=sys.stderr)
            return 2
        bad = [r for r in reports if r.finding is not None]
        for report in reports:
            if report.finding is not None:
                print(f"FAIL {report.finding}")
            elif args.verbose_chains:
                print(f"ok   {report.chain} {report.label}: {report.chained} chained,"
                      f" {report.standalone} standalone, {report.unsigned} unsigned rows")
        unsigned = sum(r.unsigned for r in reports)
        print(f"{len(reports)} chains, {sum(r.rows for r in reports)} rows, {len(bad)} with a"
              f" problem" + (f"; {unsigned} rows unsigned (stored before signing began)"
                             if unsigned else "") + f" in {url.redacted()}")
        return 1 if bad else 0

    return runToStatus(main, default=2)


def addArguments(p):
    p.add_argument("url", metavar="URL",
                   help="sqlite:///path.db or mysql://user:pass@host:port/db")
    p.add_argument("--key", required=True, metavar="FILE",
                   help="the SIGNKEY file the stores sign with")
    p.add_argument("--chains", dest="verbose_chains", action="store_true",
                   help="print every chain, not only those with a problem")
    p.set_defaults(run=run)
