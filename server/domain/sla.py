"""Response deadlines from zone × urgency × contract, all three being data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .config import DomainConfig

__all__ = ["response_hours", "deadline", "later"]


def response_hours(config: DomainConfig, zone: str | None, urgency: str | None, contract_hours: float | None) -> float:
    """The tighter of the zone's promise and the contract's; the default where neither says."""
    table = config.sla_hours.get(zone or "", {})
    zone_hours = table.get(urgency or "normal", table.get("normal"))
    candidates = [h for h in (zone_hours, contract_hours) if h]
    return min(candidates) if candidates else config.default_response_hours


def deadline(config: DomainConfig, reported_at: datetime, zone: str | None, urgency: str | None,
             contract_hours: float | None) -> datetime:
    return later(reported_at, response_hours(config, zone, urgency, contract_hours))


def later(moment: datetime, hours: float) -> datetime:
    """``moment`` plus ``hours``, held to the calendar's ends.

    A time field holds any instant of the years 1 to 9999, and a contract's response
    hours any number: a ticket reported on 31 December 9999, or a contract promising
    10^14 hours, gets the last instant there is (the first, going back) instead of
    failing the push that made it.
    """
    try:
        due = moment + timedelta(hours=hours)
        due.astimezone(timezone.utc)  # in UTC too: 23:00 on 31 December 9999 at -05:00 is past it
        return due
    except OverflowError:
        return (datetime.max if hours > 0 else datetime.min).replace(tzinfo=timezone.utc)
