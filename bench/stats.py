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

__all__ = ["median", "percentile", "spread", "stopwatch", "timed_gets"]


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


def timed_gets(client, path: str, headers: dict, runs: int, warm_up: int = 1) -> tuple[list[float], int, int]:
    """``runs`` GETs of ``path`` on a Flask test client after ``warm_up`` untimed ones:
    their milliseconds, and the last answer's status and size (timing stops at the first
    answer that is not 200: a figure of errors is no figure)."""
    ms: list[float] = []
    status, size = 0, 0
    for k in range(warm_up + runs):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        elapsed = (time.perf_counter() - start) * 1000
        status, size = answer.status_code, len(answer.get_data())
        if status != 200:
            break
        if k >= warm_up:
            ms.append(elapsed)
    return ms, status, size
