# -*- test-case-name: tests.unit.reactors.test_countermeasure -*-
"""
The countermeasure reaction's decisions, pure: which parameters an alert
gives, which ReactionDaemons act on it, how long a repeat offender is
banned, and the reaction id of each delivery.

Named as fail2ban and CrowdSec users know them: the never list is
fail2ban's C{ignoreip}, escalation its C{bantime.increment} (each new ban of
the same address lasts C{FACTOR} times longer, up to C{MAXDURATION}, counting
the bans of the last C{HISTORY} seconds), a delivery CrowdSec's decision
(scope, value, duration, origin).
"""

import hashlib
import ipaddress

from mice.reactors.argv import ALWAYS_NEVER, NeverList

__all__ = ["Plan", "PlanRefused", "aboutHosts", "alertField", "daemonsFor", "escalated",
           "planFor", "reactionId", "subjectOf"]


class PlanRefused(Exception):
    """
    The alert asks for no countermeasure this reaction may ask for (no
    address, never list, no daemon): final.
    """


def alertField(alert, name):
    """
    The value of C{name} (C{source.address}, C{target.user}, ...) in
    C{alert}: from the first source (or target) node that has it.
    """
    side, _, attribute = name.partition(".")
    nodes = alert.sources if side == "source" else alert.targets
    for node in nodes:
        value = getattr(node, attribute, None)
        if value is not None and value != "":
            return str(value)
    return None


def aboutHosts(alert):
    """
    The names and addresses of the host an alert is about, lower case: its
    targets, the host its log line came from (the C{origin} the agents
    add), and the analyzer's host.
    """
    found = []

    def add(value):
        if value:
            for name in (value.lower(), value.lower().split(".")[0]):
                if name not in found:
                    found.append(name)

    for node in alert.targets:
        add(node.hostname)
        add(node.address)
    origin = alert.data("origin")
    if origin:
        add(origin.split(" ", 1)[0])
    add(alert.analyzerHost)
    return found


def daemonsFor(daemons, hosts, scope):
    """
    The ReactionDaemons (L{mice.config.DaemonLinkSettings}) that act on an
    alert about C{hosts}: C{scope} C{all} is every one (a shared ban),
    C{host} those serving one of C{hosts} (else those serving C{*}),
    C{none} none.
    """
    if scope == "all":
        return list(daemons)
    if scope != "host":
        return []
    serving = [d for d in daemons if any(host in d.serves for host in hosts)]
    return serving or [d for d in daemons if "*" in d.serves]


def subjectOf(params):
    """
    What a repeat offence is counted on: the first address or network among
    the parameters, else all of them.
    """
    for name in sorted(params):
        try:
            return str(ipaddress.ip_network(params[name], strict=False))
        except ValueError:
            continue
    return " ".join(f"{k}={v}" for k, v in sorted(params.items()))


def escalated(base, previous, factor, maximum):
    """
    How long the ban after C{previous} bans of the same subject lasts:
    C{base * factor ** previous}, at most C{maximum} (0: no maximum); a
    permanent base (0) stays permanent.
    """
    if base == 0:
        return 0
    duration = base * factor ** min(previous, 64)
    if maximum:
        duration = min(duration, maximum)
    return int(duration)


def reactionId(key, daemon):
    """
    The reaction id of the delivery of the alert C{key} to C{daemon}: the
    same across resends and ManagementHost restarts, different per daemon.
    """
    digest = hashlib.sha256(f"{key}\0{daemon.address}".encode("utf-8", "surrogatepass"))
    return "rid4-" + digest.hexdigest()[:40]


class Plan:
    """
    What one alert asks: a function, its parameters, and the daemons.
    """

    def __init__(self, rule, params, daemons, subject):
        self.rule = rule
        self.fid = rule.fid
        self.params = params
        self.daemons = daemons
        self.subject = subject


def neverList(settings, ownAddresses=()):
    """
    The ManagementHost's never list: loopback, NEVER, its own addresses
    and every ReactionDaemon's address.
    """
    entries = list(ALWAYS_NEVER)
    entries += [(network, f"NEVER at line {line}") for network, line in settings.never]
    entries += [(address, "the ManagementHost") for address in ownAddresses]
    for daemon in settings.daemons:
        try:
            ipaddress.ip_address(daemon.address.host)
        except ValueError:
            continue
        entries.append((daemon.address.host, f"the ReactionDaemon {daemon.name}"))
    return NeverList(entries)


def planFor(settings, alert, never):
    """
    @param settings: a L{mice.config.CountermeasureSettings}.
    @param never: from L{neverList}.
    @return: a L{Plan}, or C{None} when the alert's rule has scope C{none}.
    @raise PlanRefused: with the reason.
    """
    rule = settings.ruleFor(alert.alertId)
    if rule.scope == "none":
        return None
    params = {}
    for name, field in rule.params:
        value = alertField(alert, field)
        if value is None:
            raise PlanRefused(f"the alert has no {field} for {name}")
        params[name] = value
    for name, value in params.items():
        for kind in ("ip", "cidr"):
            try:
                canonical = (str(ipaddress.ip_address(value)) if kind == "ip"
                             else str(ipaddress.ip_network(value, strict=False)))
            except ValueError:
                continue
            why = never.why(kind, canonical)
            if why is not None:
                raise PlanRefused(f"{name}: {why}")
            break
        if value.startswith("-") or not value.isprintable() or not value.isascii():
            raise PlanRefused(f"{name}: {value[:40]!r} is not a value to act on")
    hosts = aboutHosts(alert)
    daemons = daemonsFor(settings.daemons, hosts, rule.scope)
    if not daemons:
        raise PlanRefused(f"no ReactionDaemon serves {', '.join(hosts) or 'the host'}"
                          " (SERVES in [DAEMON_n])")
    return Plan(rule, params, daemons, subjectOf(params))
