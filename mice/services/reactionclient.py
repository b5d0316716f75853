# -*- test-case-name: tests.unit.protocols.test_reaction -*-
"""
The asking side of a reaction link: an authenticated, reconnecting client
of one ReactionDaemon.  L{ReactionClient.request} sends a C{react} message
and returns a Deferred that fires with the daemon's C{outcome}; a request
not yet answered when the link drops is sent again on the next link, with
the same id (the daemon answers a repeated id with its first answer and
runs nothing twice), until its time is up.

Used by the ManagementHost's countermeasure reaction
(L{mice.reactors.countermeasure}) and by C{mice react}.
"""

from collections import OrderedDict

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from mice.protocols.reaction import ReactionClientFactory
from mice.services.sender import ReconnectingService, endpointName

log = Logger()


class ReactionUnreachable(Exception):
    """
    The ReactionDaemon did not answer in time (it is down, unreachable, or
    refuses this client's key).
    """


class ReactionClient(ReconnectingService):
    """
    @param endpoint: a client endpoint (wrapped for TLS when the link is).
    @param source: this client's name in the daemon's log.
    @param securityFactory: from L{mice.security.policy.LinkSecurity}.
    @param onReady: called with this client each time a link is ready (the
        countermeasure reaction refreshes its view of what is active).
    """

    def __init__(self, endpoint, clock, source, securityFactory, description=None,
                 retryPolicy=None, timeout=30.0, onReady=None):
        self.source = source
        self.timeout = timeout
        self.lastProblem = None
        self._clock = clock
        self._pending = OrderedDict()
        self._link = None
        self._onReady = onReady
        self.factory = ReactionClientFactory(self, securityFactory)
        self._reconnect(endpoint, description or endpointName(endpoint), self.factory, clock,
                        retryPolicy)

    def _stopping(self):
        for requestId in list(self._pending):
            self._giveUp(requestId, "the client stopped")

    @property
    def connected(self):
        return self._link is not None

    def whenConnected(self, failAfterFailures=None):
        """
        @return: a Deferred firing once connected (or failing after
            C{failAfterFailures} failed attempts).
        """
        return self._client.whenConnected(failAfterFailures=failAfterFailures)

    def request(self, message, timeout=None):
        """
        Send C{message} (a C{react} message, see
        L{mice.protocols.reaction.react}) until it is answered.

        @return: a Deferred firing with the C{outcome} message, or failing
            with L{ReactionUnreachable} after C{timeout} seconds without an
            answer.
        """
        requestId = message["id"]
        d = Deferred()
        entry = self._pending.get(requestId)
        if entry is not None:
            entry[1].append(d)
            return d
        timer = self._clock.callLater(timeout or self.timeout, self._giveUp, requestId, None)
        self._pending[requestId] = (message, [d], timer)
        if self._link is not None:
            self._link.sendMessage(message)
        return d

    def _giveUp(self, requestId, why):
        entry = self._pending.pop(requestId, None)
        if entry is None:
            return
        message, waiters, timer = entry
        if timer.active():
            timer.cancel()
        if why is None:
            state = ("connected, no answer" if self._link is not None else
                     f"not connected{': ' + self.lastProblem if self.lastProblem else ''}")
            why = f"no answer from the ReactionDaemon {self.description} ({state})"
        for waiter in waiters:
            waiter.errback(ReactionUnreachable(why))

    # What the protocol calls

    def linkReady(self, link):
        self._link = link
        self.lastProblem = None
        log.info("reaction link to {daemon} ready ({pending} requests to send)",
                 daemon=self.description, pending=len(self._pending))
        for message, _waiters, _timer in list(self._pending.values()):
            link.sendMessage(message)
        if self._onReady is not None:
            self._onReady(self)

    def linkRefused(self, link, reason):
        self.lastProblem = f"refused: {reason}"
        log.error("ReactionDaemon {daemon} refused this client: {reason}",
                  daemon=self.description, reason=reason)

    def linkLost(self, link, reason):
        if link is self._link:
            self._link = None
            log.info("reaction link to {daemon} lost ({reason}); {pending} requests waiting",
                     daemon=self.description, reason=reason.getErrorMessage(),
                     pending=len(self._pending))
        elif not link.ready and not (self.lastProblem or "").startswith("refused"):
            self.lastProblem = ("the daemon closed the link before it was ready (a wrong key or"
                                f" CRYPTMOD?): {reason.getErrorMessage()}")

    def outcomeReceived(self, link, message):
        entry = self._pending.pop(message["id"], None)
        if entry is None:
            return  # the answer to a request given up on, or to a resend
        _, waiters, timer = entry
        if timer.active():
            timer.cancel()
        for waiter in waiters:
            waiter.callback(message)
