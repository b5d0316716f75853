# -*- test-case-name: tests.integration.test_signature -*-
"""
Tamper-evident stores: a chain of MACs through the rows of each stream,
kept in their C{signature} column and checked by C{mice verify}.

A I{chain} is the rows of one stream, in C{seq} order: for the raw-log
tables the rows of one (C{origin}, C{stream}) across C{rawlog_line},
C{scslog_line} and C{firewall_line} (a stream's lines are classified into
all three); for C{alert_entry} the rows of one analyzer on one channel
(C{analyzerid}, C{origin}, C{stream}).  L{CHAINS} says which; a new table
takes part by being named there (and having C{origin}, C{stream}, C{seq}
and C{signature} columns).

Each chained row's C{signature} is C{<version>:<previous seq>:<MAC>}: a
chain of MACs keyed by SIGNKEY (a keyed-hash chain: whoever holds the key
can check it, and could also forge it; no public-key signature).  Each
row's MAC covers the previous row's MAC (as its signature shows it, empty
for the first row of a chain), the previous row's seq (C{-}, or C{None},
for the first) and every column of the row but C{signature}, C{row_id} and
C{received}, and is kept to 128 bits (L{TAG_HEX} hex digits).  The
previous seq is left out of the text when it is the row's seq minus one,
the usual case (C{c4::<MAC>}).  The raw-log store signs new rows in
C{c5} I{spans}: one MAC (HMAC-SHA256, 128 bits) for a batch's rows of one
table, carried by the span's last row with the list of its seqs and a check
of each line (L{spanTag}, L{spanText}); its other rows are C{c5}
(L{SPAN_MEMBER}), and the spans link in the order of their last seqs.  A
resend and records that come one by one are signed C{c4}, row by row:
keyed BLAKE2b-128 over marshal version 2 bytes (L{rawLinkTag},
L{batchPrefix}, L{encodeValues}), what a batch shares hashed once.  Alert
rows are signed C{c2}: HMAC-SHA256 over a typed, length-prefixed text of
the row (L{encodeRow}, L{chainedSignature}), kept to 128 bits.  Seqs may
have gaps by design: the chain links rows, and the previous seq in each
signature tells a deleted row (its successor names a seq that is gone)
from an altered one.  Alerts of one IDMEF document share its seq: in
C{alert_entry} a chain runs in (C{seq}, C{idx}) order.  Older versions:
C{c1:<previous seq>:<HMAC>} is what stores wrote before C{c2} (the whole
HMAC-SHA256, the previous seq always); raw-log stores wrote C{c2}, then
C{c3} (L{rawLinkTag} at version C{c3}: the bytes of C{c4} but for the
padding of the batch's part and a nested tuple of the row's values, and its
own personalisation), before C{c4}.  C{mice verify} checks each row by the
version it names, so a chain may mix them (an installation upgraded
mid-stream), and a chain goes on in the version its store writes now.
Short signatures are cheap: the server reads every character of a row
(L{TAG_HEX}).

Idempotent stores and resends: the chain's head (last signed seq and HMAC)
is kept in L{mice.db.schema.SIGNATURE_HEAD}.  A store's L{Signer} reads it
once, when a stream is first seen, and keeps it in memory, moved as its
transactions commit; each transaction moves the head row on condition that
it is still the head it signed from (else L{ChainMoved}: the transaction
fails, the heads are read again and the flush is retried), so two
transactions never sign from the same head.  Rows of a flush above the head are new: they are signed in
seq order and the head moves to the last.  Rows at or below the head are a
resend: those already stored are left alone (the insert ignores them); one
that is not stored (it arrived after a later row of its stream, which a
forwarder never does on its own, but two connections of one forwarder in a
reconnect might) is stored with a I{standalone} signature
C{s1:<hex HMAC of the row>}: kept and tamper-evident, but outside the chain
(its deletion is not detectable).  A signing store runs one flush at a time
(L{mice.postproc.rawlogdb.RawLogStore.concurrency}), so flushes sign in ring
order, which is each stream's seq order.  A chain with no head row starts
after the last row of that stream already in the tables (signing turned on
for an existing database: the older rows are reported as unsigned).

Pure: no driver, no reactor; the transaction functions take a DB-API cursor.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import marshal
import re
import struct
import zlib
from bisect import bisect_right
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import count, islice, repeat
from operator import itemgetter, lt, sub

from mice.db import schema
from mice.db.schema import COLUMNS, RAWLOG_TABLES, SIGNATURE_HEAD, quote
from mice.security.keyfile import readHexKey

#: The shortest SIGNKEY, in bytes.
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class Chain:
    """
    How the rows of some tables form chains.

    @ivar name: the chain kind, as stored in C{signature_head.chain}.
    @ivar tables: the tables whose rows belong to these chains.
    @ivar keyColumns: the columns naming one chain (all in each table).
    @ivar order: the columns a chain's rows are linked in the order of.
    @ivar version: the signature its rows get row by row (C{c4}:
        L{rawLinkTag}, and the hot path signs new raw-log rows in C{c5}
        spans, L{spanTag}; C{c2}: L{chainedSignature}).
    """

    name: str
    tables: tuple
    keyColumns: tuple
    order: tuple = ("seq",)
    version: str = "c2"


CHAINS = (
    Chain("rawlog", RAWLOG_TABLES, ("origin", "stream"), version="c4"),
    Chain("alert_entry", ("alert_entry",), ("analyzerid", "origin", "stream"), ("seq", "idx")),
)
"""Every chained table, once."""

CHAIN_OF = {table: chain for chain in CHAINS for table in chain.tables}


def readSignKey(path):
    """
    The key in a SIGNKEY file: hex digits (blanks ignored), 32 bytes or
    more (C{mice keygen} makes 64).

    @raise ValueError: the file does not hold such a key.
    @raise OSError: it cannot be read.
    """
    key = readHexKey(path, "the SIGNKEY", " (`mice keygen`)")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{path}: expected a SIGNKEY of {MIN_KEY_BYTES} bytes or more"
                         f" ({2 * MIN_KEY_BYTES} hex digits; `mice keygen` makes one), got"
                         f" {len(key)} bytes")
    return key


def canonicalValue(value):
    """
    A column value as stored and as read back, in one form: dates as
    C{YYYY-MM-DD} and times as C{HH:MM:SS} (PyMySQL reads C{date} and
    C{timedelta}).
    """
    if type(value) is str or value is None or type(value) is int:
        return value
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        seconds = abs(seconds)
        return "%s%02d:%02d:%02d" % (sign, seconds // 3600, seconds // 60 % 60, seconds % 60)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def _encodeValue(value):
    value = canonicalValue(value)
    if value is None:
        return "n;"
    if type(value) is int:
        return "i%d;" % value
    return "s%d:%s" % (len(value), value)


def encodeRow(table, row, skip):
    """
    The canonical encoding of C{row} (a tuple in C{COLUMNS[table]} order)
    without its column number C{skip} (the signature): unambiguous (each
    value typed and length-prefixed) and the same for a row as inserted and
    as read back from either database.
    """
    parts = [_encodeValue(table)]
    parts += [_encodeValue(v) for i, v in enumerate(row) if i != skip]
    return "".join(parts)


def _chainKey(chain, values):
    encoded = "".join(_encodeValue(v) for v in values)
    return hashlib.sha256((chain.name + ":" + encoded).encode("utf-8")).hexdigest()


class _Hmac:
    """
    HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once:
    a row's HMAC costs two C{sha256} copies, about half of C{hmac.digest}'s
    per-call key setup (checked against C{hmac} in the tests).
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key):
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message):
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_macs = {}


def _macOf(key):
    mac = _macs.get(key)
    if mac is None:
        mac = _macs[key] = _Hmac(key)
    return mac


#: Hex digits of the HMAC a C{c2} signature keeps (128 bits).
TAG_HEX = 32


def chainedSignature(key, previous, previousSeq, encoded, seq=None, version="c2"):
    """
    The C{signature} column of a chained row.

    @param previous: the previous row's HMAC as its signature shows it
        (hex), C{""} for the first.
    @param previousSeq: its seq, C{None} for the first.
    @param seq: the row's own seq (a C{c2} signature leaves out a previous
        seq one below it).
    @param version: C{c2} (what alert stores write; raw-log stores wrote it
        before C{c3}) or C{c1} (what they wrote before: the whole HMAC and
        the previous seq always).
    """
    prevSeq = "-" if previousSeq is None else str(previousSeq)
    mac = _macOf(key).hexdigest(f"{previous}|{prevSeq}|{encoded}".encode("utf-8",
                                                                          "surrogatepass"))
    if version == "c1":
        return f"c1:{prevSeq}:{mac}"
    if previousSeq is not None and seq is not None and previousSeq == seq - 1:
        prevSeq = ""
    return f"c2:{prevSeq}:{mac[:TAG_HEX]}"


# -- c3 and c4: the raw-log chains ------------------------------------------

#: The columns a raw-log batch shares, in the order L{rawParts} gives them
#: (L{mice.db.classify.classifyBatch}'s key).
RAW_KEY_COLUMNS = ("origin", "stream", "hostname", "domain", "ip", "osystem", "release",
                   "version")
_RAW_OWN = RAW_KEY_COLUMNS + ("seq", "date", "time", "logline", "signature")


def _rawLayout(table):
    columns = COLUMNS[table]
    return (tuple(columns.index(c) for c in RAW_KEY_COLUMNS),
            tuple(columns.index(c) for c in ("seq", "date", "time")),
            tuple(i for i, c in enumerate(columns) if c not in _RAW_OWN),
            columns.index("logline"))


_RAW_LAYOUT = {table: _rawLayout(table) for table in RAWLOG_TABLES}


def rawParts(table, row):
    """
    C{(key, own)} of a raw-log C{row} (a tuple in C{COLUMNS[table]} order,
    values as L{canonicalValue} gives them): C{key} its
    L{RAW_KEY_COLUMNS}, C{own} C{(seq, date, time, fields, logline)} with
    C{fields} the tuple of its other columns but C{signature}, in
    C{COLUMNS} order: the shape L{mice.db.classify.classifyBatch} gives a
    batch's key and rows in.
    """
    keyIndexes, (seqIndex, dateIndex, timeIndex), fieldIndexes, lineIndex = _RAW_LAYOUT[table]
    return (tuple(row[i] for i in keyIndexes),
            (row[seqIndex], row[dateIndex], row[timeIndex],
             tuple(row[i] for i in fieldIndexes), row[lineIndex]))


def encodeValues(value):
    """
    The bytes of a C{c3} message part: C{value} (C{None}, an C{int}, a
    C{str} or a tuple of these) in version 2 of Python's C{marshal} format,
    written out here so that the format does not depend on the Python that
    reads it: C{N}; C{i} and the number as 32-bit little-endian, or C{l},
    the signed count of 15-bit digits (32-bit) and the digits (16-bit each,
    least significant first) for a number outside 32 bits; C{u}, the
    length (32-bit) and the UTF-8 bytes of a text (lone surrogates as
    C{surrogatepass} writes them); C{(} for a tuple and C{[} for a list,
    the length (32-bit) and each item.
    """
    if value is None:
        return b"N"
    kind = type(value)
    if kind is str:
        data = value.encode("utf-8", "surrogatepass")
        return b"u" + struct.pack("<i", len(data)) + data
    if kind is int:
        if -2 ** 31 <= value < 2 ** 31:
            return b"i" + struct.pack("<i", value)
        digits, rest = [], abs(value)
        while rest:
            digits.append(rest & 0x7FFF)
            rest >>= 15
        size = len(digits) if value > 0 else -len(digits)
        return b"l" + struct.pack("<i", size) + struct.pack("<%dH" % len(digits), *digits)
    if kind is tuple or kind is list:
        return ((b"(" if kind is tuple else b"[") + struct.pack("<i", len(value))
                + b"".join(encodeValues(v) for v in value))
    raise TypeError(f"cannot sign a {kind.__name__} value")


_SAMPLE = ("a", "\u00e9\ud800", "", None, 0, -1, 2 ** 31, 4294967295, -(2 ** 40), 7,
           (1, ("x",), ()), ["y", (None,), []])


def _fastEncoder():
    """
    C{marshal.dumps} at version 2 when it writes L{encodeValues}'s bytes (it
    runs in C), else L{encodeValues}.
    """
    try:
        if marshal.dumps(_SAMPLE, 2) == encodeValues(_SAMPLE):
            return marshal.dumps
    except ValueError:
        pass
    return lambda value, version: encodeValues(value)


_encodeFast = _fastEncoder()

#: The personalisations of the C{c3} and C{c4} BLAKE2b: no other use of a
#: SIGNKEY makes the same MAC, nor a C{c3} link the same as a C{c4} one.
C3_PERSON = b"mice-chain-c3"
C4_PERSON = b"mice-chain-c4"
_PERSONS = {"c3": C3_PERSON, "c4": C4_PERSON}

#: BLAKE2b's block, in bytes.
BLAKE2B_BLOCK = 128


def _blakeKey(key):
    if len(key) <= hashlib.blake2b.MAX_KEY_SIZE:
        return key
    return hashlib.blake2b(key, digest_size=hashlib.blake2b.MAX_KEY_SIZE,
                           person=b"mice-signkey").digest()


_blakes = {}


def _blakeOf(key, version):
    """The keyed BLAKE2b of C{version} signatures, before any message."""
    mac = _blakes.get((key, version))
    if mac is None:
        mac = _blakes[(key, version)] = hashlib.blake2b(
            key=_blakeKey(key), digest_size=TAG_HEX // 2, person=_PERSONS[version])
    return mac


def batchPrefix(version, table, batchKey):
    """
    The bytes a C{c3} or C{c4} MAC of a row of C{table} in a batch with
    C{batchKey} begins with: C{encodeValues((table, batchKey))}, and for
    C{c4} zero bytes after it up to a length of one more than a multiple of
    L{BLAKE2B_BLOCK} (129 bytes for the usual batch: the marshal bytes are
    always more than one).  BLAKE2b holds back the last block of what it
    was given until more comes; so a C{c4} prefix is compressed once per
    batch, when it is hashed, and each row's MAC starts from one byte held
    back, not from the prefix's last block (one compression of 128 bytes
    less per row).  Unambiguous: the marshal bytes say where they end.
    """
    prefix = _encodeFast((table, batchKey), 2)
    if version == "c4":
        prefix += bytes((1 - len(prefix)) % BLAKE2B_BLOCK)
    return prefix


def rawLinkTag(key, table, batchKey, previous, previousSeq, own, version="c3"):
    """
    The MAC of a C{c3} or C{c4} link: keyed BLAKE2b (RFC 7693; SIGNKEY as
    its key, a key longer than 64 bytes hashed to 64 first; personalised
    L{C3_PERSON} or L{C4_PERSON}), 128 bits, as hex, of
    C{batchPrefix(version, table, batchKey)} followed by, for C{c4},
    C{encodeValues((previous, previousSeq) + own)}, and for C{c3},
    C{encodeValues((previous, previousSeq, own))}; C{batchKey} and C{own}
    as L{rawParts} gives them.
    """
    mac = _blakeOf(key, version).copy()
    mac.update(batchPrefix(version, table, batchKey))
    if version == "c4":
        mac.update(_encodeFast((previous, previousSeq) + tuple(own), 2))
    else:
        mac.update(_encodeFast((previous, previousSeq, own), 2))
    return mac.hexdigest()


def linkText(version, previousSeq, seq, mac):
    """
    A chained row's C{signature} from its MAC: C{<version>:<previous
    seq>:<MAC>}, the previous seq C{-} for the first row and left out when
    it is C{seq - 1}.
    """
    if previousSeq is None:
        return f"{version}:-:{mac}"
    if previousSeq == seq - 1:
        return f"{version}::{mac}"
    return f"{version}:{previousSeq}:{mac}"


# -- c5: the raw-log spans --------------------------------------------------

#: What a C{c5} MAC's message begins with: no other MAC of a SIGNKEY
#: (C{c1}, C{c2}, standalone) has a message that does.
C5_DOMAIN = b"mice-chain-c5\0"

#: The C{signature} of a row of a C{c5} span but its last.
SPAN_MEMBER = "c5"

_seqOf, _dayOf, _clockOf, _fieldsOf, _lineOf = (itemgetter(i) for i in range(5))


def spanPartsPython(rows):
    """
    L{spanParts} in Python, a C step mapped over the rows at a time.
    """
    count = len(rows)
    encoded = list(map(str.encode, map(_lineOf, rows), repeat("utf-8"), repeat("surrogatepass")))
    adlers = struct.pack(f"<{count}I", *map(zlib.adler32, encoded))
    data = b"".join((
        struct.pack(f"<{count}q", *map(_seqOf, rows)),
        struct.pack(f"<{count}I", *map(len, encoded)),
        b"".join(encoded),
        _encodeFast((list(map(_dayOf, rows)), list(map(_clockOf, rows)),
                     list(map(_fieldsOf, rows))), 2)))
    # The high half of each 32-bit little-endian Adler-32: the sum that
    # weighs each byte by its place.
    return data, adlers[2::4] + adlers[3::4]


try:
    from mice.db._spans import spanBytes as _spanBytes
except ImportError:  # not built: Python does it all
    _spanBytes = None


def spanParts(rows):
    """
    What a C{c5} span's MAC covers of its rows, and the checks of its
    lines: C{(data, checks)}.  C{data} is the seqs (64-bit little-endian
    each), the byte length of each line (32-bit little-endian each), the
    lines (UTF-8, lone surrogates as C{surrogatepass} writes them) one after
    the other, and C{encodeValues((dates, times, others))}, three lists (a
    tuple of the table's other columns for each row).  C{checks} is each
    line's check (the high 16 bits of the Adler-32 of its bytes; not a
    MAC: it only names the row whose line changed), the low bytes of all,
    then the high bytes.  In C
    (C{mice.db._spans}) when it is built, else L{spanPartsPython}: the
    same bytes.

    @param rows: a list of C{(seq, date, time, others, line, ...)}
        tuples, in seq order.
    @raise TypeError: a seq beyond 64 bits, a line that is not a text.
    @raise ValueError: a value that cannot be signed.
    """
    if _spanBytes is not None:
        try:
            return _spanBytes(rows)
        except TypeError:
            # A value the C writer leaves to marshal (a float, an int beyond
            # 64 bits), or one that cannot be signed at all: Python says.
            pass
    return spanPartsPython(rows)


def spanTag(key, table, batchKey, previous, previousSeq, count, data):
    """
    The MAC of a C{c5} span: HMAC-SHA256 (kept to L{TAG_HEX} hex digits)
    of L{C5_DOMAIN}, C{encodeValues((table, batchKey, previous,
    previousSeq, count))} and the span's L{spanParts} C{data}.  Each part's
    length is given before it or follows from C{count}, the span's number
    of rows: unambiguous.

    @param previous: the MAC of the chain's row before the span (as its
        signature shows it), C{""} for none.
    @param previousSeq: that row's seq, C{None} for none.
    """
    mac = _macOf(key)
    inner = mac.inner.copy()
    inner.update(C5_DOMAIN)
    inner.update(_encodeFast((table, batchKey, previous, previousSeq, count), 2))
    inner.update(data)
    outer = mac.outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()[:TAG_HEX]


def spanText(previousSeq, seqs, checks, mac):
    """
    The C{signature} of the last row of a C{c5} span: C{c5:<previous
    seq>:<seqs>:<checks>:<MAC>}.  The previous seq is the chain's row
    before the span (C{-} for none).  C{<seqs>} lists the span's seqs:
    empty when they are the C{n} numbers up to this row's; else C{d} and
    the base64 of the step from each to the next, a byte each, when every
    step is under 256; else C{q} and the base64 of each seq, 64-bit
    little-endian.  C{<checks>} is the base64 of L{spanParts}'s checks: it
    tells C{mice verify} which row of a span that does not match its MAC
    had its line changed.  Two bytes a row: the server reads every
    character of a row.
    """
    count = len(seqs)
    listed = ""
    if seqs[-1] - seqs[0] != count - 1:
        try:
            listed = "d" + base64.b64encode(bytes(map(sub, islice(seqs, 1, None), seqs))
                                            ).decode("ascii")
        except ValueError:
            listed = "q" + base64.b64encode(struct.pack(f"<{count}q", *seqs)).decode("ascii")
    return (f"c5:{'-' if previousSeq is None else previousSeq}:{listed}:"
            f"{base64.b64encode(checks).decode('ascii')}:{mac}")


@dataclass(frozen=True)
class SpanText:
    """What the last row of a C{c5} span says (L{parseSpanText})."""

    previousSeq: int | None
    seqs: tuple
    checks: tuple
    mac: str


def parseSpanText(text, seq):
    """
    The L{SpanText} of C{text}, the signature of the last row of a span,
    whose seq is C{seq}; C{None} if it is not one.
    """
    parts = text.split(":")
    if len(parts) != 5 or parts[0] != "c5" or not re.fullmatch(r"[0-9a-f]{%d}" % TAG_HEX,
                                                               parts[4]):
        return None
    listed = parts[2]
    try:
        previousSeq = None if parts[1] == "-" else int(parts[1])
        checksData = base64.b64decode(parts[3], validate=True)
        seqsData = base64.b64decode(listed[1:], validate=True)
    except (ValueError, binascii.Error):
        return None
    count, rest = divmod(len(checksData), 2)
    if rest or not count:
        return None
    checks = tuple(low | high << 8 for low, high in zip(checksData[:count],
                                                        checksData[count:]))
    if not listed:
        seqs = tuple(range(seq - count + 1, seq + 1))
    elif listed[0] == "d" and len(seqsData) == count - 1 and all(seqsData):
        seqs = [seq]
        for step in reversed(seqsData):
            seqs.append(seqs[-1] - step)
        seqs = tuple(reversed(seqs))
    elif listed[0] == "q" and len(seqsData) == 8 * count:
        seqs = struct.unpack(f"<{count}q", seqsData)
        if seqs[-1] != seq or any(a >= b for a, b in zip(seqs, seqs[1:])):
            return None
    else:
        return None
    return SpanText(previousSeq, seqs, checks, parts[4])


def _signSpans(key, spans, previous, previousSeq):
    """
    Sign a chain's new rows as C{c5} spans (L{_RawFlush.spans}, in the
    order of their last seqs) from the row with MAC C{previous} and seq
    C{previousSeq}: a span's rows but its last are L{SPAN_MEMBER}, its
    last carries L{spanText}, and each span's MAC covers the one before.
    A row costs no Python step of its own (L{spanParts}).

    @return: the MAC and seq of the last span's last row.
    """
    for seqs, table, batchKey, rows, sigs, (data, checks) in spans:
        mac = spanTag(key, table, batchKey, previous, previousSeq, len(rows), data)
        sigs[:] = repeat(SPAN_MEMBER, len(rows))
        sigs[-1] = spanText(previousSeq, seqs, checks, mac)
        previous, previousSeq = mac, seqs[-1]
    return previous, previousSeq


class _RawFlush:
    """
    The rows of one raw-log chain in one flush, grouped by batch as
    L{Signing.signGroups} takes them: C{groups} C{[(table, batchKey, rows,
    signatures)]}.
    """

    __slots__ = ("groups",)

    def __init__(self):
        self.groups = []

    def spans(self, headSeq):
        """
        The groups as C{c5} spans, in the order of their last seqs: C{[(seqs,
        table, batchKey, rows, signatures, spanParts(rows))]}; or C{None}
        when they are not all new rows (above C{headSeq}), in seq order
        within each group, with no seq twice and every line a text: a
        resend, which L{items} signs row by row.
        """
        spans, seen, total = [], set(), 0
        for table, batchKey, rows, sigs in self.groups:
            if not rows:
                continue
            seqs = list(map(_seqOf, rows))
            if (headSeq is not None and seqs[0] <= headSeq) or seqs[0] < 0 \
                    or seqs[-1] >= 2 ** 63 or not all(map(lt, seqs, islice(seqs, 1, None))):
                return None
            try:
                parts = spanParts(rows)
            except (TypeError, ValueError):
                # A line that is not a text, a value that cannot be signed.
                return None
            seen.update(seqs)
            total += len(seqs)
            spans.append((seqs, table, batchKey, rows, sigs, parts))
        if len(seen) != total:
            return None
        spans.sort(key=_lastSeq)
        return spans

    def items(self, batchOf):
        """
        L{Signing._sign}'s C{c4} items for the rows: C{(seq, batch, place,
        row, signatures)}, C{batch} what C{batchOf(table, batchKey)} gives.
        """
        items = []
        for table, batchKey, rows, sigs in self.groups:
            items.extend(zip(map(_seq, rows), repeat(batchOf(table, batchKey)), count(), rows,
                             repeat(sigs)))
        return items


def _lastSeq(span):
    return span[0][-1]


def linkSignature(key, version, table, row, sigIndex, previous, previousSeq, encoded=None):
    """
    The C{signature} a chained row of C{table} should have after a row whose
    MAC (as its signature shows it) is C{previous} and whose seq is
    C{previousSeq} (C{""} and C{None} for the first), in the C{version} its
    signature names (C{c1}, C{c2}, C{c3} or C{c4}).

    @param row: the row, in C{COLUMNS[table]} order, values as
        L{canonicalValue} gives them.
    @param encoded: L{encodeRow}'s text of it, if known.
    """
    seq = row[COLUMNS[table].index("seq")]
    if version in ("c3", "c4"):
        if table not in RAWLOG_TABLES:
            return None
        batchKey, own = rawParts(table, row)
        return linkText(version, previousSeq, seq,
                        rawLinkTag(key, table, batchKey, previous, previousSeq, own, version))
    if encoded is None:
        encoded = encodeRow(table, row, sigIndex)
    return chainedSignature(key, previous, previousSeq, encoded, seq, version)


def standaloneSignature(key, encoded):
    """
    The C{signature} column of a row stored outside its chain (see the
    module's docstring).
    """
    mac = _macOf(key).hexdigest(f"standalone|{encoded}".encode("utf-8", "surrogatepass"))
    return f"s1:{mac}"


def parseSignature(text, seq=None):
    """
    C{("c", previousSeq or None, hex)}, C{("s", None, hex)}, or C{None} for
    anything else (empty, unsigned, garbage, and the rows of a C{c5} span
    but its last).  For the last row of a span, the previous seq is that
    of the chain's row before the span.

    @param seq: the row's seq (a C{c2} signature's empty previous seq is
        the one below it).
    """
    if not text:
        return None
    parts = text.split(":")
    if parts[0] in ("c1", "c2", "c3", "c4") and len(parts) == 3:
        if parts[1] == "-":
            return ("c", None, parts[2])
        if parts[1] == "" and parts[0] != "c1":
            return ("c", None if seq is None else seq - 1, parts[2])
        try:
            return ("c", int(parts[1]), parts[2])
        except ValueError:
            return None
    if parts[0] == "s1" and len(parts) == 2:
        return ("s", None, parts[1])
    if parts[0] == "c5" and len(parts) == 5:
        # The last row of a span (L{parseSpanText} checks the rest).
        if parts[1] == "-":
            return ("c", None, parts[4])
        try:
            return ("c", int(parts[1]), parts[4])
        except ValueError:
            return None
    return None


def _mac(signatureText):
    return signatureText.rsplit(":", 1)[-1]


class ChainMoved(Exception):
    """
    The head of a chain in the database is not the one this store signed
    from: something else signed rows of the stream since (another writer).
    The transaction fails; the store forgets the heads it knew and reads
    them again when the flush is retried.
    """


class Signer:
    """
    Signs the rows a store is about to insert, in its transaction.

    A store's signer (L{begin}) keeps the head of each chain it has signed
    (last seq and HMAC): read from the database once, when a stream is first
    seen (or on restart), and moved as soon as a flush is signed, so that
    the next flush may be signed while the database still writes this one.
    Each transaction then moves the chain's head row, in the order the
    flushes were signed, on condition that it is the head the flush was
    signed from (else L{ChainMoved}); so a flush is only committed after the
    one it follows, and never forks a chain.  When a transaction fails, the
    heads are forgotten (L{Signing.failed}): the flushes signed after it fail
    too and every head is read again for the retry.

    @ivar key: the SIGNKEY (bytes; never logged).
    @ivar heads: C{{(chain name, chain key): (seq, HMAC, known)}}: the head
        after the last flush signed.
    @ivar generation: how often the heads were forgotten.
    """

    def __init__(self, key):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a SIGNKEY must have {MIN_KEY_BYTES} bytes or more")
        self.key = key
        self.heads = {}
        self.generation = 0
        self._tickets = 0

    def __repr__(self):
        return "<Signer>"

    def begin(self, turns=None):
        """
        A L{Signing} for one transaction, in the order of the flushes; the
        store calls L{Signing.finish} at the end of the transaction and
        L{Signing.committed} or L{Signing.failed} with its outcome.

        @param turns: what makes flushes run at once take their turns
            (L{mice.db.store.Turns}): C{turns.wait(stage, ticket)} blocks until
            every earlier ticket is C{turns.done(stage, ticket)}; C{None} for a
            store that runs one flush at a time.
        """
        ticket, self._tickets = self._tickets, self._tickets + 1
        return Signing(self, remember=True, ticket=ticket, generation=self.generation,
                       turns=turns)

    def forget(self):
        """Read every head from the database again (a transaction failed)."""
        self.heads = {}
        self.generation += 1

    def signRows(self, txn, dialect, rowsByTable):
        """
        L{Signing.signRows} reading each head from the database, locked
        until the transaction ends: for transactions that may run
        concurrently in any order (two flushes of the ManagementHost's
        journal).
        """
        return Signing(self, remember=False).signRows(txn, dialect, rowsByTable)

    def signGroups(self, txn, dialect, groupsByTable):
        """L{Signing.signGroups} reading each head from the database."""
        return Signing(self, remember=False).signGroups(txn, dialect, groupsByTable)


_position = itemgetter(0, 1)
_seq = itemgetter(0)


class _NoTurns:
    def wait(self, stage, ticket):
        pass

    def done(self, stage, ticket):
        pass

    def locked(self):
        return nullcontext()


class Signing:
    """
    The signing of one transaction (L{Signer.begin}).  A transaction that
    overlaps others signs its rows in one L{signRows} or L{signGroups}
    call: the next flush may be signed as soon as that call returns.

    @ivar moves: C{[(chain, chainKey, label, start, seq, HMAC)]}: the head
        each chain was signed from (as L{_readHead} gives it) and where it
        moves (C{seq} C{None}: resent rows only, the head is checked).
    """

    def __init__(self, signer, remember, ticket=None, generation=None, turns=None):
        self.signer = signer
        self.remember = remember
        self.ticket = ticket
        self.generation = generation
        self.turns = turns or _NoTurns()
        self.moves = []

    def finish(self, txn, dialect):
        """
        Move the heads of the chains this transaction signed, after the
        flushes signed before it moved theirs: a transaction function step,
        after the inserts.

        @raise ChainMoved: a head is not the one this flush was signed from.
        """
        if not self.remember:
            return
        turns = self.turns
        if self.moves:
            turns.wait("head", self.ticket)
        try:
            _moveHeads(txn, schema._dialect(dialect), self.moves)
        finally:
            turns.done("head", self.ticket)

    def committed(self, result=None):
        """
        The transaction committed.  Passes C{result} through (a Deferred
        callback).
        """
        self.turns.done("sign", self.ticket)
        self.turns.done("head", self.ticket)
        return result

    def failed(self, failure=None):
        """
        The transaction failed (or never ran): the heads are read again
        next time.  Passes C{failure} through (a Deferred errback).
        """
        with self.turns.locked():
            self.signer.forget()
        self.turns.done("sign", self.ticket)
        self.turns.done("head", self.ticket)
        return failure

    def signRows(self, txn, dialect, rowsByTable):
        """
        Fill in the C{signature} column of every row: a transaction function
        step, run before the rows are inserted with C{INSERT IGNORE}.

        @param rowsByTable: C{{table: [row, ...]}}, rows in C{COLUMNS[table]}
            order; tables not in L{CHAINS} are left as they are.
        @return: the same, with new row tuples.
        """
        chains = {}
        batches = {}
        result = {}
        for table, rows in rowsByTable.items():
            chain = CHAIN_OF.get(table)
            if chain is None:
                result[table] = rows
                continue
            columns = COLUMNS[table]
            sigIndex = columns.index("signature")
            sigs = [None] * len(rows)
            result[table] = (rows, sigs, sigIndex)
            if chain.version == "c4":
                # Each row as a batch of its own (not the hot path).
                for i, row in enumerate(rows):
                    batchKey, own = rawParts(table, tuple(canonicalValue(v) for v in row))
                    items = chains.setdefault((chain, batchKey[:2]), [])
                    items.append((own[0], self._batch(batches, table, batchKey), i,
                                  own + ("",), sigs))
                continue
            keyIndexes = [columns.index(c) for c in chain.keyColumns]
            seqIndex = columns.index("seq")
            idxIndex = columns.index("idx") if "idx" in columns else None
            for i, row in enumerate(rows):
                items = chains.setdefault((chain, tuple(row[k] for k in keyIndexes)), [])
                items.append((row[seqIndex], 0 if idxIndex is None else row[idxIndex] or 0,
                              encodeRow(table, row, sigIndex), sigs, i))
        self._sign(txn, dialect, chains, batches)
        for table, signed in result.items():
            if type(signed) is tuple:
                rows, sigs, k = signed
                result[table] = [row[:k] + (sig,) + row[k + 1:] for row, sig in zip(rows, sigs)]
        return result

    def _batch(self, batches, table, batchKey):
        """
        A batch of C{table}: C{copy}, which makes the C{c4} MAC of its rows
        with what they share hashed in (L{batchPrefix}); C{batches[copy]}
        is C{(table, batchKey)}.
        """
        mac = _blakeOf(self.signer.key, "c4").copy()
        mac.update(batchPrefix("c4", table, batchKey))
        copy = mac.copy
        batches[copy] = (table, batchKey)
        return copy

    def signGroups(self, txn, dialect, groupsByTable):
        """
        L{signRows} for rows grouped by batch, as L{mice.db.schema.insertBatches}
        takes them (C{(key, rows)}, C{key} the batch's C{(origin, stream,
        hostname, domain, ip, osystem, release, version)}, rows C{(seq, day,
        clock, fields, line, signature)}).

        The raw-log store's hot path: the new rows of a chain are signed as
        C{c5} spans, a batch's rows of one table each (L{_signSpans}: no
        Python step per row); a resend is signed C{c4}, row by row
        (L{_signRaw}).  The rows are left as they are: their signatures
        come in a list beside them.

        @return: C{{table: [(key, rows, signatures), ...]}}, C{signatures}
            the texts of L{_signSpans}, L{_signRaw} and L{_signResentRaw}
            (letters, digits, C{:}, C{-}, C{+}, C{/} and C{=} only:
            L{mice.db.schema.insertBatches} writes them without escaping),
            one per row.
        """
        chains = {}
        result = {}
        for table, groups in groupsByTable.items():
            chain = CHAIN_OF[table]
            out = result[table] = []
            for key, rows in groups:
                sigs = [None] * len(rows)
                out.append((key, rows, sigs))
                flush = chains.get((chain, key[:2]))
                if flush is None:
                    flush = chains[(chain, key[:2])] = _RawFlush()
                flush.groups.append((table, key, rows, sigs))
        self._sign(txn, dialect, chains, {})
        return result

    def _sign(self, txn, dialect, chains, batches=None):
        """
        Sign the rows of each chain: C{{(chain, keyValues): items}}.  For a
        C{c2} chain the items are C{(seq, idx, encoded, signatures, index)}
        and C{signatures[index]} is set to the row's signature; for a C{c4}
        chain C{(seq, batch, index, row, signatures)}, C{batch} a key of
        C{batches} (L{_batch}), C{row} C{(seq, day, clock, fields, line,
        ...)}, and C{signatures[index]} is set likewise.
        """
        dialect = schema._dialect(dialect)
        signer = self.signer
        if not self.remember:
            self._signChains(txn, dialect, chains, {}, batches)
            _moveHeads(txn, dialect, self.moves)
            return
        turns = self.turns
        turns.wait("sign", self.ticket)
        try:
            with turns.locked():
                if self.generation != signer.generation:
                    raise ChainMoved("a flush signed before this one failed: signing again")
                heads = signer.heads
            newHeads = self._signChains(txn, dialect, chains, heads, batches)
            with turns.locked():
                if self.generation == signer.generation:
                    heads.update(newHeads)
        finally:
            turns.done("sign", self.ticket)

    def _signChains(self, txn, dialect, chains, known, batches=None):
        """
        Sign every chain from its head in C{known}, else in the database.

        @return: the new heads.
        """
        key = self.signer.key
        newHeads = {}
        for chainKey, chain, keyValues, items in sorted(
                (_chainKey(chain, keyValues), chain, keyValues, items)
                for (chain, keyValues), items in chains.items()):
            headKey = (chain.name, chainKey)
            head = known.get(headKey)
            if head is None:
                # Locked until the transaction ends when transactions may
                # sign in any order; a store's flushes take their turns.
                head = _readHead(txn, dialect, chain, keyValues, chainKey,
                                 lock=not self.remember)
            headSeq, headSig, _ = head
            # The chain links from the last signed row (none when the
            # stream's last row is unsigned).
            previous = _mac(headSig) if headSig else ""
            previousSeq = headSeq if headSig else None
            raw = chain.version == "c4"
            if type(items) is _RawFlush:
                spans = items.spans(headSeq)
                if spans is not None:
                    previous, previousSeq = _signSpans(key, spans, previous, previousSeq)
                    self._moved(newHeads, chain, chainKey, keyValues, head, bool(spans),
                                previousSeq, previous)
                    continue
                items = items.items(lambda table, batchKey: self._batch(batches, table,
                                                                       batchKey))
            items.sort(key=_position if len(chain.order) > 1 else _seq)
            start = 0
            if headSeq is not None:
                start = bisect_right(items, headSeq, key=_seq)
                if start:
                    if raw:
                        _signResentRaw(key, txn, dialect, chain, keyValues, items[:start],
                                       batches)
                    else:
                        _signResent(key, txn, dialect, chain, keyValues, items[:start])
            if start:
                del items[:start]
            if raw:
                previous, previousSeq = _signRaw(items, previous, previousSeq)
            else:
                previous, previousSeq = _signLinked(_macOf(key), items, previous, previousSeq)
            self._moved(newHeads, chain, chainKey, keyValues, head, bool(items), previousSeq,
                        previous)
        return newHeads

    def _moved(self, newHeads, chain, chainKey, keyValues, head, signed, seq, mac):
        """
        Note where a chain's head moves (C{signed}: new rows were signed,
        the last with C{seq} and C{mac}) or that it was checked (resent rows
        only).
        """
        label = "/".join("" if v is None else str(v) for v in keyValues)
        if signed:
            self.moves.append((chain, chainKey, label, head, seq, mac))
            newHeads[(chain.name, chainKey)] = (seq, mac, True)
        else:
            self.moves.append((chain, chainKey, label, head, None, None))


def _signRaw(items, previous, previousSeq):
    """
    Sign the new rows of a C{c4} chain (L{Signing._sign}'s items, in seq
    order) from the row with MAC C{previous} and seq C{previousSeq}: each
    row's MAC (L{rawLinkTag}) is a copy of its batch's, given the marshal
    bytes of one tuple built from the loop's names.

    @return: the MAC and seq of the last.
    """
    dumps = _encodeFast
    signature = None
    for seq, batch, i, (_, day, clock, fields, line, _), sigs in items:
        if seq != previousSeq:
            mac = batch()
            mac.update(dumps((previous, previousSeq, seq, day, clock, fields, line), 2))
            previous = mac.hexdigest()
            if previousSeq == seq - 1:
                signature = "c4::" + previous
            elif previousSeq is None:
                signature = "c4:-:" + previous
            else:
                signature = f"c4:{previousSeq}:{previous}"
            previousSeq = seq
        # else: the same row twice in one flush (a resend), signed once.
        sigs[i] = signature
    return previous, previousSeq


def _signLinked(mac, items, previous, previousSeq):
    """
    Sign the new rows of a C{c2} chain (L{Signing._sign}'s items, in
    order) from the row with MAC C{previous} and seq C{previousSeq}.

    @return: the MAC and seq of the last.
    """
    innerCopy, outerCopy = mac.inner.copy, mac.outer.copy
    previousText = "-" if previousSeq is None else str(previousSeq)
    lastIdx, signature = None, None
    for seq, idx, encoded, sigs, i in items:
        if seq != previousSeq or idx != lastIdx:
            inner = innerCopy()
            inner.update(f"{previous}|{previousText}|{encoded}".encode(
                "utf-8", "surrogatepass"))
            outer = outerCopy()
            outer.update(inner.digest())
            previous = outer.hexdigest()[:TAG_HEX]
            if previousSeq == seq - 1:
                signature = f"c2::{previous}"
            else:
                signature = f"c2:{previousText}:{previous}"
            previousSeq, previousText, lastIdx = seq, str(seq), idx
        sigs[i] = signature
    return previous, previousSeq


def _signResentRaw(key, txn, dialect, chain, keyValues, items, batches):
    """L{_signResent} for the items of a C{c4} chain."""
    stored = _storedSeqs(txn, dialect, chain, keyValues, [item[0] for item in items])
    for seq, batch, i, row, sigs in items:
        text = ""
        if seq not in stored:
            table, batchKey = batches[batch]
            full = next(schema.batchRows(table, [(batchKey, [row[:5] + ("",)])]))
            text = standaloneSignature(key, encodeRow(table, full,
                                                      COLUMNS[table].index("signature")))
        sigs[i] = text


def _signResent(key, txn, dialect, chain, keyValues, items):
    """
    Sign the rows of a flush at or below their chain's head: a resend.
    Those stored already are left alone (the insert ignores them, any text
    will do); one that is not is stored with a standalone signature.
    """
    stored = _storedSeqs(txn, dialect, chain, keyValues, [item[0] for item in items])
    for seq, _, encoded, sigs, i in items:
        sigs[i] = "" if seq in stored else standaloneSignature(key, encoded)


def _where(chain, dialect, keyValues):
    clauses, params = [], []
    for column, value in zip(chain.keyColumns, keyValues):
        if value is None:
            clauses.append("%s IS NULL" % quote(column))
        else:
            clauses.append("%s = %s" % (quote(column), dialect.placeholder))
            params.append(value)
    return " AND ".join(clauses), params


def _readHead(txn, dialect, chain, keyValues, chainKey, lock=True):
    """
    C{(seq, signature, known)} of the chain's head: from L{SIGNATURE_HEAD}
    (locked until the transaction ends), or else the last row of the chain
    in its tables (C{known} false: there is no head row yet).
    """
    p = dialect.placeholder
    lock = " FOR UPDATE" if lock and dialect.name == "mysql" else ""
    txn.execute(f"SELECT seq, signature FROM {quote(SIGNATURE_HEAD)}"
                f" WHERE chain = {p} AND chainkey = {p}{lock}", (chain.name, chainKey))
    row = txn.fetchone()
    if row is not None:
        return row[0], row[1], True
    where, params = _where(chain, dialect, keyValues)
    best = None
    for table in chain.tables:
        txn.execute(f"SELECT seq, signature FROM {quote(table)} WHERE {where}"
                    " ORDER BY seq DESC LIMIT 1", params)
        found = txn.fetchone()
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    if best is None:
        return None, None, False
    signature = best[1] or ""
    parsed = parseSignature(signature)
    return best[0], (signature if parsed and parsed[0] == "c" else ""), False


def _storedSeqs(txn, dialect, chain, keyValues, seqs):
    where, params = _where(chain, dialect, keyValues)
    p = dialect.placeholder
    found = set()
    for table in chain.tables:
        txn.execute(f"SELECT seq FROM {quote(table)} WHERE {where}"
                    f" AND seq BETWEEN {p} AND {p}", params + [min(seqs), max(seqs)])
        found.update(row[0] for row in txn.fetchall())
    return found


def _moveHeads(txn, dialect, moves):
    """
    Check that each chain's head is still the one its rows were signed from,
    and move it (see L{Signing.moves}).

    @raise ChainMoved: one is not.
    """
    p = dialect.placeholder
    table = quote(SIGNATURE_HEAD)
    lock = " FOR UPDATE" if dialect.name == "mysql" else ""
    for chain, chainKey, label, start, seq, signature in moves:
        startSeq, startSig, known = start
        txn.execute(f"SELECT seq, signature FROM {table} WHERE chain = {p} AND chainkey = {p}"
                    f"{lock}", (chain.name, chainKey))
        found = txn.fetchone()
        if (tuple(found) if found else None) != ((startSeq, startSig) if known else None):
            raise ChainMoved(f"the head of chain {chain.name} {label} is no longer"
                             f" {'seq %s' % startSeq if known else 'where it was'}: another"
                             " writer signed rows of it, or a flush before failed; signing"
                             " again")
        if seq is None:
            continue
        if found:
            txn.execute(f"UPDATE {table} SET seq = {p}, signature = {p}"
                        f" WHERE chain = {p} AND chainkey = {p}",
                        (seq, signature, chain.name, chainKey))
        else:
            txn.execute(f"INSERT INTO {table} (chain, chainkey, label, seq, signature)"
                        f" VALUES ({p}, {p}, {p}, {p}, {p})",
                        (chain.name, chainKey, label, seq, signature))


# -- mice verify ------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """
    The first thing wrong in one chain.

    @ivar kind: C{altered}, C{inserted}, C{deleted} or C{unsigned}.
    """

    chain: str
    label: str
    kind: str
    table: str | None
    seq: int | None
    rowId: int | None
    detail: str

    def __str__(self):
        where = f" {self.table} row_id {self.rowId} seq {self.seq}" if self.table else ""
        return f"{self.chain} {self.label}: {self.kind}{where}: {self.detail}"


@dataclass
class ChainReport:
    chain: str
    label: str
    rows: int = 0
    chained: int = 0
    standalone: int = 0
    unsigned: int = 0
    finding: Finding | None = None


def _chainKeys(txn, dialect, chain, tables):
    columns = ", ".join(quote(c) for c in chain.keyColumns)
    keys = set()
    for table in chain.tables:
        if table in tables:
            txn.execute(f"SELECT DISTINCT {columns} FROM {quote(table)}")
            keys.update(tuple(canonicalValue(v) for v in row) for row in txn.fetchall())
    return sorted(keys, key=lambda k: tuple("" if v is None else str(v) for v in k))


def _chainRows(txn, dialect, chain, keyValues, tables):
    where, params = _where(chain, dialect, keyValues)
    rows = []
    for table in chain.tables:
        if table not in tables:
            continue
        columns = COLUMNS[table]
        txn.execute("SELECT row_id, %s FROM %s WHERE %s" % (
            ", ".join(quote(c) for c in columns), quote(table), where), params)
        seqIndex, sigIndex = columns.index("seq"), columns.index("signature")
        idxIndex = columns.index("idx") if "idx" in columns else None
        for found in txn.fetchall():
            row = tuple(canonicalValue(v) for v in found[1:])
            rows.append((row[seqIndex], table, found[0], row, sigIndex,
                         0 if idxIndex is None else row[idxIndex] or 0))
    # The signer's order: seq, then an alert's place in its document.
    rows.sort(key=lambda r: (r[0], r[5], r[2]))
    return [r[:5] for r in rows]


_SIGNED = ("c1:", "c2:", "c3:", "c4:", "c5:", "s1:")


def _isSpanText(text):
    return text == SPAN_MEMBER or text.startswith("c5:")


class _Span:
    """
    A C{c5} span as C{mice verify} finds it: its last row (C{last}, an
    entry of L{verifyChain}'s rows), what that row's text says (C{text}, a
    L{SpanText}), the rows it lists that are there (C{members}) and those
    that are not (C{missing}); C{verdict} C{None} when its rows match its
    MAC, else C{(entry, kind, detail)}: the first problem, at the row it
    names (kind C{unlinked}: the row the span follows is not there; the
    chain's walk says what is wrong when it comes to it).
    """

    __slots__ = ("last", "text", "members", "missing", "verdict")

    def __init__(self, last, text):
        self.last = last
        self.text = text
        self.members = []
        self.missing = []
        self.verdict = None


def _findSpans(key, rows):
    """
    The C{c5} spans among a chain's C{rows}, checked: C{({(table, seq):
    span}, gone)}, the span of every row a span lists (one whose rows
    match its MAC before one whose rows do not), and C{gone} the seqs that
    spans list or follow and that no row has.
    """
    byPlace, bySeq = {}, {}
    for entry in rows:
        byPlace.setdefault((entry[1], entry[0]), entry)
        bySeq.setdefault(entry[0], []).append(entry)
    found = []
    for entry in rows:
        seq, table, _, row, sigIndex = entry
        text = row[sigIndex] or ""
        if text.startswith("c5:"):
            parsed = parseSpanText(text, seq)
            if parsed is not None:
                found.append(_Span(entry, parsed))
    for span in found:
        _checkSpan(key, span, byPlace, bySeq)
    spans, gone = {}, set()
    for span in sorted(found, key=lambda span: span.verdict is not None):
        table = span.last[1]
        places = [(table, listed) for listed in span.text.seqs]
        if span.verdict is not None and any(place in spans for place in places):
            span.verdict = (span.last, "inserted", "its span lists rows that another span"
                                                   " holds")
            spans.setdefault((table, span.last[0]), span)
            continue
        for place in places:
            spans.setdefault(place, span)
        gone.update(span.missing)
        previousSeq = span.text.previousSeq
        if span.verdict is not None and span.verdict[1] == "unlinked" \
                and previousSeq not in bySeq:
            gone.add(previousSeq)
    return spans, gone


def _checkSpan(key, span, byPlace, bySeq):
    """Set C{span}'s members, missing rows and verdict (see L{_Span})."""
    table = span.last[1]
    text = span.text
    checks = []
    for listed, check in zip(text.seqs, text.checks):
        entry = byPlace.get((table, listed))
        if entry is None:
            span.missing.append(listed)
        else:
            span.members.append(entry)
            checks.append(check)
    if span.missing:
        if any(listed in bySeq for listed in span.missing):
            # No deletion makes a span list another table's row.
            span.verdict = (span.last, "altered", "its span lists rows of another table")
            span.missing = []
        else:
            # The chain's walk names the row after the first that is gone.
            span.verdict = (span.last, "deleted", "")
        return
    parts = [rawParts(table, e[3]) for e in span.members]
    batchKey = parts[-1][0]
    owns = [own + ("",) for _, own in parts]
    for entry, (memberKey, own) in zip(span.members, parts):
        if memberKey != batchKey:
            span.verdict = (entry, "altered", "its host columns differ from those of its"
                                              " span's last row")
            return
        if type(own[4]) is not str:
            span.verdict = (entry, "altered", "its line is not a text")
            return
    try:
        data, found = spanParts(owns)
    except (TypeError, ValueError) as e:
        span.verdict = (span.members[0], "altered", f"its span's rows cannot be signed: {e}")
        return
    count = len(owns)
    for entry, low, high, check in zip(span.members, found[:count], found[count:], checks):
        if low | high << 8 != check:
            span.verdict = (entry, "altered", "its line does not match its span's check of it")
            return
    previous = ""
    if text.previousSeq is not None:
        before = [e for e in bySeq.get(text.previousSeq, ())
                  if (parseSignature(e[3][e[4]] or "") or ("",))[0] == "c"]
        if not before:
            span.verdict = (span.last, "unlinked", "")
            return
        previous = _mac(before[0][3][before[0][4]])
    mac = spanTag(key, table, batchKey, previous, text.previousSeq, count, data)
    if not hmac.compare_digest(mac, text.mac):
        first, last = span.members[0][0], span.last[0]
        span.verdict = (span.members[0], "altered",
                        f"the rows of its span (seq {first} to {last} in {table}) do not"
                        " match their MAC: one of them was changed")


def _missingText(missing, before):
    last = "the start of the chain" if before is None else f"seq {before}"
    return f"it follows seq {missing}, which is missing (the last row before it is {last})"


def _headGone(headSeq, previousSeq):
    last = "none" if previousSeq is None else previousSeq
    return (f"the chain's head is seq {headSeq} but its last signed row is {last} (rows at"
            " its end are gone)")


def verifyChain(key, chain, keyValues, rows, head):
    """
    Walk one chain's C{rows} (C{(seq, table, row_id, row, sigIndex)} in seq
    order) and report the first row that is altered, inserted or follows a
    deleted one.

    @param head: C{(seq, signature)} of L{SIGNATURE_HEAD}, or C{None}.
    """
    label = "/".join("" if v is None else str(v) for v in keyValues)
    report = ChainReport(chain.name, label, rows=len(rows))

    def found(kind, entry, detail):
        seq, table, rowId = (entry[0], entry[1], entry[2]) if entry else (None, None, None)
        report.finding = Finding(chain.name, label, kind, table, seq, rowId, detail)
        return report

    spans, gone = _findSpans(key, rows) if any(
        _isSpanText(r[3][r[4]] or "") for r in rows) else ({}, ())
    firstGone = min(gone, default=None)
    headSeq = head[0] if head is not None else None

    def follows(entry, previous, previousSeq):
        """Does the chained row C{entry} follow C{previous} directly?"""
        seq, table, _, row, sigIndex = entry
        text = row[sigIndex]
        if text.startswith("c5:"):
            span = spans.get((table, seq))
            return (span is not None and span.last is entry and span.verdict is None
                    and span.text.previousSeq == previousSeq)
        expected = linkSignature(key, text[:2], table, row, sigIndex, previous, previousSeq)
        return expected is not None and hmac.compare_digest(expected, text)

    previous, previousSeq, signedYet = "", None, False
    for index, entry in enumerate(rows):
        seq, table, rowId, row, sigIndex = entry
        text = row[sigIndex] or ""
        if firstGone is not None and firstGone < seq:
            return found("deleted", entry, _missingText(firstGone, rows[index - 1][0]
                                                        if index else None))
        if _isSpanText(text):
            span = spans.get((table, seq))
            if span is None:
                if text != SPAN_MEMBER and parseSpanText(text, seq) is not None:
                    return found("altered", entry, "its span lists rows it does not have")
                if headSeq is not None and headSeq > seq and headSeq not in {
                        r[0] for r in rows[index + 1:]}:
                    return found("deleted", None, _headGone(headSeq, previousSeq))
                lost = min((g for g in gone if g > seq), default=None)
                if lost is not None:
                    return found("deleted", entry, f"no span lists it: the last row of its"
                                                   f" span (seq {lost}) is missing")
                return found("inserted", entry, "no span lists it")
            if span.verdict is not None and span.verdict[0] is entry \
                    and span.verdict[1] not in ("unlinked", "deleted"):
                return found(span.verdict[1], entry, span.verdict[2])
            if span.last is not entry:
                continue
            claimed = span.text.previousSeq
            if claimed != previousSeq:
                before = "the start of the chain" if previousSeq is None else f"seq {previousSeq}"
                said = "the start of the chain" if claimed is None else f"seq {claimed}"
                if claimed is not None and previousSeq is not None and claimed < previousSeq:
                    return found("altered", entry, f"its span claims to follow {said}, before"
                                                   f" {before}")
                return found("deleted", entry, f"its span follows {said}, which is missing"
                                               f" (the last row before it is {before})")
            if span.verdict is not None:
                return found("altered", entry, "its span does not match its MAC")
            previous, previousSeq, signedYet = span.text.mac, seq, True
            report.chained += len(span.members)
            continue
        parsed = parseSignature(text, seq)
        encoded = encodeRow(table, row, sigIndex)
        if parsed is None:
            if not signedYet and not text.startswith(_SIGNED):
                report.unsigned += 1
                continue
            return found("inserted" if not text.startswith(_SIGNED) else "altered",
                         entry, "no valid signature" + (" among signed rows"
                                                        if signedYet else ""))
        if parsed[0] == "s":
            if hmac.compare_digest(standaloneSignature(key, encoded), text):
                report.standalone += 1
                continue
            return found("altered", entry, "its standalone signature does not match")
        expected = linkSignature(key, text[:2], table, row, sigIndex, previous, previousSeq,
                                 encoded)
        if expected is not None and hmac.compare_digest(expected, text):
            previous, previousSeq, signedYet = parsed[2], seq, True
            report.chained += 1
            continue
        # Inserted: the next chained row links to the row before this one.
        following = next((r for r in rows[index + 1:]
                          if (parseSignature(r[3][r[4]] or "") or ("",))[0] == "c"), None)
        if following is not None and follows(following, previous, previousSeq):
            f = following
            if _isSpanText(f[3][f[4]]):
                return found("inserted", entry, f"no span lists it, and the span it stands in"
                                                f" (to seq {f[0]}) is intact")
            return found("inserted", entry, f"the next row (seq {f[0]}) follows seq"
                                            f" {previousSeq if previousSeq is not None else '-'}"
                                            " directly")
        if following is None and head is not None and head[0] is not None and seq > head[0]:
            return found("inserted", entry, f"it comes after the chain's head (seq {head[0]})")
        if parsed[1] != previousSeq:
            before = "the start of the chain" if previousSeq is None else f"seq {previousSeq}"
            claimed = "the start of the chain" if parsed[1] is None else f"seq {parsed[1]}"
            if parsed[1] is not None and previousSeq is not None and parsed[1] < previousSeq:
                return found("altered", entry, f"it claims to follow {claimed}, before"
                                               f" {before}")
            return found("deleted", entry, f"it follows {claimed}, which is missing (the last"
                                           f" row before it is {before})")
        return found("altered", entry, "its content does not match its signature")
    if head is not None and head[0] is not None:
        headSeq, headSig = head
        if previousSeq is None or previousSeq < headSeq:
            return found("deleted", None, _headGone(headSeq, previousSeq))
        if previousSeq == headSeq and _mac(headSig) != previous:
            return found("altered", rows[-1] if rows else None,
                         "the chain's last row is not the one its head records")
    return report


def verifyDatabase(txn, dialect, key):
    """
    Walk every chain of the database.  A transaction function (it only
    reads).

    @return: a list of L{ChainReport}s.
    """
    dialect = schema._dialect(dialect)
    tables = schema.existingTables(txn, dialect)
    heads = {}
    if SIGNATURE_HEAD in tables:
        txn.execute(f"SELECT chain, chainkey, seq, signature FROM {quote(SIGNATURE_HEAD)}")
        heads = {(r[0], r[1]): (r[2], r[3]) for r in txn.fetchall()}
    reports = []
    seen = set()
    for chain in CHAINS:
        for keyValues in _chainKeys(txn, dialect, chain, tables):
            chainKey = _chainKey(chain, keyValues)
            seen.add((chain.name, chainKey))
            rows = _chainRows(txn, dialect, chain, keyValues, tables)
            reports.append(verifyChain(key, chain, keyValues, rows,
                                       heads.get((chain.name, chainKey))))
    for (name, chainKey), (seq, _) in sorted(heads.items()):
        if (name, chainKey) not in seen:
            report = ChainReport(name, chainKey)
            report.finding = Finding(name, chainKey, "deleted", None, None, None,
                                     f"every row of this chain is gone (its head is seq {seq})")
            reports.append(report)
    return reports
