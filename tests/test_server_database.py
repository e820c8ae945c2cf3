"""Each example of the property test starts its day from the same server state, on SQLite
and on PostgreSQL, whatever the example before it left behind (tests/server_database.py)."""

from __future__ import annotations

import shutil

import sqlalchemy as sa

from server.apply import Caller
from server.db import make_engine
from server.push import apply_push
from server.tables import audit, metadata
from sync import hlc
from sync.registry import REGISTRY
from tests.faults import scratch_dir
from tests.test_property_sync import start_of_day


def everything(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every server table, sorted."""
    with engine.connect() as conn:
        return {table.name: sorted(tuple(map(repr, row)) for row in conn.execute(sa.select(table)))
                for table in metadata.sorted_tables}


def desk_records_a_customer(engine: sa.Engine, n: int) -> int:
    """The desk's push of a new customer (上海市浦东新区); the audit number its entry got."""
    clock = hlc.Clock("d-desk")
    apply_push(engine, REGISTRY, Caller("u-desk", "desk", "d-desk"), {
        "changeset_id": f"cs-pudong-{n}", "device_id": "d-desk", "schema_version": 1, "mutations": [{
            "mutation_id": f"m-pudong-{n}", "entity": "customer", "id": "c-pudong", "op": "insert",
            "fields": {"name": "浦东冷链物流", "zone": "ring2", "phone": "021-5888-0101",
                       "address": "上海市浦东新区张江路88号"},
            "hlc": str(clock.tick()), "base_version": None}]})
    with engine.connect() as conn:
        return conn.execute(sa.select(audit.c.id).where(audit.c.mutation_id == f"m-pudong-{n}")).scalar_one()


def test_each_example_starts_from_the_days_start_whatever_the_last_one_wrote():
    morning = start_of_day()
    where = scratch_dir("fieldsync-server-database-")
    try:
        engine = make_engine(morning.server.fresh(where))
        days_start = everything(engine)
        assert days_start["change_log"] and days_start["changesets"], "the day's start holds yesterday's work"
        first = desk_records_a_customer(engine, 1)
        assert everything(engine) != days_start
        engine.dispose()  # the example ends

        engine = make_engine(morning.server.fresh(where))
        assert everything(engine) == days_start
        # the audit numbers its entries on from where the day's start left them, each example alike
        assert desk_records_a_customer(engine, 2) == first
        engine.dispose()
    finally:
        shutil.rmtree(where, ignore_errors=True)
