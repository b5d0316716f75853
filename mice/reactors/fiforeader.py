# -*- test-case-name: tests.integration.test_reactors -*-
"""
A reference reader for an external reaction FIFO: what an operator's
reaction program does, in a few lines.

    python -m mice.reactors.fiforeader /run/mice/rid_5_notify [--out FILE]
        [--documents] [--once]

It opens the FIFO, reads records (L{mice.reactors.framing.FifoRecordReader})
and writes one JSON object per record to C{--out} (default: standard
output): the header's fields, and the document with C{--documents}.  A
record seen before (same C{key}) is skipped, so a repeat after a
ManagementHost crash does nothing twice; a record cut short is reported on
standard error and skipped.  When the ManagementHost closes its end the
reader opens the FIFO again (C{--once}: it exits).

No Twisted here: a reaction program is any program that can read a file.
"""

import argparse
import json
import sys
from collections import OrderedDict

from mice.reactors.framing import FifoRecordReader


def readRecords(stream, onRecord, onBad, seen, chunk=65536):
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
                readRecords(stream, onRecord, onBad, seen)
            if args.once:
                return 0
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
