"""A head office's year of records in PostgreSQL, fast: what the report benchmark reads.

Issue 18's reports are measured on 100,000 tickets and 1,000,000 stock movements with
their work logs, signatures, surveys, complaints, counts and old-part returns in the
proportions :mod:`bench.realistic` gives them. Pushing that through the merge would
take hours, and row-by-row inserts most of an hour, so the rows go in with ``COPY``,
one stream per table, into the schema the migrations made (``create_schema``): every
column the server keeps, its own included — human numbers, SLA deadlines and states,
signatures with their report hashes (and their images in ``blobs``, which the "current
signature" rule joins), the device time and when the server received each row (a few
days late for records of a device that was offline).

The change log is not filled: no report reads it, and a pull is not what is measured.
The tables the database keeps by triggers (the stock balance, the open consumptions)
are computed once after the rows are in, by the migrations' own backfills, with the
triggers off while the rows stream in: a million movements through row triggers took
over half an hour, the backfills take seconds.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import sqlalchemy as sa

from server import auth
from sync.registry import REGISTRY, Entity

from .realistic import Generator, Made

__all__ = ["OfficeSize", "Loaded", "fill", "MANAGER_TOKEN"]

MANAGER_TOKEN = "tok-u-manager"
_LOADER_HLC = "2026-11-30T10:00:00.000Z-0000-bench-loader"


@dataclass(frozen=True)
class OfficeSize:
    """How big the office is; the rest follows from the tickets (issue 18: 100,000 and
    1,000,000 movements; a test loads 200)."""

    tickets: int = 100_000
    movements: int = 1_000_000

    @property
    def engineers(self) -> int:
        return max(2, self.tickets // 1_000)

    @property
    def depots(self) -> int:
        return max(1, self.engineers // 20)

    def shape(self) -> tuple[tuple[str, int | None], ...]:
        """Entities in load order (``None``: as many as the rows before imply)."""
        return (
            ("part", max(50, self.tickets // 20)),
            ("customer", max(20, self.tickets // 5)),
            ("contract", None),
            ("equipment", max(40, self.tickets // 2)),
            ("stock_location", None),
            ("requisition", None),
            ("ticket", self.tickets),
            ("work_log", None),
            ("stock_movement", self.movements),
            ("old_part_return", None),
            ("stock_count", None),
            ("signature", None),
            ("satisfaction_survey", None),
            ("complaint", None),
            ("charge", None),
        )


@dataclass
class Loaded:
    """What went in: rows per table, the people, and the seconds it took."""

    counts: dict[str, int] = field(default_factory=dict)
    engineers: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fill(engine: sa.Engine, size: OfficeSize = OfficeSize(), *, seed: int = 18) -> Loaded:
    """Load a head office of ``size`` into ``engine``'s (empty, migrated) PostgreSQL schema."""
    started = datetime.now(timezone.utc)
    engineers = [f"u-e{k:03d}" for k in range(size.engineers)]
    generator = Generator(seed, engineers, depots=size.depots)
    loaded = Loaded(engineers=engineers)
    _people(engine, engineers, generator)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers: derived below
            images: list[tuple] = []
            for name, count in size.shape():
                entity = REGISTRY.get(name)
                loaded.counts[name] = _copy(cursor, entity, generator.rows(entity, count), images)
            with cursor.copy("COPY blobs (sha256, size, content_type, data, created_at, device_id) FROM STDIN") as copy:
                for row in images:
                    copy.write_row(row)
            loaded.counts["blobs"] = len(images)
            for statement in _DERIVED:
                cursor.execute(statement)
        raw.commit()
        with raw.cursor() as cursor:
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    loaded.seconds = (datetime.now(timezone.utc) - started).total_seconds()
    return loaded


def _derived() -> list[str]:
    """The statements that fill what the triggers keep, as the migrations fill it."""
    balance = importlib.import_module("server.migrations.versions.0015_stock_balance")
    open_ = importlib.import_module("server.migrations.versions.0017_open_consumption")
    return ["DELETE FROM stock_balance", balance.BACKFILL, "DELETE FROM open_consumption",
            f"INSERT INTO open_consumption (movement_id) SELECT m.id FROM stock_movement m WHERE {open_.RULE}"]


_DERIVED = _derived()


def _people(engine: sa.Engine, engineers: list[str], generator: Generator) -> None:
    """The engineers (each with the depot he draws from), the desk, a manager and a depot
    keeper per depot, one device each; the manager's token is :data:`MANAGER_TOKEN`."""
    with engine.begin() as conn:
        staff = [(e, "engineer", generator.engineer_depot[e]) for e in engineers]
        staff += [("u-desk", "desk", None), ("u-manager", "manager", None), ("u-depot", "depot", "depot-1")]
        staff += [(f"u-depot-{k + 1}", "depot", depot) for k, depot in enumerate(generator.depot_names)]
        for user_id, role, depot in staff:
            auth.add_user(conn, generator.words.person(), role, user_id=user_id, depot_id=depot)
            auth.add_device(conn, user_id, "bench", device_id=f"d-{user_id}", token=f"tok-{user_id}")


def _copy(cursor, entity: Entity, rows, images: list[tuple]) -> int:
    """Stream ``rows`` into the entity's table; collect the images signatures name."""
    names = [f.name for f in entity.fields]
    json_fields = {f.name for f in entity.fields if f.type == "json"}
    columns = ", ".join(f'"{c}"' for c in ["id", *names, "version", "deleted", "clock", "created_at", "updated_at",
                                           "device_time", "author_device"])
    n = 0
    with cursor.copy(f'COPY "{entity.name}" ({columns}) FROM STDIN') as copy:
        for made in rows:
            copy.write_row(_row(made, names, json_fields))
            if made.blob is not None:
                images.append((made.data["blob_sha256"], len(made.blob), "image/png", made.blob, _received(made),
                               None))
            n += 1
    return n


def _received(made: Made) -> datetime:
    return datetime.fromtimestamp((made.at_ms + made.delay_ms) / 1000, timezone.utc)


def _row(made: Made, names: list[str], json_fields: set[str]) -> tuple:
    data = made.data
    values = [orjson.dumps(data[n]).decode() if n in json_fields and data[n] is not None else data[n] for n in names]
    clock = orjson.dumps({n: [_LOADER_HLC, 1] for n in names if data[n] is not None}).decode()
    received = _received(made)
    device_time = datetime.fromtimestamp(made.at_ms / 1000, timezone.utc)
    return (made.id, *values, 1, False, clock, received, received, device_time, "bench-loader")
