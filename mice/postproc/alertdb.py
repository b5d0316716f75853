# -*- test-case-name: tests.integration.test_agent -*-
"""
The alert database (reaction 2 of the seed's ManagementHost, reduced to its
store): every IDMEF document received becomes a row of C{alert_entry}, in
SQLite or MySQL/MariaDB, idempotent on the sender, its stream and the
document's sequence number there.  C{mice-allinone} uses it as the end of
the analysis chain until the ManagementHost (match file, reactions,
console) is built; a BufferDaemon loads it as C{mice_mod_pop_alertdb}
(L{build}), a ManagementHost that only stores.
"""

from mice.db import schema
from mice.db.store import TableStore, storeFromConfig


def _first(nodes, attribute):
    for node in nodes:
        value = getattr(node, attribute)
        if value is not None:
            return str(value)
    return None


def alertRow(received):
    """
    The C{alert_entry} row of one L{mice.decoders.idmef.ReceivedAlert} (its
    first alert, which is all an M-ICE agent puts in a document).
    """
    alert = received.alerts[0]
    when = alert.detectTime or alert.createTime
    date, time = (when[:10], when[11:19]) if len(when) >= 19 else (None, None)
    return (received.source, received.stream, received.seq,
            None if alert.alertId is None else f"0x{alert.alertId:04x}",
            alert.classification, alert.classification, date, time, alert.analyzerId,
            _first(alert.sources, "address"), _first(alert.sources, "user"),
            _first(alert.sources, "process"), _first(alert.sources, "service"),
            _first(alert.targets, "address"), _first(alert.targets, "user"),
            _first(alert.targets, "process"), _first(alert.targets, "service"),
            received.xml, "")


def storeAlerts(txn, dialect, records, signer=None):
    rows = [alertRow(r) for r in records if r.alerts]
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
    L{mice.db.store.storeFromConfig}).
    """
    return storeFromConfig(AlertStore, configPath, reactor)
