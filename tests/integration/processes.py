"""
Running M-ICE's commands as real processes, for the integration tests: the
C{mice} command and C{twistd}, both from this checkout (C{PYTHONPATH} is
inherited, so the children run the code under test).
"""

import os
import subprocess
import sys

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


def spawn(case, argv, log):
    """
    Start C{argv} with its output to C{log} (unbuffered), killed and reaped
    when C{case} ends if it still runs.
    """
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def reap():
        if process.poll() is None:
            process.kill()
        process.wait()

    case.addCleanup(reap)
    return process


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
    return {name: TWISTD + ["--nodaemon", "--pidfile=", "--logfile", logs[name],
                            command, "-c", conf]
            for name, (command, conf) in configs.items()}
