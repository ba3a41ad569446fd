"""How staff pages are rendered: Jinja filters that show labels, never codes, and error pages.

Every page module renders through `render`; the exceptions below (and those of `auth`)
become pages through the handlers `install_error_pages` registers on the app.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.exc import OperationalError

from console.paths import templates
from console.staff.auth import CsrfError, ForbiddenError, LoginRequiredError
from core import labels
from core.clock import LOCAL_TZ
from core.taxonomy import Taxonomy
from grids.registry import Registry

# Event and audit data fields whose values are codes, and the table that labels them.
CODED_FIELDS: dict[str, dict[str, str]] = {
    "from": labels.STATUS,
    "to": labels.STATUS,
    "status": labels.STATUS,
    "channel": labels.CHANNEL,
    "from_tier": labels.TIER,
    "to_tier": labels.TIER,
    "tier": labels.TIER,
    "rating": labels.RATING,
    "risk_grade": labels.RISK_GRADE,
    "outcome": labels.MEDIATION_OUTCOME,
    "result": labels.FOLLOW_UP,
    "reason": labels.REJECT_REASON,  # an escalation's free-text reason shows as it is
    "target": labels.DISPATCH_TARGET,  # events recorded before it was called dispatch_to
    "dispatch_to": labels.DISPATCH_TARGET,
    "role": labels.ROLE,
}
# Fields whose values are codes of the grid registry (grids, communities, streets, districts).
GRID_FIELDS = {"grid_code", "grid_codes", "area_code"}
# The Rasa intents besides report_<category> (core/labels.yml).
INTENT: dict[str, str] = labels.INTENT
INTENT_PREFIX = "report_"

log = logging.getLogger(__name__)

DATABASE_BUSY = "系统繁忙，请稍后重试"
RETRY_AFTER_SECONDS = 5


class TicketNotVisibleError(Exception):
    """Unknown number, or a grid worker asking for another grid's ticket (404 page)."""


def localtime(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def actor(value: str | None) -> str:
    """``{{ event.actor|actor }}``: ``staff:lili`` → ``话务员 lili``."""
    return labels.actor_label(value) if value else ""


def code_label(code: object, table: dict[str, str]) -> str:
    """``{{ ticket.tier|label(labels.TIER) }}``: the label of a code, the code if unknown."""
    return labels.label(table, code)


def _subcategory_name(taxonomy: Taxonomy, code: str) -> str | None:
    for category in taxonomy.categories:
        sub = category.subcategory(code)
        if sub is not None:
            return sub.name
    return None


def intent_label(intent: str, taxonomy: Taxonomy | None = None) -> str:
    """A Rasa intent in Chinese: ``report_disputes`` → ``矛盾纠纷``, ``affirm`` → ``确认``."""
    if intent.startswith(INTENT_PREFIX) and taxonomy is not None:
        category = taxonomy.get(intent[len(INTENT_PREFIX) :])
        if category is not None:
            return category.name
    return labels.label(INTENT, intent)


def place_name(code: str, registry: Registry | None) -> str:
    """A grid's or unit's name from the registry; the code when the registry does not know it."""
    if registry is not None and code in registry.grids:
        return registry.grids[code].name
    if registry is not None and code in registry.units:
        return registry.units[code].name
    return code


@dataclass(frozen=True)
class Names:
    """What turns codes into names where the page has it (the ticket page has both)."""

    taxonomy: Taxonomy | None = None
    registry: Registry | None = None


def _value(key: str, value: Any, names: Names) -> str:
    taxonomy = names.taxonomy
    if value is None or value == "":
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value(key, v, names) for v in value)
    if isinstance(value, Mapping):
        return _detail(value, names)
    if taxonomy is not None and key == "category":
        return taxonomy.name_of(str(value))
    if taxonomy is not None and key == "subcategory":
        return _subcategory_name(taxonomy, str(value)) or str(value)
    if key in {"intent", "predicted_intent"}:
        return intent_label(str(value), taxonomy)
    if key in GRID_FIELDS:
        return place_name(str(value), names.registry)
    if key == "via":
        return labels.actor_label(str(value))
    if key in CODED_FIELDS:
        return labels.label(CODED_FIELDS[key], value)
    return str(value)


def _is_change(value: object) -> bool:
    return isinstance(value, Mapping) and bool(value) and {"from", "to"} >= set(value)


def _detail(data: Mapping[str, Any], names: Names) -> str:
    parts = []
    for key, value in data.items():
        if _is_change(value):
            if value.get("from") == value.get("to"):
                continue  # recorded alongside a real change; nothing changed here
            shown = f"{_value(key, value.get('from'), names)} → "
            shown += _value(key, value.get("to"), names)
        elif value in (None, ""):
            continue
        else:
            shown = _value(key, value, names)
        parts.append(f"{labels.label(labels.EVENT_FIELD, key)}：{shown}")
    return "；".join(parts)


def detail(
    data: Mapping[str, Any], taxonomy: Taxonomy | None = None, registry: Registry | None = None
) -> str:
    """An event's (or audit record's) data as Chinese text: field labels, value labels."""
    return _detail(data, Names(taxonomy, registry))


@pass_context
def event_detail(context: Context, data: Mapping[str, Any]) -> str:
    """Category and grid codes become names where the page has the taxonomy and registry."""
    taxonomy = context.get("taxonomy")
    registry = context.get("registry")
    return detail(
        data,
        taxonomy if isinstance(taxonomy, Taxonomy) else None,
        registry if isinstance(registry, Registry) else None,
    )


@pass_context
def spoken(context: Context, text: str) -> str:
    """A transcript line as the resident saw it: a button's payload becomes what it meant.

    Channels without a button caption keep the payload (``/rate_service{"rating": ...}``,
    ``/affirm``) in the transcript; staff read its intent and values in Chinese.
    """
    match = PAYLOAD.fullmatch(text.strip())
    if match is None:
        return text
    taxonomy = context.get("taxonomy")
    shown = intent_label(match["intent"], taxonomy if isinstance(taxonomy, Taxonomy) else None)
    try:
        values = json.loads(match["values"]) if match["values"] else {}
    except ValueError:
        values = {}
    if isinstance(values, dict):
        values.pop("ticket_number", None)  # the page is the ticket's own
        more = event_detail(context, values)
        if more:
            shown += f"（{more}）"
    return f"［{shown}］"


PAYLOAD = re.compile(r"/(?P<intent>[a-z_]+)(?P<values>\{.*\})?", re.DOTALL)


templates.env.globals["labels"] = labels
templates.env.filters["localtime"] = localtime
templates.env.filters["label"] = code_label
templates.env.filters["event_label"] = lambda kind: labels.label(labels.EVENT, kind)
templates.env.filters["event_detail"] = event_detail
templates.env.filters["actor"] = actor
templates.env.filters["spoken"] = spoken


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request=request, name=f"staff/{name}", context=context, status_code=status_code
    )


# ---------------------------------------------------------------- error pages


def error_page(
    request: Request, message: str, status_code: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """The console's frame (with the menu when signed in) around one message.

    No database work: the signed-in staff member is the one the request already looked up
    (none when it failed before that). An error page must not take SQLite's write lock.
    """
    staff = getattr(request.state, "staff", None)
    response = render(
        request, "error.html", {"staff": staff, "message": message}, status_code=status_code
    )
    response.headers.update(headers or {})
    return response


MAX_NEXT = 2000  # characters of the page to return to after signing in


async def login_required(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if len(target) > MAX_NEXT:  # a huge query is not worth a huge Location header
            target = request.url.path if len(request.url.path) <= MAX_NEXT else "/"
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    return error_page(request, "登录已过期，请重新登录后再操作", 401)


async def forbidden(request: Request, exc: Exception) -> Response:
    return error_page(request, "您的账号没有此项权限", 403)


async def csrf_failed(request: Request, exc: Exception) -> Response:
    return error_page(request, "页面已过期（安全校验失败），请刷新页面后重试", 403)


async def ticket_not_visible(request: Request, exc: Exception) -> Response:
    return error_page(request, f"未找到工单 {exc.args[0]}，或不在您负责的网格内", 404)


async def database_busy(request: Request, exc: Exception) -> Response:
    """SQLite's "database is locked" (or a lost database connection): retry, not a crash."""
    log.warning("database busy on %s: %s", request.url.path, exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if "text/html" in request.headers.get("accept", ""):
        return error_page(request, DATABASE_BUSY, 503, headers)
    return JSONResponse({"detail": DATABASE_BUSY}, status_code=503, headers=headers)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(ForbiddenError, forbidden)
    app.add_exception_handler(CsrfError, csrf_failed)
    app.add_exception_handler(TicketNotVisibleError, ticket_not_visible)
    app.add_exception_handler(OperationalError, database_busy)
