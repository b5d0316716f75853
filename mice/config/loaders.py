# -*- test-case-name: tests.unit.config.test_config -*-
"""
Loading a config file: detect its kind, validate it against its schema, build its settings.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""


from mice.config.describe import _shown
from mice.config.errors import ConfigError
from mice.config.ini import _parse, _raiseIfAny, _readText
from mice.config.schema import _SCHEMAS, KINDS, _Loader, _validate, detectKind
from mice.config.settings import (
    DecoderSettings,
    FifoReactionSettings,
    FilterSettings,
    FmtSimpleSettings,
    LoadedConfig,
    PseudonymSettings,
    SaveToFileSettings,
    SyslogReactionSettings,
)

# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def loadConfigText(text, filename, strict=False, kind=None):
    """
    Like L{loadConfig}, for text already read; relative paths resolve against
    the directory of C{filename}.
    """
    loader = _Loader(filename, strict)
    ini = _parse(text, filename, loader.errors)
    detected = None
    try:
        detected = detectKind(ini)
    except ConfigError as e:
        if kind is None:
            loader.errors.append(e)
            _raiseIfAny(loader.errors)
    if kind is None:
        kind = detected
    elif kind not in _SCHEMAS:
        raise ValueError(f"unknown config kind {kind!r}; known: {', '.join(KINDS)}")
    elif detected is not None and detected != kind:
        loader.error(None, f"this is {_SCHEMAS[detected].title} ({detected}), not"
                           f" {_SCHEMAS[kind].title} ({kind})")
        _raiseIfAny(loader.errors)
    schema = _SCHEMAS[kind]
    values = _validate(ini, schema, loader)
    _raiseIfAny(loader.errors)
    settings = schema.build(loader, values)
    _raiseIfAny(loader.errors + loader.strictErrors)
    return LoadedConfig(kind, settings, tuple(loader.warnings), _shown(schema, values))


def loadConfig(path, strict=False, kind=None):
    """
    Read, check and convert one M-ICE config file.

    @param kind: one of L{KINDS}; by default L{detectKind} decides.
    @param strict: make missing files the config names errors, not warnings.
    @return: a L{LoadedConfig}.
    @raise ConfigError: everything wrong with the file (L{ConfigErrors} when
        there is more than one thing).
    """
    return loadConfigText(_readText(path), path, strict, kind)


def _settingsLoader(kind, withoutFile=None):
    """
    C{load(path, strict=False)}: the settings of a config file of C{kind}
    (L{loadConfig}); C{path=None} gives C{withoutFile}, where given.
    """
    def load(path, strict=False):
        if path is None and withoutFile is not None:
            return withoutFile
        return loadConfig(path, strict, kind).settings

    load.__doc__ = f"The settings read from {_SCHEMAS[kind].title} (kind C{{{kind}}})" + (
        "; C{path=None} gives the defaults." if withoutFile is not None else ".")
    return load


loadBufferDaemon = _settingsLoader("bufferdaemon")
loadPopMysql = _settingsLoader("pop_mysql")
loadPopSyslog = _settingsLoader("pop_syslog")
loadDecoder = _settingsLoader("decoder", DecoderSettings(None))
loadDataForwarder = _settingsLoader("dataforwarder")
loadReactionDaemon = _settingsLoader("reactiondaemon")
loadAaRegex = _settingsLoader("aa_regex")
loadAaRules = _settingsLoader("aa_rules")
loadActGeneric = _settingsLoader("act_generic")
loadMatchFile = _settingsLoader("matchfile")
# Without a file: no filter rules (every line kept), no pseudonym key, no
# host column overridden.
loadFltRegex = _settingsLoader("flt_regex", FilterSettings(None, (), ()))
loadPseudonym = _settingsLoader("psd", PseudonymSettings(None, None))
loadFmtSimple = _settingsLoader("fmt_simple", FmtSimpleSettings(None))
loadRctSystem = _settingsLoader("rct_system")
loadCountermeasure = _settingsLoader("countermeasure")
# The reaction agents' <PIPE>.conf files: without one, their defaults.
loadSyslogReaction = _settingsLoader("rid_syslog", SyslogReactionSettings())
loadSaveToFile = _settingsLoader("rid_savetofile", SaveToFileSettings())
loadFifoReaction = _settingsLoader("rid_fifo", FifoReactionSettings())


def lineOf(path, key, section=None):
    """
    The line of C{path} where C{key} is set (in C{section}, or in any), for a
    problem found after loading; C{None} when it cannot be told.
    """
    try:
        ini = _parse(_readText(path), path, [])
    except ConfigError:
        return None
    for sect in ini.sections:
        if section is not None and sect.name.upper() != section.upper():
            continue
        for entry in sect.entries:
            if entry.key.upper() == key.upper():
                return entry.line
    return None


