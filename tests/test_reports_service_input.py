"""Who may read head office's reports, and what a report does with filters it cannot take:
403 for the field and the depot, 422 with a stable code for every bad value, never 500."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import auth_header

REPORTS = ("daily", "sla-board", "quality", "appraisal")
DATED = ("daily", "quality", "appraisal")
PAGED = ("daily", "sla-board", "appraisal")


def get(client, person, name, **params):
    return client.get(f"/v1/office/reports/{name}", query_string=params, headers=auth_header(person))


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("role", ["wang", "depot"])
def test_an_engineer_or_a_depot_keeper_asking_for_head_offices_report_is_refused(client, people, name, role):
    answer = get(client, people[role], name)
    assert answer.status_code == 403 and answer.json["code"] == "forbidden"
    assert get(client, people[role], name, format="csv").status_code == 403


@pytest.mark.parametrize("name", REPORTS)
def test_no_token_is_401_and_the_desk_and_manager_read_an_empty_report(client, people, name):
    assert client.get(f"/v1/office/reports/{name}").status_code == 401
    for who in ("desk", "manager"):
        answer = get(client, people[who], name)
        assert answer.status_code == 200, answer.json
        assert answer.json["next"] is None and [c["key"] for c in answer.json["columns"]]


@pytest.mark.parametrize("name", DATED)
@pytest.mark.parametrize("params, field", [
    ({"from": "２０２６-11-01"}, "from"),  # full-width digits
    ({"from": "2026-1١-01"}, "from"),  # an Arabic-Indic digit
    ({"to": "10000-01-01"}, "to"),
    ({"from": "1969-12-31"}, "from"),
    ({"from": "2026-02-30"}, "from"),
    ({"from": "2026-11-1"}, "from"),
    ({"from": ""}, "from"),
    ({"from": "2026-11-23T00:00:00"}, "from"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
    ({"engineer": "王伟"}, "engineer"),
    ({"engineer": "x" * 65}, "engineer"),
    ({"depot": ""}, "depot"),
    ({"month": "2026-11"}, "month"),
])
def test_a_bad_date_or_filter_is_invalid_filter(client, people, name, params, field):
    answer = get(client, people["manager"], name, **params)
    assert answer.status_code == 422, answer.json
    assert (answer.json["code"], answer.json["field"]) == ("invalid_filter", field)


@pytest.mark.parametrize("name, longest", [("daily", 92), ("quality", 366), ("appraisal", 366)])
def test_a_range_longer_than_the_reports_cap_is_refused_saying_the_cap(client, people, name, longest):
    answer = get(client, people["desk"], name, **{"from": "2025-01-01", "to": "2026-12-31"})
    assert answer.status_code == 422
    assert answer.json["code"] == "range_too_long" and answer.json["details"]["max_days"] == longest
    assert get(client, people["desk"], name, **{"from": "2026-01-01", "to": "2026-12-31"}).status_code == (
        200 if longest == 366 else 422)
    # only a start: the range runs to today or the cap, whichever is sooner; the calendar's ends hold
    assert get(client, people["desk"], name, **{"from": "1970-01-01"}).status_code == 200
    assert get(client, people["desk"], name, **{"from": "9999-12-01", "to": "9999-12-31"}).status_code == 200
    assert get(client, people["desk"], name, **{"from": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize("name", PAGED)
@pytest.mark.parametrize("params", [
    {"limit": "５"}, {"limit": "0"}, {"limit": "5001"}, {"limit": "1" * 30}, {"limit": "-1"}, {"limit": "2.0"},
    {"cursor": "not a cursor"}, {"cursor": base64.urlsafe_b64encode(b'[1, "u-wang"]').decode()},
    {"cursor": "999999999999999999.u-wang"}, {"cursor": "1.王伟"}, {"cursor": "2026-11.u-wang.x" + "x" * 64},
    {"cursor": "A" * 401},
])
def test_a_bad_limit_or_cursor_is_refused(client, people, name, params):
    answer = get(client, people["desk"], name, **params)
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] in ("invalid", "invalid_filter")


def test_the_sla_board_takes_no_date_range_and_a_zone_is_a_name(client, people):
    assert get(client, people["desk"], "sla-board", **{"from": "2026-11-01"}).json["code"] == "invalid_filter"
    assert get(client, people["desk"], "sla-board", zone="市区").status_code == 200
    assert get(client, people["desk"], "sla-board", zone="x" * 51).json["field"] == "zone"
    assert get(client, people["desk"], "sla-board", zone="\x00").json["field"] == "zone"


def test_a_filter_given_twice_and_an_unknown_format_are_refused(client, people):
    answer = client.get("/v1/office/reports/daily?engineer=u-wang&engineer=u-chen", headers=auth_header(people["desk"]))
    assert (answer.status_code, answer.json["field"]) == (422, "engineer")
    assert get(client, people["desk"], "quality", format="xlsx").status_code == 422


@pytest.mark.parametrize("reports", [
    {"targets": {"timeliness": {"above": 0.9}}},
    {"targets": {"speed": {"at_least": 0.9}}},
    {"targets": {"satisfaction": {"at_least": 85}}},
    {"late_after_hours": "24"},
    {"satisfied_level": 5},
    {"repeat_bands": []},
    {"repeat_bands": [{"up_to": 0.1, "deduction": 0}]},
    {"repeat_window": 30},
])
def test_a_deployment_whose_report_settings_make_no_sense_fails_at_start_naming_the_setting(database_url, reports):
    from server import create_app

    with pytest.raises(ValueError, match="DOMAIN reports"):
        create_app({"DATABASE_URL": database_url, "TESTING": True, "DOMAIN": {"reports": reports}})
