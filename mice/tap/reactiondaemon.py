# -*- test-case-name: tests.integration.test_reactiondaemon -*-
"""
C{twistd mice-reactiondaemon -c reactiondaemon.conf}: the client's
ReactionDaemon, which applies countermeasures the ManagementHost asks for.
"""

import ipaddress
import os

from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from mice.config import ConfigError, loadReactionDaemon, parseDatabaseUrl
from mice.registry import UnknownModule, findModule
from mice.security.policy import LinkSecurity
from mice.security.psk import weakPassphrase
from mice.tap.runtime import DaemonOptions, applyRunSettings, configWarnings

log = Logger()

#: Where the state is kept when the config has no STATEDIR.
DEFAULT_STATE_DIRECTORY = os.path.join(os.sep, "var", "lib", "mice", "reactiondaemon")


class Options(DaemonOptions, configFile="reactiondaemon.conf", component="ReactionDaemon",
              stayRoot=False):
    configErrors = (ConfigError, OSError, UnknownModule)

    def load(self, path):
        settings = loadReactionDaemon(path)
        for function in settings.functions:
            findModule(function.module, "reaction", settings.modulePaths)
        return settings


def buildModules(settings, reactor):
    """
    @return: C{{fid: module}}.
    @raise ConfigError: a module is unknown or its config is bad.
    """
    modules = {}
    for function in settings.functions:
        try:
            factory = findModule(function.module, "reaction", settings.modulePaths)
            modules[function.fid] = factory.build(function.configFile, reactor)
        except UnknownModule as e:
            raise ConfigError(settings.path, None, str(e)) from None
        except ConfigError as e:
            if e.filename == function.module:
                raise ConfigError(settings.path, None, f"FID 0x{function.fid:06X}:"
                                                       f" {function.module} {e.message}") from None
            raise
    return modules


def _reachableBeyondLoopback(endpoint):
    kind, _, rest = endpoint.partition(":")
    if kind.lower() == "unix":
        return False
    options = dict(part.split("=", 1) for part in rest.replace("\\:", "\0").split(":")
                   if "=" in part)
    interface = options.get("interface", "").replace("\0", ":")
    try:
        return not ipaddress.ip_address(interface).is_loopback
    except ValueError:
        return True


def linkSecurity(settings):
    """
    The daemon's link security: TLS with client certificates, or PASSWORD
    as the pre-shared key.  Never plain text.

    @raise ConfigError: the well-known passphrase on an address others can
        reach.
    """
    if settings.tls is not None:
        return LinkSecurity.fromSettings(True, tls=settings.tls, where=settings.path)
    if weakPassphrase(settings.password):
        exposed = [e for e in settings.endpoints if _reachableBeyondLoopback(e)]
        if exposed:
            raise ConfigError(settings.path, None, f"PASSWORD is the well-known default"
                                                   f" passphrase and the daemon would listen on"
                                                   f" {exposed[0]}: anyone who can reach it could"
                                                   " ban anything; set a key from `mice keygen`"
                                                   " (or listen on 127.0.0.1 only)")
    return LinkSecurity.fromSettings(True, settings.password, settings.cryptMod,
                                     where=settings.path, keyName="PASSWORD")


def buildReactionDaemon(settings, reactor, endpoints=None, onListenFailure=None,
                        ownAddresses=None):
    """
    The ReactionDaemon of C{settings}: its modules, its link security, its
    state store in STATEDIR.

    @param endpoints: server endpoints to use instead of the config's.
    @raise ConfigError: a module is unknown or a config is bad.
    """
    from mice.db.countermeasures import CountermeasureStore
    from mice.db.pools import connectionPool
    from mice.services.reactiondaemon import (
        Countermeasures,
        ReactionDaemon,
        localAddresses,
        stateDatabase,
    )

    modules = buildModules(settings, reactor)
    security = linkSecurity(settings)
    path = stateDatabase(settings.stateDirectory or DEFAULT_STATE_DIRECTORY)
    pool, _ = connectionPool(parseDatabaseUrl("sqlite:///" + path), reactor)
    store = CountermeasureStore(pool, path)
    addresses = localAddresses() if ownAddresses is None else list(ownAddresses)
    if settings.bindTo and settings.bindTo not in ("0.0.0.0", "::"):
        addresses.append(settings.bindTo)
    protected = [(address, "this host") for address in addresses]
    engine = Countermeasures(modules, store, reactor, protected)
    log.info("{path}: functions {functions}; link security {security}; state in {state}",
             path=settings.path, security=security, state=path,
             functions=", ".join(f"0x{fid:06X} {module.name}" for fid, module in modules.items()))
    return ReactionDaemon(
        endpoints if endpoints is not None else
        [serverFromString(reactor, description) for description in settings.endpoints],
        engine, security, onListenFailure=onListenFailure, description=settings.path,
        clock=reactor, limits=settings.limits)


def withMetrics(daemon, settings, reactor):
    """
    C{daemon} beside its metrics (C{[METRICS]} C{LISTEN}, and the minute
    log line), as every daemon has them: countermeasures active and links
    open, read at each scrape.
    """
    from twisted.application.service import MultiService

    from mice.metrics import Metrics
    from mice.services.metrics import metricsService

    metrics = Metrics("reactiondaemon")
    metrics.watch("countermeasures_active", lambda: len(daemon.engine.current))
    metrics.watch("links_open", lambda: len(daemon.connections))
    top = MultiService()
    daemon.setName("reactiondaemon")
    daemon.setServiceParent(top)
    metricsService(settings.metricsListen, metrics, reactor).setServiceParent(top)
    if settings.metricsListen:
        log.info("{path}: metrics on {endpoint}", path=settings.path,
                 endpoint=settings.metricsListen)
    return top


def makeService(options):
    from twisted.internet import reactor

    settings = options.settings
    for warning in applyRunSettings(settings, getattr(options, "parent", None),
                                    "mice-reactiondaemon") + configWarnings(settings.path):
        log.warn("{problem}", problem=warning)
    try:
        # A daemon that cannot restore its state or listen is of no use:
        # stop (once twistd has started the reactor) after it has said why.
        return withMetrics(buildReactionDaemon(
            settings, reactor,
            onListenFailure=lambda reason: reactor.callWhenRunning(reactor.stop)),
            settings, reactor)
    except (ConfigError, OSError, ValueError) as e:
        raise SystemExit(f"mice-reactiondaemon: {e}") from None
