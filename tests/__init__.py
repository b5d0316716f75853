"""
M-ICE's tests: C{tests.unit} mirrors the C{mice} package and runs in
seconds with no socket, process or database server; C{tests.integration}
holds what needs them (loopback sockets, real twistd processes, SQLite
files, MariaDB, a browser).
"""

import os

#: The checkout's root directory (C{etc/}, C{bench/}, C{docs/} are in it).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The tests compile Hyperscan databases for many rule sets: they keep them
# in a cache of their own (shared from run to run, and with the processes
# they start), not in the user's ~/.cache/mice/hyperscan, whose 32 most
# recent databases of each kind they would push out.
if "MICE_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["MICE_CACHE_DIR"] = os.path.join(tempfile.gettempdir(),
                                                f"mice-tests-{os.getuid()}")

# Hypothesis settings come from one place: the profile named by
# HYPOTHESIS_PROFILE, else "ci" under CI=true, else "dev".
#  - dev: quick, random each run (finds new cases over time);
#  - ci: more examples, derandomized so that a run's result does not depend
#    on luck (a case found once is pinned with @example in its test);
#  - thorough: for a long manual run before a release.
# A test that needs fewer examples because each is slow (a database round
# trip) is decorated with SLOW, which takes a tenth of the profile's.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=300, derandomize=True,
                          print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") == "true" else "dev"))

SLOW = settings(max_examples=max(10, settings.default.max_examples // 10),
                suppress_health_check=list(HealthCheck))
# A property whose examples each cost a few milliseconds (a whole offline
# analysis, an IDMEF document through the tree) takes a fifth.
FEWER = settings(max_examples=max(10, settings.default.max_examples // 5))
