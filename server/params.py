"""Whole numbers in query parameters: ASCII digits, counted before they are converted.

``str.isdigit`` also takes other scripts' digits (``'٣'``, ``'５'``) and ``int()`` reads
them; ``int()`` of more than 4,300 digits raises ``ValueError`` by itself. A parameter is
therefore 1 to 19 ASCII digits (``2**63`` has 19), then a number in its range, or 422.
"""

from __future__ import annotations

from sync.errors import ValidationError

__all__ = ["MAX_DIGITS", "whole_number"]

MAX_DIGITS = 19


def whole_number(raw: str | None, name: str, low: int, high: int, details: dict | None = None) -> int | None:
    """``raw`` as a whole number from ``low`` to ``high``; ``None`` when it is absent."""
    if raw is None:
        return None
    if not (0 < len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValidationError(f"{name} is a whole number from {low} to {high}", field=name, details=details)
    return int(raw)
