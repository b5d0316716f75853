"""
Fault tests of the DataForwarder with real processes over 127.0.0.1: a
growing log file, written by the test while C{twistd mice-dataforwarder}
follows it and ships it to C{twistd mice-bufferdaemon}, survives a SIGKILL of
the forwarder, of the BufferDaemon, of the database, and rotations; every line
of the file must be stored exactly once, under its own sequence number.
"""

import json
import os
import shutil
import signal
import sqlite3
from contextlib import closing

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.testing import writeForwarderConfig, writeRawLogConfigs
from tests.integration.processes import spawn, twistdArgv
from tests.integration.test_endtoend import SAMPLE
from tests.integration.test_faults import accepting, freePort, startPrivateMariaDB, waitFor

TABLES = ("rawlog_line", "firewall_line", "scslog_line")


def corpusLine(i):
    """
    Line C{i} (from 0) of a test corpus: every line is distinct, and the
    five kinds of L{SAMPLE} fill all three tables.
    """
    return SAMPLE[i % len(SAMPLE)] + f" #{i}"


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"({e})"
    return "\n".join(text.splitlines()[-lines:])


class LogWriter:
    """
    The program whose log the forwarder follows: appends numbered lines to
    C{path} in chunks, reopening the path for every chunk as a logger that
    reopens after rotation would.

    @ivar written: how many lines were appended so far.
    """

    def __init__(self, path):
        self.path = path
        self.written = 0

    def append(self, count):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(corpusLine(i) + "\n"
                            for i in range(self.written, self.written + count)))
        self.written += count

    async def run(self, total, chunk=500, pause=0.05):
        """
        Append until C{total} lines are written, C{chunk} lines every
        C{pause} seconds.
        """
        while self.written < total:
            self.append(min(chunk, total - self.written))
            await deferLater(reactor, pause)

    def expected(self):
        return {i + 1: corpusLine(i) for i in range(self.written)}


class SQLiteStore:
    def __init__(self, path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def _query(self, sql, args=()):
        if not os.path.exists(self.path):
            return None
        with closing(sqlite3.connect(self.path, timeout=5)) as db:
            return db.execute(sql, args).fetchall()

    def count(self, stream):
        """
        Rows of C{stream}, over all three tables (0 while there are none).
        """
        try:
            return sum(self._query(f"SELECT COUNT(*) FROM {t} WHERE stream = ?",
                                   (stream,))[0][0] for t in TABLES)
        except (sqlite3.OperationalError, TypeError):
            return 0

    def rows(self, stream):
        """
        @return: C{{table: [(seq, logline), ...]}} for C{stream}.
        """
        return {t: self._query(f"SELECT seq, logline FROM {t} WHERE stream = ?", (stream,))
                for t in TABLES}

    def otherStreams(self, stream):
        """
        @return: C{(stream, logline)} of every row of another stream (the
            forwarder's own reports: lost lines, tamper...).
        """
        return [row for t in TABLES
                for row in self._query(f"SELECT stream, logline FROM {t} WHERE stream <> ?",
                                       (stream,))]


class MariaDBStore:
    def __init__(self, server, database):
        self.server = server
        self.database = database
        self.url = f"mysql://root@127.0.0.1:{server.port}/{database}"
        self._db = None

    def _query(self, sql, args=()):
        import pymysql

        try:
            if self._db is None:
                self._db = pymysql.connect(**self.server.connectArgs, database=self.database,
                                           autocommit=True, connect_timeout=2,
                                           read_timeout=10)
            with self._db.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()
        except pymysql.MySQLError:
            self.close()
            raise

    def close(self):
        if self._db is not None:
            try:
                self._db.close()
            except Exception:
                pass
            self._db = None

    def count(self, stream):
        import pymysql

        try:
            return sum(self._query(f"SELECT COUNT(*) FROM {t} WHERE stream = %s",
                                   (stream,))[0][0] for t in TABLES)
        except pymysql.MySQLError:
            return 0

    def rows(self, stream):
        return {t: list(self._query(f"SELECT seq, logline FROM {t} WHERE stream = %s",
                                    (stream,))) for t in TABLES}

    def otherStreams(self, stream):
        return [row for t in TABLES
                for row in self._query(f"SELECT stream, logline FROM {t} WHERE stream <> %s",
                                       (stream,))]


class Processes:
    """
    Starting and signalling a fault test's twistd processes, by name, and
    waiting on them.  The class using it has C{case}, C{argv} (C{{name:
    argv}}), C{directory}, C{output} (the processes' shared stdout), C{logs}
    (C{{name: path}}), C{processes} (C{{}}), C{note}, and C{progress} (what
    a timeout says was done).
    """

    def makeDirectory(self, case, logNames, keepUnlessPassed=False):
        """
        Give C{case}'s processes a new temporary C{directory}, a log file
        for each of C{logNames} (C{logs}) and their shared output, the
        C{processes} log (C{output}).

        @param keepUnlessPassed: remove the directory when the test ends if
            it passed (C{self.passed} set), and keep it, with the logs,
            when it failed.
        """
        self.case = case
        self.directory = os.path.abspath(case.mktemp())
        os.makedirs(self.directory)
        if keepUnlessPassed:
            self.passed = False
            case.addCleanup(self._removeIfPassed)
        self.logs = {name: os.path.join(self.directory, name + ".log")
                     for name in (*logNames, "processes")}
        self.output = open(self.logs["processes"], "ab")
        case.addCleanup(self.output.close)

    def _removeIfPassed(self):
        if self.passed:
            shutil.rmtree(self.directory, ignore_errors=True)

    def diagnostics(self):
        parts = [f"in {self.directory}"]
        for path in self.logs.values():
            parts.append(f"--- tail of {path}:\n{tail(path)}")
        return "\n".join(parts)

    async def waitFor(self, predicate, timeout, what):
        try:
            await waitFor(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e} ({self.progress()})\n{self.diagnostics()}") from None

    def start(self, name):
        self.note(f"starting {name}")
        process = self.processes[name] = spawn(self.case, self.argv[name], self.output,
                                               cwd=self.directory)
        return process

    def kill(self, name):
        process = self.processes.pop(name)
        self.case.assertIsNone(process.poll(), f"{name} died by itself\n{self.diagnostics()}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.note(f"killed {name} with SIGKILL")

    def suspend(self, name):
        """
        Stop C{name} with SIGSTOP: its connections stay open, and it
        acknowledges nothing until L{resume}.
        """
        os.kill(self.processes[name].pid, signal.SIGSTOP)
        self.note(f"suspended {name} with SIGSTOP")

    def resume(self, name):
        os.kill(self.processes[name].pid, signal.SIGCONT)
        self.note(f"resumed {name} with SIGCONT")

    async def stop(self, name):
        """
        Stop C{name} with SIGTERM, as an operator would, and check that it
        shut down cleanly (twistd ends by raising the signal it got again, so
        its exit status is -SIGTERM).
        """
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        await self.waitFor(lambda: process.poll() is not None, 30, f"{name} to stop")
        self.case.assertIn(process.returncode, (0, -signal.SIGTERM), self.diagnostics())
        self.case.assertIn("Server Shut Down.", tail(self.logs[name], 5), self.diagnostics())


class Deployment(Processes):
    """
    A BufferDaemon and a DataForwarder as twistd processes in one temporary
    directory, the forwarder following C{messages} there.
    """

    def __init__(self, case, store=None):
        self.makeDirectory(case, ("bufferdaemon", "dataforwarder"))
        self.port = freePort()
        self.store = store or SQLiteStore(os.path.join(self.directory, "rawlog.db"))
        self.logPath = os.path.join(self.directory, "messages")
        self.writer = LogWriter(self.logPath)
        self.state = os.path.join(self.directory, "state")
        bdConf = writeRawLogConfigs(os.path.join(self.directory, "bd"), self.store.url,
                                    port=self.port, mmSize=16, rbSize=0, timeInterval=0.2,
                                    batchSize=2000)
        fwConf = writeForwarderConfig(os.path.join(self.directory, "fw"), [self.logPath],
                                      sqlPort=self.port, sleepInterval=0.2,
                                      stateDirectory=self.state)
        self.argv = {
            "bufferdaemon": twistdArgv("mice-bufferdaemon", bdConf, self.logs["bufferdaemon"]),
            "dataforwarder": twistdArgv("mice-dataforwarder", fwConf,
                                        self.logs["dataforwarder"]),
        }
        self.processes = {}

    # -- processes -------------------------------------------------------

    def note(self, what):
        """
        Record C{what} the test did, and how far the stream was, in the
        processes' log.
        """
        self.output.write(f"--- {what} ({self.count()} rows stored,"
                          f" {self.writer.written} lines written)\n".encode())
        self.output.flush()

    async def startBufferDaemon(self):
        self.start("bufferdaemon")
        await self.waitFor(lambda: accepting(self.port), 30, "the BufferDaemon to listen")

    # -- looking -----------------------------------------------------------

    def count(self):
        return self.store.count(self.logPath)

    def persisted(self):
        """
        @return: the forwarder's persisted position of the log (a dict), or
            C{None} while it has persisted none.
        """
        try:
            with open(os.path.join(self.state, "offsets.json")) as f:
                return json.load(f)["positions"].get(self.logPath)
        except (OSError, ValueError):
            return None

    def diagnostics(self):
        text = super().diagnostics()
        offsets = os.path.join(self.state, "offsets.json")
        if os.path.exists(offsets):
            with open(offsets) as f:
                text += f"\n--- {offsets}: {f.read()}"
        return text

    def progress(self):
        return f"rows stored: {self.count()}, lines written: {self.writer.written}"

    async def startStreaming(self, total):
        """
        Start the forwarder on a file of 1000 lines, and once they are
        stored, keep appending to it (a little faster than the pipeline
        stores, so that batches are in flight whenever a fault strikes) until
        C{total} lines are written.

        @return: a Deferred that fires when the writer is done.
        """
        self.writer.append(1000)
        self.start("dataforwarder")
        await self.waitFor(lambda: self.count() >= 1000, 60, "the first lines to be stored")
        return ensureDeferred(self.writer.run(total, chunk=1000, pause=0.05))

    async def streamMidway(self, total, persisted=False):
        """
        Start the BufferDaemon and stream C{total} lines (L{startStreaming});
        return the writing's Deferred once more than 9000 rows are stored
        (and, if C{persisted}, an offset was persisted): the moment a fault
        strikes.
        """
        await self.startBufferDaemon()
        writing = await self.startStreaming(total)
        if persisted:
            await self.waitFor(lambda: self.count() > 9000 and self.persisted() is not None, 60,
                               "rows to arrive and an offset to be persisted")
        else:
            await self.waitFor(lambda: self.count() > 9000, 60, "rows to arrive")
        return writing

    async def restartForwarder(self, writing):
        """
        Start the killed forwarder again while the writing goes on, and see
        every line stored once.
        """
        self.case.assertFalse(writing.called, "the kill came too late to mean anything")
        await deferLater(reactor, 0.5)
        self.start("dataforwarder")
        await self.finish(writing)

    async def waitForAll(self, timeout=60, quiet=10):
        """
        Wait until as many rows are stored as lines were written, or until
        nothing more arrives for C{quiet} seconds (lines are lost: the check
        that follows says which), at most C{timeout} seconds.
        """
        last, lastChange = -1, reactor.seconds()
        deadline = lastChange + timeout
        while reactor.seconds() < deadline:
            count = self.count()
            if count >= self.writer.written:
                return
            if count != last:
                last, lastChange = count, reactor.seconds()
            elif reactor.seconds() - lastChange > quiet:
                return
            await deferLater(reactor, 0.1)

    async def finish(self, writing):
        """
        Let the writer finish, wait until every line is stored, stop both
        processes and check that every line is stored exactly once and that
        the forwarder persisted the offset of the last line.
        """
        await writing
        await self.waitForAll()
        await self.stop("dataforwarder")
        await self.stop("bufferdaemon")
        self.assertExactlyOnce()
        with open(os.path.join(self.state, "offsets.json")) as f:
            positions = json.load(f)["positions"]
        self.case.assertEqual(positions[self.logPath]["seq"], self.writer.written,
                              self.diagnostics())

    def assertExactlyOnce(self):
        """
        Every line written is stored once, under its line number, over the
        three tables; nothing else of the file is stored, and the forwarder
        reported nothing lost.
        """
        expected = self.writer.expected()
        rows = self.store.rows(self.logPath)
        total = sum(len(r) for r in rows.values())
        distinct = sum(len({seq for seq, _ in r}) for r in rows.values())
        stored = {}
        for tableRows in rows.values():
            for seq, line in tableRows:
                stored.setdefault(seq, []).append(line)
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        doubled = sorted(seq for seq, lines in stored.items() if len(lines) > 1)
        wrong = sorted(seq for seq, lines in stored.items()
                       if seq in expected and lines[0] != expected[seq])
        reports = self.store.otherStreams(self.logPath)
        problems = []
        if total != len(expected) or distinct != len(expected):
            problems.append(f"{total} rows, {distinct} distinct seqs for {len(expected)} lines")
        for what, seqs in (("missing", missing), ("unexpected", extra), ("doubled", doubled),
                           ("with another line's text", wrong)):
            if seqs:
                problems.append(f"{len(seqs)} seqs {what}, first {seqs[:10]}")
                if what == "with another line's text":
                    seq = seqs[0]
                    problems.append(f"  seq {seq}: stored {stored[seq]!r},"
                                    f" written {expected[seq]!r}")
        if reports:
            problems.append(f"{len(reports)} rows of other streams: {reports[:5]}")
        if problems:
            self.case.fail("not exactly once: " + "; ".join(problems) + "\n" + self.diagnostics())


class ForwarderFaultTests(TestCase):
    timeout = 120

    async def test_forwarderKilled(self):
        """
        A forwarder killed with SIGKILL mid-stream and started again with the
        same config and state resumes at the persisted offset: every line is
        stored exactly once.
        """
        deployment = Deployment(self)
        writing = await deployment.streamMidway(40000)
        deployment.kill("dataforwarder")
        await deployment.restartForwarder(writing)

    async def test_rotatedWhileForwarderDown(self):
        """
        The forwarder is killed with SIGKILL (after it persisted an offset),
        the log is rotated by rename while it is down and the writer goes on
        in the new file: started again, it finds the old file as
        C{messages.1}, finishes it from the persisted offset, then reads the
        new one; every line is stored exactly once.
        """
        deployment = Deployment(self)
        path = deployment.logPath
        writing = await deployment.streamMidway(40000, persisted=True)
        deployment.kill("dataforwarder")
        self.assertLess(deployment.persisted()["seq"], deployment.writer.written)
        os.rename(path, path + ".1")
        deployment.note("renamed messages to messages.1")
        await deployment.restartForwarder(writing)

    async def test_rotatedWhileForwarderDownBeforeFirstSave(self):
        """
        The forwarder is killed with SIGKILL after its first lines are
        stored but before it first persisted an offset (it saves every
        second), and the log is rotated while it is down: started again, it
        must not number the new file's lines as the old file's (the store
        would drop them as duplicates); every line is stored exactly once.
        """
        deployment = Deployment(self)
        path = deployment.logPath
        await deployment.startBufferDaemon()
        deployment.writer.append(3000)
        deployment.start("dataforwarder")
        await deployment.waitFor(lambda: deployment.count() > 0, 60, "rows to arrive")
        deployment.kill("dataforwarder")
        self.assertEqual((deployment.persisted() or {}).get("seq", 0), 0,
                         "the forwarder persisted an acknowledged offset before the kill:"
                         " this test needs the kill to come within its first second")
        os.rename(path, path + ".1")
        deployment.note("renamed messages to messages.1")
        deployment.writer.append(3000)
        deployment.start("dataforwarder")
        await deployment.finish(ensureDeferred(deployment.writer.run(9000)))

    async def test_bufferDaemonKilled(self):
        """
        A BufferDaemon killed with SIGKILL mid-stream and started again: the
        forwarder reconnects by itself, and every line is stored exactly
        once.
        """
        deployment = Deployment(self)
        writing = await deployment.streamMidway(40000)
        deployment.kill("bufferdaemon")
        self.assertFalse(writing.called, "the kill came too late to mean anything")
        await deferLater(reactor, 1.0)
        await deployment.startBufferDaemon()
        await deployment.finish(writing)

    async def test_databaseKilled(self):
        """
        The MariaDB server dies mid-stream and comes back on the same port
        and data: the BufferDaemon holds and resumes, the forwarder waits, and
        every line is stored exactly once in MariaDB.
        """
        server = await startPrivateMariaDB(self)
        store = MariaDBStore(server, "mice")
        self.addCleanup(store.close)
        deployment = Deployment(self, store)
        deployment.logs["mariadb"] = os.path.join(server.directory, "server.log")
        writing = await deployment.streamMidway(40000)
        deployment.note("killing MariaDB with SIGKILL")
        server.kill()
        store.close()
        self.assertFalse(writing.called, "the kill came too late to mean anything")
        await deferLater(reactor, 3.0)
        server.start()
        deployment.note("restarted MariaDB")
        await deployment.waitFor(server.ready, 60, "the private MariaDB to restart")
        await deployment.finish(writing)

    async def test_rotatedTwice(self):
        """
        The log is rotated by rename twice while the writer keeps appending
        (messages -> messages.1; later messages.1 -> messages.2 and
        messages -> messages.1): every line of the three files is stored
        exactly once, numbered across the rotations.
        """
        deployment = Deployment(self)
        path = deployment.logPath
        writing = await deployment.streamMidway(45000)
        os.rename(path, path + ".1")
        deployment.note("renamed messages to messages.1")
        rotatedAt = deployment.writer.written
        await deployment.waitFor(lambda: deployment.count() > rotatedAt + 5000, 60,
                                 "lines of the new file to arrive")
        os.rename(path + ".1", path + ".2")
        os.rename(path, path + ".1")
        deployment.note("renamed messages.1 to messages.2, messages to messages.1")
        self.assertFalse(writing.called, "the rotations came too late to mean anything")
        await deployment.finish(writing)
        self.assertGreater(os.path.getsize(path), 0)

    async def test_rotatedTwiceWhileStalled(self):
        """
        The log is rotated twice while the forwarder cannot send (the
        BufferDaemon is suspended with SIGSTOP: connected, acknowledging
        nothing, as while its database is down), a second apart, far more
        than SLEEPINV: the middle file, which the forwarder never read, is
        not lost, and every line is stored exactly once.
        """
        deployment = Deployment(self)
        path = deployment.logPath
        writing = await deployment.streamMidway(90000)
        deployment.suspend("bufferdaemon")
        # More than the forwarder may have in flight (32 batches of at most
        # 1000 lines): it has stopped reading the file.
        await deployment.waitFor(
            lambda: deployment.writer.written > deployment.count() + 36000, 60,
            "the writer to get far ahead of the stalled forwarder")
        await deferLater(reactor, 0.5)
        os.rename(path, path + ".1")
        deployment.note("renamed messages to messages.1")
        await deferLater(reactor, 1.0)
        os.rename(path + ".1", path + ".2")
        os.rename(path, path + ".1")
        deployment.note("renamed messages.1 to messages.2, messages to messages.1")
        self.assertFalse(writing.called, "the rotations came too late to mean anything")
        await deferLater(reactor, 1.0)
        deployment.resume("bufferdaemon")
        await deployment.finish(writing)
