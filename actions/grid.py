"""Which grid (网格) a petition belongs to: resolution results as slot values, and the choice."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api import services
from actions.api.casestore import CaseStoreRejected, CaseStoreUnavailable
from actions.responses import response_text

log = logging.getLogger(__name__)

NONE_CHOICE = "none"
DONT_KNOW = ("不清楚", "不知道", "不晓得", "没有", "不确定", "都不是")


def unassigned(domain: DomainDict) -> dict[str, Any]:
    """No grid: the ticket goes to the street-level queue (待分拨) with the raw text kept."""
    return {
        "grid_code": None,
        "area_code": None,
        "grid_name": response_text(domain, "utter_grid_unassigned"),
        "grid_candidates": None,
        "needs_landmark": False,
    }


def in_area(domain: DomainDict, area: dict[str, Any]) -> dict[str, Any]:
    """Only a community, street or district is known: its queue takes the ticket."""
    template = response_text(domain, "utter_grid_area") or "{area}"
    return {
        "grid_code": None,
        "area_code": area["code"],
        "grid_name": template.replace("{area}", area["full_name"]),
        "grid_candidates": None,
        "needs_landmark": False,
    }


def chosen(candidate: dict[str, Any]) -> dict[str, Any]:
    return {
        "grid_code": candidate["grid_code"],
        "area_code": None,
        "grid_name": f"{candidate['community']} {candidate['grid_name']}",
        "grid_candidates": None,
        "needs_landmark": False,
    }


def shared_point(message: dict[str, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) of a shared location (``/share_location{...}``), if any."""
    if (message.get("intent") or {}).get("name") != "share_location":
        return None
    values = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
    try:
        latitude, longitude = float(values["latitude"]), float(values["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def point_text(domain: DomainDict, point: tuple[float, float]) -> str:
    template = response_text(domain, "utter_shared_location") or "{coordinates}"
    return template.replace("{coordinates}", f"{point[0]:.5f}, {point[1]:.5f}")


async def locate(
    text: str,
    domain: DomainDict,
    *,
    after_landmark: bool = False,
    point: tuple[float, float] | None = None,
) -> dict[str, Any] | None:
    """Slot values for the grid of ``text`` or ``point``; None when the store cannot say."""
    try:
        result = await services().casestore.resolve_location(text, point)
    except (CaseStoreUnavailable, CaseStoreRejected) as exc:
        log.warning("grid resolution unavailable: %s", exc)
        return None
    candidates = result.get("candidates") or []
    status = result.get("status")
    matched = candidates[0].get("matched_text") if candidates else None
    if status == "confident":
        return {**chosen(candidates[0]), "_matched": matched}
    if status == "ambiguous":
        return {
            "grid_code": None,
            "area_code": None,
            "grid_name": None,
            "grid_candidates": candidates,
            "needs_landmark": False,
            "_matched": matched,
        }
    area = result.get("area")
    if status == "area" and area:
        return {**in_area(domain, area), "_matched": matched or area.get("matched_text")}
    if after_landmark:
        return in_area(domain, area) if area else unassigned(domain)
    # A road through several grids named without a number ("needs_detail"), or nothing
    # found: ask for the door number or a landmark, never for grid names. Only a road the
    # registry knows is a place already given; a weak near-miss is not.
    return {
        "grid_code": None,
        "area_code": None,
        "grid_name": None,
        "grid_candidates": None,
        "needs_landmark": True,
        "_matched": matched if status == "needs_detail" else None,
    }


def slot_values(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if not k.startswith("_")}


async def shared_location(
    tracker: Tracker, domain: DomainDict
) -> tuple[str, dict[str, Any]] | None:
    """For a shared GPS point: its display text, and the gps and grid slot values.

    The grid values are missing when the case store cannot answer; callers decide the default.
    """
    point = shared_point(tracker.latest_message)
    if point is None:
        return None
    found = await locate("", domain, point=point, after_landmark=True)
    return point_text(domain, point), {"gps": list(point), **slot_values(found or {})}


class ActionAskGridChoice(Action):
    """Ask which of 2–4 grids the resident means ("您说的是哪一个？"), as buttons."""

    def name(self) -> str:
        return "action_ask_grid_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        candidates = tracker.get_slot("grid_candidates") or []
        # Residents know places, not grid names: each button names the place and its community.
        buttons = [
            {
                "title": f"{c['place'] or c['matched_text']}（{c['community']}）",
                "payload": c["grid_code"],
            }
            for c in candidates
        ]
        buttons.append({"title": response_text(domain, "utter_none_of_these"), "payload": "都不是"})
        dispatcher.utter_message(response="utter_ask_grid_choice", buttons=buttons)
        return []
