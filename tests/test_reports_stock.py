"""Head office's stock and follow-up reports (issue 18): parts reconciliation, contracts
expiring, overdue complaints, the carry-back register — every figure against a small
world built through the real push path, as the devices would, on simulated time.

The world (``START`` is Monday 2 November 2026, 08:00 in Beijing, 00:00 UTC; day n is
n days later):

* day 0: the Beijing depot receives 10 drive belts and 20 fuses and issues 3 belts and 5
  fuses to Wang's van; the manager receives 4 fuses at the Nanjing depot. The keeper
  counts the Beijing shelf an hour later — 6 belts (the ledger says 7), 15 fuses — and
  the manager approves it: one belt written down. Job 1 (华信印刷厂) goes to Wang, job 2
  (东方机械厂, zone ring3) to Chen, whose tablet pulls it.
* day 1: one belt goes to Chen's van; Wang fits 2 belts on job 1. Chen's tablet, out of
  signal all week (its clock 5 minutes fast), fits a belt on job 2 and carries the
  press back to the workshop on receipt HS-2611-007.
* day 2: the desk hands job 1 to Chen mid-job; he fits a fuse from his empty van and the
  customer signs. day 3: Chen changes the result: the signature goes stale.
* day 4: the depot receives Wang's old belts and claims them from the supplier; day 5
  the supplier accepts. day 9: the complaints job runs; Chen's tablet finally syncs.
* day 10: the reports.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timezone

import orjson
import pytest
import sqlalchemy as sa

from server.auth import add_device
from server.domain.moments import epoch_ms
from server.domain.writeoff import open_consumptions
from tests.conftest import Person, Timeline, auth_header
from tests.test_domain_writeoff import stock_and_vans

START = int(datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR
BASE = "/v1/office/reports"


def at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def day(n: float) -> str:
    """The server's ISO text of START + n days (how the reports give server times)."""
    return datetime.fromtimestamp((START + n * DAY) / 1000, timezone.utc).isoformat()


@pytest.fixture
def timeline(app_factory, replica_for) -> Timeline:
    made = Timeline(replica_for, START)
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


def get(timeline: Timeline, person: Person, path: str, **params):
    return timeline.app.test_client().get(BASE + path, headers=auth_header(person), query_string=params)


def report(timeline: Timeline, person: Person, path: str, **params) -> dict:
    answer = get(timeline, person, path, **params)
    assert answer.status_code == 200, answer.json
    return answer.json


def job(desk, engineer: Person, customer: str, zone: str, fault: str) -> str:
    customer_id = desk.insert("customer", name=customer, address="北京市朝阳区建国路88号", zone=zone,
                              phone="010-6555-0101", contact="刘经理")
    equipment = desk.insert("equipment", customer_id=customer_id, model="海德堡 SM52", serial="SN-0452")
    ticket = desk.insert("ticket", customer_id=customer_id, equipment_id=equipment, status="dispatched",
                         urgency="normal", channel="phone", fault_description=fault, zone=zone,
                         assignee_id=engineer.user_id)
    desk.sync()
    return ticket


def sign(engineer, ticket: str) -> None:
    engineer.update("ticket", ticket, status="on_site", arrived_at="2026-11-04T09:40:00+08:00")
    engineer.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="试机正常")
    engineer.update("ticket", ticket, status="completed", completed_at="2026-11-04T11:05:00+08:00")
    image = engineer.put_blob("刘经理的签名笔迹".encode())
    engineer.insert("signature", ticket_id=ticket, blob_sha256=image, signer_name="刘经理",
                    signed_at="2026-11-04T11:10:00+08:00", report_hash=engineer.report_hash(ticket))


def requisition(engineer, manager, depot, person: Person, w: dict, van: str, lines: dict[str, float]) -> str:
    """The engineer asks for parts for his van, the manager approves, the depot pulls it."""
    engineer.sync()
    made = engineer.insert("requisition", engineer_id=person.user_id, depot_location_id=w["depot"],
                           van_location_id=w[van], lines=[{"part_id": w[p], "qty": q} for p, q in lines.items()],
                           reason="补充车载备件")
    engineer.sync()
    manager.sync()
    manager.update("requisition", made, status="approved")
    manager.sync()
    depot.sync()
    return made


def issue(depot, w: dict, made: str, van: str, part: str, qty: float, holder: Person) -> None:
    depot.insert("stock_movement", kind="issue", part_id=w[part], qty=qty, from_location_id=w["depot"],
                 to_location_id=w[van], requisition_id=made, held_by=holder.user_id, note="领料出库")


def build(timeline: Timeline, people: dict, engine) -> dict:
    """The world of the module docstring, up to day 10; the ids by name."""
    desk, depot, manager, wang, chen = (timeline.device(people[n])
                                        for n in ("desk", "depot", "manager", "wang", "chen"))
    with engine.begin() as conn:
        _, token = add_device(conn, people["chen"].user_id, "陈静的平板", device_id="d-chen-tablet")
    tablet = timeline.device(Person(people["chen"].user_id, "engineer", "d-chen-tablet", token), skew_ms=5 * 60_000)
    w = stock_and_vans(desk, people)
    w["south"] = desk.insert("stock_location", kind="depot", name="南京分库", depot_id="depot-south")
    desk.sync()
    keeper = people["depot"].user_id
    depot.sync()
    depot.insert("stock_movement", kind="receive", part_id=w["belt"], qty=10.0, to_location_id=w["depot"],
                 held_by=keeper, note="供应商到货")
    depot.insert("stock_movement", kind="receive", part_id=w["fuse"], qty=20.0, to_location_id=w["depot"],
                 held_by=keeper)
    depot.sync()
    asked = requisition(wang, manager, depot, people["wang"], w, "van_wang", {"belt": 3.0, "fuse": 5.0})
    issue(depot, w, asked, "van_wang", "belt", 3.0, people["wang"])
    issue(depot, w, asked, "van_wang", "fuse", 5.0, people["wang"])
    depot.sync()
    manager.sync()
    manager.insert("stock_movement", kind="receive", part_id=w["fuse"], qty=4.0, to_location_id=w["south"])
    manager.sync()
    timeline.advance(HOUR)
    w["count"] = depot.insert("stock_count", location_id=w["depot"], counted_by=keeper, counted_at=at(timeline.now),
                              lines=[{"part_id": w["belt"], "condition": "new", "qty": 6},
                                     {"part_id": w["fuse"], "condition": "new", "qty": 15}], note="月末盘点：货架B-3")
    depot.sync()
    timeline.advance(HOUR)
    manager.sync()
    manager.update("stock_count", w["count"], approved=True)
    manager.sync()
    timeline.advance(HOUR)
    w["job1"] = job(desk, people["wang"], "华信印刷厂", "ring2", "皮带磨损，运行十分钟后停机")
    w["job2"] = job(desk, people["chen"], "东方机械厂", "ring3", "印刷机异响，需返厂检修")
    wang.sync()
    tablet.sync()

    timeline.now = START + DAY
    asked = requisition(chen, manager, depot, people["chen"], w, "van_chen", {"belt": 1.0})
    issue(depot, w, asked, "van_chen", "belt", 1.0, people["chen"])
    depot.sync()
    w["wang_belts"] = wang.insert("stock_movement", kind="consume", part_id=w["belt"], qty=2.0,
                                  from_location_id=w["van_wang"], ticket_id=w["job1"], note="换下磨损皮带")
    wang.sync()
    w["chen_belt"] = tablet.insert("stock_movement", kind="consume", part_id=w["belt"], qty=1.0,
                                   from_location_id=w["van_chen"], ticket_id=w["job2"])
    tablet.update("ticket", w["job2"], status="on_site", arrived_at="2026-11-03T09:00:00+08:00")
    tablet.update("ticket", w["job2"], status="carried_back", carried_back=True, receipt_number="HS-2611-007")

    timeline.now = START + 2 * DAY
    desk.update("ticket", w["job1"], assignee_id=people["chen"].user_id)  # Wang is called away mid-job
    desk.sync()
    chen.sync()
    w["chen_fuse"] = chen.insert("stock_movement", kind="consume", part_id=w["fuse"], qty=1.0,
                                 from_location_id=w["van_chen"], ticket_id=w["job1"])
    sign(chen, w["job1"])
    chen.sync()
    w["chen"] = chen
    timeline.now = START + 3 * DAY
    chen.update("ticket", w["job1"], result="试机正常，建议三个月后复查")  # the signed report changed
    chen.sync()

    timeline.now = START + 4 * DAY
    depot.sync()
    depot.update("old_part_return", w["wang_belts"], status="received", received_at=at(timeline.now),
                 received_by=keeper)
    depot.update("old_part_return", w["wang_belts"], status="disposed", disposition="supplier_claim",
                 disposed_at="2026-11-06T10:00:00+08:00")
    depot.sync()
    timeline.now = START + 5 * DAY
    desk.sync()
    desk.update("old_part_return", w["wang_belts"], claim_outcome="accepted")
    desk.sync()
    w["desk"], w["tablet"], w["depot_device"] = desk, tablet, depot
    for device in (desk, depot, manager, wang, chen):
        assert device.parked() == [], [(p.code, p.message) for p in device.parked()]
    return w


def complaints(timeline: Timeline, desk) -> dict:
    """K1 received 5 days before START (deadline day 8), K2 abroad (17 days: day 12), K3
    resolved, K4 with a deadline the desk set (5 November noon in Beijing: day 3, 04:00
    UTC), K5 received 4 days before START (deadline day 9 exactly)."""
    def before(days: int) -> str:
        return at(START - days * DAY)

    k = {
        "K1": desk.insert("complaint", description="维修后三天再次停机，无人回电", received_at=before(5),
                          status="open"),
        "K2": desk.insert("complaint", description="海外客户：备件发货太慢", received_at=before(5), abroad=True,
                          status="open"),
        "K3": desk.insert("complaint", description="工程师迟到", received_at=before(20), status="resolved",
                          resolution="已致歉"),
        "K4": desk.insert("complaint", description="收费不明", received_at=before(10), status="open",
                          deadline="2026-11-05T12:00:00+08:00"),
        "K5": desk.insert("complaint", description="服务态度差", received_at=before(4), status="open"),
    }
    desk.sync()
    return k


def by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


# -- reconciliation -------------------------------------------------------------------------------


def test_ledger_against_the_last_approved_count_with_negative_stock_per_location(people, timeline, engine):
    w = build(timeline, people, engine)
    timeline.now = START + 9 * DAY

    def belts() -> float:
        rows = report(timeline, people["manager"], "/reconciliation")["rows"]
        return {(r["location_id"], r["part_id"]): r["ledger"] for r in rows}[(w["van_chen"], w["belt"])]

    assert belts() == 1.0  # the tablet's belt not in yet
    w["tablet"].sync()
    assert belts() == 0.0
    timeline.now = START + 10 * DAY
    body = report(timeline, people["manager"], "/reconciliation")
    assert [c["title"] for c in body["columns"]][:3] == ["库位", "库位名称", "仓库"]
    got = {(r["location_id"], r["part_id"]): (r["ledger"], r["counted"], r["since_count"], r["negative"])
           for r in body["rows"]}
    assert got == {
        # 10 in, 3 to Wang, 1 written down at the count, 1 to Chen after it
        (w["depot"], w["belt"]): (5.0, 6.0, -1.0, False),
        (w["depot"], w["fuse"]): (15.0, 15.0, 0.0, False),
        (w["van_wang"], w["belt"]): (1.0, None, None, False),
        (w["van_wang"], w["fuse"]): (5.0, None, None, False),
        (w["van_chen"], w["belt"]): (0.0, None, None, False),  # 1 in, 1 fitted offline on job 2
        (w["van_chen"], w["fuse"]): (-1.0, None, None, True),  # fitted from an empty van
        (w["south"], w["fuse"]): (4.0, None, None, False),
    }
    depot_rows = [r for r in body["rows"] if r["location_id"] == w["depot"]]
    assert {(r["count_id"], r["counted_as_of"][:16], r["location_name"]) for r in depot_rows} == {
        (w["count"], "2026-11-02T01:00", "北京总库")}

    keeper = report(timeline, people["depot"], "/reconciliation")  # his own depot only: not Nanjing
    assert {r["location_id"] for r in keeper["rows"]} == {w["depot"], w["van_wang"], w["van_chen"]}
    van = report(timeline, people["desk"], "/reconciliation", engineer=people["chen"].user_id)
    assert [(r["part_id"], r["ledger"]) for r in van["rows"]] == sorted(
        [(w["belt"], 0.0), (w["fuse"], -1.0)])

    # a gasket received after the count, which its sheet never listed: nothing to compare
    gasket = w["desk"].insert("part", code="GSK-30", name="密封圈", unit="个", returnable=False)
    w["desk"].sync()
    w["depot_device"].sync()
    w["depot_device"].insert("stock_movement", kind="receive", part_id=gasket, qty=3.0, to_location_id=w["depot"])
    w["depot_device"].sync()
    [row] = [r for r in report(timeline, people["depot"], "/reconciliation")["rows"] if r["part_id"] == gasket]
    assert (row["ledger"], row["count_id"], row["counted"], row["since_count"], row["part_name"]) == (
        3.0, w["count"], None, None, "密封圈")


def test_reconciliation_pages_by_cursor_through_every_bin_once(people, timeline, engine):
    w = build(timeline, people, engine)
    seen, cursor, pages = [], None, 0
    while True:
        body = report(timeline, people["manager"], "/reconciliation", limit=3,
                      **({"cursor": cursor} if cursor else {}))
        seen += [(r["location_id"], r["part_id"]) for r in body["rows"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 7 and len(set(seen)) == 7
    assert w["south"] in {loc for loc, _ in seen}


def test_open_consumptions_by_engineer_follow_the_reassignment_the_stale_signature_and_the_late_tablet(
        people, timeline, engine):
    w = build(timeline, people, engine)
    wang, chen = people["wang"].user_id, people["chen"].user_id
    timeline.now = START + 8 * DAY
    first_day = {"from": "2026-11-03", "to": "2026-11-03"}  # day 1, in Beijing
    before = report(timeline, people["manager"], "/reconciliation/open-consumptions", **first_day)
    assert [(r["engineer_id"], r["open"]) for r in before["rows"]] == [(wang, 1)]  # the tablet has not synced

    timeline.now = START + 9 * DAY
    w["tablet"].sync()  # a week late: day 1's figure changes
    after = report(timeline, people["manager"], "/reconciliation/open-consumptions", **first_day)
    assert sorted((r["engineer_id"], r["open"]) for r in after["rows"]) == sorted([(wang, 1), (chen, 1)])

    timeline.now = START + 10 * DAY
    rows = by(report(timeline, people["manager"], "/reconciliation/open-consumptions")["rows"], "engineer_id")
    # Wang held the belts he fitted before the job was handed over: they stay his. The old
    # belts are in (claimed), but the report changed after signing: they wait for a signature.
    assert {k: v for k, v in rows[wang].items() if k != "engineer_name"} == {
        "engineer_id": wang, "open": 1, "qty": 2.0, "waiting_signature": 1, "waiting_old_part": 0,
        "over_7_days": 1, "over_30_days": 0, "oldest_at": day(1)}
    # Chen: the fuse on job 1 (stale signature) and the belt on job 2 (unsigned, old belt out),
    # its time the tablet's clock corrected by its 5 minutes
    assert {k: v for k, v in rows[chen].items() if k != "engineer_name"} == {
        "engineer_id": chen, "open": 2, "qty": 2.0, "waiting_signature": 2, "waiting_old_part": 1,
        "over_7_days": 2, "over_30_days": 0, "oldest_at": day(1)}

    w["chen"].sync()
    sign(w["chen"], w["job1"])  # the customer signs the changed report
    w["chen"].sync()
    rows = by(report(timeline, people["manager"], "/reconciliation/open-consumptions")["rows"], "engineer_id")
    assert wang not in rows and (rows[chen]["open"], rows[chen]["waiting_signature"]) == (1, 1)


@pytest.mark.parametrize("how", ["made returnable after it was fitted", "its return deleted"])
def test_a_returnable_part_with_no_return_step_still_waits_for_its_old_part_in_the_tally(how, people, timeline):
    """A fuse fitted while fuses were thrown away has no return; a belt whose return the
    desk deleted has none either. Either way the part is returnable now, nothing came
    back, and the tally counts it as waiting for its old part, as the list does."""
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    w = stock_and_vans(desk, people)
    ticket = job(desk, people["wang"], "华信印刷厂", "ring2", "皮带磨损，保险丝烧断")
    wang.sync()
    part = w["fuse"] if how == "made returnable after it was fitted" else w["belt"]
    fitted = wang.insert("stock_movement", kind="consume", part_id=part, qty=1.0, from_location_id=w["van_wang"],
                         ticket_id=ticket, note="更换后试机")
    wang.sync()

    def tally() -> tuple:
        [row] = report(timeline, people["manager"], "/reconciliation/open-consumptions")["rows"]
        return row["engineer_id"], row["open"], row["waiting_signature"], row["waiting_old_part"]

    if how == "made returnable after it was fitted":
        assert tally() == (people["wang"].user_id, 1, 1, 0)  # thrown away: nothing to wait for
        desk.update("part", w["fuse"], returnable=True)  # the supplier now takes burnt fuses back
        desk.sync()
    else:
        assert tally() == (people["wang"].user_id, 1, 1, 1)  # the old belt is expected at the depot
        desk.sync()
        desk.delete("old_part_return", fitted)  # recorded by mistake, the desk thought
        desk.sync()
        assert desk.parked() == []
    assert tally() == (people["wang"].user_id, 1, 1, 1)
    with timeline.app.extensions["fieldsync"].engine.connect() as conn:
        [listed] = open_consumptions(conn, None, datetime.fromtimestamp(timeline.now / 1000, timezone.utc))
    assert (listed["movement_id"], listed["old_part_status"], listed["waiting_for"]) == (
        fitted, None, ["signature", "old_part"])


def test_old_parts_out_by_engineer_and_age_and_the_supplier_claims_with_their_outcome(people, timeline, engine):
    w = build(timeline, people, engine)
    timeline.now = START + 9 * DAY
    w["tablet"].sync()
    timeline.now = START + 10 * DAY
    old = report(timeline, people["depot"], "/reconciliation/old-parts")
    # Wang's old belts are in; Chen's from job 2 was expected when the tablet synced (day 9)
    assert [(r["engineer_id"], r["age_band"], r["returns"], r["qty"], r["oldest_at"]) for r in old["rows"]] == [
        (people["chen"].user_id, "0-7", 1, 1.0, day(9))]
    timeline.now = START + 40 * DAY
    old = report(timeline, people["depot"], "/reconciliation/old-parts")
    assert [(r["age_band"], r["returns"]) for r in old["rows"]] == [("30+", 1)]

    claims = report(timeline, people["manager"], "/reconciliation/supplier-claims")
    assert [(r["return_id"], r["ticket_id"], r["qty"], r["engineer_id"], r["outcome"], r["part_name"])
            for r in claims["rows"]] == [(w["wang_belts"], w["job1"], 2.0, people["wang"].user_id, "accepted",
                                          "传动皮带")]
    assert claims["outcomes"] == {"accepted": {"claims": 1, "qty": 2.0}}
    # disposed of on 6 November in Beijing: outside 7 November onwards
    assert report(timeline, people["manager"], "/reconciliation/supplier-claims",
                  **{"from": "2026-11-07"})["outcomes"] == {}
    assert report(timeline, people["manager"], "/reconciliation/supplier-claims",
                  **{"from": "2026-11-06", "to": "2026-11-06"})["outcomes"]["accepted"]["claims"] == 1


# -- contracts, complaints, carry-back --------------------------------------------------------------


def test_contracts_expiring_within_thirty_days_with_customer_and_every_machine(people, timeline, engine):
    desk = timeline.device(people["desk"])
    timeline.now = START + 10 * DAY  # 12 November in Beijing
    customer = desk.insert("customer", name="华信印刷厂", zone="ring2", contact="刘经理", phone="010-6555-0101")
    other = desk.insert("customer", name="远东包装公司", zone="suburb")
    made = {
        "soon": desk.insert("contract", number="HT-2025-031", customer_id=customer, starts_on="2025-11-18",
                            ends_on="2026-11-17"),
        "edge": desk.insert("contract", number="HT-2025-044", customer_id=other, starts_on="2025-12-12",
                            ends_on="2026-12-12T18:00:00+08:00"),
        "later": desk.insert("contract", number="HT-2025-052", customer_id=customer, ends_on="2026-12-22"),
        "over": desk.insert("contract", number="HT-2024-007", customer_id=customer, ends_on="2026-11-11"),
    }
    sm52 = desk.insert("equipment", customer_id=customer, model="海德堡 SM52", serial="SN-0452",
                       contract_id=made["soon"])
    gto = desk.insert("equipment", customer_id=customer, model="海德堡 GTO", serial="SN-0977",
                      contract_id=made["soon"])
    desk.sync()
    body = report(timeline, people["desk"], "/contracts-expiring")
    assert [(r["number"], r["days_left"], r["equipment_id"], r["customer_name"]) for r in body["rows"]] == [
        ("HT-2025-031", 5, e, "华信印刷厂") for e in sorted([sm52, gto])] + [("HT-2025-044", 30, None, "远东包装公司")]
    assert [r["number"] for r in report(timeline, people["manager"], "/contracts-expiring", days="40")["rows"]] == [
        "HT-2025-031", "HT-2025-031", "HT-2025-044", "HT-2025-052"]
    assert [r["number"] for r in report(timeline, people["desk"], "/contracts-expiring", zone="suburb")["rows"]] == [
        "HT-2025-044"]
    first = report(timeline, people["desk"], "/contracts-expiring", limit="2")
    rest = report(timeline, people["desk"], "/contracts-expiring", limit="2", cursor=first["next"])
    assert [r["equipment_id"] for r in first["rows"] + rest["rows"]] == sorted([sm52, gto]) + [None]
    assert rest["next"] is None


def test_overdue_complaints_with_their_deadline_and_escalation(people, timeline):
    desk = timeline.device(people["desk"])
    k = complaints(timeline, desk)
    timeline.now = START + 9 * DAY
    escalated = timeline.app.test_client().post("/v1/office/complaints/escalate", headers=auth_header(people["desk"]))
    assert sorted(escalated.json["ids"]) == sorted([k["K1"], k["K4"]])
    timeline.now = START + 10 * DAY
    body = report(timeline, people["manager"], "/overdue-complaints")
    got = [(r["complaint_id"], r["deadline"][:19], r["days_overdue"], r["escalated"]) for r in body["rows"]]
    assert got == sorted([
        (k["K4"], "2026-11-05T12:00:00", 6.8, True),  # 5 Nov 12:00 in Beijing: 6 days 20 hours ago
        (k["K1"], "2026-11-10T00:00:00", 2.0, True),  # received 28 Oct, 13 days
        (k["K5"], "2026-11-11T00:00:00", 1.0, False),  # due as the job ran: not yet past it then
    ], key=lambda r: (r[1], r[0]))
    assert {r["complaint_id"]: r["number"] for r in body["rows"]}[k["K1"]].startswith("C")
    received_late_october = report(timeline, people["manager"], "/overdue-complaints",
                                   **{"from": "2026-10-28", "to": "2026-10-29"})
    assert [r["complaint_id"] for r in received_late_october["rows"]] == [k["K1"], k["K5"]]  # K4 came in earlier


def test_carry_back_register_shows_the_press_in_the_workshop_since_the_tablet_recorded_it(people, timeline, engine):
    w = build(timeline, people, engine)
    timeline.now = START + 8 * DAY
    assert report(timeline, people["desk"], "/carry-back")["rows"] == []  # the tablet has not synced yet
    timeline.now = START + 9 * DAY
    w["tablet"].sync()
    timeline.now = START + 10 * DAY
    [row] = report(timeline, people["desk"], "/carry-back")["rows"]
    assert (row["ticket_id"], row["status"], row["receipt_number"], row["since"], row["days_away"],
            row["customer_name"], row["engineer_id"], row["zone"]) == (
        w["job2"], "carried_back", "HS-2611-007", day(1), 9.0, "东方机械厂", people["chen"].user_id, "ring3")
    assert report(timeline, people["desk"], "/carry-back", zone="ring2")["rows"] == []
    assert report(timeline, people["desk"], "/carry-back", engineer=people["wang"].user_id)["rows"] == []
    assert report(timeline, people["desk"], "/carry-back", **{"from": "2026-11-04"})["rows"] == []
    assert len(report(timeline, people["desk"], "/carry-back", **{"to": "2026-11-03"})["rows"]) == 1


# -- CSV -----------------------------------------------------------------------------------------


def test_carry_back_register_as_csv_opens_in_excel_with_its_chinese_header_and_cells(people, timeline, engine):
    w = build(timeline, people, engine)
    timeline.now = START + 9 * DAY
    w["tablet"].sync()
    timeline.now = START + 10 * DAY
    answer = get(timeline, people["desk"], "/carry-back", format="csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    raw = answer.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["工单", "工单编号", "状态", "收条编号", "带回时间"]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1]))
    assert (record["收条编号"], record["客户名称"], record["故障描述"], record["在修天数"]) == (
        "HS-2611-007", "东方机械厂", "印刷机异响，需返厂检修", "9")


def test_reconciliation_csv_pages_with_a_link_header(people, timeline, engine):
    build(timeline, people, engine)
    answer = get(timeline, people["manager"], "/reconciliation", format="csv", limit="2")
    rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert rows[0][:6] == ["库位", "库位名称", "仓库", "备件", "备件名称", "新旧"] and len(rows) == 3
    assert 'rel="next"' in answer.headers["Link"] and "cursor=" in answer.headers["Link"]
    assert {r[4] for r in rows[1:]} <= {"传动皮带", "保险丝 10A"}


# -- who reads what, and bad input ----------------------------------------------------------------

ALL = ["/reconciliation", "/reconciliation/open-consumptions", "/reconciliation/old-parts",
       "/reconciliation/supplier-claims", "/contracts-expiring", "/overdue-complaints", "/carry-back"]
RECONCILIATION = ALL[:4]


@pytest.mark.parametrize("path", ALL)
def test_engineers_read_no_report_and_a_depot_keeper_only_his_own_depots_reconciliation(path, people, timeline):
    assert get(timeline, people["wang"], path).status_code == 403
    keeper = get(timeline, people["depot"], path)
    if path in RECONCILIATION:
        assert keeper.status_code == 200
        assert get(timeline, people["depot"], path, depot="depot-main").status_code == 200
        assert get(timeline, people["depot"], path, depot="depot-south").status_code == 403
        assert get(timeline, people["manager"], path, depot="depot-south").status_code == 200
    else:
        assert keeper.status_code == 403
    assert get(timeline, people["desk"], path).status_code == 200
    assert timeline.app.test_client().get(BASE + path).status_code == 401


BAD = [
    ("from", "２０２６-11-01"), ("from", "10000-01-01"), ("to", "2026-02-30"), ("from", "2026-1-1"),
    ("limit", "５"), ("limit", "0"), ("limit", "5001"), ("limit", "9" * 5000), ("limit", "-1"), ("limit", "2.0"),
    ("cursor", "not-a-cursor!"), ("cursor", "W10"), ("cursor", "x" * 5000), ("engineer", "王伟"),
    *(("cursor", base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("="))  # a key of the wrong kind
      for key in ([5], ["a\u0000"], [None], [True], [["u-wang"]], ["u-wang", "a", "b"])),
    ("depot", "a b"), ("format", "xlsx"), ("zone", "z" * 51), ("zone", "ring\x00"), ("zone", ""), ("nonsense", "1"),
]


@pytest.mark.parametrize("path", ["/reconciliation/open-consumptions", "/overdue-complaints", "/carry-back"])
def test_bad_filters_are_refused_with_a_code_never_a_server_error(path, people, timeline):
    for name, value in BAD:
        answer = get(timeline, people["manager"], path, **{name: value})
        assert answer.status_code == 422, (name, value, answer.json)
        code = "invalid" if name == "format" else "invalid_filter"
        assert (answer.json["code"], answer.json["field"]) == (code, name), (name, value)


def test_a_range_that_ends_before_it_starts_and_a_window_too_long_are_refused(people, timeline):
    backwards = get(timeline, people["manager"], "/carry-back", **{"from": "2026-11-05", "to": "2026-11-04"})
    assert (backwards.status_code, backwards.json["code"], backwards.json["field"]) == (422, "invalid_filter", "from")
    for days in ("0", "367", "３０", "30.5", ""):
        answer = get(timeline, people["manager"], "/contracts-expiring", days=days)
        assert (answer.status_code, answer.json["field"]) == (422, "days"), days
    assert get(timeline, people["manager"], "/contracts-expiring", days="366").status_code == 200
    assert get(timeline, people["manager"], "/contracts-expiring", engineer="u-wang").status_code == 422
    assert get(timeline, people["manager"], "/reconciliation", **{"from": "2026-11-01"}).status_code == 422
    same_day = get(timeline, people["manager"], "/carry-back", **{"from": "9999-12-31", "to": "9999-12-31"})
    assert same_day.status_code == 200 and same_day.json["rows"] == []
    ancient = get(timeline, people["manager"], "/overdue-complaints", **{"from": "0001-01-01"})
    assert (ancient.status_code, ancient.json["code"], ancient.json["field"]) == (422, "invalid_filter", "from")
    first = get(timeline, people["manager"], "/overdue-complaints", **{"from": "1970-01-01"})
    assert first.status_code == 200


@pytest.mark.parametrize("text", [
    "2026-11-23", "2026-11-23T08:30", "2026-11-23T08:30:00+08:00", "2026-11-23 08:30:00-05:00",
    "2026-11-23T00:29:59.999999Z", "2026-11-23 08:30:00.5", "0001-01-01", "9999-12-31T23:59:58-00:00",
])
def test_a_time_field_read_in_sql_is_the_moment_python_reads_whatever_its_form(text, engine):
    """The overdue rule and the report filters compare time fields in SQL: whatever form
    a device wrote (a day, a space for the T, an offset or none, Z), SQL reads the moment
    Python reads (a day alone at offset 0: its start in UTC), to the millisecond."""
    stated = datetime.fromisoformat(text)
    stated = stated if stated.tzinfo else stated.replace(tzinfo=timezone.utc)
    with engine.connect() as conn:
        read = conn.execute(sa.select(epoch_ms(sa.literal(text), 0))).scalar()
    assert abs(read - stated.timestamp() * 1000) < 1
