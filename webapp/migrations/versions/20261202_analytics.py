"""analytics: daily and monthly counts (统计日表、月表), early-warning alerts (预警), staff
notices, a staff member's unit (their street), a dispute's risk grade, and ticket indexes on
the filing and update times and on open tickets' deadlines per grid

Revision ID: a5c3e1f7d2b4
Revises: 8b3e5d7f9a21
Create Date: 2026-12-02 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a5c3e1f7d2b4"
down_revision: str | None = "8b3e5d7f9a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("grid_code", "category", "subcategory", "channel", "department", "assignee")
COUNTS = (
    "filed", "valid", "responded", "dispatched", "closed", "closed_on_time", "closed_late",
    "solved", "rated", "satisfied", "unsatisfied", "reopened", "repeated",
    *(f"dispatch_h{i}" for i in range(10)), *(f"close_h{i}" for i in range(10)),
)  # fmt: skip
# A batch copy of the ticket table (SQLite's DROP COLUMN on downgrade) loses the expression
# index of the queue order: it is dropped first and made again after.
QUEUE_ORDER_INDEX = (
    "CREATE INDEX ix_ticket_queue_order ON ticket "
    "((status IN ('reopened', 'returned')) DESC, handoff_requested DESC, due_at, id)"
)
KEY_LENGTHS = {"grid_code": 32, "category": 64, "subcategory": 64, "channel": 16,
               "department": 64, "assignee": 100}  # fmt: skip


def upgrade() -> None:
    op.add_column("ticket", sa.Column("risk_grade", sa.String(length=8), nullable=True))
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"], unique=False)
    op.create_index("ix_ticket_updated_at", "ticket", ["updated_at"], unique=False)
    op.create_index(
        "ix_ticket_status_grid_due", "ticket", ["status", "grid_code", "due_at"], unique=False
    )
    op.add_column("console_user", sa.Column("unit_code", sa.String(length=32), nullable=True))
    op.create_table(
        "ticket_day",
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.String(length=KEY_LENGTHS[name]), nullable=False) for name in KEY),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("day", *KEY),
    )
    op.create_index("ix_ticket_day_grid", "ticket_day", ["grid_code", "day"], unique=False)
    op.create_index("ix_ticket_day_category", "ticket_day", ["category", "day"], unique=False)
    op.create_table(
        "ticket_month",
        sa.Column("month", sa.Date(), nullable=False),
        *(sa.Column(name, sa.String(length=KEY_LENGTHS[name]), nullable=False) for name in KEY[:4]),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("month", *KEY[:4]),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("refreshed_to", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("unit_code", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("ticket_numbers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alert_kind", "alert", ["kind"], unique=False)
    op.create_index("ix_alert_day", "alert", ["day"], unique=False)
    op.create_index("ix_alert_grid_code", "alert", ["grid_code"], unique=False)
    op.create_table(
        "staff_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"]),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_notice_user_id", "staff_notice", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_staff_notice_user_id", table_name="staff_notice")
    op.drop_table("staff_notice")
    op.drop_index("ix_alert_grid_code", table_name="alert")
    op.drop_index("ix_alert_day", table_name="alert")
    op.drop_index("ix_alert_kind", table_name="alert")
    op.drop_table("alert")
    op.drop_table("rollup_state")
    op.drop_table("ticket_month")
    op.drop_index("ix_ticket_day_category", table_name="ticket_day")
    op.drop_index("ix_ticket_day_grid", table_name="ticket_day")
    op.drop_table("ticket_day")
    with op.batch_alter_table("console_user") as batch:
        batch.drop_column("unit_code")
    op.drop_index("ix_ticket_queue_order", table_name="ticket")
    op.drop_index("ix_ticket_status_grid_due", table_name="ticket")
    op.drop_index("ix_ticket_updated_at", table_name="ticket")
    op.drop_index("ix_ticket_created_at", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("risk_grade")
    op.execute(QUEUE_ORDER_INDEX)
