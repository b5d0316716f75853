"""
The README's shell examples, as a newcomer types them: every command of its
literal blocks is extracted; the files and configs it names exist in the
checkout, no example needs a log file the host may not have
(C{/var/log/auth.log}), every C{mice ...} command line parses, and every
C{twistd ... mice-<role> ...} command line parses with its plugin's
C{Options}, which loads the config it names.  The cheap ones run for real
in C{tests.integration.test_readme}.
"""

import configparser
import glob
import os
import re
import shlex
from typing import NamedTuple

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests import ROOT

README = os.path.join(ROOT, "README.rst")

#: The first word of a line that is a command (a block whose lines do not
#: all start with one, and have no C{$ } prompt, is a program's output).
COMMANDS = ("twistd", "mice", "python", "python3", "pip", "trial", "curl", "sqlite3", "cp",
            "systemctl")

#: Top-level folders of the checkout: a word starting with one names a file
#: that must exist.
CHECKOUT = ("etc/", "mice/", "tests/", "tac/", "bench/", "docs/")

#: Absolute paths an example may name (that every host has).
ABSOLUTE_OK = ("/tmp",)


class Example(NamedTuple):
    line: int
    argv: tuple


def literalBlocks(text):
    """
    C{(line, lines)} of every literal block (the indented text after a
    paragraph ending in C{::}), dedented; C{line} is 1-based.
    """
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip().endswith("::"):
            base = len(lines[i]) - len(lines[i].lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            start, block = j, []
            while j < len(lines) and (not lines[j].strip()
                                      or len(lines[j]) - len(lines[j].lstrip()) > base):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
                blocks.append((start + 1, [b[indent:] for b in block]))
            i = j
        else:
            i += 1
    return blocks


def _joined(block, start):
    """
    C{(line, text)} of each logical line, continuations (C{\\}) joined.
    """
    logical, current, first = [], None, None
    for n, line in enumerate(block, start):
        if current is None:
            current, first = line, n
        else:
            current = current[:-1] + " " + line.strip()
        if not current.endswith("\\"):
            logical.append((first, current))
            current = None
    return logical


def examples(text):
    """
    Every command of the README's literal blocks, as an L{Example}; a
    trailing C{# or COMMAND} comment is an example too.
    """
    found = []
    for start, block in literalBlocks(text):
        logical = _joined(block, start)
        if any(line.startswith("$ ") for _, line in logical):
            commands = [(n, line[2:]) for n, line in logical if line.startswith("$ ")]
        elif all(line.split(maxsplit=1)[0] in COMMANDS for _, line in logical):
            commands = logical
        else:
            continue
        for n, line in commands:
            command, _, comment = line.partition(" # ")
            found.append(Example(n, tuple(shlex.split(command))))
            alternative = re.match(r"\s*or\s+(.*)", comment)
            if alternative:
                found.append(Example(n, tuple(shlex.split(alternative.group(1)))))
    return found


def problemsWithPaths(example):
    """
    What is wrong with the files C{example} names: one in the checkout that
    does not exist, an absolute path a host may not have.
    """
    problems = []
    for word in example.argv[1:]:
        value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        if value.startswith(CHECKOUT):
            if not glob.glob(os.path.join(ROOT, value)):
                problems.append(f"README.rst:{example.line}: {value} does not exist")
        elif value.startswith("/") and not value.startswith(ABSOLUTE_OK):
            problems.append(f"README.rst:{example.line}: {value} is a path this host may not"
                            " have; name a file of the checkout (mice/data/sample.log)")
    return problems


def twistdOptions(argv):
    """
    Parse a C{twistd ... mice-<role> ...} command line with the role's
    plugin C{Options} (which load the config it names).

    @return: the role's options, or C{None} for C{twistd -y FILE}.
    @raise usage.UsageError: a bad option, a config that does not load.
    """
    from twisted.plugins import mice_plugins

    makers = {maker.tapname: maker for maker in vars(mice_plugins).values()
              if hasattr(maker, "tapname")}
    words = list(argv[1:])
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag in ("-ny", "-y", "--python"):
            tac = words.pop(0)
            if not os.path.exists(os.path.join(ROOT, tac)):
                raise usage.UsageError(f"{tac} does not exist")
            return None
        if flag not in ("-n", "--nodaemon"):
            raise usage.UsageError(f"unexpected twistd option {flag}")
    if not words or words[0] not in makers:
        raise usage.UsageError(f"no such twistd plugin: {words[:1]} (known: {sorted(makers)})")
    options = makers[words[0]].options()
    options.parseOptions(words[1:])
    return options


class ReadmeExamplesTests(SynchronousTestCase):
    def setUp(self):
        with open(README, encoding="utf-8") as f:
            self.examples = examples(f.read())
        self.cwd = os.getcwd()
        os.chdir(ROOT)
        self.addCleanup(os.chdir, self.cwd)

    def commands(self, name):
        return [example for example in self.examples if example.argv[0] == name]

    def test_extracted(self):
        """
        The extraction finds the README's examples (a test that found none
        would prove nothing).
        """
        self.assertGreaterEqual(len(self.commands("mice")), 8)
        self.assertGreaterEqual(len(self.commands("twistd")), 6)
        self.assertIn(("twistd", "-n", "mice-allinone"), [e.argv for e in self.examples])
        self.assertIn(("twistd", "-ny", "tac/client.tac"), [e.argv for e in self.examples])

    def test_filesExist(self):
        problems = [p for example in self.examples for p in problemsWithPaths(example)]
        self.assertEqual(problems, [])

    def test_noSystemLogNeeded(self):
        """
        No example needs a log file of the host: one without
        C{/var/log/auth.log} (a container, a journal-only system) runs
        them as written.
        """
        self.assertEqual([e for e in self.examples
                          if any(word.startswith("/var/log/") for word in e.argv)], [])

    def test_miceCommandsParse(self):
        from mice.cli import makeParser

        parser = makeParser()
        for example in self.commands("mice"):
            try:
                args = parser.parse_args(example.argv[1:])
            except SystemExit:
                self.fail(f"README.rst:{example.line}: {' '.join(example.argv)} does not parse")
            self.assertTrue(callable(args.run))

    def test_twistdCommandsParse(self):
        for example in self.commands("twistd"):
            try:
                twistdOptions(example.argv)
            except usage.UsageError as e:
                self.fail(f"README.rst:{example.line}: {' '.join(example.argv)}: {e}")

    def test_pythonScriptsExist(self):
        scripts = [example.argv[1] for example in self.commands("python")]
        self.assertTrue(scripts)
        self.assertEqual([s for s in scripts if not os.path.isfile(os.path.join(ROOT, s))], [])

    def test_pipExtras(self):
        """
        C{pip install -e '.[test]'}: the extra exists.
        """
        [pip] = self.commands("pip")
        extras = {m.group(1) for word in pip.argv for m in [re.match(r"\.\[(\w+)\]$", word)]
                  if m}
        config = configparser.ConfigParser()
        config.read(os.path.join(ROOT, "setup.cfg"))
        self.assertTrue(extras)
        self.assertLessEqual(extras, set(config["options.extras_require"]))

    def test_badExampleFound(self):
        """
        The checks fail on a bad example.
        """
        [bad] = examples("Run::\n\n    mice analyze -c etc/mice/nowhere.conf"
                         " /var/log/auth.log --json\n")
        self.assertEqual(problemsWithPaths(bad), [
            "README.rst:3: etc/mice/nowhere.conf does not exist",
            "README.rst:3: /var/log/auth.log is a path this host may not have; name a file"
            " of the checkout (mice/data/sample.log)"])
        self.assertEqual(examples("Output::\n\n    mice analyze --json, end to end:\n"
                                  "        seed rules 506,761 lines/s\n"), [])
        self.assertRaises(usage.UsageError, twistdOptions,
                          ("twistd", "-n", "mice-bufferdaemon", "-c", "etc/mice/nowhere.conf"))
