"""The types every merge rule speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "FieldClock", "StoredRow", "Overwrite", "Merge", "MergeContext", "Refusal",
    "APPLIED", "MERGED", "CONFLICT", "REJECTED", "SYSTEM", "LEFT_MARK",
]

APPLIED, MERGED, CONFLICT, REJECTED = "applied", "merged", "conflict", "rejected"
#: The role of the server's own writes (numbering, resolutions): bound by no ownership.
SYSTEM = "system"
#: Row-clock entries ``_left:<scope key>`` that the server keeps when a row leaves an
#: owner (a ticket reassigned): the version and the server's time of the move.
LEFT_MARK = "_left:"


@dataclass(frozen=True)
class FieldClock:
    """When a field was last written: its HLC and the row version that write made."""

    hlc: str
    version: int

    def to_list(self) -> list:
        return [self.hlc, self.version]

    @classmethod
    def from_list(cls, raw: list) -> "FieldClock":
        return cls(raw[0], raw[1])


@dataclass
class StoredRow:
    """A row as the server holds it."""

    values: dict[str, Any]
    clock: dict[str, FieldClock]
    version: int
    #: A tombstone; ``clock["_deleted"]`` says when the delete was made.
    deleted: bool = False


@dataclass(frozen=True)
class Overwrite:
    """One value that lost: kept in a conflict record with both sides."""

    field: str
    kept_value: Any
    kept_hlc: str | None
    lost_value: Any
    lost_hlc: str
    #: ``incoming`` when the mutation's value won over the stored one, ``stored`` otherwise.
    winner: str


@dataclass(frozen=True)
class Refusal:
    """Why a rule refused a mutation outright (the server answers it ``rejected``)."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class MergeContext:
    """What a rule may know beyond the row: the author, other rows, whose stamps are the
    author's own, the deployment's word.

    ``lookup(entity, id)`` returns a row as it stands at this point of the push (earlier
    mutations of the same change-set included), or ``None``. ``by_author(hlc)`` says
    whether the person making the mutation wrote the value stamped ``hlc``, from any of
    their devices: a stamp names only its device, the server knows whose device it is.
    """

    role: str
    lookup: Callable[[str, str], StoredRow | None] = lambda entity, row_id: None
    by_author: Callable[[str], bool] = lambda stamp: False
    #: the person behind the mutation (``None`` for the server's own writes)
    user_id: str | None = None
    #: the roles the deployment lets decide on this entity's approvals (rule ``approval``)
    approvers: frozenset[str] = frozenset()
    #: the server's time of the push, as a stamp: when what the mutation brings reached it
    arrival: str | None = None


@dataclass
class Merge:
    outcome: str
    #: Field values to write (only the ones that change).
    writes: dict[str, Any] = field(default_factory=dict)
    clock: dict[str, FieldClock] = field(default_factory=dict)
    deleted: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    #: The tombstone flag flips (a delete, or an update reviving a deleted row).
    deleted_changed: bool = False
    refusal: Refusal | None = None

    @classmethod
    def refused(cls, code: str, message: str, field: str | None = None) -> "Merge":
        return cls(REJECTED, refusal=Refusal(code, message, field))

    @property
    def changed(self) -> bool:
        return bool(self.writes) or self.deleted_changed
