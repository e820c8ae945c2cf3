"""What must hold of the field-service domain, whatever the network did: stock is the
sum of its movements, each counted once; a signature stays as captured and bound to the
report it signed; old parts only move forward; a ticket's status follows its state
machine.

Worked out afresh: stock from the movements the devices sent (not from the server's
sums), a signature's report hash from the ticket as the device showed it when the
customer signed (not from what the device stored), with the test's own encoding of the
canonical report (``tests/report_oracle.py``, written from docs/protocol.md, not
``sync.report``); the ticket machine and the old-part lifecycle by small models of
their own (``ticket_statuses_after``, ``RETURN_STEPS_IN_ORDER``), not by calls into
``sync/rules``.
"""

from __future__ import annotations

from typing import Iterable

from server.scopes import reader_keys

from tests.report_oracle import expected_report_hash
from tests.world import Bin, Device, Scopes, ServerState, World

__all__ = [
    "every_replica_stock_adds_up",
    "holds_a_current_signature",
    "ledger_entries_are_never_changed",
    "old_part_returns_only_move_forward",
    "replica_stock_adds_up",
    "signatures_stay_as_signed",
    "stock_is_the_sum_of_its_movements",
    "ticket_status_follows_its_machine",
]


# -- stock ---------------------------------------------------------------------------------


def _accepted_movements(world: World) -> dict[str, dict]:
    """Every stock movement the server accepted, once per id, as its device sent it; and
    the adjustments it posted itself for approved counts (``count_id``: whether they are
    right is ``count_sheet_posts_one_adjustment``'s to say)."""
    out: dict[str, dict] = {}
    for ack in world.acknowledged:
        if ack.mutation.entity == "stock_movement" and ack.mutation.op == "insert" and ack.status != "rejected":
            out.setdefault(ack.mutation.id, ack.mutation.fields)
    for movement_id, row in world.server.rows["stock_movement"].items():
        if row.data.get("count_id") and not row.deleted:
            out.setdefault(movement_id, row.data)
    return out


def _stock(movements: Iterable[dict]) -> dict[Bin, float]:
    """Each bin's quantity: what went in less what went out."""
    out: dict[Bin, float] = {}
    for m in movements:
        for location, sign in ((m.get("to_location_id"), 1), (m.get("from_location_id"), -1)):
            if location:
                key = (location, m["part_id"], m.get("condition") or "new")
                out[key] = out.get(key, 0.0) + sign * float(m["qty"])
    return out


def _stock_differences(held: dict[Bin, float], expected: dict[Bin, float], where: str,
                       locations: set[str] | None = None) -> list[str]:
    return [
        f"{where}: {qty!r} of {part} ({condition}) at {location}, but its movements add up to "
        f"{expected.get((location, part, condition), 0.0)!r}"
        for (location, part, condition), qty in sorted(held.items())
        if (locations is None or location in locations)
        and abs(qty - expected.get((location, part, condition), 0.0)) > 1e-9
    ] + [
        f"{where}: no stock of {part} ({condition}) at {location}, but its movements add up to {qty!r}"
        for (location, part, condition), qty in sorted(expected.items())
        if (locations is None or location in locations) and (location, part, condition) not in held and qty
    ]


def stock_is_the_sum_of_its_movements(world: World) -> None:
    """The server's stock in every bin is the sum of the movements it accepted, each
    counted once however often it was delivered; each movement is kept as it was sent and
    written once (a ledger entry never changes: corrections are new entries)."""
    accepted = _accepted_movements(world)
    problems = _stock_differences(world.server.stock, _stock(accepted.values()), "server")
    stored = world.server.rows["stock_movement"]
    for movement_id, sent in accepted.items():
        row = stored.get(movement_id)
        if row is None or row.deleted:
            problems.append(f"accepted movement {movement_id} {sent} is not on the server")
            continue
        if row.version != 1:
            problems.append(f"movement {movement_id} was written {row.version} times")
        changed = {k: (v, row.data.get(k)) for k, v in sent.items() if row.data.get(k) != v}
        if changed:
            problems.append(f"movement {movement_id} changed since it was sent (sent, now): {changed}")
    for movement_id in stored.keys() - accepted.keys():
        problems.append(f"the server holds movement {movement_id}, which no device sent")
    assert not problems, "stock does not add up:\n  " + "\n  ".join(problems)


def replica_stock_adds_up(world: World, device: Device) -> None:
    """The movements a device holds add up, for each location it keeps (an engineer's van,
    the keeper's depot; every location for the office), to the sum of the movements the
    server accepted there — none missing, none twice. Holds once the device has synced."""
    readable = reader_keys({"id": device.user_id, "role": device.role, "depot_id": device.depot_id})
    scopes = Scopes(world.server)
    locations = {loc for loc in world.server.live("stock_location")
                 if readable is None or (scopes.keys("stock_location", loc) - {"catalog"}) & set(readable)}
    held = _stock(device.replica.all("stock_movement").values())
    problems = _stock_differences(held, _stock(_accepted_movements(world).values()), device.name, locations)
    assert not problems, f"{device.name}'s stock does not add up:\n  " + "\n  ".join(problems)


def every_replica_stock_adds_up(world: World) -> None:
    for device in world.devices:
        replica_stock_adds_up(world, device)


# -- signatures ----------------------------------------------------------------------------


def _report_hash_now(server: ServerState, ticket_id: str, report_format: int) -> str | None:
    """The canonical report of a live ticket as the server holds it, hashed here in the
    report format the signature was made in."""
    ticket = server.live("ticket").get(ticket_id)
    if ticket is None:
        return None
    consumed = [m for m in server.live("stock_movement").values()
                if m.get("ticket_id") == ticket_id and m.get("kind") == "consume"]
    return expected_report_hash(ticket_id, ticket, consumed, report_format)


def signatures_stay_as_signed(world: World) -> None:
    """Every signature on the server is the one its device captured, field for field; it
    carries the hash of the report as the device showed it when the customer signed;
    unless the server marked it stale, that is still the report the server holds; its
    image, once on the server, is the one captured; and each device with nothing left to
    send holds it the same (``stale`` aside, which it learns on its next pull)."""
    problems = []
    signatures = world.server.live("signature")
    for sig_id, data in signatures.items():
        signing = world.signings.get(sig_id)
        if signing is None:
            problems.append(f"the server holds signature {sig_id}, which no device captured")
            continue
        changed = {k: (v, data.get(k)) for k, v in signing.fields.items() if data.get(k) != v}
        if changed:
            problems.append(f"signature {sig_id} changed since it was captured (captured, now): {changed}")
        if signing.fields["report_hash"] != signing.report_hash:
            problems.append(f"signature {sig_id} names report {signing.fields['report_hash']}, but the customer "
                            f"saw report {signing.report_hash}")
        if not isinstance(data.get("stale"), bool):
            problems.append(f"signature {sig_id}'s stale is {data.get('stale')!r}, not false or true")
        current = _report_hash_now(world.server, data["ticket_id"], data.get("report_format") or 1)
        if not data.get("stale") and current is not None and current != data.get("report_hash"):
            problems.append(f"signature {sig_id} signed report {data.get('report_hash')}; ticket {data['ticket_id']}'s "
                            f"report is now {current}, and the signature is not marked stale")
        image = world.server.images.get(data.get("blob_sha256"))
        if image is not None and image != data.get("blob_sha256"):
            problems.append(f"signature {sig_id}'s image {data.get('blob_sha256')} holds bytes hashing to {image}")
    for device in world.devices:
        if device.replica.pending():
            continue
        for sig_id, held in device.replica.all("signature").items():
            on_server = signatures.get(sig_id)
            if on_server is None:
                problems.append(f"{device.name} holds signature {sig_id}, which the server never accepted")
                continue
            differ = {k: (v, held.get(k)) for k, v in on_server.items() if k != "stale" and held.get(k) != v}
            if differ:
                problems.append(f"{device.name}'s signature {sig_id} differs from the server's (server, device): "
                                f"{differ}")
    assert not problems, "signatures not as signed:\n  " + "\n  ".join(problems)


# -- old parts ------------------------------------------------------------------------------

#: An old part's way back (DOMAIN: the engineer collects it, the depot books it in, then
#: disposes of it), each step by the role that does it; "expected" by whoever records
#: the part fitted. The test's own order: ``sync.rules.lifecycle`` is what it checks.
RETURN_STEPS_IN_ORDER = ("expected", "collected", "received", "disposed")
STEP_TAKEN_BY = {"collected": {"engineer"}, "received": {"depot"}, "disposed": {"depot"}}
_STEP_RANK = {step: rank for rank, step in enumerate(RETURN_STEPS_IN_ORDER)}


def old_part_returns_only_move_forward(world: World) -> None:
    """Every old-part return a device made is on the server, at the furthest step any
    accepted write took it to; a step arriving after a further one (the depot booked the
    part in before the engineer's "collected" synced) is kept in a conflict record; each
    step was taken by its own role; and no device with nothing left to send shows a step
    the server does not have."""
    recorded = {(c["row_id"], c["lost_value"]) for c in world.server.conflicts
                if c["entity"] == "old_part_return" and c["field"] == "status"}
    roles = {d.device_id: d.role for d in world.devices}
    made: set[str] = set()
    reached: dict[str, str] = {}
    problems = []
    for ack in world.acknowledged:  # in the order the server applied them
        if ack.mutation.entity != "old_part_return" or ack.status == "rejected":
            continue
        return_id, step = ack.mutation.id, ack.mutation.fields.get("status")
        if ack.mutation.op == "insert":
            made.add(return_id)
        if not step:
            continue
        role = roles.get(ack.device_id)
        if step in STEP_TAKEN_BY and role not in STEP_TAKEN_BY[step]:
            problems.append(f"a {role} ({ack.device_id}) marked old-part return {return_id} {step!r}, and the "
                            f"server took it")
        before = reached.get(return_id)
        if before is None or _STEP_RANK[step] > _STEP_RANK[before]:
            reached[return_id] = step
        elif step != before and (return_id, step) not in recorded:
            problems.append(f"{ack.device_id}'s {step!r} for old-part return {return_id}, arriving after "
                            f"{before!r}, is not recorded")
    stored = world.server.rows["old_part_return"]
    for return_id in sorted(made):
        if return_id not in stored or stored[return_id].deleted:
            problems.append(f"old-part return {return_id} is lost")
    for return_id, step in reached.items():
        row = stored.get(return_id)
        if row is not None and row.data.get("status") != step:
            problems.append(f"old-part return {return_id} is {row.data.get('status')!r}, but an accepted write "
                            f"took it to {step!r}")
    for device in world.devices:
        if device.replica.pending():
            continue
        for return_id, held in device.replica.all("old_part_return").items():
            row = stored.get(return_id)
            on_server = row.data.get("status") if row is not None else None
            if _STEP_RANK.get(held.get("status"), -1) > _STEP_RANK.get(on_server, -1):
                problems.append(f"{device.name} shows old-part return {return_id} {held.get('status')!r}, "
                                f"the server {on_server!r}")
    assert not problems, "old-part returns went back or were lost:\n  " + "\n  ".join(problems)


# -- tickets ---------------------------------------------------------------------------------

#: The ticket's way from the call to the archive (DOMAIN, "The job"; docs/conflict-rules.md),
#: in order; ``cancelled`` stands beside it. The test's own list: ``sync.rules.ticket`` is
#: what it checks.
TICKET_WAY = ("reported", "dispatched", "accepted", "travelling", "on_site", "carried_back", "in_workshop",
              "returned", "completed", "signed", "closed")
_AT = {status: rank for rank, status in enumerate(TICKET_WAY)}
#: the statuses each role may set: the engineer the field work, from accepting it to the
#: customer's signature; head office opening, dispatching, cancelling and closing it; the
#: depot keeper none
STATUSES_SET_BY = {
    "engineer": set(TICKET_WAY[_AT["accepted"]:_AT["signed"] + 1]),
    "desk": {"reported", "dispatched", "cancelled", "closed"},
    "manager": {"reported", "dispatched", "cancelled", "closed"},
    "depot": set(),
}


def _at(status: str | None) -> int:
    return _AT.get(status, -1)


def ticket_statuses_after(role: str, held: str | None, incoming: str, seen: bool) -> set[str] | None:
    """What the server may hold after ``role`` wrote ``incoming`` over ``held`` (``None``:
    a new ticket), ``seen`` saying whether the author had seen ``held``; ``None`` when it
    must refuse the write.

    The concurrent table, from docs/conflict-rules.md and DOMAIN: a ticket is never
    created closed; a role sets only its own statuses; only a signed ticket is closed. An
    engineer's step forward is taken (or loses to a reassignment he had not seen), a step
    back never; over a cancel only field work (on site or later) may win. The desk's
    cancel is taken before the engineer is on site, while the work is in progress only if
    the desk had seen it, never once it is completed; its dispatch is taken from reported
    or cancelled, while the work is in progress only if seen, never after.
    """
    if held is None:
        return None if incoming == "closed" else {incoming}
    if incoming == held:
        return {held}
    if incoming not in STATUSES_SET_BY.get(role, set()):
        return None
    if incoming == "closed":
        return {"closed"} if held == "signed" else None
    if role == "engineer":
        if held == "cancelled":
            return {incoming, held} if _at(incoming) >= _at("on_site") else {held}
        return {incoming, held} if _at(incoming) > _at(held) else {held}
    in_progress = _at("on_site") <= _at(held) < _at("completed")
    if incoming == "cancelled":
        if _at(held) < _at("on_site"):
            return {incoming}
        return {incoming} if in_progress and seen else {held}
    if incoming == "dispatched":
        if held in ("reported", "cancelled"):
            return {incoming}
        return {incoming} if _at(held) < _at("completed") and seen else {held}
    return {incoming, held} if _at(incoming) > _at(held) else {held}


def _node(stamp: str) -> str:
    return stamp.split(":", 2)[-1]


def ticket_status_follows_its_machine(world: World) -> None:
    """Every status write the server answered moved the ticket as its state machine says
    (a small model of its own, ``ticket_statuses_after``), and each ticket's status on
    the server is where those writes, in the order the server applied them, left it: a
    completed or signed ticket is never cancelled nor sent back by the desk's
    later-arriving cancel or dispatch; a stale device's step back never takes; a status
    its author's role may never set, or a close of an unsigned ticket, is refused; a
    write refused as an invalid transition was one the model refuses.

    Whether a write took is read from its answer: one that lost has a conflict note on
    ``status`` with its value the losing side.
    """
    roles = {d.device_id: d.role for d in world.devices}
    #: each ticket's status as the answers leave it, and who wrote it at which version
    held: dict[str, tuple[str, str, int]] = {}
    #: tickets the answers once left signed (or closed), which the server re-signs itself
    ever_signed: set[str] = set()
    problems = []
    for ack in world.acknowledged:  # in the order the server applied them
        sent = ack.mutation
        if sent.entity != "ticket" or sent.op == "delete" or "status" not in sent.fields:
            continue
        role, incoming = roles.get(ack.device_id), sent.fields["status"]
        status, node, version = held.get(sent.id, (None, None, 0))
        seen = node == _node(sent.hlc) or (sent.base_version or 0) >= version
        allowed = ticket_statuses_after(role, status, incoming, seen)
        where = f"{ack.device_id}'s ({role}) {incoming!r} over {status!r} for ticket {sent.id} ({'' if seen else 'un'}seen)"
        if ack.status == "rejected":
            if ack.result.get("code") == "invalid_transition" and allowed is not None:
                problems.append(f"{where} was refused as an invalid transition")
            continue
        lost = any(note.get("field") == "status" and note.get("winner") == "stored"
                   and note.get("lost_value") == incoming for note in ack.result.get("conflicts", []))
        now = status if lost else incoming
        if allowed is None:
            problems.append(f"{where} was taken ({ack.status}); it must be refused")
        elif now not in allowed:
            problems.append(f"{where} left it {now!r}; the machine allows only {sorted(allowed)}")
        if now != status:
            held[sent.id] = (now, _node(sent.hlc), ack.result.get("version", 0))
        if now in ("signed", "closed"):
            ever_signed.add(sent.id)
    for ticket_id, row in world.server.rows["ticket"].items():
        if ticket_id not in held:
            continue
        expected = held[ticket_id][0]
        signed_now = holds_a_current_signature(world.server, ticket_id, row.data)
        if expected in ("signed", "closed") and not signed_now:
            expected = "completed"  # signed means signed now: a report changed after signing takes it back
        elif expected == "completed" and signed_now and ticket_id in ever_signed:
            expected = "signed"  # the customer signed again a report the server had taken back
        if row.data.get("status") != expected:
            problems.append(f"ticket {ticket_id} is {row.data.get('status')!r}; the status writes the server "
                            f"answered, and whether it holds a current signature now, leave it {expected!r}")
    assert not problems, "a ticket's status left its state machine:\n  " + "\n  ".join(problems)


def holds_a_current_signature(server: ServerState, ticket_id: str, ticket: dict) -> bool:
    """Does the ticket hold a signature of its report as it stands now (the test's own
    report hash, in the signature's format) whose image arrived whole?"""
    consumed = [m for m in server.live("stock_movement").values()
                if m.get("ticket_id") == ticket_id and m.get("kind") == "consume"]
    return any(s.get("ticket_id") == ticket_id
               and s.get("report_hash") == expected_report_hash(ticket_id, ticket, consumed, s.get("report_format") or 1)
               and server.images.get(s.get("blob_sha256")) == s.get("blob_sha256")
               for s in server.live("signature").values())


# -- the ledger ------------------------------------------------------------------------------

#: append-only entities: corrected by a new entry, never edited nor deleted (DOMAIN: stock
#: is the sum of its movements)
LEDGERS = ("stock_movement", "work_log")


def ledger_entries_are_never_changed(world: World) -> None:
    """No edit or delete of a ledger entry is ever taken, and each entry is on the server
    once, as first sent, written once: a second delivery of it changes nothing."""
    first: dict[tuple[str, str], dict] = {}
    problems = []
    for ack in world.acknowledged:
        sent = ack.mutation
        if sent.entity not in LEDGERS or ack.status == "rejected":
            continue
        if sent.op != "insert":
            problems.append(f"{ack.device_id}'s {sent.op} of {sent.entity} {sent.id} was taken ({ack.status})")
            continue
        first.setdefault((sent.entity, sent.id), sent.fields)
    for (entity, entry_id), sent in first.items():
        row = world.server.rows[entity].get(entry_id)
        if row is None or row.deleted:
            problems.append(f"{entity} {entry_id} was taken and is gone")
        elif row.version != 1 or any(row.data.get(k) != v for k, v in sent.items()):
            problems.append(f"{entity} {entry_id} is at version {row.version}, {row.data}; it was sent as {sent}")
    assert not problems, "a ledger entry changed:\n  " + "\n  ".join(problems)
