"""The deployment's business numbers: every rule that is a number is configurable.

Defaults are the seeds' (DOMAIN.md): response times by ring road and urgency (002 §4.2.5,
004 §19, 001 §3.2.2), complaint deadlines (004), the parts-sale approval threshold
(000), the site allowance, who approves (a leader: 001 §3.4, 003, 000) and who approves a
stocktake (003). Override any of them with the app's ``DOMAIN`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from sync.entities import REGISTRY
from sync.registry import ROLES

__all__ = ["DomainConfig", "from_mapping", "DEFAULT_APPROVERS"]

#: who approves and pays where the deployment says nothing: the department manager
DEFAULT_APPROVERS = frozenset({"manager"})


def _default_sla() -> dict[str, dict[str, float]]:
    return {
        "ring1": {"emergency": 2, "normal": 6},
        "ring2": {"emergency": 3, "normal": 6},
        "ring3": {"emergency": 4, "normal": 7},
        "nearby": {"emergency": 6, "normal": 24},
        # 004 §19: city jobs within 6 working hours, suburbs 7 (see working_hour_zones)
        "city": {"emergency": 6, "normal": 6},
        "suburb": {"emergency": 7, "normal": 7},
    }


def _default_completion_report() -> dict[str, tuple[str, ...]]:
    """What a ticket is completed with, by category (A paid, B contract, C warranty: field
    work, with an arrival; D internal work: no customer's site to arrive at)."""
    field_work = ("diagnosis", "actions", "result", "arrived_at")
    return {"A": field_work, "B": field_work, "C": field_work, "D": ("diagnosis", "actions", "result")}


def _default_reports() -> dict[str, Any]:
    """Head office's figures (server/reports): targets, windows and bands.

    Targets are 001 §3.2.1's where it names one (timeliness ≥ 90 %, satisfaction ≥ 85 %,
    complaints of the service's fault < 3 %); the others are this deployment's to set.
    Each target is ``{"at_least": x}`` or ``{"below": x}``, a fraction. A day's records are
    late when received more than ``late_after_hours`` after the (local) day's end. The
    repeat-repair bands (001 §4) are ordered by ``up_to`` (the rate at the band's top,
    inclusive) with the points each deducts.
    """
    return {
        "targets": {
            "timeliness": {"at_least": 0.90},
            "satisfaction": {"at_least": 0.85},
            "complaint_rate": {"below": 0.03},
            "completion_7d": {"at_least": 0.90},
            "repeat_repair": {"below": 0.10},
            "first_time_fix": {"at_least": 0.80},
        },
        "late_after_hours": 24,
        "completion_days": 7,
        "repeat_window_days": 30,
        #: a follow-up item at this level or above is a satisfied answer (levels 1 … 4)
        "satisfied_level": 3,
        #: an open consumption older than this is a parts-ledger fault of its holder
        "consumption_max_age_days": 30,
        "repeat_bands": [
            {"up_to": 0.10, "deduction": 0},
            {"up_to": 0.20, "deduction": 2},
            {"up_to": 0.30, "deduction": 5},
            {"up_to": 1.00, "deduction": 10},
        ],
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
    #: the minimum service report a ticket is completed with, by service category: ticket
    #: fields that must be filled (``arrived_at`` is also met by an ``arrived`` work log)
    completion_report: Mapping[str, Any] = field(default_factory=_default_completion_report)
    #: the roles that approve and pay, by entity (requisition, expense_claim, charge);
    #: an entity not named: DEFAULT_APPROVERS. Nobody decides on what they claim or wrote.
    approvers: Mapping[str, Any] = field(default_factory=dict)
    # -- response deadlines and SLA state (server.domain.sla) --
    #: zones whose response hours are working hours on the calendar below (004 §19)
    working_hour_zones: tuple[str, ...] = ("city", "suburb")
    #: the working calendar in local time: ISO weekdays (1 Monday … 7 Sunday) and the
    #: working day's hours ("HH:MM", start before end)
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    working_day_hours: tuple[str, str] = ("09:00", "17:00")
    #: working days off (法定节假日) and rest days worked (调休上班), ISO dates
    holidays: tuple[str, ...] = ()
    extra_working_days: tuple[str, ...] = ()
    #: 000: every repair request is answered within this many hours (calendar hours)
    answer_within_hours: float = 24
    #: an open ticket is at risk when less than this fraction of its window is left
    sla_at_risk_fraction: float = 0.25
    #: head office's figures: see :func:`_default_reports`; a deployment's mapping is laid
    #: over the defaults key by key (``targets`` figure by figure)
    reports: Mapping[str, Any] = field(default_factory=_default_reports)
    _approvers: dict = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        resolved = {name: frozenset(roles) for name, roles in dict(self.approvers).items()}
        unknown = set().union(*resolved.values()) - ROLES if resolved else set()
        if unknown:
            raise ValueError(f"approvers: unknown roles {sorted(unknown)}")
        object.__setattr__(self, "_approvers", resolved)
        may_approve = REGISTRY.get("stock_count").field("approved").owners
        if barred := sorted(set(self.stocktake_approvers) - may_approve):
            raise ValueError(f"stocktake_approvers: {barred} may not write a count's approval "
                             f"(stock_count.approved is written by {sorted(may_approve)})")
        _check_reports(self.reports)

    def report_setting(self, name: str) -> Any:
        """One of the reports' settings, the deployment's where it set one."""
        defaults = _default_reports()
        value = dict(self.reports).get(name, defaults[name])
        if name == "targets":
            value = defaults["targets"] | dict(value)
        return value

    def completion_report_of(self, category: str | None) -> tuple[str, ...]:
        """The ticket fields a ticket of ``category`` is completed with (field work's
        when the category is not known yet)."""
        report = self.completion_report
        return tuple(report.get(category) or report.get("A") or _default_completion_report()["A"])

    def approvers_of(self, entity: str) -> frozenset[str]:
        """The roles that approve and pay the entity's records."""
        return self._approvers.get(entity, DEFAULT_APPROVERS)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _check_reports(reports: Mapping[str, Any]) -> None:
    """The reports' settings make sense, or ``ValueError`` naming the one that does not."""
    defaults = _default_reports()
    unknown = set(dict(reports)) - set(defaults)
    if unknown:
        raise ValueError(f"DOMAIN reports: unknown settings {sorted(unknown)}")
    merged = defaults | dict(reports)
    targets = merged["targets"]
    if not isinstance(targets, Mapping) or set(targets) - set(defaults["targets"]):
        raise ValueError(f"DOMAIN reports.targets: figures among {sorted(defaults['targets'])}")
    for name, rule in targets.items():
        if not (isinstance(rule, Mapping) and len(rule) == 1 and set(rule) <= {"at_least", "below"}
                and _number(next(iter(rule.values()))) and 0 <= next(iter(rule.values())) <= 1):
            raise ValueError(f'DOMAIN reports.targets.{name}: {{"at_least": fraction}} or {{"below": fraction}}')
    for name in ("late_after_hours", "completion_days", "repeat_window_days", "consumption_max_age_days"):
        if not _number(merged[name]) or not 0 <= merged[name] <= 100_000:
            raise ValueError(f"DOMAIN reports.{name}: a number from 0 to 100000")
    if merged["satisfied_level"] not in (1, 2, 3, 4) or isinstance(merged["satisfied_level"], bool):
        raise ValueError("DOMAIN reports.satisfied_level: a level from 1 to 4")
    bands = merged["repeat_bands"]
    if not (isinstance(bands, (list, tuple)) and bands and all(
            isinstance(b, Mapping) and _number(b.get("up_to")) and 0 < b["up_to"] <= 1 and _number(b.get("deduction"))
            for b in bands) and max(b["up_to"] for b in bands) == 1):
        raise ValueError('DOMAIN reports.repeat_bands: [{"up_to": fraction, "deduction": points}, ...], the last '
                         'up to 1')


def from_mapping(values: Mapping[str, Any] | None) -> DomainConfig:
    if not values:
        return DomainConfig()
    return replace(DomainConfig(), **dict(values))
