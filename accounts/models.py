"""Console accounts (坐席账号), their sign-in sessions, and the Open311 clients' API keys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base, UTCDateTime


class Role(enum.StrEnum):
    STAFF = "staff"  # 话务员
    GRID_WORKER = "grid_worker"  # 网格员
    ADMIN = "admin"  # 管理员
    VOLUNTEER = "volunteer"  # 民情专递员: files reports on the bot, sees their own only


class User(Base):  # 坐席账号
    __tablename__ = "console_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    grid_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The unit (street, community or district) a staff member works for: they see its grids
    # only. None: the whole city (the 12345 hotline centre). Grid workers use grid_codes.
    unit_code: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The Telegram account linked with a one-time code (绑定Telegram): its user id, which is
    # also its private chat's id (conversation "tg-<id>"). None: not linked.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    telegram_linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The one-time link code shown in the console: only its SHA-256, valid until expiry.
    link_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    link_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsoleSession(Base):  # 登录会话
    """A signed-in browser; the cookie holds a random token, the table only its hash."""

    __tablename__ = "console_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Open311Key(Base):  # Open311 接口密钥
    """One Open311 client's key (a partner app, the city's open-data portal).

    Only the SHA-256 of the key is stored; the key itself is shown once, when it is created.
    A key opens the Open311 endpoints and nothing else (never the case-store API).
    """

    __tablename__ = "open311_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
