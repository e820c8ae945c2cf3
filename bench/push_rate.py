"""Benchmark 3: mutations per second applied by the server, on SQLite and on PostgreSQL.

Change-sets of 500 mixed mutations, as the desk sends them during a working day:
new customers with their equipment and tickets, office edits of existing tickets
(urgency, deadline), reassignments (which move rows between engineers' scopes),
customer and equipment edits, and a few deletes. Each is applied by
:func:`server.push.apply_push` in-process — the whole server path (validation, rights,
merge, rows, log, scopes, the change-set record) without the HTTP hop, which the fleet
benchmark measures. The server already holds 20 engineers' tickets to edit.

Then the same mix in change-sets of 20, an engineer's sync after a visit: the time one
takes is how long a push holds the log's lock (docs/operations.md sizes a database by it).
"""

from __future__ import annotations

import random
from collections import Counter

from server.db import create_schema, make_engine
from server.push import Caller, apply_push
from sync import hlc
from sync.registry import REGISTRY

from . import dataset, load, servers
from .report import Row, Section
from .stats import median, spread, stopwatch

__all__ = ["run"]

CHANGESET = 500
#: a small push, timed whole: the per-change-set cost shows in it
SMALL = 20
SMALL_CHANGESETS = 40
TARGET_SQLITE = 5_000
ENGINEERS = [f"u-eng-{k}" for k in range(20)]
BASE = dataset.Shape(counts=(("customer", 50), ("equipment", 100), ("ticket", 100)))
DESK = Caller("u-desk", "desk", "d-u-desk")
_WARMUP = 2


def run(runs: int) -> list[Section]:
    backends = [("SQLite", servers.sqlite_database)]
    if servers.postgres_available():
        backends.append(("PostgreSQL", servers.postgres_database))
    section = Section("3 push")
    for label, make_database in backends:
        with make_database("push") as url:
            rates, small_ms, outcomes = _measure(url, changesets=_WARMUP + 2 * max(runs, 1))
        target = f"≥ {TARGET_SQLITE:,}/s" if label == "SQLite" else ""
        met = median(rates) >= TARGET_SQLITE if label == "SQLite" else None
        section.rows.append(Row(f"mutations/s applied, {label}", f"{median(rates):,.0f}", target, met, spread(rates)))
        section.rows.append(Row(f"ms per {SMALL}-mutation push, {label}", f"{median(small_ms):.1f}", "", None,
                                spread(small_ms)))
        section.notes.append(f"{label}: outcomes {dict(outcomes)}.")
    section.notes.append(f"Change-sets of {CHANGESET} mutations by the desk: 20% new rows (customer, equipment, "
                         "ticket), 40% ticket edits, 10% reassignments, 26% customer and equipment edits, 4% deletes; "
                         f"{_WARMUP} warm-up change-sets, then one figure per change-set. Then "
                         f"{SMALL_CHANGESETS} change-sets of {SMALL} of the same mix, each timed whole.")
    return [section]


def _measure(url: str, changesets: int) -> tuple[list[float], list[float], Counter]:
    """Mutations/s of each big change-set, and milliseconds of each small one."""
    engine = make_engine(url)
    try:
        create_schema(engine)
        load.add_people(engine, ENGINEERS)
        pool = _Pool()
        for k, engineer in enumerate(ENGINEERS):
            data = dataset.build(BASE, engineer, prefix=f"p{k}", seed=k)
            load.load_dataset(engine, data)
            pool.add(data)
        outcomes: Counter = Counter()
        rates = [CHANGESET / s for s in _apply(engine, pool, changesets, CHANGESET, outcomes)]
        small_ms = [1000 * s for s in _apply(engine, pool, SMALL_CHANGESETS, SMALL, outcomes)]
        rejected = sum(n for status, n in outcomes.items() if status.startswith("rejected"))
        if rejected:
            raise RuntimeError(f"{rejected} mutations were rejected: {dict(outcomes)}")
        return rates, small_ms, outcomes
    finally:
        engine.dispose()


def _apply(engine, pool: "_Pool", changesets: int, size: int, outcomes: Counter) -> list[float]:
    """Seconds to apply each of ``changesets`` change-sets of ``size`` (warm-ups left out)."""
    seconds = []
    for index in range(changesets):
        payload = pool.changeset(size)
        with stopwatch() as elapsed:
            answer = apply_push(engine, REGISTRY, DESK, payload)
        outcomes.update(r["status"] if r["status"] != "rejected" else f"rejected:{r['code']}"
                        for r in answer["results"])
        pool.learn(payload, answer)
        if index >= _WARMUP:
            seconds.append(elapsed[0])
    return seconds


class _Pool:
    """Rows the server holds, and the desk's change-sets over them."""

    def __init__(self) -> None:
        self.rng = random.Random(11)
        self.clock = hlc.Clock(DESK.device_id)
        self.tickets: list[str] = []
        self.customers: list[str] = []
        self.equipment: list[str] = []
        #: the version the desk last saw of each row: its edits' base_version
        self.versions: dict[str, int] = {}
        self.made = 0

    def add(self, data: dataset.Dataset) -> None:
        for part in data.rows:
            self.versions.update(dict.fromkeys(part.ids, 1))
            getattr(self, {"ticket": "tickets", "customer": "customers", "equipment": "equipment"}[part.entity.name]) \
                .extend(part.ids)

    def changeset(self, size: int) -> dict:
        index = self.made
        self.made += 1
        mutations: list[dict] = []
        while len(mutations) < size:
            roll = self.rng.random()
            if roll < 0.20:
                mutations += self._new_ticket(index, len(mutations))
            elif roll < 0.60:
                mutations.append(self._edit("ticket", self.rng.choice(self.tickets), self._office_edit()))
            elif roll < 0.70:
                mutations.append(self._edit("ticket", self.rng.choice(self.tickets),
                                            {"assignee_id": self.rng.choice(ENGINEERS)}))
            elif roll < 0.83:
                mutations.append(self._edit("customer", self.rng.choice(self.customers),
                                            {"phone": f"010-{self.rng.randrange(10**7):07d}"}))
            elif roll < 0.96:
                mutations.append(self._edit("equipment", self.rng.choice(self.equipment),
                                            {"run_hours": round(self.rng.uniform(0, 9000), 1)}))
            else:
                mutations.append(self._mutation("equipment", self.equipment.pop(), "delete", {}))
        return {"changeset_id": f"bench-cs-{index}", "device_id": DESK.device_id, "schema_version": 1,
                "sent_at_ms": hlc.now_ms(), "mutations": mutations[:size]}

    def learn(self, payload: dict, answer: dict) -> None:
        """The versions the answer reports, as a desk that pulls would know them."""
        row_of = {m["mutation_id"]: m["id"] for m in payload["mutations"]}
        for result in answer["results"]:
            if result.get("version"):
                self.versions[row_of[result["mutation_id"]]] = result["version"]

    def _office_edit(self) -> dict:
        if self.rng.random() < 0.5:
            return {"urgency": self.rng.choice(("emergency", "normal"))}
        return {"deadline": f"2026-12-{self.rng.randrange(1, 29):02d}T18:00:00+08:00"}

    def _new_ticket(self, index: int, n: int) -> list[dict]:
        customer, equipment, ticket = (f"n{index}-{n}-{kind}" for kind in ("c", "e", "t"))
        self.customers.append(customer)
        self.equipment.append(equipment)
        self.tickets.append(ticket)
        return [
            self._mutation("customer", customer, "insert", {"name": "Huaxin Printing Co.", "phone": "010-6555-0101",
                                                             "zone": "ring2", "address": "12 Xinyuan Rd"}),
            self._mutation("equipment", equipment, "insert", {"customer_id": customer, "model": "HX-200",
                                                               "serial": f"SN{index}{n}", "run_hours": 1200.0}),
            self._mutation("ticket", ticket, "insert", {
                "customer_id": customer, "equipment_id": equipment, "channel": "phone", "status": "dispatched",
                "assignee_id": self.rng.choice(ENGINEERS), "urgency": "normal",
                "fault_description": "Unit stops after ten minutes; error E07.",
                "reported_at": "2026-11-20T09:15:00+08:00"}),
        ]

    def _edit(self, entity: str, row_id: str, fields: dict) -> dict:
        return self._mutation(entity, row_id, "update", fields)

    def _mutation(self, entity: str, row_id: str, op: str, fields: dict) -> dict:
        return {"mutation_id": f"m-{row_id}-{self.rng.getrandbits(48):x}", "entity": entity, "id": row_id, "op": op,
                "fields": fields, "hlc": str(self.clock.tick()), "base_version": self.versions.get(row_id)}
