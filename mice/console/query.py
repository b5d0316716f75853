# -*- test-case-name: tests.unit.console.test_query -*-
"""
The console's searches, pure: parsing a request's filters (L{AlertSearch},
L{LogSearch}), the keyset cursors, the SQL text for both dialects, and
the JSON shape of a row.  The transaction functions that run the SQL are
in L{mice.console.data}.

Alerts are listed newest first by (C{date}, C{time}, C{row_id}), the date
and time as the analyzer wrote them.  A page ends with a cursor holding
the last row's key; the next page starts strictly after it (keyset
pagination: page 1000 costs what page 1 does).  Alerts without a date
come after all the dated ones, by C{row_id}.

Each filter column has an index that ends with C{date} and C{time}
(L{mice.db.schema}; on MySQL/MariaDB, on the column's indexed search
copy), so a filtered page is a short index range scan.  A
filter that is an OR of columns (C{user}: source or target user; C{host}:
several addresses) is run as one query per alternative, each with its own
index, merged here (L{mergePages}).
"""

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date as _date
from datetime import timedelta

from mice.db.schema import _dialect, quote, searchCondition

#: The most alerts or records one page may hold.
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
#: The longest filter value taken (anything longer matches nothing anyway).
MAX_VALUE = 256

SUMMARY_COLUMNS = (
    "row_id", "alertid", "alertdesc", "classification", "date", "time", "analyzerid",
    "source_address", "source_user", "source_process", "source_service",
    "target_address", "target_user", "target_process", "target_service", "idmefmsg")

EVENT_COLUMNS = ("row_id", "origin", "loghost", "ip", "application", "action", "rule",
                 "fields", "icon", "count", "date", "time", "logline")

#: Filter name (query parameter) -> column, for the one-column filters.
COLUMN_FILTERS = {
    "alertid": "alertid",
    "classification": "classification",
    "source": "source_address",
    "target": "target_address",
    "analyzer": "analyzerid",
}

FILTERS = ("from", "to", "alertid", "classification", "source", "target", "user",
           "analyzer", "host")


class BadQuery(ValueError):
    """A filter or cursor that cannot be used; the text says which and why."""


# -- parsing -----------------------------------------------------------------

_WHEN = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?\Z")


def parseWhen(text, end=False):
    """
    C{(date, time)} texts of a time filter: C{YYYY-MM-DD}, optionally with
    C{THH:MM} or C{THH:MM:SS} (what an HTML C{datetime-local} input sends).
    A bare date is its first second, or its last with C{end=True}; so is a
    minute.

    @raise BadQuery: not such a time.
    """
    match = _WHEN.match(text.strip())
    if not match:
        raise BadQuery(f"not a time: {text[:40]!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)")
    day, hours, minutes, seconds = match.groups()
    try:
        _date.fromisoformat(day)
    except ValueError:
        raise BadQuery(f"not a date: {day!r}") from None
    if hours is None:
        return day, "23:59:59" if end else "00:00:00"
    if int(hours) > 23 or int(minutes) > 59 or (seconds is not None and int(seconds) > 59):
        raise BadQuery(f"not a time of day: {text[:40]!r}")
    if seconds is None:
        seconds = "59" if end else "00"
    return day, f"{hours}:{minutes}:{seconds}"


def parseAlertId(text):
    """
    The stored form (C{0x1020}) of an alert id given as C{0x1020},
    C{0X1020} or decimal C{4128}.

    @raise BadQuery: not a number.
    """
    text = text.strip()
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise BadQuery(f"not an alert id: {text[:40]!r} (e.g. 0x1020)") from None
    if not 0 <= value < 2 ** 32:
        raise BadQuery(f"not an alert id: {text[:40]!r}")
    return f"0x{value:04x}"


def encodeCursor(key):
    """An opaque cursor text for a key (a list of JSON values)."""
    raw = json.dumps(key, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decodeCursor(text, shape):
    """
    The key of a cursor made by L{encodeCursor}.

    @param shape: a function checking the decoded list, returning the key.
    @raise BadQuery: not a cursor of ours.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key = json.loads(raw.decode("utf-8"))
        return shape(key)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadQuery("not a valid cursor (start the search again)") from None


def _alertKey(key):
    day, clock, rowId = key
    if type(rowId) is not int or (day is None) != (clock is None):
        raise ValueError("bad cursor")
    if day is not None:
        if type(day) is not str or type(clock) is not str:
            raise ValueError("bad cursor")
        parseWhen(f"{day}T{clock}")
    return day, clock, rowId


def _rowKey(key):
    (rowId,) = key
    if type(rowId) is not int:
        raise ValueError("bad cursor")
    return rowId


def _one(args, name):
    values = args.get(name)
    if not values:
        return None
    value = values[-1] if isinstance(values, list | tuple) else values
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_VALUE:
        raise BadQuery(f"{name}: longer than {MAX_VALUE} characters")
    return value


def _limit(args):
    text = _one(args, "limit")
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise BadQuery(f"limit: not a number: {text[:20]!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit: must be 1 to {MAX_LIMIT}")
    return limit


@dataclass(frozen=True)
class AlertSearch:
    """
    One page of an alert search.  C{None} is "any".

    @ivar start: C{(date, time)} the earliest, or C{None}.
    @ivar end: C{(date, time)} the latest, or C{None}.
    @ivar columns: C{((column, value), ...)}: one-column filters.
    @ivar user: a user name, source or target.
    @ivar host: a host name or address; the console resolves a name to
        the addresses its console events know (L{withAddresses}).
    @ivar addresses: what C{host} resolved to (target addresses).
    @ivar after: the cursor key C{(date, time, row_id)} to start after.
    """

    start: tuple | None = None
    end: tuple | None = None
    columns: tuple = ()
    user: str | None = None
    host: str | None = None
    addresses: tuple = ()
    after: tuple | None = None
    limit: int = DEFAULT_LIMIT
    filters: dict = field(default_factory=dict, compare=False)
    """The filters as given, for the response."""

    @classmethod
    def fromArgs(cls, args):
        """
        From a request's query arguments (C{{name: [value, ...]}}, bytes or
        text): C{from}, C{to}, C{alertid}, C{classification}, C{source},
        C{target}, C{user}, C{analyzer}, C{host}, C{limit}, C{after}.

        @raise BadQuery: a filter is wrong.
        """
        args = {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k): v
                for k, v in args.items()}
        unknown = sorted(set(args) - set(FILTERS) - {"limit", "after"})
        if unknown:
            raise BadQuery(f"unknown filter {unknown[0][:40]!r} (known: {', '.join(FILTERS)})")
        given = {name: _one(args, name) for name in FILTERS}
        columns = []
        for name, column in COLUMN_FILTERS.items():
            value = given[name]
            if value is not None:
                columns.append((column, parseAlertId(value) if name == "alertid" else value))
        start = parseWhen(given["from"]) if given["from"] else None
        end = parseWhen(given["to"], end=True) if given["to"] else None
        after = _one(args, "after")
        return cls(start=start, end=end, columns=tuple(columns), user=given["user"],
                   host=given["host"], addresses=(given["host"],) if given["host"] else (),
                   after=decodeCursor(after, _alertKey) if after else None,
                   limit=_limit(args),
                   filters={k: v for k, v in given.items() if v is not None})

    def withAddresses(self, addresses):
        """This search with C{host} matching these target addresses too."""
        known = tuple(dict.fromkeys((*self.addresses, *addresses)))
        return replace(self, addresses=known)

    @property
    def timed(self):
        return self.start is not None or self.end is not None


@dataclass(frozen=True)
class LogSearch:
    """
    One page of the console log: dropped and rejected records.
    """

    action: str | None = None
    host: str | None = None
    after: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def fromArgs(cls, args):
        args = {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k): v
                for k, v in args.items()}
        unknown = sorted(set(args) - {"action", "host", "after", "limit"})
        if unknown:
            raise BadQuery(f"unknown filter {unknown[0][:40]!r} (known: action, host)")
        action = _one(args, "action")
        if action is not None and action not in LOG_ACTIONS:
            raise BadQuery("action: drop or reject")
        after = _one(args, "after")
        return cls(action=action, host=_one(args, "host"),
                   after=decodeCursor(after, _rowKey) if after else None, limit=_limit(args))


LOG_ACTIONS = ("drop", "reject")
SHOWN_ACTIONS = ("display", "icon")


# -- SQL -----------------------------------------------------------------------

_ORDER = " ORDER BY `date` DESC, `time` DESC, `row_id` DESC"
_NULL_ORDER = " ORDER BY `row_id` DESC"


def _select(columns, table):
    return "SELECT %s FROM %s" % (", ".join(quote(c) for c in columns), quote(table))


def alertSearchStatements(dialect, search, columns=SUMMARY_COLUMNS, searched=True):
    """
    The statements of one page of C{search}: C{(phase, sql, params)}, one
    per alternative of an OR filter, C{phase} C{"dated"} (ordered by date,
    time and row id) or C{"undated"} (the alerts without a date, by row
    id, which follow the dated ones).  Each asks for C{limit + 1} rows,
    the extra one saying whether there is a next page.

    @param searched: whether C{alert_entry} has its indexed search columns
        (L{mice.db.schema.SEARCH_COLUMNS}, MySQL/MariaDB): without them
        (a table not yet upgraded) the filters compare the columns
        themselves, and every match is read and sorted.
    """
    dialect = _dialect(dialect)
    p = dialect.placeholder

    def equal(column, value):
        return searchCondition(dialect, column, value, searched)

    common, params = [], []
    for column, value in search.columns:
        condition, values = equal(column, value)
        common.append(condition)
        params += values
    if search.start is not None:
        day, clock = search.start
        common.append(f"`date` >= {p} AND (`date` > {p} OR `time` >= {p})")
        params += [day, day, clock]
    if search.end is not None:
        day, clock = search.end
        common.append(f"`date` <= {p} AND (`date` < {p} OR `time` <= {p})")
        params += [day, day, clock]
    alternatives = [((), ())]
    if search.user is not None:
        alternatives = []
        for column in ("source_user", "target_user"):
            condition, values = equal(column, search.user)
            alternatives.append(((condition,), values))
    if search.addresses:
        alternatives = [(conditions + (condition,), values + more)
                        for conditions, values in alternatives for address in search.addresses
                        for condition, more in (equal("target_address", address),)]
    head = _select(columns, "alert_entry")
    statements = []
    undatedOnly = search.after is not None and search.after[0] is None
    for conditions, values in alternatives:
        where = common + list(conditions)
        args = params + list(values)
        if not undatedOnly:
            dated = list(where)
            datedArgs = list(args)
            if search.after is not None:
                day, clock, rowId = search.after
                dated.append(f"`date` <= {p} AND (`date` < {p} OR (`time` <= {p} AND"
                             f" (`time` < {p} OR `row_id` < {p})))")
                datedArgs += [day, day, clock, clock, rowId]
            else:
                dated.append("`date` IS NOT NULL")
            statements.append(("dated", head + " WHERE " + " AND ".join(dated) + _ORDER
                               + f" LIMIT {search.limit + 1}", tuple(datedArgs)))
        if not search.timed:
            undated = list(where) + ["`date` IS NULL"]
            undatedArgs = list(args)
            if undatedOnly:
                undated.append(f"`row_id` < {p}")
                undatedArgs.append(search.after[2])
            statements.append(("undated", head + " WHERE " + " AND ".join(undated)
                               + _NULL_ORDER + f" LIMIT {search.limit + 1}",
                               tuple(undatedArgs)))
    return statements


def sortKey(row):
    """
    The order of a page (newest first), for rows shaped by
    L{alertSummary}: dated rows by date, time and row id, then undated
    ones by row id.
    """
    if row["date"] is None:
        return (0, "", "", row["rowId"])
    return (1, row["date"], row["time"] or "", row["rowId"])


def mergePages(pages, limit):
    """
    One page from the pages of a search's statements: newest first,
    each alert once, at most C{limit}, and the cursor of the next page.

    @param pages: lists of rows shaped by L{alertSummary}.
    @return: C{(rows, next cursor or None)}.
    """
    seen = {}
    for page in pages:
        for row in page:
            seen[row["rowId"]] = row
    rows = sorted(seen.values(), key=sortKey, reverse=True)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encodeCursor([last["date"], last["time"], last["rowId"]])


def sinceStatement(dialect, table, columns, limit):
    """
    The rows of C{table} stored after a row id, oldest first (what the
    live feed reads).
    """
    p = _dialect(dialect).placeholder
    return (_select(columns, table) + f" WHERE `row_id` > {p} ORDER BY `row_id` LIMIT {limit}")


def logStatements(dialect, search, columns=EVENT_COLUMNS):
    """
    C{(sql, params)} per action of a console log page, newest first.
    """
    p = _dialect(dialect).placeholder
    statements = []
    for action in (search.action,) if search.action else LOG_ACTIONS:
        where, args = [f"`action` = {p}"], [action]
        if search.host is not None:
            where.append(f"`loghost` = {p}")
            args.append(search.host)
        if search.after is not None:
            where.append(f"`row_id` < {p}")
            args.append(search.after)
        statements.append((_select(columns, "console_event") + " WHERE " + " AND ".join(where)
                           + _NULL_ORDER + f" LIMIT {search.limit + 1}", tuple(args)))
    return statements


def mergeLog(pages, limit):
    rows = sorted((row for page in pages for row in page), key=lambda r: r["rowId"],
                  reverse=True)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encodeCursor([rows[-1]["rowId"]])


# -- shaping rows ----------------------------------------------------------------

def text(value):
    """A database value as JSON text: dates and times as ISO text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


_SEVERITY = re.compile(r"<(?:[\w.-]+:)?Impact\b[^>]*?\bseverity\s*=\s*[\"'](\w+)[\"']")
_LOG_LINE = re.compile(
    r"<(?:[\w.-]+:)?AdditionalData\b[^>]*?\bmeaning\s*=\s*[\"']log line[\"'][^>]*>\s*"
    r"<(?:[\w.-]+:)?string>(.*?)</(?:[\w.-]+:)?string>", re.S)
#: How much of a document is searched for the severity and the log line.
_SCAN = 65536


def severityOf(document):
    """
    The IDMEF Impact severity of a document (C{info}, C{low}, C{medium},
    C{high}), or C{None}: for the console's cue (an M-ICE C{alert} rule
    is high, a C{warning} medium).  Display only: the document was
    checked by the hardened parser when it was received.
    """
    if not document:
        return None
    match = _SEVERITY.search(document, 0, _SCAN)
    return match.group(1) if match else None


def logLineOf(document):
    """The C{log line} additional data of a document, unescaped, or C{None}."""
    if not document:
        return None
    match = _LOG_LINE.search(document, 0, _SCAN)
    return html.unescape(match.group(1)) if match else None


_SUMMARY_NAMES = {"row_id": "rowId", "alertid": "alertId", "alertdesc": "description",
                  "analyzerid": "analyzer", "source_address": "sourceAddress",
                  "source_user": "sourceUser", "source_process": "sourceProcess",
                  "source_service": "sourceService", "target_address": "targetAddress",
                  "target_user": "targetUser", "target_process": "targetProcess",
                  "target_service": "targetService"}


def alertSummary(row, columns=SUMMARY_COLUMNS, document=False):
    """
    The JSON shape of an C{alert_entry} row (a tuple in C{columns} order):
    the seed's columns in camelCase, the severity and the log line taken
    from the IDMEF document, and the document itself with C{document=True}.
    """
    values = dict(zip(columns, row))
    idmef = text(values.pop("idmefmsg", None))
    shaped = {_SUMMARY_NAMES.get(name, name): (value if name == "row_id" else text(value))
              for name, value in values.items()}
    shaped["severity"] = severityOf(idmef)
    shaped["logLine"] = logLineOf(idmef)
    if document:
        shaped["idmef"] = idmef
    return shaped


def eventShape(row, columns=EVENT_COLUMNS):
    """
    The JSON shape of a C{console_event} row: C{fields} as
    C{[[name, value], ...]} (or C{None}: the whole record).
    """
    values = dict(zip(columns, row))
    fields = text(values.get("fields"))
    try:
        fields = json.loads(fields) if fields else None
    except ValueError:
        fields = None
    return {"rowId": values["row_id"], "origin": text(values.get("origin")),
            "host": text(values["loghost"]), "ip": text(values["ip"]),
            "application": text(values["application"]), "action": text(values["action"]),
            "rule": text(values["rule"]), "fields": fields, "icon": text(values["icon"]),
            "count": values["count"], "date": text(values["date"]),
            "time": text(values["time"]), "line": text(values["logline"])}
