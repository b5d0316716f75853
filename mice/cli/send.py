# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice send --to HOST:PORT FILE}: ship a file of log lines or IDMEF
messages to a BufferDaemon; exits once every record is acknowledged.

C{mice send --amqp URL --queue NAME FILE} publishes it to a broker's queue
instead, as a forwarder whose C{[SQL_SERVER]} or C{[ANALYSIS_SERVER]} names
that C{AMQP} and C{QUEUE} would (L{mice.services.broker.BrokerSender}: one
message per batch, publisher confirms); it exits 0 only once the broker has
confirmed every batch.
"""

import socket
import sys

from twisted.internet.defer import ensureDeferred

from mice.cli.base import addLinkOptions


def _endpoint(reactor, args):
    from twisted.internet.endpoints import clientFromString

    if args.endpoint:
        return clientFromString(reactor, args.endpoint)
    host, sep, port = args.to.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--to must be HOST:PORT, not {args.to!r}")
    host = host.strip("[]").replace(":", r"\:")
    return clientFromString(reactor, f"tcp:host={host}:port={port}:timeout=10")


def linkSecurity(args):
    """
    The link security C{mice send}'s options ask for.

    @raise ValueError: they are incomplete or a file is bad.
    """
    from mice.security.policy import LinkSecurity

    if args.link_config:
        from mice.config import loadConfig

        settings = loadConfig(args.link_config).settings
        if not hasattr(settings, "encrypt"):
            raise ValueError(f"{args.link_config}: has no ENCRYPT setting")
        return LinkSecurity.fromSettings(settings.encrypt, settings.encKey, settings.cryptMod,
                                         settings.tls, where=args.link_config)
    tls = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(tls):
        if not all(tls):
            raise ValueError("--tls-cert, --tls-key and --tls-ca go together")
        return LinkSecurity.fromSettings(True, tls=tls)
    if args.enckey_file:
        with open(args.enckey_file, encoding="utf-8") as f:
            key = f.read().strip()
        return LinkSecurity.fromSettings(True, key, args.cryptmod, where=args.enckey_file)
    return LinkSecurity()


#: The link security options, which a broker target does not take (its TLS
#: and credentials are the URL's).
_LINK_OPTIONS = ("link_config", "enckey_file", "tls_cert", "tls_key", "tls_ca", "tls_name")


def brokerTarget(args):
    """
    The L{mice.protocols.amqp.BrokerTarget} of C{--amqp}, C{--queue} and
    C{--queue-type}.

    @raise ValueError: they are incomplete or wrong (the message never
        holds the password).
    """
    from mice.protocols.amqp import BrokerTarget, checkQueueName, parseAmqpUrl

    if not args.queue:
        raise ValueError("--amqp needs --queue (the QUEUE a forwarder would publish to)")
    given = [name for name in _LINK_OPTIONS if getattr(args, name)]
    if given:
        raise ValueError(f"--{given[0].replace('_', '-')} is for the direct link; a broker's"
                         " TLS and credentials are in the URL (amqps://USER:PASSWORD@...)")
    return BrokerTarget(parseAmqpUrl(args.amqp), checkQueueName(args.queue),
                        queueType=args.queue_type or "quorum")


def _sender(reactor, args):
    """
    The sender C{args} ask for: a link's L{ReliableSender} or a broker's
    L{BrokerSender}.

    @raise ValueError: the options are wrong.
    @raise OSError: a key or certificate file cannot be read.
    """
    if args.amqp:
        from mice.services.broker import brokerSender

        target = brokerTarget(args)
        return brokerSender(reactor, target, args.source, args.kind, description=str(target),
                            window=args.window or 64)
    if args.queue or args.queue_type:
        raise ValueError("--queue and --queue-type go with --amqp")
    from mice.services.sender import ReliableSender

    security = linkSecurity(args)
    endpoint = security.wrapClientEndpoint(
        _endpoint(reactor, args),
        args.tls_name or (args.to or "").rpartition(":")[0].strip("[]") or "localhost")
    return ReliableSender(endpoint, source=args.source, kind=args.kind, clock=reactor,
                          window=args.window or 8, description=args.to or args.endpoint,
                          securityFactory=security.securityFactory())


def run(args):
    from twisted.internet.task import react

    from mice.forwarder.shipping import shipFile
    from mice.tap.runtime import localHostInfo

    status = []
    acknowledged = "confirmed" if args.amqp else "acknowledged"

    async def main(reactor):
        try:
            sender = _sender(reactor, args)
        except (OSError, ValueError) as e:
            print(f"mice send: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
            status.append(2)
            return
        sender.startService()
        timeout = None
        if args.timeout:
            def giveUp():
                print(f"mice send: gave up after {args.timeout}s; {sender.pendingRecords}"
                      f" records not {acknowledged}", file=sys.stderr)
                status.append(1)
                shipping.cancel()
            timeout = reactor.callLater(args.timeout, giveUp)
        shipping = ensureDeferred(shipFile(sender, args.file, kind=args.kind,
                                           stream=args.stream, host=localHostInfo()))

        def refused(reason):
            if not shipping.called:
                print(f"mice send: {sender.description} refused: {reason}", file=sys.stderr)
                status.append(1)
                shipping.cancel()

        sender.whenRefused().addCallback(refused)
        try:
            result = await shipping
        except Exception as e:
            if not status:
                print(f"mice send: {e}", file=sys.stderr)
                status.append(1)
        else:
            print(f"{args.file}: {result.records} records in {result.batches} batches"
                  f" {acknowledged} by {sender.description}"
                  + (f" ({result.truncated} over-long lines truncated)"
                     if result.truncated else ""))
        finally:
            if timeout is not None and timeout.active():
                timeout.cancel()
            await sender.stopService()

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    return status[0] if status else 0


def addArguments(p):
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="HOST:PORT")
    target.add_argument("--endpoint", metavar="ENDPOINT",
                        help="a Twisted client endpoint string, e.g. unix:path=/run/mice.sock")
    target.add_argument("--amqp", "--broker", metavar="URL", dest="amqp",
                        help="publish to RabbitMQ instead (amqp[s]://USER:PASSWORD@HOST:PORT/VHOST,"
                             " a forwarder's AMQP key), with publisher confirms")
    broker = p.add_argument_group("broker (with --amqp)")
    broker.add_argument("--queue", metavar="NAME",
                        help="the queue (a forwarder's QUEUE, e.g. mice.rawlog)")
    broker.add_argument("--queue-type", choices=("quorum", "classic"),
                        help="declared with this type, as its consumers do (default: quorum)")
    p.add_argument("--kind", choices=("log", "idmef"), default="log")
    p.add_argument("--source", default=socket.gethostname().split(".")[0] or "localhost",
                   help="this client's name in the stores (default: the host name)")
    p.add_argument("--stream", help="the stream name (default: the file's absolute path)")
    p.add_argument("--window", type=int,
                   help="batches in flight (default: 8 on a link, 64 to a broker)")
    p.add_argument("--timeout", type=float, default=0,
                   help="give up after this many seconds (default: keep trying)")
    link = p.add_argument_group("link security (default: plain text)")
    addLinkOptions(link, "server", "take ENCRYPT, ENCKEY, CRYPTMOD, TLSCERT... from this config"
                                   " (a dataforwarder.conf or a decoding module's conf)")
    link.add_argument("--enckey-file", metavar="FILE",
                      help="pre-shared key (or passphrase) in this file")
    p.add_argument("file", metavar="FILE", help="the file to ship, or - for standard input")
    p.set_defaults(run=run)
