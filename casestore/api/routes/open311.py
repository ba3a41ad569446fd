"""Open311 GeoReport v2 (JSON): services are the taxonomy's top-level categories."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from casestore.models import Channel, Ticket, TicketStatus
from casestore.schemas import TicketDraft
from casestore.services import attachments as attachment_service
from casestore.services import tickets as ticket_service
from core import labels
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.secret import same_secret
from core.taxonomy import Taxonomy

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def open311_error(status_code: int, code: int | str, description: str) -> JSONResponse:
    """GeoReport v2 errors are a list of {code, description}."""
    return JSONResponse(
        status_code=status_code, content=[{"code": code, "description": description}]
    )


def _service(category: Any) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.name}（{category.department}）",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(s.name for s in category.subcategories),
        "group": category.name,
    }


def to_request(ticket: Ticket, taxonomy: Taxonomy, media_url: str | None = None) -> dict[str, Any]:
    status = TicketStatus(ticket.status)
    return {
        "service_request_id": ticket.number,
        "status": "closed" if status in labels.FINAL_STATUSES else "open",
        "status_notes": labels.STATUS[status],
        "service_name": taxonomy.name_of(ticket.category),
        "service_code": ticket.category,
        "service_subcode": ticket.subcategory,
        "description": ticket.description,
        "agency_responsible": ticket.department,
        "service_notice": "",
        "requested_datetime": ticket.created_at.isoformat(),
        "updated_datetime": ticket.updated_at.isoformat(),
        "expected_datetime": ticket.due_at.isoformat(),
        "address": ticket.location_text,
        "address_id": ticket.grid_code,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": media_url,
    }


def _requests(
    request: Request, session: Session, taxonomy: Taxonomy, tickets: list[Ticket]
) -> list[dict[str, Any]]:
    """Open311 rows; media_url is the first photo of each ticket (one query for all)."""
    photos = attachment_service.first_attachment_ids(
        session=session, ticket_ids=[t.id for t in tickets]
    )
    return [
        to_request(
            t,
            taxonomy,
            str(request.url_for("open311_media", attachment_id=photos[t.id]))
            if t.id in photos
            else None,
        )
        for t in tickets
    ]


@router.get("/services.json")
def services(taxonomy: TaxonomyDep) -> list[dict[str, Any]]:
    return [_service(c) for c in taxonomy.categories]


@router.get("/services/{service_code}.json", response_model=None)
def service_definition(service_code: str, taxonomy: TaxonomyDep) -> dict[str, Any] | JSONResponse:
    category = taxonomy.get(service_code)
    if category is None:
        return open311_error(404, 404, f"未知的服务代码：{service_code}")
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": "subcategory",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "二级分类",
                "order": 1,
                "description": "二级分类",
                "values": [{"key": s.code, "name": s.name} for s in category.subcategories],
            }
        ],
    }


@router.get("/requests.json", response_model=None)
def list_requests(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> list[dict[str, Any]] | JSONResponse:
    if service_request_id:
        numbers = [n.strip() for n in service_request_id.split(",") if n.strip()]
        found = [ticket_service.get_ticket(session=session, number=n) for n in numbers[:50]]
        return _requests(request, session, taxonomy, [t for t in found if t is not None])
    if service_code and taxonomy.get(service_code) is None:
        return open311_error(400, 400, f"未知的服务代码：{service_code}")
    filters = ticket_service.TicketFilter(category=service_code, since=start_date, until=end_date)
    rows, _ = ticket_service.list_tickets(session=session, filters=filters, limit=1000)
    result = _requests(request, session, taxonomy, rows)
    if status:
        result = [r for r in result if r["status"] == status]
    return result


@router.get("/requests/{service_request_id}.json", response_model=None)
def get_request(
    service_request_id: str, request: Request, session: SessionDep, taxonomy: TaxonomyDep
) -> list[dict[str, Any]] | JSONResponse:
    ticket = ticket_service.get_ticket(session=session, number=service_request_id)
    if ticket is None:
        return open311_error(404, 404, f"未找到诉求 {service_request_id}")
    return _requests(request, session, taxonomy, [ticket])


@router.get("/media/{attachment_id}", name="open311_media", response_model=None)
def media(attachment_id: int, session: SessionDep) -> Response:
    """A ticket's photo, as Open311's media_url points to it (only photos of filed tickets)."""
    attachment = attachment_service.public_attachment(session=session, attachment_id=attachment_id)
    if attachment is None:
        return open311_error(404, 404, "未找到该图片")
    return Response(
        content=attachment.data,
        media_type=attachment.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/requests.json", response_model=None)
async def create_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    api_key: Annotated[str, Form()] = "",
    service_code: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    address_string: Annotated[str, Form()] = "",
    lat: Annotated[float | None, Form()] = None,
    long: Annotated[float | None, Form()] = None,
    phone: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str | None, Header()] = None,
) -> list[dict[str, Any]] | JSONResponse:
    """Create a request from an Open311 client (form-encoded, with ``api_key``)."""
    if not same_secret(api_key, settings.casestore_api_token):
        return open311_error(403, 403, "api_key 无效")
    form = await request.form()
    subcategory = form.get("attribute[subcategory]")
    key = idempotency_key or f"open311:{uuid.uuid4().hex}"
    try:
        draft = TicketDraft(
            submission_key=re.sub(r"[^A-Za-z0-9:_\-.]", "-", key)[:128],
            category=service_code,
            subcategory=str(subcategory) if subcategory else None,
            description=description,
            location_text=address_string,
            latitude=lat,
            longitude=long,
            contact_phone=phone or None,
            anonymous=not phone,
            channel=Channel.OPEN311,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "request"
        return open311_error(400, 400, f"{field}: {first['msg']}")
    try:
        ticket, _ = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy, actor="open311"
        )
    except ticket_service.UnknownCategoryError as exc:
        return open311_error(400, 400, str(exc))
    return [{"service_request_id": ticket.number, "service_notice": "", "account_id": None}]
