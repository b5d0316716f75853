# -*- test-case-name: tests.integration.test_listening -*-
"""
A listener a daemon can run without (the web console, the metrics page):
when its port is taken, one error line names what could not listen where
and how to fix it, instead of Twisted's "Unhandled Error" traceback; the
daemon carries on without it.
"""

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger
from zope.interface import implementer

log = Logger()


@implementer(IStreamServerEndpoint)
class _ReportingEndpoint:
    def __init__(self, endpoint, what, where, fix):
        self.endpoint = endpoint
        self.what, self.where, self.fix = what, where, fix

    def listen(self, factory):
        def failed(reason):
            log.error("{what} cannot listen on {where}: {reason}; the daemon runs without it"
                      " ({fix})", what=self.what, where=self.where, fix=self.fix,
                      reason=getattr(reason.value, "socketError", None) or reason.getErrorMessage())
            return None

        return self.endpoint.listen(factory).addErrback(failed)


def optionalListener(endpoint, factory, what, where, fix):
    """
    A L{StreamServerEndpointService} for C{factory} on C{endpoint} that, when
    it cannot listen, logs one line: C{what} (C{"the web console"}) cannot
    listen on C{where} (its endpoint string): the reason; C{fix}.
    """
    return StreamServerEndpointService(_ReportingEndpoint(endpoint, what, where, fix), factory)
