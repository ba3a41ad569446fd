"""Open311 API keys (accounts/apikeys.py): shown once, stored hashed, revocable, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import apikeys
from accounts.models import Open311Key
from core import audit


def test_a_key_is_stored_only_as_its_hash(session: Session) -> None:
    row, key = apikeys.create_key(session=session, name="fixmystreet", actor="cli:root")
    assert key.startswith(apikeys.PREFIX) and len(key) > 40
    stored = session.scalars(select(Open311Key)).one()
    assert stored.key_hash == apikeys.digest(key) and key not in stored.key_hash
    assert apikeys.check_key(session=session, key=key) is row
    [record] = audit.recent(session, object_type="open311_key")
    assert (record.actor, record.action, record.data) == (
        "cli:root",
        "open311_key_create",
        {"name": "fixmystreet"},
    )
    _, other = apikeys.create_key(session=session, name="open-data", actor="cli:root")
    assert other != key


def test_wrong_keys_are_none(session: Session) -> None:
    _, key = apikeys.create_key(session=session, name="fixmystreet", actor="cli:root")
    for wrong in (None, "", key[:-1], key + "x", "错误的密钥", "\udcff", key.upper()):
        assert apikeys.check_key(session=session, key=wrong) is None


def test_names_are_checked(session: Session) -> None:
    apikeys.create_key(session=session, name="fixmystreet", actor="cli:root")
    for bad, message in (
        ("fixmystreet", "已存在"),
        ("a", "长度"),
        ("有 空格", "字母"),
        ("x" * 49, "48"),
    ):
        with pytest.raises(apikeys.ApiKeyError, match=message):
            apikeys.create_key(session=session, name=bad, actor="cli:root")


def test_revoked_keys_are_refused_and_revoking_twice_is_harmless(session: Session) -> None:
    _, key = apikeys.create_key(session=session, name="fixmystreet", actor="cli:root")
    row = apikeys.revoke_key(session=session, name="fixmystreet", actor="cli:root")
    assert row.revoked_at is not None
    assert apikeys.check_key(session=session, key=key) is None
    first = row.revoked_at
    assert (
        apikeys.revoke_key(session=session, name="fixmystreet", actor="cli:boss").revoked_at
        == first
    )
    actions = [r.action for r in audit.recent(session, object_type="open311_key")]
    assert sorted(actions) == ["open311_key_create", "open311_key_revoke"]
    with pytest.raises(apikeys.ApiKeyError, match="没有名为"):
        apikeys.revoke_key(session=session, name="nobody", actor="cli:root")


def test_last_use_is_noted_at_most_every_few_minutes(session: Session) -> None:
    row, key = apikeys.create_key(session=session, name="fixmystreet", actor="cli:root")
    assert row.last_used_at is None
    apikeys.check_key(session=session, key=key)
    first = row.last_used_at
    assert first is not None
    apikeys.check_key(session=session, key=key)
    assert row.last_used_at == first
    row.last_used_at = first - apikeys.USE_RESOLUTION - timedelta(seconds=1)
    apikeys.check_key(session=session, key=key)
    assert row.last_used_at > first
