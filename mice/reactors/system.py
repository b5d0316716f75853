# -*- test-case-name: tests.unit.reactors.test_system -*-
"""
The ReactionDaemon's modules C{mice_mod_rct_system} (runs a configured
command) and C{mice_mod_rct_dummy} (logs the command it would run).

A command is an argv built from the config's template and the request's
checked parameters (L{mice.reactors.argv}), run with
C{reactor.spawnProcess(protocol, argv[0], argv, env={...})}: no shell, no
PATH search (the program is an absolute path), a minimal environment, no
standard input.  It is killed after C{TIMEOUT} (SIGTERM, then SIGKILL), and
its exit status and the first lines of its standard error are reported.
"""

import os
import signal
from typing import NamedTuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from zope.interface import implementer

from mice.config import RctSystemSettings, loadRctSystem
from mice.interfaces import ICountermeasureModule
from mice.reactors.argv import ALWAYS_NEVER, Limits, NeverList, Template, checkParams, isIPv6Params

log = Logger()

#: The whole environment of a command: nothing of the daemon's leaks in.
BASE_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}

#: How much of a command's standard error is kept, and how many lines are
#: reported.
STDERR_BYTES = 4096
STDERR_LINES = 5
#: Seconds between SIGTERM and SIGKILL for a command that timed out.
KILL_GRACE = 3.0


class CommandResult(NamedTuple):
    """
    How a command ended.

    @ivar exitCode: its exit status, or C{None} when a signal ended it.
    @ivar signal: the name of the signal that ended it, or C{None}.
    @ivar stderr: the first lines of its standard error.
    @ivar timedOut: it ran longer than TIMEOUT and was killed.
    """

    argv: tuple
    exitCode: int | None
    signal: str | None
    stderr: tuple
    timedOut: bool = False

    @property
    def ok(self):
        return self.exitCode == 0 and not self.timedOut

    def describe(self):
        if self.ok:
            return "exit 0"
        if self.timedOut:
            text = "timed out and was killed"
        elif self.signal is not None:
            text = f"killed by {self.signal}"
        else:
            text = f"exit status {self.exitCode}"
        return text + (f": {self.stderr[0]}" if self.stderr else "")


def _signalName(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Command(ProcessProtocol):
    def __init__(self, argv, finished):
        self.argv = tuple(argv)
        self.finished = finished
        self.stderr = bytearray()
        self.timedOut = False

    def connectionMade(self):
        self.transport.closeStdin()

    def outReceived(self, data):
        pass  # read and dropped, so a chatty command never blocks on a full pipe

    def errReceived(self, data):
        room = STDERR_BYTES - len(self.stderr)
        if room > 0:
            self.stderr += data[:room]

    def processEnded(self, reason):
        exitCode = getattr(reason.value, "exitCode", None)
        number = getattr(reason.value, "signal", None)
        text = self.stderr.decode("utf-8", "replace")
        lines = tuple(line.strip()[:300] for line in text.splitlines() if line.strip())
        finished, self.finished = self.finished, None
        if finished is not None:
            finished.callback(CommandResult(
                self.argv, exitCode if number is None else None,
                None if number is None else _signalName(number), lines[:STDERR_LINES],
                self.timedOut))


def _kill(transport, signalName):
    """
    Signal the command's process group when it leads one (it made its own:
    its children go too), else the process.
    """
    pid = getattr(transport, "pid", None)
    if pid is not None:
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, getattr(signal, "SIG" + signalName))
                return
        except OSError:
            pass
    try:
        transport.signalProcess(signalName)
    except Exception:
        pass  # already gone


def runnable(path):
    return os.access(path, os.X_OK)


def runCommand(reactor, argv, timeout, environment=None, canRun=runnable):
    """
    Run C{argv} (a list of C{str}, C{argv[0]} an absolute path) without a
    shell.

    @param reactor: an C{IReactorProcess} and C{IReactorTime}.
    @param timeout: seconds before it is killed.
    @param canRun: whether a path is a program this process may run.
    @return: a Deferred firing with a L{CommandResult} (never failing: a
        command that cannot start is a result with exit status 127).
    """
    finished = Deferred()
    protocol = _Command(argv, finished)
    env = dict(BASE_ENVIRONMENT, **(environment or {}))
    if not canRun(argv[0]):
        problem = "no such file" if not os.path.exists(argv[0]) else "not executable"
        return succeed(CommandResult(tuple(argv), 127, None,
                                     (f"cannot run {argv[0]}: {problem}",)))
    try:
        transport = reactor.spawnProcess(protocol, argv[0], list(argv), env=env,
                                         usePTY=False, childFDs={0: "w", 1: "r", 2: "r"})
    except Exception as e:  # the program is missing, or the system is out of processes
        return succeed(CommandResult(tuple(argv), 127, None, (f"cannot start: {e}",)))

    def tooLong():
        protocol.timedOut = True
        log.warn("command {argv} ran longer than {timeout}s: killing it", argv=argv[0],
                 timeout=timeout)
        _kill(transport, "TERM")
        escalation[0] = reactor.callLater(KILL_GRACE, _kill, transport, "KILL")

    escalation = [None]
    timer = reactor.callLater(timeout, tooLong)

    def ended(result):
        for call in (timer, escalation[0]):
            if call is not None and call.active():
                call.cancel()
        return result

    return finished.addCallback(ended)


def neverList(settings):
    """
    The never list of a config: loopback and the unspecified addresses,
    and its NEVER entries.
    """
    return NeverList(list(ALWAYS_NEVER)
                     + [(network, f"NEVER at {os.path.basename(settings.path or '')}:{line}")
                        for network, line in settings.never])


@implementer(ICountermeasureModule)
class SystemModule:
    """
    C{mice_mod_rct_system}: runs the configured ARGV to apply and UNDO to
    lift (ARGV6/UNDO6 when an address is IPv6 and they are given).
    """

    name = "mice_mod_rct_system"

    def __init__(self, settings, reactor):
        self.settings = settings
        self.reactor = reactor
        self.spec = dict(settings.params)
        self.limits = Limits(settings.cidr4, settings.cidr6)
        self.never = neverList(settings)
        self.defaultDuration = settings.duration
        self.maxDuration = settings.maxDuration
        self.rate = settings.rate
        self.timeout = settings.timeout
        self.canRun = runnable

    def __repr__(self):
        return f"<{self.name} {self.settings.path}>"

    def check(self, params, protected=()):
        never = self.never.extended(protected) if protected else self.never
        return checkParams(self.spec, params, self.limits, never)

    def argv(self, params, undo=False):
        """
        The argv for canonical C{params}.
        """
        settings = self.settings
        ipv6 = settings.argv6 is not None and isIPv6Params(self.spec, params)
        if undo:
            template = settings.undo6 if ipv6 else settings.undo
        else:
            template = settings.argv6 if ipv6 else settings.argv
        return template.build(params)

    def _environment(self, action, reactionId):
        return {"MICE_ACTION": action, "MICE_REACTION_ID": reactionId}

    def apply(self, params, reactionId):
        return self._run(self.argv(params), "apply", reactionId)

    def undo(self, params, reactionId):
        return self._run(self.argv(params, undo=True), "undo", reactionId)

    def _run(self, argv, action, reactionId):
        return runCommand(self.reactor, argv, self.timeout,
                          self._environment(action, reactionId), self.canRun)


class DummyModule(SystemModule):
    """
    C{mice_mod_rct_dummy}: checks requests exactly as C{mice_mod_rct_system}
    does and logs the command it would run, without running it.
    """

    name = "mice_mod_rct_dummy"

    def _run(self, argv, action, reactionId):
        log.info("mice_mod_rct_dummy: would {action} ({id}): {argv}", action=action,
                 id=reactionId, argv=" ".join(argv))
        return succeed(CommandResult(tuple(argv), 0, None, ()))


#: The dummy's command when it has no config: an iptables ban of C{ip}.
DUMMY_DEFAULTS = RctSystemSettings(
    path=None, argv=Template.parse("/usr/sbin/iptables -w -I INPUT -s {ip} -j DROP"),
    undo=Template.parse("/usr/sbin/iptables -w -D INPUT -s {ip} -j DROP"),
    argv6=Template.parse("/usr/sbin/ip6tables -w -I INPUT -s {ip} -j DROP"),
    undo6=Template.parse("/usr/sbin/ip6tables -w -D INPUT -s {ip} -j DROP"),
    params=(("ip", "ip"),))


def build(configPath, reactor):
    """
    The C{mice_mod_rct_system} of C{configPath} (RCT_FILE, required).

    @raise mice.config.ConfigError: it is missing or bad.
    """
    from mice.config import ConfigError

    if configPath is None:
        raise ConfigError("mice_mod_rct_system", None, "needs an RCT_FILE (the command it"
                                                       " runs)")
    return SystemModule(loadRctSystem(configPath), reactor)


def buildDummy(configPath, reactor):
    """
    The C{mice_mod_rct_dummy} of C{configPath}, or an iptables ban of an
    C{ip} parameter without one.
    """
    settings = DUMMY_DEFAULTS if configPath is None else loadRctSystem(configPath)
    return DummyModule(settings, reactor)
