"""Render ``docs/entities.md``, the entity reference, from the registry and the rules.

Everything in it is read from the code: the registry (:mod:`sync.registry`,
:mod:`sync.entities`) for entities and fields, :data:`client_schema.SQL_TYPES` for the
device's columns, :mod:`sync.rules.ticket` for the status machine (its table is made by
calling :func:`sync.rules.ticket.transition` on every pair), :mod:`sync.rules.lifecycle`
for the old-part steps, :mod:`server.domain.checks` for the movement kinds, and the
source of the rules, the change-set validation and the server's checks for the
rejection codes (every ``Merge.refused("code", ...)`` and ``Rejection("code", ...)``).
The field notes are the ``#:`` comments above each field in ``sync/entities.py``.

``fieldsync docs write docs/entities.md`` writes it; ``tests/test_generated_files.py``
fails when the checked-in copy is stale.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from client_schema import SQL_TYPES
from sync import changeset
from sync.entities import APPROVAL_STATUSES, MOVEMENT_KINDS
from sync.registry import (
    REF_LENGTH,
    RESERVED_COLUMNS,
    ROLES,
    Catalog,
    Entity,
    Field,
    Owner,
    ReferencedBy,
    Registry,
    REGISTRY,
    Via,
)
from sync.rules import approval, lifecycle, ticket

__all__ = ["render", "field_notes", "rejection_codes"]

_ROOT = Path(__file__).resolve().parent.parent
_ROLE_ORDER = ("engineer", "depot", "desk", "manager")

#: field type → (JSON on the wire, what the device stores, how)
_WIRE = {
    "text": ("string", "UTF-8 text, at most the field's length in characters"),
    "ref": ("string", f"the id of a row of the named entity, at most {REF_LENGTH} characters"),
    "time": ("string", "an ISO-8601 date (`2026-11-23`) or time (`2026-11-23T08:30:00+08:00`)"),
    "integer": ("integer", "a whole number of at most 64 bits, written without a fraction (`2`, never `2.0`)"),
    "real": ("number", "a finite number below 10^15 in size; `2` and `2.0` are the same value"),
    "boolean": ("boolean", "`true` / `false` on the wire; the device column holds `1` / `0` "
                           "(a push may send `1` / `0` too)"),
    "json": ("object or array", f"an object or a list, at most {changeset.MAX_JSON_BYTES} bytes as compact "
                                f"JSON and {changeset.MAX_JSON_DEPTH} levels deep; the device column holds "
                                "its JSON text, and the capture trigger sends it as JSON with `json()`"),
}


def _roles(roles: frozenset[str]) -> str:
    if roles == ROLES:
        return "anyone"
    if not roles:
        return "nobody"
    return ", ".join(r for r in _ROLE_ORDER if r in roles)


def field_notes(source: Path = _ROOT / "sync" / "entities.py") -> dict[tuple[str, str], str]:
    """The ``#:`` comments above each field of each entity, keyed by (entity, field)."""
    notes: dict[tuple[str, str], str] = {}
    entity: str | None = None
    pending: list[str] = []
    after_entity = False
    for line in source.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if re.match(r"^[A-Z_]+ = Entity\($", line):
            after_entity, pending = True, []
            continue
        if after_entity:
            match = re.match(r'^"(\w+)",$', stripped)
            entity = match.group(1) if match else None
            after_entity = False
            continue
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r'^(?:_f|_time|_ref|Field)\("(\w+)"', stripped)
        if match and entity is not None and pending:
            notes[(entity, match.group(1))] = " ".join(pending)
        if not stripped.startswith("#"):
            pending = []
        if line.startswith(")") or line.startswith("REGISTRY"):
            entity = None
    return notes


def _refusal_codes(path: Path) -> list[str]:
    """The codes of every ``refused("code", ...)`` and ``Rejection("code", ...)`` in ``path``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        first = node.args[0]
        if name in ("refused", "Rejection") and isinstance(first, ast.Constant) and isinstance(first.value, str):
            if first.value not in found:
                found.append(first.value)
    return sorted(found)


def rejection_codes() -> dict[str, list[str]]:
    """Rejection codes by where they are decided: ``rule <name>``, the change-set check,
    and each server module that refuses mutations."""
    codes: dict[str, list[str]] = {}
    for path in sorted((_ROOT / "sync" / "rules").glob("*.py")):
        found = _refusal_codes(path)
        if found:
            codes[f"rule `{path.stem}`"] = found
    codes["every entity (`sync/changeset.py`)"] = _refusal_codes(_ROOT / "sync" / "changeset.py")
    for path in sorted([*(_ROOT / "server").glob("*.py"), *(_ROOT / "server" / "domain").glob("*.py")]):
        found = _refusal_codes(path)
        if found:
            codes[f"server (`{path.relative_to(_ROOT)}`)"] = found
    return codes


def _scope(entity: Entity) -> str:
    if not entity.scope:
        return "the office only (desk and manager read every row)"
    parts = []
    for item in entity.scope:
        if isinstance(item, Catalog):
            parts.append("every device (reference data)")
        elif isinstance(item, Owner):
            who = f"`{item.prefix}:<{item.field}>`" if item.prefix else f"the scope key in `{item.field}`"
            listed = entity.field(item.field) is not None and entity.field(item.field).type == "json"
            parts.append(f"{who} (each id in the list)" if listed else who)
        elif isinstance(item, Via):
            parts.append(f"wherever the `{item.entity}` named by `{item.field}` goes")
        elif isinstance(item, ReferencedBy):
            parts.append(f"wherever a `{item.entity}` whose `{item.field}` names it goes")
    return "; ".join(parts) + "; and the office"


def _writers(entity: Entity, f: Field) -> str:
    if f.server_owned:
        return "server"
    return _roles(f.owners) if f.owners else "any writer of the row"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _field_row(entity: Entity, f: Field, notes: dict) -> str:
    limits = []
    if f.type in ("text", "ref", "time"):
        limits.append(f"≤ {min(f.max_length, REF_LENGTH) if f.type == 'ref' else f.max_length} chars")
    if f.choices is not None:
        limits.append("one of " + ", ".join(f"`{c}`" for c in f.choices))
    if f.ref:
        limits.append(f"→ `{f.ref}`")
    if f.blob:
        limits.append("names blobs by SHA-256" + (" (a list)" if f.type == "json" else ""))
    note = notes.get((entity.name, f.name), "")
    return (f"| `{f.name}` | {f.type} | {_WIRE[f.type][0]} | {SQL_TYPES[f.type]} | {_writers(entity, f)} | "
            f"{_roles(f.readers) if f.readers else 'all'} | {_cell('; '.join(limits))} | {_cell(note)} |")


def _entity(entity: Entity, notes: dict) -> list[str]:
    lines = [f"### `{entity.name}`", ""]
    lines.append(f"- merge rule: `{entity.rule}` (`sync/rules/{entity.rule}.py`)")
    lines.append(f"- created by: {_roles(entity.creators)}; deleted by: {_roles(entity.deleters)}")
    lines.append(f"- pulled by: {_scope(entity)}")
    server_owned = [f.name for f in entity.fields if f.server_owned]
    json_fields = [f.name for f in entity.fields if f.type == "json"]
    lines.append("- server-owned (a device's write is refused, `server_owned_field`): "
                 + (", ".join(f"`{n}`" for n in server_owned) or "none"))
    lines.append("- JSON fields (stored as JSON text on the device): " + (", ".join(f"`{n}`" for n in json_fields)
                                                                          or "none"))
    if entity.approval is not None:
        a = entity.approval
        statuses = next(f.choices for f in entity.fields if f.name == "status")
        lines.append(f"- approval: a decision covers {', '.join(f'`{c}`' for c in a.covers)}; statuses "
                     f"{', '.join(f'`{s}`' for s in statuses)}"
                     + (f"; `{a.claimant}` names the claimant, never its approver" if a.claimant else "")
                     + (f"; `{a.decider}` names who decided (server)" if a.decider else "")
                     + ("; approved records are then paid" if a.payable else ""))
    lines += ["", "| field | type | JSON | SQLite | written by | read by | limits | notes |",
              "|---|---|---|---|---|---|---|---|",
              f"| `id` | ref | string | TEXT PRIMARY KEY | the creator | all | ≤ {REF_LENGTH} chars, "
              "`[0-9A-Za-z][0-9A-Za-z_.:-]*` | chosen by the device that creates the row |"]
    lines += [_field_row(entity, f, notes) for f in entity.fields]
    lines.append(f"| `_version` | integer | — | INTEGER | the replica | — | | device only: the server version "
                 f"pulled (NULL: never pulled) |")
    return lines + [""]


def _ticket_tables() -> list[str]:
    path, rank = ticket.PATH, ticket.RANK
    lines = ["## The ticket status machine (rule `ticket`)", "",
             "Statuses in rank order: " + " → ".join(f"`{s}`" for s in path) + ", and `cancelled` off the path.",
             f"Field work starts at `{path[ticket.FIELD_WORK]}`; work is done from `{path[rank['completed']]}`.",
             "", "| status | set by |", "|---|---|"]
    for status in (*path, "cancelled"):
        setters = [name for name, allowed in (("engineer", ticket.ENGINEER_SETS), ("desk, manager", ticket.OFFICE_SETS))
                   if status in allowed]
        lines.append(f"| `{status}` | {', '.join(setters) or 'nobody (only as a new ticket)'} |")
    lines += ["", "A new ticket may start in any status but `closed`. A depot keeper sets no status. "
              "Only a `signed` ticket is closed; the server lets a ticket become `signed` only with a current "
              "signature whose image it holds.", "",
              "### Concurrent transitions", "",
              "What the server does when a status arrives over a different stored one. *take*: the incoming "
              "status is stored; *keep*: the stored one stays and the incoming one is recorded as the losing side "
              "of a conflict note; *refused*: the mutation is rejected (`invalid_transition`). *if seen*: the "
              "author's `base_version` covers the stored status (the author had pulled it); otherwise it was "
              "written concurrently. ⚑ marks the ticket `needs_review`. Generated by calling "
              "`sync.rules.ticket.transition` on every pair.", ""]
    statuses = (*path, "cancelled")
    for title, role in (("An engineer's status", "engineer"), ("The office's status (desk or manager)", "desk")):
        incoming = [s for s in statuses if ticket.transition(role, statuses[0], s, True)[0] != "refused"
                    or any(ticket.transition(role, c, s, True)[0] != "refused" for c in statuses)]
        lines += [f"{title}: rows are the stored status, columns the incoming one.", "",
                  "| stored \\ incoming | " + " | ".join(f"`{s}`" for s in incoming) + " |",
                  "|---|" + "---|" * len(incoming)]
        for current in statuses:
            cells = []
            for status in incoming:
                if status == current:
                    cells.append("·")
                    continue
                seen = ticket.transition(role, current, status, True)
                unseen = ticket.transition(role, current, status, False)
                cells.append(_outcome(seen) if seen == unseen
                             else f"{_outcome(seen)} if seen, else {_outcome(unseen)}")
            lines.append(f"| `{current}` | " + " | ".join(cells) + " |")
        lines.append("")
    never = sorted(set(statuses) - ticket.ENGINEER_SETS - ticket.OFFICE_SETS)
    lines += [f"Never set by a status change: {', '.join(f'`{s}`' for s in never) or 'none'}. "
              "An engineer's status written before a reassignment that engineer had not pulled loses to any "
              "status written after the reassignment (rule `ticket`, case 9).", ""]
    return lines


def _outcome(result: tuple[str, str | None]) -> str:
    decision, reason = result
    if decision == "refused":
        return "refused"
    return decision + (" ⚑" if reason else "")


def _movements() -> list[str]:
    from server.domain.checks import MOVEMENT_ENDS

    lines = ["## Stock movement kinds (`stock_movement.kind`)", "",
             "| kind | from location | to location |", "|---|---|---|"]
    for kind in MOVEMENT_KINDS:
        needs_from, needs_to = MOVEMENT_ENDS[kind]
        lines.append(f"| `{kind}` | {'required' if needs_from else '—'} | {'required' if needs_to else '—'} |")
    return lines + ["", "Stock is the sum of the movements; `condition` (`new` / `old`) keeps old parts in their "
                    "own bins. A movement is never changed or deleted (rule `ledger`): add a correcting one.", ""]


def _old_parts() -> list[str]:
    lines = ["## Old-part steps (`old_part_return.status`, rule `lifecycle`)", "",
             "| step | marked by |", "|---|---|"]
    for step in lifecycle.STEPS:
        lines.append(f"| `{step}` | {_roles(frozenset(lifecycle.STEP_ROLES[step]))} |")
    return lines + ["", "A step never goes back: the further step wins whatever arrives first; an earlier step "
                    "arriving late is kept as the losing side of a conflict note. Marking another role's step is "
                    "refused (`step_not_owned`).", ""]


def _approvals() -> list[str]:
    lines = ["## Approval statuses (rule `approval`)", "",
             "A new record starts `submitted` (a record with no status reads as `submitted`). A decision is made by an approver "
             "the deployment configures, never by the claimant or an author of covered values; a covered value "
             "that changes after a decision voids it (back to `submitted`).", "",
             "| to | from | by |", "|---|---|---|"]
    for status in APPROVAL_STATUSES:
        sources = ", ".join(f"`{s}`" for s in APPROVAL_STATUSES if s in approval.MOVES[status])
        by = "an approver who is neither claimant nor author" if status in approval.DECISIONS \
            else "the claimant or an author (a withdrawal), or a change to a covered value"
        if status == approval.PAID:
            by += "; payable entities only (" + ", ".join(
                f"`{e.name}`" for e in REGISTRY if e.approval is not None and e.approval.payable) + ")"
        lines.append(f"| `{status}` | {sources} | {by} |")
    return lines + [""]


def _codes() -> list[str]:
    lines = ["## Rejection codes", "",
             "A rejected mutation's result carries one of these as `code` (with `message`, `field` and the "
             "server's row). Read from the source: every refusal each place can make.", "",
             "| decided by | codes |", "|---|---|"]
    for where, codes in rejection_codes().items():
        lines.append(f"| {where} | {', '.join(f'`{c}`' for c in codes)} |")
    return lines + [""]


def render(registry: Registry = REGISTRY) -> str:
    notes = field_notes()
    lines = [
        "# Entity reference",
        "",
        "<!-- Generated by `fieldsync docs write docs/entities.md` from sync/registry.py, sync/entities.py and "
        "sync/rules/. Do not edit: tests/test_generated_files.py fails when it is stale. -->",
        "",
        "Every synced entity, as a client in any language needs it: the fields, their types on the wire and "
        "in the device's SQLite replica, who writes and reads each one, and how the server merges and refuses "
        "writes. The protocol itself is in [protocol.md](protocol.md); the replica's SQL is in "
        "[client_schema/](../client_schema/README.md).",
        "",
        "## Types",
        "",
        "| type | JSON | SQLite column | values |",
        "|---|---|---|---|",
    ]
    for kind in ("text", "ref", "time", "integer", "real", "boolean", "json"):
        lines.append(f"| {kind} | {_WIRE[kind][0]} | {SQL_TYPES[kind]} | {_WIRE[kind][1]} |")
    lines += [
        "",
        "Every field may be `null` (none). A text value holds no NUL and no lone UTF-16 surrogate.",
        "",
        "## Roles",
        "",
        f"`engineer` (the field), `depot` (a depot keeper, scope `depot:<depot_id>`), `desk` and `manager` "
        "(the office, who read every row).",
        "*Written by* lists the roles whose writes a field accepts; *any writer of the row* means every role "
        "that may write the row at all (the server's authorization decides which rows those are). *Read by* "
        "lists the roles a pull shows the field to; a field hidden from a role is absent from its pulls.",
        "",
        "## Columns the sync engine keeps",
        "",
        "The server's tables also hold " + ", ".join(f"`{c}`" for c in sorted(RESERVED_COLUMNS - {'id'}))
        + "; no field may take these names and no pull shows them. On the device every synced table has "
        "`id TEXT PRIMARY KEY`, its fields in the order below, and `_version`.",
        "",
        "## Entities",
        "",
        "| entity | rule | fields | pulled by |",
        "|---|---|---|---|",
    ]
    for entity in registry:
        lines.append(f"| [`{entity.name}`](#{entity.name}) | `{entity.rule}` | {len(entity.fields)} | "
                     f"{_cell(_scope(entity))} |")
    lines.append("")
    for entity in registry:
        lines += _entity(entity, notes)
    lines += _ticket_tables()
    lines += _movements()
    lines += _old_parts()
    lines += _approvals()
    lines += _codes()
    return "\n".join(lines)
