"""
Tests for L{mice.forwarder.prepare}: preparing lines, cutting batches, and which
positions may be persisted.
"""

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.forwarder.filters import RegexFilter
from mice.forwarder.prepare import (
    ForwardBatch,
    Ledger,
    LinePreparer,
    PreparedLines,
    boundedLine,
    cutBatches,
    persistable,
)
from mice.forwarder.pseudonym import KeyedPseudonymizer, depseudonymizeText, newKey
from mice.forwarder.tailer import FileIdentity, Line, Position

NOW = datetime(2004, 11, 22, 12, 0, 0)
IDENTITY = FileIdentity(1, 2, b"\x01" * 32)


def lines(*texts, first=1):
    return [Line(seq, text, 0, IDENTITY) for seq, text in enumerate(texts, first)]


def position(seq, offset=None):
    return Position(IDENTITY, seq * 10 if offset is None else offset, seq)


class BoundedLineTests(SynchronousTestCase):
    def test_short(self):
        self.assertEqual(boundedLine(b"hello", 1000), ("hello", 0))

    def test_invalidUTF8Escaped(self):
        self.assertEqual(boundedLine(b"bad \xff byte", 1000), ("bad \\xff byte", 0))

    def test_longCutAndMarked(self):
        line, dropped = boundedLine(b"x" * 5000, 1000)
        self.assertEqual(dropped, 4064)
        self.assertTrue(line.endswith(" [M-ICE: line truncated, 4064 bytes dropped]"))
        self.assertLessEqual(len(line.encode()), 1000)

    def test_escapesMakeItTooLong(self):
        """
        Invalid bytes become four characters each: a line that fits as bytes
        may not fit as text, and is cut as well.
        """
        line, dropped = boundedLine(b"\xff" * 900, 1000)
        self.assertGreater(dropped, 0)
        self.assertLessEqual(len(line.encode()), 1000)

    @given(st.binary(max_size=3000), st.integers(min_value=200, max_value=2000))
    def test_alwaysFits(self, raw, maxRecord):
        line, dropped = boundedLine(raw, maxRecord)
        self.assertLessEqual(len(line.encode("utf-8")), maxRecord)
        self.assertEqual(dropped == 0, line == raw.decode("utf-8", "backslashreplace"))


class LinePreparerTests(SynchronousTestCase):
    def test_format(self):
        """
        A line's own time; a line without one the time of the line before
        it read with it, else the time it is read at.
        """
        prepared = LinePreparer().prepare(
            lines(b"no stamp first", b"Nov 22 10:00:01 host sshd[1]: hello", b"no stamp here"),
            NOW)
        self.assertEqual(prepared.seqs, [1, 2, 3])
        self.assertEqual(prepared.records, [
            ["2004-11-22", "12:00:00", "no stamp first", ""],
            ["2004-11-22", "10:00:01", "Nov 22 10:00:01 host sshd[1]: hello", ""],
            ["2004-11-22", "10:00:01", "no stamp here", ""]])

    def test_backlogOfAnotherYear(self):
        """
        A backlog of 2002's log read in 2004: its syslog dates are of its
        own year, read from its lines that have one (the first poll looks
        ahead for one), stream by stream; a stream without such lines takes
        the year of the time it is read at.
        """
        preparer = LinePreparer()
        old = lines(b"Nov 21 23:59:59 host sshd[1]: a",
                    b"2002-11-22T00:00:01+00:00 host sshd[1]: b",
                    b"Nov 22 00:00:02 host sshd[1]: c")
        self.assertEqual([r[0] for r in preparer.prepare(old, NOW, "old.log").records],
                         ["2002-11-21", "2002-11-22", "2002-11-22"])
        later = lines(b"Nov 22 00:00:03 host sshd[1]: d", first=4)
        self.assertEqual([r[0] for r in preparer.prepare(later, NOW, "old.log").records],
                         ["2002-11-22"])
        live = lines(b"Nov 22 11:59:59 host sshd[1]: e")
        self.assertEqual([r[0] for r in preparer.prepare(live, NOW, "live.log").records],
                         ["2004-11-22"])
        # A new day of the run keeps the stream's year.
        tomorrow = datetime(2004, 11, 23, 0, 0, 1)
        self.assertEqual([r[0] for r in preparer.prepare(later, tomorrow, "old.log").records],
                         ["2002-11-22"])
        self.assertEqual([r[0] for r in preparer.prepare(live, tomorrow, "live.log").records],
                         ["2004-11-22"])

    def test_filterLeavesGaps(self):
        preparer = LinePreparer(RegexFilter(drop=["-- MARK --"]))
        prepared = preparer.prepare(lines(b"a", b"-- MARK --", b"b", b"-- MARK --"), NOW)
        self.assertEqual((prepared.seqs, prepared.filtered), ([1, 3], 2))
        self.assertEqual([r[2] for r in prepared.records], ["a", "b"])

    def test_pseudonymised(self):
        """
        With PSEUDO = yes the user names leave the host as pseudonyms that
        the key holder can reverse, and nobody else.
        """
        key = newKey()
        preparer = LinePreparer(pseudonymizer=KeyedPseudonymizer(key))
        text = b"Nov 22 10:00:01 host sshd[1]: Failed password for alice from 10.0.0.1"
        [record] = preparer.prepare(lines(text), NOW).records
        self.assertNotIn("alice", record[2])
        self.assertIn("psd:", record[2])
        self.assertEqual(depseudonymizeText(record[2], key)[0], text.decode())
        self.assertEqual(depseudonymizeText(record[2], newKey())[0], record[2])

    def test_overlongAndInvalid(self):
        prepared = LinePreparer(maxRecord=300).prepare(lines(b"y" * 1000, b"caf\xc3\xa9 \xff"),
                                                         NOW)
        self.assertEqual(prepared.truncated, 1)
        self.assertIn("line truncated", prepared.records[0][2])
        self.assertEqual(prepared.records[1][2], "caf\u00e9 \\xff")


class CutBatchesTests(SynchronousTestCase):
    def prepared(self, seqs):
        return PreparedLines(seqs, [["2004-11-22", "10:00:00", f"l{n}", ""] for n in seqs], 0, 0)

    def test_consecutive(self):
        [batch] = cutBatches("/log", self.prepared([5, 6, 7]), position(7), position)
        self.assertEqual((batch.seq, batch.seqs, len(batch.records)), (5, None, 3))
        self.assertEqual(batch.position, position(7))

    def test_gapsCarrySeqs(self):
        [batch] = cutBatches("/log", self.prepared([5, 7, 8]), position(9), position)
        self.assertEqual((batch.seq, batch.seqs), (5, [5, 7, 8]))
        self.assertEqual(batch.position, position(9), "the poll's end, past a filtered line")

    def test_limits(self):
        batches = cutBatches("/log", self.prepared(list(range(1, 26))), position(30), position,
                             maxRecords=10)
        self.assertEqual([(b.seq, len(b.records)) for b in batches], [(1, 10), (11, 10), (21, 5)])
        self.assertEqual([b.position for b in batches], [position(10), position(20), position(30)])

    def test_mark(self):
        [mark] = cutBatches("/log", self.prepared([]), position(4), position)
        self.assertEqual((mark.records, mark.position), ([], position(4)))

    def test_encodeRoundTrip(self):
        for batch in [ForwardBatch("/log", 3, [3, 5], [["d", "t", "l\u00e9", ""]] * 2,
                                   position(5)),
                      ForwardBatch("fifo", 9, None, [], Position(None, 0, 9))]:
            self.assertEqual(ForwardBatch.decode(batch.encode()), batch)


class LedgerTests(SynchronousTestCase):
    def batch(self, stream, seq):
        return ForwardBatch(stream, seq, None, [["d", "t", "l", ""]], position(seq))

    def test_prefixOnly(self):
        ledger = Ledger()
        first, second, third = (ledger.add(self.batch("/a", n), fromSpool=n > 1)
                                for n in (1, 2, 3))
        self.assertEqual(ledger.acknowledge(second), 0)
        self.assertEqual(ledger.committed, {})
        self.assertEqual(ledger.acknowledge(first), 1)
        self.assertEqual(ledger.committed, {"/a": position(2)})
        self.assertEqual(ledger.acknowledge(third), 1)
        self.assertEqual((ledger.committed, len(ledger)), ({"/a": position(3)}, 0))

    def test_neverBack(self):
        """
        A batch replayed from the spool after a restart may be older than
        what was re-read from the file: the committed position stays.
        """
        ledger = Ledger({"/a": position(50)})
        ledger.acknowledge(ledger.add(self.batch("/a", 20), fromSpool=True))
        self.assertEqual(ledger.committed["/a"], position(50))

    def test_persistableIsTheLeastAdvanced(self):
        one, two = Ledger({"/a": position(5), "/b": position(1)}), Ledger({"/a": position(3)})
        self.assertEqual(persistable([one, two], ["/a", "/b", "/c"]), {"/a": position(3)})

    @given(st.permutations(range(12)))
    def test_anyAckOrder(self, order):
        """
        Whatever the order of acknowledgements, the committed position is the
        one after the longest acknowledged prefix.
        """
        ledger = Ledger()
        entries = [ledger.add(self.batch("/a", n + 1), fromSpool=True) for n in range(12)]
        acked = set()
        for n in order:
            ledger.acknowledge(entries[n])
            acked.add(n)
            prefix = 0
            while prefix in acked:
                prefix += 1
            self.assertEqual(ledger.committed.get("/a"), position(prefix) if prefix else None)
