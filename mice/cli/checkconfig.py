# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice check-config FILE...}: validate M-ICE config files (and LogIDS rule,
filter and netdef files, and correlation rules, C{*correlation*.conf}) and
print their effective settings.
"""

import os
import sys

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


def _isCorrelation(path):
    """Whether C{path} names a correlation rules file (C{*correlation*.conf})."""
    name = os.path.basename(path).lower()
    return "correlation" in name and name.endswith(".conf")


def _checkCorrelation(path, indent=""):
    """
    Load a correlation rules file, print its rules or every bad line.

    @return: whether it loaded.
    """
    from mice.analysis.correlation import loadCorrelation
    from mice.config import ConfigError

    try:
        loaded = loadCorrelation(path)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return False
    print(f"{indent}{path}: correlation rules, {len(loaded.rules)} rules, OK"
          f" (LATENESS {loaded.lateness:g} s, MAX_KEYS {loaded.maxKeys})")
    for rule in loaded.rules:
        counted = "alerts" if rule.distinct is None else f"different {rule.distinct}"
        print(f"{indent}    [{rule.name}] {rule.count} {counted} with the same"
              f" {' + '.join(rule.key)} within {rule.window:g} s -> 0x{rule.newAlertId:04x}"
              f" (suppressed {rule.suppress:g} s)")
    return True


def _loadOrSay(load, path, **options):
    """
    C{load(path, **options)}, or C{None} when C{path} is a bad config or
    cannot be read: that is said on standard error.
    """
    from mice.config import ConfigError

    try:
        return load(path, **options)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
    return None


def _loadWithModules(path, strict):
    """
    The config at C{path} and, for a BufferDaemon's, the warnings about the
    modules it names (which are looked up: an unknown one is an error).
    """
    from mice.config import loadConfig
    from mice.registry import pipelineModules

    loaded = loadConfig(path, strict=strict)
    planned = []
    if loaded.kind == "bufferdaemon":
        pipelineModules(loaded.settings, planned)
    return loaded, planned


def _checkActGeneric(settings, strict):
    """
    What an act_generic config names: its match files, and the config of
    each reaction agent that has one (C{<PIPE>.conf} beside it).

    @return: whether they are all good.
    """
    from mice.config import loadConfig

    good = True
    named = [(path, "match file") for path in dict.fromkeys(
        analyzer.matchFile for analyzer in settings.analyzers) if os.path.exists(path)]
    named += [(settings.agentConfig(reaction.pipe), f"reaction {reaction.rid} config")
              for reaction in settings.reactions if settings.agentConfig(reaction.pipe)]
    for path, what in named:
        loaded = _loadOrSay(loadConfig, path, strict=strict,
                            kind="matchfile" if what == "match file" else None)
        if loaded is None:
            good = False
            continue
        for warning in loaded.warnings:
            print(str(warning), file=sys.stderr)
        print(f"    {what} {path}: OK")
    if settings.correlation is not None:
        good = _checkCorrelation(settings.correlation.rules, "    ") and good
    return good


def _warnHyperscan(warnings, *args):
    """
    A warning for each rule regex Hyperscan (when installed) cannot scan
    for: C{mice analyze} then runs it with C{re} on every line, slower.
    """
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return
    try:
        found = warnings(*args)
    except (OSError, UnicodeDecodeError, ValueError):
        return  # Said already, by the checks of the files.
    for where, message in found:
        print(f"{where}: warning: {message}", file=sys.stderr)


def _aaRegexWarnings(settings):
    from mice.analysis.aaregex import AaRegexMatcher

    return AaRegexMatcher(settings, "hyperscan").hyperscanWarnings()


def _logIdsWarnings(rulesFile, filterFile):
    from mice.analysis.logids import LogIdsEngine, loadFilters, loadRules

    rules = loadRules(rulesFile)[0] if rulesFile else ()
    return LogIdsEngine(rules, loadFilters(filterFile)[0]).hyperscanWarnings()


def run(args):
    from mice.config import describe

    failed = False
    for path in args.files:
        if _isCorrelation(path):
            failed = not _checkCorrelation(path) or failed
            continue
        kind = _logidsKind(path)
        if kind is not None:
            failed = not _checkLogIds(kind, path) or failed
            if kind == "filter":
                _warnHyperscan(_logIdsWarnings, None, path)
            continue
        found = _loadOrSay(_loadWithModules, path, strict=args.strict)
        if found is None:
            failed = True
            continue
        loaded, planned = found
        for warning in (*loaded.warnings, *planned):
            print(str(warning), file=sys.stderr)
        print(f"{path}: {loaded.kind} config, OK")
        for line in describe(loaded):
            print(f"    {line}")
        if loaded.kind == "act_generic":
            failed = not _checkActGeneric(loaded.settings, args.strict) or failed
        if loaded.kind == "aa_regex":
            _warnHyperscan(_aaRegexWarnings, loaded.settings)
        if loaded.kind == "aa_rules":
            settings = loaded.settings
            for kind, named in (("rules", settings.rulesFile), ("filter", settings.filterFile),
                                ("netdef", settings.netdefFile)):
                if named is not None:
                    failed = not _checkLogIds(kind, named) or failed
            _warnHyperscan(_logIdsWarnings, settings.rulesFile, settings.filterFile)
    return 1 if failed else 0


def addArguments(p):
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--strict", action="store_true",
                   help="a referenced file or directory that does not exist is an error")
    p.set_defaults(run=run)
