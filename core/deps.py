"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
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
