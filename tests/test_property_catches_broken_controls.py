"""The department's controls, broken on purpose in the server, must fail the property
test within a short run with the invariant that models them (tests/control_invariants.py):
an approval that survives a change to what it covers, a consumption written off without
its old part, a count sheet that posts its difference twice."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from server.domain import stocktake, writeoff
from sync.ids import new_id
from sync.rules import approval
from tests.test_property_catches_broken_rules import SEARCH, SEED
from tests.test_property_sync import seeded, start_of_day

#: the real controls, which the broken ones call
OPEN_CONSUMPTIONS, SETTLE = writeoff.open_consumptions, stocktake._settle


def test_an_approval_that_stays_when_the_engineer_raises_what_it_covers_is_caught(monkeypatch):
    start_of_day()  # yesterday's approved requisitions, made by the sound rules
    # a covered value changed after approval is taken, and the approval stays in force
    monkeypatch.setattr(approval, "_void", lambda *args, **kw: None)
    with pytest.raises(AssertionError, match="an approval covers more than was approved"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)


def closed_without_the_old_part(conn, only, now):
    """Reconciliation that writes a belt off once the report is signed, whether or not its
    old part came back."""
    return [c for c in OPEN_CONSUMPTIONS(conn, only, now) if "signature" in c["waiting_for"]]


def test_a_consumption_written_off_without_its_old_part_is_caught(monkeypatch):
    monkeypatch.setattr(writeoff, "open_consumptions", closed_without_the_old_part)
    with pytest.raises(AssertionError, match="a consumption not closed by exactly its report and old part"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)


def settle_twice(batch, count_id, only):
    """Settling that posts every adjustment of the count twice."""
    write = batch.system_write

    def twice(entity, row_id, fields, *args, **kw):
        write(entity, row_id, fields, *args, **kw)
        if entity == "stock_movement" and fields.get("count_id") == count_id:
            write(entity, new_id(), dict(fields), *args, **kw)

    batch.system_write = twice
    try:
        SETTLE(batch, count_id, only)
    finally:
        del batch.system_write


def test_a_count_sheet_that_posts_its_adjustment_twice_is_caught(monkeypatch):
    monkeypatch.setattr(stocktake, "_settle", settle_twice)
    with pytest.raises(AssertionError, match="an approved count did not post its difference once"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)
