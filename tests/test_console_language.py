"""The console in Chinese and English: the browser's wish, the switch, and a catalog
that is complete and compiled as committed."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.console import refusals
from server.console.language import CATALOG
from server.entity_reference import rejection_codes
from tests.console_pages import csrf_of, give_passwords, sign_in

ROOT = Path(__file__).resolve().parent.parent


def _catalog():
    with CATALOG.open("rb") as source:
        return read_po(source)


def test_the_committed_mo_is_the_po_compiled():
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert CATALOG.with_suffix(".mo").read_bytes() == compiled.getvalue(), \
        "run `pybabel compile -d server/translations -l zh` and commit messages.mo"


def test_every_text_the_console_shows_has_its_chinese():
    method_map = [("server/console/**.py", "python"), ("server/templates/console/**.html", "jinja2")]
    used = {message[2] if isinstance(message[2], str) else message[2][0]
            for message in extract_from_dir(str(ROOT), method_map, keywords={"_": None, "gettext": None,
                                                                             "lazy_gettext": None,
                                                                             "ngettext": (1, 2)})}
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in _catalog() if m.id}
    assert "Ticket board" in used
    assert sorted(used - {k for k, v in translated.items() if v and (v if isinstance(v, str) else v[0])}) == []


def test_every_refusal_a_rule_can_make_has_words_on_the_console_pages():
    """A clerk never reads a rule's English message inside a Chinese sentence."""
    codes = {code for where in rejection_codes().values() for code in where}
    assert {"over_issue", "not_signed", "own_approval", "invalid_value"} <= codes
    assert sorted(codes - set(refusals.WORDS)) == []


def test_a_refusal_is_said_in_chinese_with_its_code_and_an_unknown_code_keeps_the_rules_message(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert refusals.refused_text("over_issue", "issue exceeds") == "已拒绝：超出批准后可发的数量（over_issue）。"
        assert refusals.said("a_newer_servers_code", "ticket: 工单已关闭") == "ticket: 工单已关闭"


def test_a_browser_asking_for_chinese_gets_chinese_and_others_english(app):
    client = app.test_client()
    chinese = client.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录控制台" in chinese.text and '<html lang="zh-CN">' in chinese.text
    taiwan = client.get("/console/login", headers={"Accept-Language": "zh-TW"})
    assert "登录控制台" in taiwan.text
    english = client.get("/console/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in to the console" in english.text
    french = client.get("/console/login", headers={"Accept-Language": "fr-FR"})
    assert "Sign in to the console" in french.text


def test_the_switch_keeps_the_chosen_language_whatever_the_browser_asks(app, people):
    give_passwords(app.extensions["fieldsync"].engine)
    client = app.test_client()
    sign_in(client, "u-desk", language="zh-CN")
    board = client.get("/console/tickets?status=late", headers={"Accept-Language": "zh-CN"})
    assert "工单看板" in board.text
    switched = client.post("/console/language", data={"csrf_token": csrf_of(board.text), "language": "en",
                                                      "next": "/console/tickets?status=late"})
    assert switched.location == "/console/tickets?status=late"
    again = client.get("/console/tickets", headers={"Accept-Language": "zh-CN"})
    assert "Ticket board" in again.text and "工单看板" not in again.text


def test_the_language_switch_without_csrf_is_refused(app):
    client = app.test_client()
    assert client.post("/console/language", data={"language": "en"}).status_code == 400
