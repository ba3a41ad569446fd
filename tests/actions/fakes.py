"""Faithful fakes of the HTTP APIs the actions call: the case store (with grids) and Rasa.

The actions' real clients run over ``httpx.MockTransport(transport(...))``: requests go
through the same URLs, headers and JSON bodies as in production, and the fakes answer with
the status codes of the real endpoints (see casestore/api, grids/api.py, retraining/api.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jwt

from actions import taxonomy
from nlu import server

Handler = Callable[[httpx.Request], httpx.Response]

STATUS_LABELS = {  # core/labels.yml
    "submitted": "已受理，待审核",
    "dispatched": "已派单",
    "in_progress": "办理中",
    "resolved": "已办理，待评价",
    "closed": "已办结",
    "rejected": "不予受理",
    "reopened": "已重新办理",
}
RATABLE = {"resolved", "closed"}
EVENT_KINDS = {"handoff_requested", "resident_message"}
TICKET_PATH = re.compile(r"/api/v1/tickets/([^/]+)(/actions|/events|/status-lookup)?")
MAX_REFUSED = 5  # casestore/api/routes/lookup.py
NUMBER = re.compile(r"\d{13}")


def transport(routes: Mapping[str, Handler]) -> httpx.MockTransport:
    """One transport for every service, routed by host; an unknown host is unreachable."""

    def handle(request: httpx.Request) -> httpx.Response:
        handler = routes.get(request.url.host)
        if handler is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return handler(request)

    return httpx.MockTransport(handle)


def candidate(grid_code: str, grid_name: str, community: str, place: str) -> dict[str, Any]:
    """A grid candidate as ``/api/v1/grids/resolve`` returns it."""
    return {
        "grid_code": grid_code,
        "grid_name": grid_name,
        "community": community,
        "street": "玉林街道",
        "district": "武侯区",
        "worker_name": "网格员",
        "worker_phone": "13800000000",
        "score": 0.9,
        "matched_text": place,
        "span": [0, len(place)],
        "place": place,
        "reason": "text",
    }


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def _detail(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class FakeCaseStore:
    """The case store's service API: tickets, ratings, events, grid resolution, examples.

    Tests arrange its state (``tickets``, ``places``, ``points``) and read what the actions
    did (``ratings``, ``events``, ``examples``, ``submissions``). ``down_for`` holds the HTTP
    methods answered with a dropped connection, as when the store is down.
    """

    def __init__(self, token: str, data_dir: Path) -> None:
        self.token = token
        self.categories = taxonomy.load(data_dir / "taxonomy.yml")
        self.tickets: dict[str, dict[str, Any]] = {}
        self.places: dict[str, list[dict[str, Any]]] = {}  # place text -> grid candidates
        self.resolutions: dict[str, dict[str, Any]] = {}  # place text -> the whole answer
        self.points: dict[tuple[float, float], list[dict[str, Any]]] = {}
        self.ratings: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.examples: list[dict[str, Any]] = []
        self.submissions = 0  # ticket creations tried, delivered or not
        self.refused: dict[str, int] = {}  # ticket number -> wrong phone digits given
        self.down_for: set[str] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/api/v1/tickets":
            self.submissions += 1
        if request.method in self.down_for:
            raise httpx.ConnectError("case store down", request=request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _detail(401, "无效的访问令牌")
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        if path == "/api/v1/tickets":
            if request.method == "POST":
                return self._create(body)
            return self._list(request.url.params)
        if path == "/api/v1/grids/resolve":
            return self._resolve(body)
        if path == "/api/v1/training-examples":
            return self._add_example(body)
        match = TICKET_PATH.fullmatch(path)
        if match is None:
            return _detail(404, "Not Found")
        number, sub = match.groups()
        if sub == "/events":
            return self._add_event(number, body)
        if not NUMBER.fullmatch(number):
            return _detail(422, "工单号应为13位数字，例如 2026112600001")
        found = self.tickets.get(number)
        if found is None:
            return _detail(404, f"未找到工单 {number}")
        if sub == "/actions":
            return self._act(found, body)
        if sub == "/status-lookup":
            return self._status_lookup(found, body)
        return _json(200, found)

    def _create(self, draft: dict[str, Any]) -> httpx.Response:
        """Idempotent per submission key: a repeat answers 200 with the first ticket."""
        for existing in self.tickets.values():
            if existing.get("submission_key") == draft["submission_key"]:
                return _json(200, existing)
        info = self.categories.get(draft["category"])
        if info is None:
            return _detail(422, f"未知的分类：{draft['category']}")
        now = datetime.now(timezone.utc)
        number = next(
            n for n in (f"{now:%Y%m%d}{i:05d}" for i in range(1, 100000)) if n not in self.tickets
        )
        created = {
            **{k: draft.get(k) for k in ("submission_key", "category", "subcategory", "grid_code")},
            "number": number,
            "status": "submitted",
            "status_label": STATUS_LABELS["submitted"],
            "category_name": info.name,
            "department": info.department,
            "sla_days": info.sla_days,
            "conversation_id": draft.get("conversation_id"),
            "contact_phone": draft.get("contact_phone"),
            "anonymous": bool(draft.get("anonymous")),
            "channel": draft.get("channel"),
            "rating": None,
            "created_at": _now(),
            "updated_at": _now(),
            "due_at": (now + timedelta(days=info.sla_days)).isoformat().replace("+00:00", "Z"),
        }
        self.tickets[number] = created
        return _json(201, created)

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        mine = [
            t for t in self.tickets.values() if t["conversation_id"] == params["conversation_id"]
        ]
        mine.sort(key=lambda t: t["number"], reverse=True)  # newest first
        limit = int(params.get("limit", 50))
        return _json(200, {"items": mine[:limit], "total": len(mine)})

    def _act(self, found: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        if body.get("action") != "rate":
            return _detail(422, f"不支持的操作：{body.get('action')}")
        if found["status"] not in RATABLE:
            return _detail(409, "工单当前状态不能执行「满意度评价」")
        self.ratings.append((found["number"], body))
        found["rating"] = body["rating"]
        if body["rating"] == "unresolved":
            found.update(status="reopened", status_label=STATUS_LABELS["reopened"])
        return _json(200, found)

    def _status_lookup(self, found: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        """As casestore/api/routes/lookup.py: own conversation, else the phone's last digits."""
        digits = body.get("phone_last4")
        if digits is not None and not re.fullmatch(r"[0-9]{4}", digits):
            return _detail(422, "phone_last4 must be four digits")
        if found["conversation_id"] is not None and found["conversation_id"] == body.get(
            "conversation_id"
        ):
            return _json(200, {"outcome": "shown", "ticket": found})
        phone = re.sub(r"\D", "", found.get("contact_phone") or "")
        if found.get("anonymous") or len(phone) < 4:
            return _json(200, {"outcome": "no_phone", "ticket": None})
        if digits is None:
            return _json(200, {"outcome": "phone_needed", "ticket": None})
        refused = self.refused.get(found["number"], 0)
        if refused >= MAX_REFUSED:
            return _json(200, {"outcome": "locked", "ticket": None})
        if phone[-4:] == digits:
            return _json(200, {"outcome": "shown", "ticket": found})
        self.refused[found["number"]] = refused + 1
        return _json(200, {"outcome": "mismatch", "ticket": None})

    def _add_event(self, number: str, body: dict[str, Any]) -> httpx.Response:
        if number not in self.tickets:
            return _detail(404, f"未找到工单 {number}")
        if body.get("kind") not in EVENT_KINDS:
            return _detail(422, "未知的事件类型")
        event = {
            "kind": body["kind"],
            "actor": body.get("actor", "resident"),
            "data": body.get("data") or {},
            "created_at": _now(),
        }
        self.events.append((number, event))
        return _json(201, event)

    def _resolve(self, body: dict[str, Any]) -> httpx.Response:
        """GPS wins over text; one candidate is confident, several ambiguous, none none."""
        text = body.get("text") or ""
        latitude, longitude = body.get("latitude"), body.get("longitude")
        if latitude is not None and longitude is not None:
            found = self.points.get((latitude, longitude), [])
            source = "gps"
        elif text.strip():
            answer = next((r for place, r in self.resolutions.items() if place in text), None)
            if answer is not None:
                return _json(200, {"source": "text", "area": None, "candidates": [], **answer})
            found = next((c for place, c in self.places.items() if place in text), [])
            source = "text"
        else:
            return _detail(422, "请提供地点描述 text，或经纬度 latitude/longitude")
        status = "none" if not found else "confident" if len(found) == 1 else "ambiguous"
        return _json(200, {"status": status, "source": source, "candidates": found, "area": None})

    def _add_example(self, body: dict[str, Any]) -> httpx.Response:
        intent = body.get("intent")
        if intent and intent.startswith("report_") and intent[7:] not in self.categories:
            return _detail(422, f"未知的意图：{intent}")
        self.examples.append(body)
        return _json(201, {"id": len(self.examples), "status": "pending", **body})


def rasa_jwt_ok(header: str, token: str) -> bool:
    """What Rasa started by nlu/server.py accepts: an unexpired HS256 JWT of an admin, signed
    with the key derived from its token (``?token=`` would work too, but is not used)."""
    scheme, _, signed = header.partition(" ")
    if scheme != "Bearer":
        return False
    try:
        payload = jwt.decode(signed, server.jwt_secret(token), algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return False
    return bool(payload.get("user", {}).get("role") == "admin")


class FakeRasa:
    """Rasa's HTTP API for ``/model/parse``: answers from ``parses``, else ``nlu_fallback``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.parses: dict[str, dict[str, Any]] = {}  # text -> intent and ranking
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("Rasa down", request=request)
        if not rasa_jwt_ok(request.headers.get("Authorization", ""), self.token):
            return _json(401, {"status": "failure", "reason": "NotAuthenticated"})
        if request.method != "POST" or request.url.path != "/model/parse":
            return _json(404, {"status": "failure", "reason": "NotFound"})
        text = json.loads(request.content)["text"]
        fallback = {"name": "nlu_fallback", "confidence": 0.3}
        parsed = self.parses.get(text, {"intent": fallback, "intent_ranking": [fallback]})
        return _json(200, {"text": text, "entities": [], **parsed})
