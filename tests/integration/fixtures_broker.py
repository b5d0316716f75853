"""
The RabbitMQ of the broker tests (127.0.0.1:5672, guest/guest; C{.ci/run}
starts it): a scratch virtual host per test, made and deleted with
C{rabbitmqctl}, which the test can block (no connection admitted, the open
ones closed) to cut the broker off without touching the shared server's
other vhosts.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import urllib.parse

from twisted.trial.unittest import SkipTest

BROKER = ("127.0.0.1", 5672)


def rabbitmqctl(*args):
    """
    Run C{rabbitmqctl ARGS...} (bounded in time); its standard output.
    """
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                            timeout=60)
    if result.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def brokerOrSkip(case):
    """
    Skip C{case} when there is no RabbitMQ to test against (a failure under
    CI, where C{.ci/run} starts one).
    """
    problem = None
    if shutil.which("rabbitmqctl") is None:
        problem = "rabbitmqctl is not installed"
    else:
        try:
            socket.create_connection(BROKER, timeout=2).close()
        except OSError as e:
            problem = f"no RabbitMQ on {BROKER[0]}:{BROKER[1]}: {e}"
    if problem is not None:
        if os.environ.get("CI"):
            case.fail("RabbitMQ is required under CI: " + problem)
        raise SkipTest(problem)


class ScratchVhost:
    """
    A virtual host of its own (guest may use it), deleted with its queues
    when the test ends.
    """

    def __init__(self, case, ownUser=False):
        """
        @param ownUser: use a user of its own with a random password
            (L{password}), deleted too, instead of guest.
        """
        brokerOrSkip(case)
        self.name = "mice-test-" + secrets.token_hex(6)
        rabbitmqctl("add_vhost", self.name)
        case.addCleanup(rabbitmqctl, "delete_vhost", self.name)
        user, self.password = "guest", "guest"
        if ownUser:
            user, self.password = self.name, secrets.token_hex(16)
            rabbitmqctl("add_user", user, self.password)
            case.addCleanup(rabbitmqctl, "delete_user", user)
        rabbitmqctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        self.url = (f"amqp://{user}:{self.password}@{BROKER[0]}:{BROKER[1]}/"
                    f"{urllib.parse.quote(self.name, safe='')}?heartbeat=5")

    def block(self):
        """
        Cut the broker off: no new connection is admitted, the open ones
        are closed.
        """
        rabbitmqctl("set_vhost_limits", "-p", self.name, json.dumps({"max-connections": 0}))
        rabbitmqctl("close_all_connections", "-p", self.name, "test: broker cut off")

    def unblock(self):
        rabbitmqctl("clear_vhost_limits", "-p", self.name)

    def queues(self):
        """
        C{{queue: (ready, unacknowledged)}}.
        """
        found = {}
        for line in rabbitmqctl("list_queues", "-p", self.name, "--no-table-headers", "name",
                                "messages_ready", "messages_unacknowledged").splitlines():
            parts = line.split()
            if len(parts) == 3:
                found[parts[0]] = (int(parts[1]), int(parts[2]))
        return found
