"""The depot keeper's rooms: old parts coming back, issues against approved requisitions,
count sheets against the ledger, and consumptions not yet written off.

A depot keeper sees his own depot's locations only (an old part, requisition or count of
another depot is not found); head office sees every depot, as ``/v1/depot`` answers.
Every write is a push of the console device (:func:`server.console.writes.console_writes`):
the lifecycle rule says who books an old part received or disposed of, the requisition
rule how much may still be issued, and a refusal is shown as the rule gave it. The forms
read their quantities here: digits 0-9 only, above zero, at most :data:`MAX_QTY`, whole
unless the part's unit is a measure (:data:`FRACTIONAL_UNITS`).
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta, timezone

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_login import current_user, login_required
from sync.errors import ForbiddenError
from sync.ids import new_id
from sync.rules.lifecycle import STEP_ROLES

from ..api.common import services
from ..domain import stock
from . import blp, depot_lists, language, refusals
from .lookup import MAX_ID, one_or_not_found
from .sessions import now
from .writes import Write, console_writes

__all__ = ["old_parts", "receive", "dispose", "depot_requisitions", "depot_requisition", "issue", "counts",
           "consumptions", "quantity", "FRACTIONAL_UNITS", "MAX_QTY"]

#: who reads the depot's rooms: its keepers (their own depot), head office (every depot)
READERS = frozenset({"depot", "desk", "manager"})
#: units a part is counted in fractions of (a hose by the metre); others are whole pieces
FRACTIONAL_UNITS = frozenset({"m", "kg", "L", "l", "米", "千克", "公斤", "升"})
#: more than this of one part on one form is a typing slip, not a delivery
MAX_QTY = 100_000
_NUMBER = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")
_MAX_NOTE = 1000
_MAX_VERSION = 2**31 - 1
_PAGES = 100_000
DISPOSITIONS = {"repair": _("repair"), "scrap": _("scrap"), "supplier_claim": _("supplier claim")}
RETURN_STATUS = {"expected": _("expected"), "collected": _("collected by the engineer"),
                 "received": _("received"), "disposed": _("disposed of")}
WAITS = {"signature": _("signature"), "old_part": _("old part")}
CONDITIONS = {"new": _("new"), "old": _("old")}
APPROVAL = {"submitted": _("submitted"), "approved": _("approved"), "refused": _("refused")}


class BadInput(Exception):
    """A form value a person typed that cannot be used: the message says why, in the page's language."""


def depot_room(view):
    """Depot keepers and head office; ``g.only`` is the depot's locations (``None``: every depot)."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in READERS:
            raise ForbiddenError(language.gettext("Only depot keepers and head office may open the depot's pages."))
        if current_user.role == "depot":
            if not current_user.depot_id:
                raise ForbiddenError(language.gettext("You are not assigned to a depot: ask head office."))
            with services().engine.connect() as conn:
                g.only = stock.depot_locations(conn, current_user.depot_id)
        else:
            g.only = None
        return view(*args, **kwargs)

    return wrapper


@blp.context_processor
def _depot_words() -> dict:
    return {"conditions": CONDITIONS, "approval_words": APPROVAL}


# -- reading what was typed ---------------------------------------------------------------


def quantity(raw: str | None, part_name: str, unit: str | None) -> float:
    """A quantity typed for a part; 0 when left empty. :class:`BadInput` says what is wrong."""
    text = (raw or "").strip()
    if not text:
        return 0.0
    if text.startswith("-"):
        raise BadInput(language.gettext("%(part)s: a quantity cannot be negative.", part=part_name))
    if not text.isascii():
        raise BadInput(language.gettext("%(part)s: write the quantity with the digits 0 to 9.", part=part_name))
    if not _NUMBER.fullmatch(text):
        raise BadInput(language.gettext("%(part)s: “%(text)s” is not a quantity.", part=part_name, text=text[:20]))
    value = float(text)
    if value > MAX_QTY:
        raise BadInput(language.gettext("%(part)s: at most %(most)s at a time.", part=part_name, most=MAX_QTY))
    if value != int(value) and (unit or "") not in FRACTIONAL_UNITS:
        raise BadInput(language.gettext("%(part)s is counted in whole units (%(unit)s).", part=part_name,
                                        unit=unit or "—"))
    return value


def _version(raw: str | None) -> int:
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= _MAX_VERSION):
        raise BadInput(language.gettext("This form is damaged: reload the page and try again."))
    return int(text)


def _page() -> int:
    raw = request.args.get("page", "1") or "1"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= _PAGES):
        raise BadInput(language.gettext("The page number is not a number from 1 to %(most)s.", most=_PAGES))
    return int(raw)


def _engineer_filter() -> str:
    value = request.args.get("engineer", "").strip()
    if len(value) > MAX_ID or not value.isprintable():
        raise BadInput(language.gettext("That engineer is not in the list."))
    return value


def _local_now_text() -> str:
    offset = timezone(timedelta(hours=services().config.local_utc_offset_hours))
    return now().astimezone(offset).isoformat(timespec="seconds")


# -- what became of a write ---------------------------------------------------------------

def _refusal_text(result: dict) -> str:
    return refusals.refused_text(result.get("code"), result.get("message", ""))


def _refused(results: list[dict]) -> dict | None:
    return next((r for r in results if r["status"] == "rejected"), None)


# -- old parts ----------------------------------------------------------------------------


@blp.route("/depot/old-parts")
@depot_room
def old_parts():
    return _old_parts_page()


def _old_parts_page(problem: str | None = None, status: int = 200):
    try:
        engineer, page = _engineer_filter(), _page()
    except BadInput as bad:
        engineer, page, problem, status = "", 1, str(bad), 422
    moment = now()
    with services().engine.connect() as conn:
        out, by_engineer = depot_lists.old_parts_out(conn, g.only, engineer, page, moment)
        back = depot_lists.old_parts_back(conn, g.only, moment)
    return render_template("console/depot_old_parts.html", out=out, by_engineer=by_engineer, back=back,
                           engineer=engineer, problem=problem, room="old_parts",
                           may_receive=current_user.role in STEP_ROLES["received"],
                           may_dispose=current_user.role in STEP_ROLES["disposed"],
                           dispositions=DISPOSITIONS, statuses=RETURN_STATUS), status


def _return(return_id: str) -> dict:
    return one_or_not_found(return_id, lambda conn, found: depot_lists.one_return(conn, g.only, found),
                            language.gettext("No such old part at your depot."))


@blp.route("/depot/old-parts/<return_id>/receive", methods=["POST"])
@depot_room
def receive(return_id: str):
    """Book an old part received: the return's step, and the part from the engineer's van
    into the depot's old-parts bin, in one push."""
    back = _return(return_id)
    try:
        version = _version(request.form.get("version"))
    except BadInput as bad:
        return _old_parts_page(str(bad), 422)
    if back["status"] in ("received", "disposed"):
        flash(language.gettext("This old part was already booked received."), "conflict")
        return redirect(url_for("console.old_parts"))
    moment = _local_now_text()
    changes = [Write("old_part_return", return_id, {"status": "received", "received_at": moment,
                                                       "received_by": current_user.user_id}, version)]
    with services().engine.connect() as conn:
        van = depot_lists.engineer_van(conn, back)
    if van and back["depot_location_id"] and back["part_id"] and back["qty"]:
        changes.append(Write("stock_movement", new_id(), {
            "kind": "old_part_received", "part_id": back["part_id"], "qty": back["qty"], "condition": "old",
            "from_location_id": van, "to_location_id": back["depot_location_id"], "return_id": return_id,
            "held_by": back["engineer_id"], "occurred_at": moment}, op="insert"))
    _tell(console_writes(changes), language.gettext("Old part booked received."))
    return redirect(url_for("console.old_parts"))


def _tell(results: list[dict], done: str) -> None:
    """Say what became of a step and the ledger entry that follows it."""
    refused = _refused(results)
    if refused is None:
        flash(done, "done")
    elif refused is results[0]:
        flash(_refusal_text(refused), "refused")
    else:
        flash(language.gettext("%(done)s But its entry in the stock ledger was refused: %(why)s", done=done,
                               why=_refusal_text(refused)), "conflict")


@blp.route("/depot/old-parts/<return_id>/dispose", methods=["POST"])
@depot_room
def dispose(return_id: str):
    """Dispose of a received old part: repaired, scrapped (written off) or sent back to
    its supplier on a claim (its outcome pending)."""
    back = _return(return_id)
    disposition = request.form.get("disposition", "")
    note = request.form.get("note", "").strip()
    try:
        version = _version(request.form.get("version"))
        if disposition not in DISPOSITIONS:
            raise BadInput(language.gettext("Choose what became of the old part: repair, scrap or supplier claim."))
        if len(note) > _MAX_NOTE or not note.replace("\n", " ").replace("\r", " ").isprintable():
            raise BadInput(language.gettext("The note is at most %(most)s characters of text.", most=_MAX_NOTE))
    except BadInput as bad:
        return _old_parts_page(str(bad), 422)
    if back["status"] == "disposed":
        flash(language.gettext("This old part was already disposed of."), "conflict")
        return redirect(url_for("console.old_parts"))
    moment = _local_now_text()
    fields = {"status": "disposed", "disposition": disposition, "disposed_at": moment}
    if note:
        fields["note"] = note
    changes = [Write("old_part_return", return_id, fields, version)]
    if disposition != "repair" and back["depot_location_id"] and back["part_id"] and back["qty"]:
        changes.append(Write("stock_movement", new_id(), {
            "kind": "write_off" if disposition == "scrap" else "supplier_claim", "part_id": back["part_id"],
            "qty": back["qty"], "condition": "old", "from_location_id": back["depot_location_id"],
            "return_id": return_id, "held_by": current_user.user_id, "occurred_at": moment,
            **({"note": note} if note else {})}, op="insert"))
    _tell(console_writes(changes), language.gettext("Old part disposed of: %(how)s.", how=DISPOSITIONS[disposition]))
    return redirect(url_for("console.old_parts"))


# -- issuing against requisitions -----------------------------------------------------------


@blp.route("/depot/requisitions")
@depot_room
def depot_requisitions():
    problem, status, page = None, 200, 1
    try:
        page = _page()
    except BadInput as bad:
        problem, status = str(bad), 422
    with services().engine.connect() as conn:
        listed = depot_lists.open_requisitions(conn, g.only, page)
    return render_template("console/depot_requisitions.html", listed=listed, problem=problem,
                           room="requisitions"), status


def _requisition(requisition_id: str) -> dict:
    return one_or_not_found(requisition_id, lambda conn, found: depot_lists.one_requisition(conn, g.only, found),
                            language.gettext("No such requisition at your depot."))


@blp.route("/depot/requisitions/<requisition_id>")
@depot_room
def depot_requisition(requisition_id: str):
    return _requisition_page(_requisition(requisition_id))


def _requisition_page(asked: dict, problem: str | None = None, status: int = 200, typed: dict | None = None):
    return render_template("console/depot_requisition.html", asked=asked, problem=problem, typed=typed or {},
                           room="requisitions"), status


@blp.route("/depot/requisitions/<requisition_id>/issue", methods=["POST"])
@depot_room
def issue(requisition_id: str):
    """Issue what was typed per line to the requisition's van: one issue per part, in one
    push. The requisition rule decides how much may go; its refusal is shown."""
    asked = _requisition(requisition_id)
    typed = {line["part_id"]: request.form.get(f"qty-{line['part_id']}", "")[:40]
             for line in asked["balance"]["lines"]}
    try:
        wanted = [(line, quantity(typed[line["part_id"]], line["part"].get("name") or line["part_id"],
                                  line["part"].get("unit")))
                  for line in asked["balance"]["lines"]]
    except BadInput as bad:
        return _requisition_page(asked, str(bad), 422, typed)
    wanted = [(line, qty) for line, qty in wanted if qty > 0]
    if not wanted:
        return _requisition_page(asked, language.gettext("Type how many to issue of at least one part."), 422, typed)
    moment = _local_now_text()
    changes = [Write("stock_movement", new_id(), {
        "kind": "issue", "part_id": line["part_id"], "qty": qty, "condition": "new",
        "from_location_id": asked["depot_location_id"], "to_location_id": asked["van_location_id"],
        "requisition_id": requisition_id, "held_by": asked["engineer_id"], "occurred_at": moment}, op="insert")
        for line, qty in wanted]
    results = console_writes(changes)
    refused = _refused(results)
    issued = [line["part"].get("name") or line["part_id"] for (line, _), result in zip(wanted, results)
              if result["status"] != "rejected"]
    if issued:
        flash(language.gettext("Issued to the van: %(parts)s.", parts="、".join(issued)), "done")
    if refused is not None:
        line, qty = wanted[len(results) - 1]
        part = line["part"].get("name") or line["part_id"]
        flash(language.gettext("%(part)s × %(qty)s: %(why)s Approved %(approved)s, issued %(issued)s, left "
                               "%(left)s.", part=part, qty=f"{qty:g}", why=_refusal_text(refused),
                               approved=f"{line['approved']:g}", issued=f"{line['issued']:g}",
                               left=f"{line['left']:g}"), "refused")
        if len(results) < len(wanted):
            flash(language.gettext("The lines after it were not issued."), "refused")
    return redirect(url_for("console.depot_requisition", requisition_id=requisition_id))


# -- count sheets, consumptions -----------------------------------------------------------


@blp.route("/depot/counts")
@depot_room
def counts():
    with services().engine.connect() as conn:
        pending, approved = depot_lists.counts(conn, g.only)
    return render_template("console/depot_counts.html", pending=pending, approved=approved, room="counts")


@blp.route("/depot/consumptions")
@depot_room
def consumptions():
    problem, status = None, 200
    try:
        engineer, page = _engineer_filter(), _page()
    except BadInput as bad:
        engineer, page, problem, status = "", 1, str(bad), 422
    with services().engine.connect() as conn:
        listed, by_engineer = depot_lists.consumptions(conn, g.only, engineer, page, now())
        written_off = depot_lists.write_offs(conn, g.only, services().config.local_utc_offset_hours)
    return render_template("console/depot_consumptions.html", listed=listed, by_engineer=by_engineer,
                           written_off=written_off, engineer=engineer, problem=problem, waits=WAITS,
                           room="consumptions"), status
