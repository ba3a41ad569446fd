"""Open311 GeoReport v2 (JSON): services are the taxonomy's top-level categories.

Who sees what (docs/decisions.md, "Open311 clients have their own keys"):

* anyone, unless ``OPEN311_PUBLIC_READS`` is false: the services, and requests without
  personal data — phone numbers, e-mail addresses and long digit runs in the description are
  masked; anonymous reports show only their street (街道) and coordinates rounded to 3
  decimals (about 100 m); no photos.
* a client with an Open311 key (``petition apikeys create``, ``api_key`` parameter): the
  place as filed (address, exact coordinates, grid), the description unmasked, and the first
  photo under an unguessable URL. Never a phone number, a name or the transcript.
* POST needs an Open311 key. The case-store API token is not an Open311 key, and an Open311
  key opens nothing outside ``/open311/v2``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accounts import apikeys
from accounts.models import Open311Key
from casestore.models import Channel, Ticket, TicketStatus
from casestore.schemas import TicketDraft
from casestore.services import attachments as attachment_service
from casestore.services import lifecycle
from casestore.services import tickets as ticket_service
from core import labels
from core.deps import SessionDep, SettingsDep, TaxonomyDep
from core.secret import same_secret
from core.settings import Settings
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry

router = APIRouter(prefix="/open311/v2", tags=["open311"])

MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns; larger ones cannot exist (PostgreSQL int4)
PUBLIC_DECIMALS = 3  # about 100 m: the street, not the door of an anonymous resident
MASK = "***"
# Contact details a resident may have typed into the description: e-mail addresses, and runs
# of 7+ digits (phone, ID card, bank card numbers; full-width digits and separators included).
_CONTACT_RE = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
    r"|[0-9０-９](?:[\s\-－]?[0-9０-９]){6,}[xX]?"
)
_MEDIA_RE = re.compile(r"^([0-9]{1,10})-([0-9a-f]{32})$")
_CLOSED = tuple(labels.FINAL_STATUSES)
_OPEN = tuple(s.value for s in TicketStatus if s.value not in labels.FINAL_STATUSES)


# TicketDraft's fields as an Open311 client names them, and pydantic's rules in Chinese.
_PARAMETERS = {
    "category": "service_code",
    "subcategory": "attribute[subcategory]",
    "location_text": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "contact_phone": "phone",
}
_RULES = {
    "missing": "为必填项",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "greater_than_equal": "必须大于或等于 {ge}",
    "less_than_equal": "必须小于或等于 {le}",
}


class Reader(enum.Enum):
    PUBLIC = "public"
    CLIENT = "client"  # presented a valid Open311 key


def open311_error(status_code: int, code: int, description: str) -> JSONResponse:
    """GeoReport v2 errors are a list of {code, description}."""
    return JSONResponse(
        status_code=status_code, content=[{"code": code, "description": description}]
    )


def _reader(session: Session, settings: Settings, api_key: str | None) -> Reader | JSONResponse:
    """Who is reading; a wrong key is refused even where reads are public (no silent downgrade)."""
    if api_key:
        if apikeys.check_key(session=session, key=api_key) is None:
            return open311_error(403, 403, "api_key 无效或已吊销")
        return Reader.CLIENT
    if not settings.open311_public_reads:
        return open311_error(401, 401, "查询诉求需要 api_key，请向平台管理员申请 Open311 密钥")
    return Reader.PUBLIC


def _client(session: Session, api_key: str) -> Open311Key | JSONResponse:
    if not api_key:
        return open311_error(401, 401, "缺少 api_key，请向平台管理员申请 Open311 密钥")
    client = apikeys.check_key(session=session, key=api_key)
    if client is None:
        return open311_error(403, 403, "api_key 无效或已吊销")
    return client


def w3c(moment: datetime | None) -> str | None:
    """A W3C (RFC 3339) timestamp with its offset, as GeoReport v2 requires."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an Open311 response")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def mask_contacts(text: str) -> str:
    return _CONTACT_RE.sub(MASK, text)


def media_token(settings: Settings, attachment_id: int) -> str:
    """``<id>-<mac>``: the id alone opens nothing, the MAC cannot be guessed."""
    mac = hmac.new(
        settings.casestore_api_token.encode("utf-8"),
        f"open311-media:{attachment_id}".encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"{attachment_id}-{mac}"


def _media_id(settings: Settings, token: str) -> int | None:
    match = _MEDIA_RE.match(token)
    if match is None or int(match.group(1)) > MAX_ROW_ID:
        return None
    attachment_id = int(match.group(1))
    return attachment_id if same_secret(token, media_token(settings, attachment_id)) else None


def _street_level(registry: Registry, code: str | None) -> tuple[str, str | None]:
    """District and street (街道/乡镇) of a grid or unit: names and the street's code."""
    if not code:
        return "", None
    try:
        chain = registry.chain(code)
    except KeyError:
        return "", None
    upper = [step for step in chain if step["tier"] in ("street", "district")]
    names = " ".join(step["name"] for step in reversed(upper))
    return names, upper[0]["code"] if upper else None


def _coordinate(value: float | None, public: bool) -> float | None:
    if value is None or not public:
        return value
    return round(value, PUBLIC_DECIMALS)


def to_request(
    ticket: Ticket,
    taxonomy: Taxonomy,
    *,
    reader: Reader,
    registry: Registry,
    media_url: str | None = None,
) -> dict[str, Any]:
    """One GeoReport v2 request; what the public sees is described in the module docstring."""
    status = TicketStatus(ticket.status)
    public = reader is Reader.PUBLIC
    coarse = public and ticket.anonymous
    address, address_id = ticket.location_text, ticket.grid_code
    if coarse:
        address, address_id = _street_level(registry, ticket.grid_code or ticket.area_code)
    return {
        "service_request_id": ticket.number,
        "status": "closed" if status in labels.FINAL_STATUSES else "open",
        "status_notes": labels.STATUS[status],
        "service_name": taxonomy.name_of(ticket.category),
        "service_code": ticket.category,
        "service_subcode": ticket.subcategory,
        "description": mask_contacts(ticket.description) if public else ticket.description,
        "agency_responsible": lifecycle.current_handler(ticket),
        "service_notice": "",
        "requested_datetime": w3c(ticket.created_at),
        "updated_datetime": w3c(ticket.updated_at),
        "expected_datetime": w3c(ticket.due_at),
        "address": address,
        "address_id": address_id,
        "zipcode": None,
        "lat": _coordinate(ticket.latitude, coarse),
        "long": _coordinate(ticket.longitude, coarse),
        "media_url": None if public else media_url,
    }


def _requests(
    request: Request,
    session: Session,
    settings: Settings,
    taxonomy: Taxonomy,
    reader: Reader,
    tickets: list[Ticket],
) -> list[dict[str, Any]]:
    """Open311 rows; a client's media_url is each ticket's first photo (one query for all)."""
    photos: dict[int, int] = {}
    if reader is Reader.CLIENT:
        photos = attachment_service.first_attachment_ids(
            session=session, ticket_ids=[t.id for t in tickets]
        )
    registry = load_registry(settings.data_dir / "grids")
    return [
        to_request(
            t,
            taxonomy,
            reader=reader,
            registry=registry,
            media_url=str(
                request.url_for("open311_media", token=media_token(settings, photos[t.id]))
            )
            if t.id in photos
            else None,
        )
        for t in tickets
    ]


def describe(error: Any) -> str:
    """A draft's first validation error in Chinese, named by its Open311 parameter."""
    loc = [str(part) for part in error.get("loc") or ()]
    field = _PARAMETERS.get(loc[0], loc[0]) if loc else ""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if not re.search(r"[\u4e00-\u9fff]", message):  # pydantic's own rules are in English
        ctx = error.get("ctx") or {}
        rule = _RULES.get(str(error.get("type")), "取值无效")
        try:
            message = rule.format(
                **{
                    k: int(v) if isinstance(v, float) and v.is_integer() else v
                    for k, v in ctx.items()
                }
            )
        except (KeyError, IndexError):
            message = "取值无效"
    return f"{field}：{message}" if field else message


def _moment(name: str, value: str | None, settings: Settings) -> datetime | None:
    """A W3C date or datetime in UTC; without an offset it is local time (``TIME_ZONE``).

    The same rule as ``core.deps.aware_datetime``, parsed here so that a bad value is a
    GeoReport error (a 400 list of code and description), not the app's 422 body.
    Raises ValueError with the Chinese message for the client.
    """
    if not value:
        return None
    # An unencoded "+08:00" arrives as " 08:00" (a plus in a query string is a space).
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name} 不是有效的日期时间，请使用 W3C 格式，如 2026-12-01T08:00:00+08:00"
        ) from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=settings.local_tz)).astimezone(
            UTC
        )
    except OverflowError:
        raise ValueError(f"{name} 超出可表示的时间范围（公元1年至9999年）") from None


def _number(name: str, value: str) -> float | None:
    """An optional form number (lat, long); raises ValueError with the Chinese message."""
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{name} 不是有效的数字")
    return number


@router.get("/services.json")
def services(taxonomy: TaxonomyDep) -> list[dict[str, Any]]:
    """The service list is public: it holds no personal data."""
    return [
        {
            "service_code": category.code,
            "service_name": category.name,
            "description": f"{category.name}（{category.department}）",
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join(s.name for s in category.subcategories),
            "group": category.name,
        }
        for category in taxonomy.categories
    ]


@router.get("/services/{service_code}.json", response_model=None)
def service_definition(service_code: str, taxonomy: TaxonomyDep) -> dict[str, Any] | JSONResponse:
    category = taxonomy.get(service_code)
    if category is None:
        return open311_error(404, 404, f"未知的服务代码：{service_code[:64]}")
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
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    api_key: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]] | JSONResponse:
    reader = _reader(session, settings, api_key)
    if isinstance(reader, JSONResponse):
        return reader
    if service_request_id:
        numbers = [n.strip() for n in service_request_id.split(",") if n.strip()]
        found = [ticket_service.get_ticket(session=session, number=n) for n in numbers[:50]]
        tickets = [t for t in found if t is not None]
        return _requests(request, session, settings, taxonomy, reader, tickets)
    if service_code and taxonomy.get(service_code) is None:
        return open311_error(400, 400, f"未知的服务代码：{service_code[:64]}")
    if status and status not in ("open", "closed"):
        return open311_error(400, 400, "status 只能是 open 或 closed")
    try:
        since = _moment("start_date", start_date, settings)
        until = _moment("end_date", end_date, settings)
    except ValueError as exc:
        return open311_error(400, 400, str(exc))
    filters = ticket_service.TicketFilter(
        statuses={"open": _OPEN, "closed": _CLOSED}.get(status or "", ()),
        category=service_code,
        since=since,
        until=until,
    )
    rows, _ = ticket_service.list_tickets(session=session, filters=filters, limit=1000)
    return _requests(request, session, settings, taxonomy, reader, rows)


@router.get("/requests/{service_request_id}.json", response_model=None)
def get_request(
    service_request_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    api_key: str | None = None,
) -> list[dict[str, Any]] | JSONResponse:
    reader = _reader(session, settings, api_key)
    if isinstance(reader, JSONResponse):
        return reader
    ticket = ticket_service.get_ticket(session=session, number=service_request_id)
    if ticket is None:
        return open311_error(404, 404, f"未找到诉求 {service_request_id[:32]}")
    return _requests(request, session, settings, taxonomy, reader, [ticket])


@router.get("/media/{token}", name="open311_media", response_model=None)
def media(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """A ticket's photo; the URL itself is the permission (only keyed clients are given one)."""
    attachment_id = _media_id(settings, token)
    attachment = (
        attachment_service.public_attachment(session=session, attachment_id=attachment_id)
        if attachment_id is not None
        else None
    )
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
    taxonomy: TaxonomyDep,
    api_key: Annotated[str, Form()] = "",
    service_code: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    address_string: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    long: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str | None, Header()] = None,
) -> list[dict[str, Any]] | JSONResponse:
    """Create a request from an Open311 client (form-encoded, with its own ``api_key``)."""
    client = _client(session, api_key)
    if isinstance(client, JSONResponse):
        return client
    form = await request.form()
    subcategory = form.get("attribute[subcategory]")
    # Idempotency keys are the client's own: another client's key never finds this ticket.
    key = f"open311:{client.id}:{idempotency_key or uuid.uuid4().hex}"
    try:
        latitude, longitude = _number("lat", lat), _number("long", long)
        draft = TicketDraft(
            submission_key=re.sub(r"[^A-Za-z0-9:_\-.]", "-", key)[:128],
            category=service_code,
            subcategory=str(subcategory) if subcategory else None,
            description=description,
            location_text=address_string,
            latitude=latitude,
            longitude=longitude,
            contact_phone=phone or None,
            anonymous=not phone,
            channel=Channel.OPEN311,
        )
    except ValidationError as exc:
        return open311_error(400, 400, describe(exc.errors()[0]))
    except ValueError as exc:
        return open311_error(400, 400, str(exc))
    try:
        ticket, _ = ticket_service.create_ticket(
            session=session, draft=draft, taxonomy=taxonomy, actor=f"open311:{client.name}"
        )
    except ticket_service.UnknownCategoryError as exc:
        return open311_error(400, 400, str(exc))
    return [{"service_request_id": ticket.number, "service_notice": "", "account_id": None}]
