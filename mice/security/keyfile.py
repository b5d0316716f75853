# -*- test-case-name: tests.unit.security.test_keyfile -*-
"""
Key files: a key written as hex digits (C{mice keygen}), blanks and line
ends ignored.  The pseudonymiser's KEYFILE and the stores' SIGNKEY are such
files; each caller checks the size its cipher or MAC needs.
"""


def readHexKey(path, name="the key", hint=""):
    """
    The bytes of the key in the file C{path}.

    @param name: the key, as the error names it (C{"the SIGNKEY"}).
    @param hint: said after the error (C{" (`mice keygen`)"}).

    @raise ValueError: the file holds something other than hex digits.
    @raise OSError: the file cannot be read.
    """
    with open(path, encoding="ascii", errors="replace") as f:
        text = "".join(f.read().split())
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path}: expected {name} as hex digits{hint}") from None
