"""
Tests for L{mice.config}: the seed's config files, the ones we ship, the
dialect's corners and every way a config can be wrong.
"""

import os
import re
import string

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice import config
from mice.config import (
    ALERT_IDS,
    KINDS,
    ConfigError,
    ConfigErrors,
    ConfigWarning,
    FunctionSettings,
    HostPort,
    PipelineSettings,
    ServerAddress,
    describe,
    detectKind,
    loadConfig,
    loadConfigText,
    loadDecoder,
    parseDatabaseUrl,
    parseIni,
)
from mice.config import schema as configSchema
from mice.testing import MINIMAL_BUFFERDAEMON, temporaryFile
from tests import ROOT

ETC = os.path.join(ROOT, "etc", "mice")
REPO = os.path.dirname(os.path.dirname(ETC))

# ---------------------------------------------------------------------------
# The seed's config files, as in the setup guide (PDF damage repaired: lost
# spaces and ligatures, the stray "Server" line after SQLPORT and the
# \texttt{BufferDaemon} in MMPATH).
# ---------------------------------------------------------------------------

SEED_DATAFORWARDER = """\
#
# This is the Config File for the Data-Forward Agent - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

[SQL_SERVER]
SQLIP = 172.16.0.10
SQLPORT = 3366
SQLPROTO= TCP

[ANALYSIS_SERVER]
ASIP = 172.16.0.10
ASPORT = 3367
ASPROTO = TCP

[SECURITY_AND_PRIVACY]
ENCRYPT = yes
PSEUDO = no
FILTER = yes
USER = datafwd
GROUP = mice
CHROOT = /var/datafwd/
ENCKEY = "changeme"
CRYPTMOD= "twofish"
DEVRANDOM= /dev/random

[LOGFILE_LIST]
FILE = /var/log/messages
#FILE = /var/log/xferlog
#FILE = /var/log/secure_server.log
#FILE = /var/log/ntp
#FILE = /var/log/faillog
#FILE = /var/log/http.access_log
#FILE = /var/log/http.error_log

[MODULES_SEARCH_PATH]
MODPATH = /usr/lib/

[MODULES]
MOD_FILTER = mice_mod_flt_regex
MOD_LOGFORMAT= mice_mod_fmt_simple
MOD_PSEUDONYM= mice_mod_psd_empty

[MODULES_CONFIG_FILE]
FILTERCONF = /etc/M-ICE/mice_mod_flt_regex.conf
LOGFORMATCONF= /etc/M-ICE/mice_mod_fmt_simple.conf
PSEUDONYMCONF= /etc/M-ICE/mice_mod_psd_empty.conf

[MISC]
SHMSIZE = 10240
SLEEPINV = 2
RECONNECT= 15
PIDPATH = /var/run/M-ICE/
#SYSLOGFAC= LOG_DAEMON
"""

SEED_REACTIONDAEMON = """\
#
# This is the Config File for the ReactionDaemon - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

[FUNCTION_ID]
FID = 0x000001
#FID = 0x000002
#FID = 0x000003
#FID = 0x000004
#FID = 0x0000FF

[REACTION_MODULES]
RCT_MOD= mice_mod_rct_system

[REACTION_MODULES_CONFIG_FILE]
RCT_FILE= /etc/M-ICE/mice_mod_rct_system.conf

[NETWORK]
IP = 0.0.0.0
PORT = 1977

[SECURITY]
PASSWORD= changeme
CRYPTMOD= twofish
CHROOT = /var/M-ICE/chroot/reactiondaemon/

[MISC]
PIDPATH = /var/run/M-ICE/
MODPATH = /lib/M-ICE/
BACKLOG = 16
"""

_SEED_BUFFERDAEMON = """\
#
# This is the Config File for the Buffer-Daemon - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

[ADDRESS]
BINDTO = 0.0.0.0

[PORT_NUMBER]
PORT = {port}

[MODULES_SEARCH_PATH]
MODPATH= /lib/M-ICE/

[{dec}_MODULES]
{d}_MOD= {decoder}

[{dec}_MODULES_CONFIG_FILE]
{d}_FILE= /etc/M-ICE/{decoder}.conf

[{post}_MODULES]
{p}_MOD= {postprocessor}

[{post}_MODULES_CONFIG_FILE]
{p}_FILE= /etc/M-ICE/{postprocessor}.conf

[TIME_INTERVALS]
TIMEINV= 2

[CACHE_AND_RINGBUFFER]
MMPATH= /var/M-ICE/cache.bufferdaemon
MMSIZE = 0
RBSIZE = 100

[SECURITY_AND_PRIVACY]
PSEUDO = no
USER = datafwd
GROUP = mice
CHROOT = /var/M-ICE/chroot/bufferdaemon/

[MISC]
PIDPATH = /var/run/M-ICE/{pid}/
BACKLOG = 16
"""

SEED_BUFFERDAEMON_RAWLOGDB = _SEED_BUFFERDAEMON.format(
    port=3366, dec="DECODING", d="DEC", post="POSTPROC", p="POST",
    decoder="mice_mod_dec_logformat_twofish", postprocessor="mice_mod_pop_mysql",
    pid="rawlogdb")

SEED_BUFFERDAEMON_AA = _SEED_BUFFERDAEMON.format(
    port=3366, dec="DECODING", d="DEC", post="POSTPROC", p="POST",
    decoder="mice_mod_dec_logformat_twofish", postprocessor="mice_mod_pop_aa_regex",
    pid="rawlogdb")

SEED_BUFFERDAEMON_MNGMTHOST = _SEED_BUFFERDAEMON.format(
    port=4455, dec="ENCODING", d="ENC", post="OUTPUT", p="OUT",
    decoder="mice_mod_enc_idmef_twofish", postprocessor="mice_mod_out_act_generic",
    pid="mngmthost")

SEED_POP_MYSQL = """\
#
# This is the Config File for the mice_mod_mysql - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

[MYSQL_SERVER]
HOSTNAME= 127.0.0.1
PORT = 3306
USER = micedb
PASSWORD= changeme2
DBNAME = mice_rawlog_tab
MAXERR = 10
"""

SEED_AA_REGEX = """\
#
# This is the Config File for the mice_mod_aa-regex - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

[HOST_INFO]
Management = 172.16.0.10:4455
Agent = 172.16.0.10:2266
Encryption = yes
MngmntKey = changeme1
AgentKey = changeme2

[IDMEF_INFO]
AlertID = 1
AlertIDFile = /var/log/M-ICE/mice_mod_aa_regex-alertid
DTDFile = /etc/M-ICE/idmef-message.dtd

# Authentication Messages
[AUTH]
AuSendTo = "M"
AuS_Rule = ".*session started for user.*"
AuS_Rule = ".*Accepted password.*"
AuF_Rule = ".*FAILED SU.*"
AuF_Rule = ".*Failed password.*"
AuF_Rule = ".*Failed rsa.*"
AuF_Rule = ".*ROOT LOGIN REFUSED FROM.*"

# root Actions
[ROOT]
RoSendTo = "N"
RoW_Rule = ""
RoR_Rule = ""
RoO_Rule = ""
RoS_Rule = ""
RoE_Rule = ""

# read(2)
[READ]
ReSendTo = "N"
ReS_Rule = ""
ReF_Rule = ""

# write(2)
[WRITE]
WrSendTo = "N"
WrS_Rule = ""
WrF_Rule = ""

# Monitor special UID/GID
[MONITORING]
MoSendTo = "N"
Mo_UID = ""
Mo_GID = ""

# Special Applications
[APPS]
ApSendTo = "M"
Ap_Name = ".*sshd.*"

# Exploit Patterns
[EXPLOIT]
ExSendTo= "M"
Ex_Rule = ".*crc32 compensation attack: network attack detected.*"
Ex_Rule = ".*GET /scripts/root.exe?/c+dir.*"
Ex_Rule = ".*RECV: 163129 bytes of data, 0 total lines.*"
Ex_Rule = ".*REMOTE TSI ?%.*"

# Firewall Patterns
[FIREWALL]
FwSendTo= "M"
FwD_Rule= ".*SuSE-FW-DROP.*"
FwR_Rule= ""
FwA_Rule= ".*SuSE-FW-ACCEPT.*"
FwI_Rule = ".*SuSE-FW-ILLEGAL.*"

# Socket Operations
#[SOCKET]
#SoSendTo= "N"
#SoS_Rule= "" # Success
#SoF_Rule= "" # Failure
#SoC_Rule= "" # Connect
#SoA_Rule= "" # Accept
#SoL_Rule = "" # Listen
#SoR_Rule= "" # RawSocket
#SoT_Rule= "" # TCP
#SoU_Rule= "" # UDP
#SoI_Rule = "" # ICMP

# Default
[DEFAULT]
DeSendTo= "N"

# EOF
"""

SEED_ACT_GENERIC = """\
#
# This is the Config File for the mice_mod_aa-regex - Part of M-ICE IDS
#
# Thomas Biege <thetom@uin4d.de>
#

# List of Reaktion IDs
[REACTION_ID]
RID = 1
RID = 2
RID = 3
RID = 4

# and associated named pipes
[RID_PIPENAME]
PIPE = rid_1_write_to_syslog
PIPE = rid_2_send_to_alert_db
PIPE = rid_3_save_to_file
PIPE = rid_4_countermeasure

# Every Analyzer must send an ID...
[ANALYZER_ID]
ANAID= "MICE-RegEx" # IDMEF Analyzer ID field

# ... to select the right file for matching Alert ID -> Reaction ID
[ANALYZER_MATCHFILE]
MF= match_file_aa_regex.txt

[IDMEF_INFO]
DTDFile = /etc/M-ICE/idmef-message.dtd

[MISC]
MOD_PATH = /lib/M-ICE
PIPE_PATH = /var/run/M-ICE
PID_PATH = /var/run/M-ICE
MATCH_PATH= /etc/M-ICE/matchfiles
USER = datafwd
GROUP = mice

# EOF
"""

_AIDS_1 = ("0x1010 0x1020 0x2010 0x2020 0x2030 0x2040 0x2050 0x3010 0x3020 0x4010 0x4020"
           " 0x5010 0x5020 0x6010 0x7010").split()
_AIDS_2 = _AIDS_1 + "0x8010 0x8020 0x8030 0x8040".split()

SEED_MATCH_FILE = """\
#
# First we have to describe the Alarm we detect.
# This depends on the Analysis Module
#

# AlertID from IDMEF Classification-->name
[ALERT_ID]
AID = 0x1010 # RT_AUTH_S
AID = 0x1020 # RT_AUTH_F

AID = 0x2010 # RT_ROOT_W
AID = 0x2020 # RT_ROOT_O
AID = 0x2030 # RT_ROOT_R
AID = 0x2040 # RT_ROOT_S
AID = 0x2050 # RT_ROOT_E

AID = 0x3010 # RT_READ_S
AID = 0x3020 # RT_READ_F

AID = 0x4010 # RT_WRITE_S
AID = 0x4020 # RT_WRITE_F

AID = 0x5010 # RT_MONI_U
AID = 0x5020 # RT_MONI_G

AID = 0x6010 # RT_APPS_N

AID = 0x7010 # RT_EXPL

AID = 0x8010 # RT_FW_D
AID = 0x8020 # RT_FW_R
AID = 0x8030 # RT_FW_A
AID = 0x8040 # RT_FW_I

# Description for AlertID
[ALERT_ID_DESCRIPTION]
AID_DESC= "Authentication Success"
AID_DESC= "Authentication Failure"
AID_DESC= "Superuser writes to File"
AID_DESC= "Superuser opens File"
AID_DESC= "Superuser reads from File"
AID_DESC= "Superuser does Operation on Socket"
AID_DESC= "Superuser executes Code"
AID_DESC= "Read Success"
AID_DESC= "Read Failure"
AID_DESC= "Write Success"
AID_DESC= "Write Failure"
AID_DESC= "Monitoring UserID"
AID_DESC= "Monitoring GroupID"
AID_DESC= "Monitoring Application"
AID_DESC= "Exploit Signature detected"
AID_DESC= "Firewall Rule: Drop"
AID_DESC= "Firewall Rule: Reject"
AID_DESC= "Firewall Rule: Accept"
AID_DESC= "Firewall Rule: Illegal"

#
# Which Reaction should be triggered by which Alert(s)?
#

# Write to Syslog
[RID_1]
""" + "".join(f"AID_1 = {aid}\n" for aid in _AIDS_1) + """
# Send to Alert DB
[RID_2]
""" + "".join(f"AID_2 = {aid}\n" for aid in _AIDS_2) + """
# Save to File
[RID_3]
""" + "".join(f"AID_3 = {aid}\n" for aid in _AIDS_1) + """
# Countermeasure
[RID_4]
AID_4 = 0x6010
AID_4 = 0x7010

# EMPTY
[RID_5]

# EMPTY
[RID_6]

# EMPTY
[RID_7]

# EMPTY
[RID_8]

# EMPTY
[RID_9]

# EMPTY
[RID_10]

# EOF
"""

SEEDS = {
    "dataforwarder.conf": (SEED_DATAFORWARDER, "dataforwarder"),
    "reactiondaemon.conf": (SEED_REACTIONDAEMON, "reactiondaemon"),
    "bufferdaemon-rawlogdb.conf": (SEED_BUFFERDAEMON_RAWLOGDB, "bufferdaemon"),
    "bufferdaemon-aa.conf": (SEED_BUFFERDAEMON_AA, "bufferdaemon"),
    "bufferdaemon-mngmthost.conf": (SEED_BUFFERDAEMON_MNGMTHOST, "bufferdaemon"),
    "mice_mod_pop_mysql.conf": (SEED_POP_MYSQL, "pop_mysql"),
    "mice_mod_pop_aa_regex.conf": (SEED_AA_REGEX, "aa_regex"),
    "mice_mod_pop_act_generic.conf": (SEED_ACT_GENERIC, "act_generic"),
    "match_file_aa_regex.txt": (SEED_MATCH_FILE, "matchfile"),
}


def lineOf(text, needle, start=1):
    """
    The 1-based number of the first line at or after C{start} holding C{needle}.
    """
    for number, line in enumerate(text.split("\n"), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


class _ConfigTestCase(SynchronousTestCase):

    def write(self, text, name="test.conf", data=None):
        return temporaryFile(self, text if data is None else data, name)

    def load(self, text, name="test.conf", **kw):
        return loadConfig(self.write(text, name), **kw)

    def assertConfigError(self, text, line, *fragments, name="test.conf", **kw):
        """
        Loading C{text} fails with exactly one error at C{line} whose message
        holds every one of C{fragments}.
        """
        path = self.write(text, name)
        error = self.assertRaises(ConfigError, loadConfig, path, **kw)
        if isinstance(error, ConfigErrors):
            self.fail(f"several errors:\n{error}")
        self.assertEqual((error.filename, error.line), (path, line), str(error))
        prefix = path if line is None else f"{path}:{line}"
        self.assertTrue(str(error).startswith(prefix + ": "), str(error))
        for fragment in fragments:
            self.assertIn(fragment, error.message)
        return error


# ---------------------------------------------------------------------------
# The seed's files load unchanged
# ---------------------------------------------------------------------------

class SeedConfigTests(_ConfigTestCase):

    def setUp(self):
        if os.path.exists("/etc/M-ICE"):
            raise self.skipTest("this machine has /etc/M-ICE, so nothing is missing")

    def test_allLoadAsTheirKind(self):
        for name, (text, kind) in SEEDS.items():
            loaded = self.load(text, name)
            self.assertEqual(loaded.kind, kind, name)
            self.assertEqual(detectKind(parseIni(text, name)), kind)

    def test_dataforwarder(self):
        loaded = self.load(SEED_DATAFORWARDER, "dataforwarder.conf")
        s = loaded.settings
        self.assertEqual(s.sqlServer, ServerAddress("172.16.0.10", 3366, "TCP"))
        self.assertEqual(s.analysisServer, ServerAddress("172.16.0.10", 3367, "TCP"))
        self.assertTrue(s.sqlServer.enabled)
        self.assertEqual(s.sqlServer.endpoint, "tcp:host=172.16.0.10:port=3366")
        self.assertEqual((s.encrypt, s.pseudo, s.filter), (True, False, True))
        self.assertEqual((s.user, s.group, s.chroot), ("datafwd", "mice", "/var/datafwd"))
        self.assertEqual((s.encKey, s.cryptMod, s.devRandom), ("changeme", "twofish",
                                                                "/dev/random"))
        self.assertEqual(s.files, ("/var/log/messages",))
        self.assertEqual(s.modulePaths, ("/usr/lib",))
        self.assertEqual((s.filterModule, s.logFormatModule, s.pseudonymModule),
                         ("mice_mod_flt_regex", "mice_mod_fmt_simple", "mice_mod_psd_empty"))
        self.assertEqual((s.filterConfig, s.logFormatConfig, s.pseudonymConfig),
                         ("/etc/M-ICE/mice_mod_flt_regex.conf",
                          "/etc/M-ICE/mice_mod_fmt_simple.conf",
                          "/etc/M-ICE/mice_mod_psd_empty.conf"))
        self.assertEqual((s.shmSize, s.sleepInterval, s.reconnect, s.pidPath),
                         (10240, 2.0, 15, "/var/run/M-ICE"))
        self.assertEqual((s.syslogFacility, s.syslog), (3, False))
        warned = {w.line for w in loaded.warnings}
        for key in ("CHROOT", "FILE =", "FILTERCONF", "LOGFORMATCONF", "PSEUDONYMCONF"):
            self.assertIn(lineOf(SEED_DATAFORWARDER, key), warned, key)

    def test_reactiondaemon(self):
        s = self.load(SEED_REACTIONDAEMON, "reactiondaemon.conf").settings
        self.assertEqual(s.functions, (FunctionSettings(
            0x000001, "mice_mod_rct_system", "/etc/M-ICE/mice_mod_rct_system.conf"),))
        self.assertEqual(s.function(1).module, "mice_mod_rct_system")
        self.assertIsNone(s.function(2))
        self.assertEqual((s.bindTo, s.port, s.listen), ("0.0.0.0", 1977, ()))
        self.assertEqual(s.endpoints, ("tcp:1977:interface=0.0.0.0:backlog=16",))
        self.assertEqual((s.password, s.cryptMod), ("changeme", "twofish"))
        self.assertEqual(s.chroot, "/var/M-ICE/chroot/reactiondaemon")
        self.assertEqual((s.pidPath, s.modulePaths, s.backlog),
                         ("/var/run/M-ICE", ("/lib/M-ICE",), 16))

    def test_bufferdaemonRawLogDatabase(self):
        s = self.load(SEED_BUFFERDAEMON_RAWLOGDB, "bufferdaemon-rawlogdb.conf").settings
        self.assertEqual(s.pipelines, (PipelineSettings(
            "mice_mod_dec_logformat_twofish",
            "/etc/M-ICE/mice_mod_dec_logformat_twofish.conf",
            "mice_mod_pop_mysql", "/etc/M-ICE/mice_mod_pop_mysql.conf"),))
        self.assertEqual((s.bindTo, s.port, s.listen, s.backlog), ("0.0.0.0", 3366, (), 16))
        self.assertEqual(s.endpoints, ("tcp:3366:interface=0.0.0.0:backlog=16",))
        self.assertEqual(s.modulePaths, ("/lib/M-ICE",))
        self.assertEqual(s.timeInterval, 2.0)
        self.assertEqual((s.mmPath, s.mmSize, s.rbSize, s.mmBytes),
                         ("/var/M-ICE/cache.bufferdaemon", 0, 100, 0))
        self.assertEqual(s.maxLine, 4194304)
        self.assertEqual((s.pseudo, s.user, s.group, s.chroot, s.pidPath),
                         (False, "datafwd", "mice", "/var/M-ICE/chroot/bufferdaemon",
                          "/var/run/M-ICE/rawlogdb"))

    def test_bufferdaemonAnalysisAgent(self):
        s = self.load(SEED_BUFFERDAEMON_AA, "bufferdaemon-aa.conf").settings
        self.assertEqual([(p.decoder, p.postprocessor) for p in s.pipelines],
                         [("mice_mod_dec_logformat_twofish", "mice_mod_pop_aa_regex")])
        self.assertEqual(s.pipelines[0].postprocessorConfig,
                         "/etc/M-ICE/mice_mod_pop_aa_regex.conf")

    def test_bufferdaemonManagementHostSynonyms(self):
        """
        ENCODING_MODULES/ENC_MOD and OUTPUT_MODULES/OUT_MOD are
        DECODING_MODULES/DEC_MOD and POSTPROC_MODULES/POST_MOD.
        """
        loaded = self.load(SEED_BUFFERDAEMON_MNGMTHOST, "bufferdaemon-mngmthost.conf")
        self.assertEqual(loaded.settings.pipelines, (PipelineSettings(
            "mice_mod_enc_idmef_twofish", "/etc/M-ICE/mice_mod_enc_idmef_twofish.conf",
            "mice_mod_out_act_generic", "/etc/M-ICE/mice_mod_out_act_generic.conf"),))
        self.assertEqual(loaded.settings.port, 4455)
        self.assertIn("DECODING_MODULES.DEC_MOD = mice_mod_enc_idmef_twofish",
                      describe(loaded))

    def test_popMysql(self):
        loaded = self.load(SEED_POP_MYSQL, "mice_mod_pop_mysql.conf")
        s = loaded.settings
        self.assertEqual((s.hostname, s.port, s.user, s.password, s.dbName, s.maxErr),
                         ("127.0.0.1", 3306, "micedb", "changeme2", "mice_rawlog_tab", 10))
        self.assertEqual((s.url, s.batchSize), (None, 5000))
        self.assertEqual(s.databaseUrl(), "mysql://micedb:changeme2@127.0.0.1:3306/mice_rawlog_tab")
        # The guide's database password, changeme2, is a well-known secret.
        self.assertEqual([(w.line, w.secret) for w in loaded.warnings],
                         [(lineOf(SEED_POP_MYSQL, "PASSWORD"), "PASSWORD")])

    def test_aaRegex(self):
        loaded = self.load(SEED_AA_REGEX, "mice_mod_pop_aa_regex.conf")
        s = loaded.settings
        self.assertEqual(s.management, HostPort("172.16.0.10", 4455))
        self.assertEqual(str(s.agent), "172.16.0.10:2266")
        self.assertEqual((s.encryption, s.mngmntKey, s.agentKey), (True, "changeme1", "changeme2"))
        self.assertEqual((s.alertId, s.alertIdFile, s.dtdFile),
                         (1, "/var/log/M-ICE/mice_mod_aa_regex-alertid",
                          "/etc/M-ICE/idmef-message.dtd"))
        self.assertEqual(s.analyzerId, "MICE-RegEx")
        auth = s.section("AUTH")
        self.assertEqual(auth.sendTo, "M")
        self.assertEqual([(r.key, r.alertId, r.patterns) for r in auth.rules], [
            ("AuS_Rule", 0x1010, (".*session started for user.*", ".*Accepted password.*")),
            ("AuF_Rule", 0x1020, (".*FAILED SU.*", ".*Failed password.*", ".*Failed rsa.*",
                                  ".*ROOT LOGIN REFUSED FROM.*"))])
        root = s.section("ROOT")
        self.assertEqual(root.sendTo, "N")
        self.assertEqual([(r.key, r.enabled) for r in root.rules],
                         [(k, False) for k in ("RoW_Rule", "RoO_Rule", "RoR_Rule", "RoS_Rule",
                                               "RoE_Rule")])
        self.assertEqual(s.section("EXPLOIT").rules[0].patterns[-1], ".*REMOTE TSI ?%.*")
        firewall = {r.key: r for r in s.section("FIREWALL").rules}
        self.assertFalse(firewall["FwR_Rule"].enabled)
        self.assertEqual(firewall["FwI_Rule"].patterns, (".*SuSE-FW-ILLEGAL.*",))
        self.assertEqual(s.section("SOCKET").sendTo, "N")
        self.assertEqual(s.defaultSendTo, "N")
        self.assertEqual([rule.alertId for _, rule in s.enabledRules],
                         [0x1010, 0x1020, 0x6010, 0x7010, 0x8010, 0x8030, 0x8040])
        # DTDFile: it does not exist here, and it is not used (issue 16);
        # the guide's keys changeme1 and changeme2 are well-known secrets.
        self.assertEqual([(w.line, w.secret) for w in loaded.warnings],
                         [(lineOf(SEED_AA_REGEX, "DTDFile"), None)] * 2
                         + [(lineOf(SEED_AA_REGEX, "MngmntKey"), "MngmntKey"),
                            (lineOf(SEED_AA_REGEX, "AgentKey"), "AgentKey")])
        self.assertIn("DTDFile is accepted for compatibility but not used",
                      loaded.warnings[1].message)

    def test_actGeneric(self):
        loaded = self.load(SEED_ACT_GENERIC, "mice_mod_pop_act_generic.conf")
        s = loaded.settings
        self.assertEqual([(r.rid, r.pipe, r.fifo) for r in s.reactions], [
            (1, "rid_1_write_to_syslog", "/var/run/M-ICE/rid_1_write_to_syslog"),
            (2, "rid_2_send_to_alert_db", "/var/run/M-ICE/rid_2_send_to_alert_db"),
            (3, "rid_3_save_to_file", "/var/run/M-ICE/rid_3_save_to_file"),
            (4, "rid_4_countermeasure", "/var/run/M-ICE/rid_4_countermeasure")])
        self.assertEqual([(a.analyzerId, a.matchFile) for a in s.analyzers],
                         [("MICE-RegEx", "/etc/M-ICE/matchfiles/match_file_aa_regex.txt")])
        self.assertEqual(s.matchFileFor("MICE-RegEx"),
                         "/etc/M-ICE/matchfiles/match_file_aa_regex.txt")
        self.assertEqual((s.modulePaths, s.pipePath, s.pidPath, s.matchPath, s.user, s.group),
                         (("/lib/M-ICE",), "/var/run/M-ICE", "/var/run/M-ICE",
                          "/etc/M-ICE/matchfiles", "datafwd", "mice"))
        self.assertEqual(sorted(w.line for w in loaded.warnings), sorted([
            lineOf(SEED_ACT_GENERIC, "DTDFile"), lineOf(SEED_ACT_GENERIC, "MOD_PATH"),
            lineOf(SEED_ACT_GENERIC, "MATCH_PATH"), lineOf(SEED_ACT_GENERIC, "MF=")]
            # Keys of the BufferDaemon's, not act_generic's (issue 16).
            + [lineOf(SEED_ACT_GENERIC, key) for key in ("MOD_PATH", "PID_PATH", "USER",
                                                         "GROUP")]))
        self.assertIn("whose USER applies", [w.message for w in loaded.warnings
                                             if w.line == lineOf(SEED_ACT_GENERIC, "USER")][0])

    def test_matchFile(self):
        loaded = self.load(SEED_MATCH_FILE, "match_file_aa_regex.txt")
        s = loaded.settings
        self.assertEqual(len(s.alerts), 19)
        self.assertEqual(s.alerts[0], (0x1010, "Authentication Success"))
        self.assertEqual(s.alerts[5], (0x2040, "Superuser does Operation on Socket"))
        self.assertEqual(s.alerts[-1], (0x8040, "Firewall Rule: Illegal"))
        self.assertEqual(list(s.reactions), list(range(1, 11)))
        self.assertEqual(s.reactions[1], tuple(int(a, 16) for a in _AIDS_1))
        self.assertEqual(s.reactions[2], tuple(int(a, 16) for a in _AIDS_2))
        self.assertEqual(s.reactions[4], (0x6010, 0x7010))
        self.assertEqual(s.reactions[10], ())
        self.assertEqual(s.reactionsFor(0x6010), (1, 2, 3, 4))
        self.assertEqual(s.reactionsFor(0x8010), (2,))
        self.assertEqual(s.reactionsFor(0x9999), ())
        self.assertEqual(s.descriptionFor(0x7010), "Exploit Signature detected")
        self.assertEqual(loaded.warnings, ())

    def test_alertIdsAreTheMatchFiles(self):
        """
        L{ALERT_IDS} is the seed's table, and the seed's match file describes
        exactly those alerts.
        """
        self.assertEqual(dict(ALERT_IDS), {
            "AuS_Rule": 0x1010, "AuF_Rule": 0x1020, "RoW_Rule": 0x2010, "RoO_Rule": 0x2020,
            "RoR_Rule": 0x2030, "RoS_Rule": 0x2040, "RoE_Rule": 0x2050, "ReS_Rule": 0x3010,
            "ReF_Rule": 0x3020, "WrS_Rule": 0x4010, "WrF_Rule": 0x4020, "Mo_UID": 0x5010,
            "Mo_GID": 0x5020, "Ap_Name": 0x6010, "Ex_Rule": 0x7010, "FwD_Rule": 0x8010,
            "FwR_Rule": 0x8020, "FwA_Rule": 0x8030, "FwI_Rule": 0x8040})
        matchFile = self.load(SEED_MATCH_FILE, "match_file_aa_regex.txt").settings
        self.assertEqual(sorted(ALERT_IDS.values()), sorted(aid for aid, _ in matchFile.alerts))

    def test_missingPathsAreWarnings(self):
        loaded = self.load(SEED_BUFFERDAEMON_RAWLOGDB, "bufferdaemon-rawlogdb.conf")
        self.assertEqual([(w.line, w.message.split(":")[0]) for w in loaded.warnings], [
            (lineOf(SEED_BUFFERDAEMON_RAWLOGDB, "MODPATH"), "MODPATH"),
            (lineOf(SEED_BUFFERDAEMON_RAWLOGDB, "DEC_FILE"), "DEC_FILE"),
            (lineOf(SEED_BUFFERDAEMON_RAWLOGDB, "POST_FILE"), "POST_FILE"),
            (lineOf(SEED_BUFFERDAEMON_RAWLOGDB, "CHROOT"), "CHROOT")])
        warning = loaded.warnings[1]
        self.assertIsInstance(warning, ConfigWarning)
        self.assertEqual(str(warning), f"{warning.filename}:{warning.line}: warning: DEC_FILE:"
                                       " /etc/M-ICE/mice_mod_dec_logformat_twofish.conf does"
                                       " not exist")

    def test_logFileInMissingDirectory(self):
        """
        A log file whose directory does not exist says so, naming it.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        loaded = loadConfigText("[SQL_SERVER]\nSQLIP = 127.0.0.1\nSQLPORT = 3366\n"
                                "[LOGFILE_LIST]\nFILE = httpd/access_log\nFILE = messages\n",
                                os.path.join(directory, "dataforwarder.conf"))
        self.assertEqual([str(w) for w in loaded.warnings], [
            f"{directory}/dataforwarder.conf:5: warning: FILE: {directory}/httpd/access_log"
            f" does not exist: its directory {directory}/httpd does not exist either",
            f"{directory}/dataforwarder.conf:6: warning: FILE: {directory}/messages does not"
            " exist"])

    def test_strictMakesMissingFilesErrors(self):
        """
        With C{strict}, every missing file is an error at its line; module
        search paths, log files and what the daemon makes itself stay
        warnings.
        """
        expected = {
            "dataforwarder.conf": ("CHROOT", "FILTERCONF", "LOGFORMATCONF", "PSEUDONYMCONF"),
            "reactiondaemon.conf": ("RCT_FILE", "CHROOT"),
            "bufferdaemon-rawlogdb.conf": ("DEC_FILE", "POST_FILE", "CHROOT"),
            "bufferdaemon-aa.conf": ("DEC_FILE", "POST_FILE", "CHROOT"),
            "bufferdaemon-mngmthost.conf": ("ENC_FILE", "OUT_FILE", "CHROOT"),
            "mice_mod_pop_aa_regex.conf": ("DTDFile",),
            "mice_mod_pop_act_generic.conf": ("DTDFile", "MATCH_PATH", "MF"),
        }
        for name, keys in expected.items():
            text = SEEDS[name][0]
            path = self.write(text, name)
            error = self.assertRaises(ConfigError, loadConfig, path, strict=True)
            errors = error.errors if isinstance(error, ConfigErrors) else [error]
            self.assertEqual(sorted(e.line for e in errors),
                             sorted(lineOf(text, key) for key in keys), name)
            for e in errors:
                self.assertIn("does not exist", e.message)
        for name in ("mice_mod_pop_mysql.conf", "match_file_aa_regex.txt"):
            loadConfig(self.write(SEEDS[name][0], name), strict=True)

    def test_strictKeepsSearchPathsWarnings(self):
        text = SEED_BUFFERDAEMON_RAWLOGDB.replace("/etc/M-ICE/", "").replace(
            "CHROOT", "#CHROOT")
        directory = os.path.dirname(self.write(text, "bufferdaemon-rawlogdb.conf"))
        for name in ("mice_mod_dec_logformat_twofish.conf", "mice_mod_pop_mysql.conf"):
            open(os.path.join(directory, name), "w").close()
        loaded = loadConfig(os.path.join(directory, "bufferdaemon-rawlogdb.conf"), strict=True)
        self.assertEqual([w.message for w in loaded.warnings],
                         ["MODPATH: /lib/M-ICE does not exist"])


# ---------------------------------------------------------------------------
# The files we ship
# ---------------------------------------------------------------------------

SHIPPED = {
    "dataforwarder.conf": "dataforwarder",
    "reactiondaemon.conf": "reactiondaemon",
    "bufferdaemon-rawlogdb.conf": "bufferdaemon",
    "bufferdaemon-aa.conf": "bufferdaemon",
    "bufferdaemon-mngmthost.conf": "bufferdaemon",
    "bufferdaemon-aa-logids.conf": "bufferdaemon",
    "mice_mod_pop_aa_rules.conf": "aa_rules",
    "bufferdaemon-alertdb.conf": "bufferdaemon",
    "mice_mod_pop_alertdb.conf": "pop_mysql",
    "mice_mod_dec_logformat_twofish.conf": "decoder",
    "mice_mod_dec_idmef_twofish.conf": "decoder",
    "mice_mod_pop_mysql.conf": "pop_mysql",
    "mice_mod_pop_syslog.conf": "pop_syslog",
    "mice_mod_pop_aa_regex.conf": "aa_regex",
    "mice_mod_pop_act_generic.conf": "act_generic",
    os.path.join("matchfiles", "match_file_aa_regex.txt"): "matchfile",
    "mice_mod_rct_system.conf": "rct_system",
    "mice_mod_rct_dummy.conf": "rct_system",
    "rid_4_countermeasure.conf": "countermeasure",
    "rid_2_send_to_alert_db.conf": "pop_mysql",
    "bufferdaemon-aa-next.conf": "bufferdaemon",
    "mice_mod_pop_aa_regex-next.conf": "aa_regex",
    "dataforwarder-broker.conf": "dataforwarder",
    "bufferdaemon-rawlogdb-broker.conf": "bufferdaemon",
    "bufferdaemon-aa-broker.conf": "bufferdaemon",
    "bufferdaemon-mngmthost-broker.conf": "bufferdaemon",
    "mice_mod_pop_aa_regex-broker.conf": "aa_regex",
}

# Config files of other components' modules that etc/mice/ names; until they
# are shipped, a warning about them is expected.
OTHER_COMPONENTS = set()
#: The programs the shipped ReactionDaemon modules run (ipset, iptables):
#: client tools a test machine need not have.
COMMAND_KEYS = ("ARGV", "UNDO", "ARGV6", "UNDO6")


class ShippedConfigTests(_ConfigTestCase):

    def loadShipped(self, name):
        return loadConfig(os.path.join(ETC, name))

    def test_loadCleanly(self):
        """
        Every file in etc/mice/ loads as its kind with no warning but for the
        run-time directory var/ (the sample log is made there) and module
        configs that other components ship.
        """
        for name, kind in SHIPPED.items():
            loaded = self.loadShipped(name)
            self.assertEqual(loaded.kind, kind, name)
            for warning in loaded.warnings:
                if warning.message.split(" ", 1)[1].startswith("is a well-known default secret"):
                    continue  # the seed's "changeme", kept so the files work as shipped
                if warning.message.split(":", 1)[0] in COMMAND_KEYS:
                    continue
                if " is accepted for compatibility but not used by this version (" in \
                        warning.message:
                    continue  # the seed's keys we do not use (DEVRANDOM, DTDFile)
                path = warning.message.split(": ", 1)[1].rsplit(" does not exist", 1)[0]
                allowed = (path.startswith(os.path.join(REPO, "var") + os.sep)
                           or (os.path.dirname(path) == ETC
                               and os.path.basename(path) in OTHER_COMPONENTS))
                self.assertTrue(allowed, str(warning))

    def test_sameFromAnyDirectory(self):
        """
        Paths resolve against the config file's directory, not the current one.
        """
        here = os.getcwd()
        self.addCleanup(os.chdir, here)
        elsewhere = self.mktemp()
        os.makedirs(elsewhere)
        os.chdir(elsewhere)
        settings = loadConfig(os.path.join(ETC, "bufferdaemon-rawlogdb.conf")).settings
        self.assertEqual(settings.pipelines[0].postprocessorConfig,
                         os.path.join(ETC, "mice_mod_pop_mysql.conf"))
        self.assertEqual(settings.mmPath, os.path.join(REPO, "var",
                                                       "cache.bufferdaemon-rawlogdb"))

    def test_nextAgentWhereTheAgentSends(self):
        """
        The next agent listens where the agent's Agent address points, with
        the key of its AgentKey; it relays to the ManagementHost with the
        key of the ManagementHost's decoder; its AlertIDFile is its own.
        """
        agent = self.loadShipped("mice_mod_pop_aa_regex.conf").settings
        nextDaemon = self.loadShipped("bufferdaemon-aa-next.conf").settings
        nextAgent = self.loadShipped("mice_mod_pop_aa_regex-next.conf").settings
        mngmthost = self.loadShipped("bufferdaemon-mngmthost.conf").settings
        self.assertEqual(agent.agent, HostPort("127.0.0.1", nextDaemon.port))
        [pipeline] = nextDaemon.pipelines
        self.assertEqual(config.loadDecoder(pipeline.decoderConfig).encKey, agent.agentKey)
        self.assertEqual(nextAgent.management, HostPort("127.0.0.1", mngmthost.port))
        self.assertEqual(nextAgent.mngmntKey,
                         config.loadDecoder(mngmthost.pipelines[0].decoderConfig).encKey)
        self.assertNotEqual(nextAgent.alertIdFile, agent.alertIdFile)

    def test_loopbackAndPortsFitTogether(self):
        forwarder = self.loadShipped("dataforwarder.conf").settings
        rawlogdb = self.loadShipped("bufferdaemon-rawlogdb.conf").settings
        aa = self.loadShipped("bufferdaemon-aa.conf").settings
        mngmthost = self.loadShipped("bufferdaemon-mngmthost.conf").settings
        regex = self.loadShipped("mice_mod_pop_aa_regex.conf").settings
        reaction = self.loadShipped("reactiondaemon.conf").settings
        self.assertEqual((rawlogdb.port, aa.port, mngmthost.port), (3366, 3367, 4455))
        self.assertEqual(forwarder.sqlServer, ServerAddress("127.0.0.1", 3366))
        self.assertEqual(forwarder.analysisServer, ServerAddress("127.0.0.1", 3367))
        self.assertEqual(regex.management, HostPort("127.0.0.1", mngmthost.port))
        for daemon in (rawlogdb, aa, mngmthost, reaction):
            self.assertEqual(daemon.bindTo, "127.0.0.1")

    def test_modulesConfigsAreShipped(self):
        """
        Each BufferDaemon's module configs exist and are the right kind.
        """
        expected = {"bufferdaemon-rawlogdb.conf": "pop_mysql",
                    "bufferdaemon-aa.conf": "aa_regex",
                    "bufferdaemon-mngmthost.conf": "act_generic"}
        for name, kind in expected.items():
            (pipeline,) = self.loadShipped(name).settings.pipelines
            self.assertEqual(loadConfig(pipeline.decoderConfig).kind, "decoder")
            self.assertEqual(loadConfig(pipeline.postprocessorConfig).kind, kind)
        generic = self.loadShipped("mice_mod_pop_act_generic.conf").settings
        self.assertEqual(generic.matchFileFor("MICE-RegEx"),
                         os.path.join(ETC, "matchfiles", "match_file_aa_regex.txt"))

    def test_sqliteByDefault(self):
        settings = self.loadShipped("mice_mod_pop_mysql.conf").settings
        self.assertEqual(settings.databaseUrl(),
                         "sqlite:///" + os.path.join(REPO, "var", "rawlog.db"))
        self.assertEqual((settings.hostname, settings.user, settings.dbName),
                         ("127.0.0.1", "micedb", "mice_rawlog_tab"))

    def test_decoderEncrypted(self):
        """
        The shipped decoding modules take the DataForwarder's encrypted link
        (the seed's passphrase, warned about).
        """
        forwarder = config.loadDataForwarder(os.path.join(ETC, "dataforwarder.conf"))
        for name in ("mice_mod_dec_logformat_twofish.conf", "mice_mod_dec_idmef_twofish.conf"):
            settings = config.loadDecoder(os.path.join(ETC, name))
            self.assertEqual((settings.encrypt, settings.encKey, settings.tls),
                             (True, forwarder.encKey, None))
            self.assertEqual(settings.maxRecord, 65536)


# ---------------------------------------------------------------------------
# The dialect
# ---------------------------------------------------------------------------

class ParseIniTests(_ConfigTestCase):

    def test_sectionsAndRepeatedKeysInOrder(self):
        ini = parseIni("# c\n[A]\nFILE = /a\nFILE = /b\n\n[B]\nK = 1\n", "f")
        self.assertEqual([(s.name, s.line) for s in ini.sections], [("A", 2), ("B", 6)])
        self.assertEqual(ini.sections[0].entries, (
            config.Entry("FILE", "/a", 3, False), config.Entry("FILE", "/b", 4, False)))
        self.assertIs(ini.section("b"), ini.sections[1])
        self.assertIsNone(ini.section("C"))

    def value(self, line):
        (entry,) = parseIni("[S]\n" + line + "\n", "f").sections[0].entries
        return entry.value, entry.quoted

    def test_spacingAroundEquals(self):
        for line in ("KEY = value", "KEY= value", "KEY =value", "KEY=value", "  KEY\t=\tvalue  "):
            self.assertEqual(self.value(line), ("value", False), line)

    def test_trailingComments(self):
        for line, value in (
            ("AID = 0x1010 # RT_AUTH_S", "0x1010"),
            ("K = a#b", "a#b"),
            ("K = a\t#b", "a"),
            ("K = # nothing", ""),
            ("K =", ""),
        ):
            self.assertEqual(self.value(line), (value, False), line)

    def test_quoted(self):
        for line, value in (
            ('ANAID= "MICE-RegEx" # IDMEFAnalyzer ID field', "MICE-RegEx"),
            ('K = ""', ""),
            ("K = ''", ""),
            ("K = 'a \"b\"'  ", 'a "b"'),
            ('K = "  spaced  "', "  spaced  "),
            ('K = "a"#c', "a"),
        ):
            self.assertEqual(self.value(line), (value, True), line)

    def test_quotesAndHashesInsideQuotes(self):
        self.assertEqual(self.value('R = ".*user "root" # x.*" # comment'),
                         ('.*user "root" # x.*', True))
        self.assertEqual(self.value('R = "#.*"'), ("#.*", True))

    def test_backslashesAreLiteral(self):
        self.assertEqual(self.value(r'R = ".*REMOTE TSI ?%.*\d+\.\\"'),
                         (r".*REMOTE TSI ?%.*\d+\.\\", True))
        self.assertEqual(self.value(r"R = \d+\s"), (r"\d+\s", False))

    def test_commentsBlankLinesAndLineEndings(self):
        ini = parseIni("\ufeff# one\r\n; two\r\n\r\n[S]\r\n  # three\r\nK = v\r\n", "f")
        self.assertEqual(ini.sections[0].entries, (config.Entry("K", "v", 6, False),))

    def test_keepsSpelling(self):
        ini = parseIni("[host_info]\nMngmntKey = x\n", "f")
        self.assertEqual((ini.sections[0].name, ini.sections[0].entries[0].key),
                         ("host_info", "MngmntKey"))

    def assertParseError(self, text, line, fragment):
        error = self.assertRaises(ConfigError, parseIni, text, "f.conf")
        self.assertEqual((error.filename, error.line), ("f.conf", line))
        self.assertIn(fragment, error.message)
        self.assertEqual(str(error), f"f.conf:{line}: {error.message}")

    def test_keyOutsideSection(self):
        self.assertParseError("# c\nKEY = v\n[S]\n", 2, "outside any section")

    def test_lineWithoutEquals(self):
        self.assertParseError("[S]\nSQLPORT = 3366\nServer\n", 3,
                              "expected [SECTION] or KEY = value, got 'Server'")

    def test_unterminatedQuote(self):
        self.assertParseError('[S]\nR = ".*\n', 2, "unterminated quote")
        self.assertParseError('[S]\nR = ".*" x\n', 2, "unterminated quote")

    def test_malformedHeader(self):
        self.assertParseError("[S\n", 1, "malformed section header")
        self.assertParseError("[]\n", 1, "malformed section header")

    def test_badKey(self):
        self.assertParseError("[S]\nSQL PORT = 1\n", 2, "bad key 'SQL PORT'")

    def test_allBadLines(self):
        error = self.assertRaises(ConfigErrors, parseIni, "A = 1\n[S]\nx\nK = 'v\n", "f")
        self.assertEqual([e.line for e in error.errors], [1, 3, 4])
        self.assertEqual(str(error).split("\n"), [str(e) for e in error.errors])


# ---------------------------------------------------------------------------
# Broken configs: file:line and what is wrong
# ---------------------------------------------------------------------------


MINIMAL_REACTIONDAEMON = """\
[FUNCTION_ID]
FID = 0x000001
[REACTION_MODULES]
RCT_MOD = mice_mod_rct_system
[NETWORK]
IP = 127.0.0.1
PORT = 1977
[SECURITY]
PASSWORD = sesame
"""

#: Configs with one bad line: what is wrong, the text, the line, and
#: fragments of what the error says.
ONE_BAD_LINE = (
    ("an unknown section",
     MINIMAL_BUFFERDAEMON + "[TIME_INTERVAL]\nTIMEINV = 3\n", 11,
     "unknown section [TIME_INTERVAL]", "did you mean [TIME_INTERVALS]?",
     "known sections: ADDRESS, PORT_NUMBER"),
    ("a bad integer",
     MINIMAL_BUFFERDAEMON.replace("PORT = 3366", "PORT = 33a6"), 4,
     "PORT: expected an integer (decimal or 0x hex), got '33a6'"),
    ("a port out of range",
     MINIMAL_BUFFERDAEMON.replace("3366", "70000"), 4, "PORT: must be at most 65535"),
    ("a bad hexadecimal number",
     MINIMAL_REACTIONDAEMON.replace("0x000001", "0x00G001"), 2,
     "FID: expected a hexadecimal number after 0x, got '0x00G001'"),
    ("neither yes nor no",
     MINIMAL_BUFFERDAEMON + "[SECURITY_AND_PRIVACY]\nPSEUDO = maybe\n", 12,
     "PSEUDO: expected yes or no, got 'maybe'"),
    ("seconds that are not positive",
     MINIMAL_BUFFERDAEMON.replace("TIMEINV = 2", "TIMEINV = 0"), 10,
     "TIMEINV: expected a positive number of seconds"),
    ("an unterminated quote",
     MINIMAL_REACTIONDAEMON.replace("sesame", '"sesame'), 9, "PASSWORD: unterminated quote"),
    ("a key before any section",
     "BINDTO = 127.0.0.1\n" + MINIMAL_BUFFERDAEMON, 1, "BINDTO is outside any section"),
    ("a line without =",
     MINIMAL_BUFFERDAEMON.replace("PORT = 3366", "PORT = 3366\nServer"), 5,
     "expected [SECTION] or KEY = value, got 'Server'"),
)


class BrokenConfigTests(_ConfigTestCase):

    def test_unknownKey(self):
        error = self.assertConfigError(MINIMAL_BUFFERDAEMON + "[MISC]\nBACKLOGG = 5\n", 12,
                                       "unknown key BACKLOGG in [MISC]",
                                       "did you mean BACKLOG?", "PIDPATH, BACKLOG, MAXLINE")
        self.assertIn("known keys", error.message)

    def test_oneBadLine(self):
        """
        Each config of L{ONE_BAD_LINE} fails with one error, at its line,
        saying what is wrong.
        """
        for what, text, line, *fragments in ONE_BAD_LINE:
            with self.subTest(what):
                self.assertConfigError(text, line, *fragments)

    def test_decoderPostprocessorCounts(self):
        text = MINIMAL_BUFFERDAEMON.replace(
            "DEC_MOD = mice_mod_dec_logformat", "DEC_MOD = a\nDEC_MOD = b")
        self.assertConfigError(text, 7, "DEC_MOD has no POST_MOD partner", "2 DEC_MOD but 1"
                               " POST_MOD")

    def test_tooManyConfigFiles(self):
        text = MINIMAL_BUFFERDAEMON + ("[DECODING_MODULES_CONFIG_FILE]\nDEC_FILE = a\n"
                                       "DEC_FILE = b\n")
        path = self.write(text)
        open(os.path.join(os.path.dirname(path), "a"), "w").close()
        open(os.path.join(os.path.dirname(path), "b"), "w").close()
        error = self.assertRaises(ConfigError, loadConfig, path)
        self.assertEqual(error.line, 13)
        self.assertIn("DEC_FILE has no DEC_MOD partner", error.message)

    def test_functionModuleCounts(self):
        text = MINIMAL_REACTIONDAEMON.replace("FID = 0x000001", "FID = 0x000001\nFID = 0x2")
        self.assertConfigError(text, 3, "FID has no RCT_MOD partner: 2 FID but 1 RCT_MOD")
        text = MINIMAL_REACTIONDAEMON.replace("RCT_MOD = mice_mod_rct_system",
                                              "RCT_MOD = a\nRCT_MOD = b")
        self.assertConfigError(text, 5, "RCT_MOD has no FID partner")

    def test_duplicateFid(self):
        text = MINIMAL_REACTIONDAEMON.replace(
            "FID = 0x000001", "FID = 0x000001\nFID = 1").replace("RCT_MOD = mice_mod_rct_system",
                                                                 "RCT_MOD = a\nRCT_MOD = b")
        self.assertConfigError(text, 3, "FID 0x000001 given twice (first at line 2)")

    def test_badSendTo(self):
        text = SEED_AA_REGEX.replace('AuSendTo = "M"', 'AuSendTo = "X"')
        self.assertConfigError(text, lineOf(text, "AuSendTo"), "AuSendTo: expected M",
                               "got 'X'", name="aa.conf")

    def test_sendToNeedsAnAddress(self):
        text = SEED_AA_REGEX.replace("Agent = 172.16.0.10:2266\n", "").replace(
            'ApSendTo = "M"', 'ApSendTo = "B"')
        self.assertConfigError(text, lineOf(text, "ApSendTo"),
                               "ApSendTo sends to the next analysis agent, but [HOST_INFO]"
                               " has no Agent")

    def test_badRegex(self):
        text = SEED_AA_REGEX.replace('".*Failed rsa.*"', '".*Failed (rsa.*"')
        error = self.assertConfigError(text, lineOf(text, "Failed (rsa"),
                                       "AuF_Rule: bad regular expression '.*Failed (rsa.*'",
                                       name="aa.conf")
        self.assertIn("missing ), unterminated subpattern", error.message)

    def test_noBuffer(self):
        text = MINIMAL_BUFFERDAEMON + "[CACHE_AND_RINGBUFFER]\nMMSIZE = 0\nRBSIZE = 0\n"
        self.assertConfigError(text, 13, "MMSIZE and RBSIZE are both 0")

    def test_negativeBuffer(self):
        text = MINIMAL_BUFFERDAEMON + "[CACHE_AND_RINGBUFFER]\nRBSIZE = -5\n"
        self.assertConfigError(text, 12, "RBSIZE: must not be negative, got -5")

    def test_mmapNeedsPath(self):
        text = MINIMAL_BUFFERDAEMON + "[CACHE_AND_RINGBUFFER]\nMMSIZE = 10\n"
        self.assertConfigError(text, 12, "MMSIZE = 10 needs MMPATH")

    def test_missingRequiredKey(self):
        text = MINIMAL_BUFFERDAEMON.replace("TIMEINV = 2\n", "")
        self.assertConfigError(text, 9, "[TIME_INTERVALS] is missing required key TIMEINV")
        text = MINIMAL_BUFFERDAEMON.replace("[TIME_INTERVALS]\nTIMEINV = 2\n", "")
        self.assertConfigError(text, None, "missing section [TIME_INTERVALS] with required key"
                               " TIMEINV")
        text = MINIMAL_BUFFERDAEMON.replace("PORT = 3366\n", "")
        self.assertConfigError(text, 3, "[PORT_NUMBER] needs PORT (or give LISTEN")

    def test_keyGivenTwice(self):
        text = MINIMAL_BUFFERDAEMON.replace("PORT = 3366", "PORT = 3366\nport = 3367")
        self.assertConfigError(text, 5, "port given twice in [PORT_NUMBER] (first at line 4)")

    def test_duplicateSection(self):
        text = MINIMAL_BUFFERDAEMON + "[ENCODING_MODULES]\nENC_MOD = x\n"
        self.assertConfigError(text, 11, "duplicate section [ENCODING_MODULES] (first at line 5)")

    def test_manyErrorsAtOnce(self):
        text = ("[ADDRESS]\nBINDTO = everywhere\n[PORT_NUMBER]\nPORT = x\n"
                "[DECODING_MODULES]\nDEC_MOD = d\nnonsense\n[POSTPROC_MODULES]\nPOST_MOD = p\n"
                "[TIME_INTERVALS]\nTIMEINV = soon\n[NOPE]\n")
        path = self.write(text)
        error = self.assertRaises(ConfigErrors, loadConfig, path)
        self.assertEqual([e.line for e in error.errors], [2, 4, 7, 11, 12])
        self.assertEqual(str(error).split("\n"), [
            f"{path}:2: BINDTO: expected an IP address to listen on (0.0.0.0 for every"
            " interface), got 'everywhere'",
            f"{path}:4: PORT: expected an integer (decimal or 0x hex), got 'x'",
            f"{path}:7: expected [SECTION] or KEY = value, got 'nonsense'",
            f"{path}:11: TIMEINV: expected a number of seconds, got 'soon'",
            f"{path}:12: unknown section [NOPE] in a BufferDaemon config; known sections:"
            " ADDRESS, PORT_NUMBER, MODULES_SEARCH_PATH, DECODING_MODULES,"
            " DECODING_MODULES_CONFIG_FILE, POSTPROC_MODULES, POSTPROC_MODULES_CONFIG_FILE,"
            " TIME_INTERVALS, CACHE_AND_RINGBUFFER, SECURITY_AND_PRIVACY, MISC, LIMITS, METRICS,"
            " BROKER"])

    def test_badLineDoesNotAlsoReportItsKeyMissing(self):
        text = MINIMAL_BUFFERDAEMON.replace("TIMEINV = 2", "TIMEINV 2")
        self.assertConfigError(text, 10, "got 'TIMEINV 2'")

    def test_unreadable(self):
        path = os.path.join(self.mktemp(), "missing.conf")
        error = self.assertRaises(ConfigError, loadConfig, path)
        self.assertEqual((error.filename, error.line), (path, None))
        self.assertIn("cannot read the config file", str(error))

    def test_notUtf8(self):
        path = self.write("", data=b"[ADDRESS]\nBINDTO = 127.0.0.1 # caf\xe9\n")
        error = self.assertRaises(ConfigError, loadConfig, path)
        self.assertEqual(error.line, 2)
        self.assertIn("not valid UTF-8 (byte 0xe9 at column 25)", error.message)

    def test_unknownKind(self):
        self.assertConfigError("[FOO]\nA = 1\n[BAR]\n", None,
                               "cannot tell what kind of M-ICE config this is (sections:"
                               " [FOO], [BAR])")
        self.assertConfigError("# nothing\n", None, "(sections: none)")

    def test_wrongKind(self):
        path = self.write(SEED_POP_MYSQL)
        error = self.assertRaises(ConfigError, config.loadBufferDaemon, path)
        self.assertIn("this is a mice_mod_pop_mysql config (pop_mysql), not a BufferDaemon"
                      " config (bufferdaemon)", error.message)

    def test_unknownCryptoModule(self):
        self.assertConfigError(MINIMAL_REACTIONDAEMON + "CRYPTMOD = rot13\n", 10,
                               "unknown crypto module 'rot13'; supported: aes-256-gcm,"
                               " chacha20-poly1305, twofish")

    def test_encryptNeedsKey(self):
        self.assertConfigError("[DECODER]\nENCRYPT = yes\n", 2, "ENCRYPT = yes needs ENCKEY")

    def test_matchFileNumbers(self):
        text = "[ALERT_ID]\nAID = 0x1010\n[ALERT_ID_DESCRIPTION]\nAID_DESC = x\n[RID_1]\n"
        self.assertConfigError(text + "AID_2 = 0x1010\n", 6,
                               "AID_2 in [RID_1]: the number must be the section's, i.e. AID_1")
        self.assertConfigError(text + "[RID_0]\n", 6, "unknown section [RID_0]", "RID_n")
        self.assertConfigError(text.replace("AID_DESC = x\n", ""), 2,
                               "AID has no AID_DESC partner")
        loaded = self.load(text + "AID_1 = 0x2010\n")
        self.assertEqual([(w.line, w.message) for w in loaded.warnings],
                         [(6, "AID_1 = 0x2010 is not in [ALERT_ID]")])

    def test_actGenericCounts(self):
        text = SEED_ACT_GENERIC.replace("PIPE = rid_4_countermeasure\n", "")
        self.assertConfigError(text, lineOf(text, "RID = 4"), "RID has no PIPE partner",
                               name="g.conf")
        text = SEED_ACT_GENERIC.replace('ANAID= "MICE-RegEx"', 'ANAID= "A"\nANAID = B')
        self.assertConfigError(text, lineOf(text, "ANAID = B"), "ANAID has no MF partner",
                               name="g.conf")

    def test_hostPort(self):
        for value, fragment in (("172.16.0.10", "expected HOST:PORT"),
                                ("::1:4455", "IPv6 addresses need brackets"),
                                ("[fe80::zz]:4455", "expected an IPv6 address"),
                                ("host:0", "port must be 1 to 65535"),
                                ("bad host:1", "expected a host name")):
            text = SEED_AA_REGEX.replace("172.16.0.10:4455", value)
            self.assertConfigError(text, lineOf(text, "Management"), "Management: " + fragment,
                                   name="aa.conf")


# ---------------------------------------------------------------------------
# Values, defaults and the new keys
# ---------------------------------------------------------------------------

class ValueTests(_ConfigTestCase):

    def test_bools(self):
        for word, value in (("yes", True), ("No", False), ("TRUE", True), ("false", False),
                            ("on", True), ("Off", False), ("1", True), ("0", False)):
            text = MINIMAL_BUFFERDAEMON + f"[SECURITY_AND_PRIVACY]\nPSEUDO = {word}\n"
            self.assertEqual(self.load(text).settings.pseudo, value, word)

    def test_caseInsensitiveNames(self):
        text = MINIMAL_BUFFERDAEMON.lower().replace("mice_mod", "MICE_MOD")
        settings = self.load(text).settings
        self.assertEqual((settings.bindTo, settings.port), ("127.0.0.1", 3366))
        self.assertEqual(settings.pipelines[0].decoder, "MICE_MOD_dec_logformat")

    def test_defaults(self):
        s = self.load(MINIMAL_BUFFERDAEMON).settings
        self.assertEqual((s.backlog, s.maxLine, s.mmSize, s.rbSize, s.mmBytes, s.mmPath),
                         (50, 4194304, 0, 100, 0, None))
        self.assertEqual((s.pseudo, s.user, s.group, s.chroot, s.pidPath, s.modulePaths),
                         (False, None, None, None, None, ()))
        self.assertEqual(s.pipelines, (PipelineSettings("mice_mod_dec_logformat", None,
                                                        "mice_mod_pop_mysql", None),))

    def test_mmapBytes(self):
        text = MINIMAL_BUFFERDAEMON + "[CACHE_AND_RINGBUFFER]\nMMPATH = cache\nMMSIZE = 4\n"
        s = self.load(text).settings
        self.assertEqual((s.mmSize, s.mmBytes, s.mmPath),
                         (4, 4 * 262144, os.path.join(os.path.dirname(s.path), "cache")))
        s = self.load(text + "MMBYTES = 0x1000\n[MISC]\nMAXLINE = 1024\n").settings
        self.assertEqual((s.mmBytes, s.maxLine), (4096, 1024))

    def test_severalPipelines(self):
        text = MINIMAL_BUFFERDAEMON.replace("DEC_MOD = mice_mod_dec_logformat",
                                            "DEC_MOD = d1\nENC_MOD = d2").replace(
            "POST_MOD = mice_mod_pop_mysql", "POST_MOD = p1\nOUT_MOD = p2")
        path = self.write(text + "[POSTPROC_MODULES_CONFIG_FILE]\nPOST_FILE = p1.conf\n")
        open(os.path.join(os.path.dirname(path), "p1.conf"), "w").close()
        s = loadConfig(path).settings
        self.assertEqual(s.pipelines, (
            PipelineSettings("d1", None, "p1", os.path.join(os.path.dirname(path), "p1.conf")),
            PipelineSettings("d2", None, "p2", None)))

    def test_listenReplacesBindToAndPort(self):
        text = MINIMAL_BUFFERDAEMON.replace("BINDTO = 127.0.0.1", "LISTEN = unix:run/bd.sock"
                                            "\nLISTEN = tcp:3366:interface=127.0.0.1")
        text = text.replace("[PORT_NUMBER]\nPORT = 3366\n", "")
        s = self.load(text).settings
        self.assertEqual(s.listen, (
            "unix:" + os.path.join(os.path.dirname(s.path), "run", "bd.sock"),
            "tcp:3366:interface=127.0.0.1"))
        self.assertEqual(s.endpoints, s.listen)
        self.assertConfigError(MINIMAL_BUFFERDAEMON.replace(
            "[PORT_NUMBER]", "LISTEN = /run/x.sock\n[PORT_NUMBER]"), 3,
                               "LISTEN: expected a Twisted endpoint string")

    def test_ipv6Endpoint(self):
        s = self.load(MINIMAL_BUFFERDAEMON.replace("127.0.0.1", "::1")).settings
        self.assertEqual(s.endpoints, ("tcp:3366:interface=\\:\\:1:backlog=50",))

    def test_hostPortIpv6(self):
        text = SEED_AA_REGEX.replace("172.16.0.10:4455", "[::1]:4455")
        management = self.load(text, "aa.conf").settings.management
        self.assertEqual(management, HostPort("::1", 4455))
        self.assertEqual(str(management), "[::1]:4455")

    def test_synonyms(self):
        text = SEED_DATAFORWARDER.replace("SLEEPINV = 2", "SLEPPINV = 0.5").replace(
            'CRYPTMOD= "twofish"', "CRYPTOMOD = ChaCha20-Poly1305")
        s = self.load(text).settings
        self.assertEqual((s.sleepInterval, s.cryptMod), (0.5, "chacha20-poly1305"))

    def test_dataForwarderDisabledServers(self):
        text = SEED_DATAFORWARDER.replace("ASIP = 172.16.0.10", "ASIP = 0").replace(
            "#SYSLOGFAC= LOG_DAEMON", "SYSLOGFAC= LOG_LOCAL3")
        s = self.load(text).settings
        self.assertFalse(s.analysisServer.enabled)
        self.assertTrue(s.sqlServer.enabled)
        self.assertEqual((s.syslogFacility, s.syslog), (19, True))
        self.assertEqual([name for name, _ in s.servers], ["sql"])
        loaded = self.load(text.replace("SQLPORT = 3366", "SQLPORT = 0"))
        self.assertTrue(any("no data will be sent" in w.message for w in loaded.warnings))

    def test_dataForwarderRotateGrace(self):
        self.assertEqual(self.load(SEED_DATAFORWARDER).settings.rotateGrace, 5.0)
        text = SEED_DATAFORWARDER.replace("SLEEPINV = 2", "SLEEPINV = 2\nROTATEGRACE = 30")
        self.assertEqual(self.load(text).settings.rotateGrace, 30.0)
        self.assertConfigError(text.replace("= 30", "= 0"), lineOf(text, "ROTATEGRACE"),
                               "ROTATEGRACE: expected a positive number of seconds")

    def test_dataForwarderOnlyTcp(self):
        self.assertConfigError(SEED_DATAFORWARDER.replace("ASPROTO = TCP", "ASPROTO = UDP"),
                               lineOf(SEED_DATAFORWARDER, "ASPROTO"),
                               "ASPROTO: expected one of TCP, got 'UDP'")

    def test_syslog(self):
        s = self.load("[SYSLOG]\n").settings
        self.assertEqual((s.target, s.facility, s.tag, s.format),
                         ("unix:/dev/log", 3, "mice", "rfc3164"))
        s = self.load("[SYSLOG]\nTARGET = udp:[::1]:514\nFACILITY = LOG_LOCAL0\nTAG = ids\n"
                      "FORMAT = RFC5424\n").settings
        self.assertEqual((s.target, s.facility, s.tag, s.format),
                         ("udp:[::1]:514", 16, "ids", "rfc5424"))
        self.assertEqual(self.load("[SYSLOG]\nFACILITY = 4\n").settings.facility, 4)
        self.assertConfigError("[SYSLOG]\nTARGET = /dev/log\n", 2, "TARGET: expected unix:")
        self.assertConfigError("[SYSLOG]\nFACILITY = kernel\n", 2, "expected a syslog facility")
        self.assertConfigError("[SYSLOG]\nFORMAT = json\n", 2, "expected one of rfc3164, rfc5424")

    def test_decoder(self):
        self.assertEqual(loadDecoder(None), config.DecoderSettings(None, False, None,
                                                                   "aes-256-gcm", 65536))
        path = self.write("[DECODER]\nENCRYPT = yes\nENCKEY = k\nCRYPTMOD = twofish\n"
                          "MAXRECORD = 1024\n")
        s = loadDecoder(path)
        self.assertEqual((s.path, s.encrypt, s.encKey, s.cryptMod, s.maxRecord),
                         (path, True, "k", "twofish", 1024))

    def test_mysqlUrlOverrides(self):
        s = self.load(SEED_POP_MYSQL + "URL = sqlite:///db/raw.db\n").settings
        expected = "sqlite:///" + os.path.join(os.path.dirname(s.path), "db", "raw.db")
        self.assertEqual((s.url, s.databaseUrl()), (expected, expected))
        self.assertTrue(expected.startswith("sqlite:////"))
        s = self.load("[MYSQL_SERVER]\nURL = sqlite:////abs/raw.db\nBATCHSIZE = 10\n").settings
        self.assertEqual((s.databaseUrl(), s.batchSize), ("sqlite:////abs/raw.db", 10))
        s = self.load("[MYSQL_SERVER]\nURL = mysql://root@127.0.0.1:3306/test\n").settings
        self.assertEqual(s.databaseUrl(), "mysql://root@127.0.0.1:3306/test")

    def test_mysqlNeedsHostWithoutUrl(self):
        self.assertConfigError("[MYSQL_SERVER]\nUSER = u\nDBNAME = d\n", 1,
                               "[MYSQL_SERVER] needs HOSTNAME (or a URL")

    def test_mysqlPasswordQuotedInUrl(self):
        text = SEED_POP_MYSQL.replace("PASSWORD= changeme2", 'PASSWORD= "p@ss:/w"')
        self.assertEqual(self.load(text).settings.databaseUrl(),
                         "mysql://micedb:p%40ss%3A%2Fw@127.0.0.1:3306/mice_rawlog_tab")

    def test_badUrl(self):
        error = self.assertConfigError("[MYSQL_SERVER]\nURL = postgres://u:hunter2@h/d\n", 2,
                                       "URL: unsupported database 'postgres'")
        self.assertNotIn("hunter2", str(error))


class DatabaseUrlTests(SynchronousTestCase):

    def test_sqlite(self):
        self.assertEqual(parseDatabaseUrl("sqlite:///var/rawlog.db"),
                         config.DatabaseUrl("sqlite", path="var/rawlog.db"))
        self.assertEqual(parseDatabaseUrl("sqlite:////var/rawlog.db").path, "/var/rawlog.db")
        self.assertEqual(parseDatabaseUrl("sqlite:///:memory:").path, ":memory:")

    def test_mysql(self):
        url = parseDatabaseUrl("mysql://user:p%40ss@db.example:3307/mice")
        self.assertEqual(url, config.DatabaseUrl("mysql", host="db.example", port=3307,
                                                 user="user", password="p@ss",
                                                 database="mice"))
        self.assertNotIn("p@ss", repr(url))
        self.assertEqual(url.redacted(), "mysql://user:********@db.example:3307/mice")
        self.assertEqual(parseDatabaseUrl("sqlite:////abs/x.db").redacted(), "sqlite:////abs/x.db")
        url = parseDatabaseUrl("mariadb+pymysql://root@127.0.0.1/test")
        self.assertEqual((url.scheme, url.port, url.user, url.password), ("mysql", 3306,
                                                                         "root", None))

    def test_bad(self):
        for url, fragment in (("rawlog.db", "expected a database URL"),
                              ("sqlite://rawlog.db", "expected sqlite:///relative"),
                              ("sqlite:///", "expected sqlite:///relative"),
                              ("mysql://u:secret@h:99999/db", "bad port"),
                              ("mysql://u:secret@/db", "no host"),
                              ("mysql://u:secret@h", "expected one database name"),
                              ("oracle://h/db", "unsupported database 'oracle'")):
            error = self.assertRaises(ValueError, parseDatabaseUrl, url)
            self.assertIn(fragment, str(error), url)
            self.assertNotIn("secret", str(error))


# ---------------------------------------------------------------------------
# describe()
# ---------------------------------------------------------------------------

class DescribeTests(_ConfigTestCase):

    def assertHidden(self, loaded, *secrets):
        text = "\n".join(describe(loaded))
        for secret in secrets:
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, repr(loaded.settings))
        self.assertIn("********", text)
        return text

    def test_secretsNeverShown(self):
        mysql = SEED_POP_MYSQL.replace("changeme2", "Pw-mysql-1") + \
            "URL = mysql://micedb:Pw-url-2@127.0.0.1/mice\n"
        text = self.assertHidden(self.load(mysql), "Pw-mysql-1", "Pw-url-2")
        self.assertIn("MYSQL_SERVER.URL = mysql://micedb:********@127.0.0.1/mice", text)
        self.assertIn("=> database = mysql://micedb:********@127.0.0.1/mice", text)
        self.assertHidden(self.load(SEED_POP_MYSQL.replace("changeme2", "Pw-mysql-3")),
                          "Pw-mysql-3")
        forwarder = SEED_DATAFORWARDER.replace('"changeme"', '"Key-fwd-4"')
        self.assertHidden(self.load(forwarder), "Key-fwd-4")
        regex = SEED_AA_REGEX.replace("changeme1", "Key-mngmnt-5").replace(
            "changeme2", "Key-agent-6")
        self.assertHidden(self.load(regex), "Key-mngmnt-5", "Key-agent-6")
        reaction = SEED_REACTIONDAEMON.replace("changeme", "Pw-react-7")
        self.assertHidden(self.load(reaction), "Pw-react-7")
        decoder = "[DECODER]\nENCRYPT = yes\nENCKEY = Key-dec-8\n"
        self.assertHidden(self.load(decoder), "Key-dec-8")

    def test_malformedSecretLineNotEchoed(self):
        error = self.assertConfigError(MINIMAL_REACTIONDAEMON.replace("PASSWORD = sesame",
                                                                      "PASSWORD sesame"), 9,
                                       "got 'PASSWORD ...'")
        self.assertNotIn("sesame", str(error))

    def test_settingsAndDefaults(self):
        lines = describe(self.load(MINIMAL_BUFFERDAEMON))
        for line in ("ADDRESS.BINDTO = 127.0.0.1", "PORT_NUMBER.PORT = 3366",
                     "TIME_INTERVALS.TIMEINV = 2", "MISC.BACKLOG = 50  (default)",
                     "CACHE_AND_RINGBUFFER.RBSIZE = 100  (default)",
                     "CACHE_AND_RINGBUFFER.MMBYTES = 0  (default)",
                     "SECURITY_AND_PRIVACY.CHROOT = (unset)", "ADDRESS.LISTEN = (none)",
                     "=> endpoint = tcp:3366:interface=127.0.0.1:backlog=50"):
            self.assertIn(line, lines)

    def test_hexAndLists(self):
        lines = describe(self.load(SEED_MATCH_FILE, "m.txt"))
        self.assertEqual(lines[:2], ["ALERT_ID.AID = 0x1010", "ALERT_ID.AID = 0x1020"])
        self.assertIn("RID_4.AID_4 = 0x7010", lines)
        self.assertIn("RID_10.AID_10 = (none)", lines)

    def test_everyKindDescribes(self):
        for name, (text, _) in SEEDS.items():
            lines = describe(self.load(text, name))
            self.assertTrue(lines, name)
            for line in lines:
                self.assertIn(" = ", line)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

_KEYS = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=20).filter(
    lambda key: key[0] not in ".-")
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
_VALUES = st.text(_PRINTABLE, max_size=40)


class PropertyTests(SynchronousTestCase):

    def parsedValue(self, line):
        (entry,) = parseIni("[SECTION]\n" + line + "\n", "f").sections[0].entries
        return entry

    @given(_KEYS, _VALUES, st.text(_PRINTABLE, max_size=20).filter(lambda c: '"' not in c),
           st.sampled_from(["", " ", "  ", "\t"]))
    def test_quotedRoundTrip(self, key, value, comment, gap):
        entry = self.parsedValue(f'{key} ={gap}"{value}"{gap}  # {comment}')
        self.assertEqual((entry.key, entry.value, entry.quoted), (key, value, True))
        entry = self.parsedValue(f'{key} = "{value}"')
        self.assertEqual((entry.key, entry.value, entry.quoted), (key, value, True))

    @given(_KEYS, _VALUES.filter(lambda v: not set(v) & set("#\"'") and v == v.strip()
                                 and v.strip(" \t\r\f\v") == v))
    def test_unquotedRoundTrip(self, key, value):
        entry = self.parsedValue(f"{key} = {value}")
        self.assertEqual((entry.key, entry.value, entry.quoted), (key, value, False))
        entry = self.parsedValue(f"{key}={value}   # trailing")
        self.assertEqual(entry.value, value)

    @given(st.text(max_size=300).filter(lambda t: not any(0xD800 <= ord(c) < 0xE000 for c in t)),
           st.sampled_from((None, *KINDS)))
    def test_randomTextOnlyConfigErrors(self, text, kind):
        try:
            parseIni(text, "random.conf")
        except ConfigError:
            pass
        try:
            loadConfigText(text, "/nonexistent/random.conf", kind=kind)
        except ConfigError:
            pass

    @given(st.binary(max_size=200))
    def test_randomBytesOnlyConfigErrors(self, data):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "random.conf")
        with open(path, "wb") as f:
            f.write(b"[ADDRESS]\n" + data)
        try:
            loadConfig(path)
        except ConfigError as e:
            self.assertTrue(str(e).startswith(path), str(e))

    @given(st.sampled_from(KINDS), st.data())
    def test_randomValuesOnlyConfigErrors(self, kind, data):
        """
        Known sections and keys with arbitrary values: a ConfigError or
        settings, nothing else.
        """
        schema = configSchema._SCHEMAS[kind]
        lines = []
        for _ in range(data.draw(st.integers(1, 6))):
            sect = data.draw(st.sampled_from(schema.sections))
            name = sect.name if sect.pattern is None else \
                f"RID_{data.draw(st.integers(0, 12))}"
            lines.append(f"[{name}]")
            for _ in range(data.draw(st.integers(0, 4))):
                key = data.draw(st.sampled_from(sect.keys))
                keyName = key.name.format(n=name[4:])
                value = data.draw(st.one_of(_VALUES, st.from_regex(
                    r"-?(0x)?[0-9a-fA-F]{0,6}|yes|no|\[::1\]:[0-9]{1,5}|[a-z]+:[^\n]*",
                    fullmatch=True)))
                quote = data.draw(st.sampled_from(['"', "", "'"]))
                lines.append(f"{keyName} = {quote}{value}{quote}")
        text = "\n".join(lines)
        try:
            loaded = loadConfigText(text, "/nonexistent/random.conf", kind=kind)
        except ConfigError as e:
            self.assertTrue(re.match(r"/nonexistent/random\.conf(:\d+)?: ", str(e)), str(e))
        else:
            self.assertIsInstance(describe(loaded), list)


class PurityTests(SynchronousTestCase):

    def test_noReactor(self):
        """
        mice.config is pure: none of its modules imports twisted.
        """
        folder = os.path.dirname(config.__file__)
        for name in os.listdir(folder):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    source = f.read()
                self.assertFalse(re.search(r"^\s*(from|import)\s+twisted", source, re.M), name)


class LinkSecurityConfigTests(_ConfigTestCase):
    def test_tlsNeedsItsThreeFiles(self):
        self.assertConfigError("[DECODER]\nENCRYPT = yes\nTLSCERT = /x.crt\n", 3,
                               "TLSCERT needs TLSKEY and TLSCA")
        self.assertConfigError("[DECODER]\nENCRYPT = yes\nENCKEY = k\nTLSCA = /ca.crt\n", 4,
                               "TLSCA is only used with TLSCERT")

    def test_tlsInsteadOfAKey(self):
        settings = self.load("[DECODER]\nENCRYPT = yes\nTLSCERT = /x.crt\nTLSKEY = /x.key\n"
                             "TLSCA = /ca.crt\n").settings
        self.assertEqual(settings.tls, ("/x.crt", "/x.key", "/ca.crt"))

    def test_wellKnownPassphraseWarned(self):
        loaded = self.load('[DECODER]\nENCRYPT = yes\nENCKEY = "changeme"\n')
        [warning] = loaded.warnings
        self.assertEqual(warning.line, 3)
        self.assertIn("well-known default secret", warning.message)
        self.assertNotIn("changeme", warning.message)


class UnusedKeyTests(SynchronousTestCase):
    """
    Keys of the seed that this version accepts but does not use are warned
    about at their line, never silently accepted.
    """

    def test_unusedKeysWarned(self):
        from mice.config import loadConfigText

        loaded = loadConfigText(
            "[HOST_INFO]\nManagement = 127.0.0.1:4455\nEncryption = no\n"
            "[IDMEF_INFO]\nDTDFile = idmef-message.dtd\n", "/etc/M-ICE/aa.conf",
            kind="aa_regex")
        [warning] = [str(w) for w in loaded.warnings if "compatibility" in str(w)]
        self.assertTrue(warning.startswith(
            "/etc/M-ICE/aa.conf:5: warning: DTDFile is accepted for compatibility but not used"
            " by this version (alerts are built by mice.idmef"), warning)

    def test_devRandom(self):
        from mice.config import loadConfig

        warnings = [str(w) for w in loadConfig(os.path.join(ETC, "dataforwarder.conf")).warnings]
        self.assertTrue(any(":38: warning: DEVRANDOM is accepted for compatibility but not"
                            " used by this version (" in w for w in warnings), warnings)
