"""The petition flow: start from a report, fill the form, confirm, submit, change, cancel."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation, grid, taxonomy, validators
from actions.api import services
from actions.api.casestore import CaseStoreRejected, CaseStoreUnavailable, receipt_code
from actions.responses import response_text
from actions.summary import ask_which_field

log = logging.getLogger(__name__)

FORM_SLOTS = ("description", "category", "location", "contact")
GRID_SLOTS = (
    "gps",
    "grid_code",
    "area_code",
    "grid_name",
    "grid_candidates",
    "needs_landmark",
    "grid_choice",
    "landmark",
)
PETITION_SLOTS = (
    *FORM_SLOTS,
    *GRID_SLOTS,
    "category_name",
    "category_attempts",
    "subcategory",
    "petition_meta",
    "submission_key",
    "handoff_requested",
)
FIELD_ALIASES = {
    "location": "location",
    "地址": "location",
    "地点": "location",
    "位置": "location",
    "contact": "contact",
    "电话": "contact",
    "手机号": "contact",
    "联系方式": "contact",
    "category": "category",
    "分类": "category",
    "类别": "category",
    "description": "description",
    "描述": "description",
    "问题描述": "description",
}


def _categories() -> dict[str, taxonomy.CategoryInfo]:
    return taxonomy.load(
        services().settings.taxonomy_path, services().settings.taxonomy_additions_path
    )


def reset_petition() -> list[EventType]:
    return [SlotSet(slot, None) for slot in PETITION_SLOTS if slot != "handoff_requested"] + [
        SlotSet("handoff_requested", False)
    ]


def _category_events(info: taxonomy.CategoryInfo | None) -> list[EventType]:
    if info is None:
        return []
    return [SlotSet("category", info.code), SlotSet("category_name", info.name)]


MIN_PROBLEM_CHARS = 6
MAX_CATEGORY_ATTEMPTS = 2  # typed answers to the category question before 待分类


def describes_problem(text: str, location: str | None) -> bool:
    """Whether a message says more than a place (e.g. "玉林北路18号门口的下水道堵了")."""
    rest = text.replace(location, "") if location else text
    rest = "".join(ch for ch in rest if ch.isalnum())
    return len(rest) >= MIN_PROBLEM_CHARS


def after_category_menu(tracker: Tracker) -> bool:
    """Whether the bot's last action before the latest message was the category menu."""
    seen_latest = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest:
                return False
            seen_latest = True
        elif kind == "action" and seen_latest and event.get("name") != "action_listen":
            return bool(event.get("name") == "action_clarify_category")
    return False


def unclassified_name(domain: DomainDict) -> str:
    return response_text(domain, "utter_unclassified") or taxonomy.UNCLASSIFIED


async def start_events(
    tracker: Tracker,
    domain: DomainDict,
    latest: dict[str, Any],
    chosen: str | None = None,
) -> list[EventType]:
    """Slots from the resident's opening message, so nothing is asked twice.

    ``chosen`` is a category picked from (or typed into) the category menu, "none" for
    都不是 (the form then asks), or ``taxonomy.UNCLASSIFIED`` (staff classify: 待分类).
    """
    categories = _categories()
    intent = (latest.get("intent") or {}).get("name") or ""
    text = validators.clean_text(latest.get("text") or "")
    events = reset_petition()
    events.append(SlotSet("submission_key", f"{tracker.sender_id[:40]}-{uuid.uuid4().hex}"))
    ranked = conversation.candidates(categories, latest.get("intent_ranking") or [])
    location = conversation.longest(conversation.entity_values(latest, "location"))
    if location:
        location = conversation.complete_location(text, location)
    code = taxonomy.category_for_intent(categories, intent)
    if chosen == taxonomy.UNCLASSIFIED:
        code = None
        events += [SlotSet("category", chosen), SlotSet("category_name", unclassified_name(domain))]
    elif chosen is not None:
        code = chosen if chosen in categories else None  # "都不是": the form asks
    weak_guess = False
    if chosen is None and code is None and ranked and describes_problem(text, location):
        # Classified as a bare answer (inform) but says what is wrong: take the best
        # category rather than ask the resident to repeat themselves. A weak best guess is
        # not taken: the form asks the category, so the resident confirms it, and keeps
        # the message as the description.
        if ranked[0]["confidence"] >= taxonomy.confident_category():
            code = ranked[0]["category"]
        else:
            weak_guess = True
    events += _category_events(categories.get(code) if code else None)
    sub = latest.get("subcategory") or {}
    if code and sub.get("name") in categories[code].subcategories:
        events.append(SlotSet("subcategory", sub["name"]))
    if (code or chosen or weak_guess) and validators.description_problem(text) is None:
        events.append(SlotSet("description", text))
    if location and validators.location_ok(location):
        location = validators.clean_location(location)
        events.append(SlotSet("location", location))
    point = grid.shared_point(latest)
    if point is not None:
        location = grid.point_text(domain, point)
        events += [SlotSet("location", location), SlotSet("gps", list(point))]
        text = ""
    if code or chosen or location:
        # The whole message gives the resolver the most context ("长寿苑小区3栋门口…").
        found = await grid.locate(text or location or "", domain, point=point)
        if found is not None:
            matched = found.get("_matched")
            if not location and matched and validators.location_ok(matched):
                events.append(SlotSet("location", matched))
                location = matched
            if location or not found.get("needs_landmark"):
                events += [SlotSet(k, v) for k, v in grid.slot_values(found).items()]
    phone = validators.normalize_phone(text)
    if phone:
        events.append(SlotSet("contact", phone))
    if ranked and code == ranked[0]["category"] and sub.get("name"):
        ranked[0] = {**ranked[0], "subcategory": sub["name"]}
    top_confidence = next((c["confidence"] for c in ranked if c["category"] == code), None)
    events.append(
        SlotSet(
            "petition_meta",
            {
                "confidence": top_confidence,
                "subcategory_confidence": sub.get("confidence"),
                "candidates": ranked,
            },
        )
    )
    return events


def typed_menu_answer(
    categories: dict[str, taxonomy.CategoryInfo], text: str, intent: str
) -> str | None:
    """A typed answer to the category menu: a category's code, "none", or None (not one)."""
    if intent == "deny" or taxonomy.means_none(text):
        return "none"
    if len(text.strip()) <= 12:
        return taxonomy.category_from_text(categories, text)
    return None


class ActionStartPetition(Action):
    """Turn the resident's opening message into pre-filled slots, so nothing is asked twice."""

    def name(self) -> str:
        return "action_start_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        latest = tracker.latest_message
        intent = (latest.get("intent") or {}).get("name") or ""
        chosen: str | None = None
        if intent == "choose_category":
            # The resident picked a category after a low-confidence guess: the petition is
            # the message before, and the choice is a training signal.
            chosen = next(iter(conversation.entity_values(latest, "chosen_category")), None)
        elif after_category_menu(tracker):
            # Typed instead of tapped: "环保", "都不是" — the petition is the message before.
            chosen = typed_menu_answer(_categories(), latest.get("text") or "", intent)
        if chosen is None:
            return await start_events(tracker, domain, latest)
        petition = conversation.previous_user_message(tracker) or latest
        return await start_with_choice(tracker, domain, petition, chosen)


async def start_with_choice(
    tracker: Tracker, domain: DomainDict, petition: dict[str, Any], chosen: str
) -> list[EventType]:
    """Start the petition from ``petition`` with a category choice, kept as a training signal."""
    await record_choice(tracker, petition, chosen)
    return await start_events(tracker, domain, petition, chosen)


async def record_choice(tracker: Tracker, message: dict[str, Any], chosen: str | None) -> None:
    """Keep the resident's choice as a training example (best effort: it is not a ticket).

    "都不是" keeps the message as a low-confidence example without a label: an admin labels
    it in the training inbox.
    """
    if not chosen or not message.get("text"):
        return
    predicted = message.get("intent_ranking") or [{}]
    top: dict[str, Any] = next((r for r in predicted if r.get("name") != "nlu_fallback"), {})
    unlabelled = chosen in ("none", taxonomy.UNCLASSIFIED)
    try:
        await services().casestore.add_training_example(
            {
                "text": message["text"][:2000],
                "intent": None if unlabelled else taxonomy.intent_of(chosen),
                "source": "low_confidence" if unlabelled else "fallback_choice",
                "predicted_intent": top.get("name"),
                "predicted_confidence": top.get("confidence"),
                "conversation_id": tracker.sender_id,
            }
        )
    except (CaseStoreUnavailable, CaseStoreRejected) as exc:
        log.warning("could not record the fallback choice: %s", exc)


class ValidatePetitionForm(FormValidationAction):
    """One validate_<slot> per slot; re-prompts come from the domain's utter_invalid_*."""

    def name(self) -> str:
        return "validate_petition_form"

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = validators.clean_text(str(value or ""))
        problem = validators.description_problem(text)
        if problem == "short":
            dispatcher.utter_message(response="utter_invalid_description")
            return {"description": None}
        if problem == "long":
            dispatcher.utter_message(
                response="utter_description_too_long", max_length=validators.MAX_DESCRIPTION
            )
            return {"description": None}
        result: dict[str, Any] = {"description": text}
        if not tracker.get_slot("category"):
            result.update(await self._classify(text))
        return result

    async def _classify(self, text: str) -> dict[str, Any]:
        """Ask the running Rasa server to classify a description given inside the form."""
        categories = _categories()
        try:
            parsed = await services().rasa.parse(text)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not classify the description: %s", exc)
            return {}
        ranking = parsed.get("intent_ranking") or []
        found = conversation.candidates(categories, ranking)
        meta = {"confidence": found[0]["confidence"] if found else None, "candidates": found}
        top_intent = (parsed.get("intent") or {}).get("name") or ""
        code = taxonomy.category_for_intent(categories, top_intent)
        if not code:
            return {"petition_meta": meta}  # the form will ask for the category
        return {"category": code, "category_name": categories[code].name, "petition_meta": meta}

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        categories = _categories()
        answer = str(value or "")
        if answer == taxonomy.UNCLASSIFIED:  # left to staff before the form asked
            return {"category": answer, "category_name": unclassified_name(domain)}
        code = taxonomy.category_from_text(categories, answer)
        if code is None:
            attempts = int(tracker.get_slot("category_attempts") or 0) + 1
            if taxonomy.means_none(answer) or attempts >= MAX_CATEGORY_ATTEMPTS:
                # Never ask a third time: staff classify it (待分类).
                dispatcher.utter_message(response="utter_category_left_to_staff")
                return {
                    "category": taxonomy.UNCLASSIFIED,
                    "category_name": unclassified_name(domain),
                    "subcategory": None,
                    "category_attempts": None,
                }
            dispatcher.utter_message(response="utter_invalid_category")
            return {"category": None, "category_attempts": attempts}
        result: dict[str, Any] = {"category": code, "category_name": categories[code].name}
        if tracker.get_slot("category") != code:
            result["subcategory"] = None  # a changed category invalidates the subcategory
        return result

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The grid questions are asked only when resolution needs them."""
        slots = ["description", "category", "location"]
        if tracker.get_slot("grid_candidates"):
            slots.append("grid_choice")
        if tracker.get_slot("needs_landmark"):
            slots.append("landmark")
        return [*slots, "contact"]

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        shared = await grid.shared_location(tracker, domain)
        if shared is not None:
            place, values = shared
            return {"location": place, "grid_choice": None, "landmark": None, **values}
        text = validators.clean_location(str(value or ""))
        if not validators.location_ok(text):
            dispatcher.utter_message(response="utter_invalid_location")
            return {"location": None}
        resolved = tracker.get_slot("grid_code") or tracker.get_slot("area_code")
        if resolved and tracker.get_slot("location") == text:
            return {"location": text}  # pre-filled and already resolved from the whole message
        found = await grid.locate(text, domain)
        result: dict[str, Any] = {"location": text, "grid_choice": None, "landmark": None}
        if found is not None:
            result.update(grid.slot_values(found))
        return result

    def validate_grid_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = str(value or "").strip()
        candidates = tracker.get_slot("grid_candidates") or []
        for index, candidate in enumerate(candidates, start=1):
            names = (candidate["grid_code"], str(index), candidate["grid_name"], candidate["place"])
            if answer and answer in names:
                return {"grid_choice": candidate["grid_code"], **grid.chosen(candidate)}
        if any(word in answer for word in grid.DONT_KNOW):
            return {
                "grid_choice": grid.NONE_CHOICE,
                "grid_candidates": None,
                "needs_landmark": True,
            }
        dispatcher.utter_message(response="utter_invalid_grid_choice")
        return {"grid_choice": None}

    async def validate_landmark(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        shared = await grid.shared_location(tracker, domain)
        if shared is not None:
            place, values = shared
            return {"landmark": place, **grid.unassigned(domain), **values, "needs_landmark": False}
        answer = validators.clean_text(str(value or ""))
        result: dict[str, Any] = {"landmark": answer or grid.NONE_CHOICE}
        location = tracker.get_slot("location") or ""
        if not answer or any(word in answer for word in grid.DONT_KNOW):
            # The level the place is known at (a road's community) takes it, else the street.
            found = await grid.locate(location, domain, after_landmark=True) if location else None
            return {**result, **(grid.slot_values(found) if found else grid.unassigned(domain))}
        found = await grid.locate(f"{location} {answer}", domain, after_landmark=True)
        result.update(grid.slot_values(found) if found else grid.unassigned(domain))
        result["needs_landmark"] = False
        if validators.location_ok(f"{location}（附近：{answer}）"):
            result["location"] = f"{location}（附近：{answer}）"
        return result

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        phone = validators.normalize_phone(text)
        if phone:
            return {"contact": phone}
        if validators.wants_anonymity(text):
            return {"contact": validators.ANONYMOUS}
        dispatcher.utter_message(response="utter_invalid_contact")
        return {"contact": None}


def build_payload(tracker: Tracker) -> dict[str, Any] | None:
    """The case-store draft from the filled slots; None if the petition is incomplete."""
    slots: dict[str, Any] = {name: tracker.get_slot(name) for name in PETITION_SLOTS}
    if not all(slots[name] for name in (*FORM_SLOTS, "submission_key")):
        return None
    meta = slots["petition_meta"] or {}
    anonymous = slots["contact"] == validators.ANONYMOUS
    return {
        "submission_key": slots["submission_key"],
        "category": slots["category"],
        "subcategory": slots["subcategory"],
        "location_text": slots["location"],
        "grid_code": slots["grid_code"],
        "area_code": slots["area_code"],
        "latitude": slots["gps"][0] if slots.get("gps") else None,
        "longitude": slots["gps"][1] if slots.get("gps") else None,
        "description": slots["description"],
        "contact_phone": None if anonymous else slots["contact"],
        "anonymous": anonymous,
        "channel": conversation.channel(tracker),
        "conversation_id": tracker.sender_id,
        "nlu_confidence": meta.get("confidence"),
        "nlu_candidates": meta.get("candidates") or [],
        "transcript": conversation.transcript(tracker),
        "handoff_requested": bool(slots["handoff_requested"]),
    }


class ActionSubmitPetition(Action):
    """File the confirmed petition exactly once (retries, then the outbox)."""

    def name(self) -> str:
        return "action_submit_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        payload = build_payload(tracker)
        if payload is None:
            dispatcher.utter_message(response="utter_ask_problem")
            return []
        client = services().casestore
        try:
            result = await client.submit(payload)
        except CaseStoreRejected as exc:
            # Keep it for an operator rather than lose it; the resident gets a receipt.
            log.error("case store rejected a confirmed petition: %s", exc)
            client.outbox.put(payload["submission_key"], payload)
            client.outbox.mark_failed(payload["submission_key"], str(exc), rejected=True)
            dispatcher.utter_message(response="utter_submit_failed")
            return reset_petition()
        events = reset_petition()
        if result.ticket is not None:
            ticket = result.ticket
            dispatcher.utter_message(
                response="utter_ticket_created",
                ticket_number=ticket["number"],
                sla_days=ticket["sla_days"],
                due_date=conversation.local_date(ticket["due_at"]),
            )
            events.append(SlotSet("last_ticket_number", ticket["number"]))
        else:
            dispatcher.utter_message(
                response="utter_ticket_queued", receipt=receipt_code(payload["submission_key"])
            )
        return events


class ActionAffirmOutsideSummary(Action):
    """A confirmation with no summary to confirm: most often the same "确认提交" sent again
    because the answer with the ticket number never arrived (the page or the app was
    restarted). The resident is given the number again instead of being asked to start a
    new report, which would file the same problem twice.

    If the confirmed petition is still complete and keyed, the filing itself was lost (the
    action server died while filing it, and Rasa went on without its events): it is filed
    now under the same submission key, which the case store files at most once.
    """

    def name(self) -> str:
        return "action_affirm_outside_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not tracker.active_loop_name and build_payload(tracker) is not None:
            return await ActionSubmitPetition().run(dispatcher, tracker, domain)
        number = tracker.get_slot("last_ticket_number")
        if number and not tracker.get_slot("submission_key"):
            dispatcher.utter_message(response="utter_ticket_already_filed", ticket_number=number)
        else:
            dispatcher.utter_message(response="utter_ask_problem")
        return []


class ActionChangeField(Action):
    """Clear the field the resident wants to change; the form then asks it again."""

    def name(self) -> str:
        return "action_change_field"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        values = conversation.entity_values(tracker.latest_message, "field")
        field = next((FIELD_ALIASES[v] for v in values if v in FIELD_ALIASES), None)
        if field is None:
            ask_which_field(dispatcher, domain)
            return []
        events: list[EventType] = [SlotSet(field, None)]
        if field == "location":
            events += [SlotSet(slot, None) for slot in GRID_SLOTS]
        if field == "category":
            events += [SlotSet("category_name", None), SlotSet("subcategory", None)]
        return events


class ActionCancelPetition(Action):
    def name(self) -> str:
        return "action_cancel_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop_name or tracker.get_slot("submission_key"):
            dispatcher.utter_message(response="utter_cancelled")
        else:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_petition()]
