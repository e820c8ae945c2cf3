"""Response deadlines and SLA state, from zone × urgency × contract, all three being data.

* **Deadline** (reach the site): the zone's hours for the urgency (002 §4.2.5; 004 §19
  counts *working* hours for the zones in ``working_hour_zones``, on the configured
  calendar) and the contract's response hours (calendar hours), whichever falls first.
  The contract is the ticket's own or, failing that, its equipment's.
* **Answer deadline** (000: every repair request answered within 24 h): the request is
  answered when the ticket is dispatched to someone or taken up (its status leaves
  ``reported``), at the time of that write on the server's time line.
* **State**, stored on the ticket (server-owned, so it reaches the assigned engineer's
  replica by sync): ``met`` / ``missed`` once the site is reached (by the deadline or
  after it), ``missed`` when the ticket is finished with no arrival recorded; else
  ``late`` past the deadline, ``at_risk`` when less than ``sla_at_risk_fraction`` of the
  window is left (working hours in a working-hour zone), ``on_time``. A cancelled ticket
  has none. The answer deadline has its own state, the same way.

Arrival times are the device times the engineer recorded (``ticket.arrived_at``, a work
log ``arrived`` entry), corrected by the skew the server measured on the push that
carried them: a phone a day fast does not make an arrival late. A work log is append-only,
so the earliest logged arrival is kept on the ticket (``logged_arrival_at``); the
ticket's own field may be corrected, so its value is kept apart (``arrived_at_server``).
An arrival pushed days late re-evaluates the ticket at once; the open tickets' states
move with time by :func:`evaluate_open` (``fieldsync office evaluate-sla``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from sync import hlc
from sync.changeset import Mutation
from sync.entities import SLA_STATES
from sync.rules import Merge
from sync.rules.lww import node_of

from ..tables import entity_table
from .config import DomainConfig
from .moments import stored_text

if TYPE_CHECKING:
    from ..apply import Batch

__all__ = ["STATES", "OPEN_STATES", "Calendar", "calendar", "deadline", "later", "evaluate",
           "after_ticket", "after_work_log", "refresh", "evaluate_open", "on_server_line", "parse_time"]

STATES = SLA_STATES
#: the states that move with time alone (the others are decided)
OPEN_STATES = ("on_time", "at_risk", "late")
_FINISHED = frozenset({"completed", "signed", "closed"})
_UNANSWERED = frozenset({"reported", None})
#: the ticket fields a deadline is computed from
_DEADLINE_INPUTS = frozenset({"zone", "urgency", "contract_id", "equipment_id", "reported_at"})
#: the ticket fields the states are computed from
_INPUTS = _DEADLINE_INPUTS | {"status", "assignee_id", "arrived_at", "deadline", "logged_arrival_at"}


# -- the working calendar -------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Working days and hours in local time, with holidays and rest days worked (调休)."""

    offset: timezone
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date]
    extra: frozenset[date]

    @property
    def _day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    @property
    def _week(self) -> timedelta:
        return self._day_length * len(self.days)

    @property
    def _last_special(self) -> date:
        return max(self.holidays | self.extra, default=date.min)

    def working(self, day: date) -> bool:
        return day not in self.holidays and (day in self.extra or day.isoweekday() in self.days)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, self.offset), datetime.combine(day, self.end, self.offset))

    def add(self, moment: datetime, hours: float) -> datetime:
        """``moment`` plus ``hours`` working hours; the calendar's end where it runs out."""
        if hours <= 0:
            return moment
        try:
            left = timedelta(hours=hours)
            cursor = moment.astimezone(self.offset)
            day = cursor.date()
            while True:
                if self.working(day):
                    begin, end = self._window(day)
                    begin = max(cursor, begin)
                    if begin < end:
                        if begin + left <= end:
                            return (begin + left).astimezone(moment.tzinfo)
                        left -= end - begin
                day += timedelta(days=1)
                if day > self._last_special and left > 2 * self._week:
                    # past every special date each week holds the same hours: skip whole weeks
                    weeks = left // self._week - 1
                    day += timedelta(weeks=weeks)
                    left -= self._week * weeks
                cursor = datetime.combine(day, time.min, self.offset)
        except OverflowError:
            return datetime.max.replace(tzinfo=timezone.utc)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from ``start`` to ``end`` (negative when ``end`` comes first)."""
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        day, last = start.astimezone(self.offset).date(), end.astimezone(self.offset).date()
        while day <= last:
            if self.working(day):
                begin, finish = self._window(day)
                low, high = max(begin, start), min(finish, end)
                if high > low:
                    total += high - low
            if day >= last:
                break
            day += timedelta(days=1)
            if day > self._last_special and (last - day).days > 14:
                weeks = (last - day).days // 7 - 1
                total += self._week * weeks
                day += timedelta(weeks=weeks)
        return total


_CALENDARS: dict[int, tuple[DomainConfig, Calendar]] = {}


def calendar(config: DomainConfig) -> Calendar:
    """The configuration's working calendar; ``ValueError`` naming the setting that is wrong."""
    cached = _CALENDARS.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    days = frozenset(config.working_days)
    if not days or not days <= set(range(1, 8)) or any(isinstance(d, bool) or not isinstance(d, int) for d in days):
        raise ValueError("DOMAIN working_days: ISO weekdays from 1 (Monday) to 7 (Sunday), at least one")
    try:
        start, end = (time.fromisoformat(str(t)) for t in config.working_day_hours)
    except (TypeError, ValueError):
        raise ValueError('DOMAIN working_day_hours: a start and an end, "HH:MM"') from None
    if not start < end:
        raise ValueError("DOMAIN working_day_hours: the working day starts before it ends")
    dates = {}
    for name in ("holidays", "extra_working_days"):
        try:
            dates[name] = frozenset(date.fromisoformat(str(d)) for d in getattr(config, name))
        except (TypeError, ValueError):
            raise ValueError(f"DOMAIN {name}: ISO dates (2026-10-01)") from None
    if not 0 <= config.sla_at_risk_fraction <= 1:
        raise ValueError("DOMAIN sla_at_risk_fraction: a fraction from 0 to 1")
    made = Calendar(timezone(timedelta(hours=config.local_utc_offset_hours)), days, start.replace(tzinfo=None),
                    end.replace(tzinfo=None), dates["holidays"], dates["extra_working_days"])
    _CALENDARS[id(config)] = (config, made)
    return made


# -- deadlines -------------------------------------------------------------------------------


def _zone_hours(config: DomainConfig, zone: str | None, urgency: str | None) -> float | None:
    table = config.sla_hours.get(zone or "", {})
    return table.get(urgency or "normal", table.get("normal"))


def deadline(config: DomainConfig, reported_at: datetime, zone: str | None, urgency: str | None,
             contract_hours: float | None) -> datetime:
    """When the site must be reached: the zone's hours (working hours in a working-hour
    zone) or the contract's, whichever falls first; the default where neither says."""
    zone_hours = _zone_hours(config, zone, urgency)
    due = []
    if zone_hours:
        working = (zone or "") in config.working_hour_zones
        due.append(calendar(config).add(reported_at, zone_hours) if working else later(reported_at, zone_hours))
    if contract_hours:
        due.append(later(reported_at, contract_hours))
    return min(due) if due else later(reported_at, config.default_response_hours)


def later(moment: datetime, hours: float) -> datetime:
    """``moment`` plus ``hours``, held to the calendar's ends.

    A time field holds any instant of the years 1 to 9999, and a contract's response
    hours any number: a ticket reported on 31 December 9999, or a contract promising
    10^14 hours, gets the last instant there is (the first, going back) instead of
    failing the push that made it.
    """
    try:
        due = moment + timedelta(hours=hours)
        due.astimezone(timezone.utc)  # in UTC too: 23:00 on 31 December 9999 at -05:00 is past it
        return due
    except OverflowError:
        return (datetime.max if hours > 0 else datetime.min).replace(tzinfo=timezone.utc)


def parse_time(value) -> datetime | None:
    """A stored time field as an aware instant (no offset: UTC); ``None`` when empty or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(moment: datetime | None) -> str | None:
    """A server-line time as stored: UTC, fixed width, so text order is time order."""
    return stored_text(moment) if moment is not None else None


def on_server_line(batch: "Batch", value, mutation: Mutation) -> datetime | None:
    """A device time a push carried, on the server's time line: less the skew measured for
    the pushing device (none for the server's own writes), and never after the arrival."""
    moment = parse_time(value)
    if moment is None:
        return None
    correction = 0
    if batch.device_clock is not None and node_of(mutation.hlc) != "server":
        correction = batch.device_clock.correction_ms
    now = datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc)
    try:
        moment -= timedelta(milliseconds=correction)
    except OverflowError:
        pass
    return min(moment, now)


# -- state -----------------------------------------------------------------------------------


def _state(config: DomainConfig, working: bool, now: datetime, start: datetime | None, due: datetime | None,
           done: datetime | None, finished: bool) -> str | None:
    if due is None:
        return None
    if done is not None:
        return "met" if done <= due else "missed"
    if finished:
        return "missed"
    if now > due:
        return "late"
    if start is not None and start < due:
        if working:
            cal = calendar(config)
            left, window = cal.between(now, due), cal.between(start, due)
        else:
            left, window = due - now, due - start
        if window > timedelta(0) and left < window * config.sla_at_risk_fraction:
            return "at_risk"
    return "on_time"


def reached(values: dict) -> datetime | None:
    """The first arrival on site, on the server's time line, from any record of it."""
    found = [t for t in (parse_time(values.get("arrived_at_server")), parse_time(values.get("logged_arrival_at")))
             if t is not None]
    return min(found) if found else None


def evaluate(config: DomainConfig, values: dict, now: datetime) -> dict:
    """The ticket's ``sla_state`` and ``answer_state`` as of ``now``."""
    status = values.get("status")
    if status == "cancelled" or values.get("deleted"):
        return {"sla_state": None, "answer_state": None}
    answer_due = parse_time(values.get("answer_deadline"))
    start = parse_time(values.get("reported_at"))
    if start is None and answer_due is not None:
        start = answer_due - timedelta(hours=config.answer_within_hours)
    finished = status in _FINISHED
    working = (values.get("zone") or "") in config.working_hour_zones
    sla_state = _state(config, working, now, start, parse_time(values.get("deadline")), reached(values), finished)
    answered = parse_time(values.get("answered_at"))
    if answered is None and status not in _UNANSWERED:
        answer_state = None  # answered before the server kept the time (a ticket older than this rule)
    else:
        answer_state = _state(config, False, now, start, answer_due, answered, False)
    return {"sla_state": sla_state, "answer_state": answer_state}


def _now(batch: "Batch") -> datetime:
    return datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc)


def contract_hours(batch: "Batch", values: dict) -> float | None:
    """The response hours of the ticket's contract, or failing that its equipment's."""
    contract_id = values.get("contract_id")
    if not contract_id:
        equipment = batch.lookup("equipment", values.get("equipment_id") or "")
        contract_id = equipment.values.get("contract_id") if equipment is not None else None
    contract = batch.lookup("contract", contract_id or "")
    return contract.values.get("response_hours") if contract is not None else None


def after_ticket(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation, writes: dict | None = None) -> None:
    """A change to what the deadlines or the states are computed from: compute them again,
    and write them with ``writes`` (the server's other writes to the ticket) at once."""
    writes = dict(writes or {})
    if _INPUTS.isdisjoint(merge.writes):
        if writes:
            batch.system_write("ticket", row_id, writes)
        return
    values = {**batch.states["ticket"][row_id].row.values, **writes}
    made = datetime.fromtimestamp(hlc.wall_of(mutation.hlc) / 1000, timezone.utc)
    start = parse_time(values.get("reported_at")) or made
    if not _DEADLINE_INPUTS.isdisjoint(merge.writes) and "deadline" not in mutation.fields:
        due = deadline(batch.config, start, values.get("zone"), values.get("urgency"), contract_hours(batch, values))
        writes["deadline"] = due.isoformat()
    if "reported_at" in merge.writes or not values.get("answer_deadline"):
        writes["answer_deadline"] = _text(later(start, batch.config.answer_within_hours))
    if "arrived_at" in merge.writes:
        writes["arrived_at_server"] = _text(on_server_line(batch, values.get("arrived_at"), mutation))
    if not values.get("answered_at") and values.get("status") not in _UNANSWERED | {"cancelled"}:
        writes["answered_at"] = _text(min(made, _now(batch)))
    refresh(batch, row_id, writes)


def after_work_log(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    """An arrival logged (maybe pushed days late): the earliest one counts for its ticket."""
    entry = batch.states["work_log"][row_id].row.values
    if entry.get("event") != "arrived" or "at" not in merge.writes:
        return
    ticket = batch.lookup("ticket", entry.get("ticket_id") or "")
    arrived = on_server_line(batch, entry.get("at"), mutation)
    if ticket is None or arrived is None:
        return
    known = parse_time(ticket.values.get("logged_arrival_at"))
    if known is None or arrived < known:
        refresh(batch, entry["ticket_id"], {"logged_arrival_at": _text(arrived)})


def refresh(batch: "Batch", ticket_id: str, writes: dict | None = None, now: datetime | None = None) -> bool:
    """Write the ticket's states as of ``now`` (with ``writes``) where they changed."""
    ticket = batch.lookup("ticket", ticket_id)
    if ticket is None:
        return False
    writes = dict(writes or {})
    values = {**ticket.values, **writes}
    if not values.get("answer_deadline") and (reported := parse_time(values.get("reported_at"))) is not None:
        writes["answer_deadline"] = values["answer_deadline"] = _text(later(reported, batch.config.answer_within_hours))
    writes.update(evaluate(batch.config, values, now or _now(batch)))
    changed = {k: v for k, v in writes.items() if ticket.values.get(k) != v}
    if changed:
        batch.system_write("ticket", ticket_id, changed)
    return bool(changed)


def evaluate_open(batch: "Batch", now: datetime | None = None) -> list[str]:
    """Re-evaluate every ticket whose state can move with time (and those never
    evaluated, as tickets older than this rule); return the ids whose state changed."""
    table = entity_table("ticket")
    query = (sa.select(table.c.id)
             .where(table.c.deleted.is_(False), table.c.status.is_distinct_from("cancelled"),
                    sa.or_(table.c.sla_state.is_(None), table.c.sla_state.in_(OPEN_STATES)))
             .order_by(table.c.id))
    ids = [row_id for (row_id,) in batch.conn.execute(query)]
    changed = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        batch.load("ticket", chunk)
        changed += [row_id for row_id in chunk if refresh(batch, row_id, now=now)]
    return changed


# -- head office's list ------------------------------------------------------------------------

#: the office's page of tickets: at most this many rows a page
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
_LISTED = ("id", "number", "status", "customer_id", "assignee_id", "zone", "urgency", "reported_at", "deadline",
           "answer_deadline", "answered_at", "arrived_at_server", "logged_arrival_at", "sla_state", "answer_state")


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def office_page(conn: sa.Connection, state: str | None, page: int, per_page: int, now: datetime) -> dict:
    """Tickets with an SLA state (one state, or all), oldest first: each with its deadlines,
    its first arrival, how late it is (``late`` now, or ``missed`` by its arrival) or how
    long is left (``on_time``, ``at_risk``)."""
    table = entity_table("ticket")
    where = [table.c.deleted.is_(False), table.c.sla_state.is_not(None)]
    if state is not None:
        where.append(table.c.sla_state == state)
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    query = (sa.select(*(table.c[name] for name in _LISTED)).where(*where).order_by(table.c.id)
             .limit(per_page).offset((page - 1) * per_page))
    tickets = []
    for row in conn.execute(query).mappings():
        values = dict(row)
        due, first = parse_time(values["deadline"]), reached(values)
        late = left = None
        if due is not None and values["sla_state"] == "late":
            late = _minutes(now - due)
        elif due is not None and values["sla_state"] == "missed" and first is not None:
            late = _minutes(first - due)
        elif due is not None and values["sla_state"] in ("on_time", "at_risk"):
            left = max(0, _minutes(due - now))
        tickets.append({**{k: values[k] for k in _LISTED if k not in ("arrived_at_server", "logged_arrival_at")},
                        "reached_at": _text(first), "late_minutes": late, "minutes_left": left})
    return {"tickets": tickets, "page": page, "per_page": per_page, "total": total}
