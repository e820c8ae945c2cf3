"""Pull scopes: each role gets what its work needs and nothing else, and a reassigned
ticket moves — whole — from one engineer's replica to the other's."""

from __future__ import annotations

import pytest

from sync.ids import new_id
from tests.conftest import auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket, stock_setup


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
