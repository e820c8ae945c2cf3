"""A figure's months as an inline SVG line chart, drawn on the server.

No charting library and no script: the console's pages allow none from elsewhere and
run none inline (``Content-Security-Policy: default-src 'self'``), and an office
intranet is often offline. This module only works out the geometry — where each month's
point sits, which points join (a month with nothing to count breaks the line), where the
target's line runs and the scale's ticks — and the template draws it
(``templates/console/_chart.html``), with the numbers as a table beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Chart", "Point", "line_chart", "WIDTH", "HEIGHT"]

WIDTH, HEIGHT = 380, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34
#: the scale's tops to choose from (fractions): the smallest that holds every value and the target
_TOPS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Point:
    month: str
    x: float
    y: float
    value: float
    numerator: int
    denominator: int
    meets: bool | None


@dataclass
class Chart:
    points: list[Point]
    #: runs of points joined by a line (a month without a denominator breaks it)
    lines: list[str]
    #: the target's height, or None when it is off the scale
    target_y: float | None
    #: (y, label) of the scale's ticks, bottom first
    ticks: list[tuple[float, str]]
    #: (x, label) under the axis: every month's number, the year where it starts
    months: list[tuple[float, str, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _top(values: list[float]) -> float:
    highest = max(values, default=0.0)
    return next((top for top in _TOPS if highest <= top), math.ceil(highest))


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def line_chart(months: list[dict], target: float) -> Chart:
    """The chart of one figure over ``months`` (each ``month``, ``numerator``,
    ``denominator``, ``value`` — None when nothing was counted — and ``meets``), with
    the line of its ``target`` (a fraction)."""
    top = _top([m["value"] for m in months if m["value"] is not None] + [target])
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(months) - 1, 1)

    def y_of(value: float) -> float:
        return round(TOP + (1 - value / top) * inner_h, 1)

    points, lines, run = [], [], []
    labels = []
    for i, m in enumerate(months):
        x = round(LEFT + i * step, 1)
        year, month = m["month"].split("-")
        labels.append((x, month, year if i == 0 or month == "01" else ""))
        if m["value"] is None:
            if len(run) > 1:
                lines.append(" ".join(run))
            run = []
            continue
        point = Point(m["month"], x, y_of(m["value"]), m["value"], m["numerator"], m["denominator"], m["meets"])
        points.append(point)
        run.append(f"{point.x},{point.y}")
    if len(run) > 1:
        lines.append(" ".join(run))
    ticks = [(y_of(fraction * top), _percent(round(fraction * top, 4))) for fraction in (0, 0.5, 1)]
    return Chart(points=points, lines=lines, target_y=y_of(target) if target <= top else None, ticks=ticks,
                 months=labels)
