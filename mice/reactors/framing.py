# -*- test-case-name: tests.unit.reactors.test_framing -*-
"""
How the save-to-file and FIFO reactions frame IDMEF documents, pure.

 - L{documentLine}: one document as one line of UTF-8 (no newline inside),
   what C{rid_3_save_to_file} appends, so C{tail -f}, C{grep} and a reader
   splitting on newlines each see whole documents.
 - L{fifoRecord}: one document as one record for an external reaction
   program: a header line, the document, a NUL byte.  XML cannot hold a NUL,
   so a reader splits on it and never finds one inside a document.
   L{parseFifoRecord} and L{FifoRecordReader} read them back.

See C{docs/reactions.rst} for both formats and reader examples.
"""

import re
import urllib.parse

from lxml import etree

from mice.idmef import parseDocument

#: The first word of a FIFO record's header line, with the format version.
FIFO_MAGIC = b"MICE-REACTION/1"

#: What ends a FIFO record.
NUL = b"\0"

#: An XML declaration (and a byte order mark) at the start of a document.
_DECLARATION = re.compile(r"\A\ufeff?(?:<\?xml\s[^?>]*\?>)?\s*")

#: Characters a line reader may take for the end of a line: LF, CR (Python's
#: universal newlines), NEL, LS, PS (str.splitlines).
_LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
_REFERENCES = {"\n": "&#10;", "\r": "&#13;", "\x85": "&#133;", "\u2028": "&#8232;",
               "\u2029": "&#8233;"}


class FramingError(ValueError):
    """
    A document that cannot be framed (not XML where that matters, or a NUL
    in it).
    """


def withoutDeclaration(document):
    """
    C{document} (text) without its XML declaration and leading blanks: the
    bytes written are always UTF-8, which needs none, and a declaration that
    named another encoding would lie about them.
    """
    return _DECLARATION.sub("", document, count=1)


def documentLine(document):
    """
    C{document} (an IDMEF-Message as text) as one line of UTF-8 bytes,
    without the newline that ends it.

    Our own documents (and any other without a line break past the XML
    declaration) are written as they are, less the declaration.  Others are
    parsed (with the hardened IDMEF parser) and written again by lxml
    without declaration, DOCTYPE, comments or processing instructions;
    lxml writes line breaks in attribute values as character references,
    and those left in text are replaced by theirs (C{&#10;} and so on),
    which an XML parser reads back as the same characters.

    @raise FramingError: a document with line breaks that is not XML.
    """
    text = withoutDeclaration(document)
    if _LINE_BREAKS.search(text) is None:
        return text.encode("utf-8", "replace")
    try:
        root = parseDocument(document).getroot()
    except ValueError as e:
        raise FramingError(f"a document with line breaks that is not XML: {e}") from None
    text = etree.tostring(root, encoding="unicode", with_tail=False)
    text = _LINE_BREAKS.sub(lambda match: _REFERENCES[match.group()], text)
    return text.encode("utf-8")


def _quote(value):
    return urllib.parse.quote(str(value), safe="", errors="replace").encode("ascii")


def fifoHeader(routed, length):
    """
    The header line of C{routed}'s record (no newline): L{FIFO_MAGIC} and
    C{name=value} fields, each value percent-encoded (RFC 3986, UTF-8), so
    it holds no space, newline or NUL.  C{length} is the document's length
    in bytes: a reader tells a record cut short by it.
    """
    alert = routed.alert
    fields = [("length", length), ("key", routed.key), ("messageid", alert.messageId),
              ("analyzer", alert.analyzerId),
              ("aid", "-" if alert.alertId is None else "0x%04X" % alert.alertId),
              ("severity", alert.severity), ("desc", routed.description),
              ("from", routed.receivedFrom), ("received", routed.receivedAt)]
    return b" ".join([FIFO_MAGIC, *(b"%s=%s" % (name.encode("ascii"), _quote(value or ""))
                                    for name, value in fields)])


def fifoRecord(routed):
    """
    C{routed} (a L{mice.alerts.RoutedAlert}) as one FIFO record: its
    L{fifoHeader}, a newline, its IDMEF document in UTF-8 (without XML
    declaration, line breaks kept), a NUL.  The header's C{length} field is
    the document's length in bytes.

    @raise FramingError: the document holds a NUL (no XML does).
    """
    document = withoutDeclaration(routed.document).encode("utf-8", "replace")
    if NUL in document:
        raise FramingError("the document holds a NUL byte, which no XML document can")
    return b"".join((fifoHeader(routed, len(document)), b"\n", document, NUL))


def parseFifoRecord(record):
    """
    Read one record (bytes, without its NUL).

    @return: C{(fields, document)}: a dict of the header's fields (decoded
        text) and the document (bytes).
    @raise ValueError: not a record, or one cut short (its document is not
        as long as its header says).
    """
    head, newline, document = record.partition(b"\n")
    words = head.split(b" ")
    if not newline or words[0] != FIFO_MAGIC:
        raise ValueError("not a MICE-REACTION/1 record")
    fields = {}
    for word in words[1:]:
        name, equals, value = word.partition(b"=")
        if not equals:
            raise ValueError(f"bad header field {word[:40]!r}")
        fields[name.decode("ascii")] = urllib.parse.unquote(value.decode("ascii"))
    if fields.get("length") != str(len(document)):
        raise ValueError(f"a record cut short: its document has {len(document)} bytes, its"
                         f" header says {fields.get('length')}")
    return fields, document


class FifoRecordReader:
    """
    Splits a byte stream read from a reaction FIFO into records, as a reader
    program does: feed it what C{read} returns, get back whole records.

    Empty records (the NUL a writer sends first on each new connection) are
    skipped.  What the stream held before a writer's first NUL, or what a
    writer left unfinished (it lost its reader, or stopped, mid-record),
    comes out as a bad record: L{feed} returns it in C{bad} so the reader
    can count it, and goes on with the next one.  A record longer than
    C{maxRecord} bytes is dropped the same way without being held whole.
    """

    def __init__(self, maxRecord=1024 * 1024):
        self.maxRecord = maxRecord
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, data):
        """
        @return: C{(records, bad)}: lists of C{(fields, document)} and of
            the bad records' first bytes.
        """
        records, bad = [], []
        self._buffer += data
        while True:
            end = self._buffer.find(NUL)
            if end < 0:
                if len(self._buffer) > self.maxRecord:
                    if not self._skipping:
                        bad.append(bytes(self._buffer[:80]))
                    self._skipping = True
                    del self._buffer[:]
                return records, bad
            chunk = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if not chunk:
                continue
            try:
                records.append(parseFifoRecord(chunk))
            except ValueError:
                bad.append(chunk[:80])

    def end(self):
        """
        The writer closed: what is left is an unfinished record.

        @return: its first bytes, or C{None} when nothing was left.
        """
        left = bytes(self._buffer[:80]) if self._buffer and not self._skipping else None
        del self._buffer[:]
        self._skipping = False
        return left
