# The ManagementHost: IDMEF alerts from every analyzer, the match files, the
# reaction journal and the reactions (docs/management.rst).
#
#     twistd -ny tac/mngmthost.tac
#
# Adapt CONFIG to your deployment (or copy this file next to your configs).
# twistd's own --uid, --gid and --chroot apply the config's USER, GROUP and
# CHROOT; --pidfile its PIDPATH.

import os

from twisted.application.service import Application

from mice.tap.bufferdaemon import Options, makeService

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                      "etc", "mice", "bufferdaemon-mngmthost.conf")

options = Options()
options.parseOptions(["--config", CONFIG])
application = Application("mice-mngmthost")
makeService(options).setServiceParent(application)
