# -*- test-case-name: tests.integration.test_agent -*-
"""
C{mice_mod_dec_idmef}: the decoding module for C{idmef} batches, whose
records are IDMEF XML documents (from an analysis agent, ours or another
IDMEF analyzer).  Each document is parsed with the hardened parser of
L{mice.idmef}: a document that is not acceptable IDMEF refuses the whole
batch, and that connection is closed with the reason.
"""

from typing import NamedTuple

from zope.interface import implementer

from mice.idmef import MAX_BYTES, IdmefError, fromXml
from mice.interfaces import IDecoder
from mice.protocols.wire import ProtocolError


class ReceivedAlert(NamedTuple):
    """
    One IDMEF document received, with where it came from: the sender
    (C{source}), its C{stream} and C{seq} (unique together: the stores and
    the next hops deduplicate by them).
    """

    source: str
    stream: str
    seq: int
    alerts: tuple
    """The L{mice.alerts.Alert}s of the document (one, usually)."""
    xml: str


@implementer(IDecoder)
class IdmefDecoder:
    kind = "idmef"

    def __init__(self, maxBytes=MAX_BYTES):
        self.maxRecord = maxBytes
        self.maxBytes = maxBytes

    def decode(self, source, batch):
        batchId, stream, records = batch.id, batch.stream, batch.records
        numbers = batch.recordNumbers()
        out = []
        for index, (n, document) in enumerate(zip(numbers, records)):
            if type(document) is not str:
                raise ProtocolError(f"batch {batchId}: record {index} is not an IDMEF document")
            try:
                alerts = fromXml(document, self.maxBytes)
            except IdmefError as e:
                raise ProtocolError(f"batch {batchId}: record {index}: {e}") from None
            out.append(ReceivedAlert(source, stream, n, tuple(alerts), document))
        return out

    def recover(self, source, message):
        records = message["recs"]
        numbers = message.get("seqs") or range(message["seq"], message["seq"] + len(records))
        return [ReceivedAlert(source, message["stream"], n, tuple(fromXml(doc, self.maxBytes)),
                              doc) for n, doc in zip(numbers, records)]


def buildDecoder(configPath, reactor):
    """
    The C{mice_mod_dec_idmef} module: its config is a decoding module's
    (C{[DECODER]}: the link's security and MAXRECORD, the largest document).
    """
    from mice.config import loadDecoder

    settings = loadDecoder(configPath)
    decoder = IdmefDecoder(maxBytes=max(settings.maxRecord, 4096))
    return decoder
