"""
Tests for L{mice.protocols.wire}.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols import wire


class MessageTests(SynchronousTestCase):
    def test_roundTrip(self):
        message = wire.batch(3, "/var/log/messages", 41, {"hostname": "h"},
                             [["2026-11-22", "10:00:00", "naïve ünïcode\nline 🙂", ""]])
        line = wire.encodeMessage(message)
        self.assertNotIn(b"\n", line)
        self.assertEqual(wire.decodeMessage(line), message)
        self.assertEqual(wire.checkBatch(wire.decodeMessage(line)),
                         (3, "/var/log/messages", 41, {"hostname": "h"},
                          message["recs"], None))

    @given(st.integers(0, 2 ** 63 - 1))
    def test_encodeAck(self, batchId):
        """
        The server's fast ack is exactly the encoded ack message.
        """
        self.assertEqual(wire.encodeAck(batchId), wire.encodeMessage(wire.ack(batchId)))
        self.assertEqual(wire.checkAck(wire.decodeMessage(wire.encodeAck(batchId))), batchId)

    def test_invalidUTF8(self):
        e = self.assertRaises(wire.ProtocolError, wire.decodeMessage, b'{"t":"\xff"}')
        self.assertIn("invalid UTF-8", str(e))

    def test_notJSON(self):
        e = self.assertRaises(wire.ProtocolError, wire.decodeMessage, b"GET / HTTP/1.0")
        self.assertIn("malformed message", str(e))

    def test_notAnObjectWithAType(self):
        for line in (b"[1,2]", b"3", b'{"x":1}', b'{"t":5}'):
            self.assertRaises(wire.ProtocolError, wire.decodeMessage, line)

    def test_hello(self):
        self.assertEqual(wire.checkHello(wire.hello("web01", "log")), ("web01", "log"))
        for bad, words in [
            ({"t": "hello", "v": 2, "source": "a", "kind": "log"}, "version"),
            ({"t": "hello", "v": 1, "source": "", "kind": "log"}, "source"),
            ({"t": "hello", "v": 1, "source": "a b", "kind": "log"}, "source"),
            ({"t": "hello", "v": 1, "source": "a" * 129, "kind": "log"}, "source"),
            ({"t": "hello", "v": 1, "source": "a", "kind": "mp3"}, "unknown kind"),
            ({"t": "batch"}, "expected hello"),
        ]:
            e = self.assertRaises(wire.ProtocolError, wire.checkHello, bad)
            self.assertIn(words, str(e))

    def test_batchEnvelope(self):
        good = wire.batch(1, "s", 0, None, ["x"])
        for key, value, words in [
            ("id", -1, "'id'"), ("id", "1", "'id'"), ("id", True, "'id'"),
            ("seq", 2 ** 63, "'seq'"), ("stream", "", "'stream'"),
            ("stream", "x" * 256, "'stream'"), ("recs", [], "'recs'"), ("recs", "x", "'recs'"),
        ]:
            e = self.assertRaises(wire.ProtocolError, wire.checkBatch, {**good, key: value})
            self.assertIn(words, str(e))

    def test_errorsFromServer(self):
        e = self.assertRaises(wire.ProtocolError, wire.checkWelcome, wire.error("no"))
        self.assertIn("refused", str(e))
        self.assertRaises(wire.ProtocolError, wire.checkAck, wire.error("bad"))
        self.assertEqual(wire.checkAck(wire.ack(7)), 7)
        self.assertEqual(wire.checkWelcome(wire.welcome(10, 5)), (10, 5))


class FuzzTests(SynchronousTestCase):
    @given(st.binary(max_size=300))
    def test_randomBytesOnlyProtocolError(self, data):
        """
        Whatever a peer sends, decoding and checking it either gives a
        message or raises L{wire.ProtocolError}, never anything else.
        """
        try:
            message = wire.decodeMessage(data)
            for check in (wire.checkHello, wire.checkBatch, wire.checkAck, wire.checkWelcome):
                try:
                    check(message)
                except wire.ProtocolError:
                    pass
        except wire.ProtocolError:
            pass

    @given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                        lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=10))
    def test_randomJSONOnlyProtocolError(self, value):
        message = {"t": "batch", "id": 1, "stream": "s", "seq": 0, "host": value,
                   "recs": [value]}
        line = wire.encodeMessage(message)
        self.assertEqual(wire.decodeMessage(line)["recs"], [value])
