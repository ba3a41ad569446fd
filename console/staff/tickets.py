"""The ticket page (工单详情): facts, suggestions, map, similar tickets, actions and photos."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from casestore.models import Attachment, Ticket
from casestore.schemas import TicketAction
from casestore.services import attachments as attachment_service
from casestore.services import lifecycle, records
from casestore.services import queue as queue_service
from casestore.services import tickets as ticket_service
from casestore.services.history import is_demo_number
from console.staff.auth import FormDataDep, FormDep, Staff, StaffDep
from console.staff.mapsvg import grid_svg
from console.staff.queue import row_view
from console.staff.rendering import TicketNotVisibleError, render
from console.staff.roles import ROLES
from core import labels
from core.deps import SessionDep, TaxonomyDep
from core.taxonomy import Taxonomy
from grids.api import RegistryDep, get_resolver
from grids.registry import Registry

router = APIRouter(tags=["console"], include_in_schema=False)


@lru_cache
def reply_templates(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(yaml.safe_load(fh)["templates"])


# Actions whose form takes a photo of the result (办理照片).
PHOTO_ACTIONS = frozenset({"resolve"})


class RoleActionError(Exception):
    """The signed-in role may not take this action (403, shown on the ticket page)."""


def photo_groups(ticket: Ticket) -> list[tuple[str, list[Any]]]:
    """The resident's photos, then the handler's photos of the result (办理照片)."""
    result = attachment_service.RESULT_PHOTO_CHANNEL
    groups = [
        ("市民上传的照片", [a for a in ticket.attachments if a.channel != result]),
        (labels.EVENT["result_photo"], [a for a in ticket.attachments if a.channel == result]),
    ]
    return [(title, photos) for title, photos in groups if photos]


def visible_ticket(session: Session, staff: Staff, number: str) -> Ticket:
    """The ticket if this staff member may see it; otherwise the 404 page."""
    known_shape = number.isdigit() or (is_demo_number(number) and number[2:].isdigit())
    ticket = ticket_service.get_ticket(session=session, number=number) if known_shape else None
    if ticket is None or not staff.sees(ticket.grid_code, ticket.area_code):
        raise TicketNotVisibleError(number)
    return ticket


def _ticket_context(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    registry: Registry,
    staff: Staff,
    ticket: Ticket,
) -> dict[str, Any]:
    settings = request.app.state.settings
    resolver = get_resolver(request)
    resolution = resolver.resolve_text(ticket.location_text or ticket.description)
    point = (
        (ticket.longitude, ticket.latitude)
        if ticket.longitude is not None and ticket.latitude is not None
        else None
    )
    candidates = []
    for item in ticket.nlu_candidates or []:
        candidates.append(
            {
                "name": taxonomy.name_of(str(item.get("category"))),
                "confidence": float(item.get("confidence") or 0),
            }
        )
    ctx = lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry)
    # Reply templates name who handles it: the unit it went to, else the one it would go to.
    handler = ticket.assigned_to or lifecycle.handler_for(ctx, ticket)
    return {
        "staff": staff,
        "row": row_view(ticket, taxonomy, registry),
        "ticket": ticket,
        "candidates": candidates[:3],
        "grid_candidates": [
            {"code": c.grid.code, "name": registry.full_name(c.grid.code), "score": c.score}
            for c in resolution.candidates[:3]
        ],
        "map": grid_svg(registry, ticket.grid_code, point)
        if ticket.grid_code in registry.grids
        else None,
        "similar": [
            (row_view(t, taxonomy, registry), score)
            for t, score in queue_service.similar_open(session=session, ticket=ticket)
            if staff.sees_grid(t.grid_code)
        ],
        "events": ticket.events,
        "photo_groups": photo_groups(ticket),
        "records": {  # 民生档案 links: the rules of casestore.services.records
            "resident": records.has_resident_record(ticket),
            "place": records.has_place_record(ticket),
        },
        "allowed": lifecycle.available(ticket) & ROLES[staff.role].actions,
        "departments": lifecycle.departments(taxonomy),
        "taxonomy": taxonomy,
        "registry": registry,  # grid codes in the history show as names
        "handled_by": lifecycle.current_handler(ticket),
        "dispatch_choices": lifecycle.dispatch_choices(ctx, ticket),
        "grids": [
            (g.code, registry.full_name(g.code))
            for g in registry.grids.values()
            if staff.sees_grid(g.code)
        ],
        "replies": [
            {"title": t["title"], "text": t["text"].format(number=ticket.number, handler=handler)}
            for t in reply_templates(settings.data_dir / "reply_templates.yml")
        ],
        "done": labels.ACTION.get(request.query_params.get("done", ""), ""),
        "error": None,
        "entered": {},  # a refused form's fields, shown again as the user entered them
    }


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(
    number: str,
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> HTMLResponse:
    ticket = visible_ticket(session, staff, number)
    return render(
        request, "ticket.html", _ticket_context(request, session, taxonomy, registry, staff, ticket)
    )


@router.post("/tickets/{number}/actions", response_class=HTMLResponse)
def ticket_action(
    number: str,
    request: Request,
    fields: FormDep,
    form: FormDataDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: StaffDep,
) -> Response:
    ticket = visible_ticket(session, staff, number)
    if fields.get("action") == "rate":
        fields["action"] = ""  # residents rate, staff do not
    error: tuple[int, str] | None = None
    entered = {k: v for k, v in fields.items() if k not in {"csrf_token", "submit"}}
    action: TicketAction | None = None
    try:
        if fields.get("action") in set(lifecycle.ALLOWED_FROM) - ROLES[staff.role].actions:
            name = labels.label(labels.ACTION, fields["action"])
            raise RoleActionError(f"{staff.role_label}不能执行「{name}」")
        if fields.get("action") == "correct" and "subcategory" in fields:
            fields["subcategory"] = _subcategory_for(taxonomy, ticket, fields)
        action = TicketAction.model_validate({**fields, "actor": staff.actor})
        if action.grid_code and not staff.sees_grid(action.grid_code):
            raise lifecycle.ActionInputError("不能把工单改到您负责范围以外的网格")
        ctx = lifecycle.Context(
            session=session, taxonomy=taxonomy, registry=registry,
            grid_scope=staff.grid_scope, area_scope=staff.area_scope,
        )  # fmt: skip
        lifecycle.apply_action(ctx, ticket, action)
        photo = form.get("photo")
        if action.action in PHOTO_ACTIONS and isinstance(photo, UploadFile) and photo.filename:
            data = photo.file.read(attachment_service.MAX_BYTES + 1)
            attachment_service.add_result_photo(
                session=session, ticket=ticket, data=data, filename=photo.filename,
                actor=staff.actor,
            )  # fmt: skip
    except RoleActionError as exc:
        error = (403, str(exc))
    except ValidationError as exc:
        error = (422, _validation_message(exc))
    except lifecycle.ActionInputError as exc:
        error = (422, str(exc))
    except lifecycle.ActionError as exc:
        error = (409, str(exc))
    except attachment_service.AttachmentTooLargeError as exc:
        error = (413, str(exc))
    except attachment_service.UnsupportedMediaError as exc:
        error = (415, str(exc))
    if error is not None or action is None:
        error = error or (422, "操作未完成，请重试")
        session.rollback()  # a half-applied action leaves nothing behind
        ticket = visible_ticket(session, staff, number)
        context = _ticket_context(request, session, taxonomy, registry, staff, ticket)
        context["error"] = error[1]
        context["entered"] = entered
        return render(request, "ticket.html", context, status_code=error[0])
    return RedirectResponse(f"/tickets/{number}?done={action.action}", status_code=303)


def _subcategory_for(taxonomy: Taxonomy, ticket: Ticket, fields: dict[str, str]) -> str:
    """The correction form's subcategory, checked against the category chosen with it.

    Without JavaScript the subcategory select keeps the ticket's old subcategory when only the
    category is changed: an old subcategory of another category is dropped, not refused. A
    subcategory the user picked from another category is refused, in words, not codes.
    """
    code = fields.get("subcategory") or ""
    category = taxonomy.get(fields.get("category") or ticket.category)
    if not code or category is None or category.subcategory(code) is not None:
        return code
    if code == ticket.subcategory and category.code != ticket.category:
        return ""
    from_category = next((c for c in taxonomy.categories if c.subcategory(code)), None)
    sub = from_category.subcategory(code) if from_category else None
    name = f"「{sub.name}」" if sub else "所选的二级分类"
    raise lifecycle.ActionInputError(
        f"二级分类{name}不属于分类「{category.name}」，请重新选择二级分类"
    )


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    names = {"action": "操作", "text": "内容", "version": "版本", "description": "诉求内容",
             "days": "延期天数（1–30个工作日）", "department": "承办单位"}  # fmt: skip
    if field in names:
        return f"{names[field]}填写有误：请检查后重新提交"
    return "提交的内容有误，请检查后重新提交"


@router.get("/tickets/{number}/photos/{attachment_id}")
def ticket_photo(number: str, attachment_id: int, session: SessionDep, staff: StaffDep) -> Response:
    ticket = visible_ticket(session, staff, number)
    attachment = attachment_service.get_attachment(session=session, attachment_id=attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise TicketNotVisibleError(number)
    return stored_file(attachment)


def stored_file(attachment: Attachment, disposition: str = "") -> Response:
    """A stored file (a photo, an agreement) as it was uploaded, never sniffed as anything
    else; ``disposition``: its Content-Disposition, if any."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if disposition:
        headers["Content-Disposition"] = disposition
    return Response(attachment.data, media_type=attachment.content_type, headers=headers)
