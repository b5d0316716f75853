"""
Tests for L{mice.security.keyfile}: the hex key files of the pseudonymiser
(KEYFILE) and the stores (SIGNKEY).
"""

from twisted.trial.unittest import SynchronousTestCase

from mice.db.signature import readSignKey
from mice.forwarder.pseudonym import readKey
from mice.security.keyfile import readHexKey


class ReadHexKeyTests(SynchronousTestCase):
    def keyFile(self, text):
        path = self.mktemp()
        with open(path, "w", encoding="ascii") as f:
            f.write(text)
        return path

    def test_blanksIgnored(self):
        """Spaces and line ends between the digits are no part of the key."""
        path = self.keyFile("00 11\n22\t33\n")
        self.assertEqual(readHexKey(path), bytes.fromhex("00112233"))

    def test_notHex(self):
        """The error names the file and the key, with the caller's hint."""
        path = self.keyFile("not a key\n")
        with self.assertRaises(ValueError) as raised:
            readHexKey(path, "the SIGNKEY", " (`mice keygen`)")
        self.assertEqual(str(raised.exception),
                         f"{path}: expected the SIGNKEY as hex digits (`mice keygen`)")

    def test_callersCheckTheirSizes(self):
        """
        A short key is read by either, and refused by the pseudonymiser's
        and the stores' readers, each with its own sizes.
        """
        path = self.keyFile("ab" * 32)
        self.assertEqual(readKey(path), b"\xab" * 32)
        self.assertEqual(readSignKey(path), b"\xab" * 32)
        self.assertEqual(readHexKey(self.keyFile("ab" * 8)), b"\xab" * 8)
        self.assertRaises(ValueError, readKey, self.keyFile("ab" * 8))
        self.assertRaises(ValueError, readSignKey, self.keyFile("ab" * 8))
        with self.assertRaises(ValueError) as raised:
            readKey(self.keyFile("zz"))
        self.assertIn("expected the key as hex digits", str(raised.exception))
