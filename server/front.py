"""What a browser, a curl user and a load balancer meet first.

``/`` points to the rest (HTML for a browser, JSON otherwise), ``/openapi.json`` is the
document ``openapi.yaml`` holds, ``/reference`` an API reference page rendered here from
that document (no script, style or font from anywhere else: the field works offline and
so may the office's intranet), ``/docs/<name>.md`` the protocol documents when the
server runs from a source checkout, ``/healthz`` says the process answers and
``/readyz`` that the database answers and is at the newest migration.

None of these needs a token, none is in the API document (they are not the protocol),
and none counts against a device's rate limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template, request, url_for

from sync.changeset import SCHEMA_VERSION

from .errors import json_error

__all__ = ["blp", "DOCS", "spec_dict"]

blp = Blueprint("front", __name__)

_DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
#: The documents ``/docs/<name>.md`` serves, when they are there (a source checkout).
DOCS = {
    "protocol": "write a client from it",
    "entities": "every entity and field, generated from the registry",
    "operations": "running a fleet",
    "decisions": "why things are as they are",
    "sync-invariants": "what the sync promises",
}


def spec_dict() -> dict:
    """The OpenAPI document of this app, as ``openapi.yaml`` holds it."""
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def _links() -> dict:
    links = {
        "openapi": url_for("front.openapi_json"),
        "reference": url_for("front.reference"),
        "healthz": url_for("front.healthz"),
        "readyz": url_for("front.readyz"),
    }
    docs = {name: url_for("front.doc", name=name) for name in DOCS if (_DOCS_DIR / f"{name}.md").is_file()}
    return {**links, "docs": docs}


@blp.get("/")
def index() -> Response:
    spec = spec_dict()
    about = {
        "name": spec["info"]["title"],
        "description": spec["info"].get("description", ""),
        "api_version": spec["info"]["version"],
        "schema_version": SCHEMA_VERSION,
        "links": _links(),
    }
    # a browser asks for text/html by name; curl (*/*) and clients get JSON
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return Response(render_template("index.html", about=about, docs=DOCS), mimetype="text/html")
    return Response(orjson.dumps(about), mimetype="application/json")


@blp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(orjson.dumps(spec_dict()), mimetype="application/json")


@blp.get("/reference")
def reference() -> Response:
    spec = spec_dict()
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method not in ("get", "post", "put", "patch", "delete", "head"):
                continue
            operations.append(_operation(path, method, op, methods.get("parameters", [])))
    tags = [t["name"] for t in spec.get("tags", [])]
    groups = [(tag, [o for o in operations if o["tag"] == tag]) for tag in tags]
    groups.append(("other", [o for o in operations if o["tag"] not in tags]))
    schemas = [(name, _schema_rows(schema)) for name, schema in sorted(spec["components"]["schemas"].items())]
    return Response(render_template("reference.html", spec=spec, groups=[g for g in groups if g[1]],
                                    schemas=schemas, descriptions={t["name"]: t.get("description", "")
                                                                   for t in spec.get("tags", [])}),
                    mimetype="text/html")


@blp.get("/docs/<name>.md")
def doc(name: str) -> Response:
    path = _DOCS_DIR / f"{name}.md"
    if name not in DOCS or not path.is_file():
        return json_error(404, "not_found", f"no document {name}.md here")
    # Werkzeug adds "; charset=utf-8" to a text/ type: said here too, it was sent twice
    return Response(path.read_text(encoding="utf-8"), mimetype="text/markdown")


@blp.get("/healthz")
def healthz() -> Response:
    return Response(orjson.dumps({"status": "ok"}), mimetype="application/json")


@blp.get("/readyz")
def readyz() -> Response:
    from .migrations import pending_on

    engine = current_app.extensions["fieldsync"].engine
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            behind = pending_on(conn)
    except sa.exc.SQLAlchemyError as exc:
        return json_error(503, "database_unreachable", f"the database does not answer: {type(exc).__name__}")
    if behind:
        return json_error(503, "migrations_pending",
                          f"the database lacks migrations {', '.join(behind)}: run `fieldsync db upgrade`",
                          details={"pending": behind})
    return Response(orjson.dumps({"status": "ready"}), mimetype="application/json")


def _type(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "oneOf" in schema or "anyOf" in schema:
        return " | ".join(_type(s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    kind = schema.get("type", "any")
    if kind == "array":
        kind = f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        kind += " (" + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"]) + ")"
    if schema.get("nullable"):
        kind += ", nullable"
    return kind


def _schema_rows(schema: dict) -> dict:
    required = set(schema.get("required", []))
    return {
        "description": schema.get("description", ""),
        "alternatives": [_type(s) for s in schema.get("oneOf", [])],
        "properties": [
            {"name": name, "type": _type(prop), "required": name in required,
             "description": prop.get("description", ""),
             "limits": ", ".join(f"{k} {prop[k]}" for k in ("minimum", "maximum", "minLength", "maxLength", "pattern")
                                 if k in prop)}
            for name, prop in schema.get("properties", {}).items()
        ],
    }


def _operation(path: str, method: str, op: dict, shared: list) -> dict:
    body = op.get("requestBody", {}).get("content", {})
    body_type, body_schema = next(iter(body.items()), (None, None))
    return {
        "id": op.get("operationId", f"{method}-{path}"),
        "method": method.upper(),
        "path": path,
        "tag": (op.get("tags") or ["other"])[0],
        "summary": op.get("summary", ""),
        "description": op.get("description", ""),
        "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                        "type": _type(p.get("schema", {})), "description": p.get("description", "")}
                       for p in [*shared, *op.get("parameters", [])]],
        "body_type": body_type,
        "body_schema": _type(body_schema.get("schema", {})) if body_schema else None,
        "responses": [{"status": status, "description": r.get("description", ""),
                       "schema": _type(next(iter(r.get("content", {}).values()), {}).get("schema", {}))
                       if r.get("content") else ""}
                      for status, r in sorted(op.get("responses", {}).items())],
    }
