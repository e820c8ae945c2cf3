"""The canonical service report a customer signs, and its SHA-256.

The device and the server compute it alike from the ticket's report fields and the
parts consumed on it, so a signature is bound to exactly what the customer saw: any
later change to either gives another hash and makes the signature stale.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import orjson

from .entities import REPORT_FIELDS

__all__ = ["canonical_report", "report_hash"]


def canonical_report(ticket_id: str, ticket: dict, consumed: Iterable[dict]) -> bytes:
    """Sorted-key JSON of the report fields and the consumed parts (totals per part)."""
    parts: dict[str, float] = {}
    for movement in consumed:
        part = movement.get("part_id")
        if part:
            parts[part] = parts.get(part, 0.0) + float(movement.get("qty") or 0)
    body = {
        "ticket_id": ticket_id,
        "report": {name: ticket.get(name) for name in REPORT_FIELDS},
        "parts": [[part, parts[part]] for part in sorted(parts)],
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def report_hash(ticket_id: str, ticket: dict, consumed: Iterable[dict]) -> str:
    return hashlib.sha256(canonical_report(ticket_id, ticket, consumed)).hexdigest()
