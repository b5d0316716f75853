# -*- test-case-name: tests.integration.test_endtoend,tests.integration.test_faults -*-
"""
C{mice_mod_pop_mysql}: the raw-log database.

Each record is classified (L{mice.db.classify}) into C{rawlog_line},
C{firewall_line} or C{scslog_line} and inserted in batches, in one
transaction per flush, into MySQL/MariaDB or SQLite.  Inserts ignore rows
whose C{(source, stream, seq)} is already there, so a batch sent twice is
stored once.
"""

from twisted.logger import Logger

from mice.db import schema
from mice.db.classify import classify, classifyBatch
from mice.db.store import TableStore, storeFromConfig
from mice.decoders.logformat import LogBatch

log = Logger()


def storeRecords(txn, dialect, records, signer=None, newRows=None):
    """
    Classify C{records} and insert them; run in a database thread.

    @param records: L{mice.record.LogRecord}s: a list, or the daemon's
        L{mice.services.bufferdaemon.Records}, whose chunks made by the
        C{log} decoder (L{mice.decoders.logformat.LogBatch}) are classified a batch at
        a time, without a record object per line.
    @param signer: a L{mice.db.signature.Signer} when the store signs
        (SIGNKEY): every row's C{signature} is set in this transaction.
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
        if signer is not None:
            rowsByTable = signer.signRows(txn, dialect, rowsByTable)
        counts.append(schema.insertClassified(txn, dialect, rowsByTable))
    if groupsByTable:
        connection = getattr(txn, "connection", None)
        refused = getattr(connection, "localDataRefused", False)
        if signer is not None:
            groupsByTable = signer.signGroups(txn, dialect, groupsByTable)
        counts.append(schema.insertBatches(txn, dialect, groupsByTable))
        if not refused and getattr(connection, "localDataRefused", False):
            log.warn("the database refuses LOAD DATA LOCAL (is its local_infile off?):"
                     " storing with INSERT statements on this connection, which is slower")
    if newRows is not None:
        for found in counts:
            for table, n in found.items():
                newRows[table] = newRows.get(table, 0) + n
    return len(records)


class RawLogStore(TableStore):
    name = "mice_mod_pop_mysql"
    tables = schema.RAWLOG_TABLES
    store = staticmethod(storeRecords)
    readyMessage = "raw-log database ready: {db}"
    batchSize = 5000
    signs = True
    _rowCounters = None

    def attachMetrics(self, metrics):
        """
        Count the new rows of each table into C{metrics} (C{rows_stored}).
        """
        self._rowCounters = {table: metrics.counter("rows_stored", table=table)
                             for table in schema.RAWLOG_TABLES}

    def _run(self, records, signing=None):
        if self._rowCounters is None:
            return super()._run(records, signing)
        newRows = {}

        def count(result):
            for table, n in newRows.items():
                counter = self._rowCounters.get(table)
                if counter is not None and n:
                    counter.inc(n)
            return result

        return super()._run(records, signing, newRows=newRows).addCallback(count)

    @property
    def concurrency(self):
        """
        How many flushes may run at once: one per pooled connection (SQLite
        has a single writer; a MySQL store prepares one batch while the
        server executes another).  A signing store signs them in ring order
        all the same, and commits each after the one before
        (L{mice.db.signature.Signer}).
        """
        return self.pool.max


def build(configPath, reactor):
    """
    The C{mice_mod_pop_mysql} module from its config (see L{mice.registry}
    and L{mice.db.store.storeFromConfig}).
    """
    return storeFromConfig(RawLogStore, configPath, reactor)
