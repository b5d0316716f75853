"""
Tests for L{mice.reactors}, the ManagementHost's reaction agents: what
they share (alerts to react to, hostile text).
"""

from hypothesis import strategies as st

from mice.alerts import SEVERITIES, Alert, Node, RoutedAlert
from mice.idmef import toXml

#: Text an attacker can put in a log line, and so in an alert's fields.
NASTY = st.sampled_from(["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\r", "\n", "\r\n",
                         "\t", "\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "\udc80",
                         "\U000e0001", '"', "\\", "\\x0a", "] [", "\ue000", "\U0010ffff",
                         "é", "\u4e2d", " key=\"forged\"", "<evil/>", "&amp;"])
TEXT = st.lists(st.one_of(st.characters(), NASTY), max_size=12).map("".join)
LONG = st.builds(lambda text, times: text * times, TEXT.filter(bool), st.integers(1, 3000))
HOSTILE = st.one_of(TEXT, LONG)
OPTIONAL = st.none() | HOSTILE

NODES = st.builds(
    Node, address=st.none() | st.sampled_from(["192.0.2.7", "2001:db8::1"]) | HOSTILE,
    hostname=OPTIONAL, port=st.none() | st.integers(0, 65535), user=OPTIONAL,
    process=OPTIONAL, service=OPTIONAL)

ALERTS = st.builds(
    Alert, messageId=HOSTILE, analyzerId=HOSTILE,
    createTime=st.just("2026-11-22T10:00:01+00:00"), classification=HOSTILE,
    alertId=st.none() | st.integers(0, 0xFFFF), severity=st.sampled_from(SEVERITIES),
    sources=st.lists(NODES, max_size=3).map(tuple), targets=st.lists(NODES, max_size=3).map(tuple),
    analyzerHost=OPTIONAL)

#: Keys as the ManagementHost makes them: short, but from a sender's name.
KEYS = st.lists(st.one_of(st.characters(), NASTY), min_size=1, max_size=40).map("".join)

ROUTED = st.builds(
    lambda key, alert, description, sender: RoutedAlert(
        key, alert, "<IDMEF-Message/>", description, sender, "2026-11-22T10:00:02Z"),
    KEYS, ALERTS, HOSTILE, HOSTILE)


def alert(number=1, logLine="Nov 22 10:00:01 web01 sshd[1]: Failed password for root",
          **changes):
    """
    An alert as our analysis agents raise them.
    """
    fields = dict(
        messageId=str(number), analyzerId="MICE-RegEx", createTime="2026-11-22T10:00:01+00:00",
        classification="RT_AUTH_F", alertId=0x1020, severity="high",
        sources=(Node(address="192.0.2.7", user="mallory"),),
        targets=(Node(address="10.0.0.1", hostname="web01", user="root", service="ssh"),),
        analyzerHost="aa01",
        additionalData=(("log line", logLine), ("origin", f"web01 messages {number}")))
    fields.update(changes)
    return Alert(**fields)


def routed(number=1, key=None, document=None, description="Authentication failed", **changes):
    """
    A L{RoutedAlert} of L{alert}C{(number)}, its document written by
    L{mice.idmef.toXml}.
    """
    made = alert(number, **changes)
    if document is None:
        document = toXml(made).decode("utf-8")
    return RoutedAlert(key or f"web01/0/{number}/0", made, document, description, "aa01",
                       "2026-11-22T10:00:02Z")
