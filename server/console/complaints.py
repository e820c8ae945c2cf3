"""Complaints: taking one (about a ticket, or a customer found by name or phone), the
open ones with their deadlines (13 days at home, 17 abroad, set by the server when the
complaint arrives: :mod:`server.domain.effects`) — overdue ones first — settling one,
and escalating every overdue one (:func:`server.domain.complaints.escalate_overdue`,
the office API's job). Read a page at a time in SQL; written through the push path.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from sync.errors import NotFoundError, RefusedWriteError, ValidationError
from sync.ids import new_id

from ..api.common import services
from ..apply import server_batch
from ..domain import sla
from ..domain.complaints import escalate_overdue, overdue
from ..params import whole_number
from ..tables import entity_table, users
from . import blp, desk_words, language, refusals
from .intake import local_zone
from .sessions import now, office_only
from .writes import Write, console_write, console_writes

__all__ = ["complaints", "new_complaint", "complaint", "escalate"]

PAGE_SIZE = 50
SHOWN = ("open", "overdue", "resolved", "all")
_FAULT = [("", ""), ("yes", "yes"), ("no", "no")]


class ComplaintForm(FlaskForm):
    ticket = StringField(validators=[Optional(), Length(max=64)])
    customer_id = StringField(validators=[Optional(), Length(max=64)])
    description = TextAreaField(validators=[DataRequired(), Length(max=4000)])
    abroad = BooleanField()


class SettleForm(FlaskForm):
    resolution = TextAreaField(validators=[DataRequired(), Length(max=4000)])
    service_fault = SelectField(choices=_FAULT, validators=[DataRequired()])


def _listed(conn: sa.Connection, shown: str, page: int, moment: datetime) -> tuple[list[dict], int]:
    table, customer, ticket = entity_table("complaint"), entity_table("customer"), entity_table("ticket")
    late = overdue(table, moment)
    where = [table.c.deleted.is_(False)]
    if shown == "open":
        where.append(table.c.status.is_distinct_from("resolved"))
    elif shown == "overdue":
        where.append(late)
    elif shown == "resolved":
        where.append(table.c.status == "resolved")
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(table.c.id, table.c.number, table.c.description, table.c.received_at, table.c.deadline,
                  table.c.status, table.c.escalated, table.c.abroad, late.label("late"),
                  customer.c.name.label("customer_name"), ticket.c.number.label("ticket_number"),
                  table.c.ticket_id)
        .select_from(table.outerjoin(customer, customer.c.id == table.c.customer_id)
                     .outerjoin(ticket, ticket.c.id == table.c.ticket_id))
        .where(*where).order_by(sa.case((late, 0), else_=1), table.c.deadline.is_(None), table.c.deadline,
                                table.c.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).mappings()
    return [_with_days(dict(r), moment) for r in rows], total


def _with_days(row: dict, moment: datetime) -> dict:
    """``days``: whole days left to the deadline (negative: days overdue)."""
    due = sla.parse_time(row["deadline"])
    row["due"] = due.astimezone(local_zone()) if due is not None else None
    row["days"] = (due - moment).days if due is not None else None
    return row


@blp.route("/complaints")
@office_only
def complaints():
    shown = request.args.get("status") or "open"
    problem, status = None, 200
    if shown not in SHOWN:
        problem, status, shown = language.gettext("There is no such list of complaints."), 422, "open"
    try:
        page = whole_number(request.args.get("page") or None, "page", 1, 100_000) or 1
    except ValidationError:
        problem, status, page = language.gettext("There is no such page."), 422, 1
    with services().engine.connect() as conn:
        listed, total = _listed(conn, shown, page, now())
    return render_template("console/complaints.html", listed=listed, total=total, page=page, shown=shown,
                           pages=max(1, -(-total // PAGE_SIZE)), words=desk_words, problem=problem), status


@blp.route("/complaints/escalate", methods=["POST"])
@office_only
def escalate():
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        escalated = escalate_overdue(batch)
    flash(ngettext("%(num)d overdue complaint escalated.", "%(num)d overdue complaints escalated.",
                            len(escalated)), "done")
    return redirect(url_for("console.complaints", status="overdue"))


def _ticket_by_number(conn: sa.Connection, text: str) -> dict | None:
    ticket = entity_table("ticket")
    row = conn.execute(sa.select(ticket.c.id, ticket.c.number, ticket.c.customer_id, ticket.c.assignee_id)
                       .where(sa.or_(ticket.c.number == text, ticket.c.id == text), ticket.c.deleted.is_(False))
                       ).mappings().first()
    return dict(row) if row else None


def _new_page(form: ComplaintForm, status: int = 200, problem: str | None = None):
    return render_template("console/complaint_new.html", form=form, problem=problem, found=[],
                           chosen=form.customer_id.data, chosen_equipment=None), status


@blp.route("/complaints/new", methods=["GET", "POST"])
@office_only
def new_complaint():
    form = ComplaintForm()
    if request.method == "GET":
        form.ticket.data = request.args.get("ticket", "")[:64]
        return _new_page(form)
    if not form.validate():
        return _new_page(form, 422)
    customer, ticket = entity_table("customer"), None
    with services().engine.connect() as conn:
        if form.ticket.data:
            ticket = _ticket_by_number(conn, form.ticket.data.strip())
            if ticket is None:
                form.ticket.errors = [language.gettext("No ticket has this number.")]
                return _new_page(form, 422)
        customer_id = ticket["customer_id"] if ticket else form.customer_id.data
        if not customer_id or conn.execute(sa.select(customer.c.id).where(customer.c.id == customer_id)).first() is None:
            return _new_page(form, 422, language.gettext("Name the ticket, or choose the customer who complains."))
    fields = {"ticket_id": ticket["id"] if ticket else None, "customer_id": customer_id,
              "engineer_id": ticket["assignee_id"] if ticket else None, "description": form.description.data.strip(),
              "received_at": now().isoformat(), "abroad": bool(form.abroad.data), "status": "open"}
    complaint_id = new_id()
    try:
        console_writes([Write("complaint", complaint_id, fields, op="insert")], whole=True)
    except RefusedWriteError as refused:
        return _new_page(form, 422, refusals.refused_text(refused.code, refused.message))
    flash(language.gettext("The complaint is recorded."), "done")
    return redirect(url_for("console.complaint", complaint_id=complaint_id))


def _one(complaint_id: str) -> dict:
    table, customer, ticket = entity_table("complaint"), entity_table("customer"), entity_table("ticket")
    found = None
    if len(complaint_id) <= 64:
        with services().engine.connect() as conn:
            found = conn.execute(
                sa.select(table, overdue(table, now()).label("late"), customer.c.name.label("customer_name"),
                          customer.c.phone.label("customer_phone"), ticket.c.number.label("ticket_number"),
                          users.c.name.label("engineer_name"))
                .select_from(table.outerjoin(customer, customer.c.id == table.c.customer_id)
                             .outerjoin(ticket, ticket.c.id == table.c.ticket_id)
                             .outerjoin(users, users.c.id == table.c.engineer_id))
                .where(table.c.id == complaint_id, table.c.deleted.is_(False))).mappings().first()
    if found is None:
        raise NotFoundError(language.gettext("No such complaint."))
    return _with_days(dict(found), now())


@blp.route("/complaints/<complaint_id>", methods=["GET", "POST"])
@office_only
def complaint(complaint_id: str):
    found = _one(complaint_id)
    form = SettleForm()
    if request.method == "GET":
        return render_template("console/complaint.html", c=found, form=form, words=desk_words)
    if found["status"] == "resolved":
        return render_template("console/complaint.html", c=found, form=form, words=desk_words,
                               problem=language.gettext("This complaint is settled already.")), 409
    if not form.validate():
        return render_template("console/complaint.html", c=found, form=form, words=desk_words), 422
    result = console_write("complaint", complaint_id, {"status": "resolved", "resolution": form.resolution.data.strip(),
                                                       "service_fault": form.service_fault.data == "yes"},
                           found["version"])
    if result["status"] == "rejected":
        return render_template("console/complaint.html", c=found, form=form, words=desk_words,
                               problem=refusals.refused_text(result.get("code"), result["message"])), 422
    flash(language.gettext("The complaint is settled."), "done")
    return redirect(url_for("console.complaint", complaint_id=complaint_id))
