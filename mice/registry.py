# -*- test-case-name: tests.unit.test_registry -*-
"""
Finding modules by the names the original configuration files use.

Each module is a Twisted plugin in L{mice.plugins} providing
L{IModuleFactory}; a third party adds one by dropping a file there (or in any
C{mice/plugins} directory on C{sys.path}).  Names are matched without a
trailing C{.so} and case-insensitively.
"""

import hashlib
import importlib.util
import os

from twisted.plugin import IPlugin, getPlugins
from twisted.python.reflect import namedAny
from zope.interface import implementer

from mice.config import ConfigError, ConfigErrors, ConfigWarning, lineOf
from mice.interfaces import IModuleFactory

#: Modules of the original M-ICE that later versions of this one provide.
PLANNED = {}


class UnknownModule(Exception):
    pass


class PlannedModule(UnknownModule):
    """
    A module of the original M-ICE that a later version of this one will
    provide (L{PLANNED}).
    """


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
        builder = self.builder if callable(self.builder) else namedAny(self.builder)
        return builder(configPath, reactor)

    def __repr__(self):
        return f"<ModuleFactory {self.name} ({self.role})>"


def normalizeName(name):
    name = name.strip().rsplit("/", 1)[-1].lower()
    return name[:-3] if name.endswith(".so") else name


def availableModules(role=None, searchPath=()):
    """
    @param searchPath: MODPATH directories: third-party modules there are
        found too (L{modulesIn}); M-ICE's own win a name both have.
    @return: a dict of every name and alias to its factory.
    """
    from mice import plugins

    found = {}
    factories = [*getPlugins(IModuleFactory, plugins)]
    for directory in searchPath:
        factories.extend(modulesIn(directory))
    for factory in factories:
        if role is None or factory.role == role:
            for name in (factory.name, *factory.aliases):
                found.setdefault(normalizeName(name), factory)
    return found


class UnsafeModulePath(Exception):
    """
    A MODPATH directory or a module file in it that others could write to:
    loading code from it would run whatever they put there.
    """


def _checkOwnership(path):
    info = os.stat(path)
    if info.st_mode & 0o022:
        raise UnsafeModulePath(f"{path} is writable by {'others' if info.st_mode & 0o002 else 'its group'}"
                               "; M-ICE loads no module from it")
    if info.st_uid not in (0, os.getuid()):
        raise UnsafeModulePath(f"{path} belongs to another user (uid {info.st_uid});"
                               " M-ICE loads no module from it")


_loaded = {}


def modulesIn(directory):
    """
    The module factories (L{IModuleFactory} providers at the top level of a
    C{.py} file) of a MODPATH directory: a user drops a file that provides a
    decoder, post-processor, filter, pseudonymiser, formatter or reaction
    there and names the module in a config.  Files whose name starts with
    C{_} are skipped, as is M-ICE's own plugin directory (its modules are
    found anyway).  A file is loaded once per process.

    @raise UnsafeModulePath: the directory or a file is writable by others
        or belongs to another user.
    @raise OSError: the directory cannot be read.
    """
    from mice import plugins

    directory = os.path.realpath(directory)
    if directory in (os.path.realpath(p) for p in plugins.__path__):
        return []
    _checkOwnership(directory)
    factories = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        path = os.path.join(directory, name)
        module = _loaded.get(path)
        if module is None:
            _checkOwnership(path)
            unique = "mice_modpath_" + hashlib.sha256(path.encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(f"{unique}.{name[:-3]}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _loaded[path] = module
        factories.extend(value for value in vars(module).values()
                         if IModuleFactory.providedBy(value))
    return factories


def findModule(name, role, searchPath=()):
    """
    @param searchPath: MODPATH directories (L{modulesIn}).
    @raise UnknownModule: with a message saying what is available.
    """
    key = normalizeName(name)
    modules = availableModules(role, searchPath)
    if key in modules:
        return modules[key]
    if key in PLANNED:
        raise PlannedModule(f"{role} module {name!r} belongs to {PLANNED[key]}, which this"
                            " version of M-ICE does not provide yet")
    raise UnknownModule(f"unknown {role} module {name!r}; available:"
                        f" {', '.join(sorted(modules)) or 'none'}")


def pipelineModules(settings, planned=None):
    """
    Find the modules of every pipeline of a BufferDaemon's settings (a
    L{mice.config.BufferDaemonSettings}).

    @param planned: a list, to have modules that a later version provides
        (L{PLANNED}) appended to it as L{ConfigWarning}s (their factories
        are C{None}) instead of raised: C{mice check-config} does, a daemon
        that is to run them cannot.
    @return: C{[(decoder factory, post-processor factory), ...]}.
    @raise ConfigError: C{file:line} of every module name that is unknown.
    """
    found, errors = [], []
    searchPath = []
    for directory in getattr(settings, "modulePaths", ()):
        try:
            modulesIn(directory)
        except (OSError, UnsafeModulePath) as e:
            errors.append(ConfigError(settings.path, lineOf(settings.path, "MODPATH"),
                                      f"MODPATH {directory}: {getattr(e, 'strerror', None) or e}"))
        else:
            searchPath.append(directory)
    for spec in settings.pipelines:
        factories = []
        for name, role, line in ((spec.decoder, "decoder", spec.decoderLine),
                                 (spec.postprocessor, "postprocessor", spec.postprocessorLine)):
            try:
                factories.append(findModule(name, role, searchPath))
            except PlannedModule as e:
                if planned is None:
                    errors.append(ConfigError(settings.path, line, str(e)))
                else:
                    planned.append(ConfigWarning(settings.path, line, str(e)))
                    factories.append(None)
            except UnknownModule as e:
                errors.append(ConfigError(settings.path, line, str(e)))
        found.append(tuple(factories))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return found
