"""Is a ticket's service report signed? Only by a current signature whose image is here.

A part used on a job is written off against the signed service report (001 §3.7.4).
A signature counts while it signs the report as it stands (the server marks it
``stale`` when the report changes after signing) and once its image arrived whole: a
blob is in ``blobs`` only when complete, uploads in progress live elsewhere.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..tables import blobs, entity_table

__all__ = ["current_signature"]


def current_signature(ticket_id: sa.ColumnElement) -> sa.Exists:
    """SQL: does the ticket named by ``ticket_id`` hold a current, complete signature?"""
    signatures = entity_table("signature")
    return sa.exists(
        sa.select(sa.literal(1))
        .select_from(signatures.join(blobs, blobs.c.sha256 == signatures.c.blob_sha256))
        .where(signatures.c.ticket_id == ticket_id, signatures.c.deleted.is_(False),
               sa.or_(signatures.c.stale.is_(None), signatures.c.stale.is_(False)))
    )
