"""The quality chart's geometry (server/console/chart.py): where points sit, where the
line breaks, the scale and the target's line."""

from __future__ import annotations

from server.console.chart import HEIGHT, line_chart


def _month(month: str, numerator: int, denominator: int, target: float = 0.9, rule: str = "at_least") -> dict:
    value = round(numerator / denominator, 4) if denominator else None
    meets = None if value is None else (value >= target if rule == "at_least" else value < target)
    return {"month": month, "numerator": numerator, "denominator": denominator, "value": value, "meets": meets}


def test_a_month_with_nothing_counted_breaks_the_line_and_has_no_point():
    months = [_month("2026-09", 9, 10), _month("2026-10", 8, 10), _month("2026-11", 0, 0), _month("2026-12", 1, 1)]
    chart = line_chart(months, 0.9)
    assert [p.month for p in chart.points] == ["2026-09", "2026-10", "2026-12"]
    assert len(chart.lines) == 1 and len(chart.lines[0].split(" ")) == 2  # December stands alone
    assert [label for _x, label, _year in chart.months] == ["09", "10", "11", "12"]
    assert [year for _x, _label, year in chart.months] == ["2026", "", "", ""]


def test_a_low_figure_gets_a_scale_that_shows_it_and_its_target():
    chart = line_chart([_month("2026-10", 1, 50, 0.03, "below"), _month("2026-11", 1, 25, 0.03, "below")], 0.03)
    assert [label for _y, label in chart.ticks] == ["0%", "2.5%", "5%"]
    assert chart.target_y is not None and chart.top < chart.target_y < chart.bottom
    highest = min(p.y for p in chart.points)  # 4 % sits above the 3 % target
    assert highest < chart.target_y
    assert [p.meets for p in chart.points] == [True, False]


def test_full_marks_sit_on_the_top_of_the_scale_and_zero_on_its_floor():
    chart = line_chart([_month("2026-01", 0, 4), _month("2026-02", 4, 4)], 0.9)
    assert [p.y for p in chart.points] == [chart.bottom, chart.top]
    assert chart.bottom < HEIGHT and [label for _y, label in chart.ticks] == ["0%", "50%", "100%"]
