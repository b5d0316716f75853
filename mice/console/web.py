# -*- test-case-name: tests.integration.test_console -*-
"""
The console's twisted.web resources: the JSON API under C{/api/}, the live
stream (C{/api/events}, Server-Sent Events), the page and its files, the
icons, and the login.  The page uses nothing but the API.

Every response carries a strict Content-Security-Policy (scripts, styles
and images from this origin only, no inline script or style, no framing)
and C{X-Content-Type-Options: nosniff}; every API answer is JSON with
C{<}, C{>} and C{&} escaped, so that no log line, however hostile, is
ever markup.  Everything but the login page and its two files needs a
session; everything that changes something needs the session's CSRF
token too.  See C{docs/console.rst} for the API.
"""

import json
import os
import re

from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from mice.console import query
from mice.console.auth import COOKIE, CSRF_HEADER, csrfMatches
from mice.console.model import parseEventId

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

#: The page's files: name -> content type.  Nothing else is served from
#: the static directory (no listing, no other file).
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "login.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "login.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
#: The files served without a session (they hold no data).
PUBLIC_FILES = ("login.html", "login.js", "console.css")

ICON_TYPES = {"bmp": "image/bmp", "png": "image/png", "gif": "image/gif",
              "jpg": "image/jpeg", "jpeg": "image/jpeg", "ico": "image/x-icon",
              "webp": "image/webp"}
_ICON_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
       " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
       " form-action 'self'; frame-ancestors 'none'")

#: The largest request body read (a login, a lift).
MAX_BODY = 8192

log = Logger()


class ConsoleRequest(Request):
    """
    A request that carries the security headers whatever answers it.
    """

    def process(self):
        headers = self.responseHeaders
        headers.setRawHeaders(b"content-security-policy", [CSP.encode("ascii")])
        headers.setRawHeaders(b"x-content-type-options", [b"nosniff"])
        headers.setRawHeaders(b"x-frame-options", [b"DENY"])
        headers.setRawHeaders(b"referrer-policy", [b"no-referrer"])
        headers.setRawHeaders(b"cross-origin-opener-policy", [b"same-origin"])
        headers.setRawHeaders(b"cross-origin-resource-policy", [b"same-origin"])
        headers.setRawHeaders(b"permissions-policy",
                              [b"camera=(), microphone=(), geolocation=()"])
        headers.setRawHeaders(b"cache-control", [b"no-store"])
        if self.isSecure():
            headers.setRawHeaders(b"strict-transport-security", [b"max-age=31536000"])
        super().process()


class ConsoleSite(Site):
    requestFactory = ConsoleRequest
    noisy = False
    displayTracebacks = False


def jsonBytes(value):
    """
    JSON for a response: ASCII, with C{<}, C{>} and C{&} escaped as well,
    so the text is never markup whatever it holds.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode(
        "ascii")


def writeJson(request, value, code=200):
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    return jsonBytes(value)


def problem(request, code, message):
    return writeJson(request, {"error": message}, code)


def clientAddress(request):
    address = request.getClientAddress()
    return getattr(address, "host", None) or str(address)


def answer(request, d):
    """
    Finish C{request} with the JSON of C{d}'s result (a Deferred or a
    value): a L{query.BadQuery} is a 400 with its text, anything else
    that fails a 500 (logged; the browser gets no detail).
    """
    gone = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def ok(value):
        if not gone:
            code = 200
            if isinstance(value, tuple):
                code, value = value
            request.write(writeJson(request, value, code))
            request.finish()

    def failed(failure):
        if gone:
            return
        if failure.check(query.BadQuery, LookupError):
            code = 400 if failure.check(query.BadQuery) else 404
            body = problem(request, code, str(failure.value))
        else:
            log.failure("console: {method} {path} failed", failure,
                        method=request.method.decode("ascii", "replace"),
                        path=request.path.decode("utf-8", "replace")[:200])
            body = problem(request, 500, "internal error (see the ManagementHost's log)")
        request.write(body)
        request.finish()

    maybeDeferred(lambda: d).addCallbacks(ok, failed).addErrback(
        lambda f: log.failure("console: answering failed", f))
    return NOT_DONE_YET


def readJson(request):
    """
    The JSON object of a POST body.  Only C{application/json} is taken:
    a form of another site cannot send it without the browser asking
    first (and being told no).

    @raise query.BadQuery: not a JSON object, or too long.
    """
    contentType = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
    if contentType != b"application/json":
        raise query.BadQuery("the body must be application/json")
    body = request.content.read(MAX_BODY + 1) if request.content is not None else b""
    if len(body) > MAX_BODY:
        raise query.BadQuery("the body is too long")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise query.BadQuery("the body is not JSON") from None
    if not isinstance(value, dict):
        raise query.BadQuery("the body must be a JSON object")
    return value


def sameOrigin(request):
    """
    Whether the request's C{Origin} (when the browser sent one) is this
    console's own.
    """
    origin = request.getHeader(b"origin")
    if origin is None:
        return True
    host = request.getHeader(b"host")
    scheme = b"https" if request.isSecure() else b"http"
    return host is not None and origin == scheme + b"://" + host


class Console:
    """
    What the resources share: the data, the feed, the login pieces.
    """

    def __init__(self, data, feed, passwords, sessions, limiter, clock, staleAfter=3.0,
                 icons=None, verify=None, metrics=None):
        self.data = data
        self.feed = feed
        self.passwords = passwords
        self.sessions = sessions
        self.limiter = limiter
        self.clock = clock
        self.staleAfter = staleAfter
        self.icons = icons
        self.verify = verify or (lambda user, password: maybeDeferred(
            passwords.check, user, password))
        self.metrics = metrics
        self._logins = {}

    def session(self, request):
        return self.sessions.find(request.getCookie(COOKIE))

    def countLogin(self, result):
        if self.metrics is not None:
            counter = self._logins.get(result)
            if counter is None:
                counter = self._logins[result] = self.metrics.counter("console_logins",
                                                                      result=result)
            counter.inc()


# -- resources --------------------------------------------------------------------

class _Leaf(Resource):
    isLeaf = True

    def __init__(self, console):
        super().__init__()
        self.console = console


class _Protected(Resource):
    """
    A resource that needs a session: a 401 (API) or a redirect to the
    login page (the page) without one, and a 403 for a POST without the
    session's CSRF token (or from another origin).  A leaf for the site:
    it finds its child's resource for the rest of the path itself, once
    the session is checked.
    """

    isLeaf = True

    def __init__(self, console, child, api=True):
        super().__init__()
        self.console = console
        self.child = child
        self.api = api

    def render(self, request):
        session = self.console.session(request)
        if session is None:
            if not self.api:
                request.redirect(b"/login")
                return b""
            return problem(request, 401, "log in first")
        if request.method not in (b"GET", b"HEAD"):
            if not sameOrigin(request) or not csrfMatches(session,
                                                          request.getHeader(CSRF_HEADER)):
                log.warn("console: {method} {path} refused: missing or wrong CSRF token"
                         " (user {user}, from {address})",
                         method=request.method.decode("ascii", "replace"),
                         path=request.path.decode("utf-8", "replace")[:200],
                         user=session.user, address=clientAddress(request))
                return problem(request, 403, "missing or wrong CSRF token")
        request.consoleSession = session
        resource = self.child
        path = list(request.postpath)
        while path and not resource.isLeaf:
            name = path.pop(0)
            request.prepath.append(name)
            resource = resource.getChildWithDefault(name, request)
        request.postpath = path
        return resource.render(request)


class Login(_Leaf):
    def render_POST(self, request):
        console = self.console
        address = clientAddress(request)
        if not sameOrigin(request):
            return problem(request, 403, "wrong origin")
        wait = console.limiter.retryAfter(address)
        if wait > 0:
            console.countLogin("limited")
            log.warn("console login from {address} refused: too many failures; retry in"
                     " {wait:.0f} s", address=address, wait=wait)
            request.setHeader(b"retry-after", b"%d" % (int(wait) + 1))
            return problem(request, 429, "too many failed logins; try again later")
        try:
            body = readJson(request)
        except query.BadQuery as e:
            return problem(request, 400, str(e))
        user, password = body.get("user"), body.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or len(user) > 256 \
                or len(password) > 1024:
            return problem(request, 400, "user and password must be strings")

        def checked(matched):
            shown = user[:64]
            if not matched:
                console.limiter.failed(address)
                console.countLogin("refused")
                log.warn("console login refused for user {user!r} from {address}",
                         user=shown, address=address)
                return 401, {"error": "wrong user or password"}
            console.limiter.succeeded(address)
            console.countLogin("accepted")
            session = console.sessions.open(user)
            log.info("console login of {user!r} from {address}", user=shown, address=address)
            request.addCookie(COOKIE, session.token.encode("ascii"), path=b"/", httpOnly=True,
                              secure=request.isSecure(), sameSite="strict")
            return {"user": session.user, "csrf": session.csrf}

        return answer(request, console.verify(user, password).addCallback(checked))


class Logout(_Leaf):
    def render_POST(self, request):
        session = request.consoleSession
        self.console.sessions.close(session.token)
        log.info("console logout of {user!r} from {address}", user=session.user,
                 address=clientAddress(request))
        request.addCookie(COOKIE, b"", path=b"/", httpOnly=True, secure=request.isSecure(),
                          sameSite="strict", max_age=b"0")
        return writeJson(request, {"ok": True})


class SessionInfo(_Leaf):
    def render_GET(self, request):
        session = request.consoleSession
        return writeJson(request, {"user": session.user, "csrf": session.csrf,
                                   "staleAfter": self.console.staleAfter})


def _countermeasuresByHost(countermeasures, panes):
    names = {}
    for pane in panes:
        names[pane["name"]] = pane["name"]
        for address in pane["addresses"]:
            names.setdefault(address, pane["name"])
    byHost = {}
    for countermeasure in countermeasures:
        host = names.get(countermeasure.get("host"))
        if host is not None:
            byHost.setdefault(host, []).append(countermeasure)
    return byHost


class Hosts(_Leaf):
    def render_GET(self, request):
        feed = self.console.feed
        # The panes and the id where the stream resumes belong together.
        cursor = str(feed.ring.lastId)
        panes = feed.board.snapshot()

        def shaped(countermeasures):
            byHost = _countermeasuresByHost(countermeasures, panes)
            for pane in panes:
                pane["countermeasures"] = byHost.get(pane["name"], [])
            return {"cursor": cursor, "loaded": feed.loaded, "hosts": panes,
                    "classifications": dict(sorted(feed.board.classifications.items()))}

        def noCountermeasures(failure):
            log.failure("console: cannot list countermeasures", failure)
            return []

        return answer(request, self.console.data.countermeasures().addErrback(
            noCountermeasures).addCallback(shaped))


class Alerts(Resource):
    def __init__(self, console):
        super().__init__()
        self.console = console

    def getChild(self, name, request):
        return AlertDetail(self.console, name)

    def render_GET(self, request):
        try:
            search = query.AlertSearch.fromArgs(request.args)
        except query.BadQuery as e:
            return problem(request, 400, str(e))
        console = self.console
        if search.host is None:
            return answer(request, console.data.searchAlerts(search))
        board = console.feed.board
        known = [a for a, name in board.byAddress.items() if name == search.host]

        def resolved(addresses):
            return console.data.searchAlerts(search.withAddresses([*known, *addresses]))

        return answer(request, console.data.hostAddresses(search.host).addCallback(resolved))


class AlertDetail(_Leaf):
    def __init__(self, console, name):
        super().__init__(console)
        self.name = name

    def render_GET(self, request):
        if not re.fullmatch(rb"[0-9]{1,19}", self.name) or request.postpath:
            return problem(request, 404, "no such alert")

        def found(detail):
            if detail is None:
                return 404, {"error": "no such alert"}
            return detail

        return answer(request, self.console.data.alert(int(self.name)).addCallback(found))


class Heartbeats(_Leaf):
    def render_GET(self, request):
        console = self.console
        return answer(request, console.data.heartbeats(console.clock.seconds(),
                                                       console.staleAfter).addCallback(
            lambda analyzers: {"analyzers": analyzers}))


class ConsoleLog(_Leaf):
    def render_GET(self, request):
        try:
            search = query.LogSearch.fromArgs(request.args)
        except query.BadQuery as e:
            return problem(request, 400, str(e))
        return answer(request, self.console.data.consoleLog(search))


class Countermeasures(Resource):
    def __init__(self, console):
        super().__init__()
        self.console = console
        self.putChild(b"lift", Lift(console))

    def render_GET(self, request):
        return answer(request, self.console.data.countermeasures().addCallback(
            lambda found: {"countermeasures": found}))


class Lift(_Leaf):
    def render_POST(self, request):
        try:
            body = readJson(request)
        except query.BadQuery as e:
            return problem(request, 400, str(e))
        daemon, countermeasureId = body.get("daemon"), body.get("id")
        reason = body.get("reason") or "lifted from the console"
        if not all(isinstance(v, str) and 0 < len(v) <= 256
                   for v in (daemon, countermeasureId, reason)):
            return problem(request, 400, "daemon, id and reason must be short strings")
        session = request.consoleSession
        by = f"console:{session.user}"
        address = clientAddress(request)
        log.info("console: {user!r} from {address} lifts countermeasure {id!r} on {daemon!r}"
                 " ({reason!r})", user=session.user, address=address, id=countermeasureId,
                 daemon=daemon, reason=reason[:200])

        def done(outcome):
            log.info("console: countermeasure {id!r} on {daemon!r} lifted: {outcome}",
                     id=countermeasureId, daemon=daemon, outcome=outcome)
            return {"outcome": str(outcome)}

        def refused(failure):
            if failure.check(LookupError):
                return failure
            log.warn("console: lifting countermeasure {id!r} on {daemon!r} failed: {error}",
                     id=countermeasureId, daemon=daemon, error=failure.getErrorMessage())
            return 502, {"error": f"the ReactionDaemon did not lift it:"
                                  f" {failure.getErrorMessage()[:300]}"}

        return answer(request, maybeDeferred(
            self.console.data.liftCountermeasure, daemon, countermeasureId, by,
            reason).addCallbacks(done, refused))


class Events(_Leaf):
    """
    The live stream: Server-Sent Events, resuming after C{Last-Event-ID}
    (what the browser sends when it reconnects) or the C{since} argument
    (the cursor of C{/api/hosts}, for the first connection).
    """

    def render_GET(self, request):
        lastId = request.getHeader(b"last-event-id")
        if lastId is None:
            since = request.args.get(b"since")
            lastId = since[-1] if since else None
        eventId = parseEventId(lastId)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"x-accel-buffering", b"no")
        request.write(b"retry: 3000\n\n")
        feed = self.console.feed

        def close():
            request.unregisterProducer()
            request.finish()

        stream = feed.subscribe(request.write, close, eventId)
        request.registerProducer(stream, True)

        def gone(_):
            stream.closed = True
            feed.unsubscribe(stream)

        request.notifyFinish().addBoth(gone)
        return NOT_DONE_YET


class StaticFile(Resource):
    isLeaf = True

    def __init__(self, name):
        super().__init__()
        self.name = name

    def render_GET(self, request):
        request.setHeader(b"content-type", STATIC_FILES[self.name].encode("ascii"))
        with open(os.path.join(STATIC, self.name), "rb") as f:
            return f.read()


class StaticFiles(Resource):
    """The page's files by name (and nothing else); some need a session."""

    def __init__(self, console):
        super().__init__()
        self.console = console

    def getChild(self, name, request):
        text = name.decode("ascii", "replace")
        if text not in STATIC_FILES or request.postpath:
            return _NotFound()
        if text in PUBLIC_FILES:
            return StaticFile(text)
        return _Protected(self.console, StaticFile(text), api=False)


class Icon(Resource):
    isLeaf = True

    def __init__(self, console):
        super().__init__()
        self.console = console

    def render_GET(self, request):
        directory = self.console.icons
        name = (request.postpath[0] if len(request.postpath) == 1 else b"").decode(
            "utf-8", "replace")
        kind = ICON_TYPES.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
        if directory is None or not _ICON_NAME.match(name) or kind is None:
            return problem(request, 404, "no such icon")
        path = os.path.realpath(os.path.join(directory, name))
        if os.path.dirname(path) != os.path.realpath(directory) or not os.path.isfile(path):
            return problem(request, 404, "no such icon")
        request.setHeader(b"content-type", kind.encode("ascii"))
        request.setHeader(b"content-security-policy", b"default-src 'none'; sandbox")
        with open(path, "rb") as f:
            return f.read(1024 * 1024)


class _NotFound(Resource):
    isLeaf = True

    def render(self, request):
        return problem(request, 404, "not found")


class Api(Resource):
    def __init__(self, console):
        super().__init__()
        self.console = console
        self.putChild(b"login", Login(console))
        for name, child in ((b"logout", Logout(console)), (b"session", SessionInfo(console)),
                            (b"hosts", Hosts(console)), (b"alerts", Alerts(console)),
                            (b"heartbeats", Heartbeats(console)),
                            (b"consolelog", ConsoleLog(console)),
                            (b"countermeasures", Countermeasures(console)),
                            (b"events", Events(console))):
            self.putChild(name, _Protected(console, child))

    def getChild(self, name, request):
        return _NotFound()

    def render(self, request):
        return problem(request, 404, "not found")


class Root(Resource):
    def __init__(self, console):
        super().__init__()
        self.putChild(b"", _Protected(console, StaticFile("index.html"), api=False))
        self.putChild(b"login", StaticFile("login.html"))
        self.putChild(b"static", StaticFiles(console))
        self.putChild(b"icons", _Protected(console, Icon(console)))
        self.putChild(b"api", Api(console))

    def getChild(self, name, request):
        return _NotFound()


def makeSite(console):
    """The console's C{Site}."""
    return ConsoleSite(Root(console))

