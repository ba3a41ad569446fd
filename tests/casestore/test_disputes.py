"""The dispute line (casestore/services/disputes.py): steps, mediation record, figures."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from casestore.models import Attachment, Notification, Ticket
from casestore.schemas import TicketAction, TicketDraft
from casestore.services import disputes, lifecycle, warnings
from casestore.services.tickets import create_ticket
from core.clock import LOCAL_TZ, utcnow
from core.settings import ROOT
from core.taxonomy import Taxonomy
from grids.registry import Registry, load_registry
from tests.app_fixtures import draft_body

GRID = "510107001001001"  # 黉门街社区第一网格
COMMUNITY, STREET = "510107001001", "510107001"
OTHER_COMMUNITY_GRID = "510107001002001"
OTHER_STREET_GRID = "510107002001001"
STAFF = "staff:lili"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(ROOT / "data" / "grids")


@pytest.fixture
def ctx(session: Session, taxonomy: Taxonomy, registry: Registry) -> lifecycle.Context:
    return lifecycle.Context(session=session, taxonomy=taxonomy, registry=registry)


def today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def file(ctx: lifecycle.Context, n: int, **fields: Any) -> Ticket:
    body = draft_body(
        submission_key=f"web-disp-{n:05d}",
        **{"grid_code": GRID, "category": "disputes", "subcategory": "neighbor_disputes",
           "description": "5栋有两户因为漏水吵起来了", **fields},
    )  # fmt: skip
    ticket, _ = create_ticket(
        session=ctx.session, draft=TicketDraft.model_validate(body), taxonomy=ctx.taxonomy
    )
    return ticket


def dispatch(ctx: lifecycle.Context, ticket: Ticket) -> None:
    lifecycle.apply_action(ctx, ticket, TicketAction(action="dispatch", actor=STAFF))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "white").save(out, "PNG")
    return out.getvalue()


def kinds(ticket: Ticket) -> list[str]:
    return [e.kind for e in ticket.events]


def test_a_dispute_from_registration_to_case_closed_with_one_diversion(
    ctx: lifecycle.Context, registry: Registry
) -> None:
    ticket = file(ctx, 1)
    assert ticket.dispute_stage == "registered"
    assert (ticket.risk_grade, ticket.tier) == ("yellow", "grid")
    dispatch(ctx, ticket)
    assert "网格员" in (ticket.assigned_to or "")

    disputes.set_parties(ctx, ticket, [
        {"name": "王芳", "phone": "13800000001", "role": "applicant"},
        {"name": "", "phone": "", "role": "other"},  # an empty row of the form
        {"name": "李强", "phone": "", "role": "respondent"},
    ], "张丽", STAFF)  # fmt: skip
    assert [p["name"] for p in ticket.mediation.parties] == ["王芳", "李强"]  # type: ignore[union-attr]
    assert "13800000001" not in str(ticket.events[-1].data)  # phones stay in the record

    disputes.add_session(ctx, ticket, today(), "小天竺小区5栋楼下", "grid", "张丽",
                         "双方各执一词，约定请物业查明漏水点", STAFF)  # fmt: skip
    assert ticket.dispute_stage == "mediating"

    disputes.grade(ctx, ticket, "orange", "双方情绪激动，可能升级", STAFF)
    assert (ticket.risk_grade, ticket.dispute_stage) == ("orange", "assessed")
    found = warnings.run(ctx.session, registry, today=today(), taxonomy=ctx.taxonomy)
    risk = [a for a in found if a.kind == "risk"]
    assert [(a.level, a.ticket_numbers) for a in risk] == [("orange", [ticket.number])]

    disputes.divert(ctx, ticket, "community", "需社区人民调解委员会介入", STAFF)
    assert (ticket.tier, ticket.dispute_stage) == ("community", "diverted")
    assert ticket.assigned_to == "黉门街社区"
    assert kinds(ticket).count("escalated") == 1

    disputes.supervise(ctx, ticket, "社区三日内组织调解", STAFF)
    assert ticket.dispute_stage == "supervising"
    disputes.add_session(ctx, ticket, today(), "黉门街社区调解室", "community", "社区调解员刘敏",
                         "物业维修漏水点，楼上赔偿楼下300元，双方签订协议", STAFF)  # fmt: skip
    assert ticket.dispute_stage == "supervising"  # a later session never moves the stage back

    disputes.record_outcome(ctx, ticket, "success", STAFF, "双方达成调解协议")
    assert ticket.settled_tier == "community"
    assert ticket.status == "resolved" and "调解成功" in (ticket.resolution or "")
    agreement = disputes.attach_agreement(ctx, ticket, "协议.png", "image/png", png(), STAFF)
    assert agreement.content_type == "image/png" and agreement.ticket_id is None
    assert disputes.agreement_of(ctx.session, ticket) is agreement
    assert ticket.attachments == []  # not among the ticket's photos

    disputes.conclude(ctx, ticket, STAFF)
    assert (ticket.status, ticket.dispute_stage) == ("closed", "concluded")
    assert kinds(ticket) == [
        "created", "dispatched", "dispute_parties", "mediation_session", "risk_assessed",
        "escalated", "dispute_diverted", "dispute_supervised", "mediation_session",
        "mediation_outcome", "resolved", "mediation_agreement", "closed", "dispute_concluded",
    ]  # fmt: skip
    assert all(e.actor == STAFF for e in ticket.events[1:])
    told = ctx.session.scalars(select(Notification).where(Notification.ticket_id == ticket.id))
    texts = [n.text for n in told]
    assert any("调解成功：双方达成调解协议" in t for t in texts)
    with pytest.raises(disputes.DisputeError, match="案结事了"):
        disputes.add_session(ctx, ticket, today(), "某处", "community", "某人", "再次调解", STAFF)

    table = disputes.figures(ctx.session, registry, None, today().replace(day=1), today())
    by_code = {row.code: row for row in table.rows}
    community, street = by_code[COMMUNITY], by_code[STREET]
    assert [r.code for r in table.rows] == [STREET, COMMUNITY]  # a street, then its community
    for row in (community, street, table.total):
        assert (row.registered, row.success, row.failed) == (1, 1, 0)
        assert row.settled == {"village": 1, "township": 1, "county": 1}
        assert row.rate == 1.0


def test_a_failed_mediation_needs_where_it_went_and_is_counted_against_the_rate(
    ctx: lifecycle.Context, registry: Registry
) -> None:
    ticket = file(ctx, 2)
    dispatch(ctx, ticket)
    disputes.add_session(ctx, ticket, today(), "街道矛调中心", "street", "刘敏", "双方分歧大",
                         STAFF)  # fmt: skip
    with pytest.raises(disputes.DisputeError, match="移交"):
        disputes.record_outcome(ctx, ticket, "failed", STAFF, "双方未达成一致")
    with pytest.raises(disputes.DisputeError, match="请先记录调解结果"):
        disputes.conclude(ctx, ticket, STAFF)
    disputes.record_outcome(ctx, ticket, "failed", STAFF, "双方未达成一致", "武侯区人民法院")
    assert ticket.settled_tier is None and ticket.mediation.referred_to == "武侯区人民法院"  # type: ignore[union-attr]
    disputes.conclude(ctx, ticket, STAFF)
    assert ticket.status == "closed"

    settled = file(ctx, 3, grid_code=OTHER_COMMUNITY_GRID)
    dispatch(ctx, settled)
    disputes.add_session(ctx, settled, today(), "街道矛调中心", "street", "刘敏", "达成一致",
                         STAFF)  # fmt: skip
    disputes.record_outcome(ctx, settled, "success", STAFF, "达成一致")
    file(ctx, 4, grid_code=OTHER_STREET_GRID)  # another street, no outcome yet

    table = disputes.figures(ctx.session, registry, STREET, today() - timedelta(days=1), today())
    assert table.total.registered == 2  # the other street's dispute is outside the unit
    assert (table.total.success, table.total.failed, table.total.rate) == (1, 1, 0.5)
    assert table.total.settled == {"village": 0, "township": 1, "county": 1}
    everywhere = disputes.figures(ctx.session, registry, None, today(), today())
    assert everywhere.total.registered == 3 and everywhere.total.rate == 0.5
    later = disputes.figures(ctx.session, registry, None, today() + timedelta(days=1),
                             today() + timedelta(days=30))  # fmt: skip
    assert later.total.registered == 0 and later.total.rate is None and later.rows == []


def test_a_grid_worker_s_figures_cover_their_grids_only(
    ctx: lifecycle.Context, registry: Registry
) -> None:
    file(ctx, 5)
    file(ctx, 6, grid_code=OTHER_COMMUNITY_GRID)
    mine = disputes.figures(ctx.session, registry, None, today(), today(), grid_scope=(GRID,))
    assert mine.total.registered == 1
    assert {r.code for r in mine.rows} == {STREET, COMMUNITY}


def test_wrong_input_is_refused_in_chinese(ctx: lifecycle.Context) -> None:
    ticket = file(ctx, 7)
    cases = [
        (lambda: disputes.set_parties(ctx, ticket, [{"name": "王芳", "phone": "123",
                                                      "role": "applicant"}], "", STAFF),
         "联系电话格式不正确"),
        (lambda: disputes.set_parties(ctx, ticket, [], "", STAFF), "至少填写一名当事人"),
        (lambda: disputes.add_session(ctx, ticket, today() + timedelta(days=1), "某处",
                                      "grid", "张丽", "调解", STAFF), "不能晚于今天"),
        (lambda: disputes.add_session(ctx, ticket, today(), "某处", "moon", "张丽", "调解",
                                      STAFF), "调解层级"),
        (lambda: disputes.grade(ctx, ticket, "purple", "研判", STAFF), "风险等级"),
        (lambda: disputes.grade(ctx, ticket, "red", "", STAFF), "研判意见"),
        (lambda: disputes.divert(ctx, ticket, "grid", "理由充分", STAFF), "分流层级"),
        (lambda: disputes.record_outcome(ctx, ticket, "maybe", STAFF, "说明"), "调解结果"),
        (lambda: disputes.attach_agreement(ctx, ticket, "a.txt", "application/pdf",
                                           b"hello", STAFF), "PDF、JPEG 或 PNG"),
        (lambda: disputes.attach_agreement(ctx, ticket, "big.pdf", "application/pdf",
                                           b"%PDF-" + b"0" * (5 * 1024 * 1024), STAFF),
         "不能超过 5 MB"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(disputes.DisputeError, match=message):
            call()
    assert kinds(ticket) == ["created"]  # nothing was recorded


def test_a_pdf_agreement_is_kept_and_a_new_one_replaces_it(ctx: lifecycle.Context) -> None:
    ticket = file(ctx, 8)
    first = disputes.attach_agreement(ctx, ticket, "C:\\scan\\协议.pdf", "text/plain",
                                      b"%PDF-1.4\n%%EOF\n", STAFF)  # fmt: skip
    assert (first.content_type, first.filename) == ("application/pdf", "协议.pdf")
    second = disputes.attach_agreement(ctx, ticket, "协议.png", "image/png", png(), STAFF)
    assert ticket.mediation.agreement_id == second.id  # type: ignore[union-attr]
    assert ctx.session.get(Attachment, first.id) is not None  # kept, for the record


def test_diverting_never_goes_down_and_climbs_one_tier_per_escalation(
    ctx: lifecycle.Context,
) -> None:
    ticket = file(ctx, 9, description="对方扬言要拿刀")
    assert ticket.risk_grade == "red"
    assert disputes.suggested_tier(ticket) == "district"
    dispatch(ctx, ticket)
    disputes.divert(ctx, ticket, "street", "纠纷激烈，街道综治中心牵头", STAFF)
    assert ticket.tier == "street" and kinds(ticket).count("escalated") == 2
    with pytest.raises(disputes.DisputeError, match="不能分流到社区"):
        disputes.divert(ctx, ticket, "community", "退回社区", STAFF)
    disputes.divert(ctx, ticket, "street", "街道继续跟进", STAFF)  # same tier: no escalation
    assert kinds(ticket).count("escalated") == 2


def test_a_ticket_corrected_into_a_dispute_gets_its_record_when_worked_on(
    ctx: lifecycle.Context,
) -> None:
    ticket = file(ctx, 10, category="urban_construction", subcategory=None,
                  description="楼上邻居威胁要报复")  # fmt: skip
    assert ticket.mediation is None
    with pytest.raises(disputes.DisputeError, match="不属于矛盾纠纷"):
        disputes.ensure(ctx, ticket)
    lifecycle.apply_action(ctx, ticket, TicketAction(action="correct", actor=STAFF,
                                                     category="disputes"))  # fmt: skip
    mediation = disputes.ensure(ctx, ticket, STAFF)
    assert mediation.id is not None
    assert (ticket.dispute_stage, ticket.risk_grade) == ("registered", "orange")
    assert kinds(ticket)[-1] == "dispute_registered"
    assert disputes.ensure(ctx, ticket, STAFF) is mediation  # once
    assert kinds(ticket).count("dispute_registered") == 1


def test_the_progress_bar_marks_done_current_and_coming_steps(ctx: lifecycle.Context) -> None:
    ticket = file(ctx, 11)
    disputes.grade(ctx, ticket, "yellow", "一般邻里纠纷", STAFF)
    steps = disputes.stage_steps(ticket)
    assert [s["label"] for s in steps] == [
        "登记受理", "先行调解", "风险研判", "分流交办", "跟踪督办", "案结事了",
    ]  # fmt: skip
    assert [s["state"] for s in steps] == ["done", "done", "current", "todo", "todo", "todo"]


def test_open_disputes_list_the_highest_risk_first_within_scope(ctx: lifecycle.Context) -> None:
    yellow = file(ctx, 12)
    red = file(ctx, 13, description="有人扬言跳楼")
    other = file(ctx, 14, grid_code=OTHER_COMMUNITY_GRID, description="邻居威胁报复")
    assert [t.number for t in disputes.open_disputes(ctx.session)] == [
        red.number, other.number, yellow.number,
    ]  # fmt: skip
    assert [t.number for t in disputes.open_disputes(ctx.session, (GRID,))] == [
        red.number, yellow.number,
    ]  # fmt: skip


def test_a_dispute_reopened_by_its_resident_after_case_closed_is_followed_up_again(
    ctx: lifecycle.Context,
) -> None:
    ticket = file(ctx, 15)
    dispatch(ctx, ticket)
    disputes.record_outcome(ctx, ticket, "success", STAFF, "当场和解")
    assert ticket.settled_tier == "grid"  # no session: the ticket's own tier settled it
    disputes.conclude(ctx, ticket, STAFF)
    assert disputes.concluded(ticket) and not disputes.can_conclude(ticket)
    rating = TicketAction(action="rate", actor="resident", rating="unresolved")
    lifecycle.apply_action(ctx, ticket, rating)
    assert ticket.status == "reopened" and not disputes.concluded(ticket)
    disputes.add_session(ctx, ticket, today(), "网格工作站", "grid", "张丽", "再次调解", STAFF)
    assert ticket.dispute_stage == "supervising"
    assert ticket.mediation.sessions[-1].summary == "再次调解"  # type: ignore[union-attr]
