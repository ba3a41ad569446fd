"""Two-stage fallback: on low NLU confidence offer the top-3 categories and "都不是"."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation, taxonomy
from actions.api import services
from actions.responses import response_text

NONE_OF_THESE = "none"


def choice_payload(code: str) -> str:
    return "/choose_category" + json.dumps({"chosen_category": code}, separators=(",", ":"))


class ActionClarifyCategory(Action):
    def name(self) -> str:
        return "action_clarify_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        categories = taxonomy.load(
            services().settings.taxonomy_path, services().settings.taxonomy_additions_path
        )
        ranked = conversation.candidates(
            categories, tracker.latest_message.get("intent_ranking") or []
        )
        buttons: list[dict[str, Any]] = [
            {"title": categories[c["category"]].name, "payload": choice_payload(c["category"])}
            for c in ranked
        ]
        buttons.append(
            {
                "title": response_text(domain, "utter_none_of_these") or NONE_OF_THESE,
                "payload": choice_payload(NONE_OF_THESE),
            }
        )
        dispatcher.utter_message(response="utter_clarify_category", buttons=buttons)
        return []
