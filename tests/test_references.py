"""References stay inside the author's rights.

Scope follows references — a ticket brings its customer and equipment to its engineer —
so every reference a field device writes is checked, not only the ones a row's scope is
read from: naming a row one may not read would be a way to read it, and naming another
person's ticket, van or requisition a way to write into their work. The table below
tries, for every ``ref`` field of every entity, a reference outside the scope, as an
engineer (王伟, naming 陈静's rows) and as a depot keeper (the main depot, naming an
engineer's rows or the north depot's), and then pulls: nothing of the other person's
may arrive, in the answer or in the pull.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.auth import add_device, add_user
from server.authz import DESTINATIONS
from sync.ids import new_id
from sync.registry import REGISTRY
from tests.conftest import Person, auth_header
from tests.test_authorization import mutation, push, server_row


def pulled(client, person: Person) -> set[tuple[str, str]]:
    """Every ``(entity, id)`` a fresh replica of ``person`` receives."""
    body = client.get("/v1/sync/pull?limit=5000", headers=auth_header(person)).json
    assert not body["has_more"]
    return {(c["entity"], c["id"]) for c in body["changes"] if c["op"] == "upsert"}


def _engineers_work(desk, engineer: Person, where: dict, name: str) -> dict[str, str]:
    """An engineer's ticket and everything head office keeps about it."""
    me = engineer.user_id
    rows = {"customer": desk.insert("customer", name=f"{name}的客户：北京华信印刷厂", address="北京市朝阳区建国路88号",
                                    phone="010-6555-0101", zone="ring2")}
    rows["contract"] = desk.insert("contract", number=f"MC-{name}", customer_id=rows["customer"], response_hours=4.0)
    rows["equipment"] = desk.insert("equipment", customer_id=rows["customer"], model="海德堡 SM52", serial=f"SN-{name}")
    rows["ticket"] = desk.insert("ticket", customer_id=rows["customer"], equipment_id=rows["equipment"],
                                 contract_id=rows["contract"], assignee_id=me, status="dispatched",
                                 fault_description="开机十分钟后停机", channel="phone", category="A")
    rows["maintenance_plan"] = desk.insert("maintenance_plan", contract_id=rows["contract"],
                                           customer_id=rows["customer"], every_months=1, engineer_id=me)
    rows["maintenance_visit"] = desk.insert("maintenance_visit", plan_id=rows["maintenance_plan"],
                                            contract_id=rows["contract"], customer_id=rows["customer"],
                                            engineer_id=me, status="planned")
    rows["requisition"] = desk.insert("requisition", engineer_id=me, ticket_id=rows["ticket"],
                                      depot_location_id=where["depot"], van_location_id=where[f"van_{name}"],
                                      lines=[{"part_id": where["part"], "qty": 1}], reason="换皮带")
    rows["old_part_return"] = desk.insert("old_part_return", ticket_id=rows["ticket"], part_id=where["part"], qty=1.0,
                                          engineer_id=me, depot_location_id=where["depot"], status="expected")
    rows["work_log"] = desk.insert("work_log", ticket_id=rows["ticket"], engineer_id=me, event="note", note="客户来电")
    rows["inspection_item"] = desk.insert("inspection_item", visit_id=rows["maintenance_visit"], area="前端设备",
                                          item="摄像机", result="ok")
    rows["charge"] = desk.insert("charge", ticket_id=rows["ticket"], kind="labour", amount=200.0, description="人工费")
    rows["expense_claim"] = desk.insert("expense_claim", engineer_id=me, ticket_id=rows["ticket"], kind="claim",
                                        status="submitted")
    rows["satisfaction_survey"] = desk.insert("satisfaction_survey", ticket_id=rows["ticket"], engineer_id=me,
                                              skill=4, comment="师傅很专业")
    rows["complaint"] = desk.insert("complaint", ticket_id=rows["ticket"], customer_id=rows["customer"],
                                    engineer_id=me, description="到达太晚", status="open")
    return rows


@pytest.fixture
def world(people, replica_for, engine) -> dict:
    """王伟's and 陈静's work, the main depot and the north depot with its own keeper."""
    with engine.begin() as conn:
        add_user(conn, "北库管理员", "depot", user_id="u-north", depot_id="depot-north")
        _, token = add_device(conn, "u-north", "北库的平板", device_id="d-north")
    people["north"] = Person("u-north", "depot", "d-north", token)
    desk = replica_for(people["desk"])
    where = {"part": desk.insert("part", code="BLT-200", name="传动皮带", unit="条", returnable=True, price=80.0),
             "depot": desk.insert("stock_location", kind="depot", name="总库", depot_id="depot-main"),
             "north_depot": desk.insert("stock_location", kind="depot", name="北库", depot_id="depot-north")}
    for name in ("wang", "chen"):
        where[f"van_{name}"] = desk.insert("stock_location", kind="van", name=f"{name}的车",
                                           engineer_id=people[name].user_id)
    work = {name: _engineers_work(desk, people[name], where, name) for name in ("wang", "chen")}
    north = {
        "requisition": desk.insert("requisition", engineer_id=people["chen"].user_id,
                                   depot_location_id=where["north_depot"], van_location_id=where["van_chen"],
                                   lines=[{"part_id": where["part"], "qty": 1}]),
        "old_part_return": desk.insert("old_part_return", part_id=where["part"], qty=1.0,
                                       engineer_id=people["chen"].user_id, depot_location_id=where["north_depot"],
                                       status="expected"),
    }
    desk.sync()
    assert desk.parked() == []
    return {**where, **work, "north": north, "desk": desk}


# -- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    """How the attacker writes a row of his own, into which the foreign reference goes."""

    op: str
    #: for an update, which of the world's rows; for an insert, its other fields
    row: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


def _engineer_bases() -> dict[str, Own]:
    """王伟's own rows (field values name keys of the world: ``wang.ticket``, ``van_wang``)."""
    return {
        "equipment": Own("insert", fields=(("customer_id", "wang.customer"), ("model", "=HX-200"))),
        "contract": Own("update", "wang.contract"),
        "ticket": Own("insert", fields=(("assignee_id", "@wang"), ("status", "=on_site"),
                                        ("customer_id", "wang.customer"), ("equipment_id", "wang.equipment"),
                                        ("fault_description", "=现场发现漏油"))),
        "work_log": Own("insert", fields=(("ticket_id", "wang.ticket"), ("engineer_id", "@wang"), ("event", "=note"))),
        "stock_location": Own("update", "van_wang"),
        "requisition": Own("insert", fields=(("engineer_id", "@wang"), ("ticket_id", "wang.ticket"),
                                             ("depot_location_id", "depot"), ("van_location_id", "van_wang"))),
        "stock_movement": Own("insert", fields=(("kind", "=transfer"), ("part_id", "part"), ("qty", "#1"),
                                                ("from_location_id", "van_wang"), ("to_location_id", "depot"),
                                                ("ticket_id", "wang.ticket"), ("held_by", "@wang"))),
        "old_part_return": Own("insert", fields=(("ticket_id", "wang.ticket"), ("part_id", "part"), ("qty", "#1"),
                                                 ("engineer_id", "@wang"), ("depot_location_id", "depot"),
                                                 ("status", "=expected"))),
        "signature": Own("insert", fields=(("ticket_id", "wang.ticket"), ("blob_sha256", "=" + "a" * 64),
                                           ("report_hash", "=" + "b" * 64), ("signer_name", "=刘先生"))),
        "satisfaction_survey": Own("update", "wang.satisfaction_survey"),
        "complaint": Own("update", "wang.complaint"),
        "maintenance_plan": Own("update", "wang.maintenance_plan"),
        "maintenance_visit": Own("update", "wang.maintenance_visit"),
        "inspection_item": Own("insert", fields=(("visit_id", "wang.maintenance_visit"), ("area", "=前端设备"),
                                                 ("item", "=硬盘录像机"), ("result", "=fault"))),
        "charge": Own("insert", fields=(("ticket_id", "wang.ticket"), ("kind", "=labour"), ("amount", "#200"))),
        "expense_claim": Own("insert", fields=(("engineer_id", "@wang"), ("ticket_id", "wang.ticket"),
                                               ("kind", "=claim"), ("amount", "#80"))),
        "stock_count": Own("insert", fields=(("location_id", "van_wang"), ("counted_by", "@wang"),
                                             ("counted_at", "=2026-11-30T17:00:00+08:00"))),
    }


def _depot_bases() -> dict[str, Own]:
    """The main depot's own rows; where a keeper makes none, a row he would change."""
    return {
        "equipment": Own("update", "wang.equipment"),
        "contract": Own("update", "wang.contract"),
        "ticket": Own("update", "wang.ticket"),
        "work_log": Own("update", "wang.work_log"),
        "stock_location": Own("insert", fields=(("kind", "=station"), ("name", "=通州服务站"),
                                                ("depot_id", "=depot-main"))),
        "requisition": Own("update", "wang.requisition"),
        # parts sent to the north depot (they go out to a van only as an issue against an
        # approved requisition)
        "stock_movement": Own("insert", fields=(("kind", "=transfer"), ("part_id", "part"), ("qty", "#5"),
                                                ("from_location_id", "depot"), ("to_location_id", "north_depot"),
                                                ("held_by", "@depot"))),
        "old_part_return": Own("update", "wang.old_part_return"),
        "signature": Own("insert", fields=(("blob_sha256", "=" + "a" * 64), ("report_hash", "=" + "b" * 64))),
        "satisfaction_survey": Own("update", "wang.satisfaction_survey"),
        "complaint": Own("update", "wang.complaint"),
        "maintenance_plan": Own("update", "wang.maintenance_plan"),
        "maintenance_visit": Own("update", "wang.maintenance_visit"),
        "inspection_item": Own("update", "wang.inspection_item"),
        "charge": Own("update", "wang.charge"),
        "expense_claim": Own("update", "wang.expense_claim"),
        "stock_count": Own("insert", fields=(("location_id", "depot"), ("counted_by", "@depot"),
                                             ("counted_at", "=2026-11-30T17:00:00+08:00"))),
    }


#: attacker → (his own rows, the row of each entity outside his scope he names)
ATTACKERS = {
    "wang": (_engineer_bases(), {
        "ticket": "chen.ticket", "customer": "chen.customer", "equipment": "chen.equipment",
        "contract": "chen.contract", "maintenance_plan": "chen.maintenance_plan",
        "maintenance_visit": "chen.maintenance_visit", "requisition": "chen.requisition",
        "old_part_return": "chen.old_part_return", "stock_location": "van_chen", "user": "@chen", "part": "part",
        "expense_claim": "chen.expense_claim", "stock_count": "=北区盘点-001",
    }),
    "depot": (_depot_bases(), {
        "ticket": "chen.ticket", "customer": "chen.customer", "equipment": "chen.equipment",
        "contract": "chen.contract", "maintenance_plan": "chen.maintenance_plan",
        "maintenance_visit": "chen.maintenance_visit", "requisition": "north.requisition",
        "old_part_return": "north.old_part_return", "stock_location": "north_depot", "user": "@north",
        "part": "part", "expense_claim": "chen.expense_claim", "stock_count": "=北区盘点-001",
    }),
}

#: what the attacker may never pull: the other engineer's work (for the depot keeper,
#: all of it but what names the main depot), the north depot's
NOT_THEIRS = {
    "wang": [f"chen.{e}" for e in ("ticket", "customer", "equipment", "contract", "maintenance_plan",
                                   "maintenance_visit", "requisition", "old_part_return", "work_log",
                                   "inspection_item", "charge", "expense_claim", "satisfaction_survey", "complaint")],
    "depot": [f"{who}.{e}" for who in ("wang", "chen")
              for e in ("ticket", "customer", "equipment", "contract", "maintenance_plan", "maintenance_visit",
                        "work_log", "inspection_item", "charge", "expense_claim", "satisfaction_survey",
                        "complaint")] + ["north.requisition", "north.old_part_return"],
}


@dataclass(frozen=True)
class Attack:
    attacker: str
    entity: str
    field: str
    own: Own
    target: str
    #: not_your_row; the earlier refusal when the role may not write the field or make
    #: the row at all; applied for a part's destination and the part catalog
    expected: str

    def __str__(self) -> str:
        return f"{self.attacker}-{self.entity}.{self.field}"


def _expected(attacker: str, entity: str, field: str, own: Own) -> str:
    role = "engineer" if attacker == "wang" else "depot"
    spec = REGISTRY.get(entity)
    if spec.field(field).server_owned:
        return "server_owned_field"
    if not spec.field(field).writable_by(role):
        return "field_not_owned"
    if own.op == "insert" and role not in spec.creators:
        return "not_allowed"
    if (entity, field) in DESTINATIONS or spec.field(field).ref == "part":
        return "applied"
    return "not_your_row"


def attacks() -> list[Attack]:
    table = []
    for attacker, (bases, targets) in ATTACKERS.items():
        for entity in REGISTRY:
            for f in entity.fields:
                if f.type == "ref":
                    own = bases[entity.name]
                    table.append(Attack(attacker, entity.name, f.name, own, targets[f.ref],
                                        _expected(attacker, entity.name, f.name, own)))
    return table


def _value(world: dict, people: dict, key: str):
    """A table value: ``=text``, ``#number``, ``@person`` or a world key (``chen.ticket``)."""
    if key[0] == "=":
        return key[1:]
    if key[0] == "#":
        return float(key[1:])
    if key[0] == "@":
        return people[key[1:]].user_id
    found = world
    for part in key.split("."):
        found = found[part]
    return found


@pytest.mark.parametrize("attack", attacks(), ids=str)
def test_a_reference_outside_the_scope_is_refused_and_brings_nothing_of_anyone_elses(
        attack, client, people, world, engine):
    attacker = people[attack.attacker]
    before = pulled(client, attacker)
    foreign = _value(world, people, attack.target)
    if attack.own.op == "insert":
        row_id = new_id()
        fields = {name: _value(world, people, key) for name, key in attack.own.fields}
        sent = mutation(attacker, attack.entity, row_id, "insert", **{**fields, attack.field: foreign})
    else:
        row_id = _value(world, people, attack.own.row)
        sent = mutation(attacker, attack.entity, row_id, base=server_row(engine, attack.entity, row_id)["version"],
                        **{attack.field: foreign})
    [result] = push(client, attacker, sent)
    if attack.expected == "applied":
        assert result["status"] == "applied", result
    else:
        assert (result["status"], result["code"]) == ("rejected", attack.expected), result
        if (attack.entity, row_id) in before:  # his own row comes back as it stands, to put back
            assert result["server_row"]["data"][attack.field] != foreign
        else:
            assert result["server_row"] is None
        stored = server_row(engine, attack.entity, row_id)
        assert stored is None if attack.own.op == "insert" else stored[attack.field] != foreign
    after = pulled(client, attacker)
    assert after - before <= {(attack.entity, row_id)}
    never = {(key.split(".")[1], _value(world, people, key)) for key in NOT_THEIRS[attack.attacker]}
    assert not after & never


def test_the_table_tries_every_reference_of_every_entity_for_both_field_roles():
    tried = {(a.attacker, a.entity, a.field) for a in attacks()}
    every = {(attacker, e.name, f.name) for attacker in ATTACKERS for e in REGISTRY for f in e.fields
             if f.type == "ref"}
    assert tried == every and len(every) > 80


# -- the rows of nobody's scope, and rows that left unseen ------------------------------------


def test_engineer_cannot_name_a_customer_he_never_saw_nor_a_ticket_waiting_for_dispatch(
        client, people, world):
    """The desk's new customer (no ticket yet) and a ticket not yet dispatched are in
    nobody's scope: naming them would bring the customer, address and phone to him."""
    desk, wang = world["desk"], people["wang"]
    unseen = desk.insert("customer", name="北京冷链物流有限公司", address="北京市大兴区西红门镇", phone="010-8888-0001")
    waiting_customer = desk.insert("customer", name="天津港务集团", phone="022-2570-0001")
    waiting = desk.insert("ticket", customer_id=waiting_customer, status="reported", fault_description="冷库温度过高",
                          channel="phone")
    desk.sync()
    before = pulled(client, wang)
    results = push(
        client, wang,
        mutation(wang, "ticket", new_id(), "insert", assignee_id=wang.user_id, status="on_site",
                 customer_id=unseen, fault_description="顺路上门"),
        mutation(wang, "ticket", new_id(), "insert", assignee_id=wang.user_id, status="on_site",
                 customer_id=waiting_customer),
        mutation(wang, "work_log", new_id(), "insert", ticket_id=waiting, engineer_id=wang.user_id, event="arrived"),
        mutation(wang, "equipment", new_id(), "insert", customer_id=unseen, model="开利冷机"),
    )
    for result in results:
        assert (result["status"], result["code"], result["server_row"]) == ("rejected", "not_your_row", None)
    assert [r["field"] for r in results] == ["customer_id", "customer_id", "ticket_id", "customer_id"]
    after = pulled(client, wang)
    assert after == before
    assert not {("customer", unseen), ("customer", waiting_customer), ("ticket", waiting)} & after


def test_customer_an_engineer_registers_on_site_is_his_to_name_in_a_later_push_and_nobody_elses(
        client, people, world):
    """A customer and a fault ticket he made belong to nobody until a ticket takes
    them: their maker may still name them after pushing them (the app keeps them until
    the pull), 陈静 may not."""
    wang, chen = people["wang"], people["chen"]
    customer, fault = new_id(), new_id()
    made = push(client, wang,
                mutation(wang, "customer", customer, "insert", name="通州区某冷库", phone="139-1000-0001"),
                mutation(wang, "ticket", fault, "insert", customer_id=customer, status="reported", channel="on_site",
                         fault_description="巡检发现压缩机异响，留给调度派工"))
    assert [r["status"] for r in made] == ["applied", "applied"]
    visit = world["wang"]["maintenance_visit"]
    named = push(client, wang,
                 mutation(wang, "equipment", equipment := new_id(), "insert", customer_id=customer, model="比泽尔压缩机"),
                 mutation(wang, "ticket", mine := new_id(), "insert", assignee_id=wang.user_id, status="on_site",
                          customer_id=customer, equipment_id=equipment, fault_description="现场维修"),
                 mutation(wang, "inspection_item", new_id(), "insert", visit_id=visit, area="前端设备",
                          item="压缩机", result="fault", ticket_id=fault))
    assert [r["status"] for r in named] == ["applied", "applied", "applied"]
    [taken] = push(client, chen, mutation(chen, "ticket", new_id(), "insert", assignee_id=chen.user_id,
                                          status="on_site", customer_id=customer))
    assert (taken["code"], taken["server_row"]) == ("not_your_row", None)
    assert {("customer", customer), ("equipment", equipment), ("ticket", mine)} <= pulled(client, wang)
    assert not {("customer", customer), ("equipment", equipment)} & pulled(client, chen)


def test_engineer_offline_names_a_ticket_reassigned_meanwhile_in_his_claim_and_requisition(
        people, world, replica_for, engine):
    """He could not know: his expense claim and requisition for the job count, as his
    work on it does (docs/decisions.md)."""
    wang = replica_for(people["wang"])
    wang.sync()
    ticket, me = world["wang"]["ticket"], people["wang"].user_id
    claim = wang.insert("expense_claim", engineer_id=me, ticket_id=ticket, kind="claim", amount=86.5,
                        description="往返过路费", site_days=1.0)
    asked = wang.insert("requisition", engineer_id=me, ticket_id=ticket, depot_location_id=world["depot"],
                        van_location_id=world["van_wang"], lines=[{"part_id": world["part"], "qty": 1}],
                        reason="备用皮带")
    world["desk"].update("ticket", ticket, assignee_id=people["chen"].user_id)
    world["desk"].sync()
    assert wang.sync().rejected == 0, wang.parked()
    assert server_row(engine, "expense_claim", claim)["ticket_id"] == ticket
    assert server_row(engine, "requisition", asked)["ticket_id"] == ticket
