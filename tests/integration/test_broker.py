"""
RabbitMQ as the spine (issue 18), against the real broker on 127.0.0.1:5672
(each test in a scratch vhost of its own, L{ScratchVhost}): a forwarder
spools while the broker is cut off and every line is stored exactly once
after; a raw-log consumer killed with SIGKILL while it holds batches loses
none (the broker gives them to the next consumer, the store keeps each line
once); three analysis agents competing for one queue raise every alert
exactly once, with ids unique across them.
"""

import os
import re
import signal
import sqlite3
from types import SimpleNamespace

from pika.exceptions import ChannelClosedByBroker
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

import mice
from mice.config import loadBufferDaemon, loadDataForwarder
from mice.db.schema import RAWLOG_TABLES
from mice.decoders.logformat import LogFormatDecoder
from mice.forwarder.shipping import shipFile
from mice.protocols import amqp, wire
from mice.protocols.amqp import BrokerTarget, parseAmqpUrl
from mice.ringbuffer import MemoryRing, MmapRing
from mice.services.broker import BrokerIntake, brokerSender, prefetchAdvice
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.tap import dataforwarder
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import (
    SHIPPED_CONFIGS,
    writeAgentConfigs,
    writeForwarderConfig,
    writeRawLogConfigs,
)
from tests.integration.fixtures_broker import ScratchVhost, rabbitmqctl
from tests.integration.fixtures_db import ScratchMariaDB, sqliteUrl
from tests.integration.processes import MICE, spawn, twistdArgv
from tests.integration.processes import mice as runMice
from tests.integration.test_console import until
from tests.integration.test_management import writeManagementHost

SAMPLE_LOG = os.path.join(os.path.dirname(mice.__file__), "data", "sample.log")


def logLines(start, count):
    return "".join(f"Nov 22 00:00:{n % 60:02d} web01 demo[{n}]: broker test line {n}\n"
                   for n in range(start, start + count))


def brokerSection(url, queue, prefetch=8):
    return f"[BROKER]\nAMQP = {url}\nQUEUE = {queue}\nPREFETCH = {prefetch}\n"


def brokerPipeline(testCase, url, lines):
    """
    A raw-log BufferDaemon (SQLite store) consuming queue C{rawlog} of the
    broker at C{url}, and a forwarder publishing C{lines} of a log file to
    it, both built by their taps, started, and stopped when C{testCase}
    ends.

    @return: the log file's path, the database's path, the forwarder's
        destination and the daemon's L{BrokerIntake}.
    """
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    dbUrl, db = sqliteUrl(testCase)
    conf = writeRawLogConfigs(os.path.join(directory, "bd"), dbUrl, batchSize=500)
    with open(conf, "a") as f:
        f.write(brokerSection(url, "rawlog"))
    logPath = os.path.join(directory, "messages")
    with open(logPath, "w") as f:
        f.write(logLines(1, lines))
    fwConf = writeForwarderConfig(os.path.join(directory, "fw"), [logPath],
                                  stateDirectory=os.path.join(directory, "state"))
    with open(fwConf) as f:
        text = f.read()
    with open(fwConf, "w") as f:
        f.write(text.replace("SQLPORT = 0\n", f"SQLPORT = 0\nAMQP = {url}\nQUEUE = rawlog\n"))
    daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
    daemon.startService()
    testCase.addCleanup(daemon.stopService)
    [intake] = [s for s in daemon if isinstance(s, BrokerIntake)]
    forwarder = dataforwarder.buildForwarder(loadDataForwarder(fwConf), reactor)
    forwarder.startService()
    testCase.addCleanup(forwarder.stopService)
    destination, = forwarder.destinations
    return logPath, db, destination, intake


def twistd(directory, name, command, conf):
    log = open(os.path.join(directory, f"{name}.log"), "w")
    return log, twistdArgv(command, conf)


def storedSeqs(path):
    """
    The seqs stored, sorted; none before the store made its tables.  A
    read waits for the daemon's write in progress (up to 60 s, on a
    loaded machine) rather than taking a locked database for an empty one.
    """
    db = sqlite3.connect(path, timeout=60)
    try:
        return sorted(seq for table in RAWLOG_TABLES
                      for (seq,) in db.execute(f"SELECT seq FROM {table}"))
    except sqlite3.OperationalError as e:
        if "no such table" not in str(e):
            raise
        return []
    finally:
        db.close()


class RecordingChannel:
    """
    What a consumer's channel is told: acks (tag, multiple), rejects, nacks.
    """

    def __init__(self):
        self.acks = []
        self.rejects = []
        self.nacks = []

    def basic_ack(self, tag, multiple=False):
        self.acks.append((tag, multiple))

    def basic_reject(self, tag, requeue=True):
        self.rejects.append(tag)

    def basic_nack(self, tag, multiple=False, requeue=True):
        self.nacks.append(tag)


class HeldStore:
    """
    A post-processor whose every flush waits until the test fires it.
    """

    name = "held"
    maxErrors = 3

    def __init__(self):
        self.flushes = []

    def start(self):
        pass

    def process(self, records):
        d = Deferred()
        self.flushes.append((list(records), d))
        return d

    def stop(self):
        pass


HOST = {"hostname": "web01", "domain": "", "ip": "10.0.0.5", "osystem": "Linux",
        "release": "", "version": ""}


class IntakeAcknowledgementTests(SynchronousTestCase):
    """
    L{BrokerIntake} in front of a real L{BufferDaemon} (memory ring, a store
    the test settles), its channel one that records what it is told.
    """

    def setUp(self):
        self.clock = Clock()
        self.store = HeldStore()
        self.daemon = BufferDaemon([], [Pipeline(LogFormatDecoder(), self.store, MemoryRing(64),
                                                 flushRecords=30)], self.clock, timeInterval=2.0)
        self.daemon.startService()
        self.addCleanup(self.daemon.stopService)
        target = BrokerTarget(parseAmqpUrl("amqp://127.0.0.1/"), "q", prefetch=16)
        self.intake = BrokerIntake(target, self.daemon, self.clock,
                                   TCP4ClientEndpoint(MemoryReactor(), "127.0.0.1", 1))
        self.channel = self.intake.channel = RecordingChannel()

    def deliver(self, tag, records=10, body=None):
        if body is None:
            body = wire.encodeMessage(wire.batch(
                0, "/var/log/messages", 1 + (tag - 1) * records, HOST,
                [["2026-11-22", "10:00:00", f"line {tag}.{n}", ""] for n in range(records)]))
        self.intake._deliver(SimpleNamespace(
            channel=self.channel, body=body,
            method=SimpleNamespace(delivery_tag=tag, redelivered=False),
            properties=SimpleNamespace(headers=amqp.headers("web01", "log"))))

    def test_oneAckPerFlush(self):
        """
        The batches one flush stores are acknowledged together, once it has
        stored them, by one C{basic_ack(last, multiple=True)}.
        """
        for tag in (1, 2, 3):
            self.deliver(tag)
        self.clock.advance(0)
        [(records, d)] = self.store.flushes
        self.assertEqual(len(records), 30)
        self.assertEqual(self.channel.acks, [])
        self.assertEqual(self.intake.unacknowledged, 3)
        d.callback(None)
        self.assertEqual(self.channel.acks, [], "sent at the end of the reactor turn")
        self.clock.advance(0)
        self.assertEqual(self.channel.acks, [(3, True)])
        self.assertEqual(self.intake.unacknowledged, 0)

    def test_olderTagNotYetDurable(self):
        """
        A tag made durable before an older one is not acknowledged until
        the older one is too: C{multiple=True} would acknowledge the older
        one with it.
        """
        for tag in (1, 2, 3):
            self.deliver(tag, records=1)
        self.intake.stored(self.channel, 3)
        self.clock.advance(0)
        self.assertEqual(self.channel.acks, [])
        self.intake.stored(self.channel, 1)
        self.clock.advance(0)
        self.assertEqual(self.channel.acks, [(1, True)])
        self.intake.stored(self.channel, 2)
        self.clock.advance(0)
        self.assertEqual(self.channel.acks, [(1, True), (3, True)])
        self.assertEqual(self.intake.unacknowledged, 0)

    def test_rejectedTagNeverWaitedFor(self):
        """
        A poison message is rejected at once and the tags after it are not
        held back by it.
        """
        self.deliver(1, records=1)
        self.deliver(2, body=b"not json")
        self.deliver(3, records=1)
        self.assertEqual(self.channel.rejects, [2])
        self.intake.stored(self.channel, 1)
        self.intake.stored(self.channel, 3)
        self.clock.advance(0)
        self.assertEqual(self.channel.acks, [(3, True)])

    def test_oldChannelForgotten(self):
        """
        What was stored from a channel that is gone is not acknowledged on
        the next one (the broker has given those messages out again).
        """
        self.deliver(1, records=1)
        self.intake.stored(self.channel, 1)
        old, self.intake.channel = self.channel, None
        self.intake.channelLost(Failure(Exception("cut")))
        self.channel = self.intake.channel = RecordingChannel()
        self.clock.advance(0)
        self.intake.stored(old, 1)
        self.clock.advance(0)
        self.assertEqual((old.acks, self.channel.acks), ([], []))
        self.assertEqual(self.intake.unacknowledged, 0)

    def test_stopSendsPendingAcks(self):
        """
        The acknowledgements of the last flush leave before the intake
        closes its connection.
        """
        self.deliver(1, records=1)
        self.intake.stored(self.channel, 1)
        self.intake.stopService()
        self.assertEqual(self.channel.acks, [(1, True)])


class PrefetchAdviceTests(SynchronousTestCase):
    """
    L{prefetchAdvice}: a PREFETCH too small for the store behind it, or far
    larger than the daemon keeps decoded, is said; one that fits is not.
    """

    def pipeline(self, flushRecords=5000, concurrency=2, durable=True):
        ring = (MmapRing(self.mktemp(), 8, 2 ** 20) if durable else MemoryRing(8))
        self.addCleanup(ring.close)
        return Pipeline(LogFormatDecoder(), HeldStore(), ring, flushRecords=flushRecords,
                        concurrency=concurrency, name="log->store")

    def test_fits(self):
        self.assertEqual(prefetchAdvice(64, [self.pipeline()]), [])
        self.assertEqual(prefetchAdvice(15, [self.pipeline()]), [])

    def test_tooSmall(self):
        [advice] = prefetchAdvice(8, [self.pipeline()])
        self.assertIn("PREFETCH 8 holds up to 8,000 records", advice)
        self.assertIn("PREFETCH 15 or more", advice)

    def test_farTooLarge(self):
        [advice] = prefetchAdvice(256, [self.pipeline()])
        self.assertIn("more than the daemon keeps decoded (65,536)", advice)
        self.assertEqual(prefetchAdvice(256, [self.pipeline(durable=False)]), [])


class BrokerOnlyDaemonTests(TestCase):
    def test_shippedRawLogConsumer(self):
        """
        The shipped raw-log consumer (no address, a [BROKER] queue) builds
        with its intake as a child service and no listener, and does not
        warn about the link keys of a link it does not have.
        """
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        daemon = buildBufferDaemon(loadBufferDaemon(
            os.path.join(SHIPPED_CONFIGS, "bufferdaemon-rawlogdb-broker.conf")), reactor)
        self.assertEqual(daemon.endpoints, [])
        [intake] = [s for s in daemon if isinstance(s, BrokerIntake)]
        self.assertEqual(intake.target.queue, "mice.rawlog")
        self.assertEqual([e for e in events if e.get("log_level") == LogLevel.critical], [])


class ForwarderOutageTests(TestCase):
    # rabbitmqctl takes seconds a call on a loaded machine.
    timeout = 300

    def countSqlite(self, path):
        return storedSeqs(path)

    async def test_brokerCutForwarderSpools(self):
        """
        A forwarder whose [SQL_SERVER] is a queue, and a raw-log
        BufferDaemon consuming it (both built by their taps): when the broker
        cuts them off, the forwarder keeps its lines (not connected,
        batches pending, file offsets not advanced) as for a BufferDaemon
        that is down; when it is back, every line is stored exactly once.
        The broker password is in no log line.
        """
        vhost = ScratchVhost(self, ownUser=True)
        logged = []
        observer = lambda event: logged.append(formatEvent(event) or "")  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        logPath, path, destination, _ = brokerPipeline(self, vhost.url, 3000)
        await until(lambda: len(self.countSqlite(path)) == 3000, 30)

        vhost.block()
        await until(lambda: not destination.sender.connected, 30)
        with open(logPath, "a") as f:
            f.write(logLines(3001, 3000))
        await until(lambda: destination.pending > 0, 10)
        self.assertEqual(len(self.countSqlite(path)), 3000)
        self.assertFalse(destination.sender.connected)
        # Connected, cut off: the target is in the log, its password not.
        self.assertTrue(any("queue rawlog" in line for line in logged))
        self.assertEqual([line for line in logged if vhost.password in line], [])

        vhost.unblock()
        await until(lambda: len(self.countSqlite(path)) >= 6000 and not destination.pending, 60)
        # A batch published again after the cut (its first confirm lost with
        # the connection) may still wait in the queue: the queue drains, and
        # the store absorbs the copy.
        await until(lambda: vhost.queues() == {"rawlog": (0, 0)}, 30)
        self.assertEqual(self.countSqlite(path), list(range(1, 6001)))


class ConsumerKilledTests(TestCase):
    timeout = 300

    async def test_killedConsumerLosesNothing(self):
        """
        Two raw-log BufferDaemons (real processes) consume one queue into
        one MariaDB database.  The first stores half the lines; then its
        store blocks (the tables are locked) while it holds batches
        unacknowledged (its prefetch: the broker keeps the rest), and it is
        killed with SIGKILL.  The second gets them all, redelivered: every
        line is stored exactly once.
        """
        vhost = ScratchVhost(self)
        db = ScratchMariaDB(self)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        target = BrokerTarget(parseAmqpUrl(vhost.url), "rawlog")
        sender = brokerSender(reactor, target, "client1", "log")
        sender.startService()
        self.addCleanup(sender.stopService)
        first, second = os.path.join(directory, "first.log"), os.path.join(directory,
                                                                           "second.log")
        with open(first, "w") as f:
            f.write(logLines(1, 4000))
        with open(second, "w") as f:
            f.write(logLines(4001, 8000))

        def consumer(name):
            conf = writeRawLogConfigs(os.path.join(directory, name), db.url(), batchSize=1000,
                                      mmSize=64)
            with open(conf, "a") as f:
                f.write(brokerSection(vhost.url, "rawlog", prefetch=4))
            log, argv = twistd(directory, name, "mice-bufferdaemon", conf)
            self.addCleanup(log.close)
            return spawn(self, argv, log)

        def stored():
            return sum(db.admin(f"SELECT COUNT(*) FROM `{table}`")[0][0][0]
                       for table in RAWLOG_TABLES if self.tableExists(db, table))

        await shipFile(sender, first, stream="/var/log/first")
        victim = consumer("victim")
        await until(lambda: stored() == 4000, 60)

        # The store blocks: the victim takes batches and cannot store them.
        import pymysql

        lock = pymysql.connect(connect_timeout=5, autocommit=True, **db.connect)
        self.addCleanup(lock.close)
        with lock.cursor() as cursor:
            cursor.execute("LOCK TABLES " + ", ".join(f"`{t}` WRITE" for t in RAWLOG_TABLES))
        await shipFile(sender, second, stream="/var/log/second")
        # Backpressure: a store that does not take more holds the consumer
        # at its prefetch; the broker keeps the rest.
        await until(lambda: vhost.queues().get("rawlog") == (4, 4), 60)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        with lock.cursor() as cursor:
            cursor.execute("UNLOCK TABLES")

        heir = consumer("heir")
        await until(lambda: stored() >= 12000 and vhost.queues()["rawlog"] == (0, 0), 90)
        heir.send_signal(signal.SIGTERM)
        heir.wait(30)
        rows = [row for table in RAWLOG_TABLES
                for row in db.admin(f"SELECT stream, seq FROM `{table}`")[0]]
        self.assertEqual(len(rows), 12000)
        self.assertEqual(sorted(rows), sorted([("/var/log/first", n) for n in range(1, 4001)]
                                              + [("/var/log/second", n)
                                                 for n in range(1, 8001)]))
        with open(os.path.join(directory, "heir.log")) as f:
            self.assertIn("consuming (prefetch 4)", f.read())

    @staticmethod
    def tableExists(db, table):
        return bool(db.admin(f"SHOW TABLES LIKE '{table}'")[0])


class CompetingAgentsTests(TestCase):
    timeout = 300

    async def test_threeAgents(self):
        """
        Three analysis agents (real processes, the shipped M-ICE rules)
        consume one queue of log lines and send their alerts to the queue a
        ManagementHost (built by its tap, alerts stored by reaction 2)
        consumes; one agent is killed with SIGKILL while the lines flow.
        Every alert of the sample log is a row of alert_entry exactly once
        (its key the same whichever agent raised it), and the agents'
        messageids never collide (each has its Instance).
        """
        vhost = ScratchVhost(self)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        alertsDb = os.path.join(directory, "alerts.db")
        conf = writeManagementHost(os.path.join(directory, "mh"), "sqlite:///" + alertsDb,
                                   dtd=False)
        with open(conf, "a") as f:
            f.write(brokerSection(vhost.url, "alerts"))
        management = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        await management.startService()
        self.addCleanup(management.stopService)

        agents = []
        for n in range(3):
            agentDir = os.path.join(directory, f"agent{n}")
            agentConf = writeAgentConfigs(agentDir, 1, mmSize=8)
            aa = os.path.join(agentDir, "aa.conf")
            with open(aa) as f:
                text = f.read()
            text = text.replace("Management = 127.0.0.1:1\n",
                                f"ManagementAMQP = {vhost.url}\nManagementQueue = alerts\n")
            text = text.replace("[IDMEF_INFO]", f"[IDMEF_INFO]\nInstance = agent{n}")
            with open(aa, "w") as f:
                f.write(text)
            with open(agentConf, "a") as f:
                f.write(brokerSection(vhost.url, "lines", prefetch=2))
            log, argv = twistd(directory, f"agent{n}", "mice-bufferdaemon", agentConf)
            self.addCleanup(log.close)
            agents.append(spawn(self, argv, log))

        def rows():
            try:
                db = sqlite3.connect(alertsDb)
                try:
                    return db.execute("SELECT alertkey, idmefmsg FROM alert_entry").fetchall()
                finally:
                    db.close()
            except sqlite3.OperationalError:
                return []

        def consuming(n):
            with open(os.path.join(directory, f"agent{n}.log")) as f:
                return "consuming (prefetch" in f.read()

        # All three compete from the first batch on (on a loaded machine one
        # could start late enough to find the queue empty).
        await until(lambda: all(consuming(n) for n in range(3)), 120)
        sender = brokerSender(reactor, BrokerTarget(parseAmqpUrl(vhost.url), "lines"),
                              "client1", "log")
        sender.startService()
        self.addCleanup(sender.stopService)
        copies = 12
        for copy in range(copies):
            await shipFile(sender, SAMPLE_LOG, stream=f"/var/log/sample{copy}")
            if copy == 2:
                await until(lambda: len(rows()) > 0, 60)
                agents[0].send_signal(signal.SIGKILL)
                agents[0].wait(30)

        await until(lambda: len(rows()) >= 187 * copies
                    and vhost.queues() == {"lines": (0, 0), "alerts": (0, 0)}, 120)
        stored = rows()
        self.assertEqual(len(stored), 187 * copies)
        self.assertEqual(len({key for key, _ in stored}), 187 * copies)
        messageIds = [re.search(r'messageid="([^"]+)"', document).group(1)
                      for _, document in stored]
        self.assertEqual(len(set(messageIds)), len(messageIds))
        prefixes = {messageId.rsplit("-", 1)[0] for messageId in messageIds}
        self.assertLessEqual(prefixes, {"agent0", "agent1", "agent2"})
        self.assertGreaterEqual(len(prefixes), 2)


class SendTests(TestCase):
    """
    C{mice send --amqp URL --queue NAME FILE}: a file published as a
    forwarder would, exit 0 only once the broker has confirmed every batch.
    """

    timeout = 300

    def logFile(self, count):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(logLines(1, count))
        return path

    def test_publishedAsAForwarderWould(self):
        """
        Every batch is one persistent message in a quorum queue: the link's
        batch line (stream, first sequence number, records), the sender's
        name and kind in its headers, its idempotency key as message id.
        """
        vhost = ScratchVhost(self)
        path = self.logFile(2500)
        status, out, err = runMice("send", "--amqp", vhost.url, "--queue", "rawlog",
                                "--source", "client7", "--timeout", "60", path)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, f"{path}: 2500 records in 3 batches confirmed by"
                              f" {BrokerTarget(parseAmqpUrl(vhost.url), 'rawlog')}\n")
        self.assertIn("rawlog\tquorum", rabbitmqctl("list_queues", "-p", vhost.name,
                                                     "--no-table-headers", "name", "type"))
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(vhost.url))
        self.addCleanup(connection.close)
        channel = connection.channel()
        messages = []
        while True:
            method, properties, body = channel.basic_get("rawlog", auto_ack=True)
            if method is None:
                break
            messages.append((properties, wire.decodeMessage(body)))
        # (A quorum queue adds headers of its own, such as x-delivery-count.)
        self.assertEqual([(p.delivery_mode, {k: v for k, v in p.headers.items()
                                             if k.startswith("mice-")}, p.message_id)
                          for p, _ in messages],
                         [(2, amqp.headers("client7", "log"), f"client7|{path}|{seq}")
                          for seq in (1, 1001, 2001)])
        self.assertEqual([(m["stream"], m["seq"], len(m["recs"])) for _, m in messages],
                         [(path, 1, 1000), (path, 1001, 1000), (path, 2001, 500)])
        self.assertEqual([r[2] for _, m in messages for r in m["recs"]],
                         logLines(1, 2500).splitlines())

    def test_refusedLogin(self):
        """
        A password the broker refuses ends the command at once (no
        --timeout needed) with the broker's reason, exit status 1, and the
        password in no output.
        """
        vhost = ScratchVhost(self, ownUser=True)
        url = vhost.url.replace(vhost.password, "not-" + vhost.password)
        status, out, err = runMice("send", "--amqp", url, "--queue", "rawlog",
                                self.logFile(10))
        self.assertEqual(status, 1)
        self.assertIn("refused: ", err)
        self.assertIn("ACCESS_REFUSED", err)
        self.assertNotIn(vhost.password, out + err)

    def test_notConfirmedIsFailure(self):
        """
        What the broker has not confirmed when --timeout runs out is a
        failure (nothing listens on the port).
        """
        status, out, err = runMice("send", "--amqp", "amqp://guest:guest@127.0.0.1:1/",
                                "--queue", "rawlog", "--timeout", "1.5", self.logFile(10))
        self.assertEqual(status, 1)
        self.assertIn("gave up after 1.5s; 10 records not confirmed", err)

    def test_optionsThatDoNotFit(self):
        """
        --amqp without --queue, the link's security options with --amqp,
        and --queue without --amqp are usage errors (exit status 2).
        """
        path = self.logFile(1)
        for args in (["--amqp", "amqp://127.0.0.1/"],
                     ["--amqp", "amqp://127.0.0.1/", "--queue", "q", "--enckey-file", path],
                     ["--to", "127.0.0.1:1", "--queue", "q"]):
            status, out, err = runMice("send", *args, path)
            self.assertEqual(status, 2, args)
            self.assertTrue(err.startswith("mice send: --"), err)

    async def test_storedOnceByAConsumer(self):
        """
        What C{mice send} publishes, a raw-log BufferDaemon consuming the
        queue stores, every line once.
        """
        from twisted.internet.utils import getProcessOutputAndValue

        vhost = ScratchVhost(self)
        directory = os.path.abspath(self.mktemp())
        url, db = sqliteUrl(self)
        conf = writeRawLogConfigs(directory, url, batchSize=500)
        with open(conf, "a") as f:
            f.write(brokerSection(vhost.url, "rawlog"))
        daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        daemon.startService()
        self.addCleanup(daemon.stopService)
        out, err, status = await getProcessOutputAndValue(
            MICE[0], MICE[1:] + ["send", "--amqp", vhost.url, "--queue", "rawlog",
                                 "--timeout", "60", self.logFile(3000)], env=os.environ)
        self.assertEqual(status, 0, err)
        await until(lambda: len(storedSeqs(db)) == 3000, 60)
        await until(lambda: vhost.queues() == {"rawlog": (0, 0)}, 30)
        self.assertEqual(storedSeqs(db), list(range(1, 3001)))


class ChannelRecoveryTests(TestCase):
    """
    The broker ends a client's channel, or cancels its consumer, while the
    connection stays up (issue 18): an operator deletes the queue, the
    broker refuses an acknowledgement or a publish.  Both ends open a new
    channel (the queue declared again) and the pipeline carries on.
    """

    timeout = 300

    def setUp(self):
        self.vhost = ScratchVhost(self)
        self.logged = []
        observer = lambda event: self.logged.append(formatEvent(event) or "")  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def pipeline(self, lines):
        """
        L{brokerPipeline} through the test's vhost.

        @return: the log file's path, the database's path, the forwarder's
            L{mice.services.broker.BrokerSender} and the daemon's
            L{BrokerIntake}.
        """
        logPath, db, destination, intake = brokerPipeline(self, self.vhost.url, lines)
        return logPath, db, destination.sender, intake

    def otherConnection(self):
        """
        A channel of a connection of the test's own (an operator's).
        """
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(self.vhost.url))
        self.addCleanup(lambda: connection.is_open and connection.close())
        return connection.channel()

    def recoveryLines(self):
        return [line for line in self.logged if "a new channel (the queue declared again)" in line]

    async def test_queueDeletedMidStream(self):
        """
        A forwarder streams 9,000 lines through queue C{rawlog} to a
        BufferDaemon; halfway, at a moment when it has no batch awaiting a
        confirm, an operator deletes the queue (from a connection of their
        own).  The daemon's consumer is cancelled and the forwarder's
        next batches are returned unroutable: both open a new channel,
        declare the queue again, and the stream carries on.  Every line not
        yet confirmed at the deletion is stored exactly once; of those
        confirmed, only the ones still ready in the queue (RabbitMQ destroys
        them with it, C{queue.delete-ok}'s message count) may be missing.
        """
        logPath, db, sender, intake = self.pipeline(1500)
        await until(lambda: len(storedSeqs(db)) == 1500, 60)
        operator = self.otherConnection()
        written = 1500
        deleted = None
        while written < 9000:
            with open(logPath, "a") as f:
                f.write(logLines(written + 1, 250))
            written += 250
            await until(lambda: sender.pendingRecords < 250, 30)
            if deleted is None and written >= 4500 and not sender.pendingBatches:
                # Nothing in flight: what the broker has confirmed is the
                # first acknowledgedRecords lines, and nothing else can be
                # confirmed for the queue that goes.
                confirmed = sender.acknowledgedRecords
                storedBefore = set(storedSeqs(db))
                deleted = operator.queue_delete("rawlog").method.message_count
        self.assertIsNotNone(deleted, "the forwarder never caught up to delete mid-stream")
        await until(lambda: len(set(storedSeqs(db))) >= 9000 - (confirmed - len(storedBefore))
                    and not sender.pendingBatches, 120)
        await until(lambda: self.vhost.queues() == {"rawlog": (0, 0)}, 60)
        seqs = storedSeqs(db)
        self.assertEqual(len(seqs), len(set(seqs)), "a line stored twice")
        self.assertTrue(set(range(confirmed + 1, 9001)) <= set(seqs),
                        "a line not confirmed at the deletion is missing")
        missing = set(range(1, 9001)) - set(seqs)
        self.assertTrue(missing <= set(range(1, confirmed + 1)) - storedBefore)
        if not deleted:
            self.assertEqual(missing, set())
        # Both ends said so, naming the broker and the queue.
        self.assertTrue(any("consumer cancelled by the broker" in line and
                            "broker 127.0.0.1:5672" in line and "queue rawlog" in line
                            for line in self.recoveryLines()), self.recoveryLines())

    async def test_intakeChannelClosedByBroker(self):
        """
        The broker closes the consumer's channel (406 PRECONDITION_FAILED:
        an acknowledgement of a delivery it never made): the intake opens a
        new one, and what comes next is stored.
        """
        logPath, db, sender, intake = self.pipeline(1000)
        await until(lambda: len(storedSeqs(db)) == 1000 and intake.connected, 60)
        channel = intake.channel
        channel.basic_ack(10 ** 6)
        await until(lambda: channel.is_closed, 30)
        with open(logPath, "a") as f:
            f.write(logLines(1001, 2000))
        await until(lambda: len(storedSeqs(db)) >= 3000, 60)
        self.assertEqual(storedSeqs(db), list(range(1, 3001)))
        self.assertIsNot(intake.channel, channel)
        [line] = [line for line in self.recoveryLines() if "406 PRECONDITION_FAILED" in line]
        self.assertIn("broker 127.0.0.1:5672", line)
        self.assertNotIn("guest", line)

    async def test_senderChannelClosedByBroker(self):
        """
        The broker closes the publisher's channel (404 NOT_FOUND: a publish
        to an exchange that does not exist) while batches await their
        confirms: the sender opens a new channel and publishes them again;
        every line is stored once.
        """
        logPath, db, sender, intake = self.pipeline(1000)
        await until(lambda: len(storedSeqs(db)) == 1000 and sender.connected
                    and not sender.pendingBatches, 60)
        channel = sender.channel
        # A batch as the forwarder submits them, published at once, then
        # the publish the broker refuses, in the same reactor turn: the
        # batch's confirm cannot have come.
        confirmed = sender.submit(logPath, 100001, HOST, [
            ["2026-11-22", "10:00:00", f"extra line {n}", ""] for n in range(10)])
        refused = channel.basic_publish("no-such-exchange", "x", b"")
        self.assertEqual(sender.pendingBatches, 1)
        await until(lambda: channel.is_closed, 30)
        self.failureResultOf(refused).trap(ChannelClosedByBroker)
        with open(logPath, "a") as f:
            f.write(logLines(1001, 2000))
        await confirmed
        await until(lambda: len(storedSeqs(db)) >= 3010 and not sender.pendingBatches, 60)
        self.assertEqual(storedSeqs(db), list(range(1, 3001)) + list(range(100001, 100011)))
        [line] = [line for line in self.recoveryLines() if "404 NOT_FOUND" in line]
        self.assertIn("unconfirmed batches will be published again", line)
