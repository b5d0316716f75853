# -*- test-case-name: tests.unit.services.test_reactiondaemon -*-
"""
The ReactionDaemon: it listens for reaction messages from authenticated
peers (L{mice.protocols.reaction}), hands each to the module of its
function ID, keeps the countermeasures it applied in a durable store, lifts
them when they expire, and after a restart lifts what expired meanwhile and
applies again what is still active.

L{Countermeasures} is the engine (decisions from L{mice.reactors.decisions},
commands from the modules, state in L{mice.db.countermeasures}, time from
the injected clock); L{ReactionDaemon} is the service that listens and
wires it.
"""

import ipaddress
import json
import os
import socket
from dataclasses import replace

from twisted.application.service import Service
from twisted.internet.defer import (
    Deferred,
    DeferredList,
    DeferredLock,
    DeferredSemaphore,
    ensureDeferred,
    succeed,
)
from twisted.logger import Logger

from mice.protocols import reaction as messages
from mice.protocols.admission import AdmissionPolicy, ListenLimits
from mice.protocols.guard import GuardFactory
from mice.protocols.reaction import DONE, FAILED, REFUSED, ReactionServerFactory
from mice.reactors.argv import InvalidValue, NeverList
from mice.reactors.decisions import (
    ACTIVE,
    LIFTED,
    LIFTING,
    Countermeasure,
    RateLimiter,
    backoffDelay,
    decideApply,
    effectiveDuration,
    isoTime,
    paramsKey,
    requestDigest,
    restorePlan,
)

log = Logger()


def _fid(fid):
    return f"0x{fid:06X}"


def _shownParams(params):
    return " ".join(f"{name}={value}" for name, value in sorted(params.items()))


def _commandFailure(result, what):
    """
    The C{failed} fields of a command that did not succeed.
    """
    return dict(text=f"{what} failed: {result.describe()}", exit=result.exitCode,
                signal=result.signal, stderr=list(result.stderr), retry=True)


class Countermeasures:
    """
    The ReactionDaemon's engine.

    @param functions: C{{fid: module}} (L{mice.interfaces.ICountermeasureModule}).
    @param store: a L{mice.db.countermeasures.CountermeasureStore}.
    @param clock: an C{IReactorTime}; C{clock.seconds()} is the time of
        every record.
    @param protected: C{(network, why)} pairs never acted on beside each
        module's own (this host's addresses).
    @param commandsAtOnce: how many commands may run at the same time.
    """

    def __init__(self, functions, store, clock, protected=(), retryInitial=1.0,
                 retryMaximum=300.0, commandsAtOnce=8):
        self.functions = dict(functions)
        self.store = store
        self.clock = clock
        self.protected = NeverList(protected)
        self.peers = set()
        self.retryInitial = retryInitial
        self.retryMaximum = retryMaximum
        self.current = {}
        self._byId = {}
        self._timers = {}
        self._attempts = {}
        self._locks = {}
        self._running = {}
        self._busy = set()
        # At most this many commands run at once (a restart re-applying
        # thousands of bans must not start thousands of processes).
        self._commands = DeferredSemaphore(commandsAtOnce)
        self._ordered = None
        self._rates = {fid: RateLimiter(module.rate) for fid, module in self.functions.items()}
        self.counts = {"requests": 0, "applied": 0, "extended": 0, "lifted": 0, "refused": 0,
                       "failed": 0, "repeats": 0}

    # -- state ------------------------------------------------------------------

    def _track(self, countermeasure):
        self.current[countermeasure.key] = countermeasure
        self._byId[countermeasure.id] = countermeasure.key
        self._ordered = None

    def _forget(self, countermeasure):
        self._ordered = None
        self.current.pop(countermeasure.key, None)
        self._byId.pop(countermeasure.id, None)
        self._cancelTimer(countermeasure.key)
        self._attempts.pop(countermeasure.key, None)

    def _cancelTimer(self, key):
        timer = self._timers.pop(key, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _later(self, key, delay, function, *args):
        self._cancelTimer(key)

        def fire():
            self._timers.pop(key, None)
            self._background(function(*args))

        self._timers[key] = self.clock.callLater(max(0.0, delay), fire)

    def _background(self, coroutine):
        d = ensureDeferred(coroutine)
        self._busy.add(d)
        d.addErrback(lambda f: log.failure("ReactionDaemon: background work failed", f))
        d.addBoth(lambda _: self._busy.discard(d))

    def _scheduleExpiry(self, countermeasure):
        if countermeasure.until is not None:
            self._later(countermeasure.key, countermeasure.until - self.clock.seconds(),
                        self._lift, countermeasure.key, "expiry", "expired")

    def _lock(self, key):
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = DeferredLock()
        return lock

    async def _locked(self, key, function, *args):
        lock = self._lock(key)
        await lock.acquire()
        try:
            return await function(*args)
        finally:
            lock.release()
            if not lock.locked and not lock.waiting:
                self._locks.pop(key, None)

    def protectedFor(self, peer):
        """
        The never-list entries of a request from C{peer}: this host's
        addresses, every peer that authenticated since the start, and
        C{peer} itself.
        """
        entries = list(self.protected)
        for host in {*self.peers, peer} - {None}:
            try:
                entries.append((ipaddress.ip_network(host), "a ManagementHost (a peer)"))
            except ValueError:
                pass
        return entries

    # -- starting and stopping ----------------------------------------------------

    async def restore(self):
        """
        Load the store; lift what expired while the daemon was down and
        what was being lifted; apply again what is still active (a reboot
        clears a firewall); schedule every expiry.
        """
        now = self.clock.seconds()
        found = await self.store.open(now)
        for countermeasure in found:
            self._track(countermeasure)
        undo, reapply = restorePlan(found, now)
        log.info("ReactionDaemon: {count} countermeasures in the store: {undo} to lift,"
                 " {reapply} to apply again", count=len(found), undo=len(undo),
                 reapply=len(reapply))
        for countermeasure in undo:
            self._later(countermeasure.key, 0, self._lift, countermeasure.key,
                        countermeasure.liftedBy or "expiry", countermeasure.liftReason
                        or "expired")
        for countermeasure in reapply:
            self._later(countermeasure.key, 0, self._reapply, countermeasure.key)

    def stop(self):
        """
        Cancel every timer; @return: a Deferred that fires once the work
        running now (commands have their timeout) is done.
        """
        for key in list(self._timers):
            self._cancelTimer(key)
        running = [d for d in self._busy]
        return DeferredList(running, consumeErrors=True) if running else succeed(None)

    # -- lifting and re-applying --------------------------------------------------------

    async def _lift(self, key, by, reason):
        await self._locked(key, self._liftLocked, key, by, reason)

    async def _liftLocked(self, key, by, reason, answer=None):
        """
        Lift the countermeasure of C{key}: recorded as being lifted, its
        undo run, then recorded as lifted; an undo that fails is tried
        again with backoff.

        @param answer: C{answer(lifted)} gives the answer record (see
            L{_record}) to commit with the lifted countermeasure.
        @return: C{(result, countermeasure)}: the L{CommandResult} of the
            undo and the countermeasure as recorded after it, or C{(None,
            None)} when there was nothing to lift.
        """
        countermeasure = self.current.get(key)
        if countermeasure is None:
            return None, None
        module = self.functions.get(countermeasure.fid)
        if module is None:
            log.error("ReactionDaemon: cannot lift {id}: function {fid} is no longer"
                      " configured", id=countermeasure.id, fid=_fid(countermeasure.fid))
            return None, None
        now = self.clock.seconds()
        if countermeasure.state != LIFTING:
            countermeasure = replace(countermeasure, state=LIFTING, liftedAt=now, liftedBy=by,
                                     liftReason=reason)
            await self.store.save([countermeasure])
            self._track(countermeasure)
        self._cancelTimer(key)
        result = await self._commands.run(module.undo, countermeasure.params,
                                          countermeasure.id)
        if result.ok:
            lifted = replace(countermeasure, state=LIFTED, liftedAt=self.clock.seconds())
            await self.store.save([lifted], answer=None if answer is None else answer(lifted))
            self._forget(lifted)
            self.counts["lifted"] += 1
            log.info("ReactionDaemon: lifted {id} ({fid} {params}): {reason}, by {by}",
                     id=lifted.id, fid=_fid(lifted.fid), params=_shownParams(lifted.params),
                     reason=reason, by=countermeasure.liftedBy)
            countermeasure = lifted
        else:
            attempt = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempt
            delay = backoffDelay(attempt, self.retryInitial, self.retryMaximum)
            log.error("ReactionDaemon: lifting {id} ({fid} {params}) failed: {problem};"
                      " trying again in {delay:g}s", id=countermeasure.id,
                      fid=_fid(countermeasure.fid), params=_shownParams(countermeasure.params),
                      problem=result.describe(), delay=delay)
            self._later(key, delay, self._lift, key, countermeasure.liftedBy,
                        countermeasure.liftReason)
        return result, countermeasure

    async def _reapply(self, key):
        await self._locked(key, self._reapplyLocked, key)

    async def _reapplyLocked(self, key):
        countermeasure = self.current.get(key)
        if countermeasure is None or countermeasure.state != ACTIVE:
            return
        if countermeasure.expired(self.clock.seconds()):
            return await self._liftLocked(key, "expiry", "expired")
        module = self.functions.get(countermeasure.fid)
        if module is None:
            log.error("ReactionDaemon: {id} belongs to function {fid}, which is no longer"
                      " configured: kept as it is", id=countermeasure.id,
                      fid=_fid(countermeasure.fid))
            return
        try:
            module.check(countermeasure.params, list(self.protected))
        except InvalidValue as e:
            log.warn("ReactionDaemon: {id} is no longer allowed ({reason}): lifting it",
                     id=countermeasure.id, reason=str(e))
            return await self._liftLocked(key, "the config", f"no longer allowed: {e}")
        result = await self._commands.run(module.apply, countermeasure.params,
                                          countermeasure.id)
        if result.ok:
            self._attempts.pop(key, None)
            log.info("ReactionDaemon: applied {id} ({fid} {params}) again", id=countermeasure.id,
                     fid=_fid(countermeasure.fid), params=_shownParams(countermeasure.params))
            self._scheduleExpiry(countermeasure)
        else:
            attempt = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempt
            delay = backoffDelay(attempt, self.retryInitial, self.retryMaximum)
            if countermeasure.until is not None:
                delay = min(delay, max(0.0, countermeasure.until - self.clock.seconds()))
            log.error("ReactionDaemon: applying {id} again failed: {problem}; trying again in"
                      " {delay:g}s", id=countermeasure.id, problem=result.describe(), delay=delay)
            self._later(key, delay, self._reapply, key)

    # -- requests -----------------------------------------------------------------

    def handle(self, request, peer=None, source="?"):
        """
        Do what C{request} (a L{mice.protocols.reaction.ReactionRequest})
        asks.

        @param peer: the asking peer's address (protected from bans).
        @return: a Deferred firing with the C{outcome} message (never
            failing).
        """
        d = ensureDeferred(self._handle(request, peer, source))
        self._busy.add(d)
        d.addBoth(lambda result: (self._busy.discard(d), result)[1])
        return d

    async def _handle(self, request, peer, source):
        self.counts["requests"] += 1
        if request.action == messages.LIST:
            return self._list(request)
        digest = requestDigest(request)
        running = self._running.get(request.id)
        if running is not None:
            if running[0] != digest:
                return self._answer(request, REFUSED, f"reaction id {request.id} is in use by"
                                                      " another request")
            waiter = Deferred()
            running[1].append(waiter)
            return dict(await waiter, repeat=True)
        waiters = []
        self._running[request.id] = (digest, waiters)
        try:
            answer = await self._decide(request, digest, peer, source)
        except Exception:
            log.failure("ReactionDaemon: request {id} failed", id=request.id)
            answer = messages.outcome(request.id, FAILED, "internal error in the ReactionDaemon"
                                      " (see its log)", retry=True)
        finally:
            del self._running[request.id]
        status = answer["status"]
        if status != DONE:
            self.counts[status] += 1
        (log.info if status == DONE else log.warn)(
            "reaction {id} from {peer} ({by}): {action} {what}: {status}: {text}",
            id=request.id, peer=peer, by=request.by or source, action=request.action,
            what=(f"{_fid(request.fid)} {_shownParams(request.params)}"
                  if request.target is None else request.target),
            status=status, text=answer["text"])
        for waiter in waiters:
            waiter.callback(answer)
        return answer

    def _answer(self, request, status, text, **extra):
        return messages.outcome(request.id, status, text, **extra)

    async def _decide(self, request, digest, peer, source):
        stored = await self.store.answerFor(request.id)
        if stored is not None:
            if stored[0] != digest:
                return self._answer(request, REFUSED, f"reaction id {request.id} was used"
                                                      " before for another request")
            self.counts["repeats"] += 1
            return dict(json.loads(stored[1]), repeat=True)
        asker = (f"{request.by} ({source}@{peer})" if request.by else f"{source}@{peer}")
        if request.action == messages.APPLY:
            return await self._apply(request, digest, peer, asker)
        return await self._undo(request, digest, asker)

    def _record(self, request, digest, answer):
        return (request.id, digest, json.dumps(answer, separators=(",", ":")),
                self.clock.seconds())

    async def _refuse(self, request, digest, text):
        answer = self._answer(request, REFUSED, text)
        await self.store.save(answer=self._record(request, digest, answer))
        return answer

    async def _apply(self, request, digest, peer, asker):
        module = self.functions.get(request.fid)
        if module is None:
            return await self._refuse(request, digest, f"no function {_fid(request.fid)} here"
                                                       f" (known: {', '.join(map(_fid, self.functions)) or 'none'})")
        try:
            params = module.check(request.params, self.protectedFor(peer))
        except InvalidValue as e:
            return await self._refuse(request, digest, str(e))
        duration, note = effectiveDuration(request.duration, module.defaultDuration,
                                           module.maxDuration)
        key = (request.fid, paramsKey(params))
        return await self._locked(key, self._applyLocked, request, digest, module, params,
                                  duration, note, asker)

    async def _applyLocked(self, request, digest, module, params, duration, note, asker):
        key = (request.fid, paramsKey(params))
        now = self.clock.seconds()
        existing = self.current.get(key)
        if existing is not None and existing.state == LIFTING:
            return self._answer(request, REFUSED, f"{existing.id} is being lifted (its undo"
                                                  " failed and is retried); ask again later",
                                retry=True)
        decision = decideApply(existing, now, duration)
        text = decision.note + (f" ({note})" if note else "")
        if not decision.run:
            updated = replace(existing, until=decision.until, lastBy=asker)
            answer = self._answer(request, DONE, text, countermeasure=updated.describe())
            await self.store.save([updated], answer=self._record(request, digest, answer))
            self._track(updated)
            if decision.changed:
                self.counts["extended"] += 1
                self._scheduleExpiry(updated)
            return answer
        wait = self._rates[request.fid].allow(now)
        if wait is not None:
            return self._answer(request, REFUSED, f"rate limit: RATE = {module.rate} commands"
                                                  f" a minute; ask again in {wait:.0f}s",
                                retry=True)
        countermeasure = Countermeasure(request.id, request.fid, params, now, decision.until,
                                        asker)
        # Recorded before the command runs: a crash while it runs leaves it
        # active in the store, and the restart applies it again.
        await self.store.save(created=[countermeasure])
        self._track(countermeasure)
        result = await self._commands.run(module.apply, params, request.id)
        if not result.ok:
            await self.store.save(deleted=[countermeasure.id])
            self._forget(countermeasure)
            return self._answer(request, FAILED, **_commandFailure(result, "the command"))
        self.counts["applied"] += 1
        answer = self._answer(request, DONE, text, countermeasure=countermeasure.describe())
        await self.store.save(answer=self._record(request, digest, answer))
        self._scheduleExpiry(countermeasure)
        return answer

    async def _undo(self, request, digest, asker):
        if request.target is not None:
            key = self._byId.get(request.target)
            if key is None:
                found = await self.store.find(request.target)
                if found is None:
                    return await self._refuse(request, digest,
                                              f"no countermeasure {request.target}")
                answer = self._answer(request, DONE, f"{found.id} was lifted already (at"
                                                     f" {isoTime(found.liftedAt or 0)} by"
                                                     f" {found.liftedBy}: {found.liftReason})",
                                      countermeasure=found.describe())
                await self.store.save(answer=self._record(request, digest, answer))
                return answer
        else:
            module = self.functions.get(request.fid)
            if module is None:
                return await self._refuse(request, digest,
                                          f"no function {_fid(request.fid)} here")
            try:
                # Lifting is always allowed: no never list here.
                params = module.check(request.params, ())
            except InvalidValue as e:
                return await self._refuse(request, digest, str(e))
            key = (request.fid, paramsKey(params))
        return await self._locked(key, self._undoLocked, request, digest, key, asker)

    async def _undoLocked(self, request, digest, key, asker):
        countermeasure = self.current.get(key)
        if countermeasure is None:
            answer = self._answer(request, DONE, "nothing active to lift")
            await self.store.save(answer=self._record(request, digest, answer))
            return answer
        if countermeasure.state == LIFTING:
            # Taken over by this request: recorded with who asked now.
            countermeasure = replace(countermeasure, liftedBy=asker, liftReason="undone by hand")
            await self.store.save([countermeasure])
            self._track(countermeasure)
        answered = []

        def answer(lifted):
            message = self._answer(request, DONE, f"lifted {lifted.id}",
                                   countermeasure=lifted.describe())
            answered.append(message)
            return self._record(request, digest, message)

        result, lifted = await self._liftLocked(key, asker, "undone by hand", answer)
        if result is None:
            return self._answer(request, FAILED, "cannot lift it here (its function is no"
                                                 " longer configured)")
        if not result.ok:
            return self._answer(request, FAILED,
                                **dict(_commandFailure(result, "the undo"),
                                       text=f"the undo failed: {result.describe()}; it is"
                                            " retried"))
        return answered[0]

    def _list(self, request):
        if self._ordered is None:
            self._ordered = sorted(self.current.values(), key=lambda c: (c.since, c.id))
        ordered = self._ordered
        page = ordered[request.after:request.after + request.limit]
        following = request.after + len(page)
        return self._answer(request, DONE, f"{len(ordered)} active",
                            active=[c.describe() for c in page],
                            next=following if following < len(ordered) else None)


def localAddresses():
    """
    This host's addresses, as text: IPv4 from C{/proc/net/fib_trie} (every
    local address, secondary ones too), IPv6 from C{/proc/net/if_inet6},
    and whatever the host name resolves to.
    """
    found = set()
    try:
        with open("/proc/net/fib_trie") as f:
            previous = None
            for line in f:
                text = line.strip()
                if text.startswith("/32 host LOCAL") and previous is not None:
                    found.add(previous)
                parts = text.split()
                previous = parts[1] if len(parts) == 2 and parts[0] in ("|--", "+--") else None
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                word = line.split()[0]
                found.add(str(ipaddress.IPv6Address(bytes.fromhex(word))))
    except (OSError, ValueError, IndexError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(info[4][0].split("%")[0])
    except OSError:
        pass
    valid = set()
    for address in found:
        try:
            valid.add(str(ipaddress.ip_address(address)))
        except ValueError:
            pass
    return sorted(valid)


class ReactionDaemon(Service):
    """
    Listens on C{endpoints} for reaction links secured by C{security} (a
    L{mice.security.policy.LinkSecurity}: the pre-shared key or TLS, never
    plain text) and hands every request to a L{Countermeasures}, once it
    has restored its state.
    """

    def __init__(self, endpoints, engine, security, onListenFailure=None, description="",
                 clock=None, limits=None, openFiles=None):
        """
        @param clock: for the guard's deadlines (the reactor by default).
        @param limits: the listener's L{mice.protocols.admission.ListenLimits}
            (C{[LIMITS]}; the defaults when C{None}): every connection is
            guarded (L{mice.protocols.guard}) like a BufferDaemon's.
        """
        if clock is None:
            from twisted.internet import reactor as clock
        self.endpoints = list(endpoints)
        self.engine = engine
        self.security = security
        self.description = description
        self.ports = []
        self.connections = set()
        self._onListenFailure = onListenFailure
        self.factory = ReactionServerFactory(self, security.securityFactory())
        self.guard = GuardFactory(security.wrapServerFactory(self.factory), clock,
                                  AdmissionPolicy(limits if limits is not None else ListenLimits()),
                                  openFiles, name=f"ReactionDaemon {description}".strip())
        self._listeningFactory = self.guard
        self.ready = Deferred()

    def startService(self):
        super().startService()
        d = ensureDeferred(self.engine.restore())
        d.addCallback(lambda _: self._listen())
        d.addCallback(lambda _: self.ready.callback(self))
        d.addErrback(self._startFailed)
        self._starting = d
        return d

    def _listen(self):
        if not self.running:
            # Stopped while the state was being restored: do not listen.
            return None
        def listening(port):
            self.ports.append(port)
            log.info("ReactionDaemon listening on {address}", address=port.getHost())

        return DeferredList([endpoint.listen(self._listeningFactory).addCallback(listening)
                             for endpoint in self.endpoints], fireOnOneErrback=True,
                            consumeErrors=True).addErrback(lambda f: f.value.subFailure)

    def _startFailed(self, failure):
        log.critical("ReactionDaemon cannot start: {reason}", reason=failure.getErrorMessage())
        if self._onListenFailure is not None:
            self._onListenFailure(failure)

    def stopService(self):
        """
        Stop listening, close the links and the engine; a stop during the
        start waits for the restore to finish first (else it would arm the
        expiries and listen after the stop).
        """
        super().stopService()
        waiting = Deferred()
        starting = getattr(self, "_starting", None)
        if starting is None:
            waiting.callback(None)
        else:
            starting.addBoth(lambda result: waiting.callback(None))
        return waiting.addCallback(lambda _: self._stopNow())

    def _stopNow(self):
        ports, self.ports = self.ports, []
        for connection in list(self.connections):
            connection.transport.loseConnection()
        stopping = [port.stopListening() for port in ports]
        d = DeferredList([*[d for d in stopping if d is not None], self.engine.stop()],
                         consumeErrors=True)
        d.addCallback(lambda _: self.engine.store.close())
        return d

    # What the protocol calls

    def connectionMade(self, connection):
        self.connections.add(connection)

    def connectionLost(self, connection, reason):
        self.connections.discard(connection)

    def peerAuthenticated(self, connection):
        host = connection.peerHost
        if host is not None:
            self.engine.peers.add(host)
        log.info("reaction link from {peer}: {source} authenticated ({mode})",
                 peer=connection.peer, source=connection.source, mode=self.security.mode)

    def requestReceived(self, connection, request):
        return self.engine.handle(request, connection.peerHost, connection.source)


def stateDatabase(directory):
    """
    The path of the state store in STATEDIR (made if need be).
    """
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, "reactiondaemon.db")
