# -*- test-case-name: tests.unit.protocols.test_amqp -*-
"""
M-ICE batches on an AMQP 0-9-1 broker (RabbitMQ), without any I/O.

A broker target is an AMQP URL and a queue (L{BrokerTarget}).  One message
is one batch: its body is the link protocol's batch line
(L{mice.protocols.wire.batch}, with the stream, the first sequence number,
the host columns, the records and their numbers), so the idempotency keys
(origin, stream, seq) travel with it; the sender's name and the kind of the
records go in the message's headers.  The broker carries bytes it never
reads; the consumer checks them as a link server does
(L{decodeDelivery}).  See C{docs/scaling.rst}.

The connection itself is pika's (C{pika.adapters.twisted_connection}),
wired in L{mice.services.broker}.  Pure: no reactor, no sockets.
"""

import re
import urllib.parse
from typing import NamedTuple

from mice.protocols import wire

#: The default AMQP ports.
PORTS = {"amqp": 5672, "amqps": 5671}

#: The URL query parameters understood (RabbitMQ's URI spec names).
QUERY_KEYS = ("heartbeat", "connection_timeout", "cacertfile", "certfile", "keyfile",
              "server_name_indication")

#: Queue types a consumer may declare: quorum queues (replicated, durable)
#: by default, classic ones for a single-node test broker.
QUEUE_TYPES = ("quorum", "classic")

_QUEUE = re.compile(r"[A-Za-z0-9._:@/-]{1,255}\Z")

HEADER_SOURCE = "mice-source"
HEADER_KIND = "mice-kind"


class BrokerError(ValueError):
    """
    An AMQP URL, a queue name or a message is not what M-ICE can use; the
    message says why (and never holds a password).
    """


class AmqpUrl(NamedTuple):
    """
    An C{amqp://} or C{amqps://} URL, parsed.  Its C{repr} and C{str}
    never show the password (L{masked}).
    """

    scheme: str
    host: str
    port: int
    vhost: str
    user: str
    password: str
    options: tuple = ()
    """C{(name, value)} pairs of the query (L{QUERY_KEYS})."""

    @property
    def tls(self):
        return self.scheme == "amqps"

    def option(self, name, default=None):
        return dict(self.options).get(name, default)

    @property
    def masked(self):
        """
        The URL with C{********} for the password: what logs and
        C{check-config} show.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        credentials = urllib.parse.quote(self.user, safe="")
        if self.password:
            credentials += ":********"
        vhost = urllib.parse.quote(self.vhost, safe="")
        query = ("?" + urllib.parse.urlencode(self.options)) if self.options else ""
        return f"{self.scheme}://{credentials}@{host}:{self.port}/{vhost}{query}"

    def __repr__(self):
        return f"AmqpUrl({self.masked!r})"

    __str__ = __repr__


def parseAmqpUrl(text):
    """
    Parse an AMQP URL (C{amqp://user:password@host:port/vhost?heartbeat=30});
    user and password default to RabbitMQ's C{guest}, the vhost to C{/}.

    @raise BrokerError: it is not one (the error shows it masked).
    """
    text = text.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise BrokerError(f"not an AMQP URL ({e}): {_maskText(text)!r}") from None
    if parts.scheme not in PORTS:
        raise BrokerError(f"an AMQP URL starts with amqp:// or amqps://, got"
                          f" {_maskText(text)!r}")
    if not parts.hostname:
        raise BrokerError(f"the AMQP URL {_maskText(text)!r} names no host")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    vhost = urllib.parse.unquote(path) if path else "/"
    options = []
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if name not in QUERY_KEYS:
            raise BrokerError(f"the AMQP URL {_maskText(text)!r} has an unknown option"
                              f" {name!r} (known: {', '.join(QUERY_KEYS)})")
        if name in ("heartbeat", "connection_timeout") and not value.isdigit():
            raise BrokerError(f"the AMQP URL's {name} must be a number of seconds, got"
                              f" {value!r}")
        if name in ("certfile", "keyfile", "cacertfile") and parts.scheme != "amqps":
            raise BrokerError(f"the AMQP URL's {name} needs amqps://")
        options.append((name, value))
    return AmqpUrl(parts.scheme, parts.hostname, port or PORTS[parts.scheme], vhost,
                   urllib.parse.unquote(parts.username) if parts.username is not None
                   else "guest",
                   urllib.parse.unquote(parts.password) if parts.password is not None
                   else ("guest" if parts.username is None else ""),
                   tuple(options))


def _maskText(text):
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1********@", text)


def checkQueueName(name):
    """
    @return: C{name}, a queue name M-ICE accepts (1-255 characters of
        letters, digits and C{._:@/-}).
    @raise BrokerError: it is not.
    """
    if not _QUEUE.match(name or ""):
        raise BrokerError(f"a queue name is 1-255 letters, digits and ._:@/-, got {name!r}")
    return name


class BrokerTarget(NamedTuple):
    """
    Where batches go or come from on a broker: an L{AmqpUrl} and a queue.
    """

    url: AmqpUrl
    queue: str
    queueType: str = "quorum"
    prefetch: int = 64
    """For a consumer: the most messages (batches) it holds unacknowledged."""

    def __str__(self):
        return f"{self.url.masked} queue {self.queue}"

    def __repr__(self):
        return f"BrokerTarget({self})"

    def queueArguments(self):
        """
        The C{x-} arguments the queue is declared with.
        """
        return {"x-queue-type": self.queueType}


def headers(source, kind):
    """
    The headers of a batch's message: who sent it, what its records are.
    """
    return {HEADER_SOURCE: source, HEADER_KIND: kind}


def messageId(source, stream, seq):
    """
    The AMQP message id of a batch: its idempotency key, for the operator
    who looks at a queue (the stores use the body's).
    """
    return f"{source}|{stream}|{seq}"


def decodeDelivery(headers, body, deliveryTag):
    """
    Check a delivered message's headers and parse its body; the batch's
    envelope is checked where it is received
    (L{mice.services.bufferdaemon.BufferDaemon.batchReceived}, which raises
    L{mice.protocols.wire.ProtocolError}), as for a link.

    @param headers: the message's headers (C{None} when it has none).
    @param deliveryTag: it replaces the sender's batch id, so that the
        acknowledgement names the delivery.
    @return: C{(source, kind, message)}, the message a dict as
        L{mice.protocols.wire.decodeMessage} gives it.
    @raise BrokerError: the message is not an M-ICE batch (a poison message:
        the consumer rejects it, it is never redelivered).
    """
    headers = headers or {}
    source, kind = headers.get(HEADER_SOURCE), headers.get(HEADER_KIND)
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if isinstance(kind, bytes):
        kind = kind.decode("utf-8", "replace")
    try:
        wire.checkHello(wire.hello(source, kind))
        message = wire.decodeMessage(body)
        message["id"] = deliveryTag
    except wire.ProtocolError as e:
        raise BrokerError(str(e)) from None
    return source, kind, message


#: AMQP 0-9-1 reply codes (the spec's constants) a broker closes a channel
#: with: the channel is gone, the connection is not.
CHANNEL_ERRORS = {
    311: "CONTENT_TOO_LARGE",
    312: "NO_ROUTE",
    313: "NO_CONSUMERS",
    403: "ACCESS_REFUSED",
    404: "NOT_FOUND",
    405: "RESOURCE_LOCKED",
    406: "PRECONDITION_FAILED",
}

#: The reply codes that close the whole connection: its reconnect (with the
#: link's backoff) deals with them.
CONNECTION_ERRORS = {
    320: "CONNECTION_FORCED",
    402: "INVALID_PATH",
    501: "FRAME_ERROR",
    502: "SYNTAX_ERROR",
    503: "COMMAND_INVALID",
    504: "CHANNEL_ERROR",
    505: "UNEXPECTED_FRAME",
    506: "RESOURCE_ERROR",
    530: "NOT_ALLOWED",
    540: "NOT_IMPLEMENTED",
    541: "INTERNAL_ERROR",
}

#: What a channel's end means: open a new channel on the same connection;
#: leave it to the connection's reconnect; nothing (this client closed it).
REOPEN, RECONNECT, IGNORE = "reopen", "reconnect", "ignore"

#: The reply code standing for a consumer the broker cancelled
#: (C{basic.cancel}: its queue was deleted, or its node went away), which
#: has none of its own.
CONSUMER_CANCELLED = 0

#: The reply code pika gives a channel this client closed itself.
CLOSED_BY_CLIENT = 200

#: The backoff of re-opening a channel: the link's (0.5 s doubling up to
#: 30 s), counted from the last channel set up.
REOPEN_INITIAL_DELAY = 0.5
REOPEN_MAX_DELAY = 30.0


class ChannelPlan(NamedTuple):
    """
    What to do after a channel ended (L{afterChannelError}).
    """

    action: str
    """L{REOPEN}, L{RECONNECT} or L{IGNORE}."""
    delay: float
    """For L{REOPEN}: seconds to wait before opening the new channel."""
    reason: str
    """The broker's words, with the code's name: for the log."""


#: Said after a 406 for a queue declared with another type than it has.
QUEUE_TYPE_ADVICE = (
    "; the queue exists with another type: give every end of it the same"
    " QUEUE_TYPE (QueueType in an agent's [HOST_INFO]), or delete the queue"
    " once it is empty (rabbitmqctl list_queues name messages type)")


def afterChannelError(replyCode, replyText, failures):
    """
    Decide what a client does once the broker ended its channel, or
    cancelled its consumer, while the connection stays up.

    A channel-level error (L{CHANNEL_ERRORS}: a queue deleted under a
    consumer or publisher, an acknowledgement the broker did not expect,
    a queue declared again with other arguments, a permission withdrawn)
    and a consumer the broker cancelled are met by opening a new channel
    on the same connection, which declares the queue again (with the same
    arguments), registers the consumer again and publishes every
    unconfirmed batch again -- after a backoff, so that a broker which
    keeps saying no is not asked in a loop.  A connection-level code is the
    reconnect's business; a channel this client closed is nobody's.

    @param replyCode: the broker's reply code; L{CONSUMER_CANCELLED} for a
        C{basic.cancel}, L{CLOSED_BY_CLIENT} for a channel closed here,
        C{None} for a batch the broker nacked (C{replyText} says which).
    @param replyText: the broker's text.
    @param failures: how many channels in a row ended without one being
        set up again since (0 the first time).
    @return: a L{ChannelPlan}.
    """
    if replyCode == CLOSED_BY_CLIENT:
        return ChannelPlan(IGNORE, 0.0, f"closed by this client ({replyText})")
    if replyCode == CONSUMER_CANCELLED:
        reason = f"consumer cancelled by the broker ({replyText or 'basic.cancel'})"
    elif replyCode in CONNECTION_ERRORS:
        return ChannelPlan(RECONNECT, 0.0,
                           f"{replyCode} {CONNECTION_ERRORS[replyCode]} - {replyText}")
    elif replyCode is None:
        reason = replyText
    else:
        name = CHANNEL_ERRORS.get(replyCode, "unknown reply code")
        # RabbitMQ's text starts with the code's name: not twice.
        text = replyText.removeprefix(f"{name} - ")
        reason = f"{replyCode} {name} - {text}"
        if replyCode == 406 and "inequivalent arg 'x-queue-type'" in text:
            # Two ends that disagree on the queue's type: no new channel
            # will ever agree with the broker, only the configs can.
            reason += QUEUE_TYPE_ADVICE
    delay = min(REOPEN_INITIAL_DELAY * 2 ** min(max(failures, 0), 16), REOPEN_MAX_DELAY)
    return ChannelPlan(REOPEN, delay, reason)
