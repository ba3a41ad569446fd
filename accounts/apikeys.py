"""Open311 API keys: one per client, stored as a hash, revocable, never valid for the full API.

The case-store token (``CASESTORE_API_TOKEN``) is the project's own service credential (bot,
actions); handing it to an outside Open311 client would let that client read phone numbers
and act on tickets. Each outside client gets its own key instead, which can be revoked alone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Open311Key
from core import audit
from core.clock import utcnow
from core.secret import same_secret

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,48}$")  # "open311:<name>" is an event actor (64)
PREFIX = "o311_"  # recognisable in logs and secret scanners
# last_used_at is written at most this often (a read API must not write on every request).
USE_RESOLUTION = timedelta(minutes=5)


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked (message in Chinese)."""


def digest(key: str) -> str:
    """SHA-256 of a key as hex; a random 256-bit key needs no slow hash.

    Encoded with ``surrogatepass`` so that any text a client sends hashes (to a wrong key).
    """
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _named(session: Session, name: str) -> Open311Key | None:
    return session.scalars(select(Open311Key).where(Open311Key.name == name)).first()


def create_key(*, session: Session, name: str, actor: str) -> tuple[Open311Key, str]:
    """A new key for the client ``name``; returns the row and the key (shown only now)."""
    if not NAME_RE.match(name):
        raise ApiKeyError("密钥名称只能包含字母、数字、点、下划线和短横线，长度2到48")
    if _named(session, name) is not None:
        raise ApiKeyError(f"密钥名称 {name} 已存在（已吊销的名称也不能再用，请换一个名称）")
    key = PREFIX + secrets.token_urlsafe(32)
    row = Open311Key(name=name, key_hash=digest(key), created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="open311_key_create",
        object_type="open311_key",
        object_id=row.id,
        data={"name": name},
    )
    return row, key


def list_keys(*, session: Session) -> list[Open311Key]:
    """Every key, revoked ones included, oldest first."""
    return list(session.scalars(select(Open311Key).order_by(Open311Key.id)).all())


def revoke_key(*, session: Session, name: str, actor: str) -> Open311Key:
    """Revoke the key ``name`` at once; revoking it again changes and records nothing."""
    row = _named(session, name)
    if row is None:
        raise ApiKeyError(f"没有名为 {name} 的密钥")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="open311_key_revoke",
            object_type="open311_key",
            object_id=row.id,
            data={"name": name},
        )
        session.flush()
    return row


def check_key(*, session: Session, key: str | None) -> Open311Key | None:
    """The unrevoked key a client presented, or None; notes when it was last used."""
    if not key:
        return None
    hashed = digest(key)
    row = session.scalars(select(Open311Key).where(Open311Key.key_hash == hashed)).first()
    if row is None or not same_secret(hashed, row.key_hash) or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= USE_RESOLUTION:
        row.last_used_at = now
        session.flush()
    return row
