"""Satisfaction feedback end to end: web chat → Rasa → actions → case store, and back."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.services import Stack
from tests.integration.test_intake import NUMBER, fetch_ticket

pytestmark = pytest.mark.integration


class WebResident:
    """A resident in the web chat page, talking through the app's /chat/api endpoints."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = uuid.uuid4().hex[:16]

    def say(self, text: str, display: str | None = None) -> str:
        response = httpx.post(
            f"{self.stack.app_url}/chat/api/messages",
            json={"sender_id": self.sender, "text": text, "display_text": display},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return "\n".join(m["text"] for m in response.json()["messages"])

    def notifications(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.stack.app_url}/chat/api/notifications", params={"sender": self.sender}
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def acknowledge(self, note: dict[str, Any]) -> None:
        response = httpx.post(
            f"{self.stack.app_url}/chat/api/notifications/{note['id']}/delivered",
            params={"sender": self.sender},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def history(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.stack.app_url}/chat/api/history", params={"sender_id": self.sender}
        )
        assert response.status_code == 200, response.text
        return list(response.json()["turns"])

    def file_street_light(self) -> str:
        self.say("我家楼下的路灯坏了好几天了，晚上很黑")
        self.say("玉林小区3栋")
        self.say("13812345678")
        number = NUMBER.search(self.say("/affirm", "确认提交"))
        assert number
        return number.group(1)


def staff(stack: Stack, number: str, action: str, text: str | None = None) -> None:
    response = httpx.post(
        f"{stack.app_url}/api/v1/tickets/{number}/actions",
        json={"action": action, "actor": "staff-it", "text": text},
        headers=stack.api_headers(),
    )
    assert response.status_code == 200, response.text


def test_closed_ticket_is_reopened_from_the_web_chat(stack: Stack) -> None:
    kim = WebResident(stack)
    number = kim.file_street_light()
    staff(stack, number, "dispatch")
    staff(stack, number, "close", "已更换路灯灯泡")

    status, satisfaction = kim.notifications()
    assert status["kind"] == "status" and number in status["text"]
    assert satisfaction["kind"] == "satisfaction" and "已更换路灯灯泡" in satisfaction["text"]
    for note in (status, satisfaction):
        kim.acknowledge(note)
    assert kim.notifications() == []
    last = kim.history()[-1]  # a reload shows the question with its buttons
    assert last["role"] == "bot" and last["text"] == satisfaction["text"]
    unresolved = next(b for b in last["buttons"] if b["title"] == "问题没解决")

    reply = kim.say(unresolved["payload"], unresolved["title"])
    assert f"已为您重新办理工单 {number}" in reply
    ticket = fetch_ticket(stack, number)
    assert ticket["status"] == "reopened" and ticket["rating"] == "unresolved"
    rated = [e for e in ticket["events"] if e["kind"] == "rated"]
    assert [(e["actor"], e["data"]["rating"]) for e in rated] == [("resident", "unresolved")]
    assert kim.history()[-2] == {"role": "resident", "text": "问题没解决"}

    reply = kim.say(unresolved["payload"], unresolved["title"])  # clicked again
    assert f"工单 {number} 已在重新办理中" in reply
    assert len([e for e in fetch_ticket(stack, number)["events"] if e["kind"] == "rated"]) == 1


def test_typed_answers_and_a_rating_in_the_middle_of_a_new_report(stack: Stack) -> None:
    lee = WebResident(stack)
    first = lee.file_street_light()
    staff(stack, first, "dispatch")
    staff(stack, first, "close", "已更换路灯灯泡")
    satisfied = next(
        b for b in lee.notifications()[-1]["buttons"] if b["title"] == "满意"
    )  # the page shows it; the resident answers later

    reply = lee.say("小区门口的井盖丢了，晚上很危险")
    assert "什么位置" in reply
    reply = lee.say(satisfied["payload"], satisfied["title"])
    assert f"感谢您对工单 {first} 的评价（满意）" in reply
    assert "什么位置" in reply  # the new report goes on where it was
    assert fetch_ticket(stack, first)["rating"] == "satisfied"
    assert "联系电话" in lee.say("玉林北路18号")
    lee.say("匿名")
    second = NUMBER.search(lee.say("/affirm", "确认提交"))
    assert second

    staff(stack, second.group(1), "dispatch")
    staff(stack, second.group(1), "close", "已补装井盖")
    reply = lee.say("没解决")
    assert f"已为您重新办理工单 {second.group(1)}" in reply
    assert fetch_ticket(stack, second.group(1))["status"] == "reopened"
    assert fetch_ticket(stack, first)["status"] == "closed"
