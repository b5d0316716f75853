# -*- test-case-name: tests.integration.test_management_console -*-
"""
The console inside the ManagementHost (C{[CONSOLE]} of act_generic's
config, see C{docs/console.rst}): L{buildManagementConsole} wires the
console's read side over the alert database, its live feed (told by the
act_generic post-processor and the reaction queues what they committed),
and the countermeasure reaction (RID 4) as the console's
L{ICountermeasureSource} (L{CountermeasureSource}).

It lives in C{services/} so that neither C{postproc/} nor C{console/}
imports the other.
"""

import os
import time

from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from zope.interface import implementer

from mice.console.interfaces import ICountermeasureSource
from mice.protocols import reaction as messages

log = Logger()


@implementer(ICountermeasureSource)
class CountermeasureSource:
    """
    What the ReactionDaemons of the countermeasure reaction
    (L{mice.reactors.countermeasure.CountermeasureReaction}) have active,
    asked over its links; a lift is an C{undo} of the countermeasure's id.

    @param agent: the countermeasure reaction (its C{clients}, C{view} and
        C{activeCountermeasures()}).
    @param feed: the console's feed, told of lifts (or C{None}).
    """

    def __init__(self, agent, feed=None):
        self.agent = agent
        self.feed = feed
        self._lifts = 0

    def active(self):
        def flatten(view):
            out = []
            for daemon, entry in sorted(view.items()):
                host = entry.get("address", "").rsplit(":", 1)[0].strip("[]")
                for countermeasure in entry.get("active") or ():
                    out.append({"daemon": daemon, "host": host,
                                "id": countermeasure.get("id"),
                                "fid": countermeasure.get("fid"),
                                "params": dict(countermeasure.get("params") or {}),
                                "since": countermeasure.get("since"),
                                "until": countermeasure.get("until"),
                                "by": countermeasure.get("by"),
                                "state": countermeasure.get("state")})
            return out

        return self.agent.activeCountermeasures().addCallback(flatten)

    def lift(self, daemon, countermeasureId, by, reason):
        return ensureDeferred(self._lift(daemon, countermeasureId, by, reason))

    async def _lift(self, daemon, countermeasureId, by, reason):
        client = self.agent.clients.get(daemon)
        if client is None:
            raise LookupError(f"no ReactionDaemon {daemon!r}")
        self._lifts += 1
        requestId = f"lift-{os.getpid()}-{time.time():.6f}-{self._lifts}"
        why = "".join(c if c.isprintable() else " " for c in f"{by}: {reason}")[:200]
        answer = await client.request(messages.react(requestId, messages.UNDO,
                                                     target=countermeasureId, by=why))
        if answer["status"] != messages.DONE:
            text = answer.get("text", "")
            if text.startswith("no countermeasure"):
                raise LookupError(text)
            raise RuntimeError(f"{daemon}: {answer['status']}: {text}")
        if self.feed is not None:
            self.feed.countermeasureChanged({"daemon": daemon, "id": countermeasureId,
                                             "state": "lifted", "by": by})
        return answer.get("text") or f"lifted {countermeasureId}"


class _Observer:
    """
    What act_generic tells: the feed's hooks, and the journal's tables
    ready (the console reads the catalog again, then the new rows).
    """

    def __init__(self, feed, data):
        self.feed = feed
        self.data = data

    def alertsStored(self):
        self.feed.alertsStored()

    def heartbeat(self, analyzer):
        self.feed.heartbeat(analyzer)

    def journalReady(self):
        self.data.forgetTables()
        self.feed.alertsStored()


class ManagementConsole(MultiService):
    """
    The console of a ManagementHost, a child of its daemon: built with the
    daemon's metrics once they are attached (L{attachMetrics}), or at start
    without them.

    @ivar feed: the L{mice.console.feed.ConsoleFeed} the ManagementHost tells.
    @ivar data: the L{mice.console.data.SqlConsoleData}.
    @ivar console: the L{mice.console.service.ConsoleService}, once built.
    """

    def __init__(self, settings, data, feed, reactor, release=None):
        super().__init__()
        self.setName("management-console")
        self.settings = settings
        self.data = data
        self.feed = feed
        self.reactor = reactor
        self.console = None
        self._release = release

    def attachMetrics(self, metrics):
        if self.console is None:
            self._build(metrics)

    def _build(self, metrics):
        from mice.console.service import consoleService

        self.console = consoleService(self.settings, self.data, self.feed, self.reactor,
                                      metrics=metrics)
        self.console.setServiceParent(self)

    def startService(self):
        if self.console is None:
            self._build(None)
        super().startService()

    def stopService(self):
        d = super().stopService()
        if self._release is not None:
            release, self._release = self._release, None
            d.addBoth(lambda result: (release(), result)[1])
        return d


def buildManagementConsole(settings, post, reactions, reactor):
    """
    The console of an act_generic config with C{[CONSOLE]}.

    @param settings: the L{mice.config.ConsoleSettings}.
    @param post: the L{mice.postproc.actgeneric.ActGeneric} (its journal's
        pool is the alert database unless C{DATABASE} names another; its
        C{observers} are given the feed).
    @param reactions: the L{mice.services.management.ReactionService}
        (its queues' C{observers} are given the feed; the countermeasure
        reaction's agent, when it runs, is the countermeasure source).
    @return: a L{ManagementConsole}.
    """
    from mice.config import parseDatabaseUrl
    from mice.console.data import SqlConsoleData
    from mice.console.feed import ConsoleFeed
    from mice.db.pools import sharedConnectionPool

    release = None
    if settings.database is not None:
        pool, dialect, release = sharedConnectionPool(parseDatabaseUrl(settings.database),
                                                      reactor)
    else:
        pool, dialect = post.journal.pool, post.journal.dialect
    source = CountermeasureSource(None)
    queues = [queue for queue in reactions.queues.values()
              if callable(getattr(queue.agent, "activeCountermeasures", None))
              and hasattr(queue.agent, "clients")]
    agents = [queue.agent for queue in queues]
    data = SqlConsoleData(pool, dialect, reactor,
                          countermeasures=source if agents else None)
    feed = ConsoleFeed(data, reactor, countermeasurePipes=[queue.pipe for queue in queues])
    if agents:
        source.agent, source.feed = agents[0], feed
    post.observers.append(_Observer(feed, data))
    for queue in reactions.queues.values():
        queue.observers.append(feed)
    log.info("console for the ManagementHost: alerts from {db}; countermeasures {cm}",
             db=settings.database or getattr(post.journal, "description", "the journal's"),
             cm=agents[0].pipe if agents else "none (no countermeasure reaction)")
    return ManagementConsole(settings, data, feed, reactor, release)
