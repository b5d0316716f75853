# -*- test-case-name: tests.unit.config.test_config -*-
"""
The value types the config schemas are written in (integers, seconds, addresses, paths, endpoints, database URLs...).

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

import ipaddress
import math
import os
import re
import types
import urllib.parse
from typing import NamedTuple

from mice.config.errors import _MASK, _Invalid
from mice.config.ini import _BLANKS, _shorten
from mice.protocols.amqp import QUEUE_TYPES, BrokerError, checkQueueName, parseAmqpUrl
from mice.reactors.argv import Template, parseParamSpec

# ---------------------------------------------------------------------------
# Value types
# ---------------------------------------------------------------------------

class _Type:
    """
    How one key's values are checked, converted and shown.

    C{parse(raw, loader, entry)} returns the value or raises L{_Invalid};
    C{show(value)} is the text L{describe} prints.
    """

    def __init__(self, parse, show=None):
        self.parse = parse
        self.show = show or _showPlain


def _showPlain(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        if value == "" or value != value.strip(_BLANKS) or "#" in value or value[:1] in "\"'":
            return '"' + value + '"'
    return str(value)


_INT = re.compile(r"[+-]?(?:0[xX][0-9A-Fa-f]+|[0-9]+)\Z")


def _parseInt(raw):
    text = raw.strip(_BLANKS)
    if not _INT.match(text):
        if text[:2].lower() == "0x":
            raise _Invalid(f"expected a hexadecimal number after 0x, got {_shorten(raw)!r}")
        raise _Invalid(f"expected an integer (decimal or 0x hex), got {_shorten(raw)!r}")
    try:
        return int(text, 0) if "x" in text.lower() else int(text, 10)
    except ValueError as e:
        raise _Invalid(f"expected an integer of sensible size, got {_shorten(raw)!r}") from e


def _integer(minimum=None, maximum=None, width=None):
    def parse(raw, loader, entry):
        value = _parseInt(raw)
        if minimum is not None and value < minimum:
            if minimum == 0:
                raise _Invalid(f"must not be negative, got {value}")
            raise _Invalid(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise _Invalid(f"must be at most {maximum}, got {value}")
        return value

    if width is None:
        return _Type(parse)
    return _Type(parse, lambda value: f"0x{value:0{width}X}")


_BOOLS = {"yes": True, "true": True, "on": True, "1": True,
          "no": False, "false": False, "off": False, "0": False}


def _parseBool(raw, loader, entry):
    try:
        return _BOOLS[raw.strip(_BLANKS).lower()]
    except KeyError:
        raise _Invalid(f"expected yes or no, got {_shorten(raw)!r}") from None


def _parseSeconds(raw, loader, entry):
    try:
        value = float(raw.strip(_BLANKS))
    except ValueError:
        raise _Invalid(f"expected a number of seconds, got {_shorten(raw)!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise _Invalid(f"expected a positive number of seconds, got {_shorten(raw)!r}")
    return value


def _parseText(raw, loader, entry):
    return raw


def _parseName(raw, loader, entry):
    if not raw.strip(_BLANKS):
        raise _Invalid("expected a name, got an empty value")
    return raw.strip(_BLANKS)


def _choice(*options, fold=str.upper):
    canonical = {fold(option): option for option in options}

    def parse(raw, loader, entry):
        try:
            return canonical[fold(raw.strip(_BLANKS))]
        except KeyError:
            raise _Invalid(f"expected one of {', '.join(options)}, got"
                           f" {_shorten(raw)!r}") from None

    return _Type(parse)


def _parseAddress(raw, loader, entry):
    text = raw.strip(_BLANKS)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _Invalid(f"expected an IP address to listen on (0.0.0.0 for every interface),"
                       f" got {_shorten(raw)!r}") from None


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9.])?\Z")


def _checkHost(host, raw):
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _Invalid(f"expected an IPv6 address in brackets, got {_shorten(raw)!r}") from None
        return host
    if ":" in host:
        raise _Invalid(f"IPv6 addresses need brackets, like [::1]:4455; got {_shorten(raw)!r}")
    if not _HOSTNAME.match(host):
        raise _Invalid(f"expected a host name or IP address, got {_shorten(raw)!r}")
    return host


def _parseHost(raw, loader, entry):
    return _checkHost(raw.strip(_BLANKS), raw)


class HostPort(NamedTuple):
    """
    A C{HOST:PORT} value; IPv6 addresses are written C{[::1]:4455}.
    """

    host: str
    port: int

    def __str__(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _splitHostPort(raw):
    text = raw.strip(_BLANKS)
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise _Invalid(f"expected HOST:PORT (like 127.0.0.1:4455 or [::1]:4455), got"
                       f" {_shorten(raw)!r}")
    if not 0 < int(port) < 65536:
        raise _Invalid(f"port must be 1 to 65535, got {_shorten(raw)!r}")
    return HostPort(_checkHost(host, raw), int(port))


def _parseHostPort(raw, loader, entry):
    return _splitHostPort(raw)


#: The ciphers a secure link may name (CRYPTMOD).  C{twofish}, the
#: original's, is accepted and replaced by the default AEAD at start-up.
CRYPTO_MODULES = ("aes-256-gcm", "chacha20-poly1305", "twofish")


def _parseCryptMod(raw, loader, entry):
    name = raw.strip(_BLANKS).lower()
    if name not in CRYPTO_MODULES:
        raise _Invalid(f"unknown crypto module {_shorten(raw)!r}; supported:"
                       f" {', '.join(CRYPTO_MODULES)}")
    return name


#: syslog facility names and their numbers (RFC 5424 table 1).
SYSLOG_FACILITIES = types.MappingProxyType({
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{n}": 16 + n for n in range(8)},
})
_FACILITY_NAMES = {number: name for name, number in SYSLOG_FACILITIES.items()}


def _syslogNumber(raw, numbers, names, expected):
    """
    The number of a syslog facility or severity, given by name (C{daemon},
    C{LOG_DAEMON}: a key of C{numbers}) or as a number (a key of C{names}).

    @raise _Invalid: C{raw} is neither; the message says what was
        C{expected}.
    """
    text = raw.strip(_BLANKS).lower()
    if text.startswith("log_"):
        text = text[4:]
    if text in numbers:
        return numbers[text]
    if text.isdigit() and int(text) in names:
        return int(text)
    raise _Invalid(f"expected {expected}, got {_shorten(raw)!r}")


def _parseFacility(raw, loader, entry):
    return _syslogNumber(raw, SYSLOG_FACILITIES, _FACILITY_NAMES,
                         "a syslog facility (daemon, LOG_DAEMON, local0 ... local7, ...)")


def _showFacility(value):
    return _FACILITY_NAMES.get(value, str(value))


def _parseRegex(raw, loader, entry):
    if raw:
        try:
            re.compile(raw)
        except re.error as e:
            raise _Invalid(f"bad regular expression {_shorten(raw)!r}: {e}") from None
        except (RecursionError, OverflowError, ValueError) as e:
            raise _Invalid(f"bad regular expression {_shorten(raw)!r}: {e}") from None
    return raw


def _parseFilterRegex(raw, loader, entry):
    if not raw:
        raise _Invalid("an empty regular expression matches every line; remove the key"
                       " instead")
    return _parseRegex(raw, loader, entry)


def _parseIp(raw, loader, entry):
    text = raw.strip(_BLANKS)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _Invalid(f"expected an IPv4 or IPv6 address, got {_shorten(raw)!r}") from None


_ENDPOINT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:.")


def _parseEndpoint(raw, loader, entry):
    """
    A Twisted server endpoint string.  A relative C{unix:} path resolves
    against the config file's directory like every other path.
    """
    text = raw.strip(_BLANKS)
    if not _ENDPOINT.match(text):
        raise _Invalid(f"expected a Twisted endpoint string such as"
                       f" tcp:3366:interface=127.0.0.1 or unix:/run/mice/bd.sock, got"
                       f" {_shorten(raw)!r}")
    kind, _, rest = text.partition(":")
    if kind.lower() == "unix":
        address, colon, options = rest.partition(":")
        if "=" not in address and not os.path.isabs(address):
            return f"unix:{loader.resolve(address)}{colon}{options}"
    return text


def _parseSyslogTarget(raw, loader, entry):
    text = raw.strip(_BLANKS)
    kind, colon, rest = text.partition(":")
    kind = kind.lower()
    if colon and kind == "unix" and rest:
        return f"unix:{loader.resolve(rest)}"
    if colon and kind in ("udp", "tcp"):
        return f"{kind}:{_splitHostPort(rest)}"
    raise _Invalid(f"expected unix:/dev/log, udp:HOST:PORT or tcp:HOST:PORT, got"
                   f" {_shorten(raw)!r}")


_SYSLOG_TAG = re.compile(r"[!-~]{1,32}\Z")


def _parseSyslogTag(raw, loader, entry):
    if not _SYSLOG_TAG.match(raw.strip(_BLANKS)):
        raise _Invalid(f"expected 1 to 32 printable characters without spaces, got"
                       f" {_shorten(raw)!r}")
    return raw.strip(_BLANKS)


#: syslog severity names and their numbers (RFC 5424 table 2).
SYSLOG_SEVERITIES = types.MappingProxyType({
    "emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6,
    "debug": 7,
})
_SEVERITY_NAMES = {number: name for name, number in SYSLOG_SEVERITIES.items()}
_SEVERITY_SYNONYMS = {"emergency": 0, "panic": 0, "critical": 2, "error": 3, "warn": 4,
                      "informational": 6}
_SEVERITY_NUMBERS = {**SYSLOG_SEVERITIES, **_SEVERITY_SYNONYMS}


def _parseSyslogSeverity(raw, loader, entry):
    """
    C{idmef} (follow each alert's IDMEF severity), or a severity name
    (C{crit}, C{LOG_WARNING}...) or number, which is returned as the number.
    """
    if raw.strip(_BLANKS).lower() == "idmef":
        return "idmef"
    return _syslogNumber(raw, _SEVERITY_NUMBERS, _SEVERITY_NAMES,
                         "idmef (follow the alert) or a syslog severity (emerg, alert, crit, err,"
                         " warning, notice, info, debug or 0 to 7)")


def _showSyslogSeverity(value):
    return _SEVERITY_NAMES.get(value, str(value))


def _fileMode(forbidden, why):
    """
    A permission mode written in octal (C{0640}, C{640} or C{0o640}); the
    bits of C{forbidden} are refused, C{why} says why.
    """

    def parse(raw, loader, entry):
        text = raw.strip(_BLANKS).lower()
        digits = text[2:] if text.startswith("0o") else text
        if not digits or any(c not in "01234567" for c in digits) or len(digits) > 4:
            raise _Invalid(f"expected an octal permission mode such as 0640, got"
                           f" {_shorten(raw)!r}")
        value = int(digits, 8)
        if value > 0o777:
            raise _Invalid(f"expected permission bits only (at most 0777), got {_shorten(raw)!r}")
        if value & 0o600 != 0o600:
            raise _Invalid(f"the owner (the ManagementHost) needs read and write: {text} lacks"
                           " them")
        if value & forbidden:
            raise _Invalid(f"{text} gives others {why}; allowed at most"
                           f" 0{0o777 & ~forbidden:o}")
        return value

    return _Type(parse, lambda value: f"0{value:o}")


def _parseSendTo(raw, loader, entry):
    value = raw.strip(_BLANKS).upper()
    if value not in ("M", "A", "B", "N"):
        raise _Invalid(f"expected M (ManagementHost), A (analysis agent), B (both) or"
                       f" N (none), got {_shorten(raw)!r}")
    return value


#: Secrets everyone knows: the seed's shipped passphrases and passwords
#: (C{changeme}, the agent's C{changeme1}, the database's C{changeme2})
#: and their like.  A config holding one is warned about loudly.
WELL_KNOWN_SECRETS = frozenset({"changeme", "changeme1", "changeme2", "change me", "password",
                                "secret", "mice", "m-ice"})


def isWellKnownSecret(secret):
    """
    Whether C{secret} (a passphrase, key or password) is one everyone knows.
    """
    return secret is not None and secret.strip(_BLANKS).strip().lower() in WELL_KNOWN_SECRETS


def _path(role):
    """
    A path; relative ones resolve against the config file's directory.

    C{role} says what a missing one means: C{"file"}/C{"dir"} are read by the
    daemon (a warning, an error when strict); C{"search"} is a module search
    path and C{"log"} a log file that may appear later (warnings only);
    C{"runtime"} is made by the daemon itself (never checked).
    """

    def parse(raw, loader, entry):
        text = raw.strip(_BLANKS)
        if not text:
            raise _Invalid("expected a path, got an empty value")
        path = loader.resolve(text)
        if role != "runtime":
            loader.checkExists(path, entry.line, entry.key, directory=role in ("dir", "search"),
                               strictable=role in ("file", "dir"), log=role == "log")
        return path

    return _Type(parse)


def _parseDatabaseUrlValue(raw, loader, entry):
    text = raw.strip(_BLANKS)
    try:
        url = parseDatabaseUrl(text)
    except ValueError as e:
        raise _Invalid(str(e)) from None
    if url.scheme != "sqlite" or url.path == ":memory:":
        return text
    path = url.path if os.path.isabs(url.path) else loader.resolve(url.path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        # The daemon loads its store's config strictly: there this is an
        # error.  M-ICE never creates the directory (a typo would make one
        # anywhere, even at the top of the file system).
        problem = "is not a directory" if os.path.exists(directory) else "does not exist"
        loader.warn(entry.line, f"{entry.key}: the directory {directory} of the SQLite database"
                                f" {problem} (M-ICE does not create it: make it, writable by"
                                " the daemon's user)", strictable=True)
    return "sqlite:///" + path if not os.path.isabs(url.path) else text


def _parseAmqpUrlValue(raw, loader, entry):
    try:
        return parseAmqpUrl(raw.strip(_BLANKS))
    except BrokerError as e:
        raise _Invalid(str(e)) from None


def _parseQueueName(raw, loader, entry):
    try:
        return checkQueueName(raw.strip(_BLANKS))
    except BrokerError as e:
        raise _Invalid(str(e)) from None


def _parseInstance(raw, loader, entry):
    text = raw.strip(_BLANKS)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,31}", text):
        raise _Invalid(f"expected 1-32 letters, digits, . and - (this agent's name in its"
                       f" alert ids), got {_shorten(raw)!r}")
    return text


def _redactUrl(url):
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1********@", url)


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\Z", re.ASCII)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _parseDuration(raw, loader, entry):
    """
    Seconds, or a number with a unit as fail2ban writes them (C{10m},
    C{1h}, C{7d}, C{2w}); 0 means permanent (or no limit).
    """
    match = _DURATION.match(raw.strip(_BLANKS).lower())
    if not match:
        raise _Invalid(f"expected a duration (seconds, or 10m, 1h, 7d, 2w), got"
                       f" {_shorten(raw)!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _showDuration(value):
    return f"{value}s" if value else "0 (none)"


def _parseFactor(raw, loader, entry):
    try:
        value = float(raw.strip(_BLANKS))
    except ValueError:
        raise _Invalid(f"expected a number, got {_shorten(raw)!r}") from None
    if not math.isfinite(value) or not 1 <= value <= 1000:
        raise _Invalid(f"expected a factor from 1 to 1000, got {_shorten(raw)!r}")
    return value


def _parseNetwork(raw, loader, entry):
    text = raw.strip(_BLANKS)
    if not text.isascii() or "%" in text:
        raise _Invalid(f"expected an IP address or network, got {_shorten(raw)!r}")
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise _Invalid(f"expected an IP address or network (192.0.2.7, 10.0.0.0/8,"
                       f" 2001:db8::/32), got {_shorten(raw)!r}") from None


def _parseArgv(raw, loader, entry):
    try:
        return Template.parse(raw)
    except ValueError as e:
        raise _Invalid(str(e)) from None


def _parseParamSpec(raw, loader, entry):
    try:
        return tuple(parseParamSpec(raw))
    except ValueError as e:
        raise _Invalid(str(e)) from None


def _showParamSpec(pairs):
    return " ".join(f"{name}:{kind}" for name, kind in pairs)


#: Where a countermeasure's parameter may be taken from in an alert.
ALERT_FIELDS = ("source.address", "source.user", "source.port", "source.process",
                "source.hostname", "target.address", "target.user", "target.port",
                "target.process", "target.hostname")
_FIELD_ALIASES = {"source": "source.address", "target": "target.address"}


def _parseParamMap(raw, loader, entry):
    text = raw.strip(_BLANKS)
    name, equals, fieldName = (part.strip(_BLANKS) for part in text.partition("="))
    if not equals or not re.fullmatch(r"[a-z_][a-z0-9_]{0,31}", name, re.ASCII):
        raise _Invalid(f"expected NAME=FIELD (e.g. ip=source.address), got {_shorten(raw)!r}")
    fieldName = _FIELD_ALIASES.get(fieldName.lower(), fieldName.lower())
    if fieldName not in ALERT_FIELDS:
        raise _Invalid(f"unknown alert field {_shorten(fieldName)!r}; known:"
                       f" {', '.join(ALERT_FIELDS)}")
    return (name, fieldName)


# The value types the schemas below are written in.
COUNT = _integer(minimum=0)
POSITIVE = _integer(minimum=1)
PORT = _integer(minimum=0, maximum=65535)
BOOL = _Type(_parseBool)
SECONDS = _Type(_parseSeconds)
TEXT = _Type(_parseText)
NAME = _Type(_parseName)
ADDRESS = _Type(_parseAddress)
HOST = _Type(_parseHost)
HOSTPORT = _Type(_parseHostPort)
CRYPTMOD = _Type(_parseCryptMod)
FACILITY = _Type(_parseFacility, _showFacility)
REGEX = _Type(_parseRegex)
ENDPOINT = _Type(_parseEndpoint)
SENDTO = _Type(_parseSendTo)
FILE = _path("file")
DIRECTORY = _path("dir")
SEARCHPATH = _path("search")
LOGFILE = _path("log")
RUNTIME = _path("runtime")
DBURL = _Type(_parseDatabaseUrlValue, _redactUrl)
#: A broker's C{amqp://} or C{amqps://} URL (L{mice.protocols.amqp.AmqpUrl}),
#: shown with its password masked.
AMQPURL = _Type(_parseAmqpUrlValue, lambda url: url.masked)
QUEUENAME = _Type(_parseQueueName)
#: An agent's [IDMEF_INFO] Instance: letters, digits, C{.} and C{-}.
INSTANCE = _Type(_parseInstance)
QUEUETYPE = _choice(*QUEUE_TYPES, fold=str.lower)
SYSLOGTARGET = _Type(_parseSyslogTarget)
SYSLOGTAG = _Type(_parseSyslogTag)
PROTO = _choice("TCP")
SYSLOGFORMAT = _choice("rfc3164", "rfc5424", fold=str.lower)
SYSLOGSEVERITY = _Type(_parseSyslogSeverity, _showSyslogSeverity)
SYSLOGFRAMING = _choice("octet-counting", "newline", fold=str.lower)
#: A file others may read but not write (alerts are evidence).
FILEMODE = _fileMode(0o002, "write access to the alerts")
#: A FIFO no one but the owner and the group may open: a stranger reading it
#: would steal alerts from the reaction program, one writing it would forge them.
FIFOMODE = _fileMode(0o007, "access to the reaction program's input")
FILTERREGEX = _Type(_parseFilterRegex)
IP = _Type(_parseIp)
DURATION = _Type(_parseDuration, _showDuration)
FACTOR = _Type(_parseFactor)
NETWORK = _Type(_parseNetwork)
ARGV = _Type(_parseArgv)
PARAMSPEC = _Type(_parseParamSpec, _showParamSpec)
PARAMMAP = _Type(_parseParamMap, lambda pair: f"{pair[0]}={pair[1]}")
SCOPE = _choice("host", "all", "none", fold=str.lower)


# ---------------------------------------------------------------------------
# Database URLs
# ---------------------------------------------------------------------------

class DatabaseUrl(NamedTuple):
    """
    A parsed database URL.  SQLite: C{path} (C{":memory:"} or a file).
    MySQL/MariaDB: C{host}, C{port}, C{user}, C{password}, C{database}.
    """

    scheme: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None

    def redacted(self):
        """
        The URL with its password shown as C{********}: fit for logs.
        """
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        credentials = urllib.parse.quote(self.user or "", safe="")
        if self.password is not None:
            credentials += ":" + _MASK
        host = f"[{self.host}]" if ":" in self.host else self.host
        at = "@" if credentials else ""
        return f"mysql://{credentials}{at}{host}:{self.port}/{self.database}"

    def __repr__(self):
        password = None if self.password is None else _MASK
        return (f"DatabaseUrl(scheme={self.scheme!r}, path={self.path!r},"
                f" host={self.host!r}, port={self.port!r}, user={self.user!r},"
                f" password={password!r}, database={self.database!r})")


_MYSQL_SCHEMES = ("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")


def parseDatabaseUrl(url):
    """
    Parse C{sqlite:///relative/path.db}, C{sqlite:////absolute/path.db},
    C{sqlite:///:memory:} or C{mysql://user:pass@host:port/db} (also
    C{mariadb://}, C{mysql+pymysql://}).  A relative SQLite path is returned
    as written (the caller knows what it is relative to).

    @raise ValueError: with a message saying what is wrong (never the password).
    """
    if not isinstance(url, str):
        raise ValueError("a database URL must be a string")
    shown = _redactUrl(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"expected a database URL like sqlite:///path.db or"
                         f" mysql://user:pass@host:port/db, got {shown!r}")
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"expected sqlite:///relative/path.db or"
                             f" sqlite:////absolute/path.db, got {shown!r}")
        path = rest[1:]
        if "?" in path or "#" in path:
            raise ValueError(f"SQLite URLs take no query or fragment, got {shown!r}")
        return DatabaseUrl("sqlite", path=path)
    if scheme in _MYSQL_SCHEMES:
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError(f"bad port in database URL {shown!r}") from None
        if not parts.hostname:
            raise ValueError(f"no host in database URL {shown!r}")
        database = urllib.parse.unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise ValueError(f"expected one database name after the host in {shown!r}")
        user = urllib.parse.unquote(parts.username) if parts.username else None
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        return DatabaseUrl("mysql", host=parts.hostname, port=port or 3306, user=user,
                           password=password, database=database)
    raise ValueError(f"unsupported database {scheme!r} in {shown!r}; use sqlite:// or"
                     f" mysql://")
