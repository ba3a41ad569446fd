"""Ticket status (查询进度): by number, or the resident's own recent tickets."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from actions.api import services
from actions.api.casestore import CaseStoreRejected, CaseStoreUnavailable

NUMBER_RE = re.compile(r"(?<!\d)20\d{11}(?!\d)")


def _status_kwargs(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticket_number": ticket["number"],
        "category_name": ticket["category_name"],
        "status_label": ticket["status_label"],
        "created_date": conversation.local_date(ticket["created_at"]),
        "department": ticket["department"],
        "due_date": conversation.local_date(ticket["due_at"]),
    }


class ActionTicketStatus(Action):
    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        client = services().casestore
        numbers = conversation.entity_values(tracker.latest_message, "ticket_number")
        numbers += NUMBER_RE.findall(tracker.latest_message.get("text") or "")
        try:
            if numbers:
                ticket = await client.get_ticket(numbers[0])
                if ticket is None:
                    dispatcher.utter_message(
                        response="utter_ticket_not_found", ticket_number=numbers[0]
                    )
                else:
                    dispatcher.utter_message(
                        response="utter_ticket_status", **_status_kwargs(ticket)
                    )
                return []
            tickets = await client.tickets_of_conversation(tracker.sender_id)
        except (CaseStoreUnavailable, CaseStoreRejected):
            dispatcher.utter_message(response="utter_status_unavailable")
            return []
        if not tickets:
            dispatcher.utter_message(response="utter_no_tickets")
            return []
        dispatcher.utter_message(response="utter_your_tickets")
        for ticket in tickets:
            dispatcher.utter_message(response="utter_ticket_status", **_status_kwargs(ticket))
        return []
