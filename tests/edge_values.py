"""Values a device may send for a field: mostly ordinary ones of its type (so that a
mutation gets past its other fields to the merge and the domain's effects), and some at
and past the type's edges (the calendar's ends in every offset, 64 bits, JSON nested
hundreds deep, NUL, other scripts' digits), which plain random draws seldom reach.

Shared by the value fuzz (``tests/test_fuzz_values.py``) and the schemathesis run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from sync.registry import Entity, Field

__all__ = ["ROW_IDS", "EDGES", "value_of", "field_values"]

#: the ids rows are made under, so that a ref names a row of its entity now and then
ROW_IDS = ["r1", "r2", "r3"]

_OFFSET = (st.integers(-24 * 60 + 1, 24 * 60 - 1) | st.sampled_from([-24 * 60 + 1, -5 * 60, 24 * 60 - 1])).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
#: times on the calendar's first and last days, in any offset
_CALENDAR_ENDS = st.builds(datetime.combine, st.sampled_from([date.min, date.max]), st.times(),
                           st.none() | _OFFSET).map(datetime.isoformat)
_WORDS = st.sampled_from(["张伟", "北京市朝阳区", "皮带磨损", "更换皮带", "A"])
_SMALL_JSON = st.dictionaries(st.sampled_from(["area", "item", "hours", "notes"]), _WORDS | st.integers(0, 24),
                              max_size=3)

ORDINARY = {
    "text": _WORDS | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    "ref": st.sampled_from(ROW_IDS),
    "time": st.datetimes(timezones=st.none() | _OFFSET).map(datetime.isoformat) | st.dates().map(date.isoformat),
    "integer": st.integers(-1000, 1000),
    "real": st.floats(-1e6, 1e6, allow_nan=False),
    "boolean": st.booleans(),
    "json": _SMALL_JSON | st.lists(_SMALL_JSON, max_size=3),
}

_EDGE_NUMBERS = st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64, 2**70, 2.0, 1.5, 1e15, 1e300, -0.0])
#: NaN and Infinity are not JSON: a body holding them is refused unread (see test_push_input)
_NUMBER = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _EDGE_NUMBERS
_TEXT = (st.text(max_size=300) | st.text(min_size=60, max_size=70)
         | st.sampled_from(["", "北京市朝阳区\x00", "２０２６-11-23", "٢٠٢٦-١١-٢٣", "皮" * 5000]))
_JSON = st.recursive(st.none() | st.booleans() | _NUMBER | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=12)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


EDGES = {
    "text": _TEXT | _NUMBER,
    "ref": _TEXT,
    "time": _CALENDAR_ENDS | _TEXT,
    "integer": _NUMBER | _TEXT,
    "real": _NUMBER,
    "boolean": st.integers(-1, 2) | _TEXT,
    "json": (_JSON | st.sampled_from([32, 33, 254, 255, 300]).map(_nested)
             | st.integers(60_000, 70_000).map(lambda size: {"notes": "皮" * size})),
}


def value_of(spec: Field) -> st.SearchStrategy:
    """Two draws in three an ordinary value (one of the choices, for a field that has
    them), one in three an edge of its type."""
    ordinary = st.sampled_from(spec.choices) if spec.choices else ORDINARY[spec.type]
    return st.one_of(ordinary, ordinary, EDGES[spec.type])


def field_values(entity: Entity, role: str | None = None) -> st.SearchStrategy[dict]:
    """``{field: value}`` for 1 to 4 fields of ``entity`` (of those ``role`` may write,
    when it is given and there are any)."""
    names = [f.name for f in entity.fields if role is None or f.writable_by(role)] or list(entity.field_names)
    return st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: value_of(entity.field(name)) for name in chosen}))
