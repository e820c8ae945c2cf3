"""What must hold of the field-service domain, whatever the network did: stock is the
sum of its movements, each counted once; a signature stays as captured and bound to the
report it signed; old parts only move forward.

Worked out afresh: stock from the movements the devices sent (not from the server's
sums), a signature's report hash from the ticket as the device showed it when the
customer signed (not from what the device stored).
"""

from __future__ import annotations

from typing import Iterable

from server.scopes import reader_keys
from sync.entities import RETURN_STEPS
from sync.report import report_hash

from tests.world import Bin, Device, Scopes, ServerState, World

__all__ = [
    "every_replica_stock_adds_up",
    "old_part_returns_only_move_forward",
    "replica_stock_adds_up",
    "signatures_stay_as_signed",
    "stock_is_the_sum_of_its_movements",
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
    return report_hash(ticket_id, ticket, consumed, report_format)


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

_STEP_RANK = {step: rank for rank, step in enumerate(RETURN_STEPS)}


def old_part_returns_only_move_forward(world: World) -> None:
    """Every old-part return a device made is on the server, at the furthest step any
    accepted write took it to; a step arriving after a further one (the depot booked the
    part in before the engineer's "collected" synced) is kept in a conflict record; and no
    device with nothing left to send shows a step the server does not have."""
    recorded = {(c["row_id"], c["lost_value"]) for c in world.server.conflicts
                if c["entity"] == "old_part_return" and c["field"] == "status"}
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
