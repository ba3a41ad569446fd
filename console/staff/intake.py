"""Hotline intake (热线录入): staff file a caller's request, helped by the bot's suggestions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from casestore.models import Channel
from casestore.schemas import TicketDraft, TranscriptLine
from casestore.services import tickets as ticket_service
from console.staff.auth import DeskStaffDep, FormDep, Staff
from console.staff.rendering import render
from core.deps import SessionDep, TaxonomyDep
from core.secret import rasa_auth_header, same_secret
from core.taxonomy import Taxonomy
from grids.api import RegistryDep, get_registry, get_resolver
from retraining.rasa_client import to_prediction

router = APIRouter(tags=["console"], include_in_schema=False)

FORM_KEY_RE = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")
EXPIRED_FORM = "表单已过期，请刷新页面后重新填写"
# Back must not bring a used key back on an empty form (a new call would vanish into the
# ticket filed before), nor a fresh key on a form the browser refilled with a filed call
# (a second ticket): the page is never cached, and the form asks the browser not to refill
# its fields (autocomplete="off"). A page the back-forward cache restores whole keeps its
# own key, which files once.
NO_STORE = {"Cache-Control": "no-store"}


def _signature(staff: Staff, nonce: str) -> str:
    message = f"{staff.user_id}:{nonce}".encode()
    return hmac.new(staff.csrf_token.encode(), message, hashlib.sha256).hexdigest()[:32]


def issue_form_key(staff: Staff) -> str:
    """A fresh form's key: a nonce signed with the session's own secret (its CSRF token)."""
    nonce = secrets.token_hex(16)
    return f"{nonce}.{_signature(staff, nonce)}"


def submission_key(staff: Staff, form_key: str) -> str | None:
    """The ticket's idempotency key for a form this session was given; None for any other.

    The key names the staff member, so a re-posted form files once, while a key copied from
    someone else's form neither finds their ticket nor blocks their filing.
    """
    if not FORM_KEY_RE.fullmatch(form_key):
        return None
    nonce, signature = form_key.split(".")
    if not same_secret(signature, _signature(staff, nonce)):
        return None
    return f"hotline:{staff.user_id}:{nonce}"


def _intake_context(
    taxonomy: Taxonomy,
    request: Request,
    staff: Staff,
    values: dict[str, Any],
    error: str | None,
    filed: str | None = None,
) -> dict[str, Any]:
    registry = get_registry(request)
    form_key = values.get("submission_key", "")
    if submission_key(staff, form_key) is None:
        form_key = issue_form_key(staff)
    return {
        "staff": staff,
        "taxonomy": taxonomy,
        "grids": [(g.code, registry.full_name(g.code)) for g in registry.grids.values()],
        "values": {**values, "submission_key": form_key},
        "error": error,
        "filed": filed,
    }


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response = render(request, "intake.html", context, status_code=status_code)
    response.headers.update(NO_STORE)
    return response


@router.get("/intake", response_class=HTMLResponse)
def intake_form(request: Request, taxonomy: TaxonomyDep, staff: DeskStaffDep) -> HTMLResponse:
    return _page(request, _intake_context(taxonomy, request, staff, {}, None))


@router.post("/intake/suggest")
async def intake_suggest(
    request: Request,
    form: FormDep,
    taxonomy: TaxonomyDep,
    staff: DeskStaffDep,
) -> JSONResponse:
    """The bot's classification and grid suggestions for what the caller said.

    Async because it awaits Rasa (up to RASA_TIMEOUT_SECONDS); it touches the database only
    to look up the signed-in staff member, whose transaction has ended by then.
    """
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
            "/model/parse",
            headers=rasa_auth_header(settings.rasa_token),
            json={"text": description},
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
def intake_submit(
    request: Request,
    values: FormDep,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    registry: RegistryDep,
    staff: DeskStaffDep,
) -> Response:
    anonymous = values.get("anonymous") == "on"
    error: str | None = None
    try:
        key = submission_key(staff, values.get("submission_key", ""))
        if key is None:
            raise ValueError(EXPIRED_FORM)
        draft = TicketDraft(
            submission_key=key,
            category=values.get("category", ""),
            subcategory=values.get("subcategory") or None,
            grid_code=values.get("grid_code") or None,
            location_text=values.get("location_text", ""),
            description=values.get("description", ""),
            contact_phone=None if anonymous else values.get("contact_phone") or None,
            anonymous=anonymous,
            caller_name=None if anonymous else values.get("caller_name") or None,
            channel=Channel.HOTLINE,
            transcript=[TranscriptLine(role="staff", text=values.get("description", "")[:5000])],
        )
        if draft.grid_code and draft.grid_code not in registry.grids:
            raise ValueError(f"未知的网格编码：{draft.grid_code}")
        ticket, created = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy, actor=staff.actor
        )
    except ValidationError as exc:
        error = _draft_message(exc)
    except ValueError as exc:  # includes UnknownCategoryError
        error = str(exc)
    if error:
        context = _intake_context(taxonomy, request, staff, values, error)
        return _page(request, context, status_code=422)
    if not created:  # this form was filed before: say so, and offer a fresh, empty form
        return _page(request, _intake_context(taxonomy, request, staff, {}, None, ticket.number))
    return RedirectResponse(f"/tickets/{ticket.number}?done=intake", status_code=303)


def _draft_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    names = {
        "category": "请选择分类",
        "description": "诉求内容至少2个字，最多2000字",
        "location_text": "地点最多200字",
        "caller_name": "来电人姓名最多32字",
        "submission_key": EXPIRED_FORM,
    }
    return names.get(field, message)
