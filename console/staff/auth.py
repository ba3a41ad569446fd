"""Who is signed in: session cookie, roles, CSRF tokens and login throttling."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from accounts import service as user_service
from accounts.models import Role
from core import labels
from core.deps import SessionDep
from core.secret import same_secret

COOKIE = "petition_session"


class LoginRequiredError(Exception):
    """No valid session: pages redirect to the login form."""


class ForbiddenError(Exception):
    """Signed in, but the role does not allow this (403 page)."""


class CsrfError(Exception):
    """A form came without the session's CSRF token (403 page)."""


@dataclass(frozen=True)
class Staff:
    user_id: int
    username: str
    display_name: str
    role: Role
    grid_codes: tuple[str, ...]
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.username}"

    @property
    def role_label(self) -> str:
        return labels.ROLE[self.role]

    @property
    def grid_scope(self) -> tuple[str, ...] | None:
        """Grid workers see only their own grids; staff and admins see all."""
        return self.grid_codes if self.role == Role.GRID_WORKER else None

    def sees_grid(self, grid_code: str | None) -> bool:
        return self.grid_scope is None or (grid_code or "") in self.grid_scope


def staff_from_request(request: Request, session: Session) -> Staff | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = user_service.session_for(session=session, token=token)
    if row is None:
        return None
    user = row.user
    return Staff(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        grid_codes=tuple(user.grid_codes or ()),
        csrf_token=row.csrf_token,
    )


def current_staff(request: Request, session: SessionDep) -> Staff:
    staff = staff_from_request(request, session)
    if staff is None:
        raise LoginRequiredError
    return staff


def desk_staff(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    """Hotline staff and admins (not grid workers): intake and exports of all tickets."""
    if staff.role == Role.GRID_WORKER:
        raise ForbiddenError
    return staff


def admin_staff(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if staff.role != Role.ADMIN:
        raise ForbiddenError
    return staff


StaffDep = Annotated[Staff, Depends(current_staff)]
DeskStaffDep = Annotated[Staff, Depends(desk_staff)]
AdminDep = Annotated[Staff, Depends(admin_staff)]


def check_csrf(staff: Staff, token: str | None) -> None:
    if not same_secret(token, staff.csrf_token):
        raise CsrfError


async def checked_form(request: Request, staff: Staff) -> dict[str, str]:
    """The posted form's text fields, after the CSRF check (files and the token left out)."""
    form = await request.form()
    check_csrf(staff, str(form.get("csrf_token") or ""))
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


class LoginThrottle:
    """At most `limit` failed logins per user name and address in `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def blocked(self, address: str, username: str) -> bool:
        return len(self._recent((address, username.lower()))) >= self.limit

    def failed(self, address: str, username: str) -> None:
        self._recent((address, username.lower())).append(time.monotonic())

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop((address, username.lower()), None)
