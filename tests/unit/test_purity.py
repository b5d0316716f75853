"""
The import rules of the layout (docs/architecture.rst), followed through
imports transitively, lazy ones inside functions included:

 - the pure folders and modules import no reactor, sockets, threads or
   adbapi, so that they run and test without a reactor, time passed in;
 - C{protocols/} and C{postproc/} never import C{services/} (they are
   handed their senders and reaction queues);
 - C{console/} never imports C{postproc/}.
"""

import ast
import os

from twisted.trial.unittest import SynchronousTestCase

import mice

PACKAGE = os.path.dirname(os.path.abspath(mice.__file__))

#: Folders (every module in them) and modules that must stay pure.
PURE = (
    "mice.config", "mice.forwarder", "mice.decoders", "mice.analysis", "mice.management",
    "mice.db.schema", "mice.db.classify", "mice.matchfile", "mice.idmef", "mice.alerts",
    "mice.record", "mice.ringbuffer", "mice.outbox", "mice.security.psk",
    "mice.protocols.wire", "mice.reactors.argv", "mice.console.query", "mice.console.model",
    "mice.metrics",
)

#: What a pure module may not reach: (module prefix, imported name or None).
FORBIDDEN = (
    ("twisted.internet.reactor", None), ("twisted.internet", "reactor"),
    ("socket", None), ("threading", None), ("_thread", None),
    ("concurrent.futures", None), ("twisted.internet.threads", None),
    ("twisted.internet", "threads"), ("twisted.enterprise", None),
)

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


def directImports(moduleName):
    """
    C{(module, name)} for every import in C{moduleName}'s source, wherever
    in the file; C{name} is C{None} for C{import module}.
    """
    with open(MODULES[moduleName], encoding="utf-8") as f:
        tree = ast.parse(f.read())
    isPackage = MODULES[moduleName].endswith("__init__.py")
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
    C{mice.db} and C{mice.db.schema}; C{import mice.x.y} loads C{mice},
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
