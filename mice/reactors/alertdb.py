# -*- test-case-name: tests.integration.test_management -*-
"""
Reaction 2 of the seed, C{rid_2_send_to_alert_db}: every alert it is given
becomes a row of C{alert_entry} (seed 7.3.2) in SQLite or MariaDB/MySQL,
with the seed's 16 columns filled as the seed's reaction agent filled
them:

  - C{alertid}: the M-ICE alert ID (C{0x1020}), C{NULL} for an alert that
    carries none (Prelude's, Snort's);
  - C{alertdesc}: the match file's description of the alert ID, else the
    IDMEF classification text (L{mice.management.routing});
  - C{classification}: the IDMEF Classification text;
  - C{date}, C{time}: the alert's DetectTime, else its CreateTime, as the
    analyzer wrote it (its own zone);
  - C{analyzerid}; C{source_*}, C{target_*}: the address, user, process
    and service of the first Source and Target that has each;
  - C{idmefmsg}: the IDMEF document of the alert alone; C{signature}:
    empty, or with C{SIGNKEY} in its config a link of the analyzer's HMAC
    chain (L{mice.db.signature}), which C{mice verify} walks.

and what we add: the row id, the provenance (origin, stream, seq, idx),
the alert's key (C{alertkey}, unique: an alert given again after a crash
is not stored twice) and C{dtd_problems} (the DTD check's findings, or
C{NULL}).

Its config, C{rid_2_send_to_alert_db.conf} beside act_generic's, is a
database config as C{mice_mod_pop_mysql}'s (C{[MYSQL_SERVER]} with C{URL},
or C{HOSTNAME}, C{USER}, C{PASSWORD}, C{DBNAME}); without one the alerts go
to the reaction journal's database.
"""

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.db import schema
from mice.db.pools import PooledStore
from mice.interfaces import IReaction

PIPE = "rid_2_send_to_alert_db"


def _first(nodes, attribute):
    for node in nodes:
        value = getattr(node, attribute)
        if value is not None:
            return str(value)
    return None


def alertEntryRow(routed):
    """
    The C{alert_entry} row (L{mice.db.schema.COLUMNS} order) of a
    L{mice.alerts.RoutedAlert}.
    """
    alert = routed.alert
    when = alert.detectTime or alert.createTime
    date, time = (when[:10], when[11:19]) if len(when) >= 19 else (None, None)
    sources, targets = alert.sources, alert.targets
    return (routed.receivedFrom, routed.stream, routed.seq, routed.index, routed.key,
            None if alert.alertId is None else f"0x{alert.alertId:04x}",
            routed.description, alert.classification, date, time, alert.analyzerId,
            _first(sources, "address"), _first(sources, "user"),
            _first(sources, "process"), _first(sources, "service"),
            _first(targets, "address"), _first(targets, "user"),
            _first(targets, "process"), _first(targets, "service"),
            routed.document, "", routed.problems)


def storeAlertEntries(txn, dialect, rows, signer=None):
    """
    Insert C{alert_entry} rows, skipping stored keys.  A transaction function.

    @param signer: a L{mice.db.signature.Signer} to sign the rows with
        (C{SIGNKEY}), or C{None}.  It reads each chain's head in this
        transaction, locked until it ends: the journal's flushes that store
        alerts may run two at a time.
    """
    if signer is not None and rows:
        rows = signer.signRows(txn, dialect, {"alert_entry": rows})["alert_entry"]
    return schema.insertRows(txn, dialect, "alert_entry", rows)


def checkAlertEntry(txn, dialect, where=""):
    """
    Create C{alert_entry} if it is missing, and refuse one of an older
    schema: one without C{alertkey} would refuse every row, and on
    MySQL/MariaDB one without the console's indexed search columns
    (L{mice.db.schema.SEARCH_COLUMNS}) would make its searches read every
    alert.  A transaction function.

    @raise mice.db.schema.LegacyTable: an older table; its text is one
        line saying to run C{mice initdb --upgrade}.
    """
    table, *indexes = schema.createStatements(dialect, ("alert_entry",))
    txn.execute(table)
    missing = schema.missingColumns(txn, dialect, "alert_entry")
    if missing:
        at = f" in {where}" if where else ""
        raise schema.LegacyTable(
            f"table alert_entry{at} was made by an earlier M-ICE (it lacks"
            f" {', '.join(missing)}): run `mice initdb --upgrade URL` to bring it to"
            " today's schema, keeping its rows")
    for statement in indexes:
        txn.execute(statement)


@implementer(IReaction)
class AlertDatabaseReaction(PooledStore):
    """
    Reaction 2.  L{reactBatch} stores many alerts in one transaction: the
    reaction queue uses it (L{batchLimit} at a time), as it may for any
    agent that has it.  L{start} makes sure C{alert_entry} is there.
    """

    pipe = PIPE
    log = Logger()
    batchLimit = 1000

    def __init__(self, pool, dialect, description="", release=None, pipe=PIPE, signKey=None):
        super().__init__(pool, dialect, description, release)
        self.pipe = pipe
        self.signer = None
        if signKey is not None:
            from mice.db.signature import Signer

            self.signer = Signer(signKey)

    def prepare(self, txn):
        checkAlertEntry(txn, self.dialect, self.description)
        if self.signer is not None:
            schema.prepareTables(txn, self.dialect, (schema.SIGNATURE_HEAD,), self.description)

    def react(self, routed):
        return self.reactBatch([routed]).addCallback(lambda outcomes: outcomes[0])

    def reactBatch(self, routedAlerts):
        """
        Store every alert of C{routedAlerts} in one transaction.

        @return: a Deferred firing with one outcome text per alert, or
            failing (all of them are tried again).
        """
        rows = [alertEntryRow(routed) for routed in routedAlerts]
        where = self.description

        def stored(new):
            text = f"stored in alert_entry ({where})"
            if new == len(rows):
                return [text] * len(rows)
            # Some were stored before a crash: say so for all of the batch
            # (which were is not worth a query).
            return [f"{text}; {len(rows) - new} of {len(rows)} were there already"] * len(rows)

        def store(_):
            return self.pool.runInteraction(storeAlertEntries, self.dialect, rows, self.signer)

        return self.start().addCallback(store).addCallback(stored)

    rowFor = staticmethod(alertEntryRow)
    """The C{alert_entry} row of a L{mice.alerts.RoutedAlert}."""

    def storeRows(self, txn, rows):
        """
        Insert C{alert_entry} rows in the transaction C{txn} of this
        agent's pool: how the ManagementHost does this reaction within its
        journal's transaction when both share a database (exactly once).
        """
        return storeAlertEntries(txn, self.dialect, rows, self.signer)

    def stop(self):
        self.close()
        return succeed(None)


def build(pipe, configPath, reactor, pipePath, database=None):
    """
    Reaction 2 from its config (a C{[MYSQL_SERVER]} database config, whose
    C{SIGNKEY} makes it sign its rows), or, without one, on C{database}
    (the reaction journal's database URL, which the ManagementHost passes).
    """
    from mice.config import loadPopMysql, parseDatabaseUrl
    from mice.db.pools import sharedConnectionPool

    signKey = None
    if configPath is not None:
        settings = loadPopMysql(configPath)
        database = settings.databaseUrl()
        if settings.signKey:
            from mice.db.signature import readSignKey

            signKey = readSignKey(settings.signKey)
    if database is None:
        from mice.config.settings import DEFAULT_JOURNAL_URL

        database = DEFAULT_JOURNAL_URL
    url = parseDatabaseUrl(database)
    pool, dialect, release = sharedConnectionPool(url, reactor)
    return AlertDatabaseReaction(pool, dialect, description=url.redacted(), release=release,
                                 pipe=pipe, signKey=signKey)
