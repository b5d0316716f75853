"""
The broker keys of the configs (issue 18): a forwarder's servers, a
BufferDaemon's [BROKER] and an analysis module's [HOST_INFO] can name an
AMQP URL and a queue instead of HOST:PORT; the seeds' files are unchanged.
"""

import os

from mice.config import ConfigError, loadConfig
from mice.config.describe import describe
from mice.protocols.amqp import BrokerTarget
from mice.testing import SHIPPED_CONFIGS
from tests.unit.config.test_config import MINIMAL_BUFFERDAEMON, _ConfigTestCase

URL = "amqp://mice:hunter2@127.0.0.1:5672/mice"

FORWARDER = """\
[SQL_SERVER]
SQLPORT = 0
AMQP = {url}
QUEUE = mice.rawlog
[ANALYSIS_SERVER]
ASIP = 127.0.0.1
ASPORT = 3367
[LOGFILE_LIST]
FILE = /var/log/messages
"""

#: A BufferDaemon without an address, fed by a queue.
BUFFERDAEMON = "[DECODING_MODULES]" + MINIMAL_BUFFERDAEMON.split("[DECODING_MODULES]")[1] + """\
[BROKER]
AMQP = {url}
QUEUE = mice.rawlog
PREFETCH = 32
"""


class ForwarderTests(_ConfigTestCase):
    def test_brokerServer(self):
        """
        A server with AMQP and QUEUE is that queue, quorum by default; the
        other stays a HOST:PORT link.
        """
        settings = self.load(FORWARDER.format(url=URL)).settings
        (sqlName, sql), (asName, analysis) = settings.servers
        self.assertEqual((sqlName, asName), ("sql", "analysis"))
        self.assertIsInstance(sql.broker, BrokerTarget)
        self.assertEqual((sql.broker.queue, sql.broker.queueType, sql.broker.url.password),
                         ("mice.rawlog", "quorum", "hunter2"))
        self.assertIsNone(analysis.broker)
        self.assertNotIn("hunter2", str(sql))

    def test_queueNeedsUrl(self):
        text = FORWARDER.format(url=URL).replace(f"AMQP = {URL}\n", "")
        self.assertConfigError(text, 3, "QUEUE needs AMQP in [SQL_SERVER]")

    def test_urlNeedsQueue(self):
        text = FORWARDER.format(url=URL).replace("QUEUE = mice.rawlog\n", "")
        self.assertConfigError(text, 3, "AMQP needs QUEUE")

    def test_notBoth(self):
        text = FORWARDER.format(url=URL).replace("SQLPORT = 0", "SQLIP = 10.0.0.1\nSQLPORT = 1")
        self.assertConfigError(text, 4, "names both SQLIP/SQLPORT and AMQP")

    def test_badUrlNamesTheLineNotThePassword(self):
        text = FORWARDER.format(url="amqp://mice:hunter2@mq/?nonsense=1")
        error = self.assertConfigError(text, 3, "unknown option 'nonsense'")
        self.assertNotIn("hunter2", str(error))

    def test_checkConfigMasksThePassword(self):
        """
        What C{mice check-config} prints shows the URL with its password
        masked.
        """
        text = "\n".join(describe(self.load(FORWARDER.format(url=URL))))
        self.assertIn("SQL_SERVER.AMQP = amqp://mice:********@127.0.0.1:5672/mice", text)
        self.assertIn("=> sql server = broker amqp://mice:********@127.0.0.1:5672/mice queue"
                      " mice.rawlog (quorum)", text)
        self.assertNotIn("hunter2", text)


class BufferDaemonTests(_ConfigTestCase):
    def test_brokerOnly(self):
        """
        A BufferDaemon fed by a queue needs no address to listen on.
        """
        settings = self.load(BUFFERDAEMON.format(url=URL)).settings
        self.assertEqual(settings.endpoints, ())
        self.assertEqual((settings.broker.queue, settings.broker.prefetch), ("mice.rawlog", 32))

    def test_brokerBesideListen(self):
        settings = self.load(MINIMAL_BUFFERDAEMON + BUFFERDAEMON.format(url=URL).split(
            "[TIME_INTERVALS]\nTIMEINV = 2\n")[1]).settings
        self.assertEqual(len(settings.endpoints), 1)
        self.assertEqual(settings.broker.prefetch, 32)

    def test_noAddressNoBroker(self):
        text = BUFFERDAEMON.format(url=URL).split("[BROKER]")[0]
        self.assertRaises(ConfigError, self.load, text)

    def test_prefetchAlone(self):
        text = BUFFERDAEMON.format(url=URL).replace(f"AMQP = {URL}\nQUEUE = mice.rawlog\n", "")
        self.assertRaises(ConfigError, self.load, MINIMAL_BUFFERDAEMON + text.split(
            "TIMEINV = 2\n")[1])


class AgentTests(_ConfigTestCase):
    def shipped(self, name):
        with open(os.path.join(SHIPPED_CONFIGS, name)) as f:
            return f.read()

    def test_managementQueue(self):
        """
        An aa_regex config can send to the ManagementHost through a queue,
        with an Instance for its alert ids.
        """
        text = self.shipped("mice_mod_pop_aa_regex.conf")
        text = text.replace("Management = 127.0.0.1:4455",
                            f"ManagementAMQP = {URL}\nManagementQueue = mice.alerts")
        text = text.replace("[IDMEF_INFO]", "[IDMEF_INFO]\nInstance = aa-2")
        settings = self.load(text, name="mice_mod_pop_aa_regex.conf").settings
        self.assertEqual(settings.management.queue, "mice.alerts")
        self.assertEqual(settings.instance, "aa-2")

    def test_rulesNeedAManagementHost(self):
        text = self.shipped("mice_mod_pop_aa_rules.conf")
        text = "\n".join(line for line in text.split("\n")
                         if not line.startswith("Management ="))
        path = self.write(text, "mice_mod_pop_aa_rules.conf")
        error = self.assertRaises(ConfigError, loadConfig, path)
        self.assertIn("ManagementAMQP and ManagementQueue", str(error))

    def test_badInstance(self):
        text = self.shipped("mice_mod_pop_aa_regex.conf").replace(
            "[IDMEF_INFO]", "[IDMEF_INFO]\nInstance = no spaces")
        error = self.assertRaises(ConfigError, self.load, text,
                                  name="mice_mod_pop_aa_regex.conf")
        self.assertIn("Instance", str(error))


class ShippedBrokerDeploymentTests(_ConfigTestCase):
    def test_queuesFitTogether(self):
        """
        The shipped broker deployment (etc/mice/*-broker.conf): the
        forwarder's queues are those the raw-log database and the agent
        consume, and the agent's alerts go to the queue the ManagementHost
        consumes.
        """
        def load(name):
            return loadConfig(os.path.join(SHIPPED_CONFIGS, name)).settings

        forwarder = load("dataforwarder-broker.conf")
        self.assertEqual(forwarder.sqlServer.broker.queue,
                         load("bufferdaemon-rawlogdb-broker.conf").broker.queue)
        agent = load("bufferdaemon-aa-broker.conf")
        self.assertEqual(forwarder.analysisServer.broker.queue, agent.broker.queue)
        self.assertEqual(agent.pipelines[0].postprocessorConfig,
                         os.path.join(SHIPPED_CONFIGS, "mice_mod_pop_aa_regex-broker.conf"))
        rules = load("mice_mod_pop_aa_regex-broker.conf")
        self.assertEqual(rules.management.queue,
                         load("bufferdaemon-mngmthost-broker.conf").broker.queue)
        self.assertEqual(rules.instance, "aa-1")
