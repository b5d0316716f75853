# -*- test-case-name: tests.unit.services.test_bufferdaemon,tests.unit.services.test_sender,tests.integration.test_securelink -*-
"""
The link protocol's Protocol/Factory pairs.

They only frame lines and hand messages on: the server side to a receiver
(the BufferDaemon, see L{mice.services.bufferdaemon}), the client side to a
sender (L{mice.services.sender.ReliableSender}).  Between the line framing and
the messages sits a link security object; L{PlainSecurity} (C{ENCRYPT = no})
passes lines through, and the encrypted modes plug in at the same place.

The server's protocol tells the connection guard under it
(L{mice.protocols.guard}) when its peer has authenticated (its hello was
accepted); until then it reads lines of at most L{wire.HANDSHAKE_MAX_LINE}
bytes.  A client sends a L{wire.ping} when it has sent nothing for the
keepalive interval the server's welcome asks for.
"""

from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver

from mice.protocols import wire
from mice.protocols.guard import markAuthenticated, reportProblem

log = Logger()

#: How long a line a client accepts from a server (acks and welcomes are small).
CLIENT_MAX_LINE = 65536


class PlainSecurity:
    """
    The link security of C{ENCRYPT = no}: lines are messages.

    A security object sits between the framing and the messages.  It is told
    when the connection starts (and may send handshake lines with
    C{sendLine}), turns each received line into a message payload (or C{None}
    while a handshake is still consuming lines) and seals each outgoing
    payload (or holds it, returning C{None}, until its handshake is done and
    then sends it itself).  It raises L{wire.ProtocolError} for anything it
    refuses.  L{mice.security.psk.PskSecurity} is the pre-shared-key one;
    TLS wraps the transport instead and uses this one on top.
    """

    name = "plain"

    def start(self, sendLine, isServer):
        pass

    def open(self, line):
        return line

    def seal(self, payload):
        return payload

    @staticmethod
    def sealedLength(size):
        return size


def describePeer(transport):
    """
    A readable name for the other end of C{transport}, for logs.
    """
    peer = transport.getPeer()
    host = getattr(peer, "host", None)
    if host is not None:
        return f"{host}:{peer.port}"
    name = getattr(peer, "name", None)
    return f"unix:{name.decode() if isinstance(name, bytes) else name or '?'}"


class _LinkProtocol(LineReceiver):
    delimiter = b"\n"
    peer = "?"

    def connectionMade(self):
        self.peer = describePeer(self.transport)
        self._security = self.factory.makeSecurity()
        self._security.start(self.sendLine, isServer=self._isServer)

    def sendMessage(self, message):
        self.sendPayload(wire.encodeMessage(message))

    def sendPayload(self, payload):
        line = self._security.seal(payload)
        if line is not None:
            self.sendLine(line)

    def sealedLength(self, size):
        """
        How long the line for a payload of C{size} bytes is.
        """
        return self._security.sealedLength(size)

    def lineReceived(self, line):
        try:
            payload = self._security.open(line)
            if payload is not None:
                self.messageReceived(wire.decodeMessage(payload), payload)
        except wire.ProtocolError as e:
            self.refuse(str(e))

    def lineLengthExceeded(self, line):
        self.refuse(f"message longer than {self.MAX_LENGTH} bytes")

    def refuse(self, reason):
        """
        Log why, tell the peer, and close this connection (only this one).
        """
        if self.transport.disconnecting:
            return
        if not reportProblem(self.transport,
                             f"link {self._side} {self.peer}: closing: {reason}"):
            log.warn("link {side} {peer}: closing: {reason}", side=self._side, peer=self.peer,
                     reason=reason)
        refused = getattr(getattr(self.factory, "receiver", None), "connectionRefused", None)
        if refused is not None:
            refused(self, reason)
        try:
            self.sendMessage(wire.error(reason))
        except Exception:
            pass
        self.transport.loseConnection()


class _ServerEnd(_LinkProtocol):
    """
    The accepting end of a link: the peer says hello first.
    """

    _isServer = True
    _side = "from"


class _ClientEnd(_LinkProtocol):
    """
    The connecting end of a link: it says hello, and is C{ready} once the
    peer's welcome came.
    """

    _isServer = False
    _side = "to"
    ready = False


class LinkServerProtocol(_ServerEnd):
    """
    The BufferDaemon's end: a hello, then batches, each acknowledged when the
    receiver says it is durable.
    """

    source = None
    kind = None

    def connectionMade(self):
        self.MAX_LENGTH = min(wire.HANDSHAKE_MAX_LINE, self.factory.receiver.maxLine)
        super().connectionMade()
        self.factory.receiver.connectionMade(self)

    def connectionLost(self, reason):
        # A TLS handshake that failed, or a peer gone before its hello (a
        # connection aborted here was closed by the guard, which said why).
        if self.source is None and not reason.check(ConnectionDone, ConnectionAborted):
            text = f"link from {self.peer}: closed before its hello: {reason.getErrorMessage()}"
            if not reportProblem(self.transport, text):
                log.warn("link from {peer}: closed before its hello: {reason}", peer=self.peer,
                         reason=reason.getErrorMessage())
            refused = getattr(self.factory.receiver, "connectionRefused", None)
            if refused is not None:
                refused(self, "closed before its hello")
        self.factory.receiver.connectionLost(self)

    def messageReceived(self, message, payload):
        if self.source is None:
            source, kind = wire.checkHello(message)
            receiver = self.factory.receiver
            receiver.helloReceived(self, source, kind)
            self.source, self.kind = source, kind
            self.MAX_LENGTH = receiver.maxLine
            markAuthenticated(self.transport)
            self.sendMessage(wire.welcome(receiver.maxLine, receiver.maxRecord,
                                          getattr(receiver, "keepalive", None)))
        elif message["t"] == wire.PING:
            pass
        else:
            self.factory.receiver.batchReceived(self, message, payload)

    def sendAck(self, batchId):
        if self.connected and not self.transport.disconnecting:
            self.sendLine(self._security.seal(wire.encodeAck(batchId)))


class _LinkFactory(Factory):
    """
    Either end's factory: quiet (no "Starting factory" line for every
    reconnection), and the maker of each connection's link security
    (C{makeSecurity}).
    """

    noisy = False

    def __init__(self, securityFactory):
        self.makeSecurity = securityFactory


class LinkServerFactory(_LinkFactory):
    protocol = LinkServerProtocol

    def __init__(self, receiver, securityFactory=PlainSecurity):
        super().__init__(securityFactory)
        self.receiver = receiver


class LinkClientProtocol(_ClientEnd):
    """
    The sending end: says hello, waits for the welcome, then lets the sender
    push batches and hands it every ack.
    """

    MAX_LENGTH = CLIENT_MAX_LINE
    keepalive = None
    _lastSent = 0.0
    _keepaliveCall = None

    def connectionMade(self):
        super().connectionMade()
        sender = self.factory.sender
        self.sendMessage(wire.hello(sender.source, sender.kind))

    def messageReceived(self, message, payload):
        if not self.ready:
            if message["t"] == wire.ERROR:
                self.factory.sender.linkRefused(self, str(message.get("reason")))
            maxLine, maxRecord = wire.checkWelcome(message)
            keepalive = wire.checkKeepalive(message)
            self.ready = True
            if keepalive is not None and self.factory.clock is not None:
                self.keepalive = keepalive
                self._keepaliveCall = self.factory.clock.callLater(keepalive,
                                                                   self._keepaliveDue)
            self.factory.sender.linkReady(self, maxLine, maxRecord)
        else:
            self.factory.sender.ackReceived(self, wire.checkAck(message))

    def sendPayload(self, payload):
        clock = self.factory.clock
        if clock is not None:
            self._lastSent = clock.seconds()
        super().sendPayload(payload)

    def _keepaliveDue(self):
        """
        Send a ping if nothing was sent for the keepalive interval; check
        again when the next one could be due.
        """
        self._keepaliveCall = None
        if not self.connected or self.transport.disconnecting:
            return
        clock = self.factory.clock
        quiet = clock.seconds() - self._lastSent
        if quiet >= self.keepalive:
            self.sendMessage(wire.ping())
            quiet = 0
        self._keepaliveCall = clock.callLater(self.keepalive - quiet, self._keepaliveDue)

    def sendBatchLine(self, line):
        self.sendPayload(line)

    def connectionLost(self, reason):
        if self._keepaliveCall is not None and self._keepaliveCall.active():
            self._keepaliveCall.cancel()
        self._keepaliveCall = None
        self.factory.sender.linkLost(self, reason)


class LinkClientFactory(_LinkFactory):
    """
    @param clock: for the keepalives a server may ask for; C{None} sends
        none (a server that times idle links out then closes this one when
        it has been silent for long, and the sender reconnects).
    """

    protocol = LinkClientProtocol

    def __init__(self, sender, securityFactory=PlainSecurity, clock=None):
        super().__init__(securityFactory)
        self.sender = sender
        self.clock = clock
