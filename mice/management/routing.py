# -*- test-case-name: tests.unit.management.test_routing -*-
"""
The act_generic routing (seed 7.2.2 and 7.2.3): an alert's analyzer ID
selects its match file (C{[ANALYZER_ID]} ANAID paired with
C{[ANALYZER_MATCHFILE]} MF), the match file gives the description of its
alert ID and every reaction ID whose C{[RID_n]} lists it, and
C{[REACTION_ID]} RID paired with C{[RID_PIPENAME]} PIPE names the reaction
agent that runs it.

Nothing is dropped here.  An alert from an analyzer that has no match
file, or whose alert ID its match file does not list (or that carries no
M-ICE alert ID at all, as Prelude's and Snort's), is routed to the
I{default reactions}: by default the reaction IDs whose pipe is
C{rid_2_send_to_alert_db} (the alert database), so it is stored where the
operator looks; C{DEFAULT_RID} in act_generic's C{[MISC]} says otherwise.
Such alerts are counted by what was missing (L{Router.counts}).  Every
alert, routed or not, is also kept in the reaction journal's alert table.

Pure: no I/O, no reactor.
"""

from collections import Counter
from typing import NamedTuple

#: The pipe of the alert database reaction: what runs by default.
ALERT_DB_PIPE = "rid_2_send_to_alert_db"

#: How an alert was routed.
MATCHED = "matched"
UNKNOWN_ALERT_ID = "unknown alert id"
NO_MATCH_FILE = "no match file"


class Route(NamedTuple):
    description: str
    """The C{alertdesc}: the match file's description, else the alert's
    IDMEF classification text."""
    rids: tuple
    """The reaction IDs to run, ascending, each with an agent (a pipe)."""
    status: str
    """L{MATCHED}, L{UNKNOWN_ALERT_ID} or L{NO_MATCH_FILE}."""
    unserved: tuple = ()
    """Reaction IDs the match file names that no agent serves (no PIPE)."""


class Router:
    """
    Routes alerts.

    @ivar pipes: C{{rid: pipe name}}.
    @ivar defaultRids: the reaction IDs of an alert no match file knows.
    @ivar counts: C{Counter} of alerts by status, and of reaction IDs a
        match file names but no C{[REACTION_ID]} serves
        (C{("unserved rid", rid)}).
    @ivar problems: what is inconsistent in the configuration, as
        sentences, for the log at start.
    """

    def __init__(self, tables, pipes, defaultRids=None):
        """
        @param tables: C{{analyzer ID: L{mice.matchfile.MatchTable}}}.
        @param pipes: C{{rid: pipe name}} (act_generic's RID/PIPE pairs).
        @param defaultRids: the default reactions; C{None}: the RIDs whose
            pipe is L{ALERT_DB_PIPE}.
        """
        self.tables = dict(tables)
        self.pipes = dict(pipes)
        if defaultRids is None:
            defaultRids = [rid for rid, pipe in self.pipes.items() if pipe == ALERT_DB_PIPE]
        self.problems = []
        unknownDefaults = sorted(set(defaultRids) - set(self.pipes))
        if unknownDefaults:
            self.problems.append(f"DEFAULT_RID {unknownDefaults} has no PIPE in [RID_PIPENAME];"
                                 " ignored")
        self.defaultRids = tuple(sorted(set(defaultRids) & set(self.pipes)))
        if not self.defaultRids:
            self.problems.append("no default reaction (no RID has the pipe"
                                 f" {ALERT_DB_PIPE}, and DEFAULT_RID is not set): alerts no"
                                 " match file knows are kept in the journal only")
        for analyzerId, table in self.tables.items():
            unserved = sorted(table.reactionIds() - set(self.pipes))
            if unserved:
                self.problems.append(
                    f"{table.path} (analyzer {analyzerId!r}) triggers reaction IDs {unserved},"
                    " which [REACTION_ID] does not list: those reactions do not run")
        self.counts = Counter()
        self._cache = {}

    @classmethod
    def fromSettings(cls, settings, matchFiles):
        """
        @param settings: L{mice.config.ActGenericSettings}.
        @param matchFiles: C{{path: L{mice.config.MatchFileSettings}}} of
            every file C{settings} names.
        """
        from mice.matchfile import MatchTable

        tables = {analyzer.analyzerId: MatchTable.fromSettings(matchFiles[analyzer.matchFile])
                  for analyzer in settings.analyzers}
        pipes = {reaction.rid: reaction.pipe for reaction in settings.reactions}
        return cls(tables, pipes, settings.defaultRids or None)

    def route(self, alert, count=True):
        """
        @param alert: a L{mice.alerts.Alert}.
        @param count: whether to count it in L{counts} now (else
            L{count} it once it is known to be new).
        @return: its L{Route}.
        """
        key = (alert.analyzerId, alert.alertId)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._route(*key)
        status, description, rids, unserved = cached
        route = Route(description or alert.classification, rids, status, unserved)
        if count:
            self.count(route)
        return route

    def count(self, route):
        """Count one alert routed as C{route} in L{counts}."""
        self.counts[route.status] += 1
        for rid in route.unserved:
            self.counts[("unserved rid", rid)] += 1

    def _route(self, analyzerId, alertId):
        if len(self._cache) > 4096:
            self._cache.clear()
        table = self.tables.get(analyzerId)
        if table is None:
            return NO_MATCH_FILE, None, self.defaultRids, ()
        match = table.lookup(alertId) if alertId is not None else None
        if match is None:
            return UNKNOWN_ALERT_ID, None, self.defaultRids, ()
        served = tuple(rid for rid in match.rids if rid in self.pipes)
        unserved = tuple(rid for rid in match.rids if rid not in self.pipes)
        return MATCHED, match.description, served, unserved
