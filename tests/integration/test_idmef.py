"""
The parts of L{mice.idmef}'s tests (C{tests.unit.test_idmef}) that open a
socket: a hostile document must not make the parser fetch anything.
"""

import socket

from twisted.trial.unittest import SynchronousTestCase

from mice.idmef import validate
from tests.unit.test_idmef import MINIMAL, RefusalMixin, writeDtd


class ListeningSocket:
    """
    A loopback TCP socket nobody should connect to: proof that the parser
    fetched nothing.  No reactor and no waiting: a connection attempt,
    had there been one, would already be queued when the parse returns.
    """

    def __init__(self, testCase):
        self.socket = socket.socket()
        testCase.addCleanup(self.socket.close)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(5)
        self.socket.setblocking(False)
        self.url = "http://127.0.0.1:%d/idmef-message.dtd" % self.socket.getsockname()[1]

    def connected(self):
        try:
            connection, _ = self.socket.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


class HostileTests(RefusalMixin, SynchronousTestCase):
    def test_parameterEntity(self):
        """
        A parameter entity (the out-of-band XXE trick) is refused and never
        fetched.
        """
        server = ListeningSocket(self)
        document = ('<?xml version="1.0"?><!DOCTYPE IDMEF-Message [<!ENTITY %% remote SYSTEM "%s">'
                    ' %%remote;]>' % server.url).encode() + MINIMAL % b"x"
        self.assertRefused(document, "DOCTYPE with an internal subset")
        self.assertFalse(server.connected())

    def test_externalDtdFetch(self):
        """
        A DOCTYPE naming a DTD by URL or by path is refused and nothing is
        fetched, by L{fromXml} nor by L{validate}.
        """
        server = ListeningSocket(self)
        for system in (server.url, "file:///etc/passwd", "/etc/passwd", "../../etc/passwd"):
            document = ('<?xml version="1.0"?><!DOCTYPE IDMEF-Message SYSTEM "%s">'
                        % system).encode() + MINIMAL % b"x"
            self.assertRefused(document, "external DTD", system)
            (problem,) = validate(document, writeDtd(self))
            self.assertIn("external DTD", problem)
        self.assertFalse(server.connected())
