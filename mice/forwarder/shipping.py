# -*- test-case-name: tests.unit.decoders.test_logformat,tests.integration.test_endtoend -*-
"""
Shipping a whole file through a L{mice.services.sender.ReliableSender}:
what C{mice send} and the all-in-one demo do.

A log file's records get the line number as their sequence number and the
file's absolute path as their stream, so shipping the same file twice stores
it once.  At most C{maxQueued} batches wait for acknowledgement, which bounds
memory however large the file.
"""

import os
import re
from collections import deque
from datetime import datetime

from twisted.logger import Logger

from mice.analysis.offline import openInput
from mice.forwarder.format import Timestamper, hostDict, nodeHostInfo
from mice.forwarder.prepare import boundedLine

log = Logger()

_IDMEF_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?IDMEF-Message\s*>")


class ShipResult:
    def __init__(self):
        self.records = 0
        self.batches = 0
        self.truncated = 0


def logBatches(lines, now, maxRecord, result, maxRecords=1000, maxBytes=512 * 1024):
    """
    Cut raw log lines (bytes) into C{(firstSeq, records)} batches.

    Lines longer than C{maxRecord} bytes are truncated, counted in
    C{result.truncated} and marked as such in the stored line.
    """
    stamp = (now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"))
    timestamper = Timestamper(now)
    records, size, first = [], 0, 1
    for seq, raw in enumerate(lines, 1):
        raw = raw.rstrip(b"\r\n")
        line, dropped = boundedLine(raw, maxRecord)
        result.truncated += dropped > 0
        found = timestamper(line) or stamp
        records.append([found[0], found[1], line, ""])
        size += len(raw) + 48
        if len(records) >= maxRecords or size >= maxBytes:
            yield first, records
            first, records, size = seq + 1, [], 0
    if records:
        yield first, records


def idmefBatches(data, maxRecords=100, maxBytes=512 * 1024):
    """
    Cut a file of IDMEF XML messages into batches of message strings.
    """
    start, seq, first, records, size = 0, 0, 1, [], 0
    for match in _IDMEF_END.finditer(data):
        message = data[start:match.end()].strip()
        start = match.end()
        seq += 1
        records.append(message.decode("utf-8", "backslashreplace"))
        size += len(message)
        if len(records) >= maxRecords or size >= maxBytes:
            yield first, records
            first, records, size = seq + 1, [], 0
    if records:
        yield first, records
    if data[start:].strip():
        raise ValueError("trailing data after the last </IDMEF-Message>")


async def shipFile(sender, path, kind="log", stream=None, host=None, now=None,
                   maxQueued=16):
    """
    Send every record of C{path} and wait until all are acknowledged.

    @return: a L{ShipResult}.
    """
    result = ShipResult()
    stream = stream or ("stdin" if path == "-" else os.path.abspath(path))
    now = now or datetime.now()
    outstanding = deque()
    with openInput(path) as f:
        if kind == "log":
            host = hostDict(host or nodeHostInfo())
            batches = logBatches(f, now, sender.maxRecord or 65536, result)
        else:
            host = None
            batches = idmefBatches(f.read())
        for seq, records in batches:
            outstanding.append(sender.submit(stream, seq, host, records))
            result.records += len(records)
            result.batches += 1
            while len(outstanding) >= maxQueued:
                await outstanding.popleft()
    while outstanding:
        await outstanding.popleft()
    if result.truncated:
        log.warn("{path}: {n} over-long lines were truncated", path=path, n=result.truncated)
    return result
