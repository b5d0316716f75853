# -*- test-case-name: tests.integration.test_tap -*-
"""
C{twistd mice-bufferdaemon -c bufferdaemon.conf}: the generic server, its
role given by the modules its config names.
"""

import os

from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from mice.config import ConfigError, loadBufferDaemon, loadDecoder
from mice.metrics import Metrics
from mice.registry import pipelineModules
from mice.ringbuffer import openRing
from mice.security.policy import LinkSecurity, decoderLinkSecurity
from mice.services.broker import brokerIntake
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.services.metrics import metricsService
from mice.services.reload import HangupReload
from mice.services.sender import sendersFor
from mice.tap.runtime import (  # noqa: F401
    DaemonOptions,
    applyRunSettings,
    configWarnings,
    privilegeWarnings,
)

log = Logger()


class Options(DaemonOptions, configFile="bufferdaemon.conf", component="BufferDaemon"):
    def load(self, path):
        settings = loadBufferDaemon(path)
        pipelineModules(settings)
        return settings


def ringPath(settings, index):
    if not settings.mmSize:
        return None
    return settings.mmPath if index == 0 else f"{settings.mmPath}.{index}"


def buildPipelines(settings, reactor):
    """
    Load each decoder/post-processor pair of C{settings} and open its ring.

    @raise ConfigError: a module is unknown or its config is bad.
    """
    pipelines = []
    modules = pipelineModules(settings)
    for index, (spec, (decoderModule, postModule)) in enumerate(zip(settings.pipelines,
                                                                   modules)):
        decoder = decoderModule.build(spec.decoderConfig, reactor)
        post = postModule.build(spec.postprocessorConfig, reactor)
        dtd = getattr(post, "dtd", None)
        if dtd is not None and hasattr(decoder, "validateWith"):
            # The ManagementHost's DTDFile is checked where the documents
            # are parsed, once.
            decoder.validateWith(dtd)
            post.checkedByDecoder = True
        path = ringPath(settings, index)
        if path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        ring = openRing(path, settings.mmSize, settings.mmBytes, settings.rbSize)
        pipelines.append(Pipeline(
            decoder, post, ring, flushRecords=getattr(post, "batchSize", 5000),
            maxErrors=getattr(post, "maxErrors", 10), concurrency=getattr(post, "concurrency", 1),
            eager=getattr(post, "eager", False), name=f"{spec.decoder}->{spec.postprocessor}"))
    return pipelines


def serverPseudonymizer(settings, reactor):
    """
    The keyed pseudonymiser of C{PSEUDO = yes} (C{mice_mod_psd_keyed} with
    the config PSEUDONYMCONF names), or C{None}.

    @raise ConfigError: the pseudonymiser's config or key does not load,
        at the PSEUDO line (or PSEUDONYMCONF's).
    """
    if not settings.pseudo:
        return None
    from mice.config import lineOf
    from mice.forwarder.pseudonym import buildKeyed

    try:
        pseudonymizer = buildKeyed(settings.pseudonymConfig, reactor)
    except ConfigError as e:
        key = "PSEUDONYMCONF" if lineOf(settings.path, "PSEUDONYMCONF") else "PSEUDO"
        raise ConfigError(settings.path, lineOf(settings.path, key),
                          f"{key}: the keyed pseudonymiser does not load: {e}") from None
    log.info("{path}: log lines pseudonymised on arrival ({conf})", path=settings.path,
             conf=settings.pseudonymConfig)
    return pseudonymizer


def buildBufferDaemon(settings, reactor, onListenFailure=None):
    pipelines = buildPipelines(settings, reactor)
    maxRecord = min(getattr(p.decoder, "maxRecord", 65536) for p in pipelines)
    if settings.endpoints:
        try:
            security = LinkSecurity.combine(
                [decoderLinkSecurity(loadDecoder(spec.decoderConfig))
                 for spec in settings.pipelines], where=settings.path)
        except ValueError as e:
            raise ConfigError(settings.path, None, str(e)) from None
        log.info("{path}: link security {security}", path=settings.path, security=security)
    else:
        # Only a broker queue feeds it: no link, so the decoders' link keys
        # (and their warnings) do not apply; the broker's TLS is amqps://.
        security = None
    pseudonymizer = serverPseudonymizer(settings, reactor)
    metrics = Metrics("bufferdaemon")
    daemon = BufferDaemon(
        [serverFromString(reactor, description) for description in settings.endpoints],
        pipelines, reactor, timeInterval=settings.timeInterval, maxLine=settings.maxLine,
        maxRecord=maxRecord, onListenFailure=onListenFailure, security=security,
        limits=settings.limits, pseudonymizer=pseudonymizer, metrics=metrics)
    for pipeline in pipelines:
        attachSenders(pipeline.postprocessor, daemon, reactor, metrics)
        attach = getattr(pipeline.postprocessor, "attachMetrics", None)
        if attach is not None:
            attach(metrics)
        # What a post-processor is handed and must not start itself: its
        # reaction queues (the ManagementHost).
        for service in getattr(pipeline.postprocessor, "services", ()):
            service.setServiceParent(daemon)
            # The ManagementHost's console counts its logins and streams.
            attach = getattr(service, "attachMetrics", None)
            if attach is not None:
                attach(metrics)
    if settings.broker is not None:
        brokerIntake(reactor, settings.broker, daemon, metrics)
        log.info("{path}: consuming {target}", path=settings.path, target=settings.broker)
    metricsService(settings.metricsListen, metrics, reactor).setServiceParent(daemon)
    if settings.metricsListen:
        log.info("{path}: metrics on {endpoint}", path=settings.path,
                 endpoint=settings.metricsListen)
    return daemon


def attachSenders(postprocessor, parent, reactor, metrics=None):
    """
    Build the senders of the links C{postprocessor} sends on (an analysis
    module's C{links}), run them as child services of C{parent} and hand
    them to it.
    """
    links = getattr(postprocessor, "links", ())
    if links:
        senders = sendersFor(reactor, links, metrics=metrics)
        for sender in senders.values():
            sender.setServiceParent(parent)
        postprocessor.attachSenders(senders)



def makeService(options):
    from twisted.internet import reactor

    try:
        warnings = applyRunSettings(options.settings, getattr(options, "parent", None),
                                    "mice-bufferdaemon", stayRoot=options["stay-root"])
    except ConfigError as e:
        raise SystemExit(f"mice-bufferdaemon: {e}") from None
    settings = options.settings
    for warning in warnings + configWarnings(
            settings.path, *(config for spec in settings.pipelines
                             for config in (spec.decoderConfig, spec.postprocessorConfig))):
        log.warn("{problem}", problem=warning)

    try:
        # A server that cannot listen is of no use: stop (once twistd has
        # started the reactor) after the daemon has logged why.
        daemon = buildBufferDaemon(
            options.settings, reactor,
            onListenFailure=lambda reason: reactor.callWhenRunning(reactor.stop))
    except (ConfigError, OSError, ValueError) as e:
        raise SystemExit(f"mice-bufferdaemon: {e}") from None
    # SIGHUP: the analysis modules read their rules again (systemctl reload).
    HangupReload(daemon.reload, reactor).setServiceParent(daemon)
    return daemon
