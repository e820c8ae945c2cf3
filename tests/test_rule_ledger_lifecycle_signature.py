"""The append-only ledger, the old-part lifecycle and the signature rule, case by case."""

from __future__ import annotations

from sync.changeset import Mutation
from sync.rules import FieldClock, MergeContext, StoredRow
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
