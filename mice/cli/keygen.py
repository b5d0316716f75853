# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice keygen}: print a new random key.
"""




def run(args):
    from mice.forwarder.pseudonym import newKey

    print(newKey().hex())
    return 0


def addParser(commands):
    p = commands.add_parser("keygen", help="print a new random key (hex), for KEYFILE or SIGNKEY")
    p.set_defaults(run=run)
