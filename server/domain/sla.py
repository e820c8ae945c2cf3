"""Response deadlines from zone × urgency × contract, all three being data."""

from __future__ import annotations

from datetime import datetime, timedelta

from .config import DomainConfig

__all__ = ["response_hours", "deadline"]


def response_hours(config: DomainConfig, zone: str | None, urgency: str | None, contract_hours: float | None) -> float:
    """The tighter of the zone's promise and the contract's; the default where neither says."""
    table = config.sla_hours.get(zone or "", {})
    zone_hours = table.get(urgency or "normal", table.get("normal"))
    candidates = [h for h in (zone_hours, contract_hours) if h]
    return min(candidates) if candidates else config.default_response_hours


def deadline(config: DomainConfig, reported_at: datetime, zone: str | None, urgency: str | None,
             contract_hours: float | None) -> datetime:
    return reported_at + timedelta(hours=response_hours(config, zone, urgency, contract_hours))
