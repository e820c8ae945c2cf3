"""One row a console page is about, or "not found": the page's id comes from its URL,
so anything may stand there."""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from sync.errors import NotFoundError

from ..api.common import services

__all__ = ["MAX_ID", "one_or_not_found"]

#: no stored id is longer: a longer one is not looked up
MAX_ID = 64


def one_or_not_found(row_id: str, read: Callable[[sa.Connection, str], dict | None], missing: str) -> dict:
    """What ``read`` finds for ``row_id``, or ``NotFoundError(missing)`` (404)."""
    found = None
    if len(row_id) <= MAX_ID:
        with services().engine.connect() as conn:
            found = read(conn, row_id)
    if found is None:
        raise NotFoundError(missing)
    return found
