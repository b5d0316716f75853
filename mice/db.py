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


def connectionPool(url, reactor):
    """
    Make a connection pool for a parsed database URL.

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
        cp_min=1, cp_max=1, cp_reconnect=True, cp_noisy=False, cp_reactor=reactor)
    return pool, schema.MYSQL
