"""
Tests for L{mice.reactors.syslogformat}: any alert is exactly one
well-framed syslog line, read back with its key.
"""

import time

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.reactors import syslogformat
from mice.reactors.syslogformat import (
    CRIT,
    FIELDS,
    INFO,
    NOTICE,
    WARNING,
    alertFields,
    escape,
    formatAlert,
    formatAlerts,
    frame,
    parseAlertLine,
    parseTarget,
    unescape,
)
from tests.unit.reactors import HOSTILE, ROUTED, TEXT, routed
from tests.unit.test_purity import reach

NOW = 1795000000.25  # 2026-11-18T11:06:40.25Z

#: Bytes no line may hold: C0 controls and DEL (a newline or a NUL would
#: break the framing, an escape sequence the terminal of whoever reads it).
CONTROL = set(range(0x20)) | {0x7F}


def assertOneLine(testCase, line, maxLength):
    testCase.assertIsInstance(line, bytes)
    testCase.assertEqual([byte for byte in line if byte in CONTROL], [])
    text = line.decode("utf-8")
    testCase.assertEqual(len(text.splitlines()), 1)
    testCase.assertLessEqual(len(line), maxLength)


class EscapeTests(SynchronousTestCase):
    def test_plain(self):
        self.assertEqual(escape("root from 192.0.2.7"), "root from 192.0.2.7")
        self.assertEqual(escape("Müller 中文"), "Müller 中文")

    def test_special(self):
        self.assertEqual(escape('a"b\\c\nd\re\x00\x1b[0m\x7f'),
                         'a\\"b\\\\c\\x0ad\\x0de\\x00\\x1b[0m\\x7f')
        self.assertEqual(escape("\x85\u2028\u2029\u202e\u200b\ufeff\U000e0001\udc80"),
                         "\\x85\\u2028\\u2029\\u202e\\u200b\\ufeff\\U000e0001\\udc80")

    @given(TEXT | HOSTILE)
    def test_roundTrip(self, text):
        escaped = escape(text)
        self.assertEqual(unescape(escaped), text)
        self.assertEqual(len(escaped.splitlines()), 1 if escaped else 0)
        self.assertNotIn('"', escaped.replace('\\"', "").replace("\\\\", ""))


class FormatTests(SynchronousTestCase):
    def test_rfc3164Local(self):
        """
        To the local socket: no HOSTNAME (the daemon adds its own), the tag
        with the pid, every field named.
        """
        line = formatAlert(routed(7), "rfc3164", 4, "idmef", NOW, hostname=None, tag="mice",
                           procid=321)
        stamp = syslogformat.rfc3164Timestamp(NOW)
        self.assertEqual(line.decode(), (
            f'<34>{stamp} mice[321]: alert key="web01/0/7/0" id="7" aid="0x1020"'
            ' severity="high" desc="Authentication failed" class="RT_AUTH_F"'
            ' src="192.0.2.7" srcuser="mallory" dst="10.0.0.1" dstuser="root"'
            ' analyzer="MICE-RegEx" analyzerhost="aa01" from="aa01"'
            ' created="2026-11-22T10:00:01+00:00"'))

    def test_rfc3164Timestamp(self):
        t = time.localtime(NOW)
        self.assertRegex(syslogformat.rfc3164Timestamp(NOW),
                         r"\A(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d"
                         r" \d\d:\d\d:\d\d\Z")
        self.assertTrue(syslogformat.rfc3164Timestamp(NOW).endswith(
            "%02d:%02d:%02d" % (t.tm_hour, t.tm_min, t.tm_sec)))

    def test_rfc5424(self):
        line = formatAlert(routed(7), "rfc5424", 16, WARNING, NOW, hostname="mh01",
                           tag="mice", procid=321)
        self.assertTrue(line.startswith(
            b'<132>1 2026-11-18T11:06:40.250000Z mh01 mice 321 alert - alert'
            b' key="web01/0/7/0" id="7" '), line)
        pri, fields = parseAlertLine(line)
        self.assertEqual(pri, 132)
        self.assertEqual(fields, dict(alertFields(routed(7))))

    def test_severityFromIdmef(self):
        for severity, expected in (("high", CRIT), ("medium", WARNING), ("low", NOTICE),
                                   ("info", INFO)):
            line = formatAlert(routed(1, severity=severity), "rfc3164", 4, "idmef", NOW)
            self.assertEqual(parseAlertLine(line)[0], 4 * 8 + expected)

    def test_fixedSeverity(self):
        line = formatAlert(routed(1, severity="info"), "rfc5424", 10, 1, NOW)
        self.assertEqual(parseAlertLine(line)[0], 10 * 8 + 1)

    def test_missingFieldsLeftOut(self):
        line = formatAlert(routed(1, sources=(), targets=(), alertId=None, analyzerHost=None),
                           "rfc3164", 4, "idmef", NOW)
        fields = parseAlertLine(line)[1]
        for name in ("src", "srcuser", "dst", "dstuser", "aid", "analyzerhost"):
            self.assertNotIn(name, fields)

    def test_hostile(self):
        """
        Newlines, NULs, terminal escapes, separators, bidi overrides and a
        forged field in every field stay inside their quotes, on one line.
        """
        evil = 'x\n<13>Nov 22 10:00:00 forged: root login\r\x00\x1b[2J\u2028\u202e" key="forged'
        hostile = routed(1, key="real\nkey", description=evil, classification=evil,
                         analyzerId=evil, messageId=evil, analyzerHost=evil)
        for fmt in ("rfc3164", "rfc5424"):
            line = formatAlert(hostile, fmt, 4, "idmef", NOW, hostname="mh", maxLength=65000)
            assertOneLine(self, line, 65000)
            fields = parseAlertLine(line)[1]
            self.assertEqual(fields["key"], "real\nkey")
            self.assertEqual(fields["desc"], evil)
            self.assertEqual(fields["class"], evil)

    def test_longValuesCut(self):
        """
        A value longer than FIELD_CHARS is cut saying how much; a line that
        is still too long loses its last fields, never its key.
        """
        long = "A" * 100000
        hostile = routed(1, description=long, classification="\n" * 5000)
        line = formatAlert(hostile, "rfc3164", 4, "idmef", NOW, maxLength=2048)
        assertOneLine(self, line, 2048)
        fields = parseAlertLine(line)[1]
        self.assertEqual(fields["key"], "web01/0/1/0")
        self.assertEqual(fields["desc"],
                         "A" * syslogformat.FIELD_CHARS + f" [... {100000 - 512} more]")
        self.assertTrue(fields["class"].endswith(" [... cut]"), fields["class"])
        self.assertNotIn("created", fields)
        small = formatAlert(hostile, "rfc5424", 4, "idmef", NOW, hostname="h", maxLength=480)
        assertOneLine(self, small, 480)
        self.assertEqual(parseAlertLine(small)[1]["key"], "web01/0/1/0")

    def test_cutNeverSplitsAnEscape(self):
        for filler in range(0, 12):
            hostile = routed(1, description="d" * filler + "\n" * 2000)
            line = formatAlert(hostile, "rfc3164", 4, "idmef", NOW, maxLength=600)
            assertOneLine(self, line, 600)
            desc = parseAlertLine(line)[1]["desc"]
            self.assertTrue(desc.endswith(" [... cut]"))
            self.assertEqual(set(desc[filler:-len(" [... cut]")]), {"\n"})

    @given(ROUTED, st.sampled_from(["rfc3164", "rfc5424"]), st.integers(480, 9000),
           st.sampled_from([None, "mh01"]))
    def test_anyAlertIsOneLine(self, alert, fmt, maxLength, hostname):
        """
        Any alert: exactly one line of at most maxLength bytes, no control
        byte in it, read back with its key; every field read back is the
        alert's, whole or visibly cut.
        """
        line = formatAlert(alert, fmt, 4, "idmef", NOW, hostname=hostname, procid=9,
                           maxLength=maxLength)
        assertOneLine(self, line, maxLength)
        pri, fields = parseAlertLine(line)
        self.assertEqual(fields["key"], alert.key)
        expected = dict(alertFields(alert))
        self.assertEqual([name for name in FIELDS if name in fields],
                         [name for name in FIELDS if name in expected][:len(fields)])
        for name, value in fields.items():
            whole = expected[name]
            if name != "key" and len(whole) > syslogformat.FIELD_CHARS:
                whole = (f"{whole[:syslogformat.FIELD_CHARS]}"
                         f" [... {len(whole) - syslogformat.FIELD_CHARS} more]")
            if value != whole:
                self.assertTrue(value.endswith(" [... cut]"), (name, value))
                self.assertTrue(whole.startswith(value[:-len(" [... cut]")]), (name, value))


    @given(st.lists(ROUTED, min_size=1, max_size=4), st.sampled_from(["rfc3164", "rfc5424"]),
           st.integers(480, 9000), st.sampled_from(["idmef", CRIT]))
    def test_batchIsEachLine(self, alerts, fmt, maxLength, severity):
        """
        L{formatAlerts} (reaction 1's batches, a header per severity) gives
        exactly the lines L{formatAlert} gives one by one.
        """
        self.assertEqual(
            formatAlerts(alerts, fmt, 4, severity, NOW, hostname="mh01", procid=9,
                         maxLength=maxLength),
            [formatAlert(alert, fmt, 4, severity, NOW, hostname="mh01", procid=9,
                         maxLength=maxLength) for alert in alerts])

    def test_fitsExactly(self):
        """
        A line of exactly C{maxLength} bytes is whole; one byte less cuts
        its last field.
        """
        whole = formatAlert(routed(1), "rfc5424", 4, CRIT, NOW)
        self.assertEqual(formatAlert(routed(1), "rfc5424", 4, CRIT, NOW,
                                     maxLength=len(whole)), whole)
        shorter = formatAlert(routed(1), "rfc5424", 4, CRIT, NOW, maxLength=len(whole) - 1)
        self.assertLess(len(shorter), len(whole))
        self.assertEqual(parseAlertLine(shorter)[1]["key"], parseAlertLine(whole)[1]["key"])


class FrameTests(SynchronousTestCase):
    def test_datagrams(self):
        self.assertEqual(frame(b"<34>x", "unix"), b"<34>x")
        self.assertEqual(frame(b"<34>x", "udp", "newline"), b"<34>x")

    def test_tcp(self):
        self.assertEqual(frame(b"<34>x y", "tcp"), b"7 <34>x y")
        self.assertEqual(frame(b"<34>x y", "tcp", "newline"), b"<34>x y\n")

    def test_parseTarget(self):
        self.assertEqual(parseTarget("tcp:127.0.0.1:6514"), ("tcp", ("127.0.0.1", 6514)))
        self.assertEqual(parseTarget("tcp:[::1]:514"), ("tcp", ("::1", 514)))
        self.assertEqual(parseTarget("unix:/dev/log"), ("unix", "/dev/log"))
        self.assertRaises(ValueError, parseTarget, "tcp:1.2.3.4:514", kinds=("udp", "unix"))
        for bad in ("tls:x:1", "tcp:host", "udp:host:0", "unix:"):
            self.assertRaises(ValueError, parseTarget, bad)

    def test_notAnAlertLine(self):
        for bad in (b"", b"<34>Nov 22 10:00:01 sshd: Accepted", b'<34>1 - - - - - - alert',
                    b'<34>Nov 22 10:00:01 mice: alert id="1"',
                    b'<34>Nov 22 10:00:01 mice: alert key="1" junk'):
            self.assertRaises(ValueError, parseAlertLine, bad)


class PurityTests(SynchronousTestCase):
    def test_pure(self):
        for module in ("mice.reactors.syslogformat", "mice.reactors.framing"):
            _, outside = reach(module)
            self.assertEqual([name for name, _, _ in outside if name.startswith("twisted")], [],
                             module)
