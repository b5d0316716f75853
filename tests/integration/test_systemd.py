"""
The systemd units of C{etc/systemd/}: each passes C{systemd-analyze
verify} (with C{/usr/bin/twistd} replaced by this install's, as a user's
packaging would), runs a real M-ICE command under C{twistd --nodaemon}, and
carries the hardening C{docs/operations.rst} promises.
"""

import glob
import os
import shutil
import subprocess
import sys

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests import ROOT

UNITS = sorted(glob.glob(os.path.join(ROOT, "etc", "systemd", "*.service")))

HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
             "RestrictAddressFamilies=", "ReadWritePaths=", "User=mice")


def _twistd():
    return shutil.which("twistd") or os.path.join(os.path.dirname(sys.executable), "twistd")


def _firewallToolAbsent(line):
    """
    Whether C{line} is systemd's complaint about a firewall tool of the
    ReactionDaemon's C{ExecStartPre} (ipset, iptables) that this machine
    does not have: the unit is right, the host lacks the package.
    """
    import re

    match = re.search(r"Command (\S+) is not executable", line)
    return bool(match) and os.path.basename(match.group(1)) in (
        "ipset", "iptables", "ip6tables", "nft") and not os.path.exists(match.group(1))


class UnitTests(SynchronousTestCase):
    def test_unitsExist(self):
        self.assertEqual(
            sorted(os.path.basename(u) for u in UNITS),
            ["mice-bufferdaemon@.service", "mice-dataforwarder.service",
             "mice-reactiondaemon.service"])

    def test_hardeningAndCommand(self):
        for unit in UNITS:
            with open(unit) as f:
                text = f.read()
            for key in HARDENING:
                self.assertIn("\n" + key, text, f"{unit}: {key}")
            [execStart] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
            self.assertIn("/usr/bin/twistd --nodaemon --pidfile= ", execStart)
            command = execStart.split()[4]
            self.assertTrue(command.startswith("mice-"), command)

    def test_systemdAnalyzeVerify(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise SkipTest("systemd-analyze is not installed here")
        directory = self.mktemp()
        os.makedirs(directory)
        for unit in UNITS:
            with open(unit) as f:
                text = f.read().replace("/usr/bin/twistd", _twistd())
            name = os.path.basename(unit).replace("@.service", "@example.service")
            path = os.path.join(directory, name)
            with open(path, "w") as f:
                f.write(text)
            result = subprocess.run([analyze, "verify", "--man=no", path], capture_output=True,
                                    text=True, timeout=60,
                                    env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
            problems = [line for line in (result.stdout + result.stderr).splitlines()
                        if (name in line or "error" in line.lower())
                        and not _firewallToolAbsent(line)]
            self.assertEqual(problems, [], name)
