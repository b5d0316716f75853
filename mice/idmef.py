# -*- test-case-name: tests.unit.test_idmef,tests.integration.test_idmef -*-
"""
IDMEF (RFC 4765) for M-ICE: L{toXml} turns an L{Alert} into an
C{IDMEF-Message} document (written directly as text, the bytes lxml would
write for L{toElement}'s tree), L{fromXml} reads such documents back, from
our analysis agents or from any other analyzer (Prelude, Snort through
Prelude, old draft-era producers), and L{validate} checks one against a
DTD file.

The ManagementHost reads IDMEF from the network, so L{fromXml} is a
hardened parser: the size is bounded before parsing, entities are never
resolved, no DTD is loaded and nothing is fetched, and a DOCTYPE that
declares entities (billion laughs, external entities, parameter entities)
or names a DTD by URL or absolute path is refused.  Everything wrong comes
out as an L{IdmefError} whose text says what, so the caller can log it and
go on with the next message.

Pure: lxml only, no reactor; time comes in as text inside the alert.
See C{docs/idmef.rst}.
"""

import copy
import functools
import hashlib
import io
import ipaddress
import os
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from lxml import etree

from mice import __version__
from mice.alerts import SEVERITIES, Alert, Correlation, Heartbeat, Node

#: The RFC 4765 namespace; what L{toXml} writes.
IDMEF_NS = "http://iana.org/idmef"

#: Namespaces L{fromXml} accepts for IDMEF elements: RFC 4765's, the one of
#: the drafts (and of some DTD copies), and none at all (prelude-manager's
#: xmlmod and draft-era producers write unqualified names).
IDMEF_NAMESPACES = frozenset({IDMEF_NS, "urn:iana:xml:ns:idmef"})

#: The default bound on one document, checked before parsing.
MAX_BYTES = 1024 * 1024

#: The Reference that carries the M-ICE alert ID (0x1010 ... 0x8040).
ALERT_ID_ORIGIN = "vendor-specific"
ALERT_ID_MEANING = "M-ICE alert ID"
#: RFC 4765 requires a url in every Reference; M-ICE has no public page
#: per alert ID, so it names the ID as a URN instead.
ALERT_ID_URL = "urn:x-mice:alert-id:%s"

ANALYZER_NAME = "M-ICE"
ANALYZER_MODEL = "M-ICE"
ANALYZER_CLASS = "HIDS"

#: IANA protocol numbers for the protocols logs name; L{fromXml} uses it
#: when a producer gives only C{iana_protocol_number}.
PROTOCOL_NUMBERS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47,
                    "esp": 50, "ah": 51, "ipv6-icmp": 58, "sctp": 132}
_PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}

_NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)

#: Characters XML 1.0 cannot carry (its Char production): C0 controls but
#: tab, LF and CR; lone surrogates (possible in a Python str); U+FFFE, U+FFFF.
_NOT_XML_CLASS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile("[%s]" % _NOT_XML_CLASS)


class IdmefError(ValueError):
    """
    A document (or an alert to write) that is not acceptable IDMEF; the
    text says why.
    """


def xmlSafe(text):
    """
    C{text} with every character XML 1.0 cannot carry written as a Python
    style escape (C{\\x1b}, C{\\ud800}, C{\\uffff}), so a log line with
    terminal escapes or an attacker's NUL bytes still goes out as valid XML
    and still shows what was there.  Not reversible (a literal C{\\x1b} in
    the text reads back the same way), which is why it is kept for these
    characters only: text without them is written unchanged.
    """
    if _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(_escapeChar, text)


def _escapeChar(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def ntpStamp(isoTime):
    """
    The RFC 4765 C{ntpstamp} (C{0xSSSSSSSS.0xFFFFFFFF}: seconds since
    1900-01-01 UTC modulo 2**32, and the binary fraction of a second) of an
    ISO 8601 time.  A time without a zone is taken as UTC.

    @raise IdmefError: C{isoTime} is not an ISO 8601 time.
    """
    try:
        when = datetime.fromisoformat(isoTime)
    except (TypeError, ValueError):
        raise IdmefError(f"not an ISO 8601 time: {isoTime!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - _NTP_EPOCH
    seconds = (delta.days * 86400 + delta.seconds) % 2 ** 32
    fraction = (delta.microseconds << 32) // 1000000
    return "0x%08x.0x%08x" % (seconds, fraction)


def isoFromNtpStamp(stamp):
    """
    The ISO 8601 UTC time of an RFC 4765 C{ntpstamp} (in the NTP era that
    began in 1900), for a producer that gives only the stamp.

    @raise IdmefError: C{stamp} is not an ntpstamp.
    """
    try:
        seconds, fraction = (int(part, 16) for part in stamp.split("."))
        if not (0 <= seconds < 2 ** 32 and 0 <= fraction < 2 ** 32):
            raise ValueError("out of range")
        micro = (fraction * 1000000 + (1 << 31)) >> 32
        return (_NTP_EPOCH + timedelta(seconds=seconds, microseconds=micro)).isoformat()
    except (AttributeError, ValueError, OverflowError):
        raise IdmefError(f"not an ntpstamp: {stamp!r}") from None


# -- building ---------------------------------------------------------------

def _tag(name):
    return "{%s}%s" % (IDMEF_NS, name)


_T = {name: _tag(name) for name in (
    "IDMEF-Message", "Alert", "Analyzer", "Node", "name", "Address", "address",
    "CreateTime", "DetectTime", "Source", "Target", "User", "UserId", "number",
    "Process", "pid", "Service", "port", "Classification", "Reference", "url",
    "Assessment", "Impact", "AdditionalData", "string", "CorrelationAlert", "alertident")}
_NSMAP = {None: IDMEF_NS}
_SubElement = etree.SubElement


def _text(parent, tag, text):
    element = _SubElement(parent, _T[tag])
    element.text = text
    return element


def _str(value):
    """Text for XML: C{str()} of non-strings, then L{xmlSafe}."""
    return xmlSafe(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=4096)
def _addressCategory(address):
    """The RFC 4765 Address category of C{address} (addresses repeat: cached)."""
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        return "unknown"
    return "ipv4-addr" if version == 4 else "ipv6-addr"


def _writeNode(parent, tag, node, userType):
    """
    One Source or Target.  Element order and required children follow the
    RFC 4765 DTD: Node is (name?, Address) or (name), Process and Service
    must have a name (or a port), so an unknown name is written empty, which
    L{fromXml} reads back as unknown.
    """
    end = _SubElement(parent, _T[tag])
    if node.hostname or node.address:
        element = _SubElement(end, _T["Node"])
        if node.hostname:
            _text(element, "name", _str(node.hostname))
        if node.address:
            address = _SubElement(element, _T["Address"],
                                  category=_addressCategory(node.address))
            _text(address, "address", _str(node.address))
    if node.user or node.uid is not None:
        user = _SubElement(end, _T["User"])
        userId = _SubElement(user, _T["UserId"], type=userType)
        if node.user:
            _text(userId, "name", _str(node.user))
        if node.uid is not None:
            _text(userId, "number", str(int(node.uid)))
    if node.process or node.pid is not None:
        process = _SubElement(end, _T["Process"])
        _text(process, "name", _str(node.process or ""))
        if node.pid is not None:
            _text(process, "pid", str(int(node.pid)))
    if node.service or node.port is not None or node.protocol:
        service = _SubElement(end, _T["Service"])
        if node.protocol:
            number = PROTOCOL_NUMBERS.get(node.protocol.lower())
            if number is not None:
                service.set("iana_protocol_number", str(number))
            service.set("iana_protocol_name", _str(node.protocol))
        if node.service or node.port is None:
            _text(service, "name", _str(node.service or ""))
        if node.port is not None:
            _text(service, "port", str(int(node.port)))


def _required(value, what):
    if value is None or value == "":
        raise IdmefError(f"the alert has no {what}")
    return _str(value)


def toElement(alert):
    """
    The C{IDMEF-Message} element (lxml) of one L{Alert}: the tree of the
    document L{toXml} writes directly.

    @raise IdmefError: the alert lacks a messageId, analyzerId or
        createTime, a time is not ISO 8601, or the severity is not one of
        L{SEVERITIES}.
    """
    messageId = _required(alert.messageId, "messageId")
    analyzerId = _required(alert.analyzerId, "analyzerId")
    createTime = _required(alert.createTime, "createTime")
    if alert.severity not in SEVERITIES:
        raise IdmefError(f"severity {alert.severity!r} is not one of {', '.join(SEVERITIES)}")

    root = etree.Element(_T["IDMEF-Message"], nsmap=_NSMAP, version="1.0")
    element = _SubElement(root, _T["Alert"], messageid=messageId)

    analyzer = _SubElement(element, _T["Analyzer"], {
        "analyzerid": analyzerId, "name": ANALYZER_NAME, "model": ANALYZER_MODEL,
        "version": __version__, "class": ANALYZER_CLASS})
    if alert.analyzerHost:
        _text(_SubElement(analyzer, _T["Node"]), "name", _str(alert.analyzerHost))

    _text(element, "CreateTime", createTime).set("ntpstamp", ntpStamp(alert.createTime))
    if alert.detectTime:
        _text(element, "DetectTime", _str(alert.detectTime)).set(
            "ntpstamp", ntpStamp(alert.detectTime))

    for node in alert.sources:
        _writeNode(element, "Source", node, "original-user")
    for node in alert.targets:
        _writeNode(element, "Target", node, "target-user")

    classification = _SubElement(element, _T["Classification"],
                                 text=_str(alert.classification or ""))
    if alert.alertId is not None:
        name = "0x%04x" % alert.alertId
        reference = _SubElement(classification, _T["Reference"],
                                origin=ALERT_ID_ORIGIN, meaning=ALERT_ID_MEANING)
        _text(reference, "name", name)
        _text(reference, "url", ALERT_ID_URL % name)

    _SubElement(_SubElement(element, _T["Assessment"]), _T["Impact"], severity=alert.severity)

    if alert.correlation is not None:
        correlation = _SubElement(element, _T["CorrelationAlert"])
        _text(correlation, "name", _str(alert.correlation.name))
        for analyzerId, messageId in alert.correlation.alerts:
            _text(correlation, "alertident", _str(messageId)).set("analyzerid", _str(analyzerId))

    for meaning, value in alert.additionalData:
        data = _SubElement(element, _T["AdditionalData"], type="string", meaning=_str(meaning))
        _text(data, "string", _str(value))
    return root


def _toXmlLxml(alert):
    """
    L{toXml} the slow way: L{toElement}'s tree serialized by lxml.  The
    reference L{toXml} is tested against, byte for byte.
    """
    return etree.tostring(toElement(alert), xml_declaration=True, encoding="UTF-8")


# -- writing ----------------------------------------------------------------
#
# toXml writes the document as text, without building a tree: the bytes of
# _toXmlLxml, at a fraction of the cost (an analysis agent writes one
# document per alert).  What lxml (6.0 over libxml2 2.14) escapes, and how,
# was read off its output, and tests.unit.test_idmef.WriterTests checks it for
# every code point: in element content & < > and CR (which a parser would
# turn into LF); in attribute values also the double quote, tab and LF
# (which a parser would turn into spaces); nothing else, since the
# document is UTF-8.

#: What L{_content} has to change: characters XML cannot carry, and markup.
_CONTENT_SPECIAL = re.compile("[%s&<>\r]" % _NOT_XML_CLASS)
#: What L{_attribute} has to change.
_ATTRIBUTE_SPECIAL = re.compile('[%s&<>"\t\n\r]' % _NOT_XML_CLASS)


def _content(value):
    """
    C{value} as element content: what L{_str} gives, escaped as lxml
    escapes it.  Most text needs nothing and is returned as it is.
    """
    text = value if isinstance(value, str) else str(value)
    if _CONTENT_SPECIAL.search(text) is None:
        return text
    return (xmlSafe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _attribute(value):
    """C{value} as the text of a double-quoted attribute value, as lxml writes it."""
    text = value if isinstance(value, str) else str(value)
    if _ATTRIBUTE_SPECIAL.search(text) is None:
        return text
    return (xmlSafe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
            .replace("\r", "&#13;"))


def _present(value, what):
    if value is None or value == "":
        raise IdmefError(f"the alert has no {what}")
    return value


_stamps = {}


def _ntpStamp(isoTime):
    """
    L{ntpStamp}, remembered for the last few thousand times: an agent's
    alerts share their second, and CreateTime and DetectTime are often the
    same time.
    """
    if type(isoTime) is not str:
        return ntpStamp(isoTime)
    stamp = _stamps.get(isoTime)
    if stamp is None:
        stamp = ntpStamp(isoTime)
        if len(_stamps) >= 4096:
            _stamps.clear()
        _stamps[isoTime] = stamp
    return stamp


_DOCUMENT_START = ("<?xml version='1.0' encoding='UTF-8'?>\n"
                   '<IDMEF-Message xmlns="%s" version="1.0"><Alert messageid="' % IDMEF_NS)
_ANALYZER_REST = '" name="%s" model="%s" version="%s" class="%s"' % tuple(
    map(_attribute, (ANALYZER_NAME, ANALYZER_MODEL, __version__, ANALYZER_CLASS)))
_USER_TYPES = {"Source": "original-user", "Target": "target-user"}
_REFERENCE = ('><Reference origin="%s" meaning="%s"><name>%%s</name><url>%%s</url></Reference>'
              "</Classification>" % (_attribute(ALERT_ID_ORIGIN), _attribute(ALERT_ID_MEANING)))


def _nodeParts(parts, tag, node):
    """
    Append one Source or Target to C{parts}, as L{_writeNode} builds it
    (the same elements, the same order of the same checks).
    """
    append = parts.append
    append("<%s" % tag)
    empty = True
    if node.hostname or node.address:
        append("><Node>")
        empty = False
        if node.hostname:
            append("<name>%s</name>" % _content(node.hostname))
        if node.address:
            category = _addressCategory(node.address)
            append('<Address category="%s"><address>%s</address></Address>'
                   % (category, _content(node.address)))
        append("</Node>")
    if node.user or node.uid is not None:
        append('%s<User><UserId type="%s">' % (">" if empty else "", _USER_TYPES[tag]))
        empty = False
        if node.user:
            append("<name>%s</name>" % _content(node.user))
        if node.uid is not None:
            append("<number>%s</number>" % int(node.uid))
        append("</UserId></User>")
    if node.process or node.pid is not None:
        append("%s<Process><name>%s</name>" % (">" if empty else "", _content(node.process or "")))
        empty = False
        if node.pid is not None:
            append("<pid>%s</pid>" % int(node.pid))
        append("</Process>")
    if node.service or node.port is not None or node.protocol:
        append("%s<Service" % (">" if empty else ""))
        empty = False
        if node.protocol:
            number = PROTOCOL_NUMBERS.get(node.protocol.lower())
            if number is not None:
                append(' iana_protocol_number="%s"' % number)
            append(' iana_protocol_name="%s"' % _attribute(node.protocol))
        append(">")
        if node.service or node.port is None:
            append("<name>%s</name>" % _content(node.service or ""))
        if node.port is not None:
            append("<port>%s</port>" % int(node.port))
        append("</Service>")
    append("/>" if empty else "</%s>" % tag)


def toXml(alert):
    """
    One L{Alert} as an RFC 4765 C{IDMEF-Message} document: UTF-8 bytes with
    an XML declaration, in the C{http://iana.org/idmef} namespace.

    Text that XML 1.0 cannot carry is escaped by L{xmlSafe}, so the result
    is always well-formed XML.  The bytes are those of L{toElement}'s tree
    serialized by lxml, written directly as text.

    @raise IdmefError: see L{toElement}.
    """
    # The checks, conversions and their order are toElement's, so a bad
    # alert fails the same way.
    messageId = _attribute(_present(alert.messageId, "messageId"))
    analyzerId = _attribute(_present(alert.analyzerId, "analyzerId"))
    createTime = _content(_present(alert.createTime, "createTime"))
    severity = alert.severity
    if severity not in SEVERITIES:
        raise IdmefError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")

    parts = [_DOCUMENT_START, messageId, '"><Analyzer analyzerid="', analyzerId, _ANALYZER_REST]
    append = parts.append
    if alert.analyzerHost:
        append("><Node><name>%s</name></Node></Analyzer>" % _content(alert.analyzerHost))
    else:
        append("/>")

    append('<CreateTime ntpstamp="%s">%s</CreateTime>' % (_ntpStamp(alert.createTime), createTime))
    if alert.detectTime:
        text = _content(alert.detectTime)
        append('<DetectTime ntpstamp="%s">%s</DetectTime>' % (_ntpStamp(alert.detectTime), text))

    for node in alert.sources:
        _nodeParts(parts, "Source", node)
    for node in alert.targets:
        _nodeParts(parts, "Target", node)

    append('<Classification text="%s"' % _attribute(alert.classification or ""))
    if alert.alertId is not None:
        name = "0x%04x" % alert.alertId
        append(_REFERENCE % (name, _content(ALERT_ID_URL % name)))
    else:
        append("/>")

    append('<Assessment><Impact severity="%s"/></Assessment>' % _attribute(severity))
    if alert.correlation is not None:
        append("<CorrelationAlert><name>%s</name>" % _content(alert.correlation.name))
        for analyzerId, messageId in alert.correlation.alerts:
            append('<alertident analyzerid="%s">%s</alertident>'
                   % (_attribute(analyzerId), _content(messageId)))
        append("</CorrelationAlert>")

    for meaning, value in alert.additionalData:
        append('<AdditionalData type="string" meaning="%s"><string>%s</string></AdditionalData>'
               % (_attribute(meaning), _content(value)))
    append("</Alert></IDMEF-Message>")
    return "".join(parts).encode("utf-8")


# -- parsing ----------------------------------------------------------------

#: Hardened parsers not in use, by encoding: one is taken for a document
#: and given back after (lxml parsers must not be shared between threads,
#: but one may parse document after document; list.pop and append are
#: atomic, so two threads never hold the same).
_idleParsers = {}


def _fromstring(data, encoding):
    """C{etree.fromstring} with an idle hardened parser (a new one if none is idle)."""
    idle = _idleParsers.get(encoding)
    if idle is None:
        idle = _idleParsers.setdefault(encoding, [])
    try:
        parser = idle.pop()
    except IndexError:
        parser = _newParser(encoding)
    try:
        return etree.fromstring(data, parser)
    finally:
        idle.append(parser)


def _newParser(encoding=None):
    """A new hardened parser."""
    return etree.XMLParser(
        encoding=encoding, resolve_entities=False, no_network=True, load_dtd=False,
        dtd_validation=False, attribute_defaults=False, huge_tree=False,
        remove_comments=True, remove_pis=True)


def _isPlainFileName(url):
    """
    Whether a DOCTYPE system identifier is a bare relative file name such as
    C{idmef-message.dtd} (what old producers write), not a URL or a path
    that would point somewhere else.
    """
    return bool(url) and re.fullmatch(r"[\w.-]+", url) is not None and url not in (".", "..")


#: A prolog (after an optional BOM, the XML declaration, comments, PIs)
#: whose DOCTYPE opens an internal subset, where entities are declared.
#: Atomic groups and possessive repeats keep it linear on any input.
_INTERNAL_SUBSET = re.compile(
    rb"""(?:\xef\xbb\xbf)?(?>\s+|<\?(?:[^?]|\?(?!>))*+\?>|<!--(?:[^-]|-(?!->))*+-->)*+"""
    rb"""<!DOCTYPE\s++[^\s\[>]++(?>\s++(?:"[^"]*+"|'[^']*+'|[^\s"'\[>]++))*+\s*+\[""")
_PROLOG_BYTES = 64 * 1024


def _prolog(data):
    """
    The start of C{data} as bytes the prolog check can read: UTF-16 and
    UTF-32 documents (told by their BOM) re-encoded as UTF-8.
    """
    head = data[:_PROLOG_BYTES]
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if head.startswith(bom):
            return head.decode(codec, "ignore").encode("utf-8")
    return head


def parseDocument(data, maxBytes=MAX_BYTES):
    """
    Parse C{data} (bytes, or a str taken as UTF-8 text) with the hardened
    parser and refuse what IDMEF never needs: more than C{maxBytes} bytes,
    a DOCTYPE that declares entities or elements, or one that names its DTD
    by URL or path.  Returns the lxml tree.

    @raise IdmefError: with the reason.
    """
    encoding = None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
        encoding = "utf-8"
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise IdmefError(f"expected bytes, not {type(data).__name__}")
    if len(data) > maxBytes:
        raise IdmefError(f"message too large: {len(data)} bytes, at most {maxBytes} accepted")
    if not data.strip():
        raise IdmefError("empty message")
    # Text given as str is UTF-8 here: without the bytes "<!DOCTYPE" it has
    # no DOCTYPE at all, and neither check below can find anything.
    declared = encoding is None or b"<!DOCTYPE" in data
    if declared and _INTERNAL_SUBSET.match(_prolog(data)):
        # Refused before libxml2 sees it: IDMEF needs no declarations, and
        # this is where entity bombs and external entities live.
        raise IdmefError("DOCTYPE with an internal subset (entity or other declarations): "
                         "refused, entities are never expanded or fetched")
    try:
        root = _fromstring(data, encoding)
    except etree.XMLSyntaxError as e:
        raise IdmefError(f"not well-formed XML: {e}") from None
    except ValueError as e:
        raise IdmefError(f"not XML: {e}") from None
    if root is None:
        raise IdmefError("not XML: no root element")
    tree = root.getroottree()
    if not declared:
        return tree
    docinfo = tree.docinfo
    internal = docinfo.internalDTD
    if internal is not None:
        # The same refusal, for a prolog the check above could not read.
        entities = [entity.name for entity in internal.iterentities()]
        if entities:
            raise IdmefError(
                "DOCTYPE declares entities (%s): refused, entities are never expanded or fetched"
                % ", ".join(entities[:5]))
        if next(internal.iterelements(), None) is not None:
            raise IdmefError("DOCTYPE has an internal subset with declarations: refused")
    systemUrl = docinfo.system_url
    if systemUrl is not None and not _isPlainFileName(systemUrl):
        raise IdmefError(f"DOCTYPE names an external DTD {systemUrl!r}: refused, never fetched")
    return tree


_names = {}


def _name(element):
    """
    The IDMEF local name of C{element}, or C{None} for one outside the IDMEF
    namespaces (an extension) or not an element.  Remembered per tag (a
    bounded cache: a document may invent any number of tags).
    """
    tag = element.tag
    name = _names.get(tag, _names)
    if name is not _names:
        return name
    if not isinstance(tag, str):
        name = None
    elif tag[0] == "{":
        namespace, _, local = tag[1:].partition("}")
        name = local if namespace in IDMEF_NAMESPACES else None
    else:
        name = tag
    if len(_names) > 1024:
        _names.clear()
    _names[tag] = name
    return name


def _byName(element):
    """The IDMEF children of C{element} by local name, each list in order."""
    children = {}
    for child in element:
        name = _name(child)
        if name is not None:
            children.setdefault(name, []).append(child)
    return children


def _children(element, name):
    return [child for child in element if _name(child) == name]


def _child(element, name):
    for child in element:
        if _name(child) == name:
            return child
    return None


def _textOf(element):
    """The whole text content of C{element} (C{""} when empty)."""
    if element is None:
        return ""
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def _childText(element, name):
    """The text of C{element}'s first child C{name}; C{None} if absent or empty."""
    if element is None:
        return None
    return _textOf(_child(element, name)) or None


def _integer(text, what, where):
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise IdmefError(f"{where}: {what} {text!r} is not an integer") from None


def _leafText(element):
    """The whole text of C{element}; C{None} if empty (L{_textOf}, hot path)."""
    if len(element) == 0:
        return element.text or None
    return "".join(element.itertext()) or None


def _firstTexts(element, first, second=None, third=None):
    """
    The texts (L{_leafText}) of the first IDMEF children of C{element}
    named C{first}, C{second} and C{third}, in one pass over its children:
    a list of three, C{None} for a name absent or empty.  The readers below
    make one such pass per element (this is the ManagementHost's hot path:
    L{_name}'s cache is read inline).
    """
    out = [None, None, None]
    seen = 0
    cached = _names.get
    for child in element:
        name = cached(child.tag, _names)
        if name is _names:
            name = _name(child)
        if name is None:
            continue
        if name == first:
            slot = 1
        elif name == second:
            slot = 2
        elif name == third:
            slot = 4
        else:
            continue
        if not seen & slot:
            seen |= slot
            out[slot >> 1] = _leafText(child)
    return out


def _addressOf(addresses):
    """
    The address of an IDMEF Node's Address elements: the first IPv4/IPv6
    one (netmask and other categories aside), else the first of any kind.
    """
    first = None
    for address in addresses:
        text = _firstTexts(address, "address")[0]
        if text is None:
            continue
        category = address.get("category", "unknown")
        if category in ("ipv4-addr", "ipv6-addr"):
            return text
        if category == "ipv4-addr-hex":
            try:
                return str(ipaddress.IPv4Address(int(text.strip(), 16)))
            except ValueError:
                pass
        if first is None:
            first = text
    return first


def _childrenByName(element, wanted):
    """
    The children of C{element} by IDMEF name, in one pass.

    @param wanted: C{{name: _FIRST or _EVERY}}: the names read.
    @return: C{(first, every)}: C{first[name]} the first child of a name
        wanted L{_FIRST} (later ones are ignored), C{every[name]} the list
        of the children of a name wanted L{_EVERY} (absent when none).
    """
    first, every = {}, {}
    cached = _names.get
    for child in element:
        name = cached(child.tag, _names)
        if name is _names:
            name = _name(child)
        kind = wanted.get(name)
        if kind is _FIRST:
            if name not in first:
                first[name] = child
        elif kind is _EVERY:
            found = every.get(name)
            if found is None:
                every[name] = [child]
            else:
                found.append(child)
    return first, every


def _readNodeElement(node):
    """C{(name, address)} of an IDMEF Node, in one pass over its children."""
    hostname = None
    named = False
    addresses = []
    cached = _names.get
    for child in node:
        name = cached(child.tag, _names)
        if name is _names:
            name = _name(child)
        if name == "Address":
            addresses.append(child)
        elif name == "name" and not named:
            named = True
            hostname = _leafText(child)
    return hostname, _addressOf(addresses)


def _readAddress(node):
    """The address of an IDMEF Node (see L{_addressOf})."""
    return _readNodeElement(node)[1]


def _readNode(element, where):
    """One Source or Target as a L{Node}."""
    hostname = address = user = uid = process = pid = service = port = protocol = None
    first, _ = _childrenByName(element, _NODE_PARTS)
    node, users = first.get("Node"), first.get("User")
    processes, services = first.get("Process"), first.get("Service")

    if node is not None:
        hostname, address = _readNodeElement(node)

    if users is not None:
        for userId in users:
            if _name(userId) != "UserId":
                continue
            user, number, _ = _firstTexts(userId, "name", "number")
            uid = _integer(number, "user number", where)
            if user is not None or uid is not None:
                break

    if processes is not None:
        process, number, _ = _firstTexts(processes, "name", "pid")
        pid = _integer(number, "pid", where)

    if services is not None:
        service, number, named = _firstTexts(services, "name", "port", "protocol")
        port = _integer(number, "port", where)
        protocol = services.get("iana_protocol_name") or None
        if protocol is None:
            number = services.get("iana_protocol_number")
            if number is not None:
                protocol = _PROTOCOL_NAMES.get(_integer(number, "protocol number", where))
        if protocol is None:
            protocol = named

    return Node(address=address, hostname=hostname, port=port, protocol=protocol,
                user=user, uid=uid, process=process, pid=pid, service=service)


def _readTime(element, what, where):
    return _timeOf(_textOf(element), element.get("ntpstamp"), what, where)


def _timeOf(text, stamp, what, where):
    """A time element's text, or, when it is empty, the time of its C{ntpstamp}."""
    text = text.strip()
    if not text:
        if not stamp:
            raise IdmefError(f"{where}: {what} is empty")
        text = isoFromNtpStamp(stamp)
    return text


def _readAlertId(classification):
    for reference in _children(classification, "Reference"):
        if (reference.get("meaning") or "").strip().lower() != ALERT_ID_MEANING.lower():
            continue
        alertId = _alertIdOf(_childText(reference, "name"))
        if alertId is not None:
            return alertId
    return None


def _alertIdOf(name):
    """The M-ICE alert ID a Reference's name gives (C{0x1020}, or decimal), or C{None}."""
    name = (name or "").strip()
    try:
        return int(name, 16) if name[:2].lower() == "0x" else int(name, 10)
    except ValueError:
        return None


def _readData(element):
    """
    The value of one AdditionalData: the text of its typed child
    (C{<string>}, C{<integer>}, ...; an C{<xml>} child serialized), or, as
    older producers and prelude-manager's xmlmod write it, its own text.
    """
    for child in element:
        name = _name(child)
        if name is None:
            continue
        if name == "xml":
            return (child.text or "") + "".join(
                etree.tostring(inner, encoding="unicode") for inner in child)
        return _textOf(child)
    return element.text or ""


#: What L{_childrenByName} keeps of a name: the first child, or every one.
_FIRST, _EVERY = "first", "every"
#: The children of an Alert, and of a Source or Target, that are read.
_ALERT_PARTS = {
    "Analyzer": _FIRST, "CreateTime": _FIRST, "DetectTime": _FIRST, "Assessment": _FIRST,
    "CorrelationAlert": _FIRST,
    "AdditionalData": _EVERY, "Source": _EVERY, "Target": _EVERY, "Classification": _EVERY}
_NODE_PARTS = {"Node": _FIRST, "Service": _FIRST, "User": _FIRST, "Process": _FIRST}


def _readAlert(element, where):
    messageId = element.get("messageid") or element.get("ident")
    if not messageId:
        raise IdmefError(f"{where}: no messageid")
    first, every = _childrenByName(element, _ALERT_PARTS)
    analyzer, createTime = first.get("Analyzer"), first.get("CreateTime")
    detectTime, assessment = first.get("DetectTime"), first.get("Assessment")
    correlation = first.get("CorrelationAlert")
    classifications, sources = every.get("Classification", ()), every.get("Source", ())
    targets, data = every.get("Target", ()), every.get("AdditionalData", ())

    if analyzer is None:
        raise IdmefError(f"{where}: no Analyzer")
    analyzerId = analyzer.get("analyzerid")
    if not analyzerId:
        raise IdmefError(f"{where}: the Analyzer has no analyzerid")
    analyzerHost = None
    node = _child(analyzer, "Node")
    if node is not None:
        hostname, address = _readNodeElement(node)
        analyzerHost = hostname or address

    if createTime is None:
        raise IdmefError(f"{where}: no CreateTime")
    createTime = _readTime(createTime, "CreateTime", where)
    if detectTime is not None:
        detectTime = _readTime(detectTime, "DetectTime", where)

    classification = text = None
    for candidate in classifications:
        # RFC 4765 has one, with text=; the drafts allowed several, named by
        # a <name> child.
        text = candidate.get("text")
        if text is None:
            text = _childText(candidate, "name")
        if text is not None:
            classification = candidate
            break
    if classification is None:
        raise IdmefError(f"{where}: no Classification with a text")

    severity = "medium"
    impact = _child(assessment, "Impact") if assessment is not None else None
    if impact is not None:
        value = impact.get("severity")
        if value in SEVERITIES:
            severity = value

    sources = tuple([_readNode(source, f"{where} Source {i}")
                     for i, source in enumerate(sources, 1)])
    targets = tuple([_readNode(target, f"{where} Target {i}")
                     for i, target in enumerate(targets, 1)])
    additionalData = tuple([(item.get("meaning") or "", _readData(item)) for item in data])

    if correlation is not None:
        correlation = Correlation(
            (_childText(correlation, "name") or "").strip(),
            tuple((ident.get("analyzerid") or analyzerId, _textOf(ident).strip())
                  for ident in _children(correlation, "alertident")))

    return Alert(
        messageId=messageId, analyzerId=analyzerId, createTime=createTime,
        classification=text, alertId=_readAlertId(classification), detectTime=detectTime,
        severity=severity, sources=sources, targets=targets, analyzerHost=analyzerHost,
        additionalData=additionalData, correlation=correlation)


# -- our own documents ------------------------------------------------------
#
# Nearly every document a ManagementHost reads was written by toXml in an
# M-ICE analysis agent.  _readOwnAlert reads exactly that text (the layout
# toXml writes, every optional part of it, and nothing else) with a few
# regular expressions, without building a tree: the same Alert as
# _readAlert, at a fraction of the cost.  Whatever does not match to the
# last character (another producer, a message of several alerts, other
# character references, anything unusual) goes the whole way: the hardened
# parser and _readAlert.  What it accepts is well-formed (the text holds
# no markup but the few references it decodes, no character XML cannot
# carry, no CR, no DOCTYPE) and valid against the RFC 4765 DTD (the
# elements in the DTD's order, with the contents and attribute values the
# DTD allows): tests.unit.test_idmef.OwnDocumentTests checks both.

#: Element content as toXml writes it: no markup but its four references.
_OWN_TEXT = "[^<>&\r%s]*+(?:&(?:amp|lt|gt|#13);[^<>&\r%s]*+)*+" % (
    _NOT_XML_CLASS, _NOT_XML_CLASS)
#: A double-quoted attribute value as toXml writes it.
_OWN_VALUE = '[^<>&"\t\n\r%s]*+(?:&(?:amp|lt|gt|quot|#9|#10|#13);[^<>&"\t\n\r%s]*+)*+' % (
    _NOT_XML_CLASS, _NOT_XML_CLASS)
_OWN_REFERENCE = re.compile("&(?:amp|lt|gt|quot|#9|#10|#13);")
_OWN_CHARACTERS = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#9;": "\t",
                   "&#10;": "\n", "&#13;": "\r"}


def _ownText(text):
    """The text an element or attribute of L{_OWN_TEXT} or L{_OWN_VALUE} holds."""
    if "&" not in text:
        return text
    return _OWN_REFERENCE.sub(lambda match: _OWN_CHARACTERS[match.group()], text)


def _ownPattern(pattern):
    return re.compile(pattern.replace("TEXT", _OWN_TEXT).replace("VALUE", _OWN_VALUE))


_OWN_HEAD = _ownPattern(
    r"<\?xml version='1\.0' encoding='UTF-8'\?>\n"
    r'<IDMEF-Message xmlns="http://iana\.org/idmef" version="1\.0">'
    r'<Alert messageid="(?!")(VALUE)"><Analyzer analyzerid="(?!")(VALUE)"'
    r' name="VALUE" model="VALUE" version="VALUE" class="VALUE"'
    r"(?:/>|><Node><name>(TEXT)</name></Node></Analyzer>)"
    r'<CreateTime ntpstamp="(VALUE)">(TEXT)</CreateTime>'
    r'(?:<DetectTime ntpstamp="(VALUE)">(TEXT)</DetectTime>)?')
_OWN_NODE = _ownPattern(
    r"<(Source|Target)(?:/>|>"
    r"(?:<Node>(?!</Node>)(?:<name>(TEXT)</name>)?"
    r'(?:<Address category="(?:ipv4-addr|ipv6-addr|unknown)"><address>(TEXT)</address>'
    r"</Address>)?</Node>)?"
    r'(?:<User><UserId type="(?:original-user|target-user)">(?!</UserId>)'
    r"(?:<name>(TEXT)</name>)?(?:<number>(TEXT)</number>)?</UserId></User>)?"
    r"(?:<Process><name>(TEXT)</name>(?:<pid>(TEXT)</pid>)?</Process>)?"
    r'(?:<Service(?: iana_protocol_number="(VALUE)")?(?: iana_protocol_name="(VALUE)")?>'
    r"(?!</Service>)(?:<name>(TEXT)</name>)?(?:<port>(TEXT)</port>)?</Service>)?"
    r"</\1>)")
_OWN_CLASSIFICATION = _ownPattern(
    r'<Classification text="(VALUE)"(?:/>|><Reference origin="vendor-specific"'
    r' meaning="M-ICE alert ID"><name>(TEXT)</name><url>TEXT</url></Reference>'
    r"</Classification>)"
    r'<Assessment><Impact severity="(info|low|medium|high)"/></Assessment>'
    r"(?:<CorrelationAlert><name>(TEXT)</name>(?=<alertident ))?")
_OWN_IDENT = _ownPattern(r'<alertident analyzerid="(VALUE)">(TEXT)</alertident>')
_OWN_DATA = _ownPattern(
    r'<AdditionalData type="string" meaning="(VALUE)"><string>(TEXT)</string></AdditionalData>')
_OWN_TAIL = re.compile("</Alert></IDMEF-Message>[ \t\r\n]*+")


def _readOwnAlert(text):
    """
    The L{Alert} of a document exactly as L{toXml} writes it (C{str}), as
    L{_readAlert} reads it from the tree; C{None} for any other text, and
    for one that L{_readAlert} would refuse (the caller then parses it and
    says why).
    """
    head = _OWN_HEAD.match(text)
    if head is None:
        return None
    # Most documents hold no reference at all: their texts are as matched.
    unescape = _ownTexts if "&" in text else tuple
    messageId, analyzerId, analyzerHost, created, createTime, detected, detectTime = \
        unescape(head.groups())
    # What goes wrong below is said by _readAlert, on the tree.
    where = "Alert 1"
    try:
        createTime = _timeOf(createTime, created, "CreateTime", where)
        if detectTime is not None:
            detectTime = _timeOf(detectTime, detected, "DetectTime", where)
        position = head.end()
        sources, targets = [], []
        while (node := _OWN_NODE.match(text, position)) is not None:
            groups = unescape(node.groups())
            if groups[0] == "Source":
                if targets:
                    return None
                sources.append(_ownNode(groups, where))
            else:
                targets.append(_ownNode(groups, where))
            position = node.end()
        classification = _OWN_CLASSIFICATION.match(text, position)
        if classification is None:
            return None
        label, referenceName, severity, correlationName = unescape(classification.groups())
        position = classification.end()
        correlation = None
        if correlationName is not None:
            idents = []
            while (ident := _OWN_IDENT.match(text, position)) is not None:
                identAnalyzer, identMessage = unescape(ident.groups())
                idents.append((identAnalyzer or analyzerId, identMessage.strip()))
                position = ident.end()
            if not text.startswith("</CorrelationAlert>", position):
                return None
            position += len("</CorrelationAlert>")
            correlation = Correlation(correlationName.strip(), tuple(idents))
        additionalData = []
        while (data := _OWN_DATA.match(text, position)) is not None:
            additionalData.append(unescape(data.groups()))
            position = data.end()
        tail = _OWN_TAIL.match(text, position)
        if tail is None or tail.end() != len(text):
            return None
    except IdmefError:
        return None
    return Alert(
        messageId=messageId, analyzerId=analyzerId, createTime=createTime,
        classification=label,
        alertId=None if referenceName is None else _alertIdOf(referenceName),
        detectTime=detectTime, severity=severity, sources=tuple(sources),
        targets=tuple(targets), analyzerHost=analyzerHost or None,
        additionalData=tuple(additionalData), correlation=correlation)


def _ownTexts(groups):
    """L{_ownText} of each matched text (C{None}: not there)."""
    return tuple([None if group is None else _ownText(group) for group in groups])


def _ownNode(groups, where):
    """The L{Node} of an L{_OWN_NODE} match's texts, as L{_readNode} reads it."""
    _, hostname, address, user, number, process, pid, protocolNumber, protocol, service, \
        port = groups
    protocol = protocol or None
    if protocol is None and protocolNumber is not None:
        protocol = _PROTOCOL_NAMES.get(_integer(protocolNumber, "protocol number", where))
    return Node(
        address=address or None, hostname=hostname or None,
        port=_integer(port or None, "port", where), protocol=protocol, user=user or None,
        uid=_integer(number or None, "user number", where), process=process or None,
        pid=_integer(pid or None, "pid", where), service=service or None)


def _readHeartbeat(element, where):
    analyzer = _child(element, "Analyzer")
    if analyzer is None or not analyzer.get("analyzerid"):
        raise IdmefError(f"{where}: no Analyzer with an analyzerid")
    createTime = _child(element, "CreateTime")
    if createTime is None:
        raise IdmefError(f"{where}: no CreateTime")
    node = _child(analyzer, "Node")
    host = None
    if node is not None:
        host = _childText(node, "name") or _readAddress(node)
    return Heartbeat(
        analyzerId=analyzer.get("analyzerid"),
        createTime=_readTime(createTime, "CreateTime", where),
        messageId=element.get("messageid") or element.get("ident") or None,
        name=analyzer.get("name") or analyzer.get("model") or None, host=host,
        interval=_integer(_childText(element, "HeartbeatInterval"), "HeartbeatInterval", where))


class IdmefMessage(NamedTuple):
    """
    What L{readMessage} finds in one C{IDMEF-Message} document.
    """

    alerts: tuple
    """The L{Alert}s, in order."""
    heartbeats: tuple
    """The L{Heartbeat}s, in order."""
    documents: tuple
    """When the message holds anything but one Alert: for each alert, an
    C{IDMEF-Message} holding that Alert alone (text, the root's namespace
    declarations kept); else C{()}, and the message is the alert's
    document."""
    problems: tuple = ()
    """What the DTD given to L{readMessage} found wrong (C{()}: valid, or
    not checked)."""


def _alone(root, element):
    """An C{IDMEF-Message} like C{root} holding a copy of C{element} alone, as text."""
    message = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    message.append(copy.deepcopy(element))
    message[0].tail = None
    return etree.tostring(message, encoding="unicode")


# libxml2 without XML_PARSE_HUGE (huge_tree=False, L{parseDocument}) refuses
# a text node longer than this, so a document above it may be refused by the
# tree; the fast path takes only what the tree would take.
_TREE_TEXT_LIMIT = 10_000_000


def readMessage(data, maxBytes=MAX_BYTES, dtd=None):
    """
    Everything M-ICE reads from one C{IDMEF-Message} document (bytes or
    str): its alerts (as L{fromXml} reads them), its heartbeats, and each
    alert's own document when the message holds more than one thing.

    @param dtd: a DTD (L{loadDtd}) to check the document against, on the
        tree parsed here (L{validateTree}).
    @raise IdmefError: as L{fromXml}, and for a Heartbeat without an
        analyzerid or a CreateTime.
    """
    fastLimit = min(maxBytes, _TREE_TEXT_LIMIT)
    if type(data) is str and (dtd is None or isRfc4765Dtd(dtd)) and (
            len(data) <= fastLimit // 4
            or len(data.encode("utf-8", "surrogatepass")) <= fastLimit):
        # A document as our agents write it (nearly all of them) is read
        # without a tree, and needs no DTD check (L{_readOwnAlert}).
        alert = _readOwnAlert(data)
        if alert is not None:
            return IdmefMessage((alert,), (), ())
    tree = parseDocument(data, maxBytes)
    root = tree.getroot()
    if _name(root) != "IDMEF-Message":
        raise IdmefError(f"not an IDMEF message: the root element is {root.tag!r}")
    alerts, heartbeats, elements, others = [], [], [], 0
    for element in root:
        name = _name(element)
        if name == "Alert":
            alerts.append(_readAlert(element, f"Alert {len(alerts) + 1}"))
            elements.append(element)
        elif name == "Heartbeat":
            heartbeats.append(_readHeartbeat(element, f"Heartbeat {len(heartbeats) + 1}"))
            others += 1
        elif isinstance(element.tag, str):
            others += 1
    documents = ()
    if len(alerts) > 1 or (alerts and others):
        documents = tuple(_alone(root, element) for element in elements)
    problems = tuple(validateTree(tree, dtd)) if dtd is not None else ()
    return IdmefMessage(tuple(alerts), tuple(heartbeats), documents, problems)


def fromXml(data, maxBytes=MAX_BYTES):
    """
    The L{Alert}s of one IDMEF-Message document (bytes, or str), in order;
    Heartbeats and elements of other namespaces are skipped, so a message
    of heartbeats only gives C{[]}.

    Accepts RFC 4765 documents with a default or C{idmef:} prefixed
    namespace, the draft namespace, and unqualified names; unknown elements
    and attributes are ignored.  The M-ICE alert ID comes from the
    Classification's Reference of meaning L{ALERT_ID_MEANING} (C{alertId}
    is C{None} without one); a missing or unknown severity reads as
    C{"medium"}; empty text reads as unknown (C{None}).

    @raise IdmefError: the document is too large, hostile, not XML, not an
        IDMEF-Message, or an Alert lacks its messageid, Analyzer (with an
        analyzerid), CreateTime or Classification, or has a number that is
        not one.
    """
    root = parseDocument(data, maxBytes).getroot()
    if _name(root) != "IDMEF-Message":
        raise IdmefError(f"not an IDMEF message: the root element is {root.tag!r}")
    return [_readAlert(element, f"Alert {i}")
            for i, element in enumerate(_children(root, "Alert"), 1)]


# -- validation -------------------------------------------------------------

_dtds = {}

#: The SHA-256 of the RFC 4765 DTD (C{mice/data/idmef-message.dtd}).
RFC4765_DTD_SHA256 = "cdbcc1e438acfd365edc58c6d19a8384afab35268307ee58b001a72d0f46ead1"
#: The DTDs L{loadDtd} read from a copy of it, by id.
_rfcDtds = {}


def loadDtd(dtdPath):
    """
    The DTD in the local file C{dtdPath}, parsed once per file version.

    @raise OSError: the file cannot be read.
    @raise IdmefError: it is not a DTD.
    """
    status = os.stat(dtdPath)
    key = (os.path.abspath(dtdPath), status.st_mtime_ns, status.st_size)
    dtd = _dtds.get(key)
    if dtd is None:
        with open(dtdPath, "rb") as f:
            text = f.read()
        try:
            dtd = etree.DTD(io.BytesIO(text))
        except etree.DTDParseError as e:
            raise IdmefError(f"{dtdPath}: not a DTD: {e}") from None
        _dtds.clear()
        _dtds[key] = dtd
        if hashlib.sha256(text).hexdigest() == RFC4765_DTD_SHA256:
            if len(_rfcDtds) > 16:
                _rfcDtds.clear()
            _rfcDtds[id(dtd)] = dtd
    return dtd


def isRfc4765Dtd(dtd):
    """
    Whether C{dtd} (L{loadDtd}'s) is the RFC 4765 DTD M-ICE ships, byte for
    byte: every document L{_readOwnAlert} accepts is valid against it, so
    L{readMessage} need not check those.
    """
    return _rfcDtds.get(id(dtd)) is dtd


def _unprefixed(element):
    """
    A copy of C{element}'s tree with every IDMEF element under its bare
    local name and no namespace declarations: what the DTD, which knows no
    namespaces, expects of a document that writes C{idmef:Alert}.
    """
    name = _name(element)
    copied = etree.Element(name if name is not None else element.tag,
                           {key: value for key, value in element.attrib.items()
                            if not key.startswith("{")})
    copied.text = element.text
    copied.tail = element.tail
    for child in element:
        if isinstance(child.tag, str):
            copied.append(_unprefixed(child))
    return copied


def validateTree(tree, dtd):
    """
    Check a parsed document (L{parseDocument}) against a loaded DTD
    (L{loadDtd}); a document whose IDMEF elements carry a prefix
    (C{idmef:Alert}) is checked under the bare names the DTD declares.

    @return: its problems, C{[]} when it is valid.
    """
    root = tree.getroot()
    if root.prefix is not None or any(element.prefix is not None for element in root):
        tree = etree.ElementTree(_unprefixed(root))
    if dtd.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in dtd.error_log] or ["invalid"]


def validate(data, dtdPath, maxBytes=MAX_BYTES):
    """
    Check a document against the DTD in the local file C{dtdPath} (the
    config's DTDFile) and return its problems, C{[]} when it is valid.

    The document is read by the hardened L{parseDocument} first (a refusal
    is the one problem returned) and its own DOCTYPE is never used.  When
    C{dtdPath} is C{None} or names no file, nothing can be checked and the
    result is C{[]}: C{mice check-config} warns about a missing DTDFile.
    """
    if not dtdPath or not os.path.isfile(dtdPath):
        return []
    dtd = loadDtd(dtdPath)
    try:
        tree = parseDocument(data, maxBytes)
    except IdmefError as e:
        return [str(e)]
    return validateTree(tree, dtd)
