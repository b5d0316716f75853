"""
Test helpers shared by M-ICE's tests (and usable by third-party modules'
tests): fakes of our own interfaces, never of a database or the network.
"""

import errno
import os
import selectors
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import closing
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SkipTest
from zope.interface import implementer

from mice.interfaces import IPostProcessor, IReaction, ReactionRefused

#: The source tree's shipped configs (C{etc/mice}).
SHIPPED_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "etc", "mice")


#: The smallest BufferDaemon config that loads: a base for tests that add or
#: break one thing.
MINIMAL_BUFFERDAEMON = """\
[ADDRESS]
BINDTO = 127.0.0.1
[PORT_NUMBER]
PORT = 3366
[DECODING_MODULES]
DEC_MOD = mice_mod_dec_logformat
[POSTPROC_MODULES]
POST_MOD = mice_mod_pop_mysql
[TIME_INTERVALS]
TIMEINV = 2
"""


def temporaryFile(testCase, content, name="test.conf", directory=None):
    """
    Write C{content} (text, or bytes as they are) to C{name} in C{directory},
    or in a new directory of C{testCase}'s own, and return the file's absolute
    path.
    """
    if directory is None:
        directory = os.path.abspath(testCase.mktemp())
    return writeFile(directory, name, content)


def writeFile(directory, name, content):
    """
    Write C{content} (text, or bytes as they are) to C{name} in C{directory},
    made if it is missing, and return the file's path.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def capturedLog(testCase):
    """
    The list every log event goes to from now until C{testCase} ends (its
    events, as the global log publisher hands them out).
    """
    events = []
    globalLogPublisher.addObserver(events.append)
    testCase.addCleanup(globalLogPublisher.removeObserver, events.append)
    return events


def sqliteRows(path, sql, timeout=5):
    """
    The rows of C{sql} in the SQLite file at C{path}, a store that a
    process under test may be writing: C{[]} while the file or the table
    is not there yet, or the file stays locked for C{timeout} seconds.
    """
    if not os.path.exists(path):
        return []
    try:
        with closing(sqlite3.connect(path, timeout=timeout)) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def bufferDaemonConfig(pipelines, port=0, timeInterval=0.2, ring="", seedNames=False):
    """
    The text of a BufferDaemon config listening on 127.0.0.1:C{port} (0: any
    free port).

    @param pipelines: C{(decoder, its config file, post-processor, its config
        file)} for each pipeline; a config file may be C{None} (the module's
        defaults).
    @param ring: the lines of C{[CACHE_AND_RINGBUFFER]}, if any.
    @param seedNames: name the modules' sections and keys as the seed's
        ManagementHost config does (C{ENCODING_MODULES}/C{ENC_MOD},
        C{OUTPUT_MODULES}/C{OUT_MOD}).
    """
    if seedNames:
        sections = (("ENCODING_MODULES", "ENC"), ("OUTPUT_MODULES", "OUT"))
    else:
        sections = (("DECODING_MODULES", "DEC"), ("POSTPROC_MODULES", "POST"))
    text = f"[ADDRESS]\nLISTEN = tcp:{port}:interface=127.0.0.1\n"
    for (section, key), column in zip(sections, (0, 2)):
        text += f"[{section}]\n" + "".join(f"{key}_MOD = {p[column]}\n" for p in pipelines)
        files = [p[column + 1] for p in pipelines if p[column + 1] is not None]
        if files:
            text += f"[{section}_CONFIG_FILE]\n" + "".join(f"{key}_FILE = {name}\n"
                                                          for name in files)
    text += f"[TIME_INTERVALS]\nTIMEINV = {timeInterval}\n"
    return text + (f"[CACHE_AND_RINGBUFFER]\n{ring}" if ring else "")


def writeManagementDaemon(directory, port=0, timeInterval=0.2, ring="RBSIZE = 64\n"):
    """
    Write the seed's ManagementHost BufferDaemon config, C{bd-mh.conf}: the
    IDMEF decoder and C{mice_mod_pop_act_generic} reading C{act.conf}, named
    as the seed names them.

    @return: the config's path.
    """
    return writeFile(directory, "bd-mh.conf", bufferDaemonConfig(
        [("mice_mod_enc_idmef_twofish", None, "mice_mod_out_act_generic", "act.conf")],
        port, timeInterval, ring, seedNames=True))


@implementer(IPostProcessor)
class MemoryPostProcessor:
    """
    A post-processor that keeps what it is given in a list, and can be told
    to fail.

    @ivar stored: every record processed, in order.
    @ivar failing: while true, L{process} fails.
    """

    name = "memory"

    def __init__(self, maxErrors=3, batchSize=5000):
        self.maxErrors = maxErrors
        self.batchSize = batchSize
        self.stored = []
        self.calls = 0
        self.failing = False
        self.started = self.stopped = False

    def start(self):
        self.started = True
        return succeed(None)

    def process(self, records):
        self.calls += 1
        if self.failing:
            return fail(RuntimeError("the store is down"))
        self.stored.extend(records)
        return succeed(len(records))

    def stop(self):
        self.stopped = True
        return succeed(None)


MARIADB_URL_ENV = "MICE_TEST_MARIADB_URL"
_DEFAULT_MARIADB_URL = "mysql://root@127.0.0.1:3306/test"
_mariadbProbe = {}


def mariadbUrlOrSkip(testCase):
    """
    Connection keyword arguments for PyMySQL of the MariaDB/MySQL server the
    integration tests use: C{$MICE_TEST_MARIADB_URL}, by default
    C{mysql://root@127.0.0.1:3306/test}.

    When the server cannot be reached the test is skipped, unless C{$CI} is
    set (to anything but the empty string): in CI an unreachable server is a
    failure, never a silent skip.

    @param testCase: the running test (for the failure).
    @return: a dict with C{host}, C{port}, C{user}, C{password},
        C{database} and C{charset}.
    """
    url = os.environ.get(MARIADB_URL_ENV) or _DEFAULT_MARIADB_URL
    parts = urlsplit(url)
    connect = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or "test",
        "charset": "utf8mb4",
    }
    if url not in _mariadbProbe:
        try:
            import pymysql

            pymysql.connect(connect_timeout=5, **connect).close()
        except Exception as e:
            _mariadbProbe[url] = "%s:%s unreachable: %s" % (connect["host"], connect["port"], e)
        else:
            _mariadbProbe[url] = None
    problem = _mariadbProbe[url]
    if problem is not None:
        _skipUnlessCI(testCase, problem)
    return connect


def _skipUnlessCI(testCase, problem):
    """
    Skip C{testCase} for C{problem}, except under CI (C{$CI} set), where a
    missing database is a failure, never a silent skip.
    """
    if os.environ.get("CI"):
        testCase.fail("MariaDB is required under CI: " + problem)
    raise SkipTest(problem)


def temporaryMariaDBDatabase(testCase):
    """
    Create an empty database C{mice_test_<random hex>} (utf8mb4) on the test
    server and drop it when C{testCase} cleans up.  Skips or fails like
    L{mariadbUrlOrSkip}.

    @return: PyMySQL connection keyword arguments for the new database.
    """
    import pymysql

    connect = mariadbUrlOrSkip(testCase)
    name = "mice_test_" + uuid.uuid4().hex
    admin = dict(connect)
    del admin["database"]

    def run(statement):
        db = pymysql.connect(connect_timeout=5, **admin)
        try:
            with db.cursor() as cursor:
                cursor.execute(statement)
        finally:
            db.close()

    run("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
    testCase.addCleanup(run, "DROP DATABASE IF EXISTS `%s`" % name)
    return dict(connect, database=name)


def temporaryMariaDBUrl(testCase):
    """
    L{temporaryMariaDBDatabase} as a C{mysql://} URL (for
    L{mice.config.parseDatabaseUrl} and the configs' C{URL} keys).
    """
    from urllib.parse import quote

    connect = temporaryMariaDBDatabase(testCase)
    credentials = quote(connect["user"], safe="")
    if connect["password"]:
        credentials += ":" + quote(connect["password"], safe="")
    return f"mysql://{credentials}@{connect['host']}:{connect['port']}/{connect['database']}"


class PrivateMariaDB:
    """
    A throwaway MariaDB server on its own data directory and loopback port,
    for tests that need the database to go away and come back.  The shared
    server is never touched.
    """

    def __init__(self, testCase):
        self.mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        installer = shutil.which("mariadb-install-db")
        if installer is None or not os.path.exists(self.mariadbd):
            _skipUnlessCI(testCase, "mariadbd and mariadb-install-db are not installed")
        self.directory = tempfile.mkdtemp(prefix="mice-mariadb-")
        self.process = None
        testCase.addCleanup(self.destroy)
        subprocess.run(
            [installer, "--no-defaults", f"--datadir={self.directory}/data", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.connectArgs = {"host": "127.0.0.1", "port": self.port, "user": "root",
                            "password": ""}

    def start(self):
        self.process = subprocess.Popen(
            [self.mariadbd, "--no-defaults", f"--datadir={self.directory}/data", "--user=root",
             f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--socket={self.directory}/socket", f"--pid-file={self.directory}/pid",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M"],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.directory}/server.log", "ab"))

    def ready(self):
        """
        @return: whether the server accepts connections now.
        """
        import pymysql

        try:
            pymysql.connect(**self.connectArgs, connect_timeout=1).close()
        except pymysql.MySQLError:
            return False
        return True

    def kill(self):
        """
        Kill the server with SIGKILL, as a crash would.
        """
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def destroy(self):
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def writeRawLogConfigs(directory, url, port=0, mmSize=64, rbSize=16, timeInterval=0.2,
                       batchSize=5000, maxErr=3, decoder="", signKey=None):
    """
    Write a raw-log BufferDaemon config (and its C{mice_mod_pop_mysql}
    config) storing into C{url}, listening on 127.0.0.1:C{port} (0: any free
    port).  For tests and benchmarks.  C{decoder} holds lines for the
    decoding module's C{[DECODER]} section (C{ENCRYPT = yes}...); C{signKey}
    is a SIGNKEY file the store signs its rows with.

    @return: the BufferDaemon config's path.
    """
    writeFile(directory, "pop.conf",
              f"[MYSQL_SERVER]\nURL = {url}\nMAXERR = {maxErr}\nBATCHSIZE = {batchSize}\n"
              + (f"SIGNKEY = {signKey}\n" if signKey else ""))
    writeFile(directory, "decoder.conf", f"[DECODER]\n{decoder}\n")
    return writeFile(directory, "bd.conf", bufferDaemonConfig(
        [("mice_mod_dec_logformat_twofish", "decoder.conf", "mice_mod_pop_mysql", "pop.conf")],
        port, timeInterval, f"MMPATH = cache\nMMSIZE = {mmSize}\nRBSIZE = {rbSize}\n"))


class SubmittedBatch(NamedTuple):
    stream: str
    seq: int
    host: dict
    records: list
    seqs: list
    deferred: Deferred

    @property
    def numbers(self):
        """
        The sequence number of every record.
        """
        return self.seqs or list(range(self.seq, self.seq + len(self.records)))


class FakeSender:
    """
    Stands in for L{mice.services.sender.ReliableSender} in tests of what
    feeds it: it keeps what is submitted until the test acknowledges it.
    """

    def __init__(self, description="test server", connected=True):
        self.description = description
        self.connected = connected
        self.running = False
        self.submitted = []

    def startService(self):
        self.running = True

    def stopService(self):
        self.running = False
        return succeed(None)

    def submit(self, stream, seq, host, records, seqs=None):
        d = Deferred()
        self.submitted.append(SubmittedBatch(stream, seq, host, records, seqs, d))
        return d

    def acknowledge(self, count=None):
        """
        Acknowledge the oldest C{count} unacknowledged batches (all of them
        by default), in order.

        @return: the batches acknowledged.
        """
        waiting = [b for b in self.submitted if not b.deferred.called]
        done = waiting if count is None else waiting[:count]
        for batch in done:
            batch.deferred.callback(batch)
        return done


def writeForwarderConfig(directory, files, sqlPort=0, analysisPort=0, sleepInterval=0.2,
                         shmSize=1024, spoolSize=65536, filterDrop=(), reconnect=15,
                         stateDirectory="state", pseudonymKeyFile=None, security="", ip=None):
    """
    Write a DataForwarder config (and a filter config) shipping C{files} to
    127.0.0.1:C{sqlPort} and 127.0.0.1:C{analysisPort} (0: disabled).  Its
    lines say they come from host C{testhost} (and address C{ip}, if given,
    instead of this machine's).

    @param pseudonymKeyFile: a key file (see L{mice.forwarder.pseudonym.readKey}) to
        turn PSEUDO on with C{mice_mod_psd_keyed}; C{None}: PSEUDO = no.
    @param security: lines for C{[SECURITY_AND_PRIVACY]} (C{ENCRYPT = yes},
        C{ENCKEY = ...}, C{TLSCERT = ...}), replacing C{ENCRYPT = no}.
    @return: the config's path.
    """
    writeFile(directory, "filter.conf",
              "[FILTER]\n" + "".join(f'DROP = "{p}"\n' for p in filterDrop))
    writeFile(directory, "fmt.conf",
              "[FORMAT]\nHOSTNAME = testhost\n" + ("" if ip is None else f"IP = {ip}\n"))
    pseudo = ""
    if pseudonymKeyFile is not None:
        writeFile(directory, "psd.conf",
                  f"[PSEUDONYM]\nKEYFILE = {os.path.abspath(pseudonymKeyFile)}\n")
        pseudo = "PSEUDONYMCONF = psd.conf\n[MODULES]\nMOD_PSEUDONYM = mice_mod_psd_keyed\n"
    return writeFile(directory, "dataforwarder.conf", (
        f"[SQL_SERVER]\nSQLIP = 127.0.0.1\nSQLPORT = {sqlPort}\n"
        f"[ANALYSIS_SERVER]\nASIP = 127.0.0.1\nASPORT = {analysisPort}\n"
        f"[SECURITY_AND_PRIVACY]\n{security or 'ENCRYPT = no'}\n"
        f"FILTER = {'yes' if filterDrop else 'no'}\n"
        f"PSEUDO = {'no' if pseudonymKeyFile is None else 'yes'}\n"
        "[LOGFILE_LIST]\n" + "".join(f"FILE = {path}\n" for path in files)
        + "[MODULES_CONFIG_FILE]\nFILTERCONF = filter.conf\nLOGFORMATCONF = fmt.conf\n"
        + pseudo
        + f"[MISC]\nSHMSIZE = {shmSize}\nSLEEPINV = {sleepInterval}\n"
        f"RECONNECT = {reconnect}\nSTATEDIR = {stateDirectory}\n"
        f"SPOOLSIZE = {spoolSize}\n"))


def writeLogIdsConfig(directory, managementPort, rules, filters=None,
                      netdef="10.0.0.2 webserver\n", alertIdFile="alertid",
                      name="aa-rules.conf"):
    """
    Write a C{mice_mod_pop_aa_rules} config sending its alerts and console
    events to a ManagementHost on 127.0.0.1:C{managementPort}, with the
    LogIDS C{rules} (text) and C{netdef} (text) beside it.

    @param filters: the C{filter.txt} to use; by default the shipped one.
    @param alertIdFile: its AlertIDFile, relative to C{directory}.
    @return: the config's path.
    """
    writeFile(directory, "rules.txt", rules)
    writeFile(directory, "netdef.txt", netdef)
    filters = filters or os.path.join(SHIPPED_CONFIGS, "logids", "filter.txt")
    return writeFile(directory, name, f"[HOST_INFO]\nManagement = 127.0.0.1:{managementPort}\n"
                     f"[IDMEF_INFO]\nAlertIDFile = {alertIdFile}\n"
                     "[LOGIDS]\nRules = rules.txt\n"
                     f"Filters = {filters}\nNetDef = netdef.txt\n")


def writeLogIdsAgent(directory, managementPort, rules, **logids):
    """
    Write an analysis agent's BufferDaemon config with only
    C{mice_mod_pop_aa_rules} (L{writeLogIdsConfig}, given C{logids}),
    listening on any free loopback port.

    @return: the BufferDaemon config's path.
    """
    writeLogIdsConfig(directory, managementPort, rules, **logids)
    return writeFile(directory, "bd-aa.conf", bufferDaemonConfig(
        [("mice_mod_dec_logformat", None, "mice_mod_pop_aa_rules", "aa-rules.conf")],
        ring="MMPATH = cache-aa\nMMSIZE = 8\n"))


def writeAgentConfigs(directory, managementPort, port=0, mmSize=8, timeInterval=0.2,
                      encryption="", logidsRules=None, logidsFilters=None,
                      logidsNetdef=""):
    """
    Write an analysis agent's BufferDaemon config: the log decoder and
    C{mice_mod_pop_aa_regex} with the shipped rules (C{aa.conf}, AlertIDFile
    C{alertid}), sending its alerts to a ManagementHost on
    127.0.0.1:C{managementPort}.

    With C{logidsRules}, a second pipeline of the same decoder runs
    C{mice_mod_pop_aa_rules} (C{aa-rules.conf}, AlertIDFile
    C{alertid-logids}, from L{writeLogIdsConfig} with C{logidsFilters} and
    C{logidsNetdef}) to the same ManagementHost.

    @return: the BufferDaemon config's path.
    """
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(SHIPPED_CONFIGS, "mice_mod_pop_aa_regex.conf")) as f:
        rules = f.read()
    rules = rules.replace("Management = 127.0.0.1:4455",
                          f"Management = 127.0.0.1:{managementPort}")
    rules = rules.replace("AlertIDFile = ../../var/mice_mod_aa_regex-alertid",
                          "AlertIDFile = alertid")
    # The shipped file encrypts with the seed's passphrase; a test's link
    # is plain unless told.
    rules = rules.replace("Encryption = yes", encryption or "Encryption = no")
    with open(os.path.join(directory, "aa.conf"), "w") as f:
        f.write(rules)
    os.makedirs(os.path.join(directory, "matchfiles"), exist_ok=True)
    shutil.copy(os.path.join(SHIPPED_CONFIGS, "matchfiles", "match_file_aa_regex.txt"),
                os.path.join(directory, "matchfiles"))
    if logidsRules is None:
        pipelines = [("mice_mod_dec_logformat_twofish", None, "mice_mod_pop_aa_regex", "aa.conf")]
    else:
        writeLogIdsConfig(directory, managementPort, logidsRules, filters=logidsFilters,
                          netdef=logidsNetdef, alertIdFile="alertid-logids")
        pipelines = [("mice_mod_dec_logformat", None, "mice_mod_pop_aa_regex", "aa.conf"),
                     ("mice_mod_dec_logformat", None, "mice_mod_pop_aa_rules", "aa-rules.conf")]
    return writeFile(directory, "bd-aa.conf", bufferDaemonConfig(
        pipelines, port, timeInterval, f"MMPATH = cache-aa\nMMSIZE = {mmSize}\n"))


def decodeChecked(decoder, source, message):
    """
    What the BufferDaemon does with a batch message: check its envelope once
    (L{mice.protocols.wire.checkBatch}), then hand it to C{decoder}.
    """
    from mice.protocols.wire import checkBatch

    return decoder.decode(source, checkBatch(message))


class HostileFlood:
    """
    Hostile clients against a listener, for tests and benchmarks: C{idle}
    sockets that connect and send nothing, and C{slow} ones that send one
    byte a second (slowloris), from the loopback addresses C{addresses}
    (any of 127.0.0.0/8 works on Linux), at most C{perAddress} from each.
    They never close a connection themselves: what matters is whether the
    server does (L{closedByServer}).  With C{reconnect}, a socket the server
    closed is opened again after C{reconnectDelay} seconds, for as long as
    the flood runs (a persistent attacker).

    It runs in a thread of its own (L{start}, L{stop}) with non-blocking
    sockets, so a test's reactor or a benchmark's loop keeps running.
    """

    def __init__(self, port, idle=2000, slow=20, host="127.0.0.1", addresses=None,
                 perAddress=50, reconnect=False, reconnectDelay=0.1, connectTimeout=30.0):
        self.port, self.host = port, host
        self.reconnect, self.reconnectDelay = reconnect, reconnectDelay
        self.connectTimeout = connectTimeout
        if addresses is None:
            addresses = [f"127.0.0.{n}" for n in range(2, 255)]
        needed = -(-(idle + slow) // perAddress)
        if needed > len(addresses):
            raise ValueError(f"{idle + slow} sockets need {needed} addresses at {perAddress}"
                             " per address")
        kinds = ["slow"] * slow + ["idle"] * idle
        self._plan = [(addresses[i // perAddress], kind) for i, kind in enumerate(kinds)]
        self.attempts = self.connected = self.connectFailed = 0
        self.closedByServer = self.slowBytes = 0
        self._sockets = {}
        self._stopping = False
        self._thread = None
        self._ready = []
        self._leftOpen = 0
        self._probe = False
        self.probed = 0

    @property
    def open(self):
        """
        Sockets connected and not closed.
        """
        return sum(1 for state in list(self._sockets.values()) if state[2] == "open")

    @property
    def connecting(self):
        return sum(1 for state in list(self._sockets.values()) if state[2] == "connecting")

    @property
    def settled(self):
        """
        Whether every planned socket has been opened and none is still
        connecting.
        """
        return self.attempts >= len(self._plan) and self.connecting == 0

    def start(self):
        self._ready = [(address, kind, 0.0) for address, kind in self._plan]
        self._thread = threading.Thread(target=self._run, name="hostile-flood", daemon=True)
        self._thread.start()

    def probe(self):
        """
        Send one byte on every socket still open.  A connection the client
        thinks open may not exist at the server: when the server's accept
        queue overflowed, its SYN cookie answered and no connection was
        kept; an idle client never notices.  The byte gets such a socket a
        reset (or the connection is made then, and the server's handshake
        deadline closes it); one the server holds simply buffers it.
        """
        self._probe = True

    def stop(self):
        """
        Stop, and close what is still open (not counted as closed by the
        server).

        @return: how many sockets were still open.
        """
        self._stopping = True
        if self._thread is not None:
            self._thread.join(10)
        return self._leftOpen

    def _connect(self, selector, address, kind):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.bind((address, 0))
            code = sock.connect_ex((self.host, self.port))
        except OSError:
            sock.close()
            self.attempts += 1
            self.connectFailed += 1
            return
        self.attempts += 1
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.connectFailed += 1
            return
        self._sockets[sock] = [address, kind, "connecting", time.monotonic()]
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def _closed(self, selector, sock, byServer):
        address, kind, state, _ = self._sockets.pop(sock)
        selector.unregister(sock)
        sock.close()
        if state == "connecting":
            self.connectFailed += 1
        elif byServer:
            self.closedByServer += 1
        if self.reconnect and not self._stopping:
            self._ready.append((address, kind, time.monotonic() + self.reconnectDelay))

    def _run(self):
        import selectors
        selector = selectors.DefaultSelector()
        nextByte = time.monotonic() + 1.0
        try:
            while not self._stopping:
                now = time.monotonic()
                due = [item for item in self._ready if item[2] <= now]
                if due:
                    self._ready = [item for item in self._ready if item[2] > now]
                    for address, kind, _ in due:
                        self._connect(selector, address, kind)
                for key, events in selector.select(0.05):
                    sock = key.fileobj
                    state = self._sockets.get(sock)
                    if state is None:
                        continue
                    if state[2] == "connecting" and events & selectors.EVENT_WRITE:
                        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                            self._closed(selector, sock, False)
                            continue
                        state[2] = "open"
                        self.connected += 1
                        selector.modify(sock, selectors.EVENT_READ)
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            self._closed(selector, sock, True)
                now = time.monotonic()
                for sock, state in list(self._sockets.items()):
                    if state[2] == "connecting" and now - state[3] > self.connectTimeout:
                        self._closed(selector, sock, False)
                if self._probe:
                    self._probe = False
                    for sock, state in list(self._sockets.items()):
                        if state[2] == "open":
                            self.probed += 1
                            try:
                                sock.send(b"?")
                            except OSError:
                                self._closed(selector, sock, True)
                if now >= nextByte:
                    nextByte = now + 1.0
                    for sock, state in list(self._sockets.items()):
                        if state[1] == "slow" and state[2] == "open":
                            try:
                                sock.send(b"M")
                                self.slowBytes += 1
                            except OSError:
                                self._closed(selector, sock, True)
        finally:
            self._leftOpen = self.open
            for sock in list(self._sockets):
                selector.unregister(sock)
                sock.close()
            self._sockets.clear()
            selector.close()


class SpawnedProcess(NamedTuple):
    """
    One C{spawnProcess} call a L{MemoryProcessReactor} recorded.
    """

    protocol: object
    executable: str
    args: list
    env: dict
    path: object
    usePTY: bool
    childFDs: object
    transport: object


class MemoryProcessTransport:
    """
    The process transport a L{MemoryProcessReactor} hands a protocol: it
    records signals and closed pipes; L{end} makes the process end.
    """

    pid = None

    def __init__(self, protocol):
        self.protocol = protocol
        self.signals = []
        self.stdinClosed = False
        self.ended = False

    def closeStdin(self):
        self.stdinClosed = True

    def signalProcess(self, signalName):
        from twisted.internet.error import ProcessExitedAlready

        if self.ended:
            raise ProcessExitedAlready()
        self.signals.append(signalName)

    def end(self, exitCode=0, signal=None, stderr=b""):
        """
        The process writes C{stderr} and ends with C{exitCode} (or is
        killed by C{signal}, a number).
        """
        from twisted.internet.error import ProcessDone, ProcessTerminated
        from twisted.python.failure import Failure

        if stderr:
            self.protocol.errReceived(stderr)
        self.ended = True
        if exitCode == 0 and signal is None:
            reason = ProcessDone(0)
        else:
            reason = ProcessTerminated(exitCode=None if signal else exitCode, signal=signal)
        self.protocol.processEnded(Failure(reason))


def _memoryProcessReactor():
    from twisted.internet.testing import MemoryReactorClock

    class MemoryProcessReactor(MemoryReactorClock):
        """
        A L{MemoryReactorClock} that also records C{spawnProcess} calls
        (in C{spawned}) instead of running anything.
        """

        def __init__(self):
            super().__init__()
            self.spawned = []

        def spawnProcess(self, processProtocol, executable, args=(), env=None, path=None,
                         uid=None, gid=None, usePTY=False, childFDs=None):
            transport = MemoryProcessTransport(processProtocol)
            self.spawned.append(SpawnedProcess(processProtocol, executable, list(args), env,
                                               path, usePTY, childFDs, transport))
            processProtocol.makeConnection(transport)
            return transport

    return MemoryProcessReactor


def MemoryProcessReactor():
    """
    A memory reactor with a clock that records the processes it is asked
    to spawn (C{reactor.spawned}, L{SpawnedProcess}), for tests of code
    that runs commands.
    """
    return _memoryProcessReactor()()


class MemoryJournal:
    """
    The reaction journal's interface (L{mice.db.journalstore.JournalStore})
    in memory, with the same idempotence, for tests of the reaction queues
    and the act_generic post-processor; it can be told to fail, or to hold
    its answers until the test releases them.

    @ivar alerts: C{{key: received_alert row}}.
    @ivar jobs: C{{(key, rid): reaction_job row}}, in journal order.
    @ivar heartbeats: C{{analyzer: analyzer_heartbeat row}}.
    @ivar failing: while true, every call fails.
    @ivar holding: while true, answers wait in L{held} until L{release}.
    """

    description = "memory"

    def __init__(self):
        self.alerts = {}
        self.jobs = {}
        self.jobIds = {}
        self.heartbeats = {}
        self.correlationStates = {}
        self.failing = False
        self.holding = False
        self.held = []
        self.calls = []
        self.closed = False

    def _answer(self, name, compute):
        self.calls.append(name)
        if self.failing:
            return fail(RuntimeError("the journal's database is down"))
        if self.holding:
            d = Deferred()
            self.held.append((d, compute))
            return d
        return succeed(compute())

    def release(self):
        """Answer every held call, in order."""
        held, self.held = self.held, []
        for d, compute in held:
            d.callback(compute())

    def start(self):
        return succeed(None)

    def close(self):
        self.closed = True

    def knownAlerts(self, keys):
        return self._answer("knownAlerts", lambda: {key for key in keys if key in self.alerts})

    def journalAlerts(self, alerts, jobs, heartbeats=(), inline=None, correlation=None,
                      known=None):
        def compute():
            if correlation is not None:
                self.correlationStates[correlation[0]] = correlation[1]
            if known is None:
                new = {row[0] for row in alerts if row[0] not in self.alerts}
            else:
                new = {row[0] for row in alerts if row[0] not in known}
            if inline is not None and new:
                inline(None, new)
            for row in alerts:
                self.alerts.setdefault(row[0], row)
            for row in jobs:
                if row[0] in new and (row[0], row[1]) not in self.jobs:
                    self.jobs[(row[0], row[1])] = row
                    self.jobIds[(row[0], row[1])] = len(self.jobIds) + 1
            for row in heartbeats:
                old = self.heartbeats.get(row[0])
                if old is None or row[4] >= old[4]:
                    self.heartbeats[row[0]] = row
            return new

        return self._answer("journalAlerts", compute)

    def loadCorrelationState(self, name):
        return self._answer("loadCorrelationState", lambda: self.correlationStates.get(name))

    def recordOutcomes(self, rows):
        def compute():
            for row in rows:
                key = (row[0], row[1])
                old = self.jobs.get(key)
                created = old[7] if old is not None else row[7]
                self.jobs[key] = row[:7] + (created, row[8])
                self.jobIds.setdefault(key, len(self.jobIds) + 1)

        return self._answer("recordOutcomes", compute)

    def pendingJobs(self, pipe, afterId=0, limit=1000):
        from mice.db.journal import PendingJob

        def compute():
            out = []
            for key, row in sorted(self.jobs.items(), key=lambda item: self.jobIds[item[0]]):
                jobId = self.jobIds[key]
                if row[2] != pipe or row[3] != "pending" or jobId <= afterId:
                    continue
                alert = self.alerts[key[0]]
                out.append(PendingJob(jobId, key[0], key[1], row[4], row[5], row[7], alert[1],
                                      alert[2], alert[3], alert[4], alert[7], alert[10],
                                      alert[11], alert[9], alert[12]))
                if len(out) >= limit:
                    break
            return out

        return self._answer("pendingJobs", compute)

    def pendingPipes(self):
        def compute():
            counts = {}
            for row in self.jobs.values():
                if row[3] == "pending":
                    counts[row[2]] = counts.get(row[2], 0) + 1
            return counts

        return self._answer("pendingPipes", compute)

    def states(self, pipe=None):
        """C{{(alert key, rid): (state, attempts)}} of every job (of C{pipe})."""
        return {key: (row[3], row[4]) for key, row in self.jobs.items()
                if pipe is None or row[2] == pipe}


@implementer(IReaction)
class MemoryReaction:
    """
    A reaction agent that keeps what it is given, for tests of what runs
    agents.  By default every reaction succeeds at once; L{failing} makes
    them fail, L{refusing} refuse, and L{holding} keeps each one's Deferred
    in L{waiting} until the test fires it.

    @ivar reacted: every L{mice.alerts.RoutedAlert} given, in order.
    """

    def __init__(self, pipe="rid_9_memory"):
        self.pipe = pipe
        self.reacted = []
        self.waiting = []
        self.failing = False
        self.refusing = False
        self.holding = False
        self.started = self.stopped = 0
        self.startFailures = 0

    def start(self):
        if self.startFailures:
            self.startFailures -= 1
            return fail(OSError("the target is not there yet"))
        self.started += 1
        return succeed(None)

    def react(self, routed):
        self.reacted.append(routed)
        if self.failing:
            return fail(OSError("the target is down"))
        if self.refusing:
            return fail(ReactionRefused("not for this one"))
        if self.holding:
            d = Deferred()
            self.waiting.append((routed, d))
            return d
        return succeed(f"reacted to {routed.key}")

    def stop(self):
        self.stopped += 1
        return succeed(None)


class FileReaction(MemoryReaction):
    """
    A reaction agent that appends one line per alert (its key and the
    alert's messageid) to a file, and deduplicates by key what the file
    holds already: at most once in the file across restarts, as an agent
    whose target allows it must be (L{mice.interfaces.IReaction}).  Every
    call is also logged, with the process id, to C{path + ".calls"}, so a
    test sees what ran again.  With C{delay}, each reaction takes that
    long (a slow target), so jobs pile up pending.  For the kill -9 tests.
    """

    def __init__(self, pipe, path, clock=None, delay=0.0):
        super().__init__(pipe)
        self.path = path
        self.clock = clock
        self.delay = delay
        self.seen = set()

    def start(self):
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self.seen = {line.split(" ", 1)[0] for line in f if line.strip()}
        return succeed(None)

    def react(self, routed):
        if self.delay and self.clock is not None:
            from twisted.internet.task import deferLater

            return deferLater(self.clock, self.delay, self._react, routed)
        return succeed(self._react(routed))

    def _react(self, routed):
        with open(self.path + ".calls", "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {routed.key}\n")
        if routed.key in self.seen:
            return "already in the file"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{routed.key} {routed.alert.messageId}\n")
            f.flush()
            os.fsync(f.fileno())
        self.seen.add(routed.key)
        return f"appended to {self.path}"


def buildFileReaction(pipe, configPath, reactor, pipePath):
    """
    A L{FileReaction} appending to C{PIPE_PATH/<pipe>.log}; its config,
    when there is one, holds the delay of each reaction in seconds.  How a
    test's plugin (role C{reaction}) names it.
    """
    delay = 0.0
    if configPath is not None:
        with open(configPath, encoding="utf-8") as f:
            delay = float(f.read().strip() or 0)
    directory = pipePath or "."
    os.makedirs(directory, exist_ok=True)
    return FileReaction(pipe, os.path.join(directory, pipe + ".log"), reactor, delay)


# -- the console ---------------------------------------------------------------


def consoleAlertRow(seq, alertId=0x1020, classification="Authentication failure",
                    when="2026-11-22T10:00:00", analyzer="MICE-RegEx", source=None,
                    target="10.0.0.5", sourceUser=None, targetUser=None, severity="medium",
                    line="sshd[1]: Failed password", origin="agent", stream="idmef"):
    """
    An C{alert_entry} row (L{mice.db.schema.COLUMNS} order) with a real
    IDMEF document, for console tests and benchmarks.  C{when=None}: an
    alert without a date.
    """
    from mice.alerts import Alert, Node
    from mice.db.schema import COLUMNS
    from mice.idmef import toXml

    alert = Alert(
        messageId=str(seq), analyzerId=analyzer, createTime=(when or "2026-01-01T00:00:00")
        + "+00:00", classification=classification, alertId=alertId, severity=severity,
        sources=(Node(address=source, user=sourceUser),) if source or sourceUser else (),
        targets=(Node(address=target, user=targetUser),) if target or targetUser else (),
        additionalData=(("log line", line),))
    values = {
        "origin": origin, "stream": stream, "seq": seq,
        "alertid": None if alertId is None else f"0x{alertId:04x}",
        "alertdesc": classification, "classification": classification,
        "date": when[:10] if when else None, "time": when[11:19] if when else None,
        "analyzerid": analyzer, "source_address": source, "source_user": sourceUser,
        "target_address": target, "target_user": targetUser,
        "idmefmsg": toXml(alert).decode("utf-8"), "signature": "",
        # Columns the ManagementHost adds (alertkey, idx...) where present.
        "idx": 0, "alertkey": f"{origin} {stream} {seq} 0"}
    return tuple(values.get(column) for column in COLUMNS["alert_entry"])


def consoleEventRow(seq, action="display", loghost="web01", ip="10.0.0.5",
                    application="sshd", fields=(("message", "hello"),), icon=None, line=None,
                    count=1, when="2026-11-22T10:00:00", rule="rules.txt:1",
                    origin="agent", stream="event"):
    """A C{console_event} row (L{mice.db.schema.COLUMNS} order)."""
    import json

    from mice.db.schema import COLUMNS

    values = {
        "origin": origin, "stream": stream, "seq": seq, "loghost": loghost, "ip": ip,
        "application": application, "action": action, "rule": rule,
        "fields": json.dumps([list(f) for f in fields]) if fields else None, "icon": icon,
        "count": count, "date": when[:10] if when else None,
        "time": when[11:19] if when else None, "logline": line}
    return tuple(values.get(column) for column in COLUMNS["console_event"])


class FakeCountermeasures:
    """
    An in-memory L{mice.console.interfaces.ICountermeasureSource}: what
    the console shows and lifts when no ReactionDaemon is behind it
    (tests, the browser test).  Lifting tells C{feed}
    (L{mice.console.interfaces.IConsoleFeed}) when one is given.

    @ivar lifted: C{(daemon, id, by, reason)} of every lift.
    """

    def __init__(self, countermeasures=(), feed=None, refuse=None):
        from zope.interface import directlyProvides

        from mice.console.interfaces import ICountermeasureSource

        directlyProvides(self, ICountermeasureSource)
        self.countermeasures = [dict(c) for c in countermeasures]
        self.feed = feed
        self.refuse = refuse
        self.lifted = []

    def add(self, countermeasure):
        self.countermeasures.append(dict(countermeasure))
        if self.feed is not None:
            self.feed.countermeasureChanged(dict(countermeasure))

    def active(self):
        from twisted.internet.defer import succeed

        return succeed([dict(c) for c in self.countermeasures])

    def lift(self, daemon, countermeasureId, by, reason):
        from twisted.internet.defer import fail, succeed

        if self.refuse is not None:
            return fail(RuntimeError(self.refuse))
        for countermeasure in self.countermeasures:
            if countermeasure["daemon"] == daemon and countermeasure["id"] == countermeasureId:
                self.countermeasures.remove(countermeasure)
                self.lifted.append((daemon, countermeasureId, by, reason))
                if self.feed is not None:
                    self.feed.countermeasureChanged(dict(countermeasure, state="lifted"))
                return succeed(f"lifted {countermeasureId}")
        return fail(LookupError(f"no countermeasure {countermeasureId!r} on {daemon!r}"))
