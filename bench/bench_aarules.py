"""
Measure the LogIDS rules in the running agent: records per second through
C{mice_mod_pop_aa_rules}'s post-processor (L{mice.postproc.aarules}: the
LogIDS record, the rules, the IDMEF documents of alert and warning, the
console events, the link batches), into L{mice.testing.FakeSender}s that
acknowledge everything.

    python bench/bench_aarules.py [--records 200000] [--rules RULES]
        [--corpus FILE]

The lines come from C{bench/gencorpus.py} (seed 1) unless C{--corpus} names
a file; the rules are the shipped C{etc/mice/logids/rules-linux.txt} with
C{filter.txt} and C{netdef.txt} unless C{--rules} names another rules file.
Figures are CPU time of this process (one core) and wall time.
"""

import argparse
import os
import resource
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from _common import corpusLines, driveAgent  # noqa: E402
from gencorpus import generate  # noqa: E402

from mice.record import LogRecord  # noqa: E402

LOGIDS = os.path.join(ROOT, "etc", "mice", "logids")


class Settings:
    sendTo = "M"
    analyzerId = "MICE-LogIDS"


def records(lines):
    """Records as the agent's decoder makes them: one client, one stream."""
    return [LogRecord("client-1", "/var/log/messages", seq, "gate", "example.org",
                      "10.0.0.1", "Linux", "6.1", "#1", "2004-11-22", "10:00:01", line, "")
            for seq, line in enumerate(lines, 1)]


def run(recs, rulesPath, batch=5000):
    from twisted.internet.task import Clock

    from mice.analysis.alertid import AlertCounter, MemoryAlertIdStore
    from mice.analysis.logids import LogIdsEngine, loadFiles
    from mice.postproc.aarules import AaRulesAnalyzer
    from mice.testing import FakeSender

    rules, filters, netdef, problems = loadFiles(rulesPath, os.path.join(LOGIDS, "filter.txt"),
                                                 os.path.join(LOGIDS, "netdef.txt"))
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    management, events = FakeSender("ManagementHost"), FakeSender("console")
    clock = Clock()
    clock.advance(1101117600)
    analyzer = AaRulesAnalyzer(Settings(), LogIdsEngine(rules, filters, netdef),
                               {"M": management, "events": events},
                               AlertCounter(MemoryAlertIdStore(), 1), clock)
    elapsed, cpu, (documents, eventRecords) = driveAgent(analyzer, (management, events), recs,
                                                        batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"agent=aa_rules rules={os.path.basename(rulesPath)} records={len(recs)}"
          f" alerts={analyzer.alerts} events={analyzer.events} (sent: {documents} IDMEF,"
          f" {eventRecords} events) seconds={elapsed:.2f} cpu_seconds={cpu:.2f}"
          f" records_per_second={len(recs) / elapsed:.0f}"
          f" cpu_records_per_second={len(recs) / cpu:.0f}"
          f" cpu_alerts_per_second={analyzer.alerts / cpu:.0f} peak_rss_mib={peak:.1f}",
          flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--corpus", help="a log file (default: gencorpus, seed 1)")
    parser.add_argument("--rules", default=os.path.join(LOGIDS, "rules-linux.txt"))
    options = parser.parse_args(argv)
    if options.corpus:
        lines = corpusLines(options.corpus, options.records)
    else:
        lines = list(generate(options.records, 1))
    run(records(lines), options.rules)


if __name__ == "__main__":
    main()
