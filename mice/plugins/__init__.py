"""
M-ICE's module plugins (decoders, post-processors, ...).

Any file in a C{mice/plugins} directory on C{sys.path} may define
L{mice.registry.ModuleFactory} instances; see L{mice.registry}.
"""

from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))
__all__ = []
