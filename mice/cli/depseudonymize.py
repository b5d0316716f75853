# -*- test-case-name: tests.integration.test_cli -*-
"""
C{mice depseudonymize}: turn C{psd:} pseudonyms back into the values, for
the holders of the key.
"""

import sys


def run(args):
    """
    Replace the C{psd:} pseudonyms of the files (or standard input) by the
    values they stand for, with the key of C{mice_mod_psd_keyed}.
    """
    from mice.forwarder.pseudonym import depseudonymizeText, readKey

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


def addArguments(p):
    p.add_argument("--key", "-k", required=True, metavar="KEYFILE",
                   help="the key file of mice_mod_psd_keyed")
    p.add_argument("files", nargs="*", metavar="FILE", help="files to read (default: stdin)")
    p.set_defaults(run=run)
