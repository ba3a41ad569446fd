"""Dependencies and parameter types shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy.orm import Session

from core.db import session_scope
from core.secret import same_secret
from core.settings import Settings
from core.taxonomy import Taxonomy


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_taxonomy(request: Request) -> Taxonomy:
    taxonomy: Taxonomy = request.app.state.taxonomy
    return taxonomy


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]


def require_service_token(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Service-to-service calls (actions, bot) carry ``Authorization: Bearer <token>``."""
    expected = f"Bearer {settings.casestore_api_token}"
    if not same_secret(authorization, expected):
        raise HTTPException(status_code=401, detail="缺少或错误的访问令牌 (Authorization: Bearer)")


ServiceAuth = Depends(require_service_token)


# The drivers bind at most a signed 64-bit integer; a larger id or offset made sqlite3 raise
# OverflowError (a 500) instead of a 422. Row ids are INTEGER columns, 32-bit on PostgreSQL,
# where a larger id fails as "integer out of range": ids are bounded by the smaller.
MAX_DB_INT = 2**63 - 1
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
"""A row id in the path (``/api/v1/attachments/{attachment_id}``)."""
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]
"""How many rows a page skips."""


def aware_datetime(name: str, *, description: str | None = None) -> Any:
    """An optional date/time query parameter ``name``, returned timezone-aware in UTC.

    Clients send ``2026-12-01``, ``2026-12-01T08:00`` or ``2026-12-01T08:00:00+08:00``; a
    value without an offset is local time in ``TIME_ZONE`` (a date is its local midnight).
    The zone is a setting, so this is a dependency rather than a plain type:
    ``since: Annotated[datetime | None, aware_datetime("since")] = None``.
    """

    # A default, not ``Annotated``: annotations are strings here, resolved without the closure.
    query: Any = Query(None, alias=name, description=description)

    def parse(settings: SettingsDep, value: datetime | None = query) -> datetime | None:
        if value is None:
            return None
        try:
            local = value if value.tzinfo else value.replace(tzinfo=settings.local_tz)
            return local.astimezone(UTC)
        except OverflowError as exc:
            raise HTTPException(
                status_code=422, detail=f"字段 {name} 超出可表示的时间范围（公元1年至9999年）"
            ) from exc

    return Depends(parse)
