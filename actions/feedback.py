"""Satisfaction feedback (满意度评价) and "没解决": the resident rates a finished ticket.

The satisfaction notification's buttons name the ticket and the rating. A typed answer
("很满意", "没解决") names neither, so it is about the resident's latest finished ticket of
this conversation. The case store owns the rules: which statuses may be rated, and that
``unresolved`` reopens the ticket.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from actions.api import services
from actions.api.casestore import CaseStoreClient, CaseStoreRejected, CaseStoreUnavailable
from actions.responses import domain_buttons

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"(?<!\d)20\d{11}(?!\d)")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied", "unresolved")
RATABLE = {"resolved", "closed"}
REOPENED = "reopened"
RECENT_TICKETS = 20
# Typed ratings, tried in order: "不满意" and "基本满意" also contain "满意".
TYPED_RATINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"没解决|未解决|没有解决|没修好|没处理"), "unresolved"),
    (re.compile(r"不满意|不太满意|不大满意|不是很满意|不怎么满意|差评"), "dissatisfied"),
    (re.compile(r"基本满意|还算满意|比较满意|还行|一般"), "basically_satisfied"),
    (re.compile(r"满意|好评"), "satisfied"),
)


def rating_of(latest: dict[str, Any]) -> str | None:
    """The rating a message gives: the button's entity, else words of a typed answer."""
    intent = (latest.get("intent") or {}).get("name")
    if intent == "not_resolved":
        return "unresolved"
    for value in conversation.entity_values(latest, "rating"):
        if value in RATINGS:
            return value
    text = latest.get("text") or ""
    if text.startswith("/"):
        return None
    for pattern, code in TYPED_RATINGS:
        if pattern.search(text):
            return code
    return None


def ticket_numbers(latest: dict[str, Any]) -> list[str]:
    text = latest.get("text") or ""
    found = conversation.entity_values(latest, "ticket_number")
    if not text.startswith("/"):
        found += NUMBER_RE.findall(text)
    return [n for n in found if NUMBER_RE.fullmatch(n)]


def _moment(iso: str) -> datetime:
    # Python 3.10's fromisoformat does not read the "Z" suffix that pydantic writes.
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def latest_ratable(tickets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The finished ticket the resident most likely means: unrated first, then the newest."""
    finished = [t for t in tickets if t.get("status") in RATABLE]
    if not finished:
        return None
    return max(finished, key=lambda t: (t.get("rating") is None, _moment(t["updated_at"])))


def _rating_choices(domain: DomainDict) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """The domain's rating buttons as (button, intent part, entities of the payload)."""
    choices = []
    for button in domain_buttons(domain, "buttons_rating"):
        intent, _, body = str(button["payload"]).partition("{")
        choices.append((button, intent, dict(json.loads("{" + body))))
    return choices


def rating_buttons(domain: DomainDict, number: str) -> list[dict[str, Any]]:
    """The domain's rating buttons with the ticket number added to each payload."""
    return [
        {
            **button,
            "payload": intent
            + json.dumps({"ticket_number": number, **entities}, ensure_ascii=False),
        }
        for button, intent, entities in _rating_choices(domain)
    ]


def rating_label(domain: DomainDict, rating: str) -> str:
    """The Chinese name of a rating: the title of its button in the domain."""
    for button, _, entities in _rating_choices(domain):
        if entities.get("rating") == rating:
            return str(button["title"])
    return rating


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        latest = tracker.latest_message
        text = latest.get("text") or ""
        rating = rating_of(latest)
        client = services().casestore
        try:
            ticket = await self._ticket(client, dispatcher, tracker, rating)
        except (CaseStoreUnavailable, CaseStoreRejected) as exc:
            log.warning("no ticket to rate (case store): %s", exc)
            dispatcher.utter_message(response="utter_feedback_unavailable")
            return []
        if ticket is None:
            return []
        number = str(ticket["number"])
        if rating is None:
            dispatcher.utter_message(
                response="utter_ask_rating",
                ticket_number=number,
                buttons=rating_buttons(domain, number),
            )
            return []
        comment = None if text.startswith("/") else text
        try:
            await client.rate(number, rating, comment)
        except CaseStoreUnavailable as exc:
            log.warning("rating of %s not recorded: %s", number, exc)
            dispatcher.utter_message(
                response="utter_feedback_unavailable", buttons=rating_buttons(domain, number)
            )
            return []
        except CaseStoreRejected as exc:
            await self._explain_rejection(client, dispatcher, ticket, exc)
            return []
        if rating == "unresolved":
            dispatcher.utter_message(response="utter_feedback_reopened", ticket_number=number)
        else:
            dispatcher.utter_message(
                response="utter_feedback_dissatisfied"
                if rating == "dissatisfied"
                else "utter_feedback_thanks",
                ticket_number=number,
                rating_label=rating_label(domain, rating),
            )
        return [SlotSet("last_ticket_number", number)]

    async def _ticket(
        self,
        client: CaseStoreClient,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        rating: str | None,
    ) -> dict[str, Any] | None:
        """The resident's ticket the feedback is about; None after telling why there is none."""
        numbers = ticket_numbers(tracker.latest_message)
        if numbers:
            ticket = await client.get_ticket(numbers[0])
            # Only the conversation that filed a ticket may rate it.
            if ticket is None or ticket.get("conversation_id") != tracker.sender_id:
                dispatcher.utter_message(
                    response="utter_feedback_ticket_unknown", ticket_number=numbers[0]
                )
                return None
            return ticket
        tickets = await client.tickets_of_conversation(tracker.sender_id, limit=RECENT_TICKETS)
        ticket = latest_ratable(tickets)
        if ticket is not None:
            return ticket
        reopened = [t for t in tickets if t.get("status") == REOPENED]
        if rating == "unresolved" and reopened:
            dispatcher.utter_message(
                response="utter_feedback_already_reopened", ticket_number=reopened[0]["number"]
            )
        else:
            dispatcher.utter_message(response="utter_feedback_no_ticket")
        return None

    async def _explain_rejection(
        self,
        client: CaseStoreClient,
        dispatcher: CollectingDispatcher,
        ticket: dict[str, Any],
        exc: CaseStoreRejected,
    ) -> None:
        number = str(ticket["number"])
        if exc.status_code != 409:
            log.error("case store refused the rating of %s: %s", number, exc)
            dispatcher.utter_message(response="utter_feedback_unavailable")
            return
        # The ticket moved on since it was read (typically: reopened by an earlier answer).
        with contextlib.suppress(CaseStoreUnavailable, CaseStoreRejected):
            ticket = await client.get_ticket(number) or ticket
        if ticket.get("status") == REOPENED:
            dispatcher.utter_message(
                response="utter_feedback_already_reopened", ticket_number=number
            )
        else:
            dispatcher.utter_message(
                response="utter_feedback_not_ratable",
                ticket_number=number,
                status_label=ticket.get("status_label") or ticket.get("status"),
            )
