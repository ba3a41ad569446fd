"""Console accounts (坐席账号): Argon2 password hashes and server-side sessions."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.models import ConsoleSession, Role, User
from core import audit
from core.clock import utcnow
from grids.registry import Registry

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against this keeps an unknown user name as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


class UserError(ValueError):
    """A user cannot be created as asked (message in Chinese)."""


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    grid_codes: list[str] | None = None,
    unit_code: str | None = None,
    registry: Registry | None = None,
    actor: str = "system",
) -> User:
    """Create an active account; audited as ``user_create`` by ``actor``.

    ``unit_code``: the street (community, district) a staff member works for; they then see
    that unit's grids only (the dashboard, the queue). None: the whole city.
    """
    if not USERNAME_RE.match(username):
        raise UserError("用户名只能包含字母、数字、点、下划线和短横线，长度3到64")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 位")
    if not display_name.strip():
        raise UserError("请填写姓名")
    codes = list(dict.fromkeys(grid_codes or []))
    if role == Role.GRID_WORKER and not codes:
        raise UserError("网格员账号需要指定负责的网格编码")
    if role == Role.VOLUNTEER and not codes:
        raise UserError("民情专递员账号需要指定所在的网格编码")
    unknown = [c for c in codes if registry is not None and c not in registry.grids]
    if unknown:
        raise UserError(f"未知的网格编码：{'、'.join(unknown)}")
    unit_code = (unit_code or "").strip() or None
    if unit_code is not None:
        if role != Role.STAFF:
            raise UserError(
                "只有话务员账号可以指定所属街道（社区）；网格员按负责网格，管理员看全部"
            )
        if registry is not None and unit_code not in registry.units:
            raise UserError(f"未知的街道（社区）编码：{unit_code}")
    if session.scalars(select(User).where(User.username == username)).first():
        raise UserError(f"用户名 {username} 已存在")
    user = User(
        username=username,
        display_name=display_name.strip(),
        password_hash=_hasher.hash(password),
        role=role.value,
        grid_codes=codes,
        unit_code=unit_code,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user_create",
        object_type="user",
        object_id=user.id,
        data={
            "username": username,
            "role": role.value,
            "grid_codes": codes,
            "unit_code": unit_code,
        },  # fmt: skip
    )
    return user


def list_users(*, session: Session) -> list[User]:
    """All accounts, by role and then user name (the admin's account list)."""
    return list(session.scalars(select(User).order_by(User.role, User.username)).all())


def get_user(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def set_active(*, session: Session, user: User, active: bool, actor: str) -> User:
    """Deactivate or re-enable an account; audited (``user_deactivate`` / ``user_activate``).

    A deactivated account's sessions end at once, since `session_for` checks `active`.
    Setting the state it already has changes nothing and records nothing.
    """
    if user.active != active:
        user.active = active
        audit.record(
            session,
            actor=actor,
            action="user_activate" if active else "user_deactivate",
            object_type="user",
            object_id=user.id,
            data={"username": user.username},
        )
        session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


def start_session(*, session: Session, user: User, hours: int) -> NewSession:
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utcnow()))
    session.flush()
    return NewSession(token=token, csrf_token=row.csrf_token, expires_at=row.expires_at)


def session_for(*, session: Session, token: str) -> ConsoleSession | None:
    row = session.get(ConsoleSession, _digest(token))
    if row is None or row.expires_at < utcnow() or not row.user.active:
        return None
    return row


def end_session(*, session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


LINK_CODE_MINUTES = 15  # a link code shown in the console is valid this long
LINK_CODE_DIGITS = 8
LINKABLE_ROLES = frozenset({Role.GRID_WORKER, Role.VOLUNTEER, Role.STAFF, Role.ADMIN})


class LinkError(ValueError):
    """A Telegram link code is wrong, used or expired (message in Chinese)."""


@dataclass(frozen=True)
class LinkCode:
    code: str  # shown once; only its hash is stored
    expires_at: datetime


def new_link_code(*, session: Session, user: User, actor: str) -> LinkCode:
    """A fresh one-time code to link a Telegram account (绑定Telegram); replaces any earlier
    code of this account. Audited as ``telegram_code``."""
    code = "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_DIGITS))
    user.link_code_hash = _digest(f"link:{code}")
    user.link_code_expires_at = utcnow() + timedelta(minutes=LINK_CODE_MINUTES)
    audit.record(session, actor=actor, action="telegram_code", object_type="user",
                 object_id=user.id, data={"username": user.username})  # fmt: skip
    session.flush()
    return LinkCode(code=code, expires_at=user.link_code_expires_at)


def link_telegram(*, session: Session, code: str, telegram_id: int) -> User:
    """Link the Telegram account ``telegram_id`` to the account whose code this is; the code
    is used up. A Telegram account links to one console account at a time (an earlier link
    of the same Telegram account is moved). Audited as ``telegram_link``."""
    code = code.strip()
    if not code.isdigit() or len(code) != LINK_CODE_DIGITS:
        raise LinkError(f"绑定码是 {LINK_CODE_DIGITS} 位数字，请核对后重新发送")
    user = session.scalars(
        select(User).where(User.link_code_hash == _digest(f"link:{code}"))
    ).first()
    expires = user.link_code_expires_at if user is not None else None
    if user is None or expires is None or expires < utcnow() or not user.active:
        raise LinkError("绑定码无效或已过期，请在工作台重新生成绑定码")
    for other in session.scalars(select(User).where(User.telegram_id == telegram_id)):
        if other.id != user.id:
            other.telegram_id = None
            other.telegram_linked_at = None
    session.flush()
    user.telegram_id = telegram_id
    user.telegram_linked_at = utcnow()
    user.link_code_hash = None
    user.link_code_expires_at = None
    audit.record(session, actor=f"{user.role}:{user.username}", action="telegram_link",
                 object_type="user", object_id=user.id,
                 data={"username": user.username})  # fmt: skip
    session.flush()
    return user


def unlink_telegram(*, session: Session, user: User, actor: str) -> None:
    """Remove the account's Telegram link; audited as ``telegram_unlink``."""
    if user.telegram_id is None:
        return
    user.telegram_id = None
    user.telegram_linked_at = None
    audit.record(session, actor=actor, action="telegram_unlink", object_type="user",
                 object_id=user.id, data={"username": user.username})  # fmt: skip
    session.flush()


def user_by_telegram(*, session: Session, telegram_id: int) -> User | None:
    """The active account linked to this Telegram account, if any."""
    user = session.scalars(select(User).where(User.telegram_id == telegram_id)).first()
    return user if user is not None and user.active else None
