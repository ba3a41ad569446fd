"""Console accounts (accounts/service.py): checks, sessions, and the audit of every change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from accounts import service
from accounts.models import Role, User
from core import audit
from grids.registry import load_registry


def make(session: Session, username: str = "lili", **overrides: Any) -> User:
    fields: dict[str, Any] = {
        "username": username,
        "display_name": "李丽",
        "password": "correct-horse-9",
        "role": Role.STAFF,
        "actor": "admin:boss",
        **overrides,
    }
    return service.create_user(session=session, **fields)


def test_create_is_audited(session: Session) -> None:
    user = service.create_user(
        session=session,
        username="wang",
        display_name="王网格",
        password="correct-horse-9",
        role=Role.GRID_WORKER,
        grid_codes=["510107001001001", "510107001001001"],
        actor="admin:boss",
    )
    assert user.grid_codes == ["510107001001001"]
    [record] = audit.recent(session, object_type="user")
    assert (record.actor, record.action, record.object_id) == (
        "admin:boss",
        "user_create",
        str(user.id),
    )
    assert record.data == {
        "username": "wang",
        "role": "grid_worker",
        "grid_codes": ["510107001001001"],
        "unit_code": None,
    }
    assert "password" not in str(record.data)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "李"}, "用户名只能包含"),
        ({"password": "short"}, "密码至少"),
        ({"display_name": " "}, "请填写姓名"),
        ({"role": Role.GRID_WORKER}, "需要指定负责的网格"),
    ],
)
def test_bad_accounts_are_refused_and_not_audited(
    session: Session, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(service.UserError, match=message):
        make(session, **overrides)
    assert audit.recent(session, object_type="user") == []


def test_duplicate_user_names_are_refused(session: Session) -> None:
    make(session)
    with pytest.raises(service.UserError, match="已存在"):
        make(session)


def test_deactivation_ends_sessions_and_is_audited_once(session: Session) -> None:
    user = make(session)
    assert service.authenticate(session=session, username="lili", password="correct-horse-9")
    new = service.start_session(session=session, user=user, hours=1)
    assert service.session_for(session=session, token=new.token) is not None
    for _ in range(2):  # the second call changes nothing and records nothing
        service.set_active(session=session, user=user, active=False, actor="admin:boss")
    assert service.session_for(session=session, token=new.token) is None
    assert (
        service.authenticate(session=session, username="lili", password="correct-horse-9") is None
    )
    service.set_active(session=session, user=user, active=True, actor="admin:boss")
    actions = [a.action for a in audit.recent(session, object_type="user")]
    assert actions == ["user_activate", "user_deactivate", "user_create"]


def test_users_are_listed_by_role_then_name_and_found_by_id(session: Session) -> None:
    make(session, "zhang")
    make(session, "boss", role=Role.ADMIN)
    make(session, "anna")
    assert [u.username for u in service.list_users(session=session)] == ["boss", "anna", "zhang"]
    boss = service.list_users(session=session)[0]
    assert service.get_user(session=session, user_id=boss.id) is boss
    assert service.get_user(session=session, user_id=999) is None


def test_a_staff_member_can_work_for_one_street(session: Session) -> None:
    registry = load_registry(Path(__file__).resolve().parents[2] / "data" / "grids")
    user = make(session, unit_code="510107001", registry=registry)
    assert user.unit_code == "510107001"
    [record] = audit.recent(session, object_type="user")
    assert record.data["unit_code"] == "510107001"
    with pytest.raises(service.UserError, match="未知的街道"):
        make(session, "other", unit_code="999", registry=registry)
    with pytest.raises(service.UserError, match="只有话务员账号"):
        make(session, "wang", role=Role.GRID_WORKER, grid_codes=["510107001001001"],
             unit_code="510107001", registry=registry)  # fmt: skip
