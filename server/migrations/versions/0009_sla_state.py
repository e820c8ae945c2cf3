"""SLA state is data: the ticket's answer deadline, its arrivals on the server's time
line and its states against both deadlines (server.domain.sla), indexed by state for the
office's list. Existing tickets get their states from the first `fieldsync office
evaluate-sla` (it evaluates every ticket that has none yet).

Revision ID: 0009_sla_state
Revises: 0007_writeoff
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_sla_state"
down_revision = "0008_unique_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("answer_deadline", "answered_at", "arrived_at_server", "logged_arrival_at"):
        op.add_column("ticket", sa.Column(name, sa.String(length=40), nullable=True))
    for name in ("sla_state", "answer_state"):
        op.add_column("ticket", sa.Column(name, sa.String(length=20), nullable=True))
    op.create_index("ticket_sla_state", "ticket", ["sla_state"], unique=False)
