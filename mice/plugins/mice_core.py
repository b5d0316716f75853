"""
The modules that come with M-ICE.  Data only: see L{mice.registry}.
"""

from mice.registry import ModuleFactory

logformatDecoder = ModuleFactory(
    "mice_mod_dec_logformat", ["mice_mod_dec_logformat_twofish"], "decoder",
    "mice.decoders.logformat.buildDecoder", "log lines from a DataForwarder or `mice send`")

rawLogDatabase = ModuleFactory(
    "mice_mod_pop_mysql", ["mice_mod_pop_sql"], "postprocessor",
    "mice.postproc.rawlogdb.build", "raw-log database (MySQL/MariaDB or SQLite)")

syslogRelay = ModuleFactory(
    "mice_mod_pop_syslog", [], "postprocessor",
    "mice.postproc.syslog.build", "relays records to a syslog target")

regexFilter = ModuleFactory(
    "mice_mod_flt_regex", [], "filter",
    "mice.forwarder.filters.buildFilter", "drops log lines by DROP/KEEP regular expressions")

simpleFormat = ModuleFactory(
    "mice_mod_fmt_simple", [], "formatter",
    "mice.tap.dataforwarder.buildFormatter", "host columns and the wire record of each log line")

emptyPseudonymizer = ModuleFactory(
    "mice_mod_psd_empty", [], "pseudonymizer",
    "mice.forwarder.pseudonym.buildEmpty", "passes log lines through unchanged")

keyedPseudonymizer = ModuleFactory(
    "mice_mod_psd_keyed", [], "pseudonymizer",
    "mice.forwarder.pseudonym.buildKeyed", "user names, uids and addresses as AES-SIV pseudonyms")

idmefDecoder = ModuleFactory(
    "mice_mod_dec_idmef", ["mice_mod_dec_idmef_twofish", "mice_mod_enc_idmef_twofish"], "decoder",
    "mice.decoders.idmef.buildDecoder", "IDMEF alerts from analysis agents")

aaRegexAnalyzer = ModuleFactory(
    "mice_mod_pop_aa_regex", [], "postprocessor",
    "mice.postproc.aaregex.build", "the M-ICE rules: IDMEF alerts to the ManagementHost")

alertDatabase = ModuleFactory(
    "mice_mod_pop_alertdb", [], "postprocessor",
    "mice.postproc.alertdb.build", "IDMEF alerts into alert_entry (MySQL/MariaDB or SQLite)")

aaRulesAnalyzer = ModuleFactory(
    "mice_mod_pop_aa_rules", [], "postprocessor",
    "mice.postproc.aarules.build",
    "the LogIDS rules: IDMEF alerts and console events to the ManagementHost")

eventDecoder = ModuleFactory(
    "mice_mod_dec_event", [], "decoder",
    "mice.decoders.events.buildDecoder", "console events from LogIDS analysis agents")

eventDatabase = ModuleFactory(
    "mice_mod_pop_eventdb", [], "postprocessor",
    "mice.postproc.eventdb.build", "console events into console_event (MySQL/MariaDB or SQLite)")

systemReaction = ModuleFactory(
    "mice_mod_rct_system", [], "reaction",
    "mice.reactors.system.build", "runs the configured command, never through a shell")

dummyReaction = ModuleFactory(
    "mice_mod_rct_dummy", [], "reaction",
    "mice.reactors.system.buildDummy", "logs the command it would run")

actGeneric = ModuleFactory(
    "mice_mod_pop_act_generic", ["mice_mod_out_act_generic"], "postprocessor",
    "mice.services.management.buildActGeneric",
    "the ManagementHost: match files, the reaction journal and the reaction agents")
