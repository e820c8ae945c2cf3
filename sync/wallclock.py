"""The device's wall clock with its jumps taken out: what the engine stamps writes by.

A phone's clock is set by hand or by network time, and either may move it by days while
the engineer works offline. The server corrects a device's stamps by one offset, measured
when a push arrives (``sent_at_ms``, see docs/protocol.md), so every stamp of a device
must be on one continuous time line: the wall clock as it ran before its first jump.

:class:`SteadyWall` reads the wall clock together with an elapsed-time clock that
nobody sets (time since boot, asleep included) and compares their progress at each
reading: a wall clock that moved more or less than the elapsed time, beyond what
network time's slewing can do, jumped, and the jump is taken out of this and every later
reading (:attr:`SteadyWall.frame_ms` is the sum of them). The engine persists the frame
with the first stamp minted after a jump (``_clock_jumps``, client schema step 0006),
so a restart resumes on the same time line. A jump while the engine was not running is
not seen: the elapsed clock of another process, or of another boot, is not comparable.
"""

from __future__ import annotations

import time
from typing import Callable

__all__ = ["SteadyWall", "elapsed_ms", "JUMP_MIN_MS", "SLEW_PER_MS"]

#: A wall clock that moved this much more (or less) than the elapsed time jumped ...
JUMP_MIN_MS = 1000
#: ... plus what slewing may add: network time corrects at most 0.5 ms a second; twice that.
SLEW_PER_MS = 1 / 1000

_BOOT_CLOCK = getattr(time, "CLOCK_BOOTTIME", None)


def elapsed_ms() -> int:
    """Milliseconds on a clock nobody sets that counts time asleep (a phone in a pocket)."""
    if _BOOT_CLOCK is not None:
        return int(time.clock_gettime(_BOOT_CLOCK) * 1000)
    return int(time.monotonic() * 1000)


class SteadyWall:
    """A callable returning the wall time in milliseconds, minus every jump seen so far."""

    def __init__(self, wall: Callable[[], int], elapsed: Callable[[], int] = elapsed_ms, frame_ms: int = 0):
        self._wall = wall
        self._elapsed = elapsed
        #: the sum of the jumps taken out: a reading is ``wall - frame_ms``
        self.frame_ms = frame_ms
        self._anchor: tuple[int, int] | None = None

    def __call__(self) -> int:
        wall, elapsed = self._wall(), self._elapsed()
        if self._anchor is not None:
            passed = elapsed - self._anchor[1]
            jump = (wall - self._anchor[0]) - passed
            if abs(jump) > JUMP_MIN_MS + abs(passed) * SLEW_PER_MS:
                self.frame_ms += jump
        self._anchor = (wall, elapsed)
        return wall - self.frame_ms
