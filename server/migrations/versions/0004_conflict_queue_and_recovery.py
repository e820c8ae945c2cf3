"""Head office's conflict queue and device recovery.

Indexes for the queue: a status newest first (keyset paging), a row's notes (the ticket
filter), a device's (the person filter). And ``audit.recovered_by``: the head-office
person who pushed a revoked device's work from its replica file, beside the device and
its owner the entry already names.

Revision ID: 0004_conflict_queue_and_recovery
Revises: 0003_device_clock
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_conflict_queue_and_recovery"
down_revision = "0003_device_clock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("conflict_queue", "conflict", ["status", "created_at", "id"], unique=False)
    op.create_index("conflict_row", "conflict", ["entity", "row_id"], unique=False)
    op.create_index("conflict_device", "conflict", ["device_id"], unique=False)
    op.add_column("audit", sa.Column("recovered_by", sa.String(length=64), nullable=True))
