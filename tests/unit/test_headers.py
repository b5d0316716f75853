"""
The modules' test-case-name headers, in Emacs's local-variable form on the
first or second line: C{trial --testmodule} and editors run the tests a
module names, so a header that names a module which was moved or never
existed quietly runs nothing.
"""

import importlib.util
import os
import re

from twisted.scripts.trial import getTestModules
from twisted.trial.unittest import SynchronousTestCase

from tests import ROOT

TESTS = os.path.join(ROOT, "tests")

#: A comment line declaring test-case-name.
HEADER = re.compile(r"#.*-\*-.*\btest-case-name\s*:")


def headerProblems(path):
    """
    What is wrong with the C{test-case-name} header of the file at C{path}:
    a list of descriptions, empty when it has none or a good one.
    """
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    at = [n for n, line in enumerate(lines, 1) if HEADER.match(line)]
    problems = [f"line {n}: trial reads the header on line 1 or 2 only" for n in at if n > 2]
    names = getTestModules(path)
    if at and not names:
        problems.append("the header names no module")
    for name in names:
        name = name.strip()
        try:
            spec = importlib.util.find_spec(name) if name.startswith("tests.") else None
        except ImportError:
            spec = None
        if spec is None or not os.path.abspath(spec.origin).startswith(TESTS + os.sep):
            problems.append(f"{name}: no such test module")
    return problems


def sourceFiles(*folders):
    for folder in folders:
        for directory, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(directory, name)


class TestCaseNameTests(SynchronousTestCase):
    def test_everyHeaderNamesTestModules(self):
        """
        Every header in C{mice/} and C{tests/} names test modules that exist.
        """
        problems, headers = [], 0
        for path in sourceFiles("mice", "tests"):
            problems += [f"{os.path.relpath(path, ROOT)}: {problem}"
                         for problem in headerProblems(path)]
            headers += bool(getTestModules(path))
        self.assertEqual(problems, [])
        self.assertGreater(headers, 50)

    def test_checkerSeesStaleNames(self):
        """
        A module that does not exist, a module outside C{tests}, a package
        missing on the way and a header too far down are all reported.
        """
        path = self.mktemp() + ".py"
        with open(path, "w") as f:
            f.write("# -*- test-case-name: tests.test_link,tests.unit.test_idmef,"
                    "mice.idmef,tests.nowhere.test_x -*-\n")
        self.assertEqual(headerProblems(path), ["tests.test_link: no such test module",
                                                "mice.idmef: no such test module",
                                                "tests.nowhere.test_x: no such test module"])
        with open(path, "w") as f:
            f.write('"""\nA docstring first.\n"""\n# -*- test-case-name: tests.unit.test_idmef -*-\n')
        self.assertEqual(headerProblems(path), [
            "line 4: trial reads the header on line 1 or 2 only", "the header names no module"])
