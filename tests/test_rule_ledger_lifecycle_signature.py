"""The append-only ledger, the old-part lifecycle and the signature rule, case by case."""

from __future__ import annotations

from sync.changeset import Mutation
from sync.rules import FieldClock, Merge, MergeContext, Overwrite, StoredRow
from sync.rules import ledger, lifecycle, signature
from sync.rules.ticket import COMPLETED_MARK


def stamp(wall: int, node: str = "dev") -> str:
    return f"{wall:015d}:00000:{node}"


def mutation(entity, op="insert", fields=None, wall=10, base=None) -> Mutation:
    return Mutation("m", entity, "r1", op, dict(fields or {}), stamp(wall), base)


def row(values, wall=5, version=1) -> StoredRow:
    return StoredRow(dict(values), {k: FieldClock(stamp(wall, "other"), version) for k in values}, version)


def test_ledger_takes_a_new_entry_whole():
    result = ledger.merge(None, mutation("stock_movement", fields={"qty": 1.0}), 1)
    assert result.outcome == "applied" and result.writes == {"qty": 1.0}


def test_ledger_replay_of_the_same_entry_counts_once():
    result = ledger.merge(row({"qty": 1.0}), mutation("stock_movement", fields={"qty": 1.0}), 2)
    assert result.outcome == "applied" and not result.changed


def test_ledger_refuses_edits_and_deletes():
    for op in ("update", "delete"):
        result = ledger.merge(row({"qty": 1.0}), mutation("stock_movement", op, {"qty": 9.0}), 2)
        assert result.refusal.code == "append_only"


def test_lifecycle_never_goes_back_and_keeps_the_late_steps_fields():
    stored = row({"status": "received", "received_at": "t2"})
    late = mutation("old_part_return", "update", {"status": "collected", "collected_at": "t1"}, wall=20)
    result = lifecycle.merge(stored, late, 2, MergeContext("engineer"))
    assert "status" not in result.writes and result.writes["collected_at"] == "t1"
    assert result.overwrites[0].lost_value == "collected"


def test_lifecycle_moves_forward_by_the_steps_role():
    result = lifecycle.merge(row({"status": "collected"}), mutation("old_part_return", "update", {"status": "received"}),
                             2, MergeContext("depot"))
    assert result.writes["status"] == "received"


def test_lifecycle_refuses_a_step_of_another_role():
    result = lifecycle.merge(row({"status": "collected"}), mutation("old_part_return", "update", {"status": "received"}),
                             2, MergeContext("engineer"))
    assert result.refusal.code == "step_not_owned"


def completed_ticket(wall: int) -> StoredRow:
    ticket = row({"status": "completed"})
    ticket.clock[COMPLETED_MARK] = FieldClock(stamp(wall), 2)
    return ticket


def sign(wall: int) -> Mutation:
    return mutation("signature", fields={"ticket_id": "t1", "signer_name": "Mr. Liu"}, wall=wall)


def test_signature_after_completion_by_the_devices_own_clock_is_taken():
    result = signature.merge(None, sign(30), 1, MergeContext("engineer", lambda e, i: completed_ticket(20)))
    assert result.outcome == "applied" and result.writes["signer_name"] == "Mr. Liu"


def test_signature_before_completion_is_refused_even_if_completion_arrived_first():
    result = signature.merge(None, sign(10), 1, MergeContext("engineer", lambda e, i: completed_ticket(20)))
    assert result.refusal.code == "signed_before_completion"


def test_signature_is_written_once_a_retry_is_harmless_a_change_refused():
    stored = row({"ticket_id": "t1", "signer_name": "Mr. Liu"})
    ctx = MergeContext("engineer", lambda e, i: completed_ticket(1))
    assert signature.merge(stored, sign(30), 2, ctx).outcome == "applied"
    changed = mutation("signature", "update", {"signer_name": "Someone Else"}, wall=40)
    assert signature.merge(stored, changed, 2, ctx).refusal.code == "signature_immutable"
    assert signature.merge(stored, mutation("signature", "delete"), 2, ctx).refusal.code == "signature_immutable"


def test_the_server_may_mark_a_signature_stale():
    stored = row({"ticket_id": "t1", "stale": False})
    result = signature.merge(stored, mutation("signature", "update", {"stale": True}, wall=40), 2,
                             MergeContext("system"))
    assert result.writes == {"stale": True}


def refused(result, code: str, field: str | None, opening: str) -> None:
    """A refusal names its stable code, the field at fault and says why in a sentence."""
    assert result.refusal is not None and result.outcome == "rejected"
    assert (result.refusal.code, result.refusal.field) == (code, field)
    assert result.refusal.message.startswith(opening)


def test_王师傅s_signature_for_a_ticket_the_server_never_heard_of_is_refused_naming_the_ticket():
    result = signature.merge(None, sign(30), 1, MergeContext("engineer", lambda e, i: None))
    refused(result, "unknown_ticket", "ticket_id", "a signature must name a ticket")


def test_a_signature_naming_no_ticket_is_refused_without_looking_any_ticket_up():
    looked = []
    ctx = MergeContext("engineer", lambda e, i: looked.append((e, i)) or completed_ticket(1))
    result = signature.merge(None, mutation("signature", fields={"signer_name": "刘先生"}, wall=30), 1, ctx)
    refused(result, "unknown_ticket", "ticket_id", "a signature must name a ticket")
    assert looked == []


def test_customer_signing_on_the_same_stamp_as_the_completion_has_not_signed_after_the_work():
    result = signature.merge(None, sign(20), 1, MergeContext("engineer", lambda e, i: completed_ticket(20)))
    refused(result, "signed_before_completion", "ticket_id", "the customer signs after the work")


def test_a_signature_taken_after_the_work_carries_its_stamp_and_version_on_every_field():
    result = signature.merge(None, sign(30), 7, MergeContext("engineer", lambda e, i: completed_ticket(20)))
    assert result.clock == {"ticket_id": FieldClock(stamp(30), 7), "signer_name": FieldClock(stamp(30), 7)}


def test_a_changed_or_deleted_signature_is_refused_in_words():
    stored = row({"ticket_id": "t1", "signer_name": "刘先生"})
    ctx = MergeContext("engineer", lambda e, i: completed_ticket(1))
    changed = mutation("signature", "update", {"signer_name": "张女士"}, wall=40)
    refused(signature.merge(stored, changed, 2, ctx), "signature_immutable", None, "a customer signature is never altered")
    refused(signature.merge(stored, mutation("signature", "delete"), 2, ctx), "signature_immutable", None,
            "a customer signature is never deleted")


def test_the_server_marking_a_signature_stale_after_a_newer_field_is_plain_lww_on_the_stored_row():
    stored = row({"ticket_id": "t1", "stale": False}, wall=50, version=4)
    ctx = MergeContext("system")
    late = signature.merge(stored, mutation("signature", "update", {"stale": True}, wall=40, base=4), 5, ctx)
    assert late.writes == {"stale": True} and late.clock == {"stale": FieldClock(stamp(40), 5)}
    # a mark of an older version that the stored value post-dates is the losing side, not a write
    unseen = signature.merge(stored, mutation("signature", "update", {"stale": True}, wall=40, base=3), 5, ctx)
    assert unseen.writes == {} and unseen.outcome == "conflict"


def test_an_old_part_step_the_lifecycle_does_not_have_is_no_ones_to_set():
    result = lifecycle.merge(row({"status": "collected"}), mutation("old_part_return", "update", {"status": "丢失"}),
                             2, MergeContext("depot"))
    refused(result, "step_not_owned", "status", "a depot does not mark a part 丢失")


def test_a_new_stock_movement_is_written_whole_at_its_stamp_and_version_and_an_edit_is_refused_in_words():
    result = ledger.merge(None, mutation("stock_movement", fields={"qty": 2.0, "note": "领用皮带"}, wall=10), 7)
    at = FieldClock(stamp(10), 7)
    assert result == Merge("applied", writes={"qty": 2.0, "note": "领用皮带"}, clock={"qty": at, "note": at})
    edit = ledger.merge(row({"qty": 2.0}), mutation("stock_movement", "update", {"qty": 3.0}), 2)
    refused(edit, "append_only", None, "stock_movement entries are never changed: add a correcting entry")


def test_a_signature_looks_up_the_very_ticket_it_names():
    tickets = {("ticket", "t1"): completed_ticket(20)}
    ctx = MergeContext("engineer", lambda entity, row_id: tickets.get((entity, row_id)))
    assert signature.merge(None, sign(30), 1, ctx).outcome == "applied"


ZHAO_PC = MergeContext("depot", by_author=lambda s: s.endswith(":zhao-pc"))


def received_part() -> StoredRow:
    """An old compressor 赵 (depot) booked received at version 2 from his PC; the note he
    wrote then too; the engineer's collection (version 1) before."""
    return StoredRow({"status": "received", "received_note": "外壳破损", "collected_at": "2026-11-30T09:00"},
                     {"status": FieldClock(stamp(5, "zhao-pc"), 2), "received_note": FieldClock(stamp(5, "zhao-pc"), 2),
                      "collected_at": FieldClock(stamp(3, "wang-phone"), 1)}, 2)


def test_赵s_receipt_note_from_the_tablet_over_his_pcs_unpulled_one_is_a_plain_edit():
    note = Mutation("m", "old_part_return", "r1", "update", {"received_note": "外壳破损，压缩机完好"},
                    stamp(10, "zhao-tablet"), 1)
    assert lifecycle.merge(received_part(), note, 3, ZHAO_PC) == Merge(
        "merged", writes={"received_note": "外壳破损，压缩机完好"},
        clock={"received_note": FieldClock(stamp(10, "zhao-tablet"), 3)})


def test_赵_disposing_of_the_part_from_the_tablet_writes_the_step_and_its_note_at_one_stamp():
    disposed = Mutation("m", "old_part_return", "r1", "update",
                        {"status": "disposed", "received_note": "外壳破损，已报废"}, stamp(10, "zhao-tablet"), 1)
    at = FieldClock(stamp(10, "zhao-tablet"), 3)
    assert lifecycle.merge(received_part(), disposed, 3, ZHAO_PC) == Merge(
        "merged", writes={"received_note": "外壳破损，已报废", "status": "disposed"},
        clock={"received_note": at, "status": at})


def test_王师傅s_collection_arriving_after_the_receipt_is_an_out_of_order_step_on_record():
    late = Mutation("m", "old_part_return", "r1", "update", {"status": "collected", "collected_at": "2026-11-30T09:30"},
                    stamp(4, "wang-phone"), 1)
    assert lifecycle.merge(received_part(), late, 3, MergeContext("engineer")) == Merge(
        "conflict", writes={"collected_at": "2026-11-30T09:30"},
        clock={"collected_at": FieldClock(stamp(4, "wang-phone"), 3)},
        overwrites=[Overwrite("status", "received", stamp(5, "zhao-pc"), "collected", stamp(4, "wang-phone"),
                              "stored")])
    unstamped = received_part()
    del unstamped.clock["status"]
    result = lifecycle.merge(unstamped, late, 3, MergeContext("engineer"))
    assert result.overwrites == [Overwrite("status", "received", None, "collected", stamp(4, "wang-phone"), "stored")]


def test_赵_booking_the_same_part_received_twice_writes_nothing_the_second_time():
    again = Mutation("m", "old_part_return", "r1", "update", {"status": "received"}, stamp(10, "zhao-pc"), 2)
    assert lifecycle.merge(received_part(), again, 3, ZHAO_PC) == Merge("applied")


def test_a_new_old_part_return_is_taken_with_its_step():
    new = Mutation("m", "old_part_return", "r1", "insert", {"status": "expected", "part_id": "压缩机"},
                   stamp(10, "desk-1"))
    at = FieldClock(stamp(10, "desk-1"), 1)
    assert lifecycle.merge(None, new, 1, MergeContext("desk")) == Merge(
        "applied", writes={"status": "expected", "part_id": "压缩机"}, clock={"status": at, "part_id": at})


def test_a_delete_carrying_a_step_makes_a_tombstone_not_a_step():
    delete = Mutation("m", "old_part_return", "r1", "delete", {"status": "disposed"}, stamp(10, "zhao-pc"), 2)
    assert lifecycle.merge(received_part(), delete, 3, ZHAO_PC) == Merge(
        "applied", deleted=True, deleted_changed=True, clock={"_deleted": FieldClock(stamp(10, "zhao-pc"), 3)})
