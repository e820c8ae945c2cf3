"""Who may write which rows, and who may see them: authorization of a push.

Field rights (which role owns which field) are declared in the registry and checked by
:func:`sync.changeset.check_values`; this module adds the rows. The office (desk,
manager) writes any row. A field device (engineer, depot keeper) writes a row only when:

1. the row is theirs: their scope key is among the row's keys (:mod:`server.scopes`)
   as it is stored and as the write would leave it, so nobody edits another person's
   row, nor makes one in another person's reach — a work log on B's ticket, a
   consumption from B's van — by guessing its id or otherwise;
2. no reference of the row reaches into a peer's scope (another engineer's for an
   engineer, another depot's for a depot keeper), except where a part is sent: an
   engineer may hand a part to B's van, not take one from it;
3. every reference the write sets names a row its author may read — scope follows
   references (a ticket brings its customer), so naming a row would be a way to read
   it — or the part catalog, a location no peer owns, or a row in nobody's scope that
   the author made; a person it names is not a peer (:func:`_references`);
4. reference data (an entity in the catalog only: parts) is written by the roles that
   create it, whoever reads it;
5. a new row in nobody's scope belongs to nobody yet and may be made: a customer before
   the ticket that names it (it then follows the ticket), a fault ticket left for the desk
   to dispatch. The office sees it; its author's replica drops it once pushed, and only
   its maker may name it until a scope takes it.

An engineer opening a ticket (a fault found on an inspection) assigns it to themself:
a row's owner field may be set to the author's own id when the row is made, and by
nobody else but its owners (the desk assigns).

One exception to 1, 2 and 3, for work its author could not know was no longer theirs: a
ticket reassigned while its engineer worked offline remembers when the move reached the
server (:func:`server.scopes.departures`). Their writes stamped before that (by their
clock, corrected) on an older version of it, and the rows they made on it before then
(work log, consumption, signature, old part), are accepted;
the desk is told by a conflict record (:mod:`server.domain.effects`), and the rows
leave the engineer's replica once pushed. What they are told back carries nothing the
row holds since (:func:`readable_by`, :mod:`server.apply`). See docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sync.changeset import Mutation, Rejection, check_values
from sync.registry import Catalog, Entity, Owner, Via
from sync.rules import SYSTEM, FieldClock, StoredRow
from sync.wording import a

from . import driver, scopes

if TYPE_CHECKING:
    from .apply import Batch, Caller

__all__ = ["check", "may_read", "readable_by", "visible_data", "my_key", "DESTINATIONS"]

_NOWHERE = StoredRow({}, {}, 0)

#: References naming where a part is sent: they may reach into anyone's scope.
DESTINATIONS = frozenset({("stock_movement", "to_location_id")})


def my_key(caller: "Caller") -> str | None:
    return scopes.person_key(caller.user_id, caller.role, caller.depot_id)


class _BatchRows:
    """The rows of a push in progress, as :class:`server.scopes.RowSource`."""

    def __init__(self, batch: "Batch"):
        self.batch = batch

    def row(self, entity: str, row_id: str) -> StoredRow | None:
        return self.batch.lookup(entity, row_id)

    def referencing(self, entity: str, field: str, row_id: str) -> list[tuple[str, dict]]:
        return [(i, r.values) for i, r in self.batch.find(entity, field, row_id).items()]


def check(batch: "Batch", caller: "Caller", entity: Entity, stored: StoredRow | None,
          mutation: Mutation) -> Rejection | None:
    """Why ``caller`` may not make ``mutation``, or ``None``. Coerces its values in place."""
    if caller.role == SYSTEM:
        return None
    refusal = _fields(caller, entity, stored, mutation) or _role(caller, entity, stored, mutation)
    if refusal is not None or caller.role in scopes.OFFICE_ROLES:
        return refusal
    return _row(batch, caller, entity, stored, mutation)


def _claimed(caller: "Caller", entity: Entity, stored: StoredRow | None, mutation: Mutation) -> set[str]:
    """Owner fields of a new row that the author sets to themself (the claim at birth)."""
    me = my_key(caller)
    if stored is not None or mutation.op == "delete" or me is None:
        return set()
    kind, own_id = me.split(":", 1)
    return {p.field for p in entity.scope
            if isinstance(p, Owner) and p.prefix == kind and mutation.fields.get(p.field) == own_id}


def _fields(caller: "Caller", entity: Entity, stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    claimed = _claimed(caller, entity, stored, mutation)
    if not claimed:
        return check_values(entity, mutation, caller.role)
    rest = replace(mutation, fields={k: v for k, v in mutation.fields.items() if k not in claimed})
    refusal = check_values(entity, rest, caller.role)
    mutation.fields.update(rest.fields)
    return refusal


def _role(caller: "Caller", entity: Entity, stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if mutation.op == "delete" and caller.role not in entity.deleters:
        return Rejection("not_allowed", f"{a(caller.role)} may not delete {a(entity.name)}")
    making = stored is None or stored.deleted or _reference_data(entity)
    if making and mutation.op != "delete" and caller.role not in entity.creators:
        verb = "create" if stored is None or stored.deleted else "change"
        return Rejection("not_allowed", f"{a(caller.role)} may not {verb} {a(entity.name)}")
    return None


def _reference_data(entity: Entity) -> bool:
    return bool(entity.scope) and all(isinstance(p, Catalog) for p in entity.scope)


def _row(batch: "Batch", caller: "Caller", entity: Entity, stored: StoredRow | None,
         mutation: Mutation) -> Rejection | None:
    if _reference_data(entity):
        return None
    me, rows = my_key(caller), _BatchRows(batch)
    values = dict(stored.values) if stored is not None else {}
    clock = stored.clock if stored is not None else {}
    if stored is not None:
        mine, _, _ = _reach(rows, batch, entity, mutation, values, clock, me)
        if not mine:
            return _not_yours(entity, "this row is not in your scope")
    if mutation.op == "delete":
        return None
    values.update(mutation.fields)
    mine, peer_field, anyone = _reach(rows, batch, entity, mutation, values, clock, me)
    if peer_field is not None:
        return _not_yours(entity, f"{entity.name}.{peer_field} names a row in someone else's scope", peer_field)
    if not mine and (stored is not None or anyone):
        return _not_yours(entity, "the row would not be in your scope: name your own ticket, van or id")
    return _references(rows, batch, entity, mutation, me)


def _not_yours(entity: Entity, message: str, field: str | None = None) -> Rejection:
    return Rejection("not_your_row", f"{entity.name}: {message}", field)


def _references(rows: _BatchRows, batch: "Batch", entity: Entity, mutation: Mutation, me: str) -> Rejection | None:
    """The first reference the write sets that names a row or person out of the author's reach.

    Scope follows references (a ticket brings its customer and equipment), so a reference
    to a row one may not read would be a way to read it; and one to a row nobody's scope
    holds would take someone else's row along once a scope names it.
    """
    for name, value in mutation.fields.items():
        spec = entity.field(name)
        if spec is None or spec.type != "ref" or not value or (entity.name, name) in DESTINATIONS:
            continue
        if spec.ref == "user":
            if not _may_name_person(batch, value, me):
                return _not_yours(entity, f"{entity.name}.{name} names a person whose work is not yours", name)
        elif spec.ref in batch.registry and not _may_name(rows, batch, spec.ref, value, me, mutation):
            return _not_yours(entity, f"{entity.name}.{name} names a {spec.ref} outside your scope", name)
    return None


def _may_name(rows: _BatchRows, batch: "Batch", entity_name: str, row_id: str, me: str, mutation: Mutation) -> bool:
    """May a row of the author's name this one?

    Yes for reference data, a row in the author's scope or one that left it unseen (as
    for the author's own writes, with no version of it to go by), a row every device
    reads that no peer owns (a depot, for an engineer), a row that does not exist (a
    deleted one is judged as it stood), and a row in nobody's scope that the author
    made (a customer registered on site before the ticket that names it).
    """
    spec = batch.registry.get(entity_name)
    if _reference_data(spec):
        return True
    target = batch.lookup_any(entity_name, row_id)
    if target is None:
        return True
    keys = set(scopes.keys_of(rows, batch.registry, entity_name, row_id, target.values))
    if me in keys:
        return True
    naming = replace(mutation, entity=entity_name, id=row_id, fields={}, base_version=None)
    if any(_left_unseen(rows, part, target.values, target.clock, me, naming)
           for part in spec.scope if not isinstance(part, Catalog)):
        return True
    if _peer(keys, me):
        return False
    if scopes.CATALOG in keys:
        return True
    return not keys and _maker_key(batch, entity_name, row_id) == me


def _maker_key(batch: "Batch", entity_name: str, row_id: str) -> str | None:
    """The scope key of the person whose device made a row (this push's own rows included)."""
    state = batch.states.get(entity_name, {}).get(row_id)
    if state is not None and not state.exists:
        device = (state.meta or {}).get("author_device")
    else:
        found = driver.fetch(batch.conn, f"SELECT author_device FROM {driver.quote(batch.conn, entity_name)} "
                                         "WHERE id = ?", [row_id])
        device = found[0][0] if found else None
    return batch.people.device_key(device)


def _may_name_person(batch: "Batch", user_id: str, me: str) -> bool:
    """The author, a colleague with the same scope (a depot's keepers), head office, or
    someone of another role (a depot keeper names the engineer a part is issued to)."""
    person = batch.people.person(user_id)
    if person is None:
        return False
    key = scopes.person_key(user_id, *person)
    return key is None or key == me or not _peer({key}, me)


def _reach(rows: _BatchRows, batch: "Batch", entity: Entity, mutation: Mutation, values: dict,
           clock: dict, me: str) -> tuple[bool, str | None, bool]:
    """``(is the row the caller's, a field reaching into a peer's scope or None, is it anyone's)``."""
    mine, peer_field, anyone = False, None, False
    for part in entity.scope:
        if isinstance(part, Catalog):
            continue
        keys = set(scopes.part_keys(rows, batch.registry, part, mutation.id, values)) - {scopes.CATALOG}
        anyone = anyone or bool(keys)
        if me in keys or (keys and _left_unseen(rows, part, values, clock, me, mutation)):
            mine = True
        elif isinstance(part, (Owner, Via)) and _peer(keys, me) and (entity.name, part.field) not in DESTINATIONS:
            peer_field = peer_field or part.field
    return mine, peer_field, anyone


def _left_unseen(rows: _BatchRows, part, values: dict, clock: dict, me: str, mutation: Mutation) -> bool:
    """Did the row (an owner part), its parent (via) or the row naming it (referenced by)
    leave ``me`` unknown to the author, after the author made this write?

    The write must be stamped — by its author's clock, corrected by the skew measured at
    the push (:mod:`server.clocks`) — before the move reached the server (the mark's
    time): work done offline before the reassignment is kept, work after it is not the
    former owner's to do. For the row itself, its author's ``base_version`` must also be
    older than the move. A row on a ticket that left them (a work log, the ticket's
    equipment) carries no version of the ticket: its stamp alone tells.
    """
    mark = scopes.left_mark(me)
    if isinstance(part, Owner):
        left = clock.get(mark)
        return (scopes.made_before_leaving(mutation.hlc, left)
                and (mutation.base_version is None or mutation.base_version < left.version))
    if isinstance(part, Via):
        parent = rows.row(part.entity, values.get(part.field) or "")
        return parent is not None and scopes.made_before_leaving(mutation.hlc, parent.clock.get(mark))
    return any(scopes.made_before_leaving(mutation.hlc, (rows.row(part.entity, other_id) or _NOWHERE).clock.get(mark))
               for other_id, _ in rows.referencing(part.entity, part.field, mutation.id))


def _peer(keys: set[str], me: str) -> bool:
    kind = me.split(":", 1)[0] + ":"
    return any(k.startswith(kind) and k != me for k in keys)


def may_read(batch: "Batch", caller: "Caller", entity: Entity, row_id: str, stored: StoredRow) -> bool:
    """May the caller see this row (in a rejection's ``server_row``, say)?"""
    return caller.role == SYSTEM or readable_by(batch, my_key(caller), entity, row_id, stored)


def readable_by(batch: "Batch", key: str | None, entity: Entity, row_id: str, stored: StoredRow) -> bool:
    """May the devices reading scope ``key`` (``None``: head office) see this row as it
    stands now? A row that left someone's scope is no longer theirs to read, whatever
    work of theirs it still accepts."""
    if key is None:
        return True
    keys = scopes.keys_of(_BatchRows(batch), batch.registry, entity.name, row_id, stored.values)
    return key in keys or scopes.CATALOG in keys


def visible_data(entity: Entity, data: dict, role: str) -> dict:
    """A row's fields as ``role`` may read them (``Field.readers``)."""
    hidden = entity.hidden_from(role)
    return {k: v for k, v in data.items() if k not in hidden} if hidden else data
