# -*- test-case-name: tests.integration.test_reactiondaemon -*-
"""
C{mice react}: apply (C{--fid} with C{--param}), list (C{--list}) or lift
(C{--undo ID}) countermeasures on a ReactionDaemon, over its authenticated
link, and print the outcome; exit status 0 only when it was done.
"""

import argparse
import socket
import sys

from mice.cli.base import addLinkOptions, runToStatus
from mice.cli.send import _endpoint


def reactionLinkSecurity(args):
    """
    The link security C{mice react}'s options ask for: the ReactionDaemon
    has no plain-text link, so a key (C{--key}, C{--key-file}, or the
    PASSWORD of C{--link-config}) or TLS files are needed.

    @raise ValueError: none is given, or a file is bad.
    """
    from mice.security.policy import LinkSecurity

    tls = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(tls):
        if not all(tls):
            raise ValueError("--tls-cert, --tls-key and --tls-ca go together")
        return LinkSecurity.fromSettings(True, tls=tls)
    cryptMod = args.cryptmod
    if args.key_file:
        with open(args.key_file, encoding="utf-8") as f:
            key = f.read().strip()
    elif args.key:
        key = args.key
    elif args.link_config:
        from mice.config import loadConfig

        settings = loadConfig(args.link_config).settings
        key = getattr(settings, "password", None)
        if not key:
            raise ValueError(f"{args.link_config}: has no PASSWORD (give a reactiondaemon.conf)")
        cryptMod = settings.cryptMod
    else:
        raise ValueError("the ReactionDaemon only talks over an authenticated link: give"
                         " --key-file (or --key, --link-config reactiondaemon.conf, or"
                         " --tls-cert/--tls-key/--tls-ca)")
    return LinkSecurity.fromSettings(True, key, cryptMod, where="mice react", keyName="--key")


def _when(seconds):
    from datetime import datetime

    if seconds is None:
        return "permanent"
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def _countermeasureLine(c):
    params = " ".join(f"{k}={v}" for k, v in sorted(c["params"].items()))
    state = "" if c.get("state") == "active" else f" [{c.get('state')}]"
    return (f"{c['id']}  0x{c['fid']:06X}  {params}  since {_when(c['since'])}"
            f"  until {_when(c['until'])}  by {c['by']}{state}")


def _reactParams(pairs):
    params = {}
    for pair in pairs or ():
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise ValueError(f"--param takes NAME=VALUE, not {pair!r}")
        if name in params:
            raise ValueError(f"--param {name} given twice")
        params[name] = value
    return params


def _duration(text):
    from mice.config.errors import _Invalid
    from mice.config.values import _parseDuration

    try:
        return _parseDuration(text, None, None)
    except _Invalid as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run(args):
    """
    Apply (C{--fid} with C{--param}), list (C{--list}) or lift (C{--undo
    ID}) countermeasures on a ReactionDaemon; print the outcome.

    @return: 0 when it was done, 1 when it was refused or failed, 2 when
        the daemon could not be asked.
    """
    import getpass
    import json
    import uuid

    from twisted.internet.task import deferLater

    from mice.protocols import reaction
    from mice.services.reactionclient import ReactionClient, ReactionUnreachable

    def say(message):
        if args.json:
            print(json.dumps(message, sort_keys=True))
            return
        print(f"{message['status']}: {message['text']}")
        if message.get("exit") is not None or message.get("signal"):
            print(f"  exit status {message.get('exit')} signal {message.get('signal')}")
        for line in message.get("stderr") or ():
            print(f"  stderr: {line}")
        if message.get("countermeasure"):
            print("  " + _countermeasureLine(message["countermeasure"]))
        if message.get("repeat"):
            print("  (the daemon's earlier answer to this id: nothing ran again)")

    async def main(reactor):
        try:
            security = reactionLinkSecurity(args)
            params = _reactParams(args.param)
            endpoint = security.wrapClientEndpoint(
                _endpoint(reactor, args),
                args.tls_name or (args.to or "").rpartition(":")[0].strip("[]") or "localhost")
        except (OSError, ValueError) as e:
            print(f"mice react: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
            return 2
        by = args.by or f"{getpass.getuser()}@{socket.gethostname()}"
        client = ReactionClient(endpoint, reactor, args.source, security.securityFactory(),
                                description=args.to or args.endpoint, timeout=args.timeout)
        client.startService()
        try:
            try:
                await client.whenConnected(failAfterFailures=1)
            except Exception as e:
                # Stopping the client from within its own failure is too early.
                await deferLater(reactor, 0)
                raise ReactionUnreachable(f"cannot connect to {client.description}: {e}") \
                    from None
            requestId = args.id or f"cli-{uuid.uuid4().hex}"
            if args.list:
                active, after, answer = [], 0, None
                while after is not None:
                    answer = await client.request(reaction.react(
                        f"{requestId}-{after}", reaction.LIST, by=by, after=after))
                    if answer["status"] != reaction.DONE:
                        break
                    active.extend(answer.get("active") or ())
                    after = answer.get("next")
                if answer["status"] != reaction.DONE:
                    say(answer)
                    return 1
                if args.json:
                    print(json.dumps({"active": active}, sort_keys=True))
                else:
                    print(f"{len(active)} countermeasure(s)")
                    for c in active:
                        print(_countermeasureLine(c))
                return 0
            if args.undo:
                message = reaction.react(requestId, reaction.UNDO, by=by, target=args.undo)
            else:
                message = reaction.react(requestId, reaction.APPLY, fid=args.fid, params=params,
                                         duration=args.duration, by=by)
            answer = await client.request(message)
            say(answer)
            return 0 if answer["status"] == reaction.DONE else 1
        except ReactionUnreachable as e:
            print(f"mice react: {e}", file=sys.stderr)
            return 2
        finally:
            await client.stopService()

    return runToStatus(main)


def addArguments(p):
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="HOST:PORT")
    target.add_argument("--endpoint", metavar="ENDPOINT",
                        help="a Twisted client endpoint string, e.g. unix:path=/run/rd.sock")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--fid", type=lambda text: int(text, 0), metavar="FID",
                        help="apply the countermeasure of this function id (0x000001)")
    action.add_argument("--list", action="store_true", help="list the active countermeasures")
    action.add_argument("--undo", metavar="ID", help="lift the countermeasure ID")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a parameter of the countermeasure (repeat for each)")
    p.add_argument("--duration", type=_duration, metavar="SECONDS",
                   help="how long it lasts (600, 10m, 1h, 7d; 0 = permanent; default: the"
                        " function's DURATION)")
    p.add_argument("--id", help="the reaction id (default: a new random one); asking again"
                                " with the same id runs nothing twice")
    p.add_argument("--by", help="who asks, kept with the countermeasure (default: user@host)")
    p.add_argument("--source", default="mice-react", help="this client's name in the log")
    p.add_argument("--timeout", type=float, default=30,
                   help="seconds to wait for the answer (default 30)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    link = p.add_argument_group("link security (required: the daemon has no plain-text link)")
    link.add_argument("--key-file", metavar="FILE",
                      help="the daemon's PASSWORD (a key from `mice keygen`) in this file")
    link.add_argument("--key", metavar="KEY",
                      help="the PASSWORD itself (visible to other users in ps: prefer"
                           " --key-file)")
    addLinkOptions(link, "daemon", "take PASSWORD and CRYPTMOD from this reactiondaemon.conf")
    p.set_defaults(run=run)
