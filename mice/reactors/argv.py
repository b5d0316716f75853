# -*- test-case-name: tests.unit.reactors.test_argv -*-
"""
What a ReactionDaemon command may be given: typed parameters, checked and
put in canonical form before anything runs, and argv templates whose
placeholders each become exactly one word.

Pure: no reactor, no processes.  L{mice.reactors.system} runs the argv this
module builds with C{reactor.spawnProcess}, never through a shell; the
checks here are what make a value from a log line (an attacker's address, a
user name) safe to put in one word of it:

 - every value is ASCII, and matches its type's grammar in full
   (C{ipaddress} for addresses and networks, anchored expressions for the
   others), then is replaced by its canonical form;
 - no canonical value starts with C{-} (no value is ever read as an
   option), and none holds a blank, a quote or a shell metacharacter
   (L{SAFE_VALUE} is checked last, whatever the type said);
 - addresses and networks on the never list (loopback, this host, the
   ManagementHost, the config's NEVER) are refused, a network if it merely
   overlaps one;
 - a network wider than the configured prefix is refused.
"""

import ipaddress
import re
import shlex
from dataclasses import dataclass

__all__ = [
    "PARAM_TYPES", "SAFE_VALUE", "ALWAYS_NEVER", "InvalidValue", "Limits", "NeverList",
    "Template", "canonicalValue", "checkParams", "parseParamSpec", "isIPv6Params",
]

#: The parameter types, as C{PARAMS} names them.
PARAM_TYPES = ("ip", "cidr", "user", "port", "word")

#: Every canonical value matches this, whatever its type: no blank, quote,
#: shell metacharacter, glob or leading dash, whatever a type's own check
#: lets through.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:/][A-Za-z0-9_.:/-]*\Z", re.ASCII)

#: The longest value looked at (the longest canonical one is an IPv6
#: network, 43 characters).
MAX_VALUE = 255

_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\Z", re.ASCII)
_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}\Z", re.ASCII)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,31}\Z", re.ASCII)
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]{0,31})\}\Z", re.ASCII)

#: Never acted on, whatever the config says: loopback and the unspecified
#: addresses.  The daemon adds its own addresses and its peers'.
ALWAYS_NEVER = (("127.0.0.0/8", "loopback"), ("::1/128", "loopback"),
                ("0.0.0.0/32", "the unspecified address"), ("::/128", "the unspecified address"))


class InvalidValue(ValueError):
    """
    A parameter is refused; the message says why (without echoing more than
    a short, escaped piece of the value).
    """


def _shown(value):
    text = value if len(value) <= 48 else value[:45] + "..."
    return repr(text)


@dataclass(frozen=True)
class Limits:
    """
    The widest networks a C{cidr} parameter may name: the smallest prefix
    length accepted for IPv4 and for IPv6.
    """

    cidr4: int = 16
    cidr6: int = 48


def _ip(value):
    if "%" in value:
        # An IPv6 scope id may hold anything; no countermeasure needs one.
        raise InvalidValue(f"{_shown(value)}: an address with a scope id (%) is not accepted")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise InvalidValue(f"{_shown(value)} is not an IPv4 or IPv6 address") from None


def _cidr(value, limits):
    if "%" in value:
        raise InvalidValue(f"{_shown(value)}: a network with a scope id (%) is not accepted")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidValue(f"{_shown(value)} is not an IPv4 or IPv6 network") from None
    widest = limits.cidr4 if network.version == 4 else limits.cidr6
    if network.prefixlen < widest:
        raise InvalidValue(f"{network} is wider than /{widest}, the widest IPv{network.version}"
                           " network this function accepts")
    return network


def canonicalValue(kind, value, limits=Limits()):
    """
    Check one parameter value against its type.

    @param kind: one of L{PARAM_TYPES}.
    @param value: what was asked for (a C{str}; anything else is refused).
    @return: the value's canonical form (C{str}), safe as one argv word.
    @raise InvalidValue: it does not parse, or is not safe.
    """
    if type(value) is not str:
        raise InvalidValue(f"a {kind} value must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidValue(f"an empty {kind} value")
    if len(value) > MAX_VALUE:
        raise InvalidValue(f"a {kind} value of {len(value)} characters")
    if not value.isascii():
        # Unicode digits ('١٢٣', fullwidth '１') parse as numbers in Python:
        # refused before any parser sees them.
        raise InvalidValue(f"{_shown(value)} is not plain ASCII")
    if kind == "ip":
        canonical = str(_ip(value))
    elif kind == "cidr":
        canonical = str(_cidr(value, limits))
    elif kind == "user":
        if not _USER.match(value):
            raise InvalidValue(f"{_shown(value)} is not a user name"
                               " ([a-z_][a-z0-9_.-], at most 32)")
        canonical = value
    elif kind == "port":
        if not _PORT.match(value) or not 0 < int(value) < 65536:
            raise InvalidValue(f"{_shown(value)} is not a port number (1 to 65535)")
        canonical = str(int(value))
    elif kind == "word":
        if not _WORD.match(value):
            raise InvalidValue(f"{_shown(value)} is not a word ([A-Za-z0-9_.-], 1 to 64)")
        if value.startswith("-"):
            raise InvalidValue(f"{_shown(value)} starts with '-' (it would be read as an"
                               " option)")
        canonical = value
    else:
        raise InvalidValue(f"unknown parameter type {kind!r}")
    if not SAFE_VALUE.match(canonical):
        # Unreachable by construction; the last line of defence all the same.
        raise InvalidValue(f"{_shown(value)} is not safe as an argument")
    return canonical


class NeverList:
    """
    Addresses and networks never acted on, each with why (for the refusal).
    """

    def __init__(self, entries=()):
        self._networks = []
        for network, why in entries:
            self.add(network, why)

    def add(self, network, why):
        """
        @param network: an address or network, as text or an C{ipaddress}
            object.
        """
        if isinstance(network, str):
            network = ipaddress.ip_network(network, strict=False)
        elif not isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            network = ipaddress.ip_network(network)
        self._networks.append((network, why))

    def __iter__(self):
        return iter(self._networks)

    def __len__(self):
        return len(self._networks)

    def extended(self, entries):
        """
        A new list with C{entries} (C{(network, why)}) added.
        """
        copy = NeverList()
        copy._networks = list(self._networks)
        for network, why in entries:
            copy.add(network, why)
        return copy

    def why(self, kind, canonical):
        """
        @return: why C{canonical} (an C{ip} or C{cidr} value) may not be
            acted on, or C{None} when it may.  A network is refused if it
            overlaps a protected one; an IPv4-mapped IPv6 address
            (C{::ffff:127.0.0.1}) counts as its IPv4 address.
        """
        if kind == "ip":
            address = ipaddress.ip_address(canonical)
            candidates = [ipaddress.ip_network(address)]
            mapped = getattr(address, "ipv4_mapped", None)
            if mapped is not None:
                candidates.append(ipaddress.ip_network(mapped))
        elif kind == "cidr":
            network = ipaddress.ip_network(canonical)
            candidates = [network]
            if network.version == 6:
                mappedNet = ipaddress.ip_network("::ffff:0:0/96")
                if network.overlaps(mappedNet):
                    candidates.append(ipaddress.ip_network("0.0.0.0/0"))
        else:
            return None
        for candidate in candidates:
            for network, why in self._networks:
                if candidate.version == network.version and candidate.overlaps(network):
                    return f"{canonical} is on the never list ({why}: {network})"
        return None


def parseParamSpec(text):
    """
    Parse C{PARAMS} text: C{name:type} pairs separated by blanks or commas.

    @return: a list of C{(name, type)}.
    @raise ValueError: with what is wrong.
    """
    pairs = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        name, colon, kind = item.partition(":")
        if not colon:
            raise ValueError(f"{item!r}: expected name:type (e.g. ip:ip)")
        if not _NAME.match(name):
            raise ValueError(f"{name!r}: a parameter name is [a-z_][a-z0-9_]*, at most 32")
        if kind not in PARAM_TYPES:
            raise ValueError(f"{item!r}: unknown type {kind!r}; known: {', '.join(PARAM_TYPES)}")
        pairs.append((name, kind))
    if not pairs:
        raise ValueError("expected name:type pairs (e.g. ip:ip)")
    return pairs


class Template:
    """
    An argv template: words, each literal or exactly one C{{name}}
    placeholder.

    @ivar words: C{(literal, name)} pairs, one of them C{None}.
    """

    def __init__(self, words):
        self.words = tuple(words)

    @classmethod
    def parse(cls, text):
        """
        Split C{text} into words as a POSIX shell would split them (quotes
        group, backslashes escape), without running or expanding anything.

        @raise ValueError: unbalanced quotes, no words, a relative program,
            or a placeholder that is not a whole word (C{-s{ip}},
            C{{a}{b}}).
        """
        try:
            split = shlex.split(text, comments=False, posix=True)
        except ValueError as e:
            raise ValueError(f"cannot split into words: {e}") from None
        if not split:
            raise ValueError("no command")
        words = []
        for word in split:
            match = _PLACEHOLDER.match(word)
            if match:
                words.append((None, match.group(1)))
            elif ("{" in word or "}" in word) and word not in ("{", "}"):
                raise ValueError(f"{word!r}: a placeholder must be a whole word, like {{ip}}"
                                 " (a value is never joined to other text)")
            else:
                words.append((word, None))
        if words[0][0] is None:
            raise ValueError("the program (the first word) cannot be a placeholder")
        if not words[0][0].startswith("/"):
            raise ValueError(f"{words[0][0]!r}: the program must be an absolute path (no PATH"
                             " search)")
        return cls(words)

    @property
    def program(self):
        return self.words[0][0]

    @property
    def placeholders(self):
        return [name for literal, name in self.words if name is not None]

    def build(self, values):
        """
        @param values: canonical values by name (from L{checkParams}).
        @return: the argv, a list of C{str}: each placeholder replaced by
            its value as one word.
        """
        return [literal if name is None else values[name] for literal, name in self.words]

    def __str__(self):
        return " ".join(shlex.quote(literal) if name is None else f"{{{name}}}"
                        for literal, name in self.words)


def checkParams(spec, params, limits=Limits(), never=None):
    """
    Check the parameters of one request.

    @param spec: C{{name: type}}, from C{PARAMS}.
    @param params: what was asked for: a dict of names to strings.
    @param never: a L{NeverList} for C{ip} and C{cidr} values.
    @return: C{{name: canonical value}}.
    @raise InvalidValue: a parameter is missing, unknown, or refused.
    """
    if type(params) is not dict:
        raise InvalidValue("the parameters must be an object of names to values")
    unknown = sorted(name for name in params if name not in spec)
    if unknown:
        names = ", ".join(repr(n)[:40] for n in unknown[:4])
        raise InvalidValue(f"unknown parameter(s) {names}; this function takes"
                           f" {', '.join(spec) or 'none'}")
    missing = [name for name in spec if name not in params]
    if missing:
        raise InvalidValue(f"missing parameter(s) {', '.join(missing)}")
    canonical = {}
    for name, kind in spec.items():
        try:
            value = canonicalValue(kind, params[name], limits)
        except InvalidValue as e:
            raise InvalidValue(f"{name}: {e}") from None
        if never is not None:
            why = never.why(kind, value)
            if why is not None:
                raise InvalidValue(f"{name}: {why}")
        canonical[name] = value
    return canonical


def isIPv6Params(spec, values):
    """
    Whether any C{ip} or C{cidr} value of C{values} is IPv6 (an IPv6
    command, C{ARGV6}, then applies when configured).
    """
    return any(kind in ("ip", "cidr") and ":" in values[name] for name, kind in spec.items())
