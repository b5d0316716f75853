"""
Tests for L{mice.console.auth}: passwords, sessions, CSRF, the login limit.
"""

from argon2 import PasswordHasher
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mice.console.auth import LoginLimiter, PasswordCheck, Sessions, csrfMatches, hashPassword

#: A cheap hasher for tests (the real one costs 64 MiB and ~50 ms).
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class PasswordTests(SynchronousTestCase):
    def test_check(self):
        check = PasswordCheck("admin", hashPassword("correct horse", FAST), FAST)
        self.assertTrue(check.check("admin", "correct horse"))
        self.assertFalse(check.check("admin", "wrong"))
        self.assertFalse(check.check("root", "correct horse"))
        self.assertFalse(check.check("admin", ""))

    def test_defaultIsArgon2id(self):
        self.assertTrue(hashPassword("x" * 12).startswith("$argon2id$"))

    def test_badHash(self):
        self.assertFalse(PasswordCheck("admin", "not a hash", FAST).check("admin", "x"))


class SessionTests(SynchronousTestCase):
    def test_lifecycle(self):
        clock = Clock()
        sessions = Sessions(clock, idle=100, lifetime=250)
        session = sessions.open("admin")
        self.assertNotEqual(session.token, session.csrf)
        self.assertGreaterEqual(len(session.token), 43)
        clock.advance(90)
        self.assertIs(sessions.find(session.token), session)
        clock.advance(90)
        self.assertIs(sessions.find(session.token.encode()), session)
        clock.advance(90)
        self.assertIsNone(sessions.find(session.token), "past its lifetime")
        idle = sessions.open("admin")
        clock.advance(101)
        self.assertIsNone(sessions.find(idle.token), "idle too long")
        closed = sessions.open("admin")
        sessions.close(closed.token)
        self.assertIsNone(sessions.find(closed.token))
        for token in (None, b"", b"\xff", "nope"):
            self.assertIsNone(sessions.find(token))

    def test_bounded(self):
        sessions = Sessions(Clock(), limit=3)
        opened = [sessions.open("admin") for _ in range(5)]
        self.assertEqual(len(sessions), 3)
        self.assertIsNone(sessions.find(opened[0].token))
        self.assertIsNotNone(sessions.find(opened[4].token))

    def test_csrf(self):
        session = Sessions(Clock()).open("admin")
        self.assertTrue(csrfMatches(session, session.csrf.encode()))
        self.assertFalse(csrfMatches(session, b"x" + session.csrf.encode()[1:]))
        self.assertFalse(csrfMatches(session, None))
        self.assertFalse(csrfMatches(None, b"x"))


class LimiterTests(SynchronousTestCase):
    def test_perAddress(self):
        clock = Clock()
        limiter = LoginLimiter(clock, attempts=3, window=60)
        for _ in range(3):
            self.assertEqual(limiter.retryAfter("192.0.2.1"), 0)
            limiter.failed("192.0.2.1")
        self.assertEqual(limiter.retryAfter("192.0.2.1"), 60)
        self.assertEqual(limiter.retryAfter("192.0.2.2"), 0)
        clock.advance(30)
        self.assertEqual(limiter.retryAfter("192.0.2.1"), 30)
        clock.advance(30)
        self.assertEqual(limiter.retryAfter("192.0.2.1"), 0)

    def test_successClears(self):
        limiter = LoginLimiter(Clock(), attempts=2)
        limiter.failed("a")
        limiter.succeeded("a")
        limiter.failed("a")
        self.assertEqual(limiter.retryAfter("a"), 0)

    def test_global(self):
        limiter = LoginLimiter(Clock(), attempts=5, window=60, globalAttempts=10)
        for i in range(10):
            limiter.failed(f"192.0.2.{i}")
        self.assertGreater(limiter.retryAfter("198.51.100.1"), 0)

    def test_bounded(self):
        limiter = LoginLimiter(Clock(), addresses=10)
        for i in range(100):
            limiter.failed(f"a{i}")
        self.assertEqual(len(limiter._failures), 10)
