# -*- test-case-name: tests.integration.test_aarules -*-
"""
The console's event store: every console event received
(L{mice.decoders.events}) becomes a row of C{console_event}, in SQLite or
MySQL/MariaDB, idempotent on the sender, its stream and the event's
sequence number there.  The console (a later component) reads its panes
from this table and the alerts from C{alert_entry}.
"""

import json

from mice.db import schema
from mice.db.store import TableStore, storeFromConfig


def eventRow(event):
    """
    The C{console_event} row of one L{mice.decoders.events.ConsoleEvent}.
    """
    time = event.time or ""
    date, clock = (time[:10], time[11:19]) if len(time) >= 19 else (None, None)
    fields = json.dumps([list(pair) for pair in event.fields], ensure_ascii=False) \
        if event.fields else None
    return (event.source, event.stream, event.seq, event.loghost, event.ip, event.application,
            event.action, event.rule, fields, event.icon, event.count, date, clock, event.line)


def storeEvents(txn, dialect, events):
    """
    Store C{events}, each once; a reject count stored before for the same
    event keeps the larger of the two (L{schema.insertKeepingLargest}).  A
    transaction function.
    """
    if events:
        txn.executemany(schema.insertKeepingLargest(dialect, "console_event", "count"),
                        [eventRow(e) for e in events])


class EventStore(TableStore):
    """
    The console event store, in the alert database (the same tables as
    L{mice.postproc.alertdb.AlertStore}'s, C{console_event} among them).
    """

    name = "console event database"
    tables = ("console_event",)
    store = staticmethod(storeEvents)


def build(configPath, reactor):
    """
    The C{mice_mod_pop_eventdb} module: its config is the database's, as for
    C{mice_mod_pop_alertdb} (L{mice.db.store.storeFromConfig}).
    """
    return storeFromConfig(EventStore, configPath, reactor, shared=True)
