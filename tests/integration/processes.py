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
