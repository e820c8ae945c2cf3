"""Does a current signature bind exactly this content? Asked of a hash or of a report PDF.

A hash is looked up among the signatures' ``report_hash``. A PDF is believed only as far
as its content proves (docs/decisions.md, "Service report PDF verification"): its
attachment of canonical report bytes is hashed anew (a printed hash proves nothing), the
document it carries must hold that same report, and its visible text must read as the
text drawn from that document — a line changed on the page, or in either attachment
alone, and the PDF is not verified. The PDF is read by PDFium (``pypdfium2``), the engine
of a mainstream browser, which is built to take hostile files; it is bounded before it
is opened (bytes) and after (pages).
"""

from __future__ import annotations

import hashlib
import re
import threading

import orjson
import pypdfium2 as pdfium
import sqlalchemy as sa

from sync.errors import ValidationError

from ..tables import blobs, entity_table
from .service_report import parts_of, server_time
from .service_report_pdf import CANONICAL_NAME, DOCUMENT_NAME, visible_text

__all__ = ["MAX_PDF_BYTES", "MAX_PAGES", "UnverifiableError", "check_hash", "verify_hash", "verify_pdf"]

#: A service report with its signature image is some hundred kilobytes; room to spare.
MAX_PDF_BYTES = 4 * 1024 * 1024
#: A service report fills a page or two.
MAX_PAGES = 20
_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)
#: PDFium is not thread-safe: one document at a time in a process
_PDFIUM = threading.Lock()


class UnverifiableError(ValidationError):
    """Input that cannot be verified at all: its ``code`` says why (``invalid_hash``,
    ``invalid_pdf``, ``pdf_too_large``, ``not_a_service_report``)."""

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message, field=field)
        self.code = code


def check_hash(value) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise UnverifiableError("invalid_hash", "hash is the lowercase hex SHA-256 of a canonical report (64 "
                                "characters 0-9a-f)", field="hash")
    return value


def verify_hash(conn: sa.Connection, report_hash: str) -> dict:
    """The signatures made over ``report_hash``; verified when one of them is current."""
    signatures = _signatures(conn, check_hash(report_hash))
    current = [s for s in signatures if s["current"]]
    reason = None if current else ("stale" if signatures else "unsigned")
    ticket = (current or signatures or [{}])[0].get("ticket_id")
    return {"verified": bool(current), "reason": reason, "hash": report_hash, "ticket_id": ticket,
            "signatures": signatures}


def verify_pdf(conn: sa.Connection, data: bytes) -> dict:
    """The PDF's content checked against itself, then its canonical report's hash looked up."""
    canonical, document, text = _read(data)
    report_hash = hashlib.sha256(canonical).hexdigest()
    try:
        body = orjson.loads(canonical)
        same = (isinstance(body, dict) and document.get("report_hash") == report_hash
                and document.get("ticket_id") == body.get("ticket_id") and document.get("report") == body.get("report")
                and parts_of(document) == body.get("parts"))
        expected = visible_text(document)
    except (orjson.JSONDecodeError, AttributeError, TypeError, KeyError):
        raise UnverifiableError("not_a_service_report", "the PDF's attachments are not a fieldsync service report",
                                field="pdf") from None
    if not same or "".join(text.split()) != expected:
        return {"verified": False, "reason": "content_differs" if not same else "text_differs", "hash": report_hash,
                "ticket_id": document.get("ticket_id") if isinstance(document.get("ticket_id"), str) else None,
                "signatures": []}
    return verify_hash(conn, report_hash)


def _read(data: bytes) -> tuple[bytes, dict, str]:
    """``(canonical bytes, document, the pages' text)`` of a service report PDF."""
    if len(data) > MAX_PDF_BYTES:
        raise UnverifiableError("pdf_too_large", f"a service report PDF is at most {MAX_PDF_BYTES} bytes", field="pdf")
    if not data.startswith(b"%PDF-"):
        raise UnverifiableError("invalid_pdf", "the body is not a PDF", field="pdf")
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise UnverifiableError("invalid_pdf", "the PDF cannot be read", field="pdf") from None
        try:
            if len(pdf) > MAX_PAGES:
                raise UnverifiableError("pdf_too_large", f"a service report has at most {MAX_PAGES} pages", field="pdf")
            attached = _attachments(pdf)
            text = "".join(_page_text(pdf[i]) for i in range(len(pdf)))
        finally:
            pdf.close()
    if CANONICAL_NAME not in attached or DOCUMENT_NAME not in attached:
        raise UnverifiableError("not_a_service_report", f"the PDF carries no {CANONICAL_NAME} and "
                                f"{DOCUMENT_NAME}: it is not a fieldsync service report", field="pdf")
    try:
        document = orjson.loads(attached[DOCUMENT_NAME])
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise UnverifiableError("not_a_service_report", f"{DOCUMENT_NAME} is not a report document", field="pdf")
    return attached[CANONICAL_NAME], document, text


def _attachments(pdf: pdfium.PdfDocument) -> dict[str, bytes]:
    out = {}
    for index in range(min(pdf.count_attachments(), 16)):
        attachment = pdf.get_attachment(index)
        name = attachment.get_name()
        if name in (CANONICAL_NAME, DOCUMENT_NAME) and name not in out:
            try:
                out[name] = bytes(attachment.get_data())
            except pdfium.PdfiumError:
                continue
    return out


def _page_text(page) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range()
    finally:
        textpage.close()
        page.close()


def _signatures(conn: sa.Connection, report_hash: str) -> list[dict]:
    """Every signature over ``report_hash``; current while not stale, with its image here, on a live ticket."""
    signatures, tickets = entity_table("signature"), entity_table("ticket")
    rows = conn.execute(
        sa.select(signatures.c.id, signatures.c.ticket_id, signatures.c.signer_name, signatures.c.signed_at,
                  signatures.c.created_at, signatures.c.stale, signatures.c.report_format,
                  blobs.c.sha256.label("image"), tickets.c.number, tickets.c.deleted.label("ticket_deleted"))
        .select_from(signatures.outerjoin(blobs, blobs.c.sha256 == signatures.c.blob_sha256)
                     .outerjoin(tickets, tickets.c.id == signatures.c.ticket_id))
        .where(signatures.c.report_hash == report_hash, signatures.c.deleted.is_(False))
        .order_by(signatures.c.created_at, signatures.c.id).limit(100)).all()
    return [{"signature_id": r.id, "ticket_id": r.ticket_id, "ticket_number": r.number, "signer_name": r.signer_name,
             "signed_at": r.signed_at, "received_at": server_time(r.created_at),
             "report_format": r.report_format,
             "current": not r.stale and r.image is not None and r.ticket_deleted is False} for r in rows]
