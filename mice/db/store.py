# -*- test-case-name: tests.integration.test_endtoend,tests.integration.test_agent,tests.integration.test_aarules -*-
"""
The one table store that the raw-log, alert and event databases are built
from: an L{IPostProcessor} that makes a flush's records durable in one
transaction through an C{adbapi} pool, creating its tables first.

A store is its tables (L{TableStore.tables}) and its transaction function
(L{TableStore.store}: C{store(txn, dialect, records)}); the rest (the
schema made once, the pool's life, the module's config) is here.
"""

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.db import schema
from mice.interfaces import IPostProcessor


@implementer(IPostProcessor)
class TableStore:
    """
    A database post-processor: L{store} run in a database thread for each
    flush, after the schema's L{tables} exist.

    @ivar description: where the rows go (a path or a MySQL URL without its
        password), for logs.
    @ivar batchSize: records per flush at the most; the class's unless
        given.
    """

    name = "table store"
    #: The tables to create (L{mice.db.schema.ALERT_TABLES}, ...).
    tables = ()
    #: What the log says once the tables exist.
    readyMessage = None
    log = Logger()
    maxErrors = 10
    batchSize = 1000

    def __init__(self, pool, dialect, description="", maxErrors=10, batchSize=None):
        self.pool = pool
        self.dialect = dialect
        self.description = description
        self.maxErrors = maxErrors
        if batchSize is not None:
            self.batchSize = batchSize
        self._schemaReady = False

    @staticmethod
    def store(txn, dialect, records):
        """
        Store a flush's C{records}: a transaction function.
        """
        raise NotImplementedError()

    @property
    def concurrency(self):
        return 1

    def _ensureSchema(self):
        """
        C{None} once the tables exist (no Deferred per flush), else the
        Deferred of making them.
        """
        if self._schemaReady:
            return None

        def ready(_):
            self._schemaReady = True
            if self.readyMessage:
                self.log.info(self.readyMessage, db=self.description)

        return self.pool.runInteraction(schema.createSchema, self.dialect,
                                        self.tables).addCallback(ready)

    def start(self):
        d = self._ensureSchema()
        return succeed(None) if d is None else d

    def process(self, records):
        d = self._ensureSchema()
        if d is None:
            return self.pool.runInteraction(self.store, self.dialect, records)
        return d.addCallback(
            lambda _: self.pool.runInteraction(self.store, self.dialect, records))

    release = None
    """How to let go of a shared pool (else the pool is closed)."""

    def stop(self):
        if self.release is not None:
            self.release()
        else:
            self.pool.close()


def storeFromConfig(store, configPath, reactor, shared=False, **kwargs):
    """
    A C{store} (a L{TableStore} subclass) from its database config, as
    C{mice_mod_pop_mysql}'s: C{[MYSQL_SERVER]} with C{URL}
    (C{sqlite:///rawlog.db}, relative to the config) or C{HOSTNAME},
    C{USER}, C{PASSWORD}, C{DBNAME}, and C{MAXERR}, C{BATCHSIZE}.

    @param shared: use the pool of this process shared by everything on the
        same database (L{mice.db.pools.sharedConnectionPool}: the
        ManagementHost's journal and its alert database on one SQLite file
        must share its one writer).
    """
    from mice.config import loadPopMysql, parseDatabaseUrl
    from mice.db.pools import connectionPool, sharedConnectionPool

    # Strict: a store whose directory does not exist is an error (file:line).
    settings = loadPopMysql(configPath, strict=True)
    url = parseDatabaseUrl(settings.databaseUrl())
    release = None
    if shared:
        pool, dialect, release = sharedConnectionPool(url, reactor, **kwargs)
    else:
        pool, dialect = connectionPool(url, reactor, **kwargs)
    where = url.path if url.scheme == "sqlite" else f"mysql://{url.host}:{url.port}/{url.database}"
    built = store(pool, dialect, description=where, maxErrors=settings.maxErr,
                  batchSize=settings.batchSize)
    built.release = release
    return built
