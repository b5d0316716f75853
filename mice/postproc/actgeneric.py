# -*- test-case-name: tests.unit.postproc.test_actgeneric,tests.integration.test_management -*-
"""
C{mice_mod_pop_act_generic} (alias C{mice_mod_out_act_generic}): the
ManagementHost's post-processor (seed 7.2).

Every flush of the BufferDaemon gives it IDMEF documents
(L{mice.decoders.idmef.ReceivedAlert}s).  For each alert of each document
it decides, with the match files (L{mice.management.routing}), its
description and the reactions it triggers, checks the document against
the C{DTDFile} when there is one (an invalid document is flagged, not
refused), and then, in one transaction of the reaction journal
(L{mice.db.journal}):

  - keeps the alert and its document (C{received_alert});
  - makes one C{pending} job per reaction (C{reaction_job});
  - keeps each analyzer's last heartbeat (C{analyzer_heartbeat}).

When the alert database reaction (2) shares the journal's database, its
C{alert_entry} rows are written in that same transaction and its jobs
journaled as done: exactly once, and without a transaction of its own
(L{ActGeneric.inline}).

Only once that transaction is committed does L{ActGeneric.process}
fire, and only then does the BufferDaemon acknowledge the batch to its
sender: an alert is never acknowledged before its reactions are durable.
It is idempotent on the alerts' keys (a batch sent again changes nothing
and makes no job twice).  Then the new jobs are handed to the reaction
queues (L{mice.services.management}), which the daemon runs as its child
services; this module never starts them.
"""

from datetime import UTC, datetime

from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import implementer

from mice.alerts import RoutedAlert, alertKey
from mice.db.journal import DONE, PENDING
from mice.decoders.idmef import problemText
from mice.idmef import IdmefError, loadDtd, parseDocument, validateTree
from mice.interfaces import IPostProcessor, IReloadable, ReloadError

#: The outcome of a reaction done within the journal's transaction.
INLINE_OUTCOME = "stored in alert_entry (%s) with its journal entry"

def isoTime(seconds):
    """ISO 8601 UTC of clock seconds, to the microsecond."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class NoDispatcher:
    """
    Where new jobs go when no reaction service was handed over (a
    ManagementHost built without its queues): nowhere; they wait in the
    journal for the next start that has them.
    """

    def offer(self, routedAlerts, skip=frozenset()):
        pass


@implementer(IPostProcessor, IReloadable)
class ActGeneric:
    """
    The post-processor.

    @ivar dispatcher: what new jobs are offered to (C{offer(routedAlerts)}):
        the reaction service, handed over by the daemon's builder.
    @ivar services: the services the daemon runs as its children (the
        reaction service), set by the builder.
    @ivar counts: alerts, new alerts, heartbeats, invalid documents seen.
    @ivar checkedByDecoder: whether the decoder checks the documents
        against L{dtd} as it parses them (the builder hands it over), so
        they are not parsed again here.
    @ivar inline: C{{rid: agent}} of the reactions done within the
        journal's transaction: agents with C{rowFor(routed)} and
        C{storeRows(txn, rows)} on the journal's own pool (the alert
        database's), set by the builder.
    """

    name = "mice_mod_pop_act_generic"
    log = Logger()
    eager = True
    """Flushed as soon as alerts are there (L{mice.services.bufferdaemon.Pipeline}):
    reactions do not wait for TIMEINV, nor do the senders' acknowledgements
    with the seed's ring in memory."""

    @property
    def concurrency(self):
        """
        Flushes journaled at once: one per connection of the journal's pool
        (SQLite has one writer; on MariaDB one flush is prepared while the
        server writes another).  Two flushes holding the same alert (a
        resend) both insert it with INSERT IGNORE; the queues run its jobs
        once.
        """
        return getattr(self.journal.pool, "max", 1) if hasattr(self.journal, "pool") else 1

    def __init__(self, router, journal, clock, dtdPath=None, dispatcher=None, batchSize=2000,
                 maxErrors=10, configPath=None):
        self.router = router
        self.configPath = configPath
        self.journal = journal
        self.clock = clock
        self.dtdPath = dtdPath
        self.dtd = None
        self.dispatcher = dispatcher or NoDispatcher()
        self.batchSize = batchSize
        self.maxErrors = maxErrors
        self.services = ()
        self.inline = {}
        self.checkedByDecoder = False
        self.counts = {"alerts": 0, "new alerts": 0, "heartbeats": 0, "invalid documents": 0}
        #: Told what this module stored once it is committed: C{alertsStored()}
        #: and C{heartbeat(dict)}, and C{journalReady()} if it has one (the console,
        #: L{mice.console.interfaces.IConsoleFeed}); set by the builder.
        self.observers = []
        #: The correlation stage (L{mice.postproc.correlation.CorrelationStage}):
        #: act_generic's C{[CORRELATION]}, set by the builder; C{None}: off.
        self.correlation = None
        if dtdPath is not None:
            self.dtd = loadDtd(dtdPath)

    def start(self):
        d = self.journal.start()
        for agent in self.inline.values():
            d.addCallback(lambda _, agent=agent: agent.start())
        if self.correlation is not None:
            d.addCallback(lambda _: self.correlation.start())

        def ready(result):
            # The journal's tables exist now (a console reading them may
            # have looked before they did).
            for observer in self.observers:
                journalReady = getattr(observer, "journalReady", None)
                if journalReady is not None:
                    journalReady()
            return result

        return d.addCallback(ready)

    def stop(self):
        self.journal.close()
        return succeed(None)

    def reload(self):
        """
        Read the act_generic config and its match files again (C{SIGHUP}):
        the next flush routes with them; a flush already routed keeps the
        routing it had.  The reactions themselves (C{[REACTION_ID]},
        C{[RID_PIPENAME]}), the journal and the DTD are those the daemon
        started with: a change to them is warned about and applies at the
        next restart.  A reaction agent whose C{<PIPE>.conf} changed is built
        again from it and takes over its queue (the old one finishes what it
        has in flight); the others that can (C{reopen()}: reaction 3's file)
        open their files again, so a rotated file is let go of.

        @raise ReloadError: the config, a match file or an agent's config
            does not load (every bad line named); the old routing and
            agents keep running.
        """
        from mice.config import ConfigError, loadActGeneric, loadMatchFile
        from mice.management.routing import Router
        from mice.matchfile import MatchTable

        if self.configPath is None:
            raise ReloadError([f"{self.name}: built without a config file, nothing to read"])
        problems = []
        try:
            settings = loadActGeneric(self.configPath)
        except ConfigError as e:
            raise ReloadError(getattr(e, "errors", None) or [e]) from None
        except OSError as e:
            raise ReloadError([f"{e.filename or self.configPath}: {e.strerror or e}"]) from None
        matchFiles = {}
        for analyzer in settings.analyzers:
            if analyzer.matchFile in matchFiles:
                continue
            try:
                matchFiles[analyzer.matchFile] = loadMatchFile(analyzer.matchFile)
            except ConfigError as e:
                problems.extend(getattr(e, "errors", None) or [e])
            except OSError as e:
                problems.append(f"{self.configPath}: the match file of"
                                f" {analyzer.analyzerId!r}: {analyzer.matchFile}:"
                                f" {e.strerror or e}")
        replacements = self._rebuiltAgents(settings, problems)
        if problems:
            for agent, _ in replacements.values():
                agent.stop()
            raise ReloadError(problems)
        pipes = {reaction.rid: reaction.pipe for reaction in settings.reactions}
        if pipes != self.router.pipes:
            self.log.warn("{path}: [REACTION_ID]/[RID_PIPENAME] changed; the reactions apply"
                          " at the next restart, the running ones are kept",
                          path=self.configPath)
        tables = {analyzer.analyzerId: MatchTable.fromSettings(matchFiles[analyzer.matchFile])
                  for analyzer in settings.analyzers}
        router = Router(tables, self.router.pipes, settings.defaultRids or None)
        for problem in router.problems:
            self.log.warn("{path}: {problem}", path=self.configPath, problem=problem)
        router.counts.update(self.router.counts)
        self.router = router
        reopened = []
        for pipe, queue in getattr(self.dispatcher, "queues", {}).items():
            if pipe in replacements:
                agent, queue.configText = replacements[pipe]
                queue.replaceAgent(agent)
                continue
            reopen = getattr(queue.agent, "reopen", None)
            if callable(reopen):
                reopen()
                reopened.append(queue.agent.pipe)
        return (f"{len(tables)} match files, {len(router.pipes)} reactions"
                + (f"; reopened {', '.join(reopened)}" if reopened else "")
                + (f"; reconfigured {', '.join(sorted(replacements))}" if replacements else ""))

    def _rebuiltAgents(self, settings, problems):
        """
        The reaction agents whose C{<PIPE>.conf} changed (or appeared, or
        went) since they were built, built again from it: C{{pipe: (agent,
        the config's text)}}, not started.  A config that does not load adds its problems (the
        running agent is kept).  The alert database (its pool may be the
        journal's, its rows written in the journal's transaction) and the
        countermeasure reaction (its links, the console's source) are not
        rebuilt: a change to theirs is warned about and applies at the next
        restart.
        """
        from mice.config import ConfigError
        from mice.reactors import (
            ALERT_DB_PIPE,
            COUNTERMEASURE_PIPE,
            AgentUnavailable,
            agentConfigText,
            buildAgent,
        )

        fixed = {ALERT_DB_PIPE, COUNTERMEASURE_PIPE} | {
            agent.pipe for agent in self.inline.values()}
        out = {}
        for pipe, queue in getattr(self.dispatcher, "queues", {}).items():
            path = settings.agentConfig(pipe)
            text = agentConfigText(path)
            if text == getattr(queue, "configText", text):
                continue
            shown = path or f"{pipe}.conf"
            if pipe in fixed:
                self.log.warn("{path}: changed; {pipe} keeps its config until the next restart",
                              path=shown, pipe=pipe)
                continue
            try:
                agent = buildAgent(pipe, path, queue.clock, settings.pipePath)
            except ConfigError as e:
                problems.extend(getattr(e, "errors", None) or [e])
                continue
            except (AgentUnavailable, OSError, ValueError) as e:
                problems.append(f"{shown}: {e}")
                continue
            out[pipe] = (agent, text)
        return out

    def check(self, document):
        """The DTD's problems with C{document} as text, or C{None}."""
        if self.dtd is None:
            return None
        try:
            problems = validateTree(parseDocument(document), self.dtd)
        except IdmefError as e:
            problems = [str(e)]
        if not problems:
            return None
        self.counts["invalid documents"] += 1
        return problemText(problems)

    def routed(self, records, receivedAt):
        """
        Route a flush's records.

        @return: C{(routed alerts, received_alert rows, reaction_job rows,
            analyzer_heartbeat rows, {inline rid: [(key, row)]})}.
        """
        route = self.router.route
        pipes = self.router.pipes
        inline = self.inline
        out, alerts, jobs, heartbeats = [], [], [], []
        inlineRows = {rid: [] for rid in inline}
        seen = set()
        # What follows from a routing's reaction IDs, worked out once per
        # flush: whether the alert's document is kept in alert_entry
        # instead, the IDs as text, and each ID's pipe and inline agent.
        plans = {}
        for received in records:
            source, stream, seq = received.source, received.stream, received.seq
            for heartbeat in received.heartbeats:
                heartbeats.append((heartbeat.analyzerId, heartbeat.name, heartbeat.host,
                                   heartbeat.createTime, receivedAt, heartbeat.interval,
                                   heartbeat.messageId, source))
            if not received.alerts:
                continue
            if self.checkedByDecoder:
                problems = received.problems
                if problems is not None:
                    self.counts["invalid documents"] += 1
            else:
                problems = self.check(received.xml)
            for index, alert in enumerate(received.alerts):
                key = alertKey(source, stream, seq, index)
                if key in seen:
                    continue
                seen.add(key)
                decided = route(alert, count=False)
                rids = decided.rids
                plan = plans.get(rids)
                if plan is None:
                    # A document the alert database keeps in this transaction
                    # is not kept twice: the journal reads it from alert_entry.
                    plan = plans[rids] = (
                        any(rid in inline for rid in rids), ",".join(map(str, rids)),
                        tuple((rid, pipes[rid], inline.get(rid)) for rid in rids))
                inAlertEntry, ridsText, steps = plan
                document = received.document(index)
                routed = RoutedAlert(key, alert, document, decided.description, source,
                                     receivedAt, problems, rids, stream, seq, index)
                out.append((routed, decided))
                alerts.append((key, source, stream, seq, index, alert.analyzerId,
                               None if alert.alertId is None else f"0x{alert.alertId:04x}",
                               decided.description, decided.status, ridsText, problems,
                               receivedAt, None if inAlertEntry else document))
                for rid, pipe, agent in steps:
                    if agent is None:
                        jobs.append((key, rid, pipe, PENDING, 0, 0.0, None, receivedAt,
                                     receivedAt))
                    else:
                        inlineRows[rid].append((key, agent.rowFor(routed)))
                        jobs.append((key, rid, pipe, DONE, 1, 0.0,
                                     INLINE_OUTCOME % agent.description, receivedAt,
                                     receivedAt))
        return out, alerts, jobs, heartbeats, inlineRows

    def _tell(self, new, heartbeats):
        """
        Tell the observers what was just committed: new alerts (their
        C{alert_entry} rows when reaction 2 runs inline) and heartbeats.
        """
        for observer in self.observers:
            try:
                if new:
                    observer.alertsStored()
                for analyzerId, name, host, _, receivedAt, interval, _, _ in heartbeats:
                    observer.heartbeat({"analyzerid": analyzerId, "name": name, "host": host,
                                        "lastSeen": receivedAt, "interval": interval})
            except Exception:
                self.log.failure("telling {observer} what was stored failed", observer=observer)

    def process(self, records):
        if self.correlation is not None:
            return self.correlation.serialized(self._process, records)
        return self._process(records)

    def _process(self, records):
        receivedAt = isoTime(self.clock.seconds())
        out, alerts, jobs, heartbeats, inlineRows = self.routed(records, receivedAt)
        correlation = {}
        if self.correlation is not None:
            # The correlated alerts are routed and journaled with the flush
            # that made them, and the stage's checkpoint with them.
            try:
                made, state = self.correlation.correlate([routed.alert for routed, _ in out],
                                                         self.clock.seconds(), receivedAt)
            except Exception:
                self.correlation.failed()
                raise
            if made:
                more = self.routed(made, receivedAt)
                out, alerts, jobs = out + more[0], alerts + more[1], jobs + more[2]
                for rid, rows in more[4].items():
                    inlineRows[rid].extend(rows)
            if state is not None:
                correlation = {"correlation": state}
        self.counts["alerts"] += len(out)
        self.counts["heartbeats"] += len(heartbeats)
        if not alerts and not heartbeats and not correlation:
            return succeed(len(records))

        inlineRows = {rid: rows for rid, rows in inlineRows.items() if rows}

        def inline(txn, newKeys):
            for rid, rows in inlineRows.items():
                self.inline[rid].storeRows(txn, [row for key, row in rows if key in newKeys])

        early = {}

        def journaled(newKeys):
            new = [routed for routed, _ in out if routed.key in newKeys]
            self.counts["new alerts"] += len(new)
            for routed, decided in out:
                if routed.key in newKeys:
                    self.router.count(decided)
            self._tell(new, heartbeats)
            try:
                if early:
                    self.dispatcher.journaledNow(early)
                    self.dispatcher.offer(new, skip=frozenset(self.inline), done=early)
                else:
                    self.dispatcher.offer(new, skip=frozenset(self.inline))
            except Exception:
                # The jobs are journaled: the queues find them when they
                # next read the journal.  The batch is durable all the same.
                self.log.failure("handing {n} new alerts to the reaction queues failed",
                                 n=len(new))
            return len(records)

        inlineOrNone = inline if inlineRows else None
        runNow = getattr(self.dispatcher, "runNow", None)
        if (runNow is None or not getattr(self.dispatcher, "reactsNow", False)
                or not any(job[3] == PENDING for job in jobs)):
            d = self.journal.journalAlerts(alerts, jobs, heartbeats, inlineOrNone, **correlation)
        else:
            # The reactions an agent can do at once are done before the
            # journal's transaction, for the alerts it does not hold yet,
            # and journaled with their outcome: a job row written once, not
            # written pending and then changed.  The batch is acknowledged
            # after that transaction all the same.
            def journal(known):
                try:
                    early.update(runNow([routed for routed, _ in out
                                         if routed.key not in known],
                                        skip=frozenset(self.inline)))
                except Exception:
                    self.log.failure("reacting at once to {n} alerts failed",
                                     n=len(out) - len(known))
                rows = jobs
                if early:
                    rows = [early.get((row[0], row[1]), row) for row in jobs]
                return self.journal.journalAlerts(alerts, rows, heartbeats, inlineOrNone,
                                                  known=known, **correlation)

            d = self.journal.knownAlerts([row[0] for row in alerts]).addCallback(journal)
        if correlation:
            def committed(result):
                self.correlation.journaled(correlation["correlation"])
                return result

            def refused(failure):
                self.correlation.failed()
                return failure

            d.addCallbacks(committed, refused)
        return d.addCallback(journaled)
