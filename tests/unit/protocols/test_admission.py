"""
Tests for L{mice.protocols.admission}: who may hold a listener's
connections, decided with time and free file descriptors passed in.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.config import ListenLimits
from mice.protocols import admission
from mice.protocols.admission import (
    FD_EXHAUSTED,
    FD_RESERVE,
    HANDSHAKE_TIMEOUT,
    IDLE_TIMEOUT,
    MAXCONN,
    PENDING,
    PER_PEER,
    AdmissionPolicy,
    WarningLimiter,
    peerKey,
)


def limits(**kw):
    values = dict(maxConnections=10, maxPerPeer=3, maxPending=5, fdReserve=8,
                  warnInterval=60.0)
    values.update(kw)
    return ListenLimits(**values)


class PeerKeyTests(SynchronousTestCase):
    def test_ipv4(self):
        self.assertEqual(peerKey("10.0.0.5"), "10.0.0.5")

    def test_ipv6CountedByItsSlash64(self):
        """
        One host or site gets a /64: its addresses are one peer.
        """
        self.assertEqual(peerKey("2001:db8:1:2::5"), "2001:db8:1:2::/64")
        self.assertEqual(peerKey("2001:db8:1:2:ffff::9"), peerKey("2001:db8:1:2::1"))
        self.assertNotEqual(peerKey("2001:db8:1:3::1"), peerKey("2001:db8:1:2::1"))
        self.assertEqual(peerKey("fe80::1%eth0"), "fe80::/64")

    def test_mappedIpv4(self):
        self.assertEqual(peerKey("::ffff:10.0.0.5"), "10.0.0.5")

    def test_unixSocket(self):
        self.assertIsNone(peerKey(None))


class AdmissionTests(SynchronousTestCase):
    def test_admitAndClose(self):
        policy = AdmissionPolicy(limits())
        decision = policy.admit("10.0.0.1", 0)
        self.assertIsNone(decision.reason)
        self.assertEqual(decision.notices, ())
        counters = policy.counters()
        self.assertEqual((counters["open_connections"], counters["pending_connections"],
                          counters["accepted_total"]), (1, 1, 1))
        policy.authenticated(decision.admitted, 1)
        self.assertEqual(policy.counters()["authenticated_connections"], 1)
        policy.closed(decision.admitted)
        self.assertEqual(policy.counters(), {
            "open_connections": 0, "authenticated_connections": 0, "pending_connections": 0,
            "accepted_total": 1, "refused_total": dict.fromkeys(admission.REASONS, 0),
            "handshake_timeouts_total": 0, "idle_timeouts_total": 0,
            "protocol_errors_total": 0})

    def test_perPeer(self):
        policy = AdmissionPolicy(limits(maxPending=100))
        for _ in range(3):
            self.assertIsNotNone(policy.admit("10.0.0.1", 0).admitted)
        decision = policy.admit("10.0.0.1", 0)
        self.assertEqual((decision.admitted, decision.reason), (None, PER_PEER))
        # Others are not affected.
        self.assertIsNotNone(policy.admit("10.0.0.2", 0).admitted)
        self.assertEqual(policy.counters()["refused_total"][PER_PEER], 1)

    def test_perPeerCountsAuthenticatedToo(self):
        policy = AdmissionPolicy(limits())
        for _ in range(3):
            policy.authenticated(policy.admit("10.0.0.1", 0).admitted, 0)
        self.assertEqual(policy.admit("10.0.0.1", 0).reason, PER_PEER)

    def test_unixSocketsHaveNoPerPeerLimit(self):
        policy = AdmissionPolicy(limits())
        for _ in range(5):
            self.assertIsNotNone(policy.admit(None, 0).admitted)

    def test_maxConnections(self):
        policy = AdmissionPolicy(limits(maxPending=100))
        admitted = [policy.admit(f"10.0.0.{i}", 0).admitted for i in range(10)]
        self.assertEqual(policy.admit("10.0.1.1", 0).reason, MAXCONN)
        policy.closed(admitted[0])
        self.assertIsNotNone(policy.admit("10.0.1.1", 0).admitted)

    def test_maxConnectionsAppliesToKnownPeers(self):
        policy = AdmissionPolicy(limits(maxPending=100))
        policy.closed(_authenticate(policy, "10.0.0.99", 0))
        for i in range(10):
            policy.admit(f"10.0.0.{i}", 0)
        self.assertEqual(policy.admit("10.0.0.99", 1).reason, MAXCONN)

    def test_pendingFromUnknownPeers(self):
        """
        At most maxPending connections of peers not authenticated recently
        may be in their handshake; a peer that authenticated is let in
        beside them.
        """
        policy = AdmissionPolicy(limits(maxPerPeer=10))
        policy.closed(_authenticate(policy, "10.0.0.99", 0))
        pending = [policy.admit(f"10.0.0.{i}", 1).admitted for i in range(5)]
        self.assertEqual(policy.admit("10.0.0.7", 1).reason, PENDING)
        known = policy.admit("10.0.0.99", 1)
        self.assertIsNotNone(known.admitted)
        self.assertTrue(known.admitted.known)
        # An unknown peer that authenticates frees a pending place.
        policy.authenticated(pending[0], 2)
        self.assertIsNotNone(policy.admit("10.0.0.7", 2).admitted)
        self.assertEqual(policy.admit("10.0.0.8", 2).reason, PENDING)
        # So does one that goes away.
        policy.closed(pending[1])
        self.assertIsNotNone(policy.admit("10.0.0.8", 2).admitted)

    def test_knownPeersExpire(self):
        policy = AdmissionPolicy(limits(maxPending=1), knownFor=100)
        policy.closed(_authenticate(policy, "10.0.0.99", 0))
        policy.admit("10.0.0.1", 0)
        self.assertIsNotNone(policy.admit("10.0.0.99", 99).admitted)
        self.assertEqual(policy.admit("10.0.0.99", 100).reason, PENDING)

    def test_knownPeersBounded(self):
        policy = AdmissionPolicy(limits(maxPerPeer=10), knownPeers=2)
        for i in range(3):
            policy.closed(_authenticate(policy, f"10.0.0.{i}", i))
        self.assertEqual([policy.isKnown(f"10.0.0.{i}", 3) for i in range(3)],
                         [False, True, True])

    def test_fdReserveOnlyForKnownPeers(self):
        policy = AdmissionPolicy(limits())
        policy.closed(_authenticate(policy, "10.0.0.99", 0))
        self.assertIsNotNone(policy.admit("10.0.0.1", 1, fdsFree=9).admitted)
        decision = policy.admit("10.0.0.2", 1, fdsFree=8)
        self.assertEqual(decision.reason, FD_RESERVE)
        self.assertIn("only 8 file descriptors left (FD_RESERVE = 8)",
                      decision.notices[0].text)
        self.assertIsNotNone(policy.admit("10.0.0.99", 1, fdsFree=3).admitted)

    def test_fdFloorRefusesEveryone(self):
        """
        With a quarter of the reserve left, nobody is let in: the daemon
        itself needs descriptors (its database, its logs).
        """
        policy = AdmissionPolicy(limits())
        policy.closed(_authenticate(policy, "10.0.0.99", 0))
        self.assertEqual(policy.admit("10.0.0.99", 1, fdsFree=2).reason, FD_EXHAUSTED)
        self.assertEqual(policy.admit("10.0.0.99", 1, fdsFree=0).reason, FD_EXHAUSTED)
        self.assertEqual(policy.admit("10.0.0.99", 1, fdsFree=-5).reason, FD_EXHAUSTED)

    def test_fdsUnknown(self):
        policy = AdmissionPolicy(limits())
        self.assertIsNotNone(policy.admit("10.0.0.1", 0, fdsFree=None).admitted)

    def test_timeoutsCounted(self):
        policy = AdmissionPolicy(limits())
        a = policy.admit("10.0.0.1", 0).admitted
        [notice] = policy.handshakeTimedOut(a, 10)
        self.assertEqual((notice.event, notice.peer, notice.count),
                         (HANDSHAKE_TIMEOUT, "10.0.0.1", 1))
        self.assertIn("not authenticated within 10 s (HANDSHAKE_TIMEOUT)", notice.text)
        policy.closed(a)
        b = _authenticate(policy, "10.0.0.2", 0)
        [notice] = policy.idleTimedOut(b, 300)
        self.assertEqual(notice.event, IDLE_TIMEOUT)
        policy.closed(b)
        counters = policy.counters()
        self.assertEqual((counters["handshake_timeouts_total"], counters["idle_timeouts_total"],
                          counters["open_connections"]), (1, 1, 0))


def _authenticate(policy, host, now):
    admitted = policy.admit(host, now).admitted
    policy.authenticated(admitted, now)
    return admitted


class WarningTests(SynchronousTestCase):
    def test_oncePerPeerPerInterval(self):
        """
        The first refusal of a peer is a warning; the next ones in the
        interval are counted and summed up when it ends; the interval after
        warns again.
        """
        policy = AdmissionPolicy(limits(maxPerPeer=1, maxPending=100))
        policy.admit("10.0.0.1", 0)
        first = policy.admit("10.0.0.1", 1).notices
        self.assertEqual([(n.event, n.peer, n.count) for n in first],
                         [(PER_PEER, "10.0.0.1", 1)])
        self.assertIn("refusing a connection from 10.0.0.1: it has 1 connections open"
                      " (MAXCONN_PER_PEER = 1); more like this from 10.0.0.1 in the next 60 s"
                      " are counted, not logged", first[0].text)
        for t in range(2, 50):
            self.assertEqual(policy.admit("10.0.0.1", t).notices, ())
        self.assertEqual(policy.due(60), ())
        [summary] = policy.due(61)
        self.assertEqual((summary.event, summary.peer, summary.count), (PER_PEER, "10.0.0.1", 48))
        self.assertIn("48 more from 10.0.0.1 in the last 60 s", summary.text)
        self.assertEqual(policy.due(200), ())
        self.assertEqual(len(policy.admit("10.0.0.1", 201).notices), 1)
        self.assertEqual(policy.counters()["refused_total"][PER_PEER], 50)

    def test_nextEventEndsTheInterval(self):
        """
        Without anyone calling L{AdmissionPolicy.due}, the next event
        delivers the summary of the interval that ended before it.
        """
        policy = AdmissionPolicy(limits(maxPerPeer=1))
        policy.admit("10.0.0.1", 0)
        policy.admit("10.0.0.1", 1)
        policy.admit("10.0.0.1", 2)
        notices = policy.admit("10.0.0.1", 100).notices
        self.assertEqual([(n.count, n.peer) for n in notices], [(1, "10.0.0.1"),
                                                                (1, "10.0.0.1")])
        self.assertIn("1 more from", notices[0].text)
        self.assertIn("counted, not logged", notices[1].text)

    def test_reasonsApart(self):
        limiter = WarningLimiter(60)
        self.assertEqual(len(limiter.note(PER_PEER, "p", 0, "a")), 1)
        self.assertEqual(len(limiter.note(HANDSHAKE_TIMEOUT, "p", 0, "b")), 1)
        self.assertEqual(limiter.note(PER_PEER, "p", 1, "a"), ())

    def test_manyPeersSummedUp(self):
        """
        At most maxPeers peers are named per reason and interval; the others
        make one line, so a flood from many addresses does not flood the log.
        """
        limiter = WarningLimiter(60, maxPeers=3)
        logged = []
        for i in range(1000):
            logged.extend(limiter.note(HANDSHAKE_TIMEOUT, f"10.0.{i // 256}.{i % 256}", i / 100,
                                       "closing"))
        self.assertEqual([n.peer for n in logged], ["10.0.0.0", "10.0.0.1", "10.0.0.2"])
        [summary] = limiter.summaries(60)
        self.assertEqual((summary.peer, summary.count), (None, 997))
        self.assertIn("connections closed: HANDSHAKE_TIMEOUT: 997 from 997 other peers in the"
                      " last 60 s (at most 3 peers are named per interval)", summary.text)
        self.assertEqual(limiter.summaries(61), ())

    def test_unnamedPeersCountedBounded(self):
        self.patch(admission, "MAX_PEERS_COUNTED", 10)
        limiter = WarningLimiter(60, maxPeers=0)
        for i in range(50):
            limiter.note(MAXCONN, f"10.0.0.{i}", 0, "x")
        self.assertEqual(len(limiter._unnamed[MAXCONN][1]), 10)
        [summary] = limiter.summaries(1)
        self.assertIn("50 from more than 10 other peers", summary.text)

    def test_localPeerShown(self):
        policy = AdmissionPolicy(limits(maxConnections=1))
        policy.admit(None, 0)
        [notice] = policy.admit(None, 0).notices
        self.assertIn("from a local socket", notice.text)


_ops = st.lists(st.tuples(st.sampled_from(["open", "auth", "close", "tick"]),
                          st.integers(0, 5), st.integers(0, 40)), max_size=200)


class InvariantTests(SynchronousTestCase):
    @given(_ops)
    def test_countsStayConsistent(self, ops):
        """
        Whatever happens, in any order: the counts match the connections
        admitted and not closed, no limit is exceeded by an admission, and
        every refusal is counted once.
        """
        lim = limits(maxConnections=8, maxPerPeer=3, maxPending=4, fdReserve=8)
        policy = AdmissionPolicy(lim, knownFor=30)
        live = []
        now = 0
        refusals = 0
        for op, peer, arg in ops:
            host = f"10.0.0.{peer}" if peer else None
            if op == "open":
                before = policy.counters()
                decision = policy.admit(host, now, fdsFree=arg)
                if decision.admitted is None:
                    refusals += 1
                else:
                    self.assertLess(before["open_connections"], lim.maxConnections)
                    self.assertGreater(arg, lim.fdReserve // 4)
                    live.append(decision.admitted)
            elif op == "auth" and live:
                policy.authenticated(live[arg % len(live)], now)
            elif op == "close" and live:
                policy.closed(live.pop(arg % len(live)))
            elif op == "tick":
                now += arg
                policy.due(now)
            counters = policy.counters()
            self.assertEqual(counters["open_connections"], len(live))
            self.assertEqual(counters["authenticated_connections"],
                             sum(1 for a in live if a.authenticated))
            self.assertEqual(policy.pendingUnknown,
                             sum(1 for a in live if not a.authenticated and not a.known))
            self.assertLessEqual(len(live), lim.maxConnections)
            for p in range(1, 6):
                self.assertLessEqual(sum(1 for a in live if a.peer == f"10.0.0.{p}"),
                                     lim.maxPerPeer)
            self.assertEqual(sum(counters["refused_total"].values()), refusals)
        for a in live:
            policy.closed(a)
        self.assertEqual(policy._perPeer, {})
