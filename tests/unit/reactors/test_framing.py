"""
Tests for L{mice.reactors.framing}: a document is one line in the alert
file, and one record in a reaction FIFO, whatever it holds.
"""

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import RoutedAlert
from mice.idmef import toXml
from mice.reactors.framing import (
    FifoRecordReader,
    FramingError,
    documentLine,
    fifoRecord,
    parseFifoRecord,
    withoutDeclaration,
)
from tests.unit.reactors import ALERTS, KEYS, TEXT, routed

#: Alerts toXml can write (it needs a message id and an analyzer id).
WRITABLE = ALERTS.filter(lambda alert: alert.messageId.strip() and alert.analyzerId.strip())

#: What prelude-manager's xmlmod writes: pretty-printed, a DOCTYPE, line
#: breaks in text and in an attribute, a comment.
PRELUDE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE IDMEF-Message SYSTEM "idmef-message.dtd">
<IDMEF-Message version="1.0">
  <!-- written by prelude-manager -->
  <Alert messageid="abc-1">
    <Analyzer analyzerid="snort-7" name="snort"/>
    <CreateTime ntpstamp="0xbc71f4f5.0x00000000">2004-11-22T10:00:01Z</CreateTime>
    <Classification text="two
lines">
      <Reference origin="vendor-specific"><name>x</name><url>u</url></Reference>
    </Classification>
    <AdditionalData type="string" meaning="payload"><string>GET /&#13;
evil\u2028 HTTP/1.0\x85</string></AdditionalData>
  </Alert>
</IDMEF-Message>
"""


def canonical(data):
    """
    The canonical form of a document's root element (what an XML reader
    sees), for comparing two writings of it.
    """
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False)
    root = etree.fromstring(data if isinstance(data, bytes) else data.encode("utf-8"), parser)
    return etree.tostring(root, method="c14n")


def assertLine(testCase, line):
    testCase.assertNotIn(b"\n", line)
    testCase.assertNotIn(b"\r", line)
    testCase.assertEqual(len(line.decode("utf-8").splitlines()), 1)


class DocumentLineTests(SynchronousTestCase):
    def test_ours(self):
        """
        Our own documents go as they are, less the XML declaration (and its
        newline).
        """
        document = toXml(routed(1).alert).decode("utf-8")
        self.assertTrue(document.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<IDMEF"))
        line = documentLine(document)
        self.assertEqual(line, document.split("\n", 1)[1].encode("utf-8"))
        assertLine(self, line)

    def test_prettyPrinted(self):
        line = documentLine(PRELUDE)
        assertLine(self, line)
        self.assertEqual(canonical(line), canonical(PRELUDE))
        self.assertIn(b"&#13;", line)
        self.assertIn(b"&#8232;", line)
        self.assertNotIn(b"DOCTYPE", line)
        self.assertNotIn(b"prelude-manager", line)

    def test_declarationWithAnotherEncoding(self):
        """
        The bytes written are UTF-8: a declaration saying otherwise goes.
        """
        document = '<?xml version="1.0" encoding="ISO-8859-1"?><IDMEF-Message>é</IDMEF-Message>'
        self.assertEqual(documentLine(document), "<IDMEF-Message>é</IDMEF-Message>".encode())
        self.assertEqual(withoutDeclaration("\ufeff<?xml version='1.0'?>\n\n<a/>"), "<a/>")

    def test_notXml(self):
        self.assertRaises(FramingError, documentLine, "not\nXML")
        self.assertRaises(FramingError, documentLine,
                          '<!DOCTYPE x [<!ENTITY a "b">]>\n<x>&a;</x>')

    @given(WRITABLE, st.booleans())
    def test_anyDocumentIsOneLine(self, alert, pretty):
        """
        Any alert's document, as written or pretty-printed (line breaks
        between elements, in texts and in attributes), is one line that an
        XML parser reads as the same document.
        """
        document = toXml(alert)
        if pretty:
            root = etree.fromstring(document)
            for element in root.iter():
                if element.text is not None:
                    element.text = "\n" + element.text + "\r\n"
                for name in element.attrib:
                    element.set(name, element.get(name) + "\n")
            etree.indent(root)
            document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        text = document.decode("utf-8")
        line = documentLine(text)
        assertLine(self, line)
        self.assertEqual(canonical(line), canonical(document))


class FifoRecordTests(SynchronousTestCase):
    def test_record(self):
        one = routed(3, description="Auth failed: root")
        record = fifoRecord(one)
        self.assertTrue(record.endswith(b"</IDMEF-Message>\0"))
        head, document = record[:-1].split(b"\n", 1)
        self.assertEqual(head, b"MICE-REACTION/1 length=%d key=web01%%2F0%%2F3%%2F0 messageid=3"
                               b" analyzer=MICE-RegEx aid=0x1020 severity=high"
                               b" desc=Auth%%20failed%%3A%%20root from=aa01"
                               b" received=2026-11-22T10%%3A00%%3A02Z" % len(document))
        fields, parsed = parseFifoRecord(record[:-1])
        self.assertEqual(parsed, document)
        self.assertEqual(canonical(document), canonical(one.document))
        self.assertEqual(fields["desc"], "Auth failed: root")

    def test_nulRefused(self):
        bad = RoutedAlert("k", routed(1).alert, "<a>\0</a>", "d", "s", "t")
        self.assertRaises(FramingError, fifoRecord, bad)

    def test_cutShort(self):
        record = fifoRecord(routed(1))[:-1]
        self.assertRaises(ValueError, parseFifoRecord, record[:-5])
        self.assertRaises(ValueError, parseFifoRecord, record[:20])
        self.assertRaises(ValueError, parseFifoRecord, b"garbage\n<x/>")

    @given(KEYS, WRITABLE, TEXT, TEXT)
    def test_roundTrip(self, key, alert, description, sender):
        one = RoutedAlert(key, alert, toXml(alert).decode("utf-8"), description, sender,
                          "2026-11-22T10:00:02Z")
        record = fifoRecord(one)
        self.assertEqual(record.count(b"\0"), 1)
        fields, document = parseFifoRecord(record[:-1])
        replaced = key.encode("utf-8", "replace").decode("utf-8")
        self.assertEqual(fields["key"], replaced)
        self.assertEqual(fields["desc"], description.encode("utf-8", "replace").decode("utf-8"))
        self.assertEqual(canonical(document), canonical(one.document.encode("utf-8")))


class ReaderTests(SynchronousTestCase):
    def records(self, count=3):
        return [fifoRecord(routed(n)) for n in range(count)]

    @given(st.lists(st.integers(1, 700), min_size=1, max_size=40))
    def test_anyChunking(self, sizes):
        """
        Records come out whole however the stream is cut into reads.
        """
        stream = b"\0" + b"".join(self.records())
        reader = FifoRecordReader()
        got, bad = [], []
        position = 0
        for size in sizes * (len(stream) // sum(sizes) + 1):
            records, wrong = reader.feed(stream[position:position + size])
            got.extend(records)
            bad.extend(wrong)
            position += size
            if position >= len(stream):
                break
        self.assertEqual([fields["key"] for fields, _ in got],
                         [f"web01/0/{n}/0" for n in range(3)])
        self.assertEqual(bad, [])
        self.assertIsNone(reader.end())

    def test_remnantThenResync(self):
        """
        What a writer left of a record cut short, then a new connection's
        NUL: one bad record, then the next records whole.
        """
        first, second, third = self.records()
        reader = FifoRecordReader()
        records, bad = reader.feed(first[:300] + b"\0" + second + third)
        self.assertEqual(len(bad), 1)
        self.assertEqual([fields["key"] for fields, _ in records],
                         ["web01/0/1/0", "web01/0/2/0"])

    def test_unfinishedAtEnd(self):
        reader = FifoRecordReader()
        records, bad = reader.feed(self.records(1)[0][:-10])
        self.assertEqual((records, bad), ([], []))
        self.assertTrue(reader.end().startswith(b"MICE-REACTION/1 "))
        self.assertIsNone(reader.end())

    def test_tooLong(self):
        reader = FifoRecordReader(maxRecord=1000)
        records, bad = reader.feed(b"x" * 1500)
        self.assertEqual((records, len(bad)), ([], 1))
        records, bad = reader.feed(b"y" * 1500 + b"\0" + self.records(1)[0])
        self.assertEqual(([fields["key"] for fields, _ in records], bad), (["web01/0/0/0"], []))
