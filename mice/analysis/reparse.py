# -*- test-case-name: tests.unit.analysis.test_aaregex -*-
"""
A regex as C{re}'s own parser reads it, for the modules that read rules'
regexes (their literals, widths, newlines, Hyperscan forms): parsed once
per pattern, not once per question (the default content's 449 patterns
were parsed 965 times at each start).  The questions about a pattern come
together: the last 64 parses are kept, not every one (2.3 MB for the
whole run, the default content's).
"""

from functools import lru_cache
from re import _parser


@lru_cache(maxsize=64)
def parsed(pattern, flags=0):
    """
    C{re}'s parse of C{pattern} with C{flags}: a C{SubPattern} shared by
    every caller, to read and not to change.

    @raise re.error: as C{re.compile} would.
    """
    return _parser.parse(pattern, flags)
