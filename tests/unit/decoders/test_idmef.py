"""
Tests for L{mice.decoders.idmef} and L{mice.idmef.readMessage} on IDMEF
written by other tools (C{tests/data/idmef}): prelude-manager's xmlmod
(pretty-printed, and all on one line without a newline), RFC 4765's
examples (the C{idmef:} prefix, several Alerts and a Heartbeat in one
message), Snort-style output (a DOCTYPE, the default namespace), and how
C{mice send --kind idmef} cuts such files into messages.
"""

import os
import re

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Heartbeat
from mice.decoders.idmef import IdmefDecoder, ReceivedAlert
from mice.forwarder.shipping import idmefBatches
from mice.idmef import IDMEF_NS, fromXml, readMessage, validate
from mice.protocols.wire import ProtocolError, batch
from mice.testing import decodeChecked
from tests import FEWER, ROOT
from tests.unit.test_idmef import ALERTS, expected

DATA = os.path.join(ROOT, "tests", "data", "idmef")
DTD = os.path.join(ROOT, "etc", "mice", "idmef-message.dtd")


def fixture(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def messages(name):
    """The messages C{mice send --kind idmef} makes of a fixture."""
    return [record for _, records in idmefBatches(fixture(name)) for record in records]


class ShippingTests(SynchronousTestCase):
    def test_preludeOneLine(self):
        """
        prelude-manager's xmlmod without formatting writes every message on
        one line, with no newline at all: cut into the same messages as the
        pretty-printed file.
        """
        oneLine = fixture("prelude-xmlmod-oneline.xml")
        self.assertNotIn(b"\n", oneLine)
        pretty = messages("prelude-xmlmod.xml")
        flat = messages("prelude-xmlmod-oneline.xml")
        self.assertEqual(len(pretty), 3)
        self.assertEqual([readMessage(m) for m in flat], [readMessage(m) for m in pretty])

    def test_declarationsAndDoctypes(self):
        """
        Each message keeps its own XML declaration and DOCTYPE.
        """
        snort = messages("snort.xml")
        self.assertEqual(len(snort), 2)
        for message in snort:
            self.assertTrue(message.startswith("<?xml"), message[:40])
            self.assertIn("<!DOCTYPE IDMEF-Message", message)


class ReadMessageTests(SynchronousTestCase):
    def test_prelude(self):
        """
        xmlmod's alert: no namespace, nested Analyzers (the outer one's id
        is the alert's), AdditionalData as text; its heartbeat is no alert.
        """
        alert, heartbeat, su = [readMessage(m) for m in messages("prelude-xmlmod.xml")]
        [first] = alert.alerts
        self.assertEqual((first.analyzerId, first.analyzerHost, first.classification,
                          first.severity, first.alertId),
                         ("3180379393423744", "loghost.example.org", "Admin login failed",
                          "high", None))
        self.assertEqual(first.targets[0].user, "root")
        self.assertEqual(first.data("Original Log")[:15], "Feb 11 09:12:21")
        self.assertEqual((alert.heartbeats, alert.documents), ((), ()))
        self.assertEqual(heartbeat.alerts, ())
        self.assertEqual(heartbeat.heartbeats, (Heartbeat(
            analyzerId="3180379393423744", createTime="2008-02-11T09:13:21+01:00",
            messageId="6c2d4f4b-d7a6-11dc-8e57-000c29e1d5a8", name="prelude-lml",
            host="loghost.example.org"),))
        self.assertEqual(su.alerts[0].sources[0].user, "alice")

    def test_severalAlertsEachWithItsDocument(self):
        """
        The RFC's message with two Alerts and a Heartbeat: two alerts, one
        heartbeat (with its interval), and for each alert a document that
        holds it alone, in the same namespace, which reads back as it.
        """
        teardrop, several, heartbeatOnly = [readMessage(m) for m in messages("rfc4765.xml")]
        self.assertEqual([a.classification for a in several.alerts],
                         ["simple portscan", "Ping-of-death detected"])
        self.assertEqual(several.heartbeats[0].interval, 600)
        self.assertEqual(len(several.documents), 2)
        for alert, document in zip(several.alerts, several.documents):
            self.assertEqual(fromXml(document), [alert])
            root = etree.fromstring(document.encode())
            self.assertEqual(root.tag, "{%s}IDMEF-Message" % IDMEF_NS)
            self.assertEqual(len(root), 1)
            self.assertEqual(validate(document, DTD), [])
        self.assertEqual(teardrop.alerts[0].targets[0].address, "222.121.111.112")
        self.assertEqual(teardrop.alerts[0].createTime, "2000-03-09T10:01:25.93464-05:00")
        self.assertEqual((heartbeatOnly.alerts, heartbeatOnly.heartbeats[0].host),
                         ((), "analyzer01.example.com"))

    def test_snort(self):
        single, double = [readMessage(m) for m in messages("snort.xml")]
        alert = single.alerts[0]
        self.assertEqual((alert.analyzerId, alert.targets[0].service, alert.targets[0].port),
                         ("snort-eth0", "http", 80))
        self.assertEqual([a.messageId for a in double.alerts], ["2002", "2003"])
        self.assertEqual([fromXml(d)[0].targets[0].address for d in double.documents],
                         ["192.0.2.20", "192.0.2.21"])

    def test_validAgainstTheRfcDtd(self):
        """
        The RFC's examples and the Snort-style file are valid (the prefixed
        ones checked under the DTD's bare names); xmlmod's text
        AdditionalData is not, which is flagged, not refused.
        """
        for name in ("rfc4765.xml", "snort.xml"):
            for message in messages(name):
                self.assertEqual(validate(message, DTD), [], name)
        problems = validate(messages("prelude-xmlmod.xml")[0], DTD)
        self.assertIn("AdditionalData", problems[0])

    def test_heartbeatWithoutAnalyzerId(self):
        from mice.idmef import IdmefError

        document = ('<IDMEF-Message><Heartbeat messageid="1"><Analyzer/>'
                    "<CreateTime>2000-03-09T14:07:58Z</CreateTime></Heartbeat></IDMEF-Message>")
        e = self.assertRaises(IdmefError, readMessage, document)
        self.assertIn("Heartbeat 1: no Analyzer with an analyzerid", str(e))


def message(alerts, prefix, heartbeat):
    """
    One IDMEF-Message holding the Alerts of C{alerts} (as toXml writes each),
    under the namespace prefix C{prefix} (C{None}: the default namespace),
    with a Heartbeat after them when C{heartbeat}.
    """
    from mice.idmef import IDMEF_NS, toXml

    root = etree.Element("{%s}IDMEF-Message" % IDMEF_NS, nsmap={prefix: IDMEF_NS},
                         version="1.0")
    for alert in alerts:
        root.append(etree.fromstring(toXml(alert))[0])
    if heartbeat:
        beat = etree.SubElement(root, "{%s}Heartbeat" % IDMEF_NS, messageid="hb")
        etree.SubElement(beat, "{%s}Analyzer" % IDMEF_NS, analyzerid="sensor")
        etree.SubElement(beat, "{%s}CreateTime" % IDMEF_NS).text = "2026-01-01T00:00:00Z"
    return etree.tostring(root, encoding="unicode")


class SplitTests(SynchronousTestCase):
    @FEWER
    @given(st.lists(ALERTS, min_size=1, max_size=4), st.sampled_from([None, "idmef", "x"]),
           st.booleans())
    def test_eachAlertItsOwnDocument(self, alerts, prefix, heartbeat):
        """
        Any alerts in one message, under any prefix, with or without a
        heartbeat: each alert gets a document holding it alone (one
        element under the root, the same namespace) that reads back as it
        and is valid against the RFC's DTD; a lone alert's document is the
        message itself.
        """
        document = message(alerts, prefix, heartbeat)
        read = readMessage(document)
        self.assertEqual(list(read.alerts), [expected(a) for a in alerts])
        self.assertEqual(len(read.heartbeats), int(heartbeat))
        if len(alerts) == 1 and not heartbeat:
            self.assertEqual(read.documents, ())
            return
        self.assertEqual(len(read.documents), len(alerts))
        for alert, alone in zip(alerts, read.documents):
            self.assertEqual(fromXml(alone), [expected(alert)])
            root = etree.fromstring(alone.encode("utf-8"))
            self.assertEqual((root.prefix, len(root)), (prefix, 1))
            self.assertEqual(validate(alone, DTD), [])


class DecoderTests(SynchronousTestCase):
    def test_everyFixture(self):
        """
        Every message of every fixture decodes into a L{ReceivedAlert} with
        its alerts, heartbeats and per-alert documents, and recovers (from a
        ring) the same.
        """
        decoder = IdmefDecoder()
        counts = {}
        for name in sorted(os.listdir(DATA)):
            records = messages(name)
            message = batch(1, name, 1, None, records)
            received = decodeChecked(decoder, "sender", message)
            self.assertEqual(decoder.recover("sender", message), received)
            counts[name] = (sum(len(r.alerts) for r in received),
                            sum(len(r.heartbeats) for r in received))
            for r in received:
                self.assertIsInstance(r, ReceivedAlert)
                for index in range(len(r.alerts)):
                    self.assertEqual(fromXml(r.document(index)), [r.alerts[index]])
        self.assertEqual(counts, {"prelude-xmlmod.xml": (2, 1),
                                  "prelude-xmlmod-oneline.xml": (2, 1),
                                  "rfc4765.xml": (3, 2), "snort.xml": (3, 0)})

    def test_badNtpStampRefusesTheBatch(self):
        """
        An alert whose time is only an out-of-range ntpstamp refuses the
        batch with a L{ProtocolError} naming the record, as any other bad
        document (it escaped as an OverflowError).
        """
        good = messages("snort.xml")
        bad, n = re.subn(r"<CreateTime[^>]*>[^<]*</CreateTime>",
                         '<CreateTime ntpstamp="0xffffffffff.0x0"></CreateTime>', good[0])
        self.assertGreater(n, 0)
        e = self.assertRaises(ProtocolError, decodeChecked, IdmefDecoder(), "a",
                              batch(1, "s", 1, None, good + [bad]))
        self.assertIn("not an ntpstamp", str(e))

    def test_hostileRefusesTheBatch(self):
        """
        One hostile document among good ones refuses the whole batch, with
        the reason (the daemon closes that connection only).
        """
        good = messages("snort.xml")
        external = ('<?xml version="1.0"?><!DOCTYPE IDMEF-Message [<!ENTITY x SYSTEM'
                    ' "file:///etc/passwd">]><IDMEF-Message>&x;</IDMEF-Message>')
        e = self.assertRaises(ProtocolError, decodeChecked, IdmefDecoder(), "a",
                              batch(1, "s", 1, None, good + [external]))
        self.assertIn("record 2: DOCTYPE with an internal subset", str(e))
        deep = "<IDMEF-Message>" + "<x>" * 300 + "</x>" * 300 + "</IDMEF-Message>"
        e = self.assertRaises(ProtocolError, decodeChecked, IdmefDecoder(), "a",
                              batch(1, "s", 1, None, [deep]))
        self.assertIn("Excessive depth", str(e))
