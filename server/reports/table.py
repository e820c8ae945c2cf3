"""One way to answer a report: JSON, CSV that Excel opens with its Chinese intact, or PDF.

A report names its columns once (a key for programs, a Chinese title for people) and
hands over its rows as dicts; the caller asks for ``?format=csv`` (or sends
``Accept: text/csv``) to get the same rows as CSV: UTF-8 with a byte-order mark, because
Excel reads a BOM-less CSV in the machine's ANSI code page and shows Chinese as mojibake.
The CSV's header row is the columns' titles; the JSON names its columns with both.
``?format=pdf`` (or ``Accept: application/pdf``) prints the same columns and rows as a
landscape table under the report's title and the filters asked (:mod:`.table_pdf`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request

from sync.errors import ValidationError

from .table_pdf import table_pdf

__all__ = ["Column", "wanted_format", "wants_csv", "answer", "FORMAT_PARAM", "FORMAT_ANSWERS", "FORMATS"]

BOM = "\ufeff"

FORMATS = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}
#: query parameters that choose the answer's form or page, not its rows: no filter printed on a PDF
_NOT_FILTERS = ("format", "cursor")

#: The query parameter every report takes, for the OpenAPI description.
#: the 200 answer's other forms, beside the JSON its schema describes
FORMAT_ANSWERS = {200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
FORMAT_PARAM = {"name": "format", "in": "query", "required": False,
                "schema": {"type": "string", "enum": list(FORMATS), "default": "json"},
                "description": "csv: the same rows as CSV (UTF-8 with a byte-order mark, a header of column "
                               "titles); also chosen by `Accept: text/csv`. pdf: the same columns and rows as a "
                               "printable landscape table with the report's title and filters; also chosen by "
                               "`Accept: application/pdf`"}


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # as the office reads it, in Chinese


def wanted_format() -> str:
    """``format`` when named; else the first of JSON, CSV and PDF the client accepts best (JSON by default)."""
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in FORMATS:
            raise ValidationError("format is json, csv or pdf", field="format")
        return chosen
    best = request.accept_mimetypes.best_match(list(FORMATS.values()), default="application/json")
    return next(name for name, mime in FORMATS.items() if mime == best)


def wants_csv() -> bool:
    """CSV when ``format=csv``, or when no format is named and the client accepts CSV before JSON."""
    return wanted_format() == "csv"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(round(value, 6)).removesuffix(".0") if value == value else ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    text = str(value)
    # a cell that begins like a formula is run by Excel: quote it as text (OWASP "CSV injection")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.isascii()


def csv_text(columns: list[Column], rows: Iterable[Mapping]) -> str:
    """The rows as CSV text with a BOM and a header of titles."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.title for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c.key)) for c in columns])
    return out.getvalue()


def answer(name: str, columns: list[Column], rows: list[Mapping], *, next_cursor: str | None = None,
           extra: Mapping | None = None, title: str | None = None) -> Response:
    """The report ``name`` as JSON (``columns``, ``rows``, ``next``, and ``extra``), as CSV,
    or as PDF headed by ``title`` (the office's name for the report; ``name`` without one).

    A CSV or a PDF carries the rows only; ``next``, when there is one, rides in a ``Link``
    header (rel="next") so a script can page an export as it pages the JSON.
    """
    chosen = wanted_format()
    if chosen == "csv":
        response = Response(csv_text(columns, rows), mimetype="text/csv")
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return _with_next(response, next_cursor)
    if chosen == "pdf":
        filters = [(key, value) for key, value in request.args.items(multi=True) if key not in _NOT_FILTERS]
        made_at = datetime.fromtimestamp(current_app.extensions["fieldsync"].now_ms() / 1000, timezone.utc)
        pdf = table_pdf(title or name, [c.title for c in columns], [c.key for c in columns], rows, filters,
                        made_at.isoformat(timespec="seconds"), more=bool(next_cursor))
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        return _with_next(response, next_cursor)
    body = {"columns": [{"key": c.key, "title": c.title} for c in columns], "rows": list(rows), "next": next_cursor}
    return Response(orjson.dumps(body | dict(extra or {})), mimetype="application/json")


def _with_next(response: Response, next_cursor: str | None) -> Response:
    if next_cursor:
        following = request.args.to_dict() | {"cursor": next_cursor}
        response.headers["Link"] = f'<{request.path}?{urlencode(following)}>; rel="next"'
    return response
