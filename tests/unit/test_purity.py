"""
The import rules of the layout (docs/architecture.rst), followed through
imports transitively, lazy ones inside functions included:

 - the pure folders and modules import no reactor, sockets, threads or
   adbapi, so that they run and test without a reactor, time passed in;
 - C{protocols/} and C{postproc/} never import C{services/} (they are
   handed their senders and reaction queues);
 - C{console/} never imports C{postproc/};

and the split of the tests: nothing under C{tests/unit/} starts a process,
opens a socket or runs the global reactor (what does lives in
C{tests/integration/}), so that C{trial tests.unit} runs in seconds.
"""

import ast
import functools
import os

from twisted.trial.unittest import SynchronousTestCase

import mice
from tests import ROOT

PACKAGE = os.path.dirname(os.path.abspath(mice.__file__))
UNIT_TESTS = os.path.join(ROOT, "tests", "unit")

#: Folders (every module in them) and modules that must stay pure.
PURE = (
    "mice.config", "mice.forwarder", "mice.decoders", "mice.analysis", "mice.management",
    "mice.db.schema", "mice.db.classify", "mice.db.journal", "mice.matchfile", "mice.idmef",
    "mice.alerts",
    "mice.record", "mice.ringbuffer", "mice.outbox", "mice.security.psk",
    "mice.security.keyfile",
    "mice.protocols.wire", "mice.protocols.amqp", "mice.protocols.admission",
    "mice.protocols.rounds", "mice.reactors.argv", "mice.reactors.decisions",
    "mice.reactors.escalation",
    "mice.reactors.syslogformat", "mice.reactors.framing", "mice.console.query",
    "mice.console.model", "mice.metrics",
)

#: What a pure module may not reach: (module prefix, imported name or None).
FORBIDDEN = (
    ("twisted.internet.reactor", None), ("twisted.internet", "reactor"),
    ("socket", None), ("threading", None), ("_thread", None),
    ("concurrent.futures", None), ("twisted.internet.threads", None),
    ("twisted.internet", "threads"), ("twisted.enterprise", None),
)

#: What a unit test module may not import: (module prefix, imported name or None).
UNIT_FORBIDDEN = (
    ("subprocess", None), ("socket", None), ("multiprocessing", None),
    ("twisted.internet.reactor", None), ("twisted.internet", "reactor"),
    ("os", "fork"), ("os", "forkpty"), ("os", "system"), ("os", "popen"),
    ("mice.testing", "mariadbUrlOrSkip"), ("mice.testing", "temporaryMariaDBDatabase"),
    ("mice.testing", "PrivateMariaDB"),
)

#: Calls of C{os} that start a process.
PROCESS_CALLS = ("fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp",
                 "spawnv", "spawnve", "spawnl", "spawnle", "execv", "execve", "execvp")

#: Folder -> folders it may never reach, even through others.
NEVER = {
    "mice.protocols": ("mice.services",),
    "mice.postproc": ("mice.services",),
    "mice.console": ("mice.postproc",),
}


def allModules():
    """
    Every module of the C{mice} package, by dotted name, with its file.
    """
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3]
                dotted = relative.replace(os.sep, ".")
                if dotted.endswith(".__init__"):
                    dotted = dotted[:-len(".__init__")]
                found[dotted] = path
    return found


MODULES = allModules()


def parse(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


@functools.cache
def directImports(moduleName):
    """
    C{(module, name)} for every import in C{moduleName}'s source, wherever
    in the file; C{name} is C{None} for C{import module}.
    """
    return frozenset(importsIn(parse(MODULES[moduleName]), moduleName,
                               MODULES[moduleName].endswith("__init__.py")))


def importsIn(tree, moduleName, isPackage=False):
    """
    C{(module, name)} for every import in the module C{tree}, wherever in
    it, relative ones resolved against C{moduleName}.
    """
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = moduleName.split(".")
                base = base[:len(base) - node.level + (1 if isPackage else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            imports.update((module, alias.name) for alias in node.names)
    return imports


def _resolve(module, name):
    """
    The M-ICE modules an import loads: C{from mice.db import schema} loads
    C{mice.db.pools} and C{mice.db.schema}; C{import mice.x.y} loads C{mice},
    C{mice.x} and C{mice.x.y}.
    """
    loaded = []
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in MODULES:
            loaded.append(prefix)
    if name is not None and f"{module}.{name}" in MODULES:
        loaded.append(f"{module}.{name}")
    return loaded


def reach(moduleName):
    """
    C{moduleName}'s transitive imports: a dict from each M-ICE module
    reached to the chain that reaches it, and the set of outside imports
    C{(module, name, chain)}.
    """
    chains = {moduleName: (moduleName,)}
    outside = []
    todo = [moduleName]
    while todo:
        current = todo.pop()
        for module, name in directImports(current):
            inside = _resolve(module, name)
            if not module.startswith("mice"):
                outside.append((module, name, chains[current]))
            for reached in inside:
                if reached not in chains:
                    chains[reached] = chains[current] + (reached,)
                    todo.append(reached)
    return chains, outside


def _under(moduleName, prefixes):
    return any(moduleName == p or moduleName.startswith(p + ".") for p in prefixes)


class LayoutRulesTests(SynchronousTestCase):
    def test_pureModules(self):
        """
        Nothing in the pure folders reaches the reactor, sockets, threads or
        adbapi, however indirectly.
        """
        breaches = []
        for moduleName in sorted(MODULES):
            if not _under(moduleName, PURE):
                continue
            _, outside = reach(moduleName)
            for module, name, chain in outside:
                for prefix, forbidden in FORBIDDEN:
                    if (module == prefix or module.startswith(prefix + ".")) and (
                            forbidden is None or name == forbidden):
                        breaches.append(f"{' -> '.join(chain)} imports {module}"
                                        + (f".{name}" if name else ""))
        self.assertEqual(breaches, [])

    def test_folderRules(self):
        """
        C{protocols/} and C{postproc/} never reach C{services/};
        C{console/} never reaches C{postproc/}.
        """
        breaches = []
        for moduleName in sorted(MODULES):
            for folder, never in NEVER.items():
                if not _under(moduleName, (folder,)):
                    continue
                chains, _ = reach(moduleName)
                breaches += [" -> ".join(chain) for reached, chain in chains.items()
                             if _under(reached, never)]
        self.assertEqual(breaches, [])

    def test_checkerSeesBreaches(self):
        """
        The checker finds a lazy import inside a function, two modules away.
        """
        chains, outside = reach("mice.tap.bufferdaemon")
        self.assertIn("mice.services.bufferdaemon", chains)
        self.assertTrue(any(module == "twisted.internet" and name == "reactor"
                            for module, name, _ in outside))

    def test_fewModulesAtTheTop(self):
        """
        At most ten modules sit directly in C{mice/}: the shared vocabulary.
        """
        top = sorted(name for name, path in MODULES.items() if name.count(".") == 1
                     and not path.endswith("__init__.py"))
        self.assertLessEqual(len(top), 10, top)


def _forbidden(module, name, rules):
    return any((module == prefix or module.startswith(prefix + ".")) and (
        forbidden is None or name == forbidden) for prefix, forbidden in rules)


def processesAndSockets(tree, moduleName):
    """
    What in a test module's C{tree} starts a process, opens a socket,
    reaches the global reactor or the MariaDB server, by direct import or by
    a call of C{os}: a list of descriptions, empty for a unit test module.
    """
    found = sorted(f"imports {module}" + (f".{name}" if name else "")
                   for module, name in importsIn(tree, moduleName)
                   if _forbidden(module, name, UNIT_FORBIDDEN))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in PROCESS_CALLS
                and isinstance(node.value, ast.Name) and node.value.id == "os"):
            found.append(f"line {node.lineno}: os.{node.attr}")
    return found


class UnitTestsLayoutTests(SynchronousTestCase):
    def test_noProcessSocketOrReactor(self):
        """
        No module under C{tests/unit/} imports C{subprocess}, C{socket},
        C{multiprocessing}, the global reactor or the MariaDB helpers of
        L{mice.testing}, nor forks: those tests belong in
        C{tests/integration/}.
        """
        breaches, seen = [], 0
        for folder, _, files in os.walk(UNIT_TESTS):
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    breaches += [f"{dotted}: {what}"
                                 for what in processesAndSockets(parse(path), dotted)]
                    seen += 1
        self.assertGreater(seen, 20)
        self.assertEqual(breaches, [])

    def test_checkerSeesBreaches(self):
        """
        Imports anywhere in the module, the reactor imported by either
        form, and a fork are all found.
        """
        source = (
            "import os\nimport subprocess as sp\nfrom socket import socket\n"
            "def f():\n    from twisted.internet import reactor, task\n"
            "    import twisted.internet.reactor\n    return os.fork()\n"
            "from twisted.internet.task import Clock\nimport socketserver\n"
            "from mice.testing import FakeSender, temporaryMariaDBDatabase\n")
        self.assertEqual(processesAndSockets(ast.parse(source), "tests.unit.x"), [
            "imports mice.testing.temporaryMariaDBDatabase", "imports socket.socket",
            "imports subprocess", "imports twisted.internet.reactor",
            "imports twisted.internet.reactor", "line 7: os.fork"])

