# -*- test-case-name: tests.unit.protocols.test_admission -*-
"""
Who may hold a listener's connections, and for how long: the decisions
behind L{mice.protocols.guard}, without any I/O (time and the number of free
file descriptors are passed in).

A listener that anyone can reach must not let anyone hold it.  The policy:

  - a new connection is refused at once (before any byte is read, before a
    TLS object exists) when the listener already has C{maxConnections}
    connections, when its peer already has C{maxPerPeer}, when
    C{maxPending} connections from peers not authenticated recently are
    still in their handshake, or when file descriptors run short:
    fewer than C{fdReserve} free lets in only peers that authenticated
    recently ("known" peers), fewer than a quarter of it nobody;
  - a connection that has not authenticated within C{handshakeTimeout}
    seconds is closed, and an authenticated one that sends nothing for
    C{idleTimeout} seconds (L{mice.protocols.guard} keeps the clocks);
  - every refusal, timeout and protocol error is counted (L{AdmissionPolicy.counters}) and
    logged at warning level once per peer and reason per C{warnInterval},
    the rest summed up at the end of the interval; at most L{MAX_PEERS_WARNED}
    peers are named per interval, the others are summed up together, so a
    flood cannot flood the log either.

Peers are counted by address (L{peerKey}): an IPv4 address, or the /64 of
an IPv6 address (what one host or one site is given).
"""

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from mice.config.settings import ListenLimits

#: Why a connection was refused (the keys of C{counters()["refused_total"]}).
MAXCONN = "maxconn"
PER_PEER = "per_peer"
PENDING = "pending"
FD_RESERVE = "fd_reserve"
FD_EXHAUSTED = "fd_exhausted"
REASONS = (MAXCONN, PER_PEER, PENDING, FD_RESERVE, FD_EXHAUSTED)

#: Why an admitted connection was closed.
HANDSHAKE_TIMEOUT = "handshake_timeout"
IDLE_TIMEOUT = "idle_timeout"
#: A protocol refused what its peer sent (garbage, a wrong key, a failed TLS
#: handshake...) and closed the connection: rate-limited like the rest, since
#: anyone who can connect can cause one per connection.
PROTOCOL_ERROR = "protocol_error"

#: How many peers that authenticated are remembered as known, and for how long.
KNOWN_PEERS = 4096
KNOWN_FOR = 86400.0

#: How many peers are named in warnings per interval (per reason); the others
#: are summed up in one line.
MAX_PEERS_WARNED = 20

#: How many distinct unnamed peers a summary counts exactly.
MAX_PEERS_COUNTED = 10000

LOCAL = "a local socket"


def peerKey(host):
    """
    The address a peer's connections are counted under.

    @param host: the peer's address as text, or C{None} (a UNIX socket).
    @return: an IPv4 address, an IPv6 /64 (C{"2001:db8:1:2::/64"}), an
        IPv4-mapped IPv6 address as its IPv4, or C{None} for a UNIX socket
        (whose peers are not told apart: the per-peer limit does not apply).
    """
    if host is None:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(slots=True, eq=False)
class Admitted:
    """
    One connection the policy let in; hand it back to
    L{AdmissionPolicy.authenticated} and L{AdmissionPolicy.closed}.
    """

    peer: str | None
    known: bool
    openedAt: float
    authenticated: bool = field(default=False, init=False)

    def __repr__(self):
        state = "authenticated" if self.authenticated else "pending"
        return f"<Admitted {self.peer or LOCAL} {state}>"


class Notice(NamedTuple):
    """
    A warning to log: C{event} is a reason of L{REASONS}, L{HANDSHAKE_TIMEOUT}
    or L{IDLE_TIMEOUT}; C{peer} the peer key (C{None}: a UNIX socket, or
    several peers in a summary); C{count} how many events it stands for.
    """

    event: str
    peer: object
    count: int
    text: str


class Decision(NamedTuple):
    """
    What L{AdmissionPolicy.admit} decided: C{admitted} is the L{Admitted}
    connection, or C{None} with the C{reason}; C{notices} are to be logged.
    """

    admitted: Admitted | None
    reason: str | None
    notices: tuple


def _showPeer(peer):
    return LOCAL if peer is None else peer


_WHAT = {
    MAXCONN: "connections refused: MAXCONN",
    PER_PEER: "connections refused: MAXCONN_PER_PEER",
    PENDING: "connections refused: MAXPENDING",
    FD_RESERVE: "connections refused: FD_RESERVE",
    FD_EXHAUSTED: "connections refused: out of file descriptors",
    HANDSHAKE_TIMEOUT: "connections closed: HANDSHAKE_TIMEOUT",
    IDLE_TIMEOUT: "links closed: IDLE_TIMEOUT",
    PROTOCOL_ERROR: "connections closed: protocol errors",
}


class WarningLimiter:
    """
    Turns events into L{Notice}s: the first of each C{(event, peer)} in an
    interval at once, the others as one summary when the interval ends;
    at most C{maxPeers} peers named per event and interval, the rest summed
    up in one line.  Memory is bounded by C{maxPeers} per event (and
    L{MAX_PEERS_COUNTED} addresses for the unnamed ones).
    """

    def __init__(self, interval, maxPeers=MAX_PEERS_WARNED):
        self.interval = interval
        self.maxPeers = maxPeers
        self._start = None
        self._named = {}
        self._unnamed = {}

    def note(self, event, peer, now, text):
        """
        One event.

        @param text: what to say if it is logged now.
        @return: the L{Notice}s to log now (the summaries of an interval that
            ended, then this event's if it is the first of its peer).
        """
        notices = self.due(now)
        if self._start is None:
            self._start = now
        key = (event, peer)
        if key in self._named:
            self._named[key] += 1
            return notices
        if sum(1 for e, _ in self._named if e == event) < self.maxPeers:
            self._named[key] = 0
            return (*notices, Notice(event, peer, 1, f"{text}; more like this from"
                                     f" {_showPeer(peer)} in the next {self.interval:g} s"
                                     " are counted, not logged"))
        count, peers = self._unnamed.setdefault(event, [0, set()])
        self._unnamed[event][0] = count + 1
        if len(peers) < MAX_PEERS_COUNTED:
            peers.add(peer)
        return notices

    def due(self, now):
        """
        @return: the summaries of the interval if it has ended (then a new
            one starts with the next event), else nothing.
        """
        if self._start is None or now - self._start < self.interval:
            return ()
        return self.summaries(now)

    def summaries(self, now):
        """
        End the current interval now.

        @return: its summaries.
        """
        if self._start is None:
            return ()
        seconds = max(0.0, now - self._start)
        notices = []
        for (event, peer), more in self._named.items():
            if more:
                notices.append(Notice(event, peer, more,
                                      f"{_WHAT[event]}: {more} more from {_showPeer(peer)} in"
                                      f" the last {seconds:.0f} s"))
        for event, (count, peers) in self._unnamed.items():
            many = len(peers)
            shown = f"more than {many}" if many >= MAX_PEERS_COUNTED else str(many)
            notices.append(Notice(event, None, count,
                                  f"{_WHAT[event]}: {count} from {shown} other peers in the last"
                                  f" {seconds:.0f} s (at most {self.maxPeers} peers are"
                                  " named per interval)"))
        self._start = None
        self._named = {}
        self._unnamed = {}
        return tuple(notices)


class AdmissionPolicy:
    """
    The decisions for one listener (or several sharing limits): see the
    module docstring.

    @ivar limits: the L{ListenLimits}.
    """

    def __init__(self, limits=None, knownPeers=KNOWN_PEERS, knownFor=KNOWN_FOR):
        self.limits = limits or ListenLimits()
        self._knownPeers = knownPeers
        self._knownFor = knownFor
        self._known = OrderedDict()
        self._perPeer = {}
        self.open = 0
        self.authenticatedCount = 0
        self.pendingUnknown = 0
        self.accepted = 0
        self.refused = dict.fromkeys(REASONS, 0)
        self.handshakeTimeouts = 0
        self.idleTimeouts = 0
        self.protocolErrors = 0
        self._warnings = WarningLimiter(self.limits.warnInterval)

    # What the guard asks

    def isKnown(self, peer, now):
        """
        Whether C{peer} authenticated within the last L{KNOWN_FOR} seconds.
        """
        seen = self._known.get(peer)
        return seen is not None and now - seen < self._knownFor

    def admit(self, host, now, fdsFree=None):
        """
        A peer connects.

        @param host: its address (text), C{None} for a UNIX socket.
        @param fdsFree: how many more file descriptors the process may open
            (C{None}: unknown, not checked).
        @return: a L{Decision}; an admitted connection is counted until
            L{closed}.
        """
        peer = peerKey(host)
        known = peer is not None and self.isKnown(peer, now)
        reason, text = self._refusal(peer, known, fdsFree)
        if reason is not None:
            self.refused[reason] += 1
            return Decision(None, reason, self._warnings.note(reason, peer, now, text))
        admitted = Admitted(peer, known, now)
        self.open += 1
        self.accepted += 1
        if peer is not None:
            self._perPeer[peer] = self._perPeer.get(peer, 0) + 1
        if not known:
            self.pendingUnknown += 1
        return Decision(admitted, None, self._warnings.due(now))

    def _refusal(self, peer, known, fdsFree):
        limits = self.limits
        shown = _showPeer(peer)
        if fdsFree is not None:
            if fdsFree <= limits.fdReserve // 4:
                return FD_EXHAUSTED, (f"refusing a connection from {shown}: only {fdsFree} file"
                                      " descriptors left; refusing everyone until some are"
                                      " freed")
            if fdsFree <= limits.fdReserve and not known:
                return FD_RESERVE, (f"refusing a connection from {shown}: only {fdsFree} file"
                                    f" descriptors left (FD_RESERVE = {limits.fdReserve});"
                                    " only peers that authenticated recently are let in")
        if self.open >= limits.maxConnections:
            return MAXCONN, (f"refusing a connection from {shown}: {self.open} connections"
                             f" open (MAXCONN = {limits.maxConnections})")
        if peer is not None and self._perPeer.get(peer, 0) >= limits.maxPerPeer:
            return PER_PEER, (f"refusing a connection from {shown}: it has"
                              f" {self._perPeer[peer]} connections open (MAXCONN_PER_PEER ="
                              f" {limits.maxPerPeer})")
        if not known and self.pendingUnknown >= limits.maxPending:
            return PENDING, (f"refusing a connection from {shown}: {self.pendingUnknown}"
                             " connections from peers not authenticated recently are in their"
                             f" handshake (MAXPENDING = {limits.maxPending}); peers that"
                             " authenticated recently are still let in")
        return None, None

    def authenticated(self, admitted, now):
        """
        C{admitted} completed its handshake: its peer is known from now on.
        """
        if admitted.authenticated:
            return
        admitted.authenticated = True
        self.authenticatedCount += 1
        if not admitted.known:
            self.pendingUnknown -= 1
        peer = admitted.peer
        if peer is not None:
            self._known[peer] = now
            self._known.move_to_end(peer)
            while len(self._known) > self._knownPeers:
                self._known.popitem(last=False)

    def closed(self, admitted):
        """
        C{admitted} is gone, for whatever reason.
        """
        self.open -= 1
        if admitted.authenticated:
            self.authenticatedCount -= 1
        elif not admitted.known:
            self.pendingUnknown -= 1
        peer = admitted.peer
        if peer is not None:
            left = self._perPeer[peer] - 1
            if left:
                self._perPeer[peer] = left
            else:
                del self._perPeer[peer]

    def handshakeTimedOut(self, admitted, now):
        """
        C{admitted} did not authenticate in time (the guard closes it).

        @return: the L{Notice}s to log.
        """
        self.handshakeTimeouts += 1
        return self._warnings.note(
            HANDSHAKE_TIMEOUT, admitted.peer, now,
            f"closing a connection from {_showPeer(admitted.peer)}: not authenticated within"
            f" {self.limits.handshakeTimeout:g} s (HANDSHAKE_TIMEOUT)")

    def idleTimedOut(self, admitted, now):
        """
        C{admitted}, authenticated, sent nothing for too long (the guard
        closes it).

        @return: the L{Notice}s to log.
        """
        self.idleTimeouts += 1
        return self._warnings.note(
            IDLE_TIMEOUT, admitted.peer, now,
            f"closing the link from {_showPeer(admitted.peer)}: nothing received for"
            f" {self.limits.idleTimeout:g} s (IDLE_TIMEOUT; an up-to-date client sends a"
            " keepalive)")

    def problem(self, admitted, now, text):
        """
        The protocol of C{admitted} reports why it is closing the
        connection (or why it was lost before authenticating).

        @param text: what to log, naming the peer.
        @return: the L{Notice}s to log.
        """
        self.protocolErrors += 1
        return self._warnings.note(PROTOCOL_ERROR, admitted.peer, now, text)

    def due(self, now):
        """
        @return: the summaries to log if the warning interval has ended.
        """
        return self._warnings.due(now)

    def summaries(self, now):
        """
        @return: the summaries of the current warning interval, ending it.
        """
        return self._warnings.summaries(now)

    def counters(self):
        """
        The numbers the metrics endpoint exports.
        """
        return {
            "open_connections": self.open,
            "authenticated_connections": self.authenticatedCount,
            "pending_connections": self.open - self.authenticatedCount,
            "accepted_total": self.accepted,
            "refused_total": dict(self.refused),
            "handshake_timeouts_total": self.handshakeTimeouts,
            "idle_timeouts_total": self.idleTimeouts,
            "protocol_errors_total": self.protocolErrors,
        }
