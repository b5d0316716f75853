# -*- test-case-name: tests.integration.test_schema,tests.integration.test_endtoend -*-
"""
Database connection pools: the one place that knows how to open SQLite and
MySQL/MariaDB through C{twisted.enterprise.adbapi}.  The SQL itself is in
L{mice.db.schema}.
"""

import os

from twisted.enterprise import adbapi
from twisted.internet.defer import succeed

from mice.db import schema


def _sqliteConnected(connection):
    # WAL lets readers (the console, `sqlite3`) look while we write; FULL
    # makes a commit durable before we acknowledge what it stored.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=10000")


def _mysqlConnected(connection):
    # The raw-log store writes its own string literals with backslash escapes
    # (see mice.db.schema.mysqlInsertStatements): make sure the session reads
    # them that way, whatever the server's default sql_mode.
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = cursor.fetchone()[0].split(",")
        if "NO_BACKSLASH_ESCAPES" in modes:
            cursor.execute("SET SESSION sql_mode = %s",
                           (",".join(m for m in modes if m != "NO_BACKSLASH_ESCAPES"),))


_localDataModule = None


def localDataDriver():
    """
    PyMySQL, with connections that can feed C{LOAD DATA LOCAL INFILE} from
    memory: a module-like object for C{adbapi.ConnectionPool.dbapi}.

    The raw-log store loads rows with C{LOAD DATA} (the server parses it in
    about two thirds of the time of the same rows as C{INSERT} literals, see
    L{mice.db.schema.insertBatches}).  PyMySQL would open whatever file the
    server names, on any query: a server, or anyone between it and us, could
    read the daemon's files.  These connections instead answer only a request
    for a name the store offered, for the statement it is running, with the
    bytes it offered, and refuse every other request.
    """
    global _localDataModule
    if _localDataModule is not None:
        return _localDataModule

    import pymysql
    from pymysql.connections import Connection, MySQLResult
    from pymysql.constants import CR
    from pymysql.protocol import LoadLocalPacketWrapper

    class LocalDataResult(MySQLResult):
        def _read_load_local_packet(self, first_packet):
            conn = self.connection
            name = LoadLocalPacketWrapper(first_packet).filename.decode("utf-8", "replace")
            data = conn._offered.pop(name, None)
            try:
                if data is None:
                    raise pymysql.err.OperationalError(
                        CR.CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                        f"the server asked for local file {name!r}, which was not offered")
                view = memoryview(data)
                for start in range(0, len(view), LOCAL_DATA_PACKET):
                    conn.write_packet(view[start:start + LOCAL_DATA_PACKET])
            finally:
                # The empty packet ends the data (or refuses the request).
                conn.write_packet(b"")
                ok = conn._read_packet()
            if not ok.is_ok_packet():
                raise pymysql.err.OperationalError(CR.CR_COMMANDS_OUT_OF_SYNC,
                                                   "Commands Out of Sync")
            self._read_ok_packet(ok)

    class LocalDataConnection(Connection):
        """
        A PyMySQL connection whose LOAD DATA LOCAL reads what
        L{offerLocalData} was given.
        """

        def __init__(self, *args, **kwargs):
            self._offered = {}
            kwargs["local_infile"] = True
            super().__init__(*args, **kwargs)

        def offerLocalData(self, name, data):
            """
            Serve C{data} (bytes) to the server's next request for the local
            file C{name}, for the next statement only.
            """
            self._offered = {name: data}

        def _read_query_result(self, unbuffered=False):
            # PyMySQL's own, with the result class that serves offered data.
            self._result = None
            result = LocalDataResult(self)
            try:
                if unbuffered:
                    result.init_unbuffered_query()
                else:
                    result.read()
            finally:
                self._offered = {}
            self._result = result
            if result.server_status is not None:
                self.server_status = result.server_status
            return result.affected_rows

    class Module:
        apilevel = pymysql.apilevel
        threadsafety = pymysql.threadsafety
        paramstyle = pymysql.paramstyle
        Error = pymysql.Error
        connect = LocalDataConnection

    _localDataModule = Module
    return Module


#: Bytes per packet of LOAD DATA LOCAL data (PyMySQL's own reader uses 16 KiB).
LOCAL_DATA_PACKET = 65536


def connectionPool(url, reactor, connections=2):
    """
    Make a connection pool for a parsed database URL.

    @param connections: for MySQL, how many connections (and threads) may
        work at once; SQLite always has one writer.

    @param url: a L{mice.config.DatabaseUrl}.
    @return: C{(pool, dialect)}; the pool connects when the reactor runs.
    @raise ValueError: a SQLite file's directory does not exist.
    """
    if url.scheme == "sqlite":
        directory = os.path.dirname(os.path.abspath(url.path))
        if url.path != ":memory:" and not os.path.isdir(directory):
            # Never made here: a typo in a path would create directories
            # anywhere, even at the top of the file system.
            raise ValueError(f"the directory {directory} of the SQLite database {url.path}"
                             " does not exist (M-ICE does not create it)")
        pool = adbapi.ConnectionPool(
            "sqlite3", url.path, check_same_thread=False, cp_min=1, cp_max=1,
            cp_openfun=_sqliteConnected, cp_reactor=reactor)
        return pool, schema.SQLITE
    pool = adbapi.ConnectionPool(
        "pymysql", host=url.host, port=url.port or 3306, user=url.user,
        password=url.password or "", database=url.database, charset="utf8mb4",
        autocommit=False, connect_timeout=10, read_timeout=60, write_timeout=60,
        cp_min=1, cp_max=connections, cp_reconnect=True, cp_noisy=False,
        cp_openfun=_mysqlConnected,
        cp_reactor=reactor)
    # adbapi takes a driver by module name only; it calls nothing but
    # connect() after its constructor checked apilevel and threadsafety.
    pool.dbapi = localDataDriver()
    return pool, schema.MYSQL


_sharedPools = {}


def sharedConnectionPool(url, reactor, connections=2):
    """
    A connection pool for C{url} shared by everything in this process that
    asks for the same URL (the reaction journal and the alert database
    reaction, on one SQLite file, must share its one writer).

    @return: C{(pool, dialect, release)}; call C{release()} once when done
        with it: the pool closes when the last user has released it.
    """
    key = (url, id(reactor))
    entry = _sharedPools.get(key)
    if entry is None:
        pool, dialect = connectionPool(url, reactor, connections)
        entry = _sharedPools[key] = [pool, dialect, 0]
    entry[2] += 1
    released = []

    def release():
        if released:
            return
        released.append(True)
        entry[2] -= 1
        if entry[2] == 0:
            if _sharedPools.get(key) is entry:
                del _sharedPools[key]
            entry[0].close()

    return entry[0], entry[1], release


class PooledStore:
    """
    Tables in a database on a (shared) connection pool, made on first use:
    what the reaction journal (L{mice.db.journalstore.JournalStore}) and the
    alert database reaction (L{mice.reactors.alertdb}) share.  L{start}
    runs L{prepare} in a transaction once (again after it failed); L{close}
    hands the pool back.

    @ivar description: where the database is (a password-free URL), for logs.
    """

    def __init__(self, pool, dialect, description="", release=None):
        self.pool = pool
        self.dialect = dialect
        self.description = description
        self._release = release
        self._ready = False

    def prepare(self, txn):
        """Make sure the tables are there, in the transaction C{txn}."""
        raise NotImplementedError

    def start(self):
        """Run L{prepare} (once; again after a failure)."""
        if self._ready:
            return succeed(None)

        def ready(_):
            self._ready = True

        return self.pool.runInteraction(self.prepare).addCallback(ready)

    def close(self):
        if self._release is not None:
            release, self._release = self._release, None
            release()
