"""Device enrollment from the console: one-time codes (hashed) that a device exchanges
for its token, and the count of wrong codes per client address that locks out guessing.

Revision ID: 0014_device_enrollment
Revises: 0013_console_login
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_device_enrollment"
down_revision = "0013_console_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("device_name", sa.String(200), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
    )
    op.create_index("enrollments_user", "enrollments", ["user_id", "created_at"])
    op.create_table(
        "enrollment_failures",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failed_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
