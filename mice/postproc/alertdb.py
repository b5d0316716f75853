# -*- test-case-name: tests.integration.test_agent -*-
"""
The alert database alone, C{mice_mod_pop_alertdb}: a BufferDaemon that
stores every alert of every IDMEF document it receives as a row of
C{alert_entry} (SQLite or MySQL/MariaDB), idempotent on each alert's key,
with no match file and no reactions (C{alertdesc} is the classification).
The ManagementHost proper is C{mice_mod_pop_act_generic}
(L{mice.postproc.actgeneric}), whose reaction 2
(L{mice.reactors.alertdb}) fills the same table; this module stays for a
host that only keeps alerts.
"""

from datetime import UTC, datetime

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.alerts import RoutedAlert, alertKey
from mice.db import schema
from mice.interfaces import IPostProcessor
from mice.reactors.alertdb import alertEntryRow


def alertRows(received, receivedAt=""):
    """
    The C{alert_entry} rows of one L{mice.decoders.idmef.ReceivedAlert}:
    one per alert of its document.
    """
    source, stream, seq = received.source, received.stream, received.seq
    return [alertEntryRow(RoutedAlert(
        alertKey(source, stream, seq, index), alert, received.document(index),
        alert.classification, source, receivedAt, stream=stream, seq=seq, index=index))
        for index, alert in enumerate(received.alerts)]


def storeAlerts(txn, dialect, records):
    now = datetime.now(UTC).isoformat()
    return schema.insertRows(txn, dialect, "alert_entry",
                             [row for r in records for row in alertRows(r, now)])


@implementer(IPostProcessor)
class AlertStore:
    name = "alert database"
    store = staticmethod(storeAlerts)
    """The transaction function that stores a flush's records."""
    log = Logger()
    maxErrors = 10
    batchSize = 1000

    def __init__(self, pool, dialect, description="", maxErrors=10, batchSize=1000):
        self.pool = pool
        self.dialect = dialect
        self.description = description
        self.maxErrors = maxErrors
        self.batchSize = batchSize
        self._schemaReady = False

    @property
    def concurrency(self):
        return 1

    def start(self):
        if self._schemaReady:
            return succeed(None)

        def ready(_):
            self._schemaReady = True

        return self.pool.runInteraction(schema.createSchema, self.dialect,
                                        schema.ALERT_TABLES).addCallback(ready)

    def process(self, records):
        records = list(records)
        return self.start().addCallback(
            lambda _: self.pool.runInteraction(self.store, self.dialect, records))

    release = None
    """How to let go of a shared pool (else the pool is closed)."""

    def stop(self):
        if self.release is not None:
            self.release()
        else:
            self.pool.close()


def buildStore(store, configPath, reactor):
    """
    A C{store} (L{AlertStore} or a subclass) from its config, which is the
    database's, as for C{mice_mod_pop_mysql}: C{[MYSQL_SERVER]} with C{URL}
    (C{sqlite:///alerts.db}, relative to the config) or C{HOSTNAME}, C{USER},
    C{PASSWORD}, C{DBNAME}, and C{MAXERR}, C{BATCHSIZE}.
    """
    from mice.config import loadPopMysql, parseDatabaseUrl
    from mice.db.pools import sharedConnectionPool

    settings = loadPopMysql(configPath)
    url = parseDatabaseUrl(settings.databaseUrl())
    # Shared with the other modules of this process on the same database
    # (the ManagementHost's journal and alert database on one SQLite file).
    pool, dialect, release = sharedConnectionPool(url, reactor)
    where = url.path if url.scheme == "sqlite" else f"mysql://{url.host}:{url.port}/{url.database}"
    built = store(pool, dialect, description=where, maxErrors=settings.maxErr,
                  batchSize=settings.batchSize)
    built.release = release
    return built


def build(configPath, reactor):
    """
    The C{mice_mod_pop_alertdb} module (see L{mice.registry} and
    L{buildStore}).
    """
    return buildStore(AlertStore, configPath, reactor)
