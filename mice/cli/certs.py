# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice certs}: a small CA and node certificates for TLS links.
"""

import os
import sys


def run(args):
    """
    Make (or reuse) a CA in the directory, and a certificate per node.
    """
    from mice.security.certs import loadOrMakeCA, writeNode

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


def addArguments(p):
    p.add_argument("--dir", "-d", required=True, help="where the CA and certificates go")
    p.add_argument("--ca-name", default="M-ICE CA", help="the CA's common name")
    p.add_argument("--days", type=int, default=825, help="validity of node certificates")
    p.add_argument("nodes", nargs="*", metavar="NAME",
                   help="DNS name or IP address of each node, as its peers check it")
    p.set_defaults(run=run)
