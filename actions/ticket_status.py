"""Ticket status (查询进度): the resident's own tickets, or another one with its phone digits.

Ticket numbers are sequential, so a number alone shows nothing: the case store shows the
status to the conversation that filed the ticket, or after the last four digits of the
phone number on it (checked there, so the phone number never reaches the action server;
see casestore/api/routes/lookup.py). For those, ``action_ticket_status`` remembers the
number and starts ``ticket_status_form``, which asks for the digits once; an answer without
four digits ends the look-up. ``action_ticket_status_verified`` then asks again with them.
Anonymous tickets (no phone) are only shown in their own conversation: the hotline helps.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from actions.api import services
from actions.api.casestore import CaseStoreRejected, CaseStoreUnavailable

NUMBER_RE = re.compile(r"(?<!\d)20\d{11}(?!\d)")
FORM = "ticket_status_form"
NUMBER_SLOT = "status_number"
DIGITS_SLOT = "phone_last4"
# Four digits on their own, or the end of a whole mobile / landline number (7-12 digits);
# a 13-digit ticket number is not an answer.
_DIGIT_RUN = re.compile(r"\d+")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# What the case store answers besides the status itself → the response that explains it.
REFUSALS = {
    "no_phone": "utter_status_needs_hotline",
    "mismatch": "utter_status_phone_mismatch",
    "locked": "utter_status_locked",
}


def phone_last4(text: str) -> str | None:
    """The last four digits of the phone number the resident typed, or None."""
    runs = _DIGIT_RUN.findall(text.translate(_FULLWIDTH_DIGITS))
    usable = [run for run in runs if len(run) == 4 or 7 <= len(run) <= 12]
    return usable[-1][-4:] if len(usable) == 1 else None


def _status_kwargs(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticket_number": ticket["number"],
        "category_name": ticket["category_name"],
        "status_label": ticket["status_label"],
        "created_date": conversation.local_date(ticket["created_at"]),
        "department": ticket["department"],
        "due_date": conversation.local_date(ticket["due_at"]),
    }


def _answer(dispatcher: CollectingDispatcher, number: str, found: dict[str, Any] | None) -> None:
    """Tell the resident what the case store's look-up found (not ``phone_needed``)."""
    if found is None:
        dispatcher.utter_message(response="utter_ticket_not_found", ticket_number=number)
    elif found["outcome"] == "shown":
        dispatcher.utter_message(response="utter_ticket_status", **_status_kwargs(found["ticket"]))
    else:
        response = REFUSALS.get(found["outcome"], "utter_status_unavailable")
        dispatcher.utter_message(response=response, ticket_number=number)


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
                number = numbers[0]
                found = await client.status_lookup(number, conversation_id=tracker.sender_id)
                if found is None or found["outcome"] != "phone_needed":
                    _answer(dispatcher, number, found)
                    return []
                if tracker.active_loop_name:
                    # Inside the petition form: one question at a time, digits afterwards.
                    dispatcher.utter_message(
                        response="utter_status_verify_later", ticket_number=number
                    )
                    return []
                return [
                    SlotSet(NUMBER_SLOT, number),
                    SlotSet(DIGITS_SLOT, None),
                    FollowupAction(FORM),
                ]
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


class ValidateTicketStatusForm(FormValidationAction):
    """One answer: four digits (or a whole phone number), anything else ends the look-up."""

    def name(self) -> str:
        return "validate_ticket_status_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Without a number to check (given up, or nothing asked) the form has nothing to do.
        return domain_slots if tracker.get_slot(NUMBER_SLOT) else []

    def validate_phone_last4(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None:
            # Cleared by the look-up that started the form (Rasa validates every slot set
            # since the resident's message): nothing has been answered yet, so the form asks.
            return {DIGITS_SLOT: None}
        digits = phone_last4(str(value))
        if digits is None:
            dispatcher.utter_message(response="utter_phone_last4_missing")
            return {DIGITS_SLOT: None, NUMBER_SLOT: None}
        return {DIGITS_SLOT: digits}


class ActionTicketStatusVerified(Action):
    """After ``ticket_status_form``: the look-up again, with the digits; the slots cleared."""

    def name(self) -> str:
        return "action_ticket_status_verified"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        number = tracker.get_slot(NUMBER_SLOT)
        digits = tracker.get_slot(DIGITS_SLOT)
        cleared: list[EventType] = [SlotSet(NUMBER_SLOT, None), SlotSet(DIGITS_SLOT, None)]
        if not number or not digits:
            return cleared  # the form was given up; it has said so
        try:
            found = await services().casestore.status_lookup(
                number, conversation_id=tracker.sender_id, phone_last4=digits
            )
        except (CaseStoreUnavailable, CaseStoreRejected):
            dispatcher.utter_message(response="utter_status_unavailable")
            return cleared
        _answer(dispatcher, number, found)
        return cleared
