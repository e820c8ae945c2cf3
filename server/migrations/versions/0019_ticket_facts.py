"""What the head-office figures read of each ticket, in a narrow table kept by the database
(server.reports.ticket_facts; docs/decisions.md, "The figures read a narrow copy of the
tickets"): the columns they filter on, the report and completion as local instants, the
live arrivals, and the next report of the same equipment after the completion. With it,
``report_clock``: the offset (ms) at which a date alone is read, brought to the
deployment's before a report runs.

Revision ID: 0019_ticket_facts
Revises: 0018_report_arrivals
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from server.reports import ticket_facts

revision = "0019_ticket_facts"
down_revision = "0018_report_arrivals"
branch_labels = None
depends_on = None

#: the configuration's default offset (Beijing time); the first report agrees it
_DEFAULT_OFFSET_MS = 8 * 3_600_000


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table("report_clock", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("offset_ms", sa.BigInteger(), nullable=False))
    op.execute(f"INSERT INTO report_clock (id, offset_ms) VALUES (1, {_DEFAULT_OFFSET_MS})")
    op.create_table(
        "ticket_facts",
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
        sa.Column("reported_ms", sa.BigInteger()),
        sa.Column("completed_ms", sa.BigInteger()),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.Column("next_report_ms", sa.BigInteger()),
    )
    op.create_index("ticket_facts_reported", "ticket_facts", ["reported_ms"])
    op.create_index("ticket_facts_completed", "ticket_facts", ["completed_ms"])
    op.create_index("ticket_facts_equipment", "ticket_facts", ["equipment_id", "reported_ms"])
    ticket_facts.fill(bind)
    for statement in ticket_facts.triggers(bind.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in ticket_facts.drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("ticket_facts")
    op.drop_table("report_clock")
