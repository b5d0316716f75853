# -*- test-case-name: tests.integration.test_management,tests.integration.test_management_faults -*-
"""
Reaction agents (syslog, alert database, save to file, countermeasure,
external FIFO programs) and the ReactionDaemon's modules.

"Reactors" is the name M-ICE's design gives these; it has nothing to do with
Twisted's reactor.

The ManagementHost's act_generic config pairs reaction IDs with pipe names
(C{[REACTION_ID]} RID, C{[RID_PIPENAME]} PIPE); the pipe name chooses the
agent (L{AGENTS}): the seed's four names are built in, and any other name
is an external reaction program fed through the FIFO C{PIPE_PATH/PIPE}, as
in the original.  Every agent module exposes C{build(pipe, configPath,
reactor, pipePath)} returning an L{mice.interfaces.IReaction} provider:
C{configPath} is the optional C{<PIPE>.conf} beside the act_generic config
(C{None} when there is none: the agent's defaults), C{pipePath} is
act_generic's C{[MISC]} C{PIPE_PATH}.
"""

import importlib

#: Pipe name -> the dotted name of the builder of its agent.
AGENTS = {
    "rid_1_write_to_syslog": "mice.reactors.syslog.build",
    "rid_2_send_to_alert_db": "mice.reactors.alertdb.build",
    "rid_3_save_to_file": "mice.reactors.savetofile.build",
    "rid_4_countermeasure": "mice.reactors.countermeasure.build",
}
#: The builder of every other pipe name: an external program's FIFO.
EXTERNAL = "mice.reactors.external.build"

#: The pipe whose agent also takes the reaction journal's database as its
#: default (the alert database shares it when it has no config).
ALERT_DB_PIPE = "rid_2_send_to_alert_db"
#: The countermeasure reaction's pipe (its links and the console's source
#: are wired by the builder: not rebuilt on a reload).
COUNTERMEASURE_PIPE = "rid_4_countermeasure"


class AgentUnavailable(Exception):
    """
    The module of a pipe's agent cannot be imported (not installed, or
    broken): the text says which and why.
    """


def builderName(pipe):
    """The dotted name of the function that builds C{pipe}'s agent."""
    return AGENTS.get(pipe, EXTERNAL)


def builderFor(pipe):
    """
    The function that builds C{pipe}'s agent, imported now: a plugin's
    (L{mice.registry}, role C{reaction}, named after the pipe: how a third
    party adds an agent), else L{AGENTS}', else L{EXTERNAL}.

    @raise AgentUnavailable: its module cannot be imported.
    """
    from mice.registry import availableModules, normalizeName

    plugin = availableModules("reaction-agent").get(normalizeName(pipe))
    name = plugin.builder if plugin is not None else builderName(pipe)
    moduleName, _, function = name.rpartition(".")
    try:
        return getattr(importlib.import_module(moduleName), function)
    except Exception as e:
        raise AgentUnavailable(f"the reaction agent of pipe {pipe!r} ({name}) cannot be"
                               f" loaded: {type(e).__name__}: {e}") from None


def buildAgent(pipe, configPath, reactor, pipePath, database=None):
    """
    The reaction agent of C{pipe}.

    @param database: the reaction journal's database URL: the alert
        database agent's default when it has no config.
    @raise AgentUnavailable: its module cannot be imported.
    @raise mice.config.ConfigError: its config is bad.
    """
    build = builderFor(pipe)
    if pipe == ALERT_DB_PIPE:
        return build(pipe, configPath, reactor, pipePath, database=database)
    return build(pipe, configPath, reactor, pipePath)


def agentConfigText(path):
    """
    The text of a reaction agent's C{<PIPE>.conf} (C{None}: there is none),
    what L{mice.postproc.actgeneric.ActGeneric.reload} compares to tell
    whether it changed.
    """
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
