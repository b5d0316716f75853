"""
Tests for reaction 4, the countermeasure (L{mice.reactors.countermeasure},
L{mice.reactors.escalation}): what an alert asks of which ReactionDaemon,
escalation of repeat offenders (factors, cap, history, once per alert),
the never list on the ManagementHost's side, and delivery to real daemon
engines over in-memory links with the real link security: done, refused,
retried, never applied twice.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.defer import ensureDeferred
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.alerts import Alert, Node, RoutedAlert
from mice.config import loadConfigText
from mice.db.countermeasures import CountermeasureStore, SynchronousPool
from mice.interfaces import IReaction, ReactionRefused
from mice.protocols import reaction
from mice.reactors.countermeasure import (
    CountermeasureReaction,
    ReactionRetry,
    createOffences,
    offences,
    recordOffence,
)
from mice.reactors.escalation import (
    PlanRefused,
    aboutHosts,
    alertField,
    escalated,
    neverList,
    planFor,
    reactionId,
)
from mice.reactors.system import DummyModule, SystemModule
from mice.security.policy import LinkSecurity
from mice.services.reactionclient import ReactionClient
from mice.services.reactiondaemon import Countermeasures, ReactionDaemon
from mice.testing import MemoryProcessReactor
from tests.unit.reactors.test_system import CONFIG as SYSTEM_CONFIG

START = 1_800_000_000.0
KEY1 = "0123456789abcdef" * 8
KEY2 = "00112233445566778899aabbccddeeff" * 4

CONFIG = f"""\
[COUNTERMEASURE]
FID = 0x000001
PARAM = ip=source.address
DURATION = 600
SCOPE = host
FACTOR = 2
MAXDURATION = 3000
HISTORY = 1d
NEVER = 198.51.100.0/24

[ALERT_0x7010]
SCOPE = all
DURATION = 40m

[ALERT_0x1010]
SCOPE = none

[ALERT_0x5010]
PARAM = user=target.user
FID = 0x000002
ESCALATE = no

[DAEMON_1]
ADDRESS = 10.0.0.1:1977
SERVES = web01
SERVES = 10.0.0.1
PASSWORD = {KEY1}

[DAEMON_2]
ADDRESS = 10.0.0.2:1977
SERVES = *
PASSWORD = {KEY2}
"""


def settings(text=CONFIG):
    return loadConfigText(text, "/etc/mice/rid_4_countermeasure.conf",
                          kind="countermeasure").settings


def alert(source="203.0.113.5", target="web01", alertId=0x6010, user=None, origin=None):
    return Alert(messageId="1", analyzerId="MICE-RegEx", createTime="2026-01-01T00:00:00Z",
                 classification="x", alertId=alertId,
                 sources=(Node(address=source),) if source else (),
                 targets=(Node(hostname=target, user=user),) if target or user else (),
                 additionalData=(("origin", origin),) if origin else ())


def routed(key="src|stream|1|0", **kw):
    return RoutedAlert(key=key, alert=alert(**kw), document="<IDMEF-Message/>",
                       description="Monitoring Application", receivedFrom="aa01",
                       receivedAt="2026-01-01T00:00:01Z")


class PlanTests(SynchronousTestCase):
    def setUp(self):
        self.settings = settings()
        self.never = neverList(self.settings, ownAddresses=["192.0.2.100"])

    def plan(self, a):
        return planFor(self.settings, a, self.never)

    def test_defaultBanOnTheHost(self):
        plan = self.plan(alert())
        self.assertEqual((plan.fid, plan.params, plan.subject),
                         (1, {"ip": "203.0.113.5"}, "203.0.113.5/32"))
        self.assertEqual([d.name for d in plan.daemons], ["daemon1"])
        self.assertEqual(plan.rule.duration, 600)

    def test_otherHostsFallBackToStar(self):
        self.assertEqual([d.name for d in self.plan(alert(target="db01")).daemons], ["daemon2"])

    def test_hostFromOrigin(self):
        plan = self.plan(alert(target=None, origin="WEB01.example.org /var/log/messages 7"))
        self.assertEqual([d.name for d in plan.daemons], ["daemon1"])

    def test_sharedBan(self):
        plan = self.plan(alert(alertId=0x7010))
        self.assertEqual([d.name for d in plan.daemons], ["daemon1", "daemon2"])
        self.assertEqual(plan.rule.duration, 2400)

    def test_scopeNone(self):
        self.assertIsNone(self.plan(alert(alertId=0x1010)))

    def test_perAlertParams(self):
        plan = self.plan(alert(alertId=0x5010, user="mallory"))
        self.assertEqual((plan.fid, plan.params, plan.subject), (2, {"user": "mallory"},
                                                                 "user=mallory"))
        self.assertFalse(plan.rule.escalate)

    def test_noSource(self):
        e = self.assertRaises(PlanRefused, self.plan, alert(source=None))
        self.assertIn("no source.address", str(e))

    def test_neverAsked(self):
        for address, why in (("127.0.0.1", "loopback"), ("::1", "loopback"),
                             ("198.51.100.20", "NEVER at line 9"),
                             ("192.0.2.100", "the ManagementHost"),
                             ("10.0.0.2", "the ReactionDaemon daemon2"),
                             ("::ffff:10.0.0.1", "the ReactionDaemon daemon1")):
            e = self.assertRaises(PlanRefused, self.plan, alert(source=address))
            self.assertIn(why, str(e))

    def test_hostileValue(self):
        self.assertRaises(PlanRefused, self.plan, alert(alertId=0x5010, user="-rf"))

    def test_noDaemon(self):
        text = CONFIG.replace("[DAEMON_2]", "[DAEMON_3]").replace("SERVES = *", "SERVES = db01")
        e = self.assertRaises(PlanRefused, planFor, settings(text), alert(target="mail01"),
                              self.never)
        self.assertIn("no ReactionDaemon serves mail01", str(e))

    def test_fields(self):
        a = alert(user="bob")
        self.assertEqual(alertField(a, "source.address"), "203.0.113.5")
        self.assertEqual(alertField(a, "target.user"), "bob")
        self.assertIsNone(alertField(a, "source.port"))
        self.assertEqual(aboutHosts(alert(target="Web01.Example.org")),
                         ["web01.example.org", "web01"])

    def test_reactionIds(self):
        one, two = self.settings.daemons
        self.assertEqual(reactionId("k", one), reactionId("k", one))
        self.assertNotEqual(reactionId("k", one), reactionId("k", two))
        self.assertNotEqual(reactionId("k", one), reactionId("k2", one))
        self.assertTrue(reaction.isReactionId(reactionId("weird key|with spaces\n", one)))


class EscalationTests(SynchronousTestCase):
    def test_factorAndCap(self):
        self.assertEqual([escalated(600, n, 2, 3000) for n in range(5)],
                         [600, 1200, 2400, 3000, 3000])
        self.assertEqual(escalated(600, 3, 1.5, 0), 2025)
        self.assertEqual(escalated(0, 5, 2, 3000), 0)
        self.assertEqual(escalated(600, 10 ** 6, 2, 0) > 0, True)

    def setUp(self):
        self.pool = SynchronousPool()
        self.addCleanup(self.pool.connection.close)
        self.successResultOf(self.pool.runInteraction(createOffences))

    def offend(self, key, now, subject="203.0.113.5/32", history=86400, escalate=True):
        return self.successResultOf(self.pool.runInteraction(
            recordOffence, key, subject, now, history, 600, 2.0, 3000, escalate))

    def test_eachNewBanLonger(self):
        self.assertEqual(self.offend("a1", START), (600, 0))
        self.assertEqual(self.offend("a2", START + 700), (1200, 1))
        self.assertEqual(self.offend("a3", START + 2000), (2400, 2))
        self.assertEqual(self.offend("a4", START + 5000), (3000, 3))
        self.assertEqual(self.offend("a5", START + 9000), (3000, 4))

    def test_sameAlertSameDuration(self):
        """
        The service calls react at least once per job: a repeat of an
        alert neither counts nor changes its duration.
        """
        self.assertEqual(self.offend("a1", START), (600, 0))
        self.assertEqual(self.offend("a1", START + 5), (600, 0))
        self.assertEqual(self.offend("a2", START + 700), (1200, 1))
        self.assertEqual(self.offend("a2", START + 800), (1200, 1))
        self.assertEqual(self.successResultOf(self.pool.runInteraction(
            offences, "203.0.113.5/32")), (2, 2))

    def test_alertsDuringABanRenewIt(self):
        """
        Alerts already on their way while a ban runs are not new bans.
        """
        self.offend("a1", START)
        self.assertEqual(self.offend("a2", START + 10), (600, 0))
        self.assertEqual(self.offend("a3", START + 20), (600, 0))
        self.assertEqual(self.offend("a4", START + 601), (1200, 1))

    def test_historyForgets(self):
        self.offend("a1", START)
        self.assertEqual(self.offend("a2", START + 86400 + 1), (600, 0))

    def test_perSubject(self):
        self.offend("a1", START)
        self.assertEqual(self.offend("b1", START + 1, subject="203.0.113.6/32"), (600, 0))

    def test_noEscalation(self):
        self.offend("a1", START, escalate=False)
        self.assertEqual(self.offend("a2", START + 700, escalate=False), (600, 1))


class Rig:
    """
    Two ReactionDaemon engines (dummy modules) and the countermeasure
    reaction, linked in memory with the real PSK security.
    """

    def __init__(self, case, text=CONFIG):
        self.case = case
        self.reactor = MemoryProcessReactor()
        self.reactor.advance(START)
        self.daemons = {}
        self.pumps = {}
        for name, key, fids in (("daemon1", KEY1, (1, 2)), ("daemon2", KEY2, (1,))):
            pool = SynchronousPool()
            case.addCleanup(pool.connection.close)
            rct = loadConfigText(SYSTEM_CONFIG, "/etc/mice/rct.conf", kind="rct_system")
            modules = {fid: DummyModule(rct.settings, self.reactor) for fid in fids}
            if 2 in modules:
                modules[2] = SystemModule(loadConfigText(
                    SYSTEM_CONFIG.replace("{ip}", "{user}").replace("ip:ip", "user:user"),
                    "/etc/mice/rct2.conf", kind="rct_system").settings, self.reactor)
                modules[2].canRun = lambda path: True
            engine = Countermeasures(modules, CountermeasureStore(pool), self.reactor)
            case.successResultOf(ensureDeferred(engine.restore()))
            self.daemons[name] = ReactionDaemon([], engine, LinkSecurity.fromSettings(True, key))
        self.pool = SynchronousPool()
        case.addCleanup(self.pool.connection.close)
        self.agent = CountermeasureReaction(settings(text), self.pool, self.reactor,
                                            self.makeClient, ownAddresses=["192.0.2.100"])
        case.successResultOf(self.pool.runInteraction(createOffences))

    def makeClient(self, daemonSettings, onReady):
        return ReactionClient(None, self.reactor, "mngmthost",
                              LinkSecurity.fromSettings(True, daemonSettings.password)
                              .securityFactory(), description=daemonSettings.name,
                              timeout=30, onReady=onReady)

    def connect(self, name):
        client = self.agent.clients[name]
        daemon = self.daemons[name]
        peer = IPv4Address("TCP", "192.0.2.100", 50000)
        factory = client.factory
        _, server, pump = iosim.connectedServerAndClient(
            lambda: daemon.factory.buildProtocol(peer), lambda: factory.buildProtocol(None),
            serverTransportFactory=lambda p: iosim.FakeTransport(p, True, peerAddress=peer))
        pump.flush()
        self.pumps[name] = (pump, server)
        self.case.assertTrue(client.connected, name)

    def disconnect(self, name):
        pump, server = self.pumps.pop(name)
        server.transport.loseConnection()
        pump.flush()

    def flush(self):
        for _ in range(3):
            for pump, _ in self.pumps.values():
                pump.flush()

    def react(self, r):
        d = self.agent.react(r)
        self.flush()
        return d

    def active(self, name):
        return list(self.daemons[name].engine.current.values())


class DeliveryTests(SynchronousTestCase):
    def setUp(self):
        self.rig = Rig(self)
        self.assertTrue(verifyObject(IReaction, self.rig.agent))
        self.assertEqual(self.rig.agent.pipe, "rid_4_countermeasure")
        self.rig.connect("daemon1")
        self.rig.connect("daemon2")

    def test_banOnTheHost(self):
        outcome = self.successResultOf(self.rig.react(routed()))
        self.assertIn("0x000001 ip=203.0.113.5 for 600s (ban 1 of 203.0.113.5/32)", outcome)
        self.assertIn("daemon1: applied", outcome)
        [ban] = self.rig.active("daemon1")
        self.assertEqual((ban.params, ban.until), ({"ip": "203.0.113.5"}, START + 600))
        self.assertIn("ManagementHost rid_4_countermeasure: alert 0x6010", ban.askedBy)
        self.assertEqual(self.rig.active("daemon2"), [])

    def test_repeatOffenderLonger(self):
        self.successResultOf(self.rig.react(routed("k1")))
        self.rig.reactor.advance(601)
        self.assertEqual(self.rig.active("daemon1"), [])
        outcome = self.successResultOf(self.rig.react(routed("k2")))
        self.assertIn("for 1200s (ban 2 of", outcome)
        [ban] = self.rig.active("daemon1")
        self.assertEqual(ban.until, START + 601 + 1200)

    def test_atLeastOnceNeverTwice(self):
        """
        The service calls react again for the same job (a retry, a
        ManagementHost restart): the daemon answers with its first answer,
        nothing is applied twice and the ban is not escalated.
        """
        first = self.successResultOf(self.rig.react(routed("k1")))
        again = self.successResultOf(self.rig.react(routed("k1")))
        self.assertIn("for 600s (ban 1 of", again)
        self.assertEqual(self.rig.daemons["daemon1"].engine.counts["applied"], 1)
        self.assertEqual(self.rig.daemons["daemon1"].engine.counts["repeats"], 1)
        self.assertIn("applied", first)

    def test_sharedBan(self):
        outcome = self.successResultOf(self.rig.react(routed(alertId=0x7010)))
        self.assertIn("daemon1: applied", outcome)
        self.assertIn("daemon2: applied", outcome)
        self.assertEqual(len(self.rig.active("daemon1")), 1)
        self.assertEqual(len(self.rig.active("daemon2")), 1)
        self.assertEqual(self.rig.active("daemon2")[0].until, START + 2400)

    def test_neverListRefusedWithoutAsking(self):
        counts = self.rig.daemons["daemon1"].engine.counts
        asked = counts["requests"]
        f = self.failureResultOf(self.rig.react(routed(source="192.0.2.100")), ReactionRefused)
        self.assertIn("the ManagementHost", str(f.value))
        self.assertEqual(counts["requests"], asked)

    def test_refusedByTheDaemon(self):
        """
        The daemon's own checks refuse what the ManagementHost let through
        (a user name the type refuses): final.
        """
        f = self.failureResultOf(self.rig.react(routed(alertId=0x5010, user="Mallory")),
                                 ReactionRefused)
        self.assertIn("daemon1: refused: user: 'Mallory' is not a user name", str(f.value))

    def test_daemonDownIsRetried(self):
        """
        A daemon that does not answer: react fails (the service retries);
        once it is back the same delivery is made, once.
        """
        self.rig.disconnect("daemon1")
        d = self.rig.react(routed("k1"))
        self.rig.reactor.advance(5)
        f = self.failureResultOf(d, ReactionRetry)
        self.assertIn("no answer from the ReactionDaemon daemon1", str(f.value))
        self.assertEqual(self.rig.active("daemon1"), [])
        self.rig.connect("daemon1")
        outcome = self.successResultOf(self.rig.react(routed("k1")))
        self.assertIn("for 600s (ban 1 of", outcome)
        self.assertEqual(len(self.rig.active("daemon1")), 1)

    def test_sharedBanPartlyDown(self):
        self.rig.disconnect("daemon2")
        d = self.rig.react(routed("k1", alertId=0x7010))
        self.rig.reactor.advance(5)
        self.failureResultOf(d, ReactionRetry)
        self.assertEqual(len(self.rig.active("daemon1")), 1)
        self.rig.connect("daemon2")
        outcome = self.successResultOf(self.rig.react(routed("k1", alertId=0x7010)))
        self.assertIn("daemon2: applied", outcome)
        self.assertEqual(self.rig.daemons["daemon1"].engine.counts["applied"], 1)

    def test_commandFailureIsRetried(self):
        d = self.rig.react(routed(alertId=0x5010, user="mallory"))
        self.rig.reactor.spawned[-1].transport.end(1, stderr=b"no such user\n")
        self.rig.flush()
        f = self.failureResultOf(d, ReactionRetry)
        self.assertIn("failed: the command failed: exit status 1: no such user", str(f.value))

    def test_activeCountermeasures(self):
        self.successResultOf(self.rig.react(routed(alertId=0x7010)))
        d = self.rig.agent.activeCountermeasures()
        self.rig.flush()
        view = self.successResultOf(d)
        self.assertEqual(set(view), {"daemon1", "daemon2"})
        for name in view:
            self.assertEqual([c["params"] for c in view[name]["active"]],
                             [{"ip": "203.0.113.5"}])
            self.assertIsNone(view[name]["problem"])
        # A daemon that is down keeps its last known list, and says why.
        self.rig.disconnect("daemon2")
        d = self.rig.agent.activeCountermeasures()
        self.rig.flush()
        self.rig.reactor.advance(30)
        view = self.successResultOf(d)
        self.assertEqual(len(view["daemon2"]["active"]), 1)
        self.assertIn("no answer", view["daemon2"]["problem"])

    def test_viewRefreshedOnReconnect(self):
        """
        After an outage the view is refreshed from the daemon as soon as
        the link is back: a ban lifted meanwhile (by hand) is gone.
        """
        self.successResultOf(self.rig.react(routed()))
        d = self.rig.agent.activeCountermeasures()
        self.rig.flush()
        self.assertEqual(len(self.successResultOf(d)["daemon1"]["active"]), 1)
        self.rig.disconnect("daemon1")
        engine = self.rig.daemons["daemon1"].engine
        [ban] = self.rig.active("daemon1")
        self.successResultOf(engine.handle(reaction.checkRequest(
            reaction.react("u", "undo", target=ban.id, by="admin")), None, "console"))
        self.rig.connect("daemon1")
        self.rig.flush()
        self.assertEqual(self.rig.agent.view["daemon1"]["active"], [])
