# -*- test-case-name: tests.unit.services.test_reload,tests.integration.test_reload -*-
"""
C{SIGHUP}: read the rules again.

L{HangupReload} is a child service of a daemon: while it runs, C{SIGHUP}
calls the daemon's C{reload()} (L{mice.services.bufferdaemon.BufferDaemon.reload})
in the reactor's thread.  Whatever handled C{SIGHUP} before it (a handler
installed by someone else) is still called, after it; stopping puts it back.

twistd itself does not use C{SIGHUP}: it reopens its log file on C{SIGUSR1}
(C{twisted.scripts._twistd_unix.UnixAppLogger}, checked with Twisted 26.10)
and the reactor handles C{SIGINT}, C{SIGTERM} and C{SIGCHLD}.  Without this
service, C{SIGHUP} would end the process (its default action).
"""

import signal

from twisted.application.service import Service
from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger


class HangupReload(Service):
    """
    @param reload: called without arguments in the reactor thread at each
        C{SIGHUP}; may return a Deferred.  Its failures are logged.
    @param reactor: an L{IReactorThreads} (C{callFromThread} is the one call
        that is safe from a signal handler).
    @param signals: the C{signal} module (a fake in tests).
    """

    log = Logger()
    name = "sighup-reload"

    def __init__(self, reload, reactor, signals=signal, signum=None):
        self.reload = reload
        self.reactor = reactor
        self.signals = signals
        self.signum = signals.SIGHUP if signum is None else signum
        self.previous = None
        self.installed = False

    def startService(self):
        Service.startService(self)
        self.previous = self.signals.signal(self.signum, self._handle)
        self.installed = True

    def stopService(self):
        if self.installed:
            self.signals.signal(self.signum, self.previous)
            self.installed = False
        return Service.stopService(self)

    def _handle(self, signum, frame):
        # In a signal handler: hand over to the reactor thread, nothing more.
        self.reactor.callFromThread(self._reload)
        previous = self.previous
        if callable(previous):
            previous(signum, frame)

    def _reload(self):
        self.log.info("SIGHUP: reloading")
        return maybeDeferred(self.reload).addErrback(
            lambda f: self.log.failure("SIGHUP: the reload failed", f))
