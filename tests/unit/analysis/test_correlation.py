"""
The correlation engine (L{mice.analysis.correlation}): thresholds,
distinct counts, suppression, event time and lateness, bounded memory,
checkpoints, and the rules file with its errors.
"""

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice import idmef
from mice.alerts import Alert, Node
from mice.analysis.correlation import (
    ANALYZER_ID,
    DEFAULT_RULES,
    Correlator,
    eventTime,
    loadCorrelation,
    loadCorrelationText,
)
from mice.config import ConfigError

BASE = datetime(2026, 12, 5, 10, 0, tzinfo=UTC).timestamp()

RULES = """
[OPTIONS]
LATENESS = 10

[brute]
ALERT_ID = 0x1020, 0x1021
KEY = source.address
COUNT = 3
WINDOW = 60
SUPPRESS = 100
NEW_ALERT_ID = 0x9010
CLASSIFICATION = "Brute force"

[spread]
ALERT_ID = 0x1020
KEY = user
DISTINCT = source.address
COUNT = 3
WINDOW = 300
SUPPRESS = 0
NEW_ALERT_ID = 0x9020
"""


def failure(n, second, source="192.0.2.1", user="root", alertId=0x1020, analyzer="agent-1"):
    """A failed login alert at BASE + second of event time."""
    stamp = datetime.fromtimestamp(BASE + second, UTC).isoformat()
    return Alert(messageId=str(n), analyzerId=analyzer, createTime=stamp, detectTime=stamp,
                 classification="Authentication Failure", alertId=alertId,
                 sources=(Node(address=source),), targets=(Node(user=user, hostname="h1"),))


def repeated(alert, times):
    """C{alert} of a log line whose message came C{times} times (C{repeated})."""
    if times < 2:
        return alert
    return replace(alert, additionalData=alert.additionalData + (("repeated", str(times)),))


def rules(text=RULES):
    return loadCorrelationText(text, "test.conf")


def names(alerts):
    """What identifies correlated alerts: id, key data and evidence."""
    return [(a.alertId, a.createTime, a.data("key"), a.correlation.alerts) for a in alerts]


class ThresholdTests(SynchronousTestCase):
    def test_countWithinWindow(self):
        """
        COUNT alerts with the same key within WINDOW make one correlated
        alert, once they are past the lateness (here: flushed), whose
        evidence is those alerts, by analyzer and message id.
        """
        c = Correlator(rules(), "corr")
        out = c.feedMany([failure(1, 0), failure(2, 10), failure(3, 20)])
        self.assertEqual(out, [])
        self.assertEqual(c.held, 2)     # 0 s is 10 s behind the watermark: counted
        out = c.flush()
        brute = [a for a in out if a.alertId == 0x9010]
        self.assertEqual(len(brute), 1)
        alert = brute[0]
        self.assertEqual(alert.analyzerId, "corr")
        self.assertEqual(alert.correlation.name, "brute")
        self.assertEqual(alert.correlation.alerts,
                         (("agent-1", "1"), ("agent-1", "2"), ("agent-1", "3")))
        self.assertEqual(alert.sources[0].address, "192.0.2.1")
        self.assertEqual(eventTime(alert), BASE + 20)
        self.assertEqual(alert.classification, "Brute force")
        self.assertEqual(alert.severity, "high")

    def test_watermarkReleases(self):
        """
        An alert is counted once a later one has moved the watermark
        LATENESS seconds past it: the correlated alert comes out of the
        feed that does so.
        """
        c = Correlator(rules())
        c.feedMany([failure(1, 0), failure(2, 1), failure(3, 2)])
        self.assertEqual(c.feed(failure(4, 12, source="198.51.100.9", alertId=0x1021)), [])
        out = c.feed(failure(5, 12.5, source="198.51.100.9", alertId=0x1021))
        self.assertEqual([a.alertId for a in out], [0x9010])
        self.assertEqual(out[0].analyzerId, ANALYZER_ID)

    def test_outsideWindow(self):
        """Alerts further apart than WINDOW do not add up."""
        c = Correlator(rules())
        out = c.feedMany([failure(1, 0), failure(2, 50), failure(3, 61)]) + c.flush()
        self.assertEqual([a for a in out if a.alertId == 0x9010], [])
        c = Correlator(rules())
        out = c.feedMany([failure(1, 0), failure(2, 50), failure(3, 60)]) + c.flush()
        self.assertEqual(len([a for a in out if a.alertId == 0x9010]), 1)

    def test_otherKeysAndIds(self):
        """Other sources, and alert ids no rule names, do not count."""
        c = Correlator(rules())
        out = c.feedMany([failure(1, 0), failure(2, 1, source="192.0.2.2"),
                          failure(3, 2, alertId=0x1010), failure(4, 3)]) + c.flush()
        self.assertEqual([a for a in out if a.alertId == 0x9010], [])
        self.assertEqual(c.counts["alerts"], 3)

    def test_missingKey(self):
        """An alert without the key's field is not counted by that rule."""
        c = Correlator(rules())
        bare = [Alert(str(n), "a", "2026-12-05T10:00:0%d+00:00" % n, "x", 0x1020)
                for n in range(5)]
        self.assertEqual(c.feedMany(bare) + c.flush(), [])
        self.assertEqual(c.held, 0)

    def test_suppression(self):
        """
        Once fired for a key, a rule does not fire again for it within
        SUPPRESS seconds; after that it needs COUNT new alerts.
        """
        c = Correlator(rules())
        feed = [failure(n, n) for n in range(9)]       # 0..8 s: fires at 2, suppressed after
        feed += [failure(100 + n, 101 + n) for n in range(2)]   # 101, 102: only 2 new
        feed += [failure(200, 103)]                     # the third after suppression
        out = [a for a in c.feedMany(feed) + c.flush() if a.alertId == 0x9010]
        self.assertEqual([eventTime(a) - BASE for a in out], [2, 103])
        self.assertEqual(out[1].correlation.alerts[0], ("agent-1", "100"))

    def test_sameAlertTwice(self):
        """An alert fed again (a resend) is counted once, held or counted."""
        c = Correlator(rules())
        c.feedMany([failure(1, 0), failure(1, 0)])
        self.assertEqual(c.counts["duplicate"], 1)
        c.flush()
        c.feed(failure(1, 0))
        self.assertEqual(c.counts["late"], 1)
        self.assertEqual(c.feedMany([failure(2, 1), failure(2, 1)]) + c.flush(), [])

    def test_late(self):
        """
        An alert older than the watermark minus LATENESS, once newer ones
        were counted, is late: not counted, and counted as late.
        """
        c = Correlator(rules())
        c.feedMany([failure(1, 100), failure(2, 101), failure(3, 120)])
        self.assertEqual(c.held, 1)
        self.assertEqual(c.feed(failure(4, 95)), [])
        self.assertEqual(c.counts["late"], 1)
        # Within the tolerance of the watermark and after what was counted:
        # it counts (102 > 101).
        c.feed(failure(5, 112))
        self.assertEqual(c.counts["late"], 1)
        self.assertEqual([a.alertId for a in c.flush()], [0x9010])

    def test_sameLineTwoAnalyzers(self):
        """
        A log line alerted on by two analyzers (the M-ICE and the LogIDS
        rules: the same origin) counts once in a threshold rule.
        """
        def both(n, second):
            return [replace(failure(n, second, analyzer=analyzer),
                            additionalData=(("origin", f"gate /var/log/auth.log {n}"),))
                    for analyzer in ("MICE-RegEx", "MICE-LogIDS")]

        c = Correlator(rules())
        out = c.feedMany(both(1, 0) + both(2, 1)) + c.flush()
        self.assertEqual([a for a in out if a.alertId == 0x9010], [])
        self.assertEqual(c.counts["same line"], 2)
        c = Correlator(rules())
        out = c.feedMany(both(1, 0) + both(2, 1) + both(3, 2)) + c.flush()
        [brute] = [a for a in out if a.alertId == 0x9010]
        self.assertEqual([m for _, m in brute.correlation.alerts], ["1", "2", "3"])

    def test_sameLineAfterFiring(self):
        """
        The other analyzer's alert of the line that made a rule fire is not
        the first piece of evidence of the next window: the line still
        counts once (it did twice, with a threshold rule and a distinct
        one alike, when the window was emptied between the two alerts).
        """
        def both(n, second, source="192.0.2.1"):
            return [replace(failure(n, second, source=source, analyzer=analyzer),
                            additionalData=(("origin", f"gate /var/log/auth.log {n}"),))
                    for analyzer in ("MICE-RegEx", "MICE-LogIDS")]

        unsuppressed = RULES.replace("SUPPRESS = 100", "SUPPRESS = 0")
        c = Correlator(rules(unsuppressed))
        out = c.feedMany([a for n in range(1, 6) for a in both(n, n)]) + c.flush()
        # Lines 1-3 fire; 4 and 5 are two lines of the next window, not three.
        self.assertEqual([[m for _, m in a.correlation.alerts] for a in out
                          if a.alertId == 0x9010], [["1", "2", "3"]])
        c = Correlator(rules(unsuppressed))
        out = c.feedMany([a for n in range(1, 6) for a in both(n, n, f"192.0.2.{n}")])
        out += c.flush()
        self.assertEqual([sorted(m for _, m in a.correlation.alerts) for a in out
                          if a.alertId == 0x9020], [["1", "2", "3"]])
        # Kept across a restart (a checkpoint taken between the two alerts).
        c = Correlator(rules(unsuppressed))
        alerts = [a for n in range(1, 6) for a in both(n, n)]
        out = c.feedMany(alerts[:5]) + c.flush()
        c = Correlator(rules(unsuppressed), state=c.checkpoint())
        out += c.feedMany(alerts[5:]) + c.flush()
        self.assertEqual(len([a for a in out if a.alertId == 0x9010]), 1)

    def test_analyzersAtTheirOwnPace(self):
        """
        Live, an analyzer running ahead (a backlog sent fast) does not make
        another one's alerts late: alerts are counted up to the earliest
        of the latest event times of the analyzers heard from lately.
        """
        fast = [failure(n, n, analyzer="fast", source="192.0.2.9") for n in range(1, 60)]
        slow = [failure(100 + n, n, analyzer="slow") for n in range(1, 4)]
        first = failure(99, 0, analyzer="slow", source="192.0.2.8")
        live = Correlator(rules())
        out = live.feedMany([first] + fast, now=BASE + 100) + live.feedMany(slow, now=BASE + 101)
        out += live.flush()
        self.assertEqual(live.counts["late"], 0)
        self.assertEqual(len([a for a in out if a.data("key") == "source.address=192.0.2.1"]),
                         1)
        # Offline the input is in the log's order: the same feed is late.
        offline = Correlator(rules())
        offline.feedMany([first] + fast + slow)
        self.assertEqual(offline.counts["late"], 3)

    def test_advance(self):
        """
        advance() counts what has waited LATENESS seconds of processing
        time, so live traffic is not held until something newer comes.
        """
        c = Correlator(rules())
        for n in range(3):
            c.feed(failure(n, n), now=1000.0 + n)
        self.assertEqual(c.advance(1005.0), [])
        self.assertEqual(c.advance(1010.0), [])
        self.assertEqual(c.held, 2)
        self.assertEqual([a.alertId for a in c.advance(1012.0)], [0x9010])
        self.assertEqual(c.held, 0)

    def test_future(self):
        """
        With a processing time, an event time far ahead of it is taken as
        the processing time: one host's broken clock does not make every
        other host's alerts late.
        """
        c = Correlator(rules())
        c.feed(failure(1, 10 ** 6), now=BASE)
        self.assertEqual(c.counts["future"], 1)
        self.assertEqual(c.watermark, BASE)


class DistinctTests(SynchronousTestCase):
    def test_distinctSources(self):
        """
        DISTINCT counts different values: failures against one user from
        three sources make 0x9020; the same source again does not count.
        """
        c = Correlator(rules())
        feed = [failure(1, 0, source="192.0.2.1"), failure(2, 1, source="192.0.2.1"),
                failure(3, 2, source="192.0.2.2")]
        self.assertEqual([a for a in c.feedMany(feed) + c.flush() if a.alertId == 0x9020], [])
        c = Correlator(rules())
        feed.append(failure(4, 200, source="192.0.2.3"))
        out = [a for a in c.feedMany(feed) + c.flush() if a.alertId == 0x9020]
        self.assertEqual(len(out), 1)
        self.assertEqual([s.address for s in out[0].sources],
                         ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        self.assertEqual(out[0].targets[0].user, "root")
        self.assertEqual(out[0].correlation.alerts,
                         (("agent-1", "2"), ("agent-1", "3"), ("agent-1", "4")))

    def test_distinctWindow(self):
        """The distinct values must fall within WINDOW."""
        c = Correlator(rules())
        feed = [failure(1, 0, source="192.0.2.1"), failure(2, 200, source="192.0.2.2"),
                failure(3, 301, source="192.0.2.3")]
        self.assertEqual([a for a in c.feedMany(feed) + c.flush() if a.alertId == 0x9020], [])


class MemoryTests(SynchronousTestCase):
    def test_expiredKeysForgotten(self):
        """A key whose window and suppression are over is forgotten."""
        c = Correlator(rules())
        c.feedMany([failure(n, n, source=f"10.0.{n}.1", user=f"u{n}") for n in range(50)])
        c.feed(failure(99, 10000))
        c.flush()
        self.assertEqual(c.keys, 2)

    def test_maxKeys(self):
        """Beyond MAX_KEYS the least recently seen keys are evicted, and counted."""
        c = Correlator(rules(RULES.replace("LATENESS = 10", "LATENESS = 10\nMAX_KEYS = 5")))
        c.feedMany([failure(n, n / 100, source=f"10.0.{n}.1", user="u") for n in range(20)])
        c.flush()
        self.assertEqual(len(c._windows[0]), 5)
        self.assertEqual(c.counts["evicted"], 15)

    def test_maxPending(self):
        """The reorder buffer holds at most MAX_PENDING alerts."""
        c = Correlator(rules(RULES.replace("LATENESS = 10", "LATENESS = 1000\nMAX_PENDING = 4")))
        c.feedMany([failure(n, n) for n in range(10)])
        self.assertEqual(c.held, 4)
        self.assertEqual(c.counts["forced"], 6)


class CheckpointTests(SynchronousTestCase):
    def test_roundTrip(self):
        """
        A correlator made from another's checkpoint goes on as the other
        would: held alerts, windows, suppression and watermark kept.
        """
        feed = [failure(n, n * 3, source=f"192.0.2.{n % 2}") for n in range(20)]
        whole = Correlator(rules())
        expected = whole.feedMany(feed) + whole.flush()
        first = Correlator(rules())
        out = first.feedMany(feed[:7])
        second = Correlator(rules(), state=first.checkpoint())
        out += second.feedMany(feed[7:]) + second.flush()
        self.assertEqual(names(out), names(expected))
        self.assertTrue(expected)

    def test_changedRuleStartsAgain(self):
        """The state of a rule whose count changed is dropped; others are kept."""
        first = Correlator(rules())
        first.feedMany([failure(1, 0, source="192.0.2.1"), failure(2, 1, source="192.0.2.2")])
        first.flush()
        changed = Correlator(rules(RULES.replace("COUNT = 3\nWINDOW = 60", "COUNT = 4\nWINDOW = 60")),
                             state=first.checkpoint())
        self.assertEqual(len(changed._windows[0]), 0)
        self.assertEqual(len(changed._windows[1]), 1)

    def test_badState(self):
        """A state of another version is refused."""
        with self.assertRaises(ValueError):
            Correlator(rules(), state={"version": 99})


class RepeatedTests(SynchronousTestCase):
    """
    An alert of a line rsyslog wrote once for several (C{message repeated N
    times}: its additional data C{repeated}) is N pieces of evidence.
    """

    def test_weighs(self):
        """
        One alert repeated COUNT times makes the threshold's correlated
        alert: its evidence names it once, its C{count} says how many
        events; a distinct rule counts its value once.
        """
        c = Correlator(rules(), "corr")
        out = c.feedMany([repeated(failure(1, 0), 3)]) + c.flush()
        [brute] = out
        self.assertEqual(brute.alertId, 0x9010)
        self.assertEqual(brute.correlation.alerts, (("agent-1", "1"),))
        self.assertEqual(brute.data("count"), "3")
        c = Correlator(rules(), "corr")
        out = c.feedMany([repeated(failure(1, 0), 2), failure(2, 5)]) + c.flush()
        self.assertEqual([(a.alertId, a.data("count"), a.correlation.alerts) for a in out],
                         [(0x9010, "3", (("agent-1", "1"), ("agent-1", "2")))])
        # spread: three sources, not three events of one.
        c = Correlator(rules(), "corr")
        out = c.feedMany([repeated(failure(n, 0, source=f"192.0.2.{n}"), 9)
                          for n in (1, 2)]) + c.flush()
        self.assertEqual(sorted(a.alertId for a in out), [0x9010, 0x9010])

    def test_notANumber(self):
        """A C{repeated} that is no count above 1 weighs 1 (IDMEF from elsewhere)."""
        for value in ("x", "0", "-5", "", "2.5"):
            c = Correlator(rules(), "corr")
            alert = replace(failure(1, 0), additionalData=(("repeated", value),))
            self.assertEqual(c.feedMany([alert, failure(2, 1)]) + c.flush(), [], value)

    def test_sameLineOnceWithItsWeight(self):
        """
        The M-ICE and the LogIDS alert of one repeated line count as the
        line's events once, not twice.
        """
        def both(n, second, times):
            return [repeated(replace(failure(n, second, analyzer=analyzer), additionalData=(
                ("origin", f"gate /var/log/auth.log {n}"),)), times)
                for analyzer in ("MICE-RegEx", "MICE-LogIDS")]

        c = Correlator(rules())
        self.assertEqual(c.feedMany(both(1, 0, 2)) + c.flush(), [])
        c = Correlator(rules())
        [brute] = c.feedMany(both(1, 0, 2) + both(2, 1, 1)) + c.flush()
        self.assertEqual(brute.data("count"), "3")

    def test_heldAcrossRestart(self):
        """
        A held alert's weight is in the checkpoint; a checkpoint of
        version 3 (before weights) is continued from, each alert weighing 1.
        """
        import json
        import zlib

        first = Correlator(rules(), "corr")
        self.assertEqual(first.feedMany([repeated(failure(1, 0), 3)]), [])
        state = first.checkpoint()
        [brute] = Correlator(rules(), "corr", state=state).flush()
        self.assertEqual(brute.data("count"), "3")
        old = json.loads(zlib.decompress(state))
        old["version"] = 3
        old["pending"] = [row[:6] for row in old["pending"]]
        self.assertEqual(Correlator(rules(), "corr", state=old).flush(), [])


#: A run of failures: (message number, second, source index).
_runs = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 3)), min_size=0, max_size=60)


def _feedFrom(run):
    # Some alerts are of a message that came several times (weights 2-4).
    return [repeated(failure(n, second, source=f"192.0.2.{src}", user=f"u{(n + src) % 3}",
                             alertId=0x1020 if n % 3 else 0x1021), n % 5)
            for n, (second, src) in enumerate(sorted(run))]


class PropertyTests(SynchronousTestCase):
    @given(_runs, st.lists(st.integers(0, 60), max_size=8), st.data())
    def test_anySplitAnyRestart(self, run, cuts, data):
        """
        The same alerts, split into batches anywhere and restarted from a
        checkpoint after any batch, give the same correlated alerts as one
        run from start to end.
        """
        feed = _feedFrom(run)
        whole = Correlator(rules())
        expected = whole.feedMany(feed) + whole.flush()
        bounds = sorted({min(cut, len(feed)) for cut in cuts} | {0, len(feed)})
        correlator = Correlator(rules())
        out = []
        for start, end in zip(bounds, bounds[1:]):
            out += correlator.feedMany(feed[start:end])
            if data.draw(st.booleans()):
                correlator = Correlator(rules(), state=correlator.checkpoint())
        out += correlator.flush()
        self.assertEqual(names(out), names(expected))

    @given(_runs, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=8),
           st.data())
    def test_liveRestartAnywhere(self, run, steps, data):
        """
        Live (processing times given, advance() between batches), a
        restart from the checkpoint after any batch changes nothing.
        """
        feed = _feedFrom(run)
        bounds = sorted({min(cut, len(feed)) for cut, _ in steps} | {0, len(feed)})
        waits = [wait for _, wait in steps] + [0] * len(bounds)
        restarts = [data.draw(st.booleans()) for _ in bounds]

        def live(restart):
            correlator, out, now = Correlator(rules()), [], BASE
            for i, (start, end) in enumerate(zip(bounds, bounds[1:])):
                for alert in feed[start:end]:
                    now += 0.5
                    out += correlator.feed(alert, now)
                now += waits[i]
                out += correlator.advance(now)
                if restart and restarts[i]:
                    correlator = Correlator(rules(), state=correlator.checkpoint())
            return out + correlator.flush()

        self.assertEqual(names(live(True)), names(live(False)))

    @given(_runs, st.randoms(use_true_random=False))
    def test_anyOrderWithinLateness(self, run, random):
        """
        Alerts arriving out of order, each at most LATENESS seconds after
        a newer one, give what they give in event-time order: a replayed
        backlog gives what live traffic gave.
        """
        feed = _feedFrom(run)
        inOrder = Correlator(rules())
        expected = inOrder.feedMany(feed) + inOrder.flush()
        # Shuffle within blocks of 10 s of event time (LATENESS is 10).
        blocks = {}
        for alert in feed:
            blocks.setdefault(int(eventTime(alert) - BASE) // 10, []).append(alert)
        shuffled = []
        for block in sorted(blocks):
            alerts = blocks[block]
            random.shuffle(alerts)
            shuffled += alerts
        mixed = Correlator(rules())
        out = mixed.feedMany(shuffled) + mixed.flush()
        self.assertEqual(mixed.counts["late"], 0)
        self.assertEqual(names(out), names(expected))


class IdmefTests(SynchronousTestCase):
    def test_correlationAlert(self):
        """
        A correlated alert is IDMEF with a CorrelationAlert naming each
        evidence alert (alertident with its analyzerid), valid against the
        RFC 4765 DTD, and reads back the same.
        """
        c = Correlator(rules())
        alert = [a for a in c.feedMany([failure(n, n) for n in range(3)]) + c.flush()
                 if a.alertId == 0x9010][0]
        document = idmef.toXml(alert)
        self.assertEqual(document, idmef._toXmlLxml(alert))
        self.assertIn(b'<CorrelationAlert><name>brute</name><alertident analyzerid="agent-1">0'
                      b"</alertident>", document)
        self.assertEqual(idmef.fromXml(document), [alert])
        self.assertEqual(idmef.validate(document, idmef.__file__.replace(
            "idmef.py", "data/idmef-message.dtd")), [])


class RulesFileTests(SynchronousTestCase):
    def test_default(self):
        """The shipped rules load: 0x9010, 0x9020, 0x9030."""
        loaded = loadCorrelation(DEFAULT_RULES)
        self.assertEqual([r.newAlertId for r in loaded.rules], [0x9010, 0x9020, 0x9030])
        brute = loaded.rules[0]
        self.assertEqual((brute.count, brute.window, brute.key), (5, 60, ("source.address",)))
        self.assertEqual(brute.alertIds, {0x1020, 0x1021, 0x1023, 0x1025, 0x1029, 0x102B,
                                           0x102C})
        self.assertIn(0x7010, loaded.rules[2].alertIds)

    def test_defaultBruteForce(self):
        """Five failed logins from one address within 60 s make 0x9010; four do not."""
        def run(n):
            c = Correlator(loadCorrelation(DEFAULT_RULES))
            return [a.alertId for a in c.feedMany([failure(i, i * 10) for i in range(n)])
                    + c.flush()]
        self.assertEqual(run(4), [])
        self.assertEqual(run(5), [0x9010])

    def assertError(self, text, *expected):
        with self.assertRaises(ConfigError) as caught:
            loadCorrelationText(text, "r.conf")
        message = str(caught.exception)
        for part in expected:
            self.assertIn(part, message)

    def test_errors(self):
        """Every bad line is named with file:line."""
        self.assertError("[a]\nALERT_ID = 0x1020\nKEY = source.address\nCOUNT = 0\n"
                         "WINDOW = 60\nNEW_ALERT_ID = 0x9010\n", "r.conf:4:", "COUNT")
        self.assertError("[a]\nALERT_ID = 0x1020\nKEY = nowhere\nCOUNT = 2\n"
                         "WINDOW = 60\nNEW_ALERT_ID = 0x9010\n", "r.conf:3:", "unknown field")
        self.assertError("[a]\nALERT_ID = 0x1020\n", "r.conf:1:", "missing KEY")
        self.assertError("[a]\nALERT_ID = bad\nKEY = user\nCOUNT = 2\nWINDOW = x\n"
                         "NEW_ALERT_ID = 0x9010\nFOO = 1\n",
                         "r.conf:2:", "r.conf:5:", "r.conf:7:", "unknown key 'FOO'")
        self.assertError("[OPTIONS]\nLATENESS = -1\n", "r.conf:2:", "LATENESS")
        self.assertError("garbage\n", "r.conf:1:")
        two = ("[%s]\nALERT_ID = 0x1020\nKEY = user\nCOUNT = 2\nWINDOW = 6\n"
               "NEW_ALERT_ID = 0x9010\n")
        self.assertError(two % "a" + two % "b", "r.conf:7:", "already made by [a]")

    def test_unreadable(self):
        with self.assertRaises(ConfigError) as caught:
            loadCorrelation("/nonexistent/correlation.conf")
        self.assertIn("/nonexistent/correlation.conf", str(caught.exception))
