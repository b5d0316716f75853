#!/usr/bin/env python
"""
Long hostile lines against the default content: is any rule quadratic in a
line's length?  A line of up to the forwarder's 64 KiB (C{maxLine}) made of
one family's message, or a word, half of it or a punctuation character of
it repeated, goes through the M-ICE rules (Hyperscan, and the pure-Python
C{literal} strategy, which is also what C{re} runs to confirm Hyperscan's
prefilter reports), both LogIDS paths, and what an alerted line is read for
(nodes, addresses, IDs, time stamp, syslog host).

    python bench/bench_hostile_lines.py                  # 15 lines a family
    python bench/bench_hostile_lines.py --per-family 40 --length 65536

Prints the slowest variants (CPU seconds, the line's start) for each path
and exits 1 when one takes more than C{--limit} seconds (default 0.1, the
least of three runs): a
rule that tried each occurrence of a repeated keyword in turn took 0.2-0.7
s on 60 kB (``docs/detection.rst``, "How the rules are written").
"""

import argparse
import os
import random
import re
import sys
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

#: The header a variant keeps: syslog's (up to the program's colon), Apache
#: access (up to the request's quote) or error log (its time).
_HEAD = re.compile(r"^(\S+ +\S+ \S+ \S+ [^:]+: |\S+ - \S+ \[[^\]]+\] \"|\[[^\]]+\] )")
_PUNCTUATION = set('="[]()<>\'/:.%')


def samples(perFamily, seed):
    """C{perFamily} lines of each label of C{gendetection}'s corpus."""
    from gendetection import generate

    byLabel = {}
    for line, label in generate(max(20000, perFamily * 400), seed):
        byLabel.setdefault(label, []).append(line)
    out = []
    for label in sorted(byLabel):
        lines = byLabel[label]
        random.Random(seed).shuffle(lines)
        out += lines[:perFamily]
    return out


def variants(line, length):
    """Lines of about C{length} characters made from C{line}'s message."""
    found = _HEAD.match(line)
    head = found.group(0) if found else ""
    body = line[len(head):]
    if not body:
        return []
    out = [head + body * (length // len(body))]
    words = body.split(" ")
    for i in range(0, len(words), max(1, len(words) // 6)):
        word = words[i] + " "
        out.append(head + " ".join(words[:i]) + " " + word * (length // len(word)))
    half = body[: len(body) // 2]
    if half:
        out.append(head + half * (length // len(half)))
    for character in sorted(set(body) & _PUNCTUATION):
        out.append(head + body.replace(character, character * (length // 3), 1))
    return out


def paths():
    """C{(name, line -> anything)} for each way a line is read."""
    from mice.analysis.aaregex import AaRegexMatcher
    from mice.analysis.extract import _lineNodes, addressesFor, idValues
    from mice.analysis.logids import LogIdsEngine, loadFiles, syslogHost
    from mice.analysis.offline import defaultContent
    from mice.config import loadAaRegex, loadAaRules
    from mice.forwarder.format import Timestamper

    content = defaultContent()
    settings = loadAaRegex(content.aaregex)
    logids = loadAaRules(content.aarules)
    engine = LogIdsEngine(*loadFiles(logids.rulesFile, logids.filterFile,
                                     logids.netdefFile)[:3])
    hyperscan = AaRegexMatcher(settings, strategy="hyperscan")
    literal = AaRegexMatcher(settings, strategy="literal")
    stamp = Timestamper(datetime.now(), follow=True)

    def extract(line):
        _lineNodes(line)
        addressesFor(line)
        idValues(line)
        stamp(line)
        syslogHost(line)

    return [
        ("M-ICE, Hyperscan", lambda line: hyperscan.matchIndexed([line], line)),
        ("M-ICE, pure Python", lambda line: literal.matchIndexed([line], line)),
        ("LogIDS, scanned", lambda line: list(engine.actionsScanned(
            [line], line, ip=None, stream="x", hostname=None))),
        ("LogIDS, pure Python", lambda line: list(engine.actions(
            [line], ip=None, stream="x", hostname=None))),
        ("an alerted line read", extract),
    ]


def _timed(read, line):
    began = time.process_time()
    read(line)
    return time.process_time() - began


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-family", type=int, default=15)
    parser.add_argument("--length", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=float, default=0.1,
                        help="CPU seconds a variant may take on one path (default 0.1)")
    parser.add_argument("--show", type=int, default=3)
    options = parser.parse_args(argv)
    lines = [variant for line in samples(options.per_family, options.seed)
             for variant in variants(line, options.length)]
    print(f"{len(lines)} variants of about {options.length} characters")
    failed = False
    for name, read in paths():
        times = []
        for line in lines:
            seconds = _timed(read, line)
            if seconds > options.limit:
                # Once more, three times: a pause of the collector (the
                # variants hold a few hundred MB) is not the rule's.
                seconds = min(_timed(read, line) for _ in range(3))
            times.append((seconds, line[:100]))
        times.sort(reverse=True)
        print(f"{name}: slowest {times[0][0]:.3f} s, total {sum(t for t, _ in times):.2f} s")
        for seconds, start in times[:options.show]:
            print(f"    {seconds:.3f} s  {start!r}")
        failed = failed or times[0][0] > options.limit
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
