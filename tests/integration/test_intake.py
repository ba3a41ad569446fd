"""Whole conversations through the real Rasa server, action server and case store."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.services import Resident, Stack

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"工单号：(\d{13})")


def fetch_ticket(stack: Stack, number: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.app_url}/api/v1/tickets/{number}", headers=stack.api_headers())
    response.raise_for_status()
    return dict(response.json())


def resident(stack: Stack) -> Resident:
    return Resident(stack, f"it-{uuid.uuid4().hex[:12]}")


def report_then_place(person: Resident, problem: str, place: str) -> None:
    """A problem without a place is asked where; the place leads on to the phone question."""
    assert "什么位置" in person.text_of(person.say(problem))
    assert "联系电话" in person.text_of(person.say(place))


def confirm(person: Resident) -> str:
    """Confirm the summary; the ticket number the reply gives."""
    reply = person.text_of(person.say("/affirm"))
    number = NUMBER.search(reply)
    assert number, reply
    return number.group(1)


def test_street_light_report_becomes_an_open311_request(stack: Stack) -> None:
    bob = resident(stack)
    report_then_place(bob, "我家楼下的路灯坏了好几天了，晚上很黑", "玉林小区3栋")
    summary = bob.say("13812345678")
    assert "【分类】城乡建设" in bob.text_of(summary)
    assert any(b["title"] == "确认提交" for b in summary[-1]["buttons"])  # type: ignore[union-attr]
    number = confirm(bob)
    assert bob.turns <= 6
    requests = httpx.get(f"{stack.app_url}/open311/v2/requests.json").json()
    mine = [r for r in requests if r["service_request_id"] == number]
    assert len(mine) == 1
    assert mine[0]["service_code"] == "urban_construction"
    assert mine[0]["address"] == "玉林小区3栋"
    assert mine[0]["description"] == "我家楼下的路灯坏了好几天了，晚上很黑"
    ticket = fetch_ticket(stack, number)
    assert ticket["contact_phone"] == "13812345678"
    assert ticket["nlu_candidates"][0]["category"] == "urban_construction"
    assert ticket["transcript"][0]["text"] == "我家楼下的路灯坏了好几天了，晚上很黑"


def test_full_first_message_is_not_asked_again(stack: Stack) -> None:
    amy = resident(stack)
    reply = amy.text_of(amy.say("玉林北路18号门口的下水道堵了三天，臭得很"))
    assert "什么位置" not in reply
    assert "联系电话" in reply
    summary = amy.text_of(amy.say("匿名"))
    assert "【地点】玉林北路18号" in summary
    assert "【联系方式】匿名" in summary


def test_place_in_several_grids_is_asked_then_corrected(stack: Stack) -> None:
    cai = resident(stack)
    replies = cai.say("玉林北璐18号门口的垃圾站好几天没人清运，臭气熏天")  # 璐: 路, 街 or 区?
    assert "您说的是哪一个" in cai.text_of(replies)
    buttons = replies[-1]["buttons"]
    assert 2 <= len(buttons) <= 5 and buttons[-1]["title"] == "都不是"  # type: ignore[index]
    assert not any("网格" in b["title"] for b in buttons)  # type: ignore[union-attr]
    first = buttons[0]  # type: ignore[index]
    assert first["title"] == "玉林北路（黉门街社区）"  # the place and its community
    assert "联系电话" in cai.text_of(cai.say(first["payload"]))
    summary = cai.text_of(cai.say("匿名"))
    assert "【网格】黉门街社区 黉门街社区第四网格" in summary
    reply = cai.text_of(cai.say('/change_field{"field":"location"}'))
    assert "什么位置" in reply
    summary = cai.text_of(cai.say("长寿苑小区7栋东门"))
    assert "【地点】长寿苑小区7栋东门" in summary
    assert "长寿苑社区 长寿苑社区第二网格" in summary  # 7栋 lies in the second grid
    confirm(cai)


def test_invalid_phone_is_asked_again(stack: Stack) -> None:
    dan = resident(stack)
    dan.say("楼下那家烧烤店油烟太大了，熏得窗户都不敢开")
    assert "联系电话" in dan.text_of(dan.say("玉林北路18号"))
    reply = dan.text_of(dan.say("12345"))
    assert "格式不正确" in reply
    summary = dan.text_of(dan.say("028-85551234"))
    assert "【联系方式】028-85551234" in summary


def test_cancel_status_emergency_and_out_of_scope(stack: Stack) -> None:
    eve = resident(stack)
    eve.say("公司拖欠我三个月工资了，老板一直不给")
    assert "已取消" in eve.text_of(eve.say("取消"))
    assert "119" in eve.text_of(eve.say("楼下着火了"))
    assert "不在我们的受理范围" in eve.text_of(eve.say("给我讲个笑话"))
    assert "没有找到工单 2020010100001" in eve.text_of(eve.say("查询工单2020010100001"))


def test_status_of_own_ticket(stack: Stack) -> None:
    fay = resident(stack)
    fay.say("白佛村三组的水渠堵了，田里放不进水")
    fay.say("白佛村三组")
    fay.say("13912345678")
    number = confirm(fay)
    reply = fay.text_of(fay.say(f"查一下{number}的进度"))
    assert "已受理，待审核" in reply and number in reply


def test_status_of_another_conversations_ticket_needs_the_phone_digits(stack: Stack) -> None:
    """Ticket numbers are sequential: a number alone shows nothing to another conversation."""
    owner = resident(stack)
    owner.say("白佛村三组的水渠堵了，田里放不进水")
    owner.say("白佛村三组")
    owner.say("13912345678")
    number = confirm(owner)

    guesser = resident(stack)
    asked = guesser.text_of(guesser.say(f"查一下{number}的进度"))
    assert "请回复该工单登记的手机号码后四位" in asked and "已受理" not in asked
    refused = guesser.text_of(guesser.say("1234"))
    assert "不一致" in refused and "已受理" not in refused

    relative = resident(stack)
    relative.say(f"查一下{number}的进度")
    shown = relative.text_of(relative.say("5678"))
    assert "已受理，待审核" in shown and number in shown

    quitter = resident(stack)
    quitter.say(f"查一下{number}的进度")
    assert "退出查询" in quitter.text_of(quitter.say("算了"))


def test_web_chat_relays_to_rasa(stack: Stack) -> None:
    sender = uuid.uuid4().hex[:16]
    response = httpx.post(
        f"{stack.app_url}/chat/api/messages", json={"sender_id": sender, "text": "你好"}, timeout=60
    )
    assert response.status_code == 200
    assert "市民诉求" in response.json()["messages"][0]["text"]
    history = httpx.get(f"{stack.app_url}/chat/api/history", params={"sender_id": sender})
    assert [t["role"] for t in history.json()["turns"]][:2] == ["resident", "bot"]
    bad = httpx.post(f"{stack.app_url}/chat/api/messages", json={"sender_id": "x", "text": ""})
    assert bad.status_code == 422


def test_case_store_down_then_delivered_exactly_once(stack: Stack) -> None:
    gus = resident(stack)
    gus.say("路口的红绿灯坏了好几天，车都乱开")
    gus.say("黄门街12号")
    gus.say("匿名")
    stack.app.stop()
    try:
        reply = gus.text_of(gus.say("/affirm"))
        assert "已保存" in reply and "回执码" in reply
        # The worker finds the store still down: the entry stays pending.
        stack.run_rasa_side("-m", "actions.outbox", "--once")
    finally:
        stack.app.start()
    for _ in range(2):  # a repeated delivery pass must not file it twice
        stack.run_rasa_side("-m", "actions.outbox", "--once")
    mine = httpx.get(
        f"{stack.app_url}/api/v1/tickets",
        params={"conversation_id": gus.sender},
        headers=stack.api_headers(),
    ).json()
    assert mine["total"] == 1
    assert mine["items"][0]["category"] == "transportation"
    reply = gus.text_of(gus.say("查询进度"))
    assert mine["items"][0]["number"] in reply


def test_unknown_place_asks_a_landmark_once_then_files_to_the_street(stack: Stack) -> None:
    hal = resident(stack)
    hal.say("小区门口的路灯坏了一个星期了")
    reply = hal.text_of(hal.say("幸福花园5栋"))
    assert "标志性" in reply
    assert "联系电话" in hal.text_of(hal.say("不清楚"))
    summary = hal.text_of(hal.say("匿名"))
    assert "【网格】待分拨" in summary
    ticket = fetch_ticket(stack, confirm(hal))
    assert ticket["grid_code"] is None and ticket["queue"] == "待分拨（街道）"
    assert ticket["location_text"] == "幸福花园5栋"


def test_first_message_place_lands_in_its_grid_without_a_question(stack: Stack) -> None:
    ivy = resident(stack)
    reply = ivy.text_of(ivy.say("长寿苑小区3栋门口的垃圾好几天没人收"))
    assert "什么位置" not in reply and "哪一个" not in reply
    summary = ivy.text_of(ivy.say("13912345678"))
    assert "【网格】长寿苑社区 长寿苑社区第一网格" in summary
    ticket = fetch_ticket(stack, confirm(ivy))
    assert ticket["grid_worker_name"]
    village = resident(stack)
    village.say("白佛村三组的水渠堵了")
    summary = village.text_of(village.say("匿名"))
    assert "白佛村三组网格" in summary


def test_shared_gps_point_lands_in_its_grid(stack: Stack) -> None:
    jay = resident(stack)
    gps = '/share_location{"latitude":30.6375,"longitude":104.0525}'
    report_then_place(jay, "门口的井盖不见了，晚上很危险", gps)
    summary = jay.text_of(jay.say("匿名"))
    assert "【网格】黉门街社区 黉门街社区第一网格" in summary
    ticket = fetch_ticket(stack, confirm(jay))
    assert ticket["grid_code"] == "510107001001001"
    assert (ticket["latitude"], ticket["longitude"]) == (30.6375, 104.0525)
