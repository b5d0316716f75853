"""
Tests for L{mice.postproc.aarules}' pure part: the alert of a LogIDS action.
"""

from dataclasses import fields, replace
from datetime import UTC, datetime

from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert, Node
from mice.postproc.aarules import makeLogIdsAlert
from mice.record import LogRecord
from tests.unit.analysis.test_logids import shippedEngine

LINE = ("Nov 22 10:00:01 www sshd[1234]: Failed password for root from 10.0.0.5 port 5555"
        " ssh2")


class MakeLogIdsAlertTests(SynchronousTestCase):
    def test_alert(self):
        """
        The alert of an C{alert=0x1020} action: the same object the
        dataclass makes from its fields (equal, same hash and repr).
        """
        engine = shippedEngine()
        [(application, taken)] = engine.actions([LINE], ip="10.0.0.1", stream="/x",
                                                hostname="www")
        [action] = [action for action in taken if action.kind == "alert"]
        logids = engine.recordFor(LINE, "10.0.0.1", "/x", "www")
        record = LogRecord("client", "/x", 7, "www", "", "10.0.0.1", "", "", "",
                           "2004-11-22", "10:00:01", LINE, "")
        alert = makeLogIdsAlert(record, logids, action, 42, "MICE-LogIDS",
                                datetime(2004, 11, 22, tzinfo=UTC), UTC)
        made = Alert(**{f.name: getattr(alert, f.name) for f in fields(Alert)})
        self.assertEqual((alert, hash(alert), repr(alert)), (made, hash(made), repr(made)))
        self.assertEqual(replace(alert), alert)
        self.assertEqual((alert.messageId, alert.alertId, alert.createTime, alert.severity),
                         ("42", 0x1020, "2004-11-22T10:00:01+00:00", "high"))
        self.assertEqual(alert.sources, (Node(address="10.0.0.5", port=5555),))
        self.assertIsNone(alert.correlation)
        self.assertEqual(alert.data("loghost"), "gateway")  # netdef.txt names it
