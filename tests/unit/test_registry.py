"""
Tests for L{mice.registry} and the plugins M-ICE ships: every module built
from the shipped configs provides its role's interface, and every class of
M-ICE that declares an interface implements it.
"""

import glob
import importlib
import os
import shutil

from twisted.application.service import IServiceMaker
from twisted.internet.testing import MemoryReactor
from twisted.plugin import IPlugin, getPlugins
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementedBy
from zope.interface.verify import verifyClass, verifyObject

from mice.config import loadBufferDaemon, loadDataForwarder
from mice.forwarder.format import nodeHostInfo
from mice.forwarder.pseudonym import newKey
from mice.interfaces import ROLE_INTERFACES, IModuleFactory
from mice.registry import PLANNED, UnknownModule, availableModules, findModule, normalizeName
from mice.tap import dataforwarder
from tests import ROOT
from tests.unit.test_purity import MODULES


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


def shippedModuleConfigs(etc):
    """
    C{{module name: config path}} for the modules the shipped configs in
    C{etc} use: each BufferDaemon's decoder/post-processor pairs, the
    DataForwarder's filter, pseudonymiser and log format, and any module
    whose own config ships as C{<name>.conf}.  Modules the original had and
    this version plans (L{PLANNED}) are left out.
    """
    configs = {}
    for path in sorted(glob.glob(os.path.join(etc, "bufferdaemon-*.conf"))):
        for spec in loadBufferDaemon(path).pipelines:
            for name, config in ((spec.decoder, spec.decoderConfig),
                                 (spec.postprocessor, spec.postprocessorConfig)):
                if normalizeName(name) not in PLANNED:
                    configs.setdefault(normalizeName(name), config)
    forwarder = loadDataForwarder(os.path.join(etc, "dataforwarder.conf"))
    for name, config in ((forwarder.logFormatModule, forwarder.logFormatConfig),
                         (forwarder.filterModule, forwarder.filterConfig),
                         (forwarder.pseudonymModule, forwarder.pseudonymConfig)):
        configs.setdefault(normalizeName(name), config)
    for factory in set(availableModules().values()):
        own = os.path.join(etc, factory.name + ".conf")
        if os.path.exists(own):
            configs.setdefault(factory.name, own)
    return configs


class ShippedModuleTests(SynchronousTestCase):
    """
    Every module M-ICE ships, built from the shipped configs (copied, with
    the paths they name, into a temporary tree), provides the interface of
    its role.
    """

    def setUp(self):
        root = os.path.abspath(self.mktemp())
        self.etc = os.path.join(root, "etc", "mice")
        shutil.copytree(os.path.join(ROOT, "etc", "mice"), self.etc)
        os.makedirs(os.path.join(root, "var"))
        with open(os.path.join(root, "var", "pseudonym.key"), "w") as f:
            f.write(newKey().hex())
        # The daemon asks the resolver for its domain; the node name will do.
        self.patch(dataforwarder, "localHostInfo", nodeHostInfo)

    def test_everyModuleHasAShippedConfig(self):
        configs = shippedModuleConfigs(self.etc)
        self.assertEqual(sorted(set(f.name for f in availableModules().values()) - set(configs)),
                         [])
        self.assertIn("mice_mod_pop_eventdb", configs, "found through bufferdaemon-alertdb.conf")

    def test_verifyObject(self):
        """
        Each module provides its role's interface, attributes included.
        """
        built = []
        for name, config in sorted(shippedModuleConfigs(self.etc).items()):
            factory = availableModules()[name]
            self.assertTrue(verifyObject(IModuleFactory, factory))
            module = factory.build(config, MemoryReactor())
            if factory.role == "postprocessor":
                self.addCleanup(module.stop)
            self.assertTrue(verifyObject(ROLE_INTERFACES[factory.role], module), name)
            built.append(factory.role)
        self.assertEqual(set(built), set(ROLE_INTERFACES))
        self.assertGreaterEqual(len(built), 13)

    def test_everyRoleHasAnInterface(self):
        self.assertEqual({f.role for f in availableModules().values()} - set(ROLE_INTERFACES),
                         set())


class DeclaredInterfaceTests(SynchronousTestCase):
    def test_verifyClass(self):
        """
        Every class in C{mice} that declares an interface (C{@implementer},
        its own or inherited) has the interface's methods, with signatures
        that fit.
        """
        checked = []
        for moduleName in sorted(MODULES):
            if moduleName.endswith(".__main__"):
                continue
            module = importlib.import_module(moduleName)
            for value in vars(module).values():
                if isinstance(value, type) and value.__module__ == moduleName:
                    for interface in implementedBy(value):
                        self.assertTrue(verifyClass(interface, value), (value, interface))
                        checked.append((value.__name__, interface.__name__))
        self.assertIn(("SimpleFormat", "IFormatter"), checked)
        self.assertIn(("EventStore", "IPostProcessor"), checked)
        self.assertGreaterEqual(len(checked), 15)

