"""
The records that travel through M-ICE.

A L{LogRecord} is one log line as the DataForwarder's format module
(C{mice_mod_fmt_simple}) describes it, plus where it came from: the C{source}
(the client's identity), the C{stream} (the file or device on that client) and
C{seq}, the line's sequence number in that stream.  C{(source, stream, seq)} is
unique, which is what makes every store idempotent.
"""

from typing import NamedTuple

#: The cyclic garbage collector's thresholds in a process that makes records
#: by the batch: a BufferDaemon while it runs, and C{mice analyze}.  Every
#: batch allocates a thousand lists (its decoded records), which survive
#: until flushed: with Python's default first threshold (700) the collector
#: ran more than once per batch and walked them again and again, a third of
#: the cost of decoding them.  Collections still happen, every 50,000 new
#: objects, so reference cycles are still freed.
GC_THRESHOLDS = (50000, 20, 20)


class LogRecord(NamedTuple):
    source: str
    stream: str
    seq: int
    hostname: str
    domain: str
    ip: str
    osystem: str
    release: str
    version: str
    date: str
    """C{YYYY-MM-DD}."""
    time: str
    """C{HH:MM:SS}."""
    logline: str
    signature: str


class HostInfo(NamedTuple):
    """
    What a client says about itself once per batch: the host columns of the
    seed's tables.
    """

    hostname: str = ""
    domain: str = ""
    ip: str = ""
    osystem: str = ""
    release: str = ""
    version: str = ""
