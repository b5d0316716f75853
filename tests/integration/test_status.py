"""
C{mice status} against a real BufferDaemon run by twistd: running with its
pid file in PIDPATH, what it listens on, then stopped (exit 3); a stale pid
file; a directory of configs where the modules' own are skipped.
"""

import os
import signal
import subprocess

from twisted.trial.unittest import TestCase

from mice.cli.status import STOPPED, processState
from mice.testing import writeRawLogConfigs
from tests.integration.processes import TWISTD, mice
from tests.integration.test_faults import accepting, freePort, waitFor


class StatusTests(TestCase):
    timeout = 60

    async def test_runningThenStopped(self):
        directory = os.path.abspath(self.mktemp())
        port = freePort()
        conf = writeRawLogConfigs(directory, f"sqlite:///{directory}/rawlog.db", port=port)
        with open(conf, "a") as f:
            f.write("\n[MISC]\nPIDPATH = run\n")
        pidFile = os.path.join(directory, "run", "mice-bufferdaemon.pid")
        with open(os.path.join(directory, "daemon.out"), "wb") as out:
            # No --pidfile: PIDPATH decides, as in production.
            daemon = subprocess.Popen(TWISTD + ["-n", "mice-bufferdaemon", "-c", conf],
                                      stdout=out, stderr=out, cwd=directory)
        self.addCleanup(lambda: (daemon.poll() is None and daemon.kill(), daemon.wait()))
        await waitFor(lambda: accepting(port) and os.path.exists(pidFile), 30,
                      "the BufferDaemon to listen")

        status, out, err = mice("status", conf)
        self.assertEqual(status, 0, out + err)
        self.assertIn(f"{conf}: mice-bufferdaemon: running (pid {daemon.pid})", out)
        self.assertIn(f"listens on tcp:{port}:interface=127.0.0.1", out)
        self.assertIn("metrics off", out)

        # The directory form skips the module configs beside it (pop.conf...).
        status, out, err = mice("status", "--directory", directory)
        self.assertEqual((status, out.count("mice-bufferdaemon: ")), (0, 1), out + err)

        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the BufferDaemon to stop")
        status, out, err = mice("status", conf)
        self.assertEqual(status, 3, out + err)
        self.assertIn("not running (no pid file", out)

    async def test_withoutPidFile(self):
        """
        A daemon run as systemd's units run it, with C{--pidfile=} (no pid
        file), from another directory and with a relative config path, is
        found by its command line.
        """
        directory = os.path.abspath(self.mktemp())
        port = freePort()
        conf = writeRawLogConfigs(directory, f"sqlite:///{directory}/rawlog.db", port=port)
        with open(os.path.join(directory, "daemon.out"), "wb") as out:
            daemon = subprocess.Popen(
                TWISTD + ["--nodaemon", "--pidfile=", "mice-bufferdaemon", "-c",
                          os.path.basename(conf)], stdout=out, stderr=out, cwd=directory)
        self.addCleanup(lambda: (daemon.poll() is None and daemon.kill(), daemon.wait()))
        await waitFor(lambda: accepting(port), 30, "the BufferDaemon to listen")
        status, out, err = mice("status", conf)
        self.assertEqual(status, 0, out + err)
        self.assertIn(f"{conf}: mice-bufferdaemon: running (pid {daemon.pid}, found by its"
                      " command line", out)
        self.assertIn(f"listens on tcp:{port}:interface=127.0.0.1", out)
        self.assertIn(f"    listening now on 127.0.0.1:{port}\n", out)
        daemon.send_signal(signal.SIGTERM)
        await waitFor(lambda: daemon.poll() is not None, 30, "the BufferDaemon to stop")
        status, out, err = mice("status", conf)
        self.assertEqual(status, 3, out + err)
        self.assertIn("not running (no PIDPATH; no process runs this config)", out)

    def test_stalePidFile(self):
        """
        A pid file left by a daemon killed -9 names a process that is gone,
        or one that is another program now.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        pidFile = os.path.join(directory, "mice-bufferdaemon.pid")
        gone = subprocess.Popen(["true"])
        gone.wait()
        with open(pidFile, "w") as f:
            f.write(f"{gone.pid}\n")
        status, text = processState(pidFile, "mice-bufferdaemon")
        self.assertEqual(status, STOPPED)
        self.assertIn("stale pid file", text)
        with open(pidFile, "w") as f:
            f.write(f"{os.getpid()}\n")
        status, text = processState(pidFile, "mice-bufferdaemon")
        self.assertEqual(status, STOPPED, "this test process is no BufferDaemon")
        self.assertIn(f"stale pid file {pidFile}: process {os.getpid()} is", text)

    def test_badConfigAndNoDaemons(self):
        directory = self.mktemp()
        os.makedirs(directory)
        bad = os.path.join(directory, "bufferdaemon.conf")
        with open(bad, "w") as f:
            f.write("[ADDRESS]\nPORT = many\n")
        status, out, err = mice("status", bad)
        self.assertEqual(status, 4, out + err)
        self.assertIn(f"{bad}:2:", out)
        empty = os.path.join(directory, "empty")
        os.makedirs(empty)
        status, out, err = mice("status", "--directory", empty)
        self.assertEqual(status, 4)
        self.assertIn("no daemon config in", err)
