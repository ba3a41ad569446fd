"""The case store's tables: tickets (工单), their append-only events, attachments, the
notifications that channels deliver to residents (and to grid workers), the analytics tables
(daily counts, early-warning alerts and the staff's notices), disputes' mediation records and
the grid workers' visit logs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, UTCDateTime


class TicketStatus(enum.StrEnum):
    """Ticket life cycle; the allowed moves are in ``casestore.services.lifecycle``."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPENED = "reopened"
    RETURNED = "returned"  # 退回: the unit it went to sent it back to the dispatcher


class Channel(enum.StrEnum):
    WEBCHAT = "webchat"
    TELEGRAM = "telegram"
    REST = "rest"
    HOTLINE = "hotline"
    OPEN311 = "open311"


class Ticket(Base):  # 工单
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    submission_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.SUBMITTED, index=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    subcategory: Mapped[str | None] = mapped_column(String(64))
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    # 社区/街道/区 code when the place is known only at that level (no grid): its queue.
    area_code: Mapped[str | None] = mapped_column(String(32), index=True)
    location_text: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(32), index=True)  # 民生档案
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    nlu_confidence: Mapped[float | None] = mapped_column(Float)
    nlu_candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    handoff_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    department: Mapped[str] = mapped_column(String(64), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    tier: Mapped[str] = mapped_column(String(16), default="grid", server_default="grid")  # 办理层级
    assigned_to: Mapped[str | None] = mapped_column(String(100))  # 承办：网格员或部门
    merged_into: Mapped[str | None] = mapped_column(String(16))
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)  # 办理结果（答复市民）
    rating: Mapped[str | None] = mapped_column(String(32))  # 满意度
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    caller_name: Mapped[str | None] = mapped_column(String(32))  # 来电人（热线录入）
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 催办次数
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 督办
    # 延期申请 waiting for approval: working days asked for and why (None: no request open).
    extension_days: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(String(200))
    # 风险等级 of a dispute (矛盾纠纷): red, orange, yellow, blue (labels.RISK_GRADE).
    risk_grade: Mapped[str | None] = mapped_column(String(8))
    # Filed by a grid worker or a volunteer (巡查上报、民情专递): their account's user name,
    # and for which resident if they passed on what someone told them (代民反映).
    reported_by: Mapped[str | None] = mapped_column(String(64), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    # The deadline of the current tier's step (grid → community → street → district): past it
    # the ticket is escalated automatically; the handler is reminded once before.
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The dispute line (矛盾纠纷): its step (labels.DISPUTE_STAGE) and the tier where it was
    # settled (不出村 / 不出乡镇 / 不出县).
    dispute_stage: Mapped[str | None] = mapped_column(String(16))
    settled_tier: Mapped[str | None] = mapped_column(String(16))

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="ticket", order_by="Attachment.id"
    )
    mediation: Mapped[Mediation | None] = relationship(back_populates="ticket")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_ticket_created_at", "created_at"),  # periods of the dashboard and warnings
        Index("ix_ticket_updated_at", "updated_at"),  # the daily counts' refresh
        # Open tickets past their deadline per grid (the dashboard's map, the assessment).
        Index("ix_ticket_status_grid_due", "status", "grid_code", "due_at"),
    )


class TicketEvent(Base):  # 工单事件 (append-only audit)
    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    # "My tickets" (我经办的工单): the tickets a staff member acted on.
    __table_args__ = (Index("ix_ticket_event_actor", "actor", "ticket_id"),)


class TicketNumberCounter(Base):
    """Per-day sequence behind ticket numbers like 2026112600001."""

    __tablename__ = "ticket_number_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Attachment(Base):  # 附件（照片）
    """An image a resident sent; linked to a ticket once one is filed in the conversation."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket | None] = relationship(back_populates="attachments")


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"


class Notification(Base):  # 通知（发给市民的消息，由渠道取走投递）
    """Outbox of messages to a resident: staff replies, status changes, satisfaction question.

    The channel that owns the conversation (Telegram bot, web chat) drains it and
    acknowledges each id once delivered; acknowledging twice is harmless.
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship()


HOUR_BUCKETS = (1, 2, 4, 8, 24, 48, 72, 120, 240)  # upper bounds (hours); the last bucket is open


class DailyCounts:  # 统计口径 — the counts of TicketDay and TicketMonth (a mapped mixin)
    filed: Mapped[int] = mapped_column(Integer, default=0)  # 受理量
    valid: Mapped[int] = mapped_column(Integer, default=0)  # 有效工单
    responded: Mapped[int] = mapped_column(Integer, default=0)  # 及时响应
    dispatched: Mapped[int] = mapped_column(Integer, default=0)  # 已派单
    closed: Mapped[int] = mapped_column(Integer, default=0)  # 已办结
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)  # 按时办结
    closed_late: Mapped[int] = mapped_column(Integer, default=0)  # 超期办结
    solved: Mapped[int] = mapped_column(Integer, default=0)  # 已解决
    rated: Mapped[int] = mapped_column(Integer, default=0)  # 已评价
    satisfied: Mapped[int] = mapped_column(Integer, default=0)  # 满意、基本满意
    unsatisfied: Mapped[int] = mapped_column(Integer, default=0)  # 不满意
    reopened: Mapped[int] = mapped_column(Integer, default=0)  # 重新办理
    repeated: Mapped[int] = mapped_column(Integer, default=0)  # 重复诉求
    dispatch_h0: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h1: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h2: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h3: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h4: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h5: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h6: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h7: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h8: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_h9: Mapped[int] = mapped_column(Integer, default=0)
    close_h0: Mapped[int] = mapped_column(Integer, default=0)
    close_h1: Mapped[int] = mapped_column(Integer, default=0)
    close_h2: Mapped[int] = mapped_column(Integer, default=0)
    close_h3: Mapped[int] = mapped_column(Integer, default=0)
    close_h4: Mapped[int] = mapped_column(Integer, default=0)
    close_h5: Mapped[int] = mapped_column(Integer, default=0)
    close_h6: Mapped[int] = mapped_column(Integer, default=0)
    close_h7: Mapped[int] = mapped_column(Integer, default=0)
    close_h8: Mapped[int] = mapped_column(Integer, default=0)
    close_h9: Mapped[int] = mapped_column(Integer, default=0)


class TicketDay(DailyCounts, Base):  # 统计日表 — daily counts of the tickets filed that day
    """One row per filing day (local date) × grid × category × subcategory × channel ×
    department × assignee: the counts behind the dashboard, the warnings and the assessment.

    Rebuilt for a day whenever one of that day's tickets changed (casestore.services.rollup).
    Empty strings stand for "none" so that the key has no NULLs. ``dispatch_h<i>`` and
    ``close_h<i>`` count the tickets whose time to first dispatch / to closure fell into
    ``HOUR_BUCKETS`` bucket i (medians are read from these).
    """

    __tablename__ = "ticket_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignee: Mapped[str] = mapped_column(String(100), primary_key=True)
    __table_args__ = (
        Index("ix_ticket_day_grid", "grid_code", "day"),
        Index("ix_ticket_day_category", "category", "day"),
    )


class TicketMonth(DailyCounts, Base):  # 统计月表 — the daily counts summed by month
    """The ``TicketDay`` counts of one calendar month × grid × category × subcategory ×
    channel (department and assignee left out): a year's dashboard sums about a tenth of the
    rows. Rebuilt from ``ticket_day`` for every month whose days were rebuilt."""

    __tablename__ = "ticket_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)


class RollupState(Base):  # 统计日表的刷新进度
    """How far the daily counts are refreshed: tickets updated after ``refreshed_to`` are not
    yet counted (one row, name "ticket_day")."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_to: Mapped[datetime] = mapped_column(UTCDateTime())


class Alert(Base):  # 预警
    """An early warning: a burst of one category in one place, several residents reporting
    the same problem, a resident or address coming back again and again, or a dispute graded
    red or orange. ``key`` identifies what it is about (the job raises each one once)."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # labels.ALERT_KIND
    level: Mapped[str] = mapped_column(String(8))  # labels.RISK_GRADE: red/orange/yellow/blue
    title: Mapped[str] = mapped_column(String(200))  # 预警内容, in Chinese
    day: Mapped[date] = mapped_column(Date, index=True)  # the day it is about
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(32))  # community or street, if wider
    category: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)  # tickets behind it
    expected: Mapped[float | None] = mapped_column(Float)  # baseline (bursts)
    score: Mapped[float | None] = mapped_column(Float)  # p-value (bursts) or similarity
    ticket_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))  # 处置说明


class StaffNotice(Base):  # 坐席通知 — what the console shows a staff member (an alert)
    __tablename__ = "staff_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Mediation(Base):  # 调解记录 — a dispute's mediation (one per dispute ticket)
    """The parties, the mediator, the outcome (labels.MEDIATION_OUTCOME: success, or failed
    and referred to whom) and the written agreement (an attachment: PDF or photo). The
    sessions are ``MediationSession`` rows."""

    __tablename__ = "mediation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    # [{"name": ..., "phone": ..., "role": "applicant" | "respondent" | "other"}]
    parties: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    mediator: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str | None] = mapped_column(String(16))
    referred_to: Mapped[str | None] = mapped_column(String(100))  # 调解不成：移交何处
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="mediation")
    sessions: Mapped[list[MediationSession]] = relationship(
        back_populates="mediation", order_by="MediationSession.id", cascade="all, delete-orphan"
    )
    agreement: Mapped[Attachment | None] = relationship()


class MediationSession(Base):  # 调解经过 — one sitting of a mediation
    __tablename__ = "mediation_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mediation_id: Mapped[int] = mapped_column(ForeignKey("mediation.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(16))  # the tier that mediated (labels.TIER)
    mediator: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)  # 调解情况及达成的意见
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mediation: Mapped[Mediation] = relationship(back_populates="sessions")


class VisitLog(Base):  # 走访日志 — a grid worker's or volunteer's day of household visits
    __tablename__ = "visit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    grid_code: Mapped[str | None] = mapped_column(String(32))
    households: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
