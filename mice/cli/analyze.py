# -*- test-case-name: tests.integration.test_cli,tests.integration.test_aaregex,tests.integration.test_logids -*-
"""
C{mice analyze}: test analysis rules on a log file, offline (the M-ICE
rules with C{-c}, the LogIDS rules with C{--rules}); the output is
L{mice.analysis.offline}'s.
"""

import argparse
import os
import sys

from mice.analysis.offline import LogIdsJson, LogIdsListing, alertFormats, readLines, zoneNamed
from mice.cli.base import readerGone


def matchDescriptions(args):
    """
    The alert ID descriptions: C{--match-file}, or the seed's match file next
    to the config (C{matchfiles/match_file_aa_regex.txt}); none found means
    the rule keys name the alerts.
    """
    from mice.analysis.aaregex import descriptionsFrom
    from mice.config import loadMatchFile

    path = args.match_file
    if path is None:
        candidate = os.path.join(os.path.dirname(os.path.abspath(args.config)), "matchfiles",
                                 "match_file_aa_regex.txt")
        if not os.path.exists(candidate):
            return {}
        path = candidate
    return descriptionsFrom(loadMatchFile(path))


def run(args):
    """
    Offline rule testing, like C{fail2ban-regex}: every alert the rules of a
    C{mice_mod_pop_aa_regex.conf} raise on a log file, then the matches per
    rule.
    """
    import json
    from collections import Counter
    from datetime import datetime

    from mice.analysis.aaregex import DEFAULT_KEY, AaRegexMatcher, makeAlert
    from mice.analysis.extract import addressesFor
    from mice.config import ConfigError, loadAaRegex
    from mice.forwarder.format import Timestamper
    from mice.record import LogRecord

    if args.rules or args.filters or args.netdef:
        return analyzeLogIds(args)
    if not args.config:
        print("mice analyze: -c mice_mod_pop_aa_regex.conf is required", file=sys.stderr)
        return 2
    toXml = None
    if args.idmef:
        try:
            from mice.idmef import toXml
        except ImportError as e:
            print(f"mice analyze: --idmef needs mice.idmef, which is not available here ({e})",
                  file=sys.stderr)
            return 2
    try:
        settings = loadAaRegex(args.config)
        descriptions = matchDescriptions(args)
        tz = zoneNamed(args.tz)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as e:
        print(f"mice analyze: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    matcher = AaRegexMatcher(settings, args.strategy)
    now = datetime.now()
    stamp = Timestamper(now)
    stream = "<stdin>" if args.logfile == "-" else os.path.abspath(args.logfile)
    # The offline tester numbers its alerts from the config's AlertID but
    # never touches AlertIDFile: that counter belongs to the running agent.
    messageId = settings.alertId
    perTuple = Counter()
    lines = 0
    out = sys.stdout
    summary = sys.stderr if (args.json or args.idmef) else sys.stdout
    # The listing and --json print a few fields of each alert: those of its
    # match, the same for every line (a template per tuple of matches), and
    # the line's source and target addresses (addressesFor: what makeAlert's
    # nodes hold, for less work).  Only --idmef builds the whole Alert.
    formats = {}
    jsonAddresses = {None: "null"}
    try:
        for chunk, text in readLines(args.logfile):
            first = lines + 1
            lines += len(chunk)
            # One write per batch: a write per alert costs as much as the alert.
            parts = []
            write = parts.append
            for index, matches in matcher.matchIndexed(chunk, text):
                perTuple[matches] += 1
                number = first + index
                line = chunk[index]
                if toXml is not None:
                    when = stamp(line) or ("", "")
                    record = LogRecord("mice-analyze", stream, number, "", "", "", "", "", "",
                                       when[0], when[1], line, "")
                    for match in matches:
                        alert = makeAlert(record, match, messageId, settings.analyzerId,
                                          descriptions, now, tz)
                        messageId += 1
                        write(toXml(alert).decode("utf-8") + "\n")
                    continue
                template = formats.get(matches)
                if template is None:
                    template = formats[matches] = alertFormats(
                        matches, descriptions, json.dumps if args.json else None)
                source, target = addressesFor(line)
                if args.json:
                    jsonSource = jsonAddresses.get(source)
                    if jsonSource is None:
                        jsonSource = jsonAddresses[source] = json.dumps(source)
                    jsonTarget = jsonAddresses.get(target)
                    if jsonTarget is None:
                        jsonTarget = jsonAddresses[target] = json.dumps(target)
                    if len(jsonAddresses) > 65536:
                        jsonAddresses.clear()
                        jsonAddresses[None] = "null"
                    write(template.format(number, jsonSource, jsonTarget))
                else:
                    write(template.format(number, source or "-", target or "-", line))
            out.write("".join(parts))
    except BrokenPipeError:
        return readerGone()
    except OSError as e:
        print(f"mice analyze: {args.logfile}: {e.strerror}", file=sys.stderr)
        return 1
    counts = Counter()
    matched = alerts = 0
    for matches, times in perTuple.items():
        if matches[0].key != DEFAULT_KEY:
            matched += times
        alerts += len(matches) * times
        for match in matches:
            counts[match.key] += times
    out.flush()
    print(f"{args.logfile}: {lines} lines, {matched} matched a rule, {alerts} alerts",
          file=summary)
    print("matches per rule:", file=summary)
    for match in matcher.enabledMatches:
        print(f"  {match.section:<10} {match.key:<9} 0x{match.alertId:04x}"
              f" SendTo={match.sendTo}: {counts[match.key]}", file=summary)
    print(f"  {'DEFAULT':<10} {'(none)':<9} {'-':<6} SendTo={matcher.defaultSendTo}:"
          f" {lines - matched} unclassified lines"
          + ("" if matcher.defaultSendTo != "N" else " (not sent)"), file=summary)
    return 0


def analyzeLogIds(args):
    """
    C{mice analyze --rules rules.txt --filters filter.txt [--netdef
    netdef.txt] LOGFILE}: every action the LogIDS rules (L{mice.analysis.logids}) take
    on the file's lines, then how often each rule fired.  Bad lines in the
    three files: each is listed as C{file:line: reason}, exit 1.
    """
    from collections import Counter
    from itertools import chain, islice
    from operator import attrgetter, itemgetter

    from mice.analysis.logids import LogIdsEngine, loadFiles

    if not (args.rules and args.filters):
        print("mice analyze: --rules and --filters go together", file=sys.stderr)
        return 2
    if args.idmef:
        print("mice analyze: --idmef is for -c (the M-ICE rules)", file=sys.stderr)
        return 2
    try:
        rules, filters, netdef, problems = loadFiles(args.rules, args.filters, args.netdef)
    except OSError as e:
        print(f"mice analyze: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(str(problem), file=sys.stderr)
        return 1
    engine = LogIdsEngine(rules, filters, netdef)
    stream = "<stdin>" if args.logfile == "-" else os.path.abspath(args.logfile)
    # Every action counts for its rule; the automatic drop for None.
    counts = Counter()
    lines = 0
    out = sys.stdout
    summary = sys.stderr if args.json else sys.stdout
    text = (LogIdsJson() if args.json else LogIdsListing()).lines
    ruleOf = attrgetter("rule")
    takenOf = itemgetter(1)
    # Without --ip, each line's reporting host is its syslog header's host
    # when that is an address (actions' None).
    ip = args.ip or None
    try:
        # The file is read a megabyte at a time; its lines' actions are
        # counted and written a few hundred lines at a time, so that what a
        # batch makes is freed before the garbage collector looks at it.
        for chunk, _ in readLines(args.logfile, 1 << 20):
            found = engine.actions(chunk, ip=ip, stream=stream, hostname=None)
            while batch := list(islice(found, 256)):
                counts.update(map(ruleOf, chain.from_iterable(map(takenOf, batch))))
                out.write(text(lines + 1, batch))
                lines += len(batch)
    except BrokenPipeError:
        return readerGone()
    except OSError as e:
        print(f"mice analyze: {args.logfile}: {e.strerror}", file=sys.stderr)
        return 1
    out.flush()
    dropped = counts[None]
    print(f"{args.logfile}: {lines} lines, {lines - dropped} matched a rule,"
          f" {sum(counts.values())} actions, {dropped} dropped (no rule)", file=summary)
    print("actions per rule:", file=summary)
    for rule in rules:
        print(f"  {rule.where}: {rule.text},{rule.action.kind}: {counts[rule]}", file=summary)
    print(f"  (no rule): automatic drop: {dropped}", file=summary)
    return 0


def addParser(commands):
    p = commands.add_parser("analyze", help="test analysis rules on a log file")
    rules = p.add_mutually_exclusive_group()
    rules.add_argument("-c", "--config", metavar="CONF",
                       help="a mice_mod_pop_aa_regex.conf (the M-ICE rules)")
    rules.add_argument("--rules", metavar="RULES",
                       help="a LogIDS rules.txt (with --filters)")
    p.add_argument("--filters", metavar="FILTERS", help="LogIDS filter.txt (with --rules)")
    p.add_argument("--netdef", metavar="NETDEF", help="LogIDS netdef.txt (with --rules)")
    p.add_argument("--ip", metavar="ADDRESS",
                   help="with --rules: the reporting host's address (default: the syslog"
                        " header's host, when it is an address)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="one JSON object per alert on stdout, the summary on stderr")
    output.add_argument("--idmef", action="store_true",
                        help="print the IDMEF documents of the alerts")
    p.add_argument("--match-file", metavar="FILE",
                   help="alert descriptions (default: matchfiles/match_file_aa_regex.txt"
                        " next to the config, if there)")
    p.add_argument("--tz", default="local",
                   help="the zone of the log's time stamps: local (default), UTC,"
                        " +01:00 or a name such as Europe/Berlin")
    p.add_argument("--strategy", default="literal",
                   choices=("literal", "alternation", "contains", "hyperscan"),
                   help=argparse.SUPPRESS)
    p.add_argument("logfile", metavar="LOGFILE", help="the log file, or - for standard input")
    p.set_defaults(run=run)
