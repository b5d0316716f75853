"""
Every key of every config file shipped in C{etc/mice/} is honoured, or
warned about by C{mice check-config} (a seed key accepted and not used):
none is silently ignored.

A key is honoured when the file does not load without it, when blanking
its line (the line numbers kept) changes a field of the settings that code
outside L{mice.config} reads (or a property of the settings that it
asks), or when its value is the default the key has anyway (the loaded
settings then say C{(default)} for it).  Two values
are the same as no line at all by definition: an empty M-ICE rule (C{""}
is "off", seed 6.2) and reaction 4's C{PARAM = ip=source.address} (the
built-in parameter when none is given).
"""

import dataclasses
import glob
import os
import re
from collections import Counter

from twisted.trial.unittest import SynchronousTestCase

from mice.config import ConfigError, loadConfigText
from tests import ROOT

ETC = os.path.join(ROOT, "etc", "mice")

#: C{(file name, key, value)}s whose line means what no line means.
SAME_AS_ABSENT = {("rid_4_countermeasure.conf", "PARAM", "ip=source.address")}


def shippedConfigs():
    return sorted(glob.glob(os.path.join(ETC, "*.conf"))
                  + glob.glob(os.path.join(ETC, "matchfiles", "*.txt")))


def _entries(text):
    """
    C{(line number, key, value)} of every C{KEY = value} line.
    """
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "[", ";")) and "=" in stripped:
            key, _, value = stripped.partition("=")
            yield number, key.strip(), value.split("#")[0].strip()


def _modules():
    """
    C{{dotted name: source}} of every module of the C{mice} package.
    """
    package = os.path.join(ROOT, "mice")
    found = {}
    for folder, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                with open(path, encoding="utf-8") as f:
                    found[dotted.removesuffix(".__init__")] = f.read()
    return found


MODULES = _modules()

#: The kinds that are a daemon's config, and what takes any daemon's
#: settings, whatever their kind.
_DAEMONS = ("bufferdaemon", "dataforwarder", "reactiondaemon")
_DAEMON_CONSUMERS = ("mice.tap.runtime", "mice.cli.status")


def _consumers(settings, kind):
    """
    The modules that use settings of this kind: those naming its class or
    its loader (C{ActGenericSettings}, C{loadActGeneric}; C{loadFltRegex}
    for the kind C{flt_regex}),
    what they import from C{mice} (outside L{mice.config}), and the
    settings' own module (its properties); a daemon's settings also go to
    L{mice.tap.runtime} and L{mice.cli.status}.
    """
    stem = type(settings).__name__.removesuffix("Settings")
    loader = "load" + "".join(part.capitalize() for part in kind.split("_"))
    naming = re.compile(rf"\b(?:load{stem}|{stem}Settings|{loader})\b")
    direct = {name for name, text in MODULES.items()
              if naming.search(text) and not name.startswith("mice.config")}
    if kind in _DAEMONS:
        direct.update(_DAEMON_CONSUMERS)
    found = set(direct)
    for name in direct:
        for imported in re.findall(r"^\s*(?:from|import) (mice[\w.]*)", MODULES[name], re.M):
            if imported in MODULES and not imported.startswith("mice.config"):
                found.add(imported)
    return found | {"mice.config.settings"}


def readBy(settings, kind):
    """
    The names read as attributes (C{x.name}, C{getattr(x, "name")}) by the
    modules that use C{settings}' kind: what uses a setting of it.
    """
    names = set()
    for module in _consumers(settings, kind):
        text = MODULES[module]
        names.update(re.findall(r"\.([A-Za-z_]\w*)", text))
        names.update(re.findall(r"getattr\(\w+, \"(\w+)\"", text))
    return names


def _changedFields(before, after):
    """
    The names of the settings' fields that differ (a field that does not
    compare equal to itself, an argv template, by its text).
    """
    changed = []
    for field in dataclasses.fields(before):
        old, new = getattr(before, field.name), getattr(after, field.name)
        if old != new and str(old) != str(new):
            changed.append(field.name)
        elif old != new and "object at 0x" in repr(old) and repr(old) != repr(new):
            if vars(old) != vars(new):
                changed.append(field.name)
    return changed


def silentlyIgnored(path, load=loadConfigText, forget=()):
    """
    The C{file:line: KEY} of each line of C{path} that is neither warned
    about nor changes a setting that the code using the file's kind reads
    (C{forget}: names to take as read by nothing).
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    loaded = load(text, path)
    warned = {w.line for w in loaded.warnings}
    read = readBy(loaded.settings, loaded.kind) - set(forget)
    name = os.path.basename(path)
    ignored = []
    for number, key, value in _entries(text):
        if number in warned or value == '""' or (name, key, value) in SAME_AS_ABSENT:
            continue
        lines = text.split("\n")
        lines[number - 1] = ""
        try:
            blanked = load("\n".join(lines), path, kind=loaded.kind)
        except ConfigError:
            continue  # needed: the file does not load without it
        changed = _changedFields(loaded.settings, blanked.settings)
        if any(field in read for field in changed):
            continue
        if not changed:
            gone = Counter(loaded.shown) - Counter(blanked.shown)
            came = Counter(blanked.shown) - Counter(loaded.shown)
            if gone and Counter({(label, f"{text}  (default)"): n
                                 for (label, text), n in gone.items()}) == came:
                continue  # the default value, written out
        ignored.append(f"{path}:{number}: {key}" + (f" (sets {', '.join(changed)}, which"
                                                     " nothing reads)" if changed else ""))
    return ignored


class ShippedKeysTests(SynchronousTestCase):
    def test_noKeySilentlyIgnored(self):
        configs = shippedConfigs()
        self.assertGreaterEqual(len(configs), 25)
        self.assertEqual([line for path in configs for line in silentlyIgnored(path)], [])

    def test_checkCanFail(self):
        """
        A loader that accepted a seed key it does not use without a word
        (DEVRANDOM, before issue 16) is caught: it sets a field nothing
        reads.
        """
        def quiet(text, path, kind=None):
            return loadConfigText(text, path, kind=kind)._replace(warnings=())

        path = os.path.join(ETC, "dataforwarder.conf")
        self.assertIn(f"{path}:38: DEVRANDOM (sets devRandom, which nothing reads)",
                      silentlyIgnored(path, quiet))
        # And a key whose field nobody read any more.
        self.assertIn(f"{path}:70: STATEDIR (sets stateDirectory, which nothing reads)",
                      silentlyIgnored(path, forget={"stateDirectory"}))
