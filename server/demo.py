"""Demo data for ``make run``: people, devices with known tokens, customers, tickets.

The tokens are fixed so the README can name them; never load this into production.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.errors import RefusedWriteError
from sync.ids import new_id
from sync.registry import Registry

from . import auth
from .console.accounts import CONSOLE_ROLES, set_password
from .push import Caller, apply_push
from .tables import users

__all__ = ["load_demo", "DEMO_PEOPLE"]

# (user id, name, role, device id, token)
DEMO_PEOPLE = (
    ("u-desk", "李娜（客服）", "desk", "d-desk", "demo-desk-token"),
    ("u-manager", "周杰（服务经理）", "manager", "d-manager", "demo-manager-token"),
    ("u-wang", "王磊（工程师）", "engineer", "d-wang", "demo-wang-token"),
    ("u-chen", "陈浩（工程师）", "engineer", "d-chen", "demo-chen-token"),
    ("u-depot", "赵敏（库管）", "depot", "d-depot", "demo-depot-token"),
)

VAN_NAMES = {"u-wang": "王磊的服务车", "u-chen": "陈浩的服务车"}

_CUSTOMERS = (
    ("华鑫印刷有限公司", "北京市朝阳区新源路12号", "010-6555-0101", "刘先生", "ring2"),
    ("北苑冷链仓储", "北京市昌平区北苑路88号", "010-6555-0202", "孙女士", "nearby"),
    ("金桥医院", "北京市东城区金桥街3号", "010-6555-0303", "马医生", "ring1"),
)


#: the console's demo sign-in for the office and depot people (user id, this password)
DEMO_PASSWORD = "demo-console-2026"


def load_demo(engine: sa.Engine, registry: Registry, hlc_for) -> list[tuple[str, str, str]]:
    """Create the demo people and data once; return ``(name, role, token)`` for each person.
    The desk, the manager and the depot keeper sign in to the console as their user id
    with :data:`DEMO_PASSWORD`."""
    with engine.begin() as conn:
        fresh = conn.execute(sa.select(users.c.id).where(users.c.id == "u-desk")).first() is None
        if fresh:
            for user_id, name, role, device_id, token in DEMO_PEOPLE:
                auth.add_user(conn, name, role, user_id=user_id, depot_id="depot-main" if role == "depot" else None)
                auth.add_device(conn, user_id, f"{name}的设备", device_id=device_id, token=token)
                if role in CONSOLE_ROLES:
                    set_password(conn, user_id, DEMO_PASSWORD)
    if fresh:
        _seed_records(engine, registry, hlc_for)
    return [(name, role, token) for _, name, role, _, token in DEMO_PEOPLE]


def _seed_records(engine: sa.Engine, registry: Registry, hlc_for) -> None:
    mutations = []

    def add(entity: str, **fields) -> str:
        row_id = new_id()
        mutations.append({"mutation_id": new_id(), "entity": entity, "id": row_id, "op": "insert",
                          "fields": fields, "hlc": hlc_for("d-desk"), "base_version": None})
        return row_id

    engineers = ["u-wang", "u-chen"]
    for code, name, price in (("BLT-200", "传动皮带", 80.0), ("BRG-6204", "轴承 6204", 35.0),
                              ("PCB-E07", "主控板", 1200.0)):
        add("part", code=code, name=name, unit="个", returnable=True, price=price)
    add("stock_location", kind="depot", name="总仓", depot_id="depot-main")
    for engineer in engineers:
        add("stock_location", kind="van", name=f"{VAN_NAMES[engineer]}", engineer_id=engineer)
    for index, (name, address, phone, contact, zone) in enumerate(_CUSTOMERS):
        customer = add("customer", name=name, address=address, phone=phone, contact=contact, zone=zone)
        equipment = add("equipment", customer_id=customer, model=f"HX-{200 + index}", serial=f"SN2026{index:04d}",
                        warranty_end="2027-06-30", run_hours=1200.0 + index * 300)
        add("ticket", customer_id=customer, equipment_id=equipment, channel="phone",
            fault_description="设备运行十分钟后停机，报错 E07。", reported_at="2026-11-20T09:15:00+08:00",
            status="dispatched", assignee_id=engineers[index % 2], urgency="normal", category="C", zone=zone)
        if zone == "ring1":
            contract = add("contract", number="MC-2026-001", customer_id=customer, starts_on="2026-01-01",
                           ends_on="2026-12-31", response_hours=2.0)
            add("maintenance_plan", contract_id=contract, customer_id=customer, every_months=1,
                first_visit_on="2026-12-01", engineer_id=engineers[0],
                checklist=[{"area": "前端设备", "item": "摄像机清洁、聚焦正常"},
                           {"area": "线缆与接地", "item": "接地电阻"},
                           {"area": "中心控制设备", "item": "录像保存天数"},
                           {"area": "系统功能", "item": "报警能送达监控室"}])
    changeset = {"changeset_id": new_id(), "device_id": "d-desk", "schema_version": 1, "mutations": mutations}
    answer = apply_push(engine, registry, Caller("u-desk", "desk", "d-desk"), changeset)
    refused = [r for r in answer["results"] if r["status"] == "rejected"]
    if refused:  # a demo missing records would show a newcomer a broken product
        first = refused[0]
        raise RefusedWriteError(f"the demo data no longer fits the rules: {first['code']}: {first.get('message')}",
                                code=first["code"])
