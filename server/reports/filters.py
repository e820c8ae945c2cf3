"""A report's filters, read from the query string before any SQL runs: one parser for
every report of both office blueprints.

Every report takes some of: a date range (``from``, ``to``: ISO dates, local days by the
deployment's ``local_utc_offset_hours``, both included), an ``engineer``, a ``depot``, a
``zone``, a look-ahead of ``days``; a paged one also ``limit`` and ``cursor``. Anything
else — a parameter it does not take, one given twice, a date in other digits
(``２０２６``) or outside 1970..9999, ``from`` after ``to``, a range longer than the
report's cap, a cursor not of this report — is refused with 422 and a stable code
(``invalid_filter``, ``range_too_long``), before the database is asked anything.

A cursor is the key of the page's last row as base64url JSON: opaque to the caller,
holding any text a key holds (a contract's end as written, an id with dots), and read
back only as the report's own key (:func:`parse`'s ``cursor_kinds``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Mapping, Sequence

import orjson
import sqlalchemy as sa

from sync.errors import ValidationError

from ..domain.moments import DAY_MS, EPOCH, day_start_ms, epoch_ms
from ..params import whole_number
from ..tables import entity_table, users

__all__ = ["Filters", "FilterError", "RangeTooLongError", "parse", "params", "encode_cursor", "engineers_of_depot",
           "fenced", "today_of", "FIRST_DAY", "LAST_DAY", "MAX_LIMIT"]

#: the first and last day a range may name (local day numbers of what is in range stay positive)
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 31)
#: rows a page may hold
MAX_LIMIT = 5000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID_PATTERN = "[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}"
_ID = re.compile(_ID_PATTERN)
_ZONE_CHARS = 50
_MAX_CURSOR = 600
_CURSOR = re.compile(f"[A-Za-z0-9_-]{{1,{_MAX_CURSOR}}}")
#: a whole number a cursor holds (a day, an instant in ms, an age band) stays within BIGINT
_CURSOR_NUMBER = 10**17


class FilterError(ValidationError):
    """A filter value a report cannot take."""

    code = "invalid_filter"


class RangeTooLongError(ValidationError):
    """A date range longer than the report computes in one answer."""

    code = "range_too_long"


@dataclass(frozen=True)
class Filters:
    #: the local days asked for, both included (``None``: that side open, for a report
    #: without a default range)
    date_from: date | None
    date_to: date | None
    #: the server's clock (ms) when the request came: ages and time left count from it
    now_ms: int
    engineer: str | None = None
    depot: str | None = None
    zone: str | None = None
    #: how many days ahead a look-ahead report looks
    days: int | None = None
    limit: int = 1000
    #: the key of the last row of the page before (``None``: the first page)
    after: tuple | None = None

    @property
    def now(self) -> datetime:
        """``now_ms`` as an aware UTC time."""
        return datetime.fromtimestamp(self.now_ms / 1000, timezone.utc)

    def bounds_ms(self, offset_hours: int) -> tuple[int, int]:
        """The range as instants: the first day's start, and the start of the day after the last."""
        last = day_start_ms(self.date_to, offset_hours)
        return day_start_ms(self.date_from, offset_hours), last + DAY_MS

    def near(self, text: sa.ColumnElement, stamp: sa.ColumnElement | None, offset_hours: int) -> sa.ColumnElement:
        """SQL an index answers: the record's time (the time field ``text``, else the server
        stamp ``stamp``) may fall in the range — every row that does, and a few more.

        A time field's date as written is within a day of its local day whatever its
        offset (at most 14 hours either way), so ISO text from the day before the range to
        the day after it holds every row in the range, compared as text. The exact test is
        the caller's, on the instant computed once per row (:func:`fenced`): parsing a
        time is most of a report's cost.
        """
        after = (self.date_to + timedelta(days=2)).isoformat() if self.date_to < LAST_DAY - timedelta(days=1) \
            else "99999"  # past every time field, whose year has four digits
        near = sa.and_(text >= (self.date_from - timedelta(days=1)).isoformat(), text < after)
        if stamp is None:
            return near
        return sa.or_(near, sa.and_(text.is_(None), self.stamp_during(stamp, offset_hours)))

    def holds(self, ms: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
        """SQL: an instant (ms) falls in the range (an open side holds every instant)."""
        low, high = self._edges_ms(offset_hours)
        return sa.and_(sa.true(), *([ms >= low] if low is not None else []),
                       *([ms < high] if high is not None else []))

    def time_during(self, text: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
        """SQL: a time field's text, read as an instant (:func:`epoch_ms`), falls in the range."""
        return self.holds(epoch_ms(text, offset_hours), offset_hours)

    def stamp_during(self, stamp: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
        """SQL: a server stamp (UTC) falls in the range; an index on it answers this."""
        low, high = (_utc(ms) for ms in self._edges_ms(offset_hours))
        return sa.and_(sa.true(), *([stamp >= low] if low is not None else []),
                       *([stamp < high] if high is not None else []))

    def _edges_ms(self, offset_hours: int) -> tuple[int | None, int | None]:
        low = day_start_ms(self.date_from, offset_hours) if self.date_from is not None else None
        high = day_start_ms(self.date_to, offset_hours) + DAY_MS if self.date_to is not None else None
        return low, high


def _utc(ms: int | None) -> datetime | None:
    """An instant as a UTC time; ``None`` (no bound) past the last a datetime holds (the
    end of 9999-12-31 west of Greenwich)."""
    if ms is None:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
    except OverflowError:
        return None


def _date(raw: str, name: str) -> date:
    if not (len(raw) == 10 and raw.isascii() and _DATE.fullmatch(raw)):
        raise FilterError(f"{name} is a date written 2026-11-23 (ASCII digits)", field=name)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name} is not a real date", field=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(f"{name} is a date from {FIRST_DAY} to {LAST_DAY}", field=name)
    return day


def _identifier(raw: str, name: str) -> str:
    if not (raw.isascii() and _ID.fullmatch(raw)):
        raise FilterError(f"{name} is an id (letters, digits, _ . : -; at most 64)", field=name)
    return raw


def _zone(raw: str) -> str:
    if not 0 < len(raw) <= _ZONE_CHARS or "\x00" in raw:
        raise FilterError(f"zone is a zone's name, 1 to {_ZONE_CHARS} characters (no NUL)", field="zone")
    return raw


def _number(raw: str | None, name: str, low: int, high: int) -> int | None:
    """A whole number parameter (:func:`server.params.whole_number`), refused as a filter."""
    try:
        return whole_number(raw, name, low, high)
    except ValidationError as refused:
        raise FilterError(refused.message, field=name) from None


def _piece(value, kind: str) -> bool:
    """Whether a cursor's value is one of its key's kind: a whole number (a day, an instant
    in ms, an age band), a month, an id, or text as a row holds it (no NUL, which
    PostgreSQL refuses)."""
    if kind == "number":
        return type(value) is int and -_CURSOR_NUMBER < value < _CURSOR_NUMBER
    if type(value) is not str:
        return False
    if kind == "month":
        return re.fullmatch(r"[0-9]{4}-[0-9]{2}", value) is not None
    if kind == "id":
        return value.isascii() and _ID.fullmatch(value) is not None
    return "\x00" not in value


def encode_cursor(key: Sequence) -> str:
    """The key of a page's last row as the next page's cursor."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def _cursor(raw: str, kinds: Sequence[str] | Mapping[str, Sequence[str]]) -> tuple:
    """The key a cursor holds, checked against ``kinds``; a mapping: an answer of several
    lists, whose cursor's first value names the list and the rest is that list's key."""
    refused = FilterError("cursor is the `next` of the page before, as it was given", field="cursor")
    if not (raw.isascii() and _CURSOR.fullmatch(raw)):
        raise refused
    try:
        values = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise refused from None
    if isinstance(kinds, Mapping):
        if not (isinstance(values, list) and values and type(values[0]) is str and values[0] in kinds):
            raise refused
        kinds = ["text", *kinds[values[0]]]
    if not (isinstance(values, list) and len(values) == len(kinds) and kinds
            and all(_piece(value, kind) for value, kind in zip(values, kinds))):
        raise refused
    return tuple(values)


def parse(args: Mapping[str, str], *, today: date, now_ms: int, takes: Sequence[str], max_days: int | None = None,
          default_days: int | None = 31, cursor_kinds: Sequence[str] | Mapping[str, Sequence[str]] = (),
          default_limit: int = 1000,
          days: tuple[int, int, int] | None = None) -> Filters:
    """The filters of a report that ``takes`` these parameters (besides ``format``).

    No range given: the ``default_days`` up to ``today`` (local); only ``from``: up to
    ``today`` or the cap, whichever is sooner; only ``to``: the ``default_days`` ending then.
    ``default_days=None``: a side not given is open. ``cursor_kinds``: the kinds of the
    report's key (``number``, ``month``, ``id``, ``text``), or per list of an answer of
    several (:func:`_cursor`); ``days``: (default, low,
    high) of a look-ahead report's ``days``.
    """
    allowed = set(takes) | {"format"} | ({"days"} if days else set())
    unknown = sorted(set(args) - allowed)
    if unknown:
        name = unknown[0][:40]
        raise FilterError(f"this report has no parameter {name!r}", field=name, details={"allowed": sorted(allowed)})
    for name in args:
        if len(args.getlist(name) if hasattr(args, "getlist") else [args[name]]) > 1:
            raise FilterError(f"{name} is given once", field=name)
    date_from, date_to = _range(args, today, max_days, default_days)
    values: dict = {"date_from": date_from, "date_to": date_to, "now_ms": now_ms}
    if "engineer" in args:
        values["engineer"] = _identifier(args["engineer"], "engineer")
    if "depot" in args:
        values["depot"] = _identifier(args["depot"], "depot")
    if "zone" in args:
        values["zone"] = _zone(args["zone"])
    if days:
        values["days"] = _number(args.get("days"), "days", days[1], days[2]) or days[0]
    values["limit"] = _number(args.get("limit"), "limit", 1, MAX_LIMIT) or default_limit
    if "cursor" in args:
        values["after"] = _cursor(args["cursor"], cursor_kinds)
    return Filters(**values)


def _range(args: Mapping[str, str], today: date, max_days: int | None,
           default_days: int | None) -> tuple[date | None, date | None]:
    """The local days asked for: checked, defaulted, within the report's cap."""
    date_to = _date(args["to"], "to") if "to" in args else (min(today, LAST_DAY) if default_days else None)
    if "from" in args:
        date_from = _date(args["from"], "from")
        if "to" not in args and max_days is not None:
            cap = date.fromordinal(min(date_from.toordinal() + max_days - 1, LAST_DAY.toordinal()))
            date_to = max(date_from, min(date_to, cap))
    elif default_days:
        date_from = max(FIRST_DAY, date_to - timedelta(days=default_days - 1))
    else:
        date_from = None
    if date_from is not None and date_to is not None and date_from > date_to:
        raise FilterError("from is after to", field="from", details={"from": date_from.isoformat(),
                                                                     "to": date_to.isoformat()})
    if max_days is not None:
        days = (date_to - date_from).days + 1
        if days > max_days:
            raise RangeTooLongError(f"this report covers at most {max_days} days at a time, not {days}: ask for the "
                                    f"rest in another range", field="to", details={"max_days": max_days, "days": days})
    return date_from, date_to


_DATE_SCHEMA = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10,
                "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"}
_ID_SCHEMA = {"type": "string", "pattern": f"^{_ID_PATTERN}$"}
#: every parameter a report may take, for the OpenAPI description
_DESCRIBED = {
    "from": {"schema": _DATE_SCHEMA, "description": f"the first day, included (a local day; from {FIRST_DAY} to "
                                                    f"{LAST_DAY})"},
    "to": {"schema": _DATE_SCHEMA, "description": f"the last day, included; not before `from` (a local day; from "
                                                  f"{FIRST_DAY} to {LAST_DAY})"},
    "engineer": {"schema": _ID_SCHEMA, "description": "one engineer's (a user id)"},
    "depot": {"schema": _ID_SCHEMA, "description": "one depot's"},
    "zone": {"schema": {"type": "string", "minLength": 1, "maxLength": _ZONE_CHARS, "pattern": "^[^\\u0000]+$"},
             "description": "one zone's"},
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "description": "rows a page"},
    "cursor": {"schema": {"type": "string", "pattern": f"^[A-Za-z0-9_-]{{1,{_MAX_CURSOR}}}$"},
               "description": "the `next` of the page before (same filters)"},
}


def params(names: Sequence[str], *, described: Mapping[str, str] | None = None, days: dict | None = None
           ) -> list[dict]:
    """OpenAPI parameters for these filter names: ``described`` says what a name means to
    this report where the shared words say too little; ``days`` describes a look-ahead."""
    out = []
    for name in names:
        item = {"name": name, "in": "query", "required": False, **copy.deepcopy(_DESCRIBED[name])}
        if described and name in described:
            item["description"] = described[name]
        out.append(item)
    if days is not None:
        out.append({"name": "days", "in": "query", "required": False, **days})
    return out


def engineers_of_depot(depot: str) -> sa.Select:
    """SQL: the people who work out of a depot: their own depot, or a van or station of it
    they hold (``engineer_id``)."""
    locations = entity_table("stock_location")
    held = sa.select(locations.c.engineer_id).where(
        locations.c.depot_id == depot, locations.c.deleted.is_(False), locations.c.engineer_id.is_not(None))
    return sa.select(users.c.id).where(users.c.depot_id == depot).union(held)


def fenced(query: sa.Select, name: str) -> sa.Subquery:
    """``query`` as a subquery the planner keeps whole (``OFFSET 0``): each of its computed
    columns is computed once per row, not again wherever the outer query names it."""
    return query.offset(0).subquery(name)


def today_of(now_ms: int, offset_hours: int) -> date:
    """The local date at ``now_ms``."""
    return EPOCH + timedelta(days=(now_ms + offset_hours * 3_600_000) // 86_400_000)
