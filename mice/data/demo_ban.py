"""
mice-allinone's harmless countermeasure: instead of a firewall rule, one
line appended to a file.  The ReactionDaemon runs it (argv, never a shell):

    python demo_ban.py BANS_FILE apply|undo IP

It writes C{<UTC time> apply IP} (or C{undo}) to BANS_FILE and exits 0.
"""

import ipaddress
import sys
import time


def main(argv):
    if len(argv) != 4 or argv[2] not in ("apply", "undo"):
        sys.stderr.write("usage: demo_ban.py BANS_FILE apply|undo IP\n")
        return 2
    path, action, ip = argv[1], argv[2], str(ipaddress.ip_address(argv[3]))
    with open(path, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {action} {ip}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
