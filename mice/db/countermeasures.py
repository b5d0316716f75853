# -*- test-case-name: tests.unit.db.test_countermeasures -*-
"""
The ReactionDaemon's durable state: its countermeasures (active, being
lifted, and lifted ones as history) and the answer given to each reaction
id (so a resent request gets the same answer and runs nothing).  One SQLite
file on the client, written before a request is answered.

The SQL is in plain transaction functions; L{CountermeasureStore} runs them
through anything with C{runInteraction} (an C{adbapi.ConnectionPool} from
L{mice.db.pools.connectionPool}, or L{SynchronousPool} where no thread is
wanted: tests and tools).
"""

import json
import sqlite3

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from mice.reactors.decisions import ACTIVE, LIFTED, LIFTING, Countermeasure

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS countermeasure (
        id TEXT PRIMARY KEY,
        fid INTEGER NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        since REAL NOT NULL,
        until REAL,
        asked_by TEXT NOT NULL,
        last_by TEXT,
        lifted_at REAL,
        lifted_by TEXT,
        lift_reason TEXT)""",
    # One active (or being lifted) countermeasure per FID and parameters.
    f"""CREATE UNIQUE INDEX IF NOT EXISTS countermeasure_current
        ON countermeasure (fid, params) WHERE state IN ('{ACTIVE}', '{LIFTING}')""",
    "CREATE INDEX IF NOT EXISTS countermeasure_lifted ON countermeasure (lifted_at)",
    """CREATE TABLE IF NOT EXISTS reaction_answer (
        id TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        answer TEXT NOT NULL,
        at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS reaction_answer_at ON reaction_answer (at)",
)

_COLUMNS = ("id, fid, params, state, since, until, asked_by, last_by, lifted_at, lifted_by,"
            " lift_reason")


def createSchema(txn):
    for statement in SCHEMA:
        txn.execute(statement)


def _row(countermeasure):
    c = countermeasure
    return (c.id, c.fid, json.dumps(c.params, sort_keys=True, separators=(",", ":")), c.state,
            c.since, c.until, c.askedBy, c.lastBy, c.liftedAt, c.liftedBy, c.liftReason)


def _countermeasure(row):
    (cid, fid, params, state, since, until, askedBy, lastBy, liftedAt, liftedBy,
     liftReason) = row
    return Countermeasure(cid, fid, json.loads(params), since, until, askedBy, state, lastBy,
                          liftedAt, liftedBy, liftReason)


def current(txn):
    """
    @return: every countermeasure that is active or being lifted.
    """
    txn.execute(f"SELECT {_COLUMNS} FROM countermeasure WHERE state IN (?, ?)"
                " ORDER BY since, id", (ACTIVE, LIFTING))
    return [_countermeasure(row) for row in txn.fetchall()]


def find(txn, countermeasureId):
    txn.execute(f"SELECT {_COLUMNS} FROM countermeasure WHERE id = ?", (countermeasureId,))
    row = txn.fetchone()
    return None if row is None else _countermeasure(row)


def save(txn, countermeasures=(), deleted=(), answer=None, created=()):
    """
    Write changes to C{countermeasures} (the same id: state, end, who),
    insert the new C{created} ones (a lifted one of the same id, from long
    ago, is replaced), delete the ids C{deleted}, and record C{answer},
    C{(requestId, digest, answer text, at)}, all in one transaction.
    """
    for countermeasure in countermeasures:
        txn.execute("UPDATE countermeasure SET state = ?, until = ?, last_by = ?,"
                    " lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE id = ?",
                    (countermeasure.state, countermeasure.until, countermeasure.lastBy,
                     countermeasure.liftedAt, countermeasure.liftedBy,
                     countermeasure.liftReason, countermeasure.id))
        if txn.rowcount != 1:
            raise LookupError(f"countermeasure {countermeasure.id} is not in the store")
    for countermeasure in created:
        txn.execute("DELETE FROM countermeasure WHERE id = ? AND state = ?",
                    (countermeasure.id, LIFTED))
        # A second current row for the same FID and parameters fails on the
        # unique index.
        txn.execute(f"INSERT INTO countermeasure ({_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(countermeasure))
    for countermeasureId in deleted:
        txn.execute("DELETE FROM countermeasure WHERE id = ?", (countermeasureId,))
    if answer is not None:
        txn.execute("INSERT OR REPLACE INTO reaction_answer (id, digest, answer, at)"
                    " VALUES (?, ?, ?, ?)", answer)


def answerFor(txn, requestId):
    """
    @return: C{(digest, answer text)} recorded for C{requestId}, or C{None}.
    """
    txn.execute("SELECT digest, answer FROM reaction_answer WHERE id = ?", (requestId,))
    row = txn.fetchone()
    return None if row is None else (row[0], row[1])


def prune(txn, answersBefore, liftedBefore):
    """
    Forget answers older than C{answersBefore} and lifted countermeasures
    older than C{liftedBefore}.
    """
    txn.execute("DELETE FROM reaction_answer WHERE at < ?", (answersBefore,))
    txn.execute("DELETE FROM countermeasure WHERE state = ? AND lifted_at < ?",
                (LIFTED, liftedBefore))


def _begin(txn):
    connection = getattr(txn, "connection", None)
    if connection is not None and not connection.in_transaction:
        txn.execute("BEGIN IMMEDIATE")


def saveMany(txn, items):
    """
    Several L{save}s in one transaction (a group commit), each in its own
    savepoint: one that fails is undone alone.

    @return: C{(ok, None or the exception)} per item.
    """
    _begin(txn)
    results = []
    for item in items:
        txn.execute("SAVEPOINT item")
        try:
            save(txn, *item)
        except Exception as e:
            txn.execute("ROLLBACK TO item")
            txn.execute("RELEASE item")
            results.append((False, e))
        else:
            txn.execute("RELEASE item")
            results.append((True, None))
    return results


def answersFor(txn, requestIds):
    """
    L{answerFor} of several ids at once.

    @return: C{(True, answer or None)} per id.
    """
    found = {}
    unique = list(dict.fromkeys(requestIds))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        txn.execute("SELECT id, digest, answer FROM reaction_answer WHERE id IN"
                    f" ({', '.join('?' * len(chunk))})", chunk)
        found.update((row[0], (row[1], row[2])) for row in txn.fetchall())
    return [(True, found.get(requestId)) for requestId in requestIds]


class _Batches:
    """
    Runs what callers submit in batches: everything submitted while a batch
    runs goes in the next one, in one transaction.  Each caller's Deferred
    fires with its own result once its batch is committed.
    """

    def __init__(self, pool, function):
        self.pool = pool
        self.function = function
        self._pending = []
        self._running = False

    def submit(self, item):
        d = Deferred()
        self._pending.append((item, d))
        if not self._running:
            self._flush()
        return d

    def _flush(self):
        batch, self._pending = self._pending, []
        self._running = True

        def done(results):
            for (_, waiter), (ok, value) in zip(batch, results):
                if ok:
                    waiter.callback(value)
                else:
                    waiter.errback(Failure(value))

        def failed(failure):
            for _, waiter in batch:
                waiter.errback(failure)

        def next(_):
            self._running = False
            if self._pending:
                self._flush()

        self.pool.runInteraction(self.function, [item for item, _ in batch]).addCallbacks(
            done, failed).addBoth(next)


class CountermeasureStore:
    """
    The ReactionDaemon's store, over a pool's C{runInteraction}.  Writes and
    answer lookups that arrive while others run are grouped: many requests
    at once cost one commit (one fsync), not one each.
    """

    #: How long the answer to a reaction id is kept (a ManagementHost that
    #: retries later than this gets a new answer, which is still safe: an
    #: apply that is active only extends).
    ANSWER_DAYS = 30
    #: How long lifted countermeasures stay as history.
    HISTORY_DAYS = 90

    def __init__(self, pool, description=""):
        self.pool = pool
        self.description = description
        self._closed = False
        self._writes = _Batches(pool, saveMany)
        self._reads = _Batches(pool, answersFor)

    def open(self, now):
        def opening(txn):
            createSchema(txn)
            prune(txn, now - self.ANSWER_DAYS * 86400, now - self.HISTORY_DAYS * 86400)
            return current(txn)

        return self.pool.runInteraction(opening)

    def find(self, countermeasureId):
        return self.pool.runInteraction(find, countermeasureId)

    def answerFor(self, requestId):
        """
        @return: a Deferred firing with C{(digest, answer text)} recorded
            for C{requestId}, or C{None}.
        """
        return self._reads.submit(requestId)

    def save(self, countermeasures=(), deleted=(), answer=None, created=()):
        """
        L{save}, durable when the returned Deferred fires.
        """
        return self._writes.submit((tuple(countermeasures), tuple(deleted), answer,
                                    tuple(created)))

    def close(self):
        """
        Close the pool (once, whoever asks first).
        """
        if self._closed:
            return
        self._closed = True
        close = getattr(self.pool, "close", None)
        if close is not None:
            close()


class SynchronousPool:
    """
    C{runInteraction} on one SQLite connection in the calling thread: each
    call is one transaction, committed (or rolled back) before the returned
    Deferred fires.  For tests and short-lived tools; a daemon uses adbapi.
    """

    def __init__(self, path=":memory:"):
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")

    def runInteraction(self, function, *args, **kwargs):
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            result = function(cursor, *args, **kwargs)
        except BaseException:
            cursor.execute("ROLLBACK")
            return fail()
        cursor.execute("COMMIT")
        return succeed(result)

    def close(self):
        self.connection.close()
