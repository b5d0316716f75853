"""
A plain editable install (C{pip install -e .}, PEP 660, no compat mode)
lets twistd find the plugins: setup.cfg says where the packages are
(C{package_dir = =.}), so setuptools writes a C{.pth} that puts the
checkout on C{sys.path}, where twistd looks for C{twisted/plugins},
instead of an import hook that hides them.
"""

import glob
import os
import subprocess
import sys

from twisted.trial.unittest import SkipTest, SynchronousTestCase

import twisted
from tests import ROOT


class EditableInstallTests(SynchronousTestCase):
    def test_plainEditableShowsPlugins(self):
        # A virtualenv of its own: pip installing elsewhere (--prefix,
        # --target) would first uninstall the running environment's copy.
        venv = os.path.abspath(self.mktemp())
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True,
                              text=True, timeout=300)
        if made.returncode:
            raise SkipTest(f"cannot make a virtualenv: {made.stderr[-300:]}")
        python = os.path.join(venv, "bin", "python")
        result = subprocess.run(
            [python, "-m", "pip", "install", "-q", "--no-deps", "-e", ROOT],
            capture_output=True, text=True, timeout=300)
        if result.returncode and ("No matching distribution" in result.stderr
                                  or "Could not find a version" in result.stderr):
            raise SkipTest(f"pip cannot fetch the build requirements: {result.stderr[-300:]}")
        self.assertEqual(result.returncode, 0, result.stderr)
        [site] = glob.glob(os.path.join(venv, "lib", "python*", "site-packages"))
        self.assertEqual(glob.glob(os.path.join(site, "__editable___*finder.py")), [],
                         "an import hook, which twistd's plugin search does not see")
        [pth] = glob.glob(os.path.join(site, "__editable__.*.pth"))
        with open(pth) as f:
            self.assertEqual(f.read().strip(), ROOT)
        # That environment's twistd (no PYTHONPATH) has the plugins.  Twisted
        # comes from this one, added only now: pip never saw it.
        with open(os.path.join(site, "zz-twisted-from-tests.pth"), "w") as f:
            f.write(os.path.dirname(os.path.dirname(twisted.__file__)) + "\n")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        listed = subprocess.run(
            [python, "-c", "import twisted.plugins as p; print('\\n'.join(p.__path__))"],
            capture_output=True, text=True, timeout=60, env=env, cwd=venv)
        self.assertIn(os.path.join(ROOT, "twisted", "plugins"), listed.stdout.splitlines(),
                      listed.stderr)
