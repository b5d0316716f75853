"""
The connection guard over real loopback TCP, with each kind of link
security: a client that authenticated (pre-shared key, TLS with mutual
certificates, plain) keeps its link although it sends nothing for longer
than the handshake deadline and the idle timeout (it sends keepalives; the
guard hears of its authentication through the TLS layer), while a
connection that never authenticates is closed at its deadline.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from mice.config import loadBufferDaemon
from mice.security.certs import loadOrMakeCA, writeNode
from mice.security.policy import LinkSecurity
from mice.services.sender import ReliableSender
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import writeRawLogConfigs
from tests.integration.test_faults import waitFor

KEY = "0123456789abcdef" * 8


class Silent(Protocol):
    def __init__(self):
        self.closed = Deferred()

    def connectionLost(self, reason):
        self.reason = reason
        self.closed.callback(None)


class GuardedLinkTests(TestCase):
    timeout = 60

    async def daemon(self, decoder):
        directory = os.path.abspath(self.mktemp())
        conf = writeRawLogConfigs(directory, "sqlite:///" + os.path.join(directory, "raw.db"),
                                  decoder=decoder)
        with open(conf, "a") as f:
            f.write("[LIMITS]\nHANDSHAKE_TIMEOUT = 1\nIDLE_TIMEOUT = 3\n")
        self.daemon = buildBufferDaemon(loadBufferDaemon(conf), reactor)
        [port] = await self.daemon.startService()
        self.addCleanup(self.daemon.stopService)
        self.port = port.getHost().port

    def sender(self, security):
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:127.0.0.1:{self.port}"), "127.0.0.1")
        sender = ReliableSender(endpoint, source="quiet", kind="log", clock=reactor,
                                securityFactory=security.securityFactory())
        sender.startService()
        self.addCleanup(sender.stopService)
        return sender

    async def check(self, decoder, security):
        await self.daemon(decoder)
        sender = self.sender(security)
        await waitFor(lambda: sender.connected, 10, "the link")
        silent = Silent()
        await connectProtocol(clientFromString(reactor, f"tcp:127.0.0.1:{self.port}"), silent)
        # Longer than the handshake deadline and the idle timeout.
        await deferLater(reactor, 4.5)
        counters = self.daemon.counters()
        self.assertTrue(sender.connected)
        self.assertTrue(silent.closed.called)
        self.assertEqual((counters["authenticated_connections"], counters["open_connections"],
                          counters["handshake_timeouts_total"], counters["idle_timeouts_total"]),
                         (1, 1, 1, 0))
        # The quiet link still carries lines.
        await sender.submit("/f", 1, {"hostname": "h"},
                            [["2026-11-22", "10:00:00", "still here", ""]])

    async def test_preSharedKey(self):
        await self.check(f"ENCRYPT = yes\nENCKEY = {KEY}",
                         LinkSecurity.fromSettings(True, KEY, "aes-256-gcm"))

    async def test_tls(self):
        pki = os.path.abspath(self.mktemp())
        caKey, ca, _ = loadOrMakeCA(pki)
        server = writeNode(pki, caKey, ca, "127.0.0.1")
        client = writeNode(pki, caKey, ca, "client")
        caPath = os.path.join(pki, "ca.crt")
        await self.check(f"ENCRYPT = yes\nTLSCERT = {server[0]}\nTLSKEY = {server[1]}\n"
                         f"TLSCA = {caPath}",
                         LinkSecurity.fromSettings(True, tls=(*client, caPath)))

    async def test_plain(self):
        await self.check("", LinkSecurity.fromSettings(False))
