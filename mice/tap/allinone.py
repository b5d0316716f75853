# -*- test-case-name: tests.test_tap -*-
"""
C{twistd -n mice-allinone}: M-ICE on one machine, on 127.0.0.1, with SQLite.

Today that is a raw-log BufferDaemon (memory-mapped ring, SQLite store) fed
by a DataForwarder that follows a log file (the bundled sample unless told
otherwise): lines appended to it later are shipped too.  Offsets persist
in the data directory, so starting again stores nothing twice.  The link is
encrypted with a pre-shared key made at the first start (C{link.key} in the
data directory), even on loopback.
"""

import os

from twisted.application.service import MultiService
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.python import usage

from mice.config import parseDatabaseUrl
from mice.db import connectionPool
from mice.forwarding import Ledger, LinePreparer
from mice.logformat import LogFormatDecoder, hostDict, localHostInfo
from mice.postproc.rawlogdb import RawLogStore
from mice.pseudonym import newKey
from mice.ringbuffer import openRing
from mice.securelink import LinkSecurity
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.forwarder import DataForwarder, Destination, makeSender
from mice.spool import Spool
from mice.tailer import OffsetStore
from mice.tap.dataforwarder import log

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "sample.log")


class Options(usage.Options):
    optParameters = [
        ["data-dir", "d", "mice-data", "Directory for the SQLite database, the ring and the"
                                       " forwarder's offsets."],
        ["port", "p", 3366, "Loopback port of the raw-log BufferDaemon.", int],
        ["log", "l", SAMPLE, "Log file the DataForwarder follows into the raw-log database."],
    ]
    optFlags = [["no-ship", None, "Ship nothing; only run the servers."]]


def linkKey(dataDir):
    """
    The pre-shared key of the data directory, made (mode 0600) if missing.
    """
    path = os.path.join(dataDir, "link.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(newKey().hex() + "\n")
    with open(path) as f:
        return f.read().strip()


def makeService(options):
    from twisted.internet import reactor

    dataDir = os.path.abspath(options["data-dir"])
    os.makedirs(dataDir, exist_ok=True)
    root = MultiService()
    security = LinkSecurity.fromSettings(True, linkKey(dataDir))

    database = os.path.join(dataDir, "rawlog.db")
    pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + database), reactor)
    ring = openRing(os.path.join(dataDir, "cache.rawlogdb"), 1024, 64 * 2 ** 20, 0)
    pipeline = Pipeline(LogFormatDecoder(), RawLogStore(pool, dialect, description=database),
                        ring, name="raw-log database")
    address = f"tcp:{options['port']}:interface=127.0.0.1"
    BufferDaemon([serverFromString(reactor, address)], [pipeline], reactor,
                 timeInterval=2.0, security=security).setServiceParent(root)

    if not options["no-ship"]:
        host = localHostInfo()
        state = os.path.join(dataDir, "dataforwarder")
        description = f"raw-log BufferDaemon 127.0.0.1:{options['port']}"
        sender = makeSender(clientFromString(reactor, f"tcp:127.0.0.1:{options['port']}"),
                            host.hostname or "localhost", reactor, description, 15, log,
                            security.securityFactory())
        destination = Destination("sql", sender, Spool(os.path.join(state, "spool-sql"),
                                                       10 * 2 ** 20, 256 * 2 ** 20),
                                  Ledger(), hostDict(host))
        DataForwarder([os.path.abspath(options["log"])], [destination], LinePreparer(),
                      OffsetStore(os.path.join(state, "offsets.json")), reactor,
                      sleepInterval=1.0, hostname=host.hostname or "localhost",
                      ).setServiceParent(root)
    return root
