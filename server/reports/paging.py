"""Keyset paging for a report's rows: the next page starts after the last row's key.

A page is read as ``limit + 1`` rows ordered by the key; the extra row only says there
is more, and the key of the page's last row is the cursor of the next. Unlike an
offset, the database seeks to the key (:func:`server.keyset.after_key`), so the thousandth
page costs what the first does.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..keyset import after_key
from .filters import encode_cursor

__all__ = ["after_key", "split", "walk"]


def split(rows: list[dict], limit: int, key_of: Callable[[dict], tuple]) -> tuple[list[dict], str | None]:
    """The page (the first ``limit`` rows) and the cursor of the next, ``None`` on the last."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(key_of(page[-1]))


def walk(lists: Sequence[tuple[str, Callable[[tuple | None, int], list[dict]], Callable[[dict], tuple], int | None]],
         after: tuple | None, limit: int) -> tuple[dict[str, list[dict]], str | None]:
    """A page of an answer of several lists read one after another, as if they were one
    list: at most ``limit`` rows in all, the next cursor the list's name and the key of
    the page's last row, ``None`` on the last page.

    ``lists``: each list's name, how to read it (after a key of its own, at most so many
    rows, in its key's order), the key of one of its rows, and the most rows of it a page
    holds (``None``: as many as ``limit`` leaves; fewer for a list whose rows cost more
    to compute); ``after``: the cursor read back (the name, then the key). A list the
    cursor has passed is read no more; the ones after it start from their first row.
    """
    names = [name for name, _, _, _ in lists]
    start = names.index(after[0]) if after is not None else 0
    page: dict[str, list[dict]] = {name: [] for name in names}
    left, last, more = limit, None, False
    for position, (name, read, key_of, most) in enumerate(lists[start:], start):
        room = left if most is None else min(left, most)
        rows = read(tuple(after[1:]) if after is not None and position == start else None, room + 1)
        page[name] = rows[:room]
        if page[name]:
            last = (name, *key_of(page[name][-1]))
            left -= len(page[name])
        if len(rows) > len(page[name]):
            more = True
            break
    return page, encode_cursor(last) if more else None
