"""queue order index: the review queue's order read from an index (reopened first)

Revision ID: 9c4e2a7b1f03
Revises: 3f8a61c2d5b7
Create Date: 2026-12-02 05:30:00

The review queue sorts reopened tickets first, then hand-off requests, then the deadline
(``casestore.services.queue``). Without an index on that order the last page of 100,000
tickets sorted them all (0.35-0.45 s on SQLite); with it, 30 ms. The order writes
``'reopened'`` literally so that this expression index serves it (SQLite and PostgreSQL).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9c4e2a7b1f03"
down_revision: str | None = "3f8a61c2d5b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_ORDER_INDEX = (
    "CREATE INDEX ix_ticket_queue_order ON ticket "
    "((status = 'reopened') DESC, handoff_requested DESC, due_at, id)"
)


def upgrade() -> None:
    op.execute(QUEUE_ORDER_INDEX)


def downgrade() -> None:
    op.drop_index("ix_ticket_queue_order", table_name="ticket")
