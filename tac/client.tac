# The client: a DataForwarder shipping this host's log files to the raw-log
# database and the analysis agent.
#
#     twistd -ny tac/client.tac
#
# Adapt CONFIG to your deployment (or copy this file next to your configs).
# The config's PIDPATH, USER and GROUP fill in twistd's --pidfile, --uid and
# --gid when those are not given (USER and GROUP only when started as root);
# CHROOT is only ever twistd's own --chroot.

import os

from twisted.application.service import Application

from mice.tap.dataforwarder import Options, makeService

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                      "etc", "mice", "dataforwarder.conf")

options = Options()
options.parseOptions(["--config", CONFIG])
application = Application("mice-dataforwarder")
makeService(options).setServiceParent(application)
