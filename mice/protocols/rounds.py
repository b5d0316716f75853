# -*- test-case-name: tests.unit.protocols.test_rounds -*-
"""
Work asked for again before it has run: a writer whose write acknowledges,
frees or makes room, which calls the writer back -- run inside itself, such
work would see its own state half changed; L{Rounds} runs it again after
the round in progress instead --, and a service's wake-up that many events
ask for at once, which L{Soon} runs once.  Pure: no I/O, the clock passed in.
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


class Soon:
    """
    Run C{work} by the clock after a delay, however many times it is asked
    for before then.
    """

    def __init__(self, clock, work):
        self._clock = clock
        self._work = work
        self._call = None

    @property
    def pending(self):
        """Whether a run is scheduled."""
        return self._call is not None

    def __call__(self, delay=0):
        """Run C{work} in C{delay} seconds, unless a run is scheduled already."""
        if self._call is None:
            self._call = self._clock.callLater(delay, self._run)

    def _run(self):
        self._call = None
        self._work()

    def cancel(self):
        """Call off the scheduled run, if there is one."""
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()
