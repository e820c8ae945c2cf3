"""The checks made before a write is merged (:mod:`server.domain.checks`): a stock movement
names its kind, part, quantity and ends; a signature its hashes; a charge, an expense
claim, a maintenance plan and a requisition what they must. Each refusal rejects that one
mutation with its code and field, and the rest of the change-set applies."""

from __future__ import annotations

import itertools

import orjson
import pytest
import sqlalchemy as sa

from server.tables import entity_table
from sync import hlc
from tests.conftest import Person, auth_header

_BASE_MS = hlc.now_ms()
_SENT = itertools.count(1)  # change-set and mutation ids, and stamps, never reused in a process


class Pusher:
    """One person's device pushing change-sets straight to the server, each mutation at a
    later stamp of its own clock."""

    def __init__(self, client, person: Person):
        self.client, self.person = client, person
        self._counter = _SENT
        self.stamps: dict[str, str] = {}  # mutation id → the stamp it was sent at

    def push(self, *mutations: tuple) -> list[dict]:
        """``(entity, id, op, fields)`` or ``(entity, id, op, fields, base_version)`` each;
        the server's answer for each, in order."""
        body = {"changeset_id": f"cs-{self.person.device_id}-{next(self._counter)}", "device_id": self.person.device_id,
                "schema_version": 1, "mutations": []}
        for entity, row_id, op, fields, *base in mutations:
            n = next(self._counter)
            stamp = str(hlc.Timestamp(_BASE_MS + n, 0, self.person.device_id))
            self.stamps[f"m-{self.person.device_id}-{n}"] = stamp
            body["mutations"].append({
                "mutation_id": f"m-{self.person.device_id}-{n}", "entity": entity, "id": row_id, "op": op,
                "fields": fields, "hlc": stamp,
                "base_version": base[0] if base else None})
        answer = self.client.post("/v1/sync/push", data=orjson.dumps(body),
                                  headers={**auth_header(self.person), "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.json
        return answer.json["results"]

    def one(self, entity: str, row_id: str, op: str, fields: dict, base_version: int | None = None) -> dict:
        [result] = self.push((entity, row_id, op, fields, base_version))
        return result


def refusal(result: dict) -> tuple:
    """A rejection as (status, code, field), or the status alone when applied."""
    if result["status"] != "rejected":
        return (result["status"],)
    assert result["message"]
    return result["status"], result["code"], result.get("field")


def stored(engine, entity: str, row_id: str) -> dict | None:
    table = entity_table(entity)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one_or_none()
    return dict(row) if row is not None else None


def clock_of(engine, entity: str, row_id: str, field: str) -> str:
    """The stamp the stored value of ``field`` was written at."""
    table = entity_table(entity)
    with engine.connect() as conn:
        clock = conn.execute(sa.select(table.c.clock).where(table.c.id == row_id)).scalar_one()
    return orjson.loads(clock)[field][0]


REJECTED = "rejected"


def test_a_movement_of_nothing_is_refused_and_an_adjustment_down_is_taken(client, people, engine):
    """The depot keeper books a receipt of zero drive belts (refused) and the count's
    correction of two belts fewer than the ledger (taken: adjustments go both ways)."""
    desk = Pusher(client, people["desk"])
    assert [refusal(r) for r in desk.push(
        ("part", "p-belt", "insert", {"code": "BLT-200", "name": "传动皮带", "unit": "条", "returnable": True}),
        ("stock_location", "l-depot", "insert", {"kind": "depot", "name": "北京总库", "depot_id": "depot-main"}),
    )] == [("applied",), ("applied",)]
    depot = Pusher(client, people["depot"])
    results = depot.push(
        ("stock_movement", "mv-zero", "insert", {"kind": "receive", "part_id": "p-belt", "qty": 0.0,
                                                 "to_location_id": "l-depot"}),
        ("stock_movement", "mv-down", "insert", {"kind": "stocktake_adjustment", "part_id": "p-belt", "qty": -2.0,
                                                 "to_location_id": "l-depot"}),
    )
    assert [refusal(r) for r in results] == [(REJECTED, "invalid_quantity", "qty"), ("applied",)]
    assert stored(engine, "stock_movement", "mv-zero") is None
    assert stored(engine, "stock_movement", "mv-down")["qty"] == -2.0


def _stockroom(client, people) -> Pusher:
    """Head office records a fuse (not returned when used), a belt, the Beijing and Tianjin
    depots, 王伟's van and a repair at 华信印刷厂 dispatched to him."""
    manager = Pusher(client, people["manager"])
    answers = manager.push(
        ("part", "p-fuse", "insert", {"code": "FUS-10", "name": "保险丝 10A", "unit": "个", "returnable": False}),
        ("part", "p-belt", "insert", {"code": "BLT-200", "name": "传动皮带", "unit": "条", "returnable": True}),
        ("stock_location", "l-bj", "insert", {"kind": "depot", "name": "北京总库", "depot_id": "depot-main"}),
        ("stock_location", "l-tj", "insert", {"kind": "depot", "name": "天津分库", "depot_id": "depot-main"}),
        ("stock_location", "l-van-wang", "insert", {"kind": "van", "name": "王伟的服务车", "depot_id": "depot-main",
                                                    "engineer_id": people["wang"].user_id}),
        ("stock_location", "l-van-chen", "insert", {"kind": "van", "name": "陈静的服务车", "depot_id": "depot-main",
                                                    "engineer_id": people["chen"].user_id}),
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "address": "北京市朝阳区建国路88号", "zone": "ring2"}),
        ("ticket", "t-huaxin", "insert", {"customer_id": "c-huaxin", "status": "dispatched", "urgency": "normal",
                                          "channel": "phone", "fault_description": "皮带磨损，运行十分钟后停机",
                                          "assignee_id": people["wang"].user_id}),
    )
    assert [r["status"] for r in answers] == ["applied"] * len(answers)
    return manager


#: kind → (refused when it names only where the part goes, refused when it names only where it comes from)
ENDS = {
    "receive": (False, True),
    "issue": (True, True),
    "consume": (True, False),
    "old_part_collected": (False, True),
    "old_part_received": (True, True),
    "transfer": (True, True),
    "stocktake_adjustment": (False, True),
    "write_off": (True, False),
    "supplier_claim": (True, False),
}


@pytest.mark.parametrize("kind", ENDS)
def test_each_kind_of_movement_names_the_ends_it_moves_a_fuse_between(client, people, engine, kind):
    """Head office books one fuse of each kind of movement twice, once naming only the
    depot it goes to, once only the depot it comes from."""
    manager = _stockroom(client, people)
    fuse = {"kind": kind, "part_id": "p-fuse", "qty": 1.0, "ticket_id": "t-huaxin", "held_by": people["wang"].user_id,
            "note": "清点时发现"}
    to_only, from_only = manager.push(
        ("stock_movement", "mv-to", "insert", {**fuse, "to_location_id": "l-bj"}),
        ("stock_movement", "mv-from", "insert", {**fuse, "from_location_id": "l-bj"}),
    )
    incomplete = (REJECTED, "incomplete_movement", "from_location_id")
    needs_from, needs_to = ENDS[kind]
    for result, refused in ((to_only, needs_from), (from_only, needs_to)):
        if refused:
            assert refusal(result) == incomplete
            assert result["message"] == f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} names where the part " \
                                        "comes from and goes to"
        elif kind == "issue":
            assert refusal(result) == (REJECTED, "requisition_not_approved", "requisition_id")
        else:
            assert refusal(result) == ("applied",)
    assert stored(engine, "stock_movement", "mv-to") is None if needs_from else stored(engine, "stock_movement", "mv-to")
    assert stored(engine, "stock_movement", "mv-from") is None if needs_to else stored(engine, "stock_movement", "mv-from")


def test_a_movement_without_its_kind_part_quantity_or_ticket_is_refused_saying_which(client, people, engine):
    manager = _stockroom(client, people)
    fuse = {"kind": "consume", "part_id": "p-fuse", "qty": 1.0, "from_location_id": "l-bj", "ticket_id": "t-huaxin",
            "held_by": people["wang"].user_id}
    results = manager.push(
        ("stock_movement", "mv-no-kind", "insert", {**fuse, "kind": None}),
        ("stock_movement", "mv-no-part", "insert", {**fuse, "part_id": None}),
        ("stock_movement", "mv-no-qty", "insert", {**fuse, "qty": None}),
        ("stock_movement", "mv-minus", "insert", {**fuse, "qty": -1.0}),
        ("stock_movement", "mv-no-ticket", "insert", {**fuse, "ticket_id": None}),
        ("stock_movement", "mv-collected", "insert", {"kind": "old_part_collected", "part_id": "p-belt", "qty": 1.0,
                                                      "to_location_id": "l-van-wang",
                                                      "held_by": people["wang"].user_id}),
        ("stock_movement", "mv-adjust-nil", "insert", {"kind": "stocktake_adjustment", "part_id": "p-fuse", "qty": 0.0,
                                                       "to_location_id": "l-bj"}),
        ("stock_movement", "mv-used", "insert", fuse),
    )
    assert [(r["mutation_id"][-1:], refusal(r), r.get("message")) for r in results] == [
        (results[0]["mutation_id"][-1:], (REJECTED, "incomplete_movement", "kind"), "a stock movement names its kind and part"),
        (results[1]["mutation_id"][-1:], (REJECTED, "incomplete_movement", "kind"), "a stock movement names its kind and part"),
        (results[2]["mutation_id"][-1:], (REJECTED, "invalid_quantity", "qty"),
         "a movement moves a positive quantity (adjustments may be negative)"),
        (results[3]["mutation_id"][-1:], (REJECTED, "invalid_quantity", "qty"),
         "a movement moves a positive quantity (adjustments may be negative)"),
        (results[4]["mutation_id"][-1:], (REJECTED, "incomplete_movement", "ticket_id"), "a consume names its ticket"),
        (results[5]["mutation_id"][-1:], (REJECTED, "incomplete_movement", "ticket_id"),
         "an old_part_collected names its ticket"),
        (results[6]["mutation_id"][-1:], ("applied",), None),
        (results[7]["mutation_id"][-1:], ("applied",), None),
    ]
    assert [m for m in ("mv-no-kind", "mv-no-part", "mv-no-qty", "mv-minus", "mv-no-ticket", "mv-collected",
                        "mv-adjust-nil", "mv-used") if stored(engine, "stock_movement", m)] == ["mv-adjust-nil", "mv-used"]


@pytest.mark.parametrize(("who", "source", "target", "answer"), [
    pytest.param("wang", "l-bj", "l-van-wang", (REJECTED, "requisition_required", "kind"), id="王伟 from the depot"),
    pytest.param("depot", "l-bj", "l-van-wang", (REJECTED, "requisition_required", "kind"), id="the keeper to 王伟s van"),
    pytest.param("manager", "l-bj", "l-van-wang", ("applied",), id="head office correcting"),
    pytest.param("depot", "l-bj", "l-tj", ("applied",), id="the keeper between depots"),
    pytest.param("wang", "l-van-wang", "l-bj", ("applied",), id="王伟 back to the depot"),
    pytest.param("wang", "l-van-wang", "l-van-chen", ("applied",), id="王伟 to 陈静s van"),
])
def test_parts_go_from_a_depot_to_a_van_only_against_a_requisition_except_by_head_office(
        client, people, engine, who, source, target, answer):
    _stockroom(client, people)
    result = Pusher(client, people[who]).one("stock_movement", "mv-belts", "insert", {
        "kind": "transfer", "part_id": "p-belt", "qty": 2.0, "from_location_id": source, "to_location_id": target,
        "held_by": people["wang"].user_id})
    assert refusal(result) == answer
    if answer[0] == REJECTED:
        assert result["message"] == "parts go from a depot to a van as an issue against an approved requisition"
    assert (stored(engine, "stock_movement", "mv-belts") is None) == (answer[0] == REJECTED)


def test_a_booked_movement_edited_is_answered_by_the_ledger_not_by_the_checks_of_a_new_one(client, people, engine):
    """The keeper's receipt of 5 belts is booked; an edit to 0 later is the ledger's to
    refuse (entries are corrected by new entries), not a movement missing its kind."""
    _stockroom(client, people)
    depot = Pusher(client, people["depot"])
    assert refusal(depot.one("stock_movement", "mv-in", "insert", {
        "kind": "receive", "part_id": "p-belt", "qty": 5.0, "to_location_id": "l-bj"})) == ("applied",)
    result = depot.one("stock_movement", "mv-in", "update", {"qty": 0.0}, 1)
    assert refusal(result)[:2] == (REJECTED, "append_only")
    assert stored(engine, "stock_movement", "mv-in")["qty"] == 5.0


GOOD = "0123456789abcdef" * 4


@pytest.mark.parametrize(("image", "report", "answer"), [
    pytest.param(GOOD, GOOD[::-1], (REJECTED, "signed_before_completion", "ticket_id"),
                 id="both lowercase hex of 64: the ticket answers next"),
    pytest.param(GOOD.upper(), GOOD, (REJECTED, "invalid_value", "blob_sha256"), id="the image's upper case"),
    pytest.param(GOOD[:63], GOOD, (REJECTED, "invalid_value", "blob_sha256"), id="the image's 63 digits"),
    pytest.param(None, GOOD, (REJECTED, "invalid_value", "blob_sha256"), id="no image"),
    pytest.param(GOOD, GOOD[1:], (REJECTED, "invalid_value", "report_hash"), id="the report's 63 digits"),
    pytest.param(GOOD, "g" + GOOD[1:], (REJECTED, "invalid_value", "report_hash"), id="the report's g"),
    pytest.param(GOOD, " " + GOOD[1:], (REJECTED, "invalid_value", "report_hash"), id="the report's space before"),
    pytest.param(GOOD, None, (REJECTED, "invalid_value", "report_hash"), id="no report hash"),
])
def test_a_signature_names_its_image_and_report_by_lowercase_sha256(client, people, engine, image, report, answer):
    """刘经理 signs 王伟's tablet; what the tablet sends names the image and the report
    it signed by their SHA-256, as the server computes them."""
    _stockroom(client, people)
    result = Pusher(client, people["wang"]).one("signature", "sig-liu", "insert", {
        "ticket_id": "t-huaxin", "blob_sha256": image, "report_hash": report, "signer_name": "刘经理",
        "signed_at": "2026-11-23T11:10:00+08:00"})
    assert refusal(result) == answer
    if answer[1] == "invalid_value":
        assert result["message"] == f"signature.{answer[2]} is a lowercase hex SHA-256"
    assert stored(engine, "signature", "sig-liu") is None


def _tickets_for_charges(client, people) -> tuple[Pusher, Pusher, Pusher]:
    """The desk opens a paid repair (A) and a warranty repair (C) at 华信印刷厂, both 王伟's."""
    desk = Pusher(client, people["desk"])
    job = {"customer_id": "c-huaxin", "status": "dispatched", "urgency": "normal", "channel": "phone",
           "fault_description": "变频器报警 OC", "assignee_id": people["wang"].user_id}
    assert [r["status"] for r in desk.push(
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "zone": "ring2"}),
        ("ticket", "t-paid", "insert", {**job, "category": "A"}),
        ("ticket", "t-warranty", "insert", {**job, "category": "C"}),
        ("charge", "ch-desk", "insert", {"ticket_id": "t-warranty", "kind": "travel", "amount": 80.0}),
    )] == ["applied"] * 4
    return desk, Pusher(client, people["wang"]), Pusher(client, people["manager"])


SALE_ABOVE = "a part sale above 500 needs an approval of this amount before payment and delivery"


def test_王伟_charges_on_paid_service_and_a_part_sale_above_500_is_paid_only_once_approved(client, people, engine):
    desk, wang, manager = _tickets_for_charges(client, people)
    sale = {"ticket_id": "t-paid", "kind": "part_sale", "paid": True, "collected_on_site": True}
    results = wang.push(
        ("charge", "ch-warranty", "insert", {"ticket_id": "t-warranty", "kind": "labour", "amount": 200.0}),
        ("charge", "ch-at-500", "insert", {**sale, "amount": 500.0, "description": "变频器风扇"}),
        ("charge", "ch-above", "insert", {**sale, "amount": 500.01, "description": "变频器主板"}),
        ("charge", "ch-labour", "insert", {"ticket_id": "t-paid", "kind": "labour", "amount": 800.0, "paid": True}),
        ("charge", "ch-desk", "update", {"description": "往返车费（已核）"}, 1),
    )
    assert [(refusal(r), r.get("message")) for r in results] == [
        ((REJECTED, "not_paid_service", "ticket_id"), "engineers collect charges only on paid (category A) service"),
        (("applied",), None),
        ((REJECTED, "approval_required", "paid"), SALE_ABOVE),
        (("applied",), None),
        (("applied",), None),
    ]
    # the sale asked for unpaid, approved by head office, then paid; another approved, then raised as it is paid
    assert [r["status"] for r in wang.push(
        ("charge", "ch-board", "insert", {"ticket_id": "t-paid", "kind": "part_sale", "amount": 800.0}),
        ("charge", "ch-raised", "insert", {"ticket_id": "t-paid", "kind": "part_sale", "amount": 800.0}),
    )] == ["applied", "applied"]
    assert [r["status"] for r in manager.push(("charge", "ch-board", "update", {"status": "approved"}, 1),
                                              ("charge", "ch-raised", "update", {"status": "approved"}, 1))] == \
        ["applied", "applied"]
    paid, raised = wang.push(("charge", "ch-board", "update", {"paid": True}, 2),
                             ("charge", "ch-raised", "update", {"paid": True, "amount": 900.0}, 2))
    assert (refusal(paid), refusal(raised), raised["message"]) == (
        ("applied",), (REJECTED, "approval_required", "paid"), SALE_ABOVE)
    assert {c: (stored(engine, "charge", c) or {}).get("paid") for c in (
        "ch-warranty", "ch-at-500", "ch-above", "ch-labour", "ch-board", "ch-raised")} == {
        "ch-warranty": None, "ch-at-500": True, "ch-above": None, "ch-labour": True, "ch-board": True,
        "ch-raised": None}
    # paid as approved: a note on the sale changes nothing that was paid, and is taken
    version = stored(engine, "charge", "ch-board")["version"]
    assert refusal(wang.one("charge", "ch-board", "update", {"description": "变频器主板（已收款）"}, version)) == ("applied",)
    row = stored(engine, "charge", "ch-board")
    assert (row["status"], row["paid"], row["description"]) == ("approved", True, "变频器主板（已收款）")


def test_a_paid_charge_keeps_its_ticket_kind_amount_and_status_and_takes_a_new_description(client, people, engine):
    desk, wang, manager = _tickets_for_charges(client, people)
    assert refusal(wang.one("charge", "ch-labour", "insert", {
        "ticket_id": "t-paid", "kind": "labour", "amount": 300.0, "paid": True})) == ("applied",)
    results = wang.push(
        ("charge", "ch-labour", "update", {"amount": 350.0}, 1),
        ("charge", "ch-labour", "update", {"kind": "travel"}, 1),
        ("charge", "ch-labour", "update", {"status": "refused"}, 1),
        ("charge", "ch-labour", "update", {"amount": 300.0, "kind": "labour", "description": "人工费 3小时"}, 1),
    )
    assert [(refusal(r), r.get("message")) for r in results] == [
        ((REJECTED, "already_paid", "amount"), "this charge is paid: a difference is a new charge"),
        ((REJECTED, "already_paid", "kind"), "this charge is paid: a difference is a new charge"),
        ((REJECTED, "already_paid", "status"), "this charge is paid: a difference is a new charge"),
        (("applied",), None),
    ]
    row = stored(engine, "charge", "ch-labour")
    assert (row["amount"], row["kind"], row["description"], row["paid"]) == (300.0, "labour", "人工费 3小时", True)


@pytest.mark.parametrize(("checklist", "answer"), [
    pytest.param([{"area": "前端设备", "item": "摄像机清洁、对焦"}, {"area": "防雷接地", "item": "接地电阻小于4欧"}],
                 ("applied",), id="two entries"),
    pytest.param([{"area": "前" * 100, "item": "摄" * 300}], ("applied",), id="the longest area and item"),
    pytest.param([{"area": "前端设备", "item": "摄像机清洁"}, {"area": "前" * 101, "item": "摄像机清洁"}],
                 "the area of an entry", id="an area of 101 characters"),
    pytest.param([{"area": "前端设备", "item": "摄" * 301}], "the item of an entry", id="an item of 301 characters"),
    pytest.param([{"area": 4, "item": "接地电阻"}], "the area of an entry", id="an area that is a number"),
    pytest.param([{"area": "前端设备"}], ("applied",), id="an entry without its item"),
    pytest.param(["前端设备：摄像机清洁", {"area": "防雷接地", "item": "接地电阻小于4欧"}], ("applied",),
                 id="an entry as text beside one as fields"),
    pytest.param({"area": "前" * 101}, ("applied",), id="a mapping, not a list of entries"),
    pytest.param(None, ("applied",), id="no checklist yet"),
])
def test_a_maintenance_plans_checklist_holds_areas_and_items_its_visits_can_record(
        client, people, engine, checklist, answer):
    """The desk files 金桥医院's monthly CCTV maintenance plan; each entry becomes an
    inspection item of every visit, so its area and item must fit those fields."""
    desk = Pusher(client, people["desk"])
    assert [r["status"] for r in desk.push(
        ("customer", "c-jinqiao", "insert", {"name": "金桥医院", "zone": "ring1"}),
        ("contract", "k-jinqiao", "insert", {"customer_id": "c-jinqiao", "number": "MC-7"}),
    )] == ["applied", "applied"]
    result = desk.one("maintenance_plan", "mp-cctv", "insert", {
        "contract_id": "k-jinqiao", "customer_id": "c-jinqiao", "every_months": 1, "first_visit_on": "2026-12-07",
        "checklist": checklist, "engineer_id": people["wang"].user_id})
    if isinstance(answer, tuple):
        assert refusal(result) == answer
        assert stored(engine, "maintenance_plan", "mp-cctv") is not None
    else:
        assert refusal(result) == (REJECTED, "invalid_value", "checklist")
        assert result["message"].startswith(f"maintenance_plan.checklist: {answer}: ")
        assert stored(engine, "maintenance_plan", "mp-cctv") is None


@pytest.mark.parametrize(("lines", "refused"), [
    pytest.param([{"part_id": "p-belt", "qty": 2}, {"part_id": "p-fuse", "qty": 0.5}], False, id="two lines"),
    pytest.param(None, False, id="no lines yet"),
    pytest.param([], False, id="an empty list"),
    pytest.param([{"part_id": "p-belt", "qty": 0}], True, id="none of a part"),
    pytest.param([{"part_id": "", "qty": 2}], True, id="no part"),
    pytest.param([{"part_id": "p-belt", "qty": "2"}], True, id="a quantity as text"),
    pytest.param({"p-belt": 2}, True, id="a mapping"),
])
def test_王伟s_requisition_lists_each_part_with_a_positive_quantity(client, people, engine, lines, refused):
    result = Pusher(client, people["wang"]).one("requisition", "rq-belts", "insert", {
        "engineer_id": people["wang"].user_id, "lines": lines})
    if refused:
        assert (refusal(result), result["message"]) == (
            (REJECTED, "invalid_value", "lines"), 'requisition.lines are a list of {"part_id": "...", "qty": a positive number}')
    else:
        assert refusal(result) == ("applied",)
    assert (stored(engine, "requisition", "rq-belts") is None) == refused


def test_head_office_settles_a_claim_only_against_an_advance_of_the_same_engineer(client, people, engine):
    """王伟 and 陈静 each asked for a travel advance; head office files their claims and
    decides: a claim of 王伟's names his advance, not 陈静's nor another claim; an advance
    is approved or paid only with its sum; a claim is approved without one."""
    wang, chen, manager = (Pusher(client, people[p]) for p in ("wang", "chen", "manager"))
    assert [r["status"] for r in wang.push(
        ("expense_claim", "ex-adv-wang", "insert", {"engineer_id": "u-wang", "kind": "advance", "amount": 2000.0,
                                                    "description": "赴石家庄驻场借支"}),
        ("expense_claim", "ex-adv-unsure", "insert", {"engineer_id": "u-wang", "kind": "advance",
                                                      "description": "赴保定维修，金额待定"}),
        ("expense_claim", "ex-taxi", "insert", {"engineer_id": "u-wang", "kind": "claim", "description": "出租车费"}),
    )] == ["applied"] * 3
    assert refusal(chen.one("expense_claim", "ex-adv-chen", "insert", {
        "engineer_id": "u-chen", "kind": "advance", "amount": 500.0, "description": "赴唐山借支"})) == ("applied",)
    claim = {"engineer_id": "u-wang", "kind": "claim"}  # the amount and description are his to write
    results = manager.push(
        ("expense_claim", "ex-on-chens", "insert", {**claim, "advance_id": "ex-adv-chen"}),
        ("expense_claim", "ex-on-a-claim", "insert", {**claim, "advance_id": "ex-taxi"}),
        ("expense_claim", "ex-advance-on-advance", "insert", {**claim, "kind": "advance", "advance_id": "ex-adv-wang"}),
        ("expense_claim", "ex-hotel", "insert", {**claim, "advance_id": "ex-adv-wang"}),
        ("expense_claim", "ex-adv-unsure", "update", {"status": "paid"}, 1),
        ("expense_claim", "ex-adv-unsure", "update", {"status": "approved"}, 1),
        ("expense_claim", "ex-taxi", "update", {"status": "approved"}, 1),
        ("expense_claim", "ex-adv-wang", "update", {"status": "approved"}, 1),
    )
    invalid = ((REJECTED, "invalid_advance", "advance_id"), "a claim names an advance drawn by its own engineer")
    no_sum = ((REJECTED, "amount_required", "amount"), "an advance is approved and paid only with the amount it advances")
    assert [(refusal(r), r.get("message")) for r in results] == [
        invalid, invalid, invalid, (("applied",), None), no_sum, no_sum, (("applied",), None), (("applied",), None)]
    assert [(stored(engine, "expense_claim", e) or {}).get("status", "none") for e in (
        "ex-on-chens", "ex-hotel", "ex-adv-unsure", "ex-taxi", "ex-adv-wang")] == [
        "none", None, None, "approved", "approved"]
    # approved once, approving it again is no decision; 王伟 describing his claim names nothing new
    assert refusal(manager.one("expense_claim", "ex-adv-wang", "update", {"status": "approved"},
                               stored(engine, "expense_claim", "ex-adv-wang")["version"]))[0] != REJECTED
    assert refusal(wang.one("expense_claim", "ex-hotel", "update", {"description": "石家庄住宿三晚（含早）"},
                            stored(engine, "expense_claim", "ex-hotel")["version"])) == ("applied",)


def test_a_sale_paid_before_head_office_lowered_the_threshold_takes_a_note_without_an_approval(
        client, people, engine, app_factory):
    """王伟 sold a 400-yuan fan and was paid (no approval needed above 500); head office
    then asks an approval above 300, later above 0 (every priced sale). The paid sale takes
    his note; a new 400 sale, then any priced one, is paid only once approved; a part
    given free (0 yuan) needs none."""
    _tickets_for_charges(client, people)
    sale = {"ticket_id": "t-paid", "kind": "part_sale", "paid": True, "collected_on_site": True}
    assert refusal(Pusher(client, people["wang"]).one("charge", "ch-fan", "insert", {
        **sale, "amount": 400.0, "description": "散热风扇"})) == ("applied",)
    above_300 = Pusher(app_factory(DOMAIN={"part_sale_approval_above": 300}).test_client(), people["wang"])
    results = above_300.push(("charge", "ch-fan", "update", {"description": "散热风扇（已收款）"},
                              stored(engine, "charge", "ch-fan")["version"]),
                             ("charge", "ch-fan-2", "insert", {**sale, "amount": 400.0}))
    assert [refusal(r) for r in results] == [("applied",), (REJECTED, "approval_required", "paid")]
    assert results[1]["message"] == "a part sale above 300 needs an approval of this amount before payment and delivery"
    above_0 = Pusher(app_factory(DOMAIN={"part_sale_approval_above": 0}).test_client(), people["wang"])
    results = above_0.push(("charge", "ch-free", "insert", {**sale, "amount": 0.0, "description": "赠送皮带扣"}),
                           ("charge", "ch-cent", "insert", {**sale, "amount": 0.01}))
    assert [refusal(r) for r in results] == [("applied",), (REJECTED, "approval_required", "paid")]
    assert stored(engine, "charge", "ch-fan")["description"] == "散热风扇（已收款）"


def test_an_advance_sent_already_approved_is_refused_by_the_approval_rule_not_an_error(client, people, engine):
    """王伟's tablet sends a new advance as approved (an old client, or a forged one): the
    server answers with the approval rule's refusal, not a server error."""
    result = Pusher(client, people["wang"]).one("expense_claim", "ex-adv", "insert", {
        "engineer_id": "u-wang", "kind": "advance", "amount": 2000.0, "status": "approved",
        "description": "赴石家庄驻场借支"})
    assert refusal(result)[:2] == (REJECTED, "invalid_transition")
    assert stored(engine, "expense_claim", "ex-adv") is None


def test_a_claim_moved_to_another_advance_or_engineer_is_checked_again_and_a_note_is_not(client, people, engine):
    """王伟's hotel claim settles against his advance. Head office moving it to 陈静's
    advance, or to 陈静 as its engineer, is refused; 王伟's later note on it is taken
    even after his advance itself was re-filed as a claim (the note moves nothing)."""
    wang, chen, manager = (Pusher(client, people[p]) for p in ("wang", "chen", "manager"))
    assert [r["status"] for r in wang.push(
        ("expense_claim", "ex-adv-wang", "insert", {"engineer_id": "u-wang", "kind": "advance", "amount": 1.0,
                                                    "description": "赴石家庄驻场借支（公交卡充值）"}),
        ("expense_claim", "ex-hotel", "insert", {"engineer_id": "u-wang", "kind": "claim", "amount": 900.0,
                                                 "advance_id": "ex-adv-wang", "description": "石家庄住宿三晚"}),
    )] == ["applied", "applied"]
    assert refusal(chen.one("expense_claim", "ex-adv-chen", "insert", {
        "engineer_id": "u-chen", "kind": "advance", "amount": 500.0})) == ("applied",)
    version = stored(engine, "expense_claim", "ex-hotel")["version"]
    results = manager.push(("expense_claim", "ex-hotel", "update", {"advance_id": "ex-adv-chen"}, version),
                           ("expense_claim", "ex-hotel", "update", {"engineer_id": "u-chen"}, version),
                           ("expense_claim", "ex-adv-wang", "update", {"status": "approved"}, 1))
    assert [refusal(r) for r in results] == [
        (REJECTED, "invalid_advance", "advance_id"), (REJECTED, "invalid_advance", "advance_id"), ("applied",)]
    assert refusal(wang.one("expense_claim", "ex-adv-wang", "update", {"kind": "claim"},
                            stored(engine, "expense_claim", "ex-adv-wang")["version"]))[0] != REJECTED
    assert refusal(wang.one("expense_claim", "ex-hotel", "update", {"description": "石家庄住宿三晚（含早）"},
                            stored(engine, "expense_claim", "ex-hotel")["version"])) == ("applied",)
    row = stored(engine, "expense_claim", "ex-hotel")
    assert (row["advance_id"], row["engineer_id"], row["description"]) == ("ex-adv-wang", "u-wang", "石家庄住宿三晚（含早）")
