# -*- test-case-name: tests.integration.test_status -*-
"""
C{mice status [CONFIG...]}: whether each daemon runs, what it listens on
(or sends to) and its counters, like the seed's rc scripts' C{status}.

A daemon is found by its pid file, C{PIDPATH/mice-<role>.pid}, as
L{mice.tap.runtime.applyRunSettings} has twistd write it when no
C{--pidfile} is given; failing that (systemd's units run twistd with
C{--pidfile=}), by the command line of a process running
C{twistd ... mice-<role> -c CONFIG}, with its systemd unit when it has one.
Without CONFIG, every config in C{/etc/M-ICE} that is a daemon's
(BufferDaemon, DataForwarder, ReactionDaemon) is looked at; the modules'
own configs are skipped.

Exit status as LSB's C{status} action: 0 when every daemon runs, 3 when
some does not, 4 when it cannot be told (a bad config, no daemon config
found).
"""

import glob
import ipaddress
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


def _configArgument(argv, role):
    """
    The C{-c/--config} value of a twistd command line after C{role}, or
    C{None}.
    """
    try:
        words = argv[argv.index(role) + 1:]
    except ValueError:
        return None
    for i, word in enumerate(words):
        if word in ("-c", "--config") and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--config="):
            return word[len("--config="):]
        if word.startswith("-c") and len(word) > 2 and not word.startswith("--"):
            return word[2:]
    return None


def systemdUnit(pid, proc="/proc"):
    """
    The systemd unit (C{mice-bufferdaemon@rawlogdb.service}) whose cgroup
    holds C{pid}, or C{None}.
    """
    try:
        with open(os.path.join(proc, str(pid), "cgroup")) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        for part in reversed(line.rpartition(":")[2].split("/")):
            if part.endswith(".service"):
                return part
    return None


def findDaemons(role, config, proc="/proc"):
    """
    The pids of the processes running twistd's C{role} with the config file
    C{config}, found by their command lines (C{twistd ... mice-bufferdaemon
    -c CONFIG}; a relative CONFIG is taken from the process's working
    directory): how a daemon without a pid file is found, as under systemd,
    whose units run twistd with C{--pidfile=}.
    """
    wanted = os.path.realpath(config)
    found = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "cmdline"), "rb") as f:
                argv = [word.decode(errors="replace") for word in f.read().split(b"\0")]
        except OSError:
            continue
        named = _configArgument(argv, role)
        if named is None:
            continue
        if not os.path.isabs(named):
            try:
                named = os.path.join(os.readlink(os.path.join(proc, entry, "cwd")), named)
            except OSError:
                continue
        if os.path.realpath(named) == wanted:
            found.append(int(entry))
    return sorted(found)


def runningByCommandLine(role, config, proc="/proc"):
    """
    C{(RUNNING, text, pids)} when a process runs C{role} with C{config},
    by its command line (and its systemd unit, if any); else C{None}.
    """
    pids = findDaemons(role, config, proc)
    if not pids:
        return None
    units = [unit for unit in (systemdUnit(pid, proc) for pid in pids) if unit]
    text = f"running (pid {', '.join(map(str, pids))}, found by its command line"
    return RUNNING, text + (f"; systemd unit {', '.join(units)})" if units else ")"), pids


def listeningSockets(pid, proc="/proc"):
    """
    The TCP addresses process C{pid} listens on now (C{127.0.0.1:4444},
    C{[::]:9108}), from its descriptors and C{/proc/net/tcp*}; empty when
    they cannot be read (another user's process).
    """
    inodes = set()
    fds = os.path.join(proc, str(pid), "fd")
    try:
        names = os.listdir(fds)
    except OSError:
        return []
    for name in names:
        try:
            target = os.readlink(os.path.join(fds, name))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        try:
            with open(os.path.join(proc, str(pid), "net", table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[3] != "0A" or fields[9] not in inodes:
                continue
            host, port = fields[1].split(":")
            raw = bytes.fromhex(host)
            # The kernel writes each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
            address = ipaddress.ip_address(raw)
            text = str(address.ipv4_mapped or address) if width == 16 else str(address)
            found.append(f"[{text}]:{int(port, 16)}" if ":" in text
                         else f"{text}:{int(port, 16)}")
    return sorted(set(found))


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


def statusOf(path, loadConfig, explicit, proc="/proc"):
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
    pids = []
    if pidFile is None:
        status, text = STOPPED, "not running (no PIDPATH)"
    else:
        status, text = processState(pidFile, role, proc)
        if status == RUNNING:
            pids = [int(text.partition("pid ")[2].rstrip(")"))]
    if status != RUNNING:
        # Without a pid file (systemd's units give --pidfile=), or with a
        # stale one: a process running this config.
        found = runningByCommandLine(role, path, proc)
        if found is not None:
            status, text, pids = found
        elif status == STOPPED:
            text = text[:-1] + "; no process runs this config)"
    lines = [f"{path}: {role}: {text}", f"    {addresses(loaded.kind, settings)}"]
    sockets = sorted({address for pid in pids for address in listeningSockets(pid, proc)})
    if sockets:
        lines.append(f"    listening now on {', '.join(sockets)}")
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


def addArguments(p):
    p.description = ("Exit status 0 when every daemon runs, 3 when some does not, 4 when"
                     " it cannot be told.")
    p.add_argument("configs", nargs="*", metavar="CONFIG",
                   help="daemon configs (default: those in --directory)")
    p.add_argument("--directory", default=DEFAULT_DIRECTORY,
                   help=f"where to look for configs without CONFIG (default"
                        f" {DEFAULT_DIRECTORY})")
    p.set_defaults(run=run)
