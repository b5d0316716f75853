"""
Tests for the C{mice} command, run as a real process.
"""

import glob
import os
import sqlite3
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase, TestCase

from mice.testing import temporaryFile, temporaryMariaDBDatabase
from tests import ROOT
from tests.integration.processes import MICE, mice

ETC = os.path.join(ROOT, "etc", "mice")


class CheckConfigTests(SynchronousTestCase):
    def test_everyShippedConfig(self):
        files = sorted(glob.glob(os.path.join(ETC, "*.conf"))
                       + glob.glob(os.path.join(ETC, "matchfiles", "*")))
        self.assertGreaterEqual(len(files), 10)
        status, out, err = mice("check-config", *files)
        self.assertEqual(status, 0, err)
        for path in files:
            self.assertIn(f"{path}: ", out)
        self.assertIn("bufferdaemon config, OK", out)

    def test_badConfig(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[ADDRESS]\nBINDTO = 127.0.0.1\n[PORT_NUMBER]\nPORT = many\n")
        status, out, err = mice("check-config", path)
        self.assertEqual(status, 1)
        self.assertIn(f"{path}:4:", err)

    def test_unknownModule(self):
        """
        C{check-config} finds the modules a BufferDaemon config names, and
        says where an unknown one is named.
        """
        path = temporaryFile(self, "[ADDRESS]\nBINDTO = 127.0.0.1\n[PORT_NUMBER]\nPORT = 1\n"
                             "[DECODING_MODULES]\nDEC_MOD = mice_mod_dec_logformat\n"
                             "[POSTPROC_MODULES]\nPOST_MOD = mice_mod_pop_nothing\n"
                             "[TIME_INTERVALS]\nTIMEINV = 2\n", "bd.conf")
        status, out, err = mice("check-config", path)
        self.assertEqual(status, 1, out)
        self.assertIn(f"{path}:8: unknown postprocessor module 'mice_mod_pop_nothing'", err)

    def test_correlationRules(self):
        """
        C{check-config} reads a C{*correlation*.conf} as correlation rules
        (the shipped ones: OK), and the rules an act_generic config's
        C{[CORRELATION]} names; every bad line named with file:line.
        """
        from mice.analysis.correlation import DEFAULT_RULES

        status, out, err = mice("check-config", DEFAULT_RULES)
        self.assertEqual(status, 0, err)
        self.assertIn("correlation rules, 3 rules, OK", out)
        self.assertIn("[brute-force] 5 alerts with the same source.address within 60 s"
                      " -> 0x9010", out)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        rules = os.path.join(directory, "my-correlation.conf")
        with open(rules, "w") as f:
            f.write("[a]\nALERT_ID = 0x1020\nKEY = nowhere\nCOUNT = 2\nWINDOW = 5\n"
                    "NEW_ALERT_ID = 0x9010\nSEVERITY = dire\n")
        status, out, err = mice("check-config", rules)
        self.assertEqual(status, 1, out)
        self.assertIn(f"{rules}:3: [a]: KEY: unknown field 'nowhere'", err)
        self.assertIn(f"{rules}:7: [a]: SEVERITY must be one of", err)
        act = os.path.join(directory, "act.conf")
        with open(act, "w") as f:
            f.write("[REACTION_ID]\nRID = 2\n[RID_PIPENAME]\nPIPE = rid_2_send_to_alert_db\n"
                    "[ANALYZER_ID]\nANAID = x\n[ANALYZER_MATCHFILE]\nMF = m.txt\n"
                    "[CORRELATION]\nRULES = my-correlation.conf\n")
        status, out, err = mice("check-config", act)
        self.assertEqual(status, 1, out)
        self.assertIn("CORRELATION.RULES = " + rules, out)
        self.assertIn(f"{rules}:3:", err)

    def test_secretsNotPrinted(self):
        status, out, err = mice("check-config", os.path.join(ETC, "mice_mod_pop_mysql.conf"),
                                os.path.join(ETC, "reactiondaemon.conf"))
        self.assertEqual(status, 0, err)
        self.assertNotIn("changeme", out + err)


class InitdbTests(SynchronousTestCase):
    def test_sqlite(self):
        path = os.path.abspath(self.mktemp() + ".db")
        status, out, err = mice("initdb", "sqlite:///" + path)
        self.assertEqual(status, 0, err)
        with sqlite3.connect(path) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master"
                                               " WHERE type = 'table'")}
        self.assertTrue({"rawlog_line", "firewall_line", "scslog_line", "alert_entry",
                         "received_alert", "reaction_job", "analyzer_heartbeat",
                         "correlation_state"} <= tables)
        self.assertEqual(mice("initdb", "sqlite:///" + path)[0], 0)

    def test_mariadb(self):
        connect = temporaryMariaDBDatabase(self)
        url = "mysql://{user}@{host}:{port}/{database}".format(**connect)
        status, out, err = mice("initdb", url)
        self.assertEqual(status, 0, err)
        import pymysql

        db = pymysql.connect(**connect)
        self.addCleanup(db.close)
        with db.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            tables = {r[0] for r in cursor.fetchall()}
        self.assertTrue({"rawlog_line", "firewall_line", "scslog_line", "alert_entry",
                         "received_alert", "reaction_job", "analyzer_heartbeat",
                         "correlation_state"} <= tables)

    def test_badUrl(self):
        status, out, err = mice("initdb", "postgres://x")
        self.assertEqual(status, 2)
        self.assertIn("mice initdb:", err)

    def test_unreachable(self):
        status, out, err = mice("initdb", "mysql://root:sekrit@127.0.0.1:1/x")
        self.assertEqual(status, 1)
        self.assertNotIn("sekrit", out + err)


class SendTests(SynchronousTestCase):
    def test_nothingListening(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("Nov 22 10:00:00 h x\n")
        status, out, err = mice("send", "--to", "127.0.0.1:1", "--timeout", "1.5", path)
        self.assertEqual(status, 1)
        self.assertIn("1 records not acknowledged", err)


class SecureSendTests(TestCase):
    timeout = 60

    async def test_preSharedKey(self):
        """
        C{mice send --enckey-file} ships to a BufferDaemon with that key, and
        a wrong key gets nothing in.
        """
        from mice.testing import writeRawLogConfigs
        from tests.integration.processes import TWISTD
        from tests.integration.test_faults import accepting, freePort, rowCount, waitFor

        directory = os.path.abspath(self.mktemp())
        port = freePort()
        database = os.path.join(directory, "rawlog.db")
        key = "0123456789abcdef" * 8
        conf = writeRawLogConfigs(directory, f"sqlite:///{database}", port=port,
                                  decoder=f"ENCRYPT = yes\nENCKEY = {key}")
        with open(os.path.join(directory, "daemon.out"), "wb") as out:
            daemon = subprocess.Popen(TWISTD + ["-n", "--pidfile=", "mice-bufferdaemon",
                                                "-c", conf], stdout=out, stderr=out)
        self.addCleanup(lambda: (daemon.kill(), daemon.wait()))
        await waitFor(lambda: accepting(port), 20, "the BufferDaemon to listen")
        keyFile, wrongFile, log = (os.path.join(directory, n) for n in ("key", "wrong", "log"))
        with open(keyFile, "w") as f:
            f.write(key)
        with open(wrongFile, "w") as f:
            f.write("fedcba9876543210" * 8)
        with open(log, "w") as f:
            f.write("Nov 22 10:00:01 web01 sshd[1]: over the encrypted link\n")
        status, out, err = mice("send", "--to", f"127.0.0.1:{port}", "--enckey-file", wrongFile,
                                "--timeout", "2", log)
        self.assertEqual(status, 1, err)
        status, out, err = mice("send", "--to", f"127.0.0.1:{port}", "--enckey-file", keyFile,
                                "--timeout", "30", log)
        self.assertEqual(status, 0, err)
        self.assertIn("1 records in 1 batches acknowledged", out)
        await waitFor(lambda: rowCount(database)[0], 10, "the row")
        self.assertEqual(rowCount(database), (1, 1))
        # "-" ships standard input, as stream "stdin" unless --stream says.
        status, out, err = mice("send", "--to", f"127.0.0.1:{port}", "--enckey-file", keyFile,
                                "--timeout", "30", "-",
                                stdin="Nov 22 10:00:02 web01 sshd[1]: from standard input\n")
        self.assertEqual(status, 0, err)
        await waitFor(lambda: rowCount(database)[0] == 2, 10, "the second row")


class VersionAndStdinTests(SynchronousTestCase):
    def test_version(self):
        from mice import __version__

        status, out, err = mice("--version")
        self.assertEqual((status, out), (0, f"mice {__version__}\n"), err)

    def test_onlyTheChosenCommandLoads(self):
        """
        C{mice} imports the module of the sub-command it runs and no other:
        C{mice --version} none, and no Twisted; C{mice check-config} its own.
        """
        show = ("import sys\n"
                "from mice.cli import main\n"
                "try:\n"
                "    main(sys.argv[1:])\n"
                "except SystemExit:\n"
                "    pass\n"
                "print(sorted(m for m in sys.modules if m.startswith(('mice.cli.', 'twisted'))),"
                " file=sys.stderr)\n")

        def loaded(*args):
            result = subprocess.run([sys.executable, "-c", show, *args], capture_output=True,
                                    text=True, timeout=60, cwd=ROOT)
            return result.stderr.splitlines()[-1]

        self.assertEqual(loaded("--version"), "[]")
        self.assertEqual(loaded("check-config", "--help"), "['mice.cli.checkconfig']")

    def test_analyzeStandardInput(self):
        """
        C{mice analyze ... -} reads the log from standard input and prints
        what it prints for the file.
        """
        sample = os.path.join(ROOT, "mice", "data", "sample.log")
        with open(sample) as f:
            text = f.read()
        for options in (["-c", os.path.join(ETC, "mice_mod_pop_aa_regex.conf")],
                        ["--rules", os.path.join(ETC, "logids", "rules-linux.txt"),
                         "--filters", os.path.join(ETC, "logids", "filter.txt")]):
            fromFile = mice("analyze", *options, "--json", "--tz", "UTC", sample)
            fromStdin = mice("analyze", *options, "--json", "--tz", "UTC", "-", stdin=text)
            self.assertEqual(fromStdin[0], 0, fromStdin[2])
            self.assertTrue(fromFile[1])
            self.assertEqual(fromStdin[1], fromFile[1])


class PseudonymKeyTests(SynchronousTestCase):
    def test_keygenThenDepseudonymize(self):
        """
        A key from C{mice keygen} pseudonymises; C{mice depseudonymize} with
        it gives the line back, and names the tokens another key cannot read.
        """
        from mice.forwarder.pseudonym import KeyedPseudonymizer, readKey

        status, out, err = mice("keygen")
        self.assertEqual((status, len(out.strip())), (0, 128), err)
        directory = self.mktemp()
        os.makedirs(directory)
        keyFile, otherKey = os.path.join(directory, "key"), os.path.join(directory, "other")
        with open(keyFile, "w") as f:
            f.write(out)
        with open(otherKey, "w") as f:
            f.write(mice("keygen")[1])
        line = "Nov 22 10:00:01 host sshd[7]: Failed password for alice from 10.0.0.1\n"
        hidden = KeyedPseudonymizer(readKey(keyFile)).pseudonymize(line)
        self.assertNotIn("alice", hidden)
        log = os.path.join(directory, "hidden.log")
        with open(log, "w") as f:
            f.write(hidden)
        status, out, err = mice("depseudonymize", "--key", keyFile, log)
        self.assertEqual((status, out), (0, line), err)
        status, out, err = mice("depseudonymize", "--key", otherKey, log)
        self.assertEqual((status, out), (1, hidden))
        self.assertIn(f"{log}:1: psd:", err)

    def test_badKeyFile(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("not hex")
        status, out, err = mice("depseudonymize", "--key", path)
        self.assertEqual(status, 2)
        self.assertIn("expected the key as hex digits", err)


class ReaderGoneTests(SynchronousTestCase):
    """
    C{mice analyze ... | head}: the reader leaving is not an error.
    """

    def test_analyzeIntoHead(self):
        root, etc = os.path.dirname(os.path.dirname(ETC)), ETC
        with open(os.path.join(root, "mice", "data", "sample.log"), "rb") as f:
            sample = f.read()
        log = os.path.abspath(self.mktemp())
        with open(log, "wb") as f:
            f.write(sample * 100)  # far more output than a pipe holds
        for options in (["-c", os.path.join(etc, "mice_mod_pop_aa_regex.conf")],
                        ["--rules", os.path.join(etc, "logids", "rules-linux.txt"),
                         "--filters", os.path.join(etc, "logids", "filter.txt")]):
            for output in ([], ["--json"]):
                child = subprocess.Popen(
                    MICE + ["analyze", *options, log, *output],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root)
                self.assertTrue(child.stdout.readline())
                child.stdout.close()
                err = child.stderr.read()
                child.stderr.close()
                self.assertEqual((child.wait(timeout=60), err), (0, b""), (options, output))


class PasswdTests(SynchronousTestCase):
    def passwd(self, *args, stdin=""):
        result = subprocess.run([*MICE, "passwd", *args],
                                capture_output=True, text=True, timeout=120, input=stdin)
        return result.returncode, result.stdout, result.stderr

    def test_stdin(self):
        """
        C{mice passwd --stdin} prints the line to paste into [CONSOLE]: an
        argon2id hash that checks the password, the password nowhere.
        """
        from argon2 import PasswordHasher

        status, out, err = self.passwd("--stdin", stdin="correct horse battery\n")
        self.assertEqual((status, err), (0, ""))
        key, _, value = out.strip().partition(" = ")
        self.assertEqual(key, "PASSWORD_HASH")
        self.assertTrue(value.startswith("$argon2id$"))
        self.assertTrue(PasswordHasher().verify(value, "correct horse battery"))
        self.assertNotIn("correct horse", out)
        again = self.passwd("--stdin", stdin="correct horse battery\n")[1]
        self.assertNotEqual(out, again, "salted")

    def test_tooShort(self):
        status, out, err = self.passwd("--stdin", stdin="short\n")
        self.assertEqual((status, out), (1, ""))
        self.assertIn("at least 10 characters", err)

    def test_noTerminal(self):
        """Without --stdin and without a terminal, nothing is hashed."""
        status, out, err = self.passwd(stdin="")
        self.assertEqual((status, out), (1, ""))
