# -*- test-case-name: tests.unit.management.test_routing -*-
"""
A match file (seed 7.2.3) as a routing table: alert ID -> description and
the reaction IDs it triggers.

The file itself is read by L{mice.config.loadMatchFile}
(C{[ALERT_ID]}/C{[ALERT_ID_DESCRIPTION]} paired by position, one
C{[RID_n]} section of C{AID_n} keys per reaction); this is the lookup the
ManagementHost does for every alert, made once per file.  Pure.
"""

from typing import NamedTuple


class Match(NamedTuple):
    """
    What a match file says about one alert ID.
    """

    description: str | None
    """The C{AID_DESC} paired with the ID (C{None}: empty or none)."""
    rids: tuple
    """The reaction IDs whose C{[RID_n]} lists the ID, ascending."""


class MatchTable:
    """
    The lookup of one match file.

    @ivar path: the file, for logs.
    """

    def __init__(self, path, alerts, reactions):
        """
        @param alerts: C{(alert ID, description)} pairs, in file order.
        @param reactions: C{{rid: (alert ID, ...)}}.
        """
        self.path = path
        rids = {}
        for rid, aids in reactions.items():
            for aid in aids:
                rids.setdefault(aid, set()).add(rid)
        self._matches = {}
        for aid, description in alerts:
            self._matches[aid] = Match(description or None, tuple(sorted(rids.pop(aid, ()))))
        # An ID a [RID_n] lists without [ALERT_ID] naming it (check-config
        # warns): it still triggers its reactions, without a description.
        for aid, found in rids.items():
            self._matches[aid] = Match(None, tuple(sorted(found)))

    @classmethod
    def fromSettings(cls, settings):
        """
        @param settings: a L{mice.config.MatchFileSettings}.
        """
        return cls(settings.path, settings.alerts, settings.reactions)

    def __contains__(self, aid):
        return aid in self._matches

    def __iter__(self):
        return iter(self._matches)

    def lookup(self, aid):
        """
        @return: the L{Match} of C{aid}, or C{None} when the file does not
            list it.
        """
        return self._matches.get(aid)

    def reactionIds(self):
        """Every reaction ID some alert of the file triggers."""
        return frozenset(rid for match in self._matches.values() for rid in match.rids)
