"""The benchmarks' data: realistic field-service rows (:mod:`bench.realistic`) in a shape.

The benchmarks need an engineer's scope of a given shape (tickets with their customers,
equipment and work logs, a part catalog, a van and its stock ledger). A :class:`Shape`
says how many rows of each entity, in load order; :mod:`bench.realistic` makes them as
devices and head office would (UUIDv7 ids, Chinese text of real lengths, the fan-out of
real work), deterministic for a seed. Entities it has no model of get values by each
field's type, so a new entity is benchmarked the day it lands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.registry import REGISTRY, Entity, Registry

from .realistic import Generator

__all__ = ["Dataset", "Rows", "Shape", "ENGINEER_SCOPE", "build"]


@dataclass(frozen=True)
class Shape:
    """How many rows of each entity, in load order (``None``: as many as the rows before
    imply, a ticket's work logs say)."""

    counts: tuple[tuple[str, int | None], ...]


#: An engineer with 5,000 tickets over 3,000 pieces of equipment of 1,500 customers, their
#: work logs, the catalog of 20,000 parts, his van and 50,000 stock movements (the parts
#: come first: a ticket's consumptions are drawn from the catalog with it).
ENGINEER_SCOPE = Shape(
    counts=(
        ("part", 20_000),
        ("customer", 1_500),
        ("equipment", 3_000),
        ("ticket", 5_000),
        ("work_log", None),
        ("stock_location", 1),
        ("stock_movement", 50_000),
    ),
)


@dataclass
class Rows:
    """The rows of one entity: ids and field values, in the registry's field order."""

    entity: Entity
    ids: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dataset:
    engineer_id: str
    rows: list[Rows]

    def __len__(self) -> int:
        return sum(len(r.ids) for r in self.rows)

    def by_entity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.entity.name] = counts.get(r.entity.name, 0) + len(r.ids)
        return counts


def build(shape: Shape, engineer_id: str, *, prefix: str = "b", seed: int = 7, registry: Registry = REGISTRY,
          shared: dict[str, list[str]] | None = None) -> Dataset:
    """Rows for ``shape`` in ``engineer_id``'s scope; ``prefix`` and ``seed`` pick the data
    (two builds that differ in either share no id; builds loaded into one database need
    distinct prefixes, which their human numbers carry).

    ``shared`` names rows that already exist on the server (a catalog shared by a
    fleet, say): references to those entities point at them. Every customer and piece
    of equipment built belongs to one of the engineer's tickets (else it would not be in
    his scope).
    """
    generator = Generator(f"{prefix}:{seed}", [engineer_id], shared=shared, cover=True, numbers=prefix)
    out: list[Rows] = []
    for name, count in shape.counts:
        entity = registry.get(name)
        if entity is None:
            continue
        rows = Rows(entity)
        for made in generator.rows(entity, count):
            rows.ids.append(made.id)
            rows.data.append(made.data)
        out.append(rows)
    return Dataset(engineer_id, out)
