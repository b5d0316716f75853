# -*- test-case-name: tests.unit.analysis.test_fieldre -*-
"""
A LogIDS filter block's C{fields} regex run by PCRE2 (its JIT) in
L{mice.analysis._fieldre}, giving what C{re} gives: L{pcre2Pattern}
rewrites a Python pattern as a PCRE2 pattern that matches the same ASCII
text with the same groups, or refuses it (C{ValueError}, with the reason);
L{groupsFunction} gives C{line -> m.groups('') or None} run by PCRE2 where
the module is built and the pattern is not refused, else by C{re}.

The rewrite works on C{re}'s own parse of the pattern, not on its text, so
a spelling the two engines read differently (C{{,n}}, C{\\Z}, C{\\s} and
U+001C..U+001F, case folding) cannot slip through: each node that matches
one character (a literal, a class, C{.}, C{\\d}...) becomes the class of
the ASCII characters C{re} itself says it matches (it is asked, once per
character), and each other node is one PCRE2 construct whose meaning is
the same as C{re}'s, or the pattern is refused.  PCRE2 only ever sees ASCII
lines (L{mice.analysis._fieldre} hands the others to C{re}), so what a
node does on other characters does not matter.
"""

import re
from functools import lru_cache

try:  # re's parser and compiler: the rewrite reads the parse.
    from re import _compiler as _sre_compile
    from re import _constants as C
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover (moved in a later Python: re runs them all)
    _sre_compile = _sre_parse = C = None

try:  # Built where pcre2.h is (setup.py).
    from mice.analysis import _fieldre
except ImportError:
    _fieldre = None

#: PCRE2 refuses a repeat count above this (C{re} allows more).
_MAX_COUNT = 65535

#: The flags a pattern may have: those the rewrite reads (the others,
#: LOCALE and DEBUG, are refused; LOCALE is for bytes patterns anyway).
_KNOWN_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII | re.UNICODE

#: What, of the flags, changes which characters a one-character node matches.
_SET_FLAGS = re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE

if C is not None:
    _ONE_CHARACTER = frozenset({C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY})
    _REPEATS = {C.MAX_REPEAT: "", C.MIN_REPEAT: "?", C.POSSESSIVE_REPEAT: "+"}
_ASCII = range(128)


def pcre2Pattern(pattern, flags=0):
    """
    The PCRE2 pattern matching, on ASCII text, what C{re.compile(pattern,
    flags)} matches, with the same groups (numbered as C{re} numbers them,
    none named: the caller keeps C{re}'s names).

    @param pattern: a C{str} pattern.
    @param flags: C{re} flags.
    @raise ValueError: when the rewrite is not sure to mean the same; the
        message says why.
    @raise TypeError: when C{pattern} is not a C{str} or C{flags} not an int.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a str, not {type(pattern).__name__}")
    if not isinstance(flags, int):
        raise TypeError(f"flags must be an int, not {type(flags).__name__}")
    if flags & ~_KNOWN_FLAGS:
        raise ValueError("it has a flag other than IGNORECASE, MULTILINE, DOTALL, VERBOSE, "
                         "ASCII and UNICODE")
    if _sre_parse is None:  # pragma: no cover
        raise ValueError("this Python's re has no re._parser to read it with")
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except re.error as e:
        raise ValueError(f"re refuses it ({e})") from None
    if parsed.state.flags & ~_KNOWN_FLAGS:
        raise ValueError("it has a flag other than IGNORECASE, MULTILINE, DOTALL, VERBOSE, "
                         "ASCII and UNICODE")
    out = []
    _Writer(out).items(parsed.data, parsed.state.flags, repeated=False, negative=False)
    return "".join(out)


class _Writer:
    """The PCRE2 text of a parse, item by item, appended to C{out}."""

    def __init__(self, out):
        self.out = out

    def items(self, items, flags, repeated, negative):
        for op, av in items:
            self.item(op, av, flags, repeated, negative)

    def sub(self, items, flags, repeated, negative):
        # A (?:...) of its own, so that what follows cannot join it.
        self.out.append("(?:")
        self.items(items, flags, repeated, negative)
        self.out.append(")")

    def item(self, op, av, flags, repeated, negative):
        out = self.out
        if op in _ONE_CHARACTER:
            if op is C.CATEGORY:  # (re's parser puts it in an IN; its compiler wants it so)
                op, av = C.IN, [(op, av)]
            out.append(_setText(_matched(op, _key(av), flags & _SET_FLAGS)))
        elif op is C.SUBPATTERN:
            group, add, remove, items = av
            inner = (flags | add) & ~remove
            if group is None:
                self.sub(items, inner, repeated, negative)
                return
            # re and PCRE2 differ on what a group holds after some
            # backtracking out of repeats and negative assertions.
            if repeated:
                raise ValueError("it has a group inside a repeat")
            if negative:
                raise ValueError("it has a group inside a negative assertion")
            out.append("(")
            self.items(items, inner, repeated, negative)
            out.append(")")
        elif op is C.BRANCH:
            out.append("(?:")
            for i, branch in enumerate(av[1]):
                if i:
                    out.append("|")
                self.items(branch, flags, repeated, negative)
            out.append(")")
        elif op in _REPEATS:
            low, high, items = av
            if op is C.POSSESSIVE_REPEAT and not _oneCharacter(items):
                # re 3.11's gives up too soon: (?:\S+){2}+ is not found in "00".
                raise ValueError("it has a possessive repeat of more than one character")
            if low > _MAX_COUNT or (high > _MAX_COUNT and high != C.MAXREPEAT):
                raise ValueError(f"it repeats more than {_MAX_COUNT} times")
            if high > 1 and items.getwidth()[0] == 0:
                # The engines stop an empty iteration at different times.
                raise ValueError("it repeats what can match the empty string")
            self.sub(items, flags, repeated or high > 1, negative)
            out.append(_count(low, high) + _REPEATS[op])
        elif op is C.ATOMIC_GROUP:
            out.append("(?>")
            self.items(av, flags, repeated, negative)
            out.append(")")
        elif op in (C.ASSERT, C.ASSERT_NOT):
            direction, items = av
            sign = "=" if op is C.ASSERT else "!"
            out.append(("(?" if direction > 0 else "(?<") + sign)
            self.items(items, flags, repeated, negative or op is C.ASSERT_NOT)
            out.append(")")
        elif op is C.GROUPREF:
            if repeated:
                raise ValueError("it has a back reference inside a repeat")
            # re compares caselessly under IGNORECASE: on ASCII text, as
            # PCRE2's default tables do.
            out.append(f"(?i:\\g{{{av}}})" if flags & re.IGNORECASE else f"(?:\\g{{{av}}})")
        elif op is C.GROUPREF_EXISTS:
            group, yes, no = av
            if repeated:
                raise ValueError("it has a conditional group inside a repeat")
            out.append(f"(?({group})")
            self.items(yes, flags, repeated, negative)
            if no is not None:
                out.append("|")
                self.items(no, flags, repeated, negative)
            out.append(")")
        elif op is C.AT:
            out.append(_at(av, flags))
        else:
            raise ValueError(f"it has {op}, which is not rewritten")


def _oneCharacter(items):
    """Whether C{items} is one node matching one character."""
    return len(items) == 1 and items[0][0] in _ONE_CHARACTER


def _count(low, high):
    """The PCRE2 quantifier of C{{low,high}} (C{re}'s C{{,n}} is C{{0,n}})."""
    if high == C.MAXREPEAT:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    if low == high:
        return f"{{{low}}}"
    return f"{{{low},{high}}}"


def _at(code, flags):
    """The PCRE2 text of an C{AT} node of C{re}, spelt out so that no PCRE2 option matters."""
    if code is C.AT_BEGINNING:
        # MULTILINE: also after any newline, even a last one (PCRE2's own
        # multiline ^ is not after a newline ending the subject).
        return "(?<![^\\n])" if flags & re.MULTILINE else "\\A"
    if code is C.AT_BEGINNING_STRING:
        return "\\A"
    if code is C.AT_END:
        return "(?=\\n|\\z)" if flags & re.MULTILINE else "(?=\\n?\\z)"
    if code is C.AT_END_STRING:
        return "\\z"
    word = _setText(_matched(C.IN, _key([(C.CATEGORY, C.CATEGORY_WORD)]), flags & _SET_FLAGS))
    if code is C.AT_BOUNDARY:
        return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
    if code is C.AT_NON_BOUNDARY:
        # re's \B does not match in an empty string.
        return f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}))(?!\\A\\z)"
    raise ValueError(f"it has {code}, which is not rewritten")  # pragma: no cover


class _Key:
    """A node's argument, hashable by its text (for the cache of L{_matched})."""

    def __init__(self, av):
        self.av = av
        self.text = repr(av)

    def __hash__(self):
        return hash(self.text)

    def __eq__(self, other):
        return self.text == other.text


def _key(av):
    return _Key(av)


@lru_cache(maxsize=4096)
def _matched(op, key, flags):
    """
    The ASCII characters (codes) the one-character node C{(op, key.av)}
    matches under C{flags}, as C{re} itself says.
    """
    state = _sre_parse.State()
    state.flags = flags
    try:
        regex = _sre_compile.compile(_sre_parse.SubPattern(state, [(op, key.av)]), flags)
    except (re.error, RuntimeError, TypeError) as e:  # pragma: no cover - what re parsed
        raise ValueError(f"re cannot compile its node {op} alone ({e})") from None
    return frozenset(c for c in _ASCII if regex.fullmatch(chr(c)) is not None)


def _char(code):
    """A character in PCRE2 syntax, inside a class or out."""
    c = chr(code)
    return c if c.isascii() and c.isalnum() else f"\\x{{{code:02x}}}"


def _setText(codes):
    """The PCRE2 text matching one character of C{codes} (ASCII codes)."""
    if not codes:
        return "(?!)"
    if len(codes) == 1:
        return _char(next(iter(codes)))
    ordered = sorted(codes)
    ranges = []
    start = last = ordered[0]
    for code in ordered[1:]:
        if code != last + 1:
            ranges.append((start, last))
            start = code
        last = code
    ranges.append((start, last))
    return "[" + "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}"
                         for a, b in ranges) + "]"


def groupsFunction(regex, search=None):
    """
    A function C{line -> tuple or None} giving C{regex.search(line)}'s
    C{groups('')} (C{None} when it does not match): PCRE2's (L{pcre2Pattern})
    where L{mice.analysis._fieldre} is built and C{regex} is not refused,
    else C{re}'s.

    @param regex: a compiled C{str} regex.
    @param search: the C{search} of a regex matching the same text with the
        same groups (L{mice.analysis.logids.quickerRegex}'s), run on
        non-ASCII lines and where PCRE2 is not used; C{regex.search} by
        default.
    """
    search = search or regex.search
    compiled = pcre2Regex(regex, search)
    if compiled is not None:
        return compiled.groups

    def groups(line):
        found = search(line)
        return None if found is None else found.groups("")
    return groups


def pcre2Regex(regex, search=None):
    """
    The L{mice.analysis._fieldre.Regex} of C{regex} (C{search} for the lines
    it hands to C{re}: L{groupsFunction}), or C{None} where that module is
    not built or C{regex} is refused.
    """
    if not isinstance(regex, re.Pattern) or not isinstance(regex.pattern, str):
        return None  # (bytes, or something with a search of its own)
    if _fieldre is None:
        return None
    try:
        return _fieldre.Regex(pcre2Pattern(regex.pattern, regex.flags), regex.groups,
                              search or regex.search)
    except (TypeError, ValueError):
        return None
