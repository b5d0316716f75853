# -*- test-case-name: tests.integration.test_cli -*-
"""
The C{mice} command: check configs, create schemas, ship files, make keys,
reverse pseudonyms and test analysis rules on a log file.
"""

import argparse
import os
import socket
import sys

from twisted.internet.defer import ensureDeferred
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)


def _startLogging(verbose):
    level = LogLevel.info if verbose else LogLevel.warn
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(defaultLogLevel=level)])],
        redirectStandardIO=False)


#: The LogIDS files C{check-config} recognises by name (C{*rules*.txt}...):
#: they are not INI configs.
_LOGIDS_FILES = ("netdef", "filter", "rules")


def _logidsKind(path):
    name = os.path.basename(path).lower()
    if name.endswith(".txt"):
        return next((kind for kind in _LOGIDS_FILES if kind in name), None)
    return None


def _checkLogIds(kind, path):
    """
    Load one LogIDS file, print what loaded and every line that did not.

    @return: whether every line loaded.
    """
    from mice.analysis import logids

    load = {"rules": logids.loadRules, "filter": logids.loadFilters,
            "netdef": logids.loadNetDef}[kind]
    try:
        loaded, problems = load(path)
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return False
    except UnicodeDecodeError as e:
        print(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})", file=sys.stderr)
        return False
    for problem in problems:
        print(str(problem), file=sys.stderr)
    size = len(loaded.entries) if kind == "netdef" else len(loaded)
    what = {"rules": "rules", "filter": "filter blocks", "netdef": "host patterns"}[kind]
    print(f"{path}: LogIDS {kind} file, {size} {what}"
          + (f", {len(problems)} bad line(s)" if problems else ", OK"))
    return not problems


def _checkActGeneric(settings, strict):
    """
    What an act_generic config names: its match files, and the config of
    each reaction agent that has one (C{<PIPE>.conf} beside it).

    @return: whether they are all good.
    """
    from mice.config import ConfigError, loadConfig

    good = True
    named = [(analyzer.matchFile, "match file") for analyzer in settings.analyzers
             if os.path.exists(analyzer.matchFile)]
    named += [(settings.agentConfig(reaction.pipe), f"reaction {reaction.rid} config")
              for reaction in settings.reactions if settings.agentConfig(reaction.pipe)]
    for path, what in named:
        try:
            loaded = loadConfig(path, strict=strict,
                                kind="matchfile" if what == "match file" else None)
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            good = False
            continue
        except OSError as e:
            print(f"{path}: {e.strerror}", file=sys.stderr)
            good = False
            continue
        for warning in loaded.warnings:
            print(str(warning), file=sys.stderr)
        print(f"    {what} {path}: OK")
    return good


def checkConfig(args):
    from mice.config import ConfigError, describe, loadConfig

    failed = False
    for path in args.files:
        kind = _logidsKind(path)
        if kind is not None:
            failed = not _checkLogIds(kind, path) or failed
            continue
        try:
            loaded = loadConfig(path, strict=args.strict)
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            failed = True
            continue
        except OSError as e:
            print(f"{path}: {e.strerror}", file=sys.stderr)
            failed = True
            continue
        for warning in loaded.warnings:
            print(str(warning), file=sys.stderr)
        print(f"{path}: {loaded.kind} config, OK")
        for line in describe(loaded):
            print(f"    {line}")
        if loaded.kind == "act_generic":
            failed = not _checkActGeneric(loaded.settings, args.strict) or failed
        if loaded.kind == "aa_rules":
            settings = loaded.settings
            for kind, named in (("rules", settings.rulesFile), ("filter", settings.filterFile),
                                ("netdef", settings.netdefFile)):
                if named is not None:
                    failed = not _checkLogIds(kind, named) or failed
    return 1 if failed else 0


async def _initdb(reactor, url, tables, journal=False):
    from mice.db import journal as reactionJournal
    from mice.db.pools import connectionPool, schema

    pool, dialect = connectionPool(url, reactor)
    pool.start()
    try:
        await pool.runInteraction(schema.createSchema, dialect, tables)
        if journal:
            await pool.runInteraction(reactionJournal.createJournal, dialect)
    finally:
        pool.close()


def initdb(args):
    from twisted.internet import reactor
    from twisted.internet.task import react

    from mice.config import parseDatabaseUrl
    from mice.db import schema

    try:
        url = parseDatabaseUrl(args.url)
    except ValueError as e:
        print(f"mice initdb: {e}", file=sys.stderr)
        return 2
    from mice.db.journal import JOURNAL_TABLES

    tables = {"rawlog": schema.RAWLOG_TABLES, "alert": schema.ALERT_TABLES,
              "all": schema.RAWLOG_TABLES + schema.ALERT_TABLES}[args.tables]
    journal = args.tables in ("alert", "all")
    status = []

    async def main(reactor):
        try:
            await _initdb(reactor, url, tables, journal)
        except Exception as e:
            print(f"mice initdb: {args.url.split('@')[-1]}: {e}", file=sys.stderr)
            status.append(1)
        else:
            made = tables + (JOURNAL_TABLES if journal else ())
            print(f"created {', '.join(made)} in {url.redacted()}")

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    del reactor
    return status[0] if status else 0


def _endpoint(reactor, args):
    from twisted.internet.endpoints import clientFromString

    if args.endpoint:
        return clientFromString(reactor, args.endpoint)
    host, sep, port = args.to.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--to must be HOST:PORT, not {args.to!r}")
    host = host.strip("[]").replace(":", r"\:")
    return clientFromString(reactor, f"tcp:host={host}:port={port}:timeout=10")


def linkSecurity(args):
    """
    The link security C{mice send}'s options ask for.

    @raise ValueError: they are incomplete or a file is bad.
    """
    from mice.security.policy import LinkSecurity

    if args.link_config:
        from mice.config import loadConfig

        settings = loadConfig(args.link_config).settings
        if not hasattr(settings, "encrypt"):
            raise ValueError(f"{args.link_config}: has no ENCRYPT setting")
        return LinkSecurity.fromSettings(settings.encrypt, settings.encKey, settings.cryptMod,
                                         settings.tls, where=args.link_config)
    tls = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(tls):
        if not all(tls):
            raise ValueError("--tls-cert, --tls-key and --tls-ca go together")
        return LinkSecurity.fromSettings(True, tls=tls)
    if args.enckey_file:
        with open(args.enckey_file, encoding="utf-8") as f:
            key = f.read().strip()
        return LinkSecurity.fromSettings(True, key, args.cryptmod, where=args.enckey_file)
    return LinkSecurity()


def send(args):
    from twisted.internet.task import react

    from mice.forwarder.shipping import shipFile
    from mice.services.sender import ReliableSender

    status = []

    async def main(reactor):
        try:
            security = linkSecurity(args)
            endpoint = security.wrapClientEndpoint(
                _endpoint(reactor, args),
                args.tls_name or (args.to or "").rpartition(":")[0].strip("[]") or "localhost")
        except (OSError, ValueError) as e:
            print(f"mice send: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
            status.append(2)
            return
        sender = ReliableSender(endpoint, source=args.source, kind=args.kind, clock=reactor,
                                window=args.window, description=args.to or args.endpoint,
                                securityFactory=security.securityFactory())
        sender.startService()
        timeout = None
        if args.timeout:
            def giveUp():
                print(f"mice send: gave up after {args.timeout}s; {sender.pendingRecords}"
                      " records not acknowledged", file=sys.stderr)
                status.append(1)
                shipping.cancel()
            timeout = reactor.callLater(args.timeout, giveUp)
        shipping = ensureDeferred(shipFile(sender, args.file, kind=args.kind,
                                           stream=args.stream))

        def refused(reason):
            if not shipping.called:
                print(f"mice send: {sender.description} refused: {reason}", file=sys.stderr)
                status.append(1)
                shipping.cancel()

        sender.whenRefused().addCallback(refused)
        try:
            result = await shipping
        except Exception as e:
            if not status:
                print(f"mice send: {e}", file=sys.stderr)
                status.append(1)
        else:
            print(f"{args.file}: {result.records} records in {result.batches} batches"
                  f" acknowledged by {sender.description}"
                  + (f" ({result.truncated} over-long lines truncated)"
                     if result.truncated else ""))
        finally:
            if timeout is not None and timeout.active():
                timeout.cancel()
            await sender.stopService()

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    return status[0] if status else 0


def keygen(args):
    from mice.forwarder.pseudonym import newKey

    print(newKey().hex())
    return 0


def certs(args):
    """
    Make (or reuse) a CA in the directory, and a certificate per node.
    """
    from mice.security.certs import loadOrMakeCA, writeNode

    try:
        caKey, caCertificate, made = loadOrMakeCA(args.dir, args.ca_name)
        print(f"{'made' if made else 'using'} CA {os.path.join(args.dir, 'ca.crt')}")
        for name in args.nodes:
            certificate, key = writeNode(args.dir, caKey, caCertificate, name, days=args.days)
            print(f"{name}: {certificate} {key}")
    except (OSError, ValueError) as e:
        print(f"mice certs: {e}", file=sys.stderr)
        return 1
    return 0


def depseudonymize(args):
    """
    Replace the C{psd:} pseudonyms of the files (or standard input) by the
    values they stand for, with the key of C{mice_mod_psd_keyed}.
    """
    from mice.forwarder.pseudonym import depseudonymizeText, readKey

    try:
        key = readKey(args.key)
    except (OSError, ValueError) as e:
        print(f"mice depseudonymize: {args.key}: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    invalid = 0
    for path in args.files or ["-"]:
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8",
                                                         errors="surrogateescape")
        except OSError as e:
            print(f"mice depseudonymize: {path}: {e.strerror}", file=sys.stderr)
            return 2
        with stream:
            for number, line in enumerate(stream, 1):
                text, bad = depseudonymizeText(line, key)
                sys.stdout.write(text)
                for token in bad:
                    invalid += 1
                    print(f"{path}:{number}: {token} is not a pseudonym of this key",
                          file=sys.stderr)
    return 1 if invalid else 0

def _zone(name):
    """
    The C{tzinfo} of C{--tz}: C{local} (C{None}: the host's own zone), C{UTC},
    a fixed offset (C{+01:00}) or an IANA name (C{Europe/Berlin}).
    """
    from datetime import UTC, datetime

    if name == "local":
        return None
    if name.upper() in ("UTC", "Z"):
        return UTC
    if name[:1] in "+-":
        return datetime.strptime(name.replace(":", ""), "%z").tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _matchDescriptions(args):
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


def _readLines(path, size=1 << 22):
    """
    The lines of a log file, decoded as the BufferDaemon does (each line's
    bytes as L{mice.forwarder.format.decodeLogBytes} decodes them, without its
    C{\\n} or C{\\r\\n}), in batches of about C{size} bytes: C{(lines, text)},
    C{text} being C{"\\n".join(lines)}.

    A batch is decoded at once: a newline byte is never part of a UTF-8
    sequence, so decoding the lines together gives the lines decoded one
    by one, joined by newlines.
    """
    with open(path, "rb") as f:
        rest = b""
        while True:
            data = f.read(size)
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                rest += data
                continue
            block, rest = rest + data[:cut], data[cut + 1:]
            yield _decodeBlock(block, True)
        if rest:
            yield _decodeBlock(rest, False)


def _decodeBlock(block, ended):
    """
    C{(lines, text)} of whole lines' bytes joined by newlines; C{ended}:
    whether a newline followed the last one (the file's last line may
    have none).
    """
    text = block.decode("utf-8", "backslashreplace")
    lines = text.split("\n")
    if "\r" in text:
        # CRLF endings: the CR before a newline goes with it.
        last = lines[-1]
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        if not ended:
            lines[-1] = last
        text = "\n".join(lines)
    return lines, text


def _alertFormats(matches, descriptions, dumps=None):
    """
    The output of the alerts of one line's matches (one L{Match} tuple, of
    which there are few): a C{str.format} template of the line's number,
    source and target (and, for the listing, the line), built from the
    same fields L{makeAlert} gives the alert.

    @param dumps: C{json.dumps} for C{--json} (its objects, one a line),
        C{None} for the listing.
    """
    from mice.analysis.aaregex import SEVERITY, UNCLASSIFIED

    parts = []
    for match in matches:
        if match.alertId is None:
            classification, severity, aid = UNCLASSIFIED, "info", None
        else:
            classification = descriptions.get(match.alertId) or match.key
            severity = SEVERITY.get(match.alertId, "medium")
            aid = f"0x{match.alertId:04x}"
        if dumps is not None:
            head = '{"line": '
            middle = (f', "alertid": {dumps(aid)}, "classification": {dumps(classification)},'
                      ' "source": ')
            tail = (f', "severity": {dumps(severity)}, "rule": {dumps(match.key)},'
                    f' "sendto": {dumps(match.sendTo)}}}\n')
            parts.append(_brace(head) + "{0}" + _brace(middle) + "{1}"
                         + _brace(', "target": ') + "{2}" + _brace(tail))
        else:
            parts.append("{0}" + _brace(f": {aid or '-'} {classification} [{match.key}"
                                        f" -> {match.sendTo}] {severity} ")
                         + "{1} -> {2}\n    {3}\n")
    return "".join(parts)


def _brace(text):
    return text.replace("{", "{{").replace("}", "}}")


def analyze(args):
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
        descriptions = _matchDescriptions(args)
        tz = _zone(args.tz)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as e:
        print(f"mice analyze: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    matcher = AaRegexMatcher(settings, args.strategy)
    now = datetime.now()
    stamp = Timestamper(now)
    stream = os.path.abspath(args.logfile)
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
        for chunk, text in _readLines(args.logfile):
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
                    template = formats[matches] = _alertFormats(
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
        return _readerGone()
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


class _LogIdsJson:
    """
    C{mice analyze --rules --json}'s output of a line's actions: each
    action's L{Taken.asDict} as C{json.dumps} prints it, one a line, made
    from pieces cut from C{json.dumps} of the same objects once per rule and
    application, so that the bytes are the same.
    """

    def __init__(self):
        import json

        self._dumps = json.dumps
        # What json.dumps does to a str (ensure_ascii).
        self._string = json.encoder.encode_basestring_ascii
        self._pieces = {}
        self._names = {}

    def format(self, number, application, taken):
        """The text of the objects of one line's actions."""
        return self.lines(number, ((application, taken),))

    def lines(self, first, actions):
        """
        The text of the objects of the actions of lines C{first},
        C{first + 1}...: C{actions} holds C{(application, taken)} for each
        (L{LogIdsEngine.actions}).
        """
        byApplication = self._pieces
        names = self._names
        string = self._string
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication.get(application)
            if pieces is None:
                pieces = byApplication[application] = {}
            head = f'{{"line": {number}'
            for action in taken:
                # A display's object differs from line to line by its fields only.
                fields = action.fields
                key = action if fields is None else action.rule
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None:
                    write(head + piece)
                else:
                    write(head + piece + ", ".join([
                        (names.get(name) or self._name(name)) + string(value) + "]"
                        for name, value in fields]) + "]}\n")
        return "".join(out)

    def _piece(self, application, action):
        """
        The object after C{{"line": N}: all of it and a newline, or for a
        C{display}, up to the fields list's C{[}.
        """
        start = '{"line": 0'
        if action.fields is None:
            text = self._dumps(action.asDict(0, application))
            assert text.startswith(start), text
            return text[len(start):] + "\n"
        text = self._dumps(action._replace(fields=()).asDict(0, application))
        assert text.startswith(start) and text.endswith('"fields": []}'), text
        return text[len(start):-2]

    def _name(self, name):
        text = self._names[name] = "[" + self._string(name) + ", "
        return text


class _LogIdsListing:
    """
    C{mice analyze --rules}'s readable listing of a line's actions, one a
    line: C{N: application kind detail [rule]}; what does not change from
    line to line is made once per action and application.
    """

    def __init__(self):
        self._pieces = {}

    def lines(self, first, actions):
        """The listing of lines C{first}, C{first + 1}... (see L{_LogIdsJson.lines})."""
        byApplication = self._pieces
        out = []
        write = out.append
        for number, (application, taken) in enumerate(actions, first):
            pieces = byApplication.get(application)
            if pieces is None:
                pieces = byApplication[application] = {}
            for action in taken:
                fields = action.fields
                key = action if fields is None else (action.rule, action.kind,
                                                     action.severity, action.icon)
                piece = pieces.get(key)
                if piece is None:
                    piece = pieces[key] = self._piece(application, action)
                if fields is None or action.severity or action.icon:
                    write(f"{number}{piece[0]}{piece[1]}")
                else:
                    detail = " ".join([f"{k}={v}" for k, v in fields])
                    write(f"{number}{piece[0]}{' ' + detail if detail else ''}{piece[1]}")
        return "".join(out)

    @staticmethod
    def _piece(application, action):
        """The text before the detail of fields and after it."""
        detail = action.severity or action.icon
        return (f": {application or '-'} {action.kind}{' ' + detail if detail else ''}",
                f" [{action.rule.where if action.rule else 'no rule'}]\n")


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

    from mice.analysis.logids import LogIdsEngine, NetDef, loadFilters, loadNetDef, loadRules

    if not (args.rules and args.filters):
        print("mice analyze: --rules and --filters go together", file=sys.stderr)
        return 2
    if args.idmef:
        print("mice analyze: --idmef is for -c (the M-ICE rules)", file=sys.stderr)
        return 2
    problems = []
    try:
        rules, found = loadRules(args.rules)
        problems += found
        filters, found = loadFilters(args.filters)
        problems += found
        netdef = NetDef()
        if args.netdef:
            netdef, found = loadNetDef(args.netdef)
            problems += found
    except OSError as e:
        print(f"mice analyze: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(str(problem), file=sys.stderr)
        return 1
    engine = LogIdsEngine(rules, filters, netdef)
    stream = os.path.abspath(args.logfile)
    # Every action counts for its rule; the automatic drop for None.
    counts = Counter()
    lines = 0
    out = sys.stdout
    summary = sys.stderr if args.json else sys.stdout
    text = (_LogIdsJson() if args.json else _LogIdsListing()).lines
    ruleOf = attrgetter("rule")
    takenOf = itemgetter(1)
    # Without --ip, each line's reporting host is its syslog header's host
    # when that is an address (actions' None).
    ip = args.ip or None
    try:
        # The file is read a megabyte at a time; its lines' actions are
        # counted and written a few hundred lines at a time, so that what a
        # batch makes is freed before the garbage collector looks at it.
        for chunk, _ in _readLines(args.logfile, 1 << 20):
            found = engine.actions(chunk, ip=ip, stream=stream, hostname=None)
            while batch := list(islice(found, 256)):
                counts.update(map(ruleOf, chain.from_iterable(map(takenOf, batch))))
                out.write(text(lines + 1, batch))
                lines += len(batch)
    except BrokenPipeError:
        return _readerGone()
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


def makeParser():
    parser = argparse.ArgumentParser(prog="mice", description="M-ICE command line tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("check-config", help="validate M-ICE config files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--strict", action="store_true",
                   help="a referenced file or directory that does not exist is an error")
    p.set_defaults(run=checkConfig)

    p = commands.add_parser("initdb", help="create the raw-log and alert schemas")
    p.add_argument("url", metavar="URL",
                   help="sqlite:///path.db or mysql://user:pass@host:port/db")
    p.add_argument("--tables", choices=("rawlog", "alert", "all"), default="all")
    p.set_defaults(run=initdb)

    p = commands.add_parser("send", help="ship a file to a BufferDaemon")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="HOST:PORT")
    target.add_argument("--endpoint", metavar="ENDPOINT",
                        help="a Twisted client endpoint string, e.g. unix:path=/run/mice.sock")
    p.add_argument("--kind", choices=("log", "idmef"), default="log")
    p.add_argument("--source", default=socket.gethostname().split(".")[0] or "localhost",
                   help="this client's name in the stores (default: the host name)")
    p.add_argument("--stream", help="the stream name (default: the file's absolute path)")
    p.add_argument("--window", type=int, default=8, help="batches in flight")
    p.add_argument("--timeout", type=float, default=0,
                   help="give up after this many seconds (default: keep trying)")
    link = p.add_argument_group("link security (default: plain text)")
    link.add_argument("--link-config", metavar="CONF",
                      help="take ENCRYPT, ENCKEY, CRYPTMOD, TLSCERT... from this config"
                           " (a dataforwarder.conf or a decoding module's conf)")
    link.add_argument("--enckey-file", metavar="FILE",
                      help="pre-shared key (or passphrase) in this file")
    link.add_argument("--cryptmod", default="aes-256-gcm",
                      choices=("aes-256-gcm", "chacha20-poly1305", "twofish"))
    link.add_argument("--tls-cert", metavar="PEM")
    link.add_argument("--tls-key", metavar="PEM")
    link.add_argument("--tls-ca", metavar="PEM")
    link.add_argument("--tls-name", metavar="NAME",
                      help="the name the server's certificate must have (default: its address)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=send)

    p = commands.add_parser("keygen", help="print a new random key (hex), for KEYFILE")
    p.set_defaults(run=keygen)

    p = commands.add_parser("certs", help="make a small CA and node certificates for TLS")
    p.add_argument("--dir", "-d", required=True, help="where the CA and certificates go")
    p.add_argument("--ca-name", default="M-ICE CA", help="the CA's common name")
    p.add_argument("--days", type=int, default=825, help="validity of node certificates")
    p.add_argument("nodes", nargs="*", metavar="NAME",
                   help="DNS name or IP address of each node, as its peers check it")
    p.set_defaults(run=certs)

    p = commands.add_parser("depseudonymize",
                            help="turn psd: pseudonyms back into the values (key holders)")
    p.add_argument("--key", "-k", required=True, metavar="KEYFILE",
                   help="the key file of mice_mod_psd_keyed")
    p.add_argument("files", nargs="*", metavar="FILE", help="files to read (default: stdin)")
    p.set_defaults(run=depseudonymize)

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
    p.add_argument("logfile", metavar="LOGFILE")
    p.set_defaults(run=analyze)
    return parser


def _readerGone():
    """
    The reader of our output went away (C{mice analyze ... | head}): there
    is nothing more to say, and the interpreter's last flush of stdout must
    not complain about it either.

    @return: the exit status, 0.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def main(argv=None):
    args = makeParser().parse_args(argv)
    if args.command not in ("check-config", "keygen", "depseudonymize", "certs", "analyze"):
        _startLogging(args.verbose)
    try:
        return args.run(args)
    except BrokenPipeError:
        return _readerGone()


if __name__ == "__main__":
    sys.exit(main())
