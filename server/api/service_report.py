"""``/v1/office``: the signed service report as a PDF, and its verification.

Head office reads every ticket's report; the engineer the ticket is assigned to reads
his own (he hands it to the customer); nobody else. Verification is head office's: it
answers whether a current signature binds exactly the content it is shown.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import orjson
from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sync.errors import ForbiddenError, NotFoundError, ValidationError

from ..reports import report_verify
from ..reports.service_report import load_service_report, ticket_assignee
from ..reports.service_report_pdf import build_pdf
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("service_report", __name__, url_prefix="/v1/office",
                description="The signed service report as a PDF, and whether a signature binds a report")

_OFFICE = {"desk", "manager"}
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}", re.ASCII)


class SignatureMatchSchema(Schema):
    signature_id = fields.String(required=True)
    ticket_id = fields.String(allow_none=True, required=True)
    ticket_number = fields.String(allow_none=True, required=True)
    signer_name = fields.String(allow_none=True, required=True)
    signed_at = fields.String(allow_none=True, required=True, metadata={"description": "by the signing device"})
    received_at = fields.String(required=True, metadata={"description": "when the server received the signature"})
    report_format = fields.Integer(allow_none=True, required=True)
    current = fields.Boolean(required=True, metadata={
        "description": "signs the ticket's report as it stands, with its image stored"})


class VerificationSchema(Schema):
    verified = fields.Boolean(required=True, metadata={"description": "a current signature binds exactly this content"})
    reason = fields.String(allow_none=True, required=True, metadata={
        "description": "why not: unsigned (no signature over this hash), stale (signed, but the report changed "
                       "since), content_differs (the PDF's attachments disagree), text_differs (the PDF's "
                       "visible text is not the text of its content)"})
    hash = fields.String(required=True, metadata={"description": "SHA-256 of the canonical report, recomputed"})
    ticket_id = fields.String(allow_none=True, required=True)
    signatures = fields.List(fields.Nested(SignatureMatchSchema), required=True)


class VerifyHashSchema(Schema):
    hash = fields.String(required=True, validate=validate.Regexp("^[0-9a-f]{64}$"),
                         metadata={"description": "lowercase hex SHA-256 of a canonical report"})


@blp.route("/tickets/<ticket_id>/report.pdf", methods=["GET"])
@blp.doc(operationId="getServiceReportPdf", parameters=[
    {"name": "ticket_id", "in": "path", "required": True,
     "schema": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$"}}], responses={
    "200": {"description": "the service report, with its canonical report and content attached",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@error_answers(blp, described={403: "neither head office nor the ticket's engineer", 404: "no such ticket",
                               422: "malformed ticket id"})
@authenticated
def service_report_pdf(ticket_id: str):
    """The ticket's service report as a PDF: customer, equipment, fault, diagnosis, actions,
    parts, times, engineer, the customer's signature, the report's hash and whether the
    signature is current."""
    if not _ID.fullmatch(ticket_id):
        raise ValidationError("a ticket id is 1 to 64 letters, digits and _.:-", field="ticket_id")
    with services().engine.connect() as conn:
        role = g.user["role"]
        if role not in _OFFICE and role != "engineer":
            raise ForbiddenError("head office, or the ticket's own engineer, only")
        exists, assignee = ticket_assignee(conn, ticket_id)
        if not exists:
            raise NotFoundError(f"no ticket {ticket_id}")
        if role == "engineer" and assignee != g.user["id"]:
            raise ForbiddenError("an engineer reads the service reports of his own tickets only")
        report = load_service_report(conn, ticket_id, datetime.fromtimestamp(services().now_ms() / 1000, timezone.utc))
    return Response(build_pdf(report), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="service-report-{ticket_id}.pdf"',
        "Cache-Control": "private, no-store",
    })


@blp.route("/reports/verify", methods=["POST"])
@blp.doc(operationId="verifyServiceReport", requestBody={"required": True, "content": {
    "application/json": {"schema": VerifyHashSchema},
    "application/pdf": {"schema": {"type": "string", "format": "binary",
                                   "maxLength": report_verify.MAX_PDF_BYTES}}}})
@blp.response(200, VerificationSchema)
@error_answers(blp, described={403: "head office only", 422: "no hash or PDF, a malformed hash (invalid_hash), "
                               "a body that is no PDF (invalid_pdf), too big (pdf_too_large), or a PDF that is no "
                               "service report (not_a_service_report)"})
@authenticated
def verify_service_report():
    """Whether a current signature binds exactly this content: a report's hash (JSON
    ``{"hash": ...}``) or the service report PDF itself (``Content-Type: application/pdf``)."""
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")
    with services().engine.connect() as conn:
        if request.mimetype == "application/pdf":
            return json_response(report_verify.verify_pdf(conn, _pdf_body()))
        return json_response(report_verify.verify_hash(conn, _hash_body()))


def _pdf_body() -> bytes:
    """The body, refused by its stated length before it is read, and read no further than the limit."""
    limit = report_verify.MAX_PDF_BYTES
    if (request.content_length or 0) > limit:
        raise report_verify.UnverifiableError("pdf_too_large", f"a service report PDF is at most {limit} bytes",
                                              field="pdf")
    return request.stream.read(limit + 1)


def _hash_body() -> str:
    if request.mimetype != "application/json":
        raise ValidationError("send JSON {\"hash\": ...} or the PDF as application/pdf")
    try:
        body = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not valid JSON") from None
    if not isinstance(body, dict) or set(body) != {"hash"}:
        raise ValidationError("the body is {\"hash\": <lowercase hex SHA-256>}", field="hash")
    return report_verify.check_hash(body["hash"])
