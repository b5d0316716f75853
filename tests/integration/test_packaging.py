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

from tests import ROOT


class EditableInstallTests(SynchronousTestCase):
    def test_plainEditableShowsPlugins(self):
        prefix = os.path.abspath(self.mktemp())
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--prefix", prefix,
             "-e", ROOT], capture_output=True, text=True, timeout=300)
        if result.returncode and "bdist_wheel" not in result.stderr and \
                ("No matching distribution" in result.stderr
                 or "Could not find a version" in result.stderr):
            raise SkipTest(f"pip cannot fetch the build requirements: {result.stderr[-300:]}")
        self.assertEqual(result.returncode, 0, result.stderr)
        [site] = glob.glob(os.path.join(prefix, "lib", "python*", "site-packages"))
        self.assertEqual(glob.glob(os.path.join(site, "__editable___*finder.py")), [],
                         "an import hook, which twistd's plugin search does not see")
        [pth] = glob.glob(os.path.join(site, "__editable__.*.pth"))
        with open(pth) as f:
            self.assertEqual(f.read().strip(), ROOT)
        # That site directory alone (no PYTHONPATH) gives twistd the plugins.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        listed = subprocess.run(
            [sys.executable, "-c",
             "import site, sys; site.addsitedir(sys.argv[1]);"
             " import twisted.plugins as p; print('\\n'.join(p.__path__))", site],
            capture_output=True, text=True, timeout=60, env=env, cwd=prefix)
        self.assertIn(os.path.join(ROOT, "twisted", "plugins"), listed.stdout.splitlines(),
                      listed.stderr)
