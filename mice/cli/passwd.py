# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice passwd}: make the argon2 hash of a console password, the line to
paste into C{[CONSOLE]} of the ManagementHost's config.  The password is
read twice from the terminal (never echoed, never an argument: arguments
show in the process list), or once from standard input with C{--stdin}.
"""

import getpass
import sys

#: Shorter passwords are refused.
MIN_LENGTH = 10


def _read(args):
    if args.stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n"), None
    try:
        first = getpass.getpass("Console password: ")
        second = getpass.getpass("Again: ")
    except (EOFError, KeyboardInterrupt):
        return None, "no password given"
    if first != second:
        return None, "the two passwords differ"
    return first, None


def run(args):
    from mice.console.auth import hashPassword

    password, problem = _read(args)
    if problem is None and len(password) < MIN_LENGTH:
        problem = f"a console password needs at least {MIN_LENGTH} characters"
    if problem is not None:
        print(f"mice passwd: {problem}", file=sys.stderr)
        return 1
    print(f"PASSWORD_HASH = {hashPassword(password)}")
    return 0


def addArguments(p):
    p.add_argument("--stdin", action="store_true",
                   help="read the password from the first line of standard input")
    p.set_defaults(run=run)
