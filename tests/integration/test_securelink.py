"""
The secure links over real loopback TCP: a BufferDaemon built from its
config (pre-shared key, or TLS with mutual certificates) and real senders;
every bad client is refused and logged, nothing it sent is stored, and a
good client beside it carries on.
"""

import datetime
import os
import sqlite3

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.logger import formatEvent
from twisted.trial.unittest import TestCase

from mice.forwarder.shipping import shipFile
from mice.protocols import wire
from mice.security.certs import loadOrMakeCA, writeNode
from mice.security.policy import LinkSecurity
from mice.security.psk import PskSecurity, deriveMasterKey
from mice.services.sender import ReliableSender
from mice.testing import capturedLog
from tests.integration.test_endtoend import Pipeline, writeCorpus
from tests.integration.test_faults import waitFor

KEY = "0123456789abcdef" * 8
WRONG = "fedcba9876543210" * 8


def rows(database):
    try:
        with sqlite3.connect(database) as db:
            return sum(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                       for t in ("rawlog_line", "firewall_line", "scslog_line"))
    except sqlite3.OperationalError:
        return 0


async def stored(database, expected):
    """
    Wait until C{expected} rows are stored (acknowledged means durable in
    the ring; the store follows within TIMEINV), then a little more, so
    that a test sees any row too many.
    """
    await waitFor(lambda: rows(database) >= expected, 20, f"{expected} rows")
    await deferLater(reactor, 0.5)
    return rows(database)


def cancel(shipping):
    """
    Give up on a refused client's shipping (it would retry for ever).
    """
    shipping.addErrback(lambda f: f.trap(CancelledError))
    shipping.cancel()


class LogWatcher:
    def __init__(self, case):
        self.events = capturedLog(case)

    def warnings(self):
        return [formatEvent(e) for e in self.events
                if getattr(e.get("log_level"), "name", None) in ("warn", "error", "critical")]

    def saw(self, text):
        return any(text in message for message in self.warnings())


class RawLink(Protocol):
    """
    A hand-driven client: it does the PSK handshake with a real
    L{PskSecurity} and records every line it sends, so a test can replay
    them or spoil one.
    """

    def __init__(self, security, tamper=None):
        self.security = security
        self.tamper = tamper
        self.sent = []
        self.received = []
        self.closed = Deferred()
        self.ready = Deferred()
        self._buffer = b""

    def _send(self, line):
        if self.tamper is not None and self.security.ready:
            line = self.tamper(line)
        self.sent.append(line)
        self.transport.write(line + b"\n")

    def connectionMade(self):
        self.security.start(self._send, isServer=False)

    def dataReceived(self, data):
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            payload = self.security.open(line)
            if self.security.ready and not self.ready.called:
                self.ready.callback(None)
            if payload is not None:
                self.received.append(wire.decodeMessage(payload))

    def sendMessage(self, message):
        line = self.security.seal(wire.encodeMessage(message))
        if line is not None:
            self._send(line)

    def connectionLost(self, reason):
        self.closed.callback(None)


class Replay(Protocol):
    def __init__(self, lines):
        self.lines = lines
        self.closed = Deferred()

    def connectionMade(self):
        self.transport.write(b"".join(line + b"\n" for line in self.lines))

    def connectionLost(self, reason):
        self.closed.callback(None)


class SecureLinkTests(TestCase):
    timeout = 60

    async def daemon(self, decoder):
        self.database = os.path.abspath(self.mktemp() + ".db")
        self.pipeline = await Pipeline().start(self, "sqlite:///" + self.database,
                                               decoder=decoder, mmSize=8)
        return self.pipeline

    def sender(self, security, source="good", serverName="127.0.0.1"):
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:127.0.0.1:{self.pipeline.port}"), serverName)
        sender = ReliableSender(endpoint, source=source, kind="log", clock=reactor,
                                securityFactory=security.securityFactory())
        sender.startService()
        self.addCleanup(sender.stopService)
        return sender

    async def ship(self, sender, lines=300):
        corpus = self.mktemp()
        writeCorpus(corpus, lines)
        return await ensureDeferred(shipFile(sender, corpus))

    def connect(self, protocol):
        endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{self.pipeline.port}")
        return connectProtocol(endpoint, protocol)


class PreSharedKeyTests(SecureLinkTests):
    decoder = f"ENCRYPT = yes\nENCKEY = {KEY}\nCRYPTMOD = chacha20-poly1305"

    def security(self, key=KEY, cipher="chacha20-poly1305"):
        return LinkSecurity.fromSettings(True, key, cipher)

    async def test_goodPair(self):
        await self.daemon(self.decoder)
        result = await self.ship(self.sender(self.security()))
        self.assertEqual((result.records, await stored(self.database, 300)), (300, 300))

    async def test_wrongKeyRefusedOthersCarryOn(self):
        log = LogWatcher(self)
        await self.daemon(self.decoder)
        bad = self.sender(self.security(WRONG), source="intruder")
        shipping = ensureDeferred(self.ship(bad, 50))
        good = await self.ship(self.sender(self.security()))
        await waitFor(lambda: log.saw("does not know the key"), 10, "the refusal")
        self.assertEqual(good.records, 300)
        self.assertFalse(shipping.called)
        self.assertEqual(await stored(self.database, 300), 300)
        with sqlite3.connect(self.database) as db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM rawlog_line WHERE origin ="
                                        " 'intruder'").fetchone()[0], 0)
        cancel(shipping)

    async def test_plaintextClientRefused(self):
        log = LogWatcher(self)
        await self.daemon(self.decoder)
        sender = self.sender(LinkSecurity(), source="plain")
        shipping = ensureDeferred(self.ship(sender, 10))
        await waitFor(lambda: log.saw("expected the client's hello of MICE-PSK/1"), 10,
                      "the refusal")
        self.assertEqual(rows(self.database), 0)
        cancel(shipping)

    async def test_twofishIsAESWithAWarning(self):
        log = LogWatcher(self)
        security = LinkSecurity.fromSettings(True, KEY, "twofish")
        self.assertEqual(security.cipher, "aes-256-gcm")
        self.assertTrue(log.saw("Twofish is not available"))
        # Said once per file and key in a process: a name of this test's own.
        LinkSecurity.fromSettings(True, "changeme", "aes-256-gcm", where=self.id())
        self.assertTrue(log.saw("well-known default secret"))
        self.assertFalse(any(KEY in m or "changeme" in m for m in log.warnings()))

    async def handshaken(self, tamper=None):
        link = RawLink(PskSecurity([deriveMasterKey(KEY)], "chacha20-poly1305"), tamper)
        await self.connect(link)
        await link.ready
        link.sendMessage(wire.hello("raw", "log"))
        return link

    async def test_replayedSessionRefused(self):
        """
        Every line of a good session, replayed on a new connection, is
        refused at the key proof: the server's nonce is new.
        """
        log = LogWatcher(self)
        await self.daemon(self.decoder)
        link = await self.handshaken()
        link.sendMessage(wire.batch(1, "/var/log/x", 1, {"hostname": "raw"},
                                    [["2004-11-22", "10:00:00", "replay me", ""]]))
        await waitFor(lambda: len(link.received) >= 2, 10, "welcome and ack")
        link.transport.loseConnection()
        await link.closed
        self.assertEqual(await stored(self.database, 1), 1)
        replay = Replay(link.sent)
        await self.connect(replay)
        await replay.closed
        self.assertTrue(log.saw("does not know the key"))
        self.assertEqual(rows(self.database), 1)

    async def test_flippedBitRefused(self):
        log = LogWatcher(self)
        await self.daemon(self.decoder)
        spoil = {"on": False}

        def tamper(line):
            if not spoil["on"]:
                return line
            raw = bytearray(line)
            raw[10] = ord("A") if raw[10] != ord("A") else ord("B")
            return bytes(raw)

        link = await self.handshaken(tamper)
        await waitFor(lambda: link.received, 10, "the welcome")
        spoil["on"] = True
        link.sendMessage(wire.batch(1, "/var/log/x", 1, {"hostname": "raw"},
                                    [["2004-11-22", "10:00:00", "forged", ""]]))
        await link.closed
        self.assertTrue(log.saw("fails authentication"))
        self.assertEqual(rows(self.database), 0)


class TLSTests(SecureLinkTests):
    def setUp(self):
        self.pki = os.path.abspath(self.mktemp())
        caKey, ca, _ = loadOrMakeCA(self.pki)
        self.files = {}
        for name in ("127.0.0.1", "client"):
            self.files[name] = writeNode(self.pki, caKey, ca, name)
        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
        expired = os.path.join(self.pki, "expired")
        os.makedirs(expired)
        self.files["expired"] = writeNode(expired, caKey, ca, "client", days=1, now=past)
        other = os.path.join(self.pki, "other")
        otherKey, otherCA, _ = loadOrMakeCA(other, "Some Other CA")
        self.files["stranger"] = writeNode(other, otherKey, otherCA, "client")
        self.ca = os.path.join(self.pki, "ca.crt")

    def decoder(self):
        certificate, key = self.files["127.0.0.1"]
        return f"ENCRYPT = yes\nTLSCERT = {certificate}\nTLSKEY = {key}\nTLSCA = {self.ca}"

    def security(self, who="client", ca=None):
        certificate, key = self.files[who]
        return LinkSecurity.fromSettings(True, tls=(certificate, key, ca or self.ca))

    async def test_goodPair(self):
        await self.daemon(self.decoder())
        result = await self.ship(self.sender(self.security()))
        self.assertEqual((result.records, await stored(self.database, 300)), (300, 300))

    async def refused(self, security, expected, serverName="127.0.0.1"):
        log = LogWatcher(self)
        await self.daemon(self.decoder())
        bad = self.sender(security, source="intruder", serverName=serverName)
        shipping = ensureDeferred(self.ship(bad, 50))
        good = await self.ship(self.sender(self.security()))
        self.assertEqual(good.records, 300)
        await waitFor(lambda: log.saw(expected), 10, f"a log line with {expected!r}")
        self.assertEqual(await stored(self.database, 300), 300)
        self.assertFalse(shipping.called)
        cancel(shipping)
        return log

    async def test_unknownClientCertificate(self):
        await self.refused(self.security("stranger"), "closed before its hello")

    async def test_expiredClientCertificate(self):
        log = await self.refused(self.security("expired"), "closed before its hello")
        self.assertTrue(any("expired" in m or "certificate" in m for m in log.warnings()))

    async def test_clientRefusesServerOfAnotherCA(self):
        """
        A client whose CA did not sign the server's certificate does not
        talk to it.
        """
        await self.refused(self.security("client", ca=os.path.join(self.pki, "other",
                                                                   "ca.crt")),
                           "closed before its hello")

    async def test_wrongServerName(self):
        await self.refused(self.security(), "closed before its hello",
                           serverName="mngmt.example.org")

    async def test_plaintextClientRefused(self):
        await self.refused(LinkSecurity(), "closed before its hello")
