"""The Flask app factory."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from apispec import APISpec
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
    """flask-smorest's Api, documenting errors in fieldsync's one error shape, and writing
    its OpenAPI document when the document is first read, not at start-up.

    The routes are registered at once; each step that documents them (a blueprint's
    operations and tag, a security scheme, the entity schemas) is kept, in the order it
    was asked for, and run on the first read of :attr:`spec`. The document is the same;
    what it costs (0.1 s of CPU, two thirds of building an app) is paid only by the app
    that serves ``/openapi.json`` or writes ``openapi.yaml``, not by every worker and every
    test's app (docs/decisions.md, "The OpenAPI document written when first read").
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, **kwargs):
        self._undocumented: list[Callable[[APISpec], None]] = []
        self._documenting = threading.RLock()
        self._writing = False
        super().__init__(app, **kwargs)

    @property
    def spec(self) -> APISpec:
        """The OpenAPI document, its kept steps run first (once; in their order)."""
        with self._documenting:
            if not self._writing:  # a step reading the spec gets it as it stands
                self._writing = True
                try:
                    while self._undocumented:
                        self._undocumented[0](self._spec)
                        self._undocumented.pop(0)
                finally:
                    self._writing = False
        return self._spec

    @spec.setter
    def spec(self, value: APISpec) -> None:
        self._spec = value

    def document_later(self, step: Callable[[APISpec], None]) -> None:
        """Run ``step`` on the document when it is first read, after the steps kept before."""
        self._undocumented.append(step)

    def register_blueprint(self, blp, *, parameters=None, **options):
        """flask-smorest's ``register_blueprint`` (0.47), its documenting kept for later."""
        blp_name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp_name] = self
        self._app.register_blueprint(blp, **options)

        def document(spec: APISpec) -> None:
            blp.register_views_in_doc(self, self._app, spec, name=blp_name, parameters=parameters)
            spec.tag({"name": blp_name, "description": blp.description})

        self.document_later(document)


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
    api.document_later(lambda spec: spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"}))
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
    api.document_later(entity_schemas.document)  # after every blueprint: the generic schemas exist then
    app.register_blueprint(front.blp)
    console.init_app(app)
    errors.register(app)
    compression.register(app)
    return app
