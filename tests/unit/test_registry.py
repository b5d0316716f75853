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

    def test_managementHostModules(self):
        """
        The seed's ManagementHost names its modules mice_mod_enc_idmef_twofish
        and mice_mod_out_act_generic (= mice_mod_pop_act_generic): they are
        the IDMEF decoder and the act_generic post-processor.
        """
        self.assertEqual(findModule("mice_mod_enc_idmef_twofish", "decoder").name,
                         "mice_mod_dec_idmef")
        for name in ("mice_mod_out_act_generic", "mice_mod_pop_act_generic"):
            factory = findModule(name, "postprocessor")
            self.assertEqual(factory.builder, "mice.services.management.buildActGeneric")

    def test_plannedSaysSo(self):
        """
        A module a later version will provide says whose it is.
        """
        from mice import registry

        self.patch(registry, "PLANNED", {"mice_mod_pop_future": "the future"})
        e = self.assertRaises(UnknownModule, findModule, "mice_mod_pop_future",
                              "postprocessor")
        self.assertIn("belongs to the future", str(e))

    def test_everyPluginBuildsSomething(self):
        self.assertEqual(set(f.role for f in availableModules().values()),
                         {"decoder", "postprocessor", "filter", "pseudonymizer",
                          "formatter"})


class TwistdPluginTests(SynchronousTestCase):
    def test_everyCommandListed(self):
        """
        twistd lists every mice command (a plugin file that fails to import
        would be skipped silently).
        """
        names = {maker.tapname for maker in getPlugins(IServiceMaker)}
        self.assertTrue({"mice-bufferdaemon", "mice-dataforwarder", "mice-allinone"} <= names,
                        names)
        for maker in getPlugins(IServiceMaker):
            if maker.tapname.startswith("mice-"):
                maker.options()
