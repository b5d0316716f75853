"""
Least-privilege stores (issue 16): a store checks which of its tables exist
and creates only the missing ones, so against existing tables it works with
the seed's C{GRANT INSERT,SELECT} (plus what its upsert needs, see
C{docs/schema.rst}); a table it cannot create stops it with one line naming
the table and C{mice initdb}.  On MariaDB with a grant-only user the test
creates and drops; on SQLite.
"""

import sqlite3

from twisted.trial.unittest import TestCase

from mice.db import schema
from mice.decoders.events import ConsoleEvent
from mice.postproc.alertdb import AlertStore
from mice.postproc.eventdb import EventStore
from mice.postproc.rawlogdb import RawLogStore
from tests.integration.fixtures_db import (
    ScratchMariaDB,
    logBatch,
    pool,
    sqliteUrl,
    startRefused,
)
from tests.integration.test_schema import alertRow


def storeOn(cls, url, **kwargs):
    p, dialect = pool(url)
    store = cls(p, dialect, description="test", **kwargs)
    return store


class MariaDBPrivilegeTests(TestCase):
    timeout = 60

    def setUp(self):
        self.db = ScratchMariaDB(self)

    def createAs(self, tables):
        self.db.admin(*(s for t in tables for s in schema.tableStatements(schema.MYSQL, t)))

    def count(self, table):
        return self.db.admin(f"SELECT COUNT(*) FROM `{table}`")[0][0][0]

    async def runStore(self, store, records):
        try:
            await store.start()
            await store.process(records)
        finally:
            store.stop()

    async def test_rawLogInsertSelectOnly(self):
        """
        The seed's grant (INSERT, SELECT on the three tables that exist) is
        enough for the raw-log store, LOAD DATA LOCAL included, and a resend
        stores nothing twice.
        """
        self.createAs(schema.RAWLOG_TABLES)
        url = self.db.grantOnly([("INSERT, SELECT", t) for t in schema.RAWLOG_TABLES])
        store = storeOn(RawLogStore, url)
        batch = logBatch(1, 30)
        await self.runStore(store, batch)
        store = storeOn(RawLogStore, url)
        await self.runStore(store, batch)
        self.assertEqual([self.count(t) for t in schema.RAWLOG_TABLES], [10, 10, 10])

    async def test_rawLogMissingTable(self):
        """
        A missing table the user may not create stops the store with one
        line naming it and C{mice initdb}.
        """
        self.createAs(("rawlog_line", "scslog_line"))
        url = self.db.grantOnly([("INSERT, SELECT", t) for t in ("rawlog_line", "scslog_line")])
        message = str(await startRefused(self, storeOn(RawLogStore, url), schema.MissingTable))
        self.assertNotIn("\n", message)
        self.assertIn("table firewall_line", message)
        self.assertIn("`mice initdb URL`", message)
        self.assertIn("1142", message)

    async def test_alertInsertSelectOnly(self):
        self.createAs(("alert_entry",))
        url = self.db.grantOnly([("INSERT, SELECT", "alert_entry")])
        p, dialect = pool(url)
        store = AlertStore(p, dialect)
        try:
            await store.start()
            await p.runInteraction(schema.insertRows, dialect, "alert_entry",
                                   [alertRow(1), alertRow(1), alertRow(2)])
        finally:
            store.stop()
        self.assertEqual(self.count("alert_entry"), 2)

    async def test_eventStoreNeedsUpdate(self):
        """
        The console event store keeps the larger reject count of a resent
        event (C{ON DUPLICATE KEY UPDATE}): it needs UPDATE on
        C{console_event} as well.
        """
        self.createAs(("console_event",))
        url = self.db.grantOnly([("INSERT, SELECT, UPDATE", "console_event")])
        event = ConsoleEvent(source="a", stream="events", seq=1, loghost="h", ip="10.0.0.1",
                             application="sshd", action="reject", rule="rules.txt:1",
                             fields=(), icon=None, count=3, time="2004-11-22T10:00:00",
                             line="x")
        await self.runStore(storeOn(EventStore, url), [event])
        await self.runStore(storeOn(EventStore, url), [event._replace(count=5)])
        self.assertEqual(self.db.admin("SELECT count FROM console_event")[0], ((5,),))

    async def test_signingStoreGrants(self):
        """
        A signing raw-log store needs INSERT, SELECT, UPDATE on
        C{signature_head} beside INSERT, SELECT on its tables.
        """
        self.createAs(schema.RAWLOG_TABLES + (schema.SIGNATURE_HEAD,))
        url = self.db.grantOnly([("INSERT, SELECT", t) for t in schema.RAWLOG_TABLES]
                                + [("INSERT, SELECT, UPDATE", schema.SIGNATURE_HEAD)])
        key = b"k" * 32
        await self.runStore(storeOn(RawLogStore, url, signKey=key), logBatch(1, 9))
        await self.runStore(storeOn(RawLogStore, url, signKey=key), logBatch(10, 9))
        self.assertEqual(self.db.admin("SELECT seq FROM signature_head")[0], ((18,),))


class SQLitePrivilegeTests(TestCase):
    timeout = 30

    async def test_createsOnlyWhatIsMissing(self):
        """
        A store creates the tables that are missing and leaves the others
        (with their rows) as they are.
        """
        url, path = sqliteUrl(self)
        db = sqlite3.connect(path)
        for statement in schema.createStatements(schema.SQLITE, ("rawlog_line",)):
            db.execute(statement)
        db.execute("INSERT INTO rawlog_line (origin, stream, seq, logline) VALUES"
                   " ('old', 's', 1, 'kept')")
        db.commit()
        db.close()
        store = storeOn(RawLogStore, url)
        try:
            created = await store.pool.runInteraction(schema.prepareTables, store.dialect,
                                                      store.neededTables)
            self.assertEqual(created, ["scslog_line", "firewall_line"])
            await store.start()
            await store.process(logBatch(1, 3))
        finally:
            store.stop()
        db = sqlite3.connect(path)
        self.assertEqual(db.execute("SELECT COUNT(*) FROM rawlog_line").fetchone(), (2,))
        db.close()
