from __future__ import annotations

from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import petition_form
from actions.api import Services
from actions.api.casestore import receipt_code
from actions.outbox import deliver_pending
from actions.settings import ActionSettings
from tests.actions.conftest import make_tracker
from tests.actions.fakes import FakeCaseStore, FakeRasa, candidate

DOMAIN: dict[str, Any] = {}


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def start_petition(tracker: Tracker) -> dict[str, Any]:
    """The slots ``action_start_petition`` sets for the tracker's latest message."""
    return slots_of(
        await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    )


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
    slots = await start_petition(tracker)
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
    slots = await start_petition(tracker)
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
    first = form.validate_category("火星", dispatcher, tracker, DOMAIN)
    assert first == {"category": None, "category_attempts": 1}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_category"


async def test_description_is_classified_when_category_missing(rasa: FakeRasa) -> None:
    rasa.parses["公交车司机开得太猛了"] = {
        "intent": {"name": "report_transportation", "confidence": 0.8},
        "intent_ranking": [{"name": "report_transportation", "confidence": 0.8}],
    }
    form = petition_form.ValidatePetitionForm()
    result = await form.validate_description(
        "公交车司机开得太猛了", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result["category"] == "transportation"
    assert result["category_name"] == "交通运输"

    rasa.down = True
    result = await form.validate_description(
        "公交车司机开得太猛了", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result == {"description": "公交车司机开得太猛了"}  # the form will ask the category


FILLED: dict[str, Any] = {
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


async def submit(slots: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=slots)
    events = await petition_form.ActionSubmitPetition().run(dispatcher, tracker, DOMAIN)
    return events, dispatcher.messages[-1]


async def test_submit_queues_when_store_down_and_files_once(
    action_settings: ActionSettings, store: FakeCaseStore, services: Services
) -> None:
    store.down_for = {"POST"}
    events, message = await submit(FILLED)
    assert message["response"] == "utter_ticket_queued"
    assert message["receipt"] == receipt_code(FILLED["submission_key"])
    assert store.submissions == 3  # the first try and two retries
    assert slots_of(events)["submission_key"] is None  # the petition is done for the resident
    outbox = services.casestore.outbox
    assert [e["key"] for e in outbox.pending()] == [FILLED["submission_key"]]

    store.down_for = set()
    events, message = await submit(FILLED)  # the same confirmed petition again: filed now
    assert message["response"] == "utter_ticket_created"
    number = slots_of(events)["last_ticket_number"]
    assert message["ticket_number"] == number and message["sla_days"] == 5
    headers = {"Authorization": f"Bearer {action_settings.casestore_api_token}"}
    with httpx.Client(
        base_url=action_settings.casestore_url,
        headers=headers,
        transport=httpx.MockTransport(store.handle),
    ) as worker:
        assert deliver_pending(outbox, lambda p: worker.post("/api/v1/tickets", json=p)) == 1
    assert list(store.tickets) == [number]  # the outbox's delivery found the same ticket
    assert outbox.entry(FILLED["submission_key"])["ticket_number"] == number


async def test_rejected_submission_is_kept_for_an_operator(
    store: FakeCaseStore, services: Services
) -> None:
    events, message = await submit({**FILLED, "category": "no_such_category"})
    assert message["response"] == "utter_submit_failed"
    assert store.tickets == {} and store.submissions == 1  # a 422 is not retried
    entry = services.casestore.outbox.entry(FILLED["submission_key"])
    assert entry is not None and entry["state"] == "rejected"
    assert slots_of(events)["submission_key"] is None


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


@pytest.mark.parametrize(
    ("text", "place", "ranking", "category"),
    [
        # Only a place: the petition starts with it; the problem is asked next.
        ("在玉林小区3栋", "玉林小区3栋", {"inform": 0.8, "report_urban_construction": 0.1}, None),
        # A place and a problem: the best report category is taken as well, if it is sure.
        (
            "玉林北路18号门口的下水道堵了三天，臭得很",
            "玉林北路18号",
            {"inform": 0.3, "report_urban_construction": 0.65},
            "urban_construction",
        ),
        # A weak best guess (21 %) is not filed unasked: the form asks the category.
        (
            "玉林北路18号门口的下水道堵了三天，臭得很",
            "玉林北路18号",
            {"inform": 0.6, "report_urban_construction": 0.21},
            None,
        ),
    ],
    ids=["place_only", "place_and_problem", "place_and_problem_weak_category"],
)
async def test_inform_answer_starts_with_the_place(
    action_settings: ActionSettings,
    text: str,
    place: str,
    ranking: dict[str, float],
    category: str | None,
) -> None:
    tracker = make_tracker(
        text=text,
        intent="inform",
        entities=[{"entity": "location", "value": place}],
        ranking=[{"name": name, "confidence": value} for name, value in ranking.items()],
    )
    slots = await start_petition(tracker)
    assert slots["location"] == place
    assert slots.get("category") == category
    problem = place != text.removeprefix("在")  # more than the place: the description
    assert slots.get("description") == (text if problem else None)


async def test_location_answer_is_cleaned(action_settings: ActionSettings) -> None:
    form = petition_form.ValidatePetitionForm()
    result = await form.validate_location(
        "就在长寿苑小区7栋东门。", CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert result["location"] == "长寿苑小区7栋东门"


async def test_choice_after_fallback_uses_the_earlier_message(store: FakeCaseStore) -> None:
    recorded = store.examples
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
    slots = await start_petition(tracker)
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
    await start_petition(none_of_these)
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
    candidate("g1", "第一网格", "玉林北路社区", "玉林北路"),
    candidate("g2", "第二网格", "玉林北路社区", "玉林北路"),
]


async def test_ambiguous_place_asks_which_grid(store: FakeCaseStore) -> None:
    from actions import grid

    store.places["玉林北路"] = CANDIDATES
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_location("玉林北路", dispatcher, make_tracker(), DOMAIN)
    assert result["grid_candidates"] == CANDIDATES
    tracker = make_tracker(slots={**FILLED, **result})
    required = await form.required_slots([], dispatcher, tracker, DOMAIN)
    assert required == ["description", "category", "location", "grid_choice", "contact"]
    await grid.ActionAskGridChoice().run(dispatcher, tracker, {"responses": {}})
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == ["g1", "g2", "都不是"]
    # Residents are shown places, never grid names.
    assert not any("网格" in b["title"] for b in dispatcher.messages[-1]["buttons"])
    picked = form.validate_grid_choice("g2", dispatcher, tracker, DOMAIN)
    assert picked["grid_code"] == "g2" and picked["grid_candidates"] is None
    assert picked["grid_name"] == "玉林北路社区 第二网格"
    none = form.validate_grid_choice("都不是", dispatcher, tracker, DOMAIN)
    assert none["needs_landmark"] is True
    bad = form.validate_grid_choice("随便", dispatcher, tracker, DOMAIN)
    assert bad == {"grid_choice": None}


async def test_unknown_place_asks_a_landmark_once_then_goes_to_the_street_queue(
    store: FakeCaseStore,
) -> None:
    domain = {"responses": {"utter_grid_unassigned": [{"text": "待分拨（由街道统一分派）"}]}}
    store.places["玉林北路"] = CANDIDATES  # the grid registry knows other places only
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_location("人民公园", dispatcher, make_tracker(), domain)
    assert result["needs_landmark"] is True
    tracker = make_tracker(slots={**FILLED, **result})
    assert "landmark" in await form.required_slots([], dispatcher, tracker, domain)
    answer = await form.validate_landmark("不清楚", dispatcher, tracker, domain)
    assert answer["grid_code"] is None and answer["needs_landmark"] is False
    assert answer["grid_name"] == "待分拨（由街道统一分派）"


AREA = {"code": "510107001001", "name": "黉门街社区", "tier": "community",
        "full_name": "武侯区 玉林街道 黉门街社区"}  # fmt: skip
AREA_DOMAIN = {
    "responses": {
        "utter_grid_area": [{"text": "{area}（统一分派）"}],
        "utter_grid_unassigned": [{"text": "待分拨（由街道统一分派）"}],
    }
}


async def test_a_road_through_several_grids_asks_for_the_number_not_the_grid(
    store: FakeCaseStore,
) -> None:
    store.resolutions["黉门街 36号"] = {"status": "confident", "candidates": CANDIDATES[:1]}
    store.resolutions["黉门街"] = {"status": "needs_detail", "candidates": CANDIDATES, "area": AREA}
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    result = await form.validate_location("黉门街", dispatcher, make_tracker(), AREA_DOMAIN)
    assert result["needs_landmark"] is True and result["grid_candidates"] is None
    tracker = make_tracker(slots={**FILLED, **result})
    required = await form.required_slots([], dispatcher, tracker, AREA_DOMAIN)
    assert "landmark" in required and "grid_choice" not in required
    numbered = await form.validate_landmark("36号", dispatcher, tracker, AREA_DOMAIN)
    assert numbered["grid_code"] == "g1" and numbered["needs_landmark"] is False
    # Cannot say more: the community the road lies in takes it, not the street's pool.
    unknown = await form.validate_landmark("不清楚", dispatcher, tracker, AREA_DOMAIN)
    assert unknown["area_code"] == AREA["code"] and unknown["needs_landmark"] is False
    vague = await form.validate_landmark("路口", dispatcher, tracker, AREA_DOMAIN)
    assert vague["area_code"] == AREA["code"] and vague["grid_code"] is None
    assert vague["grid_name"] == "武侯区 玉林街道 黉门街社区（统一分派）"


async def test_a_community_named_alone_goes_to_its_queue(store: FakeCaseStore) -> None:
    store.resolutions["黉门街社区"] = {"status": "area", "area": AREA}
    form = petition_form.ValidatePetitionForm()
    tracker = make_tracker()
    result = await form.validate_location("黉门街社区门口", CollectingDispatcher(), tracker,
                                          AREA_DOMAIN)  # fmt: skip
    assert result["area_code"] == AREA["code"] and result["needs_landmark"] is False
    tracker = make_tracker(slots={**FILLED, **result, "submission_key": "k" * 12})
    assert petition_form.build_payload(tracker)["area_code"] == AREA["code"]


async def test_shared_location_answers_with_the_grid_of_the_point(store: FakeCaseStore) -> None:
    store.points[(30.64, 104.04)] = [candidate("g1", "第一网格", "玉林北路社区", "玉林北路")]
    tracker = make_tracker(
        text='/share_location{"latitude": 30.64, "longitude": 104.04}',
        intent="share_location",
        entities=[
            {"entity": "latitude", "value": "30.64"},
            {"entity": "longitude", "value": "104.04"},
        ],
    )
    domain = {"responses": {"utter_shared_location": [{"text": "位置：{coordinates}"}]}}
    form = petition_form.ValidatePetitionForm()
    result = await form.validate_location(None, CollectingDispatcher(), tracker, domain)
    assert result["location"] == "位置：30.64000, 104.04000"
    assert result["gps"] == [30.64, 104.04]
    assert result["grid_code"] == "g1" and result["grid_name"] == "玉林北路社区 第一网格"


MENU_EVENTS = [
    {"event": "user", "text": "楼上天天往下扔东西", "parse_data": {
        "intent": {"name": "nlu_fallback", "confidence": 0.6},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.6},
                           {"name": "report_public_safety", "confidence": 0.4},
                           {"name": "report_disputes", "confidence": 0.35}]}},
    {"event": "action", "name": "action_clarify_category"},
    {"event": "action", "name": "action_listen"},
]  # fmt: skip


def menu_reply(text: str, intent: str) -> Any:
    return make_tracker(text=text, intent=intent,
                        events=[*MENU_EVENTS, {"event": "user", "text": text}])  # fmt: skip


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    ("typed", "intent", "category"),
    [
        ("公共安全", "report_public_safety", "public_safety"),
        ("环保", "nlu_fallback", "environmental_protection"),  # a short name
        ("是噪声污染", "nlu_fallback", "environmental_protection"),  # a subcategory's name
    ],
)
async def test_a_typed_category_answers_the_menu(
    store: FakeCaseStore, typed: str, intent: str, category: str
) -> None:
    events = await petition_form.ActionStartPetition().run(
        CollectingDispatcher(), menu_reply(typed, intent), DOMAIN
    )
    values = slot_values(events)
    assert values["category"] == category
    assert values["description"] == "楼上天天往下扔东西"  # the petition, not the answer
    assert store.examples[-1]["intent"] == f"report_{category}"


async def test_a_typed_none_answers_the_menu_and_the_form_asks(store: FakeCaseStore) -> None:
    events = await petition_form.ActionStartPetition().run(
        CollectingDispatcher(), menu_reply("都不是", "deny"), DOMAIN
    )
    values = slot_values(events)
    assert values.get("category") is None and values["description"] == "楼上天天往下扔东西"


async def test_a_second_unclear_turn_goes_on_with_the_category_left_to_staff(
    store: FakeCaseStore,
) -> None:
    from actions.clarify import ActionClarifyCategory

    domain = {"responses": {"utter_unclassified": [{"text": "待分类（由工作人员确定）"}]}}
    dispatcher = CollectingDispatcher()
    tracker = menu_reply("就是那个事情一直没人管，我也说不好归谁", "nlu_fallback")
    events = await ActionClarifyCategory().run(dispatcher, tracker, domain)
    values = slot_values(events)
    assert values["category"] == "unclassified"
    assert values["category_name"] == "待分类（由工作人员确定）"
    assert (events[-1]["event"], events[-1]["name"]) == ("followup", "petition_form")
    assert [m["response"] for m in dispatcher.messages] == ["utter_category_left_to_staff"]
    assert not any(m.get("buttons") for m in dispatcher.messages)  # no second menu


async def test_typed_answers_to_the_category_question_never_loop() -> None:
    form = petition_form.ValidatePetitionForm()
    dispatcher = CollectingDispatcher()
    domain = {"responses": {"utter_unclassified": [{"text": "待分类"}]}}
    once = form.validate_category("火星", dispatcher, make_tracker(), domain)
    assert once["category"] is None
    tracker = make_tracker(slots={"category_attempts": once["category_attempts"]})
    twice = form.validate_category("月球", dispatcher, tracker, domain)
    assert twice["category"] == "unclassified" and twice["category_name"] == "待分类"
    none = form.validate_category("都不是", dispatcher, make_tracker(), domain)
    assert none["category"] == "unclassified"
    typed = form.validate_category("交通", dispatcher, make_tracker(), domain)
    assert typed["category"] == "transportation"


async def test_a_weak_near_miss_is_not_taken_as_the_place(store: FakeCaseStore) -> None:
    near = candidate("g3", "第三网格", "黉门街社区", "黉门小区")
    store.resolutions["小区门口"] = {"status": "none", "candidates": [{**near,
                                     "matched_text": "小区门口"}]}  # fmt: skip
    tracker = make_tracker(
        text="小区门口的井盖丢了，晚上很危险", intent="report_urban_construction"
    )
    events = await petition_form.ActionStartPetition().run(CollectingDispatcher(), tracker, DOMAIN)
    assert slot_values(events)["location"] is None  # the form asks where


async def test_a_place_resolved_from_the_whole_message_is_not_resolved_again(
    store: FakeCaseStore,
) -> None:
    store.resolutions["黉门街"] = {"status": "needs_detail", "candidates": CANDIDATES, "area": AREA}
    form = petition_form.ValidatePetitionForm()
    tracker = make_tracker(slots={"location": "黉门街", "area_code": AREA["code"]})
    result = await form.validate_location("黉门街", CollectingDispatcher(), tracker, AREA_DOMAIN)
    assert result == {"location": "黉门街"}  # the community found from the whole message stays


def test_rasa_is_called_with_a_jwt_not_the_token_in_the_url() -> None:
    """The key is the one nlu/server.py gives Rasa (same figure in tests/nlu, tests/core)."""
    import jwt

    from actions.api.rasa import auth_header, jwt_secret

    key = "2839a2867b36bb832f803a143cd51aafeb62f91ae7fe169c86a47997344feeab"
    assert jwt_secret("rasa-token-for-tests") == key
    scheme, _, signed = auth_header("rasa-token-for-tests")["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.decode(signed, key, algorithms=["HS256"])["user"]["role"] == "admin"
    assert auth_header("") == {}


async def test_a_confirmation_sent_again_after_filing_gets_the_number_not_a_new_report() -> None:
    """The answer with the ticket number was lost; "确认提交" again must not start over."""
    action = petition_form.ActionAffirmOutsideSummary()
    filed = make_tracker(slots={"last_ticket_number": "2026120200007"}, intent="affirm")
    dispatcher = CollectingDispatcher()
    assert await action.run(dispatcher, filed, DOMAIN) == []
    assert dispatcher.messages[0]["response"] == "utter_ticket_already_filed"
    assert dispatcher.messages[0]["ticket_number"] == "2026120200007"

    fresh = make_tracker(intent="affirm")  # nothing filed yet: ask what the problem is
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, fresh, DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_ask_problem"


def test_the_bot_takes_a_category_as_surely_as_the_nlu_pipeline_does() -> None:
    """One figure: the NLU's category-menu threshold (config.yml) is the actions' too."""
    import yaml

    from actions.settings import ROOT

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    sub = next(c for c in pipeline if c["name"].endswith("SubcategoryClassifier"))
    assert petition_form.taxonomy.confident_category() == sub["fallback_threshold"] > 0


async def test_a_confirmation_whose_filing_was_lost_files_it_under_the_same_key(
    store: FakeCaseStore, services: Services
) -> None:
    """The action server died while filing: Rasa went on without the submit's events, so the
    complete petition is still there when "确认提交" comes again. It is filed with its own
    submission key (the case store keeps one ticket per key), never asked for anew."""
    action = petition_form.ActionAffirmOutsideSummary()
    first_events, first = await submit(FILLED)  # the filing the resident never heard of
    tracker = make_tracker(slots=FILLED, intent="affirm")
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[-1]["response"] == "utter_ticket_created"
    assert dispatcher.messages[-1]["ticket_number"] == first["ticket_number"]
    assert slots_of(events)["submission_key"] is None
    assert list(store.tickets) == [first["ticket_number"]]  # one ticket for the one key
