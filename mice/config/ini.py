# -*- test-case-name: tests.unit.config.test_config -*-
"""
The original's INI dialect: sections, C{KEY = value} entries, repeated keys as ordered lists, comments, quoting.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

import re
from typing import NamedTuple

from mice.config.errors import ConfigError, ConfigErrors, _Invalid

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
