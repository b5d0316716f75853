"""
The ManagementHost over loopback TCP, built from its configs as
C{twistd mice-bufferdaemon} builds it (the IDMEF decoder, act_generic, the
reaction journal and queues on a real SQLite file or the real MariaDB):
IDMEF written by other tools shipped as C{mice send --kind idmef} ships
it, heartbeats, hostile XML beside a good client, and the guarantee that a
batch is acknowledged only once its alerts are stored and their reactions
journaled.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.task import deferLater
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from mice import reactors
from mice.config import loadBufferDaemon
from mice.decoders.idmef import IdmefDecoder
from mice.forwarder.shipping import shipFile
from mice.management.routing import Router
from mice.postproc.actgeneric import ActGeneric
from mice.ringbuffer import openRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import (
    SHIPPED_CONFIGS,
    MemoryJournal,
    MemoryReaction,
    temporaryMariaDBUrl,
    writeManagementDaemon,
)
from tests import ROOT
from tests.integration.test_faults import waitFor

DATA = os.path.join(ROOT, "tests", "data", "idmef")
MATCH_PATH = os.path.join(SHIPPED_CONFIGS, "matchfiles")
DTD = os.path.join(SHIPPED_CONFIGS, "idmef-message.dtd")

#: The in-memory agents of these tests, by pipe (L{buildMemoryAgent}).
AGENTS = {}


def buildMemoryAgent(pipe, configPath, reactor, pipePath):
    agent = AGENTS[pipe] = MemoryReaction(pipe)
    return agent


def writeManagementHost(directory, journalUrl, port=0, reactions=((2, "rid_2_send_to_alert_db"),),
                        timeInterval=0.1, mmSize=0, dtd=True):
    """
    Write a ManagementHost's BufferDaemon and act_generic configs (the
    seed's match file for MICE-RegEx) into C{directory}.

    @return: the BufferDaemon config's path.
    """
    os.makedirs(directory, exist_ok=True)
    act = os.path.join(directory, "act.conf")
    with open(act, "w") as f:
        f.write("[REACTION_ID]\n" + "".join(f"RID = {rid}\n" for rid, _ in reactions)
                + "[RID_PIPENAME]\n" + "".join(f"PIPE = {pipe}\n" for _, pipe in reactions)
                + '[ANALYZER_ID]\nANAID = "MICE-RegEx"\n[ANALYZER_MATCHFILE]\n'
                "MF = match_file_aa_regex.txt\n"
                + (f"[IDMEF_INFO]\nDTDFile = {DTD}\n" if dtd else "")
                + f"[MISC]\nPIPE_PATH = run\nMATCH_PATH = {MATCH_PATH}\n"
                f"[JOURNAL]\nURL = {journalUrl}\nRETRY_FIRST = 0.1\nRETRY_MAX = 1\n")
    ring = (f"MMPATH = cache-mh\nMMSIZE = {mmSize}\nRBSIZE = 0\n" if mmSize
            else "RBSIZE = 64\n")
    return writeManagementDaemon(directory, port, timeInterval, ring)


def cancel(shipping):
    shipping.addErrback(lambda f: f.trap(CancelledError))
    shipping.cancel()


class ManagementHostMixin:
    timeout = 60

    def databaseUrl(self):
        raise NotImplementedError

    def setUp(self):
        self.patch(reactors, "AGENTS", dict(
            reactors.AGENTS, rid_9_memory="tests.integration.test_management.buildMemoryAgent"))
        AGENTS.clear()
        self.directory = os.path.abspath(self.mktemp())
        self.url = self.databaseUrl()

    async def startHost(self, **kwargs):
        conf = writeManagementHost(self.directory, self.url, **kwargs)
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        [port] = await daemon.startService()
        self.addCleanup(daemon.stopService)
        self.daemon = daemon
        self.post = daemon.pipelines[0].postprocessor
        [self.reactions] = self.post.services
        return port.getHost().port

    def sender(self, port, source="agent1"):
        sender = ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{port}"), source,
                                "idmef", reactor, description="management host")
        sender.startService()
        self.addCleanup(sender.stopService)
        return sender

    def query(self, sql):
        def run(txn):
            txn.execute(sql)
            return [tuple(row) for row in txn.fetchall()]

        return self.post.journal.pool.runInteraction(run)

    async def idle(self):
        await self.reactions.whenIdle(reactor)

    async def test_idmefFromOtherTools(self):
        """
        Prelude's xmlmod output (pretty and on one line), the RFC's
        examples and Snort-style output, shipped as they are: every Alert is
        a row of alert_entry (reaction 2, by default: their analyzers have
        no match file), described by its classification; each analyzer's
        last heartbeat is kept; documents the DTD refuses are flagged.
        """
        port = await self.startHost()
        sender = self.sender(port)
        for name in sorted(os.listdir(DATA)):
            await ensureDeferred(shipFile(sender, os.path.join(DATA, name), kind="idmef"))
        await self.idle()
        rows = await self.query("SELECT analyzerid, alertdesc, classification,"
                                " dtd_problems IS NULL FROM alert_entry")
        self.assertEqual(len(rows), 10)
        self.assertEqual(sorted({(r[0], r[3]) for r in rows}), [
            ("3180379393423744", 0), ("bc-sensor01", 1), ("hq-dmz-analyzer01", 1),
            ("snort-eth0", 1)])
        self.assertTrue(all(r[1] == r[2] for r in rows))
        beats = await self.query("SELECT analyzerid, host, heartbeat_interval, origin"
                                 " FROM analyzer_heartbeat ORDER BY analyzerid")
        self.assertEqual(beats, [("3180379393423744", "loghost.example.org", None, "agent1"),
                                 ("bc-sensor01", "sensor.example.com", 600, "agent1"),
                                 ("hq-dmz-analyzer01", "analyzer01.example.com", None,
                                  "agent1")])
        routing = await self.query("SELECT routing, COUNT(*) FROM received_alert GROUP BY"
                                   " routing")
        self.assertEqual(routing, [("no match file", 10)])
        # The alert database shares the journal's: done in the journal's
        # transaction, not by its queue.
        self.assertEqual(self.reactions.queues["rid_2_send_to_alert_db"].counts["done"], 0)
        jobs = await self.query("SELECT state, attempts, outcome FROM reaction_job")
        self.assertEqual(len(jobs), 10)
        self.assertEqual({(state, attempts) for state, attempts, _ in jobs}, {("done", 1)})
        self.assertIn("with its journal entry", jobs[0][2])

    async def test_alertDatabaseElsewhere(self):
        """
        With its own database (rid_2_send_to_alert_db.conf), reaction 2 is
        run by its queue, after the journal, and recorded there.
        """
        import sqlite3

        other = os.path.join(self.directory, "elsewhere.db")
        os.makedirs(self.directory, exist_ok=True)
        with open(os.path.join(self.directory, "rid_2_send_to_alert_db.conf"), "w") as f:
            f.write(f"[MYSQL_SERVER]\nURL = sqlite:///{other}\n")
        port = await self.startHost()
        self.assertEqual(self.post.inline, {})
        await ensureDeferred(shipFile(self.sender(port), os.path.join(DATA, "snort.xml"),
                                      kind="idmef"))
        await self.idle()
        with sqlite3.connect(other) as db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM alert_entry").fetchone(), (3,))
        self.assertEqual(self.reactions.queues["rid_2_send_to_alert_db"].counts["done"], 3)
        jobs = await self.query("SELECT state, outcome FROM reaction_job")
        self.assertEqual(jobs, [("done", f"stored in alert_entry (sqlite:///{other})")] * 3)

    async def test_matchFileRouting(self):
        """
        M-ICE alerts are described by the seed's match file and trigger its
        reactions that have a pipe: RID 4 is paired with an in-memory agent
        here, so 0x6010 runs reactions 2 and 4 (1 and 3 have no pipe in this
        config), 0x8010 reaction 2 only; each job done once, in the journal.
        """
        from mice.alerts import Alert
        from mice.idmef import toXml

        port = await self.startHost(reactions=((2, "rid_2_send_to_alert_db"),
                                               (4, "rid_9_memory")))
        documents = [toXml(Alert(str(n), "MICE-RegEx", "2004-11-22T10:00:01+00:00", "raw",
                                 alertId=aid)).decode()
                     for n, aid in enumerate((0x6010, 0x8010, 0x6010), 1)]
        await self.sender(port).submit("s", 1, None, documents)
        await self.idle()
        rows = await self.query("SELECT alertid, alertdesc FROM alert_entry ORDER BY seq")
        self.assertEqual(rows, [("0x6010", "Monitoring Application"),
                                ("0x8010", "Firewall Rule: Drop"),
                                ("0x6010", "Monitoring Application")])
        self.assertEqual([r.alert.messageId for r in AGENTS["rid_9_memory"].reacted], ["1", "3"])
        self.assertEqual(AGENTS["rid_9_memory"].reacted[0].rids, (2, 4))
        jobs = await self.query("SELECT rid, state, attempts FROM reaction_job ORDER BY rid")
        self.assertEqual(jobs, [(2, "done", 1)] * 3 + [(4, "done", 1)] * 2)
        self.assertEqual(self.post.router.counts[("unserved rid", 1)], 2)

    async def test_hostileBesideGood(self):
        """
        A client sending hostile XML is refused (its connection closed, the
        reason logged) and nothing of it is stored, while a good client
        beside it ships everything.
        """
        messages = []

        def observer(event):
            messages.append(formatEvent(event))

        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        port = await self.startHost()
        laughs = ('<?xml version="1.0"?><!DOCTYPE IDMEF-Message [<!ENTITY a "aaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><IDMEF-Message>&b;</IDMEF-Message>')
        hostile = self.sender(port, source="mallory")
        refused = hostile.submit("evil", 1, None, [laughs])
        self.addCleanup(cancel, refused)
        good = self.sender(port, source="agent1")
        await ensureDeferred(shipFile(good, os.path.join(DATA, "snort.xml"), kind="idmef"))
        await waitFor(lambda: any("closing: batch" in m and "DOCTYPE" in m for m in messages),
                      10, "the refusal logged")
        await self.idle()
        self.assertFalse(refused.called)
        self.assertEqual(await self.query("SELECT DISTINCT origin FROM alert_entry"),
                         [("agent1",)])
        self.assertEqual(await self.query("SELECT COUNT(*) FROM received_alert"), [(3,)])

    async def test_resentBatchMakesNoSecondReaction(self):
        """
        The same batch sent again (a sender that lost its acknowledgement)
        is acknowledged again and changes nothing: no second row, no second
        job, no second reaction.
        """
        port = await self.startHost(reactions=((2, "rid_2_send_to_alert_db"),
                                               (9, "rid_9_memory")))
        path = os.path.join(DATA, "rfc4765.xml")
        for _ in range(2):
            sender = self.sender(port)
            await ensureDeferred(shipFile(sender, path, kind="idmef"))
            await self.idle()
        self.assertEqual(await self.query("SELECT COUNT(*) FROM alert_entry"), [(3,)])
        self.assertEqual(await self.query("SELECT COUNT(*) FROM reaction_job"), [(3,)])
        self.assertEqual(AGENTS["rid_9_memory"].reacted, [])


class SQLiteManagementHostTests(ManagementHostMixin, TestCase):
    def databaseUrl(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        return "sqlite:///" + os.path.join(directory, "alerts.db")


class MariaDBManagementHostTests(ManagementHostMixin, TestCase):
    def databaseUrl(self):
        return temporaryMariaDBUrl(self)


class AcknowledgementTests(TestCase):
    """
    A batch is acknowledged to its sender only once its alerts are stored
    and their reactions journaled (the seed's ManagementHost has a ring in
    memory, RBSIZE: the ack waits for the post-processor).
    """

    timeout = 30

    async def test_ackAfterJournal(self):
        journal = MemoryJournal()
        journal.holding = True
        agent = MemoryReaction("rid_2_send_to_alert_db")
        from mice.services.management import ReactionQueue, ReactionService

        reactions = ReactionService({2: agent.pipe}, [ReactionQueue(agent, journal, reactor)])
        post = ActGeneric(Router({}, {2: agent.pipe}), journal, reactor, dispatcher=reactions)
        daemon = BufferDaemon([serverFromString(reactor, "tcp:0:interface=127.0.0.1")],
                              [Pipeline(IdmefDecoder(), post, openRing(None, 0, None, 16))],
                              reactor, timeInterval=0.05)
        reactions.setServiceParent(daemon)
        [port] = await daemon.startService()
        self.addCleanup(daemon.stopService)
        sender = ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}"),
                                "agent1", "idmef", reactor)
        sender.startService()
        self.addCleanup(sender.stopService)
        with open(os.path.join(DATA, "snort.xml"), "rb") as f:
            from mice.forwarder.shipping import idmefBatches

            [(_, documents)] = list(idmefBatches(f.read()))
        acked = sender.submit("snort.xml", 1, None, documents)
        await waitFor(lambda: journal.held, 10, "the journal transaction")
        await deferLater(reactor, 0.3)
        self.assertFalse(acked.called, "acknowledged before the journal committed")
        self.assertEqual(agent.reacted, [], "reacted before the journal committed")
        self.assertEqual(journal.alerts, {})
        # The journal fails once: still no ack; the flush is tried again.
        journal.holding, journal.failing = False, True
        held, journal.held = journal.held, []
        for d, _ in held:
            d.errback(RuntimeError("the journal's database is down"))
        await deferLater(reactor, 0.3)
        self.assertFalse(acked.called)
        journal.failing = False
        await acked
        self.flushLoggedErrors(RuntimeError)
        self.assertEqual(len(journal.alerts), 3)
        self.assertEqual(set(journal.states().values()) <= {("pending", 0), ("done", 1)}, True)
        await waitFor(lambda: len(agent.reacted) == 3, 10, "the reactions")
        self.assertIsInstance(acked, Deferred)
