"""
Shared helpers of the store integration tests: log batches spread over the
three raw-log tables, a MariaDB user with only the grants a test gives it
(created and dropped by the test), and the 2004 seed's table statements.
"""

import os
import secrets
import sqlite3
import urllib.parse

from twisted.internet import reactor

from mice.config import parseDatabaseUrl
from mice.db.pools import connectionPool
from mice.decoders.logformat import LogBatch
from mice.testing import temporaryMariaDBDatabase
from tests.unit.db.test_classify import FW_PLAIN_UDP, LAUS_SEED, RAW_LINES
from tests.unit.db.test_schema import HOST

#: One line for each raw-log table.
LINES = [FW_PLAIN_UDP, LAUS_SEED[0][0], RAW_LINES[0]]


def logBatch(seq, count, source="client1", stream="/var/log/messages", seqs=None):
    """
    A L{LogBatch} of C{count} lines, cycling over the three raw-log tables.
    """
    numbers = seqs if seqs is not None else range(seq, seq + count)
    # The line depends on the seq only, so that a resend is the same line.
    recs = [["2004-11-22", "10:00:%02d" % (n % 60), LINES[n % 3], ""] for n in numbers]
    return LogBatch(source, stream, seq, HOST, recs, seqs)


class ScratchMariaDB:
    """
    A scratch database (made and dropped by the test) and users with only
    the grants a test gives them (dropped in cleanup; no other user is
    touched).
    """

    def __init__(self, testCase):
        import pymysql

        self.testCase = testCase
        self.connect = temporaryMariaDBDatabase(testCase)
        self.database = self.connect["database"]
        self.pymysql = pymysql

    def admin(self, *statements):
        """
        Run C{statements} as the test server's administrator, in the
        scratch database.
        """
        db = self.pymysql.connect(connect_timeout=5, autocommit=True, **self.connect)
        try:
            with db.cursor() as cursor:
                results = []
                for statement in statements:
                    cursor.execute(statement)
                    results.append(cursor.fetchall())
                return results
        finally:
            db.close()

    def url(self, user=None, password=None):
        c = self.connect
        user = c["user"] if user is None else user
        password = c["password"] if password is None else password
        credentials = urllib.parse.quote(user, safe="")
        if password:
            credentials += ":" + urllib.parse.quote(password, safe="")
        return f"mysql://{credentials}@{c['host']}:{c['port']}/{self.database}"

    def grantOnly(self, grants):
        """
        A new user C{mice_t_<random>}@127.0.0.1 with only C{grants}
        (C{(privileges, table)} pairs, on tables of the scratch database),
        dropped in cleanup.

        @return: the user's URL.
        """
        user = "mice_t_" + secrets.token_hex(6)
        password = secrets.token_hex(12)
        account = f"'{user}'@'127.0.0.1'"
        self.admin(f"CREATE USER {account} IDENTIFIED BY '{password}'")
        self.testCase.addCleanup(self.admin, f"DROP USER IF EXISTS {account}")
        for privileges, table in grants:
            self.admin(f"GRANT {privileges} ON `{self.database}`.`{table}` TO {account}")
        return self.url(user, password)


def pool(url):
    """
    C{(pool, dialect)} for a database URL, closed by whoever stops the
    store that uses it.
    """
    return connectionPool(parseDatabaseUrl(url), reactor)


async def runInPool(url, interaction, *args):
    """
    Run C{interaction(txn, dialect, *args)} in a pool of its own for the
    database at C{url}, closed afterwards.

    @return: what C{interaction} returns.
    """
    p, dialect = pool(url)
    p.start()
    try:
        return await p.runInteraction(interaction, dialect, *args)
    finally:
        p.close()


def sqliteUrl(testCase):
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    return "sqlite:///" + os.path.join(directory, "store.db"), os.path.join(directory,
                                                                             "store.db")


async def startRefused(case, store, exceptionType):
    """
    Assert that starting C{store} fails with C{exceptionType}; the store is
    stopped either way.

    @return: the exception.
    """
    try:
        with case.assertRaises(exceptionType) as caught:
            await store.start()
    finally:
        store.stop()
    return caught.exception


class SQLiteStoreCase:
    """
    A test case mixin whose store is a new SQLite file (C{self.url},
    C{self.path}), on which the test runs statements directly.
    """

    def setUp(self):
        self.url, self.path = sqliteUrl(self)

    def execute(self, statement, params=()):
        db = sqlite3.connect(self.path)
        try:
            db.execute(statement, params)
            db.commit()
        finally:
            db.close()

    def query(self, statement):
        db = sqlite3.connect(self.path)
        try:
            return db.execute(statement).fetchall()
        finally:
            db.close()


class MariaDBStoreCase:
    """
    A test case mixin whose store is a scratch MariaDB database
    (L{ScratchMariaDB}, C{self.db}, C{self.url}).
    """

    def setUp(self):
        self.db = ScratchMariaDB(self)
        self.url = self.db.url()

    def query(self, statement):
        return self.db.admin(statement)[0]
