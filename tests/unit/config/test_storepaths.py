"""
A SQLite store's directory is never created by M-ICE: a URL whose directory
does not exist is reported with its file and line (issue 12: a test run made
a directory at the top of the file system).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, loadConfig, loadPopMysql
from mice.testing import temporaryFile


class StorePathTests(SynchronousTestCase):
    def write(self, url):
        path = temporaryFile(self, f"[MYSQL_SERVER]\nURL = {url}\nBATCHSIZE = 10\n", "pop.conf")
        return os.path.dirname(path), path

    def test_missingDirectoryWarned(self):
        """
        C{check-config} (not strict) warns with file:line; the daemon loads
        its store's config strictly, where it is an error.
        """
        directory, path = self.write("sqlite:///nowhere/raw.db")
        missing = os.path.join(directory, "nowhere")
        loaded = loadConfig(path)
        [warning] = loaded.warnings
        self.assertEqual(str(warning),
                         f"{path}:2: warning: URL: the directory {missing} of the SQLite"
                         " database does not exist (M-ICE does not create it: make it,"
                         " writable by the daemon's user)")
        e = self.assertRaises(ConfigError, loadPopMysql, path, strict=True)
        self.assertEqual((e.filename, e.line), (path, 2))
        self.assertIn(f"the directory {missing} of the SQLite database does not exist",
                      e.message)
        self.assertFalse(os.path.exists(missing))

    def test_absolutePath(self):
        directory, path = self.write("sqlite:////nonexistent-mice-test/raw.db")
        e = self.assertRaises(ConfigError, loadPopMysql, path, strict=True)
        self.assertIn("the directory /nonexistent-mice-test of the SQLite database", str(e))
        self.assertEqual(loadPopMysql(path).databaseUrl(),
                         "sqlite:////nonexistent-mice-test/raw.db")
        self.assertFalse(os.path.exists("/nonexistent-mice-test"))

    def test_notADirectory(self):
        directory, path = self.write("sqlite:///pop.conf/raw.db")
        e = self.assertRaises(ConfigError, loadPopMysql, path, strict=True)
        self.assertIn(f"the directory {path} of the SQLite database is not a directory",
                      str(e))

    def test_existingDirectory(self):
        directory, path = self.write("sqlite:///raw.db")
        settings = loadPopMysql(path, strict=True)
        self.assertEqual(settings.databaseUrl(), "sqlite:///" + os.path.join(directory,
                                                                            "raw.db"))
        self.assertEqual(loadConfig(path).warnings, ())

    def test_memoryAndMysqlNotChecked(self):
        for url in ("sqlite:///:memory:", "mysql://root@127.0.0.1:3306/test"):
            directory, path = self.write(url)
            self.assertEqual(loadConfig(path, strict=True).warnings, ())
