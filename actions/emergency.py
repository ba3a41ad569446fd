"""Emergency advice (119 / 110 / 120) before anything else."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation

SERVICES = ("fire", "police", "medical")


class ActionEmergencyAdvice(Action):
    def name(self) -> str:
        return "action_emergency_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        found = conversation.entity_values(tracker.latest_message, "emergency_service")
        services = [s for s in SERVICES if s in found] or list(SERVICES)
        for service in services:
            dispatcher.utter_message(response=f"utter_emergency_{service}")
        dispatcher.utter_message(response="utter_emergency_after")
        return []
