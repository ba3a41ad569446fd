"""Signing in and out of the console (坐席登录): login CSRF, throttling, the session cookie."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accounts import service as user_service
from console.staff.auth import (
    COOKIE,
    LoginThrottle,
    StaffDep,
    check_csrf,
    request_address,
    staff_from_request,
)
from console.staff.rendering import MAX_NEXT, render
from core.deps import SessionDep, SettingsDep
from core.secret import same_secret

router = APIRouter(tags=["console"], include_in_schema=False)
throttle = LoginThrottle()

LOGIN_COOKIE = "petition_login"


def safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect to another host; browsers read ``/\\`` as
    ``//``), and not longer than a Location header proxies pass on."""
    if not target or len(target) > MAX_NEXT or not target.startswith("/"):
        return "/"
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _login_page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """The login form carries a fresh token that must match its cookie (login CSRF)."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {**context, "login_token": token}, status_code)
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if staff_from_request(request, session):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    login_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    address = request_address(request, settings.trusted_proxies)
    context: dict[str, Any] = {"next": safe_next(next), "username": username}
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not same_secret(cookie, login_token):
        context["error"] = "登录页面已过期，请重新输入"
        return _login_page(request, context, status_code=403)
    if throttle.blocked(address, username):
        context["error"] = "登录失败次数过多，请15分钟后再试"
        return _login_page(request, context, status_code=429)
    user = user_service.authenticate(session=session, username=username, password=password)
    if user is None:
        throttle.failed(address, username)
        context["error"] = "用户名或密码错误"
        return _login_page(request, context, status_code=401)
    throttle.succeeded(address, username)
    new = user_service.start_session(
        session=session, user=user, hours=settings.console_session_hours
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    secure = settings.console_cookie_secure
    response.set_cookie(
        COOKIE,
        new.token,
        max_age=settings.console_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(staff, csrf_token)
    user_service.end_session(session=session, token=request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
