"""
Tests for L{mice.matchfile} and L{mice.management.routing}: the seed's
match file as a routing table, and what happens to alerts no match file
knows.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Alert
from mice.config import loadActGeneric, loadMatchFile
from mice.management.routing import (
    MATCHED,
    NO_MATCH_FILE,
    UNKNOWN_ALERT_ID,
    Route,
    Router,
)
from mice.matchfile import Match, MatchTable
from tests import ROOT

ETC = os.path.join(ROOT, "etc", "mice")
MATCH_FILE = os.path.join(ETC, "matchfiles", "match_file_aa_regex.txt")

#: Seed 7.2.3, read off the printed match file by hand: each alert ID, its
#: description, and the reactions ([RID_n] sections) that list it.
SEED_ROUTES = {
    0x1010: ("Authentication Success", (1, 2, 3)),
    0x1020: ("Authentication Failure", (1, 2, 3)),
    0x2010: ("Superuser writes to File", (1, 2, 3)),
    0x2020: ("Superuser opens File", (1, 2, 3)),
    0x2030: ("Superuser reads from File", (1, 2, 3)),
    0x2040: ("Superuser does Operation on Socket", (1, 2, 3)),
    0x2050: ("Superuser executes Code", (1, 2, 3)),
    0x3010: ("Read Success", (1, 2, 3)),
    0x3020: ("Read Failure", (1, 2, 3)),
    0x4010: ("Write Success", (1, 2, 3)),
    0x4020: ("Write Failure", (1, 2, 3)),
    0x5010: ("Monitoring UserID", (1, 2, 3)),
    0x5020: ("Monitoring GroupID", (1, 2, 3)),
    0x6010: ("Monitoring Application", (1, 2, 3, 4)),
    0x7010: ("Exploit Signature detected", (1, 2, 3, 4)),
    0x8010: ("Firewall Rule: Drop", (2,)),
    0x8020: ("Firewall Rule: Reject", (2,)),
    0x8030: ("Firewall Rule: Accept", (2,)),
    0x8040: ("Firewall Rule: Illegal", (2,)),
}

SEED_PIPES = {1: "rid_1_write_to_syslog", 2: "rid_2_send_to_alert_db",
              3: "rid_3_save_to_file", 4: "rid_4_countermeasure"}


def alert(alertId, analyzerId="MICE-RegEx", classification="IDMEF text"):
    return Alert("1", analyzerId, "2004-11-22T10:00:01+00:00", classification, alertId=alertId)


def seedRouter(**kwargs):
    settings = loadActGeneric(os.path.join(ETC, "mice_mod_pop_act_generic.conf"))
    return Router.fromSettings(settings, {MATCH_FILE: loadMatchFile(MATCH_FILE)}, **kwargs)


class MatchTableTests(SynchronousTestCase):
    def test_seedMatchFile(self):
        """
        Every alert ID of the seed's match file has its description and the
        reactions whose [RID_n] lists it; an ID it does not list has none.
        """
        table = MatchTable.fromSettings(loadMatchFile(MATCH_FILE))
        self.assertEqual(sorted(table), sorted(SEED_ROUTES))
        for aid, (description, rids) in SEED_ROUTES.items():
            self.assertEqual(table.lookup(aid), Match(description, rids), hex(aid))
        self.assertIsNone(table.lookup(0x9999))
        self.assertEqual(table.reactionIds(), {1, 2, 3, 4})

    def test_listedInRidOnly(self):
        """
        An ID a [RID_n] lists that [ALERT_ID] does not name still triggers
        its reactions, with no description.
        """
        table = MatchTable("f", [(0x1010, "A")], {1: (0x1010, 0x2020), 3: (0x2020,)})
        self.assertEqual(table.lookup(0x2020), Match(None, (1, 3)))
        self.assertEqual(table.lookup(0x1010), Match("A", (1,)))


class RouterTests(SynchronousTestCase):
    def test_everySeedAlertId(self):
        """
        With the seed's act_generic config and match file, every alert ID of
        the match file gets its description and its reactions (each with a
        pipe); the alert's own classification is not the description.
        """
        router = seedRouter()
        self.assertEqual(router.pipes, SEED_PIPES)
        self.assertEqual(router.problems, [])
        for aid, (description, rids) in SEED_ROUTES.items():
            self.assertEqual(router.route(alert(aid)), Route(description, rids, MATCHED), hex(aid))
        self.assertEqual(router.counts[MATCHED], len(SEED_ROUTES))

    def test_unknownAlertIdGetsTheDefault(self):
        """
        An ID the analyzer's match file does not list (or no ID at all) is
        routed to reaction 2, the alert database, described by its
        classification, and counted.
        """
        router = seedRouter()
        for aid in (0x9999, None):
            self.assertEqual(router.route(alert(aid, classification="Odd")),
                             Route("Odd", (2,), UNKNOWN_ALERT_ID))
        self.assertEqual(router.counts[UNKNOWN_ALERT_ID], 2)

    def test_analyzerWithoutMatchFile(self):
        """
        An analyzer with no match file (Prelude's, Snort's, the LogIDS
        agent's): its alerts go to the default reaction, even with an ID
        some other analyzer's file knows.
        """
        router = seedRouter()
        self.assertEqual(router.route(alert(0x1020, "prelude-lml", "Admin login")),
                         Route("Admin login", (2,), NO_MATCH_FILE))
        self.assertEqual(router.counts, {NO_MATCH_FILE: 1})

    def test_defaultRidsConfigured(self):
        router = Router({}, SEED_PIPES, defaultRids=[2, 3])
        self.assertEqual(router.route(alert(1)).rids, (2, 3))

    def test_noDefaultReaction(self):
        """
        Without an alert database pipe and without DEFAULT_RID, an unknown
        alert triggers nothing (it is still kept in the journal) and the
        problem is said at start.
        """
        router = Router({}, {1: "rid_1_write_to_syslog"})
        self.assertEqual(router.route(alert(1)).rids, ())
        self.assertIn("no default reaction", router.problems[0])

    def test_unservedReactionIds(self):
        """
        A match file naming a reaction ID that [REACTION_ID] lacks: that
        reaction does not run, the others do; it is said at start and
        counted.
        """
        table = MatchTable("mf.txt", [(0x1010, "A")], {1: (0x1010,), 7: (0x1010,)})
        router = Router({"MICE-RegEx": table}, {1: "rid_1_write_to_syslog",
                                                 2: "rid_2_send_to_alert_db"})
        self.assertEqual(router.route(alert(0x1010)), Route("A", (1,), MATCHED, (7,)))
        self.assertEqual(router.counts[("unserved rid", 7)], 1)
        self.assertIn("[7]", router.problems[0])

    def test_countLater(self):
        """
        C{count=False} leaves the counting to L{Router.count} (the
        post-processor counts only alerts that were new).
        """
        router = seedRouter()
        route = router.route(alert(0x1010), count=False)
        self.assertEqual(router.counts, {})
        router.count(route)
        self.assertEqual(router.counts, {MATCHED: 1})
