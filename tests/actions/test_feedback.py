from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import feedback
from actions.settings import ROOT
from tests.actions.conftest import make_tracker
from tests.actions.fakes import STATUS_LABELS, FakeCaseStore

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
ME = "web-abcdef123456"  # the sender id of make_tracker


def ticket(number: str, status: str, updated_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "conversation_id": ME,
        "rating": None,
        "updated_at": updated_at,
        **extra,
    }


async def run(**latest: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await feedback.ActionRecordFeedback().run(dispatcher, make_tracker(**latest), DOMAIN)
    return events, dispatcher.messages


def button(number: str, rating: str) -> dict[str, Any]:
    return {
        "text": "/rate_service" + json.dumps({"ticket_number": number, "rating": rating}),
        "intent": "rate_service",
        "entities": [
            {"entity": "ticket_number", "value": number},
            {"entity": "rating", "value": rating},
        ],
    }


async def test_satisfaction_button_rates_the_ticket_it_names(store: FakeCaseStore) -> None:
    store.tickets["2026112600001"] = ticket("2026112600001", "closed", "2026-11-26T09:00:00Z")
    events, messages = await run(**button("2026112600001", "satisfied"))
    assert store.ratings == [
        ("2026112600001", {"action": "rate", "actor": "resident", "rating": "satisfied"})
    ]
    assert messages[-1]["response"] == "utter_feedback_thanks"
    assert messages[-1]["rating_label"] == "满意"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "last_ticket_number", "value": "2026112600001"}
    ]


async def test_typed_not_resolved_reopens_the_latest_unrated_finished_ticket(
    store: FakeCaseStore,
) -> None:
    for t in (
        ticket("2026112000003", "closed", "2026-11-26T10:00:00Z", rating="satisfied"),
        ticket("2026112400007", "resolved", "2026-11-25T08:00:00.500000Z"),
        ticket("2026112300002", "closed", "2026-11-24T08:00:00Z"),
        ticket("2026112600009", "dispatched", "2026-11-26T11:00:00Z"),
    ):
        store.tickets[t["number"]] = t
    events, messages = await run(text="你们说办结了但根本没处理", intent="not_resolved")
    assert store.ratings == [
        (
            "2026112400007",
            {
                "action": "rate",
                "actor": "resident",
                "rating": "unresolved",
                "text": "你们说办结了但根本没处理",
            },
        )
    ]
    assert store.tickets["2026112400007"]["status"] == "reopened"
    assert messages[-1]["response"] == "utter_feedback_reopened"
    assert messages[-1]["ticket_number"] == "2026112400007"


async def test_typed_dissatisfaction_is_recorded_with_the_words(store: FakeCaseStore) -> None:
    store.tickets["2026112600001"] = ticket("2026112600001", "closed", "2026-11-26T09:00:00Z")
    _, messages = await run(text="很不满意，拖了这么久", intent="rate_service")
    assert store.ratings[0][1]["rating"] == "dissatisfied"
    assert store.ratings[0][1]["text"] == "很不满意，拖了这么久"
    assert messages[-1]["response"] == "utter_feedback_dissatisfied"
    assert messages[-1]["rating_label"] == "不满意"


async def test_someone_elses_ticket_cannot_be_rated(store: FakeCaseStore) -> None:
    other = ticket("2026112600001", "closed", "2026-11-26T09:00:00Z", conversation_id="tg-42")
    store.tickets[other["number"]] = other
    for number in ("2026112600001", "2026112699999"):  # another resident's; no such ticket
        events, messages = await run(**button(number, "unresolved"))
        assert events == []
        assert messages[-1]["response"] == "utter_feedback_ticket_unknown"
        assert messages[-1]["ticket_number"] == number
    assert store.ratings == [] and other["status"] == "closed"


async def test_nothing_finished_to_rate(store: FakeCaseStore) -> None:
    _, messages = await run(text="没解决", intent="not_resolved")
    assert messages[-1]["response"] == "utter_feedback_no_ticket"
    store.tickets["2026112600001"] = ticket("2026112600001", "reopened", "2026-11-26T09:00:00Z")
    _, messages = await run(text="还是没修好", intent="not_resolved")
    assert messages[-1]["response"] == "utter_feedback_already_reopened"
    _, messages = await run(text="很满意", intent="rate_service")
    assert messages[-1]["response"] == "utter_feedback_no_ticket"
    assert store.ratings == []


async def test_second_unresolved_click_finds_the_ticket_already_reopened(
    store: FakeCaseStore,
) -> None:
    store.tickets["2026112600001"] = ticket("2026112600001", "closed", "2026-11-26T09:00:00Z")
    await run(**button("2026112600001", "unresolved"))
    _, messages = await run(**button("2026112600001", "unresolved"))
    assert messages[-1]["response"] == "utter_feedback_already_reopened"
    store.tickets["2026112600002"] = ticket("2026112600002", "dispatched", "2026-11-26T09:00:00Z")
    _, messages = await run(**button("2026112600002", "satisfied"))
    assert messages[-1]["response"] == "utter_feedback_not_ratable"
    assert messages[-1]["status_label"] == "已派单"
    assert len(store.ratings) == 1


async def test_case_store_down_says_so_and_offers_the_buttons_again(
    store: FakeCaseStore,
) -> None:
    store.tickets["2026112600001"] = ticket("2026112600001", "closed", "2026-11-26T09:00:00Z")
    store.down_for = {"POST"}
    events, messages = await run(**button("2026112600001", "unresolved"))
    assert events == []
    assert messages[-1]["response"] == "utter_feedback_unavailable"
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert '/rate_service{"ticket_number": "2026112600001", "rating": "unresolved"}' in payloads
    assert store.tickets["2026112600001"]["status"] == "closed"
    store.down_for = {"GET", "POST"}
    _, messages = await run(text="没解决", intent="not_resolved")
    assert messages[-1]["response"] == "utter_feedback_unavailable"


async def test_rating_without_a_grade_asks_with_buttons(store: FakeCaseStore) -> None:
    store.tickets["2026112600001"] = ticket("2026112600001", "resolved", "2026-11-26T09:00:00Z")
    _, messages = await run(text="我要评价", intent="rate_service")
    assert messages[-1]["response"] == "utter_ask_rating"
    assert messages[-1]["ticket_number"] == "2026112600001"
    buttons = messages[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["满意", "基本满意", "不满意", "问题没解决"]
    entities = [json.loads(b["payload"].removeprefix("/rate_service")) for b in buttons]
    assert entities[3] == {"ticket_number": "2026112600001", "rating": "unresolved"}
    assert store.ratings == []


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("很满意", "rate_service", "satisfied"),
        ("不错，满意", "rate_service", "satisfied"),
        ("基本满意吧", "rate_service", "basically_satisfied"),
        ("不太满意", "rate_service", "dissatisfied"),
        ("差评", "rate_service", "dissatisfied"),
        ("问题没解决，不满意", "rate_service", "unresolved"),
        ("我要评价", "rate_service", None),
        ("一个人都没来过，怎么就办结了", "not_resolved", "unresolved"),
        ('/rate_service{"rating": "excellent"}', "rate_service", None),
    ],
)
def test_rating_of_typed_answers(text: str, intent: str, expected: str | None) -> None:
    latest = {"text": text, "intent": {"name": intent}, "entities": []}
    assert feedback.rating_of(latest) == expected


def test_ticket_numbers_from_entities_and_typed_text() -> None:
    typed = {"text": "工单2026112600001没解决", "entities": []}
    assert feedback.ticket_numbers(typed) == ["2026112600001"]
    forged = {"text": "/rate_service", "entities": [{"entity": "ticket_number", "value": "1 OR 1"}]}
    assert feedback.ticket_numbers(forged) == []
