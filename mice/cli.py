# -*- test-case-name: tests.test_cli -*-
"""
The C{mice} command: check configs, create schemas, ship files, make keys and
reverse pseudonyms.
"""

import argparse
import os
import socket
import sys

from twisted.internet.defer import ensureDeferred
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)


def _startLogging(verbose):
    level = LogLevel.info if verbose else LogLevel.warn
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(defaultLogLevel=level)])],
        redirectStandardIO=False)


def checkConfig(args):
    from mice.config import ConfigError, describe, loadConfig

    failed = False
    for path in args.files:
        try:
            loaded = loadConfig(path, strict=args.strict)
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            failed = True
            continue
        except OSError as e:
            print(f"{path}: {e.strerror}", file=sys.stderr)
            failed = True
            continue
        for warning in loaded.warnings:
            print(str(warning), file=sys.stderr)
        print(f"{path}: {loaded.kind} config, OK")
        for line in describe(loaded):
            print(f"    {line}")
    return 1 if failed else 0


async def _initdb(reactor, url, tables):
    from mice import schema
    from mice.db import connectionPool

    pool, dialect = connectionPool(url, reactor)
    pool.start()
    try:
        await pool.runInteraction(schema.createSchema, dialect, tables)
    finally:
        pool.close()


def initdb(args):
    from twisted.internet import reactor
    from twisted.internet.task import react

    from mice import schema
    from mice.config import parseDatabaseUrl

    try:
        url = parseDatabaseUrl(args.url)
    except ValueError as e:
        print(f"mice initdb: {e}", file=sys.stderr)
        return 2
    tables = {"rawlog": schema.RAWLOG_TABLES, "alert": schema.ALERT_TABLES,
              "all": schema.RAWLOG_TABLES + schema.ALERT_TABLES}[args.tables]
    status = []

    async def main(reactor):
        try:
            await _initdb(reactor, url, tables)
        except Exception as e:
            print(f"mice initdb: {args.url.split('@')[-1]}: {e}", file=sys.stderr)
            status.append(1)
        else:
            print(f"created {', '.join(tables)} in {url.redacted()}")

    try:
        react(lambda r: ensureDeferred(main(r)))
    except SystemExit:
        pass
    del reactor
    return status[0] if status else 0


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
    from mice.securelink import LinkSecurity

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


def send(args):
    from twisted.internet.task import react

    from mice.services.sender import ReliableSender
    from mice.shipping import shipFile

    status = []

    async def main(reactor):
        try:
            security = linkSecurity(args)
            endpoint = security.wrapClientEndpoint(
                _endpoint(reactor, args),
                args.tls_name or (args.to or "").rpartition(":")[0].strip("[]") or "localhost")
        except (OSError, ValueError) as e:
            print(f"mice send: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
            status.append(2)
            return
        sender = ReliableSender(endpoint, source=args.source, kind=args.kind, clock=reactor,
                                window=args.window, description=args.to or args.endpoint,
                                securityFactory=security.securityFactory())
        sender.startService()
        timeout = None
        if args.timeout:
            def giveUp():
                print(f"mice send: gave up after {args.timeout}s; {sender.pendingRecords}"
                      " records not acknowledged", file=sys.stderr)
                status.append(1)
                shipping.cancel()
            timeout = reactor.callLater(args.timeout, giveUp)
        shipping = ensureDeferred(shipFile(sender, args.file, kind=args.kind,
                                           stream=args.stream))

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
                  f" acknowledged by {sender.description}"
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


def keygen(args):
    from mice.pseudonym import newKey

    print(newKey().hex())
    return 0


def certs(args):
    """
    Make (or reuse) a CA in the directory, and a certificate per node.
    """
    from mice.certs import loadOrMakeCA, writeNode

    try:
        caKey, caCertificate, made = loadOrMakeCA(args.dir, args.ca_name)
        print(f"{'made' if made else 'using'} CA {os.path.join(args.dir, 'ca.crt')}")
        for name in args.nodes:
            certificate, key = writeNode(args.dir, caKey, caCertificate, name, days=args.days)
            print(f"{name}: {certificate} {key}")
    except (OSError, ValueError) as e:
        print(f"mice certs: {e}", file=sys.stderr)
        return 1
    return 0


def depseudonymize(args):
    """
    Replace the C{psd:} pseudonyms of the files (or standard input) by the
    values they stand for, with the key of C{mice_mod_psd_keyed}.
    """
    from mice.pseudonym import depseudonymizeText, readKey

    try:
        key = readKey(args.key)
    except (OSError, ValueError) as e:
        print(f"mice depseudonymize: {args.key}: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    invalid = 0
    for path in args.files or ["-"]:
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8",
                                                         errors="surrogateescape")
        except OSError as e:
            print(f"mice depseudonymize: {path}: {e.strerror}", file=sys.stderr)
            return 2
        with stream:
            for number, line in enumerate(stream, 1):
                text, bad = depseudonymizeText(line, key)
                sys.stdout.write(text)
                for token in bad:
                    invalid += 1
                    print(f"{path}:{number}: {token} is not a pseudonym of this key",
                          file=sys.stderr)
    return 1 if invalid else 0


def makeParser():
    parser = argparse.ArgumentParser(prog="mice", description="M-ICE command line tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("check-config", help="validate M-ICE config files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--strict", action="store_true",
                   help="a referenced file or directory that does not exist is an error")
    p.set_defaults(run=checkConfig)

    p = commands.add_parser("initdb", help="create the raw-log and alert schemas")
    p.add_argument("url", metavar="URL",
                   help="sqlite:///path.db or mysql://user:pass@host:port/db")
    p.add_argument("--tables", choices=("rawlog", "alert", "all"), default="all")
    p.set_defaults(run=initdb)

    p = commands.add_parser("send", help="ship a file to a BufferDaemon")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="HOST:PORT")
    target.add_argument("--endpoint", metavar="ENDPOINT",
                        help="a Twisted client endpoint string, e.g. unix:path=/run/mice.sock")
    p.add_argument("--kind", choices=("log", "idmef"), default="log")
    p.add_argument("--source", default=socket.gethostname().split(".")[0] or "localhost",
                   help="this client's name in the stores (default: the host name)")
    p.add_argument("--stream", help="the stream name (default: the file's absolute path)")
    p.add_argument("--window", type=int, default=8, help="batches in flight")
    p.add_argument("--timeout", type=float, default=0,
                   help="give up after this many seconds (default: keep trying)")
    link = p.add_argument_group("link security (default: plain text)")
    link.add_argument("--link-config", metavar="CONF",
                      help="take ENCRYPT, ENCKEY, CRYPTMOD, TLSCERT... from this config"
                           " (a dataforwarder.conf or a decoding module's conf)")
    link.add_argument("--enckey-file", metavar="FILE",
                      help="pre-shared key (or passphrase) in this file")
    link.add_argument("--cryptmod", default="aes-256-gcm",
                      choices=("aes-256-gcm", "chacha20-poly1305", "twofish"))
    link.add_argument("--tls-cert", metavar="PEM")
    link.add_argument("--tls-key", metavar="PEM")
    link.add_argument("--tls-ca", metavar="PEM")
    link.add_argument("--tls-name", metavar="NAME",
                      help="the name the server's certificate must have (default: its address)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=send)

    p = commands.add_parser("keygen", help="print a new random key (hex), for KEYFILE")
    p.set_defaults(run=keygen)

    p = commands.add_parser("certs", help="make a small CA and node certificates for TLS")
    p.add_argument("--dir", "-d", required=True, help="where the CA and certificates go")
    p.add_argument("--ca-name", default="M-ICE CA", help="the CA's common name")
    p.add_argument("--days", type=int, default=825, help="validity of node certificates")
    p.add_argument("nodes", nargs="*", metavar="NAME",
                   help="DNS name or IP address of each node, as its peers check it")
    p.set_defaults(run=certs)

    p = commands.add_parser("depseudonymize",
                            help="turn psd: pseudonyms back into the values (key holders)")
    p.add_argument("--key", "-k", required=True, metavar="KEYFILE",
                   help="the key file of mice_mod_psd_keyed")
    p.add_argument("files", nargs="*", metavar="FILE", help="files to read (default: stdin)")
    p.set_defaults(run=depseudonymize)
    return parser


def main(argv=None):
    args = makeParser().parse_args(argv)
    if args.command not in ("check-config", "keygen", "depseudonymize", "certs"):
        _startLogging(args.verbose)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
