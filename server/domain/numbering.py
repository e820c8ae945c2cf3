"""Human numbers by year-month and serial (004: 年度月份流水编号): T2611-00042, C2611-007.

Handed out by the server on first sync, by the month the record was made on the device
(its ``device_time``: the device's clock corrected by the skew measured at the push), not
the month it synced. Each series' counter for a month is one row, locked ``FOR UPDATE``
when a push first takes a number from it and written back when the push ends: a second
push wanting a number of the same month waits for the first to commit, whatever else
orders the two (the log's claim serialises pushes too, but numbering does not depend on
it). Unique indexes on ``ticket.number`` and ``complaint.number`` refuse a duplicate
outright should anything ever hand one out beside this.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from .. import driver
from ..tables import number_series

__all__ = ["NumberSeries", "SERIES"]

#: series letter → digits of the serial
SERIES = {"T": 5, "C": 3}


class NumberSeries:
    """The numbers one push hands out: each series' counter locked and read once, written once."""

    def __init__(self, conn: sa.Connection, utc_offset_hours: int):
        self.conn = conn
        self.utc_offset_hours = utc_offset_hours
        self._last: dict[tuple[str, str], int] = {}
        self._stored: dict[tuple[str, str], int] = {}

    def period(self, when_ms: int) -> str:
        """``YYMM`` of ``when_ms`` in the deployment's local time."""
        local = datetime.fromtimestamp(when_ms / 1000, timezone.utc) + timedelta(hours=self.utc_offset_hours)
        return local.strftime("%y%m")

    def next(self, series: str, when_ms: int) -> str:
        key = (series, self.period(when_ms))
        if key not in self._last:
            self._stored[key] = self._last[key] = self._lock(*key)
        self._last[key] += 1
        return f"{series}{key[1]}-{self._last[key]:0{SERIES[series]}d}"

    def _lock(self, series: str, period: str) -> int:
        """The month's counter, its row made if need be and locked until the push commits."""
        driver.run(self.conn, "INSERT INTO number_series (series, period, last) VALUES (?, ?, 0) "
                              "ON CONFLICT (series, period) DO NOTHING", (series, period))
        return self.conn.execute(sa.select(number_series.c.last).where(
            number_series.c.series == series, number_series.c.period == period).with_for_update()).scalar_one()

    def save(self) -> None:
        """Write the counters that moved (the rows are this transaction's until it ends)."""
        for (series, period), last in self._last.items():
            if last != self._stored[(series, period)]:
                self.conn.execute(number_series.update().where(
                    number_series.c.series == series, number_series.c.period == period).values(last=last))
            self._stored[(series, period)] = last
