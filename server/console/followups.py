"""Follow-up calls (回访): the finished tickets nobody has called back about yet, and the
customer's rating of the engineer in the four items of 004 §25 (attitude, skill,
arrival time, follow-through), each on four levels, written as a satisfaction survey
through the push path. A survey already taken is shown, not taken twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from sync.errors import RefusedWriteError
from sync.ids import new_id

from ..api.common import services
from ..params import whole_number
from ..tables import entity_table, users
from . import blp, desk_words, language, refusals
from .lookup import one_or_not_found
from .sessions import now, office_only
from .tickets import one_ticket
from .writes import Write, console_writes

__all__ = ["followups", "followup"]

PAGE_SIZE = 50
#: a ticket is called back about once the work is done
DONE = ("completed", "signed", "closed")
_LEVELS = [(str(level), str(level)) for level in desk_words.LEVEL]


class FollowUpForm(FlaskForm):
    attitude = RadioField(choices=_LEVELS, validators=[InputRequired()])
    skill = RadioField(choices=_LEVELS, validators=[InputRequired()])
    arrival_time = RadioField(choices=_LEVELS, validators=[InputRequired()])
    follow_through = RadioField(choices=_LEVELS, validators=[InputRequired()])
    comment = TextAreaField(validators=[Length(max=2000)])


def _waiting(conn: sa.Connection, page: int) -> tuple[list[dict], int]:
    ticket, survey, customer = entity_table("ticket"), entity_table("satisfaction_survey"), entity_table("customer")
    surveyed = sa.select(survey.c.id).where(survey.c.ticket_id == ticket.c.id, survey.c.deleted.is_(False))
    where = [ticket.c.deleted.is_(False), ticket.c.status.in_(DONE), ~surveyed.exists()]
    total = conn.execute(sa.select(sa.func.count()).select_from(ticket).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(ticket.c.id, ticket.c.number, ticket.c.status, ticket.c.completed_at, ticket.c.fault_description,
                  customer.c.name.label("customer_name"), customer.c.phone.label("customer_phone"),
                  users.c.name.label("engineer_name"))
        .select_from(ticket.outerjoin(customer, customer.c.id == ticket.c.customer_id)
                     .outerjoin(users, users.c.id == ticket.c.assignee_id))
        .where(*where).order_by(ticket.c.updated_at.desc(), ticket.c.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).mappings()
    return [dict(r) for r in rows], total


@blp.route("/followups")
@office_only
def followups():
    page = whole_number(request.args.get("page") or None, "page", 1, 100_000) or 1
    with services().engine.connect() as conn:
        waiting, total = _waiting(conn, page)
    return render_template("console/followups.html", waiting=waiting, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)))


def _survey_of(conn: sa.Connection, ticket_id: str) -> dict | None:
    survey = entity_table("satisfaction_survey")
    row = conn.execute(sa.select(survey).where(survey.c.ticket_id == ticket_id, survey.c.deleted.is_(False))
                       .order_by(survey.c.created_at)).mappings().first()
    return dict(row) if row else None


def _page(ticket: dict, form: FollowUpForm, status: int = 200, problem: str | None = None):
    with services().engine.connect() as conn:
        taken = _survey_of(conn, ticket["id"])
        engineer = conn.execute(sa.select(users.c.name).where(users.c.id == ticket["assignee_id"])).scalar() \
            if ticket["assignee_id"] else None
    return render_template("console/followup.html", ticket=ticket, form=form, taken=taken, engineer=engineer,
                           words=desk_words, problem=problem, done=ticket["status"] in DONE), status


def _found(ticket_id: str) -> dict:
    return one_or_not_found(ticket_id, one_ticket, language.gettext("No such ticket."))


@blp.route("/followups/<ticket_id>", methods=["GET", "POST"])
@office_only
def followup(ticket_id: str):
    ticket = _found(ticket_id)
    form = FollowUpForm()
    if request.method == "GET":
        return _page(ticket, form)
    if ticket["status"] not in DONE:
        return _page(ticket, form, 422, language.gettext("A ticket is followed up once its work is done."))
    if not form.validate():
        return _page(ticket, form, 422, language.gettext("Rate each of the four items."))
    with services().engine.connect() as conn:
        if _survey_of(conn, ticket_id) is not None:
            return _page(ticket, form, 409, language.gettext("This ticket was followed up already."))
    fields = {name: int(getattr(form, name).data) for name in desk_words.RATING}
    fields.update(ticket_id=ticket_id, engineer_id=ticket["assignee_id"], comment=form.comment.data.strip() or None,
                  surveyed_at=now().isoformat())
    try:
        console_writes([Write("satisfaction_survey", new_id(), fields, op="insert")], whole=True)
    except RefusedWriteError as refused:
        return _page(ticket, form, 422, refusals.refused_text(refused.code, refused.message))
    flash(language.gettext("The follow-up is recorded."), "done")
    return redirect(url_for("console.followups"))
