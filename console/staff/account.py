"""My account (我的账号): who I am, my grids, and the link to my Telegram account.

Every role has this page. The link code (绑定码) is shown once, right after it is made, with
its expiry; only its hash is stored (`accounts.service.new_link_code`). The person then sends
``/link <code>`` to the bot, which links the Telegram account through the case-store API.
Making a code and unlinking are audited by `accounts.service`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accounts import service as user_service
from accounts.models import User
from console.staff.auth import FormDep, Staff, StaffDep
from console.staff.rendering import render
from core.clock import utcnow
from core.deps import SessionDep
from grids.api import RegistryDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

# ?done= after a redirect → the message shown
DONE = {"unlinked": "已解除Telegram绑定"}
NO_STORE = {"Cache-Control": "no-store"}  # the page with a fresh code is never cached


def link_instruction(code: str) -> str:
    """What to do with a code (no bot name: the settings know none)."""
    return f"在Telegram中向本平台的机器人发送 /link {code}"


def account_context(staff: Staff, user: User, registry: Registry, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    expires = user.link_code_expires_at
    return {
        "staff": staff,
        "user": user,
        "grids": [registry.full_name(code) for code in user.grid_codes or ()],
        "unit": registry.full_name(user.unit_code) if user.unit_code else None,
        "pending_code_until": expires if expires is not None and expires > now else None,
        "code": None,
        "code_minutes": user_service.LINK_CODE_MINUTES,
        "code_digits": user_service.LINK_CODE_DIGITS,
        "done": "",
        "error": None,
        **extra,
    }


def _own_user(session: Session, staff: Staff) -> User:
    user = user_service.get_user(session=session, user_id=staff.user_id)
    assert user is not None  # the session was just found through this account
    return user


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    staff: StaffDep,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    user = _own_user(session, staff)
    context = account_context(staff, user, registry, done=DONE.get(done, ""))
    return render(request, "account.html", context)


@router.post("/account/telegram/code", response_class=HTMLResponse)
def make_link_code(
    request: Request, fields: FormDep, session: SessionDep, registry: RegistryDep, staff: StaffDep
) -> HTMLResponse:
    """A fresh one-time code, shown on this response only (replaces any earlier code)."""
    user = _own_user(session, staff)
    link = user_service.new_link_code(session=session, user=user, actor=staff.actor)
    session.commit()
    context = account_context(
        staff, user, registry, code=link.code, code_expires_at=link.expires_at,
        instruction=link_instruction(link.code),
    )  # fmt: skip
    response = render(request, "account.html", context)
    response.headers.update(NO_STORE)
    return response


@router.post("/account/telegram/unlink", response_class=HTMLResponse)
def unlink(
    request: Request, fields: FormDep, session: SessionDep, registry: RegistryDep, staff: StaffDep
) -> Response:
    user = _own_user(session, staff)
    if user.telegram_id is None:
        context = account_context(staff, user, registry, error="该账号尚未绑定Telegram")
        return render(request, "account.html", context, status_code=409)
    user_service.unlink_telegram(session=session, user=user, actor=staff.actor)
    return RedirectResponse("/account?done=unlinked", status_code=303)
