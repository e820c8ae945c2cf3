"""The canonical service report a customer signs, encoded afresh from docs/protocol.md
("Signatures"): the test's own field list, RFC 8785 writer and quantity sums, so that the
invariants and the property test's field actions check ``sync.report`` against an
independent reading of the protocol rather than against itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

__all__ = ["REPORT_FIELDS_SIGNED", "expected_report_bytes", "expected_report_hash"]


#: The fields of the service report a customer signs (docs/protocol.md, "Signatures";
#: DOMAIN: fault, inspection, actions, result), in the test's own words.
REPORT_FIELDS_SIGNED = (
    "fault_description", "diagnosis_listen", "diagnosis_look", "diagnosis_check",
    "diagnosis", "cause", "actions", "result",
)


def _ecmascript_number(value: float) -> str:
    """A number as ECMAScript (and so RFC 8785) writes it, for the range a quantity
    takes: a whole number without ``.0``, else the shortest text that reads back exactly."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    assert 1e-6 <= abs(value) < 1e16, f"quantity {text} outside the range this oracle writes"
    return text


def _jcs(value) -> str:
    """RFC 8785 for the report's shapes: objects with ASCII keys, arrays, strings, numbers, null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # escapes exactly ", \\ and controls, as §3.2.2.2
    if isinstance(value, (int, float)):
        return _ecmascript_number(float(value))
    if isinstance(value, list):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    return "{" + ",".join(f"{_jcs(k)}:{_jcs(value[k])}" for k in sorted(value)) + "}"


def expected_report_bytes(ticket_id: str, ticket: dict, consumed: Iterable[dict], report_format: int = 2) -> bytes:
    """The canonical service report, as docs/protocol.md spells it:
    ``{"ticket_id", "report": {each report field}, "parts": [[part_id, total qty], ...]}``
    with parts sorted by id, UTF-8. Format 2 is RFC 8785 (sorted keys, numbers as
    ECMAScript writes them, each part's quantities added smallest first from 0); format 1,
    kept for signatures made before it, is sorted-key compact JSON with totals as floats
    added in the order the rows come. The test's own encoding (``sync.report`` is what it
    checks)."""
    quantities: dict[str, list[float]] = {}
    for movement in consumed:
        if movement.get("part_id"):
            quantities.setdefault(movement["part_id"], []).append(float(movement.get("qty") or 0))
    if report_format == 2:
        totals = {part: _sum_smallest_first(qs) for part, qs in quantities.items()}
    else:
        totals = {part: _sum_in_order(qs) for part, qs in quantities.items()}
    body = {
        "ticket_id": ticket_id,
        "report": {name: ticket.get(name) for name in REPORT_FIELDS_SIGNED},
        "parts": [[part, totals[part]] for part in sorted(totals)],
    }
    if report_format == 2:
        return _jcs(body).encode()
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sum_smallest_first(quantities: list[float]) -> float:
    total = 0.0
    for quantity in sorted(quantities):
        total += quantity
    return total


def _sum_in_order(quantities: list[float]) -> float:
    total = 0.0
    for quantity in quantities:
        total += quantity
    return total


def expected_report_hash(ticket_id: str, ticket: dict, consumed: Iterable[dict], report_format: int = 2) -> str:
    return hashlib.sha256(expected_report_bytes(ticket_id, ticket, consumed, report_format)).hexdigest()
