# -*- test-case-name: tests.unit.test_idmef -*-
"""
Tests for L{mice.idmef} (the hostile documents that must fetch nothing from a
listening socket: C{tests.integration.test_idmef}).
"""

import dataclasses
import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from mice import idmef
from mice.alerts import SEVERITIES, Alert, Correlation, Node
from mice.idmef import IdmefError, fromXml, ntpStamp, toXml, validate, xmlSafe
from tests import ROOT

#: A DTD written for these tests: the RFC 4765 content models of the
#: elements M-ICE writes (element order, required children, enumerated
#: attributes).  It is not the RFC's DTD text, which this repository does not
#: ship (see docs/idmef.rst).
TEST_DTD = """\
<!ENTITY % global "xml:space (default | preserve) 'default' xml:lang NMTOKEN #IMPLIED">
<!ELEMENT IDMEF-Message (Alert | Heartbeat)*>
<!ATTLIST IDMEF-Message version CDATA #FIXED '1.0'
                        xmlns CDATA #FIXED 'http://iana.org/idmef' %global;>
<!ELEMENT Heartbeat (Analyzer, CreateTime, AdditionalData*)>
<!ELEMENT Alert (Analyzer, CreateTime, DetectTime?, AnalyzerTime?, Source*, Target*,
                 Classification, Assessment?, AdditionalData*)>
<!ATTLIST Alert messageid CDATA '0'>
<!ELEMENT Analyzer (Node?, Process?, Analyzer?)>
<!ATTLIST Analyzer analyzerid CDATA '0' name CDATA #IMPLIED manufacturer CDATA #IMPLIED
                   model CDATA #IMPLIED version CDATA #IMPLIED class CDATA #IMPLIED
                   ostype CDATA #IMPLIED osversion CDATA #IMPLIED>
<!ELEMENT CreateTime (#PCDATA)>
<!ATTLIST CreateTime ntpstamp CDATA #REQUIRED>
<!ELEMENT DetectTime (#PCDATA)>
<!ATTLIST DetectTime ntpstamp CDATA #REQUIRED>
<!ELEMENT AnalyzerTime (#PCDATA)>
<!ATTLIST AnalyzerTime ntpstamp CDATA #REQUIRED>
<!ELEMENT Source (Node?, User?, Process?, Service?)>
<!ATTLIST Source ident CDATA '0' spoofed (unknown | yes | no) 'unknown' interface CDATA #IMPLIED>
<!ELEMENT Target (Node?, User?, Process?, Service?)>
<!ATTLIST Target ident CDATA '0' decoy (unknown | yes | no) 'unknown' interface CDATA #IMPLIED>
<!ELEMENT Node (location?, (name | Address), Address*)>
<!ATTLIST Node ident CDATA '0' category CDATA 'unknown'>
<!ELEMENT Address (address, netmask?)>
<!ATTLIST Address ident CDATA '0'
  category (unknown | atm | e-mail | lotus-notes | mac | sna | vm | ipv4-addr | ipv4-addr-hex |
            ipv4-net | ipv4-net-mask | ipv6-addr | ipv6-addr-hex | ipv6-net | ipv6-net-mask)
           'unknown'>
<!ELEMENT User (UserId+)>
<!ATTLIST User ident CDATA '0' category (unknown | application | os-device) 'unknown'>
<!ELEMENT UserId ((name, number?) | (number, name?))>
<!ATTLIST UserId ident CDATA '0'
  type (current-user | original-user | target-user | user-privs | current-group |
        group-privs | other-privs) 'original-user'>
<!ELEMENT Process (name, pid?)>
<!ATTLIST Process ident CDATA '0'>
<!ELEMENT Service ((name, port?) | (port, name?))>
<!ATTLIST Service ident CDATA '0' ip_version CDATA #IMPLIED
                  iana_protocol_number CDATA #IMPLIED iana_protocol_name CDATA #IMPLIED>
<!ELEMENT Classification (Reference*)>
<!ATTLIST Classification ident CDATA '0' text CDATA #REQUIRED>
<!ELEMENT Reference (name, url)>
<!ATTLIST Reference
  origin (unknown | vendor-specific | user-specific | bugtraqid | cve | osvdb) 'unknown'
  meaning CDATA #IMPLIED>
<!ELEMENT Assessment (Impact?)>
<!ELEMENT Impact (#PCDATA)>
<!ATTLIST Impact severity (info | low | medium | high) #IMPLIED
                 completion (failed | succeeded) #IMPLIED
                 type (admin | dos | file | recon | user | other) 'other'>
<!ELEMENT AdditionalData ANY>
<!ATTLIST AdditionalData
  type (boolean | byte | character | date-time | integer | ntpstamp | portlist | real |
        string | xml) 'string'
  meaning CDATA #IMPLIED>
<!ELEMENT string (#PCDATA)>
<!ELEMENT location (#PCDATA)>
<!ELEMENT name (#PCDATA)>
<!ELEMENT address (#PCDATA)>
<!ELEMENT netmask (#PCDATA)>
<!ELEMENT number (#PCDATA)>
<!ELEMENT pid (#PCDATA)>
<!ELEMENT port (#PCDATA)>
<!ELEMENT url (#PCDATA)>
"""

LOG_LINE = ("Nov 22 10:00:00 web01 sshd[1234]: Failed password for root "
            "from 192.0.2.7 port 4711 ssh2")

SSH_ALERT = Alert(
    messageId="42", analyzerId="MICE-RegEx", createTime="2004-11-22T10:00:01.250000+01:00",
    classification="Authentication failure", alertId=0x1020,
    detectTime="2004-11-22T10:00:00+01:00", severity="high",
    sources=(Node(address="192.0.2.7", port=4711, protocol="tcp"),),
    targets=(Node(hostname="web01", address="2001:db8::1", port=22, protocol="tcp",
                  service="ssh", user="root", uid=0, process="sshd", pid=1234),),
    analyzerHost="aa.example.org",
    additionalData=(("log line", LOG_LINE), ("origin", "web01 /var/log/messages 17"),
                    ("rule", "AUTH AuF")))


def writeDtd(testCase):
    path = testCase.mktemp() + ".dtd"
    with open(path, "w") as f:
        f.write(TEST_DTD)
    return path


def strictParse(data):
    """Parse with a plain (non-recovering) lxml parser: well-formed or raise."""
    return etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))


# -- round trips ----------------------------------------------------------

#: Text of every kind, weighted towards what breaks XML: controls, lone
#: surrogates, U+FFFE/U+FFFF, markup, CR (which parsers turn into LF unless
#: it is escaped), and the escape notation itself.
NASTY = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85", "\r", "\n", "\t", "\r\n",
                         "\ud800", "\udfff", "\ufffe", "\uffff", "\U0001f600", "&", "<", ">",
                         "]]>", '"', "'", "&amp;", "\\x1b", " ", "\u2028"])
TEXT = st.lists(st.one_of(st.characters(exclude_categories=()), NASTY), max_size=12).map("".join)
OPTIONAL_TEXT = st.none() | TEXT
NUMBER = st.none() | st.integers(0, 2 ** 32 - 1)

NODES = st.builds(
    Node, address=st.none() | st.sampled_from(["192.0.2.7", "10.0.0.1", "2001:db8::1"]) | TEXT,
    hostname=OPTIONAL_TEXT, port=st.none() | st.integers(0, 65535), protocol=OPTIONAL_TEXT,
    user=OPTIONAL_TEXT, uid=NUMBER, process=OPTIONAL_TEXT, pid=NUMBER, service=OPTIONAL_TEXT)

ZONES = st.none() | st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
TIMES = st.builds(lambda when, zone: when.replace(tzinfo=zone).isoformat(),
                  st.datetimes(min_value=datetime(1000, 1, 1)), ZONES)

ALERTS = st.builds(
    Alert, messageId=TEXT.filter(bool), analyzerId=TEXT.filter(bool), createTime=TIMES,
    classification=TEXT, alertId=st.none() | st.integers(0, 0xFFFF),
    detectTime=st.none() | TIMES, severity=st.sampled_from(SEVERITIES),
    sources=st.lists(NODES, max_size=3).map(tuple), targets=st.lists(NODES, max_size=3).map(tuple),
    analyzerHost=OPTIONAL_TEXT,
    additionalData=st.lists(st.tuples(TEXT, TEXT), max_size=4).map(tuple))


def _known(text):
    """What an optional text reads back as: escaped, and C{""} is unknown."""
    return xmlSafe(text) if text else None


def expected(alert):
    """
    What L{fromXml} of L{toXml} of C{alert} must give: the same alert with
    L{xmlSafe} applied to its text and empty optional text as C{None}.
    """
    def node(n):
        return Node(address=_known(n.address), hostname=_known(n.hostname), port=n.port,
                    protocol=_known(n.protocol), user=_known(n.user), uid=n.uid,
                    process=_known(n.process), pid=n.pid, service=_known(n.service))

    return dataclasses.replace(
        alert, messageId=xmlSafe(alert.messageId), analyzerId=xmlSafe(alert.analyzerId),
        classification=xmlSafe(alert.classification), detectTime=alert.detectTime or None,
        sources=tuple(map(node, alert.sources)), targets=tuple(map(node, alert.targets)),
        analyzerHost=_known(alert.analyzerHost),
        additionalData=tuple((xmlSafe(m), xmlSafe(v)) for m, v in alert.additionalData))


class RoundTripTests(SynchronousTestCase):
    def setUp(self):
        self.dtd = writeDtd(self)

    def test_sshAlert(self):
        """
        A realistic alert comes back exactly, with the M-ICE alert ID from
        its Reference.
        """
        data = toXml(SSH_ALERT)
        self.assertTrue(data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"))
        self.assertEqual(fromXml(data), [SSH_ALERT])

    def test_structure(self):
        """
        The document is RFC 4765 IDMEF: namespace, version, Analyzer, times
        with ntpstamps, address categories, the alert ID Reference, severity
        and AdditionalData with a string child.
        """
        root = strictParse(toXml(SSH_ALERT))
        ns = {"i": idmef.IDMEF_NS}
        self.assertEqual(root.tag, "{http://iana.org/idmef}IDMEF-Message")
        self.assertEqual(root.get("version"), "1.0")
        (alert,) = root.findall("i:Alert", ns)
        self.assertEqual(alert.get("messageid"), "42")
        analyzer = alert.find("i:Analyzer", ns)
        self.assertEqual((analyzer.get("analyzerid"), analyzer.get("name"), analyzer.get("model")),
                         ("MICE-RegEx", "M-ICE", "M-ICE"))
        self.assertEqual(analyzer.findtext("i:Node/i:name", namespaces=ns), "aa.example.org")
        create = alert.find("i:CreateTime", ns)
        self.assertEqual(create.text, "2004-11-22T10:00:01.250000+01:00")
        self.assertEqual(create.get("ntpstamp"), "0xc54c2911.0x40000000")
        self.assertEqual(alert.find("i:DetectTime", ns).get("ntpstamp"), "0xc54c2910.0x00000000")
        self.assertEqual(alert.find("i:Source/i:Node/i:Address", ns).get("category"), "ipv4-addr")
        self.assertEqual(alert.find("i:Target/i:Node/i:Address", ns).get("category"), "ipv6-addr")
        self.assertEqual(alert.find("i:Target/i:Service", ns).get("iana_protocol_name"), "tcp")
        self.assertEqual(alert.findtext("i:Target/i:User/i:UserId/i:name", namespaces=ns), "root")
        self.assertEqual(alert.findtext("i:Target/i:Process/i:pid", namespaces=ns), "1234")
        classification = alert.find("i:Classification", ns)
        self.assertEqual(classification.get("text"), "Authentication failure")
        reference = classification.find("i:Reference", ns)
        self.assertEqual((reference.get("origin"), reference.get("meaning"),
                          reference.findtext("i:name", namespaces=ns)),
                         ("vendor-specific", "M-ICE alert ID", "0x1020"))
        self.assertEqual(alert.find("i:Assessment/i:Impact", ns).get("severity"), "high")
        data = alert.findall("i:AdditionalData", ns)
        self.assertEqual([(d.get("type"), d.get("meaning"), d.findtext("i:string", namespaces=ns))
                          for d in data], [("string", m, v) for m, v in SSH_ALERT.additionalData])

    @given(ALERTS)
    def test_roundTrip(self, alert):
        """
        Any alert, with any unicode in every text field, is written as
        well-formed XML valid against the DTD, carries correct ntpstamps,
        and reads back as L{expected} says.
        """
        data = toXml(alert)
        root = strictParse(data)
        self.assertEqual(fromXml(data), [expected(alert)])
        self.assertEqual(validate(data, self.dtd), [])
        for element in root.iter("{*}CreateTime", "{*}DetectTime"):
            when = datetime.fromisoformat(element.text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds, fraction = (int(part, 16) for part in element.get("ntpstamp").split("."))
            since = when - datetime(1900, 1, 1, tzinfo=UTC)
            self.assertEqual(seconds, (since.days * 86400 + since.seconds) % 2 ** 32)
            self.assertAlmostEqual(fraction / 2 ** 32, since.microseconds / 1e6, delta=1e-6)

    def test_strOrBytes(self):
        """
        A document may come as text (the wire carries str records).
        """
        self.assertEqual(fromXml(toXml(SSH_ALERT).decode("utf-8")), [SSH_ALERT])
        self.assertEqual(fromXml(bytearray(toXml(SSH_ALERT))), [SSH_ALERT])


# -- the writer against lxml -----------------------------------------------

#: Long text: a short text repeated, up to a few kB (log lines, payloads).
LONG_TEXT = st.builds(lambda text, times: text * times, TEXT.filter(bool), st.integers(1, 400))
#: Log lines as agents see them: a syslog or CLF start, then anything.
LINES = st.builds(lambda head, body: head + body,
                  st.sampled_from(["", "Nov 22 10:00:00 web01 sshd[1234]: ", "<34>", "]]>",
                                   '192.0.2.7 - - [22/Nov/2004:10:00:00 +0100] "GET /']),
                  TEXT | LONG_TEXT)
ANY_TEXT = TEXT | LONG_TEXT | LINES
#: Values that are not text where text belongs: written with C{str()}.
NOT_TEXT = st.integers() | st.booleans() | st.floats(allow_nan=False)
LOOSE_TEXT = st.none() | ANY_TEXT | NOT_TEXT

WRITER_NODES = st.builds(
    Node, address=st.none() | st.sampled_from(["192.0.2.7", "10.0.0.1", "2001:db8::1", "::ffff:1.2.3.4",
                                               "300.1.1.1", ""]) | ANY_TEXT | st.integers(0, 2 ** 32),
    hostname=LOOSE_TEXT, port=st.none() | st.integers(0, 65535) | st.booleans(),
    protocol=st.none() | st.sampled_from(sorted(idmef.PROTOCOL_NUMBERS) + ["TCP", "Udp", ""])
    | ANY_TEXT,
    user=LOOSE_TEXT, uid=NUMBER | st.booleans(), process=LOOSE_TEXT, pid=NUMBER,
    service=LOOSE_TEXT)

#: Alerts with every optional part present or absent, any text (long,
#: hostile, not text at all) in every field that takes text.
WRITER_ALERTS = st.builds(
    Alert, messageId=(ANY_TEXT | NOT_TEXT).filter(lambda v: v != ""),
    analyzerId=(ANY_TEXT | st.integers()).filter(lambda v: v != ""), createTime=TIMES,
    classification=st.none() | ANY_TEXT, alertId=st.none() | st.integers(0, 0xFFFFF),
    detectTime=st.none() | st.just("") | TIMES, severity=st.sampled_from(SEVERITIES),
    sources=st.lists(WRITER_NODES, max_size=3).map(tuple),
    targets=st.lists(WRITER_NODES, max_size=3).map(tuple),
    analyzerHost=LOOSE_TEXT,
    additionalData=st.lists(st.tuples(ANY_TEXT | NOT_TEXT, ANY_TEXT | NOT_TEXT),
                            max_size=5).map(tuple))

#: Alerts L{toXml} must refuse, or fail on, as L{toElement} does: a valid
#: alert with one to three parts damaged (a missing identity, a time that is
#: not one, an unknown severity, numbers that are not, a protocol that is
#: not text, an address that cannot be looked up, an alert ID that is not a
#: number, an AdditionalData that is not a pair).
BAD_TIMES = st.sampled_from([None, "", "soon", "2004-13-01T00:00:00", 17, b"2004-11-22"])
BAD_NODES = st.builds(
    Node, address=st.none() | TEXT | st.just(["192.0.2.7"]), hostname=OPTIONAL_TEXT,
    port=st.none() | st.integers(0, 65535) | st.sampled_from(["22", "ssh", " 7 ", "\u0663"]),
    protocol=st.none() | TEXT | st.integers(0, 255), user=OPTIONAL_TEXT,
    uid=NUMBER | st.sampled_from(["0", "x", ""]), process=OPTIONAL_TEXT,
    pid=NUMBER | st.sampled_from(["12", "pid", 1.5]), service=OPTIONAL_TEXT)
#: The first checks first fail most, so they come last (Hypothesis
#: favours the first branches).
DAMAGE = st.one_of(
    st.tuples(st.sampled_from(["sources", "targets"]),
              st.lists(BAD_NODES, min_size=1, max_size=2).map(tuple)),
    st.tuples(st.just("additionalData"), st.just((("a meaning only",),))),
    st.tuples(st.just("alertId"), st.sampled_from(["0x1020", 1.5, -1])),
    st.tuples(st.sampled_from(["createTime", "detectTime"]), BAD_TIMES),
    st.tuples(st.just("severity"), st.sampled_from(["critical", "HIGH", "", None])),
    st.tuples(st.sampled_from(["messageId", "analyzerId"]), st.sampled_from([None, ""])))
BROKEN_ALERTS = st.builds(lambda alert, damage: dataclasses.replace(alert, **dict(damage)),
                          ALERTS, st.lists(DAMAGE, min_size=1, max_size=3))


def outcome(write, alert):
    """What C{write(alert)} gives: its bytes, or the type and text of what it raised."""
    try:
        return write(alert)
    except Exception as e:
        return type(e), str(e)


class WriterTests(SynchronousTestCase):
    """
    L{toXml} writes its documents as text; they must be the bytes lxml
    writes for L{idmef.toElement}'s tree (L{idmef._toXmlLxml}), and fail
    the same way.
    """

    def assertSameBytes(self, alert):
        self.assertEqual(toXml(alert), idmef._toXmlLxml(alert))

    def test_sshAlert(self):
        self.assertSameBytes(SSH_ALERT)
        self.assertSameBytes(Alert("1", "a", "2004-11-22T10:00:01Z", ""))

    @given(WRITER_ALERTS)
    def test_sameBytesAsLxml(self, alert):
        """
        Any alert: every optional part present or absent, unicode, markup,
        controls, lone surrogates, CDATA ends, long values, numbers where
        text belongs.
        """
        self.assertSameBytes(alert)

    @given(ALERTS)
    def test_sameBytesAndRoundTrip(self, alert):
        """
        The round-trip test's alerts: the same bytes, and they read back as
        they did when lxml wrote them.
        """
        data = toXml(alert)
        self.assertEqual(data, idmef._toXmlLxml(alert))
        self.assertEqual(fromXml(data), [expected(alert)])

    @given(BROKEN_ALERTS)
    def test_sameFailures(self, alert):
        """
        An alert that cannot be written fails with the same exception and
        message (the checks run in the same order); one that can is written
        the same.
        """
        self.assertEqual(outcome(toXml, alert), outcome(idmef._toXmlLxml, alert))

    def test_everyCodePoint(self):
        """
        Every code point, U+0000 to U+10FFFF (lone surrogates included), in
        element content and in attribute values, is written as lxml writes
        it: in long runs, and each on its own.

        On its own, so that a character the writer's quick check misses
        cannot hide behind another that sends the run through escaping.
        Every character the writer changes is in the BMP, so each of the
        BMP's is tested alone; a change lxml made beyond it would show in
        the runs.
        """
        step = 0x4000
        for start in range(0, 0x110000, step):
            text = "".join(map(chr, range(start, min(start + step, 0x110000))))
            self.assertSameBytes(dataclasses.replace(
                SSH_ALERT, messageId=text, classification=text, analyzerHost=text,
                sources=(Node(hostname=text, protocol=text),), additionalData=((text, text),)))
        for start in range(0, 0x10000, step):
            self.assertSameBytes(dataclasses.replace(SSH_ALERT, additionalData=tuple(
                (chr(code), chr(code)) for code in range(start, start + step))))

    def test_whatIsEscaped(self):
        """
        Markup and the characters a parser would normalize are escaped, in
        content and in attributes as lxml does; nothing else is, and what
        XML cannot carry is written as by L{xmlSafe}.
        """
        text = "<&>\"'\t\n\r]]> é\x00\ud800"
        document = toXml(dataclasses.replace(SSH_ALERT, additionalData=((text, text),)))
        self.assertIn('<AdditionalData type="string" meaning="&lt;&amp;&gt;&quot;\'&#9;&#10;&#13;'
                      ']]&gt; é\\x00\\ud800"><string>&lt;&amp;&gt;"\'\t\n&#13;]]&gt; é'
                      "\\x00\\ud800</string></AdditionalData>", document.decode("utf-8"))

    def test_timesRemembered(self):
        """
        The ntpstamp of a time seen before is the one computed for it; a
        time that is not text is never remembered.
        """
        first = toXml(SSH_ALERT)
        self.assertEqual(idmef._stamps[SSH_ALERT.createTime], ntpStamp(SSH_ALERT.createTime))
        self.assertEqual(toXml(SSH_ALERT), first)
        self.assertRaises(IdmefError, toXml, dataclasses.replace(SSH_ALERT, detectTime=12))
        self.assertNotIn(12, idmef._stamps)


class TextTests(SynchronousTestCase):
    def test_xmlSafe(self):
        """
        Characters XML 1.0 cannot carry are escaped; all others stay.
        """
        self.assertEqual(xmlSafe("a\x00b\x1b[0m\ud800\ufffe\uffff"),
                         "a\\x00b\\x1b[0m\\ud800\\ufffe\\uffff")
        kept = "tab\tLF\nCR\r \x7f\x85 é 😀 <&>\"' \ue000\ufffd"
        self.assertIs(xmlSafe(kept), kept)

    def test_controlCharactersInALogLine(self):
        """
        A log line with terminal escapes and a NUL (an attacker's payload)
        still makes valid XML, and shows what was there.
        """
        line = "GET /\x00\x1b]2;pwned\x07 HTTP/1.0\r"
        alert = dataclasses.replace(SSH_ALERT, additionalData=(("log line", line),))
        (back,) = fromXml(toXml(alert))
        self.assertEqual(back.data("log line"), "GET /\\x00\\x1b]2;pwned\\x07 HTTP/1.0\r")

    def test_ntpStamp(self):
        """
        The ntpstamps of RFC 4765's own examples; a time without a zone is
        UTC; a bad time is an IdmefError.
        """
        self.assertEqual(ntpStamp("2000-03-09T10:01:25.93464Z"), "0xbc71f4f5.0xef449129")
        self.assertEqual(ntpStamp("2000-03-09T10:01:25.93464-05:00"), "0xbc723b45.0xef449129")
        self.assertEqual(ntpStamp("2000-03-09T10:01:25.93464"), "0xbc71f4f5.0xef449129")
        self.assertEqual(ntpStamp("1900-01-01T00:00:00Z"), "0x00000000.0x00000000")
        self.assertEqual(ntpStamp("2036-02-07T06:28:16Z"), "0x00000000.0x00000000")
        self.assertEqual(idmef.isoFromNtpStamp("0xbc71f4f5.0xef449129"),
                         "2000-03-09T10:01:25.934640+00:00")
        self.assertRaises(IdmefError, ntpStamp, "yesterday")
        self.assertRaises(IdmefError, idmef.isoFromNtpStamp, "0xzz")

    def test_ntpStampOutOfRange(self):
        """
        An ntpstamp whose seconds or fraction do not fit in 32 bits, or are
        negative, is an IdmefError naming it (it was an OverflowError that
        escaped the decoder's refusal).
        """
        for stamp in ("0xffffffffff.0x0", "0x0.0x100000000", "-0x1.0x0",
                      "0x" + "f" * 40 + ".0x0"):
            e = self.assertRaises(IdmefError, idmef.isoFromNtpStamp, stamp)
            self.assertIn(f"not an ntpstamp: {stamp!r}", str(e))
        self.assertEqual(idmef.isoFromNtpStamp("0xffffffff.0xffffffff"),
                         "2036-02-07T06:28:16+00:00")

    def test_ntpStampOutOfRangeRead(self):
        """
        A document whose CreateTime is empty and whose ntpstamp is out of
        range is refused with an IdmefError by the reader of our own
        documents (C{str}) and by the tree reader (C{bytes}) alike.
        """
        text = toXml(SSH_ALERT).decode("utf-8")
        text, n = re.subn(r'<CreateTime ntpstamp="[^"]*">[^<]*</CreateTime>',
                          '<CreateTime ntpstamp="0xffffffffff.0x0"></CreateTime>', text)
        self.assertEqual(n, 1)
        for document in (text, text.encode("utf-8")):
            e = self.assertRaises(IdmefError, idmef.readMessage, document)
            self.assertIn("not an ntpstamp", str(e))

    def test_refusedToWrite(self):
        """
        An alert without its identity or time, or with an unknown
        severity, is not written.
        """
        for change, words in [({"messageId": ""}, "messageId"), ({"analyzerId": None}, "analyzerId"),
                              ({"createTime": ""}, "createTime"),
                              ({"createTime": "soon"}, "ISO 8601"),
                              ({"detectTime": "later"}, "ISO 8601"),
                              ({"severity": "critical"}, "severity")]:
            e = self.assertRaises(IdmefError, toXml, dataclasses.replace(SSH_ALERT, **change))
            self.assertIn(words, str(e))

    def test_messageIdNumber(self):
        """
        The AlertID counter may be passed as a number.
        """
        (back,) = fromXml(toXml(dataclasses.replace(SSH_ALERT, messageId=17)))
        self.assertEqual(back.messageId, "17")


# -- hostile and broken input ---------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE IDMEF-Message [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<IDMEF-Message version="1.0"><Alert messageid="1"><Analyzer analyzerid="x"/>
<CreateTime ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25Z</CreateTime>
<Classification text="&lol9;"/><AdditionalData meaning="&lol9;">&lol9;</AdditionalData>
</Alert></IDMEF-Message>
"""

MINIMAL = (b'<IDMEF-Message xmlns="http://iana.org/idmef" version="1.0"><Alert messageid="7">'
           b'<Analyzer analyzerid="a1"/>'
           b'<CreateTime ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25.93464Z</CreateTime>'
           b'<Classification text="%s"/></Alert></IDMEF-Message>')


class RefusalMixin:
    def assertRefused(self, data, *words, **kwargs):
        e = self.assertRaises(IdmefError, fromXml, data, **kwargs)
        for word in words:
            self.assertIn(word, str(e))
        return str(e)


class HostileTests(RefusalMixin, SynchronousTestCase):
    def test_textRefusedAsBytesAre(self):
        """
        A document given as text (what the decoder has) is refused for its
        DOCTYPE as bytes are; the hardened parser, used again for the next
        document, parses a good one after a refusal and after broken XML.
        """
        reason = self.assertRefused(BILLION_LAUGHS.decode(), "DOCTYPE with an internal subset")
        self.assertNotIn("lollol", reason)
        self.assertRefused("<IDMEF-Message><Alert>", "not well-formed")
        good = toXml(Alert("1", "MICE-RegEx", "2004-11-22T10:00:01+00:00", "c")).decode()
        for _ in range(3):
            self.assertEqual([alert.messageId for alert in fromXml(good)], ["1"])
        self.assertEqual(len(idmef._idleParsers["utf-8"]), 1)

    def test_billionLaughs(self):
        """
        Entity expansion is refused, quickly and without expanding.
        """
        started = time.perf_counter()
        for document in (BILLION_LAUGHS, BILLION_LAUGHS.replace(b"<?xml", b"<!-- c --> <?xml"),
                         BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
                         .encode("utf-16"),
                         b"\xef\xbb\xbf" + BILLION_LAUGHS):
            reason = self.assertRefused(document, "DOCTYPE with an internal subset", "refused")
            self.assertNotIn("lollol", reason)
        self.assertLess(time.perf_counter() - started, 1.0)

    def test_externalEntityToALocalFile(self):
        """
        An external entity naming a local file is refused and the file's
        content appears nowhere (not in the reason, not in an alert).
        """
        secret = "root:x:0:0:secret-%d" % os.getpid()
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(secret)
        for url in ("file://" + path, path, "file:///etc/passwd"):
            document = ('<?xml version="1.0"?><!DOCTYPE IDMEF-Message [<!ENTITY xxe SYSTEM "%s">]>'
                        % url).encode() + MINIMAL % b"&xxe;"
            reason = self.assertRefused(document, "DOCTYPE with an internal subset")
            self.assertNotIn(secret, reason)
            self.assertNotIn("root:", reason)
            self.assertEqual(validate(document, writeDtd(self)), [reason])

    def test_entitiesInAnEncodingWithoutBom(self):
        """
        Entity declarations are refused after parsing too, for a document
        whose prolog the byte check cannot read (UTF-16 without a BOM).
        """
        secret = "secret-%d" % os.getpid()
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(secret)
        document = ('<?xml version="1.0" encoding="UTF-16LE"?>'
                    '<!DOCTYPE IDMEF-Message [<!ENTITY xxe SYSTEM "file://%s">]>' % path
                    + (MINIMAL % b"x").decode().replace("</Alert>", "<AdditionalData><string>"
                                                        "&xxe;</string></AdditionalData></Alert>"))
        reason = self.assertRefused(document.encode("utf-16-le"), "DOCTYPE declares entities", "xxe")
        self.assertNotIn(secret, reason)

    def test_plainDtdNameAccepted(self):
        """
        The DOCTYPE old producers write (a public identifier and a bare file
        name) is accepted, and the DTD is not loaded.
        """
        document = (b'<?xml version="1.0"?>\n<!DOCTYPE IDMEF-Message PUBLIC '
                    b'"-//IETF//DTD RFC XXXX IDMEF v1.0//EN" "idmef-message.dtd">\n'
                    + MINIMAL % b"x")
        (alert,) = fromXml(document)
        self.assertEqual((alert.messageId, alert.classification), ("7", "x"))

    def test_internalSubsetDeclarations(self):
        """
        An internal subset declaring elements is refused too: IDMEF needs
        none, and the document's own DOCTYPE is never trusted.
        """
        document = (b'<!DOCTYPE IDMEF-Message [<!ELEMENT IDMEF-Message ANY>]>' + MINIMAL % b"x")
        self.assertRefused(document, "internal subset")
        self.assertRefused(b'<!DOCTYPE IDMEF-Message SYSTEM "x]" [ ]>' + MINIMAL % b"x",
                           "internal subset")

    def test_oversized(self):
        """
        A document over the bound is refused before it is parsed.
        """
        big = MINIMAL % (b"x" * idmef.MAX_BYTES)
        self.assertRefused(big, "too large", str(len(big)), str(idmef.MAX_BYTES))
        self.assertRefused(b"<" * 101, "too large", maxBytes=100)
        exact = MINIMAL % b"x"
        self.assertEqual(len(fromXml(exact, maxBytes=len(exact))), 1)

    def test_notIdmef(self):
        """
        Well-formed XML that is not an IDMEF-Message is refused, naming its
        root.
        """
        self.assertRefused(b"<html><body/></html>", "not an IDMEF message", "html")
        self.assertRefused(b'<x:IDMEF-Message xmlns:x="urn:example:other"/>',
                           "not an IDMEF message", "urn:example:other")

    def test_truncated(self):
        """
        A truncated document is not well-formed XML.
        """
        data = toXml(SSH_ALERT)
        for cut in (len(data) - 20, len(data) // 2, 60):
            self.assertRefused(data[:cut], "not well-formed XML")

    def test_notXml(self):
        """
        Garbage, nothing, invalid UTF-8 and undefined entities are refused
        with a reason; so is something that is not bytes or text.
        """
        self.assertRefused(b"GET / HTTP/1.0\r\n\r\n", "not well-formed XML")
        self.assertRefused(b"", "empty")
        self.assertRefused("  \n", "empty")
        self.assertRefused(MINIMAL % b"\xff\xfe", "not well-formed XML")
        self.assertRefused(MINIMAL % b"&undefined;", "not well-formed XML")
        self.assertRefused(12, "expected bytes")

    def test_missingParts(self):
        """
        An Alert without messageid, Analyzer, analyzerid, CreateTime or
        Classification is refused, saying which Alert lacks what.
        """
        good = (MINIMAL % b"x").replace(b"</IDMEF-Message>", b"")
        second = (b'<Alert messageid="8"><Analyzer analyzerid="a1"/>'
                  b'<CreateTime ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25Z</CreateTime>'
                  b'<Classification text="y"/></Alert>')
        for old, new, words in [
            (b' messageid="8"', b"", "Alert 2: no messageid"),
            (b'<Analyzer analyzerid="a1"/>', b"", "Alert 2: no Analyzer"),
            (b' analyzerid="a1"', b"", "Alert 2: the Analyzer has no analyzerid"),
            (b'<CreateTime ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25Z</CreateTime>',
             b"", "Alert 2: no CreateTime"),
            (b'2000-03-09T10:01:25Z</CreateTime>', b"</CreateTime>", None),
            (b' ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25Z', b">",
             "Alert 2: CreateTime is empty"),
            (b'<Classification text="y"/>', b"", "Alert 2: no Classification"),
            (b'<Classification text="y"/>', b"<Classification/>", "Alert 2: no Classification"),
        ]:
            document = good + second.replace(old, new) + b"</IDMEF-Message>"
            if words is None:
                # An empty CreateTime with an ntpstamp is read from the stamp.
                self.assertEqual(fromXml(document)[1].createTime,
                                 "2000-03-09T10:01:25.934640+00:00")
            else:
                self.assertRefused(document, words)

    def test_badNumbers(self):
        """
        A port, pid or user number that is not an integer is refused,
        saying where.
        """
        for inner, words in [(b"<Service><port>ssh</port></Service>", "Alert 1 Target 1: port"),
                             (b"<Process><name>p</name><pid>x</pid></Process>", "pid"),
                             (b"<User><UserId><number>-</number></UserId></User>", "user number")]:
            document = (MINIMAL % b"x").replace(b"<Classification",
                                                b"<Target>" + inner + b"</Target><Classification")
            self.assertRefused(document, words)


# -- IDMEF from other analyzers -------------------------------------------

#: An sshd alert as prelude-lml raises it and prelude-manager's xmlmod
#: report plugin writes it: unqualified names and no version attribute (as
#: xmlmod writes them), the sensor's Analyzer with the manager's nested in
#: it, enumerated attributes written out, AdditionalData as direct text.
PRELUDE_LML = b"""\
<IDMEF-Message>
  <Alert messageid="b2d5a0e6-a8c1-11dc-9d6e-000c29e1d5a8">
    <Analyzer analyzerid="3180379393423744" name="prelude-lml" manufacturer="http://www.prelude-ids.com" model="Prelude LML" version="0.9.15" class="Log Analyzer" ostype="Linux" osversion="2.6.22-3-686">
      <Node category="unknown">
        <name>loghost.example.org</name>
        <Address category="ipv4-addr">
          <address>192.0.2.10</address>
        </Address>
      </Node>
      <Process>
        <name>prelude-lml</name>
        <pid>2345</pid>
        <path>/usr/bin/prelude-lml</path>
      </Process>
      <Analyzer analyzerid="2751299286929768" name="prelude-manager" manufacturer="http://www.prelude-ids.com" model="Prelude Manager" version="0.9.14.2" class="Concentrator" ostype="Linux" osversion="2.6.22-3-686"/>
    </Analyzer>
    <CreateTime ntpstamp="0xcb0e3a15.0x62d0e560">2007-12-12T15:21:25.386000+01:00</CreateTime>
    <DetectTime ntpstamp="0xcb0e3a15.0x00000000">2007-12-12T15:21:25+01:00</DetectTime>
    <AnalyzerTime ntpstamp="0xcb0e3a15.0x64cc1f00">2007-12-12T15:21:25.393737+01:00</AnalyzerTime>
    <Source spoofed="unknown">
      <Node category="unknown">
        <Address category="ipv4-addr">
          <address>198.51.100.23</address>
        </Address>
      </Node>
      <Service>
        <port>43210</port>
      </Service>
    </Source>
    <Target decoy="unknown">
      <Node category="unknown">
        <name>web01</name>
        <Address category="ipv4-addr">
          <address>192.0.2.20</address>
        </Address>
      </Node>
      <User category="os-device">
        <UserId type="target-user">
          <name>root</name>
          <number>0</number>
        </UserId>
      </User>
      <Process>
        <name>sshd</name>
        <pid>30861</pid>
      </Process>
      <Service iana_protocol_number="6" iana_protocol_name="tcp">
        <name>ssh</name>
        <port>22</port>
      </Service>
    </Target>
    <Classification ident="1908" text="Admin login">
      <Reference origin="vendor-specific" meaning="prelude-lml rule id">
        <name>1908</name>
        <url>https://www.prelude-siem.org/</url>
      </Reference>
    </Classification>
    <Assessment>
      <Impact severity="high" completion="failed" type="admin">Someone tried to login as root from 198.51.100.23 port 43210 using the password method</Impact>
    </Assessment>
    <AdditionalData type="string" meaning="Log received from">/var/log/auth.log</AdditionalData>
    <AdditionalData type="string" meaning="Original Log">Dec 12 15:21:25 web01 sshd[30861]: Failed password for root from 198.51.100.23 port 43210 ssh2</AdditionalData>
  </Alert>
</IDMEF-Message>
"""

#: A Snort alert (sid 469, ICMP PING NMAP) as Snort's alert_prelude output
#: builds it, written the RFC 4765 way with the idmef: prefix: priority
#: mapped to a severity, the rule's classtype as the Impact description, a
#: vendor-specific Reference for the sid and one per rule reference, packet
#: fields as typed AdditionalData; plus an extension element and attribute
#: from another namespace, which must be ignored.
SNORT = b"""\
<?xml version="1.0" encoding="UTF-8"?>
<idmef:IDMEF-Message xmlns:idmef="http://iana.org/idmef" xmlns:ext="urn:example:ext" version="1.0">
  <idmef:Alert messageid="6f0a1c6e-2e8b-11e0-8a7e-001b21" ext:received="yes">
    <idmef:Analyzer analyzerid="1467382734" name="snort" manufacturer="http://www.snort.org" model="Snort" version="2.8.6.1" class="NIDS" ostype="Linux" osversion="2.6.32">
      <idmef:Node category="dns"><idmef:name>ids01.example.org</idmef:name></idmef:Node>
      <idmef:Process><idmef:name>snort</idmef:name><idmef:pid>1702</idmef:pid></idmef:Process>
    </idmef:Analyzer>
    <idmef:CreateTime ntpstamp="0xd0eb9e52.0x2b020c49">2011-02-02T09:14:58.168000Z</idmef:CreateTime>
    <idmef:DetectTime ntpstamp="0xd0eb9e52.0x1c28f5c2">2011-02-02T09:14:58.110000Z</idmef:DetectTime>
    <idmef:Source>
      <idmef:Node>
        <idmef:Address category="mac"><idmef:address>00:1b:21:aa:bb:cc</idmef:address></idmef:Address>
        <idmef:Address category="ipv4-addr"><idmef:address>203.0.113.66</idmef:address></idmef:Address>
      </idmef:Node>
      <idmef:Service iana_protocol_number="1" ip_version="4"><idmef:portlist>0</idmef:portlist></idmef:Service>
    </idmef:Source>
    <idmef:Target>
      <idmef:Node>
        <idmef:Address category="ipv4-net" ident="net1"><idmef:address>192.0.2.0</idmef:address><idmef:netmask>255.255.255.0</idmef:netmask></idmef:Address>
      </idmef:Node>
    </idmef:Target>
    <idmef:Target>
      <idmef:Node><idmef:Address category="ipv4-addr-hex"><idmef:address>0xc0000214</idmef:address></idmef:Address></idmef:Node>
    </idmef:Target>
    <ext:Correlation><ext:score>3</ext:score></ext:Correlation>
    <idmef:Classification ident="469" text="ICMP PING NMAP">
      <idmef:Reference origin="vendor-specific" meaning="Snort Signature ID">
        <idmef:name>469</idmef:name>
        <idmef:url>http://www.snort.org/pub-bin/sigs.cgi?sid=469</idmef:url>
      </idmef:Reference>
      <idmef:Reference origin="cve">
        <idmef:name>CVE-1999-0523</idmef:name>
        <idmef:url>http://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-1999-0523</idmef:url>
      </idmef:Reference>
    </idmef:Classification>
    <idmef:Assessment>
      <idmef:Impact severity="low" type="recon">attempted-recon</idmef:Impact>
    </idmef:Assessment>
    <idmef:AdditionalData type="integer" meaning="snort_rule_sid"><idmef:integer>469</idmef:integer></idmef:AdditionalData>
    <idmef:AdditionalData type="integer" meaning="snort_rule_rev"><idmef:integer>3</idmef:integer></idmef:AdditionalData>
    <idmef:AdditionalData type="integer" meaning="ip_ttl"><idmef:integer>49</idmef:integer></idmef:AdditionalData>
    <idmef:AdditionalData type="byte" meaning="payload"><idmef:byte>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</idmef:byte></idmef:AdditionalData>
    <idmef:AdditionalData type="xml" meaning="packet"><idmef:xml><pkt len="28"/></idmef:xml></idmef:AdditionalData>
  </idmef:Alert>
  <idmef:Heartbeat messageid="hb-1"><idmef:Analyzer analyzerid="1467382734"/><idmef:CreateTime ntpstamp="0xd0eb9e52.0x00000000">2011-02-02T09:14:58Z</idmef:CreateTime></idmef:Heartbeat>
</idmef:IDMEF-Message>
"""

#: Draft-era output (the idmef-xml drafts that early Snort IDMEF plugins
#: followed): the DOCTYPE with a bare DTD name, Alert ident instead of
#: messageid, the draft namespace, a Classification named by its children.
DRAFT = b"""\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE IDMEF-Message PUBLIC "-//IETF//DTD RFC XXXX IDMEF v1.0//EN" "idmef-message.dtd">
<IDMEF-Message version="1.0" xmlns="urn:iana:xml:ns:idmef">
  <Alert ident="1234">
    <Analyzer analyzerid="sensor01"><Node category="dns"><name>sensor.example.com</name></Node></Analyzer>
    <CreateTime ntpstamp="0xbc71f4f5.0xef449129">2000-03-09T10:01:25.93464Z</CreateTime>
    <Source><Node><Address category="ipv4-addr"><address>192.0.2.200</address></Address></Node>
      <Service><port>31337</port><protocol>udp</protocol></Service></Source>
    <Classification origin="bugtraqid"><name>124</name><url>http://www.securityfocus.com/bid/124</url></Classification>
    <AdditionalData type="string" meaning="rule">alert udp any any -> any 31337</AdditionalData>
  </Alert>
</IDMEF-Message>
"""


#: The RFC 4765 DTD the package ships.
RFC_DTD = os.path.join(ROOT, "mice", "data", "idmef-message.dtd")

#: What an edit of a document of ours inserts: markup, references, the
#: characters XML refuses or changes, and pieces of our own layout.
EDITS = st.sampled_from([
    "<", ">", "&", '"', "'", "\r", "\n", "\t", "\x00", "\x1b", "\ud800", "\ufffe", ";", "#", "/",
    "=", " ", "a", "0", "&amp;", "&#10;", "&#13;", "&#x41;", "&apos;", "&quot;", "]]>", "<!--x-->",
    "<?pi?>", "<![CDATA[x]]>", "<!DOCTYPE IDMEF-Message>", "<name>x</name>", "</name>",
    "<Node>", "</Node>", "<Source/>", "<Target/>", "<User>", "</User>", "<pid>1</pid>",
    "<port>x</port>", '<Address category="ipv4-addr"><address>1</address></Address>',
    '<UserId type="target-user">', "</UserId>", "<Service>", "</Service>",
    '<alertident analyzerid="a">1</alertident>', "<CorrelationAlert>",
    '<AdditionalData type="string" meaning="m"><string>v</string></AdditionalData>',
    '<Alert messageid="2">', "</Alert>", "<Heartbeat>", ' iana_protocol_number="x"'])


class OwnDocumentTests(SynchronousTestCase):
    """
    The reader of our own documents (L{idmef._readOwnAlert}): for the text
    L{toXml} writes, the L{Alert} the tree reader gives, with no tree; for
    anything else C{None}, and the hardened parser and the DTD have their
    say.
    """

    def setUp(self):
        self.dtd = idmef.loadDtd(RFC_DTD)

    def assertSound(self, text):
        """
        If the fast reader takes C{text}, the document is well-formed and
        acceptable (the hardened parser), valid against the RFC's DTD, and
        the tree reader reads the same alert from it.  Returns what the
        fast reader gave.
        """
        fast = idmef._readOwnAlert(text)
        if fast is not None:
            tree = idmef.parseDocument(text)
            self.assertEqual([element.tag for element in tree.getroot()],
                             ["{%s}Alert" % idmef.IDMEF_NS])
            self.assertEqual(idmef._readAlert(tree.getroot()[0], "Alert 1"), fast)
            self.assertEqual(idmef.validateTree(tree, self.dtd), [])
        return fast

    def test_notAboveWhatTheTreeTakes(self):
        """
        A document larger than libxml2 takes without C{huge_tree} (a text
        node over 10,000,000 bytes) is refused when C{maxBytes} allows it:
        the reader of our own documents does not take what the tree would
        refuse.
        """
        alert = dataclasses.replace(SSH_ALERT, additionalData=(
            ("log line", "x" * (idmef._TREE_TEXT_LIMIT + 10)),))
        text = toXml(alert).decode("utf-8")
        self.assertIsNotNone(idmef._readOwnAlert(text))
        self.assertRaises(IdmefError, idmef.readMessage, text.encode("utf-8"),
                          maxBytes=len(text) * 2)
        self.assertRaises(IdmefError, idmef.readMessage, text, maxBytes=len(text) * 2)

    @given(ALERTS)
    def test_everyAlertWeWrite(self, alert):
        """
        Every document L{toXml} writes is read without a tree, and
        L{idmef.readMessage} gives what the tree would (no DTD problems).
        """
        text = toXml(alert).decode("utf-8")
        self.assertIsNotNone(self.assertSound(text))
        self.assertEqual(idmef.readMessage(text, dtd=self.dtd),
                         idmef.IdmefMessage((expected(alert),), (), ()))

    def test_correlation(self):
        alert = dataclasses.replace(SSH_ALERT, correlation=Correlation(
            "brute force & <more>", (("MICE-RegEx", "41"), ('a"b', "\t40 "))))
        self.assertEqual(self.assertSound(toXml(alert).decode("utf-8")),
                         dataclasses.replace(alert, correlation=Correlation(
                             "brute force & <more>", (("MICE-RegEx", "41"), ('a"b', "40")))))
        empty = dataclasses.replace(SSH_ALERT, correlation=Correlation("x", ()))
        text = toXml(empty).decode("utf-8")
        self.assertIsNone(idmef._readOwnAlert(text))
        self.assertNotEqual(idmef.readMessage(text, dtd=self.dtd).problems, ())

    @given(ALERTS, st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]),
                                      st.booleans(), st.floats(0, 1), st.integers(1, 40),
                                      EDITS), min_size=1, max_size=3))
    def test_editsTakenOnlyWhenSound(self, alert, edits):
        """
        A document a few edits away from one of ours (anywhere, or within
        a text or an attribute value) is either declined by the fast reader
        or still sound (L{assertSound}).
        """
        text = toXml(alert).decode("utf-8")
        for kind, inValue, where, length, piece in edits:
            spans = [match.span(1) for match in re.finditer('>([^<]+)<|="([^"]*)"', text)
                     if match.group(1) is not None] if inValue else []
            if spans:
                start, end = spans[int(where * len(spans)) % len(spans)]
                at = start + int(where * len(spans) % 1 * (end - start + 1))
            else:
                at = int(where * len(text))
            if kind == "insert":
                text = text[:at] + piece + text[at:]
            elif kind == "delete":
                text = text[:at] + text[at + length:]
            else:
                text = text[:at] + piece + text[at + len(piece):]
        self.assertSound(text)

    def test_everyEditInEveryValue(self):
        """
        Each of L{EDITS} inserted into each text and attribute value of a
        document of ours, before each tag and at its end, and put in place
        of the character there: the fast reader declines, or is sound.
        """
        alert = dataclasses.replace(SSH_ALERT, correlation=Correlation("c", (("a", "1"),)))
        text = toXml(alert).decode("utf-8")
        starts = [match.start(1) for match in re.finditer('>([^<]+)<', text)]
        starts += [match.start(1) for match in re.finditer('="([^"]*)"', text)]
        starts += [match.start() for match in re.finditer("<", text)] + [len(text)]
        taken = 0
        for start in starts:
            for piece in EDITS.elements:
                for edited in (text[:start] + piece + text[start:],
                               text[:start] + piece + text[start + 1:]):
                    taken += self.assertSound(edited) is not None
        self.assertGreater(taken, len(starts))

    def test_invalidDeclined(self):
        """
        What the RFC's DTD refuses, though it is close to what we write, is
        declined (and the DTD then says what is wrong).
        """
        text = toXml(SSH_ALERT).decode("utf-8")
        for old, new in [
                ('<Node><name>web01</name><Address category="ipv6-addr"><address>2001:db8::1'
                 "</address></Address></Node>", "<Node></Node>"),
                ("<name>root</name><number>0</number>", ""), ("<name>ssh</name><port>22</port>", ""),
                ('severity="high"', 'severity="grave"'),
                ('category="ipv6-addr"', 'category="ipv7-addr"'),
                ('type="target-user"', 'type="nobody"'),
                ('origin="vendor-specific"', 'origin="nobody"')]:
            changed = text.replace(old, new, 1)
            self.assertNotEqual(changed, text)
            self.assertIsNone(idmef._readOwnAlert(changed), (old, new))
        swapped = re.sub("(<Source>.*</Source>)(<Target>.*</Target>)", r"\2\1", text)
        self.assertIsNone(idmef._readOwnAlert(swapped))
        self.assertNotEqual(idmef.readMessage(swapped, dtd=self.dtd).problems, ())

    def test_othersParsed(self):
        """
        Bytes, several alerts, other producers' layouts: the tree reader's.
        """
        text = toXml(SSH_ALERT).decode("utf-8")
        self.assertIsNone(idmef._readOwnAlert(text.replace("><", ">\n<")))
        self.assertIsNone(idmef._readOwnAlert(text.replace(
            "</Alert>", "</Alert>" + text.split("<IDMEF-Message", 1)[1].split(">", 1)[1][:-16])))
        for path in ("prelude-xmlmod.xml", "rfc4765.xml", "snort.xml"):
            with open(os.path.join(ROOT, "tests", "data", "idmef", path), encoding="utf-8") as f:
                self.assertIsNone(idmef._readOwnAlert(f.read()))

    def test_sizeStillBounded(self):
        """
        The size bound holds for the documents read without a tree, counted
        in UTF-8 bytes.
        """
        text = toXml(dataclasses.replace(SSH_ALERT, classification="\u00e9" * 400)).decode()
        size = len(text.encode("utf-8"))
        self.assertEqual(idmef.readMessage(text, size).alerts[0].classification, "\u00e9" * 400)
        self.assertGreater(size - 1, len(text))
        self.assertRaises(IdmefError, idmef.readMessage, text, size - 1)

    def test_otherDtdChecked(self):
        """
        The documents read without a tree are taken as valid against the
        RFC's DTD only: any other DTD checks them.
        """
        self.assertTrue(idmef.isRfc4765Dtd(self.dtd))
        strict = self.mktemp()
        with open(strict, "w") as f:
            f.write(TEST_DTD.replace("(info | low | medium | high)", "(info | low | medium)"))
        strict = idmef.loadDtd(strict)
        self.assertFalse(idmef.isRfc4765Dtd(strict))
        text = toXml(SSH_ALERT).decode("utf-8")
        self.assertEqual(idmef.readMessage(text, dtd=self.dtd).problems, ())
        problems = idmef.readMessage(text, dtd=strict).problems
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("high", problems[0])

    def test_rfcDtdByContent(self):
        """
        A copy of the RFC's DTD is known wherever it is; one changed byte
        and it is another DTD.
        """
        with open(RFC_DTD, "rb") as f:
            text = f.read()
        copy = self.mktemp()
        with open(copy, "wb") as f:
            f.write(text)
        self.assertTrue(idmef.isRfc4765Dtd(idmef.loadDtd(copy)))
        changed = self.mktemp()
        with open(changed, "wb") as f:
            f.write(text + b" ")
        self.assertFalse(idmef.isRfc4765Dtd(idmef.loadDtd(changed)))




class ForeignTests(SynchronousTestCase):
    def test_preludeLml(self):
        """
        prelude-lml's alert: the sensor's analyzer id and host, source and
        target with user, process and service, severity, additional data;
        no M-ICE alert ID (its Reference means something else).
        """
        (alert,) = fromXml(PRELUDE_LML)
        self.assertEqual(alert, Alert(
            messageId="b2d5a0e6-a8c1-11dc-9d6e-000c29e1d5a8", analyzerId="3180379393423744",
            createTime="2007-12-12T15:21:25.386000+01:00", classification="Admin login",
            alertId=None, detectTime="2007-12-12T15:21:25+01:00", severity="high",
            sources=(Node(address="198.51.100.23", port=43210),),
            targets=(Node(address="192.0.2.20", hostname="web01", port=22, protocol="tcp",
                          user="root", uid=0, process="sshd", pid=30861, service="ssh"),),
            analyzerHost="loghost.example.org",
            additionalData=(("Log received from", "/var/log/auth.log"),
                            ("Original Log", "Dec 12 15:21:25 web01 sshd[30861]: Failed password "
                                             "for root from 198.51.100.23 port 43210 ssh2"))))

    def test_snort(self):
        """
        Snort's alert: prefixed names, several Targets, the IPv4 address
        among others, a network with its netmask, a hex address, a protocol
        given by number, typed AdditionalData; extensions and Heartbeats
        skipped.
        """
        (alert,) = fromXml(SNORT)
        self.assertEqual((alert.messageId, alert.analyzerId, alert.analyzerHost),
                         ("6f0a1c6e-2e8b-11e0-8a7e-001b21", "1467382734", "ids01.example.org"))
        self.assertEqual((alert.classification, alert.alertId, alert.severity),
                         ("ICMP PING NMAP", None, "low"))
        self.assertEqual(alert.detectTime, "2011-02-02T09:14:58.110000Z")
        self.assertEqual(alert.sources, (Node(address="203.0.113.66", protocol="icmp"),))
        self.assertEqual(alert.targets, (Node(address="192.0.2.0"), Node(address="192.0.2.20")))
        self.assertEqual(alert.additionalData[:4], (
            ("snort_rule_sid", "469"), ("snort_rule_rev", "3"), ("ip_ttl", "49"),
            ("payload", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")))
        meaning, packet = alert.additionalData[4]
        self.assertEqual((meaning, etree.fromstring(packet).get("len")), ("packet", "28"))

    def test_draft(self):
        """
        Draft-era documents still read: ident for messageid, the draft
        namespace, a Classification named by its child, a protocol element.
        """
        (alert,) = fromXml(DRAFT)
        self.assertEqual((alert.messageId, alert.analyzerId, alert.analyzerHost),
                         ("1234", "sensor01", "sensor.example.com"))
        self.assertEqual((alert.classification, alert.severity), ("124", "medium"))
        self.assertEqual(alert.sources, (Node(address="192.0.2.200", port=31337, protocol="udp"),))
        self.assertEqual(alert.data("rule"), "alert udp any any -> any 31337")

    def test_severalAlerts(self):
        """
        One message may hold several Alerts (and Heartbeats, skipped); a
        message of Heartbeats only has no alerts.
        """
        one = toXml(SSH_ALERT)
        two = toXml(dataclasses.replace(SSH_ALERT, messageId="43", alertId=0x8010))
        body = re.search(rb"<Alert .*</Alert>", two).group()
        both = one.replace(b"</IDMEF-Message>", body + b"</IDMEF-Message>")
        self.assertEqual([(a.messageId, a.alertId) for a in fromXml(both)],
                         [("42", 0x1020), ("43", 0x8010)])
        heartbeat = (b'<IDMEF-Message xmlns="http://iana.org/idmef" version="1.0">'
                     b'<Heartbeat messageid="1"><Analyzer analyzerid="a"/>'
                     b'<CreateTime ntpstamp="0x0.0x0">1900-01-01T00:00:00Z</CreateTime>'
                     b'</Heartbeat></IDMEF-Message>')
        self.assertEqual(fromXml(heartbeat), [])

    def test_alertIdReference(self):
        """
        The alert ID is read from its Reference in hex or decimal, the
        meaning compared without case; a Reference with another meaning or
        an unreadable name gives none.
        """
        def alertId(name, meaning=b"M-ICE alert ID"):
            document = (MINIMAL % b"x").replace(
                b'text="x"/>', b'text="x"><Reference origin="vendor-specific" meaning="'
                + meaning + b'"><name>' + name + b"</name><url>u</url></Reference></Classification>")
            return fromXml(document)[0].alertId

        self.assertEqual(alertId(b"0x1020"), 0x1020)
        self.assertEqual(alertId(b" 4128 ", b"m-ice ALERT id"), 0x1020)
        self.assertIsNone(alertId(b"0x1020", b"Snort Signature ID"))
        self.assertIsNone(alertId(b"AuF"))


class ValidateTests(SynchronousTestCase):
    def setUp(self):
        self.dtd = writeDtd(self)

    def test_ourOutputIsValid(self):
        self.assertEqual(validate(toXml(SSH_ALERT), self.dtd), [])
        self.assertEqual(validate(toXml(Alert("1", "a", "2004-11-22T10:00:01Z", "")), self.dtd), [])

    def test_problems(self):
        """
        A document that breaks the DTD gets its problems, with lines.
        """
        document = toXml(SSH_ALERT).replace(b'severity="high"', b'severity="grave"')
        document = re.sub(rb"<Classification .*</Classification>", b"", document)
        problems = validate(document, self.dtd)
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(all(problem.startswith("line 2: ") for problem in problems))
        self.assertIn("grave", " ".join(problems))

    def test_ownDoctypeIgnored(self):
        """
        The document's DOCTYPE does not choose the DTD: ours is used.
        """
        document = (b'<!DOCTYPE IDMEF-Message SYSTEM "lenient.dtd">'
                    + toXml(SSH_ALERT).split(b"?>", 1)[1].replace(b"<Assessment>", b"<Junk/><Assessment>"))
        self.assertNotEqual(validate(document, self.dtd), [])

    def test_noDtdFile(self):
        """
        Without a DTD file there is nothing to check against.
        """
        self.assertEqual(validate(b"<not-even-idmef/>", None), [])
        self.assertEqual(validate(b"<not-even-idmef/>", self.mktemp()), [])

    def test_badDtdFile(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("<!ELEMENT broken")
        self.assertRaises(IdmefError, validate, toXml(SSH_ALERT), path)

    def test_shippedDtdIfAny(self):
        """
        If a DTD is shipped as etc/mice/idmef-message.dtd, our output is
        valid against it.
        """
        shipped = os.path.join(ROOT, "etc", "mice", "idmef-message.dtd")
        if not os.path.exists(shipped):
            raise SkipTest("no IDMEF DTD is shipped (see docs/idmef.rst)")
        self.assertEqual(validate(toXml(SSH_ALERT), shipped), [])
