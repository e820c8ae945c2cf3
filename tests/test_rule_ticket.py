"""The ticket status state machine (sync/rules/ticket.py), case by case."""

from __future__ import annotations

import pytest

from sync.changeset import Mutation
from sync.rules import FieldClock, MergeContext, StoredRow
from sync.rules.ticket import COMPLETED_MARK, merge


def stamp(wall: int, node: str) -> str:
    return f"{wall:015d}:00000:{node}"


def ticket(status: str, version: int = 3, by: str = "engineer-a") -> StoredRow:
    return StoredRow({"status": status}, {"status": FieldClock(stamp(5, by), version)}, version)


def move(status: str, node: str, base: int | None, wall: int = 10) -> Mutation:
    return Mutation("m", "ticket", "t", "update", {"status": status}, stamp(wall, node), base)


@pytest.mark.parametrize(
    ("stored", "role", "incoming", "base", "final", "review"),
    [
        pytest.param("dispatched", "engineer", "accepted", 3, "accepted", False, id="engineer moves forward"),
        pytest.param("accepted", "engineer", "on_site", 3, "on_site", False, id="engineer skips travelling offline"),
        pytest.param("on_site", "engineer", "accepted", 1, "on_site", False, id="stale engineer device cannot go back"),
        pytest.param("cancelled", "engineer", "completed", 1, "completed", True, id="field work beats a cancel"),
        pytest.param("cancelled", "engineer", "accepted", 1, "cancelled", False, id="an accept does not beat a cancel"),
        pytest.param("dispatched", "desk", "cancelled", 1, "cancelled", False, id="desk cancels before site visit"),
        pytest.param("on_site", "desk", "cancelled", 3, "cancelled", True, id="desk cancels seen work in progress"),
        pytest.param("on_site", "desk", "cancelled", 1, "on_site", True, id="desk cancel unseen work in progress"),
        pytest.param("completed", "desk", "cancelled", 3, "completed", True, id="completed work is never cancelled"),
        pytest.param("accepted", "desk", "dispatched", 3, "dispatched", False, id="desk re-dispatches seen ticket"),
        pytest.param("completed", "desk", "dispatched", 3, "completed", False, id="no re-dispatch of done work"),
        pytest.param("signed", "manager", "closed", 3, "closed", False, id="manager closes a signed ticket"),
    ],
)
def test_status_transitions(stored, role, incoming, base, final, review):
    result = merge(ticket(stored, by="engineer-a" if role == "desk" else "desk-1"), move(incoming, "x", base), 4,
                   MergeContext(role))
    assert result.refusal is None
    assert result.writes.get("status", stored) == final
    assert bool(result.writes.get("needs_review")) == review
    if final != incoming or stored == "cancelled":
        assert result.overwrites, "whoever's status lost is on record"


@pytest.mark.parametrize(
    ("stored", "role", "incoming"),
    [("on_site", "engineer", "closed"), ("on_site", "engineer", "cancelled"), ("on_site", "desk", "completed"),
     ("dispatched", "depot", "accepted")],
)
def test_a_role_setting_a_status_it_never_sets_is_refused(stored, role, incoming):
    result = merge(ticket(stored), move(incoming, "x", 3), 4, MergeContext(role))
    assert result.refusal is not None and result.refusal.code == "invalid_transition"


@pytest.mark.parametrize("stored", ["completed", "on_site", "cancelled"])
def test_the_desk_closing_a_ticket_that_is_not_signed_is_refused_not_signed(stored):
    result = merge(ticket(stored), move("closed", "x", 3), 4, MergeContext("desk"))
    assert result.refusal is not None and result.refusal.code == "not_signed"


def test_reaching_completed_marks_the_time_a_signature_must_follow():
    result = merge(ticket("on_site"), move("completed", "x", 3, wall=42), 4, MergeContext("engineer"))
    assert result.clock[COMPLETED_MARK].hlc == stamp(42, "x")
    again = ticket("completed")
    again.clock[COMPLETED_MARK] = FieldClock(stamp(42, "x"), 4)
    later = merge(again, move("signed", "x", 4, wall=50), 5, MergeContext("engineer"))
    assert COMPLETED_MARK not in later.clock  # the first completion stays the mark


def test_other_fields_merge_by_last_writer_wins_beside_the_status():
    row = ticket("accepted")
    row.values["diagnosis"] = "old"
    row.clock["diagnosis"] = FieldClock(stamp(5, "x"), 3)
    mutation = Mutation("m", "ticket", "t", "update", {"status": "on_site", "diagnosis": "new"}, stamp(10, "x"), 3)
    result = merge(row, mutation, 4, MergeContext("engineer"))
    assert result.writes == {"status": "on_site", "diagnosis": "new"}


def test_an_engineer_moving_on_from_the_tablet_a_status_set_on_the_phone_leaves_no_note():
    result = merge(ticket("travelling", by="wang-phone"), move("on_site", "wang-tablet", 1), 4,
                   MergeContext("engineer", by_author=lambda s: s.endswith(":wang-phone")))
    assert (result.writes["status"], result.overwrites) == ("on_site", [])
