"""lifecycle extension: caller name, urges, supervision and extension requests on tickets

Revision ID: 4d7e9a1c2b60
Revises: 9c4e2a7b1f03
Create Date: 2026-12-02 08:00:00

转办、退回、延期、催办、督办、回访 are events on the ticket (ticket_event); the ticket keeps what
the queue shows and filters by: how often it was urged, whether it is supervised, an extension
request waiting for approval. The caller's name comes from hotline intake. ``my tickets``
finds a staff member's tickets through the events they left: ix_ticket_event_actor.
A ticket returned by its unit (已退回) comes first in the review queue with the reopened ones,
so the queue-order index now reads both statuses.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4d7e9a1c2b60"
down_revision: str | None = "9c4e2a7b1f03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_ORDER_INDEX = (
    "CREATE INDEX ix_ticket_queue_order ON ticket "
    "((status IN ('reopened', 'returned')) DESC, handoff_requested DESC, due_at, id)"
)
PREVIOUS_QUEUE_ORDER_INDEX = (
    "CREATE INDEX ix_ticket_queue_order ON ticket "
    "((status = 'reopened') DESC, handoff_requested DESC, due_at, id)"
)


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN): a batch copy of the table would lose
    # the expression index of the queue order, which is replaced below.
    op.add_column("ticket", sa.Column("caller_name", sa.String(length=32), nullable=True))
    op.add_column(
        "ticket", sa.Column("urge_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "ticket", sa.Column("supervised", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("ticket", sa.Column("extension_days", sa.Integer(), nullable=True))
    op.add_column("ticket", sa.Column("extension_reason", sa.String(length=200), nullable=True))
    op.create_index("ix_ticket_event_actor", "ticket_event", ["actor", "ticket_id"])
    op.drop_index("ix_ticket_queue_order", table_name="ticket")
    op.execute(QUEUE_ORDER_INDEX)


def downgrade() -> None:
    op.drop_index("ix_ticket_queue_order", table_name="ticket")
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_actor")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for column in (
            "extension_reason", "extension_days", "supervised", "urge_count", "caller_name"
        ):  # fmt: skip
            batch_op.drop_column(column)
    op.execute(PREVIOUS_QUEUE_ORDER_INDEX)
