"""The confirmation summary (核对) and the choice of what to change, with their buttons."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


def domain_buttons(domain: DomainDict, name: str) -> list[dict[str, Any]]:
    """Buttons of a domain response, attached verbatim (no slot templating of payloads)."""
    variations = (domain.get("responses") or {}).get(name) or [{}]
    return list(variations[0].get("buttons") or [])


class ActionPetitionSummary(Action):
    def name(self) -> str:
        return "action_petition_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_petition_summary",
            buttons=domain_buttons(domain, "buttons_petition_summary"),
        )
        return []


class ActionAskWhichField(Action):
    def name(self) -> str:
        return "action_ask_which_field"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_ask_which_field", buttons=domain_buttons(domain, "buttons_which_field")
        )
        return []
