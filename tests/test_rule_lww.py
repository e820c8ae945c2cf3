"""Per-field last-writer-wins: the cases sync/rules/lww.py decides."""

from __future__ import annotations

from sync.changeset import Mutation
from sync.rules import FieldClock, Merge, MergeContext, Overwrite, StoredRow
from sync.rules.lww import merge, node_of


def stamp(wall: int, node: str = "a") -> str:
    return f"{wall:015d}:00000:{node}"


def mutation(op="update", fields=None, wall=10, node="b", base=1) -> Mutation:
    return Mutation("m", "ticket", "t1", op, fields or {}, stamp(wall, node), base)


def stored(**fields) -> StoredRow:
    return StoredRow(dict(fields), {k: FieldClock(stamp(5, "a"), 1) for k in fields}, version=1)


def test_new_row_takes_every_field():
    result = merge(None, mutation("insert", {"status": "reported"}), 1)
    assert (result.outcome, result.writes) == ("applied", {"status": "reported"})


def test_later_write_to_a_field_wins_and_an_unseen_earlier_value_is_kept_as_overwritten():
    row = stored(urgency="normal")
    row.clock["urgency"] = FieldClock(stamp(5, "a"), 2)
    result = merge(row, mutation(fields={"urgency": "emergency"}, base=1), 3)
    assert result.writes == {"urgency": "emergency"}
    [lost] = result.overwrites
    assert (lost.winner, lost.lost_value, result.outcome) == ("incoming", "normal", "conflict")


def test_later_write_over_a_value_its_author_had_seen_is_a_plain_edit():
    result = merge(stored(urgency="normal"), mutation(fields={"urgency": "emergency"}, base=1), 2)
    assert (result.outcome, result.overwrites) == ("applied", [])


def test_earlier_write_that_had_not_seen_the_value_loses_and_its_value_is_kept():
    row = stored(urgency="normal")
    result = merge(row, mutation(fields={"urgency": "low"}, wall=1, base=None), 2)
    assert result.writes == {}
    [lost] = result.overwrites
    assert (lost.winner, lost.lost_value, lost.kept_value) == ("stored", "low", "normal")


def test_write_made_after_seeing_a_value_replaces_it_even_when_its_clock_says_earlier():
    row = stored(urgency="normal")  # written at 5 by device a, version 1
    result = merge(row, mutation(fields={"urgency": "low"}, wall=1, base=1), 2)  # b had pulled version 1
    assert (result.outcome, result.writes, result.overwrites) == ("applied", {"urgency": "low"}, [])


def test_a_devices_replayed_older_write_does_not_undo_its_newer_one():
    row = StoredRow({"name": "新"}, {"name": FieldClock(stamp(9, "b"), 2)}, 2)
    result = merge(row, mutation(fields={"name": "旧"}, wall=5, node="b", base=2), 3)
    assert result.writes == {}


def test_different_fields_merge_without_conflict():
    row = stored(urgency="normal")
    row.version = 3
    result = merge(row, mutation(fields={"diagnosis": "belt"}, base=1), 4)
    assert (result.outcome, result.writes) == ("merged", {"diagnosis": "belt"})


def test_update_against_a_tombstone_revives_the_row_and_records_the_delete_as_lost():
    row = stored(urgency="normal")
    row.deleted = True
    result = merge(row, mutation(fields={"diagnosis": "belt"}), 2)
    assert result.deleted_changed and not result.deleted
    assert result.overwrites[0].field == "_deleted" and result.outcome == "conflict"


def test_delete_that_did_not_see_a_concurrent_update_loses():
    row = stored(diagnosis="belt")
    row.clock["diagnosis"] = FieldClock(stamp(5, "a"), 2)
    result = merge(row, mutation("delete", base=1), 3)
    assert not result.deleted and result.outcome == "conflict"


def test_delete_after_seeing_everything_makes_a_tombstone():
    result = merge(stored(diagnosis="belt"), mutation("delete", base=1), 2)
    assert result.deleted and result.outcome == "applied"


def test_a_device_never_conflicts_with_its_own_earlier_write():
    row = StoredRow({"name": "a"}, {"name": FieldClock(stamp(5, "b"), 1)}, 1)
    result = merge(row, mutation(fields={"name": "b"}, node="b", base=None), 2)
    assert (result.outcome, result.overwrites) == ("applied", [])


def test_a_person_replacing_later_what_they_wrote_on_another_of_their_devices_leaves_no_note():
    row = StoredRow({"diagnosis": "皮带磨损"}, {"diagnosis": FieldClock(stamp(5, "phone"), 2)}, 2)
    tablet = mutation(fields={"diagnosis": "轴承卡死"}, wall=10, node="tablet", base=1)
    result = merge(row, tablet, 3, MergeContext("engineer", by_author=lambda s: s.endswith(":phone")))
    assert (result.outcome, result.writes, result.overwrites) == ("merged", {"diagnosis": "轴承卡死"}, [])


def test_another_persons_unseen_value_replaced_is_still_noted():
    row = StoredRow({"diagnosis": "皮带磨损"}, {"diagnosis": FieldClock(stamp(5, "chen"), 2)}, 2)
    wang = mutation(fields={"diagnosis": "轴承卡死"}, wall=10, node="wang-tablet", base=1)
    result = merge(row, wang, 3, MergeContext("engineer", by_author=lambda s: s.endswith(":wang-phone")))
    assert [(o.winner, o.lost_value) for o in result.overwrites] == [("incoming", "皮带磨损")]


def test_a_persons_earlier_write_arriving_after_their_later_one_loses_with_a_note():
    row = StoredRow({"diagnosis": "轴承卡死"}, {"diagnosis": FieldClock(stamp(10, "tablet"), 2)}, 2)
    phone = mutation(fields={"diagnosis": "皮带磨损"}, wall=5, node="phone", base=1)
    result = merge(row, phone, 3, MergeContext("engineer", by_author=lambda s: s.endswith(":tablet")))
    assert result.writes == {}
    assert [(o.winner, o.kept_value, o.lost_value) for o in result.overwrites] == [("stored", "轴承卡死", "皮带磨损")]


def test_desk_deleting_a_ticket_whose_unseen_diagnosis_王师傅_wrote_keeps_it_and_records_the_delete_as_lost():
    row = stored(diagnosis="皮带磨损", address="上海市浦东新区")
    row.clock["diagnosis"] = FieldClock(stamp(7, "a"), 2)
    row.clock["address"] = FieldClock(stamp(6, "a"), 2)
    result = merge(row, mutation("delete", wall=9, base=1), 3)
    assert (result.outcome, result.deleted, result.deleted_changed, result.writes, result.clock) == (
        "conflict", False, False, {}, {})
    assert result.overwrites == [Overwrite("_deleted", False, stamp(7, "a"), True, stamp(9, "b"), "stored")]


def test_a_seen_delete_makes_a_tombstone_stamped_with_the_delete_and_its_version():
    result = merge(stored(diagnosis="皮带磨损"), mutation("delete", wall=9, base=1), 2)
    assert (result.outcome, result.deleted, result.deleted_changed) == ("applied", True, True)
    assert result.clock == {"_deleted": FieldClock(stamp(9, "b"), 2)} and result.changed


def test_deleting_a_ticket_already_deleted_on_another_device_changes_nothing():
    row = stored(diagnosis="皮带磨损")
    row.deleted = True
    result = merge(row, mutation("delete", wall=9, base=1), 2)
    assert (result.outcome, result.changed, result.overwrites, result.clock) == ("applied", False, [], {})


def test_a_delete_of_a_row_the_server_never_had_creates_nothing_even_when_it_carries_fields():
    result = merge(None, mutation("delete", {"diagnosis": "皮带磨损"}, base=None), 1)
    assert result == Merge("applied")


def test_a_new_row_is_written_whole_at_the_inserts_stamp_and_version():
    result = merge(None, mutation("insert", {"status": "reported", "fault": "空调不制冷"}, wall=10), 1)
    at = FieldClock(stamp(10, "b"), 1)
    assert result == Merge("applied", writes={"status": "reported", "fault": "空调不制冷"},
                           clock={"status": at, "fault": at})


def test_two_devices_whose_ids_share_what_follows_a_colon_are_still_two_devices():
    assert node_of(stamp(5, "phone:王伟")) == "phone:王伟"
    row = StoredRow({"diagnosis": "皮带磨损"}, {"diagnosis": FieldClock(stamp(5, "phone:王伟"), 2)}, 2)
    result = merge(row, mutation(fields={"diagnosis": "轴承卡死"}, wall=10, node="tablet:王伟", base=1), 3)
    assert result.overwrites == [Overwrite("diagnosis", "轴承卡死", stamp(10, "tablet:王伟"), "皮带磨损",
                                           stamp(5, "phone:王伟"), "incoming")]


def test_王师傅s_diagnosis_reviving_a_ticket_the_desk_deleted_records_the_delete_at_its_own_stamp():
    row = stored(diagnosis="皮带磨损")
    row.deleted, row.version = True, 2
    row.clock["_deleted"] = FieldClock(stamp(7, "desk"), 2)
    result = merge(row, mutation(fields={"diagnosis": "轴承卡死"}, wall=9, node="wang", base=1), 3)
    at = FieldClock(stamp(9, "wang"), 3)
    assert result == Merge("conflict", writes={"diagnosis": "轴承卡死"}, clock={"_deleted": at, "diagnosis": at},
                           deleted_changed=True,
                           overwrites=[Overwrite("_deleted", False, stamp(9, "wang"), True, stamp(7, "desk"),
                                                 "incoming")])


def test_a_tombstone_kept_without_its_deletes_stamp_is_revived_with_an_unknown_delete_stamp():
    row = stored(diagnosis="皮带磨损")
    row.deleted = True
    result = merge(row, mutation(fields={"diagnosis": "皮带磨损"}, wall=9, node="wang", base=1), 2)
    assert result.overwrites == [Overwrite("_deleted", False, stamp(9, "wang"), True, "", "incoming")]


def test_each_side_of_a_concurrent_edit_is_on_record_with_field_values_and_stamps():
    row = StoredRow({"urgency": "normal", "diagnosis": "皮带磨损"},
                    {"urgency": FieldClock(stamp(5, "chen"), 2), "diagnosis": FieldClock(stamp(20, "chen"), 2)}, 2)
    result = merge(row, mutation(fields={"urgency": "emergency", "diagnosis": "轴承卡死"}, wall=10, node="wang",
                                 base=1), 3)
    assert result.overwrites == [
        Overwrite("urgency", "emergency", stamp(10, "wang"), "normal", stamp(5, "chen"), "incoming"),
        Overwrite("diagnosis", "皮带磨损", stamp(20, "chen"), "轴承卡死", stamp(10, "wang"), "stored"),
    ]
