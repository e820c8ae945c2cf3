"""The initial schema: the server's own tables (people, devices, change-sets, the change
log with its scope index and head, conflicts, blobs, number series, audit, ...) and one
table per entity of the registry as it stood.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('mutation_id', sa.String(length=64), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('row_id', sa.String(length=64), nullable=False),
        sa.Column('op', sa.String(length=10), nullable=False),
        sa.Column('fields', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=True),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('audit_device', 'audit', ['device_id', 'id'], unique=False)
    op.create_index('audit_row', 'audit', ['entity', 'row_id', 'id'], unique=False)
    op.create_table(
        'blob_uploads',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('received', sa.LargeBinary(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table(
        'blobs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table(
        'change_log',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('row_id', sa.String(length=64), nullable=False),
        sa.Column('op', sa.String(length=10), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('hlc', sa.String(length=120), nullable=True),
        sa.Column('data', sa.Text(), nullable=True),
        sa.Column('device_id', sa.String(length=64), nullable=True),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('change_log_row', 'change_log', ['entity', 'row_id'], unique=False)
    op.create_table(
        'change_scope',
        sa.Column('scope_key', sa.String(length=80), nullable=False),
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('scope_key', 'seq')
    )
    op.create_table(
        'changesets',
        sa.Column('changeset_id', sa.String(length=64), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('response', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('changeset_id')
    )
    op.create_table(
        'charge',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=True),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('description', sa.String(length=1000), nullable=True),
        sa.Column('collected_on_site', sa.Boolean(), nullable=True),
        sa.Column('paid', sa.Boolean(), nullable=True),
        sa.Column('invoice_number', sa.String(length=40), nullable=True),
        sa.Column('approved_by', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('charge_approved_by', 'charge', ['approved_by'], unique=False)
    op.create_index('charge_ticket_id', 'charge', ['ticket_id'], unique=False)
    op.create_table(
        'complaint',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=True),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('received_at', sa.String(length=40), nullable=True),
        sa.Column('abroad', sa.Boolean(), nullable=True),
        sa.Column('deadline', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('service_fault', sa.Boolean(), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('escalated', sa.Boolean(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('complaint_customer_id', 'complaint', ['customer_id'], unique=False)
    op.create_index('complaint_engineer_id', 'complaint', ['engineer_id'], unique=False)
    op.create_index('complaint_ticket_id', 'complaint', ['ticket_id'], unique=False)
    op.create_table(
        'conflict',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=True),
        sa.Column('row_id', sa.String(length=64), nullable=True),
        sa.Column('field', sa.String(length=80), nullable=True),
        sa.Column('rule', sa.String(length=40), nullable=True),
        sa.Column('winner', sa.String(length=10), nullable=True),
        sa.Column('kept_value', sa.Text(), nullable=True),
        sa.Column('kept_hlc', sa.String(length=120), nullable=True),
        sa.Column('lost_value', sa.Text(), nullable=True),
        sa.Column('lost_hlc', sa.String(length=120), nullable=True),
        sa.Column('mutation_id', sa.String(length=64), nullable=True),
        sa.Column('device_id', sa.String(length=64), nullable=True),
        sa.Column('notify_key', sa.String(length=80), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'contract',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('starts_on', sa.String(length=40), nullable=True),
        sa.Column('ends_on', sa.String(length=40), nullable=True),
        sa.Column('response_hours', sa.Float(), nullable=True),
        sa.Column('visit_schedule', sa.Text(), nullable=True),
        sa.Column('terms', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('contract_customer_id', 'contract', ['customer_id'], unique=False)
    op.create_table(
        'customer',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('phone', sa.String(length=50), nullable=True),
        sa.Column('contact', sa.String(length=100), nullable=True),
        sa.Column('zone', sa.String(length=50), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'equipment',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('model', sa.String(length=200), nullable=True),
        sa.Column('serial', sa.String(length=100), nullable=True),
        sa.Column('warranty_end', sa.String(length=40), nullable=True),
        sa.Column('run_hours', sa.Float(), nullable=True),
        sa.Column('mileage_km', sa.Float(), nullable=True),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('equipment_contract_id', 'equipment', ['contract_id'], unique=False)
    op.create_index('equipment_customer_id', 'equipment', ['customer_id'], unique=False)
    op.create_table(
        'expense_claim',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=True),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('site_days', sa.Float(), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('receipts', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decision_note', sa.String(length=1000), nullable=True),
        sa.Column('allowance', sa.Float(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('expense_claim_decided_by', 'expense_claim', ['decided_by'], unique=False)
    op.create_index('expense_claim_engineer_id', 'expense_claim', ['engineer_id'], unique=False)
    op.create_index('expense_claim_ticket_id', 'expense_claim', ['ticket_id'], unique=False)
    op.create_table(
        'inspection_item',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('visit_id', sa.String(length=64), nullable=True),
        sa.Column('area', sa.String(length=100), nullable=True),
        sa.Column('item', sa.String(length=300), nullable=True),
        sa.Column('result', sa.String(length=20), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('checked_at', sa.String(length=40), nullable=True),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('inspection_item_ticket_id', 'inspection_item', ['ticket_id'], unique=False)
    op.create_index('inspection_item_visit_id', 'inspection_item', ['visit_id'], unique=False)
    log_head = op.create_table(
        'log_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.Column('horizon', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    # The one row every append locks (server.changelog.claim).
    op.bulk_insert(log_head, [{'id': 1, 'last_seq': 0, 'horizon': 0}])
    op.create_table(
        'maintenance_plan',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('every_months', sa.BigInteger(), nullable=True),
        sa.Column('first_visit_on', sa.String(length=40), nullable=True),
        sa.Column('last_visit_on', sa.String(length=40), nullable=True),
        sa.Column('checklist', sa.Text(), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('maintenance_plan_contract_id', 'maintenance_plan', ['contract_id'], unique=False)
    op.create_index('maintenance_plan_customer_id', 'maintenance_plan', ['customer_id'], unique=False)
    op.create_index('maintenance_plan_engineer_id', 'maintenance_plan', ['engineer_id'], unique=False)
    op.create_table(
        'maintenance_visit',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('plan_id', sa.String(length=64), nullable=True),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('due_on', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('visited_at', sa.String(length=40), nullable=True),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('maintenance_visit_contract_id', 'maintenance_visit', ['contract_id'], unique=False)
    op.create_index('maintenance_visit_customer_id', 'maintenance_visit', ['customer_id'], unique=False)
    op.create_index('maintenance_visit_engineer_id', 'maintenance_visit', ['engineer_id'], unique=False)
    op.create_index('maintenance_visit_plan_id', 'maintenance_visit', ['plan_id'], unique=False)
    op.create_table(
        'number_series',
        sa.Column('series', sa.String(length=10), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('series', 'period')
    )
    op.create_table(
        'old_part_return',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('part_id', sa.String(length=64), nullable=True),
        sa.Column('qty', sa.Float(), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('depot_location_id', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('collected_at', sa.String(length=40), nullable=True),
        sa.Column('received_at', sa.String(length=40), nullable=True),
        sa.Column('received_by', sa.String(length=64), nullable=True),
        sa.Column('disposition', sa.String(length=20), nullable=True),
        sa.Column('disposed_at', sa.String(length=40), nullable=True),
        sa.Column('claim_outcome', sa.String(length=20), nullable=True),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('old_part_return_depot_location_id', 'old_part_return', ['depot_location_id'], unique=False)
    op.create_index('old_part_return_engineer_id', 'old_part_return', ['engineer_id'], unique=False)
    op.create_index('old_part_return_part_id', 'old_part_return', ['part_id'], unique=False)
    op.create_index('old_part_return_received_by', 'old_part_return', ['received_by'], unique=False)
    op.create_index('old_part_return_ticket_id', 'old_part_return', ['ticket_id'], unique=False)
    op.create_table(
        'part',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('spec', sa.String(length=500), nullable=True),
        sa.Column('unit', sa.String(length=20), nullable=True),
        sa.Column('returnable', sa.Boolean(), nullable=True),
        sa.Column('price', sa.Float(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'requisition',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('depot_location_id', sa.String(length=64), nullable=True),
        sa.Column('van_location_id', sa.String(length=64), nullable=True),
        sa.Column('lines', sa.Text(), nullable=True),
        sa.Column('reason', sa.String(length=1000), nullable=True),
        sa.Column('approved', sa.Boolean(), nullable=True),
        sa.Column('approved_by', sa.String(length=64), nullable=True),
        sa.Column('issued', sa.Boolean(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('requisition_approved_by', 'requisition', ['approved_by'], unique=False)
    op.create_index('requisition_depot_location_id', 'requisition', ['depot_location_id'], unique=False)
    op.create_index('requisition_engineer_id', 'requisition', ['engineer_id'], unique=False)
    op.create_index('requisition_ticket_id', 'requisition', ['ticket_id'], unique=False)
    op.create_index('requisition_van_location_id', 'requisition', ['van_location_id'], unique=False)
    op.create_table(
        'satisfaction_survey',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('attitude', sa.BigInteger(), nullable=True),
        sa.Column('skill', sa.BigInteger(), nullable=True),
        sa.Column('arrival_time', sa.BigInteger(), nullable=True),
        sa.Column('follow_through', sa.BigInteger(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('surveyed_at', sa.String(length=40), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('satisfaction_survey_engineer_id', 'satisfaction_survey', ['engineer_id'], unique=False)
    op.create_index('satisfaction_survey_ticket_id', 'satisfaction_survey', ['ticket_id'], unique=False)
    op.create_table(
        'signature',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('blob_sha256', sa.String(length=64), nullable=True),
        sa.Column('signer_name', sa.String(length=200), nullable=True),
        sa.Column('signed_at', sa.String(length=40), nullable=True),
        sa.Column('report_hash', sa.String(length=64), nullable=True),
        sa.Column('stale', sa.Boolean(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('signature_ticket_id', 'signature', ['ticket_id'], unique=False)
    op.create_table(
        'stock_location',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('depot_id', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('stock_location_engineer_id', 'stock_location', ['engineer_id'], unique=False)
    op.create_table(
        'stock_movement',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=True),
        sa.Column('part_id', sa.String(length=64), nullable=True),
        sa.Column('qty', sa.Float(), nullable=True),
        sa.Column('condition', sa.String(length=10), nullable=True),
        sa.Column('from_location_id', sa.String(length=64), nullable=True),
        sa.Column('to_location_id', sa.String(length=64), nullable=True),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('requisition_id', sa.String(length=64), nullable=True),
        sa.Column('return_id', sa.String(length=64), nullable=True),
        sa.Column('held_by', sa.String(length=64), nullable=True),
        sa.Column('occurred_at', sa.String(length=40), nullable=True),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('stock_movement_from_location_id', 'stock_movement', ['from_location_id'], unique=False)
    op.create_index('stock_movement_held_by', 'stock_movement', ['held_by'], unique=False)
    op.create_index('stock_movement_part_id', 'stock_movement', ['part_id'], unique=False)
    op.create_index('stock_movement_requisition_id', 'stock_movement', ['requisition_id'], unique=False)
    op.create_index('stock_movement_return_id', 'stock_movement', ['return_id'], unique=False)
    op.create_index('stock_movement_ticket_id', 'stock_movement', ['ticket_id'], unique=False)
    op.create_index('stock_movement_to_location_id', 'stock_movement', ['to_location_id'], unique=False)
    op.create_table(
        'ticket',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=True),
        sa.Column('provisional_number', sa.String(length=40), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('equipment_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=True),
        sa.Column('fault_description', sa.Text(), nullable=True),
        sa.Column('reported_at', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('assignee_id', sa.String(length=64), nullable=True),
        sa.Column('urgency', sa.String(length=20), nullable=True),
        sa.Column('category', sa.String(length=1), nullable=True),
        sa.Column('deadline', sa.String(length=40), nullable=True),
        sa.Column('diagnosis', sa.Text(), nullable=True),
        sa.Column('actions', sa.Text(), nullable=True),
        sa.Column('arrived_at', sa.String(length=40), nullable=True),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('zone', sa.String(length=50), nullable=True),
        sa.Column('category_note', sa.String(length=1000), nullable=True),
        sa.Column('departed_at', sa.String(length=40), nullable=True),
        sa.Column('run_hours_reading', sa.Float(), nullable=True),
        sa.Column('mileage_reading', sa.Float(), nullable=True),
        sa.Column('diagnosis_listen', sa.Text(), nullable=True),
        sa.Column('diagnosis_look', sa.Text(), nullable=True),
        sa.Column('diagnosis_check', sa.Text(), nullable=True),
        sa.Column('cause', sa.Text(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('carried_back', sa.Boolean(), nullable=True),
        sa.Column('receipt_number', sa.String(length=40), nullable=True),
        sa.Column('repair_card', sa.Text(), nullable=True),
        sa.Column('returned_at', sa.String(length=40), nullable=True),
        sa.Column('completed_at', sa.String(length=40), nullable=True),
        sa.Column('cancel_reason', sa.String(length=1000), nullable=True),
        sa.Column('source_visit_id', sa.String(length=64), nullable=True),
        sa.Column('needs_review', sa.String(length=1000), nullable=True),
        sa.Column('closed_at', sa.String(length=40), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ticket_assignee_id', 'ticket', ['assignee_id'], unique=False)
    op.create_index('ticket_contract_id', 'ticket', ['contract_id'], unique=False)
    op.create_index('ticket_customer_id', 'ticket', ['customer_id'], unique=False)
    op.create_index('ticket_equipment_id', 'ticket', ['equipment_id'], unique=False)
    op.create_index('ticket_source_visit_id', 'ticket', ['source_visit_id'], unique=False)
    op.create_table(
        'users',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('depot_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'work_log',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=True),
        sa.Column('engineer_id', sa.String(length=64), nullable=True),
        sa.Column('event', sa.String(length=20), nullable=True),
        sa.Column('at', sa.String(length=40), nullable=True),
        sa.Column('category', sa.String(length=1), nullable=True),
        sa.Column('hours', sa.Float(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('clock', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('author_device', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('work_log_engineer_id', 'work_log', ['engineer_id'], unique=False)
    op.create_index('work_log_ticket_id', 'work_log', ['ticket_id'], unique=False)
    op.create_table(
        'devices',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash')
    )
