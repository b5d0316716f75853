# -*- test-case-name: tests.unit.security.test_psk -*-
"""
The pre-shared-key link security (C{ENCRYPT = yes} with C{ENCKEY}): a
handshake in which both ends prove that they know the key, with fresh
random nonces from each side, then every message sealed with an AEAD under
per-session, per-direction keys, its counter as the nonce.

Pure: no reactor, no sockets; the link protocol (L{mice.protocols.link})
calls L{PskSecurity} between its line framing and its messages.  See
C{docs/security.rst} for the conversation and what each check defends
against.

The original M-ICE used unauthenticated Twofish under the static ENCKEY.
Here the same settings mean: ENCKEY is a key (128 hex digits from
C{mice keygen}) or a passphrase stretched with scrypt; CRYPTMOD picks
AES-256-GCM (default) or ChaCha20-Poly1305; C{twofish}, which
C{cryptography} does not offer, loads as AES-256-GCM with a warning.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mice.config.values import isWellKnownSecret
from mice.protocols.wire import ProtocolError

__all__ = ["AEADS", "PskSecurity", "deriveMasterKey", "effectiveCipher", "weakPassphrase"]

AEADS = {"aes-256-gcm": AESGCM, "chacha20-poly1305": ChaCha20Poly1305}
DEFAULT_CIPHER = "aes-256-gcm"

#: The handshake's first word, and the version of this link security.
MAGIC = b"MICE-PSK/1"
NONCE_SIZE = 32
_PROOF_SIZE = 32
_SCRYPT_SALT = b"M-ICE link pre-shared key v1"
_NONCE = struct.Struct(">4xQ")


def effectiveCipher(cryptMod):
    """
    @return: C{(cipher, warning)}: the AEAD that CRYPTMOD selects, and a
        warning when it is not the one named (C{None} otherwise).
    """
    name = (cryptMod or DEFAULT_CIPHER).lower()
    if name in AEADS:
        return name, None
    if name == "twofish":
        return DEFAULT_CIPHER, ("CRYPTMOD = twofish: Twofish is not available; the link uses"
                                f" {DEFAULT_CIPHER} (authenticated) instead")
    raise ValueError(f"unknown CRYPTMOD {cryptMod!r}; supported: {', '.join(AEADS)}, twofish")


def weakPassphrase(secret):
    """
    Whether ENCKEY is a passphrase everyone knows (the seed's C{changeme}),
    or empty.
    """
    return not secret.strip() or isWellKnownSecret(secret)


def deriveMasterKey(secret):
    """
    The 32-byte master key for ENCKEY: its bytes when it is a key written
    in hex (at least 32 bytes, as C{mice keygen} prints), else the
    passphrase stretched with scrypt (about 50 ms, once at start-up).
    """
    text = "".join(secret.split())
    if len(text) >= 64:
        try:
            return hashlib.sha256(b"M-ICE hex key" + bytes.fromhex(text)).digest()
        except ValueError:
            pass
    return hashlib.scrypt(secret.encode("utf-8"), salt=_SCRYPT_SALT, n=2 ** 14, r=8, p=1,
                          maxmem=64 * 2 ** 20, dklen=32)


def _hkdf(master, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master)


class _Keys:
    """
    What one master key gives for one session.
    """

    def __init__(self, master, clientNonce, serverNonce, cipher):
        salt = clientNonce + serverNonce
        suite = cipher.encode("ascii")
        self.auth = _hkdf(master, salt, b"mice-link auth " + suite)
        self.clientToServer = _hkdf(master, salt, b"mice-link c2s " + suite)
        self.serverToClient = _hkdf(master, salt, b"mice-link s2c " + suite)
        self.transcript = suite + b"\0" + salt

    def proof(self, side):
        return hmac.new(self.auth, side + b"\0" + self.transcript, hashlib.sha256).digest()


def _b64decode(data, what):
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"encrypted link: {what} is not base64") from None


class PskSecurity:
    """
    The link security of C{ENCRYPT = yes} with a pre-shared key.

    The conversation (each a line)::

        client: MICE-PSK/1 <cipher> <client nonce>
        server: MICE-PSK/1 <cipher> <server nonce>
        client: <client proof>      HMAC(auth key, "client" | transcript)
        server: <server proof>      HMAC(auth key, "server" | transcript)
        both:   <AEAD(key of the direction, counter, message)>...

    (nonces, proofs and sealed messages in base64).  The client proves the
    key first, so a server gives nothing to someone without it; the client
    holds its messages until the server has proved the key too.  A server
    may hold several keys (one per decoding module): the client's proof
    says which.  Anything wrong raises L{ProtocolError}, which closes the
    connection with a logged reason.

    @param masterKeys: 32-byte keys from L{deriveMasterKey}; a client uses
        the first.
    """

    name = "psk"

    def __init__(self, masterKeys, cipher=DEFAULT_CIPHER, random=os.urandom):
        if cipher not in AEADS:
            raise ValueError(f"unknown cipher {cipher!r}")
        if not masterKeys:
            raise ValueError("a pre-shared key is needed")
        self._masters = list(masterKeys)
        self.cipher = cipher
        self._random = random
        self._sendLine = None
        self._isServer = None
        self._state = "new"
        self._queued = []
        self._keys = None
        self._sealer = self._opener = None
        self._sent = self._received = 0
        self.ready = False

    # -- the handshake --------------------------------------------------------

    def start(self, sendLine, isServer):
        self._sendLine = sendLine
        self._isServer = isServer
        self._myNonce = self._random(NONCE_SIZE)
        if isServer:
            self._state = "await-hello"
        else:
            self._state = "await-nonce"
            sendLine(b" ".join([MAGIC, self.cipher.encode(), base64.b64encode(self._myNonce)]))

    def _hello(self, line, what):
        parts = line.split(b" ")
        if len(parts) != 3 or parts[0] != MAGIC:
            raise ProtocolError(f"encrypted link: expected the {what} of {MAGIC.decode()}"
                                " (is the peer set to ENCRYPT = yes with the same kind of"
                                " key?)")
        cipher = parts[1].decode("ascii", "replace")
        if cipher != self.cipher:
            raise ProtocolError(f"encrypted link: the peer uses {cipher!r}, this end"
                                f" {self.cipher!r} (CRYPTMOD must match)")
        nonce = _b64decode(parts[2], "the nonce")
        if len(nonce) != NONCE_SIZE:
            raise ProtocolError("encrypted link: a nonce of the wrong size")
        return nonce

    def _proofReceived(self, line, keys):
        proof = _b64decode(line, "the key proof")
        side = b"client" if self._isServer else b"server"
        return len(proof) == _PROOF_SIZE and hmac.compare_digest(proof, keys.proof(side))

    def _handshake(self, line):
        state = self._state
        if state == "await-hello":
            self._peerNonce = self._hello(line, "client's hello")
            self._sendLine(b" ".join([MAGIC, self.cipher.encode(),
                                      base64.b64encode(self._myNonce)]))
            self._state = "await-client-proof"
        elif state == "await-nonce":
            self._peerNonce = self._hello(line, "server's answer")
            self._keys = _Keys(self._masters[0], self._myNonce, self._peerNonce, self.cipher)
            self._sendLine(base64.b64encode(self._keys.proof(b"client")))
            self._state = "await-server-proof"
        elif state == "await-client-proof":
            for master in self._masters:
                keys = _Keys(master, self._peerNonce, self._myNonce, self.cipher)
                if self._proofReceived(line, keys):
                    break
            else:
                raise ProtocolError("encrypted link: the client does not know the key"
                                    " (wrong ENCKEY)")
            self._keys = keys
            self._sendLine(base64.b64encode(keys.proof(b"server")))
            self._established()
        elif state == "await-server-proof":
            if not self._proofReceived(line, self._keys):
                raise ProtocolError("encrypted link: the server does not know the key"
                                    " (wrong ENCKEY)")
            self._established()
            queued, self._queued = self._queued, []
            for payload in queued:
                self._sendLine(self._seal(payload))
        else:
            raise ProtocolError(f"encrypted link: unexpected line in state {state}")

    def _established(self):
        keys, aead = self._keys, AEADS[self.cipher]
        mine, theirs = keys.serverToClient, keys.clientToServer
        if not self._isServer:
            mine, theirs = theirs, mine
        self._sealer, self._opener = aead(mine), aead(theirs)
        self._state = "ready"
        self.ready = True
        self._keys.auth = None

    # -- messages -------------------------------------------------------------

    def open(self, line):
        """
        @return: the message payload of C{line}, or C{None} for a handshake
            line.
        @raise ProtocolError: a wrong key, or a message that was tampered
            with, replayed, reordered or cut.
        """
        if self._state != "ready":
            self._handshake(line)
            return None
        sealed = _b64decode(line, "a message")
        counter = self._received
        try:
            payload = self._opener.decrypt(_NONCE.pack(counter), sealed, None)
        except Exception:
            raise ProtocolError(f"encrypted link: message {counter} fails authentication"
                                " (tampered, replayed, reordered or cut)") from None
        self._received = counter + 1
        return payload

    def _seal(self, payload):
        counter = self._sent
        self._sent = counter + 1
        return base64.b64encode(self._sealer.encrypt(_NONCE.pack(counter), payload, None))

    def seal(self, payload):
        """
        @return: the line to send for C{payload}, or C{None} while the
            handshake is not done (it is sent once it is).
        """
        if self._state == "ready":
            return self._seal(payload)
        self._queued.append(payload)
        return None

    @staticmethod
    def sealedLength(size):
        """
        The length of the line that carries a payload of C{size} bytes.
        """
        return (size + 16 + 2) // 3 * 4
