# The raw-log database: a BufferDaemon storing every line it is sent.
#
#     twistd -ny tac/rawlogdb.tac
#
# Adapt CONFIG to your deployment (or copy this file next to your configs).
# twistd's own --uid, --gid and --chroot apply the config's USER, GROUP and
# CHROOT; --pidfile its PIDPATH.

import os

from twisted.application.service import Application

from mice.tap.bufferdaemon import Options, makeService

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                      "etc", "mice", "bufferdaemon-rawlogdb.conf")

options = Options()
options.parseOptions(["--config", CONFIG])
application = Application("mice-rawlogdb")
makeService(options).setServiceParent(application)
