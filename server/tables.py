"""The server's tables: one per synced entity (generated from the registry) and the
sync engine's own (users, devices, change-sets, the change log, conflicts).

SQLAlchemy Core, not the ORM: pushes and pulls move rows in bulk.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.registry import REGISTRY, Entity, Registry

__all__ = ["metadata", "entity_table", "users", "devices", "changesets", "change_log", "change_scope", "log_head", "conflicts"]

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_COLUMN_TYPES = {
    "text": lambda f: sa.Text() if f.max_length > 1000 else sa.String(f.max_length),
    "ref": lambda f: sa.String(64),
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("row_id", sa.String(64), nullable=False),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("winner", sa.String(10), nullable=False),
    sa.Column("kept_value", sa.Text()),
    sa.Column("kept_hlc", sa.String(120)),
    sa.Column("lost_value", sa.Text()),
    sa.Column("lost_hlc", sa.String(120)),
    sa.Column("mutation_id", sa.String(64)),
    sa.Column("device_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="open"),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("resolution", sa.Text()),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Index("conflicts_open", "status", "created_at"),
)
