"""
Tests for L{mice.services.forwarder}: the DataForwarder service, driven by a
L{task.Clock} over real temporary files, real spools and offset stores, with
L{FakeSender}s standing in for the servers (the link itself is tested in
C{tests.unit.services.test_sender}; over loopback TCP and inotify in
C{tests.integration.test_forwarder}, and end to end with faults in
C{tests.integration.test_forwarder_faults}).
"""

import os
import shutil

from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mice.config import loadDataForwarder
from mice.forwarder.filters import RegexFilter
from mice.forwarder.prepare import Ledger, LinePreparer
from mice.forwarder.spool import Spool
from mice.forwarder.tailer import OffsetStore
from mice.services.forwarder import EVENT_STREAM, DataForwarder, Destination, reportingPolicy
from mice.tap import dataforwarder
from mice.testing import FakeSender, capturedLog, writeForwarderConfig
from tests import ROOT

HOST = {"hostname": "testhost"}


def append(path, *texts):
    with open(path, "ab") as f:
        for text in texts:
            f.write(text if isinstance(text, bytes) else text.encode() + b"\n")


def logged(events, level):
    from twisted.logger import formatEvent

    return [formatEvent(e) for e in events if e.get("log_level") is not None
            and e["log_level"].name == level]


class Harness:
    """
    A DataForwarder over files in a temporary directory, its servers fakes.
    """

    def __init__(self, testCase, names=("messages",), servers=("sql",), maxInFlight=4,
                 memoryBytes=1 << 20, diskBytes=1 << 24, readSize=1 << 20, preparer=None,
                 connected=True, segmentBytes=4096):
        self.testCase = testCase
        self.directory = os.path.abspath(testCase.mktemp())
        os.makedirs(self.directory)
        self.paths = [os.path.join(self.directory, name) for name in names]
        self.state = os.path.join(self.directory, "state")
        self.options = dict(servers=servers, maxInFlight=maxInFlight, memoryBytes=memoryBytes,
                            diskBytes=diskBytes, readSize=readSize, preparer=preparer,
                            connected=connected, segmentBytes=segmentBytes)
        self.forwarder = None
        self.start()

    @property
    def path(self):
        return self.paths[0]

    def start(self, connected=None):
        o = self.options
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.senders, destinations = [], []
        for name in o["servers"]:
            sender = FakeSender(name, connected=o["connected"] if connected is None
                                else connected)
            spool = Spool(os.path.join(self.state, f"spool-{name}"), o["memoryBytes"],
                          o["diskBytes"], segmentBytes=o["segmentBytes"])
            destinations.append(Destination(name, sender, spool, Ledger(), HOST,
                                            maxInFlight=o["maxInFlight"]))
            self.senders.append(sender)
        self.forwarder = DataForwarder(
            self.paths, destinations, o["preparer"],
            OffsetStore(os.path.join(self.state, "offsets.json")), self.clock,
            sleepInterval=2.0, readSize=o["readSize"])
        self.forwarder.startService()
        self.testCase.addCleanup(self.stop)
        return self.forwarder

    def stop(self):
        if self.forwarder is not None and self.forwarder.running:
            self.testCase.successResultOf(self.forwarder.stopService())

    def restart(self, connected=None):
        self.stop()
        return self.start(connected)

    def tick(self, n=1):
        self.clock.pump([2.0] * n)

    def appendAndTick(self, *texts, ticks=1):
        """Append C{texts} to the first file, then let C{ticks} polls pass."""
        append(self.path, *texts)
        self.tick(ticks)

    @property
    def sender(self):
        return self.senders[0]

    def records(self, sender=None, stream=None):
        """
        C{(seq, line)} of every record submitted to C{sender}, in order.
        """
        stream = stream or self.path
        return [(n, record[2]) for batch in (sender or self.sender).submitted
                if batch.stream == stream for n, record in zip(batch.numbers, batch.records)]

    def saved(self):
        return OffsetStore(os.path.join(self.state, "offsets.json")).load()


class ShippingTests(SynchronousTestCase):
    def test_linesShipped(self):
        h = Harness(self)
        h.appendAndTick("Nov 22 10:00:01 host sshd[1]: one", "two")
        [batch] = h.sender.submitted
        self.assertEqual((batch.stream, batch.seq, batch.host), (h.path, 1, HOST))
        self.assertEqual([r[:3] for r in batch.records][0][1:],
                         ["10:00:01", "Nov 22 10:00:01 host sshd[1]: one"])
        self.assertEqual(h.records(), [(1, "Nov 22 10:00:01 host sshd[1]: one"), (2, "two")])

    def test_offsetsOnlyForAcknowledged(self):
        h = Harness(self)
        h.appendAndTick("one", "two", ticks=3)
        self.assertEqual((h.saved()[h.path].offset, h.saved()[h.path].seq), (0, 0))
        h.sender.acknowledge()
        h.tick()
        self.assertEqual(h.saved()[h.path].seq, 2)
        self.assertEqual(h.saved()[h.path].offset, 8)

    def test_restartResendsTheUnacknowledged(self):
        h = Harness(self)
        h.appendAndTick(*[f"line {n}" for n in range(1, 11)])
        h.sender.acknowledge()
        h.appendAndTick(*[f"line {n}" for n in range(11, 16)])
        self.assertEqual(len(h.sender.submitted), 2)
        h.restart()
        self.assertEqual(h.records(), [(n, f"line {n}") for n in range(11, 16)])

    def test_startSavedBeforeTheFirstLineLeaves(self):
        """
        Killed before anything is acknowledged, then the file rotated: the
        restart reads the rotated file again under the same numbers, and
        the new file after it.
        """
        h = Harness(self)
        h.appendAndTick("a1", "a2")
        self.assertEqual(h.saved()[h.path].offset, 0, "saved before any acknowledgement")
        h.forwarder.stopService()
        os.rename(h.path, h.path + ".1")
        append(h.path, "b1")
        h.start()
        h.tick()
        self.assertEqual(h.records(), [(1, "a1"), (2, "a2"), (3, "b1")])

    def test_partialLineHeld(self):
        h = Harness(self)
        h.appendAndTick(b"first\nsec")
        h.appendAndTick(b"ond\n")
        self.assertEqual(h.records(), [(1, "first"), (2, "second")])

    def test_rotationByRename(self):
        h = Harness(self)
        h.appendAndTick("a1", "a2")
        append(h.path, "a3")
        os.rename(h.path, h.path + ".1")
        h.appendAndTick("b1")
        h.appendAndTick("b2")
        self.assertEqual(h.records(), [(1, "a1"), (2, "a2"), (3, "a3"), (4, "b1"), (5, "b2")])

    def test_writerReopensLate(self):
        """
        logrotate's C{create} with a late SIGHUP, and a restart before the
        writer reopens: what the writer appends to the renamed file is
        shipped, before and after the restart (which finds the old file as
        C{messages.1}), then the new file's lines, every line once.
        """
        h = Harness(self)
        writer = os.open(h.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self.addCleanup(lambda: os.close(writer))
        os.write(writer, b"a1\n")
        h.tick()
        os.rename(h.path, h.path + ".1")
        os.close(os.open(h.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        os.write(writer, b"a2\n")
        h.tick()
        h.sender.acknowledge()
        h.tick()
        saved = h.saved()[h.path]
        self.assertEqual((saved.identity.inode, saved.offset, saved.seq),
                         (os.stat(h.path + ".1").st_ino, 6, 2))
        h.restart()
        h.tick()
        os.write(writer, b"a3\n")
        h.tick()
        h.appendAndTick("b1")
        self.assertEqual(h.records(), [(3, "a3"), (4, "b1")])
        h.sender.acknowledge()
        h.tick()
        saved = h.saved()[h.path]
        self.assertEqual((saved.identity.inode, saved.offset, saved.seq),
                         (os.stat(h.path).st_ino, 3, 4))

    def test_copytruncate(self):
        h = Harness(self)
        h.appendAndTick("a1", "a2")
        append(h.path, "a3")
        shutil.copyfile(h.path, h.path + ".1")
        with open(h.path, "wb"):
            pass
        h.appendAndTick("b1", ticks=2)
        self.assertEqual(h.records(), [(1, "a1"), (2, "a2"), (3, "a3"), (4, "b1")])

    def test_deletedAndRecreated(self):
        h = Harness(self)
        h.appendAndTick("a1")
        os.unlink(h.path)
        h.tick()
        h.appendAndTick("b1")
        self.assertEqual(h.records(), [(1, "a1"), (2, "b1")])

    def test_lateFile(self):
        h = Harness(self)
        h.tick(2)
        self.assertEqual(h.sender.submitted, [])
        h.appendAndTick("at last")
        self.assertEqual(h.records(), [(1, "at last")])

    def test_tamperReportedAndShipped(self):
        """
        A file that shrinks is not read again: the forwarder logs an error
        and ships the report in its own stream, so the servers see it.
        """
        events = capturedLog(self)
        h = Harness(self)
        h.appendAndTick("one", "two", "three")
        with open(h.path, "r+b") as f:
            f.truncate(8)
        h.tick()
        self.assertEqual(h.records(), [(1, "one"), (2, "two"), (3, "three")])
        [report] = h.records(stream=EVENT_STREAM)
        self.assertIn("tamper: Logfile inconsistency", report[1])
        self.assertIn("localhost mice-dataforwarder: tamper:", report[1])
        self.assertTrue(any("Logfile inconsistency" in m for m in logged(events, "error")))

    def test_filteredLinesStillAdvanceTheOffset(self):
        h = Harness(self, preparer=LinePreparer(RegexFilter(drop=["noise"])))
        h.appendAndTick("keep 1", "noise", "keep 2")
        [batch] = h.sender.submitted
        self.assertEqual(batch.seqs, [1, 3])
        h.sender.acknowledge()
        h.appendAndTick("noise", "noise", ticks=2)
        self.assertEqual(len(h.sender.submitted), 1, "nothing to send for filtered lines")
        self.assertEqual(h.saved()[h.path].seq, 5)

    def test_readsOnAtOnceWhileThereIsMore(self):
        """
        A poll that used its whole read budget polls again at once, as long
        as the server keeps up.
        """
        h = Harness(self, readSize=4096, maxInFlight=100)
        h.appendAndTick(*[f"line {n:05d}" for n in range(2000)])
        h.clock.advance(0)
        self.assertGreater(len(h.records()), 600)
        for _ in range(20):
            h.clock.advance(0)
        self.assertEqual(len(h.records()), 2000)

    def test_slowServerIsNotSpooledFor(self):
        """
        A connected server with its window full stops the reading: the file
        holds the lines, nothing goes to the spool.
        """
        h = Harness(self, readSize=2048, maxInFlight=2)
        h.appendAndTick(*[f"line {n:05d}" for n in range(1000)], ticks=5)
        self.assertEqual(len(h.sender.submitted), 2)
        self.assertEqual(len(h.forwarder.destinations[0].spool), 0)
        while h.sender.acknowledge():
            h.clock.advance(0)
        self.assertEqual(h.records(), [(n + 1, f"line {n:05d}") for n in range(1000)])


class SpoolTests(SynchronousTestCase):
    def test_spooledWhileDownThenDrainedInOrder(self):
        h = Harness(self, readSize=1024, maxInFlight=2, memoryBytes=8000, connected=False)
        h.appendAndTick(*[f"line {n:05d}" for n in range(600)], ticks=30)
        spool = h.forwarder.destinations[0].spool
        self.assertEqual(len(h.sender.submitted), 2)
        self.assertGreater(spool.memoryItems, 0)
        self.assertGreater(spool.diskItems, 0)
        h.sender.connected = True
        while h.sender.acknowledge():
            h.clock.advance(0)
        self.assertEqual(h.records(), [(n + 1, f"line {n:05d}") for n in range(600)])
        self.assertEqual(len(spool), 0)
        h.tick()
        self.assertEqual(h.saved()[h.path].seq, 600)

    def test_diskSpoolSurvivesRestart(self):
        """
        What was spooled on disk is sent after a restart, even if the log
        file is gone by then.
        """
        h = Harness(self, readSize=1024, maxInFlight=1, memoryBytes=0, connected=False)
        h.appendAndTick(*[f"line {n:05d}" for n in range(200)], ticks=20)
        [inMemory] = h.sender.submitted
        spooled = range(inMemory.seq + len(inMemory.records), 201)
        self.assertEqual(len(h.forwarder.destinations[0].spool), 2)
        h.stop()
        os.unlink(h.path)
        h.start(connected=True)
        while h.sender.acknowledge():
            h.clock.advance(0)
        self.assertEqual(h.records(), [(n, f"line {n - 1:05d}") for n in spooled])

    def test_fullSpoolStopsReadingAndLosesNothing(self):
        events = capturedLog(self)
        h = Harness(self, readSize=1024, maxInFlight=1, memoryBytes=0, diskBytes=6000,
                    segmentBytes=1024, connected=False)
        h.appendAndTick(*[f"line {n:05d}" for n in range(2000)], ticks=50)
        destination = h.forwarder.destinations[0]
        self.assertTrue(destination.overflow)
        read = h.forwarder.counts["lines"]
        h.tick(5)
        self.assertEqual(h.forwarder.counts["lines"], read, "reading stopped")
        self.assertTrue(any("spool is full" in m for m in logged(events, "warn")))
        h.sender.connected = True
        while h.sender.acknowledge():
            h.tick()
        self.assertEqual(h.records(), [(n + 1, f"line {n:05d}") for n in range(2000)])
        self.assertEqual(destination.lost, 0)

    def test_twoServersPersistTheLeastAdvanced(self):
        h = Harness(self, servers=("sql", "analysis"))
        h.appendAndTick("one", "two")
        sql, analysis = h.senders
        self.assertEqual(h.records(sql), h.records(analysis))
        sql.acknowledge()
        h.tick()
        self.assertEqual(h.saved()[h.path].seq, 0)
        analysis.acknowledge()
        h.tick()
        self.assertEqual(h.saved()[h.path].seq, 2)

    def test_oneServerDownTheOtherCarriesOn(self):
        h = Harness(self, servers=("sql", "analysis"), readSize=1024, maxInFlight=2)
        sql, analysis = h.senders
        analysis.connected = False
        append(h.path, *[f"line {n:05d}" for n in range(500)])
        for _ in range(20):
            h.tick()
            sql.acknowledge()
        self.assertEqual(h.records(sql), [(n + 1, f"line {n:05d}") for n in range(500)])
        self.assertEqual(len(h.records(analysis)), 2 * 93, "two batches in its window")
        self.assertGreater(len(h.forwarder.destinations[1].spool), 0)
        self.assertEqual(h.saved()[h.path].seq, 0, "the analysis agent acknowledged nothing")


class StreamTests(SynchronousTestCase):
    def test_fifo(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        fifo = os.path.join(directory, "fifo")
        os.mkfifo(fifo)
        h = Harness(self, names=())
        h.stop()
        h.paths = [fifo]
        h.start()
        writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, writer)
        os.write(writer, b"from the pipe\npart")
        h.tick()
        os.write(writer, b"ial\n")
        h.tick()
        records = h.records(stream=fifo)
        self.assertEqual([line for _, line in records], ["from the pipe", "partial"])
        first = records[0][0]
        self.assertGreaterEqual(first, 1_000_000 * 1_000_000, "numbered from the clock")
        self.assertEqual(records[1][0], first + 1)


class PolicyTests(SynchronousTestCase):
    def test_lostReportedOnce(self):
        events = capturedLog(self)
        from twisted.logger import Logger

        policy = reportingPolicy("the server", 3, Logger(), base=lambda attempt: 1.0)
        for attempt in range(1, 8):
            self.assertEqual(policy(attempt), 1.0)
        self.assertEqual(len([m for m in logged(events, "error") if "lost" in m]), 1)


class ConfigTests(SynchronousTestCase):
    def test_buildFromConfig(self):
        directory = os.path.abspath(self.mktemp())
        log = os.path.join(directory, "messages")
        conf = writeForwarderConfig(directory, [log], sqlPort=3366, analysisPort=0,
                                    filterDrop=["noise"])
        forwarder = dataforwarder.buildForwarder(loadDataForwarder(conf), Clock())
        self.assertEqual([d.name for d in forwarder.destinations], ["sql"])
        self.assertEqual(forwarder.paths, [log])
        self.assertEqual(forwarder.hostname, "testhost")
        self.assertTrue(forwarder.preparer.lineFilter.keep("signal"))
        self.assertFalse(forwarder.preparer.lineFilter.keep("noise"))
        self.assertTrue(os.path.isdir(os.path.join(directory, "state", "spool-sql")))

    def test_encryptWithoutKeyRefused(self):
        directory = os.path.abspath(self.mktemp())
        conf = writeForwarderConfig(directory, ["/tmp/x"], sqlPort=1, security="ENCRYPT = yes")
        e = self.assertRaises(usage.UsageError, dataforwarder.Options().parseOptions,
                              ["-c", conf])
        self.assertIn("ENCRYPT = yes needs ENCKEY (a pre-shared key) or TLSCERT", str(e))

    def test_shippedConfigLoads(self):
        root = ROOT
        options = dataforwarder.Options()
        options.parseOptions(["-c", os.path.join(root, "etc", "mice", "dataforwarder.conf")])
        self.assertEqual([name for name, _ in options.settings.servers], ["sql", "analysis"])


class MetricsTests(SynchronousTestCase):
    def test_linesAndSpool(self):
        """
        The forwarder counts the lines it reads (once per poll, not per
        line) and serves each server's spool size at scrape time.
        """
        h = Harness(self, connected=False, maxInFlight=1)
        metrics = h.forwarder.metrics
        h.appendAndTick("one", "two", "three")
        h.appendAndTick("four")
        samples = {(name, tuple(sorted(labels.items()))): value
                   for name, labels, value in metrics.samples()}
        self.assertEqual(samples[("mice_lines_read_total", ())], 4)
        spooled = samples[("mice_spool_bytes", (("server", h.sender.description),))]
        self.assertGreater(spooled, 0, "the second batch waits in the spool")
        self.assertEqual(spooled, h.forwarder.destinations[0].spool.memoryBytes
                         + h.forwarder.destinations[0].spool.diskBytes)
