"""Push authorization: each mutation is checked for its row (is it yours?) and its fields
(does your role own them?); a refused one is ``rejected`` with a code and the rest of the
change-set applies. Ids are guessed on purpose: knowing a row's id grants nothing."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.auth import add_device, add_user
from server.tables import entity_table
from sync import hlc
from sync.ids import new_id
from tests.conftest import Person, auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket, stock_setup

_CLOCKS: dict[str, hlc.Clock] = {}


def mutation(person: Person, entity: str, row_id: str, op: str = "update", base: int | None = None, **fields) -> dict:
    clock = _CLOCKS.setdefault(person.device_id, hlc.Clock(person.device_id))
    return {"mutation_id": new_id(), "entity": entity, "id": row_id, "op": op, "fields": fields,
            "hlc": str(clock.tick()), "base_version": base}


def push(client, person: Person, *mutations: dict) -> list[dict]:
    body = {"changeset_id": new_id(), "device_id": person.device_id, "schema_version": 1, "mutations": list(mutations)}
    response = client.post("/v1/sync/push", data=orjson.dumps(body),
                           headers={**auth_header(person), "Content-Type": "application/json"})
    assert response.status_code == 200, response.json
    return response.json["results"]


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().first()
    return dict(found) if found else None


@pytest.fixture
def world(people, replica_for):
    """Wang's and Chen's tickets, the main depot, each engineer's van, a part."""
    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    wang = desk_opens_ticket(desk, people["wang"].user_id)
    chen = desk_opens_ticket(desk, people["chen"].user_id)
    return {**where, "wang": wang, "chen": chen, "desk": desk}


def test_engineer_cannot_edit_another_engineers_ticket_by_guessing_its_id(client, people, world, engine):
    chen_ticket = world["chen"]["ticket"]
    [result] = push(client, people["wang"], mutation(people["wang"], "ticket", chen_ticket, base=1,
                                                     diagnosis="nothing wrong", fault_description="cancel it"))
    assert (result["status"], result["code"]) == ("rejected", "not_your_row")
    assert result["server_row"] is None  # nothing of Chen's ticket leaks in the answer
    row = server_row(engine, "ticket", chen_ticket)
    assert row["diagnosis"] is None and row["fault_description"] == "stops after ten minutes"


def test_engineer_cannot_log_work_sign_or_draw_parts_on_another_engineers_ticket_or_van(
        client, people, world, engine):
    wang, me = people["wang"], people["wang"].user_id
    chen_ticket, mine = world["chen"]["ticket"], world["wang"]["ticket"]
    attempts = {
        "work log on B's ticket": mutation(wang, "work_log", new_id(), "insert", ticket_id=chen_ticket,
                                           engineer_id=me, event="arrived", at="2026-11-23T09:40:00+08:00"),
        "signature on B's ticket": mutation(wang, "signature", new_id(), "insert", ticket_id=chen_ticket,
                                            blob_sha256="a" * 64, report_hash="b" * 64, signer_name="forged"),
        "part from B's van for my ticket": mutation(wang, "stock_movement", new_id(), "insert", kind="consume",
                                                    part_id=world["part"], qty=1.0, ticket_id=mine,
                                                    from_location_id=world["van_chen"]),
        "part moved out of B's van into mine": mutation(wang, "stock_movement", new_id(), "insert", kind="transfer",
                                                        part_id=world["part"], qty=1.0,
                                                        from_location_id=world["van_chen"],
                                                        to_location_id=world["van_wang"]),
        "old part on B's ticket": mutation(wang, "old_part_return", new_id(), "insert", ticket_id=chen_ticket,
                                           part_id=world["part"], qty=1.0, engineer_id=me, status="expected"),
        "work log in B's name on my ticket": mutation(wang, "work_log", new_id(), "insert", ticket_id=mine,
                                                      engineer_id=people["chen"].user_id, event="note"),
        "expense claim in B's name": mutation(wang, "expense_claim", new_id(), "insert",
                                              engineer_id=people["chen"].user_id, kind="claim", amount=900.0),
    }
    mine_too = mutation(wang, "work_log", new_id(), "insert", ticket_id=mine, engineer_id=me, event="arrived",
                        at="2026-11-23T09:40:00+08:00")
    *refused, kept = push(client, wang, *attempts.values(), mine_too)
    for name, result in zip(attempts, refused, strict=True):
        assert (result["status"], result["code"]) == ("rejected", "not_your_row"), name
    assert kept["status"] == "applied"  # the rest of the change-set applies
    for name, attempt in attempts.items():
        assert server_row(engine, attempt["entity"], attempt["id"]) is None, name


def test_engineer_who_clears_his_name_from_his_own_expense_claim_is_refused_the_claim_would_be_nobodys(
        client, people, world, engine):
    """王伟's claim for a taxi to 华信印刷厂: clearing its engineer would take it out of
    his scope, and out of every engineer's; the claim stays his."""
    wang = people["wang"]
    claim = new_id()
    [made] = push(client, wang, mutation(wang, "expense_claim", claim, "insert", engineer_id=wang.user_id,
                                         kind="claim", amount=86.5, description="打车去华信印刷厂"))
    assert made["status"] == "applied"
    [result] = push(client, wang, mutation(wang, "expense_claim", claim, base=1, engineer_id=None))
    assert (result["status"], result["code"], result["message"]) == (
        "rejected", "not_your_row",
        "expense_claim: the row would not be in your scope: name your own ticket, van or id")
    assert server_row(engine, "expense_claim", claim)["engineer_id"] == wang.user_id


def test_engineer_who_writes_himself_as_assignee_of_a_ticket_already_stored_is_refused_the_field(
        client, people, world, engine):
    """Only a new row is claimed by naming oneself its owner: a ticket already stored is
    given out by the desk, so 王伟 writing himself onto 陈师傅's is refused for the field
    (``assignee_id`` is the office's), before any question of whose row it is."""
    wang = people["wang"]
    chen_ticket = world["chen"]["ticket"]
    [result] = push(client, wang, mutation(wang, "ticket", chen_ticket, base=1, assignee_id=wang.user_id))
    assert (result["status"], result["code"], result["field"]) == ("rejected", "field_not_owned", "assignee_id")
    assert server_row(engine, "ticket", chen_ticket)["assignee_id"] == people["chen"].user_id


def test_engineer_may_hand_a_part_to_another_van_or_the_depot_but_only_from_his_own(client, people, world):
    wang = people["wang"]
    to_chen = mutation(wang, "stock_movement", new_id(), "insert", kind="transfer", part_id=world["part"], qty=1.0,
                       from_location_id=world["van_wang"], to_location_id=world["van_chen"])
    to_depot = mutation(wang, "stock_movement", new_id(), "insert", kind="transfer", part_id=world["part"],
                        qty=1.0, from_location_id=world["van_wang"], to_location_id=world["depot"])
    into_depot_alone = mutation(wang, "stock_movement", new_id(), "insert", kind="receive", part_id=world["part"],
                                qty=5.0, to_location_id=world["depot"])
    results = push(client, wang, to_chen, to_depot, into_depot_alone)
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    assert results[2]["code"] == "not_your_row"  # the depot's stock is the depot keeper's to book


def test_engineer_cannot_write_the_assignee_nor_open_a_ticket_for_someone_else(client, people, world, replica_for):
    wang, chen = people["wang"], people["chen"]
    mine = world["wang"]["ticket"]
    give_away, for_chen, for_me = push(
        client, wang,
        mutation(wang, "ticket", mine, base=1, assignee_id=chen.user_id),
        mutation(wang, "ticket", new_id(), "insert", status="on_site", assignee_id=chen.user_id),
        mutation(wang, "ticket", opened := new_id(), "insert", status="on_site", fault_description="found on site",
                 customer_id=world["wang"]["customer"], assignee_id=wang.user_id),
    )
    assert (give_away["code"], give_away["field"]) == ("field_not_owned", "assignee_id")
    assert (for_chen["code"], for_chen["field"]) == ("field_not_owned", "assignee_id")
    assert for_me["status"] == "applied"  # an engineer opening a ticket takes it himself
    replica = replica_for(wang)
    replica.sync()
    assert replica.get("ticket", opened)["fault_description"] == "found on site"
    other = replica_for(chen)
    other.sync()
    assert other.get("ticket", opened) is None


def test_depot_keeper_cannot_write_a_diagnosis_nor_touch_a_ticket(client, people, world, engine):
    depot, ticket = people["depot"], world["wang"]["ticket"]
    diagnosis, note = push(client, depot, mutation(depot, "ticket", ticket, base=1, diagnosis="belt"),
                           mutation(depot, "ticket", ticket, base=1, fault_description="it is fine"))
    assert (diagnosis["code"], diagnosis["field"]) == ("field_not_owned", "diagnosis")
    assert note["code"] == "not_your_row"
    assert server_row(engine, "ticket", ticket)["fault_description"] == "stops after ten minutes"


def test_depot_keeper_writes_only_the_rows_of_his_own_depot(client, people, world, engine, replica_for):
    with engine.begin() as conn:
        add_user(conn, "north keeper", "depot", user_id="u-north", depot_id="depot-north")
        _, token = add_device(conn, "u-north", "north's device", device_id="d-north")
    north = Person("u-north", "depot", "d-north", token)
    north_depot = world["desk"].insert("stock_location", kind="depot", name="North depot", depot_id="depot-north")
    world["desk"].sync()
    wang = people["wang"]
    old = new_id()
    [sent] = push(client, wang, mutation(wang, "old_part_return", old, "insert", ticket_id=world["wang"]["ticket"],
                                         part_id=world["part"], qty=1.0, engineer_id=wang.user_id,
                                         depot_location_id=world["depot"], status="collected"))
    assert sent["status"] == "applied"
    received, from_main, from_north = push(
        client, north,
        mutation(north, "old_part_return", old, base=1, status="received", received_by="u-north"),
        mutation(north, "stock_movement", new_id(), "insert", kind="transfer", part_id=world["part"], qty=1.0,
                 from_location_id=world["depot"], to_location_id=north_depot),
        mutation(north, "stock_movement", new_id(), "insert", kind="transfer", part_id=world["part"], qty=1.0,
                 from_location_id=north_depot, to_location_id=world["depot"]),
    )
    assert (received["code"], from_main["code"]) == ("not_your_row", "not_your_row")
    assert from_north["status"] == "applied"  # sending to another depot is fine
    main = people["depot"]
    [ok] = push(client, main, mutation(main, "old_part_return", old, base=1, status="received",
                                       received_by=main.user_id))
    assert ok["status"] == "applied"


def test_desk_and_manager_write_any_row(client, people, world, engine):
    desk, manager, ticket = people["desk"], people["manager"], world["wang"]["ticket"]
    [urgency] = push(client, manager, mutation(manager, "ticket", ticket, base=1, urgency="emergency"))
    [logged] = push(client, desk, mutation(desk, "work_log", new_id(), "insert", ticket_id=ticket,
                                           engineer_id=people["wang"].user_id, event="note", note="customer called"))
    assert urgency["status"] != "rejected" and logged["status"] == "applied"


def test_engineer_deleting_his_own_ticket_or_the_customer_is_refused_and_both_stay(client, people, world, engine):
    """王伟 tries to clear a job from his list by deleting it, and the customer with it:
    only the office deletes tickets and customers. Each delete is refused with the role
    and the entity named, and both rows stay as they were."""
    wang, ticket, customer = people["wang"], world["wang"]["ticket"], world["wang"]["customer"]
    job, client_row = push(client, wang, mutation(wang, "ticket", ticket, "delete", base=1),
                           mutation(wang, "customer", customer, "delete", base=1))
    assert [(r["status"], r["code"], r["message"]) for r in (job, client_row)] == [
        ("rejected", "not_allowed", "an engineer may not delete a ticket"),
        ("rejected", "not_allowed", "an engineer may not delete a customer")]
    assert not server_row(engine, "ticket", ticket)["deleted"] and not server_row(engine, "customer", customer)["deleted"]


def test_only_depot_and_office_change_the_part_catalog_and_only_the_office_a_contract(client, people, world, engine):
    wang, depot = people["wang"], people["depot"]
    contract = world["desk"].insert("contract", number="MC-1", response_hours=4.0)
    world["desk"].update("ticket", world["wang"]["ticket"], contract_id=contract)
    world["desk"].sync()
    price, faster_deadline = push(client, wang, mutation(wang, "part", world["part"], base=1, price=1.0),
                                  mutation(wang, "contract", contract, base=1, response_hours=400.0))
    assert price["code"] == "not_allowed"
    assert (faster_deadline["code"], faster_deadline["field"]) == ("field_not_owned", "response_hours")
    [renamed] = push(client, depot, mutation(depot, "part", world["part"], base=1, name="Drive belt, 200 mm"))
    assert renamed["status"] == "applied"
    assert server_row(engine, "part", world["part"])["price"] == 80.0


def test_server_owned_and_bookkeeping_fields_sent_by_a_device_are_never_stored(client, people, world, engine):
    desk, ticket = people["desk"], world["wang"]["ticket"]
    before = server_row(engine, "ticket", ticket)
    fields = ["number", "needs_review", "version", "created_at", "author_device", "deleted", "clock", "id"]
    results = push(client, desk, *[mutation(desk, "ticket", ticket, base=1, urgency="emergency", **{name: "7"})
                                   for name in fields])
    for name, result in zip(fields, results, strict=True):
        assert result["status"] == "rejected", name
        assert result["code"] in ("server_owned_field", "unknown_field") and result["field"] == name
    assert server_row(engine, "ticket", ticket) == before


def test_work_done_offline_on_a_ticket_reassigned_meanwhile_is_kept_whole(people, replica_for, world, engine):
    """The engineer could not know: his edits (the equipment's run hours too), work log,
    parts, old part and the customer's signature all count; the ticket then leaves his
    replica and his own records stay."""
    wang, chen, desk = replica_for(people["wang"]), replica_for(people["chen"]), world["desk"]
    ticket = world["wang"]["ticket"]
    wang.sync()
    me = people["wang"].user_id
    log = wang.insert("work_log", ticket_id=ticket, engineer_id=me, event="arrived", at="2026-11-23T09:40:00+08:00")
    used = wang.insert("stock_movement", kind="consume", part_id=world["part"], qty=1.0,
                       from_location_id=world["van_wang"], ticket_id=ticket)
    old = wang.insert("old_part_return", ticket_id=ticket, part_id=world["part"], qty=1.0, engineer_id=me,
                      depot_location_id=world["depot"], status="collected")
    signature = complete_and_sign(wang, ticket)
    wang.update("equipment", world["wang"]["equipment"], run_hours=1520.0)
    desk.update("ticket", ticket, assignee_id=people["chen"].user_id)
    desk.sync()
    report = wang.sync()
    assert report.rejected == 0, wang.parked()
    assert server_row(engine, "ticket", ticket)["diagnosis"] == "worn drive belt"
    assert server_row(engine, "equipment", world["wang"]["equipment"])["run_hours"] == 1520.0
    chen.sync()
    for entity, row_id in (("work_log", log), ("stock_movement", used), ("old_part_return", old),
                           ("signature", signature), ("ticket", ticket)):
        assert chen.get(entity, row_id) is not None, entity
    assert wang.get("ticket", ticket) is None and wang.get("signature", signature) is None
    assert wang.get("work_log", log) is not None and wang.get("stock_movement", used) is not None


def test_engineer_who_learned_of_the_reassignment_cannot_write_the_ticket_again(client, people, world, replica_for,
                                                                                 engine):
    wang = replica_for(people["wang"])
    ticket = world["wang"]["ticket"]
    wang.sync()
    world["desk"].update("ticket", ticket, assignee_id=people["chen"].user_id)
    world["desk"].sync()
    wang.sync()
    assert wang.get("ticket", ticket) is None
    version = server_row(engine, "ticket", ticket)["version"]
    [result] = push(client, people["wang"], mutation(people["wang"], "ticket", ticket, base=version,
                                                     diagnosis="still mine?"))
    assert (result["code"], result["server_row"]) == ("not_your_row", None)


def test_王师傅s_guess_at_陈师傅s_ticket_is_refused_saying_which_row_and_why(client, people, world):
    wang = people["wang"]
    [result] = push(client, wang, mutation(wang, "ticket", world["chen"]["ticket"], base=1, diagnosis="无故障"))
    assert (result["code"], result["message"]) == ("not_your_row", "ticket: this row is not in your scope")
    [claim] = push(client, wang, mutation(wang, "expense_claim", new_id(), "insert", engineer_id=wang.user_id,
                                          kind="claim", amount=86.5, ticket_id=world["chen"]["ticket"]))
    assert (claim["code"], claim["message"]) == (
        "not_your_row", "expense_claim: expense_claim.ticket_id names a ticket outside your scope")


def test_王师傅s_refused_edit_of_his_contracts_terms_hands_back_the_contract_without_them_the_desks_with_them(
        client, people, replica_for, engine):
    desk = replica_for(people["desk"])
    contract = desk.insert("contract", number="MC-2612-003", response_hours=4.0,
                           terms="年费两万元；逾期到场每小时扣款五百元")
    desk_opens_ticket(desk, people["wang"].user_id, contract_id=contract)
    wang = people["wang"]
    [result] = push(client, wang, mutation(wang, "contract", contract, base=1, terms="年费一万元"))
    assert (result["status"], result["field"]) == ("rejected", "terms")
    assert result["server_row"]["data"]["number"] == "MC-2612-003"
    assert "terms" not in result["server_row"]["data"]
    assert server_row(engine, "contract", contract)["terms"] == "年费两万元；逾期到场每小时扣款五百元"
    desk_pc = people["desk"]
    [refused] = push(client, desk_pc, mutation(desk_pc, "contract", contract, base=1, 颜色="红"))
    assert refused["code"] == "unknown_field"
    assert refused["server_row"]["data"]["terms"] == "年费两万元；逾期到场每小时扣款五百元"





def test_the_depot_count_names_王师傅_or_the_desk_clerk_who_counted_it_never_a_person_the_server_does_not_know(
        client, people, world):
    keeper = people["depot"]

    def count(counted_by: str) -> dict:
        return mutation(keeper, "stock_count", new_id(), "insert", location_id=world["depot"], counted_by=counted_by,
                        counted_at="2026-11-30T17:00:00+08:00")

    by_wang, by_desk, by_nobody = push(client, keeper, count(people["wang"].user_id), count(people["desk"].user_id),
                                       count("u-nobody-01"))
    assert (by_wang["status"], by_desk["status"]) == ("applied", "applied")
    assert (by_nobody["status"], by_nobody["code"], by_nobody["field"], by_nobody["message"]) == (
        "rejected", "not_your_row", "counted_by",
        "stock_count: stock_count.counted_by names a person whose work is not yours")


def test_王师傅_offline_names_the_customer_and_ticket_that_left_him_unseen_even_from_an_often_edited_claim(
        client, people, world, replica_for, engine):
    """The customer came with the ticket, which left him unseen; his claim, edited more
    often than the ticket was, may name the ticket too: the claim's own version says
    nothing of when the ticket left him."""
    wang = replica_for(people["wang"])
    wang.sync()
    ticket, customer, me = world["wang"]["ticket"], world["wang"]["customer"], people["wang"].user_id
    claim = wang.insert("expense_claim", engineer_id=me, kind="claim", amount=86.5, description="往返过路费")
    wang.sync()
    for times in range(server_row(engine, "ticket", ticket)["version"] + 1):
        wang.update("expense_claim", claim, description=f"往返过路费（第{times + 1}次修改）")
        wang.sync()
    printer = wang.insert("equipment", customer_id=customer, model="HX-300", serial="SN-现场-07")
    wang.update("expense_claim", claim, ticket_id=ticket)
    world["desk"].update("ticket", ticket, assignee_id=people["chen"].user_id)
    world["desk"].sync()
    assert wang.sync().rejected == 0, wang.parked()
    assert server_row(engine, "equipment", printer)["customer_id"] == customer
    assert server_row(engine, "expense_claim", claim)["ticket_id"] == ticket


def test_王师傅s_part_drawn_with_an_empty_holder_is_his_own_consumption_not_a_stranger_named(
        client, people, world, engine):
    """His phone's form sends every field, the holder left empty (``null``): an empty
    person reference names nobody, and the server puts him down as the holder."""
    wang = people["wang"]
    used = new_id()
    [result] = push(client, wang, mutation(wang, "stock_movement", used, "insert", kind="consume",
                                           part_id=world["part"], qty=1.0, from_location_id=world["van_wang"],
                                           ticket_id=world["wang"]["ticket"], held_by=None, note="更换传动皮带"))
    assert result["status"] == "applied", result
    assert server_row(engine, "stock_movement", used)["held_by"] == wang.user_id


@pytest.fixture
def huang(engine) -> Person:
    """黄师傅 of the Guangzhou branch, whose staff id carries the branch: ``gz:huang``."""
    with engine.begin() as conn:
        add_user(conn, "黄师傅", "engineer", user_id="gz:huang")
        _, token = add_device(conn, "gz:huang", "黄师傅的手机", device_id="d-gz-huang")
    return Person("gz:huang", "engineer", "d-gz-huang", token)


def test_黄师傅_whose_id_holds_a_colon_cannot_draw_a_part_from_陈师傅s_van_for_his_own_ticket(
        client, people, world, huang, engine):
    """A scope key is ``<kind>:<id>`` and an id may hold a colon: 陈师傅's van is another
    engineer's all the same (the kind is what comes before the first colon)."""
    mine = desk_opens_ticket(world["desk"], huang.user_id, fault_description="空调外机异响")["ticket"]
    taken, drawn = new_id(), new_id()
    from_chen, from_nobody = push(
        client, huang,
        mutation(huang, "stock_movement", taken, "insert", kind="consume", part_id=world["part"], qty=1.0,
                 from_location_id=world["van_chen"], ticket_id=mine),
        mutation(huang, "work_log", drawn, "insert", ticket_id=mine, engineer_id=huang.user_id, event="arrived",
                 at="2026-11-23T09:40:00+08:00"))
    assert (from_chen["status"], from_chen["code"], from_chen["field"], from_chen["message"]) == (
        "rejected", "not_your_row", "from_location_id",
        "stock_movement: stock_movement.from_location_id names a row in someone else's scope")
    assert from_nobody["status"] == "applied"
    assert server_row(engine, "stock_movement", taken) is None


def test_an_edit_claiming_the_version_of_the_move_but_stamped_before_it_is_not_work_done_unaware(
        client, people, world, engine):
    """A device that sends the version the reassignment wrote had pulled the move: an
    edit of it stamped earlier (a clock set back) is no offline work done unaware."""
    wang, ticket = people["wang"], world["wang"]["ticket"]
    early = mutation(wang, "ticket", ticket, diagnosis="皮带打滑")  # stamped now, sent later
    world["desk"].update("ticket", ticket, assignee_id=people["chen"].user_id)
    world["desk"].sync()
    moved = server_row(engine, "ticket", ticket)
    [result] = push(client, wang, {**early, "base_version": moved["version"]})
    assert (result["status"], result["code"], result["server_row"]) == ("rejected", "not_your_row", None)
    assert server_row(engine, "ticket", ticket) == moved
    [unaware] = push(client, wang, {**early, "mutation_id": new_id(), "base_version": moved["version"] - 1})
    assert unaware["status"] == "merged", unaware  # beside the desk's later move
    assert server_row(engine, "ticket", ticket)["diagnosis"] == "皮带打滑"


def test_the_main_depots_keeper_crews_a_shelf_of_his_depot_but_opens_none_for_the_north_depot(
        client, people, world, engine):
    """A stock location is in the catalog and in its depot's and holders' scopes: the
    keeper writes his own depot's, never another depot's."""
    keeper = people["depot"]
    station, north_station = new_id(), new_id()
    opened, elsewhere = push(
        client, keeper,
        mutation(keeper, "stock_location", station, "insert", kind="station", name="亦庄服务站", depot_id="depot-main"),
        mutation(keeper, "stock_location", north_station, "insert", kind="station", name="昌平服务站",
                 depot_id="depot-north"))
    assert opened["status"] == "applied"
    assert (elsewhere["status"], elsewhere["code"], elsewhere["field"]) == ("rejected", "not_your_row", "depot_id")
    [crewed] = push(client, keeper, mutation(keeper, "stock_location", station, base=1,
                                             crew=[people["wang"].user_id, people["chen"].user_id]))
    assert crewed["status"] == "applied", crewed
    assert orjson.loads(server_row(engine, "stock_location", station)["crew"]) == ["u-wang", "u-chen"]
    assert server_row(engine, "stock_location", north_station) is None
