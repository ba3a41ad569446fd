"""Account administration (账号管理): create accounts, deactivate and re-enable them, and
hand a grid worker or volunteer a Telegram link code (or end a lost phone's link).

The first admin comes from `petition users create`; every change here is audited by
`accounts.service`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accounts import service as user_service
from accounts.models import Role
from console.staff.account import link_instruction
from console.staff.auth import AdminDep, Staff, check_csrf
from console.staff.rendering import render
from core import labels
from core.clock import LOCAL_TZ
from core.deps import SessionDep
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(prefix="/admin", tags=["console"], include_in_schema=False)


def _users_page(
    request: Request,
    session: Session,
    registry: Registry,
    staff: Staff,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    issued: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "staff": staff,
        "accounts": user_service.list_users(session=session),
        "roles": labels.ROLE,
        "grids": [(g.code, registry.full_name(g.code)) for g in registry.grids.values()],
        "units": [
            (u.code, registry.full_name(u.code))
            for u in registry.units.values()
            if u.tier in ("street", "district")
        ],
        "unit_names": {code: registry.full_name(code) for code in registry.units},
        "grid_names": {code: registry.full_name(code) for code in registry.grids},
        "issued": issued,
        "error": error,
        "values": values or {},
        "done": request.query_params.get("done", ""),
    }
    return render(request, "users.html", context, status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, session: SessionDep, registry: RegistryDep, staff: AdminDep
) -> HTMLResponse:
    return _users_page(request, session, registry, staff)


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    grid_codes: Annotated[list[str] | None, Form()] = None,
    unit_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    check_csrf(staff, csrf_token)
    values = {
        "username": username, "display_name": display_name, "role": role, "unit_code": unit_code,
        "grid_codes": grid_codes or [],
    }  # fmt: skip
    try:
        if role not in labels.ROLE:
            raise user_service.UserError("请选择角色")
        user_service.create_user(
            session=session,
            username=username.strip(),
            display_name=display_name,
            password=password,
            role=Role(role),
            grid_codes=grid_codes or [],
            unit_code=unit_code,
            registry=registry,
            actor=staff.actor,
        )
    except user_service.UserError as exc:
        return _users_page(request, session, registry, staff, str(exc), values, 422)
    return RedirectResponse(f"/admin/users?done={username.strip()}", status_code=303)


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def set_active(
    user_id: int,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Deactivating an account ends its sessions at once (sessions check `active`)."""
    check_csrf(staff, csrf_token)
    user = user_service.get_user(session=session, user_id=user_id)
    if user is None:
        return _users_page(request, session, registry, staff, "未找到该账号", None, 404)
    if user.id == staff.user_id and not active:
        return _users_page(request, session, registry, staff, "不能停用自己的账号", None, 422)
    user_service.set_active(session=session, user=user, active=active, actor=staff.actor)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/telegram", response_class=HTMLResponse)
def telegram_link(
    user_id: int,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: AdminDep,
    csrf_token: Annotated[str, Form()] = "",
    op: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """生成绑定码 for someone who does not use the console (a volunteer), shown once to the
    admin to hand over; or 解除绑定 when a phone is lost. Both audited by the service."""
    check_csrf(staff, csrf_token)
    user = user_service.get_user(session=session, user_id=user_id)
    if user is None:
        return _users_page(request, session, registry, staff, "未找到该账号", None, 404)
    if not user.active:
        return _users_page(request, session, registry, staff, "该账号已停用", None, 422)
    if op == "unlink":
        if user.telegram_id is None:
            return _users_page(request, session, registry, staff, "该账号未绑定Telegram", None, 409)
        user_service.unlink_telegram(session=session, user=user, actor=staff.actor)
        return RedirectResponse("/admin/users", status_code=303)
    if op != "code":
        return _users_page(request, session, registry, staff, "请选择操作", None, 422)
    made = user_service.new_link_code(session=session, user=user, actor=staff.actor)
    issued = {
        "name": user.display_name,
        "code": made.code,
        "until": made.expires_at.astimezone(LOCAL_TZ).strftime("%H:%M"),
        "how": link_instruction(made.code),
    }
    page = _users_page(request, session, registry, staff, issued=issued)
    page.headers["Cache-Control"] = "no-store"  # the code is shown once
    return page
