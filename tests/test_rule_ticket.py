"""The ticket status state machine (sync/rules/ticket.py), case by case."""

from __future__ import annotations

import pytest

from sync.changeset import Mutation
from sync.rules import FieldClock, Merge, MergeContext, Overwrite, StoredRow
from sync.rules.ticket import COMPLETED_MARK, merge, transition


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
        pytest.param("cancelled", "engineer", "on_site", 1, "on_site", True, id="arriving on site beats a cancel"),
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
     ("dispatched", "depot", "accepted"), ("dispatched", "depot", "cancelled")],
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


def reassigned(status: str, status_version: int, left_version: int, by: str = "engineer-li") -> StoredRow:
    """A ticket taken from engineer 王 (``_left:engineer:wang`` at ``left_version``) whose
    status ``by`` wrote at ``status_version``."""
    row = StoredRow({"status": status}, {"status": FieldClock(stamp(30, by), status_version)}, status_version)
    row.clock["_left:engineer:wang"] = FieldClock(stamp(20, "server"), left_version)
    return row


def test_王师傅s_late_move_made_before_an_unseen_reassignment_loses_to_the_new_engineers_status():
    result = merge(reassigned("accepted", 6, 5), move("on_site", "wang-tablet", 4), 7, MergeContext("engineer"))
    assert "status" not in result.writes and result.outcome == "conflict"
    assert result.overwrites[0].lost_value == "on_site"


def test_王师傅s_move_made_after_he_saw_the_reassignment_is_not_overtaken():
    result = merge(reassigned("accepted", 6, 5), move("on_site", "wang-tablet", 5), 7, MergeContext("engineer"))
    assert result.writes["status"] == "on_site"


def test_a_status_written_with_the_reassignment_itself_is_not_written_after_it():
    result = merge(reassigned("accepted", 5, 5), move("on_site", "wang-tablet", 4), 7, MergeContext("engineer"))
    assert result.writes["status"] == "on_site"


def test_王师傅s_own_later_status_is_never_overtaken_by_his_earlier_reassignment():
    result = merge(reassigned("accepted", 6, 5, by="wang-tablet"), move("on_site", "wang-tablet", 4), 7,
                   MergeContext("engineer"))
    assert result.writes["status"] == "on_site"


def test_a_device_that_never_pulled_the_ticket_is_overtaken_by_the_first_reassignment():
    result = merge(reassigned("accepted", 2, 1), move("on_site", "wang-tablet", None), 3, MergeContext("engineer"))
    assert "status" not in result.writes


def test_the_servers_own_status_write_is_taken_even_backwards():
    result = merge(ticket("on_site"), move("dispatched", "server", 1), 4, MergeContext("system"))
    assert result.writes["status"] == "dispatched"


def test_a_ticket_with_no_status_yet_takes_the_first_one_sent():
    row = StoredRow({"fault": "空调不制冷"}, {"fault": FieldClock(stamp(5, "desk-1"), 1)}, 1)
    result = merge(row, move("dispatched", "desk-1", 1), 2, MergeContext("desk"))
    assert result.writes["status"] == "dispatched" and result.overwrites == []


def test_desk_reopening_a_cancelled_ticket_as_reported_is_taken():
    result = merge(ticket("cancelled", by="desk-1"), move("reported", "desk-2", 3), 4, MergeContext("desk"))
    assert result.writes["status"] == "reported"


def test_desk_setting_an_on_site_ticket_back_to_reported_loses_to_the_field():
    result = merge(ticket("on_site"), move("reported", "desk-1", 3), 4, MergeContext("desk"))
    assert "status" not in result.writes and result.overwrites[0].kept_value == "on_site"


@pytest.mark.parametrize(("stored", "role", "incoming", "review"), [
    ("cancelled", "engineer", "completed", "field work arrived after the desk cancelled the ticket"),
    ("on_site", "desk", "cancelled", "cancelled while field work was in progress"),
    ("completed", "desk", "cancelled", "the desk cancelled a ticket whose field work was done or in progress"),
])
def test_the_review_flag_says_what_the_desk_must_look_at(stored, role, incoming, review):
    result = merge(ticket(stored, by="desk-1" if role == "engineer" else "engineer-a"), move(incoming, "x", 3), 4,
                   MergeContext(role))
    assert result.writes["needs_review"] == review


@pytest.mark.parametrize(("stored", "role", "incoming", "opening"), [
    ("on_site", "engineer", "closed", "an engineer does not set a ticket closed"),
    ("completed", "desk", "closed", "only a signed ticket is closed"),
])
def test_a_refused_status_names_the_status_field_and_says_why(stored, role, incoming, opening):
    result = merge(ticket(stored), move(incoming, "x", 3), 4, MergeContext(role))
    assert (result.outcome, result.refusal.field) == ("rejected", "status")
    assert result.refusal.message.startswith(opening)


@pytest.mark.parametrize("stored", ["reported", "cancelled"])
def test_the_desk_dispatching_a_reported_or_cancelled_ticket_it_had_not_seen_so_takes_it(stored):
    result = merge(ticket(stored, by="desk-1"), move("dispatched", "desk-2", 1), 4, MergeContext("desk"))
    assert result.writes["status"] == "dispatched"


WANG_PHONE = MergeContext("engineer", by_author=lambda s: s.endswith(":wang-phone"))


def test_王师傅s_diagnosis_from_the_tablet_over_his_phones_unpulled_one_is_a_plain_edit_beside_the_status():
    row = StoredRow({"status": "on_site", "diagnosis": "皮带磨损"},
                    {"status": FieldClock(stamp(5, "desk-1"), 3),
                     "diagnosis": FieldClock(stamp(6, "wang-phone"), 4)}, 4)
    edit = Mutation("m", "ticket", "t", "update", {"diagnosis": "轴承卡死"}, stamp(10, "wang-tablet"), 3)
    assert merge(row, edit, 5, WANG_PHONE) == Merge(
        "merged", writes={"diagnosis": "轴承卡死"}, clock={"diagnosis": FieldClock(stamp(10, "wang-tablet"), 5)})


def test_王师傅_resending_the_status_he_is_at_with_a_new_diagnosis_writes_only_the_diagnosis():
    row = StoredRow({"status": "on_site", "diagnosis": "皮带磨损"},
                    {"status": FieldClock(stamp(5, "wang-phone"), 3),
                     "diagnosis": FieldClock(stamp(6, "wang-phone"), 4)}, 4)
    again = Mutation("m", "ticket", "t", "update", {"status": "on_site", "diagnosis": "轴承卡死"},
                     stamp(10, "wang-tablet"), 3)
    assert merge(row, again, 5, WANG_PHONE) == Merge(
        "merged", writes={"diagnosis": "轴承卡死"}, clock={"diagnosis": FieldClock(stamp(10, "wang-tablet"), 5)})


def test_王师傅_completing_from_the_tablet_writes_status_diagnosis_and_completion_mark_at_one_stamp_and_version():
    row = StoredRow({"status": "on_site", "diagnosis": "皮带磨损"},
                    {"status": FieldClock(stamp(5, "wang-phone"), 3),
                     "diagnosis": FieldClock(stamp(6, "wang-phone"), 4)}, 4)
    done = Mutation("m", "ticket", "t", "update", {"status": "completed", "diagnosis": "轴承卡死，已更换"},
                    stamp(10, "wang-tablet"), 3)
    at = FieldClock(stamp(10, "wang-tablet"), 5)
    assert merge(row, done, 5, WANG_PHONE) == Merge(
        "merged", writes={"diagnosis": "轴承卡死，已更换", "status": "completed"},
        clock={"diagnosis": at, "status": at, COMPLETED_MARK: at})


def test_a_ticket_entered_after_its_work_was_done_carries_its_completion_mark_from_the_start():
    entered = Mutation("m", "ticket", "t", "insert", {"status": "completed", "fault": "空调不制冷"}, stamp(10, "desk-1"))
    at = FieldClock(stamp(10, "desk-1"), 1)
    assert merge(None, entered, 1, MergeContext("desk")) == Merge(
        "applied", writes={"status": "completed", "fault": "空调不制冷"},
        clock={"status": at, "fault": at, COMPLETED_MARK: at})


def test_a_new_ticket_reported_by_the_desk_is_taken_and_one_created_closed_is_refused():
    reported = Mutation("m", "ticket", "t", "insert", {"status": "reported"}, stamp(10, "desk-1"))
    assert merge(None, reported, 1, MergeContext("desk")) == Merge(
        "applied", writes={"status": "reported"}, clock={"status": FieldClock(stamp(10, "desk-1"), 1)})
    closed = Mutation("m", "ticket", "t", "insert", {"status": "closed"}, stamp(10, "desk-1"))
    assert merge(None, closed, 1, MergeContext("desk")) == Merge.refused(
        "invalid_transition", "a ticket cannot be created closed", "status")


def test_a_desk_cancel_over_a_dispatch_it_had_not_seen_is_taken_and_the_dispatch_kept_on_record():
    result = merge(ticket("dispatched", by="desk-1"), move("cancelled", "desk-2", 2), 4, MergeContext("desk"))
    assert result == Merge("conflict", writes={"status": "cancelled"},
                           clock={"status": FieldClock(stamp(10, "desk-2"), 4)},
                           overwrites=[Overwrite("status", "cancelled", stamp(10, "desk-2"), "dispatched",
                                                 stamp(5, "desk-1"), "incoming")])


def test_a_desk_cancel_that_arrives_after_the_engineers_offline_completion_keeps_the_ticket_completed():
    result = merge(ticket("completed", by="wang-phone"), move("cancelled", "desk-1", 1), 4, MergeContext("desk"))
    review = "the desk cancelled a ticket whose field work was done or in progress"
    assert result == Merge("conflict", writes={"needs_review": review},
                           clock={"needs_review": FieldClock(stamp(10, "desk-1"), 4)},
                           overwrites=[Overwrite("status", "completed", stamp(5, "wang-phone"), "cancelled",
                                                 stamp(10, "desk-1"), "stored")])


def test_a_stale_move_over_a_status_stored_without_a_clock_loses_with_no_stamp_on_the_kept_side():
    row = StoredRow({"status": "on_site"}, {}, 3)
    result = merge(row, move("accepted", "wang-phone", 1), 4, MergeContext("engineer"))
    assert result.overwrites == [Overwrite("status", "on_site", None, "accepted", stamp(10, "wang-phone"), "stored")]


def test_a_desk_delete_carrying_the_status_its_screen_showed_makes_a_tombstone_not_a_status_move():
    delete = Mutation("m", "ticket", "t", "delete", {"status": "reported"}, stamp(10, "desk-2"), 3)
    assert merge(ticket("cancelled", by="desk-1"), delete, 4, MergeContext("desk")) == Merge(
        "applied", deleted=True, deleted_changed=True, clock={"_deleted": FieldClock(stamp(10, "desk-2"), 4)})


@pytest.mark.parametrize(("role", "current", "incoming", "seen", "answer"), [
    ("engineer", "on_site", "closed", True, ("refused", "an engineer does not set a ticket closed")),
    ("desk", "signed", "closed", True, ("take", None)),
    ("engineer", "cancelled", "completed", True, ("take", "field work arrived after the desk cancelled the ticket")),
    ("engineer", "on_site", "accepted", True, ("keep", None)),
    ("desk", "on_site", "cancelled", True, ("take", "cancelled while field work was in progress")),
    ("desk", "on_site", "cancelled", False,
     ("keep", "the desk cancelled a ticket whose field work was done or in progress")),
])
def test_the_transition_table_docs_print_answers_as_the_merge_decides(role, current, incoming, seen, answer):
    assert transition(role, current, incoming, seen) == answer
