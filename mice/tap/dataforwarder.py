# -*- test-case-name: tests.unit.services.test_forwarder,tests.integration.test_forwarder -*-
"""
C{twistd mice-dataforwarder -c dataforwarder.conf}: the client that ships a
host's log files to the raw-log database and the analysis agent.
"""

import os

from twisted.internet.endpoints import clientFromString
from twisted.logger import Logger

from mice.config import ConfigError, loadDataForwarder, loadFmtSimple
from mice.forwarder.format import SimpleFormat, hostDict
from mice.forwarder.prepare import Ledger, LinePreparer
from mice.forwarder.spool import Spool
from mice.forwarder.tailer import OffsetStore
from mice.metrics import Metrics
from mice.protocols.wire import MAX_STREAM
from mice.registry import UnknownModule, UnsafeModulePath, findModule
from mice.security.policy import LinkSecurity
from mice.services.broker import brokerSender
from mice.services.forwarder import (
    DataForwarder,
    Destination,
    defaultStateDirectory,
    makeSender,
    reportingPolicy,
)
from mice.services.metrics import metricsService
from mice.tap.runtime import (
    DaemonOptions,
    applyRunSettings,
    configWarnings,
    localHostInfo,
    startSyslog,
)

log = Logger()

#: The longest record a BufferDaemon takes with its default settings.
MAX_RECORD = 65536


class Options(DaemonOptions, configFile="dataforwarder.conf", component="DataForwarder"):
    def load(self, path):
        return loadDataForwarder(path)


def _module(name, role, config, reactor, path, searchPath=()):
    try:
        return findModule(name, role, searchPath).build(config, reactor)
    except (UnknownModule, UnsafeModulePath) as e:
        raise ConfigError(path, None, str(e)) from None


def _inotify(reactor):
    try:
        from twisted.internet.inotify import INotify

        notifier = INotify(reactor)
        notifier.startReading()
        return notifier
    except Exception as e:  # not Linux, or out of inotify instances
        log.info("inotify unavailable ({error}): polling only", error=e)
        return None


def buildForwarder(settings, reactor, endpoints=None, inotify=False):
    """
    The DataForwarder of C{settings}, its modules loaded.

    @param endpoints: C{{"sql": endpoint, "analysis": endpoint}} to use
        instead of the config's addresses (tests).
    @param inotify: whether inotify should wake the poll when a file
        changes (else: every SLEEPINV only).
    @raise ConfigError: a module is unknown or its config is bad.
    """
    searchPath = settings.modulePaths
    formatter = _module(settings.logFormatModule, "formatter", settings.logFormatConfig,
                        reactor, settings.path, searchPath)
    lineFilter = pseudonymizer = None
    if settings.filter:
        lineFilter = _module(settings.filterModule, "filter", settings.filterConfig, reactor,
                             settings.path, searchPath)
    if settings.pseudo:
        pseudonymizer = _module(settings.pseudonymModule, "pseudonymizer",
                                settings.pseudonymConfig, reactor, settings.path, searchPath)
    for path in settings.files:
        if len(path) > MAX_STREAM:
            raise ConfigError(settings.path, None, f"FILE {path[:40]}...: a path of more than"
                                                   f" {MAX_STREAM} characters cannot be a stream")
    state = settings.stateDirectory or defaultStateDirectory()
    os.makedirs(state, exist_ok=True)
    host = hostDict(formatter.host)
    source = formatter.host.hostname or "localhost"
    security = LinkSecurity.fromSettings(settings.encrypt, settings.encKey, settings.cryptMod,
                                         settings.tls, where=settings.path)
    destinations = []
    for name, address in settings.servers:
        description = f"{'raw-log database' if name == 'sql' else 'analysis agent'} {address}"
        if address.broker is not None:
            # The broker's own TLS and credentials (amqps://, the URL's
            # user): a broker does not speak the link's ENCRYPT/TLS.
            sender = brokerSender(reactor, address.broker, source, "log",
                                  description=description,
                                  retryPolicy=reportingPolicy(description, settings.reconnect,
                                                              log))
        else:
            endpoint = security.wrapClientEndpoint(
                (endpoints or {}).get(name) or clientFromString(reactor, address.endpoint),
                settings.tlsName or address.host)
            sender = makeSender(endpoint, source, reactor, description, settings.reconnect,
                                log, security.securityFactory())
        spool = Spool(os.path.join(state, f"spool-{name}"), settings.shmSize * 1024,
                      settings.spoolSize * 1024)
        for problem in spool.problems:
            log.error("{server}: spool: {problem}", server=description, problem=problem)
        destinations.append(Destination(name, sender, spool, Ledger(), host))
    # A BufferDaemon refuses records over its maxrecord (64 KiB by default).
    preparer = LinePreparer(lineFilter, pseudonymizer,
                            maxRecord=min(settings.maxLine + 64, MAX_RECORD))
    metrics = Metrics("dataforwarder")
    forwarder = DataForwarder(
        settings.files, destinations, preparer, OffsetStore(os.path.join(state, "offsets.json")),
        reactor, sleepInterval=settings.sleepInterval, maxLine=settings.maxLine,
        rotateGrace=settings.rotateGrace, hostname=source,
        makeNotifier=(lambda: _inotify(reactor)) if inotify else None, metrics=metrics)
    metricsService(settings.metricsListen, metrics, reactor).setServiceParent(forwarder)
    return forwarder


def makeService(options):
    from twisted.internet import reactor

    settings = options.settings
    try:
        warnings = applyRunSettings(settings, getattr(options, "parent", None),
                                    "mice-dataforwarder", stayRoot=options["stay-root"])
    except ConfigError as e:
        raise SystemExit(f"mice-dataforwarder: {e}") from None
    for warning in warnings + configWarnings(settings.path):
        log.warn("{problem}", problem=warning)
    if settings.syslog:
        startSyslog(settings.syslogFacility, "mice-dataforwarder")
    try:
        return buildForwarder(settings, reactor, inotify=True)
    except (ConfigError, OSError, ValueError) as e:
        raise SystemExit(f"mice-dataforwarder: {e}") from None


def buildFormatter(configPath, reactor):
    """
    The C{mice_mod_fmt_simple} module: this machine's host columns with the
    config's overrides.
    """
    return SimpleFormat.fromSettings(loadFmtSimple(configPath), localHostInfo())
