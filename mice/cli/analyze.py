# -*- test-case-name: tests.integration.test_analyze,tests.integration.test_cli,tests.integration.test_aaregex,tests.integration.test_logids -*-
"""
C{mice analyze}: run detection rules on a log file, offline, the way the
daemons run them (L{mice.analysis.offline.OfflineAnalysis}): with no rule
option, the default content of C{mice-allinone} (the M-ICE rules, the LogIDS
rules and the correlation rules); else any combination of C{-c} (the M-ICE
rules), C{--rules}/C{--filters} (the LogIDS rules) and C{--correlate}.
"""

import argparse
import gc
import os
import sys

from mice.analysis.offline import readLines, zoneNamed
from mice.cli.base import readerGone
from mice.record import GC_THRESHOLDS

#: Bytes of the log read and analysed at once.
BATCH = 1 << 20


def matchDescriptions(args, config):
    """
    The alert ID descriptions: C{--match-file}, or the seed's match file next
    to the config (C{matchfiles/match_file_aa_regex.txt}); none found means
    the rule keys name the alerts.
    """
    from mice.analysis.aaregex import descriptionsFrom
    from mice.config import loadMatchFile

    path = args.match_file
    if path is None:
        if config is None:
            return {}
        candidate = os.path.join(os.path.dirname(os.path.abspath(config)), "matchfiles",
                                 "match_file_aa_regex.txt")
        if not os.path.exists(candidate):
            return {}
        path = candidate
    return descriptionsFrom(loadMatchFile(path))


def _fail(message, status=2):
    print(f"mice analyze: {message}", file=sys.stderr)
    return status


def run(args):
    """
    Offline rule testing, like C{fail2ban-regex}: every alert (and LogIDS
    action) the rules raise on a log file, then the matches per rule.
    """
    from mice.analysis.offline import OfflineAnalysis, defaultContent
    from mice.config import ConfigError, loadAaRegex, loadAaRules

    if (args.rules is None) != (args.filters is None):
        return _fail("--rules and --filters go together")
    if args.netdef and not args.rules:
        return _fail("--netdef goes with --rules and --filters")
    config, rules, filters, netdef = args.config, args.rules, args.filters, args.netdef
    correlate = args.correlate
    logidsSettings = None
    descriptionsFile = args.match_file
    if not (config or rules or correlate):
        # The default content, as mice-allinone runs it.
        content = defaultContent()
        config = content.aaregex
        try:
            logidsSettings = loadAaRules(content.aarules)
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            return 1
        rules, filters = logidsSettings.rulesFile, logidsSettings.filterFile
        netdef = logidsSettings.netdefFile
        correlate = content.correlation
        descriptionsFile = descriptionsFile or content.matchFile
    combined = sum(map(bool, (config, rules, correlate))) > 1
    if args.idmef and (combined or not config):
        return _fail("--idmef is for -c (the M-ICE rules) alone")
    output = "json" if args.json else "idmef" if args.idmef else "listing"
    if args.idmef:
        try:
            import mice.idmef  # noqa: F401
        except ImportError as e:
            return _fail(f"--idmef needs mice.idmef, which is not available here ({e})")
    try:
        tz = zoneNamed(args.tz)
        settings = loadAaRegex(config) if config else None
        args.match_file = descriptionsFile
        descriptions = matchDescriptions(args, config)
        correlation = None
        if correlate:
            try:
                from mice.analysis.correlation import loadCorrelation
            except ImportError as e:
                return _fail(f"--correlate needs mice.analysis.correlation ({e})")
            correlation = loadCorrelation(correlate)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as e:
        print(f"mice analyze: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    engine = None
    if rules:
        from mice.analysis.logids import LogIdsEngine, loadFiles

        try:
            loaded = loadFiles(rules, filters, netdef)
        except OSError as e:
            return _fail(f"{e.filename}: {e.strerror}", 1)
        if loaded[3]:
            for problem in loaded[3]:
                print(str(problem), file=sys.stderr)
            return 1
        engine = LogIdsEngine(*loaded[:3])
    stream = "<stdin>" if args.logfile == "-" else os.path.abspath(args.logfile)
    analysis = OfflineAnalysis(
        settings, engine, correlation, strategy=args.strategy, descriptions=descriptions,
        output=output, stream=stream, ip=args.ip or None, tz=tz,
        everyAction=True if args.all_actions else None, ruleperf=args.ruleperf,
        logidsSettings=logidsSettings)
    for note in analysis.hyperscanNotes():
        print(f"mice analyze: {note}", file=sys.stderr)
    out = sys.stdout
    thresholds = gc.get_threshold()
    # A batch's alerts and actions live until its output is written: the
    # collector the BufferDaemon runs its analysis agents with.
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        # The file is read a megabyte at a time (a few thousand lines: the
        # peak memory stays low); one write per batch.
        analysis.run(readLines(args.logfile, BATCH), out.write)
        out.flush()
    except BrokenPipeError:
        return readerGone()
    except OSError as e:
        print(f"mice analyze: {args.logfile}: {e.strerror}", file=sys.stderr)
        return 1
    finally:
        gc.set_threshold(*thresholds)
    summary = sys.stderr if (args.json or args.idmef) else sys.stdout
    summary.write(analysis.summary(args.logfile))
    return 0


def addArguments(p):
    p.description = ("Run detection rules on a log file, offline, as the daemons run them."
                     " With no rule option: the default content (M-ICE rules, LogIDS rules,"
                     " correlation rules), as mice-allinone runs it.")
    p.add_argument("-c", "--config", metavar="CONF",
                   help="a mice_mod_pop_aa_regex.conf (the M-ICE rules)")
    p.add_argument("--rules", metavar="RULES",
                   help="a LogIDS rules.txt (with --filters)")
    p.add_argument("--filters", metavar="FILTERS", help="LogIDS filter.txt (with --rules)")
    p.add_argument("--netdef", metavar="NETDEF", help="LogIDS netdef.txt (with --rules)")
    p.add_argument("--correlate", metavar="CORRELATION",
                   help="correlation rules (correlation.conf) over the alerts of the others")
    p.add_argument("--ip", metavar="ADDRESS",
                   help="with --rules: the reporting host's address (default: the syslog"
                        " header's host, when it is an address)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="one JSON object per alert on stdout, the summary on stderr")
    output.add_argument("--idmef", action="store_true",
                        help="print the IDMEF documents of the alerts (-c alone)")
    p.add_argument("--all-actions", action="store_true",
                   help="with more than the LogIDS rules: print their reject actions and"
                        " automatic drops too (they are always counted)")
    p.add_argument("--ruleperf", action="store_true",
                   help="print each rule's calls, matches and time, the slowest first")
    p.add_argument("--match-file", metavar="FILE",
                   help="alert descriptions (default: matchfiles/match_file_aa_regex.txt"
                        " next to the config, if there)")
    p.add_argument("--tz", default="local",
                   help="the zone of the log's time stamps: local (default), UTC,"
                        " +01:00 or a name such as Europe/Berlin")
    p.add_argument("--strategy", default=None,
                   choices=("literal", "alternation", "contains", "hyperscan"),
                   help=argparse.SUPPRESS)
    p.add_argument("logfile", metavar="LOGFILE", help="the log file, or - for standard input")
    p.set_defaults(run=run)
