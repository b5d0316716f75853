"""
The pure parts of L{mice.db.signature}: the HMAC, the signature texts, and
the walk of one chain.
"""

import hashlib
import hmac
import marshal
import os
import re
import sqlite3
import struct
import zlib

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from mice.db import signature
from mice.db.classify import classifyBatch
from mice.db.schema import (
    COLUMNS,
    RAWLOG_TABLES,
    SIGNATURE_HEAD,
    SQLITE,
    batchRows,
    insertBatches,
    loadDataChunks,
    mysqlBatchStatements,
    prepareTables,
)
from mice.db.signature import (
    C5_DOMAIN,
    CHAIN_OF,
    SPAN_MEMBER,
    TAG_HEX,
    Signer,
    _chainRows,
    _fastEncoder,
    _macOf,
    _spanBytes,
    batchPrefix,
    chainedSignature,
    encodeValues,
    linkSignature,
    parseSignature,
    parseSpanText,
    rawLinkTag,
    rawParts,
    spanParts,
    spanPartsPython,
    spanTag,
    spanText,
    verifyChain,
)
from tests.unit.db.test_classify import FW_PLAIN_UDP, LAUS_SEED, RAW_LINES

KEY = bytes(range(64))


def rawRow(seq, line="a line", signature=""):
    row = dict.fromkeys(COLUMNS["rawlog_line"])
    row.update(origin="client1", stream="/var/log/messages", seq=seq, logline=line,
               date="2004-11-22", time="10:00:00", signature=signature)
    return tuple(row[c] for c in COLUMNS["rawlog_line"])


def chain(seqs, version="c2", versions=None):
    """
    Rows of one chain signed in C{seqs} order, as L{verifyChain} takes them
    (C{versions}: the version of each row, else C{version} for all).
    """
    sigIndex = COLUMNS["rawlog_line"].index("signature")
    return signChain([(seq, "rawlog_line", n + 1, rawRow(seq), sigIndex)
                      for n, seq in enumerate(seqs)], versions or [version] * len(seqs))


def signChain(rows, versions):
    """
    C{rows} (as L{verifyChain} takes them) signed again in order, each
    with its version of C{versions}.
    """
    signed, previous, previousSeq = [], "", None
    for (seq, table, rowId, row, sigIndex), version in zip(rows, versions):
        text = linkSignature(KEY, version, table, row, sigIndex, previous, previousSeq)
        signed.append((seq, table, rowId, row[:sigIndex] + (text,) + row[sigIndex + 1:],
                       sigIndex))
        previous, previousSeq = text.rsplit(":", 1)[1], seq
    return signed


def withLine(rows, n, line):
    """C{rows} with the log line of row C{n} changed to C{line}, its signature kept."""
    seq, table, rowId, row, sigIndex = rows[n]
    index = COLUMNS[table].index("logline")
    return rows[:n] + [(seq, table, rowId, row[:index] + (line,) + row[index + 1:],
                        sigIndex)] + rows[n + 1:]


class ChainTestCase(SynchronousTestCase):
    """
    Tests of L{verifyChain} on a raw-log chain of stream
    C{client1//var/log/messages}.
    """

    chain = CHAIN_OF["rawlog_line"]
    keyValues = ("client1", "/var/log/messages")

    def verify(self, rows):
        return verifyChain(KEY, self.chain, self.keyValues, rows, None)

    def assertFinding(self, rows, kind, seq):
        """
        L{verifyChain} of C{rows} finds a problem of C{kind} at C{seq}.

        @return: the finding.
        """
        finding = self.verify(rows).finding
        self.assertEqual((finding.kind, finding.seq), (kind, seq))
        return finding

    def assertTextShape(self, version):
        """
        C{version}'s signatures have the shape of C{c2}'s (the previous seq
        left out when it is one below), with C{-} for the first row, and
        its chain verifies.
        """
        rows = chain([1, 2, 5], version)
        texts = [row[3][row[4]] for row in rows]
        self.assertRegex(texts[0], f"^{version}:-:[0-9a-f]{{{TAG_HEX}}}$")
        self.assertRegex(texts[1], f"^{version}::[0-9a-f]{{{TAG_HEX}}}$")
        self.assertRegex(texts[2], f"^{version}:2:[0-9a-f]{{{TAG_HEX}}}$")
        self.assertEqual(parseSignature(texts[1], 2), ("c", 1, texts[1][4:]))
        report = self.verify(rows)
        self.assertEqual((report.chained, report.finding), (3, None))


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


class VerifyChainTests(ChainTestCase):

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
        finding = self.assertFinding(rows, "deleted", 4)
        self.assertIn("follows seq 3, which is missing", finding.detail)


#: Values as stores sign them: texts (lone surrogates too), numbers of any
#: size, NULL, and tuples of these.
VALUES = st.recursive(
    st.none() | st.integers() | st.text(st.characters(blacklist_categories=())),
    lambda inner: st.tuples(inner) | st.tuples(inner, inner) | st.lists(inner).map(tuple),
    max_leaves=20)


class C3EncodingTests(SynchronousTestCase):
    @given(VALUES)
    def test_marshalVersion2(self, value):
        """
        L{encodeValues} writes what C{marshal.dumps(value, 2)} writes, so
        the signing loop may use the latter (in C).
        """
        self.assertEqual(encodeValues(value), marshal.dumps(value, 2))

    def test_fastEncoder(self):
        """
        C{marshal.dumps} is used where it agrees with L{encodeValues}, and
        L{encodeValues} where it does not (a future Python's marshal).
        """
        self.assertIs(_fastEncoder(), marshal.dumps)
        self.patch(signature.marshal, "dumps", lambda value, version: b"other")
        encoder = _fastEncoder()
        self.assertEqual(encoder(("a", 1), 2), encodeValues(("a", 1)))

    def test_knownAnswer(self):
        """
        A C{c3} MAC is the keyed BLAKE2b-128 of the documented bytes: the
        table and batch key, then the previous MAC and seq and the row's
        own values, each in marshal's version 2 format.
        """
        def text(t):
            return b"u" + struct.pack("<i", len(t)) + t

        def tup(*items):
            return b"(" + struct.pack("<i", len(items)) + b"".join(items)

        message = (tup(text(b"firewall_line"),
                       tup(text(b"c1"), text(b"/s"), text(b"h"), b"N", b"N", b"N", b"N", b"N"))
                   + tup(text(b"ab"), b"i" + struct.pack("<i", 6),
                         tup(b"i" + struct.pack("<i", 7), text(b"2004-11-22"), b"N",
                             tup(text(b"DROP"), b"N", b"i" + struct.pack("<i", 80)),
                             text("l\u00e9".encode()))))
        expected = hashlib.blake2b(message, key=KEY, digest_size=16,
                                   person=b"mice-chain-c3").hexdigest()
        self.assertEqual(
            rawLinkTag(KEY, "firewall_line", ("c1", "/s", "h", None, None, None, None, None), "ab",
                       6, (7, "2004-11-22", None, ("DROP", None, 80), "l\u00e9")),
            expected)

    def test_longKey(self):
        """A SIGNKEY longer than BLAKE2b's 64-byte key is hashed to 64 bytes."""
        args = ("rawlog_line", ("c", "s") + (None,) * 6, "", None, (1, None, None, (), "x"))
        self.assertEqual(rawLinkTag(KEY + b"x", *args), rawLinkTag(
            hashlib.blake2b(KEY + b"x", digest_size=64, person=b"mice-signkey").digest(), *args))
        self.assertNotEqual(rawLinkTag(KEY, *args), rawLinkTag(KEY + b"x", *args))

    def test_rawPartsOfBatches(self):
        """
        L{rawParts} of a row as stored gives back the batch key and the row
        as L{classifyBatch} gave them, for each raw-log table: the store
        signs the latter and C{mice verify} the former.
        """
        lines = [FW_PLAIN_UDP, LAUS_SEED[0][0], RAW_LINES[0]]
        recs = [["2004-11-22", "10:00:00", line, "wire"] for line in lines]
        key, rowsByTable = classifyBatch("c1", "/s", 5, ("h", "d", "1.2.3.4", "Linux", "2.6",
                                                         "#1"), recs)
        self.assertEqual(sorted(rowsByTable), sorted(RAWLOG_TABLES))
        for table, rows in rowsByTable.items():
            for full, row in zip(batchRows(table, [(key, rows)]), rows):
                self.assertEqual(rawParts(table, full), (key, row[:5]))


class C3ChainTests(ChainTestCase):

    def test_text(self):
        """
        C{c3} signatures have the shape of C{c2}'s: the previous seq left
        out when it is one below, C{-} for the first row.
        """
        self.assertTextShape("c3")

    def test_mixedVersions(self):
        """A chain begun with C{c1}, gone on with C{c2}, then C{c3}, verifies."""
        report = self.verify(chain([1, 2, 3, 7, 8, 9], versions=["c1", "c1", "c2", "c2", "c3",
                                                                 "c3"]))
        self.assertEqual((report.chained, report.finding), (6, None))

    def test_altered(self):
        """A C{c3} row whose line changed is reported altered."""
        self.assertFinding(withLine(chain([1, 2, 3, 4], "c3"), 2, "changed"), "altered", 3)

    def test_deleted(self):
        """A C{c3} row deleted is named by its successor."""
        rows = chain([1, 2, 3, 4], "c3")
        del rows[1]
        self.assertFinding(rows, "deleted", 3)

    def test_linkedToPrevious(self):
        """
        A C{c3} row's MAC covers the previous row's MAC: a row moved from
        another chain of the same stream, whose row before it differs, does
        not verify.
        """
        one = chain([1, 2, 3], "c3")
        # The other chain signed again from its changed first row.
        other = signChain(withLine(chain([1, 2, 3], "c3"), 0, "other"), ["c3"] * 3)
        self.assertEqual(self.verify(other).finding, None)
        self.assertFinding([one[0], other[1], one[2]], "altered", 2)


class C4EncodingTests(SynchronousTestCase):
    def test_knownAnswer(self):
        """
        A C{c4} MAC is the keyed BLAKE2b-128, personalised
        C{mice-chain-c4}, of the documented bytes: the table and batch key
        in marshal's version 2 format, zero bytes up to 129, then one flat
        tuple of the previous MAC and seq and the row's own values.
        """
        def text(t):
            return b"u" + struct.pack("<i", len(t)) + t

        def tup(*items):
            return b"(" + struct.pack("<i", len(items)) + b"".join(items)

        prefix = tup(text(b"firewall_line"),
                     tup(text(b"c1"), text(b"/s"), text(b"h"), b"N", b"N", b"N", b"N", b"N"))
        self.assertLess(len(prefix), 129)
        message = (prefix + bytes(129 - len(prefix))
                   + tup(text(b"ab"), b"i" + struct.pack("<i", 6), b"i" + struct.pack("<i", 7),
                         text(b"2004-11-22"), b"N",
                         tup(text(b"DROP"), b"N", b"i" + struct.pack("<i", 80)),
                         text("l\u00e9".encode())))
        expected = hashlib.blake2b(message, key=KEY, digest_size=16,
                                   person=b"mice-chain-c4").hexdigest()
        self.assertEqual(
            rawLinkTag(KEY, "firewall_line", ("c1", "/s", "h", None, None, None, None, None), "ab",
                       6, (7, "2004-11-22", None, ("DROP", None, 80), "l\u00e9"), "c4"),
            expected)

    @given(st.text(max_size=300), st.text(max_size=300))
    def test_prefixEndsOneIntoABlock(self, origin, hostname):
        """
        A C{c4} batch prefix is its marshal bytes, then zero bytes up to one
        more than a multiple of BLAKE2b's 128-byte block: what a batch
        shares is compressed once, and each row's MAC starts from one byte.
        """
        key = (origin, "/s", hostname, None, None, None, None, None)
        prefix = batchPrefix("c4", "rawlog_line", key)
        encoded = marshal.dumps(("rawlog_line", key), 2)
        self.assertEqual(len(prefix) % 128, 1)
        self.assertGreaterEqual(len(prefix), 129)
        self.assertLess(len(prefix) - len(encoded), 128)
        self.assertEqual(prefix, encoded + bytes(len(prefix) - len(encoded)))
        self.assertEqual(batchPrefix("c3", "rawlog_line", key), encoded)

    def test_versionsDiffer(self):
        """The same link signed C{c3} and C{c4} has different MACs."""
        args = (KEY, "rawlog_line", ("c", "s") + (None,) * 6, "ab", 1, (2, None, None, (), "x"))
        self.assertNotEqual(rawLinkTag(*args, "c3"), rawLinkTag(*args, "c4"))


class C4ChainTests(ChainTestCase):

    def test_storesWriteC4(self):
        """Raw-log stores sign C{c4} now; alert stores C{c2}."""
        self.assertEqual(CHAIN_OF["rawlog_line"].version, "c4")
        self.assertEqual(CHAIN_OF["alert_entry"].version, "c2")

    def test_text(self):
        """
        C{c4} signatures have the shape of C{c2}'s and C{c3}'s: the previous
        seq left out when it is one below, C{-} for the first row.
        """
        self.assertTextShape("c4")

    def test_mixedVersions(self):
        """
        A chain begun with C{c1}, gone on with C{c2}, C{c3}, then C{c4} (an
        installation upgraded mid-stream), and one that goes back from
        C{c4} to C{c3} (a store downgraded), verify.
        """
        report = self.verify(chain([1, 2, 3, 7, 8, 9, 10, 12],
                                   versions=["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"]))
        self.assertEqual((report.chained, report.finding), (8, None))
        report = self.verify(chain([1, 2, 3, 4], versions=["c4", "c4", "c3", "c4"]))
        self.assertEqual((report.chained, report.finding), (4, None))

    def mixed(self):
        return chain([1, 2, 3, 4, 5, 6], versions=["c2", "c3", "c3", "c4", "c4", "c4"])

    def test_alteredInMixedChain(self):
        """A row changed on either side of the step from C{c3} to C{c4} is reported."""
        for n in (2, 3, 4):
            self.assertFinding(withLine(self.mixed(), n, "changed"), "altered", n + 1)

    def test_deletedInMixedChain(self):
        """
        The last C{c3} row deleted is named by the first C{c4} row, and a
        C{c4} row by its successor.
        """
        for n in (2, 3):
            rows = self.mixed()
            del rows[n]
            finding = self.assertFinding(rows, "deleted", n + 2)
            self.assertIn(f"follows seq {n + 1}, which is missing", finding.detail)

    def test_insertedInMixedChain(self):
        """
        A row inserted between the C{c3} and C{c4} rows, signed with any
        version's text, is reported inserted: the next row follows the one
        before it.
        """
        for version in ("c3", "c4"):
            rows = self.mixed()
            seq, table, rowId, row, sigIndex = rows[2]
            forged = rawRow(3)
            forged = forged[:sigIndex] + (f"{version}::" + "0" * TAG_HEX,) + forged[sigIndex + 1:]
            rows[3:3] = [(3, table, 99, forged, sigIndex)]
            report = self.verify(rows)
            self.assertEqual((report.finding.kind, report.finding.rowId), ("inserted", 99))

    def test_c3TextOnC4Link(self):
        """
        A C{c4} row whose text is relabelled C{c3} does not verify: the
        version is part of what is checked.
        """
        rows = self.mixed()
        seq, table, rowId, row, sigIndex = rows[4]
        row = row[:sigIndex] + ("c3" + row[sigIndex][2:],) + row[sigIndex + 1:]
        rows[4] = (seq, table, rowId, row, sigIndex)
        self.assertFinding(rows, "altered", seq)


def signedFlushes(testCase, *flushes, signer=None, entries=True):
    """
    Sign C{flushes} (each a list of C{(first seq, lines)} batches of stream
    C{c1}/C{/s}) with the store's hot path (L{Signing.signGroups}) and
    return the stored rows as L{verifyChain} takes them (C{entries}), else
    the signed groups of each flush.
    """
    db = sqlite3.connect(":memory:")
    testCase.addCleanup(db.close)
    txn = db.cursor()
    prepareTables(txn, "sqlite", RAWLOG_TABLES + (SIGNATURE_HEAD,))
    signer = signer or Signer(KEY)
    stored = {table: [] for table in RAWLOG_TABLES}
    signedGroups = []
    for batches in flushes:
        groupsByTable = {}
        for seq, lines in batches:
            key, rowsByTable = classifyBatch(
                "c1", "/s", seq, ("h", "d", "1.2.3.4", "Linux", "2.6", "#1"),
                [["2004-11-22", "10:00:00", line, "wire"] for line in lines])
            for table, rows in rowsByTable.items():
                groupsByTable.setdefault(table, []).append((key, rows))
        signing = signer.begin()
        signed = signing.signGroups(txn, "sqlite", groupsByTable)
        signing.finish(txn, "sqlite")
        signing.committed()
        signedGroups.append(signed)
        for table, groups in signed.items():
            testCase.assertTrue(all(len(group) == 3 for group in groups))
            stored[table] += batchRows(table, groups)
    if not entries:
        return signedGroups
    rows = []
    for table, tableRows in stored.items():
        sigIndex = COLUMNS[table].index("signature")
        for n, row in enumerate(tableRows):
            rows.append((row[COLUMNS[table].index("seq")], table, n, row, sigIndex))
    rows.sort(key=lambda r: r[0])
    return rows


class SignGroupsTests(SynchronousTestCase):
    """
    The store's hot path (L{Signing.signGroups}) signs what C{mice verify}
    checks, and its signatures go into the tables unescaped.
    """

    def signedFlushes(self, *flushes):
        return signedFlushes(self, *flushes)

    def test_verifies(self):
        """
        Batches of one stream spread over the three tables, in two flushes,
        make one chain of C{c5} spans (a batch's rows of one table each)
        that L{verifyChain} finds intact.
        """
        lines = [FW_PLAIN_UDP, LAUS_SEED[0][0], RAW_LINES[0]] * 3
        rows = self.signedFlushes([(1, lines[:4]), (5, lines[4:])], [(20, lines)])
        self.assertEqual(sorted({row[1] for row in rows}), sorted(RAWLOG_TABLES))
        texts = [row[3][row[4]] for row in rows]
        lasts = [t for t in texts if t != SPAN_MEMBER]
        self.assertTrue(all(re.fullmatch("c5:(-|[0-9]+):(|d[A-Za-z0-9+/=]+):[A-Za-z0-9+/=]+:"
                                         "[0-9a-f]{32}", t) for t in lasts), texts)
        # Two batches and then one, each in three tables: nine spans.
        self.assertEqual(len(lasts), 9)
        self.assertEqual([t.split(":")[1] for t in lasts], ["-", "2", "3", "4", "7", "8", "9",
                                                            "26", "27"])
        report = verifyChain(KEY, CHAIN_OF["rawlog_line"], ("c1", "/s"), rows, None)
        self.assertEqual((report.chained, report.finding), (18, None))

    @given(st.lists(st.tuples(st.sampled_from([FW_PLAIN_UDP, LAUS_SEED[0][0], RAW_LINES[0], ""])
                              | st.text(max_size=300),
                              st.sampled_from(["2004-11-22", "2004-13-01", ""]),
                              st.sampled_from(["10:00:00", "24:00:00", ""])),
                    min_size=1, max_size=30),
           st.integers(min_value=1, max_value=2 ** 40))
    def test_anyLinesVerify(self, lines, first):
        """
        Whatever the lines (any text, fields of each table, dates and times
        valid or not, seqs beyond 32 bits), the store's hot path signs what
        C{mice verify} checks on the rows as stored.
        """
        db = sqlite3.connect(":memory:")
        try:
            txn = db.cursor()
            prepareTables(txn, "sqlite", RAWLOG_TABLES + (SIGNATURE_HEAD,))
            key, rowsByTable = classifyBatch(
                "c1", "/s", first, ("h", None, "1.2.3.4", "Linux", "2.6", "#1"),
                [[day, clock, line, "wire"] for line, day, clock in lines])
            signing = Signer(KEY).begin()
            signed = signing.signGroups(txn, "sqlite", {table: [(key, tableRows)] for
                                                        table, tableRows in rowsByTable.items()})
            insertBatches(txn, "sqlite", signed)
            rows = _chainRows(txn, SQLITE, CHAIN_OF["rawlog_line"], ("c1", "/s"), RAWLOG_TABLES)
        finally:
            db.close()
        report = verifyChain(KEY, CHAIN_OF["rawlog_line"], ("c1", "/s"), rows, None)
        self.assertEqual((report.chained, report.finding), (len(lines), None))

    def test_signaturesNeedNoEscaping(self):
        """
        Signed groups make the same C{INSERT} text, C{LOAD DATA} text and
        rows as the same rows carrying their signatures: the texts are
        written as they are, with nothing to escape.
        """
        key, rowsByTable = classifyBatch("c1", "/s", 1, ("h",) * 6,
                                         [["2004-11-22", "10:00:00", "a\tb'\\", "wire"]] * 5)
        rows = rowsByTable["rawlog_line"]
        signatures = ["c4:-:" + "0" * TAG_HEX, "c4::" + "a" * TAG_HEX, "s1:" + "f" * 64,
                      SPAN_MEMBER, "c5:7:d/+8=:+/9A=:" + "b" * TAG_HEX]
        signed = [(key, rows, signatures)]
        carried = [(key, [row[:5] + (text,) for row, text in zip(rows, signatures)])]
        self.assertEqual(list(mysqlBatchStatements("rawlog_line", signed)),
                         list(mysqlBatchStatements("rawlog_line", carried)))
        self.assertEqual(list(loadDataChunks("rawlog_line", signed)),
                         list(loadDataChunks("rawlog_line", carried)))
        self.assertEqual(list(batchRows("rawlog_line", signed)),
                         list(batchRows("rawlog_line", carried)))


def _flat(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def tampered(rows, n, **values):
    """C{rows} with columns of row C{n} changed to C{values}, its signature kept."""
    seq, table, rowId, row, sigIndex = rows[n]
    row = list(row)
    for column, value in values.items():
        row[COLUMNS[table].index(column)] = value
    return rows[:n] + [(seq, table, rowId, tuple(row), sigIndex)] + rows[n + 1:]


def forgedRow(table, seq, text, line="forged"):
    """A row of stream C{c1}/C{/s} in C{table} with signature C{text}."""
    row = dict.fromkeys(COLUMNS[table])
    row.update(origin="c1", stream="/s", seq=seq, logline=line, date="2004-11-22",
               time="10:00:00", signature=text, hostname="h", domain="d", ip="1.2.3.4",
               osystem="Linux", release="2.6", version="#1")
    sigIndex = COLUMNS[table].index("signature")
    return (seq, table, 999, tuple(row[c] for c in COLUMNS[table]), sigIndex)


#: Three tables' lines, in a pattern that leaves gaps in each table's seqs.
MIXED = [FW_PLAIN_UDP, LAUS_SEED[0][0], RAW_LINES[0], RAW_LINES[0]] * 5


class C5SpanTests(SynchronousTestCase):
    """
    The C{c5} spans the hot path signs: one MAC per batch's rows of one
    table, and C{mice verify} still names the row that was changed,
    deleted or inserted.
    """

    chainKey = ("c1", "/s")

    def rows(self):
        """Three flushes of two, one and two batches."""
        return signedFlushes(self, [(1, MIXED), (21, MIXED[:7])], [(28, MIXED)],
                             [(48, MIXED[:9]), (60, MIXED)])

    def verify(self, rows, head=None):
        return verifyChain(KEY, CHAIN_OF["rawlog_line"], self.chainKey, rows, head)

    def assertFinding(self, rows, kind, seq, detail=""):
        finding = self.verify(rows).finding
        self.assertIsNotNone(finding)
        self.assertEqual((finding.kind, finding.seq), (kind, seq), str(finding))
        self.assertIn(detail, finding.detail)
        return finding

    def test_intact(self):
        rows = self.rows()
        report = self.verify(rows)
        self.assertEqual((report.rows, report.chained, report.finding), (len(rows), len(rows),
                                                                         None))
        self.assertEqual(len(rows), 20 + 7 + 20 + 9 + 20)

    def test_alteredLine(self):
        """A changed line is named: its span's check of it does not match."""
        rows = self.rows()
        for n in (0, 5, 30, len(rows) - 1):
            self.assertFinding(tampered(rows, n, logline="nothing happened"), "altered",
                               rows[n][0], "its line does not match")

    def test_alteredOtherColumn(self):
        """
        A changed column other than the line is found by the span's MAC and
        reported at the span's first row.
        """
        rows = self.rows()
        n = 30
        table = rows[n][1]
        finding = self.assertFinding(tampered(rows, n, date="2004-11-23"), "altered",
                                     min(r[0] for r in rows if r[1] == table and r[0] >= 28),
                                     "do not match their MAC")
        self.assertEqual(finding.table, table)

    def test_alteredHost(self):
        """A row given another host than its span's is named."""
        rows = self.rows()
        self.assertFinding(tampered(rows, 12, hostname="elsewhere"), "altered", rows[12][0],
                           "host columns differ")

    def test_deleted(self):
        """
        A deleted row is named by the chain's next row, whichever table it
        is in: its span lists the seq that is gone.
        """
        rows = self.rows()
        for n in (0, 3, 29, 40):
            remaining = rows[:n] + rows[n + 1:]
            self.assertFinding(remaining, "deleted", rows[n + 1][0],
                               f"it follows seq {rows[n][0]}, which is missing")

    def test_deletedLastOfSpan(self):
        """
        The last row of a span deleted (the one holding its MAC): the rows
        it listed are reported, the span's end missing.
        """
        rows = self.rows()
        n = next(i for i, r in enumerate(rows) if r[0] > 28 and r[3][r[4]] != SPAN_MEMBER
                 and any(o[1] == r[1] and 28 <= o[0] < r[0] for o in rows))
        remaining = rows[:n] + rows[n + 1:]
        finding = self.verify(remaining).finding
        self.assertEqual(finding.kind, "deleted", str(finding))
        self.assertLess(finding.seq, rows[n][0])

    def test_deletedAtEnd(self):
        """The chain's last span gone: the head names it."""
        rows = self.rows()
        head = (rows[-1][0], rows[-1][3][rows[-1][4]])
        self.assertIsNone(self.verify(rows, head).finding)
        remaining = [r for r in rows if r[0] < 60]
        finding = self.verify(remaining, head).finding
        self.assertEqual(finding.kind, "deleted", str(finding))
        self.assertIn(f"the chain's head is seq {rows[-1][0]}", finding.detail)

    def test_inserted(self):
        """
        A row no span lists is inserted, whatever its text: a span member's,
        a span's last row's, or another version's.
        """
        rows = self.rows()
        spanLast = next(r[3][r[4]] for r in rows if r[3][r[4]] != SPAN_MEMBER)
        for text in (SPAN_MEMBER, "c4::" + "0" * TAG_HEX, "c2::" + "0" * TAG_HEX, spanLast,
                     ""):
            forged = forgedRow("rawlog_line", 33, text)
            with_ = sorted(rows + [forged], key=lambda r: (r[0], r[2]))
            finding = self.verify(with_).finding
            self.assertEqual((finding.kind, finding.rowId), ("inserted", 999) if text != spanLast
                             else (finding.kind, 999), f"{text!r}: {finding}")

    def test_resendSignedRowByRow(self):
        """
        A flush with rows at or below the head (a resend) is signed C{c4},
        row by row, and the chain goes on from it in C{c5}.
        """
        signer = Signer(KEY)
        flushes = signedFlushes(self, [(1, MIXED)], [(15, MIXED)], [(35, MIXED)],
                                signer=signer, entries=False)
        texts = [t for groups in flushes[1].values() for _, _, sigs in groups for t in sigs]
        # Standalone: the rows the resend repeats are not in this test's
        # database (a store's insert ignores them).
        self.assertTrue(all(t[:3] in ("c4:", "s1:") for t in texts), texts)
        self.assertEqual(sum(t.startswith("c4:") for t in texts), 14)
        rows = signedFlushes(self, [(1, MIXED)], [(15, MIXED)], [(35, MIXED)])
        # The rows the resend repeats are stored once, as they were first.
        seen, unique = set(), []
        for row in rows:
            if (row[0], row[1]) not in seen:
                seen.add((row[0], row[1]))
                unique.append(row)
        report = self.verify(unique)
        self.assertEqual((report.chained, report.finding), (54, None))

    def test_wideGaps(self):
        """
        Seqs with steps of 256 or more, and beyond 32 bits, are listed in
        full; the span verifies and a deleted row is still named.
        """
        seqs = [5, 300, 2 ** 33, 2 ** 33 + 1, 2 ** 40]
        checks = bytes(10)
        self.assertEqual(spanText(None, seqs, checks, "0" * TAG_HEX).split(":")[2][0], "q")
        self.assertEqual(spanText(None, [1, 3, 258], checks[:6], "0" * TAG_HEX
                                  ).split(":")[2][0], "d")
        self.assertEqual(spanText(None, [1, 3, 259], checks[:6], "0" * TAG_HEX
                                  ).split(":")[2][0], "q")
        rows = signedFlushes(self, [(s, [RAW_LINES[0]]) for s in seqs])
        self.assertEqual(len(rows), 5)
        self.assertIsNone(self.verify(rows).finding)
        self.assertFinding(rows[:2] + rows[3:], "deleted", 2 ** 33 + 1)

    @given(st.lists(st.integers(min_value=1, max_value=2 ** 62), min_size=1, max_size=40,
                    unique=True),
           st.lists(st.binary(max_size=40), min_size=40, max_size=40))
    def test_spanTextRoundTrip(self, seqs, lines):
        """
        What a span's last row says is read back as it was written: its
        seqs, the check of each line and the MAC.
        """
        seqs.sort()
        encoded = lines[:len(seqs)]
        checks = [zlib.adler32(line) >> 16 for line in encoded]
        text = spanText(seqs[0] - 1 if seqs[0] > 1 else None, seqs,
                        bytes(c & 0xFF for c in checks) + bytes(c >> 8 for c in checks),
                        "ab" * 16)
        parsed = parseSpanText(text, seqs[-1])
        self.assertEqual(parsed.seqs, tuple(seqs))
        self.assertEqual(parsed.checks, tuple(checks))
        self.assertEqual((parsed.previousSeq, parsed.mac),
                         (seqs[0] - 1 if seqs[0] > 1 else None, "ab" * 16))
        self.assertEqual(parseSignature(text, seqs[-1])[::2], ("c", "ab" * 16))

    def test_knownAnswer(self):
        """
        A C{c5} MAC is HMAC-SHA256, kept to 128 bits, of the documented
        bytes; the checks are the high half of each line's Adler-32, low
        bytes first.
        """
        batchKey = ("c1", "/s", "h", None, None, None, None, None)
        rows = [(7, "2004-11-22", "10:00:00", ("DROP", None, 80), "l\u00e9", ""),
                (9, None, "", (), "", "")]
        data = (struct.pack("<2q", 7, 9) + struct.pack("<2I", 3, 0) + b"l\xc3\xa9"
                + marshal.dumps((["2004-11-22", None], ["10:00:00", ""],
                                 [("DROP", None, 80), ()]), 2))
        message = C5_DOMAIN + marshal.dumps(("firewall_line", batchKey, "ab", 6, 2), 2) + data
        checks = [zlib.adler32(b"l\xc3\xa9") >> 16, zlib.adler32(b"") >> 16]
        self.assertEqual(spanParts(rows), (data, bytes([checks[0] & 0xFF, checks[1] & 0xFF,
                                                        checks[0] >> 8, checks[1] >> 8])))
        self.assertEqual(spanTag(KEY, "firewall_line", batchKey, "ab", 6, 2, data),
                         hmac.new(KEY, message, hashlib.sha256).hexdigest()[:TAG_HEX])

    values = st.recursive(
        st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
        | st.text() | st.floats(allow_nan=False),
        lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple),
        max_leaves=8)

    @given(st.lists(st.tuples(st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1),
                              values, values, st.lists(values, max_size=4).map(tuple),
                              st.text(), st.just("")), max_size=20))
    def test_partsInCAndPython(self, rows):
        """
        The C writer of a span's bytes (when it is built) gives the bytes
        and checks the Python one does, for any values: where it does not
        write a value itself (a float, an int beyond 64 bits) it says so,
        and Python does it.
        """
        try:
            expected = spanPartsPython(rows)
        except (TypeError, ValueError):
            self.assertRaises((TypeError, ValueError), spanParts, rows)
            return
        self.assertEqual(spanParts(rows), expected)
        if _spanBytes is not None:
            try:
                self.assertEqual(_spanBytes(rows), expected)
            except TypeError:
                self.assertTrue(any(type(v) is float or (type(v) is int and abs(v) >= 2 ** 63)
                                    for v in _flat(rows)), rows)

    def test_builtHere(self):
        """
        Where the project is built with a C compiler (CI is), the C writer
        is there: a checkout that lost it would sign three times slower
        without a word.
        """
        if os.environ.get("CI") != "true":
            raise SkipTest("only CI insists on the C writer")
        self.assertIsNotNone(_spanBytes)

    @given(st.data())
    def test_anyTamperingFound(self, data):
        """
        Whatever single row is changed (any column), deleted, or inserted
        in whatever flushes, C{mice verify} reports a problem; a changed
        line at its row, a deleted row by its seq (and, but for a span's
        last row, at the row that follows it).
        """
        batches = data.draw(st.lists(st.lists(st.sampled_from(MIXED[:4]), min_size=1,
                                              max_size=12), min_size=1, max_size=4))
        flushes, seq = [], 1
        for lines in batches:
            flushes.append([(seq, lines)])
            seq += len(lines) + data.draw(st.integers(min_value=0, max_value=300))
        rows = signedFlushes(self, *flushes)
        # The chain's head, as the store leaves it in signature_head.
        head = (rows[-1][0], rows[-1][3][rows[-1][4]])
        self.verify = lambda rows: C5SpanTests.verify(self, rows, head)
        self.assertIsNone(self.verify(rows).finding)
        n = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
        how = data.draw(st.sampled_from(["line", "date", "delete", "insert"]))
        if how == "line":
            self.assertFinding(tampered(rows, n, logline=rows[n][3][COLUMNS[rows[n][1]].index(
                "logline")] + "!"), "altered", rows[n][0])
        elif how == "date":
            finding = self.verify(tampered(rows, n, date="1999-01-01")).finding
            self.assertEqual(finding.kind, "altered")
        elif how == "delete":
            finding = self.verify(rows[:n] + rows[n + 1:]).finding
            self.assertEqual(finding.kind, "deleted", str(finding))
            self.assertRegex(finding.detail, rf"seq {rows[n][0]}\b")
            if n + 1 < len(rows) and rows[n][3][rows[n][4]] == SPAN_MEMBER:
                self.assertEqual(finding.seq, rows[n + 1][0], str(finding))
        else:
            forged = forgedRow(data.draw(st.sampled_from(RAWLOG_TABLES)), seq + 1,
                               data.draw(st.sampled_from([SPAN_MEMBER, ""])))
            finding = self.verify(rows + [forged]).finding
            self.assertEqual((finding.kind, finding.rowId), ("inserted", 999), str(finding))
