"""
The ManagementHost's decisions, pure: which match file an analyzer's alerts
go through, which reactions an alert id triggers, and the state of the
reaction journal (what is pending, what is done, when to retry).  The
Twisted wiring is L{mice.services.management}; the reaction agents are in
L{mice.reactors}.
"""
