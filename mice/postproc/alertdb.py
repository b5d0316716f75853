# -*- test-case-name: tests.integration.test_agent -*-
"""
The alert database (reaction 2 of the seed's ManagementHost, reduced to its
store): every IDMEF document received becomes a row of C{alert_entry}, in
SQLite or MySQL/MariaDB, idempotent on the sender, its stream and the
document's sequence number there.  C{mice-allinone} uses it as the end of
the analysis chain until the ManagementHost (match file, reactions,
console) is built; a BufferDaemon loads it as C{mice_mod_pop_alertdb}
(L{build}), a ManagementHost that only stores.
"""

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.db import schema
from mice.interfaces import IPostProcessor


def _first(nodes, attribute):
    for node in nodes:
        value = getattr(node, attribute)
        if value is not None:
            return str(value)
    return None


def alertRow(received):
    """
    The C{alert_entry} row of one L{mice.decoders.idmef.ReceivedAlert} (its
    first alert, which is all an M-ICE agent puts in a document).
    """
    alert = received.alerts[0]
    when = alert.detectTime or alert.createTime
    date, time = (when[:10], when[11:19]) if len(when) >= 19 else (None, None)
    return (received.source, received.stream, received.seq,
            None if alert.alertId is None else f"0x{alert.alertId:04x}",
            alert.classification, alert.classification, date, time, alert.analyzerId,
            _first(alert.sources, "address"), _first(alert.sources, "user"),
            _first(alert.sources, "process"), _first(alert.sources, "service"),
            _first(alert.targets, "address"), _first(alert.targets, "user"),
            _first(alert.targets, "process"), _first(alert.targets, "service"),
            received.xml, "")


def storeAlerts(txn, dialect, records):
    return schema.insertRows(txn, dialect, "alert_entry",
                             [alertRow(r) for r in records if r.alerts])


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

    def stop(self):
        self.pool.close()


def buildStore(store, configPath, reactor):
    """
    A C{store} (L{AlertStore} or a subclass) from its config, which is the
    database's, as for C{mice_mod_pop_mysql}: C{[MYSQL_SERVER]} with C{URL}
    (C{sqlite:///alerts.db}, relative to the config) or C{HOSTNAME}, C{USER},
    C{PASSWORD}, C{DBNAME}, and C{MAXERR}, C{BATCHSIZE}.
    """
    from mice.config import loadPopMysql, parseDatabaseUrl
    from mice.db.pools import connectionPool

    # Strict: a store whose directory does not exist is an error (file:line).
    settings = loadPopMysql(configPath, strict=True)
    url = parseDatabaseUrl(settings.databaseUrl())
    pool, dialect = connectionPool(url, reactor)
    where = url.path if url.scheme == "sqlite" else f"mysql://{url.host}:{url.port}/{url.database}"
    return store(pool, dialect, description=where, maxErrors=settings.maxErr,
                 batchSize=settings.batchSize)


def build(configPath, reactor):
    """
    The C{mice_mod_pop_alertdb} module (see L{mice.registry} and
    L{buildStore}).
    """
    return buildStore(AlertStore, configPath, reactor)
