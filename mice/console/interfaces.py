"""
What the console is fed through, so that it never reaches into the
ManagementHost's post-processors (Buildbot's C{www} beside its data layer):

  - L{IConsoleData}, the read side: searches and lookups over the alert
    database, the console events, the reaction journal and the analyzers'
    heartbeats (L{mice.console.data.SqlConsoleData} is the one over SQL),
    and the countermeasures through an L{ICountermeasureSource};
  - L{IConsoleFeed}, the live side: what the ManagementHost tells the
    console as it happens (L{mice.console.feed.ConsoleFeed} fans it out to
    the open Server-Sent Events streams);
  - L{ICountermeasureSource}: the active countermeasures of the
    ReactionDaemons and lifting one (the ManagementHost's countermeasure
    reaction provides it; L{mice.console.data.NoCountermeasures} when there
    is none).

Every method returning data returns a Deferred firing with plain JSON-able
values (dicts, lists, strings, numbers, C{None}): the console serves them
as they are.  The shapes are in C{docs/console.rst}.
"""

from zope.interface import Attribute, Interface


class ICountermeasureSource(Interface):
    """
    The countermeasures active on the ReactionDaemons.
    """

    def active():
        """
        @return: a Deferred firing with a list of dicts: C{daemon} (the
            ReactionDaemon's name), C{host} (the host it acts on, for the
            host panes), C{id}, C{fid}, C{params} (a dict of strings),
            C{since}, C{until} (seconds since the epoch, C{until} C{None}
            when permanent), C{by}, C{state} (C{active} or C{lifting}).
        """

    def lift(daemon, countermeasureId, by, reason):
        """
        Lift one countermeasure now.

        @param by: who asks (the console user, C{console:admin}).
        @return: a Deferred firing with a short outcome text, or failing
            with a L{LookupError} (no such countermeasure or daemon) or
            another exception (the daemon refused or cannot be reached).
        """


class IConsoleData(Interface):
    """
    The console's read side.
    """

    def searchAlerts(search):
        """
        @param search: a L{mice.console.query.AlertSearch}.
        @return: a Deferred firing with C{{"alerts": [summary, ...],
            "next": cursor text or None}}, newest first.
        """

    def alert(rowId):
        """
        @return: a Deferred firing with C{{"alert": detail, "reactions":
            [job, ...]}} (the detail holds the whole IDMEF document), or
            C{None} when there is no such alert.
        """

    def alertsSince(rowId, limit):
        """
        @return: a Deferred firing with the summaries of the alerts stored
            after row C{rowId}, oldest first, at most C{limit}.
        """

    def consoleEventsSince(rowId, limit):
        """
        @return: a Deferred firing with the console events stored after row
            C{rowId}, oldest first, at most C{limit}.
        """

    def latestRowIds():
        """
        @return: a Deferred firing with C{(last alert row id, last console
            event row id)} (0 for an empty or missing table).
        """

    def hosts(linesPerHost):
        """
        @return: a Deferred firing with the host panes as the database
            holds them now (see L{mice.console.model.HostBoard.load}).
        """

    def hostAddresses(name):
        """
        @return: a Deferred firing with the addresses the console events
            know for the host C{name}.
        """

    def heartbeats(now, staleAfter):
        """
        @param now: seconds since the epoch.
        @param staleAfter: an analyzer is stale after this many intervals.
        @return: a Deferred firing with a list of analyzers.
        """

    def consoleLog(search):
        """
        @param search: a L{mice.console.query.LogSearch}.
        @return: a Deferred firing with C{{"counts": ..., "records": [...],
            "next": cursor or None}}: the dropped and rejected records.
        """

    def countermeasures():
        """
        @return: a Deferred firing with the active countermeasures
            (L{ICountermeasureSource.active}).
        """

    def liftCountermeasure(daemon, countermeasureId, by, reason):
        """
        @return: what L{ICountermeasureSource.lift} returns.
        """


class IConsoleFeed(Interface):
    """
    The console's live side: the ManagementHost calls these as things
    happen, from the reactor thread.  None of them blocks or fails.

    Alerts and console events are durable rows: the feed reads them from
    the database itself (every second, and at once when told), so that
    their event ids are the row ids and a browser can resume after a
    restart of the ManagementHost; the ManagementHost only tells it
    something was stored.  The other events are passed as they are.
    """

    subscribers = Attribute("How many streams are open.")

    def alertsStored():
        """New C{alert_entry} rows were committed: read them now."""

    def consoleEventsStored():
        """New C{console_event} rows were committed: read them now."""

    def reactionOutcome(outcome):
        """
        A reaction job changed: a dict with C{alertkey}, C{rid}, C{pipe},
        C{state}, C{attempts}, C{outcome}, C{updated}.
        """

    def countermeasureChanged(change):
        """
        A countermeasure was applied, extended or lifted: a dict as
        L{ICountermeasureSource.active} gives them, C{state} C{lifted}
        once lifted.  (The feed also finds changes made elsewhere by
        asking L{IConsoleData.countermeasures} while a stream is open,
        and publishes them with C{change}: C{applied}, C{extended},
        C{expired} or C{lifted}.)
        """

    def heartbeat(analyzer):
        """
        An analyzer's heartbeat: a dict with C{analyzerid}, C{name},
        C{host}, C{lastSeen} (ISO 8601 UTC), C{interval} (seconds or
        C{None}).
        """
