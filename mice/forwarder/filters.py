# -*- test-case-name: tests.unit.forwarder.test_clientmodules -*-
"""
The DataForwarder's line modules that decide and shape what it ships:
C{mice_mod_flt_regex} (L{RegexFilter}) and the builder of
C{mice_mod_fmt_simple} (L{SimpleFormat}; the wire format itself lives in
L{mice.decoders.logformat}).

The filter's rules, in a C{[FILTER]} section of repeated keys::

    DROP = "regex"    # a line matching any DROP is dropped
    KEEP = "regex"    # with any KEEP given, a line must match one to be kept

DROP wins over KEEP; with no rules every line is kept.  Regular expressions
are searched (not anchored) in the line without its newline.

Pure: no I/O here except in the C{build*} functions, which read config files.
"""

import re

from zope.interface import implementer

from mice.interfaces import IFilter

_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def _matcher(patterns):
    """
    One C{search} function for "does any of C{patterns} match", or C{None}
    when there are none.

    The patterns are joined into one alternation, so a line is scanned once;
    patterns that cannot be joined (numbered backreferences would point at
    another rule's groups, global flags must come first) are tried one by one.
    """
    if not patterns:
        return None
    joinable = [p for p in patterns if not _BACKREFERENCE.search(p) and not p.startswith("(?")]
    alone = [re.compile(p).search for p in patterns if p not in joinable]
    if joinable:
        try:
            alone.insert(0, re.compile("|".join(f"(?:{p})" for p in joinable)).search)
        except re.error:
            # Named groups repeated across rules: fall back to one regex each.
            alone[:0] = [re.compile(p).search for p in joinable]
    if len(alone) == 1:
        return alone[0]
    return lambda line: any(search(line) for search in alone)


@implementer(IFilter)
class RegexFilter:
    """
    C{mice_mod_flt_regex}: drops lines by regular expression (see the module
    docstring for the rules).

    @ivar counts: C{kept}, C{dropped} (lines matching a DROP) and
        C{unmatched} (lines matching no KEEP).
    """

    def __init__(self, drop=(), keep=()):
        self.dropPatterns = tuple(drop)
        self.keepPatterns = tuple(keep)
        self._drop = _matcher(self.dropPatterns)
        self._keep = _matcher(self.keepPatterns)
        self.counts = {"kept": 0, "dropped": 0, "unmatched": 0}

    def keep(self, line):
        if self._drop is not None and self._drop(line):
            self.counts["dropped"] += 1
            return False
        if self._keep is not None and not self._keep(line):
            self.counts["unmatched"] += 1
            return False
        self.counts["kept"] += 1
        return True

    @classmethod
    def fromSettings(cls, settings):
        return cls(settings.drop, settings.keep)


def buildFilter(configPath, reactor):
    from mice.config import loadFltRegex

    return RegexFilter.fromSettings(loadFltRegex(configPath))
