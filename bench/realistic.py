"""Field-service records as devices and head office really make them, seeded.

Benchmarks that measure bytes, compression, storage or report queries are only as
honest as their data. Rows here have:

* UUIDv7 ids as :func:`sync.ids.new_id` mints them — the same bit layout, the
  timestamp being the moment the row was born (a ticket's call, a movement's time) and
  the random bits drawn from the seed;
* Chinese customer names, addresses, contacts, equipment models, fault descriptions,
  diagnoses and actions of the lengths people type (:mod:`bench.words`);
* the fan-out of real work: a few customers own most of the equipment, some equipment
  breaks far more often than the rest, a ticket carries the work-log events its status
  implies, parts are used by popularity (a few parts most of the time), a returnable
  part consumed expects its old part back under the consumption's own id, and
  signatures, surveys and complaints follow the tickets that were finished;
* the server's own columns (human numbers, SLA deadlines and states from
  :mod:`server.domain.sla`, a signature's report hash from :mod:`sync.report`), so a
  report reads what the server would have written.

:class:`Generator` makes rows entity by entity, each from the rows made before it
(parts before tickets: a ticket's consumptions are drawn with it); ``count=None`` asks for the fan-out its parents imply (a ticket's work
logs, its signature). Everything is decided by the seed: two runs give the same rows.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from server.domain import sla
from server.domain.config import DomainConfig
from sync.entities import REPORT_FIELDS
from sync.registry import Entity, Field
from sync.report import REPORT_FORMAT, report_hash

from .words import Words

__all__ = ["Generator", "Made", "uuid7", "LOCAL", "END", "SPAN_DAYS"]

LOCAL = timezone(timedelta(hours=8))
#: the last moment the data covers, and how many days before it the data starts
END = datetime(2026, 11, 30, 18, 0, tzinfo=LOCAL)
SPAN_DAYS = 365
_DAY_MS = 86_400_000
_CONFIG = DomainConfig()
_ZONES = (("ring1", 10), ("ring2", 14), ("ring3", 16), ("nearby", 12), ("city", 22), ("suburb", 14), ("far", 12))
_OPEN_STATUSES = (("reported", 3), ("dispatched", 5), ("accepted", 4), ("travelling", 2), ("on_site", 4),
                  ("carried_back", 1), ("in_workshop", 1))
_RECENT_STATUSES = (("completed", 6), ("signed", 10), ("closed", 6), ("returned", 1), ("cancelled", 1))
_OLD_STATUSES = (("closed", 82), ("signed", 8), ("completed", 4), ("cancelled", 4), ("returned", 2))
_WORKED = frozenset({"on_site", "carried_back", "in_workshop", "returned", "completed", "signed", "closed"})
_FINISHED = frozenset({"completed", "signed", "closed", "returned"})
_SIGNED = frozenset({"signed", "closed"})
#: movements that are not part of a ticket's consumption, by weight
_OTHER_KINDS = (("issue", 45), ("receive", 25), ("transfer", 12), ("stocktake_adjustment", 8), ("write_off", 2),
                ("supplier_claim", 3))


def uuid7(millis: int, rng: random.Random) -> str:
    """A UUIDv7 laid out as :func:`sync.ids.new_id` lays it out, its random bits from ``rng``."""
    bits = rng.getrandbits(74)
    value = (millis << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62) | (bits & ((1 << 62) - 1))
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _text(millis: int) -> str:
    """A device's time as it sends it: local time with its offset, to the second."""
    return datetime.fromtimestamp(millis / 1000, LOCAL).isoformat(timespec="seconds")


def _server_text(moment: datetime | None) -> str | None:
    """A server-owned time as the server stores it (UTC, microseconds: text order is time order)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds") if moment is not None else None


@dataclass
class Made:
    """One row: its id, its field values, when it happened on the device (ms since the
    epoch) and how long after that the server received it (ms: most arrive within the
    minute, a device that was offline sends a past day's records days later)."""

    id: str
    data: dict[str, Any]
    at_ms: int
    delay_ms: int = 0
    #: the image a signature names (a stand-in of a few bytes: reports read its hash only)
    blob: bytes | None = None


@dataclass
class _Ticket:
    id: str
    status: str
    assignee: str
    customer: str
    reported_ms: int
    arrived_ms: int | None
    finished_ms: int | None
    category: str
    #: [(movement id, part id, qty)] consumed on it
    consumed: list[tuple[str, str, float]] = field(default_factory=list)
    signer: str = ""
    #: (report hash now, a hash of an earlier version if the signature went stale)
    hashes: tuple[str, str | None] | None = None


@dataclass
class _Part:
    id: str
    returnable: bool
    price: float


class _Weighted:
    """Ids to draw from with fixed weights (cumulative, so a draw is a bisection)."""

    def __init__(self):
        self.items: list[Any] = []
        self.cum: list[float] = []
        #: how many items a covering draw has handed out so far

    def add(self, item: Any, weight: float) -> None:
        self.items.append(item)
        self.cum.append((self.cum[-1] if self.cum else 0.0) + weight)

        self.covered = 0

    def __bool__(self) -> bool:
        return bool(self.items)

    def draw(self, rng: random.Random, *, cover: bool = False) -> Any:
        """One item by weight; with ``cover``, every item once first, in order."""
        if cover and self.covered < len(self.items):
            self.covered += 1
            return self.items[self.covered - 1]
        return rng.choices(self.items, cum_weights=self.cum)[0]


class Generator:
    """Rows for ``engineers`` (and the depots they draw from), seeded by ``seed``.

    ``shared`` names rows that already exist elsewhere (a fleet's common catalog):
    references to those entities point at them. ``cover``: every customer gets
    equipment and every piece of equipment a ticket (an engineer's scope holds only the
    customers and equipment of his tickets, so rows without one would never reach him).
    ``numbers``: put in every human number after the month (``T2611-f0070042``), so the
    rows of several generators loaded into one database keep their numbers unique.
    """

    def __init__(self, seed: int | str, engineers: list[str], *, depots: int = 1,
                 shared: dict[str, list[str]] | None = None, now: datetime = END, cover: bool = False,
                 numbers: str = ""):
        self.cover = cover
        self.number_tag = numbers
        self.rng = random.Random(f"fieldsync-bench:{seed}")
        self.words = Words(self.rng)
        self.engineers = list(engineers)
        self.now = now
        self.end_ms = int(now.timestamp() * 1000)
        self.start_ms = self.end_ms - SPAN_DAYS * _DAY_MS
        self.depot_names = [f"depot-{k + 1}" for k in range(depots)]
        self.engineer_depot = {e: self.depot_names[k % depots] for k, e in enumerate(self.engineers)}
        self.customers = _Weighted()
        self.customer_info: dict[str, tuple[str, str]] = {}  # id -> (zone, contact)
        self.contracts: dict[str, list[tuple[str, float | None]]] = {}  # customer -> [(contract, hours)]
        self.equipment = _Weighted()
        self.tickets: list[_Ticket] = []
        self.parts = _Weighted()
        self.vans: dict[str, str] = {}  # engineer -> van location id
        self.depots: dict[str, str] = {}  # depot name -> its main location id
        self.locations: list[str] = []
        self.requisitions: dict[str, list[str]] = {}  # engineer -> requisition ids
        self.returns: list[tuple[str, _Ticket, str, float, str]] = []  # (id, ticket, part, qty, status)
        self.counts: dict[str, int] = {}
        self._numbers: dict[str, int] = {}
        for part_id in (shared or {}).get("part", []):
            self.parts.add(_Part(part_id, False, 50.0), 1.0)

    # -- common draws -----------------------------------------------------------------------

    def _rr(self, start: int, stop: int | None = None) -> int:
        return self.words._rr(start, stop)

    def _id(self, millis: int) -> str:
        return uuid7(millis, self.rng)

    def _moment(self) -> int:
        """A working-hours moment in the span: most calls come 8:00–18:00 on weekdays."""
        while True:
            day = self._rr(SPAN_DAYS)
            base = self.start_ms + day * _DAY_MS
            weekday = datetime.fromtimestamp(base / 1000, LOCAL).isoweekday()
            if weekday > 5 and self.rng.random() < 0.6:
                continue
            local_midnight = base - (base + 8 * 3_600_000) % _DAY_MS
            hour = self.rng.choice((8, 9, 9, 10, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 19, 21))
            return local_midnight + hour * 3_600_000 + self._rr(3_600_000)

    def _delay(self) -> int:
        """How long after the fact the server got a record: 3 % days late (offline)."""
        if self.rng.random() < 0.03:
            return self._rr(_DAY_MS, 5 * _DAY_MS)
        return self._rr(200, 90_000)

    def _pareto(self) -> float:
        return self.rng.paretovariate(1.3)

    def _number(self, series: str, millis: int, width: int) -> str:
        period = datetime.fromtimestamp(millis / 1000, LOCAL).strftime("%y%m")
        key = f"{series}{period}"
        self._numbers[key] = self._numbers.get(key, 0) + 1
        return f"{series}{period}-{self.number_tag}{self._numbers[key]:0{width}d}"

    def _engineer(self) -> str:
        return self.engineers[self._rr(len(self.engineers))] if self.engineers else "nobody"

    # -- rows -----------------------------------------------------------------------------

    def rows(self, entity: Entity, count: int | None) -> Iterator[Made]:
        """``count`` rows of ``entity`` (``None``: as many as the rows made so far imply)."""
        make = getattr(self, f"_make_{entity.name}", None)
        made = make(count) if make is not None else self._generic(entity, count or 0)
        n = 0
        for row in made if count is None else itertools.islice(made, count):
            yield self._complete(entity, row)
            n += 1
        self.counts[entity.name] = self.counts.get(entity.name, 0) + n

    def _complete(self, entity: Entity, row: Made) -> Made:
        """Every field of the entity present (``None`` where not set), nothing else."""
        row.data = {f.name: row.data.get(f.name) for f in entity.fields}
        return row

    def _generic(self, entity: Entity, count: int) -> Iterator[Made]:
        """An entity this generator has no model of: values by each field's type."""
        for i in range(count):
            at = self._moment()
            yield Made(self._id(at), {f.name: self._value(f, i, at) for f in entity.fields}, at, self._delay())

    def _value(self, f: Field, i: int, at: int) -> Any:
        if f.choices:
            return f.choices[self._rr(len(f.choices))]
        if f.type == "ref":
            return self._engineer() if f.ref in ("user", None) else None
        if f.type == "time":
            return _text(at)
        if f.type == "real":
            return round(self.rng.uniform(0, 5000), 2)
        if f.type == "integer":
            return self._rr(1, 1000)
        if f.type == "boolean":
            return self.rng.random() < 0.2
        if f.type == "json":
            return {"note": self.words.note()}
        return self.words.note()[: f.max_length]

    def _make_customer(self, count: int | None) -> Iterator[Made]:
        for _ in range(count or 0):
            at = self.start_ms - self._rr(3 * 365) * _DAY_MS
            place = self.words.place()
            zone = self.rng.choices([z for z, _ in _ZONES], [w for _, w in _ZONES])[0]
            contact = self.words.contact()
            row = Made(self._id(at), {"name": self.words.customer(place), "address": self.words.address(place),
                                      "phone": self.words.phone(), "contact": contact, "zone": zone}, at, self._delay())
            self.customers.add(row.id, self._pareto())
            self.customer_info[row.id] = (zone, contact)
            yield row

    def _make_contract(self, count: int | None) -> Iterator[Made]:
        total = count if count is not None else len(self.customers.items) // 3
        for _ in range(total):
            if not self.customers:
                return
            customer = self.customers.draw(self.rng)
            starts = self.end_ms - self._rr(30, 3 * 365) * _DAY_MS
            ends = starts + self.rng.choice((365, 730, 1095)) * _DAY_MS
            hours = self.rng.choice((4.0, 8.0, 24.0, None))
            terms = "；".join(self.words.actions() for _ in range(self._rr(2, 6)))
            row = Made(self._id(starts), {
                "number": self._number("HT", starts, 4), "customer_id": customer, "starts_on": _text(starts),
                "ends_on": _text(ends), "response_hours": hours, "terms": f"年度维保服务，{terms}"}, starts, self._delay())
            self.contracts.setdefault(customer, []).append((row.id, hours))
            yield row

    def _make_equipment(self, count: int | None) -> Iterator[Made]:
        for _ in range(count or 0):
            if not self.customers:
                return
            customer = self.customers.draw(self.rng, cover=self.cover)
            installed = self.start_ms - self._rr(4 * 365) * _DAY_MS
            model = self.words.model()
            vehicle = "叉车" in model
            contract = None
            if customer in self.contracts and self.rng.random() < 0.6:
                contract = self.rng.choice(self.contracts[customer])[0]
            row = Made(self._id(installed), {
                "customer_id": customer, "model": model, "serial": self.words.serial(),
                "warranty_end": _text(installed + self.rng.choice((1, 2, 3)) * 365 * _DAY_MS),
                "run_hours": round(self.rng.uniform(50, 30_000), 1),
                "mileage_km": round(self.rng.uniform(100, 80_000), 1) if vehicle else None,
                "contract_id": contract}, installed, self._delay())
            self.equipment.add((row.id, customer, contract), self._pareto())
            yield row

    def _status(self, reported_ms: int) -> str:
        age_days = (self.end_ms - reported_ms) / _DAY_MS
        table = _OPEN_STATUSES if age_days < 2 else (_RECENT_STATUSES + _OPEN_STATUSES if age_days < 14
                                                     else _OLD_STATUSES)
        return self.rng.choices([s for s, _ in table], [w for _, w in table])[0]

    def _make_ticket(self, count: int | None) -> Iterator[Made]:
        for _ in range(count or 0):
            if not self.equipment:
                return
            equipment, customer, contract = self.equipment.draw(self.rng, cover=self.cover)
            yield self._ticket(equipment, customer, contract)

    def _ticket(self, equipment: str, customer: str, contract: str | None) -> Made:
        rng, words = self.rng, self.words
        reported = self._moment()
        status = self._status(reported)
        zone, contact = self.customer_info.get(customer, ("city", words.contact()))
        urgency = "emergency" if rng.random() < 0.15 else "normal"
        hours = dict(self.contracts.get(customer, [])).get(contract) if contract else None
        category = "D" if rng.random() < 0.03 else ("B" if contract else rng.choice(("A", "C", "C")))
        reported_at = datetime.fromtimestamp(reported / 1000, LOCAL)
        due = sla.deadline(_CONFIG, reported_at, zone, urgency, hours)
        window_ms = max(int((due - reported_at).total_seconds() * 1000), 3_600_000)
        answered = reported + self._rr(5, 180) * 60_000 if status != "reported" else None
        data: dict[str, Any] = {
            "number": self._number("T", reported, 5), "customer_id": customer, "equipment_id": equipment,
            "channel": rng.choice(("phone", "phone", "phone", "web", "email", "on_site")),
            "fault_description": words.fault(), "reported_at": _text(reported), "status": status,
            "assignee_id": self._engineer(), "urgency": urgency, "category": category, "deadline": due.isoformat(),
            "contract_id": contract, "zone": zone,
            "answer_deadline": _server_text(reported_at + timedelta(hours=_CONFIG.answer_within_hours)),
            "answered_at": _server_text(datetime.fromtimestamp(answered / 1000, timezone.utc)) if answered else None,
        }
        arrived = finished = None
        if status in _WORKED:
            # most reach the site within the window, one in ten after it
            share = rng.uniform(0.2, 0.95) if rng.random() < 0.9 else rng.uniform(1.05, 3.0)
            arrived = reported + int(window_ms * share)
            departed = arrived - self._rr(15, 120) * 60_000
            data.update(departed_at=_text(departed), arrived_at=_text(arrived),
                        arrived_at_server=_server_text(datetime.fromtimestamp(arrived / 1000, timezone.utc)),
                        logged_arrival_at=_server_text(datetime.fromtimestamp(arrived / 1000, timezone.utc)),
                        diagnosis_listen=words.listen(), diagnosis_look=words.look(), diagnosis_check=words.check(),
                        diagnosis=words.diagnosis(), cause=words.cause(),
                        run_hours_reading=round(rng.uniform(50, 30_000), 1))
        if status in _FINISHED:
            finished = arrived + self._rr(30, 8 * 60) * 60_000
            data.update(actions=words.actions(), result=words.result(), completed_at=_text(finished))
            if status == "closed":
                data["closed_at"] = _text(finished + self._rr(1, 10) * _DAY_MS)
        if status in ("carried_back", "in_workshop", "returned") or (status in _FINISHED and rng.random() < 0.03):
            data.update(carried_back=True, receipt_number=f"SJ{reported // 1000 % 10**8:08d}",
                        repair_card={"hours": round(rng.uniform(1, 12), 1), "notes": words.diagnosis()})
            if status == "returned":
                data["returned_at"] = _text((finished or reported) + self._rr(1, 6) * _DAY_MS)
        if status == "cancelled":
            data["cancel_reason"] = rng.choice(("客户已自行修复", "重复报修", "客户取消", "设备已报废"))
        data.update(sla.evaluate(_CONFIG, data, self.now))
        row = Made(self._id(reported), data, finished or arrived or reported, self._delay())
        ticket = _Ticket(row.id, status, data["assignee_id"], customer, reported, arrived, finished, category,
                         signer=contact)
        if status in _WORKED and category != "D":
            for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4))):
                if self.parts:
                    part = self.parts.draw(rng)
                    qty = float(rng.choice((1, 1, 1, 2, 4))) if rng.random() < 0.9 else round(rng.uniform(0.5, 20), 1)
                    ticket.consumed.append((self._id((arrived or reported) + 1_800_000), part.id, qty))
                    if part.returnable and status in _FINISHED:
                        self.returns.append((ticket.consumed[-1][0], ticket, part.id, qty,
                                             self._return_status(finished)))
        if status in _FINISHED:
            consumed = [{"part_id": p, "qty": q} for _, p, q in ticket.consumed]
            now_hash = report_hash(ticket.id, data, consumed)
            stale = None
            if rng.random() < 0.02:  # the report changed after signing
                stale = report_hash(ticket.id, {**data, "actions": words.actions()}, consumed)
            ticket.hashes = (now_hash, stale)
        self.tickets.append(ticket)
        return row

    def _return_status(self, finished: int) -> str:
        age = (self.end_ms - finished) / _DAY_MS
        if age < 3:
            return self.rng.choice(("expected", "collected"))
        if age < 20:
            return self.rng.choices(("expected", "collected", "received", "disposed"), (1, 2, 4, 3))[0]
        return self.rng.choices(("expected", "collected", "received", "disposed"), (1, 1, 5, 30))[0]

    def _make_work_log(self, count: int | None) -> Iterator[Made]:
        rng = self.rng
        for ticket in self.tickets:
            if ticket.arrived_ms is None:
                continue
            end = ticket.finished_ms or min(ticket.arrived_ms + 3 * 3_600_000, self.end_ms)
            events = [("departed", ticket.arrived_ms - self._rr(15, 120) * 60_000, None),
                      ("arrived", ticket.arrived_ms, None), ("work_started", ticket.arrived_ms + 300_000, None)]
            if rng.random() < 0.3:
                events.append(("note", ticket.arrived_ms + 600_000, None))
            if ticket.finished_ms is not None:
                events.append(("work_ended", end, round(max(end - ticket.arrived_ms, 0) / 3_600_000, 1)))
            for event, at, hours in events:
                yield Made(self._id(at), {
                    "ticket_id": ticket.id, "engineer_id": ticket.assignee, "event": event, "at": _text(at),
                    "category": ticket.category, "hours": hours,
                    "note": self.words.note() if event == "note" or rng.random() < 0.1 else None}, at, self._delay())

    def _make_part(self, count: int | None) -> Iterator[Made]:
        for i in range(count or 0):
            at = self.start_ms - self._rr(5 * 365) * _DAY_MS
            returnable = self.rng.random() < 0.35
            price = round(math.exp(self.rng.uniform(1.5, 8.5)), 2)
            row = Made(self._id(at), {
                "code": f"BJ-{self._rr(10, 99)}-{i:05d}", "name": self.words.part_name(),
                "spec": self.words.part_spec(), "unit": self.words.unit(), "returnable": returnable, "price": price},
                at, self._delay())
            # a few parts are used most of the time (Zipf by catalog position)
            self.parts.add(_Part(row.id, returnable, price), 1.0 / (1 + self._rr(len(self.parts.items) + 1)))
            yield row

    def _make_stock_location(self, count: int | None) -> Iterator[Made]:
        """Each engineer's van first (an engineer's scope of one location is his van),
        then each depot's main store, then service stations."""
        at = self.start_ms - 400 * _DAY_MS
        for engineer in self.engineers:
            row = Made(self._id(at), {"kind": "van", "name": self.words.location_name("van", self.words.person()),
                                      "engineer_id": engineer, "depot_id": self.engineer_depot[engineer],
                                      "crew": [engineer]}, at)
            self.vans[engineer] = row.id
            self.locations.append(row.id)
            yield row
        for depot in self.depot_names:
            row = Made(self._id(at), {"kind": "depot", "name": self.words.location_name("depot", self.words.place()[1]),
                                      "depot_id": depot}, at)
            self.depots[depot] = row.id
            self.locations.append(row.id)
            yield row
        for k in range(count if count is not None else 2 * len(self.depot_names)):
            depot = self.depot_names[k % len(self.depot_names)]
            row = Made(self._id(at), {"kind": "station", "name": self.words.location_name("station", self.words.place()[2]),
                                      "depot_id": depot}, at)
            self.locations.append(row.id)
            yield row

    def _depot_of(self, engineer: str) -> str | None:
        return self.depots.get(self.engineer_depot.get(engineer, ""))

    def _make_requisition(self, count: int | None) -> Iterator[Made]:
        total = count if count is not None else 40 * len(self.engineers)
        for _ in range(total):
            engineer = self._engineer()
            at = self._moment()
            lines = [{"part_id": self.parts.draw(self.rng).id, "qty": self.rng.choice((1, 2, 5, 10))}
                     for _ in range(self._rr(1, 6))] if self.parts else []
            status = self.rng.choices(("submitted", "approved", "refused"), (1, 12, 1))[0]
            row = Made(self._id(at), {
                "engineer_id": engineer, "depot_location_id": self._depot_of(engineer),
                "van_location_id": self.vans.get(engineer), "lines": lines, "reason": self.words.note(),
                "approved_by": "u-manager" if status == "approved" else None, "issued": status == "approved",
                "status": status}, at, self._delay())
            self.requisitions.setdefault(engineer, []).append(row.id)
            yield row

    def _make_stock_movement(self, count: int | None) -> Iterator[Made]:
        """Consumptions on tickets and their old parts' way back, interleaved with the
        depot's receipts, issues to vans, transfers, count adjustments and write-offs."""
        planned = list(self._ticket_movements())
        left = len(planned) if count is None else count
        others = [k for k, _ in _OTHER_KINDS if self._possible(k)]
        weights = [w for k, w in _OTHER_KINDS if k in others]
        for index, row in enumerate(planned):
            remaining = len(planned) - index
            while others and left > remaining and self.rng.random() >= remaining / left:
                yield self._other_movement(self.rng.choices(others, weights)[0])
                left -= 1
            if left <= 0:
                return
            yield row
            left -= 1
        while others and left > 0:
            yield self._other_movement(self.rng.choices(others, weights)[0])
            left -= 1

    def _possible(self, kind: str) -> bool:
        """An engineer's scope holds only movements through his van: no depot-only kinds."""
        if kind in ("receive", "supplier_claim"):
            return bool(self.depots) and bool(self.parts)
        return bool(self.vans) and bool(self.parts)

    def _ticket_movements(self) -> Iterator[Made]:
        returned = {r[0]: r for r in self.returns}
        for ticket in self.tickets:
            van = self.vans.get(ticket.assignee)
            for movement_id, part, qty in ticket.consumed:
                at = (ticket.arrived_ms or ticket.reported_ms) + 1_800_000
                yield Made(movement_id, {"kind": "consume", "part_id": part, "qty": qty, "condition": "new",
                                         "from_location_id": van, "ticket_id": ticket.id, "held_by": ticket.assignee,
                                         "occurred_at": _text(at)}, at, self._delay())
                back = returned.get(movement_id)
                if back is None:
                    continue
                steps = ("collected", "received", "disposed")
                status = back[4]
                if status in steps:
                    yield self._old_part(movement_id, ticket, part, qty, "old_part_collected", None, van, at + 600_000)
                if status in steps[1:]:
                    yield self._old_part(movement_id, ticket, part, qty, "old_part_received", van,
                                         self._depot_of(ticket.assignee), at + self._rr(1, 8) * _DAY_MS)

    def _old_part(self, return_id: str, ticket: _Ticket, part: str, qty: float, kind: str, src: str | None,
                  dst: str | None, at: int) -> Made:
        return Made(self._id(at), {"kind": kind, "part_id": part, "qty": qty, "condition": "old",
                                   "from_location_id": src, "to_location_id": dst, "ticket_id": ticket.id,
                                   "return_id": return_id, "held_by": ticket.assignee, "occurred_at": _text(at)},
                    at, self._delay())

    def _other_movement(self, kind: str) -> Made:
        rng = self.rng
        at = self._moment()
        engineer = self._engineer()
        van, depot = self.vans.get(engineer), self._depot_of(engineer)
        part = self.parts.draw(rng)
        qty = float(rng.choice((1, 2, 2, 5, 10, 20)))
        data: dict[str, Any] = {"kind": kind, "part_id": part.id, "qty": qty, "condition": "new",
                                "occurred_at": _text(at)}
        if kind == "receive":
            data.update(to_location_id=rng.choice(list(self.depots.values())), qty=qty * 10,
                        note=f"供应商到货，入库单RK{at // 1000 % 10**8:08d}")
        elif kind == "issue":
            reqs = self.requisitions.get(engineer)
            data.update(from_location_id=depot, to_location_id=van, held_by=engineer,
                        requisition_id=rng.choice(reqs) if reqs else None)
        elif kind == "transfer":
            other = self.vans.get(self._engineer())
            data.update(from_location_id=van, to_location_id=other if other != van else depot, held_by=engineer)
        elif kind == "stocktake_adjustment":
            data.update(qty=float(rng.choice((1, 1, 2))), note="盘点差异调整",
                        **({"from_location_id": van} if rng.random() < 0.6 else {"to_location_id": van}))
        elif kind == "write_off":
            data.update(from_location_id=van, held_by=engineer, qty=1.0,
                        note=rng.choice(("运输途中摔坏", "现场遗失", "受潮损坏，无法使用", "被盗，已报警")))
        else:  # supplier_claim: an old part sent back to its supplier
            data.update(condition="old", from_location_id=depot or rng.choice(list(self.depots.values())), qty=1.0,
                        note="二次索赔，寄回供应商")
        return Made(self._id(at), data, at, self._delay())

    def _make_old_part_return(self, count: int | None) -> Iterator[Made]:
        for return_id, ticket, part, qty, status in self.returns:
            at = (ticket.arrived_ms or ticket.reported_ms) + 1_800_000
            data: dict[str, Any] = {"ticket_id": ticket.id, "part_id": part, "qty": qty, "engineer_id": ticket.assignee,
                                    "depot_location_id": self._depot_of(ticket.assignee), "status": status}
            if status != "expected":
                data["collected_at"] = _text(at + 600_000)
            if status in ("received", "disposed"):
                data.update(received_at=_text(at + 3 * _DAY_MS), received_by="u-depot")
            if status == "disposed":
                disposition = self.rng.choices(("repair", "scrap", "supplier_claim"), (2, 5, 3))[0]
                data.update(disposition=disposition, disposed_at=_text(at + 10 * _DAY_MS))
                if disposition == "supplier_claim":
                    data["claim_outcome"] = self.rng.choice(("pending", "accepted", "accepted", "refused"))
            yield Made(return_id, data, at, self._delay())

    def _make_stock_count(self, count: int | None) -> Iterator[Made]:
        """Every location counted once a month (the last count may await approval)."""
        months = SPAN_DAYS // 30
        total = count if count is not None else len(self.locations) * months
        for k in range(total):
            if not self.locations or not self.parts:
                return
            location = self.locations[k % len(self.locations)]
            at = self.end_ms - (months - 1 - (k // len(self.locations)) % months) * 30 * _DAY_MS - self._rr(
                3 * _DAY_MS)
            latest = k // len(self.locations) % months == months - 1
            approved = not latest or self.rng.random() < 0.5
            lines = [{"part_id": self.parts.draw(self.rng).id, "condition": self.rng.choice(("new", "new", "old")),
                      "qty": float(self._rr(0, 40))} for _ in range(self._rr(5, 30))]
            yield Made(self._id(at), {
                "location_id": location, "counted_by": "u-depot", "counted_at": _text(at), "lines": lines,
                "note": "月度盘点", "approved": approved, "approved_by": "u-manager" if approved else None,
                "approved_at": _text(at + _DAY_MS) if approved else None,
                "as_of": _server_text(datetime.fromtimestamp(at / 1000, timezone.utc))}, at, self._delay())

    def _make_signature(self, count: int | None) -> Iterator[Made]:
        for ticket in self.tickets:
            if ticket.hashes is None or ticket.status not in _SIGNED | {"completed"}:
                continue
            now_hash, stale_hash = ticket.hashes
            at = (ticket.finished_ms or ticket.reported_ms) + 120_000
            if stale_hash is not None or ticket.status == "completed":
                # signed, then the report changed: the old signature is kept, stale
                yield self._signature(ticket, stale_hash or now_hash, at, stale=True)
                if ticket.status == "completed":
                    continue
                at += 3_600_000
            yield self._signature(ticket, now_hash, at, stale=False)

    def _signature(self, ticket: _Ticket, report: str, at: int, *, stale: bool) -> Made:
        image = f"签名:{ticket.signer}:{ticket.id}:{at}".encode()
        return Made(self._id(at), {"ticket_id": ticket.id, "blob_sha256": hashlib.sha256(image).hexdigest(),
                                   "signer_name": ticket.signer, "signed_at": _text(at), "report_hash": report,
                                   "stale": stale, "report_format": REPORT_FORMAT}, at, self._delay(), image)

    def _make_satisfaction_survey(self, count: int | None) -> Iterator[Made]:
        for ticket in self.tickets:
            if ticket.status not in _SIGNED or self.rng.random() >= 0.3:
                continue
            at = (ticket.finished_ms or ticket.reported_ms) + self._rr(1, 5) * _DAY_MS
            good = self.rng.random() < 0.88
            levels = [self.rng.choice((3, 4, 4)) if good else self.rng.choice((1, 2, 3)) for _ in range(4)]
            yield Made(self._id(at), {
                "ticket_id": ticket.id, "engineer_id": ticket.assignee, "attitude": levels[0], "skill": levels[1],
                "arrival_time": levels[2], "follow_through": levels[3], "comment": self.words.survey_comment() or None,
                "surveyed_at": _text(at)}, at, self._delay())

    def _make_complaint(self, count: int | None) -> Iterator[Made]:
        for ticket in self.tickets:
            if ticket.finished_ms is None or self.rng.random() >= 0.02:
                continue
            at = ticket.finished_ms + self._rr(1, 10) * _DAY_MS
            abroad = self.rng.random() < 0.05
            due = at + (_CONFIG.complaint_days_abroad if abroad else _CONFIG.complaint_days_domestic) * _DAY_MS
            resolved = due < self.end_ms and self.rng.random() < 0.85
            yield Made(self._id(at), {
                "number": self._number("C", at, 3), "ticket_id": ticket.id, "customer_id": ticket.customer,
                "engineer_id": ticket.assignee, "description": self.words.complaint(), "received_at": _text(at),
                "abroad": abroad, "deadline": _text(due), "status": "resolved" if resolved else "open",
                "service_fault": self.rng.random() < 0.6,
                "resolution": self.words.actions() if resolved else None,
                "escalated": not resolved and due < self.end_ms}, at, self._delay())

    def _make_charge(self, count: int | None) -> Iterator[Made]:
        for ticket in self.tickets:
            if ticket.category != "A" or ticket.finished_ms is None:
                continue
            at = ticket.finished_ms
            kind = self.rng.choice(("labour", "parts", "travel"))
            yield Made(self._id(at), {
                "ticket_id": ticket.id, "kind": kind, "amount": round(self.rng.uniform(80, 3000), 2),
                "description": self.words.actions(), "collected_on_site": self.rng.random() < 0.4,
                "paid": self.rng.random() < 0.8, "status": "approved"}, at, self._delay())
