"""
C{python -m mice.cli}: the C{mice} command.
"""

import sys

from mice.cli import main

sys.exit(main())
