"""What a signed service report shows, read from the synced records.

The report a customer signs is the canonical one of :mod:`sync.report` (the ticket's
report fields and the parts consumed on it); the PDF prints it with what a reader needs
around it — customer, equipment, engineer, times — and the signature that binds it.
``document`` is that whole content as plain JSON: the PDF is drawn from it, carries it,
and its verification (:mod:`server.reports.report_verify`) draws the text again from it.

The signature shown is the ticket's current one (the latest, if the customer signed more
than once); with none current, the latest stale one, marked not current. The canonical
report is made in the shown signature's format, so a current signature's hash is the
report's; a stale one's differs, and the PDF says so.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson
import sqlalchemy as sa
from PIL import Image

from sync.entities import REPORT_FIELDS
from sync.errors import NotFoundError
from sync.report import REPORT_FORMAT, canonical_report

from ..tables import blobs, entity_table, users

__all__ = ["ServiceReport", "load_service_report", "parts_of", "server_time", "ticket_assignee"]


@dataclass(frozen=True)
class ServiceReport:
    #: everything the PDF prints, as JSON values (see module doc)
    document: dict
    #: the canonical report bytes of the shown signature's format; their SHA-256 is ``document["report_hash"]``
    canonical: bytes
    #: the signature image, when one is shown and its bytes arrived
    signature_image: bytes | None


def ticket_assignee(conn: sa.Connection, ticket_id: str) -> tuple[bool, str | None]:
    """``(the ticket exists, its assignee)``: a deleted ticket does not exist here."""
    tickets = entity_table("ticket")
    row = conn.execute(sa.select(tickets.c.assignee_id)
                       .where(tickets.c.id == ticket_id, tickets.c.deleted.is_(False))).first()
    return (row is not None, row.assignee_id if row is not None else None)


def load_service_report(conn: sa.Connection, ticket_id: str, issued_at: datetime) -> ServiceReport:
    """The ticket's service report as it stands, with its shown signature."""
    tickets = entity_table("ticket")
    ticket = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id, tickets.c.deleted.is_(False))
                          ).mappings().first()
    if ticket is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    signature = _shown_signature(conn, ticket_id)
    report_format = (signature["report_format"] or 1) if signature is not None else REPORT_FORMAT
    canonical = canonical_report(ticket_id, dict(ticket), _consumed(conn, ticket_id), report_format)
    body = orjson.loads(canonical)
    report_hash = hashlib.sha256(canonical).hexdigest()
    image = _image(conn, signature)
    document = {
        "ticket_id": ticket_id,
        "ticket_number": ticket["number"] or ticket["provisional_number"],
        "category": ticket["category"],
        "customer": _customer(conn, ticket["customer_id"]),
        "equipment": _equipment(conn, ticket["equipment_id"]),
        "engineer": _user_name(conn, ticket["assignee_id"]),
        "report": {name: body["report"][name] for name in REPORT_FIELDS},
        "parts": _part_lines(conn, body["parts"]),
        "times": _times(ticket, signature),
        "signature": _signature_summary(signature, report_hash, image is not None),
        "report_format": report_format,
        "report_hash": report_hash,
        "issued_at": issued_at.isoformat(timespec="seconds"),
    }
    return ServiceReport(document, canonical, image)


def parts_of(document: dict) -> list[list]:
    """``[[part_id, qty], …]`` of a document, as the canonical report lists them."""
    return [[line["part_id"], line["qty"]] for line in document.get("parts") or []]


def _consumed(conn: sa.Connection, ticket_id: str) -> list[dict]:
    """The ticket's live consumptions, as the server hashes them (server.domain.effects)."""
    movements = entity_table("stock_movement")
    rows = conn.execute(sa.select(movements.c.part_id, movements.c.qty).where(
        movements.c.ticket_id == ticket_id, movements.c.kind == "consume", movements.c.deleted.is_(False)))
    return [dict(row._mapping) for row in rows]


def _shown_signature(conn: sa.Connection, ticket_id: str) -> dict | None:
    signatures = entity_table("signature")
    rows = conn.execute(sa.select(signatures, blobs.c.sha256.label("image_stored"))
                        .select_from(signatures.outerjoin(blobs, blobs.c.sha256 == signatures.c.blob_sha256))
                        .where(signatures.c.ticket_id == ticket_id, signatures.c.deleted.is_(False))
                        .order_by(signatures.c.created_at, signatures.c.id)).mappings().all()
    current = [r for r in rows if not r["stale"] and r["image_stored"] is not None]
    chosen = (current or list(rows))[-1:] or [None]
    return dict(chosen[0]) if chosen[0] is not None else None


def _image(conn: sa.Connection, signature: dict | None) -> bytes | None:
    """The signature's image, when it arrived and is a picture the PDF can draw."""
    if signature is None or signature["image_stored"] is None:
        return None
    data = bytes(conn.execute(sa.select(blobs.c.data).where(blobs.c.sha256 == signature["blob_sha256"])).scalar_one())
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # a blob is any bytes a device sent: one that is no picture is shown as such
        return None
    return data


def _customer(conn: sa.Connection, customer_id: str | None) -> dict:
    customers = entity_table("customer")
    row = conn.execute(sa.select(customers.c.name, customers.c.address, customers.c.phone)
                       .where(customers.c.id == customer_id)).mappings().first() if customer_id else None
    return _plain(row) if row is not None else {"name": None, "address": None, "phone": None}


def _equipment(conn: sa.Connection, equipment_id: str | None) -> dict:
    equipment = entity_table("equipment")
    row = conn.execute(sa.select(equipment.c.model, equipment.c.serial)
                       .where(equipment.c.id == equipment_id)).mappings().first() if equipment_id else None
    return _plain(row) if row is not None else {"model": None, "serial": None}


def _plain(row) -> dict:
    """A row as a dict keyed by plain strings (SQLAlchemy's column names are a str subclass JSON refuses)."""
    return {str(key): value for key, value in row.items()}


def _user_name(conn: sa.Connection, user_id: str | None) -> str | None:
    if not user_id:
        return None
    return conn.execute(sa.select(users.c.name).where(users.c.id == user_id)).scalar() or user_id


def _part_lines(conn: sa.Connection, totals: list[list]) -> list[dict]:
    """Each consumed part with its code, name and unit from the catalogue, in the canonical order."""
    parts = entity_table("part")
    ids = [part_id for part_id, _ in totals]
    known = {row.id: row for row in conn.execute(
        sa.select(parts.c.id, parts.c.code, parts.c.name, parts.c.unit).where(parts.c.id.in_(ids)))} if ids else {}
    return [{"part_id": part_id, "code": getattr(known.get(part_id), "code", None),
             "name": getattr(known.get(part_id), "name", None), "unit": getattr(known.get(part_id), "unit", None),
             "qty": qty} for part_id, qty in totals]


def server_time(value) -> str | None:
    """A server time as ISO-8601 with its offset (SQLite hands back UTC without one)."""
    if not isinstance(value, datetime):
        return value
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")


def _times(ticket, signature: dict | None) -> list[dict]:
    """Each moment of the job by the device's clock (the official time) and, where the
    server keeps it, when the server received the record of it."""
    return [
        {"event": "报修", "device": ticket["reported_at"], "server": server_time(ticket["created_at"])},
        {"event": "到达现场", "device": ticket["arrived_at"], "server": None},
        {"event": "完工", "device": ticket["completed_at"], "server": None},
        {"event": "客户签字", "device": signature["signed_at"] if signature else None,
         "server": server_time(signature["created_at"]) if signature else None},
        {"event": "报告最后修改", "device": server_time(ticket["device_time"]),
         "server": server_time(ticket["updated_at"])},
    ]


def _signature_summary(signature: dict | None, report_hash: str, image_shown: bool) -> dict | None:
    if signature is None:
        return None
    current = not signature["stale"] and signature["image_stored"] is not None
    return {"id": signature["id"], "signer_name": signature["signer_name"], "signed_at": signature["signed_at"],
            "signed_hash": signature["report_hash"], "current": current and signature["report_hash"] == report_hash,
            "image_shown": image_shown}
