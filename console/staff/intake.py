"""Hotline intake (热线录入): staff file a caller's request, helped by the bot's suggestions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from casestore.models import Channel
from casestore.schemas import TicketDraft, TranscriptLine
from casestore.services import tickets as ticket_service
from console.staff.auth import DeskStaffDep, Staff, checked_form
from console.staff.rendering import render
from core.deps import SessionDep, TaxonomyDep
from core.taxonomy import Taxonomy
from grids.api import RegistryDep, get_registry, get_resolver
from retraining.rasa_client import to_prediction

router = APIRouter(tags=["console"], include_in_schema=False)


def _intake_context(
    taxonomy: Taxonomy,
    request: Request,
    staff: Staff,
    values: dict[str, Any],
    error: str | None,
) -> dict[str, Any]:
    registry = get_registry(request)
    return {
        "staff": staff,
        "taxonomy": taxonomy,
        "grids": [(g.code, registry.full_name(g.code)) for g in registry.grids.values()],
        "values": {"submission_key": f"hotline:{uuid.uuid4().hex}", **values},
        "error": error,
    }


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request, taxonomy: TaxonomyDep, staff: DeskStaffDep) -> HTMLResponse:
    return render(request, "intake.html", _intake_context(taxonomy, request, staff, {}, None))


@router.post("/intake/suggest")
async def intake_suggest(
    request: Request,
    taxonomy: TaxonomyDep,
    staff: DeskStaffDep,
) -> JSONResponse:
    """The bot's classification and grid suggestions for what the caller said."""
    form = await checked_form(request, staff)
    description = form.get("description", "").strip()[:2000]
    location = form.get("location_text", "").strip()[:200]
    if len(description) < 2:
        return JSONResponse({"detail": "请先填写诉求内容"}, status_code=422)
    resolution = get_resolver(request).resolve_text(f"{location} {description}")
    registry = get_registry(request)
    result: dict[str, Any] = {
        "grids": [
            {"code": c.grid.code, "name": registry.full_name(c.grid.code), "score": c.score}
            for c in resolution.candidates[:3]
        ],
        "categories": [],
        "notice": "",
    }
    settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.rasa_client
    try:
        response = await client.post(
            "/model/parse", params={"token": settings.rasa_token}, json={"text": description}
        )
        response.raise_for_status()
        prediction = to_prediction(response.json())
    except httpx.HTTPError:
        result["notice"] = "自动分类暂不可用，请手动选择分类"
        return JSONResponse(result)
    for code, confidence in prediction.top3:
        category = taxonomy.get(code)
        if category:
            result["categories"].append(
                {"code": code, "name": category.name, "confidence": round(confidence, 3)}
            )
    result["subcategory"] = prediction.subcategory if prediction.category else None
    return JSONResponse(result)


@router.post("/intake", response_class=HTMLResponse)
async def intake_submit(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: DeskStaffDep,
) -> Response:
    values = await checked_form(request, staff)
    anonymous = values.get("anonymous") == "on"
    error: str | None = None
    try:
        draft = TicketDraft(
            submission_key=values.get("submission_key", ""),
            category=values.get("category", ""),
            subcategory=values.get("subcategory") or None,
            grid_code=values.get("grid_code") or None,
            location_text=values.get("location_text", ""),
            description=values.get("description", ""),
            contact_phone=None if anonymous else values.get("contact_phone") or None,
            anonymous=anonymous,
            channel=Channel.HOTLINE,
            transcript=[TranscriptLine(role="staff", text=values.get("description", "")[:5000])],
        )
        if draft.grid_code and draft.grid_code not in registry.grids:
            raise ValueError(f"未知的网格编码：{draft.grid_code}")
        ticket, _ = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy, actor=staff.actor
        )
    except ValidationError as exc:
        error = _draft_message(exc)
    except ValueError as exc:  # includes UnknownCategoryError
        error = str(exc)
    if error:
        context = _intake_context(taxonomy, request, staff, values, error)
        return render(request, "intake.html", context, status_code=422)
    return RedirectResponse(f"/tickets/{ticket.number}?done=intake", status_code=303)


def _draft_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    names = {
        "category": "请选择分类",
        "description": "诉求内容至少2个字，最多2000字",
        "location_text": "地点最多200字",
        "submission_key": "表单已过期，请刷新页面后重新填写",
    }
    return names.get(field, message)
