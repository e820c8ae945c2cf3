"""Engineers' devices in the console: who has which, registering a new one with a
one-time code (and its QR code), and revoking a lost one (:mod:`server.enrollment`).

Desk and managers only (docs/decisions.md, "Who enrolls devices"). The code is shown to
the person who asked for it, on the page the form leads to, for as long as it can be
used: it is kept in their session (the database has its hash only) until it is used or
expires, and the page follows the code's state every few seconds by htmx, so the office
sees the phone take it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import segno
import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from sync.enroll import qr_payload, shown_code
from sync.errors import NotFoundError, ValidationError

from .. import enrollment
from ..api.common import services
from ..api.enroll import server_url
from ..params import whole_number
from ..tables import audit, devices, enrollments, users
from . import blp, language
from .accounts import console_device
from .sessions import now, office_only

__all__ = ["roster", "devices_page", "enroll_form", "enroll", "enrollment_page", "revoke_form", "revoke"]

PAGE_SIZE = 50
_SESSION_KEY = "enrollment_codes"
_KEPT_CODES = 5


class EnrollForm(FlaskForm):
    user = StringField(lazy_gettext("Engineer"), validators=[DataRequired(), Length(max=64)])
    device_name = StringField(lazy_gettext("Device name"),
                              validators=[DataRequired(), Length(max=enrollment.MAX_DEVICE_NAME)])


class RevokeForm(FlaskForm):
    pass


def roster(conn: sa.Connection, page: int, at: datetime) -> dict:
    """One page of engineers (by name) with their devices — newest first, each with its
    last push and clock skew — and their codes still waiting to be used."""
    engineer = users.c.role.in_(enrollment.ENROLLED_ROLES)
    total = conn.execute(sa.select(sa.func.count()).select_from(users).where(engineer)).scalar_one()
    people = [dict(r) for r in conn.execute(
        sa.select(users.c.id, users.c.name).where(engineer).order_by(users.c.name, users.c.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).mappings()]
    ids = [p["id"] for p in people]
    # the device's newest audit entry, found by the (device_id, id) index: its last push
    entries = audit.alias("entries")
    newest = (sa.select(sa.func.max(entries.c.id)).where(entries.c.device_id == devices.c.id)
              .correlate(devices).scalar_subquery())
    last_push = sa.select(audit.c.at).where(audit.c.id == newest).correlate(devices).scalar_subquery()
    found = conn.execute(
        sa.select(devices.c.id, devices.c.user_id, devices.c.name, devices.c.created_at, devices.c.revoked_at,
                  devices.c.clock_skew_ms, devices.c.clock_measured_at, last_push.label("last_push"))
        .where(devices.c.user_id.in_(ids)).order_by(devices.c.revoked_at.is_not(None), devices.c.created_at.desc())
    ).mappings()
    by_person: dict[str, list] = {}
    for row in found:
        device = dict(row)
        pushes = [t for t in (_aware(device["last_push"]), _aware(device["clock_measured_at"])) if t is not None]
        device["last_sync"] = max(pushes) if pushes else None
        by_person.setdefault(row["user_id"], []).append(device)
    waiting: dict[str, list] = {}
    for row in conn.execute(sa.select(enrollments.c.id, enrollments.c.user_id, enrollments.c.device_name,
                                      enrollments.c.expires_at)
                            .where(enrollments.c.user_id.in_(ids), enrollments.c.used_at.is_(None),
                                   enrollments.c.expires_at > at).order_by(enrollments.c.created_at)).mappings():
        waiting.setdefault(row["user_id"], []).append(dict(row))
    for person in people:
        person["devices"] = by_person.get(person["id"], [])
        person["waiting"] = waiting.get(person["id"], [])
    return {"people": people, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE))}


@blp.route("/devices")
@office_only
def devices_page():
    page = whole_number(request.args.get("page") or None, "page", 1, 100_000) or 1
    with services().engine.connect() as conn:
        found = roster(conn, page, now())
    return render_template("console/devices.html", roster=found, when=_local, skew=_skew)


@blp.route("/devices/enroll", methods=["GET"])
@office_only
def enroll_form():
    form = EnrollForm(formdata=None, user=request.args.get("user", ""))
    return _enroll_page(form)


def _enroll_page(form: EnrollForm, status: int = 200):
    with services().engine.connect() as conn:
        people = conn.execute(sa.select(users.c.id, users.c.name)
                              .where(users.c.role.in_(enrollment.ENROLLED_ROLES)).order_by(users.c.name)).all()
    ttl = enrollment.rules_of(current_app.config).ttl
    return render_template("console/device_enroll.html", form=form, people=people,
                           minutes=int(ttl.total_seconds() // 60)), status


@blp.route("/devices/enroll", methods=["POST"])
@office_only
def enroll():
    form = EnrollForm()
    if not form.validate():
        return _enroll_page(form, 422)
    try:
        with services().engine.begin() as conn:
            issued = enrollment.issue(conn, form.user.data, form.device_name.data,
                                      by=(current_user.user_id, current_user.role),
                                      by_device=console_device(current_user.user_id), now=now(),
                                      rules=enrollment.rules_of(current_app.config))
    except NotFoundError:
        form.user.errors = [language.gettext("Choose one of the engineers listed.")]
        return _enroll_page(form, 422)
    except ValidationError:
        form.device_name.errors = [language.gettext("A device name is 1 to 200 characters, on one line.")]
        return _enroll_page(form, 422)
    # the one copy of the code outside the phone's hands: this person's session, until it is
    # spent (the newest few, for codes asked for in several tabs)
    kept = _kept_codes()
    kept[issued.enrollment_id] = issued.code
    session[_SESSION_KEY] = dict(list(kept.items())[-_KEPT_CODES:])
    return redirect(url_for("console.enrollment_page", enrollment_id=issued.enrollment_id))


@blp.route("/devices/enrollments/<enrollment_id>")
@office_only
def enrollment_page(enrollment_id: str):
    with services().engine.connect() as conn:
        found = conn.execute(
            sa.select(enrollments, users.c.name.label("user_name"))
            .join(users, users.c.id == enrollments.c.user_id)
            .where(enrollments.c.id == enrollment_id[:64])).mappings().first()
    if found is None:
        raise NotFoundError(language.gettext("No such enrollment."))
    moment = now()
    state = "used" if found["used_at"] is not None else "expired" if _aware(found["expires_at"]) <= moment else "waiting"
    kept = _kept_codes()
    code = kept.get(enrollment_id)
    if state != "waiting" and code is not None:
        del kept[enrollment_id]  # spent or dead: the browser need not hold it any longer
        session[_SESSION_KEY] = kept
        code = None
    shown = {"enrollment": found, "state": state, "when": _local,
             "minutes_left": max(0, math.ceil((_aware(found["expires_at"]) - moment).total_seconds() / 60))}
    if code is not None:
        payload = qr_payload(code, server_url())
        shown |= {"code": shown_code(code), "payload": payload, "qr": _qr_svg(payload)}
    template = "console/_enrollment_state.html" if request.headers.get("HX-Request") else "console/device_code.html"
    return render_template(template, **shown)


def _kept_codes() -> dict[str, str]:
    kept = session.get(_SESSION_KEY)
    return dict(kept) if isinstance(kept, dict) else {}


def _qr_svg(payload: str) -> Markup:
    """The QR code of ``payload`` as inline SVG (segno; medium error correction, for a
    phone held up to an office screen)."""
    return Markup(segno.make(payload, error="m").svg_inline(scale=6, border=4))


def _device(device_id: str) -> dict:
    with services().engine.connect() as conn:
        found = conn.execute(
            sa.select(devices.c.id, devices.c.name, devices.c.revoked_at, devices.c.created_at,
                      users.c.id.label("user_id"), users.c.name.label("user_name"))
            .join(users, users.c.id == devices.c.user_id)
            .where(devices.c.id == device_id[:64], users.c.role.in_(enrollment.ENROLLED_ROLES))).mappings().first()
    if found is None:
        raise NotFoundError(language.gettext("No such device."))
    return dict(found)


@blp.route("/devices/<device_id>/revoke", methods=["GET"])
@office_only
def revoke_form(device_id: str):
    return render_template("console/device_revoke.html", device=_device(device_id), form=RevokeForm(), when=_local)


@blp.route("/devices/<device_id>/revoke", methods=["POST"])
@office_only
def revoke(device_id: str):
    device = _device(device_id)
    if device["revoked_at"] is None:
        with services().engine.begin() as conn:
            enrollment.revoke(conn, device_id, by=(current_user.user_id, current_user.role),
                              by_device=console_device(current_user.user_id), now=now())
    flash(language.gettext("%(device)s of %(name)s is revoked: it can no longer sync.",
                           device=device["name"], name=device["user_name"]), "done")
    return redirect(url_for("console.devices_page"))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as the office reads it (the deployment's local time)."""
    if moment is None:
        return "—"
    zone = timezone(timedelta(hours=services().config.local_utc_offset_hours))
    return _aware(moment).astimezone(zone).strftime(fmt)


def _skew(ms: int | None) -> str:
    """A device's clock as its last push measured it: ``3 min 5 s fast``."""
    if ms is None:
        return language.gettext("not measured")
    size = abs(ms) // 1000
    if size == 0:  # under a second: the network's delay, not the clock
        return language.gettext("right")
    days, rest = divmod(size, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [language.gettext("%(n)sd", n=days)] if days else []
    if hours:
        parts.append(language.gettext("%(n)s h", n=hours))
    if minutes:
        parts.append(language.gettext("%(n)s min", n=minutes))
    if seconds or not parts:
        parts.append(language.gettext("%(n)s s", n=seconds))
    span = " ".join(parts)
    if ms > 0:
        return language.gettext("%(span)s fast", span=span)
    return language.gettext("%(span)s slow", span=span)
