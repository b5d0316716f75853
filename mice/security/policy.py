# -*- test-case-name: tests.integration.test_securelink -*-
"""
What secures one end of a link, from its config: plain (ENCRYPT = no), the
pre-shared key (ENCRYPT = yes with ENCKEY: L{mice.security.psk}) or TLS
with mutual certificates (ENCRYPT = yes with TLSCERT, TLSKEY, TLSCA:
L{mice.protocols.tls}).

A L{LinkSecurity} gives the link protocol its per-connection security
object and wraps a server factory or a client endpoint for TLS.  Building
one logs what is weak about the settings (the seed's C{changeme}, a
C{twofish} that is really AES-256-GCM); the key itself is never logged.
"""

import os

from twisted.logger import Logger

from mice.protocols.link import PlainSecurity
from mice.protocols.tls import TLSFiles, wrapClientEndpoint, wrapServerFactory
from mice.security.psk import PskSecurity, deriveMasterKey, effectiveCipher, weakPassphrase

log = Logger()

PLAIN, PSK, TLS = "plain", "psk", "tls"

#: The C{(file, key)}s already said to hold a well-known secret.
_warnedSecrets = set()


def warnWellKnownSecret(where, key, consequence, line=None):
    """
    Say loudly (an error) that C{key} of C{where} (a config file) holds a
    shipped default secret (the seed's C{changeme}): once per file and key
    in this process, however many links, connections or modules use it.

    @return: whether it was said now.
    """
    return _sayOnce(where, key, f"{where if line is None else f'{where}:{line}'}: {key} is a"
                                f" well-known default secret (as shipped): {consequence}; use a"
                                " key from `mice keygen`")


def sayConfigWarning(warning):
    """
    Log a config's L{mice.config.ConfigWarning} at start-up: a warning, or,
    for a shipped default secret, an error said once per file and key (a
    link built from that key later says nothing more).
    """
    if warning.secret is None:
        log.warn("{problem}", problem=str(warning))
    else:
        _sayOnce(warning.filename, warning.secret, str(warning))


def _sayOnce(where, key, text):
    name = os.path.abspath(where) if os.path.exists(where) else where
    if (name, key) in _warnedSecrets:
        return False
    _warnedSecrets.add((name, key))
    log.error("{problem}", problem=text)
    return True


class LinkSecurity:
    """
    @ivar mode: C{"plain"}, C{"psk"} or C{"tls"}.
    """

    def __init__(self, mode=PLAIN, masterKeys=(), cipher="aes-256-gcm", tls=None):
        self.mode = mode
        self.cipher = cipher
        self.tls = tls
        self._masterKeys = list(masterKeys)

    def __repr__(self):
        return f"<LinkSecurity {self.mode}{' ' + self.cipher if self.mode == PSK else ''}>"

    def securityFactory(self):
        """
        @return: what makes the security object of each connection.
        """
        if self.mode == PSK:
            keys, cipher = self._masterKeys, self.cipher
            return lambda: PskSecurity(keys, cipher)
        return PlainSecurity

    def wrapServerFactory(self, factory):
        return wrapServerFactory(factory, self.tls) if self.mode == TLS else factory

    def wrapClientEndpoint(self, endpoint, serverName):
        return wrapClientEndpoint(endpoint, self.tls, serverName) if self.mode == TLS \
            else endpoint

    @classmethod
    def fromSettings(cls, encrypt, encKey=None, cryptMod=None, tls=None, where="link",
                     keyName="ENCKEY"):
        """
        @param tls: C{(certificate, key, ca)} paths, or C{None}.
        @param where: the config file, for the warnings.
        @param keyName: the config key C{encKey} comes from, for the warnings.
        """
        if not encrypt:
            return cls(PLAIN)
        if tls is not None:
            files = TLSFiles(*tls)
            files.privateCertificate()  # a bad file fails at start-up, not at connect
            files.authority()
            return cls(TLS, tls=files)
        cipher, warning = effectiveCipher(cryptMod)
        if warning:
            log.warn("{where}: {problem}", where=where, problem=warning)
        if weakPassphrase(encKey):
            warnWellKnownSecret(where, keyName, "anyone can read and forge this link")
        return cls(PSK, [deriveMasterKey(encKey)], cipher)

    @classmethod
    def combine(cls, securities, where="server"):
        """
        One server's security from those of its decoding modules: they must
        agree on the mode (and on the cipher); a PSK server accepts every
        module's key.

        @raise ValueError: they disagree.
        """
        securities = list(securities)
        modes = {s.mode for s in securities}
        if len(modes) > 1:
            raise ValueError(f"{where}: the decoding modules disagree on the link's security"
                             f" ({', '.join(sorted(modes))}); one listener has one")
        first = securities[0]
        if first.mode == PSK:
            ciphers = {s.cipher for s in securities}
            if len(ciphers) > 1:
                raise ValueError(f"{where}: the decoding modules use different CRYPTMODs")
            return cls(PSK, [k for s in securities for k in s._masterKeys], first.cipher)
        return first


def decoderLinkSecurity(settings):
    """
    The link security a decoding module's config asks for (ENCRYPT, ENCKEY,
    CRYPTMOD, TLSCERT...): the BufferDaemon listens with it.
    """
    return LinkSecurity.fromSettings(settings.encrypt, settings.encKey, settings.cryptMod,
                                     settings.tls, where=settings.path or "decoder")
