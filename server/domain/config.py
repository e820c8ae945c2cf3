"""The deployment's business numbers: every rule that is a number is configurable.

Defaults are the seeds' (DOMAIN.md): response times by ring road and urgency (002 §4.2.5,
004 §19, 001 §3.2.2), complaint deadlines (004), the parts-sale approval threshold
(000), who approves a stocktake (003), the site allowance. Override any of them with the
app's ``DOMAIN`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

__all__ = ["DomainConfig", "from_mapping"]


def _default_sla() -> dict[str, dict[str, float]]:
    return {
        "ring1": {"emergency": 2, "normal": 6},
        "ring2": {"emergency": 3, "normal": 6},
        "ring3": {"emergency": 4, "normal": 7},
        "nearby": {"emergency": 6, "normal": 24},
    }


@dataclass(frozen=True)
class DomainConfig:
    #: hours from the call to arrival, by zone and urgency
    sla_hours: dict[str, dict[str, float]] = field(default_factory=_default_sla)
    #: zones not in the table (far cities, other provinces) without contract terms
    default_response_hours: float = 24
    complaint_days_domestic: int = 13
    complaint_days_abroad: int = 17
    #: a part sold to a customer above this (yuan) needs the manager's approval
    part_sale_approval_above: float = 500
    #: the roles that approve a depot's stocktake (the depot keeper's leader), whose
    #: differences the server then posts to the ledger
    stocktake_approvers: tuple[str, ...] = ("manager",)
    site_allowance_per_day: float = 100
    #: the offset of local time for human numbers' year-month (China: +8)
    local_utc_offset_hours: int = 8
    #: a device clock further off than this is flagged (its device times are suspect)
    credible_skew_ms: int = 5 * 60 * 1000
    #: a device clock measured within this of the server's is taken as right (the
    #: measurement holds the request's time on the wire: see server.clocks)
    clock_tolerance_ms: int = 10 * 1000


def from_mapping(values: Mapping[str, Any] | None) -> DomainConfig:
    if not values:
        return DomainConfig()
    return replace(DomainConfig(), **dict(values))
