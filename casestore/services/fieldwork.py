"""The grid's own people at work (网格员、民情专递员): tasks, patrol reports, visit logs.

A console account linked to Telegram (``accounts.service.link_telegram``) or signed in on the
field page is a ``Person``. Grid workers get the tickets dispatched to their grids as tasks
(``push_task``: a notification in their Telegram chat with the essentials, a map link and
buttons) and take the steps 接单 / 已到场 / 需要协调 / 办结 (``take_step``, each a life-cycle
action: one ticket event, the resident told). Workers and volunteers file what they saw or
were told (``draft_report`` then ``file_report``: a ticket that records who reported it and
for whom, 代民反映) and log their daily household visits (``log_visit``, 走访日志); both count
towards their patrol figures (``patrol_figures``).

Rules: a grid worker takes steps on the tickets of their own grids only (at tier grid: once
escalated, the unit above handles it); volunteers file reports and see their own only
(``own_reports``), and never take steps.

The task push runs on every dispatch to a grid: this module registers ``push_task`` as a
life-cycle dispatch hook when it is imported (``lifecycle.on_dispatch``), which the web app
and the escalation job do; lifecycle itself never imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from accounts import service as accounts
from accounts.models import Role, User
from casestore.models import (
    Alert,
    Attachment,
    Channel,
    Notification,
    StaffNotice,
    Ticket,
    TicketEvent,
    VisitLog,
)
from casestore.schemas import TicketAction, TicketDraft
from casestore.services import lifecycle
from casestore.services.attachments import RESULT_PHOTO_CHANNEL
from casestore.services.dispute_intake import DISPUTES, initial_grade
from casestore.services.lifecycle import Context
from casestore.services.tickets import create_ticket, get_by_submission_key, get_ticket
from core import audit, labels
from core.clock import LOCAL_TZ, utcnow
from core.taxonomy import UNCLASSIFIED, Taxonomy
from grids.registry import Registry
from grids.resolver import Resolver, resolver_for
from retraining.rasa_client import RasaParser, RasaUnavailable

STEPS = ("accept", "arrive", "coordinate", "resolve")  # 接单 已到场 需要协调 办结
TASK_STATUSES = ("dispatched", "in_progress")
MAX_TEXT = 2000
MAX_NOTES = 1000
MAX_HOUSEHOLDS = 2000
MAX_PHOTOS = 10
MAX_TASKS = 50
OSM_ZOOM = 18
CLASSIFY_TIMEOUT = 5.0  # seconds: the person is waiting on the bot

Classifier = Callable[[str], tuple[str | None, str | None]]


class FieldError(ValueError):
    """The request cannot be done as asked (message in Chinese; the API answers 422)."""


class FieldForbidden(FieldError):
    """The person may not do this (HTTP 403)."""


class FieldNotFound(FieldError):
    """No such ticket among the person's (HTTP 404)."""


class FieldConflict(FieldError):
    """The step does not fit the ticket as it is now (HTTP 409)."""


@dataclass(frozen=True)
class Person:
    """A linked grid worker, volunteer or staff member, as the field services see them."""

    user_id: int
    username: str
    display_name: str
    role: str  # accounts Role value
    grid_codes: tuple[str, ...]
    telegram_id: int | None

    @property
    def actor(self) -> str:
        """The ticket events' and audit records' actor: the console's ``role:username``."""
        return f"{self.role}:{self.username}"

    @property
    def role_label(self) -> str:
        return labels.label(labels.ROLE, self.role)


def person_of(user: User) -> Person:
    return Person(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=str(user.role),
        grid_codes=tuple(user.grid_codes or ()),
        telegram_id=user.telegram_id,
    )


def person_by_telegram(session: Session, telegram_id: int) -> Person | None:
    """The active account linked to this Telegram account, if any."""
    user = accounts.user_by_telegram(session=session, telegram_id=telegram_id)
    return person_of(user) if user is not None else None


def telegram_conversation(telegram_id: int) -> str:
    """The private chat of a Telegram user (the bot's conversation id)."""
    return f"tg-{telegram_id}"


def web_conversation(username: str) -> str:
    """The field page's conversation of a signed-in account (its photo uploads)."""
    return f"web-staff-{username}"


def conversations(person: Person) -> tuple[str, ...]:
    """Where the person's photos can come from: their Telegram chat and their field page."""
    own = [web_conversation(person.username)]
    if person.telegram_id is not None:
        own.insert(0, telegram_conversation(person.telegram_id))
    return tuple(own)


# -- tasks -----------------------------------------------------------------------------------


def _is_worker_of(person: Person, ticket: Ticket) -> bool:
    return person.role == Role.GRID_WORKER and (ticket.grid_code or "") in person.grid_codes


def open_tasks(ctx: Context, person: Person) -> list[Ticket]:
    """The grid worker's tasks: dispatched or in progress at tier grid in their grids, the
    nearest step deadline first. Nobody else has tasks."""
    if person.role != Role.GRID_WORKER or not person.grid_codes:
        return []
    query = (
        select(Ticket)
        .where(
            Ticket.status.in_(TASK_STATUSES),
            Ticket.tier == "grid",
            Ticket.grid_code.in_(person.grid_codes),
        )
        .options(selectinload(Ticket.events))
        .order_by(func.coalesce(Ticket.step_due_at, Ticket.due_at), Ticket.id)
        .limit(MAX_TASKS)
    )
    return list(ctx.session.scalars(query).all())


def _local(moment: datetime) -> str:
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def category_label(taxonomy: Taxonomy, category: str, subcategory: str | None) -> str:
    """ "城乡建设 · 物业管理" (待分类 for an unclassified one)."""
    name = taxonomy.name_of(category)
    entry = taxonomy.get(category)
    sub = entry.subcategory(subcategory) if entry and subcategory else None
    return f"{name} · {sub.name}" if sub else name


def map_link(latitude: float, longitude: float) -> str:
    """An OpenStreetMap link that opens on the point."""
    lat, lon = f"{latitude:.6f}", f"{longitude:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={OSM_ZOOM}/{lat}/{lon}"


def place_text(registry: Registry, ticket: Ticket) -> str:
    """Where: the grid's (or area's) full name and the place the resident gave."""
    code = ticket.grid_code if ticket.grid_code in registry.grids else None
    if code is None and ticket.area_code in registry.units:
        code = ticket.area_code
    where = registry.full_name(code) if code else ""
    return " ".join(part for part in (where, ticket.location_text) if part) or "（未填写）"


def task_text(ctx: Context, ticket: Ticket) -> str:
    """The essentials of a task, in Chinese, with a map link when the ticket has a point."""
    lines = [
        f"工单号：{ticket.number}",
        f"分类：{category_label(ctx.taxonomy, ticket.category, ticket.subcategory)}",
        f"诉求：{ticket.description}",
        f"地点：{place_text(ctx.registry, ticket)}",
    ]
    if ticket.latitude is not None and ticket.longitude is not None:
        lines.append(f"地图：{map_link(ticket.latitude, ticket.longitude)}")
    if ticket.on_behalf_of:
        lines.append(f"代反映：{ticket.on_behalf_of}")
    if ticket.anonymous or not ticket.contact_phone:
        lines.append("联系电话：市民未留电话")
    else:
        lines.append(f"联系电话：{ticket.contact_phone}")
    lines.append(f"状态：{labels.label(labels.STATUS, ticket.status)}")
    lines.append(f"本级办理期限：{_local(ticket.step_due_at or ticket.due_at)}")
    return "\n".join(lines)


def _arrived(ticket: Ticket) -> bool:
    return any(e.kind == labels.ACTION_EVENT["arrive"] for e in ticket.events)


def steps_now(ticket: Ticket) -> list[str]:
    """The steps that fit the task now (none once it left the grid tier or was finished)."""
    if ticket.tier != "grid":
        return []
    fitting = lifecycle.available(ticket)
    steps = [step for step in STEPS if step in fitting]
    if "arrive" in steps and _arrived(ticket):
        steps.remove("arrive")
    return steps


# The buttons' titles: the actions' labels, but 办理完成并答复 is 办结 on a phone.
STEP_TITLES = {**{step: labels.ACTION[step] for step in STEPS}, "resolve": labels.ACTION["close"]}


def task_buttons(ticket: Ticket) -> list[dict[str, str]]:
    """The buttons of the steps that fit now: ``/task <step> <number>`` payloads."""
    return [
        {"title": STEP_TITLES[step], "payload": f"/task {step} {ticket.number}"}
        for step in steps_now(ticket)
    ]


def _worker_users(session: Session, grid_code: str) -> list[User]:
    users = session.scalars(
        select(User)
        .where(User.active.is_(True), User.role == Role.GRID_WORKER.value)
        .order_by(User.id)
    )
    return [u for u in users if grid_code in (u.grid_codes or ())]


def _unit_staff(session: Session, unit_code: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.role == Role.STAFF.value,
                User.unit_code == unit_code,
            )
            .order_by(User.id)
        )
    )


def tier_unit(registry: Registry, ticket: Ticket) -> str | None:
    """The code of the unit (or grid) that handles the ticket at its tier, if the registry
    knows the ticket's place."""
    code = ticket.grid_code if ticket.grid_code in registry.grids else None
    code = code or (ticket.area_code if ticket.area_code in registry.units else None)
    if code is None:
        return None
    return next((s["code"] for s in registry.chain(code) if s["tier"] == ticket.tier), None)


def handlers(ctx: Context, ticket: Ticket) -> list[User]:
    """The people handling the ticket at its tier: the grid's workers at tier grid; the staff
    whose unit is the community, street or district above it otherwise."""
    unit = tier_unit(ctx.registry, ticket)
    if unit is None:
        return []
    if ticket.tier == "grid":
        return _worker_users(ctx.session, unit)
    return _unit_staff(ctx.session, unit)


def send_telegram(
    ctx: Context,
    ticket: Ticket,
    user: User,
    kind: str,
    text: str,
    buttons: list[dict[str, str]] | None = None,
) -> Notification | None:
    """Queue a message for a linked account's Telegram chat (the bot's pump delivers it)."""
    if user.telegram_id is None:
        return None
    conversation = telegram_conversation(user.telegram_id)
    return lifecycle.queue_message(
        ctx, ticket, Channel.TELEGRAM.value, conversation, kind, text, buttons
    )


def alert_sender(ctx: Context) -> Callable[[User, StaffNotice], None]:
    """Early warnings (预警) to the Telegram chat of each linked recipient, besides their
    console notice: a ``warnings.NoticeSender`` (the analytics process passes it)."""

    def send(user: User, notice: StaffNotice) -> None:
        if user.telegram_id is None or notice.alert_id is None:
            return
        alert = ctx.session.get(Alert, notice.alert_id)
        numbers = list(alert.ticket_numbers or []) if alert is not None else []
        ticket = get_ticket(session=ctx.session, number=numbers[0]) if numbers else None
        if alert is None or ticket is None:
            return
        text = (
            f"{notice.text}\n涉及工单 {max(alert.count, len(numbers))} 件，如 {ticket.number}。"
            "请在工作台「预警」中查看并处置。"
        )
        send_telegram(ctx, ticket, user, "alert", text)

    return send


def push_task(ctx: Context, ticket: Ticket) -> int:
    """A new task to every linked grid worker of the ticket's grid; how many were queued."""
    if not ticket.grid_code:
        return 0
    text = f"【新任务】请及时接单办理\n{task_text(ctx, ticket)}"
    sent = 0
    for user in _worker_users(ctx.session, ticket.grid_code):
        if send_telegram(ctx, ticket, user, "task", text, task_buttons(ticket)) is not None:
            sent += 1
    return sent


lifecycle.on_dispatch(push_task)


def _own_photos(ctx: Context, person: Person, ids: Sequence[int]) -> list[Attachment]:
    """The person's uploads with these ids, not yet part of another ticket."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_PHOTOS:
        raise FieldError(f"一次最多附 {MAX_PHOTOS} 张照片")
    if not unique:
        return []
    found = ctx.session.scalars(select(Attachment).where(Attachment.id.in_(unique))).all()
    mine = {a.id: a for a in found if a.conversation_id in conversations(person)}
    if len(mine) != len(unique) or any(a.ticket_id is not None for a in mine.values()):
        raise FieldError("照片无效或已用于其他工单，请重新上传")
    return [mine[i] for i in unique]


def take_step(
    ctx: Context,
    person: Person,
    number: str,
    step: str,
    *,
    text: str = "",
    attachment_ids: Sequence[int] = (),
) -> Ticket:
    """One step of a grid worker on a task of their grid: an action of the life cycle (one
    ticket event, the resident told). 办结 needs the result and at least one photo (uploaded
    by the same person), which become the ticket's result photos; 需要协调 needs the reason."""
    if step not in STEPS:
        raise FieldError("未知的操作，请使用任务下方的按钮")
    if person.role != Role.GRID_WORKER:
        raise FieldForbidden("只有负责该网格的网格员可以办理任务")
    ticket = get_ticket(session=ctx.session, number=number)
    if ticket is None or not _is_worker_of(person, ticket):
        raise FieldNotFound(f"您负责的网格中没有工单 {number}")
    if ticket.tier != "grid":
        raise FieldConflict(
            f"工单 {number} 已上报至{labels.label(labels.TIER, ticket.tier)}办理，不再由网格员处理"
        )
    text = text.strip()
    photos: list[Attachment] = []
    if step == "resolve":
        if not text:
            raise FieldError("请填写办理结果")
        photos = _own_photos(ctx, person, attachment_ids)
        if not photos:
            raise FieldError("办结需要至少一张现场照片")
    elif step == "coordinate" and not text:
        raise FieldError("请说明需要协调的原因")
    action = TicketAction.model_validate({"action": step, "actor": person.actor, "text": text})
    try:
        lifecycle.apply_action(ctx, ticket, action)
    except lifecycle.ActionInputError as exc:
        raise FieldError(str(exc)) from exc
    except lifecycle.ActionError as exc:
        raise FieldConflict(str(exc)) from exc
    if photos:
        for photo in photos:  # 办理照片: shown beside the resident's own on the ticket page
            photo.ticket = ticket
            photo.channel = RESULT_PHOTO_CHANNEL
        event = ticket.events[-1]
        event.data = {**event.data, "photos": len(photos)}
        ctx.session.flush()
    return ticket


def step_message(ticket: Ticket, step: str) -> str:
    """The confirmation the worker reads after a step."""
    number = ticket.number
    if step == "accept":
        return f"已接单：工单 {number}。请尽快到现场处理，到场后点“已到场”。"
    if step == "arrive":
        return f"已记录到场：工单 {number}。处理完毕后点“办结”，填写结果并上传现场照片。"
    if step == "coordinate":
        tier = labels.label(labels.TIER, ticket.tier)
        return f"已上报{tier}协调：工单 {number} 转由 {lifecycle.current_handler(ticket)} 办理。"
    return f"已办结：工单 {number}，办理结果已告知市民。"


# -- patrol reports (巡查上报、民情专递) -------------------------------------------------------

# "代3栋王阿姨反映：楼道灯坏了", "3栋王阿姨反映：…", "王阿姨说：…"
WHO = r"(?P<who>[^，。：:,;；！？!?\s]{1,30}?)"
ON_BEHALF = (
    re.compile(r"^\s*代" + WHO + r"(?:反映|反应|转达|说)[：:，,。\s]*(?P<rest>.*)$", re.S),
    re.compile(r"^\s*" + WHO + r"(?:反映|反应|说)[：:]\s*(?P<rest>.*)$", re.S),
)


@dataclass(frozen=True)
class ReportDraft:
    """What a worker or volunteer reported, drafted into a ticket before they confirm it."""

    text: str
    category: str
    category_label: str
    subcategory: str | None
    grid_code: str | None
    grid_name: str
    location_text: str
    on_behalf_of: str | None
    latitude: float | None
    longitude: float | None
    risk_grade: str | None  # disputes only (from casestore.services.disputes.initial_grade)

    def summary(self) -> str:
        """What the bot (or the field page) shows before 确认."""
        lines = [
            "请核对以下上报内容：",
            f"情况：{self.text}",
            f"分类：{self.category_label}",
            f"网格：{self.grid_name or '（未确定，由热线分派）'}",
        ]
        if self.location_text:
            lines.append(f"地点：{self.location_text}")
        if self.latitude is not None and self.longitude is not None:
            lines.append("位置：已附定位")
        if self.on_behalf_of:
            lines.append(f"代反映：{self.on_behalf_of}")
        if self.risk_grade:
            lines.append(f"风险等级：{labels.label(labels.RISK_GRADE, self.risk_grade)}")
        lines.append("确认无误请点“确认提交”，需要修改请点“取消”后重新发送。")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ReportDraft:
        """A draft sent back by a channel (unknown keys ignored; ``file_report`` checks it)."""
        values: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)


def split_on_behalf(text: str) -> tuple[str | None, str]:
    """(for whom, what they said): "代3栋王阿姨反映：楼道灯坏了" → ("3栋王阿姨", "楼道灯坏了")."""
    for pattern in ON_BEHALF:
        match = pattern.match(text)
        if match and match.group("rest").strip():
            return match.group("who").strip(), match.group("rest").strip()
    return None, text.strip()


def keyword_category(taxonomy: Taxonomy, text: str) -> tuple[str, str | None]:
    """The taxonomy entry whose names and terms the text uses most (longest words first);
    待分类 when none: the fallback when Rasa does not answer."""
    best: tuple[int, str, str | None] = (0, UNCLASSIFIED, None)
    for category in taxonomy.categories:
        base = len(category.name) if category.name in text else 0
        if base > best[0]:
            best = (base, category.code, None)
        for sub in category.subcategories:
            words = {sub.name, *sub.terms}
            score = base + sum(len(w) for w in words if w and w in text)
            if score > best[0]:
                best = (score, category.code, sub.code)
    return best[1], best[2]


def _checked_category(
    taxonomy: Taxonomy, category: str | None, subcategory: str | None
) -> tuple[str, str | None] | None:
    entry = taxonomy.get(category) if category else None
    if entry is None:
        return None
    sub = entry.subcategory(subcategory) if subcategory else None
    return entry.code, sub.code if sub else None


# What a classifier may raise when Rasa is down or answers nonsense (keywords take over).
CLASSIFY_ERRORS = (RasaUnavailable, httpx.HTTPError, ValueError, KeyError, TypeError)


def classify_text(
    taxonomy: Taxonomy, text: str, classify: Classifier | None
) -> tuple[str, str | None]:
    """Rasa's category when it answers with a known one; keywords otherwise; never fails."""
    if classify is not None:
        try:
            checked = _checked_category(taxonomy, *classify(text))
        except CLASSIFY_ERRORS:
            checked = None
        if checked is not None:
            if checked[1] is None:  # Rasa named the category only: keywords may add the sub
                code, sub = keyword_category(taxonomy, text)
                return checked[0], sub if code == checked[0] else None
            return checked
    return keyword_category(taxonomy, text)


def rasa_classifier(url: str, token: str, timeout: float = CLASSIFY_TIMEOUT) -> Classifier:
    """``classify`` for ``draft_report``: the active model on the Rasa server (/model/parse);
    raises RasaUnavailable when it does not answer (the keyword fallback takes over)."""
    parser = RasaParser(url, token, timeout=timeout)

    def classify(text: str) -> tuple[str | None, str | None]:
        with httpx.Client(timeout=timeout) as client:
            prediction = parser.parse(client, text)
        return prediction.category, prediction.subcategory

    return classify


def place_in_text(
    resolver: Resolver, text: str, communities: Sequence[str]
) -> tuple[str, str] | None:
    """(grid code, words) of the place, grid or building the text names, by the place
    resolver, when it points to one grid of these communities (the person's); None when
    nothing is named, not which grid (a compound without its building number), or elsewhere."""
    found = resolver.resolve_text(text)
    if found.status not in ("confident", "ambiguous"):
        return None
    ours = [c for c in found.candidates if c.grid.community in communities]
    if found.status == "ambiguous" and len(ours) != 1:
        return None
    if not ours or (found.status == "confident" and ours[0] is not found.candidates[0]):
        return None
    return ours[0].grid.code, ours[0].matched


def _communities(registry: Registry, person: Person) -> list[str]:
    return list(
        dict.fromkeys(registry.grids[c].community for c in person.grid_codes if c in registry.grids)
    )


def classify_now(url: str, token: str, text: str, timeout: float = CLASSIFY_TIMEOUT) -> Classifier:
    """Ask the Rasa server about what the report says at once, before any database work (a
    SQLite transaction holds the write lock while Rasa thinks), and hand the answer on as the
    ``classify`` of ``draft_report``: (None, None) when Rasa does not answer, and the keywords
    take over."""
    _who, said = split_on_behalf(text)  # draft_report classifies what was said
    try:
        answer = rasa_classifier(url, token, timeout)(said)
    except CLASSIFY_ERRORS:
        answer = (None, None)
    return lambda _text: answer


def draft_report(
    ctx: Context,
    person: Person,
    text: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    classify: Classifier | None,
    on_behalf_of: str | None = None,
    resolver: Resolver | None = None,
) -> ReportDraft:
    """Draft one message into a ticket: the category from Rasa (keywords when it is down),
    the grid from the location, else from a place the text names in the person's community,
    else the person's first grid; who the person reports for (代…反映), if anyone. ``resolver``:
    the app's place resolver (grids.api.resolver_at); one without the user dictionary if None."""
    text = (text or "").strip()
    if len(text) < 2:
        raise FieldError("请用一句话描述看到或听到的情况（至少2个字）")
    if len(text) > MAX_TEXT:
        raise FieldError(f"内容太长，请控制在 {MAX_TEXT} 字以内")
    if (latitude is None) != (longitude is None):
        raise FieldError("位置需要同时包含经度和纬度")
    who, said = split_on_behalf(text)
    if on_behalf_of is not None and on_behalf_of.strip():
        who = on_behalf_of.strip()[:100]
    category, subcategory = classify_text(ctx.taxonomy, said, classify)
    registry = ctx.registry
    grid_code: str | None = None
    location = ""
    resolver = resolver or resolver_for(registry, None)
    if latitude is not None and longitude is not None:
        at = resolver.resolve_point(longitude, latitude)
        grid_code = at.candidates[0].grid.code if at.status == "confident" else None
    named = place_in_text(resolver, said, _communities(registry, person))
    if named is not None:
        location = named[1]
        grid_code = grid_code or named[0]
    if grid_code is None:
        grid_code = next((c for c in person.grid_codes if c in registry.grids), None)
    grid_name = registry.grids[grid_code].name if grid_code else ""
    return ReportDraft(
        text=text,
        category=category,
        category_label=category_label(ctx.taxonomy, category, subcategory),
        subcategory=subcategory,
        grid_code=grid_code,
        grid_name=grid_name,
        location_text=(location or grid_name)[:200],
        on_behalf_of=who,
        latitude=latitude,
        longitude=longitude,
        risk_grade=initial_grade(said) if category == DISPUTES else None,
    )


def file_report(
    ctx: Context,
    person: Person,
    draft: ReportDraft,
    *,
    submission_key: str,
    attachment_ids: Sequence[int] = (),
    channel: str = Channel.TELEGRAM.value,
) -> tuple[Ticket, bool]:
    """File a confirmed draft exactly once per submission key: a ticket in the channel the
    person used (``telegram``: their chat hears how it goes; ``webchat``: the field page),
    reported by them, for whom they named. True when it was created now."""
    if channel == Channel.TELEGRAM.value:
        if person.telegram_id is None:
            raise FieldForbidden("请先绑定Telegram账号")
        conversation = telegram_conversation(person.telegram_id)
    elif channel == Channel.WEBCHAT.value:
        conversation = web_conversation(person.username)
    else:
        raise FieldError("上报渠道只能是Telegram或网页")
    if draft.category != UNCLASSIFIED and _checked_category(
        ctx.taxonomy, draft.category, draft.subcategory
    ) != (draft.category, draft.subcategory):
        raise FieldError(f"未知的分类：{draft.category}")
    if draft.grid_code is not None and draft.grid_code not in ctx.registry.grids:
        raise FieldError(f"未知的网格编码：{draft.grid_code}")
    if draft.risk_grade is not None and draft.risk_grade not in labels.RISK_GRADE:
        raise FieldError("未知的风险等级")
    existing = get_by_submission_key(session=ctx.session, key=submission_key)
    if existing is not None:  # a retry: the ticket of the first time, its photos kept
        return existing, False
    photos = _own_photos(ctx, person, attachment_ids)
    try:
        ticket_draft = TicketDraft(
            submission_key=submission_key,
            category=draft.category,
            subcategory=draft.subcategory if draft.category != UNCLASSIFIED else None,
            grid_code=draft.grid_code,
            location_text=(draft.location_text or "")[:200],
            latitude=draft.latitude,
            longitude=draft.longitude,
            description=draft.text,
            anonymous=True,  # the reporter is recorded instead (reported_by)
            channel=Channel(channel),
            conversation_id=conversation,
        )
    except ValueError as exc:
        raise FieldError("上报内容不完整或格式不正确，请重新发送") from exc
    ticket, created = create_ticket(
        session=ctx.session,
        draft=ticket_draft,
        taxonomy=ctx.taxonomy,
        actor=person.actor,
        link_photos=False,  # only the photos named: the chat also carries tasks' photos
    )
    if not created:
        return ticket, False
    ticket.reported_by = person.username
    ticket.on_behalf_of = (draft.on_behalf_of or "").strip()[:100] or None
    # A dispute's grade is set when it is filed (dispute_intake.on_filed), from the same text.
    if ticket.risk_grade is None and draft.risk_grade and ticket.category == DISPUTES:
        ticket.risk_grade = draft.risk_grade
    for photo in photos:
        photo.ticket = ticket
    lifecycle.record_event(
        ticket,
        "field_report",
        person.actor,
        {"reported_by": person.username, "on_behalf_of": ticket.on_behalf_of,
         "photos": len(photos)},
    )  # fmt: skip
    ctx.session.flush()
    return ticket, True


def report_message(ticket: Ticket) -> str:
    return f"已登记，工单号 {ticket.number}。办理进展会在这里告诉您。"


def own_reports(session: Session, person: Person, limit: int = 50) -> list[Ticket]:
    """The tickets the person reported, newest first (all a volunteer may see)."""
    query = (
        select(Ticket)
        .where(Ticket.reported_by == person.username)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())


# -- visits and figures -----------------------------------------------------------------------


def log_visit(ctx: Context, person: Person, households: int, notes: str) -> VisitLog:
    """走访日志: households visited today and what was found; audited as ``visit_log``."""
    if person.role not in (Role.GRID_WORKER, Role.VOLUNTEER):
        raise FieldForbidden("只有网格员和民情专递员可以登记走访日志")
    if not 0 <= households <= MAX_HOUSEHOLDS:
        raise FieldError(f"走访户数应在 0 到 {MAX_HOUSEHOLDS} 之间")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise FieldError(f"走访情况请控制在 {MAX_NOTES} 字以内")
    now = utcnow()
    visit = VisitLog(
        username=person.username,
        day=now.astimezone(LOCAL_TZ).date(),
        grid_code=next(iter(person.grid_codes), None),
        households=households,
        notes=notes,
        created_at=now,
    )
    ctx.session.add(visit)
    ctx.session.flush()
    audit.record(ctx.session, actor=person.actor, action="visit_log", object_type="visit_log",
                 object_id=visit.id,
                 data={"username": person.username, "day": visit.day.isoformat(),
                       "grid_code": visit.grid_code, "households": households})  # fmt: skip
    return visit


def visit_message(visit: VisitLog) -> str:
    return f"已记录 {visit.day.month}月{visit.day.day}日 走访 {visit.households} 户。"


@dataclass
class PatrolFigures:
    """One person's patrol figures in a period (巡查上报、代民反映、走访、接单、办结)."""

    reports: int = 0  # tickets they reported
    on_behalf: int = 0  # of those, passed on for a resident (代民反映)
    visits: int = 0  # visit logs
    households: int = 0  # households visited, summed
    accepted: int = 0  # tasks accepted (接单)
    resolved: int = 0  # tasks resolved (办结)


def patrol_figures(
    session: Session, usernames: Sequence[str], start: datetime, end: datetime
) -> dict[str, PatrolFigures]:
    """Figures per user name for ``start`` ≤ time < ``end`` (UTC-aware): reports by the
    ticket's filing time, visits by their logging time, steps by their event's time."""
    figures = {name: PatrolFigures() for name in usernames}
    if not figures:
        return figures
    names = list(figures)
    reports = session.execute(
        select(
            Ticket.reported_by,
            func.count(),
            func.count(Ticket.on_behalf_of),
        )
        .where(Ticket.reported_by.in_(names), Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(Ticket.reported_by)
    )
    for name, count, on_behalf in reports:
        figure = figures[str(name)]
        figure.reports, figure.on_behalf = int(count), int(on_behalf)
    visits = session.execute(
        select(VisitLog.username, func.count(), func.coalesce(func.sum(VisitLog.households), 0))
        .where(
            VisitLog.username.in_(names), VisitLog.created_at >= start, VisitLog.created_at < end
        )
        .group_by(VisitLog.username)
    )
    for name, count, households in visits:
        figures[name].visits, figures[name].households = int(count), int(households)
    actors = {f"{role.value}:{name}": name for name in names for role in Role}
    kinds = {labels.ACTION_EVENT["accept"]: "accepted", labels.ACTION_EVENT["resolve"]: "resolved"}
    steps = session.execute(
        select(TicketEvent.actor, TicketEvent.kind, func.count())
        .where(
            TicketEvent.actor.in_(list(actors)),
            TicketEvent.kind.in_(list(kinds)),
            TicketEvent.created_at >= start,
            TicketEvent.created_at < end,
        )
        .group_by(TicketEvent.actor, TicketEvent.kind)
    )
    for actor, kind, count in steps:
        figure = figures[actors[actor]]
        setattr(figure, kinds[kind], getattr(figure, kinds[kind]) + int(count))
    return figures


# -- the bot's greeting -------------------------------------------------------------------------


def grid_names(registry: Registry, person: Person) -> list[str]:
    return [registry.grids[c].name if c in registry.grids else c for c in person.grid_codes]


def help_text(registry: Registry, person: Person) -> str:
    """What the person can do on the bot, by role."""
    grids = "、".join(grid_names(registry, person)) or "（未指定）"
    if person.role == Role.GRID_WORKER:
        return (
            f"{person.display_name}（网格员，负责：{grids}）：派到您网格的工单会推送到这里，"
            "点按钮即可接单、确认到场、申请协调或办结（办结需填写结果并上传现场照片）。"
            "巡查中发现的问题，直接发送文字（可附照片和位置）即可上报；"
            "每天的走访情况可登记为走访日志。"
        )
    if person.role == Role.VOLUNTEER:
        return (
            f"{person.display_name}（民情专递员，所在网格：{grids}）：把居民反映的情况直接发给我"
            "（可附照片和位置），确认后即登记为工单；替居民反映时可以这样写："
            "“代3栋王阿姨反映：楼道灯坏了”。您可以查看自己上报的情况，每天的走访也可登记。"
        )
    return (
        f"{person.display_name}（{person.role_label}）：上报到您所在单位的超期工单会通知到这里；"
        "发现的问题也可以直接发送文字上报。"
    )


def welcome_text(registry: Registry, person: Person) -> str:
    return f"绑定成功！{help_text(registry, person)}"
