# -*- test-case-name: tests.integration.test_agent -*-
"""
The alert database alone, C{mice_mod_pop_alertdb}: a BufferDaemon that
stores every alert of every IDMEF document it receives as a row of
C{alert_entry} (SQLite or MySQL/MariaDB), idempotent on each alert's key,
with no match file and no reactions (C{alertdesc} is the classification).
The ManagementHost proper is C{mice_mod_pop_act_generic}
(L{mice.postproc.actgeneric}), whose reaction 2
(L{mice.reactors.alertdb}) fills the same table; this module stays for a
host that only keeps alerts.
"""

from datetime import UTC, datetime

from mice.alerts import RoutedAlert, alertKey
from mice.db import schema
from mice.db.store import TableStore, storeFromConfig
from mice.reactors.alertdb import alertEntryRow


def alertRows(received, receivedAt=""):
    """
    The C{alert_entry} rows of one L{mice.decoders.idmef.ReceivedAlert}:
    one per alert of its document.
    """
    source, stream, seq = received.source, received.stream, received.seq
    return [alertEntryRow(RoutedAlert(
        alertKey(source, stream, seq, index), alert, received.document(index),
        alert.classification, source, receivedAt, stream=stream, seq=seq, index=index))
        for index, alert in enumerate(received.alerts)]


def storeAlerts(txn, dialect, records, signer=None):
    now = datetime.now(UTC).isoformat()
    rows = [row for r in records for row in alertRows(r, now)]
    if signer is not None and rows:
        rows = signer.signRows(txn, dialect, {"alert_entry": rows})["alert_entry"]
    return schema.insertRows(txn, dialect, "alert_entry", rows)


class AlertStore(TableStore):
    name = "alert database"
    tables = ("alert_entry",)
    store = staticmethod(storeAlerts)
    signs = True


def build(configPath, reactor):
    """
    The C{mice_mod_pop_alertdb} module: its config is the database's, as
    C{mice_mod_pop_mysql}'s (see L{mice.registry} and
    L{mice.db.store.storeFromConfig}); its pool is shared with the other
    modules of this process on the same database.
    """
    return storeFromConfig(AlertStore, configPath, reactor, shared=True)
