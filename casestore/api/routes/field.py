"""The field desk's API for the Telegram bot (网格员、民情专递员): link an account, tasks and
their steps, patrol reports (drafted, then filed exactly once), visit logs.

Same service token as the other /api/v1 routes; the person is named by their Telegram user id
(linked with a one-time code from the console). Errors are 4xx with a Chinese ``detail``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from accounts import service as accounts
from casestore.models import Channel, TicketStatus
from casestore.services import fieldwork
from casestore.services.fieldwork import Person
from casestore.services.lifecycle import Context
from core import labels
from core.deps import MAX_DB_ID, MAX_DB_INT, ServiceAuth, SessionDep, SettingsDep, TaxonomyDep
from grids.api import RegistryDep, ResolverDep

router = APIRouter(prefix="/api/v1/field", tags=["field"], dependencies=[ServiceAuth])

TelegramId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
AttachmentIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_DB_ID)]], Field(max_length=fieldwork.MAX_PHOTOS)
]
NOT_LINKED = "该Telegram账号尚未绑定工作台账号：请在工作台“我的账号”生成绑定码，再发送 /link 绑定码"


class LinkIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32)
    telegram_id: TelegramId


class TelegramIn(BaseModel):
    telegram_id: TelegramId


class StepIn(BaseModel):
    telegram_id: TelegramId
    step: str = Field(max_length=16)
    text: str = Field(default="", max_length=fieldwork.MAX_TEXT)
    attachment_ids: AttachmentIds = Field(default_factory=list)


class DraftIn(BaseModel):
    telegram_id: TelegramId
    text: str = Field(max_length=fieldwork.MAX_TEXT)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    on_behalf_of: str | None = Field(default=None, max_length=100)


class ReportDraftIn(BaseModel):
    """A draft as ``/reports/draft`` returned it (its codes are checked again on filing)."""

    text: str = Field(min_length=2, max_length=fieldwork.MAX_TEXT)
    category: str = Field(min_length=1, max_length=64)
    category_label: str = Field(default="", max_length=200)
    subcategory: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=32)
    grid_name: str = Field(default="", max_length=200)
    location_text: str = Field(default="", max_length=200)
    on_behalf_of: str | None = Field(default=None, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    risk_grade: str | None = Field(default=None, max_length=8)


class ReportIn(BaseModel):
    telegram_id: TelegramId
    submission_key: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9:_\-.]+$")
    draft: ReportDraftIn
    attachment_ids: AttachmentIds = Field(default_factory=list)


class VisitIn(BaseModel):
    telegram_id: TelegramId
    households: int = Field(ge=0, le=fieldwork.MAX_HOUSEHOLDS)
    notes: str = Field(default="", max_length=fieldwork.MAX_NOTES)


def _context(session: SessionDep, taxonomy: TaxonomyDep, registry: RegistryDep) -> Context:
    return Context(session=session, taxonomy=taxonomy, registry=registry)


def _person(session: SessionDep, telegram_id: int) -> Person:
    person = fieldwork.person_by_telegram(session, telegram_id)
    if person is None:
        raise HTTPException(status_code=404, detail=NOT_LINKED)
    return person


def _status_of(exc: fieldwork.FieldError) -> int:
    if isinstance(exc, fieldwork.FieldForbidden):
        return 403
    if isinstance(exc, fieldwork.FieldNotFound):
        return 404
    if isinstance(exc, fieldwork.FieldConflict):
        return 409
    return 422


def _fail(exc: fieldwork.FieldError) -> HTTPException:
    return HTTPException(status_code=_status_of(exc), detail=str(exc))


def _profile(registry: RegistryDep, person: Person, message: str) -> dict[str, Any]:
    return {
        "username": person.username,
        "display_name": person.display_name,
        "role": person.role,
        "role_label": person.role_label,
        "grids": fieldwork.grid_names(registry, person),
        "message": message,
    }


@router.post("/link")
def link(body: LinkIn, session: SessionDep, registry: RegistryDep) -> dict[str, Any]:
    """Link a Telegram account with the one-time code shown in the console (audited)."""
    try:
        user = accounts.link_telegram(session=session, code=body.code, telegram_id=body.telegram_id)
    except accounts.LinkError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    person = fieldwork.person_of(user)
    return _profile(registry, person, fieldwork.welcome_text(registry, person))


@router.get("/me")
def me(
    session: SessionDep,
    registry: RegistryDep,
    telegram_id: Annotated[int, Query(ge=1, le=MAX_DB_INT)],
) -> dict[str, Any]:
    person = _person(session, telegram_id)
    return _profile(registry, person, fieldwork.help_text(registry, person))


@router.post("/unlink")
def unlink(body: TelegramIn, session: SessionDep) -> dict[str, str]:
    user = accounts.user_by_telegram(session=session, telegram_id=body.telegram_id)
    if user is None:
        return {"message": "该Telegram账号没有绑定工作台账号。"}
    accounts.unlink_telegram(session=session, user=user, actor=f"{user.role}:{user.username}")
    return {"message": "已解除绑定，此后不再向这里推送任务。需要时可在工作台重新生成绑定码。"}


def _task_item(ctx: Context, ticket: Any) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "text": fieldwork.task_text(ctx, ticket),
        "buttons": fieldwork.task_buttons(ticket),
    }


@router.get("/tasks")
def tasks(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    telegram_id: Annotated[int, Query(ge=1, le=MAX_DB_INT)],
) -> dict[str, Any]:
    """The grid worker's open tasks with their step buttons (empty for anyone else)."""
    ctx = _context(session, taxonomy, registry)
    person = _person(session, telegram_id)
    return {"items": [_task_item(ctx, t) for t in fieldwork.open_tasks(ctx, person)]}


@router.post("/tasks/{number}/steps")
def take_step(
    number: Annotated[str, Path(max_length=16)],
    body: StepIn,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """接单 / 已到场 / 需要协调 / 办结 on a task of the worker's grid."""
    ctx = _context(session, taxonomy, registry)
    person = _person(session, body.telegram_id)
    try:
        ticket = fieldwork.take_step(
            ctx, person, number, body.step, text=body.text, attachment_ids=body.attachment_ids
        )
    except fieldwork.FieldError as exc:
        raise _fail(exc) from exc
    return {
        "number": ticket.number,
        "status": ticket.status,
        "status_label": labels.STATUS[TicketStatus(ticket.status)],
        "message": fieldwork.step_message(ticket, body.step),
        "buttons": fieldwork.task_buttons(ticket),
    }


@router.post("/reports/draft")
def draft_report(
    body: DraftIn,
    session: SessionDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    resolver: ResolverDep,
) -> dict[str, Any]:
    """Draft a report from one message (and a location): classified by the Rasa server, by
    keywords when it does not answer."""
    timeout = min(settings.rasa_timeout_seconds, fieldwork.CLASSIFY_TIMEOUT)
    classify = fieldwork.classify_now(settings.rasa_url, settings.rasa_token, body.text, timeout)
    ctx = _context(session, taxonomy, registry)
    person = _person(session, body.telegram_id)
    try:
        draft = fieldwork.draft_report(
            ctx,
            person,
            body.text,
            latitude=body.latitude,
            longitude=body.longitude,
            classify=classify,
            on_behalf_of=body.on_behalf_of,
            resolver=resolver,
        )
    except fieldwork.FieldError as exc:
        raise _fail(exc) from exc
    return {"draft": draft.as_dict(), "summary": draft.summary()}


@router.post("/reports", status_code=status.HTTP_201_CREATED)
def file_report(
    body: ReportIn,
    response: Response,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """File a confirmed draft; the same submission key again returns the same ticket (200)."""
    ctx = _context(session, taxonomy, registry)
    person = _person(session, body.telegram_id)
    draft = fieldwork.ReportDraft.from_mapping(body.draft.model_dump())
    try:
        ticket, created = fieldwork.file_report(
            ctx,
            person,
            draft,
            submission_key=body.submission_key,
            attachment_ids=body.attachment_ids,
            channel=Channel.TELEGRAM.value,
        )
    except fieldwork.FieldError as exc:
        raise _fail(exc) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"number": ticket.number, "message": fieldwork.report_message(ticket)}


@router.post("/visits", status_code=status.HTTP_201_CREATED)
def log_visit(
    body: VisitIn, session: SessionDep, taxonomy: TaxonomyDep, registry: RegistryDep
) -> dict[str, str]:
    """走访日志 of today (audited by the service)."""
    ctx = _context(session, taxonomy, registry)
    person = _person(session, body.telegram_id)
    try:
        visit = fieldwork.log_visit(ctx, person, body.households, body.notes)
    except fieldwork.FieldError as exc:
        raise _fail(exc) from exc
    return {"message": fieldwork.visit_message(visit)}
