"""
Tests for L{mice.registry} and the plugins M-ICE ships.
"""

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin, getPlugins
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.interfaces import IModuleFactory
from mice.registry import UnknownModule, availableModules, findModule


class RegistryTests(SynchronousTestCase):
    def test_originalNamesResolve(self):
        for name, role in [("mice_mod_dec_logformat_twofish", "decoder"),
                           ("mice_mod_dec_logformat", "decoder"),
                           ("MICE_MOD_POP_MYSQL.so", "postprocessor"),
                           ("/lib/M-ICE/mice_mod_pop_syslog", "postprocessor")]:
            factory = findModule(name, role)
            self.assertTrue(verifyObject(IModuleFactory, factory))
            self.assertTrue(verifyObject(IPlugin, factory))

    def test_roleMatters(self):
        self.assertRaises(UnknownModule, findModule, "mice_mod_pop_mysql", "decoder")

    def test_unknownListsAvailable(self):
        e = self.assertRaises(UnknownModule, findModule, "mice_mod_pop_oracle", "postprocessor")
        self.assertIn("mice_mod_pop_mysql", str(e))

    def test_plannedSaysSo(self):
        e = self.assertRaises(UnknownModule, findModule, "mice_mod_out_act_generic",
                              "postprocessor")
        self.assertIn("ManagementHost", str(e))

    def test_everyPluginBuildsSomething(self):
        self.assertEqual(set(f.role for f in availableModules().values()),
                         {"decoder", "postprocessor", "filter", "pseudonymizer",
                          "formatter", "reaction"})

    def test_reactionModules(self):
        """
        The ReactionDaemon's modules resolve by their seed names and build
        modules that provide L{ICountermeasureModule}; the dummy needs no
        config.
        """
        from twisted.internet.testing import MemoryReactorClock

        from mice.interfaces import ICountermeasureModule

        factory = findModule("mice_mod_rct_dummy", "reaction")
        module = factory.build(None, MemoryReactorClock())
        self.assertTrue(verifyObject(ICountermeasureModule, module))
        self.assertEqual(findModule("mice_mod_rct_system.so", "reaction").name,
                         "mice_mod_rct_system")


class TwistdPluginTests(SynchronousTestCase):
    def test_everyCommandListed(self):
        """
        twistd lists every mice command (a plugin file that fails to import
        would be skipped silently).
        """
        names = {maker.tapname for maker in getPlugins(IServiceMaker)}
        self.assertTrue({"mice-bufferdaemon", "mice-dataforwarder", "mice-reactiondaemon",
                         "mice-allinone"} <= names, names)
        for maker in getPlugins(IServiceMaker):
            if maker.tapname.startswith("mice-"):
                maker.options()
