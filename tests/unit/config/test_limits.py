"""
Tests for a BufferDaemon config's C{[LIMITS]} (the connection guard's
settings) and for the lines kept for errors about the modules it names.
"""


from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, ListenLimits, describe, loadConfig
from mice.registry import pipelineModules
from mice.testing import MINIMAL_BUFFERDAEMON as MINIMAL
from mice.testing import temporaryFile


class ConfigCase(SynchronousTestCase):
    def write(self, text):
        return temporaryFile(self, text, "bd.conf")

    def load(self, text):
        return loadConfig(self.write(text))


class LimitsTests(ConfigCase):
    def test_defaults(self):
        loaded = self.load(MINIMAL)
        self.assertEqual(loaded.settings.limits, ListenLimits())
        self.assertEqual(loaded.settings.limits, ListenLimits(
            handshakeTimeout=10.0, idleTimeout=300.0, maxConnections=1024, maxPerPeer=64,
            maxPending=256, fdReserve=64, warnInterval=60.0))
        shown = dict(line.split(" = ", 1) for line in describe(loaded)
                     if line.startswith("LIMITS."))
        self.assertEqual(shown["LIMITS.HANDSHAKE_TIMEOUT"], "10  (default)")
        self.assertEqual(shown["LIMITS.FD_RESERVE"], "64  (default)")

    def test_given(self):
        settings = self.load(MINIMAL + "[LIMITS]\nHANDSHAKE_TIMEOUT = 5\nIDLE_TIMEOUT = 120\n"
                             "MAXCONN = 100\nMAXCONN_PER_PEER = 4\nMAXPENDING = 20\n"
                             "FD_RESERVE = 0\nWARN_INTERVAL = 10  # seconds\n").settings
        self.assertEqual(settings.limits, ListenLimits(5.0, 120.0, 100, 4, 20, 0, 10.0))
        self.assertEqual(settings.limits.keepalive, 40)

    def test_keepalive(self):
        self.assertEqual(ListenLimits(idleTimeout=300).keepalive, 100)
        self.assertEqual(ListenLimits(idleTimeout=3).keepalive, 1)
        self.assertEqual(ListenLimits(idleTimeout=10).keepalive, 3)

    def test_badValues(self):
        for key, value, expected in (
                ("HANDSHAKE_TIMEOUT", "0", "expected a positive number of seconds"),
                ("IDLE_TIMEOUT", "soon", "expected a number of seconds"),
                ("MAXCONN", "0", "at least 1"),
                ("MAXCONN_PER_PEER", "-1", "at least 1"),
                ("FD_RESERVE", "many", "expected an integer")):
            path = self.write(MINIMAL + f"[LIMITS]\n{key} = {value}\n")
            e = self.assertRaises(ConfigError, loadConfig, path)
            self.assertTrue(str(e).startswith(f"{path}:12: {key}:"), str(e))
            self.assertIn(expected, str(e))

    def test_idleTooShort(self):
        path = self.write(MINIMAL + "[LIMITS]\nIDLE_TIMEOUT = 2\n")
        e = self.assertRaises(ConfigError, loadConfig, path)
        self.assertEqual(str(e), f"{path}:12: IDLE_TIMEOUT = 2 s is too short: clients are"
                                 " asked for a keepalive every third of it, at least every"
                                 " second (give 3 or more; the default is 300)")

    def test_lowMaxconnAlone(self):
        """
        Lowering MAXCONN alone is no reason for a warning about the other
        keys' defaults.
        """
        self.assertEqual(self.load(MINIMAL + "[LIMITS]\nMAXCONN = 10\n").warnings, ())

    def test_perPeerAboveTotalWarned(self):
        loaded = self.load(MINIMAL + "[LIMITS]\nMAXCONN = 10\nMAXCONN_PER_PEER = 20\n")
        [warning] = loaded.warnings
        self.assertEqual((warning.line, warning.message),
                         (13, "MAXCONN_PER_PEER = 20 is more than MAXCONN = 10, which caps it"))

    def test_unknownKey(self):
        path = self.write(MINIMAL + "[LIMITS]\nMAXCONNS = 10\n")
        e = self.assertRaises(ConfigError, loadConfig, path)
        self.assertIn(f"{path}:12: unknown key MAXCONNS in [LIMITS] (did you mean MAXCONN?)",
                      str(e))


class ModuleLineTests(ConfigCase):
    """
    An unknown module name is reported with the file and line that names it
    (it was reported without them).
    """

    def test_linesKept(self):
        settings = self.load(MINIMAL).settings
        [pipeline] = settings.pipelines
        self.assertEqual((pipeline.decoderLine, pipeline.postprocessorLine), (6, 8))

    def test_unknownDecoder(self):
        path = self.write(MINIMAL.replace("DEC_MOD = mice_mod_dec_logformat",
                                          "DEC_MOD = mice_mod_dec_nothing"))
        settings = loadConfig(path).settings
        e = self.assertRaises(ConfigError, pipelineModules, settings)
        self.assertTrue(str(e).startswith(
            f"{path}:6: unknown decoder module 'mice_mod_dec_nothing'; available:"), str(e))

    def test_everyUnknownModuleAtOnce(self):
        path = self.write(MINIMAL.replace("DEC_MOD = mice_mod_dec_logformat",
                                          "DEC_MOD = mice_mod_dec_logformat\nDEC_MOD = nope1")
                          .replace("POST_MOD = mice_mod_pop_mysql",
                                   "POST_MOD = mice_mod_pop_mysql\nPOST_MOD = nope2"))
        settings = loadConfig(path).settings
        e = self.assertRaises(ConfigError, pipelineModules, settings)
        self.assertEqual([(x.line, x.message.split(";")[0]) for x in e.errors],
                         [(7, "unknown decoder module 'nope1'"),
                          (10, "unknown postprocessor module 'nope2'")])

    def plannedModule(self):
        """
        A module of the original that a later version will provide: none is
        left today, so one is made up for the test.
        """
        from mice import registry

        self.patch(registry, "PLANNED", {"mice_mod_out_act_generic_v2": "a later version"})

    def test_plannedModule(self):
        self.plannedModule()
        path = self.write(MINIMAL.replace("POST_MOD = mice_mod_pop_mysql",
                                          "POST_MOD = mice_mod_out_act_generic_v2"))
        e = self.assertRaises(ConfigError, pipelineModules, loadConfig(path).settings)
        self.assertTrue(str(e).startswith(f"{path}:8: postprocessor module"
                                          " 'mice_mod_out_act_generic_v2' belongs to"), str(e))

    def test_plannedModuleAsWarning(self):
        """
        C{check-config} takes a module of a later version as a warning (a
        daemon that is to run it cannot).
        """
        self.plannedModule()
        path = self.write(MINIMAL.replace("POST_MOD = mice_mod_pop_mysql",
                                          "POST_MOD = mice_mod_out_act_generic_v2"))
        planned = []
        [(decoder, post)] = pipelineModules(loadConfig(path).settings, planned)
        self.assertIsNone(post)
        [warning] = planned
        self.assertTrue(str(warning).startswith(f"{path}:8: warning: postprocessor module"
                                                " 'mice_mod_out_act_generic_v2' belongs to"))

    def test_knownModules(self):
        settings = self.load(MINIMAL).settings
        [(decoder, post)] = pipelineModules(settings)
        self.assertEqual((decoder.role, post.role), ("decoder", "postprocessor"))
