"""
Tests for the config kinds of the active response: the ReactionDaemon's
additions (TLS, USER/GROUP, STATEDIR), C{rct_system} (in
L{tests.unit.reactors.test_system}) and C{countermeasure}
(C{rid_4_countermeasure.conf}).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, describe, loadConfig, loadConfigText
from tests import ROOT

ETC = os.path.join(ROOT, "etc", "mice")

DAEMON = """\
[FUNCTION_ID]
FID = 0x000001
[REACTION_MODULES]
RCT_MOD = mice_mod_rct_dummy
[NETWORK]
IP = 127.0.0.1
PORT = 1977
[SECURITY]
PASSWORD = sesame-sesame
"""

COUNTERMEASURE = """\
[COUNTERMEASURE]
DURATION = 10m
[ALERT_0x7010]
SCOPE = all
[DAEMON_1]
ADDRESS = 10.0.0.1:1977
SERVES = web01
PASSWORD = Pw-rid4-secret
"""


def errors(text, kind, name="/etc/mice/x.conf"):
    try:
        loadConfigText(text, name, kind=kind)
    except ConfigError as e:
        return [(err.line, err.message) for err in getattr(e, "errors", [e])]
    raise AssertionError("no error")


class ReactionDaemonConfigTests(SynchronousTestCase):
    def test_passwordOrTls(self):
        self.assertEqual(errors(DAEMON.replace("PASSWORD = sesame-sesame", ""), "reactiondaemon"),
                         [(8, "[SECURITY] needs PASSWORD (the pre-shared key of the link) or"
                              " TLSCERT, TLSKEY and TLSCA")])
        text = DAEMON.replace("PASSWORD = sesame-sesame", "TLSCERT = a.crt\nTLSKEY = a.key\n"
                                                          "TLSCA = ca.crt")
        settings = loadConfigText(text, "/etc/mice/x.conf", kind="reactiondaemon").settings
        self.assertEqual(settings.tls, ("/etc/mice/a.crt", "/etc/mice/a.key", "/etc/mice/ca.crt"))
        self.assertIsNone(settings.password)
        self.assertIn((9, "TLSCERT needs TLSKEY in [SECURITY]"),
                      errors(text.replace("TLSKEY = a.key", ""), "reactiondaemon"))

    def test_runSettings(self):
        text = DAEMON + "USER = mice\nGROUP = mice\n[MISC]\nSTATEDIR = state\n"
        s = loadConfigText(text, "/etc/mice/x.conf", kind="reactiondaemon").settings
        self.assertEqual((s.user, s.group, s.stateDirectory), ("mice", "mice", "/etc/mice/state"))

    def test_seedFileStillLoads(self):
        loaded = loadConfig(os.path.join(ETC, "reactiondaemon.conf"))
        self.assertEqual([f.module for f in loaded.settings.functions],
                         ["mice_mod_rct_system", "mice_mod_rct_dummy"])
        self.assertTrue(loaded.settings.stateDirectory.endswith(os.path.join("var",
                                                                             "reactiondaemon")))


class CountermeasureConfigTests(SynchronousTestCase):
    def load(self, text=COUNTERMEASURE):
        return loadConfigText(text, "/etc/mice/rid_4_countermeasure.conf", kind="countermeasure")

    def test_defaults(self):
        s = self.load().settings
        self.assertEqual((s.default.fid, s.default.params, s.default.duration, s.default.scope,
                          s.default.escalate), (1, (("ip", "source.address"),), 600, "host", True))
        self.assertEqual((s.factor, s.maxDuration, s.history, s.timeout), (2.0, 604800, 604800,
                                                                           30.0))
        self.assertEqual(s.ruleFor(0x7010).scope, "all")
        self.assertEqual(s.ruleFor(0x7010).duration, 600)
        self.assertIs(s.ruleFor(0x1010), s.default)
        [daemon] = s.daemons
        self.assertEqual((daemon.name, str(daemon.address), daemon.serves),
                         ("daemon1", "10.0.0.1:1977", ("web01",)))

    def test_detected(self):
        self.assertEqual(loadConfigText(COUNTERMEASURE, "/etc/mice/x.conf").kind,
                         "countermeasure")

    def test_secretsMasked(self):
        lines = "\n".join(describe(self.load()))
        self.assertNotIn("Pw-rid4-secret", lines)
        self.assertIn("DAEMON_1.PASSWORD = ********", lines)
        self.assertIn("=> alert[0x7010] = FID 0x000001 ip=source.address, 600s, scope all", lines)

    def test_errors(self):
        self.assertIn((5, "[DAEMON_1] needs ADDRESS = HOST:PORT of the ReactionDaemon"),
                      errors(COUNTERMEASURE.replace("ADDRESS = 10.0.0.1:1977", ""),
                             "countermeasure"))
        self.assertIn((5, "[DAEMON_1] needs PASSWORD (the ReactionDaemon's [SECURITY] PASSWORD)"
                          " or TLSCERT, TLSKEY and TLSCA"),
                      errors(COUNTERMEASURE.replace("PASSWORD = Pw-rid4-secret", ""),
                             "countermeasure"))
        [(line, message)] = errors(COUNTERMEASURE.replace("DURATION = 10m", "PARAM = ip=source.mac"),
                                   "countermeasure")
        self.assertEqual(line, 2)
        self.assertIn("unknown alert field 'source.mac'", message)
        [(line, message)] = errors(COUNTERMEASURE.replace("SCOPE = all", "SCOPE = world"),
                                   "countermeasure")
        self.assertEqual((line, message), (4, "SCOPE: expected one of host, all, none, got"
                                              " 'world'"))
        [(line, message)] = errors(COUNTERMEASURE.replace("[ALERT_0x7010]", "[ALERT_0xZZ]"),
                                   "countermeasure")
        self.assertIn("unknown section [ALERT_0xZZ]", message)
        [(line, message)] = errors(COUNTERMEASURE.replace(
            "DURATION = 10m", "PARAM = ip=source\nPARAM = ip=target"), "countermeasure")
        self.assertEqual((line, message), (3, "PARAM ip given twice in [COUNTERMEASURE]"))

    def test_wellKnownPassword(self):
        loaded = self.load(COUNTERMEASURE.replace("Pw-rid4-secret", "changeme"))
        self.assertIn("PASSWORD is a well-known default secret", loaded.warnings[0].message)

    def test_shipped(self):
        loaded = loadConfig(os.path.join(ETC, "rid_4_countermeasure.conf"))
        self.assertEqual(loaded.kind, "countermeasure")
        s = loaded.settings
        self.assertEqual(s.ruleFor(0x7010).scope, "all")
        self.assertFalse(s.ruleFor(0x6010).escalate)
        self.assertEqual(s.daemons[0].serves, ("*",))
        reactiond = loadConfig(os.path.join(ETC, "reactiondaemon.conf")).settings
        self.assertEqual(s.daemons[0].address.port, reactiond.port)
        self.assertEqual(s.daemons[0].password, reactiond.password)
