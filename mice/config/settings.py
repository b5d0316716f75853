# -*- test-case-name: tests.unit.config.test_config -*-
"""
The frozen settings objects each kind of config file loads into.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

import os
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
    DEC_FILE[i], POST_MOD[i] and POST_FILE[i]).  C{decoderLine} and
    C{postprocessorLine} are the lines of DEC_MOD[i] and POST_MOD[i], for
    errors about the modules they name (an unknown one).
    """

    decoder: str
    decoderConfig: str | None
    postprocessor: str
    postprocessorConfig: str | None
    decoderLine: int | None = field(default=None, compare=False)
    postprocessorLine: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ListenLimits:
    """
    Who may hold a listener's connections, and for how long (C{[LIMITS]};
    L{mice.protocols.admission} decides with them, L{mice.protocols.guard}
    applies them; C{docs/security.rst}).

    @ivar handshakeTimeout: seconds a new connection has to authenticate
        (the pre-shared-key handshake or TLS, then the M-ICE hello).
    @ivar idleTimeout: seconds an authenticated link may send nothing; the
        server asks its clients for a keepalive every third of it.
    @ivar maxConnections: connections open at once, in all.
    @ivar maxPerPeer: connections open at once from one address (one IPv6 /64).
    @ivar maxPending: connections still in their handshake from addresses
        that have not authenticated recently.
    @ivar fdReserve: file descriptors kept free: when fewer are left, only
        addresses that authenticated recently are let in, and when fewer than
        a quarter of it are left, nobody.
    @ivar warnInterval: a refusal or timeout is logged once per address and
        reason in this many seconds, the rest summed up.
    """

    handshakeTimeout: float = 10.0
    idleTimeout: float = 300.0
    maxConnections: int = 1024
    maxPerPeer: int = 64
    maxPending: int = 256
    fdReserve: int = 64
    warnInterval: float = 60.0

    @property
    def keepalive(self):
        """
        How often (seconds, at least 1) a client is asked to send something
        when it has nothing to send: a third of the idle timeout.
        """
        return max(1, int(self.idleTimeout // 3))


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
    limits: ListenLimits = field(default_factory=ListenLimits)
    """C{[LIMITS]}: the listener's connection limits and timeouts."""
    pseudonymConfig: str | None = None
    """PSEUDONYMCONF: the C{mice_mod_psd_keyed} config whose key PSEUDO uses."""
    metricsListen: str | None = None
    """[METRICS] LISTEN: where the Prometheus page is served (C{None}: off)."""
    broker: object = None
    """C{[BROKER]}: a L{mice.protocols.amqp.BrokerTarget} whose queue the
    daemon consumes, beside (or instead of) listening."""

    @property
    def endpoints(self):
        """
        Twisted server endpoint strings: LISTEN, or one from BINDTO and PORT
        (none when only a broker queue feeds the daemon).
        """
        if self.listen:
            return self.listen
        if self.broker is not None and not self.port:
            return ()
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
    signKey: str | None = None
    """C{SIGNKEY}: the file of the key the store signs its rows with."""

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
    broker: object = None
    """A L{mice.protocols.amqp.BrokerTarget} (C{AMQP} and C{QUEUE}): the
    batches go to that queue instead of HOST:PORT."""

    @property
    def enabled(self):
        return self.broker is not None or (
            self.port != 0 and self.host not in ("", "0", "0.0.0.0", "::"))

    def __str__(self):
        if self.broker is not None:
            return str(self.broker)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

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
    password: str | None = field(repr=False)
    cryptMod: str
    chroot: str | None
    pidPath: str | None
    modulePaths: tuple
    backlog: int
    user: str | None = None
    group: str | None = None
    stateDirectory: str | None = None
    """STATEDIR: where the state of the countermeasures is kept (not under
    PIDPATH, which a reboot may empty, since the state is what re-applies
    them after one)."""
    tls: tuple | None = None
    """C{(certificate, key, ca)}: TLSCERT, TLSKEY, TLSCA: the link is TLS
    with client certificates instead of the PASSWORD handshake."""
    limits: ListenLimits = field(default_factory=ListenLimits)
    """C{[LIMITS]}: the listener's connection limits and timeouts."""
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


@dataclass(frozen=True)
class RctSystemSettings:
    """
    A C{mice_mod_rct_system} (or C{mice_mod_rct_dummy}) config: the command
    of one function ID and what it may be given.

    @ivar argv: the apply command, a L{mice.reactors.argv.Template}.
    @ivar undo: the command that lifts it.
    @ivar argv6: the apply command for IPv6 values (C{None}: C{argv}).
    @ivar params: C{((name, type), ...)}.
    @ivar never: C{((network, line), ...)}: NEVER entries.
    """

    path: str | None
    argv: object
    undo: object
    params: tuple
    argv6: object = None
    undo6: object = None
    timeout: float = 10.0
    duration: int = 600
    maxDuration: int = 86400
    rate: int = 60
    never: tuple = ()
    cidr4: int = 16
    cidr6: int = 48


@dataclass(frozen=True)
class DaemonLinkSettings:
    """
    One ReactionDaemon the countermeasure reaction talks to (C{[DAEMON_n]}).

    @ivar serves: the host names and addresses whose alerts it acts on.
    """

    name: str
    address: HostPort
    serves: tuple
    password: str | None = field(repr=False)
    cryptMod: str
    tls: tuple | None
    tlsName: str | None


@dataclass(frozen=True)
class CountermeasureRule:
    """
    What an alert asks of the ReactionDaemons: C{[COUNTERMEASURE]} for any
    alert, C{[ALERT_0x7010]} for one alert id.

    @ivar params: C{((name, field), ...)}: each parameter and the alert
        field it is taken from (C{source.address}, C{target.user}...).
    @ivar scope: C{host} (the host the alert is about), C{all} (every
        ReactionDaemon: a shared ban) or C{none}.
    """

    fid: int
    params: tuple
    duration: int
    scope: str
    escalate: bool


@dataclass(frozen=True)
class CountermeasureSettings:
    path: str
    default: CountermeasureRule
    alerts: types.MappingProxyType
    """C{{alert id: CountermeasureRule}}."""
    daemons: tuple
    factor: float
    maxDuration: int
    history: int
    never: tuple
    stateDb: str | None
    timeout: float
    source: str

    def ruleFor(self, alertId):
        return self.alerts.get(alertId, self.default)


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
    lines: tuple = field(default=(), compare=False)
    """The line of each pattern in the config (0: not known)."""

    @property
    def enabled(self):
        return bool(self.patterns)


@dataclass(frozen=True)
class RuleSection:
    name: str
    sendTo: str
    rules: tuple


@dataclass(frozen=True)
class AgentLinkSettings:
    """
    What the configs of both analysis modules share: C{[HOST_INFO]} (where
    the alerts go, and how the links are secured) and C{[IDMEF_INFO]} (the
    messageid counter, the analyzer's id).
    """

    path: str
    management: object
    """A L{HostPort}, a L{mice.protocols.amqp.BrokerTarget}
    (C{ManagementAMQP} and C{ManagementQueue}) or C{None}."""
    agent: object
    """Likewise for the next agent (C{Agent}, C{AgentAMQP}/C{AgentQueue})."""
    encryption: bool
    mngmntKey: str | None = field(repr=False)
    agentKey: str | None = field(repr=False)
    alertId: int
    alertIdFile: str | None
    dtdFile: str | None
    analyzerId: str
    instance: str | None
    """C{[IDMEF_INFO] Instance}: the prefix of this agent's messageids
    (C{INSTANCE-N}), so that agents competing for one broker queue never hand
    out the same id."""


@dataclass(frozen=True)
class AaRegexSettings(AgentLinkSettings):
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
class AaRulesSettings(AgentLinkSettings):
    """
    C{mice_mod_pop_aa_rules.conf}: the LogIDS rules module of an analysis
    agent (L{mice.postproc.aarules}).  The rule, filter and netdef files are
    only named here: L{mice.analysis.logids} reads them (a bad line in them is
    skipped and reported, it does not stop the agent).  C{management} is
    always given: the console events go there.
    """

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


#: The reaction journal's database when neither act_generic's C{[JOURNAL]}
#: nor the alert database reaction's config names one.
DEFAULT_JOURNAL_URL = "sqlite:////var/lib/M-ICE/alerts.db"


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
class CorrelationStageSettings:
    """
    The ManagementHost's correlation stage (C{[CORRELATION]} of
    act_generic's config; see C{docs/correlation.rst}).
    """

    rules: str
    """The correlation rules file (L{mice.analysis.correlation.loadCorrelation})."""
    analyzerId: str = "MICE-Correlation"
    """The analyzer id of the correlated alerts: their match file's ANAID."""
    interval: float = 1.0
    """Seconds between two looks at alerts held waiting for later ones."""


@dataclass(frozen=True)
class ActGenericSettings:
    """
    A C{mice_mod_pop_act_generic} config (seed 7.2.2), with what M-ICE on
    Twisted adds: C{[MISC]} C{DEFAULT_RID} and the C{[JOURNAL]} section
    (see C{docs/management.rst}).
    """

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
    defaultRids: tuple = ()
    """The reactions of an alert no match file knows (C{()}: those whose
    pipe is C{rid_2_send_to_alert_db})."""
    journalUrl: str | None = field(default=None, repr=False)
    """The reaction journal's database (C{None}: see L{journalDatabase})."""
    retryFirst: float = 1.0
    """Seconds before a failed reaction is tried again the first time."""
    retryMax: float = 300.0
    """The longest wait between two tries; the waits double up to it."""
    attempts: int = 0
    """Tries before a reaction is given up as failed (0: never)."""
    inFlight: int = 32
    """Reactions one agent runs at once."""
    batchSize: int = 2000
    """Alerts per flush of the BufferDaemon."""
    maxErr: int = 10
    """Failed flushes in a row before the BufferDaemon holds (MAXERR)."""
    requireAgents: bool = True
    """Whether a reaction agent whose module cannot be loaded stops the
    start (else its jobs wait in the journal, and the log says so)."""
    console: ConsoleSettings | None = None
    """C{[CONSOLE]}: the web console, or C{None} (no console)."""
    correlation: CorrelationStageSettings | None = None
    """C{[CORRELATION]}: the correlation stage, or C{None} (off)."""

    def matchFileFor(self, analyzerId):
        for analyzer in self.analyzers:
            if analyzer.analyzerId == analyzerId:
                return analyzer.matchFile
        return None

    def agentConfig(self, pipe):
        """
        The optional config file of the reaction agent of C{pipe}:
        C{<PIPE>.conf} beside this file, or C{None} when there is none.
        """
        path = os.path.join(os.path.dirname(os.path.abspath(self.path)), pipe + ".conf")
        return path if os.path.isfile(path) else None


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


# The reaction agents' own configs (C{<PIPE>.conf} beside the act_generic
# config); each is optional, so every field has its default here.

#: syslog's C{auth} facility: where the reaction writes alerts by default.
SYSLOG_AUTH = 4


@dataclass(frozen=True)
class SyslogReactionSettings:
    """
    C{rid_1_write_to_syslog.conf} (L{mice.reactors.syslog}): where and how
    each alert becomes one syslog line.
    """

    path: str | None = None
    target: str = "unix:/dev/log"
    """C{unix:PATH}, C{udp:HOST:PORT} or C{tcp:HOST:PORT}."""
    format: str = "rfc3164"
    facility: int = SYSLOG_AUTH
    severity: int | str = "idmef"
    """A fixed syslog severity (0 to 7), or C{"idmef"}: from each alert's IDMEF
    severity (L{mice.reactors.syslogformat.SEVERITY_OF})."""
    tag: str = "mice"
    framing: str = "octet-counting"
    """TCP only: RFC 6587 octet counting or a newline after each line."""
    maxLength: int = 2048
    """Bytes of one line, framing aside; longer fields are cut to fit."""
    hostname: str | None = None
    """The HOSTNAME field (C{None}: this host's name)."""


@dataclass(frozen=True)
class SaveToFileSettings:
    """
    C{rid_3_save_to_file.conf} (L{mice.reactors.savetofile}).
    """

    path: str | None = None
    file: str | None = None
    """The file the documents are appended to (C{None}: beside the FIFOs)."""
    mode: int = 0o640
    remember: int = 4096
    """How many recent alerts (keys and documents) are remembered to skip a repeat."""
    sync: bool = False
    """fsync after each document."""


@dataclass(frozen=True)
class FifoReactionSettings:
    """
    The config of an external reaction program's FIFO (L{mice.reactors.external}).
    """

    path: str | None = None
    fifo: str | None = None
    """The FIFO (C{None}: C{PIPE_PATH/PIPE})."""
    mode: int = 0o600
    maxHeld: int = 256
    """Documents held in memory waiting for the reader; more fail and are retried."""
    timeout: float = 30.0
    """Seconds without progress after which held documents fail (retried later)."""


class LoadedConfig(NamedTuple):
    """
    What L{loadConfig} returns.  C{shown} is for L{describe}.
    """

    kind: str
    settings: object
    warnings: tuple
    shown: tuple = ()
