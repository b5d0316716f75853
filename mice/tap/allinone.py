# -*- test-case-name: tests.test_tap -*-
"""
C{twistd -n mice-allinone}: M-ICE on one machine, on 127.0.0.1, with SQLite.

Today that is a raw-log BufferDaemon (memory-mapped ring, SQLite store) fed
by a sender shipping a log file (the bundled sample unless told otherwise).
Shipping is idempotent, so starting again stores nothing twice.
"""

import os
import socket

from twisted.application.service import MultiService, Service
from twisted.internet.defer import ensureDeferred
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.logger import Logger
from twisted.python import usage

from mice.config import parseDatabaseUrl
from mice.db import connectionPool
from mice.logformat import LogFormatDecoder
from mice.postproc.rawlogdb import RawLogStore
from mice.ringbuffer import openRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.sender import ReliableSender
from mice.shipping import shipFile

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "sample.log")


class Options(usage.Options):
    optParameters = [
        ["data-dir", "d", "mice-data", "Directory for the SQLite database and the ring."],
        ["port", "p", 3366, "Loopback port of the raw-log BufferDaemon.", int],
        ["log", "l", SAMPLE, "Log file to ship into the raw-log database."],
    ]
    optFlags = [["no-ship", None, "Ship nothing; only run the servers."]]


class FileShipper(Service):
    """
    Ships one file through a sender once the service starts.
    """

    log = Logger()

    def __init__(self, sender, path):
        self.sender = sender
        self.path = path
        self.done = None

    def startService(self):
        super().startService()
        self.done = ensureDeferred(shipFile(self.sender, self.path))
        self.done.addCallbacks(
            lambda result: self.log.info(
                "shipped {path}: {n} lines acknowledged by the raw-log BufferDaemon",
                path=self.path, n=result.records),
            lambda f: self.log.failure("shipping {path} failed", f, path=self.path))


def makeService(options):
    from twisted.internet import reactor

    dataDir = os.path.abspath(options["data-dir"])
    os.makedirs(dataDir, exist_ok=True)
    root = MultiService()

    database = os.path.join(dataDir, "rawlog.db")
    pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + database), reactor)
    ring = openRing(os.path.join(dataDir, "cache.rawlogdb"), 1024, 64 * 2 ** 20, 0)
    pipeline = Pipeline(LogFormatDecoder(), RawLogStore(pool, dialect, description=database),
                        ring, name="raw-log database")
    address = f"tcp:{options['port']}:interface=127.0.0.1"
    BufferDaemon([serverFromString(reactor, address)], [pipeline], reactor,
                 timeInterval=2.0).setServiceParent(root)

    if not options["no-ship"]:
        sender = ReliableSender(
            clientFromString(reactor, f"tcp:127.0.0.1:{options['port']}"),
            source=socket.gethostname().split(".")[0] or "localhost", kind="log",
            clock=reactor, description=f"raw-log BufferDaemon 127.0.0.1:{options['port']}")
        sender.setServiceParent(root)
        FileShipper(sender, options["log"]).setServiceParent(root)
    return root
