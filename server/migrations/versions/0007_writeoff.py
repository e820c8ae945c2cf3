"""Write-offs, stocktakes and shared vans.

``stock_count``: count sheets (a location's shelf as counted, by whom and when, and its
approval). ``stock_location.crew``: the engineers who hold a van or station with its
engineer; ``stock_location.counted_as_of``: its latest approved stocktake.
``stock_movement.count_id``: the count a server-posted adjustment settles. An index on
``stock_movement.kind``: reconciliation reads the consumptions and the write-offs.

Revision ID: 0007_writeoff
Revises: 0006_approvals
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_writeoff"
down_revision = "0006_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_count",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=True),
        sa.Column("counted_by", sa.String(length=64), nullable=True),
        sa.Column("counted_at", sa.String(length=40), nullable=True),
        sa.Column("lines", sa.Text(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.String(length=40), nullable=True),
        sa.Column("as_of", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("clock", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skew_ms", sa.BigInteger(), nullable=True),
        sa.Column("author_device", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("stock_count_location_id", "stock_count", ["location_id"], unique=False)
    op.create_index("stock_count_counted_by", "stock_count", ["counted_by"], unique=False)
    op.create_index("stock_count_approved_by", "stock_count", ["approved_by"], unique=False)
    op.add_column("stock_location", sa.Column("crew", sa.Text(), nullable=True))
    op.add_column("stock_location", sa.Column("counted_as_of", sa.String(length=40), nullable=True))
    op.add_column("stock_movement", sa.Column("count_id", sa.String(length=64), nullable=True))
    op.create_index("stock_movement_count_id", "stock_movement", ["count_id"], unique=False)
    op.create_index("stock_movement_kind", "stock_movement", ["kind"], unique=False)
