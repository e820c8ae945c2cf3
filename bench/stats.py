"""Small statistics for a noisy, shared machine: medians and nearest-rank percentiles.

One run of anything here can be slowed by a neighbour, so every figure is a median of
several runs, and every ratio is the median of ratios of runs taken side by side.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["median", "percentile", "spread", "stopwatch"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: list[float]) -> str:
    """``min–max`` of the runs, for the reader to judge the noise."""
    return f"{_short(min(values))}–{_short(max(values))}"


def _short(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...``; then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)
