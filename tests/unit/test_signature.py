"""
The pure parts of L{mice.db.signature}: the HMAC, the signature texts, and
the walk of one chain.
"""

import hmac

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.db.schema import COLUMNS
from mice.db.signature import (
    CHAIN_OF,
    TAG_HEX,
    _macOf,
    chainedSignature,
    encodeRow,
    parseSignature,
    verifyChain,
)

KEY = bytes(range(64))


def rawRow(seq, line="a line", signature=""):
    row = dict.fromkeys(COLUMNS["rawlog_line"])
    row.update(origin="client1", stream="/var/log/messages", seq=seq, logline=line,
               date="2004-11-22", time="10:00:00", signature=signature)
    return tuple(row[c] for c in COLUMNS["rawlog_line"])


def chain(seqs, version="c2"):
    """Rows of one chain signed in C{seqs} order, as L{verifyChain} takes them."""
    sigIndex = COLUMNS["rawlog_line"].index("signature")
    rows, previous, previousSeq = [], "", None
    for n, seq in enumerate(seqs):
        row = rawRow(seq)
        text = chainedSignature(KEY, previous, previousSeq, encodeRow("rawlog_line", row,
                                                                      sigIndex), seq, version)
        row = row[:sigIndex] + (text,) + row[sigIndex + 1:]
        rows.append((seq, "rawlog_line", n + 1, row, sigIndex))
        previous, previousSeq = text.rsplit(":", 1)[1], seq
    return rows


class HmacTests(SynchronousTestCase):
    @given(st.binary(min_size=32, max_size=200), st.binary(max_size=500))
    def test_hmacSha256(self, key, message):
        """
        The precomputed pads give RFC 2104's HMAC-SHA256, for keys shorter
        and longer than the block.
        """
        self.assertEqual(_macOf(key).hexdigest(message),
                         hmac.new(key, message, "sha256").hexdigest())


class SignatureTextTests(SynchronousTestCase):
    def test_c2(self):
        """
        A C{c2} signature keeps 128 bits of the HMAC and leaves out a
        previous seq one below the row's; L{parseSignature} gives it back.
        """
        text = chainedSignature(KEY, "ab", 41, "s1:x", 42)
        self.assertRegex(text, "^c2::[0-9a-f]{%d}$" % TAG_HEX)
        self.assertEqual(parseSignature(text, 42), ("c", 41, text[4:]))
        gap = chainedSignature(KEY, "ab", 40, "s1:x", 42)
        self.assertEqual(gap.split(":")[:2], ["c2", "40"])
        self.assertEqual(parseSignature(gap, 42)[1], 40)
        first = chainedSignature(KEY, "", None, "s1:x", 1)
        self.assertEqual(parseSignature(first, 1)[1], None)

    def test_versionsDiffer(self):
        """
        The same link as C{c1} keeps the whole HMAC, of which C{c2} keeps
        the first 128 bits.
        """
        c1 = chainedSignature(KEY, "ab", 41, "s1:x", 42, "c1")
        c2 = chainedSignature(KEY, "ab", 41, "s1:x", 42)
        self.assertEqual(c1[:6], "c1:41:")
        self.assertEqual(c1[6:6 + TAG_HEX], c2[4:])


class VerifyChainTests(SynchronousTestCase):
    chain = CHAIN_OF["rawlog_line"]
    keyValues = ("client1", "/var/log/messages")

    def verify(self, rows):
        return verifyChain(KEY, self.chain, self.keyValues, rows, None)

    def test_intact(self):
        """Chains of C{c1}, C{c2}, with gaps in the seqs, verify."""
        for version in ("c1", "c2"):
            report = self.verify(chain([1, 2, 3, 7, 8, 20], version))
            self.assertEqual((report.chained, report.finding), (6, None))

    def test_deletedAfterGap(self):
        """
        The deleted row is named by its successor even where the successor's
        signature left the previous seq out.
        """
        rows = chain([1, 2, 3, 4])
        del rows[2]
        report = self.verify(rows)
        self.assertEqual((report.finding.kind, report.finding.seq), ("deleted", 4))
        self.assertIn("follows seq 3, which is missing", report.finding.detail)
