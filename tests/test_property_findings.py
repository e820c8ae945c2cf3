"""Situations the property test (``test_property_sync.py``) found wrong, kept as plain
scenarios so each stays fixed whatever the random search happens to try next."""

from __future__ import annotations

from tests.scenario import complete_and_sign, desk_opens_ticket, stock_setup


def _holds(replica, ids: dict[str, str]) -> dict[str, bool]:
    return {entity: replica.get(entity, row_id) is not None for entity, row_id in ids.items()}


def test_desk_keeps_a_ticket_it_reassigned_from_one_engineer_to_another(people, replica_for):
    # The desk reads the whole log, evictions meant for the old engineer included: it
    # used to apply them and lose the ticket, its customer and its equipment.
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    assert _holds(desk, ids) == {"customer": True, "equipment": True, "ticket": True}
    assert desk.get("ticket", ids["ticket"])["assignee_id"] == people["chen"].user_id
    wang.sync()
    assert _holds(wang, ids) == {"customer": False, "equipment": False, "ticket": False}


def test_deleted_ticket_takes_its_customer_and_equipment_off_the_engineers_device(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    wang.sync()
    assert _holds(wang, ids) == {"customer": False, "equipment": False, "ticket": False}


def test_customer_edited_in_the_push_that_deletes_its_last_ticket_leaves_the_engineers_device(people, replica_for):
    # The customer's own entry in that push goes to the keys it has now (none); the
    # engineer who had it must still be told it left.
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.update("customer", ids["customer"], phone="010-6555-0199")
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    wang.sync()
    assert _holds(wang, ids) == {"customer": False, "equipment": False, "ticket": False}


def test_customer_deleted_in_the_push_that_reassigns_its_ticket_leaves_the_old_engineers_device(people, replica_for):
    # The customer's delete goes to the engineer the ticket has now; the one it had
    # before must still hear the customer is gone.
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.delete("customer", ids["customer"])
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    wang.sync()
    chen.sync()
    assert _holds(wang, ids) == {"customer": False, "equipment": False, "ticket": False}
    assert _holds(chen, ids) == {"customer": False, "equipment": True, "ticket": True}


# A write that loses to a value its author's device already holds changes nothing on the
# server, so no pull would ever correct the device: the answer carries the row to put back.


def test_engineer_who_moves_a_ticket_back_sees_the_status_the_server_kept(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], status="on_site")
    wang.sync()
    wang.update("ticket", ids["ticket"], status="accepted")  # a slip of the finger: tickets never go back
    wang.sync()
    assert wang.get("ticket", ids["ticket"])["status"] == "on_site"


def test_edit_that_loses_to_a_newer_value_already_pulled_shows_the_newer_value(people, timeline):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("customer", ids["customer"], phone="010-6555-0111")  # offline, earlier
    timeline.advance(60_000)
    desk.update("customer", ids["customer"], phone="010-6555-0222")  # later: it wins
    desk.sync()
    wang.pull()  # the desk's number arrives while Wang's edit waits
    wang.sync()
    desk.sync()
    assert wang.get("customer", ids["customer"])["phone"] == desk.get("customer", ids["customer"])["phone"] \
        == "010-6555-0222"


def test_delete_that_loses_to_an_update_it_never_saw_brings_the_row_back_to_the_desk(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.delete("customer", ids["customer"])  # offline
    wang.update("customer", ids["customer"], contact="Mr. Liu's daughter")
    wang.sync()
    desk.pull()  # the update arrives while the delete waits: the row stays gone locally
    desk.sync()  # the delete loses: the customer stays, with the update
    assert desk.get("customer", ids["customer"])["contact"] == "Mr. Liu's daughter"


# A phone whose clock runs more than five minutes fast has each write re-stamped with the
# server's time. All writes of one push used to get the same time (counters aside), so
# they tied or swapped: a device's later write no longer came after its earlier one.


TEN_MINUTES_FAST = 10 * 60_000


def test_signature_captured_after_completion_on_a_fast_phone_is_kept_when_both_sync_together(people, timeline):
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"], skew_ms=TEN_MINUTES_FAST)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    signature = complete_and_sign(wang, ids["ticket"])  # offline: completed, then signed
    wang.sync()
    assert wang.parked() == []  # was refused: "the customer signs after the work is completed"
    desk.sync()
    assert desk.get("signature", signature) is not None


def test_fast_phones_second_edit_of_a_field_in_one_sync_wins_over_its_first(people, timeline):
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"], skew_ms=TEN_MINUTES_FAST)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], diagnosis="belt slipping")
    timeline.advance(60_000)  # a minute later he corrects it
    wang.update("ticket", ids["ticket"], diagnosis="belt worn through")
    wang.sync()
    desk.sync()
    assert desk.get("ticket", ids["ticket"])["diagnosis"] == wang.get("ticket", ids["ticket"])["diagnosis"] \
        == "belt worn through"


# A ticket the desk deleted is brought back by field work that was made before the delete
# and arrives after it (update beats delete: field work is never discarded). Its rows
# were evicted from its engineer with the delete, and used to stay away when it came back.


def _belt_fitted_on_chens_job(desk, chen, people) -> dict[str, str]:
    """Chen fits a belt from his van on his job; the old one is expected at the depot."""
    where = stock_setup(desk, people)
    ids = desk_opens_ticket(desk, people["chen"].user_id, fault_description="皮带磨损，运行十分钟后停机")
    chen.sync()
    chen.update("ticket", ids["ticket"], status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    ids["stock_movement"] = chen.insert(
        "stock_movement", kind="consume", part_id=where["part"], qty=1.0, condition="new",
        from_location_id=where["van_chen"], ticket_id=ids["ticket"], held_by=people["chen"].user_id,
        note="更换传动皮带")
    ids["old_part_return"] = chen.insert(
        "old_part_return", ticket_id=ids["ticket"], part_id=where["part"], qty=1.0,
        engineer_id=people["chen"].user_id, depot_location_id=where["depot"], status="expected")
    chen.sync()
    return ids


def test_ticket_the_desk_deleted_comes_back_whole_to_its_new_engineer_when_the_old_ones_signing_revives_it(
        people, replica_for):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    ids = _belt_fitted_on_chens_job(desk, chen, people)
    signature = complete_and_sign(chen, ids["ticket"])  # offline, at the customer's
    desk.update("ticket", ids["ticket"], assignee_id=people["wang"].user_id)
    desk.sync()
    wang.sync()
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    wang.sync()
    assert _holds(wang, {k: ids[k] for k in ("ticket", "stock_movement", "old_part_return")}) == {
        "ticket": False, "stock_movement": False, "old_part_return": False}
    chen.sync()  # the signed-off work arrives after the delete: the ticket lives again, Wang's
    wang.sync()
    desk.sync()
    assert desk.get("ticket", ids["ticket"])["assignee_id"] == people["wang"].user_id
    assert _holds(wang, {**ids, "signature": signature}) == {
        "customer": True, "equipment": True, "ticket": True, "stock_movement": True, "old_part_return": True,
        "signature": True}
    # the report Wang's device works out is the one the customer signed: the belt is on it
    assert wang.report_hash(ids["ticket"]) == wang.get("signature", signature)["report_hash"]
    # Chen keeps what his van and his hands hold: the belt he used and the old one to bring back
    assert _holds(chen, ids) == {"customer": False, "equipment": False, "ticket": False, "stock_movement": True,
                                 "old_part_return": True}


def test_belt_used_on_a_ticket_the_desk_deletes_stays_in_the_ledger_with_the_engineer_who_held_it(
        people, replica_for):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    depot = replica_for(people["depot"])
    ids = _belt_fitted_on_chens_job(desk, chen, people)
    desk.update("ticket", ids["ticket"], assignee_id=people["wang"].user_id)
    desk.sync()
    wang.sync()
    assert _holds(wang, {k: ids[k] for k in ("stock_movement", "old_part_return")}) == {
        "stock_movement": True, "old_part_return": True}
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    for device in (wang, chen, depot):
        device.sync()
    parts = {k: ids[k] for k in ("ticket", "stock_movement", "old_part_return")}
    assert _holds(desk, parts) == {"ticket": False, "stock_movement": True, "old_part_return": True}
    assert _holds(chen, parts) == {"ticket": False, "stock_movement": True, "old_part_return": True}
    assert _holds(depot, parts) == {"ticket": False, "stock_movement": False, "old_part_return": True}
    assert _holds(wang, parts) == {"ticket": False, "stock_movement": False, "old_part_return": False}
