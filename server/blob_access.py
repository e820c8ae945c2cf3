"""Who may read a stored blob: the office, a device that uploaded it, and a device whose
scope holds a row that names it.

A blob is named by the registry's blob fields (``Field.blob``: a signature's image, an
expense claim's receipt photos). A device reads a blob when one of the live rows naming
it is in its scope (the scope keys of :mod:`server.scopes`, as a pull would give the
row), so a signature's image goes where its ticket goes: to the ticket's engineer, to
the next engineer when the desk reassigns it, never to another engineer. A device that
uploaded the bytes itself may read them back: it held them. Anyone else is answered as
if the blob did not exist (404), so a hash alone tells nothing.

:func:`status_for` and :func:`upload` are what a device is answered, whoever asks for it:
the blob API, and head office recovering a revoked device's images (:mod:`server.recovery`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from sync.errors import HashMismatchError
from sync.registry import Entity, Registry

from . import blobs
from .rows import load
from .scopes import OFFICE_ROLES, entry_keys, reader_keys
from .tables import blob_holders, entity_table

__all__ = ["may_read", "rows_naming", "readable", "status_for", "upload"]


def may_read(conn: sa.Connection, registry: Registry, user: dict, device_id: str, sha256: str) -> bool:
    """May this device of this person read the stored blob ``sha256``?"""
    if user["role"] in OFFICE_ROLES:
        return True
    held = conn.execute(sa.select(blob_holders.c.device_id).where(
        blob_holders.c.sha256 == sha256, blob_holders.c.device_id == device_id)).first()
    if held is not None:
        return True
    keys = set(reader_keys(user))
    for entity in registry:
        for row_id, values in rows_naming(conn, entity, sha256):
            if keys.intersection(entry_keys(conn, registry, entity.name, row_id, values)):
                return True
    return False


def rows_naming(conn: sa.Connection, entity: Entity, sha256: str) -> list[tuple[str, dict]]:
    """``(id, values)`` of the live rows of ``entity`` that name the blob in a blob field.

    A text field is matched by its index; a json list is searched as text, then read to
    be sure the name is one of its items.
    """
    fields = entity.blob_fields
    if not fields:
        return []
    table = entity_table(entity.name)
    matches = [table.c[f.name] == sha256 if f.type == "text" else table.c[f.name].contains(sha256) for f in fields]
    ids = conn.execute(sa.select(table.c.id).where(sa.or_(*matches), sa.not_(table.c.deleted))).scalars().all()
    found = load(conn, entity, list(ids))
    return [(row_id, row.values) for row_id, row in found.items() if sha256 in entity.blobs_named(row.values)]


def readable(conn: sa.Connection, registry: Registry, user: dict, device_id: str,
             sha256: str) -> blobs.UploadState | None:
    """The stored blob, if this device may read it."""
    known = blobs.stored(conn, sha256)
    if known is None or not may_read(conn, registry, user, device_id, sha256):
        return None
    return known


def status_for(conn: sa.Connection, registry: Registry, user: dict, device_id: str,
               sha256: str) -> blobs.UploadState | None:
    """Where this device stands with the blob: stored and readable, its own upload in
    progress, or ``None`` (nothing it may know of)."""
    return readable(conn, registry, user, device_id, sha256) or blobs.upload_of(conn, sha256, device_id)


def upload(engine: sa.Engine, registry: Registry, user: dict, device_id: str, sha256: str, data: bytes,
           content_type: str, now: datetime, limits: blobs.BlobLimits, start: int | None = None,
           total: int | None = None) -> tuple[blobs.UploadState, bool]:
    """Take a whole blob or a piece of this device's upload of it: ``(state, completed
    now)``. A blob the device may read already answers at once; one it may not runs as a
    new upload would. Bytes that do not hash to the name drop the upload and raise."""
    try:
        with engine.begin() as conn:
            known = readable(conn, registry, user, device_id, sha256)
            if known is not None:
                return known, False
            state = blobs.put(conn, sha256, data, content_type, device_id, now, limits, start, total)
    except HashMismatchError:
        with engine.begin() as conn:
            blobs.drop_upload(conn, sha256, device_id)
        raise
    return state, state.complete
