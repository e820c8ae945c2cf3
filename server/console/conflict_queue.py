"""The conflict queue: every value a merge rule overwrote or refused, both sides of each
field next to each other, and settling one by choosing a side or another value.

A page is :func:`server.conflicts.read` — the office API's query, filtered and paged by
keyset in SQL — and settling is :func:`server.conflicts.resolve`, the API's too, in one
server batch with an audit entry naming the person and the console device. The ticket
filter takes a ticket's number as the desk reads it (or its id).
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from sync.changeset import Mutation
from sync.errors import SyncError, ValidationError
from sync.ids import new_id
from sync.rules.lww import node_of

from .. import conflicts
from ..api.common import services
from ..apply import Caller, server_batch
from ..tables import devices, entity_table, users
from . import blp, desk_words, labels, language, refusals
from .accounts import console_device
from .intake import local_zone
from .sessions import office_only

__all__ = ["conflict_queue", "resolve"]

PAGE_SIZE = 50
MAX_VALUE = 4000
#: the queue's filters, as the page names them
_FILTERS = ("status", "rule", "ticket", "person", "cursor")


class ResolveForm(FlaskForm):
    choose = HiddenField(validators=[DataRequired()])
    value = StringField(validators=[Length(max=MAX_VALUE)])
    reason = TextAreaField(validators=[DataRequired(), Length(max=1000)])


def _query(args) -> tuple[conflicts.Query, dict]:
    """The API's query from the page's filters (a ticket by its number), and the filters set."""
    chosen = {name: args.get(name, "").strip() for name in _FILTERS if args.get(name, "").strip()}
    wanted = dict(chosen)
    if "ticket" in wanted:
        ticket = entity_table("ticket")
        if len(wanted["ticket"]) > 64:
            raise ValidationError(language.gettext("No such ticket."))
        with services().engine.connect() as conn:
            found = conn.execute(sa.select(ticket.c.id).where(ticket.c.number == wanted["ticket"])).first()
        if found is not None:
            wanted["ticket"] = found.id
    return conflicts.parse_query({**wanted, "limit": str(PAGE_SIZE)}), chosen


def _people(conn: sa.Connection, notes: list[dict]) -> dict[str, str]:
    """The name behind each device a page's values came from (a console device is its person's)."""
    nodes = {n["device_id"] for n in notes if n["device_id"]} | {node_of(n["kept_hlc"]) for n in notes
                                                                 if n["kept_hlc"]}
    named = {}
    for device_id, name in conn.execute(sa.select(devices.c.id, users.c.name).join(users, users.c.id == devices.c.user_id)
                                        .where(devices.c.id.in_(nodes))):
        named[device_id] = name
    console = {node: node.removeprefix("console-") for node in nodes if node.startswith("console-")}
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name).where(users.c.id.in_(set(console.values())))):
        for node, who in console.items():
            if who == user_id:
                named[node] = name
    named["server"] = language.gettext("the server")
    return named


def _tickets(conn: sa.Connection, notes: list[dict]) -> dict[str, dict]:
    ticket, customer = entity_table("ticket"), entity_table("customer")
    ids = {n["row_id"] for n in notes if n["entity"] == "ticket"}
    if not ids:
        return {}
    rows = conn.execute(sa.select(ticket.c.id, ticket.c.number, customer.c.name.label("customer"))
                        .select_from(ticket.outerjoin(customer, customer.c.id == ticket.c.customer_id))
                        .where(ticket.c.id.in_(ids))).mappings()
    return {row["id"]: dict(row) for row in rows}


def _page(args, status: int = 200, problem: str | None = None, form: ResolveForm | None = None, failed: str = ""):
    notes, following, chosen = [], None, {}
    try:
        query, chosen = _query(args)
        with services().engine.connect() as conn:
            notes, following = conflicts.read(conn, query)
            people, tickets = _people(conn, notes), _tickets(conn, notes)
    except SyncError as exc:
        problem, status = problem or exc.message, 404 if exc.status == 404 else 422
        people, tickets = {}, {}
    with services().engine.connect() as conn:
        engineers = conn.execute(sa.select(users.c.id, users.c.name).where(users.c.role == "engineer")
                                 .order_by(users.c.name)).all()
    fields = {name: str(word) for name, word in desk_words.FIELD.items()}  # each lazy word translated once
    statuses = {name: str(word) for name, word in labels.STATUS.items()}
    for note in notes:
        note["field_name"] = fields.get(note["field"], note["field"])
        note["kept_shown"], note["lost_shown"] = (
            statuses.get(value, _shown(value)) if note["field"] == "status" and isinstance(value, str) else _shown(value)
            for value in (note["kept_value"], note["lost_value"]))
        note["kept_by"] = people.get(node_of(note["kept_hlc"])) if note["kept_hlc"] else None
        note["lost_by"] = people.get(note["device_id"] or "", note["device_id"])
        note["ticket"] = tickets.get(note["row_id"])
        note["noted"] = datetime.fromisoformat(note["created_at"]).astimezone(local_zone())
    return render_template("console/conflicts.html", notes=notes, following=following, chosen=chosen,
                           rules=conflicts.NOTE_RULES, engineers=engineers, words=desk_words, problem=problem,
                           form=form or ResolveForm(formdata=None), failed=failed, shown=_shown,
                           base={k: v for k, v in chosen.items() if k != "cursor"}), status


def _shown(value) -> str:
    """A value as the desk reads it: text as is, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


@blp.route("/conflicts")
@office_only
def conflict_queue():
    return _page(request.args)


def _typed(note: dict, text: str):
    """The value typed for the note's field, as the field's type wants it: text as typed
    (empty: none), anything else read as JSON (3, 2.5, true, a list)."""
    entity = services().registry.get(note["entity"])
    spec = entity.field(note["field"]) if entity is not None else None
    if note["field"] == "_deleted":
        kind = "boolean"
    else:
        kind = spec.type if spec is not None else "text"
    if kind in ("text", "ref", "time"):
        return text or None
    try:
        return orjson.loads(text) if text.strip() else None
    except orjson.JSONDecodeError:
        raise ValidationError(language.gettext("This field holds a number, true or false, or JSON: %(text)s is "
                                               "none of those.", text=text[:40])) from None


@blp.route("/conflicts/<conflict_id>/resolve", methods=["POST"])
@office_only
def resolve(conflict_id: str):
    form = ResolveForm()
    back = {k: v for k, v in request.args.items() if k in _FILTERS}
    if not form.validate() or form.choose.data not in conflicts.CHOICES:
        if form.choose.data not in conflicts.CHOICES:
            form.choose.errors = [language.gettext("Choose one of the sides.")]
        return _page(back, 422, language.gettext("The conflict was not settled: see below."), form, conflict_id)
    svc = services()
    device = console_device(current_user.user_id)
    table = entity_table("conflict")
    found = None
    if len(conflict_id) <= 64:
        with svc.engine.connect() as conn:
            found = conn.execute(sa.select(table).where(table.c.id == conflict_id)).first()
    if found is None:
        return _page(back, 404, language.gettext("No such conflict."))
    note = conflicts.as_dict(found)
    if note["status"] != "open":
        return _page(back, 409, language.gettext("This conflict was settled already."))
    try:
        value = _typed(note, form.value.data or "") if form.choose.data == "value" else None
        with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
            settled = conflicts.resolve(batch, conflict_id, form.choose.data, value, form.reason.data.strip(),
                                        by=current_user.user_id, device_id=device)
            caller = Caller(current_user.user_id, current_user.role, device, current_user.depot_id)
            moment = datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc)
            mutation = Mutation(new_id(), "conflict", conflict_id, "update", {"status": "resolved",
                                                                             "resolution": settled}, "", None)
            batch.trail.note(caller, mutation, {"status": "applied"}, batch.now_ms, None, moment)
    except SyncError as exc:
        return _page(back, exc.status if exc.status in (404, 409) else 422,
                     language.gettext("The conflict was not settled: %(message)s", message=refusals.said(exc.code, exc.message)), form,
                     conflict_id)
    flash(language.gettext("Settled."), "done")
    return redirect(url_for("console.conflict_queue", **back))
