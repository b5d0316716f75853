"""
Running M-ICE's commands as real processes, for the integration tests: the
C{mice} command and C{twistd}, both from this checkout (C{PYTHONPATH} is
inherited, so the children run the code under test).
"""

import os
import subprocess
import sys
from typing import NamedTuple

#: C{twistd} in this interpreter (the plugins it lists are this checkout's).
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]

#: The C{mice} command in this interpreter.
MICE = [sys.executable, "-m", "mice.cli"]


def mice(*args, cwd=None, stdin=None):
    """
    Run C{mice ARGS...} to the end, with C{stdin} (text) as its standard
    input; its exit status, standard output and standard error (as text).
    """
    result = subprocess.run(MICE + list(args), capture_output=True, text=True, timeout=120,
                            cwd=cwd, input=stdin)
    return result.returncode, result.stdout, result.stderr


def spawn(case, argv, log, cwd=None):
    """
    Start C{argv} (in C{cwd}) with its output to C{log} (unbuffered),
    killed and reaped when C{case} ends if it still runs.
    """
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def reap():
        if process.poll() is None:
            process.kill()
        process.wait()

    case.addCleanup(reap)
    return process


def twistdArgv(command, conf, logfile="-"):
    """
    The command line of C{twistd} running C{command} (C{mice-bufferdaemon},
    C{mice-dataforwarder}...) in the foreground with the config C{conf},
    logging to C{logfile}, with no pid file.
    """
    return TWISTD + ["--nodaemon", "--pidfile=", "--logfile", logfile, command, "-c", conf]


class Shipping(NamedTuple):
    """
    A BufferDaemon process and a C{mice send} shipping a file to it (see
    L{shipThrough}).
    """

    daemonArgv: list
    """The daemon's command line, to start it again."""
    log: object
    """The processes' shared output file."""
    daemon: subprocess.Popen
    sender: subprocess.Popen


async def shipThrough(case, directory, conf, port, corpus, timeout=150, daemonLog="daemon.log"):
    """
    Start the BufferDaemon of C{conf} (logging to C{daemonLog} in
    C{directory}) and, once it listens on C{port}, C{mice send --timeout
    timeout} of the file C{corpus} to it; both write their output into
    C{processes.log} in C{directory}.  Both are killed when C{case} ends.

    @return: a L{Shipping}.
    """
    from tests.integration.test_faults import accepting, waitFor

    log = open(os.path.join(directory, "processes.log"), "ab")
    case.addCleanup(log.close)
    argv = twistdArgv("mice-bufferdaemon", conf, os.path.join(directory, daemonLog))
    daemon = spawn(case, argv, log)
    await waitFor(lambda: accepting(port), 30, "the BufferDaemon to listen")
    sender = spawn(case, MICE + ["send", "--to", f"127.0.0.1:{port}", "--timeout", str(timeout),
                                corpus], log)
    return Shipping(argv, log, daemon, sender)


def chainArgv(directory, logs, logPath, managementConf, managementPort, agentPort, mmSize):
    """
    The twistd command lines of a whole chain in C{directory}: the
    ManagementHost of C{managementConf}, an analysis agent (the M-ICE rules)
    on C{agentPort} sending to it, and a DataForwarder following C{logPath}
    into the agent; each logs to C{logs[name]}.

    @return: C{{"management": argv, "agent": argv, "dataforwarder": argv}}.
    """
    from mice.testing import writeAgentConfigs, writeForwarderConfig

    configs = {
        "management": ("mice-bufferdaemon", managementConf),
        "agent": ("mice-bufferdaemon", writeAgentConfigs(
            os.path.join(directory, "agent"), managementPort,
            port=agentPort, mmSize=mmSize, timeInterval=0.2)),
        "dataforwarder": ("mice-dataforwarder", writeForwarderConfig(
            os.path.join(directory, "fw"), [logPath],
            analysisPort=agentPort, sleepInterval=0.2,
            stateDirectory=os.path.join(directory, "state"))),
    }
    return {name: twistdArgv(command, conf, logs[name])
            for name, (command, conf) in configs.items()}


class RawLogDaemon(NamedTuple):
    directory: str
    conf: str
    port: int
    database: str
    process: subprocess.Popen
    output: str
    """
    The file of the daemon's standard output and error (its log).
    """


async def startRawLogDaemon(case, directory=None, append="", twistdArgs=(), **options):
    """
    A raw-log BufferDaemon run by C{twistd -n --pidfile=} on a free port,
    storing into SQLite (C{rawlog.db}) in C{directory} (a new one by
    default), from L{mice.testing.writeRawLogConfigs}'s configs with
    C{options} and the text C{append} added to its BufferDaemon config;
    listening once this returns, killed when C{case} ends.
    """
    from mice.testing import writeRawLogConfigs
    from tests.integration.test_faults import accepting, freePort, waitFor

    directory = directory or os.path.abspath(case.mktemp())
    port = freePort()
    database = os.path.join(directory, "rawlog.db")
    conf = writeRawLogConfigs(directory, f"sqlite:///{database}", port=port, **options)
    if append:
        with open(conf, "a") as f:
            f.write(append)
    output = os.path.join(directory, "daemon.out")
    with open(output, "wb") as out:
        process = spawn(case, TWISTD + ["-n", "--pidfile=", "mice-bufferdaemon", *twistdArgs,
                                        "-c", conf], out)
    await waitFor(lambda: accepting(port), 30, "the BufferDaemon to listen")
    return RawLogDaemon(directory, conf, port, database, process, output)
