"""Demo data for ``make run``: people, devices with known tokens, customers, tickets.

The tokens are fixed so the README can name them; never load this into production.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.ids import new_id
from sync.registry import Registry

from . import auth
from .push import Caller, apply_push
from .tables import users

__all__ = ["load_demo", "DEMO_PEOPLE"]

# (user id, name, role, device id, token)
DEMO_PEOPLE = (
    ("u-desk", "Li Na (desk)", "desk", "d-desk", "demo-desk-token"),
    ("u-manager", "Zhou Jie (manager)", "manager", "d-manager", "demo-manager-token"),
    ("u-wang", "Wang Lei (engineer)", "engineer", "d-wang", "demo-wang-token"),
    ("u-chen", "Chen Hao (engineer)", "engineer", "d-chen", "demo-chen-token"),
    ("u-depot", "Zhao Min (depot keeper)", "depot", "d-depot", "demo-depot-token"),
)

_CUSTOMERS = (
    ("Huaxin Printing Co.", "12 Xinyuan Rd, Chaoyang", "010-6555-0101", "Mr. Liu", "ring2"),
    ("Beiyuan Cold Storage", "88 Beiyuan Rd, Changping", "010-6555-0202", "Ms. Sun", "nearby"),
    ("Jinqiao Hospital", "3 Jinqiao St, Dongcheng", "010-6555-0303", "Dr. Ma", "ring1"),
)


def load_demo(engine: sa.Engine, registry: Registry, hlc_for) -> list[tuple[str, str, str]]:
    """Create the demo people and data once; return ``(name, role, token)`` for each person."""
    with engine.begin() as conn:
        fresh = conn.execute(sa.select(users.c.id).where(users.c.id == "u-desk")).first() is None
        if fresh:
            for user_id, name, role, device_id, token in DEMO_PEOPLE:
                auth.add_user(conn, name, role, user_id=user_id, depot_id="depot-main" if role == "depot" else None)
                auth.add_device(conn, user_id, f"{name}'s device", device_id=device_id, token=token)
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
    for index, (name, address, phone, contact, zone) in enumerate(_CUSTOMERS):
        customer = add("customer", name=name, address=address, phone=phone, contact=contact, zone=zone)
        equipment = add("equipment", customer_id=customer, model=f"HX-{200 + index}", serial=f"SN2026{index:04d}",
                        warranty_end="2027-06-30", run_hours=1200.0 + index * 300)
        add("ticket", customer_id=customer, equipment_id=equipment, channel="phone",
            fault_description="Unit stops after ten minutes; error E07.", reported_at="2026-11-20T09:15:00+08:00",
            status="dispatched", assignee_id=engineers[index % 2], urgency="normal", category="C")
    changeset = {"changeset_id": new_id(), "device_id": "d-desk", "schema_version": 1, "mutations": mutations}
    apply_push(engine, registry, Caller("u-desk", "desk", "d-desk"), changeset)
