"""
The ManagementHost's correlation stage as a real C{twistd
mice-bufferdaemon} process, fed by C{mice send --kind idmef}: five failed
logins from one address make one 0x9010 (IDMEF CorrelationAlert naming
them) stored in C{alert_entry} and reacted to once, across kill -9 and
restarts: no count lost, no correlated alert repeated, a batch sent again
not counted twice.
"""

import os
from datetime import UTC, datetime

from twisted.internet.defer import ensureDeferred
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from mice.alerts import Alert, Node
from mice.analysis.correlation import DEFAULT_RULES
from mice.idmef import fromXml, toXml
from tests.integration.processes import MICE
from tests.integration.test_management_faults import FILE_PIPE, ManagementHostProcess

#: The default rules, with alerts held 1 s (not 10) for later ones.
with open(DEFAULT_RULES) as f:
    RULES = f.read().replace("LATENESS = 10 ", "LATENESS = 1 ")

CORRELATION_MATCH_FILE = """\
[ALERT_ID]
AID = 0x9010
[ALERT_ID_DESCRIPTION]
AID_DESC = "Brute force: repeated authentication failures from one source"
[RID_2]
AID_2 = 0x9010
[RID_5]
AID_5 = 0x9010
"""

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC).timestamp()


def failedLogins(numbers):
    """IDMEF documents of failed logins from 203.0.113.7, the n-th at START + n s."""
    out = []
    for n in numbers:
        stamp = datetime.fromtimestamp(START + n, UTC).isoformat()
        alert = Alert(str(n), "MICE-RegEx", stamp, "Authentication Failure", 0x1020,
                      detectTime=stamp, sources=(Node(address="203.0.113.7"),),
                      targets=(Node(hostname="web01", user="root"),))
        out.append(toXml(alert).decode())
    return "".join(out)


class CorrelatingHost(ManagementHostProcess):
    """The kill -9 tests' ManagementHost with act_generic's [CORRELATION]."""

    def __init__(self, case):
        super().__init__(case, mmSize=16)
        mh = os.path.join(self.directory, "mh")
        with open(os.path.join(mh, "correlation.conf"), "w") as f:
            f.write(RULES)
        with open(os.path.join(mh, "correlation-match.txt"), "w") as f:
            f.write(CORRELATION_MATCH_FILE)
        path = os.path.join(mh, "act.conf")
        with open(path) as f:
            text = f.read()
        text = text.replace('ANAID = "MICE-RegEx"\n',
                            'ANAID = "MICE-RegEx"\nANAID = "MICE-Correlation"\n')
        text = text.replace("MF = match.txt\n", "MF = match.txt\nMF = correlation-match.txt\n")
        text += "[CORRELATION]\nRULES = correlation.conf\nANALYZER_ID = MICE-Correlation\n"
        with open(path, "w") as f:
            f.write(text)

    async def send(self, name, numbers):
        path = os.path.join(self.directory, name + ".xml")
        with open(path, "w") as f:
            f.write(failedLogins(numbers))
        out, err, code = await getProcessOutputAndValue(
            MICE[0], MICE[1:] + ["send", "--to", f"127.0.0.1:{self.port}", "--kind", "idmef",
                                 "--source", "agent1", "--timeout", "60", path],
            env=dict(os.environ))
        self.case.assertEqual(code, 0, f"mice send: {out!r} {err!r}\n{self.diagnostics()}")

    def correlated(self):
        """The 0x9010 documents journaled, by key."""
        return dict(self.query("SELECT alertkey, document FROM received_alert"
                               " WHERE alertid = '0x9010'"))

    def evidence(self):
        documents = [row[0] for row in self.query(
            "SELECT idmefmsg FROM alert_entry WHERE alertid = '0x9010' ORDER BY idx")]
        return sorted(tuple(int(m) for _, m in fromXml(d)[0].correlation.alerts)
                      for d in documents)


class CorrelationKillTests(TestCase):
    timeout = 180

    def test_bruteForceAcrossKills(self):
        return ensureDeferred(self._bruteForceAcrossKills())

    async def _bruteForceAcrossKills(self):
        host = CorrelatingHost(self)
        await host.startServer()
        # Three failures, acknowledged once in the ring buffer, then counted
        # (journaled with the stage's checkpoint), then kill -9.
        await host.send("a", [1, 2, 3])
        await host.waitFor(lambda: host.count("SELECT COUNT(*) FROM correlation_state") == 1,
                           30, "the stage's checkpoint journaled")
        host.kill("management")
        await host.startServer()
        # Two more after the restart: the five make 0x9010, nothing was lost.
        await host.send("b", [4, 5])
        await host.waitFor(lambda: len(host.correlated()) == 1, 30, "0x9010 journaled")
        host.kill("management")                 # maybe before its reaction ran
        await host.startServer()
        # A sender that lost its acknowledgements sends both again: not
        # counted twice.  Five later failures (after SUPPRESS) make the next one.
        await host.send("a", [1, 2, 3])
        await host.send("b", [4, 5])
        await host.send("c", [401, 402, 403, 404, 405])
        await host.waitFor(lambda: len(host.correlated()) == 2, 30, "the second 0x9010")
        await host.waitFor(
            lambda: host.count(f"SELECT COUNT(*) FROM reaction_job WHERE pipe = '{FILE_PIPE}'"
                               " AND state = 'done'") == 2, 30, "the file reactions done")
        await host.stop("management")

        self.assertEqual(host.evidence(), [(1, 2, 3, 4, 5), (401, 402, 403, 404, 405)])
        self.assertEqual(sorted(host.fileLines()), sorted(host.correlated()),
                         "a correlated alert reacted to twice, or not at all")
        self.assertEqual(host.count("SELECT COUNT(*) FROM alert_entry"
                                    " WHERE alertid = '0x1020'"), 10)
        self.assertEqual(host.query("SELECT DISTINCT alertdesc, source_address FROM alert_entry"
                                    " WHERE alertid = '0x9010'"),
                         [("Brute force: repeated authentication failures from one source",
                           "203.0.113.7")])
        host.passed = True
