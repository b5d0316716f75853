"""
Tests for L{mice.reactors.argv}: what a ReactionDaemon command may be
given.  Every injection attempt must be refused before anything runs, and
whatever is accepted is safe as one argv word.
"""

import ipaddress
import re

from hypothesis import example, given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.reactors.argv import (
    ALWAYS_NEVER,
    PARAM_TYPES,
    SAFE_VALUE,
    InvalidValue,
    Limits,
    NeverList,
    Template,
    canonicalValue,
    checkParams,
    isIPv6Params,
    parseParamSpec,
)

#: What a shell, or a program reading options, would make something of.
INJECTIONS = [
    "1.2.3.4; rm -rf /", "$(id)", "`id`", "1.2.3.4\n", "1.2.3.4\nrm -rf /", "-h", "--help",
    "1.2.3.4 -j ACCEPT", "1.2.3.4|id", "1.2.3.4&&id", "a'b", 'a"b', "a\\b", "*", "~root",
    "1.2.3.4\x00", " 1.2.3.4", "1.2.3.4 ", "\t", "",
    "\u0661\u0662\u0663.1.1.1",           # Arabic-Indic digits: '١٢٣.1.1.1'
    "\uff11.\uff12.\uff13.\uff14",         # fullwidth '１.２.３.４'
    "1\u200b.2.3.4",                      # a zero-width space
    "fe80::1%eth0", "fe80::1%$(id)",      # scope ids
]

SHELL_META = set(" \t\n\r\x0b\x0c;&|$`'\"\\<>()[]{}*?~#!%^=,")


class CanonicalValueTests(SynchronousTestCase):
    def test_addresses(self):
        self.assertEqual(canonicalValue("ip", "192.0.2.7"), "192.0.2.7")
        self.assertEqual(canonicalValue("ip", "2001:DB8:0:0::1"), "2001:db8::1")
        self.assertEqual(canonicalValue("ip", "::ffff:192.0.2.7"), "::ffff:c000:207")

    def test_networks(self):
        self.assertEqual(canonicalValue("cidr", "10.1.2.3/16"), "10.1.0.0/16")
        self.assertEqual(canonicalValue("cidr", "192.0.2.7"), "192.0.2.7/32")
        self.assertEqual(canonicalValue("cidr", "2001:db8::/48"), "2001:db8::/48")

    def test_networkWidth(self):
        e = self.assertRaises(InvalidValue, canonicalValue, "cidr", "10.0.0.0/8")
        self.assertIn("wider than /16", str(e))
        self.assertRaises(InvalidValue, canonicalValue, "cidr", "0.0.0.0/0")
        self.assertRaises(InvalidValue, canonicalValue, "cidr", "2001:db8::/32")
        self.assertEqual(canonicalValue("cidr", "10.0.0.0/8", Limits(cidr4=8)), "10.0.0.0/8")
        self.assertRaises(InvalidValue, canonicalValue, "cidr", "10.0.0.0/20", Limits(cidr4=24))

    def test_ports(self):
        self.assertEqual(canonicalValue("port", "22"), "22")
        self.assertEqual(canonicalValue("port", "0080"), "80")
        for bad in ("0", "65536", "-1", "+22", "22.0", "0x16", "\uff12\uff12"):
            self.assertRaises(InvalidValue, canonicalValue, "port", bad)

    def test_users(self):
        for good in ("root", "_apt", "www-data", "a.b", "x" * 32):
            self.assertEqual(canonicalValue("user", good), good)
        for bad in ("Root", "-root", "1user", "x" * 33, "r\u00f6ot", "root\n", "ro ot"):
            self.assertRaises(InvalidValue, canonicalValue, "user", bad)

    def test_words(self):
        for good in ("ssh", "sshd.service", "A_b-9", "x" * 64):
            self.assertEqual(canonicalValue("word", good), good)
        for bad in ("-h", "--", "-", "x" * 65, "a/b", "a b", "a:b"):
            self.assertRaises(InvalidValue, canonicalValue, "word", bad)

    def test_injectionsRefusedByEveryType(self):
        for kind in PARAM_TYPES:
            for value in INJECTIONS:
                self.assertRaises(InvalidValue, canonicalValue, kind, value)

    def test_notAString(self):
        for value in (None, 22, ["1.2.3.4"], b"1.2.3.4", True):
            self.assertRaises(InvalidValue, canonicalValue, "ip", value)

    def test_unicodeDigitsSaySo(self):
        e = self.assertRaises(InvalidValue, canonicalValue, "ip", "\u0661\u0662\u0663.1.1.1")
        self.assertIn("not plain ASCII", str(e))

    def test_longValueNotEchoedWhole(self):
        e = self.assertRaises(InvalidValue, canonicalValue, "word", "a" * 200 + ";")
        self.assertLess(len(str(e)), 150)

    def test_unknownType(self):
        self.assertRaises(InvalidValue, canonicalValue, "path", "/etc")


class CanonicalValuePropertyTests(SynchronousTestCase):
    """
    Any string either validates to its type's canonical form or is
    refused; what is accepted never starts with '-' and holds no blank or
    shell metacharacter.
    """

    def check(self, kind, value):
        try:
            canonical = canonicalValue(kind, value)
        except InvalidValue:
            return None
        self.assertTrue(SAFE_VALUE.match(canonical), canonical)
        self.assertFalse(canonical.startswith("-"))
        self.assertFalse(set(canonical) & SHELL_META, canonical)
        self.assertTrue(canonical.isascii())
        self.assertEqual(canonicalValue(kind, canonical), canonical, "canonical is a fixpoint")
        return canonical

    @given(st.sampled_from(PARAM_TYPES), st.text(max_size=60))
    @example("ip", "\u0661\u0662\u0663.1.1.1")
    @example("port", "\u0662\u0662")
    @example("word", "-rf")
    def test_anyText(self, kind, value):
        canonical = self.check(kind, value)
        if canonical is not None and kind == "ip":
            self.assertEqual(ipaddress.ip_address(canonical), ipaddress.ip_address(value))

    @given(st.sampled_from(PARAM_TYPES),
           st.text(alphabet=st.sampled_from("0123456789abcdef.:/-_ %;$`x\n"), max_size=40))
    def test_nearMisses(self, kind, value):
        self.check(kind, value)

    @given(st.ip_addresses())
    def test_everyAddressAccepted(self, address):
        self.assertEqual(self.check("ip", str(address)), str(address))

    @given(st.ip_addresses(v=4), st.integers(16, 32))
    def test_networksAccepted(self, address, prefix):
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        self.assertEqual(self.check("cidr", f"{address}/{prefix}"), str(network))

    @given(st.from_regex(re.compile(r"[a-z_][a-z0-9_.-]{0,31}", re.ASCII), fullmatch=True))
    def test_usersAccepted(self, user):
        self.assertEqual(self.check("user", user), user)


class NeverListTests(SynchronousTestCase):
    def setUp(self):
        self.never = NeverList(ALWAYS_NEVER).extended(
            [("192.0.2.10", "this host"), ("198.51.100.0/24", "NEVER")])

    def test_addresses(self):
        for value in ("127.0.0.1", "127.3.4.5", "::1", "0.0.0.0", "::", "192.0.2.10",
                      "198.51.100.77"):
            self.assertIsNotNone(self.never.why("ip", canonicalValue("ip", value)), value)
        for value in ("192.0.2.11", "2001:db8::1", "198.51.101.1"):
            self.assertIsNone(self.never.why("ip", canonicalValue("ip", value)), value)

    def test_mappedAddresses(self):
        """
        An IPv4-mapped IPv6 address counts as its IPv4 address.
        """
        why = self.never.why("ip", canonicalValue("ip", "::ffff:127.0.0.1"))
        self.assertIn("loopback", why)
        self.assertIsNotNone(self.never.why("ip", canonicalValue("ip", "::ffff:192.0.2.10")))

    def test_overlappingNetworks(self):
        limits = Limits(cidr4=0, cidr6=0)
        for value in ("192.0.2.0/24", "198.51.100.128/25", "126.0.0.0/7", "0.0.0.0/0",
                      "::/0", "::ffff:0:0/96"):
            self.assertIsNotNone(self.never.why("cidr", canonicalValue("cidr", value, limits)),
                                 value)
        self.assertIsNone(self.never.why("cidr", "203.0.113.0/24"))

    def test_whySaysWhich(self):
        self.assertIn("this host: 192.0.2.10/32", self.never.why("ip", "192.0.2.10"))

    def test_otherTypesUnchecked(self):
        self.assertIsNone(self.never.why("user", "root"))


class TemplateTests(SynchronousTestCase):
    def test_words(self):
        template = Template.parse('/usr/sbin/nft add element inet mice "ban list" { {ip} }')
        self.assertEqual(template.build({"ip": "192.0.2.7"}),
                         ["/usr/sbin/nft", "add", "element", "inet", "mice", "ban list", "{",
                          "192.0.2.7", "}"])
        self.assertEqual(template.placeholders, ["ip"])
        self.assertEqual(template.program, "/usr/sbin/nft")

    def test_oneWordPerValue(self):
        """
        A value is one word whatever it holds (the checks refuse blanks;
        the template never splits).
        """
        template = Template.parse("/bin/x {a} {b}")
        self.assertEqual(template.build({"a": "1 2", "b": "$(id)"}), ["/bin/x", "1 2", "$(id)"])

    def test_placeholderWholeWord(self):
        for text in ("/bin/x -s{ip}", "/bin/x {ip}/32", "/bin/x {a}{b}", "/bin/x --ip={ip}",
                     "/bin/x {ip", "/bin/x {IP}"):
            e = self.assertRaises(ValueError, Template.parse, text)
            self.assertIn("whole word", str(e))

    def test_program(self):
        self.assertIn("absolute path", str(self.assertRaises(ValueError, Template.parse,
                                                              "iptables -I INPUT")))
        self.assertIn("placeholder", str(self.assertRaises(ValueError, Template.parse,
                                                            "{prog} x")))
        self.assertRaises(ValueError, Template.parse, "")
        self.assertRaises(ValueError, Template.parse, '/bin/x "unbalanced')

    def test_str(self):
        self.assertEqual(str(Template.parse("/bin/x 'a b' {ip}")), "/bin/x 'a b' {ip}")


class ParamsTests(SynchronousTestCase):
    spec = {"ip": "ip", "port": "port"}

    def test_canonical(self):
        self.assertEqual(checkParams(self.spec, {"ip": "2001:DB8::1", "port": "022"}),
                         {"ip": "2001:db8::1", "port": "22"})

    def test_missingAndUnknown(self):
        self.assertIn("missing parameter(s) port", str(self.assertRaises(
            InvalidValue, checkParams, self.spec, {"ip": "192.0.2.7"})))
        self.assertIn("unknown parameter(s) 'cmd'", str(self.assertRaises(
            InvalidValue, checkParams, self.spec, {"ip": "192.0.2.7", "port": "22",
                                                   "cmd": "id"})))
        self.assertRaises(InvalidValue, checkParams, self.spec, ["192.0.2.7"])

    def test_nameInReason(self):
        e = self.assertRaises(InvalidValue, checkParams, self.spec,
                              {"ip": "192.0.2.7", "port": "$(id)"})
        self.assertTrue(str(e).startswith("port: "))

    def test_neverList(self):
        never = NeverList(ALWAYS_NEVER)
        e = self.assertRaises(InvalidValue, checkParams, self.spec,
                              {"ip": "127.0.0.1", "port": "22"}, never=never)
        self.assertIn("never list (loopback", str(e))

    def test_spec(self):
        self.assertEqual(parseParamSpec("ip:ip, port:port  user:user"),
                         [("ip", "ip"), ("port", "port"), ("user", "user")])
        for bad in ("ip", "ip:address", "IP:ip", ":ip", ""):
            self.assertRaises(ValueError, parseParamSpec, bad)

    def test_ipv6(self):
        self.assertTrue(isIPv6Params({"ip": "ip"}, {"ip": "2001:db8::1"}))
        self.assertFalse(isIPv6Params({"ip": "ip"}, {"ip": "192.0.2.1"}))
        self.assertFalse(isIPv6Params({"w": "word"}, {"w": "a"}))
