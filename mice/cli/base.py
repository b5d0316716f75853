# -*- test-case-name: tests.integration.test_cli -*-
"""
What every C{mice} sub-command shares: logging to standard error, and a
reader of our output that went away.
"""

import os
import sys


def startLogging(verbose):
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    level = LogLevel.info if verbose else LogLevel.warn
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(defaultLogLevel=level)])],
        redirectStandardIO=False)


def readerGone():
    """
    The reader of our output went away (C{mice analyze ... | head}): there
    is nothing more to say, and the interpreter's last flush of stdout must
    not complain about it either.

    @return: the exit status, 0.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def runToStatus(main, default=0):
    """
    Run C{main(reactor)}, an async function that returns the command's exit
    status, on the global reactor (L{twisted.internet.task.react}), and give
    the status back rather than exit with it.

    @param default: the status when C{main} returns C{None} or fails (the
        failure is logged).
    """
    from twisted.internet.defer import ensureDeferred
    from twisted.internet.task import react

    status = []

    async def recorded(reactor):
        status.append(await main(reactor))

    try:
        react(lambda r: ensureDeferred(recorded(r)))
    except SystemExit:
        pass
    return default if not status or status[0] is None else status[0]


def addLinkOptions(group, peer, configHelp):
    """
    The options of a link's config, cipher and TLS files that C{mice send}
    and C{mice react} share; C{peer} names the other end in the help, and
    C{configHelp} says what C{--link-config} takes from the config.
    """
    group.add_argument("--link-config", metavar="CONF", help=configHelp)
    group.add_argument("--cryptmod", default="aes-256-gcm",
                       choices=("aes-256-gcm", "chacha20-poly1305", "twofish"))
    group.add_argument("--tls-cert", metavar="PEM")
    group.add_argument("--tls-key", metavar="PEM")
    group.add_argument("--tls-ca", metavar="PEM")
    group.add_argument("--tls-name", metavar="NAME",
                       help=f"the name the {peer}'s certificate must have (default: its address)")
