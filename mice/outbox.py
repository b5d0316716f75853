# -*- test-case-name: tests.unit.services.test_sender -*-
"""
The sending side's bookkeeping, without I/O: which batches wait to be sent,
which are in flight (sent, not yet acknowledged), and what to resend after a
reconnect.  At most C{window} batches are in flight at once.
"""

from collections import OrderedDict, deque
from typing import NamedTuple


class OutgoingBatch(NamedTuple):
    batchId: int
    stream: str
    seq: int
    """Sequence number of the first record."""
    count: int
    """How many records."""
    line: bytes
    """The encoded batch message."""


class UnknownBatch(Exception):
    """
    An acknowledgement for a batch that is not in flight.
    """


class Outbox:
    def __init__(self, window):
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._queued = deque()
        self._inFlight = OrderedDict()
        self.queuedRecords = 0
        self.inFlightRecords = 0

    def __len__(self):
        return len(self._queued) + len(self._inFlight)

    @property
    def inFlight(self):
        return len(self._inFlight)

    @property
    def records(self):
        return self.queuedRecords + self.inFlightRecords

    def add(self, batch):
        self._queued.append(batch)
        self.queuedRecords += batch.count

    def putBack(self, batches):
        """
        Return C{batches}, taken by L{takeSendable} but not sent, to the
        front of the queue in their order.
        """
        for batch in batches:
            del self._inFlight[batch.batchId]
            self.inFlightRecords -= batch.count
            self.queuedRecords += batch.count
        self._queued.extendleft(reversed(batches))

    def replaceFirst(self, replacements):
        """
        Replace the batch at the front of the queue by C{replacements}, in
        their order (a batch split into smaller ones keeps its place).

        @return: the batch replaced.
        """
        batch = self._queued.popleft()
        self.queuedRecords -= batch.count
        self._queued.extendleft(reversed(replacements))
        self.queuedRecords += sum(b.count for b in replacements)
        return batch

    def takeSendable(self):
        """
        Move batches from the queue into flight while the window allows.

        @return: the batches to send now, in order.
        """
        sendable = []
        while self._queued and len(self._inFlight) < self.window:
            batch = self._queued.popleft()
            self._inFlight[batch.batchId] = batch
            sendable.append(batch)
            self.queuedRecords -= batch.count
            self.inFlightRecords += batch.count
        return sendable

    def acknowledge(self, batchId):
        """
        @return: the batch C{batchId}, now done with.
        @raise UnknownBatch: it is not in flight.
        """
        try:
            batch = self._inFlight.pop(batchId)
        except KeyError:
            raise UnknownBatch(batchId) from None
        self.inFlightRecords -= batch.count
        return batch

    def requeueInFlight(self):
        """
        The link went down: everything in flight goes back to the front of
        the queue, in its original order, to be sent again.

        @return: how many batches were requeued.
        """
        batches = list(self._inFlight.values())
        self._inFlight.clear()
        self._queued.extendleft(reversed(batches))
        moved = sum(b.count for b in batches)
        self.inFlightRecords -= moved
        self.queuedRecords += moved
        return len(batches)
