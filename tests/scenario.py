"""Helpers for scenario tests: set up a ticket the way the desk would."""

from __future__ import annotations

from sync.client import Replica


def desk_opens_ticket(desk: Replica, assignee_id: str | None, **fields) -> dict[str, str]:
    """The desk records a customer, equipment and a ticket, and syncs; returns the ids."""
    customer = desk.insert("customer", name="Huaxin Printing", zone="ring2", phone="010-6555-0101")
    equipment = desk.insert("equipment", customer_id=customer, model="HX-200", serial="SN1", warranty_end="2027-06-30")
    values = dict(customer_id=customer, equipment_id=equipment, status="dispatched", urgency="normal",
                  fault_description="stops after ten minutes", channel="phone")
    values.update(fields)
    ticket = desk.insert("ticket", assignee_id=assignee_id, **values)
    desk.sync()
    return {"customer": customer, "equipment": equipment, "ticket": ticket}


def stock_setup(desk: Replica, people: dict) -> dict[str, str]:
    """The desk records a part, the main depot and each engineer's van."""
    part = desk.insert("part", code="BLT-200", name="Drive belt", unit="pc", returnable=True, price=80.0)
    depot = desk.insert("stock_location", kind="depot", name="Main depot", depot_id="depot-main")
    vans = {name: desk.insert("stock_location", kind="van", name=f"{name}'s van", engineer_id=people[name].user_id)
            for name in ("wang", "chen")}
    desk.sync()
    return {"part": part, "depot": depot, **{f"van_{k}": v for k, v in vans.items()}}


def complete_and_sign(engineer: Replica, ticket_id: str, *, image: bytes = b"\x89PNG signature strokes") -> str:
    """The engineer finishes the job and the customer signs the report on the device."""
    engineer.update("ticket", ticket_id, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    engineer.update("ticket", ticket_id, diagnosis="worn drive belt", actions="replaced the belt", result="runs")
    engineer.update("ticket", ticket_id, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    blob = engineer.put_blob(image)
    return engineer.insert("signature", ticket_id=ticket_id, blob_sha256=blob, signer_name="Mr. Liu",
                           signed_at="2026-11-23T11:10:00+08:00", report_hash=engineer.report_hash(ticket_id))
