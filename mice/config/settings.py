# -*- test-case-name: tests.unit.config.test_config -*-
"""
The frozen settings objects each kind of config file loads into.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

import types
import urllib.parse
from dataclasses import dataclass, field
from typing import NamedTuple

from mice.config.values import HostPort

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

def _escapeEndpoint(text):
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


@dataclass(frozen=True)
class PipelineSettings:
    """
    One decoding module with its post-processing module (DEC_MOD[i] with
    DEC_FILE[i], POST_MOD[i] and POST_FILE[i]).
    """

    decoder: str
    decoderConfig: str | None
    postprocessor: str
    postprocessorConfig: str | None


@dataclass(frozen=True)
class BufferDaemonSettings:
    path: str
    bindTo: str
    port: int
    listen: tuple
    backlog: int
    modulePaths: tuple
    pipelines: tuple
    timeInterval: float
    mmPath: str | None
    mmSize: int
    rbSize: int
    mmBytes: int
    maxLine: int
    pseudo: bool
    user: str | None
    group: str | None
    chroot: str | None
    pidPath: str | None
    metricsListen: str | None = None
    """[METRICS] LISTEN: where the Prometheus page is served (C{None}: off)."""

    @property
    def endpoints(self):
        """
        Twisted server endpoint strings: LISTEN, or one from BINDTO and PORT.
        """
        if self.listen:
            return self.listen
        return (f"tcp:{self.port}:interface={_escapeEndpoint(self.bindTo)}"
                f":backlog={self.backlog}",)


@dataclass(frozen=True)
class PopMysqlSettings:
    path: str
    hostname: str | None
    port: int
    user: str | None
    password: str | None = field(repr=False)
    dbName: str | None
    maxErr: int
    url: str | None = field(repr=False)
    batchSize: int

    def databaseUrl(self):
        """
        The URL to connect to: URL when set (a relative SQLite path already
        resolved), else C{mysql://USER:PASSWORD@HOSTNAME:PORT/DBNAME}.
        """
        if self.url:
            return self.url
        quote = urllib.parse.quote
        credentials = quote(self.user or "", safe="")
        if self.password:
            credentials += ":" + quote(self.password, safe="")
        host = f"[{self.hostname}]" if ":" in (self.hostname or "") else self.hostname
        return f"mysql://{credentials}@{host}:{self.port}/{quote(self.dbName or '', safe='')}"


@dataclass(frozen=True)
class PopSyslogSettings:
    path: str
    target: str
    facility: int
    tag: str
    format: str


@dataclass(frozen=True)
class DecoderSettings:
    path: str | None
    encrypt: bool = False
    encKey: str | None = field(default=None, repr=False)
    cryptMod: str = "aes-256-gcm"
    maxRecord: int = 65536
    tls: tuple | None = None
    """C{(certificate, key, ca)} PEM paths: with ENCRYPT = yes the link is TLS."""


class ServerAddress(NamedTuple):
    """
    Where a DataForwarder sends to; address or port 0 disables it.
    """

    host: str
    port: int
    proto: str = "TCP"

    @property
    def enabled(self):
        return self.port != 0 and self.host not in ("", "0", "0.0.0.0", "::")

    @property
    def endpoint(self):
        """
        A Twisted client endpoint string.
        """
        return f"tcp:host={_escapeEndpoint(self.host)}:port={self.port}"


@dataclass(frozen=True)
class DataForwarderSettings:
    path: str
    sqlServer: ServerAddress
    analysisServer: ServerAddress
    encrypt: bool
    pseudo: bool
    filter: bool
    user: str | None
    group: str | None
    chroot: str | None
    encKey: str | None = field(repr=False)
    cryptMod: str
    devRandom: str | None
    files: tuple
    modulePaths: tuple
    filterModule: str
    logFormatModule: str
    pseudonymModule: str
    filterConfig: str | None
    logFormatConfig: str | None
    pseudonymConfig: str | None
    shmSize: int
    sleepInterval: float
    reconnect: int
    pidPath: str | None
    syslogFacility: int
    syslog: bool = False
    """Whether SYSLOGFAC was given: log to syslog with that facility too."""
    stateDirectory: str | None = None
    """STATEDIR: file offsets and the spools (C{None}: the system default)."""
    spoolSize: int = 1048576
    """SPOOLSIZE: KiB of disk spool per server."""
    maxLine: int = 65536
    """MAXLINE: bytes of one log line kept; longer ones are cut and reported."""
    rotateGrace: float = 5.0
    """ROTATEGRACE: seconds a file rotated away must have been idle (and a
    newer one have data) before it is closed; until then it is read on."""
    tls: tuple | None = None
    """C{(certificate, key, ca)} PEM paths: with ENCRYPT = yes the link is TLS."""
    tlsName: str | None = None
    """TLSNAME: the name the servers' certificates must have (default: their
    addresses)."""
    metricsListen: str | None = None
    """[METRICS] LISTEN: where the Prometheus page is served (C{None}: off)."""

    @property
    def servers(self):
        """
        The enabled servers, as C{(name, ServerAddress)}.
        """
        return tuple((name, address) for name, address in
                     (("sql", self.sqlServer), ("analysis", self.analysisServer))
                     if address.enabled)


@dataclass(frozen=True)
class FunctionSettings:
    """
    A function ID (FID[i]) with its reaction module (RCT_MOD[i]) and that
    module's config file (RCT_FILE[i], or C{None}).
    """

    fid: int
    module: str
    configFile: str | None


@dataclass(frozen=True)
class ReactionDaemonSettings:
    path: str
    functions: tuple
    bindTo: str
    port: int
    listen: tuple
    password: str = field(repr=False)
    cryptMod: str
    chroot: str | None
    pidPath: str | None
    modulePaths: tuple
    backlog: int
    metricsListen: str | None = None
    """[METRICS] LISTEN: where the Prometheus page is served (C{None}: off)."""

    @property
    def endpoints(self):
        if self.listen:
            return self.listen
        return (f"tcp:{self.port}:interface={_escapeEndpoint(self.bindTo)}"
                f":backlog={self.backlog}",)

    def function(self, fid):
        """
        The L{FunctionSettings} for C{fid}, or C{None}.
        """
        for function in self.functions:
            if function.fid == fid:
                return function
        return None


#: The alert ID each rule key of C{mice_mod_pop_aa_regex.conf} raises (the
#: seed's match file).
ALERT_IDS = types.MappingProxyType({
    "AuS_Rule": 0x1010, "AuF_Rule": 0x1020,
    "RoW_Rule": 0x2010, "RoO_Rule": 0x2020, "RoR_Rule": 0x2030, "RoS_Rule": 0x2040,
    "RoE_Rule": 0x2050,
    "ReS_Rule": 0x3010, "ReF_Rule": 0x3020,
    "WrS_Rule": 0x4010, "WrF_Rule": 0x4020,
    "Mo_UID": 0x5010, "Mo_GID": 0x5020,
    "Ap_Name": 0x6010,
    "Ex_Rule": 0x7010,
    "FwD_Rule": 0x8010, "FwR_Rule": 0x8020, "FwA_Rule": 0x8030, "FwI_Rule": 0x8040,
})

# (section, its SendTo key, its rule keys), in the seed's order.
_RULE_SECTIONS = (
    ("AUTH", "AuSendTo", ("AuS_Rule", "AuF_Rule")),
    ("ROOT", "RoSendTo", ("RoW_Rule", "RoO_Rule", "RoR_Rule", "RoS_Rule", "RoE_Rule")),
    ("READ", "ReSendTo", ("ReS_Rule", "ReF_Rule")),
    ("WRITE", "WrSendTo", ("WrS_Rule", "WrF_Rule")),
    ("MONITORING", "MoSendTo", ("Mo_UID", "Mo_GID")),
    ("APPS", "ApSendTo", ("Ap_Name",)),
    ("EXPLOIT", "ExSendTo", ("Ex_Rule",)),
    ("FIREWALL", "FwSendTo", ("FwD_Rule", "FwR_Rule", "FwA_Rule", "FwI_Rule")),
    ("SOCKET", "SoSendTo", ("SoS_Rule", "SoF_Rule", "SoC_Rule", "SoA_Rule", "SoL_Rule",
                            "SoR_Rule", "SoT_Rule", "SoU_Rule", "SoI_Rule")),
    ("DEFAULT", "DeSendTo", ()),
)


@dataclass(frozen=True)
class Rule:
    """
    One rule key: its non-empty patterns, in file order.  A key whose values
    are all empty (C{""}) is off.  C{alertId} is C{None} for the reserved
    SOCKET keys.
    """

    key: str
    alertId: int | None
    patterns: tuple

    @property
    def enabled(self):
        return bool(self.patterns)


@dataclass(frozen=True)
class RuleSection:
    name: str
    sendTo: str
    rules: tuple


@dataclass(frozen=True)
class AaRegexSettings:
    path: str
    management: HostPort | None
    agent: HostPort | None
    encryption: bool
    mngmntKey: str | None = field(repr=False)
    agentKey: str | None = field(repr=False)
    alertId: int
    alertIdFile: str | None
    dtdFile: str | None
    analyzerId: str
    sections: tuple
    tls: tuple | None = None
    """C{(certificate, key, ca)}: with Encryption = yes, the links to the
    ManagementHost and the next agent are TLS."""

    def section(self, name):
        for section in self.sections:
            if section.name == name.upper():
                return section
        return None

    @property
    def defaultSendTo(self):
        return self.section("DEFAULT").sendTo

    @property
    def enabledRules(self):
        """
        C{(section, rule)} for every rule that is on, in config order.
        """
        return tuple((section, rule) for section in self.sections for rule in section.rules
                     if rule.enabled and rule.alertId is not None)


@dataclass(frozen=True)
class AaRulesSettings:
    """
    C{mice_mod_pop_aa_rules.conf}: the LogIDS rules module of an analysis
    agent (L{mice.postproc.aarules}).  The rule, filter and netdef files are
    only named here: L{mice.analysis.logids} reads them (a bad line in them is
    skipped and reported, it does not stop the agent).
    """

    path: str
    management: HostPort
    agent: HostPort | None
    encryption: bool
    mngmntKey: str | None = field(repr=False)
    agentKey: str | None = field(repr=False)
    alertId: int
    alertIdFile: str | None
    dtdFile: str | None
    analyzerId: str
    rulesFile: str
    filterFile: str
    netdefFile: str | None
    sendTo: str
    """Where alert and warning actions go (M, A, B or N); the console
    events always go to the ManagementHost, whose console shows them."""
    tls: tuple | None = None


@dataclass(frozen=True)
class ReactionAgentSettings:
    """
    A reaction ID (RID[i]) and its named pipe (PIPE[i]); C{fifo} is the pipe's
    path (under PIPE_PATH).
    """

    rid: int
    pipe: str
    fifo: str


@dataclass(frozen=True)
class AnalyzerSettings:
    """
    An analyzer ID (ANAID[i]) and its match file (MF[i], resolved against
    MATCH_PATH).
    """

    analyzerId: str
    matchFile: str


#: Where the console listens unless [CONSOLE] LISTEN says otherwise.
CONSOLE_LISTEN = "tcp:8080:interface=127.0.0.1"


@dataclass(frozen=True)
class ConsoleSettings:
    """
    The ManagementHost's web console (C{[CONSOLE]} of act_generic's config;
    see C{docs/console.rst}).

    @ivar passwordHash: the argon2 hash of the console password, as
        C{mice passwd} prints it (never the password).
    @ivar tls: C{(certificate, key)} PEM paths, or C{None} (plain HTTP,
        meant for loopback).
    @ivar database: the alert database to read, or C{None}: the
        ManagementHost's own.
    """

    listen: str = CONSOLE_LISTEN
    user: str = "admin"
    passwordHash: str = field(default="", repr=False)
    icons: str | None = None
    tls: tuple | None = None
    database: str | None = None
    staleAfter: float = 3.0
    """An analyzer is stale after this many heartbeat intervals without one."""
    sessionTimeout: float = 8 * 3600.0
    """Seconds a session lasts without being used."""
    loginAttempts: int = 5
    """Failed logins allowed per client address in L{loginWindow} seconds."""
    loginWindow: float = 300.0


@dataclass(frozen=True)
class ActGenericSettings:
    path: str
    reactions: tuple
    analyzers: tuple
    dtdFile: str | None
    modulePaths: tuple
    pipePath: str | None
    pidPath: str | None
    matchPath: str
    user: str | None
    group: str | None
    console: ConsoleSettings | None = None
    """C{[CONSOLE]}: the web console, or C{None} (no console)."""

    def matchFileFor(self, analyzerId):
        for analyzer in self.analyzers:
            if analyzer.analyzerId == analyzerId:
                return analyzer.matchFile
        return None


@dataclass(frozen=True)
class MatchFileSettings:
    """
    A match file: C{alerts} are C{(aid, description)} pairs in file order;
    C{reactions} maps each reaction ID to the alert IDs that trigger it.
    """

    path: str
    alerts: tuple
    reactions: types.MappingProxyType

    def reactionsFor(self, aid):
        """
        The reaction IDs whose lists hold C{aid}, in ascending order.
        """
        return tuple(sorted(rid for rid, aids in self.reactions.items() if aid in aids))

    def descriptionFor(self, aid):
        for known, description in self.alerts:
            if known == aid:
                return description
        return None


@dataclass(frozen=True)
class FilterSettings:
    """
    A C{mice_mod_flt_regex} config: the DROP and KEEP regular expressions, in
    file order.
    """

    path: str
    drop: tuple
    keep: tuple


@dataclass(frozen=True)
class PseudonymSettings:
    """
    A pseudonymisation module's config.  C{keyFile} names the file holding
    the key (hex); the key itself is read only by the module that uses it.
    """

    path: str
    keyFile: str | None
    addresses: bool = False


@dataclass(frozen=True)
class FmtSimpleSettings:
    """
    A C{mice_mod_fmt_simple} config: host columns that override the detected
    ones (C{None}: keep the detected value).
    """

    path: str
    hostname: str | None = None
    domain: str | None = None
    ip: str | None = None


class LoadedConfig(NamedTuple):
    """
    What L{loadConfig} returns.  C{shown} is for L{describe}.
    """

    kind: str
    settings: object
    warnings: tuple
    shown: tuple = ()
