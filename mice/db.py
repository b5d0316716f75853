# -*- test-case-name: tests.test_rawlogdb -*-
"""
Database connection pools: the one place that knows how to open SQLite and
MySQL/MariaDB through C{twisted.enterprise.adbapi}.  The SQL itself is in
L{mice.schema}.
"""

import os

from twisted.enterprise import adbapi

from mice import schema


def _sqliteConnected(connection):
    # WAL lets readers (the console, `sqlite3`) look while we write; FULL
    # makes a commit durable before we acknowledge what it stored.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=10000")


def _mysqlConnected(connection):
    # The raw-log store writes its own string literals with backslash escapes
    # (see mice.schema.mysqlInsertStatements): make sure the session reads
    # them that way, whatever the server's default sql_mode.
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = cursor.fetchone()[0].split(",")
        if "NO_BACKSLASH_ESCAPES" in modes:
            cursor.execute("SET SESSION sql_mode = %s",
                           (",".join(m for m in modes if m != "NO_BACKSLASH_ESCAPES"),))


def connectionPool(url, reactor, connections=2):
    """
    Make a connection pool for a parsed database URL.

    @param connections: for MySQL, how many connections (and threads) may
        work at once; SQLite always has one writer.

    @param url: a L{mice.config.DatabaseUrl}.
    @return: C{(pool, dialect)}; the pool connects when the reactor runs.
    """
    if url.scheme == "sqlite":
        directory = os.path.dirname(os.path.abspath(url.path))
        os.makedirs(directory, exist_ok=True)
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
    return pool, schema.MYSQL
