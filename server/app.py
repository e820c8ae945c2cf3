"""The Flask app factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from flask_smorest import Api

from sync import hlc
from sync.registry import REGISTRY

from . import blobs, compression, console, entity_schemas, errors, front, limits
from .api import approvals as approvals_api
from .api import audit as audit_api
from .api import blobs as blobs_api
from .api import depot as depot_api
from .api import enroll as enroll_api
from .api import me as me_api
from .api import office as office_api
from .api import reports as reports_api
from .api import service_report as service_report_api
from .api import reports_stock as reports_stock_api
from .api import sync as sync_api
from .api.common import Services
from .db import create_schema, is_sqlite, make_engine
from .domain.config import from_mapping as domain_config
from .domain.sla import calendar as sla_calendar
from .schemas import ErrorSchema

__all__ = ["create_app", "API_TITLE"]

API_TITLE = "fieldsync"


class FieldsyncApi(Api):
    """flask-smorest's Api, documenting errors in fieldsync's one error shape."""

    ERROR_SCHEMA = ErrorSchema


def _default_database(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "fieldsync.db")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then ``FIELDSYNC_*`` environment variables (and ``DATABASE_URL``), then ``config``.

    ``CREATE_SCHEMA`` unset migrates an SQLite database to head at start-up and leaves
    PostgreSQL to ``fieldsync db upgrade`` (docs/decisions.md, "Migrations at start-up").
    """
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_mapping(
        DATABASE_URL=None,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        # a blob bigger than a request body goes in pieces (docs/protocol.md)
        BLOB_MAX_BYTES=blobs.DEFAULT_MAX_BYTES,
        BLOB_QUOTA_BYTES=blobs.DEFAULT_QUOTA_BYTES,
        API_TITLE=API_TITLE,
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS={
            "info": {"description": "Offline-first sync for after-sales field service. See docs/protocol.md."},
            "security": [{"bearerAuth": []}],
        },
        CREATE_SCHEMA=None,
    )
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("FIELDSYNC")
    if config:
        app.config.from_mapping(config)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = _default_database(app.instance_path)

    engine = make_engine(app.config["DATABASE_URL"])
    if app.config["CREATE_SCHEMA"] or (app.config["CREATE_SCHEMA"] is None and is_sqlite(engine)):
        create_schema(engine)
    app.extensions["fieldsync"] = Services(
        engine=engine,
        registry=REGISTRY,
        config=domain_config(app.config.get("DOMAIN")),
        now_ms=app.config.get("CLOCK_MS") or hlc.now_ms,
    )
    sla_calendar(app.extensions["fieldsync"].config)  # a wrong working calendar fails here, not in a push
    limits.init_app(app)

    api = FieldsyncApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(me_api.blp)
    api.register_blueprint(enroll_api.blp)
    api.register_blueprint(sync_api.blp)
    api.register_blueprint(blobs_api.blp)
    api.register_blueprint(office_api.blp)
    api.register_blueprint(service_report_api.blp)
    api.register_blueprint(approvals_api.blp)
    api.register_blueprint(depot_api.blp)
    api.register_blueprint(audit_api.blp)
    api.register_blueprint(reports_api.blp)
    api.register_blueprint(reports_stock_api.blp)
    entity_schemas.document(api.spec)
    app.register_blueprint(front.blp)
    console.init_app(app)
    errors.register(app)
    compression.register(app)
    return app
