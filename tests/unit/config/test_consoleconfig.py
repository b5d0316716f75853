"""
Tests for the console's C{[CONSOLE]} section of act_generic's config and
the C{[METRICS]} section of every daemon's.
"""

import os

from mice.config import CONSOLE_LISTEN, describe, loadConfig
from tests.unit.config.test_config import ETC, _ConfigTestCase

HASH = "$argon2id$v=19$m=65536,t=3,p=4$QfUYfc4tjW0Pg5PQQ6F6Cg$3PIj1qeYEaTFfzbo3WqadupfaSH277MthLWZBWTEGoo"
ACT = """[REACTION_ID]
RID = 1
[RID_PIPENAME]
PIPE = rid_1_write_to_syslog
[ANALYZER_ID]
ANAID = "MICE-RegEx"
[ANALYZER_MATCHFILE]
MF = match_file_aa_regex.txt
"""


class ConsoleConfigTests(_ConfigTestCase):
    def test_seedConfigHasNoConsole(self):
        loaded = loadConfig(os.path.join(ETC, "mice_mod_pop_act_generic.conf"))
        self.assertIsNone(loaded.settings.console)

    def test_defaults(self):
        loaded = self.load(ACT + f"[CONSOLE]\nPASSWORD_HASH = {HASH}  # from mice passwd\n")
        console = loaded.settings.console
        self.assertEqual((console.listen, console.user, console.passwordHash, console.tls),
                         (CONSOLE_LISTEN, "admin", HASH, None))
        self.assertEqual((console.staleAfter, console.loginAttempts), (3.0, 5))
        shown = describe(loaded)
        self.assertIn("CONSOLE.PASSWORD_HASH = ********", shown)
        self.assertNotIn(HASH, "\n".join(shown))
        self.assertNotIn(HASH, repr(console))

    def test_everything(self):
        path = self.write(ACT + f"[CONSOLE]\nLISTEN = tcp:8443:interface=0.0.0.0\nUSER = soc\n"
                          f"PASSWORD_HASH = {HASH}\nICONS = .\nTLSCERT = c.crt\nTLSKEY = c.key\n"
                          "STALE = 2.5\nSESSION = 600\nLOGINS = 3\nLOGIN_WINDOW = 60\n")
        console = loadConfig(path).settings.console
        directory = os.path.dirname(path)
        self.assertEqual(console.listen, "tcp:8443:interface=0.0.0.0")
        self.assertEqual(console.user, "soc")
        self.assertEqual(console.icons, directory)
        self.assertEqual(console.tls, (os.path.join(directory, "c.crt"),
                                       os.path.join(directory, "c.key")))
        self.assertEqual((console.staleAfter, console.sessionTimeout, console.loginAttempts,
                          console.loginWindow), (2.5, 600, 3, 60))

    def test_needsHash(self):
        self.assertConfigError(ACT + "[CONSOLE]\nUSER = admin\n", 9, "needs PASSWORD_HASH",
                               "mice passwd")

    def test_clearPasswordRefused(self):
        error = self.assertConfigError(ACT + "[CONSOLE]\nPASSWORD_HASH = hunter2hunter2\n", 10,
                                       "must be an argon2 hash", "never written in clear")
        self.assertNotIn("hunter2", str(error))

    def test_tlsPairs(self):
        self.assertConfigError(ACT + f"[CONSOLE]\nPASSWORD_HASH = {HASH}\nTLSCERT = c.crt\n", 11,
                               "TLSCERT needs TLSKEY")

    def test_badListen(self):
        self.assertConfigError(ACT + f"[CONSOLE]\nPASSWORD_HASH = {HASH}\nLISTEN = 8080\n", 11,
                               "endpoint")


class MetricsConfigTests(_ConfigTestCase):
    def test_daemons(self):
        for name in ("bufferdaemon-rawlogdb.conf", "dataforwarder.conf", "reactiondaemon.conf"):
            with open(os.path.join(ETC, name)) as f:
                text = f.read()
            self.assertIsNone(self.load(text).settings.metricsListen, name)
            loaded = self.load(text + "\n[METRICS]\nLISTEN = tcp:9108:interface=127.0.0.1\n")
            self.assertEqual(loaded.settings.metricsListen, "tcp:9108:interface=127.0.0.1")

    def test_notInModuleConfigs(self):
        self.assertConfigError("[MYSQL_SERVER]\nURL = sqlite:///x.db\n[METRICS]\nLISTEN = tcp:1\n",
                               3, "unknown section [METRICS]")
