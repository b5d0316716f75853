# -*- test-case-name: tests.unit.protocols.test_rounds -*-
"""
Work that its own callbacks call again: a writer whose write acknowledges,
frees or makes room, which calls the writer back.  Run inside itself, such
work would see its own state half changed; L{Rounds} runs it again after
the round in progress instead.  Pure: no I/O, no reactor.
"""


class Rounds:
    """
    Run C{work} in rounds until one ends with no one having asked for
    another.

    A call while C{work} runs (from inside it, through a callback) only asks
    the running call for another round; so does L{again}.

    @ivar running: whether a round is in progress.
    """

    def __init__(self, work):
        self._work = work
        self._again = False
        self.running = False

    def __call__(self):
        """
        Run C{work} until no one asks for another round, or, when it is
        running already, ask it for one.

        @return: C{True} when this call ran the rounds; C{False} when it
            only asked the call running them for another.
        """
        if self.running:
            self._again = True
            return False
        self.running = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._work()
        finally:
            self.running = False
        return True

    def again(self):
        """
        Ask for another round after the one in progress (what a call from
        inside C{work} does).
        """
        self._again = True
