"""What head office reads about approvals: the records waiting for a decision, and each
engineer's travel advances settled against the claims of the same trip.

The decisions themselves are writes (sync/rules/approval.py): an approver's device, or
any client, sets a record's ``status`` through the push like every other write.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from sync.registry import REGISTRY
from sync.rules.approval import APPROVED, PAID, SUBMITTED

from ..tables import entity_table
from .config import DomainConfig

__all__ = ["pending", "advance_balances", "APPROVAL_ENTITIES"]

APPROVAL_ENTITIES = tuple(e.name for e in REGISTRY if e.approval is not None)
_DECIDED = (APPROVED, PAID)


def _json(value):
    return orjson.loads(value) if value is not None else None


def pending(conn: sa.Connection, config: DomainConfig) -> list[dict]:
    """Every record waiting for a decision, oldest first: requisitions, expense claims and
    advances, part sales above the threshold. A voided approval shows in its history."""
    out = []
    for name in APPROVAL_ENTITIES:
        entity, table = REGISTRY.get(name), entity_table(name)
        waiting = sa.or_(table.c.status.is_(None), table.c.status == SUBMITTED)
        query = sa.select(table).where(table.c.deleted.is_(False), waiting)
        if name == "charge":
            query = query.where(table.c.kind == "part_sale", table.c.amount > config.part_sale_approval_above)
        for row in conn.execute(query.order_by(table.c.created_at)).mappings():
            history = _json(row["approval_history"]) or []
            covered = {f: _json(row[f]) if entity.field(f).type == "json" else row[f] for f in entity.approval.covers}
            out.append({
                "entity": name, "id": row["id"], "status": row["status"] or SUBMITTED,
                "claimant_id": row[entity.approval.claimant] if entity.approval.claimant else None,
                "covers": covered, "authors": _json(row["authors"]) or [], "history": history,
                "voided": bool(history) and history[-1].get("event") in ("voided", "withdrawn"),
                "submitted_at": row["created_at"].isoformat(),
            })
    return sorted(out, key=lambda r: r["submitted_at"])


def advance_balances(conn: sa.Connection) -> list[dict]:
    """Per engineer, each advance with the claims filed against it (the trip) and what is
    left: advanced (paid out) less claimed (claims approved or paid, allowance included).
    A positive balance is the engineer's to account for or give back; a negative one is
    owed to him."""
    table = entity_table("expense_claim")
    rows = conn.execute(sa.select(table.c.id, table.c.engineer_id, table.c.kind, table.c.amount, table.c.allowance,
                                  table.c.status, table.c.advance_id)
                        .where(table.c.deleted.is_(False)).order_by(table.c.created_at)).mappings().all()
    trips: dict[str, dict] = {}
    for r in rows:
        if r["kind"] == "advance":
            # asked before its sum is known: nothing asked yet; paid, what was asked left
            # (an advance is paid only with its amount: server/domain/checks.py)
            asked = r["amount"] or 0.0
            trips[r["id"]] = {"advance_id": r["id"], "engineer_id": r["engineer_id"], "status": r["status"] or SUBMITTED,
                              "asked": asked, "advanced": asked if r["status"] == PAID else 0.0,
                              "claimed": 0.0, "claims": []}
    for r in rows:
        trip = trips.get(r["advance_id"]) if r["kind"] == "claim" else None
        if trip is not None:
            trip["claims"].append(r["id"])
            if r["status"] in _DECIDED:
                trip["claimed"] += (r["amount"] or 0.0) + (r["allowance"] or 0.0)
    engineers: dict[str, dict] = {}
    for trip in trips.values():
        # to the cent, as shown: the balance is what is shown advanced less what is shown claimed
        trip["claimed"] = round(trip["claimed"], 2)
        trip["balance"] = round(trip["advanced"] - trip["claimed"], 2)
        person = engineers.setdefault(trip["engineer_id"], {"engineer_id": trip["engineer_id"], "advanced": 0.0,
                                                            "claimed": 0.0, "balance": 0.0, "trips": []})
        person["trips"].append(trip)
        for key in ("advanced", "claimed", "balance"):
            person[key] = round(person[key] + trip[key], 2)
    return sorted(engineers.values(), key=lambda p: p["engineer_id"] or "")
