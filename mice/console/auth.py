# -*- test-case-name: tests.unit.console.test_auth -*-
"""
The console's login: the password checked against its argon2 hash (the
config holds nothing in clear), sessions in memory with a CSRF token each,
and failed logins limited per client address.

Sessions are random 256-bit tokens in a cookie (HttpOnly, SameSite=Strict,
Secure over TLS); they end after L{Sessions.idle} seconds unused, after
L{Sessions.lifetime} in any case, at logout, and at a restart (they are
not stored).  Every request that changes something must carry the
session's CSRF token in an C{X-CSRF-Token} header, which a page of
another site cannot read or set.
"""

import hmac
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mice.console.model import asciiText

#: The cookie that holds the session token.
COOKIE = b"mice_console"
#: The header that must carry the CSRF token.
CSRF_HEADER = b"x-csrf-token"


def hashPassword(password, hasher=None):
    """
    The argon2id hash of C{password} in PHC form (what C{mice passwd}
    prints, for C{[CONSOLE] PASSWORD_HASH}).
    """
    return (hasher or PasswordHasher()).hash(password)


class PasswordCheck:
    """
    Checks a user name and password against the configured ones.  The
    user name is compared in constant time; the password through argon2
    (about 50 ms and 64 MiB per check by default, which is the point).
    """

    def __init__(self, user, passwordHash, hasher=None):
        self.user = user
        self.passwordHash = passwordHash
        self.hasher = hasher or PasswordHasher()

    def check(self, user, password):
        """
        @return: whether both match.  Runs the hash even for a wrong user,
            so that timing does not tell which was wrong.
        """
        try:
            matched = self.hasher.verify(self.passwordHash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        userMatched = hmac.compare_digest(user.encode("utf-8"), self.user.encode("utf-8"))
        return bool(matched and userMatched)


@dataclass
class Session:
    token: str
    user: str
    csrf: str
    created: float
    used: float


class Sessions:
    """
    The open sessions, at most C{limit} (the least recently used goes).
    """

    def __init__(self, clock, idle=8 * 3600.0, lifetime=24 * 3600.0, limit=1000):
        self.clock = clock
        self.idle = idle
        self.lifetime = max(lifetime, idle)
        self.limit = limit
        self._sessions = OrderedDict()

    def __len__(self):
        return len(self._sessions)

    def open(self, user):
        now = self.clock.seconds()
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now, now)
        self._sessions[session.token] = session
        while len(self._sessions) > self.limit:
            self._sessions.popitem(last=False)
        return session

    def find(self, token):
        """
        The live session of C{token} (marked used), or C{None}.
        """
        token = asciiText(token)
        if token is None:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self.clock.seconds()
        if now - session.used > self.idle or now - session.created > self.lifetime:
            del self._sessions[token]
            return None
        session.used = now
        self._sessions.move_to_end(token)
        return session

    def close(self, token):
        if isinstance(token, bytes):
            token = token.decode("ascii", "replace")
        self._sessions.pop(token, None)


def csrfMatches(session, given):
    """Whether C{given} (the header's bytes) is the session's CSRF token."""
    if session is None or not given:
        return False
    return hmac.compare_digest(given, session.csrf.encode("ascii"))


class LoginLimiter:
    """
    At most C{attempts} failed logins per client address in C{window}
    seconds; then refused until the oldest failure leaves the window.  A
    success clears the address.  Bounded: at most C{addresses} addresses
    are tracked (the longest quiet goes), and all of them together have
    C{globalAttempts} failures per window, so a spread-out guesser is
    slowed as well.
    """

    def __init__(self, clock, attempts=5, window=300.0, addresses=10000,
                 globalAttempts=100):
        self.clock = clock
        self.attempts = attempts
        self.window = window
        self.addresses = addresses
        self.globalAttempts = globalAttempts
        self._failures = OrderedDict()
        self._all = deque()

    def _prune(self, failures, now):
        while failures and failures[0] <= now - self.window:
            failures.popleft()

    def retryAfter(self, address):
        """
        @return: 0 if C{address} may try now, else the seconds to wait.
        """
        now = self.clock.seconds()
        self._prune(self._all, now)
        waits = []
        if len(self._all) >= self.globalAttempts:
            waits.append(self._all[0] + self.window - now)
        failures = self._failures.get(address)
        if failures is not None:
            self._prune(failures, now)
            if len(failures) >= self.attempts:
                waits.append(failures[0] + self.window - now)
        return max(waits, default=0.0)

    def failed(self, address):
        now = self.clock.seconds()
        failures = self._failures.pop(address, None) or deque()
        failures.append(now)
        self._failures[address] = failures
        self._all.append(now)
        while len(self._failures) > self.addresses:
            self._failures.popitem(last=False)

    def succeeded(self, address):
        self._failures.pop(address, None)
