"""
A SQLite store whose directory does not exist stops the daemon (and
C{mice initdb}) with an error naming the config's file and line; M-ICE never
creates the directory (issue 12: a test run made one at the top of the file
system).
"""

import os

from twisted.internet import reactor
from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, loadBufferDaemon, parseDatabaseUrl
from mice.db.pools import connectionPool
from mice.postproc import alertdb, rawlogdb
from mice.tap.bufferdaemon import buildBufferDaemon
from mice.testing import writeRawLogConfigs
from tests.integration.test_cli import mice


class MissingStoreDirectoryTests(SynchronousTestCase):
    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.missing = os.path.join(self.directory, "no", "such")
        self.url = "sqlite:///" + os.path.join(self.missing, "raw.db")

    def popConfig(self):
        path = os.path.join(self.directory, "pop.conf")
        with open(path, "w") as f:
            f.write(f"[MYSQL_SERVER]\n# the store\nURL = {self.url}\n")
        return path

    def assertNotCreated(self):
        self.assertFalse(os.path.exists(os.path.join(self.directory, "no")))

    def test_rawLogStore(self):
        path = self.popConfig()
        e = self.assertRaises(ConfigError, rawlogdb.build, path, reactor)
        self.assertEqual((e.filename, e.line), (path, 3))
        self.assertIn(f"the directory {self.missing} of the SQLite database does not exist",
                      str(e))
        self.assertNotCreated()

    def test_alertStore(self):
        path = self.popConfig()
        e = self.assertRaises(ConfigError, alertdb.build, path, reactor)
        self.assertEqual((e.filename, e.line), (path, 3))
        self.assertNotCreated()

    def test_bufferDaemon(self):
        """
        The daemon stops before it starts, naming the store's config file
        and line.
        """
        conf = writeRawLogConfigs(self.directory, self.url)
        e = self.assertRaises(ConfigError, buildBufferDaemon, loadBufferDaemon(conf), reactor)
        self.assertTrue(str(e).startswith(f"{os.path.join(self.directory, 'pop.conf')}:2: URL:"
                                          f" the directory {self.missing}"), str(e))
        self.assertNotCreated()

    def test_connectionPool(self):
        e = self.assertRaises(ValueError, connectionPool, parseDatabaseUrl(self.url), reactor)
        self.assertIn(f"the directory {self.missing} of the SQLite database", str(e))
        self.assertNotCreated()

    def test_initdb(self):
        status, out, err = mice("initdb", self.url)
        self.assertEqual(status, 1, out)
        self.assertIn(f"the directory {self.missing} of the SQLite database", err)
        self.assertNotCreated()
