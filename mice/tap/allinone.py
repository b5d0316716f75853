# -*- test-case-name: tests.integration.test_tap -*-
"""
C{twistd -n mice-allinone}: M-ICE on one machine, on 127.0.0.1, with SQLite.

A DataForwarder follows a log file (the bundled sample unless told
otherwise; lines appended later are shipped too) into two BufferDaemons:
the raw-log database (memory-mapped ring, SQLite), and the analysis agent
with the default detection content (C{mice/data/default}: the M-ICE rules
and the LogIDS rules, docs/detection.rst), whose IDMEF alerts and console
events go to the ManagementHost: act_generic with the default match file, the reaction journal, reactions 1 (syslog),
2 (the alert database) and 3 (save to file), and an external reaction
program's FIFO (C{PIPE_PATH/mice_fifo_demo}, fed what the match file's
RID_4 lists: brute force and exploits); the console events go to C{console_event}.

Every part is built as its own daemon builds it (L{mice.tap.bufferdaemon},
L{mice.tap.dataforwarder}), from config files this module writes into the
data directory's C{etc/} at every start: what runs here is what a
deployment of the single daemons with those files would run, and the files
show how.  Offsets, rings, the AlertID counters, the databases and the
reaction journal persist in the data directory, so starting again stores
nothing twice and reacts to nothing twice.  Every link is encrypted with a
pre-shared key made at the first start (C{link.key}, mode 0600), even on
loopback.

A reaction agent whose module is not installed is not built (the log and
the table printed at start say which); its reactions wait in the journal.
"""

import os
import sys

from twisted.application.service import MultiService
from twisted.logger import Logger
from twisted.python import usage

from mice.analysis.offline import defaultContent
from mice.config import loadBufferDaemon, loadDataForwarder
from mice.forwarder.pseudonym import newKey

log = Logger()

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
SAMPLE = os.path.join(DATA, "sample.log")


#: The default detection content (docs/detection.rst), as C{mice analyze}
#: runs it with no rule option.
AGENT_RULES, LOGIDS_RULES, MATCH_FILE, DEFAULT_CORRELATION = defaultContent()
DTD = os.path.join(DATA, "idmef-message.dtd")

DEMO_BAN = os.path.join(DATA, "demo_ban.py")

#: The reactions of the all-in-one ManagementHost: the seed's 1 to 4, and
#: an external program's FIFO (RID 5, fed what the match file's RID_4 lists:
#: brute force and exploits).  Reaction 4 asks the all-in-one
#: ReactionDaemon, whose "ban" appends a line to C{bans.log}.
REACTIONS = ((1, "rid_1_write_to_syslog"), (2, "rid_2_send_to_alert_db"),
             (3, "rid_3_save_to_file"), (4, "rid_4_countermeasure"), (5, "mice_fifo_demo"))

#: The console's user.
CONSOLE_USER = "admin"


class Options(usage.Options):
    optParameters = [
        ["data-dir", "d", "mice-data", "Directory for the SQLite databases, the rings, the"
                                       " configs and the forwarder's offsets."],
        ["port", "p", 3366, "Loopback port of the raw-log BufferDaemon.", int],
        ["agent-port", None, 3367, "Loopback port of the analysis agent.", int],
        ["management-port", None, 4455, "Loopback port of the ManagementHost.", int],
        ["console-port", None, 8080, "Loopback port of the ManagementHost's web console.", int],
        ["reaction-port", None, 1977, "Loopback port of the ReactionDaemon.", int],
        ["log", "l", SAMPLE, "Log file the DataForwarder follows into the raw-log database."],
    ]
    optFlags = [["no-ship", None, "Ship nothing; only run the servers."],
                ["quiet", "q", "Do not print what runs where."]]

    #: The ports, and what listens there (for the messages when one is taken).
    ports = (("port", "the raw-log BufferDaemon"), ("agent-port", "the analysis agent"),
             ("management-port", "the ManagementHost"), ("console-port", "the web console"),
             ("reaction-port", "the ReactionDaemon"))

    def postOptions(self):
        from mice.tap.ports import choosePorts

        defaults = {option: default for option, _, default, *_ in self.optParameters}
        self.portNotes = choosePorts(self, self.ports, defaults)


def linkKey(dataDir):
    """
    The pre-shared key of the data directory, made (mode 0600) if missing.
    """
    path = os.path.join(dataDir, "link.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(newKey().hex() + "\n")
    with open(path) as f:
        return f.read().strip()


def consolePassword(dataDir):
    """
    The console's password, made at the first start and kept in
    C{console-password} (mode 0600) so that a restart prints it again.
    """
    import secrets

    path = os.path.join(dataDir, "console-password")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(15) + "\n")
    with open(path) as f:
        return f.read().strip()


def _write(path, text):
    """Write a config (mode 0600: several hold the link key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def _bufferDaemon(name, port, pipelines, ring, ringBytes, timeInterval=1.0):
    """
    A BufferDaemon config: C{pipelines} are C{(decoder, post-processor)}
    pairs; every decoder reads C{decoder.conf} (the link key), every
    post-processor the config named after it (C{mice_mod_pop_mysql.conf}).
    """
    return (f"# mice-allinone's {name}: written at every start, edits are lost.\n"
            f"[ADDRESS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n"
            "[DECODING_MODULES]\n" + "".join(f"DEC_MOD = {d}\n" for d, _ in pipelines)
            + "[DECODING_MODULES_CONFIG_FILE]\n" + "DEC_FILE = decoder.conf\n" * len(pipelines)
            + "[POSTPROC_MODULES]\n" + "".join(f"POST_MOD = {p}\n" for _, p in pipelines)
            + "[POSTPROC_MODULES_CONFIG_FILE]\n"
            + "".join(f"POST_FILE = {p}.conf\n" for _, p in pipelines)
            + f"[TIME_INTERVALS]\nTIMEINV = {timeInterval}\n"
            f"[CACHE_AND_RINGBUFFER]\nMMPATH = {ring}\nMMSIZE = 256\nMMBYTES = {ringBytes}\n"
            "RBSIZE = 0\n")


def _matchFile():
    """The default match file (its [RID_5], the FIFO demo, lists what RID_4 lists)."""
    with open(MATCH_FILE) as f:
        return f.read()


def writeConfigs(dataDir, options, key, passwordHash=None):
    """
    Write every config of the all-in-one setup into C{dataDir/etc}.

    @param passwordHash: the argon2 hash of the console password
        (C{[CONSOLE]} of act_generic's config), or C{None}: no console.

    @return: C{{role: config path}}.
    """
    etc = os.path.join(dataDir, "etc")
    os.makedirs(os.path.join(etc, "matchfiles"), exist_ok=True)
    rawPort, agentPort, managementPort = (options["port"], options["agent-port"],
                                          options["management-port"])
    decoder = _write(os.path.join(etc, "decoder.conf"),
                     f"[DECODER]\nENCRYPT = yes\nENCKEY = {key}\nMAXRECORD = 65536\n")

    def database(name, url):
        return _write(os.path.join(etc, name), f"[MYSQL_SERVER]\nURL = {url}\nMAXERR = 10\n")

    database("mice_mod_pop_mysql.conf", "sqlite:///../rawlog.db")
    raw = _write(os.path.join(etc, "bufferdaemon-rawlogdb.conf"), _bufferDaemon(
        "raw-log database", rawPort,
        [("mice_mod_dec_logformat", "mice_mod_pop_mysql")], "../cache.rawlogdb", 64 * 2 ** 20))

    with open(AGENT_RULES) as f:
        rules = f.read()
    rules = (rules.replace("Management = 127.0.0.1:4455", f"Management = 127.0.0.1:{managementPort}")
             .replace("Encryption = no",
                      f"Encryption = yes\nMngmntKey = {key}\nAgentKey = {key}")
             .replace("AlertID = 1\n", "AlertID = 1\nAlertIDFile = ../alertid\n"))
    _write(os.path.join(etc, "mice_mod_pop_aa_regex.conf"), rules)
    with open(LOGIDS_RULES) as f:
        logids = f.read()
    logidsDir = os.path.join(os.path.dirname(LOGIDS_RULES), "logids")
    logids = (logids.replace("Management = 127.0.0.1:4455",
                             f"Management = 127.0.0.1:{managementPort}")
              .replace("Encryption = no", f"Encryption = yes\nMngmntKey = {key}")
              .replace("AlertID = 1\n", "AlertID = 1\nAlertIDFile = ../alertid-logids\n")
              .replace("= logids/", f"= {logidsDir}/"))
    _write(os.path.join(etc, "mice_mod_pop_aa_rules.conf"), logids)
    with open(os.path.join(etc, "matchfiles", "match_file_aa_regex.txt"), "w") as f:
        f.write(_matchFile())
    agent = _write(os.path.join(etc, "bufferdaemon-aa.conf"), _bufferDaemon(
        "analysis agent", agentPort,
        [("mice_mod_dec_logformat", "mice_mod_pop_aa_regex"),
         ("mice_mod_dec_logformat", "mice_mod_pop_aa_rules")], "../cache.aa", 32 * 2 ** 20))

    database("rid_2_send_to_alert_db.conf", "sqlite:///../alerts.db")
    database("mice_mod_pop_eventdb.conf", "sqlite:///../alerts.db")
    _write(os.path.join(etc, "mice_mod_pop_act_generic.conf"), (
        "# mice-allinone's act_generic: the seed's, with its own reactions.\n"
        "[REACTION_ID]\n" + "".join(f"RID = {rid}\n" for rid, _ in REACTIONS)
        + "[RID_PIPENAME]\n" + "".join(f"PIPE = {pipe}\n" for _, pipe in REACTIONS)
        + '[ANALYZER_ID]\nANAID = "MICE-RegEx"\nANAID = "MICE-Correlation"\n'
        "[ANALYZER_MATCHFILE]\nMF = match_file_aa_regex.txt\nMF = match_file_aa_regex.txt\n"
        # The default correlation rules: 0x9010 (brute force) is what reaction 4 bans.
        f"[CORRELATION]\nRULES = {DEFAULT_CORRELATION}\nANALYZER_ID = MICE-Correlation\n"
        + (f"[IDMEF_INFO]\nDTDFile = {DTD}\n" if os.path.exists(DTD) else "")
        + "[MISC]\nPIPE_PATH = ../run\nMATCH_PATH = matchfiles\n"
        "[JOURNAL]\n# The agents of modules not installed: their reactions wait.\n"
        "REQUIRE_AGENTS = no\n"
        + (f"[CONSOLE]\nLISTEN = tcp:{options['console-port']}:interface=127.0.0.1\n"
           f"USER = {CONSOLE_USER}\nPASSWORD_HASH = {passwordHash}\n"
           if passwordHash is not None else "")))
    reactionPort = options["reaction-port"]
    # Reaction 4: exploits (0x7010) banned on the ReactionDaemon; the other
    # alerts the match file sends it (web attacks, brute force) ban nobody.
    _write(os.path.join(etc, "rid_4_countermeasure.conf"), (
        "# mice-allinone's countermeasure reaction: written at every start.\n"
        "[COUNTERMEASURE]\nFID = 0x000001\nPARAM = ip=source.address\nDURATION = 10m\n"
        "SCOPE = none\nESCALATE = yes\nFACTOR = 2\nMAXDURATION = 7d\nHISTORY = 7d\n"
        "STATEDB = ../countermeasure.db\nTIMEOUT = 30\n"
        "[ALERT_0x7010]\nSCOPE = all\nDURATION = 1h\n"
        "[ALERT_0x9010]\nSCOPE = all\nDURATION = 1h\n"
        f"[DAEMON_1]\nADDRESS = 127.0.0.1:{reactionPort}\nSERVES = *\nPASSWORD = {key}\n"))
    import shlex

    bans = os.path.join(dataDir, "bans.log")
    demo = " ".join(shlex.quote(word) for word in (sys.executable, DEMO_BAN, bans))
    _write(os.path.join(etc, "mice_mod_rct_system.conf"), (
        "# mice-allinone's harmless countermeasure: a line in bans.log (no firewall).\n"
        f"[COMMAND]\nARGV = {demo} apply {{ip}}\nUNDO = {demo} undo {{ip}}\n"
        "PARAMS = ip:ip\nTIMEOUT = 10\n"
        "[POLICY]\nDURATION = 10m\nMAXDURATION = 7d\nRATE = 60\n"))
    reactionDaemon = _write(os.path.join(etc, "reactiondaemon.conf"), (
        "# mice-allinone's ReactionDaemon: written at every start, edits are lost.\n"
        "[FUNCTION_ID]\nFID = 0x000001\n[REACTION_MODULES]\nRCT_MOD = mice_mod_rct_system\n"
        "[REACTION_MODULES_CONFIG_FILE]\nRCT_FILE = mice_mod_rct_system.conf\n"
        f"[NETWORK]\nIP = 127.0.0.1\nPORT = {reactionPort}\n"
        f"[SECURITY]\nPASSWORD = {key}\n"
        "[MISC]\nSTATEDIR = ../reactiondaemon\n"))
    management = _write(os.path.join(etc, "bufferdaemon-mngmthost.conf"), _bufferDaemon(
        "ManagementHost", managementPort,
        [("mice_mod_dec_idmef", "mice_mod_pop_act_generic"),
         ("mice_mod_dec_event", "mice_mod_pop_eventdb")], "../cache.mngmthost", 16 * 2 ** 20))

    forwarder = _write(os.path.join(etc, "dataforwarder.conf"), (
        "# mice-allinone's DataForwarder: written at every start, edits are lost.\n"
        f"[SQL_SERVER]\nSQLIP = 127.0.0.1\nSQLPORT = {rawPort}\n"
        f"[ANALYSIS_SERVER]\nASIP = 127.0.0.1\nASPORT = {agentPort}\n"
        f"[SECURITY_AND_PRIVACY]\nENCRYPT = yes\nENCKEY = {key}\n"
        f"[LOGFILE_LIST]\nFILE = {os.path.abspath(options['log'])}\n"
        "[MISC]\nSLEEPINV = 1\nSTATEDIR = ../dataforwarder\nSHMSIZE = 10240\n"
        "SPOOLSIZE = 262144\n"))
    return {"raw-log database": raw, "analysis agent": agent, "ManagementHost": management,
            "DataForwarder": forwarder, "decoder": decoder, "ReactionDaemon": reactionDaemon}


def whatRunsWhere(dataDir, configs, daemons, ports, password=None):
    """
    The table printed at start: each role, its address, what it keeps where.
    """
    lines = [f"mice-allinone in {dataDir} (configs in {os.path.join(dataDir, 'etc')}):"]

    def row(role, address, what):
        lines.append(f"  {role:<17} {address:<16} {what}")

    for role, daemon in daemons.items():
        if role not in ports:
            continue
        address = f"127.0.0.1:{ports[role]}"
        for pipeline in daemon.pipelines:
            post = pipeline.postprocessor
            where = getattr(post, "description", "")
            row(role, address, pipeline.name + (f" -> {where}" if where else ""))
            role = address = ""
            journal = getattr(post, "journal", None)
            if journal is not None:
                row("", "", f"reaction journal: {journal.description}")
            for service in getattr(post, "services", ()):
                for rid, pipe in sorted(getattr(service, "pipes", {}).items()):
                    queue = service.queues.get(pipe)
                    if queue is None:
                        state = "NOT INSTALLED: its reactions wait in the journal"
                    else:
                        state = getattr(queue.agent, "description", "") or "running"
                    row("", "", f"reaction {rid} {pipe}: {state}")
    if "DataForwarder" in ports:
        settings = loadDataForwarder(configs["DataForwarder"])
        row("DataForwarder", "-", f"follows {', '.join(settings.files)} (state in"
                                  f" {settings.stateDirectory})")
    if "ReactionDaemon" in ports:
        row("ReactionDaemon", f"127.0.0.1:{ports['ReactionDaemon']}",
            f"bans (a harmless demo) appended to {os.path.join(dataDir, 'bans.log')}; state in"
            f" {os.path.join(dataDir, 'reactiondaemon')}")
    fifo = os.path.join(dataDir, "run", "mice_fifo_demo")
    lines.append(f"The external reaction program's FIFO: cat {fifo}")
    if password is not None:
        lines.append(f"The console: http://127.0.0.1:{ports['console']}/ user {CONSOLE_USER}"
                     f" password {password}")
        lines.append(f"  (kept in {os.path.join(dataDir, 'console-password')}, mode 0600)")
    return lines


def makeService(options):
    from twisted.internet import reactor

    from mice.tap.bufferdaemon import buildBufferDaemon
    from mice.tap.dataforwarder import buildForwarder

    dataDir = os.path.abspath(options["data-dir"])
    os.makedirs(os.path.join(dataDir, "run"), exist_ok=True)
    from mice.config import loadReactionDaemon
    from mice.console.auth import hashPassword
    from mice.tap.reactiondaemon import buildReactionDaemon

    password = consolePassword(dataDir)
    configs = writeConfigs(dataDir, options, linkKey(dataDir), hashPassword(password))
    root = MultiService()
    buildReactionDaemon(loadReactionDaemon(configs["ReactionDaemon"]), reactor).setServiceParent(
        root)
    daemons = {}
    for role in ("raw-log database", "ManagementHost", "analysis agent"):
        daemon = buildBufferDaemon(loadBufferDaemon(configs[role]), reactor)
        daemon.setServiceParent(root)
        daemons[role] = daemon
    ports = {"raw-log database": options["port"], "analysis agent": options["agent-port"],
             "ManagementHost": options["management-port"],
             "ReactionDaemon": options["reaction-port"], "console": options["console-port"]}
    if not options["no-ship"]:
        buildForwarder(loadDataForwarder(configs["DataForwarder"]), reactor).setServiceParent(
            root)
        ports["DataForwarder"] = None
    for note in getattr(options, "portNotes", ()):
        log.warn("{note}", note=note)
    if not options["quiet"]:
        sys.stdout.write("\n".join([*getattr(options, "portNotes", ()),
                                    *whatRunsWhere(dataDir, configs, daemons, ports, password)])
                         + "\n")
        sys.stdout.flush()
    return root
