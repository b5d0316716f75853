#!/usr/bin/env python
"""
Detection quality of the default content (docs/detection.rst): precision and
recall per family and overall, for the M-ICE rules, the LogIDS rules and
their union, on a labelled corpus.

    python bench/bench_detection.py                      # 1M lines of bench/gendetection.py
    python bench/bench_detection.py --lines 200000 --seed 7
    python bench/bench_detection.py --corpus x.log --truth x.log.truth

The truth file has one label per corpus line: a family of
L{gendetection.FAMILY_IDS}, C{informational} or C{benign}; any other label
counts as an attack or failure family (its recall is measured, its
precision needs the IDs of a known family).  A line is detected when it
raises an alert: an M-ICE match with an alert ID other than the
informational ones (0x1010, 0x8030), or a LogIDS C{alert}/C{warning}.

  - overall precision: detected attack lines / detected lines; recall:
    detected attack lines / attack lines;
  - per family recall: its lines that were detected / its lines;
  - per family precision: of the lines raising one of the family's IDs, the
    share that are lines of the family; C{other} counts those that are
    lines of another attack family (a Nimda URL is a traversal too),
    C{false} those that are benign or informational.

The rules run through the same library calls C{mice analyze} makes
(L{traditionalLines}, then L{AaRegexMatcher.matchLines} and
L{LogIdsEngine.actions}), a batch at a time.
"""

import argparse
import os
import resource
import sys
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from gendetection import FAMILY_IDS, INFORMATIONAL_IDS, NEGATIVE, generate  # noqa: E402

from mice.analysis.aaregex import AaRegexMatcher  # noqa: E402
from mice.analysis.framing import traditionalLines  # noqa: E402
from mice.analysis.logids import LogIdsEngine, loadFiles  # noqa: E402
from mice.config import loadAaRegex  # noqa: E402

DEFAULT = os.path.join(os.path.dirname(HERE), "mice", "data", "default")
BATCH = 20000
#: The attack families' targets (issue 17).
TARGET = 0.99


def miceAlerts(matcher, lines):
    """For each line, the set of alert IDs the M-ICE rules raise (informational left out)."""
    out = [frozenset()] * len(lines)
    for start in range(0, len(lines), BATCH):
        batch, _ = traditionalLines(lines[start:start + BATCH])
        for index, matches in enumerate(matcher.matchLines(batch)):
            if matches:
                ids = frozenset(m.alertId for m in matches
                                if m.alertId is not None and m.alertId not in INFORMATIONAL_IDS)
                if ids:
                    out[start + index] = ids
    return out


def logidsAlerts(engine, lines):
    """For each line, the set of alert IDs of the LogIDS rules' alerts and warnings
    (C{None} for one without an ID)."""
    out = [frozenset()] * len(lines)
    for start in range(0, len(lines), BATCH):
        batch, _ = traditionalLines(lines[start:start + BATCH])
        for index, (_, taken) in enumerate(engine.actions(batch)):
            ids = frozenset(t.rule.action.alertId for t in taken
                            if t.kind in ("alert", "warning"))
            if ids:
                out[start + index] = ids
    return out


def score(labels, predictions):
    """
    C{(overall, perFamily)}: overall C{(tp, fp, fn)}; per family
    C{{family: (lines, detected, predicted right, predicted other, false)}}.
    """
    idFamilies = defaultdict(set)
    for family, ids in FAMILY_IDS.items():
        for aid in ids:
            idFamilies[aid].add(family)
    tp = fp = fn = 0
    lines = Counter()
    detected = Counter()
    right = Counter()
    other = Counter()
    false = Counter()
    for label, ids in zip(labels, predictions):
        attack = label not in NEGATIVE
        if attack:
            lines[label] += 1
            if ids:
                tp += 1
                detected[label] += 1
            else:
                fn += 1
        elif ids:
            fp += 1
        predicted = set()
        for aid in ids:
            predicted |= idFamilies.get(aid, set())
        for family in predicted:
            if family == label:
                right[family] += 1
            elif attack:
                other[family] += 1
            else:
                false[family] += 1
    families = sorted(set(lines) | set(right) | set(other) | set(false))
    return (tp, fp, fn), {f: (lines[f], detected[f], right[f], other[f], false[f])
                          for f in families}


def ratio(a, b):
    return a / b if b else float("nan")


def report(name, labels, predictions, out=sys.stdout):
    (tp, fp, fn), families = score(labels, predictions)
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    print(f"\n== {name}: precision {precision:.4f} recall {recall:.4f}"
          f"  (detected {tp} of {tp + fn} attack/failure lines, {fp} false alarms)", file=out)
    print(f"   {'family':20} {'lines':>7} {'recall':>7} {'precision':>9} {'other':>6}"
          f" {'false':>6}", file=out)
    worst = 1.0
    for family, (n, found, right, other, false) in families.items():
        familyRecall = ratio(found, n)
        familyPrecision = ratio(right, right + false) if family in FAMILY_IDS else float("nan")
        if n:
            worst = min(worst, familyRecall)
        if family in FAMILY_IDS and right + false:
            worst = min(worst, familyPrecision)
        print(f"   {family:20} {n:7} {familyRecall:7.4f} {familyPrecision:9.4f} {other:6}"
              f" {false:6}", file=out)
    return precision, recall, worst


def showMissed(lines, labels, mice, logids, out=sys.stdout):
    """Each missed attack line and each false alarm: line number, label, IDs, the line."""
    print("\n== missed attack lines and false alarms (line, label, M-ICE ids, LogIDS ids)",
          file=out)
    for number, (line, label, a, b) in enumerate(zip(lines, labels, mice, logids), 1):
        attack = label not in NEGATIVE
        if attack != bool(a | b):
            ids = [" ".join(f"0x{aid:04x}" if aid is not None else "-" for aid in sorted(
                found, key=lambda x: -1 if x is None else x)) or "-" for found in (a, b)]
            print(f"{number}: {'MISSED' if attack else 'FALSE'} {label} [{ids[0]}] [{ids[1]}]"
                  f" {line}", file=out)


def loadCorpus(options):
    if options.corpus:
        with open(options.corpus, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().split("\n")
        with open(options.truth or options.corpus + ".truth", encoding="utf-8") as f:
            labels = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if labels and labels[-1] == "":
            labels.pop()
        if len(lines) != len(labels):
            raise SystemExit(f"{options.corpus}: {len(lines)} lines but {len(labels)} labels")
        return lines, [label.strip() for label in labels]
    pairs = list(generate(options.lines, options.seed))
    return [line for line, _ in pairs], [label for _, label in pairs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", help="a labelled corpus instead of a generated one")
    parser.add_argument("--truth", help="its labels (default: CORPUS.truth)")
    parser.add_argument("--rules", default=os.path.join(DEFAULT, "mice_mod_pop_aa_regex.conf"))
    parser.add_argument("--logids", default=os.path.join(DEFAULT, "logids"),
                        help="directory of rules.txt, filter.txt, netdef.txt")
    parser.add_argument("--missed", action="store_true",
                        help="also print each attack line neither rule set detected, and each"
                        " false alarm, with its label and the rule sets' alert IDs")
    options = parser.parse_args(argv)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    lines, labels = loadCorpus(options)
    counts = Counter(labels)
    attacks = sum(n for label, n in counts.items() if label not in NEGATIVE)
    print(f"corpus: {len(lines)} lines, {attacks} attack/failure ({attacks / len(lines):.1%}),"
          f" {counts['informational']} informational; load average {load}")
    matcher = AaRegexMatcher(loadAaRegex(options.rules))
    rules, filters, netdef, problems = loadFiles(
        *(os.path.join(options.logids, name) for name in ("rules.txt", "filter.txt",
                                                          "netdef.txt")))
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    engine = LogIdsEngine(rules, filters, netdef)
    timings = {}
    began = resource.getrusage(resource.RUSAGE_SELF)
    mice = miceAlerts(matcher, lines)
    middle = resource.getrusage(resource.RUSAGE_SELF)
    logids = logidsAlerts(engine, lines)
    end = resource.getrusage(resource.RUSAGE_SELF)
    for name, a, b in (("M-ICE rules", began, middle), ("LogIDS rules", middle, end)):
        timings[name] = (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)
    union = [a | b for a, b in zip(mice, logids)]
    results = {}
    for name, predictions in (("M-ICE rules", mice), ("LogIDS rules", logids),
                              ("union", union)):
        results[name] = report(name, labels, predictions)
    if options.missed:
        showMissed(lines, labels, mice, logids)
    print()
    for name, (precision, recall, worst) in results.items():
        cpu = timings.get(name)
        speed = f", {len(lines) / cpu:,.0f} lines/s CPU" if cpu else ""
        verdict = "meets" if min(precision, recall) >= TARGET else "misses"
        print(f"{name:13} precision {precision:.4f} recall {recall:.4f} worst family"
              f" {worst:.4f}{speed} ({verdict} {TARGET}/{TARGET})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB;"
          f" {time.strftime('%Y-%m-%d %H:%M:%S')}")


if __name__ == "__main__":
    main()
