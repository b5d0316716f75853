# -*- test-case-name: tests.unit.reactors.test_countermeasure -*-
"""
Reaction 4, C{rid_4_countermeasure}: the ManagementHost asks the
ReactionDaemons to ban an alert's source.

For each alert the ManagementHost's reaction service hands it
(L{mice.interfaces.IReaction}), the agent works out from
C{rid_4_countermeasure.conf} which function and parameters the alert id
maps to (by default: ban the alert's source address), which ReactionDaemon
serves the host the alert is about (or every one, for a shared ban), and
how long: each new ban of the same address lasts C{FACTOR} times longer
than the last, up to C{MAXDURATION} (the offence history is kept in the
agent's own SQLite file, once per alert, so a repeated call never counts
twice).  The never list is enforced here as well as on the daemons: the
ManagementHost does not ask.

Each delivery has a reaction id derived from the alert's key and the
daemon, so a resend (the service calls L{react} at least once per job, and
again after a restart) is answered by the daemon with its first answer and
runs nothing twice.  L{react} fires once every daemon has answered: done,
with the outcome; refused for good by all, with L{ReactionRefused};
otherwise (a daemon down, a command that failed, a rate limit) it fails,
and the service retries with backoff.  L{activeCountermeasures} asks each
daemon what is active, for the console; the view is refreshed each time a
link comes (back) up.
"""

import os
import time

from twisted.internet.defer import DeferredList, ensureDeferred, succeed
from twisted.internet.endpoints import clientFromString
from twisted.logger import Logger
from zope.interface import implementer

from mice.config import CountermeasureRule, CountermeasureSettings, loadCountermeasure
from mice.db.countermeasures import SynchronousPool
from mice.interfaces import IReaction, ReactionRefused
from mice.protocols import reaction as messages
from mice.reactors.escalation import PlanRefused, escalated, neverList, planFor, reactionId
from mice.security.policy import LinkSecurity

log = Logger()

PIPE = "rid_4_countermeasure"

OFFENCE_SCHEMA = (
    # One row per alert that asked for a ban.  "counted" rows are new bans
    # (they escalate the next one); an alert about a subject whose ban is
    # still running renews that ban and is not counted.
    """CREATE TABLE IF NOT EXISTS offence (
        key TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        at REAL NOT NULL,
        duration INTEGER NOT NULL,
        counted INTEGER NOT NULL,
        previous INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS offence_subject ON offence (subject, at)",
)


class ReactionRetry(Exception):
    """
    Not done yet (a daemon down, a command that failed, a rate limit): the
    service tries again later.
    """


def createOffences(txn):
    for statement in OFFENCE_SCHEMA:
        txn.execute(statement)


def recordOffence(txn, key, subject, now, history, base, factor, maximum, escalate):
    """
    The duration of the ban alert C{key} asks for: the one decided the
    first time this alert was seen (a repeated call changes nothing), else
    decided now and recorded.  While a ban of C{subject} is still running
    (alerts already on their way when it began), an alert renews it with
    the same duration; otherwise it is a new ban, C{factor} times longer
    for each ban of C{subject} in the last C{history} seconds (0: ever).

    @return: C{(duration, previous bans)}.
    """
    txn.execute("SELECT duration, previous FROM offence WHERE key = ?", (key,))
    row = txn.fetchone()
    if row is not None:
        return row[0], row[1]
    since = now - history if history else float("-inf")
    txn.execute("SELECT COUNT(*) FROM offence WHERE subject = ? AND counted = 1 AND at >= ?",
                (subject, since))
    previous = txn.fetchone()[0]
    txn.execute("SELECT duration FROM offence WHERE subject = ? AND counted = 1"
                " AND (duration = 0 OR at + duration > ?) ORDER BY at DESC LIMIT 1",
                (subject, now))
    running = txn.fetchone()
    if running is not None:
        duration, counted, previous = running[0], 0, max(0, previous - 1)
    else:
        duration = escalated(base, previous, factor, maximum) if escalate else base
        counted = 1
    txn.execute("INSERT INTO offence (key, subject, at, duration, counted, previous)"
                " VALUES (?, ?, ?, ?, ?, ?)", (key, subject, now, duration, counted, previous))
    return duration, previous


def offences(txn, subject):
    """
    @return: C{(alerts, bans)} recorded for C{subject}.
    """
    txn.execute("SELECT COUNT(*), COALESCE(SUM(counted), 0) FROM offence WHERE subject = ?",
                (subject,))
    return tuple(txn.fetchone())


def _clip(text, size=200):
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= size else text[:size - 3] + "..."


@implementer(IReaction)
class CountermeasureReaction:
    """
    @param settings: a L{mice.config.CountermeasureSettings}.
    @param pool: what runs the offence history's transactions
        (C{runInteraction}).
    @param clock: an C{IReactorTime}.
    @param makeClient: C{makeClient(daemonSettings, onReady)} returns a
        started-on-L{start} L{mice.services.reactionclient.ReactionClient}.
    @param ownAddresses: the ManagementHost's addresses (never banned).
    """

    pipe = PIPE

    def __init__(self, settings, pool, clock, makeClient, ownAddresses=()):
        self.settings = settings
        self.pool = pool
        self.clock = clock
        self.never = neverList(settings, ownAddresses)
        self._stopped = False
        self.clients = {daemon.name: makeClient(daemon, self._linkReady)
                        for daemon in settings.daemons}
        self.view = {daemon.name: {"address": str(daemon.address), "active": None,
                                   "refreshed": None, "problem": "not asked yet"}
                     for daemon in settings.daemons}

    # IReaction

    def start(self):
        for client in self.clients.values():
            client.startService()
        return self.pool.runInteraction(createOffences)

    def stop(self):
        if self._stopped:
            return succeed(None)
        self._stopped = True
        stopping = [client.stopService() for client in self.clients.values()
                    if client.running]
        d = DeferredList([s for s in stopping if s is not None], consumeErrors=True)

        def close(_):
            close = getattr(self.pool, "close", None)
            if close is not None:
                close()

        return d.addCallback(close)

    def react(self, routed):
        return ensureDeferred(self._react(routed))

    async def _react(self, routed):
        alert = routed.alert
        try:
            plan = planFor(self.settings, alert, self.never)
        except PlanRefused as e:
            raise ReactionRefused(str(e)) from None
        if plan is None:
            return f"no countermeasure for alert {_aid(alert.alertId)} (SCOPE = none)"
        rule = plan.rule
        duration, previous = await self.pool.runInteraction(
            recordOffence, routed.key, plan.subject, self.clock.seconds(),
            self.settings.history, rule.duration, self.settings.factor,
            self.settings.maxDuration, rule.escalate)
        by = _clip(f"ManagementHost {PIPE}: alert {_aid(alert.alertId)} {routed.description}"
                   f" from {routed.receivedFrom}")
        asked = []
        for daemon in plan.daemons:
            client = self.clients[daemon.name]
            message = messages.react(reactionId(routed.key, daemon), messages.APPLY,
                                     fid=plan.fid, params=plan.params, duration=duration, by=by)
            timeout = self.settings.timeout if client.connected else min(5.0,
                                                                         self.settings.timeout)
            asked.append(client.request(message, timeout=timeout))
        answers = await DeferredList(asked, consumeErrors=True)
        what = (f"0x{plan.fid:06X} {' '.join(f'{k}={v}' for k, v in plan.params.items())}"
                f" for {'ever' if duration == 0 else f'{duration}s'}"
                f" (ban {previous + 1} of {plan.subject})")
        done, refused, retry = [], [], []
        for daemon, (ok, answer) in zip(plan.daemons, answers):
            if not ok:
                retry.append(f"{daemon.name}: {answer.getErrorMessage()}")
            elif answer["status"] == messages.DONE:
                done.append(f"{daemon.name}: {answer['text']}")
            elif answer["status"] == messages.REFUSED and not answer.get("retry"):
                refused.append(f"{daemon.name}: refused: {answer['text']}")
            else:
                retry.append(f"{daemon.name}: {answer['status']}: {answer['text']}")
        summary = "; ".join(done + refused + retry)
        log.info("countermeasure for alert {key}: {what}: {summary}", key=routed.key,
                 what=what, summary=summary)
        if retry:
            raise ReactionRetry(f"{what}: {summary}")
        if not done:
            raise ReactionRefused(f"{what}: {summary}")
        return _clip(f"{what}: {summary}", 1000)

    # The console's view

    def _linkReady(self, client):
        """
        A link came (back) up: what the daemon holds is what is active.
        """
        for name, candidate in self.clients.items():
            if candidate is client:
                ensureDeferred(self._refresh(name)).addErrback(
                    lambda f, name=name: log.failure("refreshing the view of {name}", f,
                                                     name=name))

    async def _refresh(self, name):
        client = self.clients[name]
        entry = self.view[name]
        active, after = [], 0
        stamp = f"{time.time():.6f}"
        try:
            while after is not None:
                answer = await client.request(messages.react(
                    f"list-{os.getpid()}-{stamp}-{after}", messages.LIST, after=after))
                if answer["status"] != messages.DONE:
                    raise ReactionRetry(answer["text"])
                active.extend(answer.get("active") or ())
                after = answer.get("next")
        except Exception as e:
            entry["problem"] = str(e)
            return entry
        entry.update(active=active, refreshed=self.clock.seconds(), problem=None)
        return entry

    async def _activeCountermeasures(self):
        await DeferredList([ensureDeferred(self._refresh(name)) for name in self.clients],
                           consumeErrors=True)
        return {name: dict(entry) for name, entry in self.view.items()}

    def activeCountermeasures(self):
        """
        Ask every ReactionDaemon what is active now.

        @return: a Deferred firing with C{{daemon name: {"address",
            "active" (the daemon's countermeasures, as its C{list} gives
            them, or C{None} if never known), "refreshed" (when), "problem"
            (why the last refresh failed, or C{None})}}}; a daemon that
            does not answer keeps its last known list.
        """
        return ensureDeferred(self._activeCountermeasures())


def _aid(alertId):
    return "?" if alertId is None else f"0x{alertId:04X}"


def _makeClient(reactor, source, timeout):
    from mice.services.reactionclient import ReactionClient

    def make(daemon, onReady):
        if daemon.tls is not None:
            security = LinkSecurity.fromSettings(True, tls=daemon.tls, where=daemon.name)
        else:
            security = LinkSecurity.fromSettings(True, daemon.password, daemon.cryptMod,
                                                 where=f"{PIPE} [{daemon.name}]",
                                                 keyName="PASSWORD")
        host = daemon.address.host.replace(":", r"\:")
        endpoint = security.wrapClientEndpoint(
            clientFromString(reactor, f"tcp:host={host}:port={daemon.address.port}:timeout=10"),
            daemon.tlsName or daemon.address.host)
        return ReactionClient(endpoint, reactor, source, security.securityFactory(),
                              description=f"{daemon.name} {daemon.address}", timeout=timeout,
                              onReady=onReady)

    return make


DEFAULTS = CountermeasureSettings(
    path=None, default=CountermeasureRule(1, (("ip", "source.address"),), 600, "host", True),
    alerts={}, daemons=(), factor=2.0, maxDuration=604800, history=604800, never=(),
    stateDb=None, timeout=30.0, source="mngmthost")

#: Where the offence history is kept when the config does not say.
DEFAULT_STATE_DB = os.path.join(os.sep, "var", "lib", "mice", "countermeasure.db")


def build(pipe, configPath, reactor, pipePath=None):
    """
    The countermeasure reaction of C{configPath} (C{rid_4_countermeasure.conf},
    or C{None}: no ReactionDaemon, every alert refused).

    @raise mice.config.ConfigError: the config is bad.
    """
    from mice.config import parseDatabaseUrl
    from mice.db.pools import connectionPool
    from mice.services.reactiondaemon import localAddresses

    settings = DEFAULTS if configPath is None else loadCountermeasure(configPath)
    path = settings.stateDb or DEFAULT_STATE_DB
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pool, _ = connectionPool(parseDatabaseUrl("sqlite:///" + path), reactor)
    agent = CountermeasureReaction(settings, pool, reactor,
                                   _makeClient(reactor, settings.source, settings.timeout),
                                   ownAddresses=localAddresses())
    agent.pipe = pipe
    return agent


def buildInMemory(settings, reactor, makeClient=None, ownAddresses=()):
    """
    The reaction with its history in memory (tests, benches).
    """
    return CountermeasureReaction(
        settings, SynchronousPool(), reactor,
        makeClient or _makeClient(reactor, settings.source, settings.timeout), ownAddresses)
