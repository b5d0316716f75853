"""
Reaction agents (syslog, alert database, save to file, countermeasure,
external FIFO programs) and the ReactionDaemon's modules.

"Reactors" is the name M-ICE's design gives these; it has nothing to do with
Twisted's reactor.
"""
