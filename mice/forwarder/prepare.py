# -*- test-case-name: tests.unit.forwarder.test_prepare -*-
"""
The DataForwarder's decisions, without I/O: what a followed line becomes
(L{LinePreparer}: filter, pseudonymise, format), how lines are cut into
batches (L{ForwardBatch}), and which file positions may be persisted
(L{Ledger}: only positions whose lines, and every line before them, a server
has acknowledged as durable).

Time is passed in; nothing here touches a reactor, a socket or a file.
"""

import json
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from itertools import accumulate, compress
from operator import attrgetter, itemgetter
from typing import NamedTuple

from mice.forwarder.format import Timestamper, decodeLogBytes
from mice.forwarder.tailer import FileIdentity, Position

TRUNCATED = " [M-ICE: line truncated, {} bytes dropped]"

#: Room left in a record for its date, time and JSON framing.
_RECORD_OVERHEAD = 64

_lineSeq = attrgetter("seq")
_lineData = attrgetter("data")
_recordText = itemgetter(2)
_plus32 = (32).__add__


def boundedLine(raw, maxRecord):
    """
    A raw log line (C{bytes}, no newline) as text that fits a record of
    C{maxRecord} bytes, invalid UTF-8 shown as C{\\xNN} escapes.

    @return: C{(line, droppedBytes)}; a cut line says at its end how many
        bytes were dropped.
    """
    limit = maxRecord - _RECORD_OVERHEAD
    if len(raw) <= limit:
        line = decodeLogBytes(raw)
        if (len(line) if line.isascii() else len(line.encode("utf-8"))) <= limit:
            return line, 0
    cut = min(len(raw), limit)
    line = decodeLogBytes(raw[:cut])
    while len(line.encode("utf-8")) > limit:
        # Escapes of invalid bytes made it longer than the bytes it came from.
        cut = max(cut - 64, 0)
        line = decodeLogBytes(raw[:cut])
    dropped = len(raw) - cut
    return line + TRUNCATED.format(dropped), dropped


class PreparedLines(NamedTuple):
    seqs: list
    records: list
    filtered: int
    """Lines the filter dropped."""
    truncated: int
    """Lines cut to the record limit."""


#: Streams whose year a L{LinePreparer} keeps.
_MAX_STREAMS = 4096


class LinePreparer:
    """
    C{mice_mod_flt_regex}, then the pseudonymiser, then C{mice_mod_fmt_simple}:
    followed lines into wire records.

    @param lineFilter: an L{mice.interfaces.IFilter}, or C{None} (FILTER = no).
    @param pseudonymizer: an L{mice.interfaces.IPseudonymizer}, or C{None}
        (PSEUDO = no).
    """

    def __init__(self, lineFilter=None, pseudonymizer=None, maxRecord=65536):
        self.lineFilter = lineFilter
        self.pseudonymizer = pseudonymizer
        self.maxRecord = maxRecord
        self._timestamper = None
        #: Each stream's latest date with a year (C{None}: none yet).
        self._references = {}

    def _stamps(self, now, stream, texts):
        """
        The stamps of C{texts}, lines of C{stream}: a syslog date's year
        follows the stream's own lines that have one (a backlog of another
        year is read in its year, as C{mice analyze} reads it), else
        C{now}'s; the first poll of a stream looks ahead for such a line.
        One L{Timestamper} serves every stream (its caches are the memory),
        told each stream's year in turn.
        """
        stamper = self._timestamper
        if stamper is None:
            stamper = self._timestamper = Timestamper(now, follow=True)
        elif stamper.now.date() != now.date():
            stamper.at(now)
        references = self._references
        first = stream not in references
        stamper.use(None if first else references[stream])
        if first:
            if len(references) >= _MAX_STREAMS:
                references.clear()
            stamper.readYear(texts)
        stamps = stamper.stamps(texts)
        references[stream] = stamper.reference
        return stamps

    def prepare(self, lines, now, stream=None):
        """
        @param lines: L{mice.forwarder.tailer.Line}s.
        @param now: a naive local L{datetime}: the year of syslog dates
            until the stream has a line with a year, and the stamp of a
            line that has none when no line before it in C{lines} has one.
        @param stream: the lines' file, whose dates are read together.
        @return: L{PreparedLines}.
        """
        fallback = (now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"))
        maxRecord, limit = self.maxRecord, self.maxRecord - _RECORD_OVERHEAD
        # Each step is one C-level pass over the poll's lines; only the
        # modules' own methods cost a Python call per line.
        seqs = list(map(_lineSeq, lines))
        raws = list(map(_lineData, lines))
        filtered = truncated = 0
        if not raws or (max(map(len, raws)) <= limit and all(map(bytes.isascii, raws))):
            texts = list(map(bytes.decode, raws))
        else:
            texts = []
            for raw in raws:
                if len(raw) <= limit and raw.isascii():
                    texts.append(raw.decode("ascii"))
                else:
                    text, cut = boundedLine(raw, maxRecord)
                    truncated += cut > 0
                    texts.append(text)
        if self.lineFilter is not None:
            kept = list(map(self.lineFilter.keep, texts))
            if not all(kept):
                texts = list(compress(texts, kept))
                seqs = list(compress(seqs, kept))
                filtered = len(kept) - len(texts)
        if self.pseudonymizer is not None:
            texts = list(map(self.pseudonymizer.pseudonymize, texts))
        stamps = self._stamps(now, stream, texts)
        if None in stamps:
            # A line without a time (a continuation, a format not read) was
            # written with the line before it when they were read together.
            last = fallback
            for index, stamp in enumerate(stamps):
                if stamp is None:
                    stamps[index] = last
                else:
                    last = stamp
        records = [[*stamp, text, ""] for stamp, text in zip(stamps, texts)]
        return PreparedLines(seqs, records, filtered, truncated)


class ForwardBatch(NamedTuple):
    """
    Records of one stream on their way to the servers.

    A batch without records is a I{mark}: it only carries a position to
    persist (lines that were all filtered out, a file that was rewritten).
    """

    stream: str
    seq: int
    """Sequence number of the first record (or of the mark's position)."""
    seqs: list | None
    """Every record's sequence number, when they do not follow one by one."""
    records: list
    position: Position | None
    """What to persist for C{stream} once this batch and all before it are
    acknowledged; C{None} for a stream that has no positions (a FIFO)."""

    def encode(self):
        """
        @return: C{bytes} for the spool.
        """
        return json.dumps([self.stream, self.seq, self.seqs, self.records,
                           _positionToJson(self.position)],
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data):
        stream, seq, seqs, records, position = json.loads(data)
        return cls(stream, seq, seqs, records, _positionFromJson(position))


def _positionToJson(position):
    if position is None:
        return None
    identity = position.identity
    return [None if identity is None else [identity.device, identity.inode,
                                           identity.fingerprint.hex()],
            position.offset, position.seq]


def _positionFromJson(value):
    if value is None:
        return None
    identity, offset, seq = value
    if identity is not None:
        identity = FileIdentity(identity[0], identity[1], bytes.fromhex(identity[2]))
    return Position(identity, offset, seq)


def cutBatches(stream, prepared, lastPosition, positionAfter, maxRecords=1000, maxBytes=512 * 1024):
    """
    Cut the records of one poll of C{stream} into L{ForwardBatch}es.

    @param prepared: the poll's L{PreparedLines}.
    @param lastPosition: where the stream stands after the poll (persisted
        with the last batch, so lines filtered out at the end count as done).
    @param positionAfter: C{positionAfter(seq)}: the position after the line
        C{seq}, or C{None}.
    @return: the batches; a single mark if no line was kept.
    """
    seqs, records = prepared.seqs, prepared.records
    if not records:
        seq = lastPosition.seq if lastPosition is not None else 0
        return [ForwardBatch(stream, seq, None, [], lastPosition)]
    # A batch ends at its maxRecords-th record, at the record that brings
    # its size (text + 32 per record) to maxBytes, or at the last record.
    # ends[i] is the size of records[:i + 1], so the size of a batch
    # starting at start is found by bisection.
    ends = list(accumulate(map(_plus32, map(len, map(_recordText, records)))))
    batches, start, last = [], 0, len(records) - 1
    while start <= last:
        before = ends[start - 1] if start else 0
        stop = min(bisect_left(ends, before + maxBytes, start), start + maxRecords - 1, last)
        part = seqs[start:stop + 1]
        consecutive = part[-1] - part[0] == len(part) - 1
        position = lastPosition if stop == last else positionAfter(part[-1])
        batches.append(ForwardBatch(stream, part[0], None if consecutive else part,
                                    records[start:stop + 1], position))
        start = stop + 1
    return batches


@dataclass(slots=True, eq=False)
class _Entry:
    stream: str
    position: Position
    fromSpool: bool
    done: bool = field(default=False, init=False)


class Ledger:
    """
    One server's view of what it has acknowledged: batches are added in the
    order they are sent, acknowledged in any order, and a stream's committed
    position advances only over an acknowledged prefix.

    @ivar committed: C{{stream: Position}}; a position never moves back (by
        sequence number): a batch replayed from the spool after a restart may
        be older than what the file already had.
    """

    def __init__(self, committed=None):
        self.committed = dict(committed or {})
        self._entries = deque()

    def __len__(self):
        return len(self._entries)

    def add(self, batch, fromSpool):
        """
        @return: the entry to hand to L{acknowledge}.
        """
        entry = _Entry(batch.stream, batch.position, fromSpool)
        self._entries.append(entry)
        return entry

    def acknowledge(self, entry):
        """
        @return: how many acknowledged entries of the prefix came from the
            spool (the caller pops that many spool items).
        """
        entry.done = True
        entries, committed, fromSpool = self._entries, self.committed, 0
        while entries and entries[0].done:
            first = entries.popleft()
            fromSpool += first.fromSpool
            position = first.position
            if position is not None:
                old = committed.get(first.stream)
                if old is None or position.seq >= old.seq:
                    committed[first.stream] = position
        return fromSpool

    def forget(self):
        """
        Every unacknowledged entry is void (the sender was thrown away).
        """
        self._entries.clear()


def persistable(ledgers, streams):
    """
    The position of each stream that every server has acknowledged: the
    least advanced one.

    @param ledgers: the L{Ledger} of each enabled server.
    @param streams: the streams (paths) that have positions.
    @return: C{{stream: Position}} for the streams some position is known of.
    """
    positions = {}
    for stream in streams:
        known = [ledger.committed[stream] for ledger in ledgers if stream in ledger.committed]
        if known and len(known) == len(ledgers):
            positions[stream] = min(known, key=lambda p: p.seq)
    return positions
