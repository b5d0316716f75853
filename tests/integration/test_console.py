"""
The console over loopback HTTP, on a real SQLite file: every resource
refused without a login, the login flow and its limit, security headers,
escaping of hostile lines, the API's shapes, CSRF, lifting a
countermeasure, the live stream and its resumption (after a reconnect and
after a restart), and TLS.
"""

import json
import os
import re
import sqlite3

from argon2 import PasswordHasher
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from zope.interface import implementer

from mice.config import ConsoleSettings, parseDatabaseUrl
from mice.console.auth import hashPassword
from mice.console.data import SqlConsoleData
from mice.console.feed import ConsoleFeed
from mice.console.service import consoleService
from mice.console.web import STATIC
from mice.db import schema
from mice.db.pools import connectionPool
from mice.testing import FakeCountermeasures, capturedLog, consoleAlertRow, consoleEventRow

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
HOSTILE = ('<script>window.__pwned=1</script> "><img src=x onerror=window.__pwned=1>'
           " javascript:alert(1) &amp; \u2028")

COUNTERMEASURE = {"daemon": "rd-web01", "host": "web01", "id": "cm-1", "fid": 1,
                  "params": {"ip": "192.0.2.7"}, "since": 1.7e9, "until": None,
                  "by": "mngmthost", "state": "active"}

API_GETS = ("/api/session", "/api/hosts", "/api/alerts", "/api/alerts/1", "/api/heartbeats",
            "/api/consolelog", "/api/countermeasures", "/api/events")


def writeDatabase(path, alerts=(), events=(), journal=False):
    connection = sqlite3.connect(path)
    cursor = connection.cursor()
    schema.createSchema(cursor, "sqlite", schema.ALERT_TABLES)
    schema.insertRows(cursor, "sqlite", "alert_entry", list(alerts))
    schema.insertRows(cursor, "sqlite", "console_event", list(events))
    if journal:
        # The ManagementHost's journal, as feat/mgmt makes it.
        cursor.execute("CREATE TABLE reaction_job (job_id INTEGER PRIMARY KEY, alertkey TEXT,"
                       " rid INTEGER, pipe TEXT, state TEXT, attempts INTEGER, next_try REAL,"
                       " outcome TEXT, created TEXT, updated TEXT)")
        cursor.execute("CREATE TABLE received_alert (row_id INTEGER PRIMARY KEY, alertkey TEXT,"
                       " origin TEXT, stream TEXT, seq INTEGER, idx INTEGER)")
        cursor.execute("INSERT INTO received_alert (alertkey, origin, stream, seq, idx)"
                       " VALUES ('agent idmef 1 0', 'agent', 'idmef', 1, 0)")
        cursor.execute("CREATE TABLE analyzer_heartbeat (analyzerid TEXT PRIMARY KEY,"
                       " name TEXT, host TEXT, last_heartbeat TEXT, last_seen TEXT,"
                       " heartbeat_interval INTEGER, messageid TEXT, origin TEXT)")
    connection.commit()
    connection.close()


def addRows(path, alerts=(), events=()):
    connection = sqlite3.connect(path)
    cursor = connection.cursor()
    schema.insertRows(cursor, "sqlite", "alert_entry", list(alerts))
    schema.insertRows(cursor, "sqlite", "console_event", list(events))
    connection.commit()
    connection.close()


class Stream(Protocol):
    """An SSE client: collects what arrives."""

    def __init__(self):
        self.data = b""
        self.done = Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.done.callback(None)

    def events(self):
        found = []
        for block in self.data.split(b"\n\n"):
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                          if b": " in line and not line.startswith(b":"))
            if b"event" in fields:
                found.append((fields[b"id"].decode(), fields[b"event"].decode(),
                              json.loads(fields[b"data"])))
        return found


async def until(condition, seconds=10.0):
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await deferLater(reactor, 0.05, lambda: None)
    raise AssertionError("timed out waiting")


class Console:
    """A console on a SQLite file, on a loopback port."""

    def __init__(self, case, path, countermeasures=None, tls=None, attempts=3,
                 countermeasurePipes=()):
        self.case = case
        self.countermeasurePipes = countermeasurePipes
        self.path = path
        self.countermeasures = countermeasures or FakeCountermeasures([COUNTERMEASURE])
        self.tls = tls
        self.attempts = attempts
        self.cookie = None
        self.csrf = None

    async def start(self):
        pool, dialect = connectionPool(parseDatabaseUrl("sqlite:///" + self.path), reactor)
        self.case.addCleanup(pool.close)
        self.data = SqlConsoleData(pool, dialect, reactor, self.countermeasures)
        self.feed = ConsoleFeed(self.data, reactor, tailSeconds=0.1,
                                countermeasurePipes=self.countermeasurePipes)
        self.countermeasures.feed = self.feed
        settings = ConsoleSettings(
            listen="tcp:0:interface=127.0.0.1", passwordHash=hashPassword(PASSWORD, FAST),
            tls=self.tls, loginAttempts=self.attempts)
        self.service = consoleService(settings, self.data, self.feed, reactor)
        self.service.startService()
        self.case.addCleanup(self.stop)
        self.port = (await self.service.server._waitingForPort).getHost().port
        await until(lambda: self.feed.loaded)
        return self

    def stop(self):
        if self.service.running:
            return self.service.stopService()

    @property
    def base(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def agent(self):
        if self.tls is None:
            return Agent(reactor)
        from twisted.internet.ssl import Certificate, optionsForClientTLS
        from twisted.web.iweb import IPolicyForHTTPS

        with open(os.path.join(os.path.dirname(self.tls[0]), "ca.crt"), "rb") as f:
            ca = Certificate.loadPEM(f.read())

        @implementer(IPolicyForHTTPS)
        class Policy:
            def creatorForNetloc(self, hostname, port):
                return optionsForClientTLS("127.0.0.1", trustRoot=ca)

        return Agent(reactor, contextFactory=Policy())

    async def request(self, method, path, body=None, headers=None, login=True, raw=False):
        sent = {b"accept": [b"application/json"]}
        if login and self.cookie:
            sent[b"cookie"] = [self.cookie]
        if body is not None:
            sent[b"content-type"] = [b"application/json"]
        for name, value in (headers or {}).items():
            sent[name.lower().encode()] = [value.encode() if isinstance(value, str) else value]
        from io import BytesIO

        from twisted.web.client import FileBodyProducer

        producer = None
        if body is not None:
            producer = FileBodyProducer(BytesIO(body if isinstance(body, bytes)
                                                else json.dumps(body).encode()))
        response = await self.agent().request(method.encode(), (self.base + path).encode(),
                                              Headers(sent), producer)
        content = await readBody(response)
        if raw:
            return response, content
        return response.code, (json.loads(content) if content and response.headers.getRawHeaders(
            b"content-type", [b""])[0].startswith(b"application/json") else content)

    async def login(self, password=PASSWORD):
        response, content = await self.request("POST", "/api/login",
                                               {"user": "admin", "password": password},
                                               login=False, raw=True)
        if response.code == 200:
            cookie = response.headers.getRawHeaders(b"set-cookie")[0]
            self.setCookie = cookie
            self.cookie = cookie.split(b";")[0]
            self.csrf = json.loads(content)["csrf"]
        return response, content

    async def stream(self, since=None, lastEventId=None):
        headers = {b"cookie": [self.cookie], b"accept": [b"text/event-stream"]}
        if lastEventId is not None:
            headers[b"last-event-id"] = [lastEventId.encode()]
        path = "/api/events" + (f"?since={since}" if since else "")
        response = await self.agent().request(b"GET", (self.base + path).encode(),
                                              Headers(headers))
        stream = Stream()
        stream.response = response
        response.deliverBody(stream)
        self.case.addCleanup(lambda: stream.transport and stream.transport.stopProducing())
        return stream


class ConsoleTests(TestCase):
    timeout = 60

    async def console(self, alerts=None, events=None, journal=False, **kw):
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "alerts.db")
        if alerts is None:
            alerts = [consoleAlertRow(i, when=f"2026-11-22T10:00:{i:02d}", source="192.0.2.7",
                                      sourceUser="root", severity="high") for i in range(1, 4)]
        if events is None:
            events = [consoleEventRow(1), consoleEventRow(2, action="icon", icon="virus.bmp",
                                                          fields=())]
        writeDatabase(path, alerts, events, journal)
        return await Console(self, path, **kw).start()

    async def test_refusedWithoutLogin(self):
        """
        Every API call needs a session; the page sends to the login page;
        only the login page and its two files are served without one.
        """
        console = await self.console()
        for path in API_GETS:
            code, body = await console.request("GET", path)
            self.assertEqual((path, code, body), (path, 401, {"error": "log in first"}))
        for path in ("/api/countermeasures/lift", "/api/logout"):
            code, _ = await console.request("POST", path, {})
            self.assertEqual((path, code), (path, 401))
        for path in ("/", "/static/console.js", "/static/index.html"):
            response, _ = await console.request("GET", path, raw=True)
            self.assertEqual((path, response.code), (path, 302))
            self.assertEqual(response.headers.getRawHeaders(b"location"), [b"/login"])
        for path in ("/login", "/static/login.js", "/static/console.css"):
            response, _ = await console.request("GET", path, raw=True)
            self.assertEqual((path, response.code), (path, 200))
        code, _ = await console.request("GET", "/icons/virus.bmp")
        self.assertEqual(code, 401)
        code, _ = await console.request("GET", "/static/../../config.py")
        self.assertEqual(code, 404)

    async def test_loginFlow(self):
        console = await self.console()
        response, body = await console.login("wrong password")
        self.assertEqual((response.code, json.loads(body)),
                         (401, {"error": "wrong user or password"}))
        self.assertIsNone(response.headers.getRawHeaders(b"set-cookie"))
        response, body = await console.login()
        self.assertEqual(response.code, 200)
        flags = console.setCookie.lower()
        self.assertIn(b"httponly", flags)
        self.assertIn(b"samesite=strict", flags)
        self.assertNotIn(b"secure", flags, "plain HTTP on loopback")
        self.assertEqual(await console.request("GET", "/api/session"),
                         (200, {"user": "admin", "csrf": console.csrf, "staleAfter": 3.0}))
        response, page = await console.request("GET", "/", raw=True)
        self.assertEqual(response.code, 200)
        self.assertIn(b"/static/console.js", page)
        code, _ = await console.request("POST", "/api/logout", {})
        self.assertEqual(code, 403, "logout needs the CSRF token")
        code, _ = await console.request("POST", "/api/logout", {},
                                        headers={"X-CSRF-Token": console.csrf})
        self.assertEqual(code, 200)
        code, _ = await console.request("GET", "/api/session")
        self.assertEqual(code, 401)

    async def test_loginRefusals(self):
        console = await self.console()
        for body in (b"user=admin&password=x", b"[1, 2]", b"{not json"):
            response, content = await console.request(
                "POST", "/api/login", body, login=False, raw=True)
            self.assertEqual(response.code, 400, body)
        response, _ = await console.request(
            "POST", "/api/login", {"user": "admin", "password": PASSWORD}, login=False,
            headers={"Origin": "https://evil.example"}, raw=True)
        self.assertEqual(response.code, 403)

    async def test_rateLimited(self):
        """
        After LOGINS failures from an address, even the right password is
        refused for a while; the attempts are logged, the password never.
        """
        logged = capturedLog(self)
        console = await self.console(attempts=3)
        for _ in range(3):
            response, _ = await console.login("guess " + HOSTILE)
            self.assertEqual(response.code, 401)
        response, body = await console.login()
        self.assertEqual(response.code, 429)
        self.assertTrue(int(response.headers.getRawHeaders(b"retry-after")[0]) > 0)
        refusals = [e for e in logged if "login refused" in e.get("log_format", "")]
        self.assertEqual(len(refusals), 3)
        self.assertEqual(refusals[0]["address"], "127.0.0.1")
        text = repr(logged)
        self.assertNotIn("guess", text)
        self.assertNotIn(PASSWORD, text)

    async def test_headers(self):
        console = await self.console()
        await console.login()
        for path in ("/", "/api/hosts", "/login", "/static/console.js"):
            response, _ = await console.request("GET", path, raw=True)
            csp = response.headers.getRawHeaders(b"content-security-policy")[0]
            self.assertIn(b"default-src 'self'", csp)
            self.assertIn(b"script-src 'self'", csp)
            self.assertIn(b"frame-ancestors 'none'", csp)
            self.assertNotIn(b"unsafe-inline", csp)
            self.assertEqual(response.headers.getRawHeaders(b"x-content-type-options"),
                             [b"nosniff"])

    def test_pageHasNoInlineScriptOrStyle(self):
        """
        The page's HTML has no inline script, event handler or style
        attribute (the CSP would block them), and its script writes data
        with text only.
        """
        for name in ("index.html", "login.html"):
            with open(os.path.join(STATIC, name)) as f:
                html = f.read()
            for script in re.findall(r"<script\b[^>]*>", html):
                self.assertIn('src="/static/', script)
            self.assertEqual(re.findall(r"<script\b[^>]*>\s*[^<\s]", html), [])
            self.assertNotRegex(html, r"\son[a-z]+\s*=")
            self.assertNotRegex(html, r"\sstyle\s*=")
            self.assertNotIn("<style", html)
        for name in ("console.js", "login.js"):
            with open(os.path.join(STATIC, name)) as f:
                script = f.read()
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                         "eval(", "setAttribute(\"on", "new Function"):
                self.assertNotIn(sink, script)

    async def test_hostileLinesAreText(self):
        """
        A hostile log line reaches the browser as JSON text holding no
        markup character at all; parsed, it is the line unchanged.
        """
        console = await self.console(
            alerts=[consoleAlertRow(1, line=HOSTILE, sourceUser=HOSTILE)],
            events=[consoleEventRow(1, fields=(("message", HOSTILE),)),
                    consoleEventRow(2, action="drop", fields=(), line=HOSTILE)])
        await console.login()
        for path in ("/api/hosts", "/api/alerts", "/api/alerts/1", "/api/consolelog"):
            response, raw = await console.request("GET", path, raw=True)
            self.assertEqual(response.code, 200)
            self.assertEqual(response.headers.getRawHeaders(b"content-type"),
                             [b"application/json; charset=utf-8"])
            for character in (b"<", b">", b"&"):
                self.assertNotIn(character, raw, path)
        _, hosts = await console.request("GET", "/api/hosts")
        self.assertEqual(hosts["hosts"][0]["lines"][0]["fields"], [["message", HOSTILE]])
        _, alerts = await console.request("GET", "/api/alerts")
        self.assertEqual(alerts["alerts"][0]["logLine"], HOSTILE)
        self.assertEqual(alerts["alerts"][0]["sourceUser"], HOSTILE)
        _, log = await console.request("GET", "/api/consolelog")
        self.assertEqual(log["records"][0]["line"], HOSTILE)

    async def test_shapes(self):
        console = await self.console(journal=True)
        connection = sqlite3.connect(console.path)
        connection.execute("INSERT INTO reaction_job (alertkey, rid, pipe, state, attempts,"
                           " next_try, outcome, created, updated) VALUES ('agent idmef 1 0',"
                           " 2, 'rid_2_send_to_alert_db', 'done', 1, 0, 'stored', 'c', 'u')")
        connection.execute("INSERT INTO analyzer_heartbeat VALUES ('MICE-RegEx', 'aa', 'aa1',"
                           " '2000-01-01T00:00:00', '2000-01-01T00:00:00', 60, '1', 'x')")
        connection.commit()
        connection.close()
        await console.login()
        code, hosts = await console.request("GET", "/api/hosts")
        self.assertEqual(code, 200)
        self.assertEqual(set(hosts), {"cursor", "loaded", "hosts", "classifications"})
        (pane,) = hosts["hosts"]
        self.assertEqual(pane["name"], "web01")
        self.assertEqual(pane["counts"], {"Authentication failure": 3})
        self.assertEqual(pane["icon"]["name"], "virus.bmp")
        self.assertEqual([c["id"] for c in pane["countermeasures"]], ["cm-1"])
        code, detail = await console.request("GET", "/api/alerts/1")
        self.assertEqual(detail["reactions"], [{
            "rid": 2, "pipe": "rid_2_send_to_alert_db", "state": "done", "attempts": 1,
            "next_try": 0, "outcome": "stored", "created": "c", "updated": "u"}])
        self.assertIn("<IDMEF-Message", detail["alert"]["idmef"])
        self.assertEqual(detail["alert"]["alertKey"], "agent idmef 1 0")
        self.assertEqual((await console.request("GET", "/api/alerts/999"))[0], 404)
        self.assertEqual((await console.request("GET", "/api/alerts/x1"))[0], 404)
        code, beats = await console.request("GET", "/api/heartbeats")
        self.assertEqual(beats["analyzers"][0]["analyzerId"], "MICE-RegEx")
        self.assertTrue(beats["analyzers"][0]["stale"])
        self.assertEqual(beats["analyzers"][0]["staleAfter"], 180)
        code, countermeasures = await console.request("GET", "/api/countermeasures")
        self.assertEqual(countermeasures, {"countermeasures": [COUNTERMEASURE]})

    async def test_searchAndPages(self):
        alerts = [consoleAlertRow(i, when=f"2026-11-22T10:{i:02d}:00",
                                  alertId=0x1020 if i % 2 else 0x1010,
                                  classification="AuF" if i % 2 else "AuS")
                  for i in range(1, 12)]
        console = await self.console(alerts=alerts)
        await console.login()
        code, page = await console.request("GET", "/api/alerts?alertid=0x1020&limit=4")
        self.assertEqual([a["rowId"] for a in page["alerts"]], [11, 9, 7, 5])
        code, rest = await console.request(
            "GET", f"/api/alerts?alertid=0x1020&limit=4&after={page['next']}")
        self.assertEqual([a["rowId"] for a in rest["alerts"]], [3, 1])
        self.assertIsNone(rest["next"])
        code, body = await console.request("GET", "/api/alerts?from=yesterday")
        self.assertEqual((code, body), (400, {"error": "not a time: 'yesterday' (use"
                                                       " YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"}))
        code, body = await console.request("GET", "/api/alerts?host=web01")
        self.assertEqual(len(body["alerts"]), 11, "web01 is 10.0.0.5 by its console events")
        code, body = await console.request("GET", "/api/consolelog?action=display")
        self.assertEqual(code, 400)

    async def test_consoleLog(self):
        events = [consoleEventRow(1), consoleEventRow(2, action="drop", fields=(), line="a"),
                  consoleEventRow(3, action="reject", fields=(), count=7),
                  consoleEventRow(4, action="drop", fields=(), line="b", loghost="db01",
                                  ip="10.0.0.9")]
        console = await self.console(events=events)
        await console.login()
        code, log = await console.request("GET", "/api/consolelog?limit=2")
        self.assertEqual(log["counts"], {"drop": 2, "reject": 7})
        self.assertEqual(log["byHost"], {"web01": {"drop": 1, "reject": 7},
                                         "db01": {"drop": 1, "reject": 0}})
        self.assertEqual([r["rowId"] for r in log["records"]], [4, 3])
        code, more = await console.request("GET", f"/api/consolelog?after={log['next']}")
        self.assertEqual([r["rowId"] for r in more["records"]], [2])
        code, drops = await console.request("GET", "/api/consolelog?action=drop&host=web01")
        self.assertEqual([r["line"] for r in drops["records"]], ["a"])

    async def test_liftNeedsCsrf(self):
        console = await self.console()
        await console.login()
        body = {"daemon": "rd-web01", "id": "cm-1"}
        code, _ = await console.request("POST", "/api/countermeasures/lift", body)
        self.assertEqual(code, 403)
        code, _ = await console.request("POST", "/api/countermeasures/lift", body,
                                        headers={"X-CSRF-Token": "forged"})
        self.assertEqual(code, 403)
        code, _ = await console.request("POST", "/api/countermeasures/lift", body,
                                        headers={"X-CSRF-Token": console.csrf,
                                                 "Origin": "http://evil.example"})
        self.assertEqual(code, 403)
        self.assertEqual(console.countermeasures.lifted, [])
        code, _ = await console.request("POST", "/api/countermeasures/lift",
                                        b"daemon=rd-web01&id=cm-1",
                                        headers={"X-CSRF-Token": console.csrf,
                                                 "Content-Type": "text/plain"})
        self.assertEqual(code, 400)
        stream = await console.stream(since=None)
        code, body = await console.request("POST", "/api/countermeasures/lift", body,
                                           headers={"X-CSRF-Token": console.csrf})
        self.assertEqual((code, body), (200, {"outcome": "lifted cm-1"}))
        self.assertEqual(console.countermeasures.lifted,
                         [("rd-web01", "cm-1", "console:admin", "lifted from the console")])
        await until(lambda: stream.events())
        self.assertEqual(stream.events()[0][1:], ("countermeasure",
                                                 dict(COUNTERMEASURE, state="lifted")))
        code, body = await console.request("POST", "/api/countermeasures/lift",
                                           {"daemon": "rd-web01", "id": "cm-1"},
                                           headers={"X-CSRF-Token": console.csrf})
        self.assertEqual(code, 404)

    async def test_liftRefusedByDaemon(self):
        console = await self.console(countermeasures=FakeCountermeasures(
            [COUNTERMEASURE], refuse="no answer from the ReactionDaemon"))
        await console.login()
        code, body = await console.request("POST", "/api/countermeasures/lift",
                                           {"daemon": "rd-web01", "id": "cm-1"},
                                           headers={"X-CSRF-Token": console.csrf})
        self.assertEqual(code, 502)
        self.assertIn("no answer", body["error"])

    async def test_streamResumes(self):
        """
        The stream starts at the cursor of /api/hosts, resumes after a
        reconnect from Last-Event-ID with only what was missed, and after a
        restart of the console reads the missed rows back.
        """
        console = await self.console()
        await console.login()
        _, hosts = await console.request("GET", "/api/hosts")
        stream = await console.stream(since=hosts["cursor"])
        self.assertEqual(stream.response.headers.getRawHeaders(b"content-type"),
                         [b"text/event-stream; charset=utf-8"])
        addRows(console.path, alerts=[consoleAlertRow(10, when="2026-11-22T11:00:00")],
                events=[consoleEventRow(10, fields=(("message", HOSTILE),),
                                        when="2026-11-22T11:00:00")])
        await until(lambda: len(stream.events()) == 2)
        self.assertEqual([(k, d["time"]) for _, k, d in stream.events()],
                         [("line", "11:00:00"), ("alert", "11:00:00")])
        self.assertEqual(stream.events()[0][2]["fields"], [["message", HOSTILE]])
        lastId = stream.events()[-1][0]
        stream.transport.stopProducing()
        addRows(console.path, alerts=[consoleAlertRow(11, when="2026-11-22T11:00:01")])
        await until(lambda: console.feed.ring.alertRow == 5)
        again = await console.stream(lastEventId=lastId)
        await until(lambda: again.events())
        self.assertEqual([(k, d["time"]) for _, k, d in again.events()],
                         [("alert", "11:00:01")])
        lastId = again.events()[-1][0]
        again.transport.stopProducing()

        # A restart: a new console on the same database, its sessions gone.
        await console.stop()
        addRows(console.path, alerts=[consoleAlertRow(12, when="2026-11-22T11:00:02")],
                events=[consoleEventRow(12, when="2026-11-22T11:00:02")])
        restarted = await Console(self, console.path).start()
        await restarted.login()
        resumed = await restarted.stream(lastEventId=lastId)
        await until(lambda: len(resumed.events()) == 3)
        self.assertEqual([(k, d.get("time")) for _, k, d in resumed.events()],
                         [("line", "11:00:02"), ("alert", "11:00:02"), ("resync", None)])
        self.assertTrue(resumed.events()[0][0].endswith(".r"))
        addRows(restarted.path, alerts=[consoleAlertRow(13, when="2026-11-22T11:00:03")])
        await until(lambda: len(resumed.events()) == 4)
        self.assertEqual(resumed.events()[-1][2]["time"], "11:00:03")

    async def test_streamWithoutSession(self):
        console = await self.console()
        console.cookie = b"mice_console=forged"
        stream = await console.stream()
        self.assertEqual(stream.response.code, 401)

    async def test_tls(self):
        """
        Over TLS (certificates of `mice certs`) the cookie is Secure and
        the browser is told to keep to HTTPS.
        """
        from mice.security.certs import loadOrMakeCA, writeNode

        directory = self.mktemp()
        os.makedirs(directory)
        caKey, caCertificate, _ = loadOrMakeCA(directory)
        tls = writeNode(directory, caKey, caCertificate, "127.0.0.1")
        console = await self.console(tls=tls)
        response, _ = await console.login()
        self.assertEqual(response.code, 200)
        self.assertIn(b"secure", console.setCookie.lower())
        response, _ = await console.request("GET", "/api/hosts", raw=True)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders(b"strict-transport-security"),
                         [b"max-age=31536000"])

    async def test_icons(self):
        directory = self.mktemp()
        os.makedirs(directory)
        with open(os.path.join(directory, "virus.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nfake")
        with open(os.path.join(directory, "secret.conf"), "w") as f:
            f.write("x")
        console = await self.console()
        console.service.console.icons = directory
        await console.login()
        response, body = await console.request("GET", "/icons/virus.png", raw=True)
        self.assertEqual((response.code, body[:4]), (200, b"\x89PNG"))
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"image/png"])
        for path in ("/icons/secret.conf", "/icons/..%2Fsecret.png", "/icons/.hidden.png",
                     "/icons/nothere.png", "/icons/a/b.png"):
            code, _ = await console.request("GET", path)
            self.assertEqual((path, code), (path, 404))
