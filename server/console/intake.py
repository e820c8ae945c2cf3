"""Taking a call: find or create the customer and the equipment, record the fault, and
see the service category and the deadline before the ticket is saved.

The category and the deadline shown are computed by the same functions the push runs
when the ticket arrives (:func:`server.domain.effects.service_category`,
:func:`server.domain.sla.deadline`), over the rows as they stand and the ones the form
would make; the desk may also set the category itself (D, internal work, is never
computed). Saving writes the new customer, the new equipment and the ticket as one
change-set through the push path (:func:`server.console.writes.console_writes`): all
or nothing.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from sync.errors import RefusedWriteError
from sync.ids import new_id
from sync.rules import StoredRow

from ..api.common import services
from ..apply import Batch
from ..domain import sla
from ..domain.effects import service_category
from ..tables import entity_table
from . import blp, desk_words, language, refusals
from .sessions import now, office_only
from .writes import Write, console_writes

__all__ = ["intake", "find_customers", "preview", "local_zone"]

MAX_FOUND = 20
MAX_FAULT = 4000
_TEXT = [Length(max=200)]


class IntakeForm(FlaskForm):
    #: an existing customer's id, ``new``, or empty (not chosen yet)
    customer_id = StringField(validators=[Optional(), Length(max=64)])
    new_name = StringField(lazy_gettext("Name"), validators=_TEXT)
    new_phone = StringField(lazy_gettext("Phone"), validators=[Length(max=50)])
    new_address = StringField(lazy_gettext("Address"), validators=[Length(max=500)])
    new_contact = StringField(lazy_gettext("Contact"), validators=[Length(max=100)])
    #: an existing equipment's id (of the customer), ``new``, or empty (none named)
    equipment_id = StringField(validators=[Optional(), Length(max=64)])
    model = StringField(lazy_gettext("Model"), validators=_TEXT)
    serial = StringField(lazy_gettext("Serial"), validators=[Length(max=100)])
    warranty_end = DateField(lazy_gettext("Warranty ends"), validators=[Optional()])
    fault = TextAreaField(lazy_gettext("Fault description"), validators=[DataRequired(), Length(max=MAX_FAULT)])
    channel = SelectField(lazy_gettext("Channel"), choices=list(desk_words.CHANNEL), default="phone")
    urgency = SelectField(lazy_gettext("Urgency"), choices=["normal", "emergency"], default="normal")
    zone = StringField(lazy_gettext("Zone"), validators=[Length(max=50)])
    #: empty: computed by the server as shown
    category = SelectField(lazy_gettext("Category"), choices=["", *desk_words.CATEGORY], default="")


def _customers_matching(conn: sa.Connection, text: str, only: str | None = None) -> list[dict]:
    """At most :data:`MAX_FOUND` customers whose name, phone or address hold ``text`` (or
    the one ``only`` names), each with its equipment."""
    customer, equipment = entity_table("customer"), entity_table("equipment")
    query = sa.select(customer.c.id, customer.c.name, customer.c.phone, customer.c.address, customer.c.zone) \
        .where(customer.c.deleted.is_(False)).order_by(customer.c.name, customer.c.id).limit(MAX_FOUND)
    if only is not None:
        query = query.where(customer.c.id == only)
    elif text:
        query = query.where(sa.or_(*(c.icontains(text, autoescape=True)
                                     for c in (customer.c.name, customer.c.phone, customer.c.address))))
    found = [dict(row) for row in conn.execute(query).mappings()]
    by_id = {c["id"]: {**c, "equipment": []} for c in found}
    if by_id:
        for row in conn.execute(sa.select(equipment.c.id, equipment.c.customer_id, equipment.c.model,
                                          equipment.c.serial, equipment.c.warranty_end)
                                .where(equipment.c.customer_id.in_(list(by_id)), equipment.c.deleted.is_(False))
                                .order_by(equipment.c.model, equipment.c.id)).mappings():
            by_id[row["customer_id"]]["equipment"].append(dict(row))
    return list(by_id.values())


def _search_text() -> str:
    text = request.args.get("q", "").strip()
    return text[:100] if text.isprintable() else ""


@blp.route("/intake/customers")
@office_only
def find_customers():
    """The customers whose name, phone or address hold the text typed, with their equipment."""
    with services().engine.connect() as conn:
        found = _customers_matching(conn, _search_text())
    return render_template("console/_intake_customers.html", found=found, chosen=request.args.get("customer_id"),
                           chosen_equipment=request.args.get("equipment_id"))


class _Drafts:
    """What the push would look up, with the rows the form would make among them."""

    def __init__(self, batch: Batch, rows: dict[tuple[str, str], dict]):
        self.batch, self.rows = batch, rows

    def lookup(self, entity: str, row_id: str):
        drafted = self.rows.get((entity, row_id))
        return StoredRow(drafted, {}, 1) if drafted is not None else self.batch.lookup(entity, row_id)


def _computed(form: IntakeForm) -> dict:
    """The category the server will give the ticket and its deadline, as of now."""
    svc = services()
    moment = now()
    ticket = {"equipment_id": form.equipment_id.data or None}
    drafts: dict[tuple[str, str], dict] = {}
    if form.equipment_id.data == "new":
        drafts[("equipment", "new")] = {"warranty_end": form.warranty_end.data.isoformat()
                                        if isinstance(form.warranty_end.data, date) else None}
    with svc.engine.connect() as conn:
        source = _Drafts(Batch(conn, svc.registry, svc.config, svc.now_ms()), drafts)
        category = service_category(source, ticket, moment)
        hours = sla.contract_hours(source, ticket)
        due = sla.deadline(svc.config, moment, form.zone.data or None, form.urgency.data, hours)
    return {"category": category, "deadline": due, "contract_hours": hours}


@blp.route("/intake/preview")
@office_only
def preview():
    """The category and the deadline for the form as it stands (htmx, on every change)."""
    form = IntakeForm(formdata=request.args, meta={"csrf": False})
    form.validate()  # a half-filled form still has a category: the errors are shown on saving
    if form.category.errors:
        form.category.data = ""
    return render_template("console/_intake_preview.html", computed=_computed(form), form=form,
                           words=desk_words, local_zone=local_zone())


def _page(form: IntakeForm, status: int = 200, problem: str | None = None):
    chosen = form.customer_id.data
    with services().engine.connect() as conn:
        found = _customers_matching(conn, "", only=chosen if chosen and chosen != "new" else None)
    zones = sorted(services().config.sla_hours)
    return render_template("console/intake.html", form=form, found=found, computed=_computed(form), zones=zones,
                           words=desk_words, problem=problem, local_zone=local_zone()), status


def local_zone() -> timezone:
    """The deployment's local time, in which the desk reads times."""
    return timezone(timedelta(hours=services().config.local_utc_offset_hours))


@blp.route("/intake", methods=["GET", "POST"])
@office_only
def intake():
    form = IntakeForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate() or not _parties_fit(form):
        return _page(form, 422)
    writes = _writes(form)
    try:
        console_writes(writes, whole=True)
    except RefusedWriteError as refused:
        return _page(form, 422, refusals.refused_text(refused.code, refused.message))
    ticket_id = writes[-1].row_id
    flash(language.gettext("The call is recorded as a ticket."), "done")
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


def _parties_fit(form: IntakeForm) -> bool:
    """The customer and the equipment chosen exist and belong together; new ones are named."""
    customer, equipment = entity_table("customer"), entity_table("equipment")
    chosen, machine = form.customer_id.data or "", form.equipment_id.data or ""
    fits = True
    with services().engine.connect() as conn:
        if not chosen and machine and machine != "new":  # the equipment names its customer
            chosen = form.customer_id.data = conn.execute(
                sa.select(equipment.c.customer_id).where(equipment.c.id == machine)).scalar() or ""
        if chosen == "new":
            if not _clean(form.new_name):
                form.new_name.errors = [language.gettext("A new customer needs a name.")]
                fits = False
        elif not chosen:
            form.customer_id.errors = [language.gettext("Choose the customer, or record a new one.")]
            fits = False
        elif conn.execute(sa.select(customer.c.id).where(customer.c.id == chosen, customer.c.deleted.is_(False))) \
                .first() is None:
            form.customer_id.errors = [language.gettext("No such customer: search again.")]
            fits = False
        if machine == "new":
            if not _clean(form.model):
                form.model.errors = [language.gettext("New equipment needs its model.")]
                fits = False
        elif machine:
            owner = conn.execute(sa.select(equipment.c.customer_id).where(equipment.c.id == machine,
                                                                          equipment.c.deleted.is_(False))).first()
            if owner is None or owner.customer_id != chosen:
                form.equipment_id.errors = [language.gettext("Choose equipment of this customer, or record new "
                                                             "equipment.")]
                fits = False
    if form.zone.data and not form.zone.data.isprintable():
        form.zone.errors = [language.gettext("The zone holds a character that cannot be stored.")]
        fits = False
    return fits


def _clean(field) -> str | None:
    """A text field as typed, without its outer spaces; ``None`` when empty or not sent."""
    return (field.data or "").strip() or None


def _writes(form: IntakeForm) -> list[Write]:
    writes = []
    customer_id = form.customer_id.data
    if customer_id == "new":
        customer_id = new_id()
        writes.append(Write("customer", customer_id, {
            "name": _clean(form.new_name), "phone": _clean(form.new_phone),
            "address": _clean(form.new_address), "contact": _clean(form.new_contact),
            "zone": form.zone.data or None}, op="insert"))
    equipment_id = form.equipment_id.data or None
    if equipment_id == "new":
        equipment_id = new_id()
        writes.append(Write("equipment", equipment_id, {
            "customer_id": customer_id, "model": _clean(form.model), "serial": _clean(form.serial),
            "warranty_end": form.warranty_end.data.isoformat() if form.warranty_end.data else None}, op="insert"))
    ticket = {"customer_id": customer_id, "equipment_id": equipment_id, "channel": form.channel.data,
              "fault_description": _clean(form.fault), "reported_at": now().isoformat(),
              "status": "reported", "urgency": form.urgency.data, "zone": form.zone.data or None}
    if form.category.data:
        ticket["category"] = form.category.data
    writes.append(Write("ticket", new_id(), ticket, op="insert"))
    return writes
