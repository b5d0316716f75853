"""
Tests for L{mice.cli.status}'s finding of daemons without a pid file, as
systemd runs them: by their command lines and cgroups, read from a
directory laid out as C{/proc}.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.cli.status import RUNNING, STOPPED, findDaemons, statusOf, systemdUnit
from mice.config import loadConfig
from mice.testing import writeRawLogConfigs


class FakeProc:
    """
    A directory laid out as C{/proc}: C{PID/cmdline}, C{PID/cwd},
    C{PID/cgroup}.
    """

    def __init__(self, path):
        self.path = path
        os.makedirs(path)

    def add(self, pid, argv, cwd="/", cgroup=None):
        directory = os.path.join(self.path, str(pid))
        os.makedirs(directory)
        with open(os.path.join(directory, "cmdline"), "wb") as f:
            f.write(b"\0".join(word.encode() for word in argv) + b"\0")
        os.symlink(cwd, os.path.join(directory, "cwd"))
        if cgroup is not None:
            with open(os.path.join(directory, "cgroup"), "w") as f:
                f.write(cgroup)


class CommandLineTests(SynchronousTestCase):
    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        self.conf = writeRawLogConfigs(self.directory, f"sqlite:///{self.directory}/r.db",
                                       port=4444)
        self.proc = FakeProc(os.path.join(self.directory, "proc"))

    def test_byAbsoluteAndRelativeConfig(self):
        name = os.path.basename(self.conf)
        self.proc.add(100, ["/usr/bin/python3", "/usr/bin/twistd", "--nodaemon", "--pidfile=",
                            "mice-bufferdaemon", "-c", self.conf],
                      cgroup="0::/system.slice/mice-bufferdaemon@rawlogdb.service\n")
        self.proc.add(101, ["python3", "twistd", "-n", "mice-bufferdaemon", "--config", name],
                      cwd=self.directory)
        self.proc.add(102, ["python3", "twistd", "-n", "mice-bufferdaemon", f"-c{name}"],
                      cwd="/")  # another file: relative to its own directory
        self.proc.add(103, ["python3", "twistd", "-n", "mice-dataforwarder", "-c", self.conf])
        self.proc.add(104, ["vi", self.conf])
        self.assertEqual(findDaemons("mice-bufferdaemon", self.conf, self.proc.path), [100, 101])
        self.assertEqual(systemdUnit(100, self.proc.path), "mice-bufferdaemon@rawlogdb.service")
        self.assertIsNone(systemdUnit(101, self.proc.path))

    def test_statusWithoutPidFile(self):
        """
        A daemon with no pid file (no PIDPATH, or systemd's C{--pidfile=}) is
        running when a process runs its config; its unit is named.
        """
        status, lines = statusOf(self.conf, loadConfig, True, self.proc.path)
        self.assertEqual(status, STOPPED)
        self.assertEqual(lines[0], f"{self.conf}: mice-bufferdaemon: not running (no PIDPATH;"
                                   " no process runs this config)")
        self.proc.add(4242, ["/usr/bin/python3", "/usr/bin/twistd", "--nodaemon", "--pidfile=",
                             "mice-bufferdaemon", "-c", self.conf],
                      cgroup="0::/system.slice/mice-bufferdaemon@rawlogdb.service\n")
        status, lines = statusOf(self.conf, loadConfig, True, self.proc.path)
        self.assertEqual(status, RUNNING)
        self.assertEqual(lines[:2], [
            f"{self.conf}: mice-bufferdaemon: running (pid 4242, found by its command line;"
            " systemd unit mice-bufferdaemon@rawlogdb.service)",
            "    listens on tcp:4444:interface=127.0.0.1"])
        self.assertEqual(lines[2:], ["    metrics off"])
