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

    def add(self, pid, argv, cwd="/", cgroup=None, sockets=(), tcp="", tcp6=""):
        directory = os.path.join(self.path, str(pid))
        os.makedirs(os.path.join(directory, "fd"))
        os.makedirs(os.path.join(directory, "net"))
        for fd, inode in enumerate(sockets, 3):
            os.symlink(f"socket:[{inode}]", os.path.join(directory, "fd", str(fd)))
        os.symlink("/dev/null", os.path.join(directory, "fd", "0"))
        header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        for name, rows in (("tcp", tcp), ("tcp6", tcp6)):
            with open(os.path.join(directory, "net", name), "w") as f:
                f.write(header + rows)
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
        # Listening on 127.0.0.1:4444 (inode 555) and [::]:9108 (556); a
        # connection (state 01) and another process's socket (557) are not.
        tcp = ("   0: 0100007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
               "     0        0 555 1 0000000000000000 100 0 0 10 0\n"
               "   1: 0100007F:115C 0100007F:D431 01 00000000:00000000 00:00000000 00000000"
               "     0        0 558 1 0000000000000000 100 0 0 10 0\n"
               "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
               "     0        0 557 1 0000000000000000 100 0 0 10 0\n")
        tcp6 = ("   0: 00000000000000000000000000000000:2394 00000000000000000000000000000000:0000"
                " 0A 00000000:00000000 00:00000000 00000000     0        0 556 1"
                " 0000000000000000 100 0 0 10 0\n")
        self.proc.add(4242, ["/usr/bin/python3", "/usr/bin/twistd", "--nodaemon", "--pidfile=",
                             "mice-bufferdaemon", "-c", self.conf],
                      cgroup="0::/system.slice/mice-bufferdaemon@rawlogdb.service\n",
                      sockets=(555, 556, 558), tcp=tcp, tcp6=tcp6)
        status, lines = statusOf(self.conf, loadConfig, True, self.proc.path)
        self.assertEqual(status, RUNNING)
        self.assertEqual(lines[:2], [
            f"{self.conf}: mice-bufferdaemon: running (pid 4242, found by its command line;"
            " systemd unit mice-bufferdaemon@rawlogdb.service)",
            "    listens on tcp:4444:interface=127.0.0.1"])
        self.assertEqual(lines[2:], ["    listening now on 127.0.0.1:4444, [::]:9108",
                                     "    metrics off"])
