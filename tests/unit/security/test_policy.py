"""
Tests for L{mice.security.policy}'s warnings about shipped default secrets:
loud (an error), and said once per file and key however many links,
modules or connections use the key.
"""

import os

from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from mice.config import loadConfigText
from mice.security.policy import LinkSecurity, warnWellKnownSecret
from mice.security.psk import weakPassphrase
from mice.tap.runtime import configWarnings


def errors(events):
    return [formatEvent(e) for e in events if e["log_level"] == LogLevel.error]


class WellKnownSecretTests(SynchronousTestCase):
    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)

    def write(self, name, text):
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_oncePerFileAndKey(self):
        where = os.path.join(self.directory, "dataforwarder.conf")
        with capturedLogs() as events:
            self.assertTrue(warnWellKnownSecret(where, "ENCKEY", "anyone can read it"))
            self.assertFalse(warnWellKnownSecret(where, "ENCKEY", "anyone can read it"))
            for _ in range(3):  # three links, or modules, with the same key
                LinkSecurity.fromSettings(True, "changeme", where=where)
            LinkSecurity.fromSettings(True, "changeme", where=where, keyName="AgentKey")
        self.assertEqual(errors(events), [
            f"{where}: ENCKEY is a well-known default secret (as shipped): anyone can read"
            " it; use a key from `mice keygen`",
            f"{where}: AgentKey is a well-known default secret (as shipped): anyone can read"
            " and forge this link; use a key from `mice keygen`"])
        self.assertFalse([text for text in map(formatEvent, events) if "changeme" in text])

    def test_configWarningThenLinkSaysItOnce(self):
        """
        A daemon logs its configs' warnings at start-up, then builds the
        links from them: the config's line (with its line number) is the
        only one.
        """
        path = self.write("mice_mod_dec_logformat_twofish.conf",
                          '[DECODER]\nENCRYPT = yes\nENCKEY = "changeme"\n')
        with capturedLogs() as events:
            others = configWarnings(path, path)
            LinkSecurity.fromSettings(True, "changeme", where=path)
            configWarnings(path)
        self.assertEqual(errors(events), [
            f"{path}:3: warning: ENCKEY is a well-known default secret (as shipped): anyone can"
            " read and forge this link; use a key from `mice keygen`"])
        self.assertEqual(others, [], "said, not returned to be logged again")

    def test_seedSecretsAllKnown(self):
        """
        The setup guide's secrets: C{changeme} (ENCKEY, the ReactionDaemon),
        C{changeme1} and C{changeme2} (the agent's keys, the database's
        password).
        """
        for secret in ("changeme", "changeme1", "changeme2", "ChangeMe ", ""):
            self.assertTrue(weakPassphrase(secret), secret)
        self.assertFalse(weakPassphrase("changeme3"))
        agent = loadConfigText("[HOST_INFO]\nManagement = 127.0.0.1:4455\nAgent ="
                               " 127.0.0.1:2266\nEncryption = yes\nMngmntKey = changeme1\n"
                               "AgentKey = changeme2\n",
                               os.path.join(self.directory, "mice_mod_pop_aa_regex.conf"),
                               kind="aa_regex")
        self.assertEqual([(w.line, w.secret) for w in agent.warnings if w.secret],
                         [(5, "MngmntKey"), (6, "AgentKey")])

    def test_databasePassword(self):
        """
        The guide's database password is warned about where it is used: a
        MySQL store, not one whose URL names SQLite.
        """
        text = ("[MYSQL_SERVER]\nHOSTNAME = 127.0.0.1\nUSER = micedb\nPASSWORD= changeme2\n"
                "DBNAME = mice_rawlog_tab\n")
        name = os.path.join(self.directory, "mice_mod_pop_mysql.conf")
        mysql = loadConfigText(text, name, kind="pop_mysql")
        [warning] = [w for w in mysql.warnings if w.secret]
        self.assertEqual((warning.line, warning.secret), (4, "PASSWORD"))
        self.assertIn("setup guide's database password", warning.message)
        sqlite = loadConfigText(text + f"URL = sqlite:///{self.directory}/rawlog.db\n", name,
                                kind="pop_mysql")
        self.assertEqual([w for w in sqlite.warnings if w.secret], [])
