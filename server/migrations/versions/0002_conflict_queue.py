"""Indexes for head office's conflict queue: a status newest first (keyset paging), a
row's notes (the ticket filter), a device's (the person filter).

Revision ID: 0002_conflict_queue
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002_conflict_queue"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("conflict_queue", "conflict", ["status", "created_at", "id"], unique=False)
    op.create_index("conflict_row", "conflict", ["entity", "row_id"], unique=False)
    op.create_index("conflict_device", "conflict", ["device_id"], unique=False)

