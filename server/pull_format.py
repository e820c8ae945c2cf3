"""Pull page format 2: each entity's columns named once per page, its rows as arrays.

Format 1 repeats every field name in every row: on a weak link a phone pays for
``"customer_id":`` fifty thousand times. Format 2 names an entity's columns once per
page and sends each change as ``[id, version, op, value, …]`` (a delete or an eviction
carries no values), grouped by entity in the order the log gave them, so the last
change of a row in a page is still its last. The change's clock (``hlc``) is left out:
a device never reads a pulled stamp (:mod:`sync.pull`), and it is the least
compressible member of a change.

The log keeps rows as format 1's JSON text; a page of format 2 reads each row once
(orjson) to lay its values out in the columns' order — measured in ``bench/``, a small
part of what the smaller page saves in compression and on the wire.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Callable

import orjson

from sync.registry import Registry

from .params import whole_number

__all__ = ["FORMATS", "parse_format", "pack"]

#: The page formats this server speaks; 1 (rows as objects) when the client names none.
FORMATS = (1, 2)


def parse_format(raw: str | None) -> int:
    number = whole_number(raw, "format", FORMATS[0], FORMATS[-1], details={"formats": list(FORMATS)})
    return FORMATS[0] if number is None else number


def pack(records: list, registry: Registry, role: str) -> dict:
    """``{entity: {"columns": [...], "rows": [[id, version, op, value, …], …]}}`` for log records
    ``(seq, entity, id, op, version, hlc, data, horizon)``; a field ``role`` may not read has
    no column."""
    entities: dict[str, dict] = {}
    pickers: dict[str, Callable[[dict], tuple]] = {}
    # one parse for the page's rows: five thousand calls of orjson cost more than one
    rows = iter(orjson.loads("[" + ",".join(r[6] for r in records if r[6] is not None) + "]"))
    for _seq, entity, row_id, op, version, _stamp, data, _horizon in records:
        part = entities.get(entity)
        if part is None:
            columns = _columns(registry, role, entity)
            if columns is None:  # an entity the registry no longer knows: its rows' own keys
                columns = tuple(orjson.loads(data)) if data is not None else ()
            pickers[entity] = _picker(columns)
            part = entities[entity] = {"columns": list(columns), "rows": []}
        if data is None:
            part["rows"].append([row_id, version, op])
        else:
            part["rows"].append([row_id, version, op, *pickers[entity](next(rows))])
    return entities


def _picker(columns: tuple[str, ...]) -> Callable[[dict], tuple]:
    """The values of ``columns`` in a row, in order: one C-level ``itemgetter`` call when the
    row has them all (the log keeps whole rows), null for one it lacks otherwise."""
    if not columns:
        return lambda row: ()
    whole = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    some = lambda row: tuple(map(row.get, columns))  # noqa: E731

    def pick(row: dict) -> tuple:
        try:
            return whole(row)
        except KeyError:
            return some(row)

    return pick


@lru_cache(maxsize=None)
def _columns(registry: Registry, role: str, entity: str) -> tuple[str, ...] | None:
    spec = registry.get(entity)
    if spec is None:
        return None
    hidden = spec.hidden_from(role)
    return tuple(name for name in spec.field_names if name not in hidden)
