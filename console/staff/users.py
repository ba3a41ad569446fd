"""Account administration (账号管理): create accounts, deactivate and re-enable them.

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
from console.staff.auth import AdminDep, Staff, check_csrf
from console.staff.rendering import render
from core import labels
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
