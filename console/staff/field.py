"""The field page (外勤工作台): the grid's own people at work, on a phone.

For those without Telegram, the same work as on the bot (`casestore.services.fieldwork`):
a grid worker's open tasks with their steps (接单 / 已到场 / 需要协调 with a reason / 办结
with a result note and a photo), a report of what one saw or was told (民情专递: text, a
photo, the resident it is for, the browser's location) drafted and then confirmed, the daily
visit log (走访日志), one's own reports with their status and this month's patrol figures.

Grid workers and volunteers (民情专递员) only. Volunteers file and see their own reports,
never take steps; grid workers act on their own grids (the service checks). Photos are
stored like a web-chat resident's (conversation ``web-staff-<username>``, channel webchat)
and passed to the service by id.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from accounts import service as user_service
from accounts.models import Role
from casestore.models import Attachment, Channel, Ticket
from casestore.services import attachments as attachment_service
from casestore.services import fieldwork, lifecycle
from casestore.services import tickets as ticket_service
from console.staff.auth import ForbiddenError, FormDataDep, FormDep, Staff, StaffDep
from console.staff.rendering import render
from core.clock import LOCAL_TZ, local_midnight, utcnow
from core.deps import SessionDep, TaxonomyDep
from core.taxonomy import UNCLASSIFIED, Taxonomy
from grids.api import RegistryDep, ResolverDep
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)

FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.VOLUNTEER})
MAX_TEXT = 2000  # a report's or a note's characters
MAX_NAME = 100  # 代民反映: the resident's name (Ticket.on_behalf_of)
MAX_PHOTOS = 4  # photos with one report or one step
MAX_HOUSEHOLDS = 2000  # a grid has 300–500 households
OWN_REPORTS = 30  # "我的上报": the latest this many
NUMBER = re.compile(r"[0-9A-Za-z]{1,32}")
SUBMISSION_KEY = re.compile(r"web-field-[A-Za-z0-9_.-]{3,64}-[0-9a-f]{16}")
WEB_CHANNEL = Channel.WEBCHAT.value

# ?done= after a redirect → the message shown ({number}: the ticket's); a step's own message
# comes from the service (fieldwork.step_message)
DONE = {
    "report": "已登记，工单号 {number}。办理进展可在下方「我的上报」查看。",
    "visit": "已记录今天的走访日志",
}


class FieldInputError(ValueError):
    """What was typed cannot be used (Chinese message, 422 on the page)."""


def conversation_of(staff: Staff) -> str:
    """The conversation a person's photos are uploaded under (``web-staff-<username>``)."""
    return fieldwork.web_conversation(staff.username)


def field_staff(staff: Staff) -> Staff:
    """Grid workers and volunteers; the page is not for desk staff or admins."""
    if staff.role not in FIELD_ROLES:
        raise ForbiddenError
    return staff


def person_for(session: Session, staff: Staff) -> fieldwork.Person:
    user = user_service.get_user(session=session, user_id=staff.user_id)
    assert user is not None  # the session was just found through this account
    return fieldwork.person_of(user)


def field_context(
    session: Session, taxonomy: Taxonomy, registry: Registry, staff: Staff
) -> lifecycle.Context:
    return lifecycle.Context(
        session=session, taxonomy=taxonomy, registry=registry,
        grid_scope=staff.grid_scope, area_scope=staff.area_scope,
    )  # fmt: skip


# ---------------------------------------------------------------- reading the forms


def text_field(fields: dict[str, str], name: str, limit: int = MAX_TEXT) -> str:
    value = (fields.get(name) or "").strip()
    if len(value) > limit:
        raise FieldInputError(f"内容过长：不能超过 {limit} 个字")
    return value


def coordinate(value: str | None, name: str, bound: float) -> float | None:
    """A latitude or longitude from the form; empty is None, nonsense is refused."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value[:32])
    except ValueError:
        raise FieldInputError(f"位置{name}应为数字，请重新定位或清空") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise FieldInputError(f"位置{name}超出范围，请重新定位或清空")
    return number


def location(fields: dict[str, str]) -> tuple[float | None, float | None]:
    latitude = coordinate(fields.get("latitude"), "纬度", 90.0)
    longitude = coordinate(fields.get("longitude"), "经度", 180.0)
    if (latitude is None) != (longitude is None):
        raise FieldInputError("位置需要同时有经度和纬度，请重新定位或清空")
    return latitude, longitude


def households(value: str | None) -> int:
    raw = (value or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        raise FieldInputError("走访户数请填写0或正整数")
    count = int(raw)
    if count > MAX_HOUSEHOLDS:
        raise FieldInputError(f"走访户数不能超过 {MAX_HOUSEHOLDS}")
    return count


def store_photos(session: Session, staff: Staff, form: FormData) -> list[int]:
    """The form's photos, checked and stored unlinked under the person's conversation."""
    uploads = [u for u in form.getlist("photo") if isinstance(u, UploadFile) and u.filename]
    if len(uploads) > MAX_PHOTOS:
        raise FieldInputError(f"一次最多上传 {MAX_PHOTOS} 张照片")
    ids = []
    for upload in uploads:
        data = upload.file.read(attachment_service.MAX_BYTES + 1)
        attachment = attachment_service.store_attachment(
            session=session, data=data, filename=upload.filename or "photo",
            conversation_id=conversation_of(staff), channel=WEB_CHANNEL,
        )  # fmt: skip
        ids.append(attachment.id)
    return ids


def own_photo_ids(session: Session, staff: Staff, values: Sequence[str]) -> list[int]:
    """Photo ids posted back by the confirm form: only this person's, not yet filed."""
    ids = [int(v) for v in values if v.isdigit() and len(v) <= 12][:MAX_PHOTOS]
    if not ids:
        return []
    rows = session.scalars(
        select(Attachment.id).where(
            Attachment.id.in_(ids),
            Attachment.conversation_id == conversation_of(staff),
            Attachment.ticket_id.is_(None),
        )
    ).all()
    return [i for i in ids if i in set(rows)]


# ---------------------------------------------------------------- the page


def month_start(now: datetime) -> datetime:
    return local_midnight(now.astimezone(LOCAL_TZ).date().replace(day=1))


def page_context(
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    **extra: Any,
) -> dict[str, Any]:
    person = person_for(session, staff)
    ctx = field_context(session, taxonomy, registry, staff)
    tasks: list[tuple[Ticket, list[str]]] = []
    if staff.role == Role.GRID_WORKER:
        tasks = [(t, fieldwork.steps_now(t)) for t in fieldwork.open_tasks(ctx, person)]
    now = utcnow()
    figures = fieldwork.patrol_figures(session, [staff.username], month_start(now), now)
    return {
        "staff": staff,
        "person": person,
        "worker": staff.role == Role.GRID_WORKER,
        "tasks": tasks,
        "reports": fieldwork.own_reports(session, person, OWN_REPORTS),
        "figures": figures.get(staff.username),
        "taxonomy": taxonomy,
        "registry": registry,
        "grid_names": [registry.full_name(code) for code in person.grid_codes],
        "step_labels": fieldwork.STEP_TITLES,
        "categories": [
            *((c.code, c.name) for c in taxonomy.categories),
            (UNCLASSIFIED, taxonomy.name_of(UNCLASSIFIED)),
        ],
        "draft": None,
        "entered": {},
        "error": None,
        "done": "",
        **extra,
    }


def done_message(session: Session, staff: Staff, done: str, number: str) -> str:
    """The confirmation shown after a redirect; nothing for a made-up ``done`` or number."""
    if done in DONE and "{number}" not in DONE[done]:
        return DONE[done]
    if not NUMBER.fullmatch(number):
        return ""
    if done in DONE:
        return DONE[done].format(number=number)
    if done in fieldwork.STEPS and staff.role == Role.GRID_WORKER:
        ticket = ticket_service.get_ticket(session=session, number=number)
        if ticket is not None and (ticket.grid_code or "") in staff.grid_codes:
            return fieldwork.step_message(ticket, done)
    return ""


def field_page_response(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = page_context(session, taxonomy, registry, staff, **extra)
    return render(request, "field.html", context, status_code=status_code)


def failed(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    exc: Exception,
    entered: dict[str, str],
) -> HTMLResponse:
    """The page again with the error and what was typed; nothing half-done is kept."""
    session.rollback()
    status = 422
    if isinstance(exc, attachment_service.AttachmentTooLargeError):
        status = 413
    elif isinstance(exc, attachment_service.UnsupportedMediaError):
        status = 415
    elif isinstance(exc, fieldwork.FieldForbidden):
        status = 403
    elif isinstance(exc, fieldwork.FieldNotFound):
        status = 404
    elif isinstance(exc, fieldwork.FieldConflict):
        status = 409
    return field_page_response(
        request, session, taxonomy, registry, staff, status, error=str(exc), entered=entered
    )


@router.get("/field", response_class=HTMLResponse)
def field_page(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
    done: Annotated[str, Query(max_length=16)] = "",
    number: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    field_staff(staff)
    return field_page_response(
        request, session, taxonomy, registry, staff, done=done_message(session, staff, done, number)
    )


@router.post("/field/tasks/{number}/steps", response_class=HTMLResponse)
def take_step(
    number: str,
    request: Request,
    fields: FormDep,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    """接单 / 已到场 / 需要协调 (a reason) / 办结 (a result note and a photo)."""
    field_staff(staff)
    entered = {"task": number, "step": fields.get("step", ""), "text": fields.get("text", "")}
    try:
        if staff.role != Role.GRID_WORKER:
            raise ForbiddenError
        step = fields.get("step", "")
        if step not in fieldwork.STEPS or not NUMBER.fullmatch(number):
            raise FieldInputError("请选择要办理的步骤")
        text = text_field(fields, "text")
        photo_ids = store_photos(session, staff, form)
        person = person_for(session, staff)
        ctx = field_context(session, taxonomy, registry, staff)
        fieldwork.take_step(ctx, person, number, step, text=text, attachment_ids=photo_ids)
    except (
        FieldInputError,
        fieldwork.FieldError,
        attachment_service.AttachmentTooLargeError,
        attachment_service.UnsupportedMediaError,
    ) as exc:
        return failed(request, session, taxonomy, registry, staff, exc, entered)
    return RedirectResponse(f"/field?done={step}&number={number}", status_code=303)


@router.post("/field/reports/draft", response_class=HTMLResponse)
def draft_report(
    request: Request,
    fields: FormDep,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    resolver: ResolverDep,
    staff: StaffDep,
) -> Response:
    """The report drafted (category, grid, place) and shown for confirmation."""
    field_staff(staff)
    entered = {k: fields.get(k, "") for k in ("text", "on_behalf_of", "latitude", "longitude")}
    try:
        text = text_field(fields, "text")
        if not text:
            raise FieldInputError("请填写上报内容")
        on_behalf_of = text_field(fields, "on_behalf_of", MAX_NAME) or None
        latitude, longitude = location(fields)
        settings = request.app.state.settings
        classify = fieldwork.classify_now(settings.rasa_url, settings.rasa_token, text)
        person = person_for(session, staff)
        ctx = field_context(session, taxonomy, registry, staff)
        draft = fieldwork.draft_report(
            ctx, person, text, latitude=latitude, longitude=longitude, classify=classify,
            on_behalf_of=on_behalf_of, resolver=resolver,
        )  # fmt: skip
        photo_ids = store_photos(session, staff, form)
    except (
        FieldInputError,
        fieldwork.FieldError,
        attachment_service.AttachmentTooLargeError,
        attachment_service.UnsupportedMediaError,
    ) as exc:
        return failed(request, session, taxonomy, registry, staff, exc, entered)
    submission_key = f"web-field-{staff.username}-{secrets.token_hex(8)}"
    return field_page_response(
        request, session, taxonomy, registry, staff, draft=draft, photo_ids=photo_ids,
        submission_key=submission_key, entered=entered,
    )  # fmt: skip


@router.post("/field/reports", response_class=HTMLResponse)
def file_report(
    request: Request,
    fields: FormDep,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    resolver: ResolverDep,
    staff: StaffDep,
) -> Response:
    """The confirmed draft filed as a ticket, exactly once per submission key.

    The draft is built again from what was confirmed (text, place, the category as the person
    left or corrected it): grid and place come from the server, never from the form.
    """
    field_staff(staff)
    entered = {k: fields.get(k, "") for k in ("text", "on_behalf_of", "latitude", "longitude")}
    try:
        key = fields.get("submission_key", "")
        if not SUBMISSION_KEY.fullmatch(key) or not key.startswith(f"web-field-{staff.username}-"):
            raise FieldInputError("页面已过期，请重新填写上报内容")
        text = text_field(fields, "text")
        if not text:
            raise FieldInputError("请填写上报内容")
        on_behalf_of = text_field(fields, "on_behalf_of", MAX_NAME) or None
        latitude, longitude = location(fields)
        code = fields.get("category", "")
        category = taxonomy.get(code)
        if category is None and code != UNCLASSIFIED:
            raise FieldInputError("请选择问题分类")
        sub = fields.get("subcategory", "")
        subcategory = sub if sub and category and category.subcategory(sub) else None
        person = person_for(session, staff)
        ctx = field_context(session, taxonomy, registry, staff)
        draft = fieldwork.draft_report(
            ctx, person, text, latitude=latitude, longitude=longitude,
            classify=lambda _text: (code, subcategory), on_behalf_of=on_behalf_of,
            resolver=resolver,
        )  # fmt: skip
        photo_ids = own_photo_ids(session, staff, form.getlist("attachment_ids"))  # type: ignore[arg-type]
        ticket, _created = fieldwork.file_report(
            ctx, person, draft, submission_key=key, attachment_ids=photo_ids,
            channel=WEB_CHANNEL,
        )  # fmt: skip
    except (FieldInputError, fieldwork.FieldError) as exc:
        return failed(request, session, taxonomy, registry, staff, exc, entered)
    return RedirectResponse(f"/field?done=report&number={ticket.number}", status_code=303)


@router.post("/field/visits", response_class=HTMLResponse)
def log_visit(
    request: Request,
    fields: FormDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    """走访日志: households visited today, and notes."""
    field_staff(staff)
    entered = {"households": fields.get("households", ""), "notes": fields.get("notes", "")}
    try:
        count = households(fields.get("households"))
        notes = text_field(fields, "notes", fieldwork.MAX_NOTES)
        person = person_for(session, staff)
        ctx = field_context(session, taxonomy, registry, staff)
        fieldwork.log_visit(ctx, person, count, notes)
    except (FieldInputError, fieldwork.FieldError) as exc:
        return failed(request, session, taxonomy, registry, staff, exc, entered)
    return RedirectResponse("/field?done=visit", status_code=303)
