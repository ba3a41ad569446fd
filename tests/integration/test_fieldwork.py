"""Grid workers and volunteers on the Telegram bot, end to end (issue 16's acceptance): real bot
process, Rasa, actions and case store; fake Bot API.

An admin creates a grid worker and a volunteer; each links Telegram with a one-time code; a
resident's ticket is dispatched and the worker's chat shows it with its step buttons; the worker
accepts, arrives and resolves it with a note and a photo, and the resident's chat says so; the
volunteer's "5栋有两户因为漏水吵起来了" becomes a dispute ticket in their grid, graded 黄; it is
dispatched, the worker asks for coordination (the one escalation: to the community), the
community mediates it, records 调解成功 and closes it (案结事了), and the volunteer hears so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.models import Role, User
from bot import texts
from casestore.services import disputes
from casestore.services.lifecycle import Context
from casestore.services.tickets import get_ticket
from core.clock import LOCAL_TZ, utcnow
from core.db import make_engine, make_sessionmaker, session_scope
from core.taxonomy import load_taxonomy
from grids.registry import load_registry
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.images import jpeg
from tests.integration.services import ROOT, Stack, telegram_bot
from tests.integration.test_telegram import GRID, POINT, Telegram, staff, ticket

pytestmark = pytest.mark.integration

WORKER, VOLUNTEER, RESIDENT = 720001, 720002, 720003
ANY_NUMBER = re.compile(r"(\d{13})")


@pytest.fixture(scope="module")
def telegram(stack: Stack) -> Iterator[Telegram]:
    fake = FakeTelegram().start()
    bot = telegram_bot(
        stack,
        base_url=fake.base_url,
        file_url=fake.base_file_url,
        ready_url=fake.ready_url,
        token=fake.token,
    )
    # A state file of its own: another module's bot left its polling offset in the default one.
    bot.env = {**bot.env, "BOT_STATE_PATH": str(stack.workdir / "bot-fieldwork.sqlite3")}
    try:
        bot.start(timeout=60)
        yield Telegram(fake, bot)
    finally:
        bot.stop()
        fake.stop()


@contextmanager
def database(stack: Stack) -> Iterator[Session]:
    """A unit of work on the stack's case-store database."""
    engine = make_engine(stack.env["DATABASE_URL"])
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def stored(stack: Stack, number: str) -> dict[str, Any]:
    """What the ticket API does not show: reporter, risk grade, the photos it holds."""
    with database(stack) as session:
        found = get_ticket(session=session, number=number)
        assert found is not None
        return {
            "reported_by": found.reported_by,
            "risk_grade": found.risk_grade,
            "photos": len(found.attachments),
            "events": [e.kind for e in found.events],
        }


def link_code(stack: Stack, username: str, role: Role, name: str) -> str:
    """The admin creates the account (as `petition users create` does) and its link code."""
    with database(stack) as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            user = accounts.create_user(
                session=session,
                username=username,
                display_name=name,
                password="field-password-0123",
                role=role,
                grid_codes=[GRID],
                registry=load_registry(ROOT / "data" / "grids"),
                actor="admin:test",
            )
        return accounts.new_link_code(session=session, user=user, actor="admin:test").code


def buttons_of(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def resident_ticket(telegram: Telegram, stack: Stack) -> str:
    """A resident's Telegram ticket of a grid-tier kind (garbage not collected) in GRID."""
    telegram.say(RESIDENT, "/start", "市民诉求")
    response = httpx.post(
        f"{stack.app_url}/api/v1/tickets",
        json={
            "submission_key": f"fieldwork-resident-{RESIDENT}",
            "category": "environmental_protection",
            "subcategory": "waste_sanitation",
            "grid_code": GRID,
            "location_text": "玉林小区3栋门口",
            "latitude": POINT[0],
            "longitude": POINT[1],
            "description": "3栋门口的垃圾站好几天没人清运，臭气熏天",
            "anonymous": True,
            "channel": "telegram",
            "conversation_id": f"tg-{RESIDENT}",
        },
        headers=stack.api_headers(),
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    filed = response.json()
    assert filed["tier"] == "grid"
    return str(filed["number"])


def test_worker_links_takes_a_task_and_resolves_it_with_a_photo(
    telegram: Telegram, stack: Stack
) -> None:
    fake = telegram.fake
    code = link_code(stack, "field_worker", Role.GRID_WORKER, "王网格")
    welcome = telegram.say(WORKER, f"/link {code}", "王网格")
    assert "网格员" in welcome["text"]
    helped = telegram.say(WORKER, "/help", "/tasks")
    assert "/visit" in helped["text"]
    assert "没有待办任务" in telegram.say(WORKER, "我的任务", "任务")["text"]

    number = resident_ticket(telegram, stack)
    staff(stack, number, action="dispatch")
    task = fake.wait_for_text(WORKER, number)
    assert "接单" in buttons_of(task) and "需要协调" in buttons_of(task)
    assert "垃圾站好几天没人清运" in task["text"]

    accepted = telegram.tap(WORKER, "接单", "已接单")
    assert "已到场" in buttons_of(accepted)
    arrived = telegram.tap(WORKER, "已到场", "已记录到场")
    assert "办结" in buttons_of(arrived)
    asked = telegram.tap(WORKER, "办结", "至少一张现场照片")
    assert number in asked["text"]
    telegram.say(WORKER, "已联系环卫清运完毕，垃圾站已消毒", texts.RESOLVE_NEED_PHOTO)
    before = len(fake.messages_to(WORKER))
    fake.send_photo(WORKER, jpeg())
    done = fake.wait_for_text(WORKER, "已办结", after=before)
    assert number in done["text"]

    told = fake.wait_for_text(RESIDENT, "已联系环卫清运完毕")
    assert number in told["text"]
    filed = ticket(stack, number)
    assert filed["status"] not in ("submitted", "dispatched", "in_progress")
    assert filed["resolution"] and "已联系环卫清运完毕" in filed["resolution"]
    assert stored(stack, number)["photos"] == 1
    assert any(e["actor"].endswith("field_worker") for e in filed["events"])
    # The worker's input never reached Rasa as a resident's turn.
    tracker = httpx.get(
        f"{stack.rasa_url}/conversations/tg-{WORKER}/tracker",
        params={"token": stack.env["RASA_TOKEN"]},
    ).json()
    assert not [e for e in tracker.get("events", []) if e.get("event") == "user"]


def test_volunteer_report_becomes_a_dispute_in_their_grid(telegram: Telegram, stack: Stack) -> None:
    code = link_code(stack, "field_volunteer", Role.VOLUNTEER, "李阿姨")
    welcome = telegram.say(VOLUNTEER, f"绑定 {code}", "李阿姨")
    assert "民情专递员" in welcome["text"]
    summary = telegram.say(VOLUNTEER, "5栋有两户因为漏水吵起来了", texts.REPORT_HINT)
    assert buttons_of(summary) == [texts.REPORT_CONFIRM, texts.REPORT_CANCEL]
    filed_message = telegram.tap(VOLUNTEER, texts.REPORT_CONFIRM, "工单号")
    number = ANY_NUMBER.search(filed_message["text"])
    assert number, filed_message["text"]
    filed = ticket(stack, number.group(1))
    assert filed["category"] == "disputes"
    assert filed["grid_code"] == GRID
    assert filed["channel"] == "telegram"
    kept = stored(stack, number.group(1))
    assert kept["reported_by"] == "field_volunteer"
    assert kept["risk_grade"] == "yellow"  # 黄色（一般纠纷）
    assert "dispute_registered" not in kept["events"]  # registered as it was filed
    used = [
        m for m in telegram.fake.messages_to(VOLUNTEER) if m["message_id"] == summary["message_id"]
    ]
    assert not buttons_of(used[0])  # the summary's buttons are gone once used
    # Volunteers take no task steps.
    assert "没有待办任务" in telegram.say(VOLUNTEER, "/tasks", "任务")["text"]


def test_the_volunteers_dispute_goes_from_registration_to_settled_with_one_escalation(
    telegram: Telegram, stack: Stack
) -> None:
    fake = telegram.fake
    telegram.say(WORKER, f"/link {link_code(stack, 'field_worker', Role.GRID_WORKER, '王网格')}",
                 "王网格")  # fmt: skip
    telegram.say(VOLUNTEER,
                 f"/link {link_code(stack, 'field_volunteer', Role.VOLUNTEER, '李阿姨')}",
                 "李阿姨")  # fmt: skip
    telegram.say(VOLUNTEER, "7栋两户邻居因为楼上漏水到楼下的事吵起来了", texts.REPORT_HINT)
    filed_message = telegram.tap(VOLUNTEER, texts.REPORT_CONFIRM, "工单号")
    found = ANY_NUMBER.search(filed_message["text"])
    assert found, filed_message["text"]
    number = found.group(1)
    assert ticket(stack, number)["category"] == "disputes"

    # 分流: dispatched to the grid; the worker cannot settle it and asks the community.
    staff(stack, number, action="dispatch")
    task = fake.wait_for_text(WORKER, number)
    assert "需要协调" in buttons_of(task)
    telegram.tap(WORKER, "需要协调", "需要协调的原因")
    moved = telegram.say(WORKER, "双方情绪激动，需社区人民调解委员会调解", "已上报")
    assert "社区" in moved["text"] and number in moved["text"]
    assert ticket(stack, number)["tier"] == "community"

    # 先行调解 at the community, 调解成功, 案结事了 (the console's steps, through the service).
    with database(stack) as session:
        ctx = Context(session=session, taxonomy=load_taxonomy(ROOT / "data" / "taxonomy.yml"),
                      registry=load_registry(ROOT / "data" / "grids"))  # fmt: skip
        dispute = get_ticket(session=session, number=number)
        assert dispute is not None
        actor = "staff:community"
        disputes.set_parties(ctx, dispute, [{"name": "赵先生", "phone": "", "role": "applicant"},
                                            {"name": "钱女士", "phone": "", "role": "respondent"}],
                             "社区调解员刘敏", actor)  # fmt: skip
        today = utcnow().astimezone(LOCAL_TZ).date()
        disputes.add_session(ctx, dispute, today, "社区调解室", "community", "社区调解员刘敏",
                             "楼上三日内修复防水，赔偿楼下吊顶损失800元", actor)  # fmt: skip
        disputes.record_outcome(ctx, dispute, "success", actor, "双方签订调解协议，楼上修复防水")
        disputes.conclude(ctx, dispute, actor)
    done = ticket(stack, number)
    assert done["status"] == "closed"
    with database(stack) as session:
        settled = get_ticket(session=session, number=number)
        assert settled is not None
        assert (settled.dispute_stage, settled.settled_tier) == ("concluded", "community")
        escalations = [
            e.kind
            for e in settled.events
            if e.kind in ("escalated", "coordination_requested", "auto_escalate")
        ]
        assert escalations == ["coordination_requested"]  # exactly one escalation
    told = fake.wait_for_text(VOLUNTEER, "双方签订调解协议")
    assert number in told["text"]
