# -*- test-case-name: tests.unit.config.test_config -*-
"""
The M-ICE configuration files: the original's INI dialect turned into typed,
frozen, validated settings.

Every config file of the 2004 setup guide loads unchanged.  Reading one goes
in three steps:

 1. L{parseIni} splits the text into sections and C{KEY = value} entries,
    keeping repeated keys in order and the line of everything;
 2. the file's schema (one small table of L{_Key} specs per kind, see
    L{_SCHEMAS}) checks every section and key name and converts every value,
    resolving relative paths against the config file's own directory;
 3. a short builder per kind checks what spans several keys (pairs of lists
    that must be as long as each other, routes that need an address) and
    makes the frozen settings object.

Every problem found is reported at once as C{file:line: what is wrong}
(L{ConfigErrors} holds them all).  Missing files that a config names are
L{ConfigWarning}s, or errors with C{strict=True}.

This package is pure: it imports nothing from C{twisted.internet}.

The parts: L{mice.config.ini} (the dialect), L{mice.config.values} (value
types), L{mice.config.settings} (what a file loads into),
L{mice.config.schema} (each kind's keys and builders),
L{mice.config.loaders} and L{mice.config.describe}.
"""

from mice.config.describe import (  # noqa: F401
    describe,
)
from mice.config.errors import (  # noqa: F401
    ConfigError,
    ConfigErrors,
    ConfigWarning,
)
from mice.config.ini import (  # noqa: F401
    Entry,
    IniFile,
    Section,
    parseIni,
)
from mice.config.loaders import (  # noqa: F401
    loadAaRegex,
    loadAaRules,
    loadActGeneric,
    loadBufferDaemon,
    loadConfig,
    loadConfigText,
    loadDataForwarder,
    loadDecoder,
    loadFltRegex,
    loadFmtSimple,
    loadMatchFile,
    loadPopMysql,
    loadPopSyslog,
    loadPseudonym,
    loadReactionDaemon,
)
from mice.config.schema import (  # noqa: F401
    KINDS,
    detectKind,
)
from mice.config.settings import (  # noqa: F401
    ALERT_IDS,
    CONSOLE_LISTEN,
    AaRegexSettings,
    AaRulesSettings,
    ActGenericSettings,
    AnalyzerSettings,
    BufferDaemonSettings,
    ConsoleSettings,
    DataForwarderSettings,
    DecoderSettings,
    FilterSettings,
    FmtSimpleSettings,
    FunctionSettings,
    LoadedConfig,
    MatchFileSettings,
    PipelineSettings,
    PopMysqlSettings,
    PopSyslogSettings,
    PseudonymSettings,
    ReactionAgentSettings,
    ReactionDaemonSettings,
    Rule,
    RuleSection,
    ServerAddress,
)
from mice.config.values import (  # noqa: F401
    ADDRESS,
    BOOL,
    COUNT,
    CRYPTMOD,
    CRYPTO_MODULES,
    DBURL,
    DIRECTORY,
    ENDPOINT,
    FACILITY,
    FILE,
    FILTERREGEX,
    HOST,
    HOSTPORT,
    IP,
    LOGFILE,
    NAME,
    PORT,
    POSITIVE,
    PROTO,
    REGEX,
    RUNTIME,
    SEARCHPATH,
    SECONDS,
    SENDTO,
    SYSLOG_FACILITIES,
    SYSLOGFORMAT,
    SYSLOGTAG,
    SYSLOGTARGET,
    TEXT,
    DatabaseUrl,
    HostPort,
    parseDatabaseUrl,
)

__all__ = [
    "ALERT_IDS",
    "CRYPTO_MODULES",
    "SYSLOG_FACILITIES",
    "KINDS",
    "ConfigError",
    "ConfigErrors",
    "ConfigWarning",
    "Entry",
    "Section",
    "IniFile",
    "parseIni",
    "DatabaseUrl",
    "parseDatabaseUrl",
    "HostPort",
    "ServerAddress",
    "PipelineSettings",
    "BufferDaemonSettings",
    "PopMysqlSettings",
    "PopSyslogSettings",
    "DecoderSettings",
    "DataForwarderSettings",
    "FunctionSettings",
    "ReactionDaemonSettings",
    "Rule",
    "RuleSection",
    "AaRegexSettings",
    "ReactionAgentSettings",
    "AnalyzerSettings",
    "ActGenericSettings",
    "ConsoleSettings",
    "CONSOLE_LISTEN",
    "MatchFileSettings",
    "FilterSettings",
    "PseudonymSettings",
    "FmtSimpleSettings",
    "LoadedConfig",
    "detectKind",
    "loadConfig",
    "loadConfigText",
    "describe",
    "loadBufferDaemon",
    "loadPopMysql",
    "loadPopSyslog",
    "loadDecoder",
    "loadDataForwarder",
    "loadReactionDaemon",
    "loadAaRegex",
    "loadActGeneric",
    "loadMatchFile",
    "loadFltRegex",
    "loadPseudonym",
    "loadFmtSimple",
    "loadAaRules",
    "AaRulesSettings",
    "ADDRESS",
    "BOOL",
    "COUNT",
    "CRYPTMOD",
    "DBURL",
    "DIRECTORY",
    "ENDPOINT",
    "FACILITY",
    "FILE",
    "FILTERREGEX",
    "HOST",
    "HOSTPORT",
    "IP",
    "LOGFILE",
    "NAME",
    "PORT",
    "POSITIVE",
    "PROTO",
    "REGEX",
    "RUNTIME",
    "SEARCHPATH",
    "SECONDS",
    "SENDTO",
    "SYSLOGFORMAT",
    "SYSLOGTAG",
    "SYSLOGTARGET",
    "TEXT",
]
