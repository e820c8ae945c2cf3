"""A console write: one mutation through the push path, as the signed-in person on the
office's own device.

The mutation is applied by :class:`server.apply.Batch` exactly as a pushed one: the
person's role is authorized (:mod:`server.authz`), the entity's rule merges it against
the row as the person saw it (``base_version``), a losing value leaves a conflict note,
the audit trail names the person and the console device, and the change log carries
the row to the engineers whose scope it enters or leaves, who receive it by pull.

The stamp is the server's time on the console device's node, past that device's own
earlier stamps on the row — a device's clock never goes back — and is never moved past
anyone else's: an engineer's later write still wins by the rule, as it would over a
desk phone's.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from sync import hlc
from sync.changeset import Mutation
from sync.errors import RefusedWriteError
from sync.ids import new_id
from sync.rules.lww import node_of

from ..api.common import services
from ..apply import Caller, server_batch
from .accounts import console_device

__all__ = ["console_write", "console_writes", "Write"]


@dataclass(frozen=True)
class Write:
    """One mutation the console makes: ``op`` ``insert`` for a new row (``row_id`` minted here)."""

    entity: str
    row_id: str
    fields: dict
    base_version: int | None = None
    op: str = "update"


def console_write(entity: str, row_id: str, fields: dict, base_version: int | None) -> dict:
    """Apply ``fields`` to a row as the signed-in person; the push answer's result for it."""
    return console_writes([Write(entity, row_id, fields, base_version)])[0]


def console_writes(writes: list[Write], *, whole: bool = False) -> list[dict]:
    """Apply several mutations in one batch (one transaction, as one change-set), in
    order: a ticket made with its new customer and equipment. Their results, in order.
    The first one refused ends the list, as a push's would: the rest are not sent (a
    receipt refused books no movement) and those before it stand; with ``whole`` it
    refuses them all instead (``RefusedWriteError``, nothing kept)."""
    svc = services()
    device = console_device(current_user.user_id)
    caller = Caller(current_user.user_id, current_user.role, device, current_user.depot_id)
    now = svc.now_ms()
    results = []
    with server_batch(svc.engine, svc.registry, svc.config, now) as batch:
        clock = hlc.Clock(device, wall=lambda: now)
        for write in writes:
            stored = batch.lookup_any(write.entity, write.row_id)
            for field_clock in (stored.clock.values() if stored is not None else ()):
                if node_of(field_clock.hlc) == device:
                    clock.observe(hlc.parse(field_clock.hlc))
            mutation = Mutation(new_id(), write.entity, write.row_id, write.op, dict(write.fields),
                                str(clock.tick()), write.base_version)
            results.append(batch.apply(mutation, caller))
            if results[-1]["status"] == "rejected":
                if whole:
                    refused = results[-1]
                    raise RefusedWriteError(refused["message"], code=refused["code"], field=refused.get("field"))
                break
    return results
