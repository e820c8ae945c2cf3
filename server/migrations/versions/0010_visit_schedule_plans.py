"""Maintenance plans have one source: a contract's visit schedule becomes its plan.

``contract.visit_schedule`` (维护工作周期表, ``{"every_months": 1, "areas": [...]}``) and
``maintenance_plan`` described the same thing twice. Each live contract with a schedule
and no live plan gets a plan made from it: every ``every_months`` months (1 when it does
not say) from the schedule's ``first_visit_on`` or the contract's start, until the
contract's end, with one checklist entry per area (or the schedule's own ``checklist``
entries) and its ``engineer_id`` if it names one. A contract that already has a plan
keeps it: the plan was the one visits were made from. Each plan made goes into the
change log, so the office's replicas pull it; then the column goes (client step 0012
drops it on the devices).

Revision ID: 0010_visit_schedule_plans
Revises: 0009_sla_state
Create Date: 2026-12-01
"""

import uuid
from datetime import datetime, timezone

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0010_visit_schedule_plans"
down_revision = "0009_sla_state"
branch_labels = None
depends_on = None

#: maintenance_plan's fields in the registry's order (a log entry holds every field)
_PLAN_FIELDS = ("contract_id", "customer_id", "every_months", "first_visit_on", "last_visit_on", "checklist",
                "engineer_id")
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
_AREA_CHARS, _ITEM_CHARS, _ID_CHARS, _TIME_CHARS = 100, 300, 64, 40


def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


def _checklist(schedule: dict) -> list[dict]:
    entries = schedule.get("checklist")
    if isinstance(entries, list):
        made = [{"area": _text(e.get("area"), _AREA_CHARS), "item": _text(e.get("item"), _ITEM_CHARS)}
                for e in entries if isinstance(e, dict)]
        if made:
            return made
    areas = schedule.get("areas")
    return [{"area": _text(a, _AREA_CHARS), "item": _text(a, _ITEM_CHARS)}
            for a in (areas if isinstance(areas, list) else []) if _text(a, _AREA_CHARS)]


def _months(schedule: dict) -> int:
    every = schedule.get("every_months")
    return every if isinstance(every, int) and not isinstance(every, bool) and 1 <= every <= 1200 else 1


def plan_from(contract: dict, schedule) -> dict | None:
    """The plan a contract's schedule describes; ``None`` for a schedule that is not an object."""
    if not isinstance(schedule, dict):
        return None
    first = schedule.get("first_visit_on") if isinstance(schedule.get("first_visit_on"), str) else None
    try:
        if first is not None:
            datetime.fromisoformat(first)
    except ValueError:
        first = None
    return {
        "contract_id": contract["id"], "customer_id": contract["customer_id"], "every_months": _months(schedule),
        "first_visit_on": (first or contract["starts_on"] or "")[:_TIME_CHARS] or None,
        "last_visit_on": contract["ends_on"], "checklist": _checklist(schedule),
        "engineer_id": _text(schedule.get("engineer_id"), _ID_CHARS),
    }


def upgrade() -> None:
    conn = op.get_bind()
    contracts = conn.execute(sa.text(
        "SELECT id, customer_id, starts_on, ends_on, visit_schedule FROM contract "
        "WHERE visit_schedule IS NOT NULL AND NOT deleted ORDER BY id")).mappings().all()
    planned = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT contract_id FROM maintenance_plan "
                                                  "WHERE NOT deleted AND contract_id IS NOT NULL"))}
    plans = []
    for contract in contracts:
        if contract["id"] in planned:
            continue
        try:
            schedule = orjson.loads(contract["visit_schedule"])
        except orjson.JSONDecodeError:
            continue
        plan = plan_from(dict(contract), schedule)
        if plan is not None:
            plans.append(plan)
    if plans:
        now = datetime.now(timezone.utc)
        now_ms = int(now.timestamp() * 1000)
        last_seq = conn.execute(sa.text("SELECT last_seq FROM log_head WHERE id = 1")).scalar_one()
        for counter, plan in enumerate(plans):
            row_id = str(uuid.uuid4())
            stamp = f"{now_ms:015d}:{counter:05d}:server"
            clock = orjson.dumps({name: [stamp, 1] for name in _PLAN_FIELDS}).decode()
            conn.execute(sa.text(
                "INSERT INTO maintenance_plan (id, contract_id, customer_id, every_months, first_visit_on, "
                "last_visit_on, checklist, engineer_id, version, deleted, clock, created_at, updated_at) VALUES "
                "(:id, :contract_id, :customer_id, :every_months, :first_visit_on, :last_visit_on, :checklist, "
                ":engineer_id, 1, :deleted, :clock, :now, :now)").bindparams(_NOW),
                {**plan, "id": row_id, "checklist": orjson.dumps(plan["checklist"]).decode(), "deleted": False,
                 "clock": clock, "now": now})
            last_seq += 1
            conn.execute(sa.text(
                "INSERT INTO change_log (seq, entity, row_id, op, version, hlc, data, device_id, changed_at) VALUES "
                "(:seq, 'maintenance_plan', :id, 'upsert', 1, :hlc, :data, NULL, :now)").bindparams(_NOW),
                {"seq": last_seq, "id": row_id, "hlc": stamp, "data": orjson.dumps(plan).decode(),
                 "now": now})
        conn.execute(sa.text("UPDATE log_head SET last_seq = :seq WHERE id = 1"), {"seq": last_seq})
    op.drop_column("contract", "visit_schedule")
