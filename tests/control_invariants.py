"""The department's controls, checked from the data: an approval covers exactly what
its approver saw, a consumption is written off by exactly its signed report and its old
part, an approved count posts what makes the ledger match the shelf; a ticket is
completed with its report and signed or closed only while signed now; parts leave for a
van only as far as an approval of their requisition went; a ticket's number is its
month's next, the month it was made; its SLA state follows its arrival.

Each invariant is its own small model of the rule, written from the regulations
(``../shared/DOMAIN.md``; issue 16), not a call into the code that enforces it: the
covered fields, the report's fields, the count's arithmetic, the number's shape and the
SLA's states are listed here again. What it checks against is what the server committed
(its rows) and, for write-off, what its reconciliation lists as open — the control under
test.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Callable

from tests.domain_invariants import holds_a_current_signature
from tests.world import World

__all__ = [
    "CONTROL_INVARIANTS",
    "approval_never_covers_more_than_approved",
    "consumption_closed_by_exactly_its_report_and_old_part",
    "count_sheet_posts_one_adjustment",
    "issues_stay_within_what_an_approval_covered",
    "sla_state_follows_the_arrival",
    "tickets_numbered_by_the_month_they_were_made",
    "tickets_signed_and_closed_only_while_signed_now",
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


# -- sign-off ----------------------------------------------------------------------------------

#: what a job is completed with (001 §3.3.2; DOMAIN, "The job"): what was found, what was
#: done, how it ended, and, for work on a customer's site, an arrival there (the ticket's
#: own field or an ``arrived`` entry of its work log)
REPORTED_ON_COMPLETION = ("diagnosis", "actions", "result")
#: the statuses a ticket stands at once completed
DONE = ("completed", "signed", "closed")


def tickets_signed_and_closed_only_while_signed_now(world: World) -> None:
    """Every live ticket at ``completed`` or beyond holds its minimum service report (an
    arrival on site too, but for internal work, category D); one at ``signed`` or
    ``closed`` holds a signature of its report as it stands now, whose image arrived
    whole — the test's own report hash (``holds_a_current_signature``), not the server's
    ``stale`` mark: a report changed after signing, or a close of a ticket nobody signed,
    leaves it ``completed``."""
    server = world.server
    arrived = {log.get("ticket_id") for log in server.live("work_log").values() if log.get("event") == "arrived"}
    problems = []
    for ticket_id, ticket in server.live("ticket").items():
        status = ticket.get("status")
        if status not in DONE:
            continue
        wanted = REPORTED_ON_COMPLETION + (() if ticket.get("category") == "D" else ("arrived_at",))
        missing = [name for name in wanted if not _written(ticket.get(name))
                   and not (name == "arrived_at" and ticket_id in arrived)]
        if missing:
            problems.append(f"ticket {ticket_id} is {status} without its report's {', '.join(missing)}")
        if status in ("signed", "closed") and not holds_a_current_signature(server, ticket_id, ticket):
            problems.append(f"ticket {ticket_id} is {status}, but holds no signature of its report as it stands "
                            f"with its image")
    assert not problems, "a ticket signed or closed without a current signature, or completed without its " \
        "report:\n  " + "\n  ".join(problems)


def _written(value) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


# -- requisitions and issues ---------------------------------------------------------------------

_NO_MORE = 1e-9


def _approved_lines(world: World) -> dict[str, list[dict[str, float]]]:
    """Each requisition's approvals, as part → quantity approved: yesterday's (its lines
    as the desk approved them, read from yesterday's change-sets in the order applied) and
    today's (the lines each approver's device showed him, ``world.decisions``)."""
    lines: dict[str, object] = {}
    out: dict[str, list[dict[str, float]]] = {}
    for ack in world.acknowledged:
        sent = ack.mutation
        if sent.mutation_id not in world.yesterday or sent.entity != "requisition" or ack.status == "rejected":
            continue
        if "lines" in sent.fields:
            lines[sent.id] = sent.fields["lines"]
        if sent.fields.get("status") == "approved":
            out.setdefault(sent.id, []).append(_per_part(lines.get(sent.id)))
    for decision in world.decisions:
        if decision.entity == "requisition" and decision.status == "approved":
            out.setdefault(decision.row_id, []).append(_per_part(decision.seen.get("lines")))
    return out


def _per_part(lines) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in lines or ():
        out[line["part_id"]] = out.get(line["part_id"], 0.0) + float(line["qty"])
    return out


def issues_stay_within_what_an_approval_covered(world: World) -> None:
    """Parts leave a depot for a van only against an approved requisition: every issue on
    the server names a requisition, goes from its depot to its van, and the issues of each
    of its parts add up to no more than an approval of it covered — the most any approval
    covered, whether it is still in force or was voided since (an issue made before the
    news of a void is kept: only one device issues here, so one made after seeing its
    own earlier issues never goes beyond the approval it was made under)."""
    server = world.server
    requisitions = server.live("requisition")
    approved = _approved_lines(world)
    issued: dict[tuple[str, str], float] = {}
    problems = []
    for movement_id, movement in server.live("stock_movement").items():
        if movement.get("kind") != "issue":
            continue
        requisition_id, part = movement.get("requisition_id"), movement.get("part_id")
        asked = requisitions.get(requisition_id or "")
        if asked is None:
            problems.append(f"issue {movement_id} of {part} names requisition {requisition_id!r}, which is not there")
            continue
        if (movement.get("from_location_id"), movement.get("to_location_id")) != (asked.get("depot_location_id"),
                                                                                  asked.get("van_location_id")):
            problems.append(f"issue {movement_id} goes from {movement.get('from_location_id')} to "
                            f"{movement.get('to_location_id')}; its requisition {requisition_id} from "
                            f"{asked.get('depot_location_id')} to {asked.get('van_location_id')}")
        issued[(requisition_id, part)] = issued.get((requisition_id, part), 0.0) + float(movement.get("qty") or 0)
    for (requisition_id, part), qty in sorted(issued.items()):
        most = max((covered.get(part, 0.0) for covered in approved.get(requisition_id, ())), default=0.0)
        if qty > most + _NO_MORE:
            problems.append(f"{qty:g} of {part} issued against requisition {requisition_id}, whose approvals "
                            f"covered at most {most:g}")
    assert not problems, "parts issued beyond what an approval covered:\n  " + "\n  ".join(problems)


# -- numbers ---------------------------------------------------------------------------------------

#: a ticket's number (004: 年度月份流水编号): T, the year and month it was made in Beijing
#: time, a dash, its serial in that month in five digits
TICKET_NUMBER = re.compile(r"T(\d{4})-(\d{5})")
BEIJING = timezone(timedelta(hours=8))
#: a device's clock this close to the server's is taken as right (docs/decisions.md)
CLOCK_TOLERANCE = timedelta(seconds=10)


def _months_of(at_ms: int) -> set[str]:
    """The ``YYMM`` a moment made on a device may be numbered by: its own month in Beijing
    time, and the next or last one too within the clock tolerance of a month's edge."""
    made = datetime.fromtimestamp(at_ms / 1000, timezone.utc).astimezone(BEIJING)
    return {(made + edge).strftime("%y%m") for edge in (-CLOCK_TOLERANCE, timedelta(0), CLOCK_TOLERANCE)}


def tickets_numbered_by_the_month_they_were_made(world: World) -> None:
    """Every ticket on the server (deleted ones keep theirs) has a number ``TYYMM-NNNNN``,
    nobody else's; the serials of each month run 1, 2, 3… with none skipped; and each of
    today's tickets is numbered by the month its device made it in (the test's record of
    when the app wrote it), not the month it reached the server."""
    made = {w.row_id: w for writes in world.writes.values() for w in writes
            if w.entity == "ticket" and w.op == "insert" and w.timed}
    holders: dict[str, list[str]] = {}
    serials: dict[str, list[int]] = {}
    problems = []
    for ticket_id, row in world.server.rows["ticket"].items():
        number = row.data.get("number")
        shape = TICKET_NUMBER.fullmatch(number or "")
        if shape is None:
            problems.append(f"ticket {ticket_id} is numbered {number!r}")
            continue
        holders.setdefault(number, []).append(ticket_id)
        serials.setdefault(shape[1], []).append(int(shape[2]))
        write = made.get(ticket_id)
        if write is not None and shape[1] not in _months_of(write.at_ms):
            problems.append(f"ticket {ticket_id}, made on {write.device_id} in {min(_months_of(write.at_ms))}, "
                            f"is numbered {number}")
    problems += [f"number {number} is held by tickets {', '.join(sorted(ids))}"
                 for number, ids in sorted(holders.items()) if len(ids) > 1]
    for month, taken in sorted(serials.items()):
        if sorted(taken) != list(range(1, len(taken) + 1)):
            problems.append(f"the serials of {month} are {sorted(taken)}, not 1 to {len(taken)}")
    assert not problems, "a ticket's number is not its month's next:\n  " + "\n  ".join(problems)


# -- SLA ---------------------------------------------------------------------------------------------

#: the states that move with time until the site is reached or the job finished
STILL_OPEN = ("on_time", "at_risk", "late")
#: how far the server may move a device's arrival time by the skew it measured: the
#: phones of the test are set days back or on (an arrival this close to its deadline may
#: be met or missed)
SKEW_BOUND = timedelta(days=7)


def _moment(text) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def sla_state_follows_the_arrival(world: World) -> None:
    """A live ticket's SLA state (002 §4.2.5, the response deadline) follows its arrival:
    none once cancelled; once the site is reached (the ticket's ``arrived_at`` or an
    ``arrived`` work-log entry, the earliest), ``met`` if that was by the deadline and
    ``missed`` if after it; finished with no arrival, ``missed``; otherwise still open
    (``on_time``, ``at_risk``, or ``late`` once the deadline has passed), never decided. An arrival within the skew
    bound of its deadline may be either: the server takes the device's measured error out
    of it, and one written as later than now counts as made when it was pushed."""
    server = world.server
    logged: dict[str, list[datetime]] = {}
    for log in server.live("work_log").values():
        if log.get("event") == "arrived" and _moment(log.get("at")) is not None:
            logged.setdefault(log.get("ticket_id"), []).append(_moment(log["at"]))
    problems = []
    for ticket_id, ticket in server.live("ticket").items():
        state, status, due = ticket.get("sla_state"), ticket.get("status"), _moment(ticket.get("deadline"))
        arrivals = [t for t in (_moment(ticket.get("arrived_at")), *logged.get(ticket_id, ())) if t is not None]
        if status == "cancelled" or due is None:
            allowed = {None}
        elif arrivals:
            reached = min(min(arrivals), world.now or min(arrivals))  # an arrival "later" is taken as it is pushed
            allowed = ({"met"} if reached <= due - SKEW_BOUND else {"missed"} if reached > due + SKEW_BOUND
                       else {"met", "missed"})
        elif status in DONE:
            allowed = {"missed"}
        else:
            allowed = set(STILL_OPEN) - ({"late"} if world.now is not None and due >= world.now else set())
        if state not in allowed:
            reached = f"reached at {min(arrivals).isoformat()}" if arrivals else "not reached"
            problems.append(f"ticket {ticket_id} ({status}, due {ticket.get('deadline')}, {reached}) is "
                            f"{state!r}; it must be {' or '.join(sorted(map(repr, allowed)))}")
    assert not problems, "an SLA state does not follow the arrival:\n  " + "\n  ".join(problems)


CONTROL_INVARIANTS: tuple[Callable[[World], None], ...] = (
    approval_never_covers_more_than_approved,
    consumption_closed_by_exactly_its_report_and_old_part,
    count_sheet_posts_one_adjustment,
    tickets_signed_and_closed_only_while_signed_now,
    issues_stay_within_what_an_approval_covered,
    tickets_numbered_by_the_month_they_were_made,
    sla_state_follows_the_arrival,
)
