"""The confirmation summary (核对) and the choice of what to change, with their buttons."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.responses import domain_buttons


def ask_which_field(dispatcher: CollectingDispatcher, domain: DomainDict) -> None:
    """Ask which part of the petition to change, one button per field."""
    dispatcher.utter_message(
        response="utter_ask_which_field", buttons=domain_buttons(domain, "buttons_which_field")
    )


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
        ask_which_field(dispatcher, domain)
        return []
