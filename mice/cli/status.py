# -*- test-case-name: tests.integration.test_status -*-
"""
C{mice status [CONFIG...]}: whether each daemon runs, what it listens on
(or sends to) and its counters, like the seed's rc scripts' C{status}.

A daemon's pid file is C{PIDPATH/mice-<role>.pid}, as
L{mice.tap.runtime.applyRunSettings} has twistd write it when no
C{--pidfile} is given.  Without CONFIG, every config in C{/etc/M-ICE} that
is a daemon's (BufferDaemon, DataForwarder, ReactionDaemon) is looked at;
the modules' own configs are skipped.

Exit status as LSB's C{status} action: 0 when every daemon runs, 3 when
some does not, 4 when it cannot be told (a bad config, no PIDPATH, no
daemon config found).
"""

import glob
import os
import sys

#: Config kinds that run as a daemon, and the name of their pid file.
DAEMONS = {"bufferdaemon": "mice-bufferdaemon", "dataforwarder": "mice-dataforwarder",
           "reactiondaemon": "mice-reactiondaemon"}

RUNNING, STOPPED, UNKNOWN = 0, 3, 4

DEFAULT_DIRECTORY = "/etc/M-ICE"


def pidFileOf(kind, settings):
    """
    The pid file a daemon of C{kind} run from C{settings} writes, or C{None}
    without PIDPATH.
    """
    if not settings.pidPath:
        return None
    return os.path.join(settings.pidPath, DAEMONS[kind] + ".pid")


def processState(pidFile, role, proc="/proc"):
    """
    Whether the process of C{pidFile} runs.

    @param role: the twistd command it must be running (C{mice-bufferdaemon}),
        to tell a live daemon from a pid reused by another program.
    @return: C{(status, text)}.
    """
    try:
        with open(pidFile) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return STOPPED, f"not running (no pid file {pidFile})"
    except OSError as e:
        return UNKNOWN, f"cannot tell: {pidFile}: {e.strerror}"
    if not text.isdigit():
        return UNKNOWN, f"cannot tell: {pidFile} holds no pid"
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return STOPPED, f"not running (stale pid file {pidFile}: no process {pid})"
    except PermissionError:
        pass
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        argv = None
    if argv is not None and role.encode() not in argv:
        return STOPPED, (f"not running (stale pid file {pidFile}: process {pid} is"
                         f" {os.path.basename(argv[0].decode(errors='replace')) or 'another'}"
                         " program)")
    return RUNNING, f"running (pid {pid})"


def addresses(kind, settings):
    """
    What the daemon listens on, or sends to (a DataForwarder), as text.
    """
    if kind == "dataforwarder":
        servers = [f"{name} {server.host}:{server.port}"
                   for name, server in (("raw-log store", settings.sqlServer),
                                        ("analysis agent", settings.analysisServer))
                   if server.enabled]
        return "sends to " + (", ".join(servers) if servers else "nothing")
    return "listens on " + ", ".join(settings.endpoints)


def metricsLines(settings, timeout=2.0):
    """
    The counters of the daemon's metrics endpoint (C{[METRICS]}), when its
    config enables one: the Prometheus text's samples; C{["metrics off"]}
    otherwise.
    """
    metrics = getattr(settings, "metrics", None)
    url = getattr(metrics, "url", None)
    if not url:
        return ["metrics off"]
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read(1 << 20).decode("utf-8", "replace")
    except OSError as e:
        return [f"metrics: {url}: {getattr(e, 'reason', None) or e}"]
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def configsIn(directory):
    return sorted(glob.glob(os.path.join(directory, "*.conf")))


def statusOf(path, loadConfig, explicit):
    """
    @return: C{(status, lines)}, or C{None} for a config that is not a
        daemon's, found in the directory.
    """
    from mice.config import ConfigError

    try:
        loaded = loadConfig(path)
    except ConfigError as e:
        return UNKNOWN, [f"{path}: cannot tell, the config does not load:", *str(e).splitlines()]
    except OSError as e:
        return UNKNOWN, [f"{path}: cannot tell: {e.strerror}"]
    if loaded.kind not in DAEMONS:
        if not explicit:
            return None
        return UNKNOWN, [f"{path}: a {loaded.kind} config, not a daemon's"]
    role = DAEMONS[loaded.kind]
    settings = loaded.settings
    pidFile = pidFileOf(loaded.kind, settings)
    if pidFile is None:
        status, text = UNKNOWN, ("cannot tell: no PIDPATH (twistd wrote twistd.pid in its"
                                 " working directory, or --pidfile named one)")
    else:
        status, text = processState(pidFile, role)
    lines = [f"{path}: {role}: {text}", f"    {addresses(loaded.kind, settings)}"]
    if status == RUNNING:
        lines += [f"    {line}" for line in metricsLines(settings)]
    return status, lines


def run(args):
    from mice.config import loadConfig

    paths = args.configs or configsIn(args.directory)
    results = []
    for path in paths:
        result = statusOf(path, loadConfig, bool(args.configs))
        if result is None:
            continue
        status, lines = result
        print("\n".join(lines))
        results.append(status)
    if not results:
        print(f"no daemon config in {args.directory}", file=sys.stderr)
        return UNKNOWN
    if STOPPED in results:
        return STOPPED
    return UNKNOWN if UNKNOWN in results else RUNNING


def addParser(commands):
    p = commands.add_parser(
        "status", help="whether each daemon runs, what it listens on, its counters",
        description="Exit status 0 when every daemon runs, 3 when some does not, 4 when"
                    " it cannot be told.")
    p.add_argument("configs", nargs="*", metavar="CONFIG",
                   help="daemon configs (default: those in --directory)")
    p.add_argument("--directory", default=DEFAULT_DIRECTORY,
                   help=f"where to look for configs without CONFIG (default"
                        f" {DEFAULT_DIRECTORY})")
    p.set_defaults(run=run)
