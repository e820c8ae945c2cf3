"""One way to answer a report: JSON, or CSV that Excel opens with its Chinese intact.

A report names its columns once (a key for programs, a Chinese title for people) and
hands over its rows as dicts; the caller asks for ``?format=csv`` (or sends
``Accept: text/csv``) to get the same rows as CSV: UTF-8 with a byte-order mark, because
Excel reads a BOM-less CSV in the machine's ANSI code page and shows Chinese as mojibake.
The CSV's header row is the columns' titles; the JSON names its columns with both.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import urlencode

import orjson
from flask import Response, request

from sync.errors import ValidationError

__all__ = ["Column", "wants_csv", "answer", "FORMAT_PARAM"]

BOM = "\ufeff"

#: The query parameter every report takes, for the OpenAPI description.
FORMAT_PARAM = {"name": "format", "in": "query", "required": False,
                "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
                "description": "csv: the same rows as CSV (UTF-8 with a byte-order mark, a header of column "
                               "titles); also chosen by `Accept: text/csv`"}


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # as the office reads it, in Chinese


def wants_csv() -> bool:
    """CSV when ``format=csv``, or when no format is named and the client accepts CSV before JSON."""
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in ("json", "csv"):
            raise ValidationError("format is json or csv", field="format")
        return chosen == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv"


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
           extra: Mapping | None = None) -> Response:
    """The report ``name`` as JSON (``columns``, ``rows``, ``next``, and ``extra``) or as CSV.

    A CSV carries the rows only; ``next``, when there is one, rides in a ``Link`` header
    (rel="next") so a script can page a CSV export as it pages the JSON.
    """
    if wants_csv():
        response = Response(csv_text(columns, rows), mimetype="text/csv")
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        if next_cursor:
            following = request.args.to_dict() | {"cursor": next_cursor}
            response.headers["Link"] = f'<{request.path}?{urlencode(following)}>; rel="next"'
        return response
    body = {"columns": [{"key": c.key, "title": c.title} for c in columns], "rows": list(rows), "next": next_cursor}
    return Response(orjson.dumps(body | dict(extra or {})), mimetype="application/json")
