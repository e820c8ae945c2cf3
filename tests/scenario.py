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
