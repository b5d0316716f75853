# -*- test-case-name: tests.integration.test_endtoend,tests.integration.test_agent,tests.integration.test_aarules -*-
"""
The one table store that the raw-log, alert and event databases are built
from: an L{IPostProcessor} that makes a flush's records durable in one
transaction through an C{adbapi} pool, creating its tables first.

A store is its tables (L{TableStore.tables}) and its transaction function
(L{TableStore.store}: C{store(txn, dialect, records)}, or
C{store(txn, dialect, records, signer=...)} for a store that signs, see
L{TableStore.signs}); the rest (the tables checked and the missing ones
made once, the pool's life, the module's config) is here.

Least privilege: at start a store lists the tables that exist and creates
only the missing ones, so against existing tables it needs no CREATE
privilege.  A missing table it cannot create, or a table of an older schema,
stops start-up with one line (L{mice.db.schema.StoreUnusable}).
"""

import threading

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.db import schema
from mice.interfaces import IPostProcessor


class Turns:
    """
    Makes the transactions of a store that runs several at once take their
    turns at the stages of signing (L{mice.db.signature.Signing}): a ticket
    per flush, in the order they came; L{wait} blocks a database thread
    until every earlier ticket is L{done} with the stage.
    """

    #: Seconds a transaction waits for its turn before it fails (the one
    #: before it is stuck: its transaction fails or ends first, always).
    timeout = 120.0

    def __init__(self):
        self._condition = threading.Condition()
        self._reached = {}
        self._done = {}

    def locked(self):
        return self._condition

    def wait(self, stage, ticket):
        with self._condition:
            if not self._condition.wait_for(lambda: self._reached.get(stage, 0) >= ticket,
                                            self.timeout):
                raise RuntimeError(f"waited {self.timeout:g} s for the flush before this one"
                                   f" to {stage}")

    def done(self, stage, ticket):
        with self._condition:
            reached = self._reached.get(stage, 0)
            if ticket < reached:
                return
            done = self._done.setdefault(stage, set())
            done.add(ticket)
            while reached in done:
                done.discard(reached)
                reached += 1
            self._reached[stage] = reached
            self._condition.notify_all()


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

    #: Whether L{store} takes a C{signer} (a L{mice.db.signature.Signer})
    #: and signs the rows it stores.
    signs = False

    def __init__(self, pool, dialect, description="", maxErrors=10, batchSize=None,
                 signKey=None):
        self.pool = pool
        self.dialect = dialect
        self.description = description
        self.maxErrors = maxErrors
        if batchSize is not None:
            self.batchSize = batchSize
        self.signer = None
        if signKey is not None:
            if not self.signs:
                raise ValueError(f"{self.name} cannot sign its rows (SIGNKEY)")
            from mice.db.signature import Signer

            self.signer = Signer(signKey)
        self._turns = Turns()
        self._schemaReady = False

    @property
    def neededTables(self):
        """
        The tables this store needs: its L{tables}, and
        L{schema.SIGNATURE_HEAD} when it signs.
        """
        if self.signer is None:
            return tuple(self.tables)
        return tuple(self.tables) + (schema.SIGNATURE_HEAD,)

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

        def ready(created):
            self._schemaReady = True
            if created:
                self.log.info("{store}: created {tables} in {db}", store=self.name,
                              tables=", ".join(created), db=self.description)
            if self.readyMessage:
                self.log.info(self.readyMessage, db=self.description)

        return self.pool.runInteraction(schema.prepareTables, self.dialect,
                                        self.neededTables, self.description).addCallback(ready)

    def start(self):
        d = self._ensureSchema()
        return succeed(None) if d is None else d

    def _run(self, records, signing=None, **kwargs):
        if signing is None:
            return self.pool.runInteraction(self.store, self.dialect, records, **kwargs)
        store = self.store

        def signed(txn, dialect, records, **kwargs):
            result = store(txn, dialect, records, signer=signing, **kwargs)
            signing.finish(txn, dialect)
            return result

        d = self.pool.runInteraction(signed, self.dialect, records, **kwargs)
        return d.addCallbacks(signing.committed, signing.failed)

    def process(self, records):
        # Flushes are signed in the order they come (the ring's), whatever
        # the order their transactions start in.
        signing = None if self.signer is None else self.signer.begin(self._turns)
        d = self._ensureSchema()
        if d is None:
            return self._run(records, signing)
        d.addCallback(lambda _: self._run(records, signing))
        if signing is not None:
            d.addErrback(signing.failed)
        return d

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
    signKey = None
    if settings.signKey:
        from mice.db.signature import readSignKey

        signKey = readSignKey(settings.signKey)
    built = store(pool, dialect, description=where, maxErrors=settings.maxErr,
                  batchSize=settings.batchSize, signKey=signKey)
    built.release = release
    return built
