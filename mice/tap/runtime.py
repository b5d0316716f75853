# -*- test-case-name: tests.integration.test_tap -*-
"""
What the daemons' configs say about running them (PIDPATH, USER, GROUP,
CHROOT, SYSLOGFAC), applied through twistd's own options.

twistd writes its pid file, chroots and drops privileges after the tap's
C{makeService} has run and after C{privilegedStartService} (where ports and
devices are opened), reading these from its options: so a tap may fill in
what the user did not give on the command line.
"""

import grp
import os
import platform
import pwd
import socket

from twisted.logger import Logger
from twisted.python import usage

from mice.config import ConfigError, lineOf
from mice.record import HostInfo

log = Logger()

#: twistd's default pid file name: the user did not choose one.
_TWISTD_DEFAULT_PIDFILE = "twistd.pid"


class DaemonOptions(usage.Options):
    """
    The options of a daemon that reads one config file (C{-c}), loaded
    when the command line is parsed: a bad config is a usage error.

    A subclass names its config file and the component it configures
    (C{class Options(DaemonOptions, configFile="x.conf", component="X")}),
    may leave out C{--stay-root} (C{stayRoot=False}), and defines C{load}.
    """

    #: What loading may raise that is the config's fault.
    configErrors = (ConfigError, OSError)

    def __init_subclass__(cls, configFile, component, stayRoot=True, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.synopsis = f"-c {configFile}"
        cls.optParameters = [
            ["config", "c", f"/etc/M-ICE/{configFile}", f"The {component}'s config file."],
        ]
        cls.optFlags = [
            ["stay-root", None, "Run as root even when the config's USER or GROUP does not"
                                " exist."],
        ] if stayRoot else []

    def load(self, path):
        """
        @return: the settings of the config file at C{path}.
        """
        raise NotImplementedError()

    def postOptions(self):
        try:
            self.settings = self.load(self["config"])
        except self.configErrors as e:
            raise usage.UsageError(str(e)) from None


def privilegeWarnings(settings, twistdOptions, reported=()):
    """
    USER, GROUP and CHROOT that will not be applied, as messages (but for
    the keys in C{reported}, already explained).
    """
    twistdOptions = twistdOptions or {}
    wanted = [("USER", settings.user, "uid", "--uid"), ("GROUP", settings.group, "gid", "--gid"),
              ("CHROOT", settings.chroot, "chroot", "--chroot")]
    return [f"{settings.path}: {key} = {value} is applied by twistd's {flag}, which was not"
            f" given: running as the current user{' without chroot' if key == 'CHROOT' else ''}"
            for key, value, option, flag in wanted
            if value and twistdOptions.get(option) in (None, "") and key not in reported]


def applyRunSettings(settings, twistdOptions, name, isRoot=None, stayRoot=False):
    """
    Fill twistd's options from the config: a pid file in PIDPATH (unless
    C{--pidfile} was given), and, when running as root, C{--uid}/C{--gid}
    from USER/GROUP (unless given).  CHROOT is only ever C{--chroot}: the
    paths in a config name files outside the jail.

    Fail closed: started as root, a daemon whose USER or GROUP does not
    exist does not run (as root, with a warning, it would keep every
    privilege the config meant to drop), unless C{stayRoot} (the
    C{--stay-root} flag) says so.

    @param name: the pid file's base name.
    @return: warnings for what is not applied.
    @raise ConfigError: as root, USER or GROUP does not exist (C{file:line}).
    """
    if twistdOptions is None:
        return privilegeWarnings(settings, {})
    if isRoot is None:
        isRoot = os.getuid() == 0
    pidPath = getattr(settings, "pidPath", None)
    # twistd makes its option absolute (ServerOptions.postOptions): its
    # default is twistd.pid in the directory it was started in.
    if pidPath and twistdOptions.get("pidfile") in (
            _TWISTD_DEFAULT_PIDFILE, os.path.abspath(_TWISTD_DEFAULT_PIDFILE)):
        os.makedirs(pidPath, exist_ok=True)
        twistdOptions["pidfile"] = os.path.join(pidPath, name + ".pid")
    problems = {}
    if isRoot:
        lookups = (("USER", settings.user, "uid", lambda name: pwd.getpwnam(name).pw_uid,
                    "no such user"),
                   ("GROUP", settings.group, "gid", lambda name: grp.getgrnam(name).gr_gid,
                    "no such group"))
        for key, name, option, lookup, missing in lookups:
            if name and twistdOptions.get(option) is None:
                try:
                    twistdOptions[option] = lookup(name)
                except KeyError:
                    if not stayRoot:
                        raise ConfigError(
                            settings.path, lineOf(settings.path, key) if settings.path else None,
                            f"{key} = {name}: {missing}; refusing to run as root (create"
                            f" the {'user' if key == 'USER' else 'group'}, or start with"
                            " --stay-root to run as root anyway)") from None
                    problems[key] = (f"{settings.path}: {key} = {name}: {missing}; running as"
                                     " root, as --stay-root asks")
    return list(problems.values()) + privilegeWarnings(settings, twistdOptions, problems)


def configWarnings(*paths):
    """
    The warnings of the config files C{paths} (C{None}s and repeats
    skipped): a key accepted but not used, a file named that does not exist
    yet.  Read again for the log at start-up, since the settings loaders
    keep only the settings.  A shipped default secret is not returned but
    logged at once, as an error said once per key
    (L{mice.security.policy.sayConfigWarning}).
    """
    from mice.config import loadConfig
    from mice.security.policy import sayConfigWarning

    warnings = []
    for path in dict.fromkeys(paths):
        if path is None:
            continue
        try:
            loaded = loadConfig(path)
        except (ConfigError, OSError):
            # Its errors are reported by whoever builds from it.
            continue
        for warning in loaded.warnings:
            if warning.secret is None:
                warnings.append(str(warning))
            else:
                sayConfigWarning(warning)
    return warnings


def startSyslog(facility, prefix):
    """
    Send every log event to syslog too, with C{facility} (SYSLOGFAC).
    """
    from twisted.logger import LegacyLogObserverWrapper, globalLogPublisher
    from twisted.python.syslog import SyslogObserver

    observer = LegacyLogObserverWrapper(SyslogObserver(prefix, facility=facility).emit)
    globalLogPublisher.addObserver(observer)
    return observer


def localHostInfo():
    """
    The host columns for this machine: its short name, the domain of its
    fully qualified name (asked of the resolver), and C{uname}.
    """
    fqdn = socket.getfqdn()
    hostname = socket.gethostname().split(".")[0]
    domain = fqdn[len(hostname) + 1:] if fqdn.startswith(hostname + ".") else ""
    uname = platform.uname()
    return HostInfo(hostname, domain, "", uname.system, uname.release, uname.version)
