"""Signing in and out, the language switch, and who the session's person is.

A session holds :func:`server.console.accounts.session_key`; each request looks the
person up afresh, so a new password, a role no longer allowed or a removed person ends
the session at its next request.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_babel import lazy_gettext
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from sync.errors import ForbiddenError

from ..api.common import services
from ..tables import users
from . import blp, language, lockout, login_manager
from .accounts import CONSOLE_ROLES, MAX_LOGIN, MAX_PASSWORD, LoginRefused, log_in, record, session_key

__all__ = ["ConsoleUser", "office_only", "now"]

#: who dispatches, reassigns and cancels
OFFICE_ROLES = frozenset({"desk", "manager"})


class ConsoleUser(UserMixin):
    def __init__(self, person: dict):
        self.user_id = person["id"]
        self.name = person["name"]
        self.role = person["role"]
        self.depot_id = person["depot_id"]
        self.id = session_key(person["id"], person["password_hash"])

    @property
    def office(self) -> bool:
        return self.role in OFFICE_ROLES


@login_manager.user_loader
def _load(key: str) -> ConsoleUser | None:
    user_id, _, _tail = key.rpartition(".")
    with services().engine.connect() as conn:
        found = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
    if found is None or found["password_hash"] is None or found["role"] not in CONSOLE_ROLES:
        return None
    person = ConsoleUser(dict(found))
    return person if person.id == key else None


def office_only(view):
    """Desk and managers only: a depot keeper is refused (403), as their push would be."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.office:
            raise ForbiddenError(language.gettext("Only the desk and managers may do this."))
        return view(*args, **kwargs)

    return wrapper


def now() -> datetime:
    return datetime.fromtimestamp(services().now_ms() / 1000, timezone.utc)


class LoginForm(FlaskForm):
    login = StringField(lazy_gettext("User id"), validators=[DataRequired(), Length(max=MAX_LOGIN)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD)])


_REFUSALS = {
    "bad_credentials": (401, lazy_gettext("The user id or the password is wrong.")),
    "not_console": (403, lazy_gettext("Engineers sign in on their device, not to the console.")),
}


def _next_page(default: str) -> str:
    """Where to go after signing in or switching language: a console page of this site
    only (``next`` from anyone's link must not send the person elsewhere)."""
    wanted = request.values.get("next", "")
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in wanted:
        return default
    return wanted


@blp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", form=form)
    if not form.validate():
        return render_template("console/login.html", form=form), 422
    moment = now()
    with services().engine.begin() as conn:
        try:
            person = log_in(conn, form.login.data, form.password.data, moment, lockout(current_app))
        except LoginRefused as refused:
            person, refusal = None, refused
    if person is None:
        if refusal.code == "locked":
            until = refusal.until.astimezone(_local_zone()).strftime("%H:%M")
            message = language.gettext("Too many failed attempts: this account is locked until %(time)s.",
                                       time=until)
            return render_template("console/login.html", form=form, refusal=message), 423
        status, message = _REFUSALS[refusal.code]
        return render_template("console/login.html", form=form, refusal=message), status
    chosen = session.get("language")
    session.clear()  # nothing from before the sign-in is carried into the session
    if chosen:
        session["language"] = chosen
    login_user(ConsoleUser(person))
    return redirect(_next_page(url_for("console.home")))


def _local_zone() -> timezone:
    return timezone(timedelta(hours=services().config.local_utc_offset_hours))


@blp.route("/logout", methods=["POST"])
@login_required
def logout():
    with services().engine.begin() as conn:
        record(conn, current_user.user_id, current_user.role, "logout", now())
    logout_user()
    return redirect(url_for("console.login"))


@blp.route("/language", methods=["POST"])
def choose_language():
    wanted = request.form.get("language")
    if wanted in language.LANGUAGES:
        session["language"] = wanted
    return redirect(_next_page(url_for("console.home")))


@blp.route("/")
@login_required
def home():
    if current_user.office:
        return redirect(url_for("console.board"))
    return render_template("console/home.html")
