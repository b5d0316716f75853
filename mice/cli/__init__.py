# -*- test-case-name: tests.integration.test_cli -*-
"""
The C{mice} command: check configs, create schemas, ship files, make keys and
console password hashes, reverse pseudonyms and test analysis rules on a log file.  One module per
sub-command, each with C{addArguments(parser)} and C{run(args)}.

Only the chosen sub-command's module is imported (C{mice analyze} loads the
rule engines, C{mice --version} and C{mice check-config} do not): the others
are listed in C{mice --help} from L{COMMANDS} alone.
"""

import argparse
import importlib
import sys

from mice import __version__

#: The sub-commands, in the order C{mice --help} lists them: the name, its
#: module in this package, and the line C{mice --help} gives it.
COMMANDS = (
    ("check-config", "checkconfig", "validate M-ICE config files"),
    ("initdb", "initdb", "create the raw-log and alert schemas"),
    ("send", "send", "ship a file to a BufferDaemon or a broker's queue"),
    ("react", "react", "apply, list or lift countermeasures on a ReactionDaemon"),
    ("status", "status", "whether each daemon runs, what it listens on, its counters"),
    ("verify", "verify", "check the HMAC chains of the stores (SIGNKEY)"),
    ("keygen", "keygen", "print a new random key (hex), for KEYFILE or SIGNKEY"),
    ("certs", "certs", "make a small CA and node certificates for TLS"),
    ("passwd", "passwd",
     "make the argon2 hash of a console password ([CONSOLE] PASSWORD_HASH)"),
    ("depseudonymize", "depseudonymize",
     "turn psd: pseudonyms back into the values (key holders)"),
    ("analyze", "analyze", "run detection rules on a log file (default: mice-allinone's)"),
)

#: Sub-commands that print their own results and log nothing by default.
_QUIET = ("check-config", "keygen", "depseudonymize", "certs", "analyze", "status", "passwd")


def _chosen(argv):
    """
    The sub-command C{argv} names: its first word that is not an option (the
    options before it, C{-v}, C{--version} and C{-h}, take no value).
    """
    return next((word for word in argv if not word.startswith("-")), None)


def makeParser(argv=None):
    """
    The parser of the C{mice} command.

    @param argv: the words it will parse: only the sub-command they name gets
        its module imported and its arguments.  L{None}: every sub-command's.
    """
    parser = argparse.ArgumentParser(prog="mice", description="M-ICE command line tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"mice {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = None if argv is None else _chosen(argv)
    for name, module, help in COMMANDS:
        command = commands.add_parser(name, help=help)
        if argv is None or name == chosen:
            importlib.import_module(f"mice.cli.{module}").addArguments(command)
    return parser


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    args = makeParser(argv).parse_args(argv)
    from mice.cli.base import readerGone, startLogging

    if args.command not in _QUIET:
        startLogging(args.verbose)
    try:
        return args.run(args)
    except BrokenPipeError:
        return readerGone()
