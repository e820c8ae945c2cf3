"""Human numbers by year-month and serial (004: 年度月份流水编号): T2611-00042, C2611-007.

Handed out by the server on first sync, inside the push transaction that appends to
the log (serialised), so two devices never get the same number.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..tables import number_series

__all__ = ["next_number", "SERIES"]

#: series letter → digits of the serial
SERIES = {"T": 5, "C": 3}


def next_number(conn: sa.Connection, series: str, when_ms: int, utc_offset_hours: int) -> str:
    local = datetime.fromtimestamp(when_ms / 1000, timezone.utc) + timedelta(hours=utc_offset_hours)
    period = local.strftime("%y%m")
    row = conn.execute(
        sa.select(number_series.c.last).where(number_series.c.series == series, number_series.c.period == period)
    ).first()
    if row is None:
        serial = 1
        conn.execute(number_series.insert().values(series=series, period=period, last=serial))
    else:
        serial = row.last + 1
        conn.execute(
            number_series.update()
            .where(number_series.c.series == series, number_series.c.period == period)
            .values(last=serial)
        )
    return f"{series}{period}-{serial:0{SERIES[series]}d}"
