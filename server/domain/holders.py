"""Who held a part: every movement names a person, and a van's movements one of its holders.

Lost or damaged parts are charged to the person who held them (001 table 4.1), so a
movement's ``held_by`` is never a guess. A van or station is held by its engineer and
its ``crew`` (a two-person crew, a station's staff): each of them pulls it and draws
from it (the crew is an owner list, :func:`server.scopes.owners`).

* A movement that names nobody is the engineer's who wrote it; written by the depot or
  head office, it is the only holder's of the van it touches. A consumption, and a
  movement of a van shared by several, that still names nobody is refused
  (``holder_required``): the server does not pick one of two people to charge.
* A movement of a van names one of its holders (``not_a_holder``), or someone who
  held it when the write was made: taken off the crew while offline, an engineer's
  earlier work is still his (as authorization keeps it, :mod:`server.authz`).

The server's own movements (stocktake adjustments) are the location's, named by their
count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.changeset import Mutation, Rejection
from sync.rules import SYSTEM, StoredRow

from .. import scopes

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["HELD_KINDS", "holders", "check_movement", "check_crew"]

#: locations that people hold, as opposed to a depot's shelves
HELD_KINDS = frozenset({"van", "station"})
_CREW_MAX = 50


def holders(location: StoredRow) -> list[str]:
    """The engineers holding a van or station: its engineer, then its crew."""
    return list(dict.fromkeys(scopes.owners(location.values.get("engineer_id"))
                              + scopes.owners(location.values.get("crew"))))


def check_movement(batch: "Batch", caller: "Caller", mutation: Mutation) -> Rejection | None:
    """Name the holder a new movement leaves out, when only one person can be; refuse it
    when nobody or the wrong person is named. Fills ``held_by`` in place."""
    if caller.role == SYSTEM:
        return None
    f = mutation.fields
    held = [row for row in (batch.lookup("stock_location", f.get(end) or "")
                            for end in ("from_location_id", "to_location_id"))
            if row is not None and row.values.get("kind") in HELD_KINDS]
    if not f.get("held_by"):
        if caller.role == "engineer":
            f["held_by"] = caller.user_id
        else:
            everyone = {person for row in held for person in holders(row)}
            if len(everyone) == 1:
                f["held_by"] = everyone.pop()
            elif held or f.get("kind") == "consume":
                why = "several people hold this van: name which of them" if everyone else "name who"
                return Rejection("holder_required", f"{why} held the part (held_by)", "held_by")
    if held and not any(_held(row, f["held_by"], mutation) for row in held):
        return Rejection("not_a_holder", "held_by names someone who does not hold this van or station", "held_by")
    return None


def _held(location: StoredRow, person: str, mutation: Mutation) -> bool:
    """Does ``person`` hold the location, or did they when the write was made?"""
    if person in holders(location):
        return True
    return scopes.made_before_leaving(mutation.hlc, location.clock.get(scopes.left_mark(f"engineer:{person}")))


def check_crew(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    """A crew is a list of user ids, each once."""
    crew = mutation.fields.get("crew")
    if crew is None:
        return None
    if (not isinstance(crew, list) or len(crew) > _CREW_MAX
            or not all(isinstance(p, str) and 0 < len(p) <= 64 for p in crew) or len(set(crew)) != len(crew)):
        return Rejection("invalid_value", f"stock_location.crew is a list of up to {_CREW_MAX} user ids, each once",
                         "crew")
    return None
