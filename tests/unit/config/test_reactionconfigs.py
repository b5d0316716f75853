"""
Tests for the reaction agents' configs (C{<PIPE>.conf} beside the
act_generic config): the kinds rid_syslog, rid_savetofile and rid_fifo,
the files shipped in etc/mice/, and every way they can be wrong.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from mice.config import (
    ConfigErrors,
    FifoReactionSettings,
    SaveToFileSettings,
    SyslogReactionSettings,
    describe,
    detectKind,
    loadConfig,
    loadConfigText,
    loadFifoReaction,
    loadSaveToFile,
    loadSyslogReaction,
    parseIni,
)
from mice.config.errors import ConfigError
from tests import ROOT

ETC = os.path.join(ROOT, "etc", "mice")

SHIPPED = {
    "rid_1_write_to_syslog.conf": "rid_syslog",
    "rid_3_save_to_file.conf": "rid_savetofile",
    "rid_5_external_demo.conf": "rid_fifo",
}


def errors(text, filename="/etc/mice/x.conf"):
    try:
        loadConfigText(text, filename)
    except ConfigErrors as e:
        return [str(error) for error in e.errors]
    except ConfigError as e:
        return [str(e)]
    raise AssertionError("no error")


class ShippedTests(SynchronousTestCase):
    def test_loadCleanly(self):
        for name, kind in SHIPPED.items():
            loaded = loadConfig(os.path.join(ETC, name), strict=True)
            self.assertEqual((loaded.kind, loaded.warnings), (kind, ()), name)

    def test_values(self):
        syslog = loadSyslogReaction(os.path.join(ETC, "rid_1_write_to_syslog.conf"))
        self.assertEqual(syslog, SyslogReactionSettings(
            path=os.path.join(ETC, "rid_1_write_to_syslog.conf"), target="unix:/dev/log",
            format="rfc3164", facility=4, severity="idmef", tag="mice",
            framing="octet-counting", maxLength=2048))
        saved = loadSaveToFile(os.path.join(ETC, "rid_3_save_to_file.conf"))
        self.assertEqual((saved.file, saved.mode, saved.remember, saved.sync),
                         (os.path.join(ROOT, "var", "alerts.idmef"), 0o640, 4096, False))
        fifo = loadFifoReaction(os.path.join(ETC, "rid_5_external_demo.conf"))
        self.assertEqual((fifo.fifo, fifo.mode, fifo.maxHeld, fifo.timeout),
                         (None, 0o600, 256, 30.0))

    def test_defaultsWithoutAFile(self):
        """
        No config: the same values as the schema's defaults.
        """
        for load, text, cls in (
                (loadSyslogReaction, "[WRITE_TO_SYSLOG]\n", SyslogReactionSettings),
                (loadSaveToFile, "[SAVE_TO_FILE]\n", SaveToFileSettings),
                (loadFifoReaction, "[FIFO]\n", FifoReactionSettings)):
            fromText = loadConfigText(text, "/x/y.conf").settings
            self.assertEqual(load(None), cls())
            self.assertEqual(fromText, cls(path="/x/y.conf"))

    def test_describe(self):
        loaded = loadConfig(os.path.join(ETC, "rid_1_write_to_syslog.conf"))
        lines = describe(loaded)
        self.assertIn("WRITE_TO_SYSLOG.SEVERITY = idmef", lines)
        self.assertIn("WRITE_TO_SYSLOG.FACILITY = auth", lines)
        self.assertIn("WRITE_TO_SYSLOG.FRAMING = octet-counting  (default)", lines)
        lines = describe(loadConfig(os.path.join(ETC, "rid_3_save_to_file.conf")))
        self.assertIn("SAVE_TO_FILE.MODE = 0640", lines)


class SyslogConfigTests(SynchronousTestCase):
    def load(self, body):
        return loadConfigText("[WRITE_TO_SYSLOG]\n" + body, "/etc/mice/r.conf").settings

    def test_targets(self):
        self.assertEqual(self.load("TARGET = tcp:[::1]:6514\n").target, "tcp:[::1]:6514")
        self.assertEqual(self.load("TARGET = UDP:localhost:514\n").target, "udp:localhost:514")
        self.assertEqual(self.load("TARGET = unix:log\n").target, "unix:/etc/mice/log")

    def test_severities(self):
        for text, value in (("idmef", "idmef"), ("crit", 2), ("LOG_WARNING", 4), ("warn", 4),
                            ("0", 0), ("7", 7), ("Error", 3)):
            self.assertEqual(self.load(f"SEVERITY = {text}\n").severity, value, text)

    def test_framingWithoutTcpWarns(self):
        loaded = loadConfigText("[WRITE_TO_SYSLOG]\nTARGET = udp:h:514\nFRAMING = newline\n",
                                "/etc/mice/r.conf")
        self.assertEqual([str(w) for w in loaded.warnings],
                         ["/etc/mice/r.conf:3: warning: FRAMING only applies to tcp: targets;"
                          " udp:h:514 takes one line per datagram"])

    def test_errors(self):
        self.assertEqual(errors(
            "[WRITE_TO_SYSLOG]\nTARGET = tcp:host\nFORMAT = json\nSEVERITY = 8\n"
            "FACILITY = local8\nMAXLENGTH = 479\nTAG = a b\nFRAMING = lf\nHOSTNAME = a b\n"
            "COLOUR = red\n"), [
            "/etc/mice/x.conf:2: TARGET: expected HOST:PORT (like 127.0.0.1:4455 or"
            " [::1]:4455), got 'host'",
            "/etc/mice/x.conf:3: FORMAT: expected one of rfc3164, rfc5424, got 'json'",
            "/etc/mice/x.conf:4: SEVERITY: expected idmef (follow the alert) or a syslog"
            " severity (emerg, alert, crit, err, warning, notice, info, debug or 0 to 7),"
            " got '8'",
            "/etc/mice/x.conf:5: FACILITY: expected a syslog facility (daemon, LOG_DAEMON,"
            " local0 ... local7, ...), got 'local8'",
            "/etc/mice/x.conf:6: MAXLENGTH: must be at least 480, got 479",
            "/etc/mice/x.conf:7: TAG: expected 1 to 32 printable characters without spaces,"
            " got 'a b'",
            "/etc/mice/x.conf:8: FRAMING: expected one of octet-counting, newline, got 'lf'",
            "/etc/mice/x.conf:9: HOSTNAME: expected a host name or IP address, got 'a b'",
            "/etc/mice/x.conf:10: unknown key COLOUR in [WRITE_TO_SYSLOG]; known keys: TARGET,"
            " FORMAT, FACILITY, SEVERITY, TAG, FRAMING, MAXLENGTH, HOSTNAME"])


class FileAndFifoConfigTests(SynchronousTestCase):
    def test_modes(self):
        for text, value in (("0640", 0o640), ("640", 0o640), ("0o600", 0o600), ("0644", 0o644)):
            settings = loadConfigText(f"[SAVE_TO_FILE]\nMODE = {text}\n", "/x.conf").settings
            self.assertEqual(settings.mode, value, text)
        settings = loadConfigText("[FIFO]\nMODE = 0660\n", "/x.conf").settings
        self.assertEqual(settings.mode, 0o660)

    def test_modeErrors(self):
        for text, error in (
            ("[SAVE_TO_FILE]\nMODE = 0666\n",
             "/etc/mice/x.conf:2: MODE: 0666 gives others write access to the alerts; allowed"
             " at most 0775"),
            ("[SAVE_TO_FILE]\nMODE = 0640\nMODE = 0600\n",
             "/etc/mice/x.conf:3: MODE given twice in [SAVE_TO_FILE] (first at line 2); it takes"
             " one value"),
            ("[FIFO]\nMODE = 0604\n",
             "/etc/mice/x.conf:2: MODE: 0604 gives others access to the reaction program's"
             " input; allowed at most 0770"),
            ("[FIFO]\nMODE = 0400\n",
             "/etc/mice/x.conf:2: MODE: the owner (the ManagementHost) needs read and write:"
             " 0400 lacks them"),
            ("[FIFO]\nMODE = rw-r-----\n",
             "/etc/mice/x.conf:2: MODE: expected an octal permission mode such as 0640, got"
             " 'rw-r-----'"),
            ("[FIFO]\nMODE = 1777\n",
             "/etc/mice/x.conf:2: MODE: expected permission bits only (at most 0777), got"
             " '1777'"),
        ):
            self.assertEqual(errors(text), [error], text)

    def test_fifoPathIsNotAFifo(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("x")
        text = f"[FIFO]\nPATH = {path}\n"
        loaded = loadConfigText(text, "/x.conf")
        self.assertEqual([str(w) for w in loaded.warnings],
                         [f"/x.conf:2: warning: PATH: {path} exists and is not a FIFO: the"
                          " reaction will refuse to start"])
        self.assertRaises(ConfigError, loadConfigText, text, "/x.conf", strict=True)

    def test_fifoErrors(self):
        self.assertEqual(errors("[FIFO]\nMAXHELD = 0\nTIMEOUT = never\nPATH =\n"), [
            "/etc/mice/x.conf:2: MAXHELD: must be at least 1, got 0",
            "/etc/mice/x.conf:3: TIMEOUT: expected a number of seconds, got 'never'",
            "/etc/mice/x.conf:4: PATH: expected a path, got an empty value"])

    def test_kinds(self):
        for text, kind in (("[WRITE_TO_SYSLOG]\n", "rid_syslog"),
                           ("[SAVE_TO_FILE]\n", "rid_savetofile"), ("[FIFO]\n", "rid_fifo")):
            self.assertEqual(detectKind(parseIni(text, "/x.conf")), kind)
        self.assertEqual(errors("[SYSLOG]\nTARGET = unix:/dev/log\n[FIFO]\n")[0][:40],
                         "/etc/mice/x.conf: cannot tell what kind ")
