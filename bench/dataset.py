"""Synthetic field-service data, generated from whatever entities the registry has.

The benchmarks need an engineer's scope of a given shape (tickets with their customers
and equipment, a part catalog, a stock ledger). The registry grows while the project
does, so rows are built from each entity's declared fields rather than from a fixed
list: a new field or entity is benchmarked the day it lands. When an entity the shape
asks for does not exist yet (``part``, ``stock_movement``), rows of a stand-in entity
take its place so that the row counts stay the same; :attr:`Dataset.stand_ins` says
which, and RESULTS.md reports it.

Values are deterministic (a seeded generator), sized like real data, and always within
the field's type, length and choices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sync.registry import REGISTRY, Entity, Field, Registry

__all__ = ["Dataset", "Rows", "Shape", "ENGINEER_SCOPE", "build"]


@dataclass(frozen=True)
class Shape:
    """How many rows of each entity, in load order; ``stand_in`` replaces a missing entity."""

    counts: tuple[tuple[str, int], ...]
    stand_in: tuple[tuple[str, str], ...] = ()
    #: scope key that stand-in rows are logged under: ``"catalog"`` or ``"engineer"``
    stand_in_scope: tuple[tuple[str, str], ...] = ()


#: Issue 7's engineer: 5,000 tickets with customers and equipment, a van, 20,000 parts
#: and 50,000 stock movements.
ENGINEER_SCOPE = Shape(
    counts=(
        ("customer", 2_500),
        ("equipment", 5_000),
        ("ticket", 5_000),
        ("part", 20_000),
        ("stock_location", 1),
        ("stock_movement", 50_000),
    ),
    stand_in=(("part", "customer"), ("stock_movement", "equipment")),
    stand_in_scope=(("part", "catalog"), ("stock_movement", "engineer")),
)

_SAMPLES = {
    "name": ("Huaxin Printing Co.", "Beiyuan Cold Storage", "Jinqiao Hospital", "Dongfang Logistics"),
    "address": ("12 Xinyuan Rd, Chaoyang", "88 Beiyuan Rd, Changping", "3 Jinqiao St, Dongcheng"),
    "phone": ("010-6555-0101", "010-6555-0202", "139-1000-2233"),
    "contact": ("Mr. Liu", "Ms. Sun", "Dr. Ma"),
    "zone": ("ring1", "ring2", "nearby", "far"),
    "model": ("HX-200", "HX-310", "BY-7", "JQ-55A"),
    "fault_description": ("Unit stops after ten minutes; error E07 on the panel, customer heard a click.",),
    "diagnosis": ("Worn drive belt and a loose connector on the controller board.",),
    "actions": ("Replaced the belt, reseated the connector, ran the unit for 30 minutes.",),
    "unit": ("pcs", "m", "set"),
}


@dataclass
class Rows:
    """The rows of one entity: ids and field values, in the registry's field order."""

    entity: Entity
    ids: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    #: logged under this scope key instead of the server's own (stand-in rows only)
    forced_key: str | None = None


@dataclass
class Dataset:
    engineer_id: str
    rows: list[Rows]
    #: ``{wanted entity: entity used in its place}``
    stand_ins: dict[str, str]

    def __len__(self) -> int:
        return sum(len(r.ids) for r in self.rows)

    def by_entity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.entity.name] = counts.get(r.entity.name, 0) + len(r.ids)
        return counts


def build(shape: Shape, engineer_id: str, *, prefix: str = "b", seed: int = 7, registry: Registry = REGISTRY,
          shared: dict[str, list[str]] | None = None) -> Dataset:
    """Rows for ``shape``, owned by ``engineer_id``; ids start with ``prefix``.

    ``shared`` names rows that already exist on the server (a catalog shared by a
    fleet, say): references to those entities point at them.
    """
    rng = random.Random(seed)
    substitutes = dict(shape.stand_in)
    forced = dict(shape.stand_in_scope)
    made: dict[str, list[str]] = {k: list(v) for k, v in (shared or {}).items()}
    out: list[Rows] = []
    stand_ins: dict[str, str] = {}
    for wanted, count in shape.counts:
        name = wanted
        if wanted not in registry:
            name = substitutes.get(wanted)
            if name is None or name not in registry:
                continue
            stand_ins[wanted] = name
        entity = registry.get(name)
        rows = Rows(entity)
        if wanted != name:
            rows.forced_key = "catalog" if forced.get(wanted) == "catalog" else f"engineer:{engineer_id}"
        for i in range(count):
            row_id = f"{prefix}-{wanted}-{i:06d}"
            rows.ids.append(row_id)
            rows.data.append({f.name: _value(f, i, rng, made, engineer_id) for f in entity.fields})
        if wanted == name:
            made.setdefault(name, []).extend(rows.ids)
        out.append(rows)
    return Dataset(engineer_id, out, stand_ins)


def _value(f: Field, i: int, rng: random.Random, made: dict[str, list[str]], engineer_id: str) -> Any:
    choices = getattr(f, "choices", None)
    if choices:
        return choices[i % len(choices)]
    kind = f.type
    if kind == "ref":
        if f.ref in made and made[f.ref]:
            pool = made[f.ref]
            return pool[i % len(pool)]
        if f.ref in (None, "user") or f.name in ("assignee_id", "engineer_id", "held_by"):
            return engineer_id
        return None
    if kind == "time":
        return f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{8 + i % 10:02d}:{i % 60:02d}:00+08:00"
    if kind == "real":
        return round(rng.uniform(0, 5000), 2)
    if kind == "integer":
        return rng.randrange(1, 1000)
    if kind == "boolean":
        return i % 5 == 0
    if kind == "json":
        return {"hours": round(rng.uniform(0.5, 8), 1), "notes": "checked"}
    samples = _SAMPLES.get(f.name)
    text = samples[i % len(samples)] if samples else f"{f.name.replace('_', ' ')} {i}"
    return text[: f.max_length]
