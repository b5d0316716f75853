# -*- test-case-name: tests.unit.services.test_waiters -*-
"""
Who waits for something that happens to a service (a refusal, the end of a
reload, the end of the flushes in progress): each gets a Deferred, and all
of them fire together when it happens.
"""

from twisted.internet.defer import Deferred


class Waiters:
    """
    Deferreds waiting for the next time something happens.
    """

    def __init__(self):
        self._waiting = []

    def __len__(self):
        return len(self._waiting)

    def wait(self):
        """
        @return: a Deferred that fires with the result of the next L{fire}.
        """
        d = Deferred()
        self._waiting.append(d)
        return d

    def fire(self, result=None):
        """
        Fire every Deferred waiting now with C{result}; one asked for by
        their callbacks waits for the next time.
        """
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(result)
