"""Who is signed in: session cookie, roles, CSRF tokens and login throttling."""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from accounts import service as user_service
from accounts.models import Role
from casestore.models import StaffNotice
from core import labels
from core.deps import SessionDep
from core.secret import same_secret
from grids.api import get_registry

COOKIE = "petition_session"
# What a volunteer (民情专递员) may open in the console: the field page, their own account and
# signing out (static assets are served without a session). Everything else is 403.
VOLUNTEER_PATHS = ("/field", "/account", "/logout")
VOLUNTEER_HOME = "/field"


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
    unit_code: str | None = None  # a staff member's street (or community, district)
    unit_grids: tuple[str, ...] = ()  # the grids of that unit
    unit_areas: tuple[str, ...] = ()  # that unit and the units below it (待分派 tickets)
    unread_notices: int = 0  # 未读通知 (early warnings pushed to this member)

    @property
    def admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.username}"

    @property
    def role_label(self) -> str:
        return labels.ROLE[self.role]

    @property
    def grid_scope(self) -> tuple[str, ...] | None:
        """Grid workers (and volunteers) see only their own grids; staff of a street (community,
        district) the grids of that unit; the hotline centre's staff and admins see all."""
        if self.role in (Role.GRID_WORKER, Role.VOLUNTEER):
            return self.grid_codes
        if self.role == Role.STAFF and self.unit_code:
            return self.unit_grids
        return None

    @property
    def area_scope(self) -> tuple[str, ...] | None:
        """The units whose tickets without a grid (待街道/社区分派) this member also sees."""
        return self.unit_areas if self.grid_scope is not None and self.unit_areas else None

    def sees_grid(self, grid_code: str | None) -> bool:
        return self.grid_scope is None or (grid_code or "") in self.grid_scope

    def sees(self, grid_code: str | None, area_code: str | None) -> bool:
        """Whether a ticket of that grid (or, without a grid, of that area) is in scope."""
        return self.sees_grid(grid_code) or (
            not grid_code and area_code is not None and area_code in (self.area_scope or ())
        )


def staff_from_request(request: Request, session: Session) -> Staff | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = user_service.session_for(session=session, token=token)
    if row is None:
        return None
    user = row.user
    unit_grids: tuple[str, ...] = ()
    unit_areas: tuple[str, ...] = ()
    if user.unit_code:
        registry = get_registry(request)
        unit_grids = tuple(g.code for g in registry.grids_within(user.unit_code))
        unit_areas = registry.units_within(user.unit_code)
    return Staff(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        grid_codes=tuple(user.grid_codes or ()),
        csrf_token=row.csrf_token,
        unit_code=user.unit_code,
        unit_grids=unit_grids,
        unit_areas=unit_areas,
        unread_notices=session.scalar(
            select(func.count())
            .select_from(StaffNotice)
            .where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))
        )
        or 0,
    )


def volunteer_may_open(path: str) -> bool:
    """Whether a volunteer's session opens this path: the field page, the account page and
    signing out, with their sub-paths (``/field/reports``), nothing else."""
    return any(path == allowed or path.startswith(allowed + "/") for allowed in VOLUNTEER_PATHS)


def current_staff(request: Request, session: SessionDep) -> Staff:
    """The signed-in staff member; the lookup's transaction ends at once.

    Every SQLite transaction begins IMMEDIATE (the write lock): a handler that reads, awaits
    Rasa or fails must not keep it from the lookup on. Error pages reuse the result.

    Volunteers (民情专递员) sign in to the field page only: the console's start page sends
    them there, every other page is the 403 page. Checked here, once, for every page.
    """
    staff = staff_from_request(request, session)
    session.commit()
    if staff is None:
        raise LoginRequiredError
    request.state.staff = staff
    if staff.role == Role.VOLUNTEER and not volunteer_may_open(request.url.path):
        if request.method == "GET" and request.url.path == "/":
            raise HTTPException(
                status_code=303, detail="请前往外勤工作台", headers={"Location": VOLUNTEER_HOME}
            )
        raise ForbiddenError
    return staff


def desk_staff(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    """Hotline staff and admins (not grid workers, not volunteers): intake and exports of all
    tickets."""
    if staff.role in (Role.GRID_WORKER, Role.VOLUNTEER):
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


async def posted_form(request: Request) -> FormData:
    """The request body, read on the event loop before any database work starts.

    Handlers then run as plain functions in the thread pool, where blocking SQLite calls
    do not stall other requests.
    """
    return await request.form()


def checked_form_data(
    form: Annotated[FormData, Depends(posted_form)], staff: Annotated[Staff, Depends(current_staff)]
) -> FormData:
    """The posted form after the CSRF check (all values, for fields posted several times)."""
    check_csrf(staff, str(form.get("csrf_token") or ""))
    return form


def checked_fields(form: Annotated[FormData, Depends(checked_form_data)]) -> dict[str, str]:
    """The posted form's text fields, after the CSRF check (files and the token left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


FormDataDep = Annotated[FormData, Depends(checked_form_data)]
FormDep = Annotated[dict[str, str], Depends(checked_fields)]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or networks (``127.0.0.1,10.0.0.0/8``)."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip()
    )


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, networks: tuple[Network, ...]
) -> str:
    """Who is calling: the socket's peer, or what a trusted proxy says it saw.

    ``X-Forwarded-For`` counts only when the socket's peer is a configured proxy; then the
    right-most hop that is not a proxy is the client (everything left of it is the caller's
    own writing, so a spoofed header cannot pick an address).
    """
    if peer is None:
        return "unknown"
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def request_address(request: Request, trusted_proxies: str) -> str:
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
    peer = request.client.host if request.client else None
    return client_address(peer, forwarded, trusted_networks(trusted_proxies))


class LoginThrottle:
    """Failed logins, counted per user name and, separately, per client address.

    At most `limit` failures per name in `window` seconds (password guessing against one
    account from many addresses) and `address_limit` per address (one address trying many
    names). A success clears its name's count only: signing in to one's own account must
    not reset the address's count.
    """

    MAX_KEYS = 10_000  # past this many names and addresses, forget those without failures

    def __init__(self, limit: int = 5, window: float = 900.0, address_limit: int = 20) -> None:
        self.limit = limit
        self.window = window
        self.address_limit = address_limit
        self._by_name: dict[str, deque[float]] = defaultdict(deque)
        self._by_address: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, table: dict[str, deque[float]], key: str) -> deque[float]:
        failures = table[key]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def _prune(self, table: dict[str, deque[float]]) -> None:
        if len(table) > self.MAX_KEYS:
            for key in list(table):
                if not self._recent(table, key):
                    del table[key]

    def blocked(self, address: str, username: str) -> bool:
        return (
            len(self._recent(self._by_name, username.lower())) >= self.limit
            or len(self._recent(self._by_address, address)) >= self.address_limit
        )

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        self._recent(self._by_name, username.lower()).append(now)
        self._recent(self._by_address, address).append(now)
        self._prune(self._by_name)
        self._prune(self._by_address)

    def succeeded(self, address: str, username: str) -> None:
        self._by_name.pop(username.lower(), None)
