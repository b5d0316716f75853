# -*- test-case-name: tests.unit.protocols.test_wire -*-
"""
The M-ICE link protocol's messages, without any I/O.

Every message is one line: a compact JSON object in UTF-8, terminated by
C{"\\n"} (JSON escapes newlines inside strings, so a line is always a whole
message).  See C{docs/wire.rst} for the conversation.  A peer that sends
anything else is cut off with a L{ProtocolError} naming what was wrong.
"""

import json
import re
from typing import NamedTuple

PROTOCOL_VERSION = 1

HELLO = "hello"
WELCOME = "welcome"
BATCH = "batch"
ACK = "ack"
ERROR = "error"
PING = "ping"

#: The longest line a server reads before the client's hello is accepted: the
#: pre-shared-key handshake's lines and the hello are a few hundred bytes, and
#: a peer that has not authenticated must not make the server buffer MAXLINE.
HANDSHAKE_MAX_LINE = 4096

KINDS = ("log", "idmef", "event")

MAX_SOURCE = 128
MAX_STREAM = 255

_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}\Z")

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_decode = json.JSONDecoder().decode


class ProtocolError(Exception):
    """
    A peer broke the protocol; the message says how, for the log.
    """


def encodeMessage(message):
    """
    @param message: a dict with a C{"t"} key.
    @return: the line for it, without the delimiter.
    """
    return _encoder.encode(message).encode("utf-8")


def decodeMessage(line):
    """
    Parse one line received from a peer.

    @raise ProtocolError: not UTF-8, not JSON, not an object or no type.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(f"invalid UTF-8 at byte {e.start} of a message") from None
    try:
        message = _decode(text)
    except ValueError as e:
        raise ProtocolError(f"malformed message: {e}") from None
    if type(message) is not dict or type(message.get("t")) is not str:
        raise ProtocolError("malformed message: not an object with a type")
    return message


def hello(source, kind):
    return {"t": HELLO, "v": PROTOCOL_VERSION, "source": source, "kind": kind}


def welcome(maxLine, maxRecord, keepalive=None):
    """
    @param keepalive: when given, the client is to send something (a
        L{ping} if it has nothing else) at least every C{keepalive} seconds:
        the server closes links that stay silent for three times as long.
    """
    message = {"t": WELCOME, "v": PROTOCOL_VERSION, "maxline": maxLine,
               "maxrecord": maxRecord}
    if keepalive is not None:
        message["keepalive"] = keepalive
    return message


def ping():
    """
    A client's keepalive: the server reads it and does nothing else.
    """
    return {"t": PING}


def batch(batchId, stream, seq, host, records, seqs=None):
    """
    @param batchId: the sender's id for this batch, echoed in the ack.
    @param stream: the file or device the records come from.
    @param seq: the sequence number of the first record; the others follow.
    @param host: a dict of host columns (see L{mice.record.HostInfo}), or
        C{None} for kinds that carry none.
    @param records: a list of records, their shape given by the kind.
    @param seqs: the sequence number of every record, when they do not
        simply follow C{seq} one by one (the sender dropped lines between).
    """
    message = {"t": BATCH, "id": batchId, "stream": stream, "seq": seq, "host": host,
               "recs": records}
    if seqs is not None:
        message["seqs"] = seqs
    return message


def ack(batchId):
    return {"t": ACK, "id": batchId}


def encodeAck(batchId):
    """
    C{encodeMessage(ack(batchId))}, byte for byte, without the JSON encoder:
    a server sends one per batch.
    """
    return b'{"t":"ack","id":%d}' % batchId


def error(reason):
    return {"t": ERROR, "reason": reason}


def _int(message, key, minimum=0):
    value = message.get(key)
    if type(value) is not int or value < minimum or value >= 2 ** 63:
        raise ProtocolError(f"{message['t']} message: {key!r} must be an integer >= {minimum}")
    return value


def checkHello(message):
    """
    @return: C{(source, kind)} from a client's hello.
    @raise ProtocolError: it is not a valid hello.
    """
    if message["t"] != HELLO:
        raise ProtocolError(f"expected hello, got {message['t']!r}")
    if message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {message.get('v')!r}"
                            f" (this server speaks {PROTOCOL_VERSION})")
    source = message.get("source")
    if type(source) is not str or not _SOURCE.match(source):
        raise ProtocolError("hello: 'source' must be 1-128 characters of"
                            " letters, digits and ._:@/-")
    kind = message.get("kind")
    if kind not in KINDS:
        raise ProtocolError(f"hello: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return source, kind


def checkWelcome(message):
    """
    @return: C{(maxLine, maxRecord)} from a server's welcome.
    """
    if message["t"] == ERROR:
        raise ProtocolError(f"server refused: {message.get('reason')!r}")
    if message["t"] != WELCOME or message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"expected welcome (version {PROTOCOL_VERSION}), got {message!r:.200}")
    return _int(message, "maxline", 1), _int(message, "maxrecord", 1)


def checkKeepalive(message):
    """
    @return: the keepalive interval a server's welcome asks for (seconds),
        or C{None} (a server that does not time idle links out).
    """
    if message.get("keepalive") is None:
        return None
    return _int(message, "keepalive", 1)


class Batch(NamedTuple):
    """
    A batch message whose envelope L{checkBatch} has checked: what a decoder
    is given.  The records themselves are the decoder's business.
    """

    id: int
    stream: str
    seq: int
    host: object
    records: list
    #: The records' numbers when the sender skipped some (lines its filter
    #: dropped), else C{None}: they are C{seq, seq + 1, ...}.
    numbers: object

    def recordNumbers(self):
        """
        The number of each record, in order.
        """
        if self.numbers is not None:
            return self.numbers
        return range(self.seq, self.seq + len(self.records))


def recordNumbers(message, batchId, seq, count):
    """
    Check a batch's C{"seqs"} list, when the sender skipped numbers (lines
    its filter dropped): C{count} increasing integers starting at C{seq}.

    @return: the list, or C{None} when the numbers simply follow C{seq}.
    @raise ProtocolError: C{"seqs"} is anything else.
    """
    numbers = message.get("seqs")
    if numbers is None:
        return None
    if (type(numbers) is not list or len(numbers) != count or numbers[0] != seq
            or any(type(n) is not int for n in numbers)
            or any(a >= b for a, b in zip(numbers, numbers[1:])) or numbers[-1] >= 2 ** 63):
        raise ProtocolError(f"batch {batchId}: 'seqs' must be {count} increasing integers"
                            f" starting at 'seq'")
    return numbers


def checkBatch(message):
    """
    Check the envelope of a batch, once, for every decoder that will read it.

    @return: a L{Batch}.
    @raise ProtocolError: the envelope is malformed.
    """
    if message["t"] != BATCH:
        raise ProtocolError(f"expected batch, got {message['t']!r}")
    batchId = _int(message, "id")
    seq = _int(message, "seq")
    stream = message.get("stream")
    if type(stream) is not str or not 0 < len(stream) <= MAX_STREAM:
        raise ProtocolError(f"batch {batchId}: 'stream' must be 1-{MAX_STREAM} characters")
    records = message.get("recs")
    if type(records) is not list or not records:
        raise ProtocolError(f"batch {batchId}: 'recs' must be a non-empty list")
    numbers = recordNumbers(message, batchId, seq, len(records))
    return Batch(batchId, stream, seq, message.get("host"), records, numbers)


def checkAck(message):
    """
    @return: the acknowledged batch id.
    """
    if message["t"] == ERROR:
        raise ProtocolError(f"server error: {message.get('reason')!r}")
    if message["t"] != ACK:
        raise ProtocolError(f"expected ack, got {message['t']!r}")
    return _int(message, "id")
