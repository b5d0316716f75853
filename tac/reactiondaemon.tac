# The client's ReactionDaemon: applies the countermeasures the ManagementHost
# asks for (bans with a duration, lifted on time), and only for a peer that
# proves it knows the PASSWORD (or holds a client certificate).
#
#     twistd -ny tac/reactiondaemon.tac
#
# Adapt CONFIG to your deployment (or copy this file next to your configs).
# The config's PIDPATH fills in twistd's --pidfile when it is not given, and
# USER and GROUP (in [SECURITY]) its --uid and --gid when started as root;
# CHROOT is only ever twistd's own --chroot.  The commands it runs need the
# privileges of what they change (CAP_NET_ADMIN for a firewall): see
# docs/reactiondaemon.rst.

import os

from twisted.application.service import Application

from mice.tap.reactiondaemon import Options, makeService

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                      "etc", "mice", "reactiondaemon.conf")

options = Options()
options.parseOptions(["--config", CONFIG])
application = Application("mice-reactiondaemon")
makeService(options).setServiceParent(application)
