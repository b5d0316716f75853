# -*- test-case-name: tests.unit.config.test_config -*-
"""
Errors and warnings of the config loader: every one names C{file:line}.

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""

from typing import NamedTuple

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
    names does not exist (yet), a key not used, a shipped default secret.
    """

    filename: str
    line: int | None
    message: str
    secret: str | None = None
    """
    The key, when the warning is that it holds a shipped default secret
    (the seed's C{changeme}): a daemon says that once per key
    (L{mice.security.policy.warnWellKnownSecret}).
    """

    def __str__(self):
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        return f"{where}: warning: {self.message}"


class _Invalid(Exception):
    """
    A value is wrong; the message says what was expected.
    """
