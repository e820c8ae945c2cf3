"""The canonical service report a customer signs, and its SHA-256.

The device and the server compute it alike from the ticket's report fields and the
parts consumed on it, so a signature is bound to exactly what the customer saw: any
later change to either gives another hash and makes the signature stale.

The bytes are JSON by RFC 8785 (the JSON Canonicalization Scheme, ``rfc8785``): keys
sorted, no spaces, numbers written as ECMAScript writes them (``1``, never ``1.0``), so
a client in any language that follows the RFC signs the same bytes (docs/protocol.md
gives the field list and worked examples). That is report format 2, the one every
signature is made in now. Format 1 — ``orjson``'s sorted-key bytes, quantities written
as Python floats (``1.0``) — is kept only to verify the signatures made under it before
format 2 existed: each signature row says its format (``signature.report_format``).
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import orjson
import rfc8785

from .entities import REPORT_FIELDS

__all__ = ["REPORT_FORMAT", "REPORT_FORMATS", "canonical_report", "report_hash"]

#: The format every new signature is made in.
REPORT_FORMAT = 2
#: Every format a stored signature may be in (1: only signatures made before format 2).
REPORT_FORMATS = (1, 2)


def canonical_report(ticket_id: str, ticket: dict, consumed: Iterable[dict],
                     report_format: int = REPORT_FORMAT) -> bytes:
    """``{"parts": [[part_id, total qty], …] by part id, "report": {REPORT_FIELDS},
    "ticket_id": …}`` as canonical bytes of ``report_format``."""
    if report_format == 2:
        return rfc8785.dumps(_body(ticket_id, ticket, _totals(consumed)))
    if report_format == 1:
        return orjson.dumps(_body(ticket_id, ticket, _totals_v1(consumed)), option=orjson.OPT_SORT_KEYS)
    raise ValueError(f"no report format {report_format!r} (known: {REPORT_FORMATS})")


def report_hash(ticket_id: str, ticket: dict, consumed: Iterable[dict], report_format: int = REPORT_FORMAT) -> str:
    return hashlib.sha256(canonical_report(ticket_id, ticket, consumed, report_format)).hexdigest()


def _body(ticket_id: str, ticket: dict, parts: dict[str, float]) -> dict:
    return {
        "ticket_id": ticket_id,
        "report": {name: ticket.get(name) for name in REPORT_FIELDS},
        "parts": [[part, parts[part]] for part in sorted(parts)],
    }


def _totals(consumed: Iterable[dict]) -> dict[str, float]:
    """Each part's consumed quantity: its movements' ``qty`` (none: 0) added as IEEE-754
    doubles from 0, smallest first, so every language and every order of the rows adds
    alike (``0.1 + 0.2`` is ``0.30000000000000004`` everywhere; taken in another order,
    three quantities can add to another double)."""
    quantities: dict[str, list[float]] = {}
    for movement in consumed:
        part = movement.get("part_id")
        if part:
            quantities.setdefault(part, []).append(float(movement.get("qty") or 0))
    totals = {}
    for part, values in quantities.items():
        total = 0.0
        for value in sorted(values):
            total += value
        totals[part] = total
    return totals


def _totals_v1(consumed: Iterable[dict]) -> dict[str, float]:
    """Format 1's totals: added in the order the movements come (as it always was)."""
    parts: dict[str, float] = {}
    for movement in consumed:
        part = movement.get("part_id")
        if part:
            parts[part] = parts.get(part, 0.0) + float(movement.get("qty") or 0)
    return parts
