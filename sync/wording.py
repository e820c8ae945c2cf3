"""Words in the messages people read: a rule's refusal reaches an engineer's screen and
the console as written here, so "a engineer" is not good enough."""

from __future__ import annotations

__all__ = ["a"]

_VOWEL_SOUNDS = "aeiou"


def a(noun: str) -> str:
    """``noun`` with its indefinite article: ``a("desk")`` is "a desk",
    ``a("engineer")`` is "an engineer", ``a("old_part_return")`` is "an old_part_return"."""
    return f"{'an' if noun[:1].lower() in _VOWEL_SOUNDS else 'a'} {noun}"
