"""The property test is worth its minutes only if it fails when sync is wrong: break a
rule on purpose and it must find a counterexample within a short run."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from sync.client import Replica
from sync.rules import lww
from sync.rules.base import APPLIED, FieldClock, Merge
from tests.conftest import PG_URL
from tests.test_property_sync import FieldWork, machine_settings

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="drives the SQLite-only property test")

#: a short search, no shrinking: finding any counterexample is the point
SEARCH = settings(machine_settings(60), phases=[Phase.generate], database=None)


def first_writer_wins(stored, mutation, version):
    """A broken merge: a field once written keeps its value; later edits vanish, unrecorded."""
    writes = {k: v for k, v in mutation.fields.items() if stored.values.get(k) is None}
    return Merge(APPLIED, writes=writes, clock={k: FieldClock(mutation.hlc, version) for k in writes})


def test_a_merge_that_lets_the_first_writer_win_is_caught(monkeypatch):
    monkeypatch.setattr(lww, "_update", first_writer_wins)
    with pytest.raises(AssertionError, match="last writer did not win|acknowledged writes lost"):
        run_state_machine_as_test(FieldWork, settings=SEARCH)


def test_a_device_that_drops_its_conflict_notes_is_caught(monkeypatch):
    monkeypatch.setattr(Replica, "_keep_conflict", lambda self, mutation, result: None)
    with pytest.raises(AssertionError, match="kept no note of it"):
        run_state_machine_as_test(FieldWork, settings=SEARCH)
