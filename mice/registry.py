# -*- test-case-name: tests.unit.test_registry -*-
"""
Finding modules by the names the original configuration files use.

Each module is a Twisted plugin in L{mice.plugins} providing
L{IModuleFactory}; a third party adds one by dropping a file there (or in any
C{mice/plugins} directory on C{sys.path}).  Names are matched without a
trailing C{.so} and case-insensitively.
"""

from twisted.plugin import IPlugin, getPlugins
from twisted.python.reflect import namedAny
from zope.interface import implementer

from mice.interfaces import IModuleFactory

#: Modules of the original M-ICE that later versions of this one provide.
PLANNED = {}


class UnknownModule(Exception):
    pass


@implementer(IPlugin, IModuleFactory)
class ModuleFactory:
    """
    A module plugin: names, a role and the dotted name of the function that
    builds it (imported only when the module is used, so listing plugins
    stays cheap and a plugin file imports nothing heavy).
    """

    def __init__(self, name, aliases, role, builder, description=""):
        self.name = name
        self.aliases = tuple(aliases)
        self.role = role
        self.builder = builder
        self.description = description

    def build(self, configPath, reactor):
        return namedAny(self.builder)(configPath, reactor)

    def __repr__(self):
        return f"<ModuleFactory {self.name} ({self.role})>"


def normalizeName(name):
    name = name.strip().rsplit("/", 1)[-1].lower()
    return name[:-3] if name.endswith(".so") else name


def availableModules(role=None):
    """
    @return: a dict of every name and alias to its factory.
    """
    from mice import plugins

    found = {}
    for factory in getPlugins(IModuleFactory, plugins):
        if role is None or factory.role == role:
            for name in (factory.name, *factory.aliases):
                found[normalizeName(name)] = factory
    return found


def findModule(name, role):
    """
    @raise UnknownModule: with a message saying what is available.
    """
    key = normalizeName(name)
    modules = availableModules(role)
    if key in modules:
        return modules[key]
    if key in PLANNED:
        raise UnknownModule(f"{role} module {name!r} belongs to {PLANNED[key]}, which this"
                            " version of M-ICE does not provide yet")
    raise UnknownModule(f"unknown {role} module {name!r}; available:"
                        f" {', '.join(sorted(modules)) or 'none'}")
