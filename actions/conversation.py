"""Reading what the conversation holds: transcript, channel, NLU ranking."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions import taxonomy

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_TRANSCRIPT = 100
KNOWN_CHANNELS = {"webchat", "telegram", "rest", "hotline"}


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """User and bot turns, button payloads shown as the resident saw them."""
    lines: list[dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        text = event.get("text")
        if not text:
            continue
        at = datetime.fromtimestamp(event.get("timestamp") or 0, LOCAL_TZ).isoformat()
        if kind == "user":
            if text.startswith("/"):
                text = (event.get("metadata") or {}).get("display_text") or text
            lines.append({"role": "resident", "text": text[:5000], "at": at})
        elif kind == "bot":
            lines.append({"role": "bot", "text": text[:5000], "at": at})
    return lines[-MAX_TRANSCRIPT:]


def channel(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = (event.get("metadata") or {}).get("channel") or event.get("input_channel")
            if name in KNOWN_CHANNELS:
                return str(name)
    return "rest"


def candidates(
    categories: dict[str, taxonomy.CategoryInfo], ranking: list[dict[str, Any]], top: int = 3
) -> list[dict[str, Any]]:
    """Top categories from Rasa's intent ranking (only report_* intents count)."""
    result = []
    for item in ranking:
        code = taxonomy.category_for_intent(categories, item.get("name") or "")
        if code:
            result.append({"category": code, "confidence": round(float(item["confidence"]), 4)})
        if len(result) == top:
            break
    return result


def entity_values(latest: dict[str, Any], name: str) -> list[str]:
    return [str(e["value"]) for e in latest.get("entities") or [] if e.get("entity") == name]


def previous_user_message(tracker: Tracker) -> dict[str, Any] | None:
    """The parse data of the user message before the latest one."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if seen_latest:
            return {**(event.get("parse_data") or {}), "text": event.get("text") or ""}
        seen_latest = True
    return None


_LOCATION_TAIL = re.compile(
    r"[0-9０-９一二三四五六七八九十百]*(?:号楼|号院|号|栋|幢|座|楼|单元|室|组)"
)


def complete_location(text: str, value: str) -> str:
    """Extend an entity cut at a token boundary ("玉林北路" + "18号门口" → "玉林北路18号")."""
    start = text.find(value)
    if start < 0:
        return value
    end = start + len(value)
    tail = _LOCATION_TAIL.match(text, end)
    return text[start : tail.end()] if tail else value


def longest(values: list[str]) -> str | None:
    return max(values, key=len) if values else None


def local_date(iso: str) -> str:
    # Python 3.10's fromisoformat does not read the "Z" suffix that pydantic writes.
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(LOCAL_TZ)
    return f"{moment.year}年{moment.month}月{moment.day}日"
