"""
Hypothesis settings come from the profiles registered in C{tests/__init__.py}
(C{dev}, C{ci}, C{thorough}) and the two fractions of them it defines
(C{SLOW}, C{FEWER}), never from numbers written beside a test: a hard-coded
C{max_examples} does not follow the profile, so C{ci}'s derandomized 300
examples and C{thorough}'s 5,000 would not reach that test.
"""

import pathlib
import re

from twisted.trial.unittest import SynchronousTestCase

from tests import ROOT

_THIS = pathlib.Path(__file__).resolve().with_suffix(".py")

#: A settings object made outside C{tests/__init__.py}.
_HARD_CODED = re.compile(r"@settings\(|\bsettings\((?:max_examples|deadline|derandomize)")


def hardCodedSettings(root):
    """
    @return: C{file:line: text} of every Hypothesis settings object made in
        a test module other than C{tests/__init__.py}.
    """
    tests = pathlib.Path(root, "tests")
    found = []
    for path in sorted(tests.rglob("*.py")):
        if path == tests / "__init__.py" or path.resolve() == _THIS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _HARD_CODED.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


class ProfilesTests(SynchronousTestCase):
    def test_noHardCodedSettings(self):
        self.assertEqual(hardCodedSettings(ROOT), [])

    def test_foundWhereWritten(self):
        """
        The check finds a decorator and a settings object with numbers, and
        passes over the profiles' own fractions and other C{settings}
        functions.
        """
        root = self.mktemp()
        unit = pathlib.Path(root, "tests", "unit")
        unit.mkdir(parents=True)
        pathlib.Path(root, "tests", "__init__.py").write_text(
            "FEWER = settings(max_examples=max(10, settings.default.max_examples // 5))\n")
        unit.joinpath("test_a.py").write_text(
            "@FEWER\n"
            "@settings(max_examples=60, deadline=None)\n"
            "s = settings()\n"
            "quick = settings(deadline=None)\n")
        self.assertEqual(hardCodedSettings(root), [
            "tests/unit/test_a.py:2: @settings(max_examples=60, deadline=None)",
            "tests/unit/test_a.py:4: quick = settings(deadline=None)",
        ])
