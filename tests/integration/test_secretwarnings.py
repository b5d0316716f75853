"""
A BufferDaemon whose link key is the seed's C{changeme}, run by twistd and
sent to over several connections: the warning about the key is in its log
once, at start-up, naming the file and line, not once per connection or
batch.
"""

import os

from twisted.trial.unittest import TestCase

from tests.integration.processes import mice, startRawLogDaemon
from tests.integration.test_faults import rowCount, waitFor


class OncePerKeyTests(TestCase):
    timeout = 90

    async def test_daemonSaysItOnce(self):
        started = await startRawLogDaemon(self, twistdArgs=["--stay-root"],
                                          decoder='ENCRYPT = yes\nENCKEY = "changeme"')
        directory, port, database = started.directory, started.port, started.database
        daemon, logPath = started.process, started.output
        keyFile = os.path.join(directory, "key")
        with open(keyFile, "w") as f:
            f.write("changeme\n")
        sample = os.path.join(directory, "sample.log")
        for n in range(3):  # three connections, each its own batches
            with open(sample, "w") as f:
                f.write("".join(f"Nov 22 10:00:0{n} web01 sshd[1]: line {i}\n"
                                for i in range(50)))
            status, out, err = mice("send", "--to", f"127.0.0.1:{port}", "--enckey-file",
                                    keyFile, "--stream", f"s{n}", sample)
            self.assertEqual(status, 0, err)
            self.assertEqual(err.count("well-known default secret"), 1, err)
        await waitFor(lambda: rowCount(database)[0] >= 150, 30, "the rows")
        daemon.terminate()
        daemon.wait(timeout=30)
        with open(logPath) as f:
            said = [line for line in f if "well-known default secret" in line]
        self.assertEqual(len(said), 1, said)
        self.assertIn(f"{os.path.join(directory, 'decoder.conf')}:3: warning: ENCKEY is a"
                      " well-known default secret (as shipped)", said[0])
        self.assertNotIn("changeme", said[0])
