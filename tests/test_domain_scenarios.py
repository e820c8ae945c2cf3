"""The field-service domain on the sync core: each conflict rule in a real situation."""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from server.auth import add_device
from server.tables import entity_table
from sync.errors import TransportError
from tests.conftest import Person, auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket, stock_setup


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()


def conflicts_about(engine, row_id):
    table = entity_table("conflict")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.row_id == row_id)).mappings()]


def test_desk_reassigns_while_engineer_works_offline_work_is_kept_and_desk_told(people, replica_for, engine):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], status="on_site", diagnosis="seized bearing")  # offline
    wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                at="2026-11-23T09:40:00+08:00")
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    wang.sync()
    chen.sync()
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["assignee_id"], row["diagnosis"], row["status"]) == (people["chen"].user_id, "seized bearing", "on_site")
    assert chen.get("ticket", ids["ticket"])["diagnosis"] == "seized bearing"
    assert chen.get("customer", ids["customer"]) is not None  # arrives whole
    assert wang.get("ticket", ids["ticket"]) is None  # evicted once its work was pushed
    assert len(wang.all("work_log")) == 1  # the engineer's own work log stays his
    [note] = [c for c in conflicts_about(engine, ids["ticket"]) if c["rule"] == "reassignment"]
    assert orjson.loads(note["lost_value"]) == people["wang"].user_id
    desk.sync()
    assert any(c["rule"] == "reassignment" for c in desk.all("conflict").values())


def test_desk_cancels_while_engineer_completes_and_gets_signature_offline(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.update("ticket", ids["ticket"], status="cancelled", cancel_reason="customer called: fixed itself")
    desk.sync()
    signature = complete_and_sign(wang, ids["ticket"])
    report = wang.sync()
    assert report.rejected == 0
    row = server_row(engine, "ticket", ids["ticket"])
    assert row["status"] == "completed"
    assert row["needs_review"]
    assert (row["diagnosis"], row["actions"]) == ("worn drive belt", "replaced the belt")
    assert server_row(engine, "signature", signature)["stale"] in (None, False)
    lost = [c for c in conflicts_about(engine, ids["ticket"]) if c["field"] == "status"]
    assert orjson.loads(lost[0]["lost_value"]) == "cancelled"


def test_desk_cancel_arriving_after_completed_field_work_loses_and_is_flagged(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    complete_and_sign(wang, ids["ticket"])
    desk.update("ticket", ids["ticket"], status="cancelled")  # the desk had not seen it
    wang.sync()
    desk.sync()
    desk.sync()
    row = server_row(engine, "ticket", ids["ticket"])
    assert row["status"] == "completed" and row["needs_review"]
    assert desk.get("ticket", ids["ticket"])["status"] == "completed"


def test_two_engineers_each_consume_the_last_unit_offline_both_count_and_stock_goes_negative(
        people, replica_for, client):
    desk, wang, chen = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["chen"])
    where = stock_setup(desk, people)
    ticket_a = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    ticket_b = desk_opens_ticket(desk, people["chen"].user_id)["ticket"]
    desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=1.0, to_location_id=where["depot"])
    desk.sync()
    for engineer, ticket in ((wang, ticket_a), (chen, ticket_b)):
        engineer.sync()
        engineer.insert("stock_movement", kind="consume", part_id=where["part"], qty=1.0,
                        from_location_id=where["depot"], ticket_id=ticket, condition="new")
    wang.sync()
    chen.sync()
    body = client.get("/v1/depot/reconciliation", headers=auth_header(people["depot"])).json
    [level] = [lv for lv in body["levels"] if lv["location_id"] == where["depot"]]
    assert (level["qty"], level["negative"]) == (-1.0, True)
    assert level in body["negative"]


def test_same_part_consumption_pushed_twice_counts_once(people, replica_for, transport_for, client):
    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]

    class AnswerLostOnce:
        def __init__(self, inner):
            self.inner, self.lost = inner, False

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def push(self, changeset):
            answer = self.inner.push(changeset)
            if not self.lost:
                self.lost = True
                raise TransportError("answer lost")
            return answer

    wang = replica_for(people["wang"], transport=AnswerLostOnce(transport_for(people["wang"])))
    wang.sync()
    wang.insert("stock_movement", kind="consume", part_id=where["part"], qty=2.0, from_location_id=where["van_wang"],
                ticket_id=ticket)
    try:
        wang.sync()
    except TransportError:
        pass
    wang.sync()
    body = client.get("/v1/depot/reconciliation", headers=auth_header(people["manager"])).json
    [level] = [lv for lv in body["levels"] if lv["location_id"] == where["van_wang"]]
    assert level["qty"] == -2.0


def test_ledger_entries_are_never_edited_corrections_are_new_entries(people, replica_for, engine):
    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    movement = desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=5.0,
                           to_location_id=where["depot"])
    desk.sync()
    desk.update("stock_movement", movement, qty=50.0)
    desk.sync()
    [parked] = desk.parked()
    assert parked.code == "append_only"
    assert server_row(engine, "stock_movement", movement)["qty"] == 5.0
    assert desk.get("stock_movement", movement)["qty"] == 5.0


def test_signature_before_completion_is_rejected(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    blob = wang.put_blob(b"strokes")
    wang.insert("signature", ticket_id=ids["ticket"], blob_sha256=blob, signer_name="Mr. Liu",
                report_hash=wang.report_hash(ids["ticket"]))
    wang.update("ticket", ids["ticket"], status="completed", arrived_at="2026-11-23T09:40:00+08:00",
                diagnosis="worn drive belt", actions="replaced the belt", result="runs")  # only after the customer signed
    wang.sync()
    [parked] = wang.parked()
    assert parked.code == "signed_before_completion"
    assert wang.all("signature") == {}


def test_report_edited_after_signing_marks_signature_stale_and_resign_keeps_both(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    first = complete_and_sign(wang, ids["ticket"])
    wang.sync()
    assert not server_row(engine, "signature", first)["stale"]
    wang.update("ticket", ids["ticket"], actions="replaced the belt and the tensioner")
    wang.sync()
    assert server_row(engine, "signature", first)["stale"]
    assert wang.get("signature", first)["stale"] is True
    wang.update("ticket", ids["ticket"], status="signed")
    wang.sync()
    assert wang.parked()[-1].code == "signature_required"  # the stale one does not count
    second = wang.insert("signature", ticket_id=ids["ticket"], blob_sha256=wang.put_blob(b"second strokes"),
                         signer_name="Mr. Liu", report_hash=wang.report_hash(ids["ticket"]))
    wang.update("ticket", ids["ticket"], status="signed")
    wang.sync()
    assert server_row(engine, "ticket", ids["ticket"])["status"] == "signed"
    assert server_row(engine, "signature", first)["stale"] and not server_row(engine, "signature", second)["stale"]


def test_a_second_different_write_to_a_signature_is_rejected(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    signature = complete_and_sign(wang, ids["ticket"])
    wang.sync()
    wang.update("signature", signature, signer_name="Someone Else")
    wang.sync()
    assert wang.parked()[-1].code == "signature_immutable"
    assert server_row(engine, "signature", signature)["signer_name"] == "Mr. Liu"
    assert wang.get("signature", signature)["signer_name"] == "Mr. Liu"


def test_ticket_is_signed_only_once_its_signature_image_arrived_whole(people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    complete_and_sign(wang, ids["ticket"], image=b"x" * 600_000)
    wang.update("ticket", ids["ticket"], status="signed")
    wang.push()  # the image has not been uploaded: push without upload_blobs
    assert wang.parked()[-1].code == "signature_image_missing"
    wang.update("ticket", ids["ticket"], status="signed")
    wang.sync()
    assert server_row(engine, "ticket", ids["ticket"])["status"] == "signed"


def test_blob_upload_resumes_after_a_dropped_piece_and_is_deduplicated(people, client):
    import hashlib

    data = bytes(range(256)) * 4000
    sha = hashlib.sha256(data).hexdigest()
    headers = {**auth_header(people["wang"]), "Content-Type": "image/png"}
    first = client.put(f"/v1/blobs/{sha}", data=data[:300_000],
                       headers={**headers, "Content-Range": f"bytes 0-299999/{len(data)}"})
    assert (first.status_code, first.json["received"]) == (200, 300_000)
    wrong = client.put(f"/v1/blobs/{sha}", data=data[400_000:], headers={
        **headers, "Content-Range": f"bytes 400000-{len(data) - 1}/{len(data)}"})
    assert (wrong.status_code, wrong.json["details"]["received"]) == (409, 300_000)
    status = client.get(f"/v1/blobs/{sha}/status", headers=headers).json
    rest = client.put(f"/v1/blobs/{sha}", data=data[status["received"]:], headers={
        **headers, "Content-Range": f"bytes {status['received']}-{len(data) - 1}/{len(data)}"})
    assert (rest.status_code, rest.json["complete"]) == (201, True)
    again = client.put(f"/v1/blobs/{sha}", data=data, headers=headers)
    assert (again.status_code, again.json["complete"]) == (200, True)
    assert client.get(f"/v1/blobs/{sha}", headers=headers).data == data
    bad = client.put(f"/v1/blobs/{'0' * 64}", data=b"not that", headers=headers)
    assert (bad.status_code, bad.json["code"]) == (422, "hash_mismatch")


def test_depot_books_old_part_received_before_engineers_collected_arrives(people, replica_for, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    old = wang.insert("old_part_return", ticket_id=ticket, part_id=where["part"], qty=1.0,
                      engineer_id=people["wang"].user_id, depot_location_id=where["depot"], status="expected")
    wang.sync()
    wang.update("old_part_return", old, status="collected", collected_at="2026-11-23T11:00:00+08:00")  # offline
    depot.sync()
    depot.update("old_part_return", old, status="received", received_at="2026-11-24T08:30:00+08:00",
                 received_by=people["depot"].user_id)
    depot.sync()
    wang.sync()
    depot.sync()
    row = server_row(engine, "old_part_return", old)
    assert row["status"] == "received"
    assert (row["collected_at"], row["received_at"]) == ("2026-11-23T11:00:00+08:00", "2026-11-24T08:30:00+08:00")
    assert wang.get("old_part_return", old)["status"] == depot.get("old_part_return", old)["status"] == "received"
    assert any(c["rule"] == "lifecycle" for c in conflicts_about(engine, old))


def test_the_whole_defective_part_loop_ends_in_a_supplier_claim_outcome(people, replica_for, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.insert("stock_movement", kind="consume", part_id=where["part"], qty=1.0, from_location_id=where["van_wang"],
                ticket_id=ticket)
    old = wang.insert("old_part_return", ticket_id=ticket, part_id=where["part"], qty=1.0, status="collected",
                      engineer_id=people["wang"].user_id, depot_location_id=where["depot"])
    wang.insert("stock_movement", kind="old_part_collected", part_id=where["part"], qty=1.0, condition="old",
                to_location_id=where["van_wang"], ticket_id=ticket, return_id=old)
    wang.sync()
    depot.sync()
    depot.update("old_part_return", old, status="received", received_by=people["depot"].user_id)
    depot.insert("stock_movement", kind="old_part_received", part_id=where["part"], qty=1.0, condition="old",
                 from_location_id=where["van_wang"], to_location_id=where["depot"], return_id=old)
    depot.update("old_part_return", old, status="disposed", disposition="supplier_claim", claim_outcome="pending")
    depot.insert("stock_movement", kind="supplier_claim", part_id=where["part"], qty=1.0, condition="old",
                 from_location_id=where["depot"], return_id=old)
    depot.sync()
    depot.update("old_part_return", old, claim_outcome="accepted")
    depot.sync()
    row = server_row(engine, "old_part_return", old)
    assert (row["status"], row["disposition"], row["claim_outcome"]) == ("disposed", "supplier_claim", "accepted")
    wang.sync()
    assert wang.get("old_part_return", old)["claim_outcome"] == "accepted"


def test_engineer_may_not_mark_a_part_received_at_the_depot(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.insert("old_part_return", ticket_id=ticket, part_id=where["part"], qty=1.0, status="received",
                engineer_id=people["wang"].user_id)
    wang.sync()
    assert wang.parked()[-1].code == "step_not_owned"


def test_new_ticket_for_a_known_customer_brings_the_customer_to_its_engineer(people, replica_for):
    desk, chen = replica_for(people["desk"]), replica_for(people["chen"])
    first = desk_opens_ticket(desk, people["wang"].user_id)
    second = desk.insert("ticket", customer_id=first["customer"], equipment_id=first["equipment"],
                         status="dispatched", assignee_id=people["chen"].user_id)
    desk.sync()
    chen.sync()
    assert chen.get("ticket", second) is not None
    assert chen.get("customer", first["customer"])["name"] == "Huaxin Printing"
    assert chen.get("equipment", first["equipment"]) is not None


def test_depot_keeper_reconciles_his_own_depot_only(people, replica_for, client, engine):
    from server.auth import add_device, add_user

    desk = replica_for(people["desk"])
    where = stock_setup(desk, people)
    elsewhere = desk.insert("stock_location", kind="depot", name="Tianjin depot", depot_id="depot-tianjin")
    for location in (where["depot"], elsewhere):
        desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=3.0, to_location_id=location)
    desk.sync()
    with engine.begin() as conn:
        keeper = add_user(conn, "Tianjin keeper", "depot", depot_id="depot-tianjin")
        _, token = add_device(conn, keeper, "tianjin tablet")
    mine = client.get("/v1/depot/reconciliation", headers={"Authorization": f"Bearer {token}"}).json
    assert [lv["location_id"] for lv in mine["levels"]] == [elsewhere]
    office = client.get("/v1/depot/reconciliation", headers=auth_header(people["manager"])).json
    assert {lv["location_id"] for lv in office["levels"]} == {where["depot"], elsewhere}


def test_engineer_changing_on_his_tablet_what_he_wrote_on_his_phone_is_an_edit_not_a_conflict(
        people, timeline, engine):
    with engine.begin() as conn:
        tablet_id, tablet_token = add_device(conn, people["wang"].user_id, "王伟的平板", device_id="d-wang-tablet")
    tablet_holder = Person(people["wang"].user_id, "engineer", tablet_id, tablet_token)
    desk = timeline.device(people["desk"])
    phone = timeline.device(people["wang"])
    tablet = timeline.device(tablet_holder)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    phone.sync()
    tablet.sync()
    phone.update("ticket", ids["ticket"], diagnosis="皮带磨损", status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    phone.sync()
    timeline.advance(60_000)
    tablet.update("ticket", ids["ticket"], diagnosis="皮带磨损，轴承也有异响", actions="更换皮带和轴承", result="运行正常",
                  status="completed")  # had not pulled
    report = tablet.sync()
    assert report.conflicts == 0
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["diagnosis"], row["status"]) == ("皮带磨损，轴承也有异响", "completed")
    assert conflicts_about(engine, ids["ticket"]) == []
    desk.sync()
    desk.update("ticket", ids["ticket"], fault_description="客户说十分钟后停机")
    desk.sync()
    timeline.advance(60_000)
    tablet.update("ticket", ids["ticket"], fault_description="开机十分钟后皮带打滑")  # the desk's edit unseen
    tablet.sync()
    [note] = conflicts_about(engine, ids["ticket"])
    assert (note["field"], orjson.loads(note["lost_value"])) == ("fault_description", "客户说十分钟后停机")
