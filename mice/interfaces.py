# -*- test-case-name: tests.unit.test_registry -*-
"""
The interfaces behind M-ICE's "dynamic loadable modules".

Modules are Twisted plugins (see L{mice.plugins}) providing L{IModuleFactory};
the factory's C{name} and C{aliases} are the module names of the original
configuration files (C{mice_mod_pop_mysql}, C{mice_mod_dec_logformat_twofish},
...).  A factory builds the module from the path of its own config file.
"""

from zope.interface import Attribute, Interface


class IModuleFactory(Interface):
    """
    A plugin that makes one kind of module.
    """

    name = Attribute("The module's canonical name, e.g. C{'mice_mod_pop_mysql'}.")
    aliases = Attribute("Other names the original configs use for this module.")
    role = Attribute("C{'decoder'}, C{'postprocessor'}, C{'filter'},"
                     " C{'pseudonymizer'}, C{'formatter'}, C{'reaction'} (a"
                     " ReactionDaemon module, L{ICountermeasureModule}) or"
                     " C{'reaction-agent'} (a ManagementHost reaction agent, named after"
                     " its pipe, built with C{(pipe, configPath, reactor, pipePath)}:"
                     " L{mice.reactors}).")

    def build(configPath, reactor):
        """
        Make the module from its config file (which may be C{None} when the
        module needs none).

        @raise mice.config.ConfigError: the config is bad.
        """


class IDecoder(Interface):
    """
    Turns the records of one received batch into the objects a post-processor
    consumes.  Pure: no I/O.
    """

    kind = Attribute("The batch kind this decoder accepts: C{'log'} or C{'idmef'}.")

    def decode(source, batch):
        """
        Decode one batch sent by C{source}: a L{mice.protocols.wire.Batch},
        whose envelope the daemon has checked once for all its decoders.

        @return: a list of records.
        @raise mice.protocols.wire.ProtocolError: the batch is malformed.
        """

    def recover(source, batch):
        """
        Decode a batch that L{decode} accepted before, read back from a ring
        buffer after a restart or a flush: the checks need not be repeated.

        @return: the same records L{decode} returned.
        """


class IPostProcessor(Interface):
    """
    Consumes records from a BufferDaemon's ring buffer every TIMEINV seconds.

    Two attributes are optional, so not declared here: C{eager}, whether to
    flush as soon as records are there (default C{False}: every TIMEINV,
    or at C{batchSize} records); and C{services}, services the module is
    handed and the daemon runs as its children (the ManagementHost's
    reaction queues), started before C{start()} and stopped after
    C{stop()}, never by the module itself.
    """

    name = Attribute("The module name, for logs.")
    maxErrors = Attribute("Failures in a row before the daemon holds (MAXERR; 10 is usual).")
    batchSize = Attribute("Records per call of process() at the most.")
    concurrency = Attribute("Calls of process() that may run at once (1 unless the module"
                            " can take more, such as a store with several connections).")

    def start():
        """
        Open connections, create tables. @return: a Deferred.
        """

    def process(records):
        """
        Make C{records} durable (store them, relay them, analyse them).

        @return: a Deferred that fires once the records are durable, or fails;
            on failure the same records are offered again later.
        """

    def stop():
        """
        Close connections. @return: a Deferred.
        """


class ReloadError(Exception):
    """
    A module's files do not load: it keeps what it had.

    @ivar problems: every bad line, as C{file:line: reason} texts.
    """

    def __init__(self, problems):
        self.problems = tuple(str(problem) for problem in problems)
        super().__init__(*self.problems)

    def __str__(self):
        return "\n".join(self.problems)


class IReloadable(Interface):
    """
    A post-processor whose files can be read again while it runs (its rules,
    filters, match files): the BufferDaemon calls L{reload} on C{SIGHUP}
    (L{mice.services.reload}).  Optional: a post-processor without it has
    nothing to reload.
    """

    def reload():
        """
        Read the module's files again and use them from the next
        L{IPostProcessor.process} on; what is being processed is not
        disturbed, no connection is dropped.

        @return: a short text saying what was loaded, or a Deferred firing
            with it.
        @raise ReloadError: a file does not load (every bad line named); the
            module keeps running with what it had.
        """


class IFilter(Interface):
    """
    Decides which log lines a DataForwarder ships.  Pure: no I/O.
    """

    counts = Attribute("A dict of line counters (C{'dropped'}, C{'kept'}) for statistics.")

    def keep(line):
        """
        @param line: one log line (C{str}, without its newline).
        @return: C{True} to ship the line, C{False} to drop it.
        """


class IPseudonymizer(Interface):
    """
    Replaces the personal data in log lines before they leave the host.
    Pure: no I/O.
    """

    def pseudonymize(line):
        """
        @param line: one log line (C{str}).
        @return: the line with personal data replaced; never raises.
        """


class IFormatter(Interface):
    """
    The log format of a DataForwarder (C{mice_mod_fmt_simple}): the host
    columns sent with every batch and the wire record of each line.  Pure:
    no I/O, time passed in.  (L{mice.forwarder.prepare.LinePreparer} makes
    the simple format's records itself, a poll's lines at once.)
    """

    host = Attribute("The L{mice.record.HostInfo} sent with every batch.")

    def format(line, now, nowStamp=None, timestamper=None):
        """
        The wire record of one log line: C{[date, time, line, signature]}.

        @param now: a naive local L{datetime}: the year of syslog dates.
        @param nowStamp: C{(date, time)} for a line without a time stamp
            (else taken from C{now}).
        @param timestamper: a L{mice.forwarder.format.Timestamper} to reuse
            across lines.
        """


class IReaction(Interface):
    """
    A reaction agent of the ManagementHost (L{mice.reactors}): one way of
    reacting to an alert, named by the seed's pipe names
    (C{rid_1_write_to_syslog}, C{rid_2_send_to_alert_db},
    C{rid_3_save_to_file}, C{rid_4_countermeasure}, or an external program's
    FIFO).  Modelled on Buildbot's reporters: one small class per way, fed by
    the ManagementHost's reaction service, which owns the durable job
    journal, the retries and the backoff; one failing agent never delays
    another.

    The service calls L{react} at least once per journaled job: after a crash
    between doing a job and recording it as done, it is called again with
    the same L{mice.alerts.RoutedAlert}, so an agent deduplicates by
    C{routed.key} where its target allows (a database row, a countermeasure
    id) and says in its docs what a repeat looks like where it cannot (a
    syslog line).

    Optional, beside these: C{reactBatch(routedAlerts)} (a Deferred firing
    with a list of outcomes, texts or Failures: many jobs in one call, at
    most C{batchLimit}) and C{reactNow(routedAlerts)} (the same, done at
    once and returned as the list itself, with C{None} for each alert it
    did not react to and left no trace of: the service then runs it the
    usual way).  An agent with C{reactNow} reacts to a new alert before its
    flush is journaled, and the job is journaled once, with its outcome
    (L{mice.services.management.ReactionQueue.runNow}).
    """

    pipe = Attribute("The pipe name this agent serves (C{rid_1_write_to_syslog}).")

    def start():
        """
        Open what the agent writes to. @return: a Deferred (or C{None}).
        """

    def react(routed):
        """
        React to one alert.

        @param routed: a L{mice.alerts.RoutedAlert}.
        @return: a Deferred that fires with a short outcome text (logged and
            kept in the journal) once the reaction is done, or fails: a
            L{ReactionRefused} is final (recorded, not retried), any other
            failure is retried with backoff.
        """

    def stop():
        """
        Flush and close. @return: a Deferred (or C{None}).
        """


class ICountermeasureModule(Interface):
    """
    A ReactionDaemon module (C{RCT_MOD}, role C{reaction}): what one
    function ID does on the client.  The daemon owns the decisions (one
    active countermeasure per FID and parameters, durations, expiry, the
    durable state, restarts); the module checks parameters and runs its
    command.
    """

    name = Attribute("The module name (C{mice_mod_rct_system}), for logs.")
    defaultDuration = Attribute("Seconds a countermeasure lasts when the request gives no"
                                " duration; 0 = permanent (DURATION).")
    maxDuration = Attribute("The longest duration granted, 0 = no maximum (MAXDURATION).")
    rate = Attribute("Most commands per minute, 0 = no limit (RATE).")

    def check(params, protected):
        """
        Check and canonicalise the parameters of one request.  Pure.

        @param params: a dict of names to strings, as asked.
        @param protected: C{(network, why)} pairs never acted on beside the
            module's own never list (the daemon's addresses, its peers').
        @return: the canonical parameters (a dict of names to strings).
        @raise mice.reactors.argv.InvalidValue: refused, with the reason.
        """

    def apply(params, reactionId):
        """
        Run the command for canonical C{params}.

        @return: a Deferred firing with a L{mice.reactors.system.CommandResult}.
        """

    def undo(params, reactionId):
        """
        Run the command that lifts it.

        @return: a Deferred firing with a L{mice.reactors.system.CommandResult}.
        """


class ReactionRefused(Exception):
    """
    A reaction that must not be retried (its parameters are invalid, the
    target is on a never-act list): the journal records it as refused, with
    this exception's text as the reason.
    """


#: The interface a module of each role (L{IModuleFactory.role}) provides.
ROLE_INTERFACES = {
    "decoder": IDecoder,
    "postprocessor": IPostProcessor,
    "filter": IFilter,
    "pseudonymizer": IPseudonymizer,
    "formatter": IFormatter,
    "reaction": ICountermeasureModule,
}
