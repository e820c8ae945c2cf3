"""The department's controls, checked from the data: an approval covers exactly what
its approver saw, a consumption is written off by exactly its signed report and its old
part, an approved count posts what makes the ledger match the shelf.

Each invariant is its own small model of the rule, written from the regulations
(``../shared/DOMAIN.md``; issue 16), not a call into the code that enforces it: the
covered fields, the report's fields and the count's arithmetic are listed here again.
What it checks against is what the server committed (its rows) and, for write-off,
what its reconciliation lists as open — the control under test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from tests.domain_invariants import holds_a_current_signature
from tests.world import ServerState, World

__all__ = [
    "CONTROL_INVARIANTS",
    "approval_never_covers_more_than_approved",
    "consumption_closed_by_exactly_its_report_and_old_part",
    "count_sheet_posts_one_adjustment",
]


# -- approvals ----------------------------------------------------------------------------

#: what an approval is given on, per record (001 §3.4; 003 报销): who and where for a
#: requisition's parts, who and how much for an expense claim
COVERED = {
    "requisition": ("engineer_id", "depot_location_id", "van_location_id", "lines"),
    "expense_claim": ("engineer_id", "kind", "amount", "site_days", "receipts"),
}
#: the statuses under which money is paid or parts leave on the strength of an approval
IN_FORCE = ("approved", "paid")


def approval_never_covers_more_than_approved(world: World) -> None:
    """An approved or paid record holds exactly what an approver saw when he approved it:
    an amount raised, a line added or a receipt swapped after approval is not covered
    (the approval is void until someone approves again). A record approved before the
    day (yesterday's requisitions) holds what it held then: no write of the day changed
    what it covers."""
    today: dict[tuple[str, str], set[str]] = {}
    for ack in world.acknowledged:
        if ack.mutation.mutation_id in world.yesterday or ack.status == "rejected" or ack.mutation.op == "delete":
            continue
        covered = set(COVERED.get(ack.mutation.entity, ())) & set(ack.mutation.fields)
        if covered and ack.mutation.op == "update":
            today.setdefault((ack.mutation.entity, ack.mutation.id), set()).update(covered)
    problems = []
    for entity, fields in COVERED.items():
        for row_id, data in world.server.live(entity).items():
            if data.get("status") not in IN_FORCE:
                continue
            holds = {name: data.get(name) for name in fields}
            seen = [d.seen for d in world.decisions if (d.entity, d.row_id, d.status) == (entity, row_id, "approved")]
            if holds in seen:
                continue
            if not seen and (entity, row_id) not in today:
                continue  # approved before the day, untouched since
            approved = "; ".join(_differences(holds, s) for s in seen) or "no approval today, and changed today: " + \
                ", ".join(sorted(today.get((entity, row_id), ())))
            problems.append(f"{entity} {row_id} is {data['status']} holding {holds}, which no approver approved "
                            f"(approved instead: {approved})")
    assert not problems, "an approval covers more than was approved:\n  " + "\n  ".join(problems)


def _differences(holds: dict, seen: dict) -> str:
    return ", ".join(f"{k} {seen.get(k)!r}" for k in holds if holds[k] != seen.get(k))


# -- write-off ------------------------------------------------------------------------------

#: an old part is back once the depot booked it in (and stays back once disposed of)
BACK = ("received", "disposed")


def consumption_closed_by_exactly_its_report_and_old_part(world: World) -> None:
    """Every part consumed on a job is open (waiting for what it lacks), or closed by
    exactly its own ticket's current signed report and, for a returnable part, its own
    old part (the return with the consumption's id) received at the depot. Consumptions
    on a ticket since deleted are left out: there is no report left to sign."""
    server = world.server
    tickets = server.live("ticket")
    returnable = {i: bool(p.get("returnable")) for i, p in server.live("part").items()}
    returns = server.live("old_part_return")
    problems = []
    for movement_id, movement in server.live("stock_movement").items():
        if movement.get("kind") != "consume" or movement.get("ticket_id") not in tickets:
            continue
        ticket_id = movement["ticket_id"]
        waiting = set()
        if not holds_a_current_signature(server, ticket_id, tickets[ticket_id]):
            waiting.add("signature")
        if returnable.get(movement.get("part_id")) and (returns.get(movement_id) or {}).get("status") not in BACK:
            waiting.add("old_part")
        listed = server.open_consumptions.get(movement_id, frozenset())
        if waiting != listed:
            said = f"open, waiting for {sorted(listed)}" if listed else "closed"
            problems.append(f"consumption {movement_id} of {movement.get('part_id')} on ticket {ticket_id} is {said}, "
                            f"but it waits for {sorted(waiting) or 'nothing'}")
    assert not problems, "a consumption not closed by exactly its report and old part:\n  " + "\n  ".join(problems)


# -- stocktake --------------------------------------------------------------------------------

_NOTHING = 1e-6


def count_sheet_posts_one_adjustment(world: World) -> None:
    """An approved count leaves the ledger as of its time matching the shelf as counted,
    line by line: the movements made there by then, the adjustments of the counts
    approved before it, and its own adjustments add up to what was counted — so its
    difference is posted once, however often it is settled (a movement made before the
    count arriving later is compensated, never counted twice). Adjustments name an
    approved count and one of its lines; a count not approved posts nothing."""
    server = world.server
    counts = server.live("stock_count")
    approved = {i: c for i, c in counts.items() if c.get("approved") and c.get("as_of")}
    order = {i: (datetime.fromisoformat(c["as_of"]), i) for i, c in approved.items()}
    movements = server.live("stock_movement")
    problems = []
    for movement_id, m in movements.items():
        count_id = m.get("count_id")
        if count_id is None:
            continue
        bins = {(line["part_id"], line.get("condition", "new")) for line in (counts.get(count_id) or {}).get("lines")
                or ()}
        if count_id not in approved:
            problems.append(f"adjustment {movement_id} names count {count_id}, which is not approved")
        elif (m.get("part_id"), m.get("condition") or "new") not in bins:
            problems.append(f"adjustment {movement_id} of count {count_id} is for {m.get('part_id')}, "
                            f"which the count did not count")
    for count_id, count in approved.items():
        location, as_of = count["location_id"], order[count_id]
        for line in count.get("lines") or ():
            bin_ = (line["part_id"], line.get("condition", "new"))
            ledger = own = 0.0
            for movement_id, m in movements.items():
                if (m.get("part_id"), m.get("condition") or "new") != bin_:
                    continue
                signed = float(m.get("qty") or 0) * ((m.get("to_location_id") == location)
                                                     - (m.get("from_location_id") == location))
                other = m.get("count_id")
                if other == count_id:
                    own += signed
                elif other is None:
                    made = server.movement_made.get(movement_id)
                    ledger += signed if made is not None and made <= as_of[0] else 0.0
                elif other in order and order[other] < as_of:
                    ledger += signed
            if abs(ledger + own - float(line["qty"])) > _NOTHING:
                problems.append(f"count {count_id} of {location} counted {line['qty']} of {bin_} at {count['as_of']}; "
                                f"the ledger then held {ledger} and the count posted {own}")
    assert not problems, "an approved count did not post its difference once:\n  " + "\n  ".join(problems)


CONTROL_INVARIANTS: tuple[Callable[[World], None], ...] = (
    approval_never_covers_more_than_approved,
    consumption_closed_by_exactly_its_report_and_old_part,
    count_sheet_posts_one_adjustment,
)
