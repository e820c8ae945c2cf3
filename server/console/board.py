"""The desk's ticket board, a ticket's page, and dispatch, reassignment and cancelling.

The board refreshes its rows by htmx every minute (the countdown moves) and on every
filter change, without reloading the page. The writes answer with a redirect to the
ticket's page (a reload never sends them twice) and a message saying what became of the
change: taken, lost to the field's newer work (then it is in the conflict queue), or
refused by a rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from sync.errors import ValidationError

from ..api.common import services
from ..params import whole_number
from ..tables import entity_table, users
from . import blp, language, refusals
from .lookup import one_or_not_found
from .sessions import now, office_only
from .tickets import FINISHED, STATUS_CHOICES, board_page, engineers, one_ticket, parse_filters, with_countdown
from .writes import console_write

__all__ = ["board", "ticket", "dispatch", "cancel"]

_MAX_VERSION = 2**31 - 1


class DispatchForm(FlaskForm):
    assignee = StringField(lazy_gettext("Engineer"), validators=[DataRequired(), Length(max=64)])
    version = HiddenField(validators=[DataRequired()])


class CancelForm(FlaskForm):
    reason = TextAreaField(lazy_gettext("Reason"), validators=[DataRequired(), Length(max=1000)])
    version = HiddenField(validators=[DataRequired()])


@blp.route("/tickets")
@office_only
def board():
    problem = None
    try:
        filters = parse_filters(request.args)
    except ValidationError as exc:
        filters, problem = None, exc.message
    page = {"tickets": [], "total": 0, "pages": 1}
    rows_only = bool(request.headers.get("HX-Request"))
    zones, people = [], []
    with services().engine.connect() as conn:
        if filters is not None:
            page = board_page(conn, filters, now())
        if not rows_only:  # the filter's choices are the whole page's, not the rows'
            zones = [z for (z,) in conn.execute(_ZONES)]
            people = conn.execute(sa.select(users.c.id, users.c.name).where(users.c.role == "engineer")
                                  .order_by(users.c.name)).all()
    template = "console/_board_rows.html" if rows_only else "console/board.html"
    return render_template(template, page=page, filters=filters or parse_filters({}), problem=problem,
                           zones=zones, people=people, statuses=STATUS_CHOICES), 422 if problem else 200


_TICKET = entity_table("ticket")
#: the zones tickets name, for the filter's choices
_NAMED = sa.select(_TICKET.c.zone).where(_TICKET.c.zone.is_not(None)).distinct().subquery("named")
#: (the distinct zones from the zone index alone, then each kept if a ticket not deleted
#: names it: the first found answers — not a read of every ticket's row)
_LIVE = sa.select(sa.literal(1)).select_from(_TICKET).where(_TICKET.c.zone == _NAMED.c.zone,
                                                             _TICKET.c.deleted.is_(False))
_ZONES = sa.select(_NAMED.c.zone).where(_LIVE.exists()).order_by(_NAMED.c.zone).limit(200)


def _found(ticket_id: str) -> dict:
    return one_or_not_found(ticket_id, one_ticket, language.gettext("No such ticket."))


@blp.route("/tickets/<ticket_id>")
@office_only
def ticket(ticket_id: str):
    found = _found(ticket_id)
    return _ticket_page(found, DispatchForm(formdata=None), CancelForm(formdata=None))


def _ticket_page(found: dict, dispatch_form: DispatchForm, cancel_form: CancelForm, status: int = 200):
    with services().engine.connect() as conn:
        people = engineers(conn, found["zone"])
    return render_template("console/ticket.html", ticket=found, sla=with_countdown(dict(found), now()),
                           people=people, dispatch_form=dispatch_form,
                           cancel_form=cancel_form, finished=found["status"] in FINISHED), status


def _version(form) -> int:
    return whole_number(form.version.data, "version", 0, _MAX_VERSION)


@blp.route("/tickets/<ticket_id>/dispatch", methods=["POST"])
@office_only
def dispatch(ticket_id: str):
    found = _found(ticket_id)
    form = DispatchForm()
    if not form.validate():
        return _ticket_page(found, form, CancelForm(formdata=None), 422)
    with services().engine.connect() as conn:
        engineer = conn.execute(sa.select(users.c.name).where(users.c.id == form.assignee.data,
                                                              users.c.role == "engineer")).first()
    if engineer is None:
        form.assignee.errors = [language.gettext("Choose one of the engineers listed.")]
        return _ticket_page(found, form, CancelForm(formdata=None), 422)
    result = console_write("ticket", ticket_id, {"status": "dispatched", "assignee_id": form.assignee.data},
                           _version(form))
    _tell(result, language.gettext("Dispatched to %(name)s.", name=engineer.name))
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


@blp.route("/tickets/<ticket_id>/cancel", methods=["POST"])
@office_only
def cancel(ticket_id: str):
    found = _found(ticket_id)
    form = CancelForm()
    if not form.validate():
        return _ticket_page(found, DispatchForm(formdata=None), form, 422)
    result = console_write("ticket", ticket_id, {"status": "cancelled", "cancel_reason": form.reason.data.strip()},
                           _version(form))
    _tell(result, language.gettext("Cancelled."))
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


def _tell(result: dict, done: str) -> None:
    """Say what became of the write, as its push answer says."""
    if result["status"] == "rejected":
        flash(refusals.refused_text(result.get("code"), result["message"]), "refused")
    elif any(note["winner"] == "stored" for note in result.get("conflicts", [])):
        flash(language.gettext("The ticket moved on meanwhile and kept its newer value; your change is in the "
                               "conflict queue."), "conflict")
    else:
        flash(done, "done")
