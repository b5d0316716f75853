"""
The pure core (STYLE.md): parsers, rule engines, ring buffer, SQL text and
the DataForwarder's parts import no reactor, so they run and test without
one, with time passed in.
"""

import ast
import importlib

from twisted.trial.unittest import SynchronousTestCase

#: Module -> import prefixes it must not use.
PURE = {
    "mice.config": ("twisted.internet",),
    "mice.ringbuffer": ("twisted",),
    "mice.db.classify": ("twisted",),
    "mice.db.schema": ("twisted",),
    "mice.outbox": ("twisted",),
    "mice.protocols.wire": ("twisted",),
    "mice.record": ("twisted",),
    "mice.forwarder.filters": ("twisted.internet",),
    "mice.forwarder.pseudonym": ("twisted.internet",),
    "mice.forwarder.spool": ("twisted",),
    "mice.forwarder.tailer": ("twisted", "time"),
    "mice.security.psk": ("twisted",),
    "mice.forwarder.prepare": ("twisted",),
    "mice.analysis.aaregex": ("twisted",),
    "mice.analysis.extract": ("twisted",),
    "mice.idmef": ("twisted",),
    "mice.analysis.logids": ("twisted",),
    "mice.alerts": ("twisted",),
    "mice.matchfile": ("twisted",),
    "mice.management.routing": ("twisted",),
    "mice.management.journal": ("twisted",),
    "mice.db.journal": ("twisted",),
    "mice.decoders.idmef": ("twisted",),
}


def importedNames(moduleName):
    """
    Every module C{moduleName}'s source imports, wherever in the file.
    """
    with open(importlib.import_module(moduleName).__file__) as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


class PurityTests(SynchronousTestCase):
    def test_pureModules(self):
        for moduleName, forbidden in PURE.items():
            used = [name for name in importedNames(moduleName) if name.startswith(forbidden)]
            self.assertEqual(used, [], f"{moduleName} must not import {forbidden}")
