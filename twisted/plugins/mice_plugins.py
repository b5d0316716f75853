from twisted.application.service import ServiceMaker

miceBufferDaemon = ServiceMaker(
    "M-ICE BufferDaemon", "mice.tap.bufferdaemon",
    "M-ICE's generic server: raw-log database, analysis agent or ManagementHost",
    "mice-bufferdaemon")

miceAllInOne = ServiceMaker(
    "M-ICE all in one", "mice.tap.allinone",
    "Every M-ICE component on 127.0.0.1 with SQLite and a sample log",
    "mice-allinone")

miceDataForwarder = ServiceMaker(
    "M-ICE DataForwarder", "mice.tap.dataforwarder",
    "M-ICE's client: follows log files and ships every line to the servers",
    "mice-dataforwarder")

miceReactionDaemon = ServiceMaker(
    "M-ICE ReactionDaemon", "mice.tap.reactiondaemon",
    "M-ICE's client side of active response: applies and lifts countermeasures",
    "mice-reactiondaemon")
