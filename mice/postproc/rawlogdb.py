# -*- test-case-name: tests.test_rawlogdb -*-
"""
C{mice_mod_pop_mysql}: the raw-log database.

Each record is classified (L{mice.db.classify}) into C{rawlog_line},
C{firewall_line} or C{scslog_line} and inserted in batches, in one
transaction per flush, into MySQL/MariaDB or SQLite.  Inserts ignore rows
whose C{(source, stream, seq)} is already there, so a batch sent twice is
stored once.
"""

from twisted.logger import Logger
from zope.interface import implementer

from mice.db import schema
from mice.db.classify import classify, classifyBatch
from mice.decoders.logformat import LogBatch
from mice.interfaces import IPostProcessor

log = Logger()


def storeRecords(txn, dialect, records, newRows=None):
    """
    Classify C{records} and insert them; run in a database thread.

    @param records: L{mice.record.LogRecord}s: a list, or the daemon's
        L{mice.services.bufferdaemon.Records}, whose chunks made by the
        C{log} decoder (L{mice.decoders.logformat.LogBatch}) are classified a batch at
        a time, without a record object per line.
    @param newRows: a dict to add the number of new rows per table to (a
        row stored before is not new).
    @return: how many records were given.
    """
    counts = []
    groupsByTable = {}
    single = []
    for chunk in getattr(records, "chunks", (records,)):
        if type(chunk) is LogBatch:
            key, rowsByTable = classifyBatch(chunk.source, chunk.stream, chunk.seq, chunk.host,
                                             chunk.recs, chunk.seqs)
            for table, rows in rowsByTable.items():
                groupsByTable.setdefault(table, []).append((key, rows))
        else:
            single.extend(chunk)
    if single:
        rowsByTable = {}
        for record in single:
            table, row = classify(record)
            rows = rowsByTable.get(table)
            if rows is None:
                rows = rowsByTable[table] = []
            rows.append(row)
        counts.append(schema.insertClassified(txn, dialect, rowsByTable))
    if groupsByTable:
        connection = getattr(txn, "connection", None)
        refused = getattr(connection, "localDataRefused", False)
        counts.append(schema.insertBatches(txn, dialect, groupsByTable))
        if not refused and getattr(connection, "localDataRefused", False):
            log.warn("the database refuses LOAD DATA LOCAL (is its local_infile off?):"
                     " storing with INSERT statements on this connection, which is slower")
    if newRows is not None:
        for found in counts:
            for table, n in found.items():
                newRows[table] = newRows.get(table, 0) + n
    return len(records)


@implementer(IPostProcessor)
class RawLogStore:
    name = "mice_mod_pop_mysql"
    log = Logger()

    def __init__(self, pool, dialect, maxErrors=10, batchSize=5000, description=""):
        self.pool = pool
        self.dialect = dialect
        self.maxErrors = maxErrors
        self.batchSize = batchSize
        self.description = description
        self._schemaReady = False
        self._rowCounters = None

    def attachMetrics(self, metrics):
        """
        Count the new rows of each table into C{metrics} (C{rows_stored}).
        """
        self._rowCounters = {table: metrics.counter("rows_stored", table=table)
                             for table in schema.RAWLOG_TABLES}

    def _store(self, records):
        if self._rowCounters is None:
            return self.pool.runInteraction(storeRecords, self.dialect, records)
        newRows = {}

        def count(result):
            for table, n in newRows.items():
                counter = self._rowCounters.get(table)
                if counter is not None and n:
                    counter.inc(n)
            return result

        return self.pool.runInteraction(storeRecords, self.dialect, records,
                                        newRows).addCallback(count)

    @property
    def concurrency(self):
        """
        How many flushes may run at once: one per pooled connection (SQLite
        has a single writer; a MySQL store prepares one batch while the
        server executes another).
        """
        return self.pool.max

    def _ensureSchema(self):
        if self._schemaReady:
            return None
        d = self.pool.runInteraction(schema.createSchema, self.dialect, schema.RAWLOG_TABLES)

        def ready(_):
            self._schemaReady = True
            self.log.info("raw-log database ready: {db}", db=self.description)

        return d.addCallback(ready)

    def start(self):
        return self._ensureSchema()

    def process(self, records):
        d = self._ensureSchema()
        if d is None:
            return self._store(records)
        return d.addCallback(lambda _: self._store(records))

    def stop(self):
        self.pool.close()


def build(configPath, reactor):
    """
    The C{mice_mod_pop_mysql} module from its config (see L{mice.registry}).
    """
    from mice.config import loadPopMysql, parseDatabaseUrl
    from mice.db.pools import connectionPool

    settings = loadPopMysql(configPath)
    url = parseDatabaseUrl(settings.databaseUrl())
    pool, dialect = connectionPool(url, reactor)
    where = url.path if url.scheme == "sqlite" else f"mysql://{url.host}:{url.port}/{url.database}"
    return RawLogStore(pool, dialect, maxErrors=settings.maxErr,
                       batchSize=settings.batchSize, description=where)
