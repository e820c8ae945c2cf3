"""What a write does to other fields and rows in the same push
(:mod:`server.domain.effects`): numbers, categories, deadlines, allowances, stale
signatures, the desk told of work kept after a reassignment."""

from __future__ import annotations

from tests.test_domain_checks import Pusher, refusal, stored


def test_王伟s_site_days_set_his_claims_allowance_at_the_daily_rate(client, people, engine):
    wang = Pusher(client, people["wang"])
    result = wang.one("expense_claim", "ex-trip", "insert", {
        "engineer_id": people["wang"].user_id, "kind": "claim", "amount": 360.0, "site_days": 3.5,
        "description": "天津滨海新区 华信印刷厂 三天半"})
    assert refusal(result) == ("applied",)
    assert stored(engine, "expense_claim", "ex-trip")["allowance"] == 350.0
