"""
Chained analysis agents over loopback: an agent whose rules send to the
next agent (SendTo A) or to both (B), the next agent (the IDMEF decoder
and C{mice_mod_pop_aa_regex} relaying, as C{etc/mice/bufferdaemon-aa-next.conf})
and the ManagementHost, each built from its configs; the next agent is
restarted in the middle.  Every alert reaches the ManagementHost, routed by
the analyzer that raised it, once per path.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.config import loadBufferDaemon
from mice.forwarder.shipping import shipFile
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import SHIPPED_CONFIGS, sqliteRows, writeAgentConfigs
from tests.integration.test_faults import freePort, waitFor
from tests.integration.test_management import writeManagementHost

FAILED = "Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7 port 52311 ssh2"
DROP = ("Nov 22 10:00:02 fw kernel: SuSE-FW-DROP-DEFAULT IN=eth0 OUT= SRC=10.0.0.5 DST=10.0.0.1"
        " LEN=60 PROTO=TCP SPT=40000 DPT=22")
CRON = "Nov 22 10:00:04 web01 CRON[990]: (root) CMD (run-parts /etc/cron.hourly)"


def writeNextAgent(directory, managementPort, port):
    """
    The shipped next agent's configs, on C{port}, plain links, and the
    ManagementHost at C{managementPort}.
    """
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(SHIPPED_CONFIGS, "mice_mod_pop_aa_regex-next.conf")) as f:
        text = f.read()
    text = (text.replace("Management = 127.0.0.1:4455", f"Management = 127.0.0.1:{managementPort}")
            .replace("Encryption = yes", "Encryption = no")
            .replace("AlertIDFile = ../../var/mice_mod_aa_regex-next-alertid",
                     "AlertIDFile = alertid"))
    with open(os.path.join(directory, "mice_mod_pop_aa_regex-next.conf"), "w") as f:
        f.write(text)
    with open(os.path.join(directory, "mice_mod_dec_idmef_twofish.conf"), "w") as f:
        f.write("[DECODER]\nENCRYPT = no\n")
    with open(os.path.join(SHIPPED_CONFIGS, "bufferdaemon-aa-next.conf")) as f:
        text = f.read()
    text = (text.replace("PORT = 2266", f"PORT = {port}")
            .replace("MMPATH = ../../var/cache.bufferdaemon-aa-next", "MMPATH = cache-next")
            .replace("TIMEINV = 2", "TIMEINV = 0.1")
            .replace("PIDPATH = ../../var/run/aa-next/", ""))
    conf = os.path.join(directory, "bufferdaemon-aa-next.conf")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def alertRows(database):
    return sqliteRows(database, "SELECT alertid, alertdesc, analyzerid, origin, stream"
                                " FROM alert_entry")


class ChainTests(TestCase):
    timeout = 60

    async def start(self, conf):
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        [port] = await daemon.startService()
        return daemon, port.getHost().port

    async def test_nextAgentRelays(self):
        """
        An agent sends AuF alerts to the next agent (SendTo A), FwD alerts
        to both (B), Ap_Name alerts to the ManagementHost (M); the next
        agent relays what it gets, and is stopped and started again while
        the lines are shipped.  The ManagementHost stores each alert once
        per path, routed by the first agent's analyzer id (the match file's
        descriptions), the relayed ones under a stream that names the
        first agent.
        """
        directory = os.path.abspath(self.mktemp())
        database = os.path.join(directory, "alerts.db")
        management, managementPort = await self.start(
            writeManagementHost(os.path.join(directory, "mh"), "sqlite:///" + database))
        self.addCleanup(management.stopService)
        nextPort = freePort()
        nextConf = writeNextAgent(os.path.join(directory, "next"), managementPort, nextPort)
        nextAgent, _ = await self.start(nextConf)
        agentConf = writeAgentConfigs(os.path.join(directory, "aa"), managementPort)
        aa = os.path.join(directory, "aa", "aa.conf")
        with open(aa) as f:
            text = f.read()
        with open(aa, "w") as f:
            f.write(text.replace('AuSendTo = "M"', 'AuSendTo = "A"')
                    .replace('FwSendTo= "M"', 'FwSendTo= "B"')
                    .replace("Agent = 127.0.0.1:2266", f"Agent = 127.0.0.1:{nextPort}"))
        agent, agentPort = await self.start(agentConf)
        self.addCleanup(agent.stopService)
        log = os.path.join(directory, "messages")
        with open(log, "w") as f:
            f.write("\n".join([FAILED, DROP, CRON] * 20) + "\n")
        sender = ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{agentPort}"),
                                "web01", "log", reactor)
        sender.startService()
        self.addCleanup(sender.stopService)
        shipping = ensureDeferred(shipFile(sender, log))
        await deferLater(reactor, 0.2)
        await nextAgent.stopService()
        await deferLater(reactor, 0.5)
        nextAgent, _ = await self.start(nextConf)
        self.addCleanup(nextAgent.stopService)
        await shipping
        # Per FAILED line: AuF (relayed) and Ap_Name (direct); per DROP line
        # FwD twice (direct and relayed).
        want = 20 * 4
        await waitFor(lambda: len(alertRows(database)) >= want, 30, "every alert")
        await deferLater(reactor, 0.5)
        found = alertRows(database)
        self.assertEqual(len(found), want)
        paths = {}
        for alertid, desc, analyzer, _origin, stream in found:
            paths.setdefault((alertid, desc, analyzer), []).append(stream.count("|"))
        self.assertEqual(sorted(paths), [("0x1020", "Authentication Failure", "MICE-RegEx"),
                                         ("0x6010", "Monitoring Application", "MICE-RegEx"),
                                         ("0x8010", "Firewall Rule: Drop", "MICE-RegEx")])
        # Direct: "web01|/path" (one bar); relayed: "agent|web01|/path".
        self.assertEqual(sorted(paths[("0x1020", "Authentication Failure", "MICE-RegEx")]),
                         [2] * 20)
        self.assertEqual(sorted(paths[("0x6010", "Monitoring Application", "MICE-RegEx")]),
                         [1] * 20)
        self.assertEqual(sorted(paths[("0x8010", "Firewall Rule: Drop", "MICE-RegEx")]),
                         [1] * 20 + [2] * 20)
