"""The benchmarks' realistic data and the report benchmark's loader, at a test's size.

What the figures in bench/RESULTS.md rest on: rows that look like what devices send
(ids as the engine mints them, Chinese text, references that hold together, the
server's own columns as the server would write them), and a head office loaded by
``COPY`` whose every report answers. No time is asserted here: speed lives in bench/.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from bench import dataset, office_load, reports
from bench.realistic import Generator
from sync.entities import SLA_STATES
from sync.ids import new_id
from sync.registry import REGISTRY
from sync.report import report_hash

SMALL_OFFICE = office_load.OfficeSize(tickets=200, movements=2_000)


def _office_rows(seed: int = 18) -> dict[str, list]:
    """The rows of a 200-ticket office, by entity, as the loader would write them."""
    generator = Generator(seed, ["u-e000", "u-e001"], depots=1)
    return {name: list(generator.rows(REGISTRY.get(name), count)) for name, count in SMALL_OFFICE.shape()}


def _layout(text: str) -> tuple[int, str]:
    parsed = uuid.UUID(text)
    return parsed.version, parsed.variant


def test_ids_are_uuid7_laid_out_as_the_engine_mints_them_with_the_row_birth_as_their_time():
    rows = _office_rows()
    minted = new_id()
    for made in rows.values():
        for row in made[:20]:
            assert _layout(row.id) == _layout(minted) == (7, uuid.RFC_4122)
            assert str(uuid.UUID(row.id)) == row.id
            # born when it was first written: a ticket at the call, its last change later
            assert int(row.id.replace("-", "")[:12], 16) <= row.at_ms
    work_log = rows["work_log"][0]
    assert int(work_log.id.replace("-", "")[:12], 16) == work_log.at_ms


def test_the_same_seed_gives_the_same_office_and_another_seed_shares_no_id():
    first, again, other = _office_rows(18), _office_rows(18), _office_rows(19)
    assert [r.id for r in first["ticket"]] == [r.id for r in again["ticket"]]
    assert [r.data for r in first["stock_movement"]] == [r.data for r in again["stock_movement"]]
    assert not {r.id for rows in first.values() for r in rows} & {r.id for rows in other.values() for r in rows}


def test_customers_faults_and_diagnoses_are_chinese_text_of_the_lengths_people_type():
    rows = _office_rows()
    customer = rows["customer"][0].data
    assert customer["name"].endswith(("公司", "医院", "中学", "小学", "学院", "办事处", "分局", "税务局", "图书馆", "中心",
                                      "客运站", "支行"))
    assert any(customer["address"].startswith(p) for p in ("北京市", "天津市", "上海市")) or "省" in customer["address"]
    faults = [r.data["fault_description"] for r in rows["ticket"]]
    diagnoses = [r.data["diagnosis"] for r in rows["ticket"] if r.data["diagnosis"]]
    assert all(10 <= len(f) <= 300 for f in faults)
    assert sum(map(len, faults)) / len(faults) > 30
    assert all(d.startswith("经检查，") and d.endswith("。") for d in diagnoses)
    assert len(set(faults)) > 0.9 * len(faults)


def test_references_hold_together_from_customer_to_equipment_to_ticket_to_work_log_and_movement():
    rows = _office_rows()
    ids = {name: {r.id for r in made} for name, made in rows.items()}
    equipment_owner = {r.id: r.data["customer_id"] for r in rows["equipment"]}
    for ticket in rows["ticket"]:
        assert equipment_owner[ticket.data["equipment_id"]] == ticket.data["customer_id"]
    assert all(r.data["ticket_id"] in ids["ticket"] for r in rows["work_log"])
    assert all(r.data["part_id"] in ids["part"] for r in rows["stock_movement"])
    consumed = [r for r in rows["stock_movement"] if r.data["kind"] == "consume"]
    assert consumed and all(r.data["ticket_id"] in ids["ticket"] for r in consumed)
    # a returnable part consumed expects its old part back under the consumption's own id
    assert ids["old_part_return"] <= {r.id for r in consumed}
    for back in (r for r in rows["stock_movement"] if r.data["kind"].startswith("old_part_")):
        assert back.data["return_id"] in ids["old_part_return"]
    # a few customers own most of the equipment
    per_customer = Counter(equipment_owner.values()).most_common()
    assert per_customer[0][1] >= 5 * (len(rows["equipment"]) / len(rows["customer"]))


def test_a_current_signature_binds_the_report_as_the_server_would_compute_it():
    rows = _office_rows()
    tickets = {r.id: r.data for r in rows["ticket"]}
    consumed: dict[str, list[dict]] = {}
    for movement in rows["stock_movement"]:
        if movement.data["kind"] == "consume":
            consumed.setdefault(movement.data["ticket_id"], []).append(movement.data)
    current = [s.data for s in rows["signature"] if not s.data["stale"]]
    stale = [s.data for s in rows["signature"] if s.data["stale"]]
    assert current and stale
    for signature in current:
        ticket_id = signature["ticket_id"]
        assert signature["report_hash"] == report_hash(ticket_id, tickets[ticket_id], consumed.get(ticket_id, []))
        assert tickets[ticket_id]["status"] in ("signed", "closed")


def test_ticket_numbers_are_unique_and_sla_states_are_the_servers():
    tickets = [r.data for r in _office_rows()["ticket"]]
    assert len({t["number"] for t in tickets}) == len(tickets)
    assert {t["sla_state"] for t in tickets} <= set(SLA_STATES) | {None}
    assert {t["sla_state"] for t in tickets if t["status"] == "closed"} <= {"met", "missed"}


def test_an_engineers_scope_holds_only_customers_and_equipment_of_his_tickets():
    shape = dataset.Shape(counts=(("part", 30), ("customer", 10), ("equipment", 20), ("ticket", 40), ("work_log", None),
                                  ("stock_location", 1), ("stock_movement", 100)))
    data = dataset.build(shape, "u-wang")
    by_name = {r.entity.name: r for r in data.rows}
    tickets = by_name["ticket"].data
    assert {t["customer_id"] for t in tickets} == set(by_name["customer"].ids)
    assert {t["equipment_id"] for t in tickets} == set(by_name["equipment"].ids)
    assert {t["assignee_id"] for t in tickets} == {"u-wang"}
    van = by_name["stock_location"].ids[0]
    assert len(by_name["stock_movement"].ids) == 100
    assert all(van in (m["from_location_id"], m["to_location_id"]) for m in by_name["stock_movement"].data)


@pytest.fixture
def office_url(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("the office is loaded by PostgreSQL's COPY")
    return database_url


def test_office_loaded_by_copy_holds_every_row_and_every_report_answers(office_url):
    engine = sa.create_engine(office_url)
    try:
        loaded = office_load.fill(engine, SMALL_OFFICE)
        with engine.connect() as conn:
            for name, count in loaded.counts.items():
                assert conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one() == count
            missing = conn.execute(sa.text(
                "SELECT count(*) FROM signature s LEFT JOIN blobs b ON b.sha256 = s.blob_sha256 WHERE b.sha256 IS NULL"
            )).scalar_one()
            late = conn.execute(sa.text(
                "SELECT count(*) FROM work_log WHERE created_at > device_time + interval '1 day'")).scalar_one()
            engineers = conn.execute(sa.text("SELECT count(*) FROM users WHERE role = 'engineer'")).scalar_one()
            # what the triggers keep, filled after the load: as the movements and the rule say
            unbalanced = conn.execute(sa.text(
                "SELECT count(*) FROM (SELECT location_id, part_id, condition, sum(qty) AS qty FROM ("
                " SELECT to_location_id AS location_id, part_id, coalesce(condition, 'new') AS condition, qty"
                " FROM stock_movement WHERE NOT deleted AND to_location_id IS NOT NULL UNION ALL"
                " SELECT from_location_id, part_id, coalesce(condition, 'new'), -qty"
                " FROM stock_movement WHERE NOT deleted AND from_location_id IS NOT NULL) AS sides"
                " GROUP BY location_id, part_id, condition) AS summed"
                " FULL JOIN stock_balance b USING (location_id, part_id, condition)"
                " WHERE abs(coalesce(summed.qty, 0) - coalesce(b.qty, 0)) > 1e-6")).scalar_one()
            balances = conn.execute(sa.text("SELECT count(*) FROM stock_balance")).scalar_one()
            stored_open = conn.execute(sa.text("SELECT count(*) FROM open_consumption")).scalar_one()
            consumed = conn.execute(sa.text("SELECT count(*) FROM stock_movement WHERE kind = 'consume'")).scalar_one()
    finally:
        engine.dispose()
    assert loaded.counts["ticket"] == 200 and loaded.counts["stock_movement"] == 2_000
    assert loaded.counts["work_log"] > 2 * 200 and loaded.counts["signature"] > 100
    assert loaded.counts["blobs"] == loaded.counts["signature"] and missing == 0
    assert late > 0  # some records arrived days late, from a device that was offline
    assert engineers == SMALL_OFFICE.engineers == 2
    assert balances > 0 and unbalanced == 0
    assert 0 < stored_open < consumed  # some consumptions closed by a signature and their old part back
    timings = reports.time_reports(office_url, runs=1)
    present = {name: status for name, (_ms, status, _size) in timings.items() if status is not None}
    assert present == dict.fromkeys(present, 200)
    assert {"SLA list (office API), first page", "parts reconciliation (depot API), first page"} <= set(present)
