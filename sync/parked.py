"""What the person does with refused work: see it, write it again, or give it up (part
of :class:`sync.client.Replica`).

A refused mutation is parked with its reason and the row put back as the server holds
it (:mod:`sync.push`) — or, refused unread (413, 422), left as it is, the server's row
unknown. Retrying writes the parked values again as a new local edit, pushed at the
next sync like any other, once the person has fixed what the server refused (the
signature image uploaded, say). Dismissing drops it and puts the row back as the server
holds it — asking the server first when that is unknown — replaying the row's other
pending edits over it.
"""

from __future__ import annotations

import orjson

from .errors import NotFoundError, TransportError, ValidationError
from .local import to_column
from .outcomes import Parked
from .registry import Entity
from .transaction import Quiet

__all__ = ["ParkedWork"]


class ParkedWork:
    """Needs ``db``, ``rows``, ``registry``, ``transport``, ``_transaction`` and
    ``_put_back`` of :class:`sync.client.Replica`."""

    def parked(self) -> list[Parked]:
        """The mutations the server refused, oldest first."""
        rows = self.db.execute(
            "SELECT mutation_id, entity, row_id, op, fields, code, message, field, server_row, parked_at, "
            "server_row_unknown FROM _parked ORDER BY parked_at"
        ).fetchall()
        return [Parked(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5], r[6], r[7],
                       None if r[8] is None else orjson.loads(r[8]), r[9], bool(r[10])) for r in rows]

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
        """Give a parked mutation up: the row goes back to what the server holds, the row's
        other pending edits replayed over it.

        Refused unread, the mutation came back with no row: the server is asked how it
        holds the row now, and the row deleted when it holds none for this device. With no
        answer (no signal) a :class:`~sync.errors.TransportError` says so and nothing
        changes: the mutation stays parked, the row as it is.
        """
        entity, row_id, raw, unknown = self._parked_one(mutation_id, "entity, row_id, server_row, server_row_unknown")
        asked = bool(unknown) and entity in self.registry
        if asked:
            server_row = self._server_row_now(entity, row_id)
        else:
            server_row = None if raw is None else orjson.loads(raw)
        with self._transaction():
            if self.db.execute("DELETE FROM _parked WHERE mutation_id = ?", (mutation_id,)).rowcount == 0:
                raise NotFoundError(f"no parked mutation {mutation_id}")
            if entity not in self.registry:
                return
            if server_row is not None:
                self._put_back(entity, row_id, server_row)
            elif asked or not self.rows.versions(entity, [row_id]):
                # the server holds no such row for this device: only local edits bring it back
                with Quiet(self.db):
                    self.rows.delete_rows(entity, [row_id])
                    self.rows.forget_versions([(entity, row_id)])
                    self.rows.rebase(entity, row_id)

    def _server_row_now(self, entity: str, row_id: str) -> dict | None:
        """``{data, version}`` of the row as the server holds it for this device, or None."""
        try:
            if self.transport is None:
                raise TransportError("this replica has no server to ask")
            answer = self.transport.get_row(entity, row_id)
        except NotFoundError:
            return None
        except TransportError as exc:
            raise TransportError(
                f"the server could not be reached ({exc.message}): giving this write up needs the {entity} as the "
                "server holds it now; nothing was changed, try again with signal") from exc
        if not (isinstance(answer, dict) and type(answer.get("version")) is int and isinstance(answer.get("data"), dict)):
            raise TransportError(f"the server answered the {entity} with no version and data: nothing was changed")
        return {"version": answer["version"], "data": answer["data"]}

    def _parked_one(self, mutation_id: str, columns: str) -> tuple:
        row = self.db.execute(f"SELECT {columns} FROM _parked WHERE mutation_id = ?", (mutation_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no parked mutation {mutation_id}")
        return row

    def _write_again(self, spec: Entity, row_id: str, op: str, fields: dict) -> None:
        """The write made again: the row set to hold it, and the mutation queued with a
        fresh clock (a delete deletes; anything else sets the fields on the row, made again
        if it is gone).

        Queued here, not by the capture triggers, which send only what a write changes: a
        row that a refusal given unread left as it was holds the values already, and a
        delete refused unread left no row to delete.
        """
        table = spec.name
        held = self.rows.versions(table, [row_id]).get(row_id)
        exists = self.db.execute(f'SELECT 1 FROM "{table}" WHERE id = ?', (row_id,)).fetchone() is not None
        values = {k: v for k, v in fields.items() if (f := spec.field(k)) is not None and not f.server_owned}
        columns = {k: to_column(spec.field(k).type, v) for k, v in values.items()}
        with Quiet(self.db):
            if op == "delete":
                self.db.execute(f'DELETE FROM "{table}" WHERE id = ?', (row_id,))
                queued, sent = "delete", {}
            elif not exists:
                quoted = ", ".join(f'"{n}"' for n in ["id", *columns])
                marks = ", ".join("?" for _ in range(len(columns) + 1))
                self.db.execute(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', (row_id, *columns.values()))
                queued, sent = "insert", {k: v for k, v in values.items() if v is not None}
            else:
                if columns:
                    sets = ", ".join(f'"{k}" = ?' for k in columns)
                    self.db.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', (*columns.values(), row_id))
                queued, sent = "update", values
        if queued == "update" and not sent:
            return
        self.db.execute(
            "INSERT INTO _outbox (mutation_id, entity, row_id, op, fields, hlc, base_version) "
            "VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, fieldsync_hlc(), ?)",
            (table, row_id, queued, orjson.dumps(sent).decode(), held),
        )
