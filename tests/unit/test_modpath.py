"""
MODPATH: a directory of third-party modules.  A user drops a C{.py} file
providing a module factory there and names the module in a config.
"""

import os

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.config import ConfigError, loadBufferDaemon
from mice.interfaces import IPostProcessor
from mice.registry import availableModules, pipelineModules

PLUGIN = '''
"""A third party's post-processor: counts the records it is given."""

from twisted.internet.defer import succeed
from zope.interface import implementer

from mice.interfaces import IPostProcessor
from mice.registry import ModuleFactory


@implementer(IPostProcessor)
class Counter:
    name = "counter"
    maxErrors = 10
    batchSize = 1000
    concurrency = 1

    def __init__(self, configPath):
        self.configPath = configPath
        self.records = []

    def start(self):
        return succeed(None)

    def process(self, records):
        self.records.extend(records)
        return succeed(len(records))

    def stop(self):
        return succeed(None)


counter = ModuleFactory("site_mod_pop_counter", ["site_counter"], "postprocessor",
                        lambda configPath, reactor: Counter(configPath),
                        "counts records (a MODPATH test)")
'''


class ModulePathTests(SynchronousTestCase):
    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        self.modules = os.path.join(self.directory, "site-modules")
        os.makedirs(self.modules, mode=0o755)
        os.chmod(self.modules, 0o755)
        self.plugin = os.path.join(self.modules, "site_counter.py")
        with open(self.plugin, "w") as f:
            f.write(PLUGIN)
        os.chmod(self.plugin, 0o644)
        self.config = os.path.join(self.directory, "bd.conf")
        with open(self.config, "w") as f:
            f.write("[ADDRESS]\nLISTEN = tcp:0:interface=127.0.0.1\n"
                    "[MODULES_SEARCH_PATH]\nMODPATH = site-modules\n"
                    "[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_logformat\n"
                    "[POSTPROC_MODULES]\nPOST_MOD = site_mod_pop_counter\n"
                    "[TIME_INTERVALS]\nTIMEINV = 1\n")

    def test_foundAndBuilt(self):
        [(decoder, post)] = pipelineModules(loadBufferDaemon(self.config))
        self.assertEqual(post.name, "site_mod_pop_counter")
        module = post.build("/x.conf", None)
        verifyObject(IPostProcessor, module)
        self.assertEqual(module.configPath, "/x.conf")
        self.assertIn("site_counter", availableModules("postprocessor", [self.modules]))

    def test_unknownWithoutModpath(self):
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("MODPATH = site-modules\n", ""))
        e = self.assertRaises(ConfigError, pipelineModules, loadBufferDaemon(self.config))
        self.assertIn("bd.conf:7: unknown postprocessor module 'site_mod_pop_counter'", str(e))

    def test_writableByOthersRefused(self):
        """
        Fail closed: a module directory or file others can write to is not
        loaded; the config's MODPATH line says why.
        """
        for path, mode in ((self.modules, 0o777), (self.plugin, 0o666)):
            os.chmod(path, mode)
            e = self.assertRaises(ConfigError, pipelineModules, loadBufferDaemon(self.config))
            self.assertIn("bd.conf:4: MODPATH", str(e))
            self.assertIn("is writable by others; M-ICE loads no module from it", str(e))
            os.chmod(path, 0o755 if path == self.modules else 0o644)

    def test_shippedPluginDirectorySkipped(self):
        """
        The seed's configs name M-ICE's own plugin directory as MODPATH: its
        modules are the built-in ones, not loaded a second time.
        """
        from mice import plugins
        from mice.registry import modulesIn

        self.assertEqual(modulesIn(plugins.__path__[0]), [])
