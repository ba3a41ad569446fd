"""The field desk (bot/field.py): linking, patrol reports, task steps, outages — against a fake
case store; and the handlers' routing of linked people versus residents (bot/handlers.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import texts
from bot.app import BotProcess, webhook_app
from bot.casestore import CaseStoreChannel, CaseStoreRefused
from bot.field import (
    FieldDesk,
    PhotoUnreadable,
    help_text,
    is_field_payload,
    link_code_of_text,
    parse_visit,
    start_link_code,
    text_command,
)
from bot.rasa import ServiceUnavailable
from bot.store import FieldPerson, Job, NewMessage, Store
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.images import jpeg
from tests.integration.services import free_port

USER = 4242
NUMBER = "2026120200001"
WORKER = {
    "username": "wang",
    "display_name": "王网格",
    "role": "grid_worker",
    "role_label": "网格员",
    "grids": ["黉门街社区第一网格"],
}


class FakeCaseStore:
    """The field endpoints the desk calls, recording each call; ``down`` makes them fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.down = False
        self.refuse: dict[str, CaseStoreRefused] = {}
        self.linked: dict[int, dict[str, Any]] = {}
        self.uploads = 0
        self.tasks: list[dict[str, Any]] = []

    def _call(self, name: str, **kwargs: Any) -> None:
        if self.down:
            raise ServiceUnavailable("case store down")
        if name in self.refuse:
            raise self.refuse[name]
        self.calls.append((name, kwargs))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]

    async def upload_attachment(self, **kwargs: Any) -> dict[str, Any]:
        self._call("upload", **kwargs)
        self.uploads += 1
        return {"id": 100 + self.uploads}

    async def field_link(self, *, code: str, telegram_id: int) -> dict[str, Any]:
        self._call("link", code=code, telegram_id=telegram_id)
        self.linked[telegram_id] = WORKER
        return {**WORKER, "message": "绑定成功：王网格（网格员）"}

    async def field_me(self, telegram_id: int) -> dict[str, Any] | None:
        self._call("me", telegram_id=telegram_id)
        return self.linked.get(telegram_id)

    async def field_unlink(self, telegram_id: int) -> dict[str, Any]:
        self._call("unlink", telegram_id=telegram_id)
        self.linked.pop(telegram_id, None)
        return {"message": "已解除绑定"}

    async def field_tasks(self, telegram_id: int) -> list[dict[str, Any]]:
        self._call("tasks", telegram_id=telegram_id)
        return self.tasks

    async def field_step(self, **kwargs: Any) -> dict[str, Any]:
        self._call("step", **kwargs)
        step = kwargs["step"]
        buttons = (
            [] if step == "resolve" else [{"title": "办结", "payload": f"/task resolve {NUMBER}"}]
        )
        return {
            "number": kwargs["number"],
            "status": "in_progress",
            "status_label": "办理中",
            "message": f"已记录：{step}",
            "buttons": buttons,
        }

    async def field_draft(self, **kwargs: Any) -> dict[str, Any]:
        self._call("draft", **kwargs)
        draft = {"text": kwargs["text"], "category": "disputes", "latitude": kwargs["latitude"]}
        return {"draft": draft, "summary": f"【分类】矛盾纠纷\n【内容】{kwargs['text']}"}

    async def field_report(self, **kwargs: Any) -> dict[str, Any]:
        self._call("report", **kwargs)
        return {"number": NUMBER, "message": f"已登记，工单号：{NUMBER}"}

    async def field_visit(self, **kwargs: Any) -> dict[str, Any]:
        self._call("visit", **kwargs)
        return {"message": f"已记录今日走访 {kwargs['households']} 户"}


class Desk:
    """A desk on an in-memory store; ``run`` feeds it jobs as the relay would."""

    def __init__(self) -> None:
        self.casestore = FakeCaseStore()
        self.now = 1_000_000.0
        self.store = Store(":memory:", clock=lambda: self.now)
        self.photos: dict[str, bytes] = {}
        self.desk = FieldDesk(
            casestore=self.casestore,  # type: ignore[arg-type]
            store=self.store,
            download=self._download,
            clock=lambda: self.now,
        )
        self.jobs = 0

    async def _download(self, file_id: str) -> bytes:
        if file_id not in self.photos:
            raise PhotoUnreadable(file_id)
        return self.photos[file_id]

    def run(self, op: str, **data: Any) -> list[NewMessage]:
        self.jobs += 1
        job = Job(
            id=self.jobs,
            key=f"u{self.jobs}:0",
            user_id=USER,
            chat_id=USER,
            kind="field",
            data={"op": op, "message_id": 500 + self.jobs, **data},
        )
        return asyncio.run(self.desk.handle(job))

    def photo(self, caption: str = "", group: str | None = None) -> list[NewMessage]:
        file_id = f"f{len(self.photos)}"
        self.photos[file_id] = jpeg()
        return self.run("photo", file_id=file_id, caption=caption, media_group_id=group)

    def tap(self, message: NewMessage, title: str) -> list[NewMessage]:
        (button,) = [b for b in message.buttons if b.title == title]
        return self.run("button", payload=button.payload)

    def linked(self) -> Desk:
        self.run("link", code="12345678")
        return self


@pytest.fixture
def desk() -> Desk:
    return Desk().linked()


def only(messages: list[NewMessage]) -> NewMessage:
    assert len(messages) == 1, [m.text for m in messages]
    return messages[0]


# -- parsing ----------------------------------------------------------------------------------


def test_typed_commands_are_recognised() -> None:
    person = FieldPerson(USER, "wang", "王网格", "grid_worker", "网格员", 0.0)
    assert link_code_of_text("绑定 12345678") == "12345678"
    assert link_code_of_text("绑定：12345678") == "12345678"
    assert link_code_of_text("我想绑定一下") is None
    assert start_link_code(["link-12345678"]) == "12345678"
    assert start_link_code(["hello"]) is None and start_link_code([]) is None
    assert parse_visit("12 走访3栋、5栋") == (12, "走访3栋、5栋")
    assert parse_visit("走访 12户，了解漏水情况") == (12, "了解漏水情况")
    assert parse_visit("走访 0户") is None and parse_visit("很多") is None
    assert text_command("绑定 12345678", None) == ("link", {"code": "12345678"})
    assert text_command("我的任务", None) is None  # a resident's words go to Rasa
    assert text_command("我的任务", person) == ("tasks", {})
    assert text_command("走访 8户 3栋", person) == ("visit", {"households": 8, "notes": "3栋"})
    assert text_command("3栋楼道灯坏了", person) is None
    assert is_field_payload(f"/task accept {NUMBER}") and is_field_payload("/field confirm 3")
    assert not is_field_payload("/affirm")


def test_help_depends_on_the_role() -> None:
    worker = FieldPerson(USER, "wang", "王网格", "grid_worker", "网格员", 0.0)
    volunteer = FieldPerson(USER, "li", "李阿姨", "volunteer", "民情专递员", 0.0)
    assert "/tasks" in help_text(worker) and "/visit" in help_text(worker)
    assert "王网格（网格员）" in help_text(worker)
    assert "/tasks" not in help_text(volunteer) and "民情专递员" in help_text(volunteer)
    assert "/visit" in help_text(volunteer)
    assert "/unlink" in help_text(volunteer)


# -- linking ----------------------------------------------------------------------------------


def test_link_remembers_the_person_and_unlink_forgets() -> None:
    desk = Desk()
    assert desk.store.field_person(USER) is None
    assert only(desk.run("link", code="12345678")).text == "绑定成功：王网格（网格员）"
    person = desk.store.field_person(USER)
    assert person is not None and person.role == "grid_worker" and person.display_name == "王网格"
    assert desk.casestore.named("link") == [{"code": "12345678", "telegram_id": USER}]
    assert only(desk.run("unlink")).text == "已解除绑定"
    assert desk.store.field_person(USER) is None


def test_a_refused_code_shows_the_case_stores_words() -> None:
    desk = Desk()
    desk.casestore.refuse["link"] = CaseStoreRefused(400, "绑定码无效或已过期")
    assert only(desk.run("link", code="00000000")).text == "绑定码无效或已过期"
    assert desk.store.field_person(USER) is None


# -- patrol reports -----------------------------------------------------------------------------


def test_text_then_location_then_confirm_files_once(desk: Desk) -> None:
    summary = only(desk.run("text", text="5栋有两户因为漏水吵起来了"))
    assert "矛盾纠纷" in summary.text and texts.REPORT_HINT in summary.text
    assert [b.title for b in summary.buttons] == [texts.REPORT_CONFIRM, texts.REPORT_CANCEL]
    again = only(desk.run("location", latitude=30.6375, longitude=104.0525))
    assert texts.REPORT_LOCATION_LINE in again.text
    assert desk.casestore.named("draft")[-1]["latitude"] == 30.6375
    filed = only(desk.tap(again, texts.REPORT_CONFIRM))
    assert NUMBER in filed.text
    (report,) = desk.casestore.named("report")
    assert report["submission_key"] == f"tg-field-{USER}-{summary.buttons[0].payload.split()[-1]}"
    assert report["draft"]["text"] == "5栋有两户因为漏水吵起来了"
    assert report["draft"]["latitude"] == 30.6375
    # The first summary's button is now stale: nothing is filed twice.
    assert only(desk.tap(summary, texts.REPORT_CONFIRM)).text == texts.REPORT_GONE
    assert len(desk.casestore.named("report")) == 1


def test_photo_with_caption_and_a_later_photo_join_the_report(desk: Desk) -> None:
    summary = only(desk.photo(caption="3栋楼道灯坏了"))
    assert texts.REPORT_PHOTOS_LINE.format(count=1) in summary.text
    added = only(desk.photo())
    assert added.text == texts.REPORT_PHOTO_ADDED.format(count=2)
    desk.tap(summary, texts.REPORT_CONFIRM)
    (report,) = desk.casestore.named("report")
    assert report["attachment_ids"] == [101, 102]
    uploads = desk.casestore.named("upload")
    assert all(u["conversation_id"] == f"tg-{USER}" for u in uploads)


def test_an_album_is_one_report_with_all_its_photos(desk: Desk) -> None:
    summary = only(desk.photo(caption="路面塌陷", group="album1"))
    assert desk.photo(group="album1") == [] and desk.photo(group="album1") == []
    desk.tap(summary, texts.REPORT_CONFIRM)
    assert desk.casestore.named("report")[0]["attachment_ids"] == [101, 102, 103]


def test_photo_first_then_words(desk: Desk) -> None:
    asked = only(desk.photo())
    assert asked.text == texts.REPORT_ASK_TEXT.format(what=texts.REPORT_PHOTO_WORD)
    summary = only(desk.run("text", text="垃圾桶满了没人清"))
    desk.tap(summary, texts.REPORT_CONFIRM)
    assert desk.casestore.named("report")[0]["attachment_ids"] == [101]


def test_cancel_abandons_the_draft(desk: Desk) -> None:
    summary = only(desk.run("text", text="井盖松动"))
    assert only(desk.tap(summary, texts.REPORT_CANCEL)).text == texts.REPORT_CANCELLED
    assert only(desk.tap(summary, texts.REPORT_CONFIRM)).text == texts.REPORT_GONE
    assert only(desk.run("cancel")).text == texts.NOTHING_TO_CANCEL
    assert desk.casestore.named("report") == []


def test_case_store_down_says_busy_and_keeps_the_draft(desk: Desk) -> None:
    summary = only(desk.run("text", text="井盖松动"))
    desk.casestore.down = True
    assert only(desk.tap(summary, texts.REPORT_CONFIRM)).text == texts.FIELD_BUSY
    assert only(desk.run("text", text="另一件事")).text == texts.FIELD_BUSY
    desk.casestore.down = False
    assert NUMBER in only(desk.tap(summary, texts.REPORT_CONFIRM)).text
    assert desk.casestore.named("report")[0]["draft"]["text"] == "井盖松动"


def test_unreadable_or_wrong_photos_are_said(desk: Desk) -> None:
    assert only(desk.run("photo", file_id="missing")).text == texts.PHOTO_UNREADABLE
    desk.photos["gif"] = b"GIF89a not accepted"
    assert only(desk.run("photo", file_id="gif")).text == texts.PHOTO_WRONG_TYPE
    assert desk.casestore.named("upload") == [] and desk.store.field_state(USER) is None


# -- tasks ----------------------------------------------------------------------------------------


def test_tasks_list_each_with_its_buttons(desk: Desk) -> None:
    assert only(desk.run("tasks")).text == texts.FIELD_TASKS_NONE
    desk.casestore.tasks = [
        {
            "number": NUMBER,
            "text": "路灯不亮",
            "buttons": [{"title": "接单", "payload": "/task accept 1"}],
        }
    ]
    head, task = desk.run("tasks")
    assert head.text == texts.FIELD_TASKS_HEAD.format(count=1)
    assert task.text.startswith(f"【工单 {NUMBER}】") and [b.title for b in task.buttons] == [
        "接单"
    ]


def test_accept_and_arrive_are_posted_at_once(desk: Desk) -> None:
    reply = only(desk.run("button", payload=f"/task accept {NUMBER}"))
    assert reply.text == "已记录：accept" and [b.title for b in reply.buttons] == ["办结"]
    desk.run("button", payload=f"/task arrive {NUMBER}")
    assert [c["step"] for c in desk.casestore.named("step")] == ["accept", "arrive"]
    assert desk.casestore.named("step")[0]["number"] == NUMBER


def test_coordinate_asks_for_the_reason(desk: Desk) -> None:
    asked = only(desk.run("button", payload=f"/task coordinate {NUMBER}"))
    assert asked.text == texts.COORDINATE_ASK.format(number=NUMBER)
    assert desk.casestore.named("step") == []
    desk.run("text", text="涉及燃气管道，需要街道协调")
    (step,) = desk.casestore.named("step")
    assert step["step"] == "coordinate" and step["text"] == "涉及燃气管道，需要街道协调"
    assert desk.store.field_state(USER) is None
    only(desk.run("text", text="下一件事"))  # a report again, not a reason
    assert len(desk.casestore.named("draft")) == 1


def test_resolve_needs_a_note_and_a_photo_in_any_order(desk: Desk) -> None:
    asked = only(desk.run("button", payload=f"/task resolve {NUMBER}"))
    assert "至少一张现场照片" in asked.text
    assert only(desk.run("text", text="已更换灯泡")).text == texts.RESOLVE_NEED_PHOTO
    assert desk.casestore.named("step") == []
    done = only(desk.photo())
    assert done.text == "已记录：resolve"
    (step,) = desk.casestore.named("step")
    assert step == {
        "telegram_id": USER,
        "number": NUMBER,
        "step": "resolve",
        "text": "已更换灯泡",
        "attachment_ids": [101],
    }
    # Photo first, then the note.
    desk.run("button", payload=f"/task resolve {NUMBER}")
    assert only(desk.photo()).text == texts.RESOLVE_NEED_TEXT.format(count=1)
    only(desk.run("text", text="已清理"))
    assert desk.casestore.named("step")[-1]["attachment_ids"] == [102]


def test_resolve_with_an_album_waits_for_the_submit_tap(desk: Desk) -> None:
    desk.run("button", payload=f"/task resolve {NUMBER}")
    ready = only(desk.photo(caption="已修复", group="g1"))
    assert [b.title for b in ready.buttons] == [texts.RESOLVE_SUBMIT]
    assert desk.photo(group="g1") == []
    assert desk.casestore.named("step") == []
    only(desk.tap(ready, texts.RESOLVE_SUBMIT))
    assert desk.casestore.named("step")[0]["attachment_ids"] == [101, 102]
    assert only(desk.tap(ready, texts.RESOLVE_SUBMIT)).text == texts.RESOLVE_GONE


def test_a_refused_step_shows_its_detail_and_ends_the_pending_input(desk: Desk) -> None:
    desk.casestore.refuse["step"] = CaseStoreRefused(403, "这件工单不在您负责的网格")
    assert only(desk.run("button", payload=f"/task accept {NUMBER}")).text.startswith("这件工单")
    desk.run("button", payload=f"/task coordinate {NUMBER}")
    assert only(desk.run("text", text="原因")).text == "这件工单不在您负责的网格"
    assert desk.store.field_state(USER) is None


def test_resolve_outage_keeps_what_was_collected(desk: Desk) -> None:
    desk.run("button", payload=f"/task resolve {NUMBER}")
    desk.run("text", text="已处理")
    desk.casestore.down = True
    assert only(desk.photo()).text == texts.FIELD_BUSY
    desk.casestore.down = False
    state = desk.store.field_state(USER)
    assert state is not None and state["kind"] == "resolve" and state["text"] == "已处理"


def test_cancel_abandons_a_pending_resolve(desk: Desk) -> None:
    desk.run("button", payload=f"/task resolve {NUMBER}")
    assert only(desk.run("cancel")).text == texts.CANCELLED
    assert desk.store.field_state(USER) is None


def test_visit_log(desk: Desk) -> None:
    assert only(desk.run("visit", households=12, notes="3栋")).text == "已记录今日走访 12 户"
    assert desk.casestore.named("visit") == [
        {"telegram_id": USER, "households": 12, "notes": "3栋"}
    ]


def test_stale_links_are_checked_again() -> None:
    desk = Desk().linked()
    assert asyncio.run(desk.desk.still_linked(USER))
    assert desk.casestore.named("me") == []  # checked just now
    desk.now += 7200
    desk.casestore.linked.clear()  # unlinked in the console meanwhile
    assert not asyncio.run(desk.desk.still_linked(USER))
    assert desk.store.field_person(USER) is None


def test_a_linked_person_unknown_to_the_bot_is_adopted() -> None:
    desk = Desk()
    desk.casestore.linked[USER] = WORKER
    job = Job(1, "u1:0", USER, USER, "rasa", {"message": "路灯坏了", "display_text": "路灯坏了"})
    adopted = asyncio.run(desk.desk.adopt(job))
    assert adopted is not None and adopted.kind == "field" and adopted.data["op"] == "text"
    assert desk.store.field_person(USER) is not None
    # A resident is checked once, then left alone.
    other = Job(2, "u2:0", 77, 77, "rasa", {"message": "你好", "display_text": "你好"})
    assert asyncio.run(desk.desk.adopt(other)) is None
    assert asyncio.run(desk.desk.adopt(other)) is None
    assert [c["telegram_id"] for c in desk.casestore.named("me")] == [USER, 77]


# -- the client ----------------------------------------------------------------------------------


async def test_client_posts_the_contract_bodies() -> None:
    seen: list[tuple[str, str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else dict(request.url.params)
        seen.append((request.method, request.url.path, body))
        if request.url.path.endswith("/me"):
            return httpx.Response(404, json={"detail": "未绑定"})
        if request.url.path.endswith("/visits"):
            return httpx.Response(422, json={"detail": [{"msg": "Input should be > 0"}]})
        return httpx.Response(200, json={"message": "好的", "items": []})

    channel = CaseStoreChannel("http://casestore", token="t" * 16)
    await channel.aclose()
    channel._client = httpx.AsyncClient(
        base_url="http://casestore", transport=httpx.MockTransport(answer)
    )
    assert await channel.field_me(5) is None
    await channel.field_step(
        telegram_id=5, number=NUMBER, step="resolve", text="好", attachment_ids=[3]
    )
    await channel.field_report(telegram_id=5, submission_key="k", draft={"text": "a"})
    with pytest.raises(CaseStoreRefused) as refused:
        await channel.field_visit(telegram_id=5, households=0, notes="")
    assert refused.value.detail == ""  # never an English validation message
    await channel.aclose()
    assert seen[0] == ("GET", "/api/v1/field/me", {"telegram_id": "5"})
    assert seen[1] == (
        "POST",
        f"/api/v1/field/tasks/{NUMBER}/steps",
        {"telegram_id": 5, "step": "resolve", "text": "好", "attachment_ids": [3]},
    )
    assert seen[2][1:] == (
        "/api/v1/field/reports",
        {"telegram_id": 5, "submission_key": "k", "draft": {"text": "a"}, "attachment_ids": []},
    )


# -- routing in the handlers (the whole bot, case store and Rasa down) ----------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
async def process(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotProcess]:
    from core.settings import Settings

    closed = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        telegram_base_file_url=fake.base_file_url,
        telegram_webhook_url="https://bot.example.org/hook",
        telegram_webhook_secret="webhook-secret-0123456789",
        casestore_api_token="test-token-0123456789",
        bot_state_path=tmp_path / "bot.sqlite3",
        rasa_url=closed,
        casestore_url=closed,
    )
    running = BotProcess(settings)
    await running.application.initialize()
    yield running
    await running.tasks.cancel()
    await running.application.shutdown()
    running.store.close()


async def deliver(process: BotProcess, update_id: int, user: int, text: str) -> None:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "网格员"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    app = webhook_app(process, path="/hook", secret="webhook-secret-0123456789")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        response = await client.post(
            "/hook",
            json={"update_id": update_id, "message": message},
            headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-0123456789"},
        )
    assert response.status_code == 200


def kinds(process: BotProcess, user: int) -> list[tuple[str, str]]:
    rows = process.store._db.execute(
        "SELECT kind, key FROM job WHERE user_id = ? ORDER BY id", (user,)
    )
    return [(r["kind"], r["key"]) for r in rows]


async def wait_text(fake: FakeTelegram, user: int, needle: str) -> list[str]:
    await asyncio.to_thread(
        fake.wait_for, lambda: any(needle in t for t in fake.texts_to(user)), 10.0
    )
    return fake.texts_to(user)


async def test_linked_people_go_to_the_desk_residents_to_rasa(
    process: BotProcess, fake: FakeTelegram
) -> None:
    worker, resident = 8801, 8802
    process.store.remember_field_person(
        worker,
        linked=True,
        username="wang",
        display_name="王网格",
        role="grid_worker",
        role_label="网格员",
    )
    await deliver(process, 1, worker, "3栋楼道灯坏了")
    await deliver(process, 2, resident, "3栋楼道灯坏了")
    # The case store is down: the worker is told plainly, nothing waits half-done.
    await wait_text(fake, worker, texts.FIELD_BUSY)
    await wait_text(fake, resident, texts.BUSY)
    assert kinds(process, worker) == [("field", "u1:0")]
    assert kinds(process, resident) == [("rasa", "u2:0")]
    assert process.store.next_job(worker) is None  # done, not retried
    await deliver(process, 3, worker, "/help")
    sent = await wait_text(fake, worker, "/tasks")
    assert "王网格（网格员）" in sent[-1]
    await deliver(process, 4, resident, "/help")
    assert texts.HELP in await wait_text(fake, resident, "/mydata")


async def test_link_commands_and_field_buttons_are_for_the_desk(
    process: BotProcess, fake: FakeTelegram
) -> None:
    user = 8803
    await deliver(process, 11, user, "/link 12345678")
    await deliver(process, 12, user, "绑定 12345678")
    await deliver(process, 13, user, "/start link-12345678")
    await deliver(process, 14, user, "/link")
    await wait_text(fake, user, texts.LINK_USAGE)
    await asyncio.to_thread(
        fake.wait_for, lambda: fake.texts_to(user).count(texts.FIELD_BUSY) == 3, 10.0
    )
    assert kinds(process, user) == [("field", "u11:0"), ("field", "u12:0"), ("field", "u13:0")]
