"""Merge rules, one module each. The registry names the rule an entity uses.

Every rule takes the server's stored row (or ``None``) and one incoming mutation and
returns a :class:`~sync.rules.base.Merge`: what to write, and whose data lost. Rules are
pure functions: no I/O, no clock, no randomness, so every replica would decide alike.
"""

from __future__ import annotations

from types import ModuleType

from . import lww
from .base import FieldClock, Merge, Overwrite, StoredRow

__all__ = ["FieldClock", "Merge", "Overwrite", "StoredRow", "rule_for"]

_RULES: dict[str, ModuleType] = {"lww": lww}


def rule_for(name: str) -> ModuleType:
    """The module implementing rule ``name``; it has ``merge(stored, mutation, version)``."""
    return _RULES[name]
