"""
Tests for L{mice.decoders.logformat}, L{mice.forwarder.format} and L{mice.forwarder.shipping}'s batching.
"""

from datetime import datetime

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.decoders.logformat import LogBatch, LogFormatDecoder
from mice.forwarder.format import Timestamper, decodeLogBytes, formatLine, parseTimestamp
from mice.forwarder.shipping import ShipResult, idmefBatches, logBatches
from mice.protocols import wire
from mice.protocols.wire import ProtocolError, batch
from mice.record import LogRecord
from mice.testing import decodeChecked

NOW = datetime(2026, 11, 22, 12, 0, 0)


class TimestampTests(SynchronousTestCase):
    def test_rfc3164(self):
        self.assertEqual(parseTimestamp("Nov 22 10:00:01 host sshd[1]: x", NOW),
                         ("2026-11-22", "10:00:01"))
        self.assertEqual(parseTimestamp("Feb  3 07:08:09 host x", NOW), ("2026-02-03", "07:08:09"))
        # A day not padded, as some senders write it.
        self.assertEqual(parseTimestamp("Feb 3 07:08:09 host x", NOW), ("2026-02-03", "07:08:09"))
        self.assertIsNone(parseTimestamp("Feb 3 7:08:09 host x", NOW))

    def test_rfc3164FromLastYear(self):
        """
        A December line read in January belongs to the year before.
        """
        self.assertEqual(parseTimestamp("Dec 31 23:59:59 h x", datetime(2027, 1, 1, 0, 0, 5)),
                         ("2026-12-31", "23:59:59"))

    def test_iso(self):
        for line in ("2004-02-01T16:19:36 3322 1302 -1 [PROC_realgid] setgid32(0); result=0",
                     "2004-02-01 16:19:36 x",
                     "<34>1 2004-02-01T16:19:36.003Z host app - - - msg",
                     "2004-02-01T16:19:36+01:00 host app: msg",
                     # nginx's error log.
                     "2004/02/01 16:19:36 [error] 811#811: *5 user \"bob\": password mismatch"):
            self.assertEqual(parseTimestamp(line, NOW), ("2004-02-01", "16:19:36"), line)

    def test_journalctl(self):
        """
        journalctl's output formats: short-precise (microseconds after the
        seconds), short-full (the day of the week and the zone around an
        ISO date and time), short-unix (seconds since the epoch).
        """
        self.assertEqual(parseTimestamp("Nov 22 10:00:01.123456 host sshd[1]: x", NOW),
                         ("2026-11-22", "10:00:01"))
        self.assertEqual(parseTimestamp("Mon 2004-11-22 10:00:01 CET host sshd[1]: x", NOW),
                         ("2004-11-22", "10:00:01"))
        self.assertEqual(parseTimestamp("1101114001.123456 host sshd[1]: x", NOW),
                         parseTimestamp("type=SYSCALL msg=audit(1101114001.123:1): x", NOW))
        for line in ("Nov 22 10:00:01.x host", "1101114001 host sshd[1]: x",
                     "Monday 2004-11-22 10:00:01 host"):
            self.assertIsNone(parseTimestamp(line, NOW), line)

    def test_audit(self):
        stamp = parseTimestamp("type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e",
                               NOW)
        self.assertEqual(len(stamp[0]), 10)
        self.assertEqual(len(stamp[1]), 8)

    def test_apache(self):
        self.assertEqual(parseTimestamp(
            '10.0.0.1 - - [22/Nov/2004:00:00:07 +0000] "GET / HTTP/1.1" 200 1', NOW),
            ("2004-11-22", "00:00:07"))
        self.assertIsNone(parseTimestamp('x [31/Feb/2004:00:00:07 +0000] "GET /"', NOW))

    def test_apacheError(self):
        """
        Apache's error log, 2.2's and 2.4's (with microseconds): its lines
        have their own time (they used to take the time they were read at,
        which put the correlation stage's event time ahead of the log's).
        """
        for line in ("[Sun Dec 01 00:00:01 2024] [error] [client 10.0.0.1] File does not exist",
                     "[Sun Dec 01 00:00:01.123456 2024] [core:error] [pid 1:tid 2] [client"
                     " 10.0.0.1:5] AH00126: Invalid URI in request",
                     "[Sun Dec  1 00:00:01 2024] [error] x"):
            self.assertEqual(parseTimestamp(line, NOW), ("2024-12-01", "00:00:01"), line)
        for line in ("[Sun Feb 30 00:00:01 2024] [error] x", "[Sun Foo 01 00:00:01 2024] x",
                     "[Sun Dec 01 24:00:01 2024] x", "[Sun Dec 01 00:00:01] x"):
            self.assertIsNone(parseTimestamp(line, NOW), line)

    def test_followTheLog(self):
        """
        With C{follow}, a syslog date's year is the one that puts it
        nearest the latest line that had a year (ISO 8601, Apache, audit);
        before such a line, C{now}'s, as without.
        """
        stamp = Timestamper(NOW, follow=True)
        self.assertEqual(stamp("Nov 22 10:00:01 host x"), ("2026-11-22", "10:00:01"))
        self.assertEqual(stamp('10.0.0.1 - - [21/Nov/2024:23:59:59 +0000] "GET / HTTP/1.1" 200 1'),
                         ("2024-11-21", "23:59:59"))
        self.assertEqual(stamp("Nov 22 10:00:01 host x"), ("2024-11-22", "10:00:01"))
        # Past the turn of the year in the log: the nearest year.
        stamp("2024-12-31T23:59:58+00:00 host x")
        self.assertEqual(stamp("Jan  1 00:00:01 host x"), ("2025-01-01", "00:00:01"))
        self.assertEqual(stamp("Dec 31 23:59:59 host x"), ("2024-12-31", "23:59:59"))
        self.assertEqual(stamp("Feb 29 10:00:00 host x"), ("2024-02-29", "10:00:00"))
        self.assertIsNone(stamp("Feb 30 10:00:00 host x"))
        # Without follow, now's year whatever the log says.
        plain = Timestamper(NOW)
        plain('10.0.0.1 - - [21/Nov/2024:23:59:59 +0000] "GET / HTTP/1.1" 200 1')
        self.assertEqual(plain("Nov 22 10:00:01 host x"), ("2026-11-22", "10:00:01"))

    def test_readYear(self):
        """
        L{Timestamper.readYear}: the lines before the first with a year
        are of its year too, once the reader looked ahead.
        """
        stamp = Timestamper(NOW, follow=True)
        lines = ["Nov 22 10:00:01 host x", "[Fri Nov 22 10:00:02 2024] [error] y"]
        stamp.readYear(lines)
        self.assertEqual([stamp(line) for line in lines],
                         [("2024-11-22", "10:00:01"), ("2024-11-22", "10:00:02")])

    @given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31)),
           st.integers(min_value=-150, max_value=150))
    def test_nearestYear(self, reference, days):
        """
        A syslog date within five months of the latest dated line is read
        in its own year, whichever side of a new year it is.
        """
        from datetime import timedelta

        when = reference + timedelta(days=days)
        stamp = Timestamper(NOW, follow=True)
        stamp(reference.strftime("%Y-%m-%dT%H:%M:%S host x"))
        line = when.strftime("%b %d %H:%M:%S host x")
        self.assertEqual(stamp(line), (when.date().isoformat(), when.strftime("%H:%M:%S")))

    def test_none(self):
        for line in ("", "hello", "Nov 99 10:00:00 x", "Foo 22 10:00:01 h", "2004-13-01T00:00:00",
                     "Nov 22 25:00:01 host x", "Feb 30 10:00:00 host x"):
            self.assertIsNone(parseTimestamp(line, NOW), line)

    def test_formatLineFallsBackToNow(self):
        self.assertEqual(formatLine("no time here", NOW),
                         ["2026-11-22", "12:00:00", "no time here", ""])

    @given(st.text(max_size=60))
    @example("Nov")
    @example("Nov 2")
    @example("Feb 30 10:00:00 h")
    def test_neverRaisesAndAlwaysValid(self, line):
        """
        Whatever the line, the record's date and time are what the server's
        decoder accepts.
        """
        record = formatLine(line, NOW)
        message = batch(1, "s", 1, {}, [record])
        LogFormatDecoder().decode("h", wire.checkBatch(message))


class DecoderTests(SynchronousTestCase):
    def test_records(self):
        host = {"hostname": "web01", "domain": "example.org", "ip": "10.0.0.5",
                "osystem": "Linux", "release": "6.1", "version": "#1 SMP"}
        records = LogFormatDecoder().decode("web01", wire.checkBatch(batch(
            7, "/var/log/messages", 100, host,
            [["2026-11-22", "10:00:00", "a", ""], ["2026-11-22", "10:00:01", "b", "sig"]])))
        self.assertEqual(records, [
            LogRecord("web01", "/var/log/messages", 100, "web01", "example.org", "10.0.0.5",
                      "Linux", "6.1", "#1 SMP", "2026-11-22", "10:00:00", "a", ""),
            LogRecord("web01", "/var/log/messages", 101, "web01", "example.org", "10.0.0.5",
                      "Linux", "6.1", "#1 SMP", "2026-11-22", "10:00:01", "b", "sig"),
        ])

    def test_batchIsASequenceOfRecords(self):
        """
        What the decoder returns is a L{LogBatch} over the message's own
        record lists, and reads as the list of L{LogRecord}s.
        """
        recs = [["2026-11-22", "10:00:%02d" % i, "line %d" % i, ""] for i in range(5)]
        message = batch(7, "s", 100, {"hostname": "h"}, recs)
        decoded = LogFormatDecoder().decode("web01", wire.checkBatch(message))
        self.assertIsInstance(decoded, LogBatch)
        self.assertIs(decoded.recs, recs)
        expected = [LogRecord("web01", "s", 100 + i, "h", "", "", "", "", "", *rec)
                    for i, rec in enumerate(recs)]
        self.assertEqual(len(decoded), 5)
        self.assertEqual(list(decoded), expected)
        self.assertEqual(decoded[1], expected[1])
        self.assertEqual(decoded[-1], expected[-1])
        self.assertEqual(decoded[1:3], expected[1:3])
        self.assertRaises(IndexError, decoded.__getitem__, 5)
        self.assertEqual(LogFormatDecoder().recover("web01", message), expected)

    def test_skippedNumbers(self):
        """
        A batch whose sender dropped lines carries C{seqs}; the records keep
        those numbers, through L{LogBatch} and through C{recover}.
        """
        recs = [["2026-11-22", "10:00:00", f"line {n}", ""] for n in (5, 7, 8)]
        message = batch(1, "s", 5, {"hostname": "h"}, recs, seqs=[5, 7, 8])
        for decoded in (LogFormatDecoder().decode("web01", wire.checkBatch(message)),
                        LogFormatDecoder().recover("web01", message)):
            self.assertEqual([r.seq for r in decoded], [5, 7, 8])
            self.assertEqual(decoded[1].logline, "line 7")
        for seqs in ([5, 7], [6, 7, 8], [5, 5, 8], [5, 8, 7], [5, "7", 8], "5,7,8",
                     [5, 7, 2 ** 63]):
            e = self.assertRaises(ProtocolError, decodeChecked, LogFormatDecoder(), "h",
                                  batch(1, "s", 5, {"hostname": "h"}, recs, seqs=seqs))
            self.assertIn("'seqs' must be 3 increasing integers", str(e))

    def test_badHost(self):
        for host in (None, [], {"hostname": 5}, {"hostname": "x" * 256}):
            self.assertRaises(ProtocolError, decodeChecked, LogFormatDecoder(), "h",
                              batch(1, "s", 1, host, [["2026-11-22", "10:00:00", "a", ""]]))


class BatchingTests(SynchronousTestCase):
    def test_logBatchesSequenceAndLimits(self):
        lines = [b"line %d\n" % i for i in range(1, 26)]
        result = ShipResult()
        batches = list(logBatches(lines, NOW, 65536, result, maxRecords=10))
        self.assertEqual([(seq, len(recs)) for seq, recs in batches], [(1, 10), (11, 10), (21, 5)])
        self.assertEqual(batches[1][1][0][2], "line 11")

    def test_crlfAndInvalidUTF8(self):
        result = ShipResult()
        [(_, recs)] = logBatches([b"caf\xc3\xa9\r\n", b"bad \xff byte\n", b"last"], NOW, 65536,
                                 result)
        self.assertEqual([r[2] for r in recs], ["café", "bad \\xff byte", "last"])
        self.assertEqual(decodeLogBytes(b"\xfe"), "\\xfe")

    def test_overlongLineTruncatedAndCounted(self):
        result = ShipResult()
        [(_, recs)] = logBatches([b"x" * 5000 + b"\n", b"short\n"], NOW, 1000, result)
        self.assertEqual(result.truncated, 1)
        self.assertLessEqual(len(recs[0][2].encode()), 1000)
        self.assertIn("line truncated, 4064 bytes dropped", recs[0][2])
        self.assertEqual(recs[1][2], "short")

    def test_idmefBatches(self):
        data = (b'<?xml version="1.0"?>\n<IDMEF-Message><Alert/></IDMEF-Message>\n'
                b'<idmef:IDMEF-Message xmlns:idmef="x"><idmef:Alert/></idmef:IDMEF-Message >\n')
        [(seq, recs)] = idmefBatches(data)
        self.assertEqual(seq, 1)
        self.assertEqual(len(recs), 2)
        self.assertTrue(recs[0].startswith("<?xml"))
        self.assertRaises(ValueError, list, idmefBatches(data + b"<IDMEF-Message>"))
