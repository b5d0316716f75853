# -*- test-case-name: tests.test_config -*-
"""
The M-ICE configuration files: the original's INI dialect turned into typed,
frozen, validated settings.

Every config file of the 2004 setup guide loads unchanged.  Reading one goes
in three steps:

 1. L{parseIni} splits the text into sections and C{KEY = value} entries,
    keeping repeated keys in order and the line of everything;
 2. the file's schema (one small table of L{_Key} specs per kind, see
    L{_SCHEMAS}) checks every section and key name and converts every value,
    resolving relative paths against the config file's own directory;
 3. a short builder per kind checks what spans several keys (pairs of lists
    that must be as long as each other, routes that need an address) and
    makes the frozen settings object.

Every problem found is reported at once as C{file:line: what is wrong}
(L{ConfigErrors} holds them all).  Missing files that a config names are
L{ConfigWarning}s, or errors with C{strict=True}.

This module is pure: it imports nothing from C{twisted.internet}.
"""

import difflib
import ipaddress
import math
import os
import re
import types
import urllib.parse
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "ALERT_IDS", "CRYPTO_MODULES", "SYSLOG_FACILITIES", "KINDS",
    "ConfigError", "ConfigErrors", "ConfigWarning",
    "Entry", "Section", "IniFile", "parseIni",
    "DatabaseUrl", "parseDatabaseUrl",
    "HostPort", "ServerAddress", "PipelineSettings", "BufferDaemonSettings",
    "PopMysqlSettings", "PopSyslogSettings", "DecoderSettings", "DataForwarderSettings",
    "FunctionSettings", "ReactionDaemonSettings", "Rule", "RuleSection", "AaRegexSettings",
    "ReactionAgentSettings", "AnalyzerSettings", "ActGenericSettings", "MatchFileSettings",
    "FilterSettings", "PseudonymSettings", "FmtSimpleSettings",
    "LoadedConfig", "detectKind", "loadConfig", "loadConfigText", "describe",
    "loadBufferDaemon", "loadPopMysql", "loadPopSyslog", "loadDecoder", "loadDataForwarder",
    "loadReactionDaemon", "loadAaRegex", "loadActGeneric", "loadMatchFile",
    "loadFltRegex", "loadPseudonym", "loadFmtSimple",
]


_MASK = "********"


# ---------------------------------------------------------------------------
# Errors and warnings
# ---------------------------------------------------------------------------

class ConfigError(Exception):
    """
    A config file is wrong.

    @ivar filename: the file, as it was named to the loader.
    @ivar line: the 1-based line number, or C{None} when the problem is not
        on one line (a missing key, an unreadable file).
    @ivar message: what is wrong.
    """

    def __init__(self, filename, line, message):
        super().__init__(filename, line, message)
        self.filename = filename
        self.line = line
        self.message = message

    def __str__(self):
        if self.line is None:
            return f"{self.filename}: {self.message}"
        return f"{self.filename}:{self.line}: {self.message}"


class ConfigErrors(ConfigError):
    """
    Several things are wrong; C{errors} lists them all, in line order.
    """

    def __init__(self, errors):
        errors = list(errors)
        first = errors[0]
        super().__init__(first.filename, first.line, f"{len(errors)} errors")
        self.args = (errors,)
        self.errors = errors

    def __str__(self):
        return "\n".join(str(error) for error in self.errors)


class ConfigWarning(NamedTuple):
    """
    Something worth fixing that does not stop a daemon: a file the config
    names does not exist (yet).
    """

    filename: str
    line: int | None
    message: str

    def __str__(self):
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        return f"{where}: warning: {self.message}"


class _Invalid(Exception):
    """
    A value is wrong; the message says what was expected.
    """


# ---------------------------------------------------------------------------
# The INI dialect
# ---------------------------------------------------------------------------

class Entry(NamedTuple):
    """
    One C{KEY = value} line.  C{quoted} is true when the value was written in
    quotes (so C{""} is an empty string written on purpose).
    """

    key: str
    value: str
    line: int
    quoted: bool


class Section(NamedTuple):
    name: str
    line: int
    entries: tuple


class IniFile(NamedTuple):
    filename: str
    sections: tuple

    def section(self, name):
        """
        The first section called C{name} (case-insensitively), or C{None}.
        """
        wanted = name.upper()
        for section in self.sections:
            if section.name.upper() == wanted:
                return section
        return None


_BLANKS = " \t\r\f\v"
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_HEADER = re.compile(r"\[([^\[\]#]*)\][ \t\r\f\v]*(#.*)?\Z")


def _hideSecret(line):
    """
    A malformed line that starts like a password or key: never echo the rest.
    """
    words = line.split(None, 1)
    if len(words) == 2 and re.search(r"(?i)pass|key|secret", words[0]):
        return words[0] + " ..."
    return line


def _shorten(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _parseValue(text):
    """
    The value after C{=}: C{(value, quoted)}.

    Quoted values run from the opening quote to the last matching quote that
    is followed only by blanks or a C{#} comment, so regular expressions
    holding quotes or C{#} survive.  Unquoted values end at a C{#} that
    starts the value or follows a blank.  Backslashes are literal.
    """
    value = text.lstrip(_BLANKS)
    if value[:1] in ('"', "'"):
        quote, body = value[0], value[1:]
        end = len(body)
        while True:
            end = body.rfind(quote, 0, end)
            if end < 0:
                raise _Invalid(f"unterminated quote: the value starts with {quote} but has"
                               f" no closing {quote}")
            rest = body[end + 1:].lstrip(_BLANKS)
            if not rest or rest[0] == "#":
                return body[:end], True
    for index, char in enumerate(value):
        if char == "#" and (index == 0 or value[index - 1] in " \t"):
            value = value[:index]
            break
    return value.rstrip(_BLANKS), False


def _parse(text, filename, errors):
    """
    Split C{text} into an L{IniFile}, appending a L{ConfigError} to C{errors}
    for every line that is not a section header, a C{KEY = value}, a comment
    or blank.
    """
    sections = []
    current = None
    broken = object()
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(_BLANKS)
        if not line.strip() or line[0] in "#;":
            continue
        if line[0] == "[":
            match = _HEADER.match(line)
            name = match.group(1).strip(_BLANKS) if match else ""
            if not name:
                errors.append(ConfigError(filename, number,
                                          f"malformed section header {_shorten(line)!r};"
                                          " expected [NAME]"))
                current = broken
                continue
            current = (name, number, [])
            sections.append(current)
            continue
        key, equals, rest = line.partition("=")
        if not equals:
            errors.append(ConfigError(filename, number,
                                      f"expected [SECTION] or KEY = value, got"
                                      f" {_hideSecret(_shorten(line))!r}"))
            continue
        key = key.strip(_BLANKS)
        if not _KEY.match(key):
            errors.append(ConfigError(filename, number,
                                      f"bad key {_shorten(key)!r}: a key is letters, digits,"
                                      " '_', '.' and '-'"))
            continue
        try:
            value, quoted = _parseValue(rest)
        except _Invalid as e:
            errors.append(ConfigError(filename, number, f"{key}: {e}"))
            continue
        if current is None:
            errors.append(ConfigError(filename, number,
                                      f"{key} is outside any section; put it under a"
                                      " [SECTION] header"))
            continue
        if current is not broken:
            current[2].append(Entry(key, value, number, quoted))
    return IniFile(filename, tuple(Section(name, number, tuple(entries))
                                   for name, number, entries in sections))


def _raiseIfAny(errors):
    if not errors:
        return
    errors = sorted(errors, key=lambda e: (e.filename, e.line or 0))
    if len(errors) == 1:
        raise errors[0]
    raise ConfigErrors(errors)


def parseIni(text, filename):
    """
    Parse the M-ICE INI dialect (see C{docs/config.rst}).

    @return: an L{IniFile}; sections in file order, each entry with its line.
    @raise ConfigError: for a bad line (L{ConfigErrors} for several).
    """
    errors = []
    ini = _parse(text, filename, errors)
    _raiseIfAny(errors)
    return ini


def _readText(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(path, None, f"cannot read the config file: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError(path, line, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at"
                                      f" column {column})") from e
    return text


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


def _parseFacility(raw, loader, entry):
    text = raw.strip(_BLANKS).lower()
    if text.startswith("log_"):
        text = text[4:]
    if text in SYSLOG_FACILITIES:
        return SYSLOG_FACILITIES[text]
    if text.isdigit() and int(text) in _FACILITY_NAMES:
        return int(text)
    raise _Invalid(f"expected a syslog facility (daemon, LOG_DAEMON, local0 ... local7, ...),"
                   f" got {_shorten(raw)!r}")


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


def _parseSendTo(raw, loader, entry):
    value = raw.strip(_BLANKS).upper()
    if value not in ("M", "A", "B", "N"):
        raise _Invalid(f"expected M (ManagementHost), A (analysis agent), B (both) or"
                       f" N (none), got {_shorten(raw)!r}")
    return value


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
                               strictable=role in ("file", "dir"))
        return path

    return _Type(parse)


def _parseDatabaseUrlValue(raw, loader, entry):
    text = raw.strip(_BLANKS)
    try:
        url = parseDatabaseUrl(text)
    except ValueError as e:
        raise _Invalid(str(e)) from None
    if url.scheme == "sqlite" and url.path != ":memory:" and not os.path.isabs(url.path):
        return "sqlite:///" + loader.resolve(url.path)
    return text


def _redactUrl(url):
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1********@", url)


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
SYSLOGTARGET = _Type(_parseSyslogTarget)
SYSLOGTAG = _Type(_parseSyslogTag)
PROTO = _choice("TCP")
SYSLOGFORMAT = _choice("rfc3164", "rfc5424", fold=str.lower)
FILTERREGEX = _Type(_parseFilterRegex)
IP = _Type(_parseIp)


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


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

def _escapeEndpoint(text):
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


@dataclass(frozen=True)
class PipelineSettings:
    """
    One decoding module with its post-processing module (DEC_MOD[i] with
    DEC_FILE[i], POST_MOD[i] and POST_FILE[i]).
    """

    decoder: str
    decoderConfig: str | None
    postprocessor: str
    postprocessorConfig: str | None


@dataclass(frozen=True)
class BufferDaemonSettings:
    path: str
    bindTo: str
    port: int
    listen: tuple
    backlog: int
    modulePaths: tuple
    pipelines: tuple
    timeInterval: float
    mmPath: str | None
    mmSize: int
    rbSize: int
    mmBytes: int
    maxLine: int
    pseudo: bool
    user: str | None
    group: str | None
    chroot: str | None
    pidPath: str | None

    @property
    def endpoints(self):
        """
        Twisted server endpoint strings: LISTEN, or one from BINDTO and PORT.
        """
        if self.listen:
            return self.listen
        return (f"tcp:{self.port}:interface={_escapeEndpoint(self.bindTo)}"
                f":backlog={self.backlog}",)


@dataclass(frozen=True)
class PopMysqlSettings:
    path: str
    hostname: str | None
    port: int
    user: str | None
    password: str | None = field(repr=False)
    dbName: str | None
    maxErr: int
    url: str | None = field(repr=False)
    batchSize: int

    def databaseUrl(self):
        """
        The URL to connect to: URL when set (a relative SQLite path already
        resolved), else C{mysql://USER:PASSWORD@HOSTNAME:PORT/DBNAME}.
        """
        if self.url:
            return self.url
        quote = urllib.parse.quote
        credentials = quote(self.user or "", safe="")
        if self.password:
            credentials += ":" + quote(self.password, safe="")
        host = f"[{self.hostname}]" if ":" in (self.hostname or "") else self.hostname
        return f"mysql://{credentials}@{host}:{self.port}/{quote(self.dbName or '', safe='')}"


@dataclass(frozen=True)
class PopSyslogSettings:
    path: str
    target: str
    facility: int
    tag: str
    format: str


@dataclass(frozen=True)
class DecoderSettings:
    path: str | None
    encrypt: bool = False
    encKey: str | None = field(default=None, repr=False)
    cryptMod: str = "aes-256-gcm"
    maxRecord: int = 65536
    tls: tuple | None = None
    """C{(certificate, key, ca)} PEM paths: with ENCRYPT = yes the link is TLS."""


class ServerAddress(NamedTuple):
    """
    Where a DataForwarder sends to; address or port 0 disables it.
    """

    host: str
    port: int
    proto: str = "TCP"

    @property
    def enabled(self):
        return self.port != 0 and self.host not in ("", "0", "0.0.0.0", "::")

    @property
    def endpoint(self):
        """
        A Twisted client endpoint string.
        """
        return f"tcp:host={_escapeEndpoint(self.host)}:port={self.port}"


@dataclass(frozen=True)
class DataForwarderSettings:
    path: str
    sqlServer: ServerAddress
    analysisServer: ServerAddress
    encrypt: bool
    pseudo: bool
    filter: bool
    user: str | None
    group: str | None
    chroot: str | None
    encKey: str | None = field(repr=False)
    cryptMod: str
    devRandom: str | None
    files: tuple
    modulePaths: tuple
    filterModule: str
    logFormatModule: str
    pseudonymModule: str
    filterConfig: str | None
    logFormatConfig: str | None
    pseudonymConfig: str | None
    shmSize: int
    sleepInterval: float
    reconnect: int
    pidPath: str | None
    syslogFacility: int
    syslog: bool = False
    """Whether SYSLOGFAC was given: log to syslog with that facility too."""
    stateDirectory: str | None = None
    """STATEDIR: file offsets and the spools (C{None}: the system default)."""
    spoolSize: int = 1048576
    """SPOOLSIZE: KiB of disk spool per server."""
    maxLine: int = 65536
    """MAXLINE: bytes of one log line kept; longer ones are cut and reported."""
    rotateGrace: float = 5.0
    """ROTATEGRACE: seconds a file rotated away must have been idle (and a
    newer one have data) before it is closed; until then it is read on."""
    tls: tuple | None = None
    """C{(certificate, key, ca)} PEM paths: with ENCRYPT = yes the link is TLS."""
    tlsName: str | None = None
    """TLSNAME: the name the servers' certificates must have (default: their
    addresses)."""

    @property
    def servers(self):
        """
        The enabled servers, as C{(name, ServerAddress)}.
        """
        return tuple((name, address) for name, address in
                     (("sql", self.sqlServer), ("analysis", self.analysisServer))
                     if address.enabled)


@dataclass(frozen=True)
class FunctionSettings:
    """
    A function ID (FID[i]) with its reaction module (RCT_MOD[i]) and that
    module's config file (RCT_FILE[i], or C{None}).
    """

    fid: int
    module: str
    configFile: str | None


@dataclass(frozen=True)
class ReactionDaemonSettings:
    path: str
    functions: tuple
    bindTo: str
    port: int
    listen: tuple
    password: str = field(repr=False)
    cryptMod: str
    chroot: str | None
    pidPath: str | None
    modulePaths: tuple
    backlog: int

    @property
    def endpoints(self):
        if self.listen:
            return self.listen
        return (f"tcp:{self.port}:interface={_escapeEndpoint(self.bindTo)}"
                f":backlog={self.backlog}",)

    def function(self, fid):
        """
        The L{FunctionSettings} for C{fid}, or C{None}.
        """
        for function in self.functions:
            if function.fid == fid:
                return function
        return None


#: The alert ID each rule key of C{mice_mod_pop_aa_regex.conf} raises (the
#: seed's match file).
ALERT_IDS = types.MappingProxyType({
    "AuS_Rule": 0x1010, "AuF_Rule": 0x1020,
    "RoW_Rule": 0x2010, "RoO_Rule": 0x2020, "RoR_Rule": 0x2030, "RoS_Rule": 0x2040,
    "RoE_Rule": 0x2050,
    "ReS_Rule": 0x3010, "ReF_Rule": 0x3020,
    "WrS_Rule": 0x4010, "WrF_Rule": 0x4020,
    "Mo_UID": 0x5010, "Mo_GID": 0x5020,
    "Ap_Name": 0x6010,
    "Ex_Rule": 0x7010,
    "FwD_Rule": 0x8010, "FwR_Rule": 0x8020, "FwA_Rule": 0x8030, "FwI_Rule": 0x8040,
})

# (section, its SendTo key, its rule keys), in the seed's order.
_RULE_SECTIONS = (
    ("AUTH", "AuSendTo", ("AuS_Rule", "AuF_Rule")),
    ("ROOT", "RoSendTo", ("RoW_Rule", "RoO_Rule", "RoR_Rule", "RoS_Rule", "RoE_Rule")),
    ("READ", "ReSendTo", ("ReS_Rule", "ReF_Rule")),
    ("WRITE", "WrSendTo", ("WrS_Rule", "WrF_Rule")),
    ("MONITORING", "MoSendTo", ("Mo_UID", "Mo_GID")),
    ("APPS", "ApSendTo", ("Ap_Name",)),
    ("EXPLOIT", "ExSendTo", ("Ex_Rule",)),
    ("FIREWALL", "FwSendTo", ("FwD_Rule", "FwR_Rule", "FwA_Rule", "FwI_Rule")),
    ("SOCKET", "SoSendTo", ("SoS_Rule", "SoF_Rule", "SoC_Rule", "SoA_Rule", "SoL_Rule",
                            "SoR_Rule", "SoT_Rule", "SoU_Rule", "SoI_Rule")),
    ("DEFAULT", "DeSendTo", ()),
)


@dataclass(frozen=True)
class Rule:
    """
    One rule key: its non-empty patterns, in file order.  A key whose values
    are all empty (C{""}) is off.  C{alertId} is C{None} for the reserved
    SOCKET keys.
    """

    key: str
    alertId: int | None
    patterns: tuple

    @property
    def enabled(self):
        return bool(self.patterns)


@dataclass(frozen=True)
class RuleSection:
    name: str
    sendTo: str
    rules: tuple


@dataclass(frozen=True)
class AaRegexSettings:
    path: str
    management: HostPort | None
    agent: HostPort | None
    encryption: bool
    mngmntKey: str | None = field(repr=False)
    agentKey: str | None = field(repr=False)
    alertId: int
    alertIdFile: str | None
    dtdFile: str | None
    analyzerId: str
    sections: tuple
    tls: tuple | None = None
    """C{(certificate, key, ca)}: with Encryption = yes, the links to the
    ManagementHost and the next agent are TLS."""

    def section(self, name):
        for section in self.sections:
            if section.name == name.upper():
                return section
        return None

    @property
    def defaultSendTo(self):
        return self.section("DEFAULT").sendTo

    @property
    def enabledRules(self):
        """
        C{(section, rule)} for every rule that is on, in config order.
        """
        return tuple((section, rule) for section in self.sections for rule in section.rules
                     if rule.enabled and rule.alertId is not None)


@dataclass(frozen=True)
class AaRulesSettings:
    """
    C{mice_mod_pop_aa_rules.conf}: the LogIDS rules module of an analysis
    agent (L{mice.postproc.aarules}).  The rule, filter and netdef files are
    only named here: L{mice.logids} reads them (a bad line in them is
    skipped and reported, it does not stop the agent).
    """

    path: str
    management: HostPort
    agent: HostPort | None
    encryption: bool
    mngmntKey: str | None = field(repr=False)
    agentKey: str | None = field(repr=False)
    alertId: int
    alertIdFile: str | None
    dtdFile: str | None
    analyzerId: str
    rulesFile: str
    filterFile: str
    netdefFile: str | None
    sendTo: str
    """Where alert and warning actions go (M, A, B or N); the console
    events always go to the ManagementHost, whose console shows them."""
    tls: tuple | None = None


@dataclass(frozen=True)
class ReactionAgentSettings:
    """
    A reaction ID (RID[i]) and its named pipe (PIPE[i]); C{fifo} is the pipe's
    path (under PIPE_PATH).
    """

    rid: int
    pipe: str
    fifo: str


@dataclass(frozen=True)
class AnalyzerSettings:
    """
    An analyzer ID (ANAID[i]) and its match file (MF[i], resolved against
    MATCH_PATH).
    """

    analyzerId: str
    matchFile: str


@dataclass(frozen=True)
class ActGenericSettings:
    path: str
    reactions: tuple
    analyzers: tuple
    dtdFile: str | None
    modulePaths: tuple
    pipePath: str | None
    pidPath: str | None
    matchPath: str
    user: str | None
    group: str | None

    def matchFileFor(self, analyzerId):
        for analyzer in self.analyzers:
            if analyzer.analyzerId == analyzerId:
                return analyzer.matchFile
        return None


@dataclass(frozen=True)
class MatchFileSettings:
    """
    A match file: C{alerts} are C{(aid, description)} pairs in file order;
    C{reactions} maps each reaction ID to the alert IDs that trigger it.
    """

    path: str
    alerts: tuple
    reactions: types.MappingProxyType

    def reactionsFor(self, aid):
        """
        The reaction IDs whose lists hold C{aid}, in ascending order.
        """
        return tuple(sorted(rid for rid, aids in self.reactions.items() if aid in aids))

    def descriptionFor(self, aid):
        for known, description in self.alerts:
            if known == aid:
                return description
        return None


@dataclass(frozen=True)
class FilterSettings:
    """
    A C{mice_mod_flt_regex} config: the DROP and KEEP regular expressions, in
    file order.
    """

    path: str
    drop: tuple
    keep: tuple


@dataclass(frozen=True)
class PseudonymSettings:
    """
    A pseudonymisation module's config.  C{keyFile} names the file holding
    the key (hex); the key itself is read only by the module that uses it.
    """

    path: str
    keyFile: str | None
    addresses: bool = False


@dataclass(frozen=True)
class FmtSimpleSettings:
    """
    A C{mice_mod_fmt_simple} config: host columns that override the detected
    ones (C{None}: keep the detected value).
    """

    path: str
    hostname: str | None = None
    domain: str | None = None
    ip: str | None = None


class LoadedConfig(NamedTuple):
    """
    What L{loadConfig} returns.  C{shown} is for L{describe}.
    """

    kind: str
    settings: object
    warnings: tuple
    shown: tuple = ()


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Key:
    """
    One key of a schema.  In a section with a C{pattern}, C{{n}} in the name
    stands for the number in the section's name (C{AID_{n}} in C{[RID_3]}).
    """

    name: str
    type: _Type
    default: object = None
    required: bool = False
    repeated: bool = False
    synonyms: tuple = ()
    secret: bool = False

    def names(self):
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class _Sect:
    name: str
    keys: tuple
    synonyms: tuple = ()
    pattern: str | None = None

    def matches(self, name):
        """
        C{None} if C{name} is not this section, else the canonical name.
        """
        upper = name.upper()
        if self.pattern is not None:
            return upper if re.fullmatch(self.pattern, upper) else None
        if upper in (self.name, *self.synonyms):
            return self.name
        return None

    def key(self, sectionName, keyName):
        upper = keyName.upper()
        number = self._number(sectionName)
        for key in self.keys:
            if upper in (name.format(n=number).upper() for name in key.names()):
                return key
        return None

    def canonicalKey(self, key, sectionName):
        return key.name.format(n=self._number(sectionName))

    def knownKeys(self, sectionName):
        return [self.canonicalKey(key, sectionName) for key in self.keys]

    def _number(self, sectionName):
        if self.pattern is None:
            return ""
        return re.fullmatch(self.pattern, sectionName.upper()).group(1)


@dataclass(frozen=True)
class _Schema:
    kind: str
    title: str
    sections: tuple
    build: object

    def section(self, name):
        for sect in self.sections:
            canonical = sect.matches(name)
            if canonical is not None:
                return sect, canonical
        return None, None

    def knownSections(self):
        return [sect.name for sect in self.sections]


class _Value(NamedTuple):
    value: object
    line: int
    key: str


class _Values:
    """
    The converted values of one file, by canonical section and key names.
    """

    def __init__(self, schema):
        self.schema = schema
        self.values = {}
        self.sectionLines = {}
        self.effective = {}

    def entries(self, section, key):
        return self.values.get((section, key), [])

    def entry(self, section, key):
        found = self.entries(section, key)
        return found[0] if found else None

    def one(self, section, key):
        found = self.entry(section, key)
        if found is not None:
            return found.value
        return self.schema.section(section)[0].key(section, key).default

    def many(self, section, key):
        return tuple(value.value for value in self.entries(section, key))

    def line(self, section, key):
        found = self.entry(section, key)
        return found.line if found is not None else self.sectionLines.get(section)


class _Loader:
    """
    Loading one file: where errors and warnings go, and path resolution.
    """

    def __init__(self, filename, strict):
        self.filename = filename
        self.directory = os.path.dirname(os.path.abspath(filename))
        self.strict = strict
        self.errors = []
        self.strictErrors = []
        self.warnings = []

    def error(self, line, message):
        self.errors.append(ConfigError(self.filename, line, message))

    def warn(self, line, message, strictable=False):
        if strictable and self.strict:
            self.strictErrors.append(ConfigError(self.filename, line, message))
        else:
            self.warnings.append(ConfigWarning(self.filename, line, message))

    def resolve(self, path):
        return os.path.normpath(os.path.join(self.directory, os.path.expanduser(path)))

    def checkExists(self, path, line, key, directory=False, strictable=True):
        if directory:
            if os.path.isdir(path):
                return
            problem = "is not a directory" if os.path.exists(path) else "does not exist"
        else:
            if os.path.exists(path):
                return
            problem = "does not exist"
        self.warn(line, f"{key}: {path} {problem}", strictable)


def _validate(ini, schema, loader):
    """
    Check every section and key of C{ini} against C{schema} and convert the
    values.
    """
    values = _Values(schema)
    failed = set()
    # A section holding a line that did not parse may well hold the "missing" key.
    damaged = set()
    badLines = [error.line for error in loader.errors if error.line is not None]
    for section, following in zip(ini.sections, (*ini.sections[1:], None)):
        end = following.line if following is not None else float("inf")
        if any(section.line < line < end for line in badLines):
            damaged.add(section.name.upper())
    for section in ini.sections:
        sect, canonical = schema.section(section.name)
        if sect is None:
            known = schema.knownSections()
            close = difflib.get_close_matches(section.name.upper(), known, 1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            loader.error(section.line, f"unknown section [{section.name}] in {schema.title}"
                                       f"{hint}; known sections: {', '.join(known)}")
            continue
        if canonical in values.sectionLines:
            loader.error(section.line, f"duplicate section [{section.name}] (first at line"
                                       f" {values.sectionLines[canonical]})")
            continue
        values.sectionLines[canonical] = section.line
        for entry in section.entries:
            key = sect.key(canonical, entry.key)
            if key is None:
                _unknownKey(loader, sect, canonical, section.name, entry)
                continue
            name = sect.canonicalKey(key, canonical)
            try:
                value = key.type.parse(entry.value, loader, entry)
            except _Invalid as e:
                loader.error(entry.line, f"{entry.key}: {e}")
                failed.add((canonical, name))
                continue
            found = values.values.setdefault((canonical, name), [])
            if found and not key.repeated:
                loader.error(entry.line, f"{entry.key} given twice in [{section.name}] (first"
                                         f" at line {found[0].line}); it takes one value")
                continue
            found.append(_Value(value, entry.line, entry.key))
    for sect in schema.sections:
        if sect.pattern is not None:
            continue
        for key in sect.keys:
            present = [name for name in (sect.name, *sect.synonyms) if name in damaged]
            if key.required and (sect.name, key.name) not in values.values \
                    and (sect.name, key.name) not in failed and not present:
                if sect.name in values.sectionLines:
                    loader.error(values.sectionLines[sect.name],
                                 f"[{sect.name}] is missing required key {key.name}")
                else:
                    loader.error(None, f"missing section [{sect.name}] with required key"
                                       f" {key.name}")
    return values


def _unknownKey(loader, sect, canonical, written, entry):
    known = sect.knownKeys(canonical)
    if sect.pattern is not None:
        template = sect.keys[0].name.replace("{n}", r"\d+")
        if re.fullmatch(template, entry.key.upper()):
            loader.error(entry.line, f"{entry.key} in [{written}]: the number must be the"
                                     f" section's, i.e. {known[0]}")
            return
    close = difflib.get_close_matches(entry.key.upper(), [k.upper() for k in known], 1)
    hint = ""
    if close:
        hint = f" (did you mean {known[[k.upper() for k in known].index(close[0])]}?)"
    loader.error(entry.line, f"unknown key {entry.key} in [{written}]{hint}; known keys:"
                             f" {', '.join(known)}")


def _pair(loader, values, firstKey, secondKey, required=True):
    """
    Check two lists given by position: C{firstKey} and C{secondKey} are
    C{(section, key)}; the second may be shorter unless C{required}.
    """
    first = values.entries(*firstKey)
    second = values.entries(*secondKey)
    if len(second) > len(first):
        extra = second[len(first)]
        loader.error(extra.line, f"{extra.key} has no {firstKey[1]} partner: {len(first)}"
                                 f" {firstKey[1]} but {len(second)} {secondKey[1]} (they are"
                                 f" paired by position)")
        return False
    if required and len(first) > len(second):
        extra = first[len(second)]
        loader.error(extra.line, f"{extra.key} has no {secondKey[1]} partner: {len(first)}"
                                 f" {firstKey[1]} but {len(second)} {secondKey[1]} (they are"
                                 f" paired by position)")
        return False
    return True


def _duplicates(loader, entries, what, show=str):
    seen = {}
    for entry in entries:
        if entry.value in seen:
            loader.error(entry.line, f"{what} {show(entry.value)} given twice (first at line"
                                     f" {seen[entry.value]})")
        else:
            seen[entry.value] = entry.line


# ---------------------------------------------------------------------------
# Builders: what spans several keys
# ---------------------------------------------------------------------------

def _listenOrAddress(loader, values, section, addressSection, addressKey, portSection, portKey):
    listen = values.many(section, "LISTEN")
    bindTo = values.one(addressSection, addressKey)
    port = values.one(portSection, portKey)
    if not listen:
        for sect, key, value in ((addressSection, addressKey, bindTo),
                                 (portSection, portKey, port)):
            if value is None:
                line = values.sectionLines.get(sect)
                where = f"[{sect}]" if line is not None else f"section [{sect}]"
                loader.error(line, f"{where} needs {key} (or give LISTEN endpoints in"
                                   f" [{section}])")
    return listen, bindTo or "", port or 0


def _buildBufferDaemon(loader, v):
    listen, bindTo, port = _listenOrAddress(loader, v, "ADDRESS", "ADDRESS", "BINDTO",
                                            "PORT_NUMBER", "PORT")
    decoders = ("DECODING_MODULES", "DEC_MOD")
    postprocessors = ("POSTPROC_MODULES", "POST_MOD")
    _pair(loader, v, decoders, postprocessors)
    _pair(loader, v, decoders, ("DECODING_MODULES_CONFIG_FILE", "DEC_FILE"), required=False)
    _pair(loader, v, postprocessors, ("POSTPROC_MODULES_CONFIG_FILE", "POST_FILE"),
          required=False)
    decFiles = v.many("DECODING_MODULES_CONFIG_FILE", "DEC_FILE")
    postFiles = v.many("POSTPROC_MODULES_CONFIG_FILE", "POST_FILE")
    pipelines = tuple(
        PipelineSettings(decoder, decFiles[i] if i < len(decFiles) else None,
                         postprocessor, postFiles[i] if i < len(postFiles) else None)
        for i, (decoder, postprocessor) in enumerate(zip(v.many(*decoders),
                                                         v.many(*postprocessors))))
    cache = "CACHE_AND_RINGBUFFER"
    mmSize, rbSize, mmPath = v.one(cache, "MMSIZE"), v.one(cache, "RBSIZE"), v.one(cache, "MMPATH")
    if mmSize == 0 and rbSize == 0:
        loader.error(v.line(cache, "RBSIZE") or v.line(cache, "MMSIZE"),
                     "MMSIZE and RBSIZE are both 0: there would be no buffer (0 means"
                     " \"ignore\"; set RBSIZE for a ring in memory or MMSIZE and MMPATH for a"
                     " memory-mapped one)")
    if mmSize and mmPath is None:
        loader.error(v.line(cache, "MMSIZE"), f"MMSIZE = {mmSize} needs MMPATH, the file to"
                                              " map")
    mmBytes = v.one(cache, "MMBYTES")
    if mmBytes is None:
        mmBytes = mmSize * 262144
        v.effective[(cache, "MMBYTES")] = mmBytes
    return BufferDaemonSettings(
        path=loader.filename, bindTo=bindTo, port=port, listen=listen,
        backlog=v.one("MISC", "BACKLOG"), modulePaths=v.many("MODULES_SEARCH_PATH", "MODPATH"),
        pipelines=pipelines, timeInterval=v.one("TIME_INTERVALS", "TIMEINV"), mmPath=mmPath,
        mmSize=mmSize, rbSize=rbSize, mmBytes=mmBytes, maxLine=v.one("MISC", "MAXLINE"),
        pseudo=v.one("SECURITY_AND_PRIVACY", "PSEUDO"),
        user=v.one("SECURITY_AND_PRIVACY", "USER"), group=v.one("SECURITY_AND_PRIVACY", "GROUP"),
        chroot=v.one("SECURITY_AND_PRIVACY", "CHROOT"), pidPath=v.one("MISC", "PIDPATH"))


def _buildPopMysql(loader, v):
    section = "MYSQL_SERVER"
    url = v.one(section, "URL")
    if url is None:
        for key in ("HOSTNAME", "USER", "DBNAME"):
            if v.one(section, key) is None:
                line = v.sectionLines.get(section)
                where = f"[{section}]" if line is not None else f"section [{section}]"
                loader.error(line, f"{where} needs {key} (or a URL such as"
                                   " sqlite:///rawlog.db)")
    return PopMysqlSettings(
        path=loader.filename, hostname=v.one(section, "HOSTNAME"), port=v.one(section, "PORT"),
        user=v.one(section, "USER"), password=v.one(section, "PASSWORD"),
        dbName=v.one(section, "DBNAME"), maxErr=v.one(section, "MAXERR"), url=url,
        batchSize=v.one(section, "BATCHSIZE"))


def _buildPopSyslog(loader, v):
    return PopSyslogSettings(
        path=loader.filename, target=v.one("SYSLOG", "TARGET"),
        facility=v.one("SYSLOG", "FACILITY"), tag=v.one("SYSLOG", "TAG"),
        format=v.one("SYSLOG", "FORMAT"))


_WELL_KNOWN_KEYS = frozenset({"changeme", "change me", "password", "secret", "mice", "m-ice"})


def _needKey(loader, v, section, flag, key):
    if v.one(section, flag) and not v.one(section, key) and not v.one(section, "TLSCERT"):
        loader.error(v.line(section, flag), f"{flag} = yes needs {key} (a pre-shared key) or"
                                            f" TLSCERT, TLSKEY and TLSCA in [{section}]")
    secret = v.one(section, key)
    if v.one(section, flag) and secret is not None and secret.strip().lower() in _WELL_KNOWN_KEYS:
        loader.warn(v.line(section, key), f"{key} is a well-known passphrase: anyone can read"
                                          " and forge this link; use a key from `mice keygen`")


def _tlsFiles(loader, v, section):
    """
    C{(certificate, key, ca)} when TLSCERT is given (the link is TLS), else
    C{None}; TLSCERT needs TLSKEY and TLSCA.
    """
    certificate = v.one(section, "TLSCERT")
    if certificate is None:
        for key in ("TLSKEY", "TLSCA"):
            if v.one(section, key) is not None:
                loader.error(v.line(section, key), f"{key} is only used with TLSCERT")
        return None
    missing = [key for key in ("TLSKEY", "TLSCA") if v.one(section, key) is None]
    if missing:
        loader.error(v.line(section, "TLSCERT"), f"TLSCERT needs {' and '.join(missing)}"
                                                 f" in [{section}]")
        return None
    return certificate, v.one(section, "TLSKEY"), v.one(section, "TLSCA")


def _buildDecoder(loader, v):
    _needKey(loader, v, "DECODER", "ENCRYPT", "ENCKEY")
    return DecoderSettings(
        path=loader.filename, encrypt=v.one("DECODER", "ENCRYPT"),
        encKey=v.one("DECODER", "ENCKEY"), cryptMod=v.one("DECODER", "CRYPTMOD"),
        maxRecord=v.one("DECODER", "MAXRECORD"), tls=_tlsFiles(loader, v, "DECODER"))


def _buildDataForwarder(loader, v):
    security = "SECURITY_AND_PRIVACY"
    sql = ServerAddress(v.one("SQL_SERVER", "SQLIP"), v.one("SQL_SERVER", "SQLPORT"),
                        v.one("SQL_SERVER", "SQLPROTO"))
    analysis = ServerAddress(v.one("ANALYSIS_SERVER", "ASIP"),
                             v.one("ANALYSIS_SERVER", "ASPORT"),
                             v.one("ANALYSIS_SERVER", "ASPROTO"))
    if not sql.enabled and not analysis.enabled:
        loader.warn(None, "neither [SQL_SERVER] nor [ANALYSIS_SERVER] is enabled (address or"
                          " port 0): no data will be sent")
    _needKey(loader, v, security, "ENCRYPT", "ENCKEY")
    return DataForwarderSettings(
        path=loader.filename, sqlServer=sql, analysisServer=analysis,
        encrypt=v.one(security, "ENCRYPT"), pseudo=v.one(security, "PSEUDO"),
        filter=v.one(security, "FILTER"), user=v.one(security, "USER"),
        group=v.one(security, "GROUP"), chroot=v.one(security, "CHROOT"),
        encKey=v.one(security, "ENCKEY"), cryptMod=v.one(security, "CRYPTMOD"),
        devRandom=v.one(security, "DEVRANDOM"), files=v.many("LOGFILE_LIST", "FILE"),
        modulePaths=v.many("MODULES_SEARCH_PATH", "MODPATH"),
        filterModule=v.one("MODULES", "MOD_FILTER"),
        logFormatModule=v.one("MODULES", "MOD_LOGFORMAT"),
        pseudonymModule=v.one("MODULES", "MOD_PSEUDONYM"),
        filterConfig=v.one("MODULES_CONFIG_FILE", "FILTERCONF"),
        logFormatConfig=v.one("MODULES_CONFIG_FILE", "LOGFORMATCONF"),
        pseudonymConfig=v.one("MODULES_CONFIG_FILE", "PSEUDONYMCONF"),
        shmSize=v.one("MISC", "SHMSIZE"), sleepInterval=v.one("MISC", "SLEEPINV"),
        reconnect=v.one("MISC", "RECONNECT"), pidPath=v.one("MISC", "PIDPATH"),
        syslogFacility=v.one("MISC", "SYSLOGFAC"),
        syslog=v.entry("MISC", "SYSLOGFAC") is not None,
        stateDirectory=v.one("MISC", "STATEDIR"), spoolSize=v.one("MISC", "SPOOLSIZE"),
        maxLine=v.one("MISC", "MAXLINE"), rotateGrace=v.one("MISC", "ROTATEGRACE"),
        tls=_tlsFiles(loader, v, security), tlsName=v.one(security, "TLSNAME"))


def _buildReactionDaemon(loader, v):
    listen, bindTo, port = _listenOrAddress(loader, v, "NETWORK", "NETWORK", "IP",
                                            "NETWORK", "PORT")
    fids = ("FUNCTION_ID", "FID")
    _pair(loader, v, fids, ("REACTION_MODULES", "RCT_MOD"))
    _pair(loader, v, fids, ("REACTION_MODULES_CONFIG_FILE", "RCT_FILE"), required=False)
    _duplicates(loader, v.entries(*fids), "FID", lambda fid: f"0x{fid:06X}")
    files = v.many("REACTION_MODULES_CONFIG_FILE", "RCT_FILE")
    functions = tuple(
        FunctionSettings(fid, module, files[i] if i < len(files) else None)
        for i, (fid, module) in enumerate(zip(v.many(*fids),
                                              v.many("REACTION_MODULES", "RCT_MOD"))))
    return ReactionDaemonSettings(
        path=loader.filename, functions=functions, bindTo=bindTo, port=port, listen=listen,
        password=v.one("SECURITY", "PASSWORD"), cryptMod=v.one("SECURITY", "CRYPTMOD"),
        chroot=v.one("SECURITY", "CHROOT"), pidPath=v.one("MISC", "PIDPATH"),
        modulePaths=v.many("MISC", "MODPATH"), backlog=v.one("MISC", "BACKLOG"))


def _buildAaRegex(loader, v):
    sections = []
    routes = {}
    for name, sendToKey, ruleKeys in _RULE_SECTIONS:
        rules = []
        for key in ruleKeys:
            patterns = tuple(p for p in v.many(name, key) if p)
            if name == "SOCKET" and patterns:
                loader.warn(v.line(name, key), f"{key}: the SOCKET rules are reserved and not"
                                               " used")
            rules.append(Rule(key, ALERT_IDS.get(key), patterns))
        sendTo = v.one(name, sendToKey)
        sections.append(RuleSection(name, sendTo, tuple(rules)))
        if sendTo != "N":
            routes.setdefault(sendTo, (sendToKey, v.line(name, sendToKey)))
    hostInfo = "HOST_INFO"
    encryption = v.one(hostInfo, "Encryption")
    for target, address, letters in (("the ManagementHost", "Management", "MB"),
                                     ("the next analysis agent", "Agent", "AB")):
        used = [routes[letter] for letter in letters if letter in routes]
        if used and v.one(hostInfo, address) is None:
            sendToKey, line = used[0]
            loader.error(line, f"{sendToKey} sends to {target}, but [HOST_INFO] has no"
                               f" {address} = HOST:PORT")
    _linkKeys(loader, v, (("Management", "MngmntKey"), ("Agent", "AgentKey")))
    return AaRegexSettings(
        path=loader.filename, management=v.one(hostInfo, "Management"),
        agent=v.one(hostInfo, "Agent"), encryption=encryption,
        mngmntKey=v.one(hostInfo, "MngmntKey"), agentKey=v.one(hostInfo, "AgentKey"),
        alertId=v.one("IDMEF_INFO", "AlertID"), alertIdFile=v.one("IDMEF_INFO", "AlertIDFile"),
        dtdFile=v.one("IDMEF_INFO", "DTDFile"), analyzerId=v.one("IDMEF_INFO", "AnalyzerID"),
        sections=tuple(sections), tls=_tlsFiles(loader, v, hostInfo))


def _linkKeys(loader, v, targets):
    """
    With Encryption = yes, each address of C{targets} (C{(address key, its
    key)}) that is set needs its key, or TLS.
    """
    hostInfo = "HOST_INFO"
    if not v.one(hostInfo, "Encryption") or v.one(hostInfo, "TLSCERT") is not None:
        return
    for address, key in targets:
        if v.one(hostInfo, address) is None:
            continue
        secret = v.one(hostInfo, key)
        if not secret:
            loader.error(v.line(hostInfo, "Encryption"),
                         f"Encryption = yes needs {key} for {address} (or TLSCERT, TLSKEY"
                         f" and TLSCA)")
        elif secret.strip().lower() in _WELL_KNOWN_KEYS:
            loader.warn(v.line(hostInfo, key), f"{key} is a well-known passphrase: anyone can"
                                               " read and forge this link; use a key from"
                                               " `mice keygen`")


def _buildAaRules(loader, v):
    hostInfo, logids = "HOST_INFO", "LOGIDS"
    sendTo = v.one(logids, "SendTo")
    if sendTo in ("A", "B") and v.one(hostInfo, "Agent") is None:
        loader.error(v.line(logids, "SendTo"), f"SendTo = {sendTo} sends to the next analysis"
                                               " agent, but [HOST_INFO] has no Agent = HOST:PORT")
    _linkKeys(loader, v, (("Management", "MngmntKey"), ("Agent", "AgentKey")))
    return AaRulesSettings(
        path=loader.filename, management=v.one(hostInfo, "Management"),
        agent=v.one(hostInfo, "Agent"), encryption=v.one(hostInfo, "Encryption"),
        mngmntKey=v.one(hostInfo, "MngmntKey"), agentKey=v.one(hostInfo, "AgentKey"),
        alertId=v.one("IDMEF_INFO", "AlertID"), alertIdFile=v.one("IDMEF_INFO", "AlertIDFile"),
        dtdFile=v.one("IDMEF_INFO", "DTDFile"), analyzerId=v.one("IDMEF_INFO", "AnalyzerID"),
        rulesFile=v.one(logids, "Rules"), filterFile=v.one(logids, "Filters"),
        netdefFile=v.one(logids, "NetDef"), sendTo=sendTo, tls=_tlsFiles(loader, v, hostInfo))


def _buildActGeneric(loader, v):
    rids = ("REACTION_ID", "RID")
    anaids = ("ANALYZER_ID", "ANAID")
    _pair(loader, v, rids, ("RID_PIPENAME", "PIPE"))
    _pair(loader, v, anaids, ("ANALYZER_MATCHFILE", "MF"))
    _duplicates(loader, v.entries(*rids), "RID")
    _duplicates(loader, v.entries(*anaids), "ANAID", repr)
    pipePath = v.one("MISC", "PIPE_PATH")
    matchPath = v.one("MISC", "MATCH_PATH") or loader.directory
    reactions = tuple(
        ReactionAgentSettings(rid, pipe, os.path.join(pipePath or loader.directory, pipe))
        for rid, pipe in zip(v.many(*rids), v.many("RID_PIPENAME", "PIPE")))
    analyzers = []
    for analyzerId, matchFile in zip(v.many(*anaids), v.entries("ANALYZER_MATCHFILE", "MF")):
        path = os.path.normpath(os.path.join(matchPath, os.path.expanduser(matchFile.value)))
        loader.checkExists(path, matchFile.line, matchFile.key)
        analyzers.append(AnalyzerSettings(analyzerId, path))
    return ActGenericSettings(
        path=loader.filename, reactions=reactions, analyzers=tuple(analyzers),
        dtdFile=v.one("IDMEF_INFO", "DTDFile"), modulePaths=v.many("MISC", "MOD_PATH"),
        pipePath=pipePath, pidPath=v.one("MISC", "PID_PATH"), matchPath=matchPath,
        user=v.one("MISC", "USER"), group=v.one("MISC", "GROUP"))


def _buildMatchFile(loader, v):
    aids = ("ALERT_ID", "AID")
    _pair(loader, v, aids, ("ALERT_ID_DESCRIPTION", "AID_DESC"))
    _duplicates(loader, v.entries(*aids), "alert ID", lambda aid: f"0x{aid:04X}")
    alerts = tuple(zip(v.many(*aids), v.many("ALERT_ID_DESCRIPTION", "AID_DESC")))
    known = set(v.many(*aids))
    reactions = {}
    for section in sorted(v.sectionLines, key=v.sectionLines.get):
        match = re.fullmatch(r"RID_(\d+)", section)
        if not match:
            continue
        rid = int(match.group(1))
        found = []
        for entry in v.entries(section, f"AID_{rid}"):
            if entry.value not in known:
                loader.warn(entry.line, f"{entry.key} = 0x{entry.value:04X} is not in"
                                        " [ALERT_ID]")
            if entry.value in found:
                loader.warn(entry.line, f"{entry.key} = 0x{entry.value:04X} given twice in"
                                        f" [{section}]")
            else:
                found.append(entry.value)
        reactions[rid] = tuple(found)
    return MatchFileSettings(path=loader.filename, alerts=alerts,
                             reactions=types.MappingProxyType(dict(sorted(reactions.items()))))


def _buildFltRegex(loader, v):
    return FilterSettings(path=loader.filename, drop=v.many("FILTER", "DROP"),
                          keep=v.many("FILTER", "KEEP"))


def _buildPseudonym(loader, v):
    return PseudonymSettings(path=loader.filename, keyFile=v.one("PSEUDONYM", "KEYFILE"),
                             addresses=v.one("PSEUDONYM", "ADDRESSES"))


def _buildFmtSimple(loader, v):
    return FmtSimpleSettings(path=loader.filename, hostname=v.one("FORMAT", "HOSTNAME"),
                             domain=v.one("FORMAT", "DOMAIN"), ip=v.one("FORMAT", "IP"))


# ---------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------

def K(name, type, default=None, **kw):
    return _Key(name, type, default, **kw)


_SECRET = {"secret": True}

_SCHEMAS = {schema.kind: schema for schema in (
    _Schema("bufferdaemon", "a BufferDaemon config", (
        _Sect("ADDRESS", (K("BINDTO", ADDRESS), K("LISTEN", ENDPOINT, repeated=True))),
        _Sect("PORT_NUMBER", (K("PORT", PORT),)),
        _Sect("MODULES_SEARCH_PATH", (K("MODPATH", SEARCHPATH, repeated=True),)),
        _Sect("DECODING_MODULES",
              (K("DEC_MOD", NAME, required=True, repeated=True, synonyms=("ENC_MOD",)),),
              synonyms=("ENCODING_MODULES",)),
        _Sect("DECODING_MODULES_CONFIG_FILE",
              (K("DEC_FILE", FILE, repeated=True, synonyms=("ENC_FILE",)),),
              synonyms=("ENCODING_MODULES_CONFIG_FILE",)),
        _Sect("POSTPROC_MODULES",
              (K("POST_MOD", NAME, required=True, repeated=True, synonyms=("OUT_MOD",)),),
              synonyms=("OUTPUT_MODULES",)),
        _Sect("POSTPROC_MODULES_CONFIG_FILE",
              (K("POST_FILE", FILE, repeated=True, synonyms=("OUT_FILE",)),),
              synonyms=("OUTPUT_MODULES_CONFIG_FILE",)),
        _Sect("TIME_INTERVALS", (K("TIMEINV", SECONDS, required=True),)),
        _Sect("CACHE_AND_RINGBUFFER", (K("MMPATH", RUNTIME), K("MMSIZE", COUNT, 0),
                                       K("RBSIZE", COUNT, 100), K("MMBYTES", POSITIVE))),
        _Sect("SECURITY_AND_PRIVACY", (K("PSEUDO", BOOL, False), K("USER", NAME),
                                       K("GROUP", NAME), K("CHROOT", DIRECTORY))),
        _Sect("MISC", (K("PIDPATH", RUNTIME), K("BACKLOG", POSITIVE, 50),
                       K("MAXLINE", POSITIVE, 4194304))),
    ), _buildBufferDaemon),
    _Schema("dataforwarder", "a DataForwarder config", (
        _Sect("SQL_SERVER", (K("SQLIP", HOST, "0"), K("SQLPORT", PORT, 0),
                             K("SQLPROTO", PROTO, "TCP"))),
        _Sect("ANALYSIS_SERVER", (K("ASIP", HOST, "0"), K("ASPORT", PORT, 0),
                                  K("ASPROTO", PROTO, "TCP"))),
        _Sect("SECURITY_AND_PRIVACY", (
            K("ENCRYPT", BOOL, False), K("PSEUDO", BOOL, False), K("FILTER", BOOL, False),
            K("USER", NAME), K("GROUP", NAME), K("CHROOT", DIRECTORY),
            K("ENCKEY", TEXT, **_SECRET),
            K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
            K("DEVRANDOM", FILE), K("TLSCERT", FILE), K("TLSKEY", FILE), K("TLSCA", FILE),
            K("TLSNAME", TEXT))),
        _Sect("LOGFILE_LIST", (K("FILE", LOGFILE, required=True, repeated=True),)),
        _Sect("MODULES_SEARCH_PATH", (K("MODPATH", SEARCHPATH, repeated=True),)),
        _Sect("MODULES", (K("MOD_FILTER", NAME, "mice_mod_flt_regex"),
                          K("MOD_LOGFORMAT", NAME, "mice_mod_fmt_simple"),
                          K("MOD_PSEUDONYM", NAME, "mice_mod_psd_empty"))),
        _Sect("MODULES_CONFIG_FILE", (K("FILTERCONF", FILE), K("LOGFORMATCONF", FILE),
                                      K("PSEUDONYMCONF", FILE))),
        _Sect("MISC", (K("SHMSIZE", POSITIVE, 10240),
                       K("SLEEPINV", SECONDS, 2.0, synonyms=("SLEPPINV",)),
                       K("RECONNECT", COUNT, 15), K("PIDPATH", RUNTIME),
                       K("SYSLOGFAC", FACILITY, SYSLOG_FACILITIES["daemon"]),
                       K("STATEDIR", RUNTIME), K("SPOOLSIZE", POSITIVE, 1048576),
                       K("MAXLINE", _integer(minimum=256), 65536),
                       K("ROTATEGRACE", SECONDS, 5.0))),
    ), _buildDataForwarder),
    _Schema("reactiondaemon", "a ReactionDaemon config", (
        _Sect("FUNCTION_ID", (K("FID", _integer(0, width=6), required=True, repeated=True),)),
        _Sect("REACTION_MODULES", (K("RCT_MOD", NAME, repeated=True),)),
        _Sect("REACTION_MODULES_CONFIG_FILE", (K("RCT_FILE", FILE, repeated=True),)),
        _Sect("NETWORK", (K("IP", ADDRESS), K("PORT", PORT),
                          K("LISTEN", ENDPOINT, repeated=True))),
        _Sect("SECURITY", (K("PASSWORD", TEXT, required=True, **_SECRET),
                           K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
                           K("CHROOT", DIRECTORY))),
        _Sect("MISC", (K("PIDPATH", RUNTIME), K("MODPATH", SEARCHPATH, repeated=True),
                       K("BACKLOG", POSITIVE, 50))),
    ), _buildReactionDaemon),
    _Schema("pop_mysql", "a mice_mod_pop_mysql config", (
        _Sect("MYSQL_SERVER", (
            K("HOSTNAME", HOST), K("PORT", PORT, 3306), K("USER", NAME),
            K("PASSWORD", TEXT, **_SECRET), K("DBNAME", NAME), K("MAXERR", COUNT, 10),
            K("URL", DBURL), K("BATCHSIZE", POSITIVE, 5000))),
    ), _buildPopMysql),
    _Schema("pop_syslog", "a mice_mod_pop_syslog config", (
        _Sect("SYSLOG", (K("TARGET", SYSLOGTARGET, "unix:/dev/log"),
                         K("FACILITY", FACILITY, SYSLOG_FACILITIES["daemon"]),
                         K("TAG", SYSLOGTAG, "mice"), K("FORMAT", SYSLOGFORMAT, "rfc3164"))),
    ), _buildPopSyslog),
    _Schema("decoder", "a decoding module config", (
        _Sect("DECODER", (K("ENCRYPT", BOOL, False), K("ENCKEY", TEXT, **_SECRET),
                          K("CRYPTMOD", CRYPTMOD, "aes-256-gcm", synonyms=("CRYPTOMOD",)),
                          K("MAXRECORD", POSITIVE, 65536), K("TLSCERT", FILE),
                          K("TLSKEY", FILE), K("TLSCA", FILE))),
    ), _buildDecoder),
    _Schema("aa_regex", "a mice_mod_pop_aa_regex config", (
        _Sect("HOST_INFO", (K("Management", HOSTPORT), K("Agent", HOSTPORT),
                            K("Encryption", BOOL, False), K("MngmntKey", TEXT, **_SECRET),
                            K("AgentKey", TEXT, **_SECRET), K("TLSCERT", FILE),
                            K("TLSKEY", FILE), K("TLSCA", FILE))),
        _Sect("IDMEF_INFO", (K("AlertID", COUNT, 1), K("AlertIDFile", RUNTIME),
                             K("DTDFile", FILE), K("AnalyzerID", NAME, "MICE-RegEx"))),
        *(_Sect(name, (K(sendTo, SENDTO, "N"),
                       *(K(rule, REGEX, repeated=True) for rule in rules)))
          for name, sendTo, rules in _RULE_SECTIONS),
    ), _buildAaRegex),
    _Schema("aa_rules", "a mice_mod_pop_aa_rules config", (
        _Sect("HOST_INFO", (K("Management", HOSTPORT, required=True), K("Agent", HOSTPORT),
                            K("Encryption", BOOL, False), K("MngmntKey", TEXT, **_SECRET),
                            K("AgentKey", TEXT, **_SECRET), K("TLSCERT", FILE),
                            K("TLSKEY", FILE), K("TLSCA", FILE))),
        _Sect("IDMEF_INFO", (K("AlertID", COUNT, 1), K("AlertIDFile", RUNTIME),
                             K("DTDFile", FILE), K("AnalyzerID", NAME, "MICE-LogIDS"))),
        _Sect("LOGIDS", (K("Rules", FILE, required=True), K("Filters", FILE, required=True),
                         K("NetDef", FILE), K("SendTo", SENDTO, "M"))),
    ), _buildAaRules),
    _Schema("act_generic", "a mice_mod_pop_act_generic config", (
        _Sect("REACTION_ID", (K("RID", _integer(1), required=True, repeated=True),)),
        _Sect("RID_PIPENAME", (K("PIPE", NAME, repeated=True),)),
        _Sect("ANALYZER_ID", (K("ANAID", NAME, required=True, repeated=True),)),
        _Sect("ANALYZER_MATCHFILE", (K("MF", NAME, repeated=True),)),
        _Sect("IDMEF_INFO", (K("DTDFile", FILE),)),
        _Sect("MISC", (K("MOD_PATH", SEARCHPATH, repeated=True), K("PIPE_PATH", RUNTIME),
                       K("PID_PATH", RUNTIME), K("MATCH_PATH", DIRECTORY), K("USER", NAME),
                       K("GROUP", NAME))),
    ), _buildActGeneric),
    _Schema("matchfile", "a match file", (
        _Sect("ALERT_ID", (K("AID", _integer(0, width=4), required=True, repeated=True),)),
        _Sect("ALERT_ID_DESCRIPTION", (K("AID_DESC", TEXT, repeated=True),)),
        _Sect("RID_n", (K("AID_{n}", _integer(0, width=4), repeated=True),),
              pattern=r"RID_([1-9][0-9]*)"),
    ), _buildMatchFile),
    _Schema("flt_regex", "a mice_mod_flt_regex config", (
        _Sect("FILTER", (K("DROP", FILTERREGEX, repeated=True),
                         K("KEEP", FILTERREGEX, repeated=True))),
    ), _buildFltRegex),
    _Schema("psd", "a pseudonymisation module config", (
        _Sect("PSEUDONYM", (K("KEYFILE", FILE), K("ADDRESSES", BOOL, False))),
    ), _buildPseudonym),
    _Schema("fmt_simple", "a mice_mod_fmt_simple config", (
        _Sect("FORMAT", (K("HOSTNAME", HOST), K("DOMAIN", HOST), K("IP", IP))),
    ), _buildFmtSimple),
)}

#: Every kind of config file this module reads.
KINDS = tuple(_SCHEMAS)


def _markers():
    """
    For each kind, the sections only that kind has: what L{detectKind} looks for.
    """
    owners = {}
    for schema in _SCHEMAS.values():
        for sect in schema.sections:
            for name in (sect.name, *sect.synonyms):
                owners.setdefault(name, set()).add(schema.kind)
    return {kind: frozenset(name for name, kinds in owners.items() if kinds == {kind})
            for kind in _SCHEMAS}


_MARKERS = _markers()


def detectKind(iniFile):
    """
    Which kind of M-ICE config C{iniFile} is, from its sections: one of
    L{KINDS}.

    @raise ConfigError: when the sections do not say.
    """
    scores = {}
    for kind, markers in _MARKERS.items():
        pattern = next((s.pattern for s in _SCHEMAS[kind].sections if s.pattern), None)
        score = sum(1 for section in iniFile.sections
                    if section.name.upper() in markers
                    or (pattern is not None and re.fullmatch(pattern, section.name.upper())))
        if score:
            scores[kind] = score
    names = ", ".join(f"[{section.name}]" for section in iniFile.sections) or "none"
    if scores:
        best = max(scores.values())
        winners = [kind for kind, score in scores.items() if score == best]
        if len(winners) == 1:
            return winners[0]
    raise ConfigError(iniFile.filename, None,
                      f"cannot tell what kind of M-ICE config this is (sections: {names})")


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def loadConfigText(text, filename, strict=False, kind=None):
    """
    Like L{loadConfig}, for text already read; relative paths resolve against
    the directory of C{filename}.
    """
    loader = _Loader(filename, strict)
    ini = _parse(text, filename, loader.errors)
    detected = None
    try:
        detected = detectKind(ini)
    except ConfigError as e:
        if kind is None:
            loader.errors.append(e)
            _raiseIfAny(loader.errors)
    if kind is None:
        kind = detected
    elif kind not in _SCHEMAS:
        raise ValueError(f"unknown config kind {kind!r}; known: {', '.join(KINDS)}")
    elif detected is not None and detected != kind:
        loader.error(None, f"this is {_SCHEMAS[detected].title} ({detected}), not"
                           f" {_SCHEMAS[kind].title} ({kind})")
        _raiseIfAny(loader.errors)
    schema = _SCHEMAS[kind]
    values = _validate(ini, schema, loader)
    _raiseIfAny(loader.errors)
    settings = schema.build(loader, values)
    _raiseIfAny(loader.errors + loader.strictErrors)
    return LoadedConfig(kind, settings, tuple(loader.warnings), _shown(schema, values))


def loadConfig(path, strict=False, kind=None):
    """
    Read, check and convert one M-ICE config file.

    @param kind: one of L{KINDS}; by default L{detectKind} decides.
    @param strict: make missing files the config names errors, not warnings.
    @return: a L{LoadedConfig}.
    @raise ConfigError: everything wrong with the file (L{ConfigErrors} when
        there is more than one thing).
    """
    return loadConfigText(_readText(path), path, strict, kind)


def loadBufferDaemon(path, strict=False):
    return loadConfig(path, strict, "bufferdaemon").settings


def loadPopMysql(path, strict=False):
    return loadConfig(path, strict, "pop_mysql").settings


def loadPopSyslog(path, strict=False):
    return loadConfig(path, strict, "pop_syslog").settings


def loadDecoder(path, strict=False):
    """
    The decoding module's settings; C{path=None} gives the defaults.
    """
    if path is None:
        return DecoderSettings(None)
    return loadConfig(path, strict, "decoder").settings


def loadDataForwarder(path, strict=False):
    return loadConfig(path, strict, "dataforwarder").settings


def loadReactionDaemon(path, strict=False):
    return loadConfig(path, strict, "reactiondaemon").settings


def loadAaRegex(path, strict=False):
    return loadConfig(path, strict, "aa_regex").settings


def loadAaRules(path, strict=False):
    return loadConfig(path, strict, "aa_rules").settings


def loadActGeneric(path, strict=False):
    return loadConfig(path, strict, "act_generic").settings


def loadMatchFile(path, strict=False):
    return loadConfig(path, strict, "matchfile").settings


def loadFltRegex(path, strict=False):
    """
    The filter module's settings; C{path=None} gives no rules (keep every line).
    """
    if path is None:
        return FilterSettings(None, (), ())
    return loadConfig(path, strict, "flt_regex").settings


def loadPseudonym(path, strict=False):
    """
    A pseudonymisation module's settings; C{path=None} gives no key.
    """
    if path is None:
        return PseudonymSettings(None, None)
    return loadConfig(path, strict, "psd").settings


def loadFmtSimple(path, strict=False):
    """
    The format module's settings; C{path=None} overrides nothing.
    """
    if path is None:
        return FmtSimpleSettings(None)
    return loadConfig(path, strict, "fmt_simple").settings


# ---------------------------------------------------------------------------
# Describing
# ---------------------------------------------------------------------------

def _shown(schema, values):
    """
    C{(label, text)} for every setting, defaults included, secrets masked.
    """
    shown = []

    def show(key, value, default=False):
        if value is None:
            return "(unset)"
        if key.secret:
            return _MASK
        text = key.type.show(value)
        return f"{text}  (default)" if default else text

    for sect in schema.sections:
        names = [sect.name] if sect.pattern is None else \
            sorted((n for n in values.sectionLines if sect.matches(n)), key=values.sectionLines.get)
        for name in names:
            for key in sect.keys:
                label = f"{name}.{sect.canonicalKey(key, name)}"
                found = values.entries(name, sect.canonicalKey(key, name))
                if key.repeated:
                    if not found:
                        shown.append((label, "(none)"))
                    shown.extend((label, show(key, item.value)) for item in found)
                elif found:
                    shown.append((label, show(key, found[0].value)))
                elif (name, key.name) in values.effective:
                    shown.append((label, show(key, values.effective[(name, key.name)], True)))
                else:
                    shown.append((label, show(key, key.default, key.default is not None)))
    return tuple(shown)


def _derived(loaded):
    settings = loaded.settings
    if loaded.kind in ("bufferdaemon", "reactiondaemon"):
        yield from (("endpoint", endpoint) for endpoint in settings.endpoints)
    if loaded.kind == "bufferdaemon":
        for i, p in enumerate(settings.pipelines):
            yield (f"pipeline[{i}]", f"{p.decoder} ({p.decoderConfig or 'no config'}) ->"
                                     f" {p.postprocessor} ({p.postprocessorConfig or 'no config'})")
    elif loaded.kind == "reactiondaemon":
        for f in settings.functions:
            yield (f"function[0x{f.fid:06X}]", f"{f.module} ({f.configFile or 'no config'})")
    elif loaded.kind == "pop_mysql":
        yield ("database", _redactUrl(settings.databaseUrl()))
    elif loaded.kind == "dataforwarder":
        for name, server in (("sql server", settings.sqlServer),
                             ("analysis server", settings.analysisServer)):
            yield (name, server.endpoint if server.enabled else "disabled")
    elif loaded.kind == "aa_regex":
        for section, rule in loaded.settings.enabledRules:
            yield (f"rule[0x{rule.alertId:04X}]",
                   f"{rule.key}: {len(rule.patterns)} pattern(s), send to {section.sendTo}")
    elif loaded.kind == "act_generic":
        for reaction in settings.reactions:
            yield (f"reaction[{reaction.rid}]", reaction.fifo)
        for analyzer in settings.analyzers:
            yield (f"analyzer[{analyzer.analyzerId}]", analyzer.matchFile)


def describe(loaded):
    """
    The effective settings of a L{LoadedConfig}, one C{SECTION.KEY = value}
    line per setting (defaults marked), then what they add up to.  Secrets
    (passwords, keys, passwords inside URLs) are shown as C{********}.
    """
    lines = [f"{label} = {text}" for label, text in loaded.shown]
    lines.extend(f"=> {label} = {text}" for label, text in _derived(loaded))
    return lines
