"""Hybrid logical clock.

A timestamp is a string ``WWWWWWWWWWWWWWW:CCCCC:node`` (wall milliseconds, counter,
node id), fixed width so that string order is time order and SQLite triggers can mint
the same format without Python. Ties on wall time and counter fall back to the node id,
so two replicas always agree on which write is later.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["Timestamp", "Clock", "parse", "wall_of", "format_hlc", "MAX_DRIFT_MS", "MAX_WALL_MS", "PATTERN", "now_ms"]

#: No timestamp further than this ahead of the server's clock enters the log.
MAX_DRIFT_MS = 5 * 60 * 1000
_WALL_DIGITS = 15
_COUNTER_DIGITS = 5
_MAX_COUNTER = 10**_COUNTER_DIGITS - 1
#: 9999-12-31T23:59:59.999Z, the last instant a ``datetime`` holds: the device time kept
#: for audit and SLA is read from the wall, so a wall past it could not be stored.
MAX_WALL_MS = 253_402_300_799_999


def _digits_at_most(limit: int, width: int) -> str:
    """A regular expression of the ``width``-digit texts (zero-padded) of 0 to ``limit``.

    Digit by digit: ``limit``'s digits so far, then a smaller digit and any digits after
    it; once only nines are left, any digits.
    """
    text = f"{limit:0{width}d}"
    choices = []
    for i, digit in enumerate(text):
        if text[i:] == "9" * (width - i):
            choices.append(f"{text[:i]}[0-9]{{{width - i}}}")
            break
        if digit != "0":
            choices.append(f"{text[:i]}[0-{int(digit) - 1}][0-9]{{{width - i - 1}}}")
    else:
        choices.append(text)
    return "(?:" + "|".join(choices) + ")"


#: A timestamp as text, for the OpenAPI document and for :func:`parse`: ASCII digits only
#: (``str.isdigit`` also takes full-width and other scripts' digits, which sort after
#: ASCII ones: such a stamp would win every race), a wall from the epoch to
#: :data:`MAX_WALL_MS`, and a node of 1 to 64 characters, no control characters (they end
#: up in SQL text columns).
PATTERN = (rf"^{_digits_at_most(MAX_WALL_MS, _WALL_DIGITS)}:[0-9]{{{_COUNTER_DIGITS}}}"
           r":[^\u0000-\u001f\u007f-\u009f]{1,64}$")
_STAMP = re.compile(PATTERN)
#: UTF-16 halves alone: a JSON text may carry them ("\ud800"), no database text column can
_SURROGATE = re.compile("[\ud800-\udfff]")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, order=True)
class Timestamp:
    wall: int
    counter: int
    node: str

    def __str__(self) -> str:
        return format_hlc(self.wall, self.counter, self.node)


def format_hlc(wall: int, counter: int, node: str) -> str:
    return f"{wall:0{_WALL_DIGITS}d}:{counter:0{_COUNTER_DIGITS}d}:{node}"


def parse(text: str) -> Timestamp:
    """Parse a timestamp; raise ``ValueError`` on anything that is not one."""
    if not isinstance(text, str):
        raise ValueError("an HLC timestamp is a string")
    if not _STAMP.fullmatch(text) or _SURROGATE.search(text):
        raise ValueError(f"not an HLC timestamp: {text[:60]!r}")
    wall, counter, node = text.split(":", 2)
    return Timestamp(int(wall), int(counter), node)


def wall_of(text: str) -> int:
    """The wall time of a timestamp already checked by :func:`parse` (a server reads it
    several times per mutation: this skips checking it again)."""
    return int(text[:_WALL_DIGITS])


class Clock:
    """One node's clock: ``tick`` for a local event, ``observe`` for a remote one."""

    def __init__(self, node: str, wall: Callable[[], int] = now_ms, last: Timestamp | None = None):
        self.node = node
        self._wall = wall
        self._last_wall = last.wall if last else 0
        self._last_counter = last.counter if last else 0

    def tick(self) -> Timestamp:
        wall = self._wall()
        if wall > self._last_wall:
            self._last_wall, self._last_counter = wall, 0
        else:
            self._bump()
        return Timestamp(self._last_wall, self._last_counter, self.node)

    def observe(self, remote: Timestamp) -> Timestamp:
        """Advance past a timestamp seen from another node."""
        wall = self._wall()
        top = max(wall, self._last_wall, remote.wall)
        if top == self._last_wall == remote.wall:
            self._last_counter = max(self._last_counter, remote.counter)
            self._bump()
        elif top == self._last_wall:
            self._bump()
        elif top == remote.wall:
            self._last_wall, self._last_counter = top, remote.counter
            self._bump()
        else:
            self._last_wall, self._last_counter = top, 0
        return Timestamp(self._last_wall, self._last_counter, self.node)

    def _bump(self) -> None:
        if self._last_counter >= _MAX_COUNTER:
            self._last_wall += 1
            self._last_counter = 0
        else:
            self._last_counter += 1
