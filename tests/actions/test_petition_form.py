from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import petition_form
from actions.casestore_client import CaseStoreClient
from actions.outbox import Outbox
from actions.settings import ActionSettings
from tests.actions.conftest import make_tracker

DOMAIN: dict[str, Any] = {}


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_full_first_message_prefills_the_form(action_settings: ActionSettings) -> None:
    text = "玉林北路18号门口的下水道堵了三天，臭得很"
    tracker = make_tracker(
        text=text,
        intent="report_urban_construction",
        entities=[{"entity": "location", "value": "玉林北路18号"}],
        ranking=[
            {"name": "report_urban_construction", "confidence": 0.91},
            {"name": "greet", "confidence": 0.05},
            {"name": "report_environmental_protection", "confidence": 0.04},
        ],
    )
    events = await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    slots = slots_of(events)
    assert slots["category"] == "urban_construction"
    assert slots["category_name"] == "城乡建设"
    assert slots["description"] == text
    assert slots["location"] == "玉林北路18号"
    assert slots["contact"] is None
    assert slots["submission_key"].startswith("web-abcdef123456-")
    assert [c["category"] for c in slots["petition_meta"]["candidates"]] == [
        "urban_construction",
        "environmental_protection",
    ]


async def test_start_report_without_problem_prefills_nothing(
    action_settings: ActionSettings,
) -> None:
    tracker = make_tracker(text="我要投诉 13812345678", intent="start_report")
    slots = slots_of(
        await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert slots.get("category") is None and slots.get("description") is None
    assert slots["contact"] == "13812345678"


async def test_validation_reprompts_from_the_domain(action_settings: ActionSettings) -> None:
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker()
    assert form.validate_contact("12345", dispatcher, tracker, DOMAIN) == {"contact": None}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_contact"
    assert form.validate_contact("匿名", dispatcher, tracker, DOMAIN) == {"contact": "匿名"}
    assert form.validate_contact("138 1234 5678", dispatcher, tracker, DOMAIN) == {
        "contact": "13812345678"
    }
    assert await form.validate_location("x", dispatcher, tracker, DOMAIN) == {"location": None}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_location"
    assert form.validate_category("交通运输", dispatcher, tracker, DOMAIN)["category"] == (
        "transportation"
    )
    assert form.validate_category("火星", dispatcher, tracker, DOMAIN) == {"category": None}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_category"


async def test_description_is_classified_when_category_missing(
    action_settings: ActionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fake_classify(settings: ActionSettings, text: str) -> dict[str, Any]:
        return {
            "intent": {"name": "report_transportation", "confidence": 0.8},
            "intent_ranking": [{"name": "report_transportation", "confidence": 0.8}],
        }

    monkeypatch.setattr(petition_form, "classify", fake_classify)
    form = petition_form.ValidatePetitionForm()
    result = await form.validate_description(
        "公交车司机开得太猛了", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result["category"] == "transportation"
    assert result["category_name"] == "交通运输"

    async def rasa_down(settings: ActionSettings, text: str) -> dict[str, Any]:
        raise httpx.ConnectError("down")

    monkeypatch.setattr(petition_form, "classify", rasa_down)
    result = await form.validate_description(
        "公交车司机开得太猛了", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result == {"description": "公交车司机开得太猛了"}  # the form will ask the category


FILLED = {
    "description": "下水道堵了三天",
    "category": "urban_construction",
    "category_name": "城乡建设",
    "location": "玉林北路18号",
    "contact": "匿名",
    "submission_key": "web-abcdef123456-0001",
    "petition_meta": {"confidence": 0.9, "candidates": []},
}


def test_payload_from_slots() -> None:
    events = [
        {
            "event": "user",
            "text": "下水道堵了",
            "timestamp": 1764000000,
            "metadata": {"channel": "webchat"},
        },
        {"event": "bot", "text": "请问具体在什么位置？", "timestamp": 1764000001},
        {
            "event": "user",
            "text": "/affirm",
            "timestamp": 1764000002,
            "metadata": {"display_text": "确认提交"},
        },
    ]
    payload = petition_form.build_payload(make_tracker(slots=FILLED, events=events))
    assert payload is not None
    assert payload["anonymous"] is True and payload["contact_phone"] is None
    assert payload["channel"] == "webchat"
    assert [line["text"] for line in payload["transcript"]] == [
        "下水道堵了",
        "请问具体在什么位置？",
        "确认提交",
    ]
    assert petition_form.build_payload(make_tracker(slots={**FILLED, "location": None})) is None


async def test_submit_queues_when_store_down_and_files_once(
    action_settings: ActionSettings,
) -> None:
    calls: list[dict[str, Any]] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        raise httpx.ConnectError("refused")

    outbox = Outbox(action_settings.outbox_path)
    client = CaseStoreClient(action_settings, outbox, transport=httpx.MockTransport(down))
    payload = petition_form.build_payload(make_tracker(slots=FILLED))
    assert payload is not None
    result = await client.submit(payload)
    assert result.queued and result.ticket is None
    assert len(calls) == 3  # the first try and two retries
    assert [e["key"] for e in outbox.pending()] == [FILLED["submission_key"]]

    def up(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"number": "2026112600001"})

    client = CaseStoreClient(action_settings, outbox, transport=httpx.MockTransport(up))
    result = await client.submit(payload)
    assert result.ticket == {"number": "2026112600001"}


async def test_change_field_clears_the_slot() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=FILLED, entities=[{"entity": "field", "value": "地址"}])
    events = await petition_form.ActionChangeField().run(dispatcher, tracker, DOMAIN)
    assert slots_of(events)["location"] is None
    assert slots_of(events)["grid_code"] is None  # a new place needs a new grid
    events = await petition_form.ActionChangeField().run(
        dispatcher, make_tracker(slots=FILLED), DOMAIN
    )
    assert events == [] and dispatcher.messages[-1]["response"] == "utter_ask_which_field"


async def test_cancel_resets_everything() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=FILLED, active_loop="petition_form")
    events = await petition_form.ActionCancelPetition().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[-1]["response"] == "utter_cancelled"
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert slots_of(events)["location"] is None


async def test_place_only_answer_starts_with_the_place(action_settings: ActionSettings) -> None:
    tracker = make_tracker(
        text="在玉林小区3栋",
        intent="inform",
        entities=[{"entity": "location", "value": "玉林小区3栋"}],
        ranking=[
            {"name": "inform", "confidence": 0.8},
            {"name": "report_urban_construction", "confidence": 0.1},
        ],
    )
    slots = slots_of(
        await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert slots["location"] == "玉林小区3栋"
    assert slots.get("category") is None and slots.get("description") is None


async def test_inform_with_a_problem_takes_the_best_category(
    action_settings: ActionSettings,
) -> None:
    text = "玉林北路18号门口的下水道堵了三天，臭得很"
    tracker = make_tracker(
        text=text,
        intent="inform",
        entities=[{"entity": "location", "value": "玉林北路18号"}],
        ranking=[
            {"name": "inform", "confidence": 0.6},
            {"name": "report_urban_construction", "confidence": 0.3},
        ],
    )
    slots = slots_of(
        await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert slots["category"] == "urban_construction"
    assert slots["description"] == text
    assert slots["location"] == "玉林北路18号"


async def test_location_answer_is_cleaned(action_settings: ActionSettings) -> None:
    form = petition_form.ValidatePetitionForm()
    result = await form.validate_location(
        "就在长寿苑小区7栋东门。", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result["location"] == "长寿苑小区7栋东门"


async def test_choice_after_fallback_uses_the_earlier_message(
    action_settings: ActionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[dict[str, Any]] = []

    async def record(self: CaseStoreClient, example: dict[str, Any]) -> None:
        recorded.append(example)

    monkeypatch.setattr(CaseStoreClient, "add_training_example", record)
    earlier = {
        "event": "user",
        "text": "楼上天天往下扔东西，晾的衣服都被弄脏了",
        "parse_data": {
            "intent": {"name": "nlu_fallback", "confidence": 0.3},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.3},
                {"name": "report_public_safety", "confidence": 0.25},
                {"name": "report_disputes", "confidence": 0.2},
            ],
            "entities": [],
        },
    }
    tracker = make_tracker(
        text='/choose_category{"chosen_category":"disputes"}',
        intent="choose_category",
        entities=[{"entity": "chosen_category", "value": "disputes"}],
        events=[earlier, {"event": "bot", "text": "请选择"}, {"event": "user", "text": "/choose"}],
    )
    slots = slots_of(
        await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert slots["category"] == "disputes"
    assert slots["description"] == earlier["text"]
    assert [c["category"] for c in slots["petition_meta"]["candidates"]] == [
        "public_safety",
        "disputes",
    ]
    assert recorded[0]["intent"] == "report_disputes"
    assert recorded[0]["predicted_intent"] == "report_public_safety"
    assert recorded[0]["source"] == "fallback_choice"

    none_of_these = make_tracker(
        text='/choose_category{"chosen_category":"none"}',
        intent="choose_category",
        entities=[{"entity": "chosen_category", "value": "none"}],
        events=[earlier, {"event": "bot", "text": "请选择"}, {"event": "user", "text": "/choose"}],
    )
    await petition_form.ActionStartPetition().run(CollectingDispatcher(), none_of_these, DOMAIN)
    assert recorded[1]["source"] == "low_confidence" and recorded[1]["intent"] is None
    assert recorded[1]["text"] == earlier["text"]


async def test_clarify_offers_top_three_and_none(action_settings: ActionSettings) -> None:
    from actions.clarify import ActionClarifyCategory

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text="楼上天天往下扔东西",
        intent="nlu_fallback",
        ranking=[
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "report_public_safety", "confidence": 0.25},
            {"name": "greet", "confidence": 0.22},
            {"name": "report_disputes", "confidence": 0.2},
            {"name": "report_urban_construction", "confidence": 0.1},
            {"name": "report_other", "confidence": 0.05},
        ],
    )
    domain = {"responses": {"utter_none_of_these": [{"text": "都不是"}]}}
    await ActionClarifyCategory().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles == ["公共安全", "矛盾纠纷", "城乡建设", "都不是"]
    assert dispatcher.messages[0]["buttons"][-1]["payload"] == (
        '/choose_category{"chosen_category":"none"}'
    )


CANDIDATES = [
    {"grid_code": "g1", "grid_name": "第一网格", "community": "玉林北路社区", "place": "玉林北路",
     "matched_text": "玉林北路"},
    {"grid_code": "g2", "grid_name": "第二网格", "community": "玉林北路社区", "place": "玉林北路",
     "matched_text": "玉林北路"},
]  # fmt: skip


async def test_ambiguous_place_asks_which_grid(
    action_settings: ActionSettings, no_grid_service: dict[str, Any]
) -> None:
    from actions import grid

    no_grid_service["玉林北路"] = {"grid_code": None, "grid_candidates": CANDIDATES,
                                   "needs_landmark": False, "grid_name": None}  # fmt: skip
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_location("玉林北路", dispatcher, make_tracker(), DOMAIN)
    assert result["grid_candidates"] == CANDIDATES
    tracker = make_tracker(slots={**FILLED, **result})
    required = await form.required_slots([], dispatcher, tracker, DOMAIN)
    assert required == ["description", "category", "location", "grid_choice", "contact"]
    await grid.ActionAskGridChoice().run(dispatcher, tracker, {"responses": {}})
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == ["g1", "g2", "都不是"]
    picked = form.validate_grid_choice("g2", dispatcher, tracker, DOMAIN)
    assert picked["grid_code"] == "g2" and picked["grid_candidates"] is None
    assert picked["grid_name"] == "玉林北路社区 第二网格"
    none = form.validate_grid_choice("都不是", dispatcher, tracker, DOMAIN)
    assert none["needs_landmark"] is True
    bad = form.validate_grid_choice("随便", dispatcher, tracker, DOMAIN)
    assert bad == {"grid_choice": None}


async def test_unknown_place_asks_a_landmark_once_then_goes_to_the_street_queue(
    action_settings: ActionSettings, no_grid_service: dict[str, Any]
) -> None:
    domain = {"responses": {"utter_grid_unassigned": [{"text": "待分拨（由街道统一分派）"}]}}
    no_grid_service["人民公园"] = {"grid_code": None, "grid_candidates": None,
                                   "needs_landmark": True, "grid_name": None}  # fmt: skip
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_location("人民公园", dispatcher, make_tracker(), domain)
    assert result["needs_landmark"] is True
    tracker = make_tracker(slots={**FILLED, **result})
    assert "landmark" in await form.required_slots([], dispatcher, tracker, domain)
    answer = await form.validate_landmark("不清楚", dispatcher, tracker, domain)
    assert answer["grid_code"] is None and answer["needs_landmark"] is False
    assert answer["grid_name"] == "待分拨（由街道统一分派）"
