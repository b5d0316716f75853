#!/usr/bin/env python
"""
The default content on other people's logs: the sample logs fail2ban's
tests ship (Debian's C{fail2ban} package installs them under
C{fail2ban/tests/files/logs/}), real lines from many systems, each line
labelled by a C{# failJSON:} comment saying whether fail2ban's filter
counts it as a failure.

    python bench/bench_realworld.py                 # the files below
    python bench/bench_realworld.py sshd dovecot -v # and print the lines missed

For each file: its lines, those fail2ban counts as failures, how many of
those raise an alert of the default content (an M-ICE alert other than
the informational ones, or a LogIDS C{alert}/C{warning}), and how many of
the others do.  fail2ban's notion of a failure is not the families of
C{docs/detection.rst}: its sshd filter also counts a client that leaves
before authenticating, its postfix filter spam rejected by policy, so a
line missed here is a question, not a fault.  It is a check on lines
written by real programs (unpadded days, other process names, older and
newer spellings), which the generated corpus (C{gendetection.py}) cannot
be.  Lines fail2ban labels for one of its modes only are left out.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: The sample logs of the families the default content covers.
FILES = ("sshd", "dropbear", "pam-generic", "selinux-ssh", "dovecot", "postfix",
         "sendmail-auth", "courier-auth", "exim", "courier-smtp", "cyrus-imap", "sieve",
         "uwimap-auth", "sendmail-reject", "apache-auth", "apache-modsecurity",
         "apache-overflows")

#: The M-ICE alert IDs that are information, not alerts.
INFORMATIONAL = {"0x1010", "0x8030"}


def samples():
    """The directory of fail2ban's sample logs, or C{None}."""
    for path in sys.path + glob.glob("/usr/lib/python3*/dist-packages"):
        directory = os.path.join(path, "fail2ban", "tests", "files", "logs")
        if os.path.isdir(directory):
            return directory
    return None


def labelled(path):
    """C{(lines, failures)}: the file's labelled lines, and whether each is a failure."""
    lines, failures, label = [], [], None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if raw.startswith("# failJSON:"):
                try:
                    label = json.loads(raw.split(":", 1)[1])
                except ValueError:
                    label = None
                continue
            if raw.startswith("#") or not raw.strip() or label is None:
                continue
            if not (label.get("constraint") or label.get("filter")):
                lines.append(raw)
                failures.append(bool(label.get("match")))
            label = None
    return lines, failures


def alerted(lines):
    """The 1-based numbers of the lines the default content raises an alert on."""
    with tempfile.NamedTemporaryFile("w", suffix=".log", encoding="utf-8",
                                     errors="surrogateescape", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run([sys.executable, "-m", "mice.cli", "analyze", f.name, "--json"],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
    finally:
        os.unlink(f.name)
    found = defaultdict(set)
    for text in out.splitlines():
        item = json.loads(text)
        if "line" not in item:
            continue
        if item.get("action") in ("alert", "warning") or (
                "action" not in item and item.get("alertid") not in INFORMATIONAL | {None}):
            found[item["line"]].add(item.get("alertid"))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", default=FILES)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the failures missed and the other lines alerted on")
    args = parser.parse_args()
    directory = samples()
    if directory is None:
        print("fail2ban's sample logs are not installed (Debian: apt install fail2ban)")
        return 0
    total = [0, 0]
    for name in args.files:
        lines, failures = labelled(os.path.join(directory, name))
        found = alerted(lines)
        hit = [i for i, failure in enumerate(failures, 1) if failure and i in found]
        extra = [i for i, failure in enumerate(failures, 1) if not failure and i in found]
        count = sum(failures)
        total[0] += count
        total[1] += len(hit)
        print(f"file={name} lines={len(lines)} failures={count} detected={len(hit)}"
              f" share={len(hit) / count if count else 1:.2f}"
              f" alerts_on_others={len(extra)}/{len(lines) - count}")
        if args.verbose:
            for i, failure in enumerate(failures, 1):
                if failure and i not in found:
                    print("    missed:", lines[i - 1][:160])
            for i in extra:
                print("    other: ", lines[i - 1][:160])
    print(f"all failures={total[0]} detected={total[1]}"
          f" share={total[1] / total[0] if total[0] else 1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
