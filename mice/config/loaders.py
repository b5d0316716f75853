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


def loadBufferDaemon(path, strict=False):
    return loadConfig(path, strict, "bufferdaemon").settings


def loadPopMysql(path, strict=False):
    return loadConfig(path, strict, "pop_mysql").settings


def loadPopSyslog(path, strict=False):
    return loadConfig(path, strict, "pop_syslog").settings


def loadDecoder(path, strict=False):
    """
    The decoding module's settings; C{path=None} gives the defaults.
    """
    if path is None:
        return DecoderSettings(None)
    return loadConfig(path, strict, "decoder").settings


def loadDataForwarder(path, strict=False):
    return loadConfig(path, strict, "dataforwarder").settings


def loadReactionDaemon(path, strict=False):
    return loadConfig(path, strict, "reactiondaemon").settings


def loadRctSystem(path, strict=False):
    return loadConfig(path, strict, "rct_system").settings


def loadCountermeasure(path, strict=False):
    return loadConfig(path, strict, "countermeasure").settings


def loadAaRegex(path, strict=False):
    return loadConfig(path, strict, "aa_regex").settings


def loadAaRules(path, strict=False):
    return loadConfig(path, strict, "aa_rules").settings


def loadActGeneric(path, strict=False):
    return loadConfig(path, strict, "act_generic").settings


def loadMatchFile(path, strict=False):
    return loadConfig(path, strict, "matchfile").settings


def loadFltRegex(path, strict=False):
    """
    The filter module's settings; C{path=None} gives no rules (keep every line).
    """
    if path is None:
        return FilterSettings(None, (), ())
    return loadConfig(path, strict, "flt_regex").settings


def loadPseudonym(path, strict=False):
    """
    A pseudonymisation module's settings; C{path=None} gives no key.
    """
    if path is None:
        return PseudonymSettings(None, None)
    return loadConfig(path, strict, "psd").settings


def loadFmtSimple(path, strict=False):
    """
    The format module's settings; C{path=None} overrides nothing.
    """
    if path is None:
        return FmtSimpleSettings(None)
    return loadConfig(path, strict, "fmt_simple").settings


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


def loadSyslogReaction(path, strict=False):
    """
    C{rid_1_write_to_syslog.conf}; C{path=None} gives the defaults.
    """
    if path is None:
        return SyslogReactionSettings()
    return loadConfig(path, strict, "rid_syslog").settings


def loadSaveToFile(path, strict=False):
    """
    C{rid_3_save_to_file.conf}; C{path=None} gives the defaults.
    """
    if path is None:
        return SaveToFileSettings()
    return loadConfig(path, strict, "rid_savetofile").settings


def loadFifoReaction(path, strict=False):
    """
    An external reaction program's C{<PIPE>.conf}; C{path=None} gives the
    defaults.
    """
    if path is None:
        return FifoReactionSettings()
    return loadConfig(path, strict, "rid_fifo").settings
