"""Two-stage fallback: on low NLU confidence offer the top-3 categories and "都不是".

The menu never traps anyone: a typed answer to it is understood (a category's name or short
name, "都不是", or a fresh description the classifier is sure of), and if the resident's
next message is still unclear the petition goes on with the category left to staff (待分类)
instead of showing the menu again.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation, petition_form, taxonomy, validators
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
        if petition_form.after_category_menu(tracker):
            return await self._go_on(dispatcher, tracker, domain, categories)
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

    async def _go_on(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        categories: dict[str, taxonomy.CategoryInfo],
    ) -> list[EventType]:
        """The second unclear turn after the menu: start the petition, never ask again."""
        latest = tracker.latest_message
        intent = (latest.get("intent") or {}).get("name") or ""
        text = latest.get("text") or ""
        chosen = petition_form.typed_menu_answer(categories, text, intent)
        if chosen is not None:
            petition = conversation.previous_user_message(tracker) or latest
        else:
            # A new, still unclear description: it is the petition; staff will classify it.
            fresh = validators.description_problem(validators.clean_text(text)) is None
            previous = conversation.previous_user_message(tracker)
            petition = latest if fresh or previous is None else previous
            chosen = taxonomy.UNCLASSIFIED
            dispatcher.utter_message(response="utter_category_left_to_staff")
        events = await petition_form.start_with_choice(tracker, domain, petition, chosen)
        return [*events, FollowupAction("petition_form")]
