"""Status look-ups: own tickets freely, another's only with its phone digits, anonymous never."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import ticket_status
from actions.settings import ROOT
from tests.actions.conftest import make_tracker
from tests.actions.fakes import FakeCaseStore

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
ME = "web-abcdef123456"  # the sender id of make_tracker
OTHER = "web-someone-else"


def file(store: FakeCaseStore, key: str, **fields: Any) -> str:
    body = {
        "submission_key": key,
        "category": "urban_construction",
        "conversation_id": OTHER,
        "contact_phone": "13812345678",
        **fields,
    }
    response = store._create(body)
    return str(response.json()["number"])


async def ask(number: str, **tracker: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    latest = {"text": f"查一下{number}的进度", "intent": "check_status", **tracker}
    events = await ticket_status.ActionTicketStatus().run(
        dispatcher, make_tracker(**latest), DOMAIN
    )
    return events, dispatcher.messages


async def verified(number: str | None, digits: str | None) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    slots = {"status_number": number, "phone_last4": digits}
    events = await ticket_status.ActionTicketStatusVerified().run(
        dispatcher, make_tracker(slots=slots), DOMAIN
    )
    assert [(e["name"], e["value"]) for e in events] == [
        ("status_number", None),
        ("phone_last4", None),
    ]
    return dispatcher.messages


async def test_own_ticket_is_shown(store: FakeCaseStore) -> None:
    number = file(store, "own-1", conversation_id=ME)
    events, messages = await ask(number)
    assert events == []
    assert [m["response"] for m in messages] == ["utter_ticket_status"]
    assert messages[0]["ticket_number"] == number


async def test_anothers_ticket_asks_for_the_phone_digits_first(store: FakeCaseStore) -> None:
    """Before: any sender got the status of any (sequential) ticket number."""
    number = file(store, "other-1")
    events, messages = await ask(number)
    assert messages == []
    assert [(e["event"], e.get("name"), e.get("value")) for e in events] == [
        ("slot", "status_number", number),
        ("slot", "phone_last4", None),
        ("followup", "ticket_status_form", None),
    ]
    assert [m["response"] for m in await verified(number, "5678")] == ["utter_ticket_status"]
    assert [m["response"] for m in await verified(number, "1234")] == [
        "utter_status_phone_mismatch"
    ]


async def test_inside_the_petition_form_the_digits_wait(store: FakeCaseStore) -> None:
    number = file(store, "other-1")
    events, messages = await ask(number, active_loop="petition_form")
    assert events == []
    assert [m["response"] for m in messages] == ["utter_status_verify_later"]


async def test_anonymous_tickets_send_to_the_hotline(store: FakeCaseStore) -> None:
    number = file(store, "anon-1", contact_phone=None, anonymous=True)
    events, messages = await ask(number)
    assert events == []
    assert [(m["response"], m["ticket_number"]) for m in messages] == [
        ("utter_status_needs_hotline", number)
    ]


async def test_guessing_is_stopped(store: FakeCaseStore) -> None:
    number = file(store, "other-1")
    for guess in ("0000", "0001", "0002", "0003", "0004"):
        assert (await verified(number, guess))[0]["response"] == "utter_status_phone_mismatch"
    assert (await verified(number, "5678"))[0]["response"] == "utter_status_locked"


async def test_unknown_number_and_case_store_down(store: FakeCaseStore) -> None:
    _, messages = await ask("2020010100001")
    assert [(m["response"], m["ticket_number"]) for m in messages] == [
        ("utter_ticket_not_found", "2020010100001")
    ]
    store.down_for.add("POST")
    _, messages = await ask("2020010100001")
    assert [m["response"] for m in messages] == ["utter_status_unavailable"]
    assert [m["response"] for m in await verified("2020010100001", "1234")] == [
        "utter_status_unavailable"
    ]


async def test_given_up_form_says_nothing_more() -> None:
    assert await verified(None, None) == []


async def test_without_a_number_the_conversations_own_tickets_are_listed(
    store: FakeCaseStore,
) -> None:
    file(store, "own-1", conversation_id=ME)
    file(store, "other-1")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="查询进度", intent="check_status")
    await ticket_status.ActionTicketStatus().run(dispatcher, tracker, DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_your_tickets",
        "utter_ticket_status",
    ]


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("5678", "5678"),
        ("尾号５６７８", "5678"),
        ("手机号后四位是 5678 ", "5678"),
        ("13812345678", "5678"),
        ("028-85551234", "1234"),
        ("取消", None),
        ("123", None),
        ("12345", None),
        ("1234 5678", None),
        ("2026112600001", None),
    ],
)
def test_phone_last4(text: str, digits: str | None) -> None:
    assert ticket_status.phone_last4(text) == digits


async def test_the_form_takes_one_answer(store: FakeCaseStore) -> None:
    form = ticket_status.ValidateTicketStatusForm()
    dispatcher = CollectingDispatcher()
    asked = make_tracker(slots={"status_number": "2026112600001"})
    assert form.validate_phone_last4("后四位5678", dispatcher, asked, DOMAIN) == {
        "phone_last4": "5678"
    }
    assert form.validate_phone_last4("算了", dispatcher, asked, DOMAIN) == {
        "phone_last4": None,
        "status_number": None,
    }
    assert [m["response"] for m in dispatcher.messages] == ["utter_phone_last4_missing"]
    slots = ["phone_last4"]
    assert await form.required_slots(slots, dispatcher, asked, DOMAIN) == slots
    assert await form.required_slots(slots, dispatcher, make_tracker(), DOMAIN) == []


async def test_the_form_started_by_the_look_up_asks_before_judging(store: FakeCaseStore) -> None:
    """The look-up clears the digits slot as it starts the form; rasa-sdk then validates that
    None: it must lead to the question, not to "no digits received, look-up ended"."""
    form = ticket_status.ValidateTicketStatusForm()
    dispatcher = CollectingDispatcher()
    events = [
        {"event": "user", "text": "查一下2026112600001的进度"},
        {"event": "slot", "name": "status_number", "value": "2026112600001"},
        {"event": "slot", "name": "phone_last4", "value": None},
    ]
    tracker = make_tracker(
        slots={"status_number": "2026112600001", "phone_last4": None},
        text="查一下2026112600001的进度",
        events=events,
        active_loop="ticket_status_form",
    )
    domain = {**DOMAIN, "forms": {"ticket_status_form": {"required_slots": ["phone_last4"]}}}
    result = await form.run(dispatcher, tracker, domain)
    assert dispatcher.messages == []  # nothing judged yet
    assert {"event": "slot", "name": "status_number", "value": None} not in result


async def test_a_given_up_form_ends_itself(store: FakeCaseStore) -> None:
    """rasa-sdk's own run: the form is told to ask nothing more (requested_slot None)."""
    form = ticket_status.ValidateTicketStatusForm()
    dispatcher = CollectingDispatcher()
    events = [
        {"event": "slot", "name": "status_number", "value": "2026112600001"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "算了"},
        {"event": "slot", "name": "phone_last4", "value": "算了"},
    ]
    tracker = make_tracker(
        slots={"status_number": "2026112600001", "phone_last4": "算了"},
        text="算了",
        events=events,
        active_loop="ticket_status_form",
    )
    domain = {**DOMAIN, "forms": {"ticket_status_form": {"required_slots": ["phone_last4"]}}}
    result = await form.run(dispatcher, tracker, domain)
    assert {(e["name"], e["value"]) for e in result} == {
        ("phone_last4", None),
        ("status_number", None),
        ("requested_slot", None),
    }
