# -*- test-case-name: tests.unit.decoders.test_idmef,tests.integration.test_agent -*-
"""
C{mice_mod_dec_idmef} (alias C{mice_mod_enc_idmef_twofish}, the seed's
name): the decoding module for C{idmef} batches, whose records are IDMEF
XML documents, from an analysis agent (ours, or any IDMEF analyzer:
Prelude, Snort) or from C{mice send --kind idmef}.

Each document is read with the hardened parser of L{mice.idmef}
(L{mice.idmef.readMessage}): no entities, no DTD loaded or fetched, a
bounded size (C{MAXRECORD}) and depth (libxml2's 256 levels).  A document
that is not acceptable IDMEF refuses the whole batch: the daemon closes
that connection with the reason, logged, and every other connection goes
on.  The sender would send the same batch again, and be refused again: a
hostile or broken producer only stalls itself.

Every Alert of a message is an alert of its own (L{ReceivedAlert.alerts},
with its own document in L{ReceivedAlert.documents} when the message holds
more than one); Heartbeats are kept apart (L{ReceivedAlert.heartbeats}).
"""

from typing import NamedTuple

from zope.interface import implementer

from mice.idmef import MAX_BYTES, IdmefError, readMessage
from mice.interfaces import IDecoder
from mice.protocols.wire import ProtocolError


class ReceivedAlert(NamedTuple):
    """
    One IDMEF document received, with where it came from: the sender
    (C{source}), its C{stream} and C{seq} (unique together: the stores and
    the next hops deduplicate by them, and the alerts' keys are made of
    them, L{mice.alerts.alertKey}).
    """

    source: str
    stream: str
    seq: int
    alerts: tuple
    """The L{mice.alerts.Alert}s of the document (one, usually)."""
    xml: str
    """The document as it was received."""
    heartbeats: tuple = ()
    """The L{mice.alerts.Heartbeat}s of the document."""
    documents: tuple = ()
    """For a document holding more than one alert (or heartbeats beside
    one): each alert's own IDMEF-Message, in the order of C{alerts}; else
    C{()}, and C{xml} is the alert's document."""
    problems: str | None = None
    """What the DTD the decoder was given found wrong with the document, a
    problem a line (C{None}: valid, or not checked)."""

    def document(self, index):
        """The IDMEF document holding the C{index}th alert alone."""
        return self.documents[index] if self.documents else self.xml


#: The longest DTD problem text kept per document.
PROBLEM_CHARS = 2000


def problemText(problems):
    """DTD problems as one text, a problem a line, cut at L{PROBLEM_CHARS}."""
    if not problems:
        return None
    text = "\n".join(problems)
    return text if len(text) <= PROBLEM_CHARS else text[:PROBLEM_CHARS - 3] + "..."


def receivedAlert(source, stream, seq, document, maxBytes=MAX_BYTES, dtd=None):
    """
    The L{ReceivedAlert} of one document (checked against C{dtd}, if any).

    @raise IdmefError: it is not acceptable IDMEF.
    """
    message = readMessage(document, maxBytes, dtd)
    return ReceivedAlert(source, stream, seq, message.alerts, document, message.heartbeats,
                         message.documents, problemText(message.problems))


@implementer(IDecoder)
class IdmefDecoder:
    """
    @ivar dtd: a DTD (L{mice.idmef.loadDtd}) every document is checked
        against as it is parsed, or C{None}: the ManagementHost's builder
        hands it the act_generic C{DTDFile}'s (L{validateWith}), so a
        document is parsed once.
    """

    kind = "idmef"

    def __init__(self, maxBytes=MAX_BYTES, dtd=None):
        self.maxRecord = maxBytes
        self.maxBytes = maxBytes
        self.dtd = dtd

    def validateWith(self, dtd):
        """Check every document decoded from now on against C{dtd}."""
        self.dtd = dtd

    def decode(self, source, batch):
        batchId, stream, records = batch.id, batch.stream, batch.records
        numbers = batch.recordNumbers()
        out = []
        for index, (n, document) in enumerate(zip(numbers, records)):
            if type(document) is not str:
                raise ProtocolError(f"batch {batchId}: record {index} is not an IDMEF document")
            try:
                out.append(receivedAlert(source, stream, n, document, self.maxBytes, self.dtd))
            except IdmefError as e:
                raise ProtocolError(f"batch {batchId}: record {index}: {e}") from None
        return out

    def recover(self, source, message):
        records = message["recs"]
        numbers = message.get("seqs") or range(message["seq"], message["seq"] + len(records))
        return [receivedAlert(source, message["stream"], n, document, self.maxBytes, self.dtd)
                for n, document in zip(numbers, records)]


def buildDecoder(configPath, reactor):
    """
    The C{mice_mod_dec_idmef} module: its config is a decoding module's
    (C{[DECODER]}: the link's security and MAXRECORD, the largest document).
    """
    from mice.config import loadDecoder

    settings = loadDecoder(configPath)
    return IdmefDecoder(maxBytes=max(settings.maxRecord, 4096))
