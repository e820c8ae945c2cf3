"""Parts are written off only against the signed report and the old part (001 §3.7.4),
whatever order the devices' writes arrive in; every movement names who held the part;
an old part is disposed of only once received, and with a disposition."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.auth import add_device
from server.domain.writeoff import age_days, write_off_key, write_offs
from server.tables import entity_table
from sync.client import Replica
from tests.conftest import Person, auth_header
from tests.test_open_consumption import _entity

DEPOT = "depot-main"


def rows_where(engine, entity: str, **equal) -> list[dict]:
    table = entity_table(entity)
    with engine.connect() as conn:
        query = sa.select(table).where(*(table.c[name] == value for name, value in equal.items()))
        return [dict(r) for r in conn.execute(query).mappings()]


def reconciliation(client, person: Person) -> dict:
    answer = client.get("/v1/depot/reconciliation", headers=auth_header(person))
    assert answer.status_code == 200, answer.json
    return answer.json


def open_for(body: dict, movement_id: str) -> list[str] | None:
    """What a consumption still waits for, or None once it is written off."""
    found = [c["waiting_for"] for c in body["open_consumptions"] if c["movement_id"] == movement_id]
    return found[0] if found else None


def stock_and_vans(desk: Replica, people: dict, *, crew: dict[str, list[str]] | None = None) -> dict[str, str]:
    """The desk records a drive belt (its old one comes back) and a fuse (thrown away),
    the Beijing depot and each engineer's van, which belongs to that depot."""
    crew = crew or {}
    where = {
        "belt": desk.insert("part", code="BLT-200", name="传动皮带", spec="A型 1200mm", unit="条", returnable=True,
                            price=80.0),
        "fuse": desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", returnable=False, price=2.0),
        "depot": desk.insert("stock_location", kind="depot", name="北京总库", depot_id=DEPOT),
    }
    for name, owner in (("wang", "王伟"), ("chen", "陈静")):
        where[f"van_{name}"] = desk.insert("stock_location", kind="van", name=f"{owner}的服务车", depot_id=DEPOT,
                                           engineer_id=people[name].user_id,
                                           crew=[people[c].user_id for c in crew.get(name, [])] or None)
    desk.sync()
    return where


def open_job(desk: Replica, engineer: Person, customer: str = "华信印刷厂") -> str:
    """The desk takes a repair call and dispatches it to the engineer."""
    customer_id = desk.insert("customer", name=customer, address="北京市朝阳区建国路88号", zone="ring2",
                              phone="010-6555-0101", contact="刘经理")
    equipment = desk.insert("equipment", customer_id=customer_id, model="海德堡 SM52", serial="SN-0452")
    ticket = desk.insert("ticket", customer_id=customer_id, equipment_id=equipment, status="dispatched",
                         urgency="normal", channel="phone", fault_description="皮带磨损，运行十分钟后停机",
                         assignee_id=engineer.user_id)
    desk.sync()
    return ticket


def sign(engineer: Replica, ticket: str) -> str:
    """The engineer finishes the job and the customer signs the service report."""
    engineer.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    engineer.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="试机正常")
    engineer.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    image = engineer.put_blob("刘经理的签名笔迹".encode())
    return engineer.insert("signature", ticket_id=ticket, blob_sha256=image, signer_name="刘经理",
                           signed_at="2026-11-23T11:10:00+08:00", report_hash=engineer.report_hash(ticket))


def receive_old_part(depot: Replica, return_id: str, keeper: Person) -> None:
    depot.update("old_part_return", return_id, status="received", received_at="2026-11-24T08:30:00+08:00",
                 received_by=keeper.user_id)


@pytest.mark.parametrize("first", ["signature", "old_part"])
def test_belt_fitted_on_an_unsigned_job_stays_open_until_the_signed_report_and_the_old_belt_both_arrive(
        first, people, replica_for, client, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    belt = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                       from_location_id=where["van_wang"], ticket_id=ticket, note="换下磨损皮带")
    fuse = wang.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=2.0, condition="new",
                       from_location_id=where["van_wang"], ticket_id=ticket)
    wang.sync()

    body = reconciliation(client, people["manager"])
    assert open_for(body, belt) == ["signature", "old_part"]
    assert open_for(body, fuse) == ["signature"]  # nothing comes back of a fuse
    [expected] = rows_where(engine, "old_part_return", ticket_id=ticket)  # made by the server, once
    assert (expected["id"], expected["status"], expected["engineer_id"], expected["depot_location_id"]) == (
        belt, "expected", people["wang"].user_id, where["depot"])
    assert (expected["part_id"], expected["qty"]) == (where["belt"], 1.0)
    assert [c["engineer_id"] for c in body["open_consumptions"]] == [people["wang"].user_id] * 2

    def signature_arrives():
        sign(wang, ticket)
        wang.sync()

    def old_part_arrives():
        depot.sync()
        receive_old_part(depot, belt, people["depot"])
        depot.sync()

    arrivals = {"signature": signature_arrives, "old_part": old_part_arrives}
    arrivals.pop(first)()
    body = reconciliation(client, people["depot"])
    assert open_for(body, belt) == (["old_part"] if first == "signature" else ["signature"])
    assert open_for(body, fuse) == (None if first == "signature" else ["signature"])
    [then] = arrivals.values()
    then()
    body = reconciliation(client, people["manager"])
    assert open_for(body, belt) is None and open_for(body, fuse) is None
    assert len(rows_where(engine, "old_part_return", ticket_id=ticket)) == 1


def test_report_changed_after_signing_opens_the_consumption_again_until_the_customer_signs_anew(
        people, replica_for, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    fuse = wang.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=1.0,
                       from_location_id=where["van_wang"], ticket_id=ticket)
    sign(wang, ticket)
    wang.sync()
    assert open_for(reconciliation(client, people["manager"]), fuse) is None
    wang.update("ticket", ticket, result="试机正常，建议三个月后复查")  # the report the customer signed changed
    wang.sync()
    assert open_for(reconciliation(client, people["manager"]), fuse) == ["signature"]


def test_old_belt_the_engineer_records_offline_is_the_same_return_the_server_expects(
        people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    belt = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                       from_location_id=where["van_wang"], ticket_id=ticket)
    # offline, he packs the old belt at once: the return takes the consumption's id
    wang.insert("old_part_return", id=belt, ticket_id=ticket, part_id=where["belt"], qty=1.0,
                engineer_id=people["wang"].user_id, depot_location_id=where["depot"], status="collected",
                collected_at="2026-11-23T11:20:00+08:00", note="旧皮带已装袋")
    wang.sync()
    [old] = rows_where(engine, "old_part_return", ticket_id=ticket)
    assert (old["id"], old["status"], old["note"]) == (belt, "collected", "旧皮带已装袋")
    assert rows_where(engine, "conflict", row_id=belt) == []
    assert open_for(reconciliation(client, people["manager"]), belt) == ["signature", "old_part"]
    assert wang.get("old_part_return", belt)["status"] == "collected"


def test_old_belt_packed_on_the_engineers_tablet_after_the_phone_synced_the_consumption_is_still_one_return(
        people, replica_for, engine):
    desk, phone = replica_for(people["desk"]), replica_for(people["wang"])
    with engine.begin() as conn:
        tablet_id, token = add_device(conn, people["wang"].user_id, "王伟的平板", device_id="d-wang-tablet")
    tablet = replica_for(Person(people["wang"].user_id, "engineer", tablet_id, token))
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    phone.sync()
    tablet.sync()
    belt = phone.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                        from_location_id=where["van_wang"], ticket_id=ticket)
    tablet.insert("old_part_return", id=belt, ticket_id=ticket, part_id=where["belt"], qty=1.0,
                  engineer_id=people["wang"].user_id, depot_location_id=where["depot"], status="collected")
    phone.sync()
    tablet.sync()
    phone.sync()
    [old] = rows_where(engine, "old_part_return", ticket_id=ticket)
    assert (old["id"], old["status"]) == (belt, "collected")
    assert phone.get("old_part_return", belt)["status"] == tablet.get("old_part_return", belt)["status"] == "collected"


def test_each_old_belt_is_expected_back_at_the_depot_shelf_its_new_one_came_from(people, replica_for, engine):
    # the Beijing depot keeps a second store room; Wang's van belongs to the depot; a van of
    # its own (a contractor's, belonging to no depot) sends its old parts nowhere in particular
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_and_vans(desk, people)
    annex = desk.insert("stock_location", kind="depot", name="北京总库二号库房", depot_id=DEPOT)
    loose = desk.insert("stock_location", kind="van", name="外协师傅的面包车", engineer_id=people["wang"].user_id)
    desk.sync()
    ticket = open_job(desk, people["wang"])
    wang.sync()
    from_van = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                           from_location_id=where["van_wang"], ticket_id=ticket)
    from_loose = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=2.0,
                             from_location_id=loose, ticket_id=ticket)
    wang.sync()
    # fitted at the depot's counter, straight from the store room's shelf
    from_annex = desk.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                             from_location_id=annex, ticket_id=ticket, held_by=people["wang"].user_id)
    desk.sync()
    assert wang.parked() == [] and desk.parked() == []
    expected_at = {r["id"]: r["depot_location_id"] for r in rows_where(engine, "old_part_return", ticket_id=ticket)}
    first_store_room = min(where["depot"], annex)  # a van's depot with two: the first by id, whatever order they came
    assert expected_at == {from_van: first_store_room, from_annex: annex, from_loose: None}


def test_part_used_without_naming_a_ticket_is_refused_and_nothing_is_expected_back(
        people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_and_vans(desk, people)
    wang.sync()
    used = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                       from_location_id=where["van_wang"], note="路上顺手换的")
    wang.sync()
    [parked] = wang.parked()
    assert (parked.row_id, parked.code, parked.field) == (used, "incomplete_movement", "ticket_id")
    assert rows_where(engine, "stock_movement", id=used) == []
    assert rows_where(engine, "old_part_return", id=used) == []
    assert reconciliation(client, people["manager"])["open_consumptions"] == []


def test_old_belt_disposed_of_before_the_depot_booked_it_received_is_refused(people, replica_for, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    belt = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                       from_location_id=where["van_wang"], ticket_id=ticket)
    wang.sync()
    depot.sync()
    depot.update("old_part_return", belt, status="disposed", disposition="scrap",
                 disposed_at="2026-11-30T16:00:00+08:00", note="月底旧件处理")
    depot.sync()
    [parked] = depot.parked()
    assert (parked.code, parked.field) == ("old_part_not_received", "status")
    assert rows_where(engine, "old_part_return", id=belt)[0]["status"] == "expected"
    assert depot.get("old_part_return", belt)["status"] == "expected"  # put back as the server holds it


@pytest.mark.parametrize("who", ["wang", "manager"])
def test_old_belt_thrown_away_by_anyone_but_the_depot_is_refused_as_not_theirs_to_dispose_of(
        who, people, replica_for, engine):
    # the engineer at the roadside, or head office tidying up: disposal is the depot's step,
    # and that is what they are told, whether or not the belt was ever received
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    belt = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                       from_location_id=where["van_wang"], ticket_id=ticket)
    wang.sync()
    device = wang if who == "wang" else replica_for(people["manager"])
    device.sync()
    device.update("old_part_return", belt, status="disposed", note="旧皮带已在现场丢弃")
    device.sync()
    [parked] = device.parked()
    assert (parked.row_id, parked.code, parked.field) == (belt, "step_not_owned", "status")
    assert rows_where(engine, "old_part_return", id=belt)[0]["status"] == "expected"


def test_old_belt_disposed_of_without_saying_what_became_of_it_is_refused_and_a_supplier_claim_starts_pending(
        people, replica_for, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_and_vans(desk, people)
    ticket = open_job(desk, people["wang"])
    wang.sync()
    belt = wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                       from_location_id=where["van_wang"], ticket_id=ticket)
    wang.sync()
    depot.sync()
    receive_old_part(depot, belt, people["depot"])
    depot.update("old_part_return", belt, status="disposed", disposed_at="2026-11-30T16:00:00+08:00")
    depot.sync()
    [parked] = depot.parked()
    assert (parked.code, parked.field) == ("disposition_required", "disposition")
    assert rows_where(engine, "old_part_return", id=belt)[0]["status"] == "received"
    depot.update("old_part_return", belt, status="disposed", disposition="supplier_claim",
                 disposed_at="2026-11-30T16:00:00+08:00", note="皮带开裂，向供应商二次索赔")
    depot.sync()
    [old] = rows_where(engine, "old_part_return", id=belt)
    assert (old["status"], old["disposition"], old["claim_outcome"]) == ("disposed", "supplier_claim", "pending")
    depot.sync()
    assert depot.get("old_part_return", belt)["claim_outcome"] == "pending"


def test_two_engineers_sharing_a_van_both_pull_it_and_each_consumption_names_its_holder(
        people, replica_for, client, engine):
    desk = replica_for(people["desk"])
    wang, chen = replica_for(people["wang"]), replica_for(people["chen"])
    where = stock_and_vans(desk, people, crew={"wang": ["chen"]})  # a two-person crew in Wang's van
    van = where["van_wang"]
    # head office stocks the van (a depot keeper issues only against an approved requisition)
    stocked = desk.insert("stock_movement", kind="transfer", part_id=where["fuse"], qty=10.0, condition="new",
                          from_location_id=where["depot"], to_location_id=van, held_by=people["wang"].user_id,
                          note="补充车载备件")
    desk.sync()
    wang_job, chen_job = open_job(desk, people["wang"]), open_job(desk, people["chen"], "京东方显示车间")
    wang.sync()
    chen.sync()
    assert chen.get("stock_location", van)["name"] == "王伟的服务车"
    assert chen.get("stock_movement", stocked)["qty"] == 10.0  # the van's stock, on both devices
    by_wang = wang.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=1.0, from_location_id=van,
                          ticket_id=wang_job)
    by_chen = chen.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=2.0, from_location_id=van,
                          ticket_id=chen_job)
    wang.sync()
    chen.sync()
    wang.sync()
    assert wang.parked() == [] and chen.parked() == []
    assert rows_where(engine, "stock_movement", id=by_wang)[0]["held_by"] == people["wang"].user_id
    assert rows_where(engine, "stock_movement", id=by_chen)[0]["held_by"] == people["chen"].user_id
    assert wang.get("stock_movement", by_chen)["held_by"] == people["chen"].user_id  # the holder, on the device too
    body = reconciliation(client, people["depot"])
    assert {c["movement_id"]: c["engineer_id"] for c in body["open_consumptions"]} == {
        by_wang: people["wang"].user_id, by_chen: people["chen"].user_id}
    [level] = [lv for lv in body["levels"] if lv["location_id"] == van]
    assert level["qty"] == 7.0


def test_parts_sent_to_a_shared_van_name_which_engineer_took_them(people, replica_for, engine):
    desk, office = replica_for(people["desk"]), replica_for(people["manager"])
    where = stock_and_vans(desk, people, crew={"wang": ["chen"]})
    office.sync()  # head office sends them (a depot keeper issues only against an approved requisition)
    unnamed = office.insert("stock_movement", kind="transfer", part_id=where["fuse"], qty=5.0,
                           from_location_id=where["depot"], to_location_id=where["van_wang"])
    stranger = office.insert("stock_movement", kind="transfer", part_id=where["fuse"], qty=5.0,
                            from_location_id=where["depot"], to_location_id=where["van_wang"],
                            held_by=people["desk"].user_id)
    to_chens_own = office.insert("stock_movement", kind="transfer", part_id=where["fuse"], qty=5.0,
                                from_location_id=where["depot"], to_location_id=where["van_chen"])
    office.sync()
    assert {p.row_id: p.code for p in office.parked()} == {unnamed: "holder_required", stranger: "not_a_holder"}
    # Chen's van has one holder: he took them
    assert rows_where(engine, "stock_movement", id=to_chens_own)[0]["held_by"] == people["chen"].user_id


def test_part_lost_from_a_van_is_written_off_only_by_the_depot_with_the_reason_and_who_held_it(
        people, replica_for, client, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_and_vans(desk, people, crew={"wang": ["chen"]})
    wang.sync()
    depot.sync()
    by_engineer = wang.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0,
                              from_location_id=where["van_wang"], note="找不到了")
    wang.sync()
    no_reason = depot.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0,
                             from_location_id=where["van_wang"], held_by=people["chen"].user_id)
    no_holder = depot.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0,
                             from_location_id=where["depot"], note="库房受潮损坏")
    lost = depot.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0,
                        from_location_id=where["van_wang"], held_by=people["chen"].user_id,
                        note="运输途中丢失，陈静负责")
    depot.sync()
    assert [(p.row_id, p.code, p.field) for p in wang.parked()] == [(by_engineer, "write_off_not_allowed", "kind")]
    assert {p.row_id: (p.code, p.field) for p in depot.parked()} == {
        no_reason: ("reason_required", "note"), no_holder: ("holder_required", "held_by")}
    [written_off] = reconciliation(client, people["manager"])["write_offs"]
    assert (written_off["movement_id"], written_off["held_by"], written_off["reason"], written_off["written_off_by"]) \
        == (lost, people["chen"].user_id, "运输途中丢失，陈静负责", people["depot"].user_id)
    assert rows_where(engine, "stock_movement", id=by_engineer) == []


def test_engineer_taken_off_a_shared_van_while_offline_keeps_the_parts_he_used_before_and_loses_the_van(
        people, timeline, engine):
    desk, depot, chen = (timeline.device(people[name]) for name in ("desk", "depot", "chen"))
    where = stock_and_vans(desk, people, crew={"wang": ["chen"]})
    van = where["van_wang"]
    depot.sync()
    stocked = depot.insert("stock_movement", kind="transfer", part_id=where["fuse"], qty=10.0,
                           from_location_id=where["depot"], to_location_id=van, held_by=people["wang"].user_id)
    depot.sync()
    job = open_job(desk, people["chen"], "京东方显示车间")
    chen.sync()
    timeline.advance(3_600_000)
    used = chen.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=1.0, from_location_id=van,
                       ticket_id=job)  # no signal on the shop floor
    timeline.advance(3_600_000)
    desk.update("stock_location", van, crew=[])  # Chen moves to another crew
    desk.sync()
    timeline.advance(3_600_000)
    late = chen.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=1.0, from_location_id=van,
                       ticket_id=job)  # after he left the van: not his to draw from
    chen.sync()
    assert [(p.row_id, p.code) for p in chen.parked()] == [(late, "not_your_row")]
    assert rows_where(engine, "stock_movement", id=used)[0]["held_by"] == people["chen"].user_id
    assert chen.get("stock_location", van) is None and chen.get("stock_movement", stocked) is None
    assert chen.get("stock_movement", used) is not None  # his work, on his ticket


def test_a_consumption_read_back_in_beijing_time_is_as_old_as_in_utc():
    # a PostgreSQL server set to Asia/Shanghai hands times back at +08:00: the belt fitted
    # at 09:00 Beijing time is the 01:00 UTC of the same morning, not eight hours younger
    beijing = timezone(timedelta(hours=8))
    fitted = datetime(2026, 11, 28, 9, 0, tzinfo=beijing)
    assert age_days(fitted, datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)) == 2.0
    # SQLite hands back UTC without a zone
    assert age_days(datetime(2026, 11, 28, 1, 0), datetime(2026, 11, 30, 13, 0, tzinfo=timezone.utc)) == 2.5
    # a belt open for a year and an hour and a quarter is 365.1 days old, to the tenth
    assert age_days(datetime(2025, 11, 30, 0, 0), datetime(2026, 11, 30, 1, 15, tzinfo=timezone.utc)) == 365.1


def test_the_write_off_list_names_each_part_written_off_newest_first_with_who_wrote_it_off(people, engine):
    # the depot keeper's tablet, head office's console (its own device, no row in devices), and a
    # tablet since retired: each write-off says who wrote it off as far as the server knows
    moves = entity_table("stock_movement")
    nov = lambda day, hour: datetime(2026, 11, day, hour, 0, tzinfo=timezone.utc)  # noqa: E731
    written = [
        dict(id="w-1", part_id="p-保险丝", qty=1.0, from_location_id="loc-北京总库", held_by="u-depot",
             note="搬运时遗失", author_device="d-depot", device_time=nov(20, 10)),
        dict(id="w-0", part_id="p-保险丝", qty=2.0, condition="used", from_location_id="loc-北京总库",
             held_by="u-depot", note="货架倒塌压坏", author_device="d-depot", device_time=nov(20, 10)),
        dict(id="w-2", part_id="p-传动皮带", qty=1.0, condition="used", from_location_id="loc-王伟的车",
             held_by="u-wang", note="车内受潮损坏", author_device="console-u-manager", device_time=nov(21, 9)),
        # an old belt scrapped: it names its return and ticket; the retired tablet sent no device time
        dict(id="w-3", part_id="p-传动皮带", qty=1.0, from_location_id="loc-北京总库", note="旧件报废",
             return_id="m-旧皮带", ticket_id="t-华信印刷厂", author_device="d-退役平板"),
    ]
    with engine.begin() as conn:
        for row in written:
            conn.execute(moves.insert().values(**_entity(row.pop("id"), kind="write_off", **row)))
        conn.execute(moves.insert().values(**_entity("c-1", kind="consume", part_id="p-保险丝", qty=1.0,
                                                     from_location_id="loc-北京总库", ticket_id="t-华信印刷厂",
                                                     device_time=nov(22, 9))))
        conn.execute(moves.insert().values(**_entity("w-9", kind="write_off", part_id="p-保险丝", qty=1.0,
                                                     from_location_id="loc-北京总库", note="录错了，已删除",
                                                     device_time=nov(22, 9))))
        conn.execute(moves.update().where(moves.c.id == "w-9").values(deleted=True))

    def listed(**kw) -> list[tuple]:
        with engine.connect() as conn:
            return [(r["movement_id"], datetime.fromisoformat(r["at"]), r["written_off_by"]) for r in
                    write_offs(conn, kw.pop("only", None), **kw)]

    with engine.connect() as conn:
        whole = write_offs(conn, None)
    assert [{k: v for k, v in r.items() if k != "at"} for r in whole] == [
        {"movement_id": "w-3", "part_id": "p-传动皮带", "qty": 1.0, "condition": "new",
         "from_location_id": "loc-北京总库", "held_by": None, "reason": "旧件报废", "return_id": "m-旧皮带",
         "ticket_id": "t-华信印刷厂", "written_off_by": None},
        {"movement_id": "w-2", "part_id": "p-传动皮带", "qty": 1.0, "condition": "used",
         "from_location_id": "loc-王伟的车", "held_by": "u-wang", "reason": "车内受潮损坏", "return_id": None,
         "ticket_id": None, "written_off_by": "u-manager"},
        {"movement_id": "w-0", "part_id": "p-保险丝", "qty": 2.0, "condition": "used",
         "from_location_id": "loc-北京总库", "held_by": "u-depot", "reason": "货架倒塌压坏", "return_id": None,
         "ticket_id": None, "written_off_by": "u-depot"},
        {"movement_id": "w-1", "part_id": "p-保险丝", "qty": 1.0, "condition": "new",
         "from_location_id": "loc-北京总库", "held_by": "u-depot", "reason": "搬运时遗失", "return_id": None,
         "ticket_id": None, "written_off_by": "u-depot"},
    ]
    # newest first by the device's time (the server's when the device sent none), then by id
    assert [datetime.fromisoformat(r["at"]) for r in whole] == [
        datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc), nov(21, 9), nov(20, 10), nov(20, 10)]
    assert [m for m, _, _ in listed(only=["loc-王伟的车"])] == ["w-2"]
    assert [m for m, _, _ in listed(limit=2)] == ["w-3", "w-2"]
    assert [m for m, _, _ in listed(after=write_off_key(whole[1]))] == ["w-0", "w-1"]
    assert [m for m, _, _ in listed(after=write_off_key(whole[2]), limit=5)] == ["w-1"]
