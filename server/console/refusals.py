"""The rules' refusals in the console's words.

A refused write carries a stable ``code`` and the rule's own ``message``, written for
the developers of a device (English, naming fields). The console shows the person the
reason in their language instead: every code a rule, the change-set check or the
server can refuse a mutation with has its words here (a test reads the codes from the
source, as the entity reference does, and fails on one without words), so a clerk
reading Chinese never meets an English sentence in the middle of a Chinese one. The
code is kept beside the words: it is what a support call quotes.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from . import language

__all__ = ["WORDS", "said", "refused_text"]

#: code → the reason, as a clause the page's sentence completes
WORDS = {
    # the approval rule
    "already_paid": _("it is paid: its decision and its amount no longer change"),
    "approval_outdated": _("it changed after you opened this page: look at it again before deciding"),
    "not_an_approver": _("your role does not decide on this record"),
    "own_approval": _("nobody decides on what they claimed or wrote: another approver does"),
    "amount_required": _("an advance is approved and paid only with its amount"),
    "approval_required": _("a part sale above the threshold is approved first"),
    "invalid_advance": _("a claim names an advance its own engineer drew"),
    # the ticket machine, the signature, the sign-off
    "invalid_transition": _("its status does not allow this change"),
    "not_signed": _("the ticket has no current signature of the customer"),
    "signature_immutable": _("a signature never changes once made"),
    "signed_before_completion": _("the customer signs only once the work is completed"),
    "unknown_ticket": _("the ticket it names does not exist"),
    "report_incomplete": _("the service report is not complete"),
    "not_returned": _("a product carried back is completed only once it is returned to the customer"),
    "not_paid_service": _("charges are collected only on paid (category A) service"),
    # the ledger, requisitions, old parts, write-offs, counts
    "append_only": _("a stock movement is never changed once made: record a new one"),
    "incomplete_movement": _("a stock movement names its part, quantity and locations"),
    "invalid_quantity": _("the quantity must be more than zero"),
    "requisition_required": _("an issue to a van names its approved requisition"),
    "requisition_not_approved": _("the requisition is not approved"),
    "issue_not_as_requested": _("the approved requisition does not list this part, depot or van"),
    "over_issue": _("more than the approval leaves to issue"),
    "not_a_holder": _("the engineer named does not hold this van"),
    "holder_required": _("several people hold this van: the requisition must name one of them"),
    "step_not_owned": _("only the depot keeper books this step of an old part"),
    "old_part_not_received": _("an old part is disposed of only once it was booked received"),
    "disposition_required": _("say what became of the old part"),
    "reason_required": _("a write-off gives its reason and who held the part"),
    "write_off_not_allowed": _("parts are written off by a depot keeper or a manager"),
    "count_approval_not_allowed": _("your role does not approve a count"),
    "count_approved": _("an approved count is closed: count again"),
    "incomplete_count": _("a count names its location, who counted and when"),
    # every entity, and the server's rights
    "field_not_owned": _("your role does not write this"),
    "server_owned_field": _("the server keeps this field itself"),
    "unknown_field": _("this record has no such field"),
    "invalid_value": _("a value is not one this field takes"),
    "too_large": _("a value is too large"),
    "not_allowed": _("your role may not change this record"),
    "forbidden": _("your role may not change this record"),
    "not_your_row": _("this is outside what you may see or change"),
}


def said(code: str | None, message: str) -> str:
    """The reason for ``code`` in the page's language; the rule's own ``message`` for a
    code this console has no words for (a newer server's), rather than nothing."""
    words = WORDS.get(code or "")
    return str(words) if words is not None else message


def refused_text(code: str | None, message: str) -> str:
    """"Refused: the reason (code)." — a refusal as a page says it."""
    return language.gettext("Refused: %(reason)s (%(code)s).", reason=said(code, message), code=code or "?")
