# -*- test-case-name: tests.integration.test_cli -*-
"""
The C{mice} command: check configs, create schemas, ship files, make keys and
console password hashes, reverse pseudonyms and test analysis rules on a log file.  One module per
sub-command, each with C{addParser(commands)} and C{run(args)}.
"""

import argparse

from mice import __version__
from mice.cli import (
    analyze,
    certs,
    checkconfig,
    depseudonymize,
    initdb,
    keygen,
    passwd,
    react,
    send,
    status,
    verify,
)
from mice.cli.base import readerGone, startLogging

#: The sub-commands, in the order C{mice --help} lists them.
COMMANDS = (checkconfig, initdb, send, react, status, verify, keygen, certs, passwd,
            depseudonymize, analyze)

#: Sub-commands that print their own results and log nothing by default.
_QUIET = ("check-config", "keygen", "depseudonymize", "certs", "analyze", "status", "passwd")


def makeParser():
    parser = argparse.ArgumentParser(prog="mice", description="M-ICE command line tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"mice {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.addParser(commands)
    return parser


def main(argv=None):
    args = makeParser().parse_args(argv)
    if args.command not in _QUIET:
        startLogging(args.verbose)
    try:
        return args.run(args)
    except BrokenPipeError:
        return readerGone()
