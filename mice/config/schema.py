# -*- test-case-name: tests.unit.config.test_config -*-
"""
The schema of each kind of config file: sections and keys with their types, and the builders that check what spans several keys.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

import difflib
import os
import re
import stat
import types
from dataclasses import dataclass
from typing import NamedTuple

from mice.config.errors import ConfigError, ConfigWarning, _Invalid
from mice.config.settings import (
    _RULE_SECTIONS,
    ALERT_IDS,
    CONSOLE_LISTEN,
    AaRegexSettings,
    AaRulesSettings,
    ActGenericSettings,
    AnalyzerSettings,
    BufferDaemonSettings,
    ConsoleSettings,
    CorrelationStageSettings,
    CountermeasureRule,
    CountermeasureSettings,
    DaemonLinkSettings,
    DataForwarderSettings,
    DecoderSettings,
    FifoReactionSettings,
    FilterSettings,
    FmtSimpleSettings,
    FunctionSettings,
    ListenLimits,
    MatchFileSettings,
    PipelineSettings,
    PopMysqlSettings,
    PopSyslogSettings,
    PseudonymSettings,
    RctSystemSettings,
    ReactionAgentSettings,
    ReactionDaemonSettings,
    Rule,
    RuleSection,
    SaveToFileSettings,
    ServerAddress,
    SyslogReactionSettings,
)
from mice.config.values import (
    ADDRESS,
    AMQPURL,
    ARGV,
    BOOL,
    COUNT,
    CRYPTMOD,
    DBURL,
    DIRECTORY,
    DURATION,
    ENDPOINT,
    FACILITY,
    FACTOR,
    FIFOMODE,
    FILE,
    FILEMODE,
    FILTERREGEX,
    HOST,
    HOSTPORT,
    INSTANCE,
    IP,
    LOGFILE,
    NAME,
    NETWORK,
    PARAMMAP,
    PARAMSPEC,
    PORT,
    POSITIVE,
    PROTO,
    QUEUENAME,
    QUEUETYPE,
    REGEX,
    RUNTIME,
    SCOPE,
    SEARCHPATH,
    SECONDS,
    SENDTO,
    SYSLOG_FACILITIES,
    SYSLOGFORMAT,
    SYSLOGFRAMING,
    SYSLOGSEVERITY,
    SYSLOGTAG,
    SYSLOGTARGET,
    TEXT,
    _integer,
    _Type,
    isWellKnownSecret,
)
from mice.protocols.amqp import BrokerTarget

# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------

#: C{[ALERT_0x1021]}: a section about one alert ID (aa_regex rules, countermeasures).
ALERT_SECTION = r"ALERT_(0X[0-9A-F]{1,8}|[0-9]{1,10})"

@dataclass(frozen=True)
class _Key:
    """
    One key of a schema.  In a section with a C{pattern}, C{{n}} in the name
    stands for the number in the section's name (C{AID_{n}} in C{[RID_3]}).
    """

    name: str
    type: _Type
    default: object = None
    required: bool = False
    repeated: bool = False
    synonyms: tuple = ()
    secret: bool = False
    unused: str | None = None
    """Why this version accepts the key but does nothing with it: warned
    about at its line (C{check-config} and at start-up)."""

    def names(self):
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class _Sect:
    name: str
    keys: tuple
    synonyms: tuple = ()
    pattern: str | None = None
    marker: bool = True
    """Whether L{detectKind} takes this section as a sign of its kind."""

    def matches(self, name):
        """
        C{None} if C{name} is not this section, else the canonical name.
        """
        upper = name.upper()
        if self.pattern is not None:
            return upper if re.fullmatch(self.pattern, upper) else None
        if upper in (self.name, *self.synonyms):
            return self.name
        return None

    def key(self, sectionName, keyName):
        upper = keyName.upper()
        number = self._number(sectionName)
        for key in self.keys:
            if upper in (name.format(n=number).upper() for name in key.names()):
                return key
        return None

    def canonicalKey(self, key, sectionName):
        return key.name.format(n=self._number(sectionName))

    def knownKeys(self, sectionName):
        return [self.canonicalKey(key, sectionName) for key in self.keys]

    def _number(self, sectionName):
        if self.pattern is None:
            return ""
        return re.fullmatch(self.pattern, sectionName.upper()).group(1)


@dataclass(frozen=True)
class _Schema:
    kind: str
    title: str
    sections: tuple
    build: object

    def section(self, name):
        for sect in self.sections:
            canonical = sect.matches(name)
            if canonical is not None:
                return sect, canonical
        return None, None

    def knownSections(self):
        return [sect.name for sect in self.sections]


class _Value(NamedTuple):
    value: object
    line: int
    key: str


class _Values:
    """
    The converted values of one file, by canonical section and key names.
    """

    def __init__(self, schema):
        self.schema = schema
        self.values = {}
        self.sectionLines = {}
        self.effective = {}

    def entries(self, section, key):
        return self.values.get((section, key), [])

    def entry(self, section, key):
        found = self.entries(section, key)
        return found[0] if found else None

    def one(self, section, key):
        found = self.entry(section, key)
        if found is not None:
            return found.value
        return self.schema.section(section)[0].key(section, key).default

    def many(self, section, key):
        return tuple(value.value for value in self.entries(section, key))

    def line(self, section, key):
        found = self.entry(section, key)
        return found.line if found is not None else self.sectionLines.get(section)


class _Loader:
    """
    Loading one file: where errors and warnings go, and path resolution.
    """

    def __init__(self, filename, strict):
        self.filename = filename
        self.directory = os.path.dirname(os.path.abspath(filename))
        self.strict = strict
        self.errors = []
        self.strictErrors = []
        self.warnings = []

    def error(self, line, message):
        self.errors.append(ConfigError(self.filename, line, message))

    def warn(self, line, message, strictable=False, secret=None):
        if strictable and self.strict:
            self.strictErrors.append(ConfigError(self.filename, line, message))
        else:
            self.warnings.append(ConfigWarning(self.filename, line, message, secret))

    def resolve(self, path):
        return os.path.normpath(os.path.join(self.directory, os.path.expanduser(path)))

    def checkExists(self, path, line, key, directory=False, strictable=True, log=False):
        if directory:
            if os.path.isdir(path):
                return
            problem = "is not a directory" if os.path.exists(path) else "does not exist"
        else:
            if os.path.exists(path):
                return
            parent = os.path.dirname(path)
            problem = "does not exist" if not log or os.path.isdir(parent) else \
                f"does not exist: its directory {parent} does not exist either"
        self.warn(line, f"{key}: {path} {problem}", strictable)


def _validate(ini, schema, loader):
    """
    Check every section and key of C{ini} against C{schema} and convert the
    values.
    """
    values = _Values(schema)
    failed = set()
    # A section holding a line that did not parse may well hold the "missing" key.
    damaged = set()
    badLines = [error.line for error in loader.errors if error.line is not None]
    for section, following in zip(ini.sections, (*ini.sections[1:], None)):
        end = following.line if following is not None else float("inf")
        if any(section.line < line < end for line in badLines):
            damaged.add(section.name.upper())
    for section in ini.sections:
        sect, canonical = schema.section(section.name)
        if sect is None:
            known = schema.knownSections()
            close = difflib.get_close_matches(section.name.upper(), known, 1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            loader.error(section.line, f"unknown section [{section.name}] in {schema.title}"
                                       f"{hint}; known sections: {', '.join(known)}")
            continue
        if canonical in values.sectionLines:
            loader.error(section.line, f"duplicate section [{section.name}] (first at line"
                                       f" {values.sectionLines[canonical]})")
            continue
        values.sectionLines[canonical] = section.line
        for entry in section.entries:
            key = sect.key(canonical, entry.key)
            if key is None:
                _unknownKey(loader, sect, canonical, section.name, entry)
                continue
            name = sect.canonicalKey(key, canonical)
            try:
                value = key.type.parse(entry.value, loader, entry)
            except _Invalid as e:
                loader.error(entry.line, f"{entry.key}: {e}")
                failed.add((canonical, name))
                continue
            found = values.values.setdefault((canonical, name), [])
            if found and not key.repeated:
                loader.error(entry.line, f"{entry.key} given twice in [{section.name}] (first"
                                         f" at line {found[0].line}); it takes one value")
                continue
            found.append(_Value(value, entry.line, entry.key))
            if key.unused:
                loader.warn(entry.line, f"{entry.key} is accepted for compatibility but not used"
                                        f" by this version ({key.unused})")
    for sect in schema.sections:
        if sect.pattern is not None:
            continue
        for key in sect.keys:
            present = [name for name in (sect.name, *sect.synonyms) if name in damaged]
            if key.required and (sect.name, key.name) not in values.values \
                    and (sect.name, key.name) not in failed and not present:
                if sect.name in values.sectionLines:
                    loader.error(values.sectionLines[sect.name],
                                 f"[{sect.name}] is missing required key {key.name}")
                else:
                    loader.error(None, f"missing section [{sect.name}] with required key"
                                       f" {key.name}")
    return values


def _unknownKey(loader, sect, canonical, written, entry):
    known = sect.knownKeys(canonical)
    if sect.pattern is not None:
        template = sect.keys[0].name.replace("{n}", r"\d+")
        if re.fullmatch(template, entry.key.upper()):
            loader.error(entry.line, f"{entry.key} in [{written}]: the number must be the"
                                     f" section's, i.e. {known[0]}")
            return
    close = difflib.get_close_matches(entry.key.upper(), [k.upper() for k in known], 1)
    hint = ""
    if close:
        hint = f" (did you mean {known[[k.upper() for k in known].index(close[0])]}?)"
    loader.error(entry.line, f"unknown key {entry.key} in [{written}]{hint}; known keys:"
                             f" {', '.join(known)}")


def _pair(loader, values, firstKey, secondKey, required=True):
    """
    Check two lists given by position: C{firstKey} and C{secondKey} are
    C{(section, key)}; the second may be shorter unless C{required}.
    """
    first = values.entries(*firstKey)
    second = values.entries(*secondKey)
    if len(second) > len(first):
        extra = second[len(first)]
        loader.error(extra.line, f"{extra.key} has no {firstKey[1]} partner: {len(first)}"
                                 f" {firstKey[1]} but {len(second)} {secondKey[1]} (they are"
                                 f" paired by position)")
        return False
    if required and len(first) > len(second):
        extra = first[len(second)]
        loader.error(extra.line, f"{extra.key} has no {secondKey[1]} partner: {len(first)}"
                                 f" {firstKey[1]} but {len(second)} {secondKey[1]} (they are"
                                 f" paired by position)")
        return False
    return True


def _duplicates(loader, entries, what, show=str):
    seen = {}
    for entry in entries:
        if entry.value in seen:
            loader.error(entry.line, f"{what} {show(entry.value)} given twice (first at line"
                                     f" {seen[entry.value]})")
        else:
            seen[entry.value] = entry.line


# ---------------------------------------------------------------------------
# Builders: what spans several keys
# ---------------------------------------------------------------------------

def _listenOrAddress(loader, values, section, addressSection, addressKey, portSection, portKey):
    listen = values.many(section, "LISTEN")
    bindTo = values.one(addressSection, addressKey)
    port = values.one(portSection, portKey)
    if not listen:
        for sect, key, value in ((addressSection, addressKey, bindTo),
                                 (portSection, portKey, port)):
            if value is None:
                line = values.sectionLines.get(sect)
                where = f"[{sect}]" if line is not None else f"section [{sect}]"
                loader.error(line, f"{where} needs {key} (or give LISTEN endpoints in"
                                   f" [{section}])")
    return listen, bindTo or "", port or 0


def _brokerTarget(loader, v, section, urlKey="AMQP", queueKey="QUEUE",
                  typeKey="QUEUE_TYPE", prefetchKey=None):
    """
    The L{BrokerTarget} of C{section}'s C{urlKey} and C{queueKey} (one needs
    the other), or C{None} when neither is given.
    """
    url, queue = v.one(section, urlKey), v.one(section, queueKey)
    if url is None and queue is None:
        for key in (typeKey, prefetchKey):
            if key is not None and v.entry(section, key) is not None:
                loader.error(v.line(section, key), f"{key} is only used with {urlKey} and"
                                                   f" {queueKey}")
        return None
    if url is None or queue is None:
        given, missing = (urlKey, queueKey) if queue is None else (queueKey, urlKey)
        loader.error(v.line(section, given), f"{given} needs {missing} in [{section}] (a"
                                             " broker target is an AMQP URL and a queue)")
        return None
    prefetch = v.one(section, prefetchKey) if prefetchKey is not None else None
    return BrokerTarget(url, queue, v.one(section, typeKey),
                        prefetch if prefetch is not None else BrokerTarget._field_defaults[
                            "prefetch"])


def _buildBufferDaemon(loader, v):
    broker = _brokerTarget(loader, v, "BROKER", prefetchKey="PREFETCH")
    if broker is not None and not v.many("ADDRESS", "LISTEN") and v.one(
            "PORT_NUMBER", "PORT") is None:
        listen, bindTo, port = (), "", 0
    else:
        listen, bindTo, port = _listenOrAddress(loader, v, "ADDRESS", "ADDRESS", "BINDTO",
                                                "PORT_NUMBER", "PORT")
    decoders = ("DECODING_MODULES", "DEC_MOD")
    postprocessors = ("POSTPROC_MODULES", "POST_MOD")
    _pair(loader, v, decoders, postprocessors)
    _pair(loader, v, decoders, ("DECODING_MODULES_CONFIG_FILE", "DEC_FILE"), required=False)
    _pair(loader, v, postprocessors, ("POSTPROC_MODULES_CONFIG_FILE", "POST_FILE"),
          required=False)
    decFiles = v.many("DECODING_MODULES_CONFIG_FILE", "DEC_FILE")
    postFiles = v.many("POSTPROC_MODULES_CONFIG_FILE", "POST_FILE")
    pipelines = tuple(
        PipelineSettings(decoder.value, decFiles[i] if i < len(decFiles) else None,
                         postprocessor.value, postFiles[i] if i < len(postFiles) else None,
                         decoderLine=decoder.line, postprocessorLine=postprocessor.line)
        for i, (decoder, postprocessor) in enumerate(zip(v.entries(*decoders),
                                                         v.entries(*postprocessors))))
    cache = "CACHE_AND_RINGBUFFER"
    mmSize, rbSize, mmPath = v.one(cache, "MMSIZE"), v.one(cache, "RBSIZE"), v.one(cache, "MMPATH")
    if mmSize == 0 and rbSize == 0:
        loader.error(v.line(cache, "RBSIZE") or v.line(cache, "MMSIZE"),
                     "MMSIZE and RBSIZE are both 0: there would be no buffer (0 means"
                     " \"ignore\"; set RBSIZE for a ring in memory or MMSIZE and MMPATH for a"
                     " memory-mapped one)")
    if mmSize and mmPath is None:
        loader.error(v.line(cache, "MMSIZE"), f"MMSIZE = {mmSize} needs MMPATH, the file to"
                                              " map")
    mmBytes = v.one(cache, "MMBYTES")
    if mmBytes is None:
        mmBytes = mmSize * 262144
        v.effective[(cache, "MMBYTES")] = mmBytes
    return BufferDaemonSettings(
        path=loader.filename, bindTo=bindTo, port=port, listen=listen,
        backlog=v.one("MISC", "BACKLOG"), modulePaths=v.many("MODULES_SEARCH_PATH", "MODPATH"),
        pipelines=pipelines, timeInterval=v.one("TIME_INTERVALS", "TIMEINV"), mmPath=mmPath,
        mmSize=mmSize, rbSize=rbSize, mmBytes=mmBytes, maxLine=v.one("MISC", "MAXLINE"),
        pseudo=v.one("SECURITY_AND_PRIVACY", "PSEUDO"),
        pseudonymConfig=_pseudonymConfig(loader, v),
        user=v.one("SECURITY_AND_PRIVACY", "USER"), group=v.one("SECURITY_AND_PRIVACY", "GROUP"),
        chroot=v.one("SECURITY_AND_PRIVACY", "CHROOT"), pidPath=v.one("MISC", "PIDPATH"),
        limits=listenLimits(loader, v), metricsListen=v.one("METRICS", "LISTEN"),
        broker=broker)


def _pseudonymConfig(loader, v):
    """
    A BufferDaemon's C{PSEUDONYMCONF}: the C{mice_mod_psd_keyed} config
    whose key C{PSEUDO = yes} uses; by default C{mice_mod_psd_keyed.conf}
    beside the config.
    """
    named = v.one("SECURITY_AND_PRIVACY", "PSEUDONYMCONF")
    if named is None and v.one("SECURITY_AND_PRIVACY", "PSEUDO") and loader.filename:
        named = os.path.join(os.path.dirname(os.path.abspath(loader.filename)),
                             "mice_mod_psd_keyed.conf")
        v.effective[("SECURITY_AND_PRIVACY", "PSEUDONYMCONF")] = named
    return named


def listenLimits(loader, v, section="LIMITS"):
    """
    The L{ListenLimits} of a listening daemon's C{[LIMITS]} section (see
    L{LIMITS_SECTION}, which a daemon's schema includes to have one).
    """
    limits = ListenLimits(
        handshakeTimeout=v.one(section, "HANDSHAKE_TIMEOUT"),
        idleTimeout=v.one(section, "IDLE_TIMEOUT"), maxConnections=v.one(section, "MAXCONN"),
        maxPerPeer=v.one(section, "MAXCONN_PER_PEER"), maxPending=v.one(section, "MAXPENDING"),
        fdReserve=v.one(section, "FD_RESERVE"), warnInterval=v.one(section, "WARN_INTERVAL"))
    if limits.idleTimeout < 3:
        loader.error(v.line(section, "IDLE_TIMEOUT"),
                     f"IDLE_TIMEOUT = {limits.idleTimeout:g} s is too short: clients are asked"
                     " for a keepalive every third of it, at least every second (give 3 or"
                     " more; the default is 300)")
    for key, value in (("MAXCONN_PER_PEER", limits.maxPerPeer),
                       ("MAXPENDING", limits.maxPending)):
        if value > limits.maxConnections and v.entry(section, key) is not None:
            loader.warn(v.line(section, key), f"{key} = {value} is more than MAXCONN ="
                                              f" {limits.maxConnections}, which caps it")
    return limits


def _buildPopMysql(loader, v):
    section = "MYSQL_SERVER"
    url = v.one(section, "URL")
    if url is None:
        for key in ("HOSTNAME", "USER", "DBNAME"):
            if v.one(section, key) is None:
                line = v.sectionLines.get(section)
                where = f"[{section}]" if line is not None else f"section [{section}]"
                loader.error(line, f"{where} needs {key} (or a URL such as"
                                   " sqlite:///rawlog.db)")
    if (url is None or url.lower().startswith("mysql")) \
            and isWellKnownSecret(v.one(section, "PASSWORD")):
        loader.warn(v.line(section, "PASSWORD"), "PASSWORD is the setup guide's database"
                                                 " password (as shipped): anyone who read it"
                                                 " can use this database user; set your own"
                                                 " (and in the GRANT)", secret="PASSWORD")
    return PopMysqlSettings(
        path=loader.filename, hostname=v.one(section, "HOSTNAME"), port=v.one(section, "PORT"),
        user=v.one(section, "USER"), password=v.one(section, "PASSWORD"),
        dbName=v.one(section, "DBNAME"), maxErr=v.one(section, "MAXERR"), url=url,
        batchSize=v.one(section, "BATCHSIZE"), signKey=v.one(section, "SIGNKEY"))


def _buildPopSyslog(loader, v):
    return PopSyslogSettings(
        path=loader.filename, target=v.one("SYSLOG", "TARGET"),
        facility=v.one("SYSLOG", "FACILITY"), tag=v.one("SYSLOG", "TAG"),
        format=v.one("SYSLOG", "FORMAT"))


def _warnWellKnown(loader, line, key, consequence):
    """
    C{key} holds a shipped default secret: one warning, marked as such so a
    daemon says it once per key.
    """
    loader.warn(line, f"{key} is a well-known default secret (as shipped): {consequence};"
                      " use a key from `mice keygen`", secret=key)


def _needKey(loader, v, section, flag, key):
    if v.one(section, flag) and not v.one(section, key) and not v.one(section, "TLSCERT"):
        loader.error(v.line(section, flag), f"{flag} = yes needs {key} (a pre-shared key) or"
                                            f" TLSCERT, TLSKEY and TLSCA in [{section}]")
    secret = v.one(section, key)
    if v.one(section, flag) and isWellKnownSecret(secret):
        _warnWellKnown(loader, v.line(section, key), key, "anyone can read and forge this link")


def _tlsFiles(loader, v, section):
    """
    C{(certificate, key, ca)} when TLSCERT is given (the link is TLS), else
    C{None}; TLSCERT needs TLSKEY and TLSCA.
    """
    certificate = v.one(section, "TLSCERT")
    if certificate is None:
        for key in ("TLSKEY", "TLSCA"):
            if v.one(section, key) is not None:
                loader.error(v.line(section, key), f"{key} is only used with TLSCERT")
        return None
    missing = [key for key in ("TLSKEY", "TLSCA") if v.one(section, key) is None]
    if missing:
        loader.error(v.line(section, "TLSCERT"), f"TLSCERT needs {' and '.join(missing)}"
                                                 f" in [{section}]")
        return None
    return certificate, v.one(section, "TLSKEY"), v.one(section, "TLSCA")


def _buildDecoder(loader, v):
    _needKey(loader, v, "DECODER", "ENCRYPT", "ENCKEY")
    return DecoderSettings(
        path=loader.filename, encrypt=v.one("DECODER", "ENCRYPT"),
        encKey=v.one("DECODER", "ENCKEY"), cryptMod=v.one("DECODER", "CRYPTMOD"),
        maxRecord=v.one("DECODER", "MAXRECORD"), tls=_tlsFiles(loader, v, "DECODER"))


def _buildDataForwarder(loader, v):
    security = "SECURITY_AND_PRIVACY"
    servers = []
    for section, ip, port, proto in (("SQL_SERVER", "SQLIP", "SQLPORT", "SQLPROTO"),
                                     ("ANALYSIS_SERVER", "ASIP", "ASPORT", "ASPROTO")):
        address = ServerAddress(v.one(section, ip), v.one(section, port), v.one(section, proto))
        broker = _brokerTarget(loader, v, section)
        if broker is not None:
            if address.enabled:
                loader.error(v.line(section, "AMQP"), f"[{section}] names both {ip}/{port} and"
                                                      " AMQP: give one (set the port to 0 to"
                                                      " use the broker)")
            address = address._replace(broker=broker)
        servers.append(address)
    sql, analysis = servers
    if not sql.enabled and not analysis.enabled:
        loader.warn(None, "neither [SQL_SERVER] nor [ANALYSIS_SERVER] is enabled (address or"
                          " port 0): no data will be sent")
    _needKey(loader, v, security, "ENCRYPT", "ENCKEY")
    return DataForwarderSettings(
        path=loader.filename, sqlServer=sql, analysisServer=analysis,
        encrypt=v.one(security, "ENCRYPT"), pseudo=v.one(security, "PSEUDO"),
        filter=v.one(security, "FILTER"), user=v.one(security, "USER"),
        group=v.one(security, "GROUP"), chroot=v.one(security, "CHROOT"),
        encKey=v.one(security, "ENCKEY"), cryptMod=v.one(security, "CRYPTMOD"),
        devRandom=v.one(security, "DEVRANDOM"), files=v.many("LOGFILE_LIST", "FILE"),
        modulePaths=v.many("MODULES_SEARCH_PATH", "MODPATH"),
        filterModule=v.one("MODULES", "MOD_FILTER"),
        logFormatModule=v.one("MODULES", "MOD_LOGFORMAT"),
        pseudonymModule=v.one("MODULES", "MOD_PSEUDONYM"),
        filterConfig=v.one("MODULES_CONFIG_FILE", "FILTERCONF"),
        logFormatConfig=v.one("MODULES_CONFIG_FILE", "LOGFORMATCONF"),
        pseudonymConfig=v.one("MODULES_CONFIG_FILE", "PSEUDONYMCONF"),
        shmSize=v.one("MISC", "SHMSIZE"), sleepInterval=v.one("MISC", "SLEEPINV"),
        reconnect=v.one("MISC", "RECONNECT"), pidPath=v.one("MISC", "PIDPATH"),
        syslogFacility=v.one("MISC", "SYSLOGFAC"),
        syslog=v.entry("MISC", "SYSLOGFAC") is not None,
        stateDirectory=v.one("MISC", "STATEDIR"), spoolSize=v.one("MISC", "SPOOLSIZE"),
        maxLine=v.one("MISC", "MAXLINE"), rotateGrace=v.one("MISC", "ROTATEGRACE"),
        tls=_tlsFiles(loader, v, security), tlsName=v.one(security, "TLSNAME"),
        metricsListen=v.one("METRICS", "LISTEN"))


def _buildReactionDaemon(loader, v):
    listen, bindTo, port = _listenOrAddress(loader, v, "NETWORK", "NETWORK", "IP",
                                            "NETWORK", "PORT")
    fids = ("FUNCTION_ID", "FID")
    _pair(loader, v, fids, ("REACTION_MODULES", "RCT_MOD"))
    _pair(loader, v, fids, ("REACTION_MODULES_CONFIG_FILE", "RCT_FILE"), required=False)
    _duplicates(loader, v.entries(*fids), "FID", lambda fid: f"0x{fid:06X}")
    files = v.many("REACTION_MODULES_CONFIG_FILE", "RCT_FILE")
    functions = tuple(
        FunctionSettings(fid, module, files[i] if i < len(files) else None)
        for i, (fid, module) in enumerate(zip(v.many(*fids),
                                              v.many("REACTION_MODULES", "RCT_MOD"))))
    security = "SECURITY"
    tls = _tlsFiles(loader, v, security)
    password = v.one(security, "PASSWORD")
    if password is None and tls is None:
        line = v.sectionLines.get(security)
        loader.error(line, "[SECURITY] needs PASSWORD (the pre-shared key of the link) or"
                           " TLSCERT, TLSKEY and TLSCA" if line is not None else
                           "missing section [SECURITY] with PASSWORD (the pre-shared key of"
                           " the link) or TLSCERT, TLSKEY and TLSCA")
    elif tls is None and isWellKnownSecret(password):
        _warnWellKnown(loader, v.line(security, "PASSWORD"), "PASSWORD",
                       "anyone who can reach the port can ban anything")
    return ReactionDaemonSettings(
        path=loader.filename, functions=functions, bindTo=bindTo, port=port, listen=listen,
        password=password, cryptMod=v.one(security, "CRYPTMOD"),
        chroot=v.one(security, "CHROOT"), pidPath=v.one("MISC", "PIDPATH"),
        modulePaths=v.many("MISC", "MODPATH"), backlog=v.one("MISC", "BACKLOG"),
        user=v.one(security, "USER"), group=v.one(security, "GROUP"),
        stateDirectory=v.one("MISC", "STATEDIR"), tls=tls, limits=listenLimits(loader, v),
        metricsListen=v.one("METRICS", "LISTEN"))


def _buildRctSystem(loader, v):
    command, policy = "COMMAND", "POLICY"
    params = []
    for entry in v.entries(command, "PARAMS"):
        for name, kind in entry.value:
            if name in dict(params):
                loader.error(entry.line, f"PARAMS: {name} given twice")
            else:
                params.append((name, kind))
    names = dict(params)
    templates = {}
    for key in ("ARGV", "UNDO", "ARGV6", "UNDO6"):
        entry = v.entry(command, key)
        if entry is None:
            continue
        templates[key] = entry.value
        for placeholder in entry.value.placeholders:
            if placeholder not in names:
                loader.error(entry.line, f"{key}: {{{placeholder}}} is not in PARAMS (known:"
                                         f" {', '.join(names) or 'none'})")
        program = entry.value.program
        if not os.path.exists(program):
            loader.warn(entry.line, f"{key}: {program} does not exist", strictable=True)
        elif not os.access(program, os.X_OK):
            loader.warn(entry.line, f"{key}: {program} is not executable", strictable=True)
    for first, second in (("ARGV6", "UNDO6"), ("UNDO6", "ARGV6")):
        if first in templates and second not in templates:
            loader.error(v.line(command, first), f"{first} needs {second} (the IPv6 command"
                                                 " and the command that lifts it go together)")
    used = {p for template in templates.values() for p in template.placeholders}
    for name in names:
        if name not in used:
            loader.warn(v.line(command, "PARAMS"), f"PARAMS: {name} is not used by ARGV or"
                                                   " UNDO (it is checked all the same)")
    duration, maximum = v.one(policy, "DURATION"), v.one(policy, "MAXDURATION")
    if maximum and (duration == 0 or duration > maximum):
        loader.warn(v.line(policy, "DURATION"), f"DURATION = {duration or 'permanent'} is"
                                                f" capped at MAXDURATION = {maximum}")
    return RctSystemSettings(
        path=loader.filename, argv=templates.get("ARGV"), undo=templates.get("UNDO"),
        argv6=templates.get("ARGV6"), undo6=templates.get("UNDO6"), params=tuple(params),
        timeout=v.one(command, "TIMEOUT"), duration=duration, maxDuration=maximum,
        rate=v.one(policy, "RATE"),
        never=tuple((e.value, e.line) for e in v.entries(policy, "NEVER")),
        cidr4=v.one(policy, "CIDR4"), cidr6=v.one(policy, "CIDR6"))


def _countermeasureRule(loader, v, section, default):
    params = v.many(section, "PARAM")
    seen = {}
    for entry in v.entries(section, "PARAM"):
        if entry.value[0] in seen:
            loader.error(entry.line, f"PARAM {entry.value[0]} given twice in [{section}]")
        seen[entry.value[0]] = entry.line

    def one(key, fallback):
        value = v.entry(section, key)
        return fallback if value is None else value.value

    return CountermeasureRule(
        fid=one("FID", default.fid if default else 1),
        params=tuple(params) or (default.params if default else (("ip", "source.address"),)),
        duration=one("DURATION", default.duration if default else 600),
        scope=one("SCOPE", default.scope if default else "host"),
        escalate=one("ESCALATE", default.escalate if default else True))


def _buildCountermeasure(loader, v):
    main = "COUNTERMEASURE"
    default = _countermeasureRule(loader, v, main, None)
    alerts = {}
    daemons = []
    for section in sorted(v.sectionLines, key=v.sectionLines.get):
        match = re.fullmatch(r"ALERT_(0X[0-9A-F]+|[0-9]+)", section)
        if match:
            alerts[int(match.group(1), 0)] = _countermeasureRule(loader, v, section, default)
            continue
        match = re.fullmatch(r"DAEMON_([1-9][0-9]*)", section)
        if not match:
            continue
        line = v.sectionLines[section]
        address = v.one(section, "ADDRESS")
        if address is None:
            loader.error(line, f"[{section}] needs ADDRESS = HOST:PORT of the ReactionDaemon")
            continue
        tls = _tlsFiles(loader, v, section)
        password = v.one(section, "PASSWORD")
        if password is None and tls is None:
            loader.error(line, f"[{section}] needs PASSWORD (the ReactionDaemon's [SECURITY]"
                               " PASSWORD) or TLSCERT, TLSKEY and TLSCA")
        elif tls is None and isWellKnownSecret(password):
            _warnWellKnown(loader, v.line(section, "PASSWORD"), "PASSWORD",
                           "anyone can forge countermeasures")
        daemons.append(DaemonLinkSettings(
            name=f"daemon{match.group(1)}", address=address,
            serves=tuple(name.lower() for name in v.many(section, "SERVES")),
            password=password, cryptMod=v.one(section, "CRYPTMOD"), tls=tls,
            tlsName=v.one(section, "TLSNAME")))
    if not daemons:
        loader.warn(None, "no [DAEMON_1] section: there is no ReactionDaemon to send"
                          " countermeasures to")
    duration, maximum = default.duration, v.one(main, "MAXDURATION")
    if maximum and duration > maximum:
        loader.warn(v.line(main, "DURATION"), f"DURATION = {duration} is more than"
                                              f" MAXDURATION = {maximum}")
    return CountermeasureSettings(
        path=loader.filename, default=default, alerts=types.MappingProxyType(alerts),
        daemons=tuple(daemons), factor=v.one(main, "FACTOR"), maxDuration=maximum,
        history=v.one(main, "HISTORY"),
        never=tuple((e.value, e.line) for e in v.entries(main, "NEVER")),
        stateDb=v.one(main, "STATEDB"), timeout=v.one(main, "TIMEOUT"),
        source=v.one(main, "SOURCE"))


def _buildAaRegex(loader, v):
    sections = []
    routes = {}
    for name, sendToKey, ruleKeys in _RULE_SECTIONS:
        rules = []
        for key in ruleKeys:
            entries = [e for e in v.entries(name, key) if e.value]
            patterns = tuple(e.value for e in entries)
            if name == "SOCKET" and patterns:
                loader.warn(v.line(name, key), f"{key}: the SOCKET rules are reserved and not"
                                               " used")
            rules.append(Rule(key, ALERT_IDS.get(key), patterns,
                              tuple(e.line or 0 for e in entries)))
        sendTo = v.one(name, sendToKey)
        sections.append(RuleSection(name, sendTo, tuple(rules)))
        if sendTo != "N":
            routes.setdefault(sendTo, (sendToKey, v.line(name, sendToKey)))
    for section, sendTo, rule in _alertSections(loader, v, sections):
        sections.append(RuleSection(rule.key, sendTo, (rule,)))
        if sendTo != "N":
            routes.setdefault(sendTo, ("SendTo", v.line(section, "SendTo")))
    hostInfo = "HOST_INFO"
    for target, address, letters in (("the ManagementHost", "Management", "MB"),
                                     ("the next analysis agent", "Agent", "AB")):
        used = [routes[letter] for letter in letters if letter in routes]
        if used and v.one(hostInfo, address) is None and v.one(hostInfo,
                                                                f"{address}AMQP") is None:
            sendToKey, line = used[0]
            loader.error(line, f"{sendToKey} sends to {target}, but [HOST_INFO] has no"
                               f" {address} = HOST:PORT")
    return AaRegexSettings(sections=tuple(sections), **_agentLinks(loader, v))


def _alertSections(loader, v, seedSections):
    """
    The C{[ALERT_<id>]} sections of an aa_regex config, in file order:
    C{(section, sendTo, rule)} (C{section} as L{_Values} knows it; the
    rule's key is the section's name, C{ALERT_0x1021}).  An ID that an enabled seed rule key
    already raises is an error (one line would raise it twice).
    """
    taken = {rule.alertId: (section.name, rule.key) for section in seedSections
             for rule in section.rules if rule.enabled and rule.alertId is not None}
    for section in sorted(v.sectionLines, key=v.sectionLines.get):
        match = re.fullmatch(ALERT_SECTION, section)
        if not match:
            continue
        alertId = int(match.group(1), 0)
        name = f"ALERT_0x{alertId:04X}"
        line = v.sectionLines[section]
        if alertId in taken:
            owner, key = taken[alertId]
            loader.error(line, f"[{name}]: 0x{alertId:04X} is the alert ID of {key} in"
                               f" [{owner}]; put these patterns there, or switch {key} off")
            continue
        taken[alertId] = (name, name)
        entries = [e for e in v.entries(section, "Rule") if e.value]
        patterns = tuple(e.value for e in entries)
        if not patterns:
            loader.warn(line, f"[{name}] has no Rule: it never matches")
        yield section, v.one(section, "SendTo"), Rule(name, alertId, patterns,
                                                      tuple(e.line or 0 for e in entries))


def _agentLinks(loader, v):
    """
    The L{AgentLinkSettings} fields of an analysis module's config, its
    links' keys checked.
    """
    hostInfo, idmefInfo = "HOST_INFO", "IDMEF_INFO"
    _linkKeys(loader, v, (("Management", "MngmntKey"), ("Agent", "AgentKey")))
    targets = {}
    for name in ("Management", "Agent"):
        broker = _brokerTarget(loader, v, hostInfo, f"{name}AMQP", f"{name}Queue", "QueueType")
        if broker is not None and v.one(hostInfo, name) is not None:
            loader.error(v.line(hostInfo, f"{name}AMQP"), f"[HOST_INFO] names both {name} and"
                                                          f" {name}AMQP: give one")
        targets[name] = broker if broker is not None else v.one(hostInfo, name)
    return dict(
        path=loader.filename, management=targets["Management"],
        agent=targets["Agent"], encryption=v.one(hostInfo, "Encryption"),
        mngmntKey=v.one(hostInfo, "MngmntKey"), agentKey=v.one(hostInfo, "AgentKey"),
        alertId=v.one(idmefInfo, "AlertID"), alertIdFile=v.one(idmefInfo, "AlertIDFile"),
        dtdFile=v.one(idmefInfo, "DTDFile"), analyzerId=v.one(idmefInfo, "AnalyzerID"),
        instance=v.one(idmefInfo, "Instance"), tls=_tlsFiles(loader, v, hostInfo))


def _linkKeys(loader, v, targets):
    """
    With Encryption = yes, each address of C{targets} (C{(address key, its
    key)}) that is set needs its key, or TLS.
    """
    hostInfo = "HOST_INFO"
    if not v.one(hostInfo, "Encryption") or v.one(hostInfo, "TLSCERT") is not None:
        return
    for address, key in targets:
        if v.one(hostInfo, address) is None:
            continue
        secret = v.one(hostInfo, key)
        if not secret:
            loader.error(v.line(hostInfo, "Encryption"),
                         f"Encryption = yes needs {key} for {address} (or TLSCERT, TLSKEY"
                         f" and TLSCA)")
        elif isWellKnownSecret(secret):
            _warnWellKnown(loader, v.line(hostInfo, key), key,
                           "anyone can read and forge this link")


def _buildAaRules(loader, v):
    hostInfo, logids = "HOST_INFO", "LOGIDS"
    sendTo = v.one(logids, "SendTo")
    if v.one(hostInfo, "Management") is None and v.one(hostInfo, "ManagementAMQP") is None:
        line = v.sectionLines.get(hostInfo)
        loader.error(line, f"{'[HOST_INFO]' if line is not None else 'section [HOST_INFO]'}"
                           " needs Management = HOST:PORT (or ManagementAMQP and"
                           " ManagementQueue)")
    if sendTo in ("A", "B") and v.one(hostInfo, "Agent") is None and v.one(
            hostInfo, "AgentAMQP") is None:
        loader.error(v.line(logids, "SendTo"), f"SendTo = {sendTo} sends to the next analysis"
                                               " agent, but [HOST_INFO] has no Agent = HOST:PORT")
    return AaRulesSettings(
        rulesFile=v.one(logids, "Rules"), filterFile=v.one(logids, "Filters"),
        netdefFile=v.one(logids, "NetDef"), sendTo=sendTo, **_agentLinks(loader, v))


def _buildActGeneric(loader, v):
    rids = ("REACTION_ID", "RID")
    anaids = ("ANALYZER_ID", "ANAID")
    _pair(loader, v, rids, ("RID_PIPENAME", "PIPE"))
    _pair(loader, v, anaids, ("ANALYZER_MATCHFILE", "MF"))
    _duplicates(loader, v.entries(*rids), "RID")
    _duplicates(loader, v.entries("RID_PIPENAME", "PIPE"), "PIPE", repr)
    _duplicates(loader, v.entries(*anaids), "ANAID", repr)
    pipePath = v.one("MISC", "PIPE_PATH")
    matchPath = v.one("MISC", "MATCH_PATH") or loader.directory
    reactions = tuple(
        ReactionAgentSettings(rid, pipe, os.path.join(pipePath or loader.directory, pipe))
        for rid, pipe in zip(v.many(*rids), v.many("RID_PIPENAME", "PIPE")))
    analyzers = []
    for analyzerId, matchFile in zip(v.many(*anaids), v.entries("ANALYZER_MATCHFILE", "MF")):
        path = os.path.normpath(os.path.join(matchPath, os.path.expanduser(matchFile.value)))
        loader.checkExists(path, matchFile.line, matchFile.key)
        analyzers.append(AnalyzerSettings(analyzerId, path))
    rids = set(v.many(*rids))
    for entry in v.entries("MISC", "DEFAULT_RID"):
        if entry.value not in rids:
            loader.error(entry.line, f"DEFAULT_RID = {entry.value} is not a RID of"
                                     " [REACTION_ID]")
    journal = "JOURNAL"
    if v.one(journal, "RETRY_MAX") < v.one(journal, "RETRY_FIRST"):
        loader.error(v.line(journal, "RETRY_MAX"), "RETRY_MAX must not be below RETRY_FIRST")
    return ActGenericSettings(
        path=loader.filename, reactions=reactions, analyzers=tuple(analyzers),
        dtdFile=v.one("IDMEF_INFO", "DTDFile"), modulePaths=v.many("MISC", "MOD_PATH"),
        pipePath=pipePath, pidPath=v.one("MISC", "PID_PATH"), matchPath=matchPath,
        user=v.one("MISC", "USER"), group=v.one("MISC", "GROUP"),
        defaultRids=v.many("MISC", "DEFAULT_RID"), journalUrl=v.one(journal, "URL"),
        retryFirst=v.one(journal, "RETRY_FIRST"), retryMax=v.one(journal, "RETRY_MAX"),
        attempts=v.one(journal, "ATTEMPTS"), inFlight=v.one(journal, "IN_FLIGHT"),
        batchSize=v.one(journal, "BATCHSIZE"), maxErr=v.one(journal, "MAXERR"),
        requireAgents=v.one(journal, "REQUIRE_AGENTS"), console=_buildConsole(loader, v),
        correlation=_buildCorrelationStage(loader, v))


def _buildCorrelationStage(loader, v):
    """The C{[CORRELATION]} section, or C{None} when there is none (the stage is off)."""
    section = "CORRELATION"
    if section not in v.sectionLines:
        return None
    rules = v.one(section, "RULES")
    if rules is None:
        loader.error(v.sectionLines[section], "[CORRELATION] needs RULES = the correlation"
                                              " rules file (docs/correlation.rst)")
    return CorrelationStageSettings(rules=rules, analyzerId=v.one(section, "ANALYZER_ID"),
                                    interval=v.one(section, "INTERVAL"))


#: How an argon2 hash (PHC string format) starts.
_ARGON2 = re.compile(r"\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\Z")


def _buildConsole(loader, v):
    """
    The C{[CONSOLE]} section, or C{None} when there is none.  It must have
    a password hash (from C{mice passwd}); a clear password is refused.
    """
    section = "CONSOLE"
    if section not in v.sectionLines:
        return None
    passwordHash = v.one(section, "PASSWORD_HASH")
    if passwordHash is None:
        loader.error(v.sectionLines[section], "[CONSOLE] needs PASSWORD_HASH, the argon2 hash"
                                              " of the console password: make one with `mice"
                                              " passwd` and paste its line here")
    elif not _ARGON2.match(passwordHash.strip()):
        loader.error(v.line(section, "PASSWORD_HASH"),
                     "PASSWORD_HASH must be an argon2 hash as `mice passwd` prints it"
                     " ($argon2id$v=19$m=...); a password is never written in clear")
    certificate, key = v.one(section, "TLSCERT"), v.one(section, "TLSKEY")
    tls = None
    if (certificate is None) != (key is None):
        given, missing = ("TLSCERT", "TLSKEY") if key is None else ("TLSKEY", "TLSCERT")
        loader.error(v.line(section, given), f"{given} needs {missing} in [CONSOLE]")
    elif certificate is not None:
        tls = (certificate, key)
    return ConsoleSettings(
        listen=v.one(section, "LISTEN"), user=v.one(section, "USER"),
        passwordHash=(passwordHash or "").strip(), icons=v.one(section, "ICONS"), tls=tls,
        database=v.one(section, "DATABASE"), staleAfter=v.one(section, "STALE"),
        sessionTimeout=v.one(section, "SESSION"), loginAttempts=v.one(section, "LOGINS"),
        loginWindow=v.one(section, "LOGIN_WINDOW"))


def _buildMatchFile(loader, v):
    aids = ("ALERT_ID", "AID")
    _pair(loader, v, aids, ("ALERT_ID_DESCRIPTION", "AID_DESC"))
    _duplicates(loader, v.entries(*aids), "alert ID", lambda aid: f"0x{aid:04X}")
    alerts = tuple(zip(v.many(*aids), v.many("ALERT_ID_DESCRIPTION", "AID_DESC")))
    known = set(v.many(*aids))
    reactions = {}
    for section in sorted(v.sectionLines, key=v.sectionLines.get):
        match = re.fullmatch(r"RID_(\d+)", section)
        if not match:
            continue
        rid = int(match.group(1))
        found = []
        for entry in v.entries(section, f"AID_{rid}"):
            if entry.value not in known:
                loader.warn(entry.line, f"{entry.key} = 0x{entry.value:04X} is not in"
                                        " [ALERT_ID]")
            if entry.value in found:
                loader.warn(entry.line, f"{entry.key} = 0x{entry.value:04X} given twice in"
                                        f" [{section}]")
            else:
                found.append(entry.value)
        reactions[rid] = tuple(found)
    return MatchFileSettings(path=loader.filename, alerts=alerts,
                             reactions=types.MappingProxyType(dict(sorted(reactions.items()))))


def _buildFltRegex(loader, v):
    return FilterSettings(path=loader.filename, drop=v.many("FILTER", "DROP"),
                          keep=v.many("FILTER", "KEEP"))


def _buildPseudonym(loader, v):
    return PseudonymSettings(path=loader.filename, keyFile=v.one("PSEUDONYM", "KEYFILE"),
                             addresses=v.one("PSEUDONYM", "ADDRESSES"))


def _buildFmtSimple(loader, v):
    return FmtSimpleSettings(path=loader.filename, hostname=v.one("FORMAT", "HOSTNAME"),
                             domain=v.one("FORMAT", "DOMAIN"), ip=v.one("FORMAT", "IP"))


def _buildSyslogReaction(loader, v):
    section = "WRITE_TO_SYSLOG"
    target = v.one(section, "TARGET")
    if v.entry(section, "FRAMING") is not None and not target.startswith("tcp:"):
        loader.warn(v.line(section, "FRAMING"), f"FRAMING only applies to tcp: targets;"
                                                f" {target} takes one line per datagram")
    return SyslogReactionSettings(
        path=loader.filename, target=target, format=v.one(section, "FORMAT"),
        facility=v.one(section, "FACILITY"), severity=v.one(section, "SEVERITY"),
        tag=v.one(section, "TAG"), framing=v.one(section, "FRAMING"),
        maxLength=v.one(section, "MAXLENGTH"), hostname=v.one(section, "HOSTNAME"))


def _buildSaveToFile(loader, v):
    section = "SAVE_TO_FILE"
    return SaveToFileSettings(
        path=loader.filename, file=v.one(section, "PATH"), mode=v.one(section, "MODE"),
        remember=v.one(section, "REMEMBER"), sync=v.one(section, "SYNC"))


def _buildFifoReaction(loader, v):
    section = "FIFO"
    fifo = v.entry(section, "PATH")
    if fifo is not None and os.path.exists(fifo.value) \
            and not stat.S_ISFIFO(os.stat(fifo.value).st_mode):
        loader.warn(fifo.line, f"{fifo.key}: {fifo.value} exists and is not a FIFO: the"
                               " reaction will refuse to start", strictable=True)
    return FifoReactionSettings(
        path=loader.filename, fifo=v.one(section, "PATH"), mode=v.one(section, "MODE"),
        maxHeld=v.one(section, "MAXHELD"), timeout=v.one(section, "TIMEOUT"))


# ---------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------

def K(name, type, default=None, **kw):
    return _Key(name, type, default, **kw)


_SECRET = {"secret": True}

#: Why keys of the seed are accepted but not used (L{_Key.unused}).
_DEVRANDOM_UNUSED = ("keys and nonces come from the kernel's CSPRNG through os.urandom;"
                     " remove the line")
_INSIDE_UNUSED = ("act_generic runs inside the ManagementHost's BufferDaemon, whose %s"
                  " applies")
_DTD_UNUSED = ("alerts are built by mice.idmef, which writes valid IDMEF itself; nothing"
               " reads the DTD; remove the line")

#: The C{[LIMITS]} section of a listening daemon's config (its keys'
#: defaults are L{ListenLimits}'s); a schema that includes it reads it with
#: L{listenLimits}.
_LIMITS = ListenLimits()
LIMITS_SECTION = _Sect("LIMITS", (
    K("HANDSHAKE_TIMEOUT", SECONDS, _LIMITS.handshakeTimeout),
    K("IDLE_TIMEOUT", SECONDS, _LIMITS.idleTimeout),
    K("MAXCONN", POSITIVE, _LIMITS.maxConnections),
    K("MAXCONN_PER_PEER", POSITIVE, _LIMITS.maxPerPeer),
    K("MAXPENDING", POSITIVE, _LIMITS.maxPending),
    K("FD_RESERVE", COUNT, _LIMITS.fdReserve),
    K("WARN_INTERVAL", SECONDS, _LIMITS.warnInterval)))

#: A broker target (L{mice.protocols.amqp.BrokerTarget}): a forwarder's
#: servers, a BufferDaemon's [BROKER].
_BROKER_KEYS = (K("AMQP", AMQPURL), K("QUEUE", QUEUENAME), K("QUEUE_TYPE", QUEUETYPE, "quorum"))
#: An analysis module's broker targets in [HOST_INFO].
_HOST_INFO_BROKER = (K("ManagementAMQP", AMQPURL), K("ManagementQueue", QUEUENAME),
                     K("AgentAMQP", AMQPURL), K("AgentQueue", QUEUENAME),
                     K("QueueType", QUEUETYPE, "quorum"))


def _agentSections(analyzerId):
    """
    The sections every analysis agent's config has (aa_regex, aa_rules):
    where its alerts go and how its IDMEF messages are made.
    """
    return (
        _Sect("HOST_INFO", (K("Management", HOSTPORT), K("Agent", HOSTPORT),
                            K("Encryption", BOOL, False), K("MngmntKey", TEXT, **_SECRET),
                            K("AgentKey", TEXT, **_SECRET), K("TLSCERT", FILE),
                            K("TLSKEY", FILE), K("TLSCA", FILE), *_HOST_INFO_BROKER)),
        _Sect("IDMEF_INFO", (K("AlertID", COUNT, 1), K("AlertIDFile", RUNTIME),
                             K("DTDFile", FILE, unused=_DTD_UNUSED),
                             K("AnalyzerID", NAME, analyzerId), K("Instance", INSTANCE))),
    )


#: Any daemon may serve Prometheus metrics (off unless LISTEN is given).
_METRICS = _Sect("METRICS", (K("LISTEN", ENDPOINT),))
#: A positive number that need not be seconds (a factor).
_positiveNumber = SECONDS

_SCHEMAS = {schema.kind: schema for schema in (
    _Schema("bufferdaemon", "a BufferDaemon config", (
        _Sect("ADDRESS", (K("BINDTO", ADDRESS), K("LISTEN", ENDPOINT, repeated=True))),
        _Sect("PORT_NUMBER", (K("PORT", PORT),)),
        _Sect("MODULES_SEARCH_PATH", (K("MODPATH", SEARCHPATH, repeated=True),)),
        _Sect("DECODING_MODULES",
              (K("DEC_MOD", NAME, required=True, repeated=True, synonyms=("ENC_MOD",)),),
              synonyms=("ENCODING_MODULES",)),
        _Sect("DECODING_MODULES_CONFIG_FILE",
              (K("DEC_FILE", FILE, repeated=True, synonyms=("ENC_FILE",)),),
              synonyms=("ENCODING_MODULES_CONFIG_FILE",)),
        _Sect("POSTPROC_MODULES",
              (K("POST_MOD", NAME, required=True, repeated=True, synonyms=("OUT_MOD",)),),
              synonyms=("OUTPUT_MODULES",)),
        _Sect("POSTPROC_MODULES_CONFIG_FILE",
              (K("POST_FILE", FILE, repeated=True, synonyms=("OUT_FILE",)),),
              synonyms=("OUTPUT_MODULES_CONFIG_FILE",)),
        _Sect("TIME_INTERVALS", (K("TIMEINV", SECONDS, required=True),)),
        _Sect("CACHE_AND_RINGBUFFER", (K("MMPATH", RUNTIME), K("MMSIZE", COUNT, 0),
                                       K("RBSIZE", COUNT, 100), K("MMBYTES", POSITIVE))),
        _Sect("SECURITY_AND_PRIVACY", (K("PSEUDO", BOOL, False), K("PSEUDONYMCONF", FILE),
                                       K("USER", NAME), K("GROUP", NAME),
                                       K("CHROOT", DIRECTORY))),
        _Sect("MISC", (K("PIDPATH", RUNTIME), K("BACKLOG", POSITIVE, 50),
                       K("MAXLINE", POSITIVE, 4194304))),
        LIMITS_SECTION,
        _METRICS,
        _Sect("BROKER", (*_BROKER_KEYS, K("PREFETCH", _integer(1, 65535), 64))),
    ), _buildBufferDaemon),
    _Schema("dataforwarder", "a DataForwarder config", (
        _Sect("SQL_SERVER", (K("SQLIP", HOST, "0"), K("SQLPORT", PORT, 0),
                             K("SQLPROTO", PROTO, "TCP"), *_BROKER_KEYS)),
        _Sect("ANALYSIS_SERVER", (K("ASIP", HOST, "0"), K("ASPORT", PORT, 0),
                                  K("ASPROTO", PROTO, "TCP"), *_BROKER_KEYS)),
        _Sect("SECURITY_AND_PRIVACY", (
            K("ENCRYPT", BOOL, False), K("PSEUDO", BOOL, False), K("FILTER", BOOL, False),
            K("USER", NAME), K("GROUP", NAME), K("CHROOT", DIRECTORY),
            K("ENCKEY", TEXT, **_SECRET),
            K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
            K("DEVRANDOM", FILE, unused=_DEVRANDOM_UNUSED), K("TLSCERT", FILE), K("TLSKEY", FILE), K("TLSCA", FILE),
            K("TLSNAME", TEXT))),
        _Sect("LOGFILE_LIST", (K("FILE", LOGFILE, required=True, repeated=True),)),
        _Sect("MODULES_SEARCH_PATH", (K("MODPATH", SEARCHPATH, repeated=True),)),
        _Sect("MODULES", (K("MOD_FILTER", NAME, "mice_mod_flt_regex"),
                          K("MOD_LOGFORMAT", NAME, "mice_mod_fmt_simple"),
                          K("MOD_PSEUDONYM", NAME, "mice_mod_psd_empty"))),
        _Sect("MODULES_CONFIG_FILE", (K("FILTERCONF", FILE), K("LOGFORMATCONF", FILE),
                                      K("PSEUDONYMCONF", FILE))),
        _Sect("MISC", (K("SHMSIZE", POSITIVE, 10240),
                       K("SLEEPINV", SECONDS, 2.0, synonyms=("SLEPPINV",)),
                       K("RECONNECT", COUNT, 15), K("PIDPATH", RUNTIME),
                       K("SYSLOGFAC", FACILITY, SYSLOG_FACILITIES["daemon"]),
                       K("STATEDIR", RUNTIME), K("SPOOLSIZE", POSITIVE, 1048576),
                       K("MAXLINE", _integer(minimum=256), 65536),
                       K("ROTATEGRACE", SECONDS, 5.0))),
        _METRICS,
    ), _buildDataForwarder),
    _Schema("reactiondaemon", "a ReactionDaemon config", (
        _Sect("FUNCTION_ID", (K("FID", _integer(0, width=6), required=True, repeated=True),)),
        _Sect("REACTION_MODULES", (K("RCT_MOD", NAME, repeated=True),)),
        _Sect("REACTION_MODULES_CONFIG_FILE", (K("RCT_FILE", FILE, repeated=True),)),
        _Sect("NETWORK", (K("IP", ADDRESS), K("PORT", PORT),
                          K("LISTEN", ENDPOINT, repeated=True))),
        _Sect("SECURITY", (K("PASSWORD", TEXT, **_SECRET),
                           K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
                           K("CHROOT", DIRECTORY), K("USER", NAME), K("GROUP", NAME),
                           K("TLSCERT", FILE), K("TLSKEY", FILE), K("TLSCA", FILE))),
        _Sect("MISC", (K("PIDPATH", RUNTIME), K("MODPATH", SEARCHPATH, repeated=True),
                       K("BACKLOG", POSITIVE, 50), K("STATEDIR", RUNTIME))),
        LIMITS_SECTION,
        _METRICS,
    ), _buildReactionDaemon),
    _Schema("rct_system", "a mice_mod_rct_system config", (
        _Sect("COMMAND", (K("ARGV", ARGV, required=True), K("UNDO", ARGV, required=True),
                          K("ARGV6", ARGV), K("UNDO6", ARGV),
                          K("PARAMS", PARAMSPEC, required=True, repeated=True),
                          K("TIMEOUT", SECONDS, 10.0))),
        _Sect("POLICY", (K("DURATION", DURATION, 600), K("MAXDURATION", DURATION, 86400),
                         K("RATE", COUNT, 60), K("NEVER", NETWORK, repeated=True),
                         K("CIDR4", _integer(0, 32), 16), K("CIDR6", _integer(0, 128), 48))),
    ), _buildRctSystem),
    _Schema("countermeasure", "a rid_4_countermeasure config", (
        _Sect("COUNTERMEASURE", (
            K("FID", _integer(0, 0xFFFFFF, width=6), 1), K("PARAM", PARAMMAP, repeated=True),
            K("DURATION", DURATION, 600), K("SCOPE", SCOPE, "host"),
            K("ESCALATE", BOOL, True), K("FACTOR", FACTOR, 2.0),
            K("MAXDURATION", DURATION, 604800), K("HISTORY", DURATION, 604800),
            K("NEVER", NETWORK, repeated=True), K("STATEDB", RUNTIME),
            K("TIMEOUT", SECONDS, 30.0), K("SOURCE", NAME, "mngmthost"))),
        _Sect("DAEMON_n", (K("ADDRESS", HOSTPORT), K("SERVES", NAME, repeated=True),
                           K("PASSWORD", TEXT, **_SECRET),
                           K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
                           K("TLSCERT", FILE), K("TLSKEY", FILE), K("TLSCA", FILE),
                           K("TLSNAME", TEXT)),
              pattern=r"DAEMON_([1-9][0-9]*)"),
        _Sect("ALERT_n", (K("FID", _integer(0, 0xFFFFFF, width=6)),
                          K("PARAM", PARAMMAP, repeated=True), K("DURATION", DURATION),
                          K("SCOPE", SCOPE), K("ESCALATE", BOOL)),
              pattern=ALERT_SECTION),
    ), _buildCountermeasure),
    _Schema("pop_mysql", "a mice_mod_pop_mysql config", (
        _Sect("MYSQL_SERVER", (
            K("HOSTNAME", HOST), K("PORT", PORT, 3306), K("USER", NAME),
            K("PASSWORD", TEXT, **_SECRET), K("DBNAME", NAME), K("MAXERR", COUNT, 10),
            K("URL", DBURL), K("BATCHSIZE", POSITIVE, 5000), K("SIGNKEY", FILE))),
    ), _buildPopMysql),
    _Schema("pop_syslog", "a mice_mod_pop_syslog config", (
        _Sect("SYSLOG", (K("TARGET", SYSLOGTARGET, "unix:/dev/log"),
                         K("FACILITY", FACILITY, SYSLOG_FACILITIES["daemon"]),
                         K("TAG", SYSLOGTAG, "mice"), K("FORMAT", SYSLOGFORMAT, "rfc3164"))),
    ), _buildPopSyslog),
    _Schema("rid_syslog", "a rid_1_write_to_syslog reaction config", (
        _Sect("WRITE_TO_SYSLOG", (
            K("TARGET", SYSLOGTARGET, SyslogReactionSettings.target),
            K("FORMAT", SYSLOGFORMAT, SyslogReactionSettings.format),
            K("FACILITY", FACILITY, SyslogReactionSettings.facility),
            K("SEVERITY", SYSLOGSEVERITY, SyslogReactionSettings.severity),
            K("TAG", SYSLOGTAG, SyslogReactionSettings.tag),
            K("FRAMING", SYSLOGFRAMING, SyslogReactionSettings.framing),
            K("MAXLENGTH", _integer(480, 65000), SyslogReactionSettings.maxLength),
            K("HOSTNAME", HOST))),
    ), _buildSyslogReaction),
    _Schema("rid_savetofile", "a rid_3_save_to_file reaction config", (
        _Sect("SAVE_TO_FILE", (
            K("PATH", RUNTIME), K("MODE", FILEMODE, SaveToFileSettings.mode),
            K("REMEMBER", COUNT, SaveToFileSettings.remember),
            K("SYNC", BOOL, SaveToFileSettings.sync))),
    ), _buildSaveToFile),
    _Schema("rid_fifo", "an external reaction program's FIFO config", (
        _Sect("FIFO", (
            K("PATH", RUNTIME), K("MODE", FIFOMODE, FifoReactionSettings.mode),
            K("MAXHELD", POSITIVE, FifoReactionSettings.maxHeld),
            K("TIMEOUT", SECONDS, FifoReactionSettings.timeout))),
    ), _buildFifoReaction),
    _Schema("decoder", "a decoding module config", (
        _Sect("DECODER", (K("ENCRYPT", BOOL, False), K("ENCKEY", TEXT, **_SECRET),
                          K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
                          K("MAXRECORD", POSITIVE, 65536), K("TLSCERT", FILE),
                          K("TLSKEY", FILE), K("TLSCA", FILE))),
    ), _buildDecoder),
    _Schema("aa_regex", "a mice_mod_pop_aa_regex config", (
        *_agentSections("MICE-RegEx"),
        *(_Sect(name, (K(sendTo, SENDTO, "N"),
                       *(K(rule, REGEX, repeated=True) for rule in rules)))
          for name, sendTo, rules in _RULE_SECTIONS),
        # Ours: a rule with an alert ID of its own (docs/detection.rst).  Not a
        # sign of the kind: a rid_4_countermeasure config has [ALERT_n] too.
        _Sect("ALERT_n", (K("SendTo", SENDTO, "N"), K("Rule", REGEX, repeated=True)),
              pattern=ALERT_SECTION, marker=False),
    ), _buildAaRegex),
    _Schema("aa_rules", "a mice_mod_pop_aa_rules config", (
        *_agentSections("MICE-LogIDS"),
        _Sect("LOGIDS", (K("Rules", FILE, required=True), K("Filters", FILE, required=True),
                         K("NetDef", FILE), K("SendTo", SENDTO, "M"))),
    ), _buildAaRules),
    _Schema("act_generic", "a mice_mod_pop_act_generic config", (
        _Sect("REACTION_ID", (K("RID", _integer(1), required=True, repeated=True),)),
        _Sect("RID_PIPENAME", (K("PIPE", NAME, repeated=True),)),
        _Sect("ANALYZER_ID", (K("ANAID", NAME, required=True, repeated=True),)),
        _Sect("ANALYZER_MATCHFILE", (K("MF", NAME, repeated=True),)),
        _Sect("IDMEF_INFO", (K("DTDFile", FILE),)),
        _Sect("MISC", (K("MOD_PATH", SEARCHPATH, repeated=True, unused=_INSIDE_UNUSED % "MODPATH"),
                       K("PIPE_PATH", RUNTIME),
                       K("PID_PATH", RUNTIME, unused=_INSIDE_UNUSED % "PIDPATH"),
                       K("MATCH_PATH", DIRECTORY),
                       K("USER", NAME, unused=_INSIDE_UNUSED % "USER"),
                       K("GROUP", NAME, unused=_INSIDE_UNUSED % "GROUP"),
                       K("DEFAULT_RID", _integer(1), repeated=True))),
        _Sect("JOURNAL", (K("URL", DBURL), K("RETRY_FIRST", SECONDS, 1.0),
                          K("RETRY_MAX", SECONDS, 300.0), K("ATTEMPTS", COUNT, 0),
                          K("IN_FLIGHT", POSITIVE, 32), K("BATCHSIZE", POSITIVE, 2000),
                          K("MAXERR", COUNT, 10), K("REQUIRE_AGENTS", BOOL, True))),
        _Sect("CONSOLE", (
            K("LISTEN", ENDPOINT, CONSOLE_LISTEN), K("USER", NAME, "admin"),
            K("PASSWORD_HASH", TEXT, **_SECRET), K("ICONS", DIRECTORY), K("TLSCERT", FILE),
            K("TLSKEY", FILE), K("DATABASE", DBURL), K("STALE", _positiveNumber, 3.0),
            K("SESSION", SECONDS, 8 * 3600.0), K("LOGINS", POSITIVE, 5),
            K("LOGIN_WINDOW", SECONDS, 300.0))),
        _Sect("CORRELATION", (K("RULES", FILE), K("ANALYZER_ID", NAME, "MICE-Correlation"),
                              K("INTERVAL", _positiveNumber, 1.0))),
    ), _buildActGeneric),
    _Schema("matchfile", "a match file", (
        _Sect("ALERT_ID", (K("AID", _integer(0, width=4), required=True, repeated=True),)),
        _Sect("ALERT_ID_DESCRIPTION", (K("AID_DESC", TEXT, repeated=True),)),
        _Sect("RID_n", (K("AID_{n}", _integer(0, width=4), repeated=True),),
              pattern=r"RID_([1-9][0-9]*)"),
    ), _buildMatchFile),
    _Schema("flt_regex", "a mice_mod_flt_regex config", (
        _Sect("FILTER", (K("DROP", FILTERREGEX, repeated=True),
                         K("KEEP", FILTERREGEX, repeated=True))),
    ), _buildFltRegex),
    _Schema("psd", "a pseudonymisation module config", (
        _Sect("PSEUDONYM", (K("KEYFILE", FILE), K("ADDRESSES", BOOL, False))),
    ), _buildPseudonym),
    _Schema("fmt_simple", "a mice_mod_fmt_simple config", (
        _Sect("FORMAT", (K("HOSTNAME", HOST), K("DOMAIN", HOST), K("IP", IP))),
    ), _buildFmtSimple),
)}

#: Every kind of config file this module reads.
KINDS = tuple(_SCHEMAS)


def _markers():
    """
    For each kind, the sections only that kind has: what L{detectKind} looks for.
    """
    owners = {}
    for schema in _SCHEMAS.values():
        for sect in schema.sections:
            for name in (sect.name, *sect.synonyms):
                if sect.marker:
                    owners.setdefault(name, set()).add(schema.kind)
    return {kind: frozenset(name for name, kinds in owners.items() if kinds == {kind})
            for kind in _SCHEMAS}


_MARKERS = _markers()


def detectKind(iniFile):
    """
    Which kind of M-ICE config C{iniFile} is, from its sections: one of
    L{KINDS}.

    @raise ConfigError: when the sections do not say.
    """
    scores = {}
    for kind, markers in _MARKERS.items():
        pattern = next((s.pattern for s in _SCHEMAS[kind].sections if s.pattern and s.marker),
                       None)
        score = sum(1 for section in iniFile.sections
                    if section.name.upper() in markers
                    or (pattern is not None and re.fullmatch(pattern, section.name.upper())))
        if score:
            scores[kind] = score
    names = ", ".join(f"[{section.name}]" for section in iniFile.sections) or "none"
    if scores:
        best = max(scores.values())
        winners = [kind for kind, score in scores.items() if score == best]
        if len(winners) == 1:
            return winners[0]
    raise ConfigError(iniFile.filename, None,
                      f"cannot tell what kind of M-ICE config this is (sections: {names})")
