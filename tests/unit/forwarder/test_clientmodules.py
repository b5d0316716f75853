"""
Tests for the DataForwarder's line modules: L{mice.forwarder.filters} and
L{mice.forwarder.pseudonym}, their config kinds and their registration.
"""

import os
import re
import sys

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mice.config import (
    ConfigError,
    FmtSimpleSettings,
    describe,
    loadConfig,
    loadConfigText,
    loadFltRegex,
    loadFmtSimple,
    loadPseudonym,
)
from mice.forwarder.filters import RegexFilter
from mice.forwarder.format import SimpleFormat
from mice.forwarder.pseudonym import (
    UID,
    USER,
    EmptyPseudonymizer,
    KeyedPseudonymizer,
    depseudonymize,
    depseudonymizeText,
    newKey,
    readKey,
)
from mice.interfaces import IFilter, IPseudonymizer
from mice.record import HostInfo
from mice.registry import findModule
from mice.testing import temporaryFile
from tests import ROOT

REPO = ROOT
ETC = os.path.join(REPO, "etc", "mice")

KEY = bytes(range(64))
OTHER_KEY = bytes(range(1, 65))
TOKEN = re.compile(r"psd:[a-z2-7]+")


def tokens(text):
    return TOKEN.findall(text)


class RegexFilterTests(SynchronousTestCase):

    def test_interface(self):
        self.assertTrue(verifyObject(IFilter, RegexFilter()))

    def test_noRulesKeepsAll(self):
        f = RegexFilter()
        self.assertTrue(f.keep("anything"))
        self.assertTrue(f.keep(""))
        self.assertEqual(f.counts, {"kept": 2, "dropped": 0, "unmatched": 0})

    def test_drop(self):
        f = RegexFilter(drop=["-- MARK --", r"repeated \d+ times"])
        self.assertFalse(f.keep("Nov 23 00:00:00 h syslogd: -- MARK --"))
        self.assertFalse(f.keep("last message repeated 3 times"))
        self.assertTrue(f.keep("sshd[1]: Accepted password for alice"))
        self.assertEqual(f.counts, {"kept": 1, "dropped": 2, "unmatched": 0})

    def test_keep(self):
        """
        With KEEP rules a line must match one of them.
        """
        f = RegexFilter(keep=["sshd", "sudo"])
        self.assertTrue(f.keep("sshd[1]: Accepted password"))
        self.assertTrue(f.keep("sudo:  alice : TTY=pts/0"))
        self.assertFalse(f.keep("kernel: eth0 link up"))
        self.assertEqual(f.counts, {"kept": 2, "dropped": 0, "unmatched": 1})

    def test_dropWins(self):
        f = RegexFilter(drop=["session closed"], keep=["sshd"])
        self.assertFalse(f.keep("sshd[1]: pam_unix(sshd:session): session closed for user a"))
        self.assertTrue(f.keep("sshd[1]: Accepted password for a from b"))
        self.assertEqual(f.counts["dropped"], 1)

    def test_rulesThatCannotBeJoined(self):
        """
        Backreferences, global flags and repeated group names still work.
        """
        f = RegexFilter(drop=[r"\b(\w+) \1\b", "(?i)PANIC", "(?P<x>a)b", "(?P<x>c)d", "zz"])
        for line in ["the the end", "kernel panic", "xab", "xcd", "zz"]:
            self.assertFalse(f.keep(line), line)
        for line in ["the end", "kernel", "ac", "z y"]:
            self.assertTrue(f.keep(line), line)

    def test_fromConfig(self):
        loaded = loadConfigText('[FILTER]\nDROP = "a # b"\nKEEP = "x"\nKEEP = y\n',
                                "/tmp/f.conf")
        self.assertEqual(loaded.kind, "flt_regex")
        self.assertEqual((loaded.settings.drop, loaded.settings.keep), (("a # b",), ("x", "y")))
        f = RegexFilter.fromSettings(loaded.settings)
        self.assertEqual([f.keep(line) for line in ["a # b x", "x", "y", "z"]],
                         [False, True, True, False])

    def test_badRegexFileLine(self):
        e = self.assertRaises(ConfigError, loadConfigText,
                              '[FILTER]\nDROP = "ok"\n\nKEEP = "(unclosed"\n', "flt.conf")
        self.assertIn("flt.conf:4:", str(e))
        self.assertIn("KEEP", str(e))

    def test_emptyRegexRefused(self):
        e = self.assertRaises(ConfigError, loadConfigText, '[FILTER]\nDROP = ""\n', "f.conf")
        self.assertIn("f.conf:2:", str(e))

    def test_noConfig(self):
        self.assertTrue(RegexFilter.fromSettings(loadFltRegex(None)).keep("x"))


SSHD = [
    ("Nov 23 00:01:02 host sshd[811]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
     "alice"),
    ("Nov 23 00:01:02 host sshd[811]: Accepted publickey for alice from 10.0.0.1 port 22 ssh2:"
     " ED25519 SHA256:abc", "alice"),
    ("Nov 23 00:01:02 host sshd[811]: Failed password for invalid user bob from 10.0.0.1 port"
     " 4242 ssh2", "bob"),
    ("Nov 23 00:01:02 host sshd[811]: Invalid user admin from 10.0.0.1 port 4242", "admin"),
    ("Nov 23 00:01:02 host sshd[811]: pam_unix(sshd:session): session opened for user alice"
     " by (uid=0)", "alice"),
    ("Nov 23 00:01:02 host sshd[811]: pam_unix(sshd:auth): authentication failure; logname="
     " uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1  user=alice", "alice"),
]


class KeyedPseudonymizerTests(SynchronousTestCase):

    def setUp(self):
        self.p = KeyedPseudonymizer(KEY)

    def assertReplaced(self, line, secrets, keep=()):
        out = self.p.pseudonymize(line)
        for secret in secrets:
            self.assertNotRegex(out, rf"(?<![\w/]){re.escape(secret)}(?!\w)", line)
        for text in keep:
            self.assertIn(text, out)
        self.assertEqual(depseudonymize(out, KEY), line)
        return out

    def test_interfaces(self):
        self.assertTrue(verifyObject(IPseudonymizer, self.p))
        self.assertTrue(verifyObject(IPseudonymizer, EmptyPseudonymizer()))

    def test_empty(self):
        line = SSHD[0][0]
        self.assertIs(EmptyPseudonymizer().pseudonymize(line), line)

    def test_sshd(self):
        for line, user in SSHD:
            intact = [text for text in ["Nov 23 00:01:02 host sshd[811]:", "10.0.0.1"]
                      if text in line]
            out = self.assertReplaced(line, [user], intact)
            self.assertIn(self.p.token(b"user", user), out)

    def test_restIntact(self):
        line, _ = SSHD[0]
        out = self.p.pseudonymize(line)
        self.assertEqual(TOKEN.sub("X", out),
                         "Nov 23 00:01:02 host sshd[811]: Accepted password for X from 10.0.0.1"
                         " port 22 ssh2")

    def test_su(self):
        line = "Nov 23 00:01:02 host su: (to root) alice on pts/0"
        out = self.assertReplaced(line, ["root", "alice"], ["on pts/0"])
        self.assertEqual(TOKEN.sub("X", out), "Nov 23 00:01:02 host su: (to X) X on pts/0")

    def test_sudo(self):
        line = ("Nov 23 00:01:02 host sudo:    alice : TTY=pts/0 ; PWD=/home/x ;"
                " USER=root ; COMMAND=/bin/ls")
        out = self.assertReplaced(line, ["alice", "root"])
        self.assertEqual(TOKEN.sub("X", out), "Nov 23 00:01:02 host sudo:    X : TTY=pts/0 ;"
                                              " PWD=/home/x ; USER=X ; COMMAND=/bin/ls")

    def test_sudoSession(self):
        line = ("Nov 23 00:01:02 host sudo: pam_unix(sudo:session): session opened for user"
                " root by alice(uid=1000)")
        out = self.assertReplaced(line, ["root", "alice", "1000"])
        self.assertTrue(out.endswith("(uid=" + self.p.token(b"uid", "1000") + ")"))

    def test_auditd(self):
        line = ('type=USER_LOGIN msg=audit(1700000000.123:42): pid=4242 uid=0 auid=1000'
                ' ses=3 subj=unconfined msg=\'op=login acct="alice" exe="/usr/sbin/sshd"'
                ' addr=10.0.0.1 res=success\'')
        out = self.assertReplaced(line, ["alice"], ["pid=4242", "ses=3", "addr=10.0.0.1",
                                                    "msg=audit(1700000000.123:42)"])
        self.assertIn("uid=" + self.p.token(b"uid", "0"), out)
        self.assertIn("auid=" + self.p.token(b"uid", "1000"), out)
        self.assertNotIn("auid=1000", out)

    def test_auditdEuid(self):
        line = "type=SYSCALL msg=audit(1700000000.1:7): ppid=1 pid=2 auid=4294967295 uid=0" \
               " gid=0 euid=33 suid=0"
        out = self.assertReplaced(line, [], ["ppid=1 pid=2", "gid=0"])
        self.assertIn("euid=" + self.p.token(b"uid", "33"), out)

    def test_stable(self):
        first = self.p.pseudonymize(SSHD[0][0])
        self.assertEqual(KeyedPseudonymizer(KEY).pseudonymize(SSHD[0][0]), first)
        self.assertEqual(self.p.pseudonymize(SSHD[0][0]), first)
        self.assertEqual(tokens(self.p.pseudonymize("su: (to alice) alice on x")),
                         [self.p.token(b"user", "alice")] * 2)

    def test_differentKey(self):
        other = KeyedPseudonymizer(OTHER_KEY)
        self.assertNotEqual(other.token(b"user", "alice"), self.p.token(b"user", "alice"))

    def test_reversibleOnlyWithKey(self):
        line = SSHD[0][0]
        out = self.p.pseudonymize(line)
        self.assertEqual(depseudonymize(out, KEY), line)
        text, invalid = depseudonymizeText(out, OTHER_KEY)
        self.assertEqual(text, out)
        self.assertEqual(invalid, tuple(tokens(out)))

    def test_invalidTokensLeft(self):
        text, invalid = depseudonymizeText("psd:aaaa psd:zz psd:abc7 x", KEY)
        self.assertEqual(text, "psd:aaaa psd:zz psd:abc7 x")
        self.assertEqual(invalid, ("psd:aaaa", "psd:zz", "psd:abc7"))

    def test_addressesOff(self):
        line = "sshd[1]: Connection from 10.0.0.1 port 22 on fe80::1%eth0 port 22"
        self.assertEqual(self.p.pseudonymize(line), line)

    def test_addressesOn(self):
        p = KeyedPseudonymizer(KEY, addresses=True)
        line = ("sshd[1]: Accepted password for alice from 10.0.0.1 port 22 on [2001:db8::1]:22"
                " via ::ffff:192.0.2.1, then 10.0.0.1.")
        out = p.pseudonymize(line)
        self.assertEqual(TOKEN.sub("X", out), "sshd[1]: Accepted password for X from X port 22"
                                              " on [X]:22 via X, then X.")
        self.assertEqual(tokens(out)[1], tokens(out)[4])
        self.assertEqual(depseudonymize(out, KEY), line)

    def test_notAddresses(self):
        p = KeyedPseudonymizer(KEY, addresses=True)
        for line in ["at 12:34:56 ok", "version 1.2.3.4.5", "x :: y", "mac aa:bb:cc:dd:ee:ff",
                     "v1.2.3.4", "999.1.1.1 is no address"]:
            self.assertEqual(p.pseudonymize(line), line)

    def test_kindSeparation(self):
        """
        The same text as a user, a uid and an address gets three tokens.
        """
        p = KeyedPseudonymizer(KEY, addresses=True)
        out = p.pseudonymize("user=10.0.0.1 uid=7 user=7 from 10.0.0.1")
        found = tokens(out)
        self.assertEqual(len(found), 4)
        self.assertNotEqual(found[0], found[3])
        self.assertNotEqual(found[1], found[2])
        self.assertEqual(depseudonymize(out, KEY), "user=10.0.0.1 uid=7 user=7 from 10.0.0.1")

    def test_noKeyInRepr(self):
        self.assertNotIn(KEY.hex(), repr(self.p))
        self.assertNotIn(repr(KEY), repr(self.p))

    @given(st.lists(st.one_of(
        st.text(max_size=12),
        st.sampled_from(["for ", " from ", "user ", "Invalid user ", "user=", "uid=",
                         "euid=", "auid=", "su: (to ", ") ", "sudo:  ", " :", "psd:",
                         "by ", "(uid=", '"', "10.0.0.1", "::1", "fe80::", ":", ".",
                         "acct=", 'UID="', "1", "a", " "])), max_size=20).map("".join))
    @example("psd:0.0.0.0")
    @example("psd:psd:alice uid=0")
    @example("ACCT={::0")  # a user name ending where an IPv6 address begins
    @example("ACCT={::1")
    @example("acct={::0")
    @example("user=%::1 uid=0")
    def test_roundTrip(self, line):
        for addresses in (False, True):
            p = KeyedPseudonymizer(KEY, addresses)
            out = p.pseudonymize(line)
            self.assertEqual(depseudonymize(out, KEY), line)

    def test_adjacentValues(self):
        """
        A user name that ends where an IPv6 address begins (C{acct={::0}: the
        name stops at the colon that starts the address) becomes one token,
        not two tokens with nothing between them, and comes back whole.
        """
        p = KeyedPseudonymizer(KEY, addresses=True)
        for line, expected in [
                ("ACCT={::0", ["ACCT=", (USER, "{::0")]),
                ("acct={::1 x", ["acct=", (USER, "{::1"), " x"]),
                ("user=%::1 uid=0", ["user=", (USER, "%::1"), " uid=", (UID, "0")])]:
            out = p.pseudonymize(line)
            self.assertEqual(out, "".join(part if isinstance(part, str) else p.token(*part)
                                          for part in expected))
            self.assertEqual(depseudonymize(out, KEY), line)

    @given(st.text())
    def test_neverRaises(self, line):
        out = KeyedPseudonymizer(KEY, True).pseudonymize(line)
        self.assertEqual(depseudonymize(out, KEY), line)


class KeyTests(SynchronousTestCase):

    def test_newKey(self):
        a, b = newKey(), newKey()
        self.assertEqual(len(a), 64)
        self.assertNotEqual(a, b)
        KeyedPseudonymizer(a)

    def writeKey(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_readKey(self):
        self.assertEqual(readKey(self.writeKey(KEY.hex()[:64] + "\n  " + KEY.hex()[64:])), KEY)

    def test_badKey(self):
        self.assertRaises(ValueError, readKey, self.writeKey("not hex"))
        self.assertRaises(ValueError, readKey, self.writeKey("00" * 20))


class ConfigTests(SynchronousTestCase):

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)

    def write(self, text, name="psd.conf"):
        return temporaryFile(self, text, name, self.directory)

    def test_psdKeyNeverShown(self):
        keyPath = self.write(KEY.hex(), "k.key")
        path = self.write(f"[PSEUDONYM]\nKEYFILE = {keyPath}\nADDRESSES = yes\n")
        loaded = loadConfig(path)
        self.assertEqual(loaded.kind, "psd")
        self.assertEqual(loaded.warnings, ())
        self.assertEqual((loaded.settings.keyFile, loaded.settings.addresses), (keyPath, True))
        text = "\n".join(describe(loaded)) + repr(loaded.settings)
        self.assertNotIn(KEY.hex(), text)
        self.assertNotIn(KEY.hex()[:16], text)
        self.assertIn("PSEUDONYM.ADDRESSES = yes", text)

    def test_psdMissingKeyFile(self):
        """
        A missing key file is a warning when checking, an error when building.
        """
        path = self.write("[PSEUDONYM]\nKEYFILE = nowhere.key\n")
        loaded = loadConfig(path)
        self.assertEqual(len(loaded.warnings), 1)
        self.assertIn("nowhere.key does not exist", str(loaded.warnings[0]))
        e = self.assertRaises(ConfigError, findModule("mice_mod_psd_keyed",
                                                      "pseudonymizer").build, path, None)
        self.assertIn("nowhere.key", str(e))

    def test_psdNoKeyFile(self):
        path = self.write("[PSEUDONYM]\n")
        self.assertEqual(loadPseudonym(path).keyFile, None)
        self.assertRaises(ConfigError, findModule("mice_mod_psd_keyed", "pseudonymizer").build,
                          path, None)

    def test_psdKeyedBuilds(self):
        keyPath = self.write(KEY.hex(), "k.key")
        path = self.write("[PSEUDONYM]\nKEYFILE = k.key\nADDRESSES = yes\n")
        self.assertEqual(os.path.dirname(keyPath), os.path.dirname(path))
        module = findModule("mice_mod_psd_keyed", "pseudonymizer").build(path, None)
        self.assertEqual(module.pseudonymize("from 10.0.0.1"),
                         "from " + KeyedPseudonymizer(KEY).token(b"address", "10.0.0.1"))

    def test_fmtSimple(self):
        loaded = loadConfigText("[FORMAT]\nHOSTNAME = client\nIP = 192.0.2.10\n",
                                "/tmp/fmt.conf")
        self.assertEqual(loaded.kind, "fmt_simple")
        self.assertEqual(loaded.settings, FmtSimpleSettings("/tmp/fmt.conf", "client", None,
                                                            "192.0.2.10"))
        detected = HostInfo("h", "example.org", "", "Linux", "6", "#1")
        fmt = SimpleFormat.fromSettings(loaded.settings, detected)
        self.assertEqual(fmt.host, HostInfo("client", "example.org", "192.0.2.10", "Linux",
                                            "6", "#1"))
        self.assertEqual(SimpleFormat.fromSettings(loadFmtSimple(None), detected).host,
                         detected)

    def test_fmtSimpleBadIp(self):
        e = self.assertRaises(ConfigError, loadConfigText, "[FORMAT]\n\nIP = 300.1.1.1\n",
                              "fmt.conf")
        self.assertIn("fmt.conf:3:", str(e))

    def test_shipped(self):
        for name, kind in [("mice_mod_flt_regex.conf", "flt_regex"),
                           ("mice_mod_fmt_simple.conf", "fmt_simple"),
                           ("mice_mod_psd_empty.conf", "psd"),
                           ("mice_mod_psd_keyed.conf", "psd")]:
            loaded = loadConfig(os.path.join(ETC, name))
            self.assertEqual(loaded.kind, kind)
            for warning in loaded.warnings:
                self.assertIn(os.path.join(REPO, "var", "pseudonym.key"), str(warning))
        filt = RegexFilter.fromSettings(loadFltRegex(os.path.join(ETC, "mice_mod_flt_regex.conf")))
        self.assertFalse(filt.keep("Nov 23 00:00:00 host syslogd: -- MARK --"))
        self.assertFalse(filt.keep("last message repeated 12 times"))
        self.assertTrue(filt.keep("sshd[1]: Accepted password for alice"))


class RegistryTests(SynchronousTestCase):

    def test_resolve(self):
        for name, role in [("mice_mod_flt_regex", "filter"),
                           ("mice_mod_fmt_simple.so", "formatter"),
                           ("mice_mod_psd_empty", "pseudonymizer"),
                           ("MICE_MOD_PSD_KEYED", "pseudonymizer")]:
            self.assertEqual(findModule(name, role).role, role)

    def test_buildShipped(self):
        filt = findModule("mice_mod_flt_regex", "filter").build(
            os.path.join(ETC, "mice_mod_flt_regex.conf"), None)
        self.assertTrue(verifyObject(IFilter, filt))
        self.assertIsInstance(findModule("mice_mod_psd_empty", "pseudonymizer").build(
            os.path.join(ETC, "mice_mod_psd_empty.conf"), None), EmptyPseudonymizer)
        fmt = findModule("mice_mod_fmt_simple", "formatter").build(
            os.path.join(ETC, "mice_mod_fmt_simple.conf"), None)
        self.assertIsInstance(fmt.host, HostInfo)
        self.assertEqual(fmt.format("Nov 23 00:01:02 h x", _now())[2], "Nov 23 00:01:02 h x")


def _now():
    from datetime import datetime

    return datetime(2026, 11, 23, 1, 0, 0)


class PurityTests(SynchronousTestCase):

    def test_noReactor(self):
        """
        The line modules import nothing from twisted.internet.
        """
        for name in ("mice.forwarder.filters", "mice.forwarder.pseudonym"):
            with open(sys.modules[name].__file__) as f:
                self.assertNotIn("twisted.internet", f.read())
