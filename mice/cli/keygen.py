# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice keygen}: print a new random key.
"""




def run(args):
    from mice.forwarder.pseudonym import newKey

    print(newKey().hex())
    return 0


def addArguments(p):
    p.set_defaults(run=run)
