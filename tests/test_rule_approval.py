"""The approval status machine (sync/rules/approval.py), case by case.

王伟 (engineer) claims travel expenses; 李经理 (a manager) approves and pays them; 张敏
works at the desk. Devices: ``phone-wang``, ``pc-li``, ``pc-zhang``.
"""

from __future__ import annotations

import pytest

from sync.changeset import Mutation
from sync.rules import FieldClock, Merge, MergeContext, Overwrite, StoredRow
from sync.rules.approval import merge

WANG, LI, ZHANG = "u-wang", "u-li", "u-zhang"
MANAGERS = frozenset({"manager"})


def stamp(wall: int, node: str) -> str:
    return f"{wall:015d}:00000:{node}"


def as_wang() -> MergeContext:
    return MergeContext("engineer", user_id=WANG, approvers=MANAGERS, arrival=stamp(99, "server"))


def as_li(approvers: frozenset[str] = MANAGERS) -> MergeContext:
    return MergeContext("manager", user_id=LI, approvers=approvers, arrival=stamp(99, "server"))


def as_zhang(approvers: frozenset[str] = MANAGERS) -> MergeContext:
    return MergeContext("desk", user_id=ZHANG, approvers=approvers, arrival=stamp(99, "server"))


def write(fields: dict, node: str, base: int | None, wall: int = 10, op: str = "update",
          entity: str = "expense_claim") -> Mutation:
    return Mutation("m", entity, "claim-1", op, fields, stamp(wall, node), base)


def apply(row: StoredRow | None, result: Merge, version: int) -> StoredRow:
    """The row as the server keeps it after ``result``."""
    assert result.refusal is None, result.refusal
    row = row or StoredRow({}, {}, 0)
    row.values.update(result.writes)
    row.clock.update(result.clock)
    row.version = version
    return row


def claim(status: str | None = None, amount: float = 800.0) -> StoredRow:
    """王伟's claim for 800 yuan (version 1, his phone); ``status`` set by 李经理 at version 2."""
    fields = {"engineer_id": WANG, "kind": "claim", "amount": amount, "description": "北京至天津往返高铁",
              "receipts": ["a" * 64]}
    row = apply(None, merge(None, write(fields, "phone-wang", None, wall=1, op="insert"), 1, as_wang()), 1)
    if status is not None:
        row = apply(row, merge(row, write({"status": "approved"}, "pc-li", 1, wall=5), 2, as_li()), 2)
        if status == "paid":
            row = apply(row, merge(row, write({"status": "paid"}, "pc-li", 2, wall=6), 3, as_li()), 3)
        elif status == "refused":
            row = apply(row, merge(row, write({"status": "refused"}, "pc-li", 2, wall=6), 3, as_li()), 3)
    return row


def test_a_new_claim_is_submitted_and_its_engineer_recorded_as_an_author():
    row = claim()
    assert row.values.get("status") is None  # none yet reads as submitted
    assert row.values["authors"] == [WANG]


def test_a_record_created_already_approved_is_refused():
    result = merge(None, write({"engineer_id": WANG, "amount": 800.0, "status": "approved"}, "pc-li", None,
                               op="insert"), 1, as_li())
    assert result.refusal.code == "invalid_transition"


def test_the_manager_approves_what_he_saw_and_the_history_keeps_what_it_covered():
    result = merge(claim(), write({"status": "approved", "decision_note": "同意"}, "pc-li", 1), 2, as_li())
    assert result.refusal is None
    assert (result.writes["status"], result.writes["decided_by"], result.writes["decision_note"]) == (
        "approved", LI, "同意")
    [entry] = result.writes["approval_history"]
    assert (entry["event"], entry["by"], entry["covers"]["amount"], entry["arrived"]) == (
        "approved", LI, 800.0, stamp(99, "server"))


@pytest.mark.parametrize("decision", ["approved", "refused"])
def test_the_desk_decides_only_where_the_deployment_lets_it(decision):
    refused = merge(claim(), write({"status": decision}, "pc-zhang", 1), 2, as_zhang())
    assert refused.refusal.code == "not_an_approver"
    allowed = merge(claim(), write({"status": decision}, "pc-zhang", 1), 2, as_zhang(MANAGERS | {"desk"}))
    assert allowed.refusal is None and allowed.writes["status"] == decision


@pytest.mark.parametrize("decision", ["approved", "paid"])
def test_an_engineer_never_approves_or_pays_his_own_claim_even_where_engineers_approve(decision):
    row = claim("approved") if decision == "paid" else claim()
    wang_approves = MergeContext("engineer", user_id=WANG, approvers=frozenset({"engineer", "manager"}))
    result = merge(row, write({"status": decision}, "phone-wang", row.version), row.version + 1, wang_approves)
    assert result.refusal.code == "own_approval"


def test_a_manager_who_wrote_the_amount_does_not_approve_it():
    row = claim()
    row = apply(row, merge(row, write({"amount": 780.0}, "pc-li", 1), 2, as_li()), 2)
    assert merge(row, write({"status": "approved"}, "pc-li", 2), 3, as_li()).refusal.code == "own_approval"
    changes_and_approves = merge(claim(), write({"status": "approved", "amount": 700.0}, "pc-li", 1), 2, as_li())
    assert changes_and_approves.refusal.code == "own_approval"


def test_the_server_never_decides():
    result = merge(claim(), write({"status": "approved"}, "server", 1), 2, MergeContext("system", approvers=MANAGERS))
    assert result.refusal.code == "not_an_approver"


def test_an_approval_of_an_amount_its_approver_never_saw_is_refused():
    row = claim()
    row = apply(row, merge(row, write({"amount": 5000.0}, "phone-wang", 1, wall=5), 2, as_wang()), 2)
    result = merge(row, write({"status": "approved"}, "pc-li", 1, wall=6), 3, as_li())
    assert (result.refusal.code, result.refusal.field) == ("approval_outdated", "status")
    assert "amount" in result.refusal.message


@pytest.mark.parametrize("wall", [3, 50], ids=["changed before the approval", "changed after the approval"])
def test_an_amount_raised_after_approval_voids_it_whatever_its_stamp(wall):
    row = claim("approved")
    result = merge(row, write({"amount": 5000.0}, "phone-wang", 1, wall=wall), 3, as_wang())
    assert result.writes["amount"] == 5000.0
    assert (result.writes["status"], result.writes["decided_by"]) == ("submitted", None)
    approved, voided = result.writes["approval_history"]
    assert (approved["event"], approved["covers"]["amount"]) == ("approved", 800.0)
    assert (voided["event"], voided["by"], voided["changed"]) == ("voided", WANG, {"amount": [800.0, 5000.0]})
    [note] = result.overwrites
    assert (note.field, note.lost_value, note.kept_value, note.lost_hlc) == (
        "status", "approved", "submitted", stamp(5, "pc-li"))  # the approver's device is told
    assert result.outcome == "conflict"


def test_a_note_changed_after_approval_leaves_it_standing():
    result = merge(claim("approved"), write({"description": "北京至天津往返高铁（二等座）"}, "phone-wang", 2), 3, as_wang())
    assert "status" not in result.writes and result.overwrites == []


def test_a_refused_claim_changed_by_its_engineer_is_submitted_again_without_a_note():
    result = merge(claim("refused"), write({"receipts": ["b" * 64]}, "phone-wang", 3), 4, as_wang())
    assert result.writes["status"] == "submitted"
    assert result.writes["approval_history"][-1]["event"] == "reopened"
    assert result.overwrites == []


def test_the_engineer_withdraws_an_approved_claim_and_the_approver_is_told():
    result = merge(claim("approved"), write({"status": "submitted"}, "phone-wang", 2), 3, as_wang())
    assert result.writes["status"] == "submitted"
    assert result.writes["approval_history"][-1]["event"] == "withdrawn"
    assert [o.lost_value for o in result.overwrites] == ["approved"]
    desk = merge(claim("approved"), write({"status": "submitted"}, "pc-zhang", 2), 3, as_zhang())
    assert desk.refusal.code == "invalid_transition"


@pytest.mark.parametrize(("status", "fields", "code"), [
    ("submitted", {"status": "paid"}, "invalid_transition"),
    ("paid", {"amount": 5000.0}, "already_paid"),
    ("paid", {"status": "approved"}, "already_paid"),
    ("paid", {"status": "submitted"}, "already_paid"),
])
def test_moves_outside_the_machine_are_refused(status, fields, code):
    row = claim(None if status == "submitted" else status)
    assert merge(row, write(fields, "pc-li", row.version), row.version + 1, as_li()).refusal.code == code


def test_a_paid_claim_is_never_deleted_but_its_note_may_still_change():
    row = claim("paid")
    assert merge(row, write({}, "pc-li", 3, op="delete"), 4, as_li()).refusal.code == "already_paid"
    assert merge(row, write({"decision_note": "已付现金"}, "pc-li", 3), 4, as_li()).refusal is None


def test_a_requisition_is_never_paid():
    row = StoredRow({"engineer_id": WANG, "lines": [{"part_id": "p", "qty": 2}], "status": "approved"}, {}, 2)
    result = merge(row, write({"status": "paid"}, "pc-li", 2, entity="requisition"), 3, as_li())
    assert result.refusal.code == "invalid_transition"


def test_two_managers_deciding_at_once_the_later_one_looks_again():
    row = claim()
    row = apply(row, merge(row, write({"status": "approved"}, "pc-li", 1), 2, as_li()), 2)
    other = MergeContext("manager", user_id="u-sun", approvers=MANAGERS)
    assert merge(row, write({"status": "refused"}, "pc-sun", 1), 3, other).refusal.code == "approval_outdated"


@pytest.mark.parametrize("order", ["approval first", "amount change first"])
def test_approval_and_an_offline_amount_change_in_either_order_never_approve_more_than_was_seen(order):
    """李经理 approves 800 as he saw it; 王伟, offline, had raised it to 5,000 on his phone."""
    approval = write({"status": "approved"}, "pc-li", 1, wall=20)
    raise_ = write({"amount": 5000.0}, "phone-wang", 1, wall=10)
    row = claim()
    steps = [(approval, as_li()), (raise_, as_wang())]
    for version, (mutation, ctx) in enumerate(steps if order == "approval first" else steps[::-1], start=2):
        result = merge(row, mutation, version, ctx)
        if result.refusal is None:
            row = apply(row, result, version)
    assert row.values["amount"] == 5000.0
    assert row.values.get("status") != "approved"
    approvals = [e for e in row.values.get("approval_history") or () if e["event"] == "approved"]
    assert all(e["covers"]["amount"] == 800.0 for e in approvals)


def refused_as(result: Merge, code: str, field: str | None, opening: str) -> None:
    """Refused with its stable code, naming the field at fault, saying why in a sentence."""
    assert result.refusal is not None and result.outcome == "rejected"
    assert (result.refusal.code, result.refusal.field) == (code, field)
    assert result.refusal.message.startswith(opening), result.refusal.message


def test_every_refusal_of_the_machine_names_its_field_and_says_why():
    paid, fresh = claim("paid"), claim()
    refused_as(merge(paid, write({}, "pc-li", 3, op="delete"), 4, as_li()), "already_paid", None,
               "this expense_claim is paid: it is never deleted")
    refused_as(merge(paid, write({"status": "approved"}, "pc-li", 3), 4, as_li()), "already_paid", "status",
               "this expense_claim is paid: its status no longer changes")
    refused_as(merge(paid, write({"amount": 5000.0}, "pc-li", 3), 4, as_li()), "already_paid", "amount",
               "this expense_claim is paid: a difference is a new expense_claim")
    refused_as(merge(fresh, write({"status": "paid"}, "pc-li", 1), 2, as_li()), "invalid_transition", "status",
               "an expense_claim does not go from submitted to paid")
    refused_as(merge(claim("approved"), write({"status": "submitted"}, "pc-zhang", 2), 3, as_zhang()),
               "invalid_transition", "status", "only its claimant or an author withdraws an expense_claim")
    refused_as(merge(fresh, write({"status": "approved"}, "pc-zhang", 1), 2, as_zhang()), "not_an_approver",
               "status", "a desk does not decide on an expense_claim here (approvers: manager)")
    refused_as(merge(fresh, write({"status": "approved"}, "server", 1), 2, MergeContext("system")),
               "not_an_approver", "status", "the server does not decide on an expense_claim here (approvers: none)")
    refused_as(merge(fresh, write({"status": "approved", "amount": 1.0}, "pc-li", 1), 2, as_li()),
               "own_approval", "status", "nobody decides on an expense_claim they claim or wrote")


def test_王伟_never_approves_a_claim_the_desk_filed_for_him():
    row = StoredRow({"engineer_id": WANG, "kind": "claim", "amount": 800.0, "authors": [ZHANG]}, {}, 1)
    wang_approves = MergeContext("engineer", user_id=WANG, approvers=frozenset({"engineer"}))
    refused_as(merge(row, write({"status": "approved"}, "phone-wang", 1), 2, wang_approves), "own_approval",
               "status", "nobody decides")


def test_an_approval_sent_with_the_amount_it_saw_unchanged_is_taken():
    result = merge(claim(), write({"status": "approved", "amount": 800.0}, "pc-li", 1), 2, as_li())
    assert result.refusal is None and result.writes["status"] == "approved"


def test_a_paid_claim_resent_with_the_same_amount_is_a_harmless_retry():
    result = merge(claim("paid"), write({"amount": 800.0, "decision_note": "已付现金"}, "pc-li", 3), 4, as_li())
    assert result.refusal is None and result.writes == {"decision_note": "已付现金"}


def test_paying_keeps_李经理_as_the_approver_and_the_history_says_who_when_in_which_role():
    row = claim("approved")
    result = merge(row, write({"status": "paid"}, "pc-li", 2, wall=8), 3, as_li())
    assert "decided_by" not in result.writes
    entry = result.writes["approval_history"][-1]
    assert (entry["event"], entry["by"], entry["role"], entry["at"]) == ("paid", LI, "manager", stamp(8, "pc-li"))
    assert result.clock["approval_history"] == result.clock["status"] == FieldClock(stamp(8, "pc-li"), 3)


def test_a_voided_approval_clears_the_approver_and_records_it_at_the_voiding_version():
    result = merge(claim("approved"), write({"amount": 5000.0}, "phone-wang", 2, wall=9), 3, as_wang())
    entry = result.writes["approval_history"][-1]
    assert (entry["role"], entry["at"]) == ("engineer", stamp(9, "phone-wang"))
    for name in ("status", "decided_by", "approval_history"):
        assert result.clock[name] == FieldClock(stamp(9, "phone-wang"), 3)


def test_a_refused_claim_reopened_writes_no_approver_it_never_had():
    result = merge(claim("refused"), write({"amount": 600.0}, "phone-wang", 3), 4, as_wang())
    assert result.writes["status"] == "submitted" and "decided_by" not in result.writes


def test_a_requisition_approved_before_clocks_were_kept_is_voided_with_an_unknown_approval_stamp():
    row = StoredRow({"engineer_id": WANG, "lines": [{"part_id": "p", "qty": 2}], "status": "approved",
                     "approved_by": LI}, {}, 2)
    result = merge(row, write({"lines": [{"part_id": "p", "qty": 3}]}, "phone-wang", 2, entity="requisition"), 3,
                   as_wang())
    assert result.writes["status"] == "submitted"
    assert [(o.lost_value, o.lost_hlc) for o in result.overwrites] == [("approved", "")]


def test_the_desk_deleting_an_approved_claim_from_a_screen_that_still_shows_it_submitted_makes_a_tombstone():
    delete = write({"status": "submitted"}, "pc-zhang", 2, op="delete")
    assert merge(claim("approved"), delete, 3, as_zhang()) == Merge(
        "applied", deleted=True, deleted_changed=True, clock={"_deleted": FieldClock(stamp(10, "pc-zhang"), 3)})


def test_a_claim_created_approved_is_refused_saying_it_starts_submitted():
    result = merge(None, write({"engineer_id": WANG, "amount": 800.0, "status": "approved"}, "pc-li", None,
                               op="insert"), 1, as_li())
    refused_as(result, "invalid_transition", "status",
               "a new expense_claim starts submitted: it is decided once someone else has seen it")


def test_王伟s_new_claim_records_him_as_author_at_its_stamp_and_version():
    row = claim()
    assert row.clock["authors"] == FieldClock(stamp(1, "phone-wang"), 1)


def test_王伟_resending_his_deleted_claim_from_the_tablet_revives_it_with_the_delete_on_record():
    row = claim()
    row.deleted, row.version = True, 2
    row.clock["_deleted"] = FieldClock(stamp(3, "phone-wang"), 2)
    again = write({"engineer_id": WANG, "kind": "claim", "amount": 900.0}, "tablet-wang", None, op="insert")
    wang = MergeContext("engineer", user_id=WANG, approvers=MANAGERS, by_author=lambda s: s.endswith(":phone-wang"))
    at = FieldClock(stamp(10, "tablet-wang"), 3)
    assert merge(row, again, 3, wang) == Merge(
        "conflict", writes={"amount": 900.0}, clock={"_deleted": at, "amount": at}, deleted_changed=True,
        overwrites=[Overwrite("_deleted", False, stamp(10, "tablet-wang"), True, stamp(3, "phone-wang"), "incoming")])


def test_张敏_correcting_the_amount_of_王伟s_claim_joins_him_as_an_author():
    result = merge(claim(), write({"amount": 780.0}, "pc-zhang", 1, wall=7), 2, as_zhang())
    assert result.writes["authors"] == [WANG, ZHANG]
    assert result.clock["authors"] == FieldClock(stamp(7, "pc-zhang"), 2)


def test_王伟_raising_his_own_amount_again_is_not_listed_twice_and_the_server_is_no_author():
    assert "authors" not in merge(claim(), write({"amount": 900.0}, "phone-wang", 1), 2, as_wang()).writes
    server = merge(claim(), write({"amount": 900.0}, "server", 1), 2, MergeContext("system", approvers=MANAGERS))
    assert "authors" not in server.writes


def test_张敏_editing_a_description_she_had_pulled_leaves_no_note():
    result = merge(claim(), write({"description": "北京至天津往返高铁（二等座）"}, "pc-zhang", 1, wall=0), 2, as_zhang())
    assert (result.outcome, result.writes["description"], result.overwrites) == (
        "applied", "北京至天津往返高铁（二等座）", [])


def test_王伟s_tablet_edit_over_his_phones_unpulled_one_leaves_no_note():
    row = claim()
    row = apply(row, merge(row, write({"description": "北京至天津"}, "phone-wang", 1, wall=5), 2, as_wang()), 2)
    wang = MergeContext("engineer", user_id=WANG, approvers=MANAGERS, by_author=lambda s: s.endswith(":phone-wang"))
    result = merge(row, write({"description": "北京至天津往返"}, "tablet-wang", 1, wall=8), 3, wang)
    assert (result.writes, result.overwrites) == ({"description": "北京至天津往返"}, [])


def test_王伟_sending_his_new_claims_status_as_submitted_writes_no_status():
    result = merge(claim(), write({"status": "submitted", "description": "北京至天津"}, "phone-wang", 1), 2, as_wang())
    assert result.writes == {"description": "北京至天津"}


def test_the_refusals_list_every_approver_and_every_value_changed_unseen():
    refused_as(merge(claim(), write({"status": "approved"}, "pc-zhang", 1), 2,
                     as_zhang(frozenset({"manager", "engineer"}))),
               "not_an_approver", "status",
               "a desk does not decide on an expense_claim here (approvers: engineer, manager)")
    row = claim()
    row = apply(row, merge(row, write({"amount": 5000.0}, "phone-wang", 1, wall=5), 2, as_wang()), 2)
    sun = MergeContext("manager", user_id="u-sun", approvers=MANAGERS)
    row = apply(row, merge(row, write({"status": "refused"}, "pc-sun", 2, wall=6), 3, sun), 3)
    refused_as(merge(row, write({"status": "approved"}, "pc-li", 1, wall=7), 4, as_li()), "approval_outdated", "status",
               "the expense_claim changed since you saw it (amount, status): look at it again before deciding")
    refused_as(merge(claim(), write({"status": "approved", "amount": 1.0}, "pc-li", 1), 2, as_li()), "own_approval",
               "status", "nobody decides on an expense_claim they claim or wrote: another approver does")


def test_李经理s_approval_names_him_as_decider_at_the_approvals_stamp_and_version():
    result = merge(claim(), write({"status": "approved"}, "pc-li", 1, wall=8), 2, as_li())
    assert result.clock["decided_by"] == FieldClock(stamp(8, "pc-li"), 2)


def test_an_approval_voided_by_王伟s_new_amount_tells_李经理_with_both_stamps_and_the_time_it_arrived():
    result = merge(claim("approved"), write({"amount": 5000.0}, "phone-wang", 2, wall=9), 3, as_wang())
    assert result.writes["approval_history"][-1]["arrived"] == stamp(99, "server")
    assert result.overwrites == [Overwrite("status", "submitted", stamp(9, "phone-wang"), "approved",
                                           stamp(5, "pc-li"), "incoming")]
