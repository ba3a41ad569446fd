"""fieldwork: grid workers' and volunteers' Telegram links (one-time codes), tickets reported
by them (巡查上报、代民反映), each tier's step deadline and reminder, the dispute line's stage
and settled tier, mediation records with their sessions, and visit logs (走访日志)

Revision ID: c7d41e2a9f35
Revises: a5c3e1f7d2b4
Create Date: 2026-12-02 14:50:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "c7d41e2a9f35"
down_revision: str | None = "a5c3e1f7d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A batch copy of the ticket table (SQLite's DROP COLUMN on downgrade) loses the expression
# index of the queue order: it is dropped first and made again after.
QUEUE_ORDER_INDEX = (
    "CREATE INDEX ix_ticket_queue_order ON ticket "
    "((status IN ('reopened', 'returned')) DESC, handoff_requested DESC, due_at, id)"
)
TICKET_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("reported_by", sa.String(length=64)),
    ("on_behalf_of", sa.String(length=100)),
    ("step_due_at", sa.DateTime(timezone=True)),
    ("reminded_at", sa.DateTime(timezone=True)),
    ("dispute_stage", sa.String(length=16)),
    ("settled_tier", sa.String(length=16)),
)
USER_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("telegram_id", sa.BigInteger()),
    ("telegram_linked_at", sa.DateTime(timezone=True)),
    ("link_code_hash", sa.String(length=64)),
    ("link_code_expires_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    for name, type_ in TICKET_COLUMNS:
        op.add_column("ticket", sa.Column(name, type_, nullable=True))
    op.create_index("ix_ticket_reported_by", "ticket", ["reported_by"], unique=False)
    for name, type_ in USER_COLUMNS:
        op.add_column("console_user", sa.Column(name, type_, nullable=True))
    op.create_index("ix_console_user_telegram_id", "console_user", ["telegram_id"], unique=True)
    op.create_index(
        "ix_console_user_link_code_hash", "console_user", ["link_code_hash"], unique=True
    )
    op.create_table(
        "mediation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("mediator", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("referred_to", sa.String(length=100), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["agreement_id"], ["attachment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_table(
        "mediation_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediation_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("mediator", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mediation_id"], ["mediation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_mediation_session_mediation_id", "mediation_session", ["mediation_id"], unique=False
    )
    op.create_table(
        "visit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visit_log_username", "visit_log", ["username"], unique=False)
    op.create_index("ix_visit_log_day", "visit_log", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_visit_log_day", table_name="visit_log")
    op.drop_index("ix_visit_log_username", table_name="visit_log")
    op.drop_table("visit_log")
    op.drop_index("ix_mediation_session_mediation_id", table_name="mediation_session")
    op.drop_table("mediation_session")
    op.drop_table("mediation")
    op.drop_index("ix_console_user_link_code_hash", table_name="console_user")
    op.drop_index("ix_console_user_telegram_id", table_name="console_user")
    with op.batch_alter_table("console_user") as batch:
        for name, _ in reversed(USER_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_ticket_queue_order", table_name="ticket")
    op.drop_index("ix_ticket_reported_by", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        for name, _ in reversed(TICKET_COLUMNS):
            batch.drop_column(name)
    op.execute(QUEUE_ORDER_INDEX)
