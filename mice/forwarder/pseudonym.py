# -*- test-case-name: tests.unit.forwarder.test_clientmodules -*-
"""
Pseudonymisation of log lines before a DataForwarder ships them (PSEUDO = yes).

C{mice_mod_psd_empty} (L{EmptyPseudonymizer}) passes lines through.
C{mice_mod_psd_keyed} (L{KeyedPseudonymizer}) replaces user names, numeric
uids and, if asked, IPv4/IPv6 addresses by stable tokens::

    psd:<base32 of AES-SIV(key, value, associated data = field kind)>

AES-SIV is deterministic: the same value gives the same token under one key,
so pseudonymised lines can still be correlated ("the same user failed ten
times"), while only the key holder can turn a token back into the value
(L{depseudonymize}).  The field kind (C{user}, C{uid}, C{address}) is the
associated data, so a user and a host spelled alike get different tokens.

Only the value is replaced; the text around it is left as it was, so
C{depseudonymize(pseudonymize(line)) == line} for every line.

Pure: no I/O here except in L{readKey} and the C{build*} functions.
"""

import base64
import binascii
import ipaddress
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from zope.interface import implementer

from mice.interfaces import IPseudonymizer
from mice.security.keyfile import readHexKey

#: Field kinds, used as AES-SIV associated data.
USER, UID, ADDRESS = b"user", b"uid", b"address"
KINDS = (USER, UID, ADDRESS)

#: Key lengths AES-SIV takes (two AES keys); L{newKey} makes the longest.
KEY_SIZES = (32, 48, 64)

TOKEN = re.compile(r"psd:([a-z2-7]+)")

# A user name as logs write it: up to a blank, quote, bracket or separator.
_NAME = r"""[^\s;,:"'()\[\]=]+"""

# Each pattern captures only the value it replaces; the group's first letter
# says the kind (u: user name, n: numeric uid, a: address).  Every value is
# bounded on both sides by characters that cannot be part of a token, which
# is what makes pseudonymisation reversible; where two values touch, they
# are one token (KeyedPseudonymizer._values).
_USER_PATTERNS = (
    rf"\bfor (?P<u1>{_NAME}) from\b",                                # sshd Accepted
    rf"\b(?:for|[Ii]nvalid|[Ii]llegal|authenticating) user (?P<u2>{_NAME})",
    rf"\bsu(?:\[\d+\])?: \(to (?P<u3>{_NAME})\) (?P<u4>{_NAME})",    # su: (to root) alice
    rf"\bsudo(?:\[\d+\])?: +(?P<u5>{_NAME}) :",                       # sudo:   alice : TTY=
    rf"\bby (?P<u6>{_NAME})(?=\(uid=)",                               # pam: by alice(uid=0)
    rf"""\b(?i:r?user|acct)=(?:"(?P<u7>[^"\s]+)"|(?P<u8>{_NAME}))""",  # user=, ruser=, acct=
    r'\b(?:[AEOS]|FS|R)?UID="(?P<u9>[^"\s]+)"',                       # auditd enriched names
    r"\b(?:[aeos]|fs|r)?uid=(?P<n1>\d+)(?!\w)",                       # uid=, euid=, auid=
)
_ADDRESS_PATTERNS = (
    r"(?<![\w:.])(?P<a1>[0-9A-Fa-f]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:\d+\.\d+\.\d+\.\d+)?)"
    r"(?![\w:]|\.\d)",
    r"(?<![\w.])(?P<a2>(?:\d{1,3}\.){3}\d{1,3})(?!\w|\.\d)",
)
_KIND_OF = {"u": USER, "n": UID, "a": ADDRESS}
_HEX = re.compile(r"[0-9A-Fa-f]")
_CACHE_SIZE = 65536


def newKey():
    """
    A new random key for L{KeyedPseudonymizer}: 64 bytes (AES-256-SIV).
    Store it as hex (C{newKey().hex()}) in the file KEYFILE names.
    """
    return os.urandom(64)


def readKey(path):
    """
    The key in a KEYFILE: hex digits, blanks ignored.

    @raise ValueError: the file does not hold a key.
    @raise OSError: the file cannot be read.
    """
    key = readHexKey(path)
    if len(key) not in KEY_SIZES:
        raise ValueError(f"{path}: expected a key of 64 bytes (128 hex digits), got"
                         f" {len(key)} bytes")
    return key


def _isAddress(text):
    if ":" in text and not _HEX.search(text):
        return False  # "::" and the like are more likely punctuation
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _encode(ciphertext):
    return "psd:" + base64.b32encode(ciphertext).decode("ascii").rstrip("=").lower()


def _decode(body):
    padded = body.upper() + "=" * (-len(body) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError):
        return None


@implementer(IPseudonymizer)
class EmptyPseudonymizer:
    """
    C{mice_mod_psd_empty}: lines pass unchanged.
    """

    def pseudonymize(self, line):
        return line


@implementer(IPseudonymizer)
class KeyedPseudonymizer:
    """
    C{mice_mod_psd_keyed}: user names, uids and (with C{addresses}) IP
    addresses replaced by AES-SIV tokens under C{key}.
    """

    def __init__(self, key, addresses=False):
        self._siv = AESSIV(key)
        self.addresses = addresses
        patterns = _USER_PATTERNS + (_ADDRESS_PATTERNS if addresses else ())
        self._pattern = re.compile("|".join(patterns))
        self._groups = [(name, _KIND_OF[name[0]]) for name in self._pattern.groupindex]
        self._cache = {}

    def __repr__(self):
        return f"<KeyedPseudonymizer addresses={self.addresses}>"

    def token(self, kind, value):
        """
        The token for C{value} of field C{kind} (one of L{KINDS}).
        """
        cached = self._cache.get((kind, value))
        if cached is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            data = value.encode("utf-8", "surrogatepass")
            cached = self._cache[(kind, value)] = _encode(self._siv.encrypt(data, [kind]))
        return cached

    def _values(self, line):
        """
        The values to replace in C{line}: C{[begin, end, kind]}, in order.

        Two values side by side become one, of the first one's kind: a user
        name ends at a colon (C{acct={::0}), and an IPv6 address may begin
        with that very colon.  Replaced one by one, they would give two
        tokens with nothing between them, which no reader (nor
        L{depseudonymize}) can split again, since the second token's C{psd}
        reads as the end of the first.
        """
        values = []
        for match in self._pattern.finditer(line):
            for name, kind in self._groups:
                begin = match.start(name)
                if begin < 0:
                    continue
                end = match.end(name)
                if kind is ADDRESS and not _isAddress(line[begin:end]):
                    continue
                if values and values[-1][1] == begin:
                    values[-1][1] = end
                else:
                    values.append([begin, end, kind])
        return values

    def pseudonymize(self, line):
        parts, position = [], 0
        for begin, end, kind in self._values(line):
            parts.append(line[position:begin])
            parts.append(self.token(kind, line[begin:end]))
            position = end
        if not parts:
            return line
        parts.append(line[position:])
        return "".join(parts)


def depseudonymize(text, key, invalid=None):
    """
    Replace every C{psd:} token in C{text} made with C{key} by its value.

    Tokens that do not decrypt under C{key} (another key, a typo, text that
    merely looks like a token) are left as they are and appended to
    C{invalid} when it is a list.  A candidate that is not a token is
    passed over by its C{psd:} only, so a real token right behind it (an
    original C{psd:} followed by a pseudonymised value) is still found.
    """
    siv = AESSIV(key)
    out, position = [], 0
    while True:
        match = TOKEN.search(text, position)
        if match is None:
            break
        value = None
        data = _decode(match.group(1))
        if data is not None:
            for kind in KINDS:
                try:
                    value = siv.decrypt(data, [kind]).decode("utf-8", "surrogatepass")
                    break
                except (InvalidTag, ValueError):
                    continue
        if value is None:
            # "psd:psd:..." is an original "psd:" before a token, not a bad one.
            nested = match.group(1) == "psd" and text.startswith(":", match.end())
            if not nested and invalid is not None:
                invalid.append(match.group())
            resume = match.start() + len("psd:")
            out.append(text[position:resume])
            position = resume
            continue
        out.append(text[position:match.start()])
        out.append(value)
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def depseudonymizeText(text, key):
    """
    For C{mice depseudonymize}: C{(text with tokens replaced, invalid tokens)}.
    """
    invalid = []
    return depseudonymize(text, key, invalid), tuple(invalid)


def buildEmpty(configPath, reactor):
    from mice.config import loadPseudonym

    loadPseudonym(configPath)  # a broken config is still an error
    return EmptyPseudonymizer()


def buildKeyed(configPath, reactor):
    from mice.config import ConfigError, loadPseudonym

    settings = loadPseudonym(configPath)
    if settings.keyFile is None:
        raise ConfigError(configPath or "mice_mod_psd_keyed", None,
                          "mice_mod_psd_keyed needs KEYFILE in [PSEUDONYM] (make one with"
                          " mice.forwarder.pseudonym.newKey().hex())")
    try:
        key = readKey(settings.keyFile)
    except OSError as e:
        raise ConfigError(configPath, None,
                          f"KEYFILE: cannot read {settings.keyFile}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(configPath, None, f"KEYFILE: {e}") from None
    return KeyedPseudonymizer(key, settings.addresses)
