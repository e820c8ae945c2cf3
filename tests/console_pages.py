"""Driving the console with Flask's test client: passwords, signing in, forms' CSRF tokens."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import sqlalchemy as sa

from server.console.accounts import set_password
from server.tables import entity_table, users

__all__ = ["PASSWORDS", "give_passwords", "csrf_of", "sign_in", "signed_in", "plant_tickets"]

#: the console passwords of the conftest's office and depot people
PASSWORDS = {"u-desk": "前台的密码不要告诉别人", "u-manager": "经理的密码也很长很长", "u-depot": "仓库管理员的密码很长"}

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


#: (user id, password) → the hash :func:`set_password` stored the first time in this run
_HASHES: dict[tuple[str, str], str] = {}


def give_passwords(engine: sa.Engine, passwords: dict[str, str] = PASSWORDS) -> None:
    """Console passwords set (user id → password), as :func:`set_password` sets them.

    Each argon2 hash is made once per run and stored as it is after that: a hash costs a
    third of a second or more of a shared core, and the console's tests give passwords
    hundreds of times. Signing in still verifies the password against that real hash.
    """
    with engine.begin() as conn:
        for user_id, password in passwords.items():
            made = _HASHES.get((user_id, password))
            if made is None:
                set_password(conn, user_id, password)
                _HASHES[user_id, password] = conn.execute(
                    sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()
            else:
                conn.execute(users.update().where(users.c.id == user_id).values(
                    password_hash=made, failed_logins=0, failed_since=None, locked_until=None))


def csrf_of(html: str) -> str:
    return _TOKEN.search(html).group(1)


def sign_in(client, login: str, password: str | None = None, language: str = "zh-CN"):
    """Post the login form as a browser would (its CSRF token from the page); the answer."""
    page = client.get("/console/login", headers={"Accept-Language": language})
    return client.post("/console/login", data={"csrf_token": csrf_of(page.text), "login": login,
                                               "password": PASSWORDS.get(login) if password is None else password},
                       headers={"Accept-Language": language})


#: (login, password typed, password hash, cookie key) → the session cookie a sign-in through the form gave
_SESSIONS: dict[tuple[str, str, str, str], str] = {}


def signed_in(app, login: str, password: str | None = None):
    """A test client of ``app`` holding ``login``'s console session, as :func:`sign_in` leaves it.

    The first one per person signs in through the form; later ones, in later tests, get
    that session's cookie. A sign-in verifies an argon2 hash (a third of a second or more
    of a shared core) and the console's tests open hundreds of sessions, while what a
    session holds depends only on the person's password hash (stored the same each time
    by :func:`give_passwords`) and the key that signs the cookie: both are in the key of
    the cookie kept, with the password typed (a wrong one is never let in by a cookie).
    The sign-in itself is proven in tests/test_console_login.py.
    """
    password = PASSWORDS.get(login) if password is None else password
    with app.extensions["fieldsync"].engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash).where(users.c.id == login)).scalar_one()
    kept = (login, password, stored, app.secret_key)
    client = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    if kept in _SESSIONS:
        client.set_cookie(name, _SESSIONS[kept])
    else:
        assert sign_in(client, login, password).status_code == 302
        _SESSIONS[kept] = client.get_cookie(name).value
    return client


def plant_tickets(engine: sa.Engine, tickets: list[dict], customers: list[dict] = ()) -> None:
    """Rows written straight to the tables (no push): a board of thousands in one insert.

    Each dict holds the fields to set; the bookkeeping columns are filled in here.
    """
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    book = {"version": 1, "deleted": False, "clock": "{}", "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        for entity, rows in (("customer", customers), ("ticket", tickets)):
            if rows:
                named = {name for row in rows for name in row}  # one insert: every row names every column
                conn.execute(entity_table(entity).insert(),
                             [{**book, **dict.fromkeys(named), **row} for row in rows])
