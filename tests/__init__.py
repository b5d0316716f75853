"""
M-ICE's tests: C{tests.unit} mirrors the C{mice} package and runs in
seconds with no socket, process or database server; C{tests.integration}
holds what needs them (loopback sockets, real twistd processes, SQLite
files, MariaDB, a browser).
"""

import os

#: The checkout's root directory (C{etc/}, C{bench/}, C{docs/} are in it).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
