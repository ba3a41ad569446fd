"""Hand-off to a human (转人工): noted on the current or last ticket."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api import services
from actions.api.casestore import CaseStoreRejected, CaseStoreUnavailable


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("submission_key"):
            # A petition in progress: the flag travels with it when it is filed.
            dispatcher.utter_message(response="utter_handoff")
            return [SlotSet("handoff_requested", True)]
        number = tracker.get_slot("last_ticket_number")
        if number:
            try:
                await services().casestore.add_event(number, "handoff_requested", {"via": "bot"})
                dispatcher.utter_message(
                    response="utter_handoff_noted_on_ticket", ticket_number=number
                )
                return []
            except (CaseStoreUnavailable, CaseStoreRejected):
                pass
        dispatcher.utter_message(response="utter_handoff")
        return [SlotSet("handoff_requested", True)]
