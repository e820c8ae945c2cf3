"""Pull scopes: each role gets what its work needs and nothing else, and a reassigned
ticket moves — whole — from one engineer's replica to the other's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server import scopes
from server.tables import change_log, change_scope, entity_table
from sync.ids import new_id
from sync.registry import REGISTRY
from server.auth import add_device, add_user
from tests.conftest import Person, auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket, stock_setup
from tests.test_authorization import mutation, push, server_row


def pulled(client, person) -> set[tuple[str, str]]:
    """Every ``(entity, id)`` a fresh replica of ``person`` receives, evictions aside."""
    body = client.get("/v1/sync/pull?limit=1000", headers=auth_header(person)).json
    assert not body["has_more"]
    return {(c["entity"], c["id"]) for c in body["changes"] if c["op"] == "upsert"}


@pytest.fixture
def field_work(people, replica_for):
    """Each engineer's ticket with all that hangs on it, depot work, and office-only records."""
    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    north = desk.insert("stock_location", kind="depot", name="North depot", depot_id="depot-north")
    rows: dict[str, dict[str, str]] = {}
    for name in ("wang", "chen"):
        contract = desk.insert("contract", number=f"MC-{name}", response_hours=4.0, terms="2,000 yuan a year")
        ids = desk_opens_ticket(desk, people[name].user_id, contract_id=contract)
        ids["contract"] = contract
        rows[name] = ids
    desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=9.0, to_location_id=where["depot"])
    north_stock = desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=4.0, to_location_id=north)
    survey = desk.insert("satisfaction_survey", ticket_id=rows["wang"]["ticket"], skill=4)
    complaint = desk.insert("complaint", ticket_id=rows["wang"]["ticket"], description="late", status="open")
    desk.sync()
    for name in ("wang", "chen"):
        engineer, ids, me = replica_for(people[name]), rows[name], people[name].user_id
        engineer.sync()
        ids["requisition"] = engineer.insert("requisition", engineer_id=me, depot_location_id=where["depot"],
                                             lines=[{"part_id": where["part"], "qty": 2}])
        ids["work_log"] = engineer.insert("work_log", ticket_id=ids["ticket"], engineer_id=me, event="arrived")
        ids["issued"] = desk.insert("stock_movement", kind="transfer", part_id=where["part"], qty=2.0,
                                    from_location_id=where["depot"], to_location_id=where[f"van_{name}"])
        ids["consumed"] = engineer.insert("stock_movement", kind="consume", part_id=where["part"], qty=1.0,
                                          from_location_id=where[f"van_{name}"], ticket_id=ids["ticket"])
        ids["old_part"] = engineer.insert("old_part_return", ticket_id=ids["ticket"], part_id=where["part"],
                                          qty=1.0, engineer_id=me, depot_location_id=where["depot"],
                                          status="collected")
        ids["signature"] = complete_and_sign(engineer, ids["ticket"])
        desk.sync()
        engineer.sync()
    return {**where, **rows, "north": north, "north_stock": north_stock, "survey": survey, "complaint": complaint}


def _hanging_on(ids: dict) -> set[tuple[str, str]]:
    return {("ticket", ids["ticket"]), ("customer", ids["customer"]), ("equipment", ids["equipment"]),
            ("contract", ids["contract"]), ("work_log", ids["work_log"]), ("stock_movement", ids["consumed"]),
            ("stock_movement", ids["issued"]), ("old_part_return", ids["old_part"]),
            ("signature", ids["signature"]), ("requisition", ids["requisition"])}


def test_engineer_pulls_his_tickets_and_what_they_need_his_van_and_the_catalog_and_nothing_else(
        client, people, field_work):
    got = pulled(client, people["wang"])
    assert _hanging_on(field_work["wang"]) <= got
    assert ("part", field_work["part"]) in got
    assert not _hanging_on(field_work["chen"]) & got  # nothing of Chen's
    for office_only in (("satisfaction_survey", field_work["survey"]), ("complaint", field_work["complaint"]),
                        ("stock_movement", field_work["north_stock"])):
        assert office_only not in got
    entities = {entity for entity, _ in got}
    assert entities <= {"ticket", "customer", "equipment", "contract", "work_log", "stock_movement",
                        "old_part_return", "signature", "requisition", "part", "stock_location"}


def test_depot_keeper_pulls_his_depots_stock_returns_and_requisitions_and_the_catalog(client, people, field_work):
    got = pulled(client, people["depot"])
    for name in ("wang", "chen"):
        ids = field_work[name]
        assert {("stock_movement", ids["issued"]), ("old_part_return", ids["old_part"]),
                ("requisition", ids["requisition"])} <= got
        assert not {("ticket", ids["ticket"]), ("customer", ids["customer"]), ("work_log", ids["work_log"]),
                    ("signature", ids["signature"]), ("stock_movement", ids["consumed"])} & got
    assert ("part", field_work["part"]) in got
    assert ("stock_movement", field_work["north_stock"]) not in got  # another depot's


@pytest.mark.parametrize("role", ["desk", "manager"])
def test_desk_and_manager_pull_everything(client, people, field_work, role):
    got = pulled(client, people[role])
    assert _hanging_on(field_work["wang"]) | _hanging_on(field_work["chen"]) <= got
    assert {("satisfaction_survey", field_work["survey"]), ("complaint", field_work["complaint"]),
            ("stock_movement", field_work["north_stock"])} <= got


def test_contract_terms_go_to_head_office_not_to_the_field(people, replica_for, field_work):
    wang, desk = replica_for(people["wang"]), replica_for(people["desk"])
    wang.sync()
    desk.sync()
    contract = field_work["wang"]["contract"]
    assert wang.get("contract", contract)["response_hours"] == 4.0
    assert wang.get("contract", contract)["terms"] is None
    assert desk.get("contract", contract)["terms"] == "2,000 yuan a year"


def test_reassigned_ticket_leaves_after_pending_edits_are_pushed_and_arrives_whole(people, replica_for, field_work,
                                                                                  engine):
    wang, chen, desk = replica_for(people["wang"]), replica_for(people["chen"]), replica_for(people["desk"])
    ids = field_work["wang"]
    wang.sync()
    chen.sync()
    wang.update("ticket", ids["ticket"], cause="belt worn through")  # offline
    desk.sync()
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    wang.pull()  # learns of the move with the edit still pending: the ticket stays until pushed
    assert wang.get("ticket", ids["ticket"])["cause"] == "belt worn through"
    wang.push()
    assert wang.get("ticket", ids["ticket"]) is None
    wang.pull()
    for entity in ("ticket", "customer", "equipment", "contract", "signature"):
        assert wang.get(entity, ids[entity]) is None, entity
    assert wang.get("work_log", ids["work_log"]) is not None  # his own record of his work
    assert wang.get("stock_movement", ids["consumed"]) is not None  # drawn from his van
    chen.sync()
    assert chen.get("ticket", ids["ticket"])["cause"] == "belt worn through"
    for key in ("customer", "equipment", "contract", "signature", "work_log", "consumed", "old_part"):
        entity = {"consumed": "stock_movement", "old_part": "old_part_return"}.get(key, key)
        assert chen.get(entity, ids[key]) is not None, key
    assert chen.get("ticket", field_work["chen"]["ticket"]) is not None  # his own still there


def test_ticket_whose_customer_is_corrected_brings_the_right_customer_to_its_engineer(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    right = desk.insert("customer", name="Beiyuan Cold Storage", zone="nearby")
    desk.sync()
    wang.sync()
    desk.update("ticket", ids["ticket"], customer_id=right)
    desk.sync()
    wang.sync()
    assert wang.get("customer", right)["name"] == "Beiyuan Cold Storage"
    assert wang.get("customer", ids["customer"]) is None


def test_customer_an_engineer_records_on_site_stays_with_the_ticket_he_opens_for_it(people, replica_for, engine):
    wang = replica_for(people["wang"])
    customer = wang.insert("customer", name="Walk-in customer", phone="139-0000-0000")
    wang.insert("ticket", id=new_id(), customer_id=customer, status="on_site", channel="on_site",
                assignee_id=people["wang"].user_id)
    report = wang.sync()
    assert report.rejected == 0
    wang.sync()
    assert wang.get("customer", customer)["phone"] == "139-0000-0000"


# -- each change logged under exactly the keys its row has (issue 15, mutation run) ------------


def logged(engine, entity: str, row_id: str) -> list[tuple[str, list[str]]]:
    """Every log entry of a row, oldest first: ``(op, its scope keys sorted)``."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(change_log.c.seq, change_log.c.op, change_scope.c.scope_key)
                             .select_from(change_log.outerjoin(change_scope, change_scope.c.seq == change_log.c.seq))
                             .where(change_log.c.entity == entity, change_log.c.row_id == row_id)
                             .order_by(change_log.c.seq, change_scope.c.scope_key)).all()
    entries: dict[int, tuple[str, list[str]]] = {}
    for seq, op, key in found:
        entries.setdefault(seq, (op, []))[1].extend([key] if key is not None else [])
    return list(entries.values())


def test_the_desk_deleting_王师傅s_signed_ticket_takes_its_signature_off_his_phone_and_leaves_his_work_log(
        people, replica_for, engine):
    """The ticket's tombstone keeps its assignee, but a deleted ticket is in nobody's
    scope: the signature, scoped through the ticket alone, is evicted; his work log,
    his by its ``engineer_id`` too, stays."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="开机后报E302，卡纸")
    wang.sync()
    log = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                      at="2026-11-23T09:40:00+08:00")
    signature = complete_and_sign(wang, ids["ticket"])
    assert wang.sync().rejected == 0, wang.parked()
    desk.sync()
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    wang.sync()
    assert (wang.get("ticket", ids["ticket"]), wang.get("signature", signature)) == (None, None)
    assert wang.get("work_log", log)["event"] == "arrived"
    assert logged(engine, "signature", signature) == [("upsert", ["engineer:u-wang"]), ("evict", ["engineer:u-wang"])]
    assert logged(engine, "work_log", log) == [("upsert", ["engineer:u-wang"])]


def test_王师傅s_work_log_on_a_ticket_the_server_never_had_is_his_alone_and_no_server_error(client, people, engine):
    """His phone lost the ticket it was opened with (an app bug, a restore): the log
    names a ticket id the server never stored. Nothing is read from a parent that is not
    there; the log goes to him by its ``engineer_id``."""
    wang = people["wang"]
    log = new_id()
    [result] = push(client, wang, mutation(wang, "work_log", log, "insert", ticket_id="never-stored-01",
                                           engineer_id=wang.user_id, event="note", note="客户不在，改约明天上午"))
    assert result["status"] == "applied", result
    assert logged(engine, "work_log", log) == [("upsert", ["engineer:u-wang"])]
    assert ("work_log", log) in pulled(client, wang) and ("work_log", log) not in pulled(client, people["chen"])


def test_a_customer_with_tickets_for_王师傅_and_陈师傅_goes_to_both_when_the_desk_corrects_its_phone(
        people, replica_for, engine):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="冷库压缩机不启动")
    desk.insert("ticket", customer_id=ids["customer"], assignee_id=people["chen"].user_id, status="dispatched",
                urgency="normal", fault_description="展示柜温度偏高", channel="phone")
    desk.sync()
    wang.sync()
    chen.sync()
    assert chen.get("customer", ids["customer"])["name"] == "Huaxin Printing"  # brought by his ticket
    desk.update("customer", ids["customer"], phone="010-6555-0188")
    desk.sync()
    wang.sync()
    chen.sync()
    assert (wang.get("customer", ids["customer"])["phone"], chen.get("customer", ids["customer"])["phone"]) == (
        "010-6555-0188", "010-6555-0188")
    assert logged(engine, "customer", ids["customer"])[-1] == ("upsert", ["engineer:u-chen", "engineer:u-wang"])


def test_王师傅_pulls_the_conflict_record_of_his_contact_note_that_lost_to_the_desks_later_one(
        people, timeline, engine):
    """A conflict record is scoped by ``notify_key`` as it is (an owner with no prefix):
    ``engineer:u-wang`` reaches him, and nobody else's device."""
    desk, wang, chen = (timeline.device(people[name]) for name in ("desk", "wang", "chen"))
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="印刷机运行十分钟后停机")
    wang.sync()
    wang.update("customer", ids["customer"], contact="刘经理")  # offline
    timeline.advance(60_000)
    desk.update("customer", ids["customer"], contact="刘建国（设备科）")
    desk.sync()
    wang.sync()
    chen.sync()
    table = entity_table("conflict")
    with engine.connect() as conn:
        [(conflict, key)] = conn.execute(sa.select(table.c.id, table.c.notify_key)
                                         .where(table.c.row_id == ids["customer"])).all()
    assert key == "engineer:u-wang"
    assert logged(engine, "conflict", conflict) == [("upsert", ["engineer:u-wang"])]
    assert (wang.get("conflict", conflict)["lost_value"], chen.get("conflict", conflict)) == ("刘经理", None)


class _NoRows:
    """A row source with nothing in it: owner and catalog parts read no rows."""

    def row(self, entity, row_id):
        return None

    def referencing(self, entity, field, row_id):
        return []


def test_a_van_stored_with_a_blank_or_numeric_crew_entry_is_read_only_by_the_engineers_it_names():
    """A crew is a list of user ids (the push refuses any other, ``check_crew``); a van
    stored before that check, or restored from an old backup, may hold an empty id or a
    number: they name nobody, and no ``engineer:`` key is made of them."""
    van = {"kind": "van", "name": "京A·3K721 维修车", "engineer_id": "u-wang", "crew": ["u-chen", "", 7, None, "u-li"]}
    assert scopes.keys_of(_NoRows(), REGISTRY, "stock_location", "van-1", van) == [
        "catalog", "engineer:u-wang", "engineer:u-chen", "engineer:u-li"]
    assert scopes.owners(["", 0]) == [] and scopes.owners("") == [] and scopes.owners("u-wang") == ["u-wang"]


def test_a_ticket_moved_to_陈师傅_with_its_customer_machine_and_contract_corrected_at_once_leaves_王师傅_whole(
        people, replica_for, engine):
    """Every field the ticket's scope is read from changes in one edit: the desk opened it
    on the wrong customer's record and gives it, corrected, to 陈师傅."""
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    wrong_contract = desk.insert("contract", number="MC-2611-004", response_hours=8.0)
    wrong = desk_opens_ticket(desk, people["wang"].user_id, contract_id=wrong_contract,
                              fault_description="冷柜不制冷")
    wrong["contract"] = wrong_contract
    right = {"customer": desk.insert("customer", name="北京市丰台区新发地冷库", zone="ring4")}
    right["equipment"] = desk.insert("equipment", customer_id=right["customer"], model="比泽尔4NES-20",
                                     serial="BZ-0720")
    right["contract"] = desk.insert("contract", number="MC-2611-019", response_hours=4.0)
    desk.sync()
    wang.sync()
    desk.update("ticket", wrong["ticket"], assignee_id=people["chen"].user_id, customer_id=right["customer"],
                equipment_id=right["equipment"], contract_id=right["contract"])
    desk.sync()
    wang.sync()
    chen.sync()
    assert {entity: wang.get(entity, row_id) for entity, row_id in wrong.items()} == dict.fromkeys(wrong)
    assert {entity: chen.get(entity, row_id) is not None for entity, row_id in right.items()} == dict.fromkeys(
        right, True)
    assert chen.get("ticket", wrong["ticket"])["customer_id"] == right["customer"]
    assert {entity: chen.get(entity, wrong[entity]) for entity in ("customer", "equipment", "contract")} == {
        "customer": None, "equipment": None, "contract": None}


def test_a_phone_report_taken_without_a_customer_record_leaves_王师傅_when_unassigned_and_comes_back_with_its_customer(
        people, replica_for, engine):
    """A ticket with no assignee, customer, equipment or contract is in nobody's scope:
    given only to 王师傅 and taken back it leaves him; given back together with the
    customer registered meanwhile, it brings that customer."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk.insert("ticket", status="reported", urgency="normal", channel="phone",
                         fault_description="来电：门禁主机无法开门，客户未留单位名称")
    desk.sync()
    desk.update("ticket", ticket, assignee_id=people["wang"].user_id, status="dispatched")
    desk.sync()
    wang.sync()
    assert wang.get("ticket", ticket)["status"] == "dispatched"
    desk.update("ticket", ticket, assignee_id=None)
    desk.sync()
    wang.sync()
    assert wang.get("ticket", ticket) is None
    customer = desk.insert("customer", name="北京市海淀区学院路小区物业", zone="ring4", phone="010-6233-0101")
    desk.sync()  # registered first, in nobody's scope
    desk.update("ticket", ticket, assignee_id=people["wang"].user_id, customer_id=customer)
    desk.sync()
    wang.sync()
    assert wang.get("ticket", ticket)["customer_id"] == customer
    assert wang.get("customer", customer)["phone"] == "010-6233-0101"
    assert logged(engine, "customer", customer) == [("upsert", []), ("upsert", ["engineer:u-wang"])]


def _changes_since(client, person, cursor: str) -> tuple[list[tuple], str]:
    """What a replica of ``person`` at ``cursor`` pulls next: ``(entity, id, op, version,
    has data)`` per change, and the new cursor."""
    body = client.get(f"/v1/sync/pull?limit=1000&cursor={cursor}", headers=auth_header(person)).json
    assert not body["has_more"]
    return [(c["entity"], c["id"], c["op"], c["version"], c["data"] is not None) for c in body["changes"]], body["cursor"]


def test_the_desk_giving_王师傅s_signed_ticket_to_陈师傅_sends_each_of_them_exactly_what_moved(
        client, people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    contract = desk.insert("contract", number="MC-2612-008", response_hours=4.0, terms="年费一万二千元")
    ids = desk_opens_ticket(desk, people["wang"].user_id, contract_id=contract, fault_description="打印头过热报警")
    ids["contract"] = contract
    wang.sync()
    log = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                      at="2026-11-23T09:40:00+08:00")
    signature = complete_and_sign(wang, ids["ticket"])
    assert wang.sync().rejected == 0, wang.parked()
    start = {name: client.get("/v1/sync/pull?limit=1000", headers=auth_header(people[name])).json["cursor"]
             for name in ("wang", "chen")}
    desk.sync()
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    version = {entity: server_row(engine, entity, row_id)["version"]
               for entity, row_id in [*ids.items(), ("signature", signature), ("work_log", log)]}
    wangs, _ = _changes_since(client, people["wang"], start["wang"])
    chens, _ = _changes_since(client, people["chen"], start["chen"])
    assert sorted(wangs) == sorted([("ticket", ids["ticket"], "evict", 0, False)]
                                   + [(entity, ids[entity], "evict", 0, False)
                                      for entity in ("customer", "equipment", "contract")]
                                   + [("signature", signature, "evict", 0, False)])
    assert sorted(chens) == sorted([(entity, row_id, "upsert", version[entity], True) for entity, row_id in ids.items()]
                                   + [("signature", signature, "upsert", version["signature"], True),
                                      ("work_log", log, "upsert", version["work_log"], True)])


def test_a_ticket_whose_customer_never_reached_the_server_brings_the_customer_the_desk_corrects_it_to(
        client, people, replica_for):
    """王师傅 opened it on site naming a customer record his phone never sent; the desk
    names the right one as it gives the ticket to 陈师傅, later takes it back, and then
    dispatches it to 王师傅 under the customer's branch: each time the engineer it goes to
    gets the customer it names now."""
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    right = desk.insert("customer", name="北京华信印刷厂", zone="ring2", phone="010-6555-0101")
    branch = desk.insert("customer", name="北京华信印刷厂（亦庄分厂）", zone="ring5", phone="010-6788-0202")
    desk.sync()  # in nobody's scope yet
    me = people["wang"].user_id
    [opened] = push(client, people["wang"], mutation(people["wang"], "ticket", ticket := new_id(), "insert",
                                                     assignee_id=me, status="on_site", channel="on_site",
                                                     customer_id="never-stored-02", fault_description="切纸机卡刀"))
    assert opened["status"] == "applied", opened
    desk.sync()
    desk.update("ticket", ticket, customer_id=right, assignee_id=people["chen"].user_id)
    desk.sync()
    chen.sync()
    assert chen.get("customer", right)["phone"] == "010-6555-0101"
    desk.update("ticket", ticket, assignee_id=None)  # back to the desk, waiting
    desk.sync()
    desk.update("ticket", ticket, customer_id=branch, assignee_id=me)
    desk.sync()
    wang.sync()
    chen.sync()
    assert wang.get("customer", branch)["phone"] == "010-6788-0202"
    assert (wang.get("customer", right), chen.get("ticket", ticket), chen.get("customer", right)) == (None, None, None)


def test_a_customer_record_the_desk_deleted_does_not_come_back_when_the_ticket_still_naming_it_goes_to_陈师傅(
        people, replica_for, engine):
    desk, chen = replica_for(people["desk"]), replica_for(people["chen"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="复印机卡纸")
    desk.delete("customer", ids["customer"])  # a duplicate record, merged by hand elsewhere
    desk.sync()
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    chen.sync()
    assert chen.get("ticket", ids["ticket"])["customer_id"] == ids["customer"]
    assert chen.get("customer", ids["customer"]) is None
    assert [op for op, keys in logged(engine, "customer", ids["customer"]) if "engineer:u-chen" in keys] == []


@pytest.fixture
def north_keeper(engine) -> Person:
    with engine.begin() as conn:
        add_user(conn, "北库管理员", "depot", user_id="u-north", depot_id="depot-north")
        _, token = add_device(conn, "u-north", "北库的平板", device_id="d-north")
    return Person("u-north", "depot", "d-north", token)


def test_王师傅s_requisition_sent_to_the_north_depot_instead_leaves_the_main_depots_tablet(
        people, replica_for, engine, north_keeper):
    """A row on which nothing hangs moves too: the depot it no longer names is told to
    drop it (it had kept the old copy, depot and all)."""
    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    north = desk.insert("stock_location", kind="depot", name="北库", depot_id="depot-north")
    desk.sync()
    wang, main, north_tablet = (replica_for(p) for p in (people["wang"], people["depot"], north_keeper))
    wang.sync()
    asked = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                        van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 2}],
                        reason="总库缺货，改从北库领")
    wang.sync()
    main.sync()
    assert main.get("requisition", asked)["depot_location_id"] == where["depot"]
    wang.update("requisition", asked, depot_location_id=north)
    assert wang.sync().rejected == 0, wang.parked()
    main.sync()
    north_tablet.sync()
    assert main.get("requisition", asked) is None
    assert north_tablet.get("requisition", asked)["depot_location_id"] == north
    assert logged(engine, "requisition", asked) == [("upsert", ["depot:depot-main", "engineer:u-wang"]),
                                                    ("upsert", ["depot:depot-north", "engineer:u-wang"]),
                                                    ("evict", ["depot:depot-main"])]


def test_a_travel_advance_the_desk_filed_under_王师傅_by_mistake_leaves_his_phone_when_given_to_陈师傅(
        people, replica_for, engine):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    advance = desk.insert("expense_claim", engineer_id=people["wang"].user_id, kind="advance")
    desk.sync()
    assert desk.parked() == []
    wang.sync()
    assert wang.get("expense_claim", advance)["kind"] == "advance"
    desk.update("expense_claim", advance, engineer_id=people["chen"].user_id)
    desk.sync()
    wang.sync()
    chen.sync()
    assert (wang.get("expense_claim", advance), chen.get("expense_claim", advance)["kind"]) == (None, "advance")
    assert logged(engine, "expense_claim", advance) == [("upsert", ["engineer:u-wang"]),
                                                        ("upsert", ["engineer:u-chen"]),
                                                        ("evict", ["engineer:u-wang"])]


def test_a_printer_the_desk_moves_to_its_new_owners_record_stays_on_王师傅s_phone_while_his_ticket_names_it(
        people, replica_for, engine):
    """华信印刷厂 sold its printer to 北京东城区某出版社, and the desk moves the machine to
    the new owner's record while 王师傅's ticket on it is open: the machine stays on his
    phone, now under the new owner, and 陈师傅's phone never gets it."""
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="印刷机卡纸")
    buyer = desk.insert("customer", name="北京东城区某出版社", zone="ring2")
    desk.sync()
    wang.sync()
    chen.sync()
    desk.update("equipment", ids["equipment"], customer_id=buyer)
    desk.sync()
    wang.sync()
    chen.sync()
    assert (wang.get("equipment", ids["equipment"]) or {}).get("customer_id") == buyer
    assert chen.get("equipment", ids["equipment"]) is None
    assert logged(engine, "equipment", ids["equipment"])[-1][0] == "upsert"
