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


def _readAttributes():
    """
    The names read as attributes (C{x.name}, C{getattr(x, "name")}) by the
    code outside L{mice.config}, and by the settings' own properties: what
    uses a setting.
    """
    package = os.path.join(ROOT, "mice")
    names = set()
    for folder, _, files in os.walk(package):
        inConfig = os.path.relpath(folder, package).split(os.sep)[0] == "config"
        for name in files:
            # The settings' own properties (endpoints, databaseUrl()) read
            # fields for the code that asks them; the loaders do not count.
            if name.endswith(".py") and (not inConfig or name == "settings.py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    text = f.read()
                names.update(re.findall(r"\.([A-Za-z_]\w*)", text))
                names.update(re.findall(r"getattr\(\w+, \"(\w+)\"", text))
    return names


READ = _readAttributes()


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


def silentlyIgnored(path, load=loadConfigText, read=READ):
    """
    The C{file:line: KEY} of each line of C{path} that is neither warned
    about nor changes a setting that the code outside L{mice.config} reads.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    loaded = load(text, path)
    warned = {w.line for w in loaded.warnings}
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
                      silentlyIgnored(path, read=READ - {"stateDirectory"}))
