"""
The modules that come with M-ICE.  Data only: see L{mice.registry}.
"""

from mice.registry import ModuleFactory

logformatDecoder = ModuleFactory(
    "mice_mod_dec_logformat", ["mice_mod_dec_logformat_twofish"], "decoder",
    "mice.logformat.buildDecoder", "log lines from a DataForwarder or `mice send`")

rawLogDatabase = ModuleFactory(
    "mice_mod_pop_mysql", ["mice_mod_pop_sql"], "postprocessor",
    "mice.postproc.rawlogdb.build", "raw-log database (MySQL/MariaDB or SQLite)")

syslogRelay = ModuleFactory(
    "mice_mod_pop_syslog", [], "postprocessor",
    "mice.postproc.syslog.build", "relays records to a syslog target")
