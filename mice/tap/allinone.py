# -*- test-case-name: tests.integration.test_tap -*-
"""
C{twistd -n mice-allinone}: M-ICE on one machine, on 127.0.0.1, with SQLite.

Today that is a DataForwarder following a log file (the bundled sample
unless told otherwise; lines appended later are shipped too) into two
BufferDaemons: the raw-log database (memory-mapped ring, SQLite), and the
analysis agent with the seed's M-ICE rules and the LogIDS rules
(C{mice/data/logids}), whose IDMEF alerts and console events go to a third
BufferDaemon standing for the ManagementHost, which stores them in
C{alert_entry} and C{console_event} (until the ManagementHost proper is
built).  Offsets persist
in the data directory, so starting again stores nothing twice.  Every link
is encrypted with a pre-shared key made at the first start (C{link.key} in
the data directory), even on loopback.
"""

import os

from twisted.application.service import MultiService
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.python import usage

from mice.analysis.aaregex import descriptionsFrom
from mice.analysis.alertid import AlertCounter, AlertIdFile
from mice.config import loadAaRegex, loadAaRules, loadMatchFile, parseDatabaseUrl
from mice.db.pools import connectionPool
from mice.decoders.events import EventDecoder
from mice.decoders.idmef import IdmefDecoder
from mice.decoders.logformat import LogFormatDecoder
from mice.forwarder.format import hostDict
from mice.forwarder.prepare import Ledger, LinePreparer
from mice.forwarder.pseudonym import newKey
from mice.forwarder.spool import Spool
from mice.forwarder.tailer import OffsetStore
from mice.postproc.aaregex import AaRegexAnalyzer
from mice.postproc.aarules import AaRulesAnalyzer, loadEngine
from mice.postproc.alertdb import AlertStore
from mice.postproc.eventdb import EventStore
from mice.postproc.rawlogdb import RawLogStore
from mice.ringbuffer import openRing
from mice.security.policy import LinkSecurity
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.forwarder import DataForwarder, Destination, makeSender
from mice.services.sender import ReliableSender
from mice.tap.dataforwarder import log
from mice.tap.runtime import localHostInfo

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
SAMPLE = os.path.join(DATA, "sample.log")
AGENT_RULES = os.path.join(DATA, "mice_mod_pop_aa_regex.conf")
LOGIDS_RULES = os.path.join(DATA, "mice_mod_pop_aa_rules.conf")
MATCH_FILE = os.path.join(DATA, "matchfiles", "match_file_aa_regex.txt")


class Options(usage.Options):
    optParameters = [
        ["data-dir", "d", "mice-data", "Directory for the SQLite database, the ring and the"
                                       " forwarder's offsets."],
        ["port", "p", 3366, "Loopback port of the raw-log BufferDaemon.", int],
        ["agent-port", None, 3367, "Loopback port of the analysis agent.", int],
        ["management-port", None, 4455, "Loopback port of the ManagementHost.", int],
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


def _daemon(reactor, port, pipelines, security, root):
    """
    A BufferDaemon on loopback C{port}; C{pipelines}: C{(decoder,
    postprocessor, ring, name)} each.  The senders of its post-processors
    run as its child services.
    """
    daemon = BufferDaemon([serverFromString(reactor, f"tcp:{port}:interface=127.0.0.1")],
                          [Pipeline(decoder, postprocessor, ring, name=name)
                           for decoder, postprocessor, ring, name in pipelines], reactor,
                          timeInterval=1.0, security=security,
                          name=f"BufferDaemon :{port}")
    for _, postprocessor, _, _ in pipelines:
        for sender in getattr(postprocessor, "senders", {}).values():
            sender.setServiceParent(daemon)
    daemon.setServiceParent(root)


def _sender(reactor, port, source, kind, description, security):
    return ReliableSender(clientFromString(reactor, f"tcp:127.0.0.1:{port}"), source, kind,
                          reactor, securityFactory=security.securityFactory(),
                          description=description)


def makeService(options):
    from twisted.internet import reactor

    dataDir = os.path.abspath(options["data-dir"])
    os.makedirs(dataDir, exist_ok=True)
    root = MultiService()
    security = LinkSecurity.fromSettings(True, linkKey(dataDir))
    host = localHostInfo()
    source = host.hostname or "localhost"
    rawPort, agentPort, managementPort = (options["port"], options["agent-port"],
                                          options["management-port"])

    database = os.path.join(dataDir, "rawlog.db")
    pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + database), reactor)
    _daemon(reactor, rawPort, [(
        LogFormatDecoder(), RawLogStore(pool, dialect, description=database),
        openRing(os.path.join(dataDir, "cache.rawlogdb"), 1024, 64 * 2 ** 20, 0),
        "raw-log database")], security, root)

    alerts = os.path.join(dataDir, "alerts.db")
    alertPool, alertDialect = connectionPool(parseDatabaseUrl("sqlite:///" + alerts), reactor)
    _daemon(reactor, managementPort, [
        (IdmefDecoder(), AlertStore(alertPool, alertDialect, description=alerts),
         openRing(os.path.join(dataDir, "cache.mngmthost"), 256, 16 * 2 ** 20, 0),
         "ManagementHost (alert database)"),
        (EventDecoder(), EventStore(*connectionPool(parseDatabaseUrl("sqlite:///" + alerts),
                                                    reactor), description=alerts),
         openRing(os.path.join(dataDir, "cache.mngmthost-events"), 256, 16 * 2 ** 20, 0),
         "ManagementHost (console events)")], security, root)

    rules = loadAaRegex(AGENT_RULES)
    analyzer = AaRegexAnalyzer(
        rules, {"M": _sender(reactor, managementPort, source, "idmef",
                             f"ManagementHost 127.0.0.1:{managementPort}", security)},
        AlertCounter(AlertIdFile(os.path.join(dataDir, "alertid")), rules.alertId), reactor,
        descriptionsFrom(loadMatchFile(MATCH_FILE)))
    logidsSettings = loadAaRules(LOGIDS_RULES)
    management = f"ManagementHost 127.0.0.1:{managementPort}"
    logids = AaRulesAnalyzer(
        logidsSettings, loadEngine(logidsSettings)[0],
        {"M": _sender(reactor, managementPort, source, "idmef", f"{management} (LogIDS alerts)",
                      security),
         "events": _sender(reactor, managementPort, source, "event",
                           f"{management} (LogIDS console events)", security)},
        AlertCounter(AlertIdFile(os.path.join(dataDir, "alertid-logids")),
                     logidsSettings.alertId), reactor)
    _daemon(reactor, agentPort, [
        (LogFormatDecoder(), analyzer,
         openRing(os.path.join(dataDir, "cache.aa"), 256, 32 * 2 ** 20, 0),
         "analysis agent (M-ICE rules)"),
        (LogFormatDecoder(), logids,
         openRing(os.path.join(dataDir, "cache.aa-logids"), 256, 32 * 2 ** 20, 0),
         "analysis agent (LogIDS rules)")], security, root)

    if not options["no-ship"]:
        state = os.path.join(dataDir, "dataforwarder")
        destinations = []
        for name, port, what in (("sql", rawPort, "raw-log BufferDaemon"),
                                 ("analysis", agentPort, "analysis agent")):
            description = f"{what} 127.0.0.1:{port}"
            sender = makeSender(clientFromString(reactor, f"tcp:127.0.0.1:{port}"), source,
                                reactor, description, 15, log, security.securityFactory())
            destinations.append(Destination(
                name, sender, Spool(os.path.join(state, f"spool-{name}"), 10 * 2 ** 20,
                                    256 * 2 ** 20), Ledger(), hostDict(host)))
        DataForwarder([os.path.abspath(options["log"])], destinations, LinePreparer(),
                      OffsetStore(os.path.join(state, "offsets.json")), reactor,
                      sleepInterval=1.0, hostname=source).setServiceParent(root)
    return root
