"""What the person does with refused work: see it, write it again, or give it up (part
of :class:`sync.client.Replica`).

A refused mutation is parked with its reason and the row put back as the server holds
it (:mod:`sync.push`). Retrying writes the parked values again as a new local edit —
captured by the triggers with a fresh clock, pushed at the next sync like any other —
once the person has fixed what the server refused (the signature image uploaded, say).
Dismissing drops it and puts the row back as the server held it, replaying the row's
other pending edits over it.
"""

from __future__ import annotations

import orjson

from .errors import NotFoundError, ValidationError
from .local import to_column
from .outcomes import Parked
from .registry import Entity
from .transaction import Quiet

__all__ = ["ParkedWork"]


class ParkedWork:
    """Needs ``db``, ``rows``, ``registry``, ``_transaction`` and ``_put_back`` of
    :class:`sync.client.Replica`."""

    def parked(self) -> list[Parked]:
        """The mutations the server refused, oldest first."""
        rows = self.db.execute(
            "SELECT mutation_id, entity, row_id, op, fields, code, message, field, server_row, parked_at "
            "FROM _parked ORDER BY parked_at"
        ).fetchall()
        return [Parked(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5], r[6], r[7],
                       None if r[8] is None else orjson.loads(r[8]), r[9]) for r in rows]

    def retry_mutation(self, mutation_id: str) -> None:
        """Write a parked mutation's values again, as a new local edit the next sync pushes."""
        with self._transaction():
            entity, row_id, op, raw = self._parked_one(mutation_id, "entity, row_id, op, fields")
            spec = self.registry.get(entity)
            if spec is None:
                raise ValidationError(f"this release does not know the entity {entity!r}: dismiss the write")
            self.db.execute("DELETE FROM _parked WHERE mutation_id = ?", (mutation_id,))
            self._write_again(spec, row_id, op, orjson.loads(raw))

    def dismiss_mutation(self, mutation_id: str) -> None:
        """Give a parked mutation up: the row goes back to what the server holds."""
        with self._transaction():
            entity, row_id, raw = self._parked_one(mutation_id, "entity, row_id, server_row")
            self.db.execute("DELETE FROM _parked WHERE mutation_id = ?", (mutation_id,))
            if entity not in self.registry:
                return
            if raw is not None:
                self._put_back(entity, row_id, orjson.loads(raw))
            elif not self.rows.versions(entity, [row_id]):
                # the server holds no such row for this device: only local edits bring it back
                with Quiet(self.db):
                    self.rows.delete_rows(entity, [row_id])
                    self.rows.rebase(entity, row_id)

    def _parked_one(self, mutation_id: str, columns: str) -> tuple:
        row = self.db.execute(f"SELECT {columns} FROM _parked WHERE mutation_id = ?", (mutation_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no parked mutation {mutation_id}")
        return row

    def _write_again(self, spec: Entity, row_id: str, op: str, fields: dict) -> None:
        """The write, through the capture triggers: a delete deletes, anything else sets
        the fields on the row (made again if it is gone)."""
        table = spec.name
        if op == "delete":
            self.db.execute(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
            return
        values = {k: to_column(f.type, v) for k, v in fields.items()
                  if (f := spec.field(k)) is not None and not f.server_owned}
        if self.db.execute(f'SELECT 1 FROM "{table}" WHERE id = ?', (row_id,)).fetchone() is None:
            quoted = ", ".join(f'"{n}"' for n in ["id", *values])
            marks = ", ".join("?" for _ in range(len(values) + 1))
            self.db.execute(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', (row_id, *values.values()))
        elif values:
            sets = ", ".join(f'"{k}" = ?' for k in values)
            self.db.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', (*values.values(), row_id))
