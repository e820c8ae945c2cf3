"""Driving the console with Flask's test client: passwords, signing in, forms' CSRF tokens."""

from __future__ import annotations

import re

import sqlalchemy as sa

from server.console.accounts import set_password

__all__ = ["PASSWORDS", "give_passwords", "csrf_of", "sign_in"]

#: the console passwords of the conftest's office and depot people
PASSWORDS = {"u-desk": "前台的密码不要告诉别人", "u-manager": "经理的密码也很长很长", "u-depot": "仓库管理员的密码很长"}

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def give_passwords(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for user_id, password in PASSWORDS.items():
            set_password(conn, user_id, password)


def csrf_of(html: str) -> str:
    return _TOKEN.search(html).group(1)


def sign_in(client, login: str, password: str | None = None, language: str = "zh-CN"):
    """Post the login form as a browser would (its CSRF token from the page); the answer."""
    page = client.get("/console/login", headers={"Accept-Language": language})
    return client.post("/console/login", data={"csrf_token": csrf_of(page.text), "login": login,
                                               "password": PASSWORDS.get(login) if password is None else password},
                       headers={"Accept-Language": language})
