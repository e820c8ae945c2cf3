"""Blobs behind authorization: who uploaded each blob (``blob_holders``), uploads in
progress one per blob and device with their pieces kept apart (``blob_uploads``,
``blob_pieces``), and an index on ``signature.blob_sha256`` to find the rows that name
a blob.

Uploads in progress at the upgrade are dropped: they had no owner, and the devices still
hold the bytes (their next status answers 404, and they upload from the start). Every
device recorded as a blob's uploader becomes its first holder.

Revision ID: 0002_blob_access
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0002_blob_access'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'blob_holders',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', 'device_id')
    )
    op.create_index('blob_holders_device', 'blob_holders', ['device_id'], unique=False)
    op.execute("INSERT INTO blob_holders (sha256, device_id, created_at) "
               "SELECT sha256, device_id, created_at FROM blobs WHERE device_id IS NOT NULL")

    op.drop_table('blob_uploads')
    op.create_table(
        'blob_uploads',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('received', sa.BigInteger(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', 'device_id')
    )
    op.create_index('blob_uploads_device', 'blob_uploads', ['device_id'], unique=False)
    op.create_index('blob_uploads_updated', 'blob_uploads', ['updated_at'], unique=False)
    op.create_table(
        'blob_pieces',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('start', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('sha256', 'device_id', 'start')
    )
    op.create_index('signature_blob_sha256', 'signature', ['blob_sha256'], unique=False)

