# -*- test-case-name: tests.integration.test_console -*-
"""
The console as a service of the ManagementHost's tree: L{consoleService}
builds it from the C{[CONSOLE]} settings, the read side and the live feed
(see C{docs/console.rst} for how the ManagementHost wires it).
"""

from twisted.application.service import IService, MultiService
from twisted.internet.defer import DeferredSemaphore
from twisted.logger import Logger

from mice.console.auth import LoginLimiter, PasswordCheck, Sessions
from mice.console.web import Console, makeSite
from mice.services.listening import optionalListener

log = Logger()


class ConsoleService(MultiService):
    """
    The console's services: its live feed (when the caller did not run it
    elsewhere) and its web server.

    @ivar console: the L{mice.console.web.Console} the resources share.
    @ivar server: the C{StreamServerEndpointService}.
    """

    def __init__(self, console, server, data):
        super().__init__()
        self.setName("console")
        self.console = console
        self.server = server
        self.data = data

    def startService(self):
        start = getattr(self.data, "start", None)
        if start is not None:
            start()
        super().startService()


def tlsFactory(tls, factory):
    """
    C{factory} wrapped in TLS with the certificate and key of C{tls}
    (PEM paths, as C{mice certs} writes them).
    """
    from twisted.internet.ssl import PrivateCertificate
    from twisted.protocols.tls import TLSMemoryBIOFactory

    certificate, key = tls
    with open(certificate, "rb") as f:
        pem = f.read()
    with open(key, "rb") as f:
        pem += b"\n" + f.read()
    options = PrivateCertificate.loadPEM(pem).options()
    return TLSMemoryBIOFactory(options, False, factory)


def threadedVerify(passwords, reactor, concurrency=2):
    """
    Check passwords in the reactor's thread pool, C{concurrency} at a
    time (argon2 takes tens of milliseconds and 64 MiB each: never on the
    reactor thread, and never many at once).
    """
    from twisted.internet.threads import deferToThreadPool

    semaphore = DeferredSemaphore(concurrency)

    def verify(user, password):
        return semaphore.run(deferToThreadPool, reactor, reactor.getThreadPool(),
                             passwords.check, user, password)

    return verify


def consoleService(settings, data, feed, reactor, metrics=None, verify=None):
    """
    The console of a ManagementHost.

    @param settings: a L{mice.config.ConsoleSettings} (C{[CONSOLE]}).
    @param data: an L{mice.console.interfaces.IConsoleData}
        (L{mice.console.data.SqlConsoleData}).
    @param feed: the L{mice.console.feed.ConsoleFeed} the ManagementHost
        pushes to; it becomes a child of the returned service unless it
        already has a parent.
    @param metrics: the daemon's L{mice.metrics.Metrics}, for the logins
        and open streams.
    @param verify: C{verify(user, password) -> Deferred(bool)}; by default
        the argon2 check runs in the reactor's thread pool.
    @return: a L{ConsoleService}.
    """
    from twisted.internet.endpoints import serverFromString

    passwords = PasswordCheck(settings.user, settings.passwordHash)
    console = Console(
        data, feed, passwords, Sessions(reactor, idle=settings.sessionTimeout),
        LoginLimiter(reactor, settings.loginAttempts, settings.loginWindow), reactor,
        staleAfter=settings.staleAfter, icons=settings.icons,
        verify=verify or threadedVerify(passwords, reactor), metrics=metrics)
    if metrics is not None and getattr(feed, "streams", None) is not None:
        metrics.watch("console_streams", lambda: len(feed.streams))
    factory = makeSite(console)
    if settings.tls is not None:
        factory = tlsFactory(settings.tls, factory)
    server = optionalListener(serverFromString(reactor, settings.listen), factory,
                              "the web console", settings.listen,
                              "set [CONSOLE] LISTEN to a free port")
    service = ConsoleService(console, server, data)
    if IService.providedBy(feed) and feed.parent is None:
        feed.setServiceParent(service)
    server.setServiceParent(service)
    log.info("console on {endpoint} ({tls}), user {user}", endpoint=settings.listen,
             tls="TLS" if settings.tls else "plain HTTP", user=settings.user)
    return service
