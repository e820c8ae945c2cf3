"""Human numbers by year-month and serial (004: 年度月份流水编号): T2611-00042, C2611-007.

Handed out by the server on first sync, inside the push transaction that appends to
the log (serialised), so two devices never get the same number.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..tables import number_series

__all__ = ["NumberSeries", "SERIES"]

#: series letter → digits of the serial
SERIES = {"T": 5, "C": 3}


class NumberSeries:
    """The numbers one push hands out: each series' counter read once, written once."""

    def __init__(self, conn: sa.Connection, utc_offset_hours: int):
        self.conn = conn
        self.utc_offset_hours = utc_offset_hours
        self._last: dict[tuple[str, str], int] = {}
        self._stored: dict[tuple[str, str], int | None] = {}

    def next(self, series: str, when_ms: int) -> str:
        local = datetime.fromtimestamp(when_ms / 1000, timezone.utc) + timedelta(hours=self.utc_offset_hours)
        key = (series, local.strftime("%y%m"))
        if key not in self._last:
            stored = self.conn.execute(sa.select(number_series.c.last).where(
                number_series.c.series == key[0], number_series.c.period == key[1])).scalar()
            self._stored[key] = stored
            self._last[key] = stored or 0
        self._last[key] += 1
        return f"{series}{key[1]}-{self._last[key]:0{SERIES[series]}d}"

    def save(self) -> None:
        """Write the counters that moved (inside the push's serialised transaction)."""
        for (series, period), last in self._last.items():
            where = (number_series.c.series == series, number_series.c.period == period)
            if self._stored[(series, period)] is None:
                self.conn.execute(number_series.insert().values(series=series, period=period, last=last))
            elif last != self._stored[(series, period)]:
                self.conn.execute(number_series.update().where(*where).values(last=last))
            self._stored[(series, period)] = last
