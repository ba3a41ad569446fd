"""The running action server: on loopback, and only Rasa (with the token) gets actions run."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.services import Resident, Stack

pytestmark = pytest.mark.integration

# What an attacker would post: another resident's conversation, asking for their tickets.
FORGED_CALL = {
    "next_action": "action_ticket_status",
    "sender_id": "someone-else",
    "tracker": {"sender_id": "someone-else", "slots": {}, "latest_message": {}, "events": []},
    "domain": {},
    "version": "3.6.21",
}


def test_callers_without_the_token_are_refused(stack: Stack) -> None:
    url = stack.env["ACTION_SERVER_URL"]
    base = url.rsplit("/", 1)[0]
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    wrong: list[dict[str, str | bytes]] = [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": "Bearer 错误的令牌".encode()},  # raw UTF-8 bytes, as a client may send
    ]
    for headers in wrong:
        refused = httpx.post(url, json=FORGED_CALL, headers=headers, timeout=10)
        assert refused.status_code == 401, headers
        assert refused.json() == {"error": "未授权的调用"}
    assert httpx.get(f"{base}/actions", timeout=10).status_code == 401


def test_rasa_calls_it_with_the_token(stack: Stack) -> None:
    # A conversation that needs actions (the form's pre-fill and validation) goes on.
    ann = Resident(stack, "action-server-ann")
    assert "什么位置" in ann.text_of(ann.say("我家楼下的路灯坏了好几天了，晚上很黑"))


def test_it_listens_on_loopback_only(stack: Stack) -> None:
    log = (stack.workdir / "actions.log").read_text(encoding="utf-8")
    assert "http://127.0.0.1:" in log and "0.0.0.0" not in log
