"""Rows written and read back by the server's own reader and writer (server/rows.py),
which talk to the driver directly: each value comes back as the type it went in, on
SQLite (booleans stored as 0 and 1) and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timezone

from server import rows
from sync.registry import REGISTRY
from sync.rules import FieldClock, StoredRow


def _saved(engine, entity_name: str, row_id: str, values: dict, clock: dict) -> StoredRow:
    entity = REGISTRY.get(entity_name)
    state = rows.RowState(StoredRow(dict(values), dict(clock), 1), exists=False, dirty=True,
                          meta={"device_time": datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc), "skew_ms": None,
                                "author_device": "d-1"})
    with engine.begin() as conn:
        rows.save(conn, entity, {row_id: state}, datetime.now(timezone.utc))
    with engine.connect() as conn:
        return rows.load(conn, entity, [row_id])[row_id]


def test_every_type_reads_back_as_it_was_written(engine):
    stamp = FieldClock("001795405661505:00000:d-1", 1)
    values = {"ticket_id": "t-1", "carried_back": None, "repair_card": {"hours": 1.5, "parts": ["belt"]}}
    part = _saved(engine, "part", "p-1", {"code": "B-7", "returnable": True, "price": 12.5}, {"code": stamp})
    assert part.values == {"code": "B-7", "name": None, "spec": None, "unit": None, "returnable": True, "price": 12.5}
    assert type(part.values["returnable"]) is bool
    ticket = _saved(engine, "ticket", "t-1", {"carried_back": False, "repair_card": values["repair_card"],
                                                "run_hours_reading": 2226.0}, {"repair_card": stamp})
    assert ticket.values["carried_back"] is False
    assert ticket.values["repair_card"] == {"hours": 1.5, "parts": ["belt"]}
    assert ticket.values["run_hours_reading"] == 2226.0
    assert ticket.clock == {"repair_card": stamp} and ticket.version == 1 and ticket.deleted is False


def test_an_update_rewrites_the_row_in_place(engine):
    stamp, later = FieldClock("001795405661505:00000:d-1", 1), FieldClock("001795405661999:00000:d-2", 2)
    entity = REGISTRY.get("part")
    stored = _saved(engine, "part", "p-2", {"code": "B-7", "returnable": True}, {"code": stamp})
    stored.values.update(returnable=False, unit="pc")
    stored.clock["returnable"] = later
    stored.version, stored.deleted = 2, True
    with engine.begin() as conn:
        rows.save(conn, entity, {"p-2": rows.RowState(stored, exists=True, dirty=True)}, datetime.now(timezone.utc))
    with engine.connect() as conn:
        again = rows.load(conn, entity, ["p-2", "p-missing"])
    assert list(again) == ["p-2"]
    assert again["p-2"].values["returnable"] is False and again["p-2"].values["unit"] == "pc"
    assert again["p-2"].clock == {"code": stamp, "returnable": later}
    assert (again["p-2"].version, again["p-2"].deleted) == (2, True)


def test_public_data_is_every_field_in_the_registry_order():
    entity = REGISTRY.get("part")
    row = StoredRow({"price": 3.0, "code": "B-7"}, {}, 1)
    data = rows.public_data(entity, row)
    assert list(data) == list(entity.field_names)
    assert data == {"code": "B-7", "name": None, "spec": None, "unit": None, "returnable": None, "price": 3.0}
