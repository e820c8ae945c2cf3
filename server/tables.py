"""The server's tables: one per synced entity (generated from the registry) and the
sync engine's own (users, devices, change-sets, the change log, conflicts).

SQLAlchemy Core, not the ORM: pushes and pulls move rows in bulk.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.registry import REF_LENGTH, REGISTRY, Entity, Registry

__all__ = [
    "metadata", "entity_table", "users", "devices", "changesets", "change_log", "change_scope", "log_head",
    "blobs", "blob_uploads", "number_series", "audit",
]

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_COLUMN_TYPES = {
    "text": lambda f: sa.Text() if f.max_length > 1000 else sa.String(f.max_length),
    "ref": lambda f: sa.String(REF_LENGTH),
    "time": lambda f: sa.String(40),
    "json": lambda f: sa.Text(),
    "integer": lambda f: sa.BigInteger(),
    "real": lambda f: sa.Float(),
    "boolean": lambda f: sa.Boolean(),
}


def _entity_table(entity: Entity) -> sa.Table:
    columns = [sa.Column(f.name, _COLUMN_TYPES[f.type](f), nullable=True) for f in entity.fields]
    return sa.Table(
        entity.name,
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        *columns,
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, default=False),
        # {field: [hlc, version]}: when each field was last written
        sa.Column("clock", sa.Text(), nullable=False),
        # when the server received the row first, and when it last changed
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # when it happened on the device (its clock, before any re-stamp): the official
        # time for SLA and reports; skew_ms is set when that clock was not credible
        sa.Column("device_time", sa.DateTime(timezone=True)),
        sa.Column("skew_ms", sa.BigInteger()),
        sa.Column("author_device", sa.String(64)),
        *[sa.Index(f"{entity.name}_{f.name}", f.name) for f in entity.fields if f.type == "ref"],
    )


def _build(registry: Registry) -> dict[str, sa.Table]:
    return {entity.name: _entity_table(entity) for entity in registry}


_ENTITY_TABLES = _build(REGISTRY)


def entity_table(name: str) -> sa.Table:
    return _ENTITY_TABLES[name]


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("depot_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the bearer token: a stolen database holds no usable token
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# One row per change-set ever applied: a retry, weeks later, is answered from here.
changesets = sa.Table(
    "changesets",
    metadata,
    sa.Column("changeset_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("response", sa.Text(), nullable=False),
)

# The pull feed: seq is the cursor; data is the row as it stood after the change.
change_log = sa.Table(
    "change_log",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("row_id", sa.String(64), nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("hlc", sa.String(120)),
    sa.Column("data", sa.Text()),
    sa.Column("device_id", sa.String(64)),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("change_log_row", "entity", "row_id"),
)

# Which scopes a change belongs to; a pull reads only its own keys, by this index.
change_scope = sa.Table(
    "change_scope",
    metadata,
    sa.Column("scope_key", sa.String(80), primary_key=True),
    sa.Column("seq", BigId, primary_key=True, autoincrement=False),
)

# One row: the newest seq handed out, and the oldest cursor the log still serves.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    sa.Column("horizon", sa.BigInteger(), nullable=False),
)

# Content-addressed images (signatures, receipt photos): the key is their SHA-256.
blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("device_id", sa.String(64)),
)

# Uploads in progress: the bytes so far, resumed from their length.
blob_uploads = sa.Table(
    "blob_uploads",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("total", sa.Integer(), nullable=False),
    sa.Column("received", sa.LargeBinary(), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Human numbers (T2611-00042, C2611-007): the last one handed out per series and month.
number_series = sa.Table(
    "number_series",
    metadata,
    sa.Column("series", sa.String(10), primary_key=True),
    sa.Column("period", sa.String(10), primary_key=True),
    sa.Column("last", sa.Integer(), nullable=False),
)

# Who did what from which device, and when: one row per mutation a device pushed,
# applied or refused, written with the push (server.audit).
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # the server's time, and the device's (from its clock, before any re-stamp)
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("device_time", sa.DateTime(timezone=True)),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("mutation_id", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("row_id", sa.String(64), nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    # the names of the fields written (their values are in the change log, or refused)
    sa.Column("fields", sa.Text(), nullable=False),
    # applied | merged | conflict | rejected, and a rejection's code
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("code", sa.String(40)),
    sa.Column("version", sa.Integer()),
    sa.Index("audit_row", "entity", "row_id", "id"),
    sa.Index("audit_device", "device_id", "id"),
)
