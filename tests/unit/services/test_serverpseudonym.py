"""
A BufferDaemon with C{PSEUDO = yes}: the lines of C{log} batches are
pseudonymised on arrival, before the ring (on disk too), the post-processor
or the analysis see them (a twistd daemon storing into SQLite:
C{tests.integration.test_serverpseudonym}).
"""

import os

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, loadBufferDaemon
from mice.decoders.idmef import IdmefDecoder
from mice.decoders.logformat import LogFormatDecoder
from mice.forwarder.pseudonym import KeyedPseudonymizer, depseudonymizeText, newKey
from mice.protocols import wire
from mice.ringbuffer import MmapRing
from mice.services.bufferdaemon import BufferDaemon, Pipeline
from mice.tap.bufferdaemon import serverPseudonymizer
from mice.testing import MemoryPostProcessor, temporaryFile
from tests.unit.services.test_bufferdaemon import HOST, acks, line, received

SECRET_LINE = "Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7 port 22"


class PseudonymOnArrivalTests(SynchronousTestCase):
    def setUp(self):
        self.key = newKey()
        self.clock = Clock()
        self.ringPath = self.mktemp()
        self.store = MemoryPostProcessor()
        self.ring = MmapRing(self.ringPath, 16, 2 ** 20)
        self.daemon = BufferDaemon(
            [], [Pipeline(LogFormatDecoder(), self.store, self.ring)], self.clock,
            pseudonymizer=KeyedPseudonymizer(self.key))
        self.daemon.startService()
        self.addCleanup(self.daemon.stopService)

    def connect(self, kind="log"):
        protocol = self.daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 1)))
        protocol.dataReceived(line(wire.hello("web01", kind)))
        received(protocol)
        return protocol

    def test_storedAndRingedPseudonymised(self):
        protocol = self.connect()
        protocol.dataReceived(line(wire.batch(1, "/var/log/auth.log", 1, HOST,
                                              [["2026-11-22", "10:00:01", SECRET_LINE, ""]])))
        self.clock.advance(0)
        self.assertEqual(acks(protocol), [1])
        with open(self.ringPath, "rb") as f:
            ring = f.read()
        self.assertNotIn(b"alice", ring, "the ring on disk holds no clear user name")
        self.assertIn(b"Failed password for psd", ring)
        self.clock.advance(2)
        [stored] = self.store.stored
        self.assertNotIn("alice", stored.logline)
        self.assertEqual(depseudonymizeText(stored.logline, self.key), (SECRET_LINE, ()))

    def test_badRecordStillRefused(self):
        """
        The decoders judge the batch as sent: a record that is no record
        is refused, pseudonymiser or not.
        """
        protocol = self.connect()
        protocol.dataReceived(line(wire.batch(1, "/var/log/auth.log", 1, HOST, [[1, 2]])))
        self.assertTrue(protocol.transport.disconnecting)
        self.assertEqual(self.store.stored, [])


class IdmefUntouchedTests(SynchronousTestCase):
    def test_onlyLogBatches(self):
        """
        Only C{log} batches are rewritten: an IDMEF document is not a log
        line (and an agent pseudonymises what it analysed already).
        """
        calls = []

        class Recording:
            def pseudonymize(self, text):
                calls.append(text)
                return text

        daemon = BufferDaemon([], [Pipeline(IdmefDecoder(), MemoryPostProcessor(),
                                            MmapRing(self.mktemp(), 4, 2 ** 20))], Clock(),
                              pseudonymizer=Recording())
        daemon.startService()
        self.addCleanup(daemon.stopService)
        protocol = daemon.factory.buildProtocol(None)
        protocol.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 1)))
        protocol.dataReceived(line(wire.hello("agent", "idmef")))
        self.assertEqual(calls, [])


class KeyHandlingTests(SynchronousTestCase):
    def write(self, name, text):
        return temporaryFile(self, text, name, self.directory)

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.conf = self.write("bd.conf", "[ADDRESS]\nLISTEN = tcp:4444\n[DECODING_MODULES]\n"
                                          "DEC_MOD = mice_mod_dec_logformat\n"
                                          "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_mysql\n"
                                          "[TIME_INTERVALS]\nTIMEINV = 1\n"
                                          "[SECURITY_AND_PRIVACY]\nPSEUDO = yes\n")

    def test_defaultBesideTheConfig(self):
        settings = loadBufferDaemon(self.conf)
        self.assertEqual(settings.pseudonymConfig,
                         os.path.join(self.directory, "mice_mod_psd_keyed.conf"))
        keyFile = self.write("psd.key", newKey().hex())
        self.write("mice_mod_psd_keyed.conf", f"[PSEUDONYM]\nKEYFILE = {keyFile}\n")
        self.assertIsInstance(serverPseudonymizer(settings, Clock()), KeyedPseudonymizer)

    def test_missingKeyIsAnErrorAtThePseudoLine(self):
        self.write("mice_mod_psd_keyed.conf", "[PSEUDONYM]\nKEYFILE = nowhere.key\n")
        error = self.assertRaises(ConfigError, serverPseudonymizer,
                                  loadBufferDaemon(self.conf), Clock())
        self.assertTrue(str(error).startswith(f"{self.conf}:10: PSEUDO:"), str(error))
        self.assertIn("nowhere.key", str(error))

    def test_pseudoOff(self):
        settings = loadBufferDaemon(self.write("off.conf", "[ADDRESS]\nLISTEN = tcp:4444\n"
                                                           "[DECODING_MODULES]\n"
                                                           "DEC_MOD = mice_mod_dec_logformat\n"
                                                           "[POSTPROC_MODULES]\n"
                                                           "POST_MOD = mice_mod_pop_mysql\n"
                                                           "[TIME_INTERVALS]\nTIMEINV = 1\n"))
        self.assertIsNone(settings.pseudonymConfig)
        self.assertIsNone(serverPseudonymizer(settings, Clock()))
