# -*- test-case-name: tests.unit.protocols.test_reaction -*-
"""
Reaction messages: what the ManagementHost (or C{mice react}) asks a
ReactionDaemon, and the daemon's answers.

They travel over the M-ICE link protocol (L{mice.protocols.link}): the same
line framing, the same link security (the pre-shared-key AEAD handshake of
L{mice.security.psk}, or TLS with client certificates), the same C{hello}
and C{welcome}, with the link kind C{reaction}; then each C{react} message
is answered by one C{outcome} message with the same id, in any order.  See
C{docs/wire.rst} and C{docs/reactiondaemon.rst}.

The message checks are pure; the two Protocol classes only frame and hand
messages on, the server's to the daemon (L{mice.services.reactiondaemon}),
the client's to a L{mice.services.reactionclient.ReactionClient}.
"""

import re
from typing import NamedTuple

from twisted.logger import Logger

from mice.protocols import wire
from mice.protocols.guard import markAuthenticated
from mice.protocols.link import _ClientEnd, _LinkFactory, _ServerEnd

log = Logger()

KIND = "reaction"
REACT = "react"
OUTCOME = "outcome"

APPLY, UNDO, LIST = "apply", "undo", "list"
ACTIONS = (APPLY, UNDO, LIST)

DONE, REFUSED, FAILED = "done", "refused", "failed"
STATUSES = (DONE, REFUSED, FAILED)

#: The longest request line a ReactionDaemon reads (sealed): a request is
#: small (a few parameters of at most 255 characters).
MAX_REQUEST_LINE = 32768
#: The longest answer line a client reads (a page of C{list}).
MAX_ANSWER_LINE = 4 * 2 ** 20

MAX_PARAMS = 16
MAX_VALUE = 255
MAX_BY = 200
#: At most this many countermeasures in one C{list} answer.
MAX_PAGE = 500
#: Requests of one connection being handled at once before the daemon stops
#: reading from it (until half of them are answered).
MAX_IN_FLIGHT = 256
#: The longest duration one may ask for (a year); 0 is permanent.
MAX_DURATION = 366 * 86400

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}\Z", re.ASCII)
_PARAM_NAME = re.compile(r"[a-z_][a-z0-9_]{0,31}\Z", re.ASCII)
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*\Z")


class BadRequest(Exception):
    """
    A malformed C{react} message.

    @ivar requestId: its id when it has a valid one (it is then answered
        with C{refused}), else C{None} (the connection is closed).
    """

    def __init__(self, reason, requestId=None):
        super().__init__(reason)
        self.requestId = requestId


class ReactionRequest(NamedTuple):
    """
    One checked C{react} message.
    """

    id: str
    action: str
    fid: int | None
    params: dict
    duration: float | None
    by: str
    target: str | None
    after: int
    limit: int


def isReactionId(text):
    return type(text) is str and _ID.match(text) is not None


def hello(source):
    return wire.hello(source, KIND)


def checkHello(message):
    """
    @return: the client's source name.
    @raise wire.ProtocolError: not a reaction link's hello.
    """
    if message["t"] != wire.HELLO:
        raise wire.ProtocolError(f"expected hello, got {message['t']!r:.40}")
    if message.get("v") != wire.PROTOCOL_VERSION:
        raise wire.ProtocolError(f"unsupported protocol version {message.get('v')!r:.20}")
    if message.get("kind") != KIND:
        raise wire.ProtocolError(f"a ReactionDaemon takes links of kind {KIND!r}, not"
                                 f" {message.get('kind')!r:.40}")
    source = message.get("source")
    if type(source) is not str or not wire._SOURCE.match(source):
        raise wire.ProtocolError("hello: 'source' must be 1-128 characters of letters, digits"
                                 " and ._:@/-")
    return source


def react(requestId, action, fid=None, params=None, duration=None, by="", target=None,
          after=0, limit=MAX_PAGE):
    """
    A C{react} message.
    """
    message = {"t": REACT, "id": requestId, "action": action, "by": by}
    if action == APPLY:
        message.update(fid=fid, params=dict(params or {}), duration=duration)
    elif action == UNDO:
        if target is not None:
            message["target"] = target
        else:
            message.update(fid=fid, params=dict(params or {}))
    else:
        message.update(after=after, limit=limit)
    return message


def _number(message, key, requestId, minimum, maximum, integer=False):
    value = message.get(key)
    ok = type(value) is int or (not integer and type(value) is float and value == value)
    if not ok or not minimum <= value <= maximum:
        raise BadRequest(f"{key!r} must be {'an integer' if integer else 'a number'} from"
                         f" {minimum} to {maximum}", requestId)
    return value


def checkRequest(message):
    """
    Check a C{react} message in full.

    @return: a L{ReactionRequest}.
    @raise BadRequest: what is wrong.
    """
    if message["t"] != REACT:
        raise BadRequest(f"expected react, got {message['t']!r:.40}")
    requestId = message.get("id")
    if not isReactionId(requestId):
        raise BadRequest("'id' must be 1-128 characters of letters, digits and ._:@/+=-")
    action = message.get("action")
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r:.40} (known: {', '.join(ACTIONS)})",
                         requestId)
    by = message.get("by", "")
    if type(by) is not str or len(by) > MAX_BY or not _PRINTABLE.match(by):
        raise BadRequest(f"'by' must be at most {MAX_BY} printable characters", requestId)
    fid = params = duration = target = None
    after, limit = 0, MAX_PAGE
    if action == LIST:
        if "after" in message:
            after = _number(message, "after", requestId, 0, 2 ** 62, integer=True)
        if "limit" in message:
            limit = _number(message, "limit", requestId, 1, MAX_PAGE, integer=True)
    elif action == UNDO and "target" in message:
        target = message["target"]
        if not isReactionId(target):
            raise BadRequest("'target' must be a countermeasure id", requestId)
    else:
        fid = _number(message, "fid", requestId, 0, 0xFFFFFF, integer=True)
        params = message.get("params")
        if type(params) is not dict or len(params) > MAX_PARAMS:
            raise BadRequest(f"'params' must be an object of at most {MAX_PARAMS} names",
                             requestId)
        for name, value in params.items():
            if not _PARAM_NAME.match(name):
                raise BadRequest(f"parameter name {name!r:.40} is not [a-z_][a-z0-9_]*",
                                 requestId)
            if type(value) is not str or len(value) > MAX_VALUE:
                raise BadRequest(f"parameter {name}: the value must be a string of at most"
                                 f" {MAX_VALUE} characters", requestId)
        if action == APPLY and message.get("duration") is not None:
            duration = _number(message, "duration", requestId, 0, MAX_DURATION)
    return ReactionRequest(requestId, action, fid, params or {}, duration, by, target, after,
                           limit)


def outcome(requestId, status, text, **extra):
    """
    An C{outcome} message.  C{extra} may hold C{retry} (a refusal or
    failure worth asking again later), C{exit} and C{signal} (of a command
    that failed), C{stderr} (its first lines), C{countermeasure} (the one
    applied or lifted), C{active} and C{next} (a page of C{list}),
    C{repeat} (the answer given before to the same id).
    """
    message = {"t": OUTCOME, "id": requestId, "status": status, "text": text}
    message.update((key, value) for key, value in extra.items() if value is not None)
    return message


def checkOutcome(message):
    """
    @return: the answer, checked enough to be read safely.
    @raise wire.ProtocolError: not an answer.
    """
    if message["t"] == wire.ERROR:
        raise wire.ProtocolError(f"the ReactionDaemon closed the link: {message.get('reason')!r}")
    if message["t"] != OUTCOME:
        raise wire.ProtocolError(f"expected outcome, got {message['t']!r:.40}")
    if not isReactionId(message.get("id")) or message.get("status") not in STATUSES \
            or type(message.get("text")) is not str:
        raise wire.ProtocolError("malformed outcome")
    return message


# -- the server's end --------------------------------------------------------

class ReactionServerProtocol(_ServerEnd):
    """
    The ReactionDaemon's end: a C{hello} of kind C{reaction} once the link
    security has authenticated the peer, then C{react} messages, each
    handed to the daemon and answered when it is done.
    """

    source = None
    MAX_LENGTH = MAX_REQUEST_LINE
    inFlight = 0
    readingPaused = False

    @property
    def peerHost(self):
        return getattr(self.transport.getPeer(), "host", None)

    def connectionMade(self):
        super().connectionMade()
        self.factory.daemon.connectionMade(self)

    def connectionLost(self, reason):
        self.factory.daemon.connectionLost(self, reason)

    def messageReceived(self, message, payload):
        daemon = self.factory.daemon
        if self.source is None:
            self.source = checkHello(message)
            markAuthenticated(self.transport)
            daemon.peerAuthenticated(self)
            self.sendMessage(wire.welcome(self.MAX_LENGTH, MAX_VALUE))
            return
        try:
            request = checkRequest(message)
        except BadRequest as e:
            if e.requestId is None:
                raise wire.ProtocolError(f"malformed request: {e}") from None
            log.warn("reaction link from {peer}: request {id} refused: malformed: {reason}",
                     peer=self.peer, id=e.requestId, reason=str(e))
            self.sendMessage(outcome(e.requestId, REFUSED, f"malformed request: {e}"))
            return
        self.inFlight += 1
        if self.inFlight >= MAX_IN_FLIGHT and not self.readingPaused:
            # A peer that asks faster than commands run waits in TCP, not in
            # our memory.
            self.readingPaused = True
            self.transport.pauseProducing()
        daemon.requestReceived(self, request).addCallback(self.answer)

    def answer(self, message):
        self.inFlight -= 1
        if self.readingPaused and self.inFlight < MAX_IN_FLIGHT // 2:
            self.readingPaused = False
            self.transport.resumeProducing()
        if self.connected and not self.transport.disconnecting:
            self.sendMessage(message)


class ReactionServerFactory(_LinkFactory):
    protocol = ReactionServerProtocol

    def __init__(self, daemon, securityFactory):
        super().__init__(securityFactory)
        self.daemon = daemon


# -- the client's end --------------------------------------------------------

class ReactionClientProtocol(_ClientEnd):
    """
    The asking end: says hello, waits for the welcome, then sends what its
    client asks and hands it every answer.
    """

    MAX_LENGTH = MAX_ANSWER_LINE

    def connectionMade(self):
        super().connectionMade()
        self.sendMessage(hello(self.factory.client.source))

    def messageReceived(self, message, payload):
        client = self.factory.client
        if not self.ready:
            if message["t"] == wire.ERROR:
                client.linkRefused(self, str(message.get("reason"))[:500])
            wire.checkWelcome(message)
            self.ready = True
            client.linkReady(self)
        else:
            client.outcomeReceived(self, checkOutcome(message))

    def connectionLost(self, reason):
        self.factory.client.linkLost(self, reason)


class ReactionClientFactory(_LinkFactory):
    protocol = ReactionClientProtocol

    def __init__(self, client, securityFactory):
        super().__init__(securityFactory)
        self.client = client
