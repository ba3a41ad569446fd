"""The field services (casestore/services/fieldwork.py): people, tasks and their steps, patrol
reports, visit logs and the patrol figures."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.models import Role, User
from casestore.models import Alert, Attachment, Notification, Ticket
from casestore.schemas import TicketAction, TicketDraft
from casestore.services import fieldwork, lifecycle, warnings
from casestore.services.attachments import RESULT_PHOTO_CHANNEL, store_attachment
from casestore.services.fieldwork import FieldConflict, FieldError, FieldForbidden, FieldNotFound
from casestore.services.lifecycle import Context
from casestore.services.tickets import create_ticket
from core.audit import AuditEvent
from core.clock import utcnow
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry
from grids.resolver import cn_number
from retraining.rasa_client import RasaUnavailable
from tests.app_fixtures import draft_body

GRID = "510107001001001"  # 黉门街社区第一网格
GRID_3 = "510107001001003"  # 黉门街社区第三网格 (黉门街小区)
OTHER = "110106001001001"  # 芳群园社区第一网格 (北京)
WORKER_TG, VOLUNTEER_TG, RESIDENT_TG = 7001, 7002, 9001


@pytest.fixture
def registry() -> Registry:
    return load_registry(ROOT / "data" / "grids")


@pytest.fixture
def ctx(session: Session, taxonomy: Taxonomy, registry: Registry) -> Context:
    return Context(session=session, taxonomy=taxonomy, registry=registry)


def user(
    session: Session, name: str, role: Role, grids: list[str], telegram_id: int | None = None
) -> User:
    made = accounts.create_user(session=session, username=name, display_name=name.upper(),
                                password="correct-horse", role=role, grid_codes=grids)  # fmt: skip
    if telegram_id is not None:
        code = accounts.new_link_code(session=session, user=made, actor="admin:root")
        accounts.link_telegram(session=session, code=code.code, telegram_id=telegram_id)
    return made


def resident_ticket(ctx: Context, n: int = 1, **overrides: object) -> Ticket:
    fields: dict[str, object] = {
        "submission_key": f"tg-resident-{n:04d}",
        "category": "environmental_protection",
        "subcategory": "waste_sanitation",  # tier grid
        "grid_code": GRID,
        "channel": "telegram",
        "conversation_id": f"tg-{RESIDENT_TG}",
        "latitude": 30.6375,
        "longitude": 104.0512,
    }
    body = draft_body(**{**fields, **overrides})
    ticket, _ = create_ticket(session=ctx.session, draft=TicketDraft.model_validate(body),
                              taxonomy=ctx.taxonomy)  # fmt: skip
    return ticket


def dispatch(ctx: Context, ticket: Ticket) -> Ticket:
    return lifecycle.apply_action(ctx, ticket, TicketAction(action="dispatch", actor="staff:li"))


def jpeg(conversation: str, session: Session) -> Attachment:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="JPEG")
    return store_attachment(session=session, data=buffer.getvalue(), filename="p.jpg",
                            conversation_id=conversation, channel="telegram")  # fmt: skip


def notes_to(session: Session, conversation: str) -> list[Notification]:
    query = select(Notification).where(Notification.conversation_id == conversation)
    return list(session.scalars(query.order_by(Notification.id)))


def person(session: Session, telegram_id: int) -> fieldwork.Person:
    found = fieldwork.person_by_telegram(session, telegram_id)
    assert found is not None
    return found


def test_a_linked_account_is_a_person_with_the_consoles_actor(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    worker = person(ctx.session, WORKER_TG)
    assert (worker.username, worker.role, worker.grid_codes) == ("zhangli", "grid_worker", (GRID,))
    assert worker.actor == "grid_worker:zhangli" and worker.role_label == "网格员"
    assert fieldwork.person_by_telegram(ctx.session, 1234) is None
    assert fieldwork.conversations(worker) == (f"tg-{WORKER_TG}", "web-staff-zhangli")


def test_a_dispatch_to_the_grid_pushes_the_task_to_its_linked_workers(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    user(ctx.session, "unlinked", Role.GRID_WORKER, [GRID])
    user(ctx.session, "elsewhere", Role.GRID_WORKER, [GRID_3], 7003)
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    ticket = dispatch(ctx, resident_ticket(ctx))
    ctx.session.flush()
    tasks = notes_to(ctx.session, f"tg-{WORKER_TG}")
    assert [(n.kind, n.channel) for n in tasks] == [("task", "telegram")]
    text = tasks[0].text
    assert text.startswith("【新任务】") and ticket.number in text
    assert "https://www.openstreetmap.org/?mlat=30.637500&mlon=104.051200#map=18/" in text
    label = fieldwork.category_label(ctx.taxonomy, "environmental_protection", "waste_sanitation")
    assert f"分类：{label}" in text and " · " in label
    assert "13812345678" in text  # the resident's phone, to call on the way
    assert [b["title"] for b in tasks[0].buttons] == ["接单", "已到场", "需要协调", "办结"]
    assert tasks[0].buttons[0]["payload"] == f"/task accept {ticket.number}"
    assert notes_to(ctx.session, "tg-7003") == [] and notes_to(ctx.session, "tg-7002") == []
    assert ticket.step_due_at is not None and ticket.step_due_at > utcnow()


def test_without_a_point_the_task_names_the_grid_and_the_place(ctx: Context) -> None:
    ticket = resident_ticket(ctx, latitude=None, longitude=None)
    text = fieldwork.task_text(ctx, ticket)
    assert "openstreetmap" not in text
    assert "地点：武侯区 玉林街道 黉门街社区 黉门街社区第一网格 玉林北路18号" in text


def test_steps_accept_arrive_and_resolve_with_a_photo_tell_the_resident(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    worker = person(ctx.session, WORKER_TG)
    ticket = dispatch(ctx, resident_ticket(ctx))
    number = ticket.number
    assert [t.number for t in fieldwork.open_tasks(ctx, worker)] == [number]

    assert fieldwork.take_step(ctx, worker, number, "accept").status == "in_progress"
    assert [b["title"] for b in fieldwork.task_buttons(ticket)] == ["已到场", "需要协调", "办结"]
    fieldwork.take_step(ctx, worker, number, "arrive", text="已到垃圾站")
    assert [b["title"] for b in fieldwork.task_buttons(ticket)] == ["需要协调", "办结"]

    with pytest.raises(FieldError, match="请填写办理结果"):
        fieldwork.take_step(ctx, worker, number, "resolve")
    with pytest.raises(FieldError, match="至少一张现场照片"):
        fieldwork.take_step(ctx, worker, number, "resolve", text="已清运")
    strangers = jpeg(f"tg-{RESIDENT_TG}", ctx.session)
    with pytest.raises(FieldError, match="照片无效"):
        fieldwork.take_step(ctx, worker, number, "resolve", text="已清运",
                            attachment_ids=[strangers.id])  # fmt: skip
    photo = jpeg(f"tg-{WORKER_TG}", ctx.session)
    done = fieldwork.take_step(
        ctx, worker, number, "resolve", text="垃圾已清运", attachment_ids=[photo.id]
    )
    assert done.status == "resolved" and done.resolution == "垃圾已清运"
    assert photo.ticket_id == done.id and photo.channel == RESULT_PHOTO_CHANNEL
    kinds = [(e.kind, e.actor) for e in done.events]
    assert kinds[-3:] == [("accepted", "grid_worker:zhangli"), ("arrived", "grid_worker:zhangli"),
                          ("resolved", "grid_worker:zhangli")]  # fmt: skip
    assert done.events[-1].data["photos"] == 1
    told = [n.text for n in notes_to(ctx.session, f"tg-{RESIDENT_TG}")]
    assert any("网格员已接单" in t for t in told) and any("网格员已到达现场" in t for t in told)
    assert "办理结果：垃圾已清运" in told[-1]
    assert fieldwork.task_buttons(done) == [] and fieldwork.open_tasks(ctx, worker) == []
    assert "已办结" in fieldwork.step_message(done, "resolve")


def test_only_the_grids_worker_takes_steps(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    user(ctx.session, "elsewhere", Role.GRID_WORKER, [GRID_3], 7003)
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    number = dispatch(ctx, resident_ticket(ctx)).number
    with pytest.raises(FieldForbidden):
        fieldwork.take_step(ctx, person(ctx.session, VOLUNTEER_TG), number, "accept")
    with pytest.raises(FieldNotFound):
        fieldwork.take_step(ctx, person(ctx.session, 7003), number, "accept")
    with pytest.raises(FieldNotFound):
        fieldwork.take_step(ctx, person(ctx.session, WORKER_TG), "2099010100001", "accept")
    with pytest.raises(FieldError, match="未知的操作"):
        fieldwork.take_step(ctx, person(ctx.session, WORKER_TG), number, "close")
    assert fieldwork.open_tasks(ctx, person(ctx.session, VOLUNTEER_TG)) == []


def test_coordinate_needs_a_reason_and_hands_the_task_to_the_community(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    worker = person(ctx.session, WORKER_TG)
    ticket = dispatch(ctx, resident_ticket(ctx))
    with pytest.raises(FieldError, match="需要协调的原因"):
        fieldwork.take_step(ctx, worker, ticket.number, "coordinate", text="  ")
    fieldwork.take_step(ctx, worker, ticket.number, "coordinate", text="需要物业和城管一起处理")
    assert ticket.tier == "community" and ticket.assigned_to == "黉门街社区"
    assert ticket.events[-1].data["reason"] == "需要物业和城管一起处理"
    assert "黉门街社区" in fieldwork.step_message(ticket, "coordinate")
    with pytest.raises(FieldConflict, match="已上报至社区（村）办理"):
        fieldwork.take_step(ctx, worker, ticket.number, "accept")
    assert fieldwork.open_tasks(ctx, worker) == []


def test_a_draft_takes_the_category_grid_and_resident_from_one_message(ctx: Context) -> None:
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    volunteer = person(ctx.session, VOLUNTEER_TG)
    seen: list[str] = []

    def rasa(text: str) -> tuple[str | None, str | None]:
        seen.append(text)
        return "urban_construction", "property_management"

    draft = fieldwork.draft_report(ctx, volunteer, "代3栋王阿姨反映：楼道灯坏了", classify=rasa)
    assert seen == ["楼道灯坏了"]  # classified without the resident's name
    assert (draft.category, draft.subcategory) == ("urban_construction", "property_management")
    assert draft.category_label == "城乡建设 · 物业管理"
    assert draft.on_behalf_of == "3栋王阿姨" and draft.text == "代3栋王阿姨反映：楼道灯坏了"
    assert (draft.grid_code, draft.grid_name) == (GRID, "黉门街社区第一网格")  # their own grid
    assert draft.risk_grade is None
    summary = draft.summary()
    assert "代反映：3栋王阿姨" in summary and "分类：城乡建设 · 物业管理" in summary


def test_the_grid_comes_from_the_point_then_a_named_place_of_the_community(
    ctx: Context,
) -> None:
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    volunteer = person(ctx.session, VOLUNTEER_TG)

    def down(text: str) -> tuple[str | None, str | None]:
        raise RasaUnavailable("down")

    named = fieldwork.draft_report(ctx, volunteer, "黉门街小区3栋楼道灯坏了", classify=down)
    assert (named.grid_code, named.location_text) == (GRID_3, "黉门街小区3栋")
    assert (named.category, named.subcategory) == ("urban_construction", "property_management")
    pointed = fieldwork.draft_report(ctx, volunteer, "路灯不亮", latitude=30.632,
                                     longitude=104.057, classify=down)  # fmt: skip
    assert pointed.grid_code == "510107001001004"
    assert "位置：已附定位" in pointed.summary()
    unknown = fieldwork.draft_report(ctx, volunteer, "今天天气不错", classify=None)
    assert (unknown.category, unknown.category_label) == ("unclassified", "待分类")
    with pytest.raises(FieldError):
        fieldwork.draft_report(ctx, volunteer, " ", classify=None)
    with pytest.raises(FieldError):
        fieldwork.draft_report(ctx, volunteer, "路灯", latitude=30.6, classify=None)


def test_a_dispute_report_is_graded_and_filed_once_for_the_reporter(ctx: Context) -> None:
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    volunteer = person(ctx.session, VOLUNTEER_TG)
    rasa: Callable[[str], tuple[str | None, str | None]] = lambda text: ("disputes", None)  # noqa: E731
    draft = fieldwork.draft_report(ctx, volunteer, "5栋有两户因为漏水吵起来了", classify=rasa)
    assert draft.category == "disputes" and draft.risk_grade == "yellow"
    assert "风险等级：" in draft.summary()
    photo = jpeg(f"tg-{VOLUNTEER_TG}", ctx.session)
    stray = jpeg(f"tg-{VOLUNTEER_TG}", ctx.session)  # sent for something else, never used
    key = f"tg-field-{VOLUNTEER_TG}-42"
    ticket, created = fieldwork.file_report(
        ctx, volunteer, draft, submission_key=key, attachment_ids=[photo.id]
    )
    assert created and ticket.category == "disputes" and ticket.grid_code == GRID
    assert (ticket.reported_by, ticket.on_behalf_of) == ("helper", None)
    assert (ticket.channel, ticket.conversation_id) == ("telegram", f"tg-{VOLUNTEER_TG}")
    assert ticket.risk_grade == "yellow" and ticket.status == "submitted"
    assert photo.ticket_id == ticket.id
    assert stray.ticket_id is None  # only the photos the report names
    assert ticket.events[-1].data["photos"] == 1
    assert [e.kind for e in ticket.events][0] == "created"
    assert ticket.events[0].actor == "volunteer:helper" and ticket.events[-1].kind == "field_report"
    again, created = fieldwork.file_report(
        ctx, volunteer, draft, submission_key=key, attachment_ids=[photo.id]
    )
    assert again.id == ticket.id and not created
    assert [t.number for t in fieldwork.own_reports(ctx.session, volunteer)] == [ticket.number]
    assert ticket.number in fieldwork.report_message(ticket)


def test_a_report_from_the_web_page_and_bad_drafts(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID])  # no Telegram
    worker = fieldwork.person_of(ctx.session.scalars(select(User)).one())
    draft = fieldwork.draft_report(ctx, worker, "3栋王阿姨说：电梯坏了", classify=None)
    assert draft.on_behalf_of == "3栋王阿姨"
    with pytest.raises(FieldForbidden, match="绑定Telegram"):
        fieldwork.file_report(ctx, worker, draft, submission_key="tg-field-1-1")
    ticket, created = fieldwork.file_report(
        ctx, worker, draft, submission_key="web-field-zhangli-1", channel="webchat"
    )
    assert created and (ticket.channel, ticket.conversation_id) == ("webchat", "web-staff-zhangli")
    assert ticket.on_behalf_of == "3栋王阿姨" and ticket.reported_by == "zhangli"
    as_sent = fieldwork.ReportDraft.from_mapping({**draft.as_dict(), "extra": 1})
    assert as_sent == draft
    bad_grid = fieldwork.ReportDraft.from_mapping({**draft.as_dict(), "grid_code": "999"})
    with pytest.raises(FieldError, match="未知的网格编码"):
        fieldwork.file_report(ctx, worker, bad_grid, submission_key="web-field-zhangli-2",
                              channel="webchat")  # fmt: skip
    bad_sub = fieldwork.ReportDraft.from_mapping({**draft.as_dict(), "subcategory": "greening"})
    with pytest.raises(FieldError, match="未知的分类"):
        fieldwork.file_report(ctx, worker, bad_sub, submission_key="web-field-zhangli-3",
                              channel="webchat")  # fmt: skip


def test_visits_and_reports_count_towards_the_patrol_figures(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    worker, volunteer = person(ctx.session, WORKER_TG), person(ctx.session, VOLUNTEER_TG)
    start = utcnow() - timedelta(hours=1)
    visit = fieldwork.log_visit(ctx, worker, 12, "3户反映停车难")
    fieldwork.log_visit(ctx, worker, 8, "")
    assert visit.grid_code == GRID and "走访 12 户" in fieldwork.visit_message(visit)
    audited = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit_log"))
    assert [a.actor for a in audited] == ["grid_worker:zhangli"] * 2
    with pytest.raises(FieldError):
        fieldwork.log_visit(ctx, worker, 2001, "")
    with pytest.raises(FieldError):
        fieldwork.log_visit(ctx, worker, 1, "长" * 1001)
    for n, text in enumerate(["代王阿姨反映：楼道灯坏了", "井盖丢了"]):
        draft = fieldwork.draft_report(ctx, volunteer, text, classify=None)
        fieldwork.file_report(ctx, volunteer, draft, submission_key=f"tg-field-7002-{n}")
    ticket = dispatch(ctx, resident_ticket(ctx))
    fieldwork.take_step(ctx, worker, ticket.number, "accept")
    figures = fieldwork.patrol_figures(
        ctx.session, ["zhangli", "helper", "nobody"], start, utcnow() + timedelta(hours=1)
    )
    assert (figures["zhangli"].visits, figures["zhangli"].households) == (2, 20)
    assert (figures["zhangli"].accepted, figures["zhangli"].resolved) == (1, 0)
    assert (figures["helper"].reports, figures["helper"].on_behalf) == (2, 1)
    assert figures["nobody"] == fieldwork.PatrolFigures()
    later = fieldwork.patrol_figures(ctx.session, ["zhangli"], utcnow() + timedelta(hours=1),
                                     utcnow() + timedelta(hours=2))  # fmt: skip
    assert later["zhangli"] == fieldwork.PatrolFigures()


def test_the_greeting_says_what_each_role_can_do(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    user(ctx.session, "helper", Role.VOLUNTEER, [GRID], VOLUNTEER_TG)
    worker_text = fieldwork.welcome_text(ctx.registry, person(ctx.session, WORKER_TG))
    assert worker_text.startswith("绑定成功！") and "黉门街社区第一网格" in worker_text
    assert "接单" in worker_text
    volunteer_text = fieldwork.help_text(ctx.registry, person(ctx.session, VOLUNTEER_TG))
    assert "民情专递员" in volunteer_text and "代3栋王阿姨反映" in volunteer_text


def test_keywords_and_building_numbers() -> None:
    assert fieldwork.split_on_behalf("居民反映楼道灯坏了") == (None, "居民反映楼道灯坏了")
    assert cn_number("十二") == 12 and cn_number("二十") == 20  # the resolver's, reports use it
    assert cn_number("x") is None
    assert fieldwork.map_link(30.5, 104.0).endswith("#map=18/30.500000/104.000000")


def test_linked_recipients_of_an_alert_hear_of_it_on_telegram(ctx: Context) -> None:
    user(ctx.session, "zhangli", Role.GRID_WORKER, [GRID], WORKER_TG)
    unlinked = user(ctx.session, "wangfang", Role.GRID_WORKER, [GRID])
    ticket = resident_ticket(ctx)
    alert = Alert(key="burst:test", kind="burst", level="yellow", title="黉门街 垃圾 7 件",
                  day=utcnow().date(), grid_code=GRID, category=ticket.category, count=7,
                  ticket_numbers=[ticket.number])  # fmt: skip
    ctx.session.add(alert)
    notices = warnings.push(ctx.session, ctx.registry, alert,
                            senders=[fieldwork.alert_sender(ctx)])  # fmt: skip
    assert {n.user_id for n in notices} >= {unlinked.id}  # the console notice for everyone
    sent = [n for n in notes_to(ctx.session, f"tg-{WORKER_TG}") if n.kind == "alert"]
    assert len(sent) == 1
    assert sent[0].text.startswith("【") and "黉门街 垃圾 7 件" in sent[0].text
    assert "涉及工单 7 件" in sent[0].text and ticket.number in sent[0].text
    assert not [n for n in notes_to(ctx.session, f"tg-{VOLUNTEER_TG}") if n.kind == "alert"]
