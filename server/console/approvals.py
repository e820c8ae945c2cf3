"""What waits for an approver — requisitions, expense claims and travel advances, part
sales above the threshold — and approving or refusing each from the console.

The list is :func:`server.domain.approvals.pending`, the API's. A decision is one
mutation through the push path (:func:`server.console.writes.console_write`): the
approval rule (``sync/rules/approval.py``) decides whether the signed-in person may make
it — an approver role as the deployment configures it, nobody on what they claim or
wrote, never on a record that changed since they opened the page — and a refusal is
shown as the rule gives it, with its reason in the page's language. The form carries
the version the person saw, so a claim changed meanwhile is refused, not approved
unseen.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from sync.errors import NotFoundError, ValidationError
from sync.rules.approval import APPROVED, REFUSED

from ..api.common import services
from ..domain.approvals import APPROVAL_ENTITIES, pending
from ..params import whole_number
from ..tables import entity_table, users
from . import blp, labels, language, refusals
from .sessions import office_only
from .writes import console_write

__all__ = ["approvals", "decide", "KIND"]

KIND = {"requisition": _("Parts requisition"), "expense_claim": _("Expense claim"), "charge": _("Part sale")}
CLAIM_KIND = {"advance": _("travel advance"), "claim": _("expense claim")}
_MAX_VERSION = 2**31 - 1
_NOTE = 1000


class DecisionForm(FlaskForm):
    decision = SelectField(choices=[(APPROVED, _("Approve")), (REFUSED, _("Refuse"))], validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_("Note"), validators=[Optional(), Length(max=_NOTE)])


def _names(conn: sa.Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(conn.execute(sa.select(users.c.id, users.c.name).where(users.c.id.in_(ids))).all())


def _extras(conn: sa.Connection, waiting: list[dict]) -> None:
    """Each record's version (what the decision is given on) and its readable parts:
    who claims it, the parts a requisition asks for, the ticket a sale is on."""
    for name in APPROVAL_ENTITIES:
        ids = [w["id"] for w in waiting if w["entity"] == name]
        if not ids:
            continue
        table = entity_table(name)
        versions = dict(conn.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_(ids))).all())
        for w in waiting:
            if w["entity"] == name:
                w["version"] = versions.get(w["id"])
    people = _names(conn, {w["claimant_id"] for w in waiting if w["claimant_id"]}
                    | {w["covers"].get("engineer_id") for w in waiting if w["covers"].get("engineer_id")})
    part_ids = {line.get("part_id") for w in waiting if w["entity"] == "requisition"
                for line in (w["covers"].get("lines") or []) if isinstance(line, dict)}
    parts_table = entity_table("part")
    parts = dict(conn.execute(sa.select(parts_table.c.id, parts_table.c.name)
                              .where(parts_table.c.id.in_(part_ids - {None}))).all()) if part_ids - {None} else {}
    ticket_ids = {w["covers"].get("ticket_id") for w in waiting if w["entity"] == "charge"} - {None}
    tickets_table = entity_table("ticket")
    numbers = dict(conn.execute(sa.select(tickets_table.c.id, tickets_table.c.number)
                                .where(tickets_table.c.id.in_(ticket_ids))).all()) if ticket_ids else {}
    local = timezone(timedelta(hours=services().config.local_utc_offset_hours))
    for w in waiting:
        submitted = datetime.fromisoformat(w["submitted_at"])
        if submitted.tzinfo is None:  # SQLite hands back naive times; they were stored in UTC
            submitted = submitted.replace(tzinfo=timezone.utc)
        w["submitted_local"] = submitted.astimezone(local).strftime("%Y-%m-%d %H:%M")
        who = w["claimant_id"] or w["covers"].get("engineer_id")
        w["claimant_name"] = people.get(who, who) if who else None
        w["lines"] = [{"part": parts.get(line.get("part_id")) or line.get("part_id"), "qty": line.get("qty")}
                      for line in (w["covers"].get("lines") or []) if isinstance(line, dict)]
        ticket = w["covers"].get("ticket_id")
        w["ticket_number"] = numbers.get(ticket) or ticket


@blp.route("/approvals")
@office_only
def approvals():
    svc = services()
    with svc.engine.connect() as conn:
        waiting = pending(conn, svc.config)
        _extras(conn, waiting)
    may_decide = {name: current_user.role in svc.config.approvers_of(name) for name in APPROVAL_ENTITIES}
    approvers = {name: [str(labels.ROLE.get(r, r)) for r in sorted(svc.config.approvers_of(name))]
                 for name in APPROVAL_ENTITIES}
    return render_template("console/approvals.html", waiting=waiting, may_decide=may_decide, approvers=approvers,
                           form=DecisionForm(formdata=None), kinds=KIND, claim_kinds=CLAIM_KIND,
                           threshold=svc.config.part_sale_approval_above)


@blp.route("/approvals/<entity>/<row_id>", methods=["POST"])
@office_only
def decide(entity: str, row_id: str):
    """Approve or refuse one record, as the signed-in person on the console's device."""
    if entity not in APPROVAL_ENTITIES or len(row_id) > 64:
        raise NotFoundError(language.gettext("No such record waiting for a decision."))
    table = entity_table(entity)
    with services().engine.connect() as conn:
        found = conn.execute(sa.select(table.c.id).where(table.c.id == row_id, table.c.deleted.is_(False))).first()
    if found is None:
        raise NotFoundError(language.gettext("No such record waiting for a decision."))
    form = DecisionForm()
    if not form.validate():
        flash(language.gettext("Choose approve or refuse; a note is at most %(n)d characters.", n=_NOTE), "refused")
        return redirect(url_for("console.approvals"))
    try:
        version = whole_number(form.version.data, "version", 0, _MAX_VERSION)
    except ValidationError:
        flash(language.gettext("Reload the page and decide again."), "refused")
        return redirect(url_for("console.approvals"))
    fields = {"status": form.decision.data}
    note = (form.note.data or "").strip()
    if note and entity == "expense_claim":
        fields["decision_note"] = note
    result = console_write(entity, row_id, fields, version)
    what = f"{KIND[entity]} {row_id}"
    if result["status"] == "rejected":
        reason = refusals.said(result.get("code"), result.get("message", ""))
        flash(language.gettext("Refused: %(what)s was not decided: %(reason)s.", what=what, reason=reason), "refused")
    elif form.decision.data == APPROVED:
        flash(language.gettext("Approved: %(what)s.", what=what), "done")
    else:
        flash(language.gettext("Refused by you: %(what)s.", what=what), "done")
    return redirect(url_for("console.approvals"))
