"""Merge rules, one module each. The registry names the rule an entity uses.

Every rule takes the server's stored row (or ``None``), one incoming mutation, the row
version it would make and a :class:`~sync.rules.base.MergeContext`, and returns a
:class:`~sync.rules.base.Merge`: what to write, whose data lost, or why it is refused.
Rules are pure functions: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from types import ModuleType

from . import approval, ledger, lifecycle, lww, signature, ticket
from .base import LEFT_MARK, SYSTEM, FieldClock, Merge, MergeContext, Overwrite, Refusal, StoredRow

__all__ = ["LEFT_MARK", "FieldClock", "Merge", "MergeContext", "Overwrite", "Refusal", "StoredRow", "SYSTEM", "rule_for", "RULES"]

RULES: dict[str, ModuleType] = {
    "lww": lww,
    "ticket": ticket,
    "ledger": ledger,
    "lifecycle": lifecycle,
    "signature": signature,
    "approval": approval,
}


def rule_for(name: str) -> ModuleType:
    """The module implementing rule ``name``; it has ``merge(stored, mutation, version, ctx)``."""
    return RULES[name]
