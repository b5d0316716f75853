# -*- test-case-name: tests.integration.test_aarules,tests.unit.analysis.test_logids -*-
"""
The IDMEF alert of a LogIDS C{alert} or C{warning} action
(L{mice.analysis.logids}), as the C{mice_mod_pop_aa_rules} agent sends it
and C{mice analyze} feeds it to the correlation stage.  Pure, and free of
the agent's imports (Twisted), so that the offline command does not load
them for its first alert.
"""

from mice.alerts import Alert, Node
from mice.analysis.aaregex import _FAST_ALERTS, isoTime, recordTime
from mice.analysis.extract import address, nodesFor

#: Field names that name what an alert's target is (the filter's fields).
TARGET_FIELDS = ("dst_ip", "dest", "destination", "target")


def fieldNodes(fields, sources, targets):
    """
    The alert's nodes, the filter's fields (C{src_ip}/C{src_port}, a
    destination) first, then what L{nodesFor} read from the line.
    """
    source = address(fields.get("src_ip", ""))
    if source is not None and not any(node.address == source for node in sources):
        port = fields.get("src_port", "")
        sources = (Node(address=source, port=int(port) if port.isdigit() and
                        int(port) < 65536 else None),) + tuple(sources)
    for name in TARGET_FIELDS:
        target = address(fields.get(name, ""))
        if target is not None:
            if not any(node.address == target for node in targets):
                targets = (Node(address=target),) + tuple(targets)
            break
    return sources, targets


def makeLogIdsAlert(record, logids, taken, messageId, analyzerId, now, tz=None, repeated=1):
    """
    The L{Alert} of one C{alert} or C{warning} action.

    @param record: the L{mice.record.LogRecord}.
    @param logids: its L{mice.analysis.logids.LogIdsRecord}.
    @param taken: the L{mice.analysis.logids.Taken} action.
    @param repeated: how many times the line's message came, as
        L{mice.analysis.aaregex.makeAlert} takes it.
    """
    rule = taken.rule
    fields = logids.fields
    application = logids.application or "*"
    stamp = recordTime(record.date, record.time, tz) or isoTime(now)
    line = record.logline
    sources, targets = fieldNodes(
        fields, *nodesFor(line, record.hostname or None, record.ip or None))
    values = dict(
        messageId=str(messageId), analyzerId=analyzerId, createTime=stamp,
        classification=f"{application}: {rule.condition}", alertId=rule.action.alertId,
        detectTime=stamp,
        severity=taken.severity, sources=sources, targets=targets, analyzerHost=None,
        additionalData=(("log line", line),
                        ("origin", f"{record.source} {record.stream} {record.seq}"),
                        ("rule", f"{rule.where} {rule.text},{rule.action.kind}"),
                        ("application", logids.application),
                        ("loghost", fields["loghost"]))
        + ((("repeated", str(repeated)),) if repeated > 1 else ()),
        correlation=None)
    if not _FAST_ALERTS:
        return Alert(**values)
    # As makeAlert does: the same object as Alert(**values), without the
    # frozen dataclass's object.__setattr__ per field.
    alert = object.__new__(Alert)
    alert.__dict__.update(values)
    return alert
