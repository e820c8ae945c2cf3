"""The server's tables: one per synced entity (generated from the registry) and the
sync engine's own (users, devices, change-sets, the change log, conflicts).

SQLAlchemy Core, not the ORM: pushes and pulls move rows in bulk.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.registry import REF_LENGTH, REGISTRY, Entity, Registry

from .domain.moments import INSTANT_FUNCTION_DDL, INSTANTS, RECEIPT_LAG_COLUMN, RECEIPT_LAG_FUNCTION_DDL, \
    RECEIPT_LAGS, instant_column, instant_ms, lag_ms

__all__ = [
    "metadata", "entity_table", "users", "devices", "changesets", "change_log", "change_scope", "log_head",
    "blobs", "blob_holders", "blob_uploads", "blob_pieces", "number_series", "audit",
    "enrollments", "enrollment_failures", "stock_balance", "open_consumption", "ticket_facts", "report_clock",
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
        # when it happened on the device (its clock corrected by the skew measured at the
        # push, server/clocks.py): the official time for SLA and reports; skew_ms (device
        # minus server) is set when that clock was further off than the credible skew
        sa.Column("device_time", sa.DateTime(timezone=True)),
        sa.Column("skew_ms", sa.BigInteger()),
        sa.Column("author_device", sa.String(64)),
        # refs, and blob names in text fields (a blob's readers are found by the rows naming it)
        *[sa.Index(f"{entity.name}_{f.name}", f.name) for f in entity.fields
          if f.type == "ref" or (f.blob and f.type == "text")],
    )


def _build(registry: Registry) -> dict[str, sa.Table]:
    return {entity.name: _entity_table(entity) for entity in registry}


_ENTITY_TABLES = _build(REGISTRY)

# Head office's conflict queue (server.conflicts): one status newest first, a ticket's
# notes, a person's.
_CONFLICT = _ENTITY_TABLES["conflict"]
sa.Index("conflict_queue", _CONFLICT.c.status, _CONFLICT.c.created_at, _CONFLICT.c.id)
sa.Index("conflict_row", _CONFLICT.c.entity, _CONFLICT.c.row_id)
sa.Index("conflict_device", _CONFLICT.c.device_id)

# Human numbers are unique: a duplicate is refused by the database whatever hands it out
# (server.domain.numbering).
sa.Index("ticket_number_unique", _ENTITY_TABLES["ticket"].c.number, unique=True)
sa.Index("complaint_number_unique", _ENTITY_TABLES["complaint"].c.number, unique=True)

# Parts reconciliation reads the movements of one kind: consumptions, write-offs.
sa.Index("stock_movement_kind", _ENTITY_TABLES["stock_movement"].c.kind)
# The vans a depot issues to, found in van order a page at a time (server.domain.requisitions).
_ISSUE = _ENTITY_TABLES["stock_movement"]
sa.Index("stock_movement_issued_to", _ISSUE.c.to_location_id, postgresql_where=_ISSUE.c.kind == "issue",
         sqlite_where=_ISSUE.c.kind == "issue")
# The quality figures find the tickets arrived at twice in one pass over the live arrivals
# (server.reports.quality; migration 0018_report_arrivals).
_LOG = _ENTITY_TABLES["work_log"]
_ARRIVED = sa.and_(_LOG.c.event == sa.literal_column("'arrived'"), _LOG.c.deleted.is_(False))
sa.Index("work_log_arrivals", _LOG.c.ticket_id, postgresql_where=_ARRIVED, sqlite_where=_ARRIVED)
# Head office lists tickets by SLA state (server.domain.sla).
sa.Index("ticket_sla_state", _ENTITY_TABLES["ticket"].c.sla_state)
# The console's board filters tickets by zone and lists the zones (server/console/tickets.py).
sa.Index("ticket_zone", _ENTITY_TABLES["ticket"].c.zone)

# Head office's reports (server.reports) read a range of days by each record's own time
# field (text, ISO-8601: its date part orders by day, server.reports.filters.Filters.near).
_REPORT_INDEXES = {
    "work_log": (("at",),),
    "stock_movement": (("kind", "occurred_at"), ("kind", "device_time")),
    "ticket": (("reported_at",), ("completed_at",)),
    "complaint": (("received_at",),),
    "satisfaction_survey": (("surveyed_at",),),
}
for _entity, _indexes in _REPORT_INDEXES.items():
    for _columns in _indexes:
        _table = _ENTITY_TABLES[_entity]
        sa.Index(f"{_entity}_report_{'_'.join(_columns)}", *(_table.c[name] for name in _columns))

# Each time field those reports read by the tens of thousands keeps its instant beside it
# (ms, a date alone at UTC midnight): computed by the database from the field in the
# write that stores it, whatever the path (server.domain.moments.stored_moment; migration
# 0016_report_instants).
sa.event.listen(metadata, "before_create", sa.DDL(INSTANT_FUNCTION_DDL).execute_if(dialect="postgresql"))
for _entity, _fields in INSTANTS.items():
    for _field in _fields:
        _generated = sa.Computed(instant_ms(sa.literal_column(_field)), persisted=True)
        _ENTITY_TABLES[_entity].append_column(sa.Column(instant_column(_field), sa.BigInteger(), _generated))


# The appraisal's late days find the few records received long after their own time by
# that lag, kept beside them and indexed (ms; server.reports.daily._only_late; migration
# 0020_late_records): consumptions by kind first, as the report reads them.
sa.event.listen(metadata, "before_create", sa.DDL(RECEIPT_LAG_FUNCTION_DDL).execute_if(dialect="postgresql"))
for _entity, _field in RECEIPT_LAGS.items():
    _lag = sa.Computed(lag_ms(*(sa.literal_column(name) for name in ("created_at", _field, "device_time"))),
                       persisted=True)
    _ENTITY_TABLES[_entity].append_column(sa.Column(RECEIPT_LAG_COLUMN, sa.BigInteger(), _lag))
_MOVES = _ENTITY_TABLES["stock_movement"]
sa.Index("work_log_receipt_lag", _LOG.c[RECEIPT_LAG_COLUMN])
sa.Index("stock_movement_receipt_lag", _MOVES.c.kind, _MOVES.c[RECEIPT_LAG_COLUMN])


# The stock ledger's balance per location, part ('' for none) and condition: the sum of
# the live movements, kept by triggers on stock_movement (migration 0015_stock_balance;
# server.domain.stock.level_query reads it); ``movements``: how many live ones name the bin.
stock_balance = sa.Table(
    "stock_balance",
    metadata,
    sa.Column("location_id", sa.String(64), primary_key=True),
    sa.Column("part_id", sa.String(64), primary_key=True),
    sa.Column("condition", sa.String(10), primary_key=True),
    sa.Column("qty", sa.Float(), nullable=False),
    sa.Column("movements", sa.BigInteger(), nullable=False),
)

# The consumptions still open (server.domain.writeoff's rule), by id: kept by triggers on
# every table the rule reads (migration 0017_open_consumption).
open_consumption = sa.Table(
    "open_consumption",
    metadata,
    sa.Column("movement_id", sa.String(64), primary_key=True),
)


# What the head-office figures read of each ticket, kept by triggers on ticket and
# work_log (server.reports.ticket_facts, migration 0019_ticket_facts).
ticket_facts = sa.Table(
    "ticket_facts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("equipment_id", sa.String(64)),
    sa.Column("assignee_id", sa.String(64)),
    sa.Column("zone", sa.String(50)),
    sa.Column("category", sa.String(1)),
    sa.Column("status", sa.String(20)),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.Column("carried_back", sa.Boolean()),
    sa.Column("sla_state", sa.String(20)),
    sa.Column("deadline", sa.String(40)),
    # the report and the completion as local instants (ms), as stored_moment reads them
    sa.Column("reported_ms", sa.BigInteger()),
    sa.Column("completed_ms", sa.BigInteger()),
    # the live arrivals its work log holds
    sa.Column("arrivals", sa.Integer(), nullable=False),
    # the first report after its completion of another live, not cancelled ticket of its equipment
    sa.Column("next_report_ms", sa.BigInteger()),
)
sa.Index("ticket_facts_reported", ticket_facts.c.reported_ms)
sa.Index("ticket_facts_completed", ticket_facts.c.completed_ms)
sa.Index("ticket_facts_equipment", ticket_facts.c.equipment_id, ticket_facts.c.reported_ms)

# The offset (ms) at which ticket_facts reads a date alone: one row, brought to the
# deployment's before a report runs (server.reports.ticket_facts.agree_offset).
report_clock = sa.Table("report_clock", metadata, sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                        sa.Column("offset_ms", sa.BigInteger(), nullable=False))

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
    # the console's login (server/console/accounts.py): an argon2id hash, none until set,
    # and the lockout's count of failures in the current window
    sa.Column("password_hash", sa.String(200)),
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("failed_since", sa.DateTime(timezone=True)),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
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
    # its clock as its last push measured it: device minus server (ms), when, and the
    # newest stamp its writes were ordered by (the next push's stay after it)
    sa.Column("clock_skew_ms", sa.BigInteger()),
    sa.Column("clock_measured_at", sa.DateTime(timezone=True)),
    sa.Column("last_hlc", sa.String(120)),
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

# Every device that uploaded a complete blob (the first, and any that sent the same
# bytes later): it may read the blob back, and its size counts against its quota.
blob_holders = sa.Table(
    "blob_holders",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("blob_holders_device", "device_id"),
)

# Uploads in progress, one per blob and device: no device resets or extends another's.
blob_uploads = sa.Table(
    "blob_uploads",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("total", sa.BigInteger(), nullable=False),
    sa.Column("received", sa.BigInteger(), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("blob_uploads_device", "device_id"),
    sa.Index("blob_uploads_updated", "updated_at"),
)

# The pieces of an upload in progress, each as it came: a piece is one insert, never a
# rewrite of everything received so far.
blob_pieces = sa.Table(
    "blob_pieces",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("start", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
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
    # the server's time, and the device's (its clock corrected by the skew measured at
    # the push; a client that sends no sending time: its clock as it said)
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("device_time", sa.DateTime(timezone=True)),
    # the device's clock minus the server's, measured at the push (null: not measured)
    sa.Column("skew_ms", sa.BigInteger()),
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
    # the head-office person who pushed it from a revoked device's replica (server.recovery)
    sa.Column("recovered_by", sa.String(64)),
    sa.Index("audit_row", "entity", "row_id", "id"),
    sa.Index("audit_device", "device_id", "id"),
)

# A device's enrollment (server/enrollment.py): the one-time code the office handed an
# engineer, as a SHA-256 hash, until it expires or is exchanged for the device it made.
enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("device_name", sa.String(200), nullable=False),
    # the office person who asked for the code
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Column("device_id", sa.String(64)),
    sa.Index("enrollments_user", "user_id", "created_at"),
)

# Wrong enrollment codes per client address (an IPv6 address by its /64): too many in
# the window lock the address out of the exchange for a while.
enrollment_failures = sa.Table(
    "enrollment_failures",
    metadata,
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("failed_since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)
