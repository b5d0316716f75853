# -*- test-case-name: tests.integration.test_reactors -*-
"""
A reference reader for an external reaction FIFO: what an operator's
reaction program does, in a few lines.

    python -m mice.reactors.fiforeader /run/mice/rid_5_notify [--out FILE]
        [--documents] [--once] [--chunk BYTES]

It opens the FIFO, reads records (L{mice.reactors.framing.FifoRecordReader})
and writes one JSON object per record to C{--out} (default: standard
output): the header's fields, and the document with C{--documents}.  A
record seen before (same C{key}) is skipped, so a repeat after a
ManagementHost crash does nothing twice; a record cut short is reported on
standard error and skipped.  When the ManagementHost closes its end the
reader opens the FIFO again (C{--once}: it exits).

The ManagementHost counts a record as done once a reader has read it from
the pipe; a reader killed between reading and acting loses what its last
read returned.  This one reads C{--chunk} bytes at a time (4096 by
default) and acts on each record before reading more, so that is at most a
record or two.

No Twisted here: a reaction program is any program that can read a file.
"""

import argparse
import json
import sys
from collections import OrderedDict

from mice.reactors.framing import FifoRecordReader


def readRecords(stream, onRecord, onBad, seen, chunk=4096):
    """
    Read C{stream} (a binary file) to its end, calling C{onRecord(fields,
    document)} once per new key and C{onBad(start)} for what is not a
    whole record.  C{seen} is an C{OrderedDict} of keys done (bounded by
    the caller).
    """
    reader = FifoRecordReader()
    while True:
        data = stream.read1(chunk) if hasattr(stream, "read1") else stream.read(chunk)
        if not data:
            break
        records, bad = reader.feed(data)
        for start in bad:
            onBad(start)
        for fields, document in records:
            key = fields.get("key")
            if key in seen:
                continue
            seen[key] = None
            while len(seen) > 100000:
                seen.popitem(last=False)
            onRecord(fields, document)
    left = reader.end()
    if left is not None:
        onBad(left)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mice.reactors.fiforeader",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("fifo")
    parser.add_argument("--out", help="append JSON lines to this file (default: stdout)")
    parser.add_argument("--documents", action="store_true",
                        help="include each IDMEF document")
    parser.add_argument("--once", action="store_true",
                        help="exit when the writer closes the FIFO")
    parser.add_argument("--chunk", type=int, default=4096,
                        help="bytes read at a time (default: 4096)")
    args = parser.parse_args(argv)
    out = open(args.out, "a", encoding="utf-8") if args.out else sys.stdout
    seen = OrderedDict()

    def onRecord(fields, document):
        if args.documents:
            fields = dict(fields, document=document.decode("utf-8", "replace"))
        out.write(json.dumps(fields, sort_keys=True) + "\n")
        out.flush()

    def onBad(start):
        print(f"fiforeader: skipped an incomplete record: {start!r}", file=sys.stderr,
              flush=True)

    try:
        while True:
            with open(args.fifo, "rb", buffering=0) as stream:
                readRecords(stream, onRecord, onBad, seen, args.chunk)
            if args.once:
                return 0
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
