"""The deployment's business numbers (``server.domain.config``): head office's defaults,
a deployment's ``DOMAIN`` laid over them, and settings that make no sense refused."""

from __future__ import annotations

import re

import pytest

from server.domain.config import DEFAULT_APPROVERS, DomainConfig, from_mapping

#: head office's figures where the deployment says nothing (001 §3.2.1, §4)
REPORT_DEFAULTS = {
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
    "satisfied_level": 3,
    "consumption_max_age_days": 30,
    "repeat_bands": [
        {"up_to": 0.10, "deduction": 0},
        {"up_to": 0.20, "deduction": 2},
        {"up_to": 0.30, "deduction": 5},
        {"up_to": 1.00, "deduction": 10},
    ],
}
FIELD_WORK = ("diagnosis", "actions", "result", "arrived_at")


def test_a_deployment_that_sets_only_its_satisfaction_target_keeps_head_offices_other_targets():
    config = from_mapping({"reports": {"targets": {"satisfaction": {"at_least": 0.9}}, "satisfied_level": 4}})
    assert config.report_setting("targets") == {**REPORT_DEFAULTS["targets"], "satisfaction": {"at_least": 0.9}}
    assert (config.report_setting("satisfied_level"), config.report_setting("late_after_hours")) == (4, 24)
    assert from_mapping(None) == from_mapping({}) == DomainConfig()


def test_a_deployment_that_says_nothing_runs_on_the_seeds_numbers():
    config = from_mapping(None)
    assert config.sla_hours == {
        "ring1": {"emergency": 2, "normal": 6},
        "ring2": {"emergency": 3, "normal": 6},
        "ring3": {"emergency": 4, "normal": 7},
        "nearby": {"emergency": 6, "normal": 24},
        "city": {"emergency": 6, "normal": 6},
        "suburb": {"emergency": 7, "normal": 7},
    }
    assert dict(config.completion_report) == {"A": FIELD_WORK, "B": FIELD_WORK, "C": FIELD_WORK,
                                              "D": ("diagnosis", "actions", "result")}
    assert {name: config.report_setting(name) for name in REPORT_DEFAULTS} == REPORT_DEFAULTS
    assert dict(config.reports) == REPORT_DEFAULTS
    assert (config.default_response_hours, config.complaint_days_domestic, config.complaint_days_abroad,
            config.part_sale_approval_above, config.local_utc_offset_hours) == (24, 13, 17, 500, 8)
    assert {entity: config.approvers_of(entity) for entity in ("requisition", "expense_claim", "charge")} == {
        "requisition": frozenset({"manager"}), "expense_claim": frozenset({"manager"}),
        "charge": frozenset({"manager"})}
    assert DEFAULT_APPROVERS == frozenset({"manager"})


def test_a_deployment_where_the_desk_also_approves_requisitions_leaves_expense_claims_to_the_manager():
    config = from_mapping({"approvers": {"requisition": ["desk", "manager"], "charge": ()}})
    assert (config.approvers_of("requisition"), config.approvers_of("charge"), config.approvers_of("expense_claim")) \
        == (frozenset({"desk", "manager"}), frozenset(), frozenset({"manager"}))
    assert config.approvers == {"requisition": ["desk", "manager"], "charge": ()}  # as the deployment wrote it


@pytest.mark.parametrize(("approvers", "message"), [
    ({"requisition": ["manager", "老板"]}, "approvers: unknown roles ['老板']"),
    ({"requisition": ["boss"], "expense_claim": ["cashier", "manager"]}, "approvers: unknown roles ['boss', 'cashier']"),
])
def test_a_deployment_naming_a_role_fieldsync_does_not_have_as_approver_fails_at_start(approvers, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        from_mapping({"approvers": approvers})


@pytest.mark.parametrize("approvers", [["manager", "depot"], ["engineer"]])
def test_a_deployment_letting_a_role_that_cannot_write_a_counts_approval_approve_counts_fails_at_start(approvers):
    """Field ownership lets only the office write ``stock_count.approved``: a depot keeper
    named approver would have every approval refused, so the deployment is told at start."""
    with pytest.raises(ValueError, match=r"^stocktake_approvers: \['(depot|engineer)'\] may not write a count's "):
        from_mapping({"stocktake_approvers": approvers})
    assert tuple(from_mapping({"stocktake_approvers": ["desk", "manager"]}).stocktake_approvers) == ("desk", "manager")


@pytest.mark.parametrize(("report", "category", "fields"), [
    pytest.param(None, "D", ("diagnosis", "actions", "result"), id="internal work: no arrival"),
    pytest.param(None, "C", FIELD_WORK, id="warranty: field work"),
    pytest.param(None, None, FIELD_WORK, id="category not known yet: field work's"),
    pytest.param(None, "Z", FIELD_WORK, id="a category the deployment has no report for: field work's"),
    pytest.param({"A": ["diagnosis", "result"], "D": []}, "D", ("diagnosis", "result"),
                 id="an empty report for D: the deployment's A"),
    pytest.param({"B": ["diagnosis"]}, "C", FIELD_WORK, id="no report for C nor A: the seeds' A"),
    pytest.param({"B": ["diagnosis"]}, "B", ("diagnosis",), id="the deployment's B, a tuple"),
])
def test_a_ticket_is_completed_with_its_categorys_report_or_field_works(report, category, fields):
    config = from_mapping({"completion_report": report} if report is not None else None)
    assert config.completion_report_of(category) == fields


@pytest.mark.parametrize("reports", [
    pytest.param({"targets": {"timeliness": {"at_least": 0}, "complaint_rate": {"below": 1}}}, id="targets 0 and 1"),
    pytest.param({"targets": {"satisfaction": {"at_least": 1.0}}}, id="a target of 100 %"),
    pytest.param({"late_after_hours": 0, "completion_days": 100_000, "repeat_window_days": 7.5,
                  "consumption_max_age_days": 0.0}, id="numbers at both ends, fractions"),
    pytest.param({"satisfied_level": 1}, id="level 1"),
    pytest.param({"satisfied_level": 2}, id="level 2"),
    pytest.param({"satisfied_level": 4}, id="level 4"),
    pytest.param({"repeat_bands": ({"up_to": 1, "deduction": 0},)}, id="one band up to 1, a tuple"),
    pytest.param({"repeat_bands": [{"up_to": 1.0, "deduction": 10}, {"up_to": 0.5, "deduction": 0}]},
                 id="bands out of order, the top one first"),
])
def test_report_settings_at_the_edges_of_what_makes_sense_are_taken(reports):
    config = from_mapping({"reports": reports})
    assert {name: config.report_setting(name) for name in reports if name != "targets"} == {
        name: value for name, value in reports.items() if name != "targets"}


TARGET = 'DOMAIN reports.targets.{}: {{"at_least": fraction}} or {{"below": fraction}}'
NUMBER = "DOMAIN reports.{}: a number from 0 to 100000"
BANDS = 'DOMAIN reports.repeat_bands: [{"up_to": fraction, "deduction": points}, ...], the last up to 1'
FIGURES = ("DOMAIN reports.targets: figures among ['complaint_rate', 'completion_7d', 'first_time_fix', "
           "'repeat_repair', 'satisfaction', 'timeliness']")


@pytest.mark.parametrize(("reports", "message"), [
    ({"late_after_hour": 12, "targetz": {}}, "DOMAIN reports: unknown settings ['late_after_hour', 'targetz']"),
    ({"targets": [["timeliness", 0.9]]}, FIGURES),
    ({"targets": {"timeliness": {"at_least": 0.9}, "首次修复率": {"at_least": 0.8}}}, FIGURES),
    ({"targets": {"satisfaction": 0.85}}, TARGET.format("satisfaction")),
    ({"targets": {"satisfaction": {}}}, TARGET.format("satisfaction")),
    ({"targets": {"satisfaction": {"at_least": 0.8, "below": 0.95}}}, TARGET.format("satisfaction")),
    ({"targets": {"complaint_rate": {"above": 0.03}}}, TARGET.format("complaint_rate")),
    ({"targets": {"complaint_rate": {"below": "3%"}}}, TARGET.format("complaint_rate")),
    ({"targets": {"complaint_rate": {"below": True}}}, TARGET.format("complaint_rate")),
    ({"targets": {"complaint_rate": {"below": float("nan")}}}, TARGET.format("complaint_rate")),
    ({"targets": {"timeliness": {"at_least": 90}}}, TARGET.format("timeliness")),
    ({"targets": {"timeliness": {"at_least": 1.01}}}, TARGET.format("timeliness")),
    ({"targets": {"timeliness": {"at_least": -0.01}}}, TARGET.format("timeliness")),
    ({"late_after_hours": -1}, NUMBER.format("late_after_hours")),
    ({"completion_days": 100_001}, NUMBER.format("completion_days")),
    ({"repeat_window_days": "30"}, NUMBER.format("repeat_window_days")),
    ({"consumption_max_age_days": True}, NUMBER.format("consumption_max_age_days")),
    ({"consumption_max_age_days": float("nan")}, NUMBER.format("consumption_max_age_days")),
    ({"satisfied_level": 0}, "DOMAIN reports.satisfied_level: a level from 1 to 4"),
    ({"satisfied_level": 5}, "DOMAIN reports.satisfied_level: a level from 1 to 4"),
    ({"satisfied_level": True}, "DOMAIN reports.satisfied_level: a level from 1 to 4"),
    ({"repeat_bands": []}, BANDS),
    ({"repeat_bands": {"up_to": 1, "deduction": 0}}, BANDS),
    ({"repeat_bands": [{"up_to": 0.5, "deduction": 0}]}, BANDS),
    ({"repeat_bands": [{"up_to": 0.5, "deduction": 0}, [1, 10]]}, BANDS),
    ({"repeat_bands": [{"up_to": 0, "deduction": 0}, {"up_to": 1, "deduction": 10}]}, BANDS),
    ({"repeat_bands": [{"up_to": 1.5, "deduction": 10}, {"up_to": 1, "deduction": 5}]}, BANDS),
    ({"repeat_bands": [{"deduction": 0}, {"up_to": 1, "deduction": 10}]}, BANDS),
    ({"repeat_bands": [{"up_to": "10%", "deduction": 0}, {"up_to": 1, "deduction": 10}]}, BANDS),
    ({"repeat_bands": [{"up_to": 1}]}, BANDS),
    ({"repeat_bands": [{"up_to": 1, "deduction": "十分"}]}, BANDS),
])
def test_a_deployment_whose_report_setting_makes_no_sense_fails_at_start_naming_it(reports, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        from_mapping({"reports": reports})
