"""A device's clock, measured at each push: its skew, when it was measured and the newest
stamp its writes were ordered by on the device's row; the skew of each audited write.

Revision ID: 0003_device_clock
Revises: 0002_blob_access
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0003_device_clock'
down_revision = '0002_blob_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('devices', sa.Column('clock_skew_ms', sa.BigInteger(), nullable=True))
    op.add_column('devices', sa.Column('clock_measured_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('devices', sa.Column('last_hlc', sa.String(length=120), nullable=True))
    op.add_column('audit', sa.Column('skew_ms', sa.BigInteger(), nullable=True))
