"""
Tests for L{mice.security.psk}: the pre-shared-key handshake and the AEAD
framing, without sockets (the link over loopback TCP is tested in
C{tests.integration.test_securelink}).
"""

import base64

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols.wire import ProtocolError
from mice.security.psk import (
    PskSecurity,
    deriveMasterKey,
    effectiveCipher,
    weakPassphrase,
)

KEY = deriveMasterKey("ab" * 64)
OTHER = deriveMasterKey("cd" * 64)


class Pair:
    """
    A client and a server security, their lines carried by hand.
    """

    def __init__(self, clientKeys=(KEY,), serverKeys=(KEY,), clientCipher="aes-256-gcm",
                 serverCipher="aes-256-gcm"):
        self.client = PskSecurity(list(clientKeys), clientCipher)
        self.server = PskSecurity(list(serverKeys), serverCipher)
        self.toServer, self.toClient = [], []
        self.server.start(lambda line: self.toClient.append(line), isServer=True)
        self.client.start(lambda line: self.toServer.append(line), isServer=False)

    def deliver(self):
        """
        Carry every line across until nothing moves.

        @return: C{(payloads received by the client, by the server)}.
        """
        got = ([], [])
        while self.toServer or self.toClient:
            lines, self.toServer = self.toServer, []
            for line in lines:
                payload = self.server.open(line)
                if payload is not None:
                    got[1].append(payload)
            lines, self.toClient = self.toClient, []
            for line in lines:
                payload = self.client.open(line)
                if payload is not None:
                    got[0].append(payload)
        return got

    def send(self, security, payload):
        line = security.seal(payload)
        if line is not None:
            (self.toServer if security is self.client else self.toClient).append(line)


class HandshakeTests(SynchronousTestCase):
    def test_goodPair(self):
        pair = Pair()
        pair.send(pair.client, b'{"t":"hello"}')
        self.assertEqual(pair.toServer[1:], [], "held until the server proved the key")
        self.assertEqual(pair.deliver(), ([], [b'{"t":"hello"}']))
        self.assertTrue(pair.client.ready and pair.server.ready)
        pair.send(pair.server, b"welcome")
        pair.send(pair.client, b"batch 1")
        pair.send(pair.client, b"batch 2")
        self.assertEqual(pair.deliver(), ([b"welcome"], [b"batch 1", b"batch 2"]))

    def test_noPlaintextOnTheWire(self):
        pair = Pair()
        pair.deliver()
        pair.send(pair.client, b"Failed password for alice")
        self.assertNotIn(b"alice", pair.toServer[0])
        self.assertNotIn(b"alice", base64.b64decode(pair.toServer[0]))

    def test_chacha(self):
        pair = Pair(clientCipher="chacha20-poly1305", serverCipher="chacha20-poly1305")
        pair.send(pair.client, b"x")
        self.assertEqual(pair.deliver(), ([], [b"x"]))

    def test_wrongKey(self):
        pair = Pair(clientKeys=[OTHER])
        pair.send(pair.client, b"secret data")
        e = self.assertRaises(ProtocolError, pair.deliver)
        self.assertIn("does not know the key", str(e))
        self.assertFalse(pair.server.ready)
        self.assertEqual(len(pair.toClient), 0, "the server proves nothing to a stranger")

    def test_serverWithoutTheKey(self):
        """
        A client talking to an impostor sends it nothing but its proof.
        """
        pair = Pair()
        impostor = PskSecurity([OTHER])
        lines = []
        impostor.start(lines.append, isServer=True)
        impostor.open(pair.toServer.pop())
        pair.client.open(lines.pop())
        pair.send(pair.client, b"secret data")
        [proof] = pair.toServer
        self.assertRaises(ProtocolError, impostor.open, proof)

    def test_serverPicksTheClientsKey(self):
        pair = Pair(clientKeys=[KEY], serverKeys=[OTHER, KEY])
        pair.send(pair.client, b"x")
        self.assertEqual(pair.deliver(), ([], [b"x"]))

    def test_cipherMismatch(self):
        pair = Pair(clientCipher="chacha20-poly1305")
        e = self.assertRaises(ProtocolError, pair.deliver)
        self.assertIn("CRYPTMOD must match", str(e))

    def test_plaintextClient(self):
        server = PskSecurity([KEY])
        server.start(lambda line: None, isServer=True)
        e = self.assertRaises(ProtocolError, server.open, b'{"t":"hello","v":1}')
        self.assertIn("ENCRYPT = yes", str(e))


class MessageTests(SynchronousTestCase):
    def established(self):
        pair = Pair()
        pair.deliver()
        return pair

    def sealed(self, pair, *payloads):
        for payload in payloads:
            pair.send(pair.client, payload)
        lines, pair.toServer = pair.toServer, []
        return lines

    def test_flippedBit(self):
        pair = self.established()
        [line] = self.sealed(pair, b"batch")
        raw = bytearray(base64.b64decode(line))
        raw[3] ^= 1
        e = self.assertRaises(ProtocolError, pair.server.open, base64.b64encode(bytes(raw)))
        self.assertIn("fails authentication", str(e))

    def test_replay(self):
        pair = self.established()
        [line] = self.sealed(pair, b"batch")
        self.assertEqual(pair.server.open(line), b"batch")
        self.assertRaises(ProtocolError, pair.server.open, line)

    def test_reordered(self):
        pair = self.established()
        first, second = self.sealed(pair, b"one", b"two")
        self.assertRaises(ProtocolError, pair.server.open, second)

    def test_truncated(self):
        pair = self.established()
        [line] = self.sealed(pair, b"a longer batch of records")
        self.assertRaises(ProtocolError, pair.server.open, line[:-8])

    def test_replayAcrossSessions(self):
        """
        A message captured from one session means nothing in the next: the
        keys come from fresh nonces.
        """
        pair = self.established()
        [line] = self.sealed(pair, b"batch")
        other = self.established()
        self.assertRaises(ProtocolError, other.server.open, line)

    def test_sealedLength(self):
        pair = self.established()
        for size in (0, 1, 100, 1000):
            [line] = self.sealed(pair, b"x" * size)
            self.assertEqual(len(line), PskSecurity.sealedLength(size))

    @given(st.lists(st.binary(max_size=200), max_size=5))
    def test_randomLinesNeverYieldARecord(self, lines):
        """
        Random bytes, to a server in the handshake or to an established
        link, only ever raise L{ProtocolError}, and never give a payload.
        """
        fresh = PskSecurity([KEY])
        fresh.start(lambda line: None, isServer=True)
        established = self.established().server
        for security in (fresh, established):
            for line in lines:
                try:
                    payload = security.open(line)
                except ProtocolError:
                    break
                self.assertIsNone(payload)


class KeyTests(SynchronousTestCase):
    def test_hexKeyOrPassphrase(self):
        self.assertEqual(len(deriveMasterKey("ab" * 64)), 32)
        self.assertEqual(deriveMasterKey("ab" * 64), deriveMasterKey("AB" * 64))
        self.assertNotEqual(deriveMasterKey("correct horse"), deriveMasterKey("correct horsf"))
        self.assertEqual(deriveMasterKey("correct horse"), deriveMasterKey("correct horse"))

    def test_weak(self):
        self.assertTrue(weakPassphrase("changeme"))
        self.assertTrue(weakPassphrase(" ChangeMe "))
        self.assertFalse(weakPassphrase("ab" * 64))

    def test_ciphers(self):
        self.assertEqual(effectiveCipher("chacha20-poly1305"), ("chacha20-poly1305", None))
        cipher, warning = effectiveCipher("twofish")
        self.assertEqual(cipher, "aes-256-gcm")
        self.assertIn("Twofish is not available", warning)
        self.assertRaises(ValueError, effectiveCipher, "rot13")
