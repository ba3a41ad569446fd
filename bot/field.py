"""The field desk: grid workers (网格员) and volunteers (民情专递员) on the bot.

A Telegram account linked to a console account (``/link <code>``) is a *field person*: their
messages do not go to Rasa. A text (with photos, a location) drafts a patrol report that is
filed after 确认提交; the task buttons pushed by the case store (payload ``/task <step>
<number>``) take the steps of a dispatched ticket; ``/visit`` logs the day's household visits.

Handlers queue ``field`` jobs (``data["op"]`` says which) on the relay's per-user queue, so they
are processed in order like a resident's. What is half way (a draft waiting for 确认, a resolve
note waiting for its photo, a coordination reason asked for) is the person's *state* in the
bot's store. The case store being down answers "系统繁忙，请稍后再试" and changes nothing; a
refusal (4xx) shows the case store's own Chinese ``detail``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram.error import BadRequest, TelegramError

from bot import media, texts
from bot.casestore import CaseStoreChannel, CaseStoreRefused
from bot.rasa import ServiceUnavailable
from bot.relay import Relay, conversation_id
from bot.store import Button, FieldPerson, Job, NewMessage, Store

log = logging.getLogger(__name__)

STEPS = ("accept", "arrive", "coordinate", "resolve")  # 接单 已到场 需要协调 办结
TASK_PREFIX = "/task "  # buttons pushed by the case store: /task <step> <number>
FIELD_PREFIX = "/field "  # the desk's own buttons: /field confirm|cancel <id>, resolve <number>
VERIFY_SECONDS = 3600.0  # a linked person is checked again after this long (unlinked in console?)
PERSON_OPS = frozenset({"text", "photo", "location"})  # what a resident could have sent too
VOLUNTEER = "volunteer"
MAX_VISIT_HOUSEHOLDS = 9999

LINK_TEXT = re.compile(r"\s*绑定\s*[:：]?\s*(\d{4,12})\s*")
VISIT_TEXT = re.compile(r"\s*走访\s*(\d{1,5})\s*户?[\s，,。：:；;]*(.*)", re.S)
TASKS_TEXTS = frozenset({"我的任务", "待办任务", "任务"})
CANCEL_TEXTS = frozenset({"取消", "算了"})
START_LINK = re.compile(r"link-(\d{4,12})")


class PhotoUnreadable(Exception):
    """Telegram would not give the file (e.g. larger than the Bot API's 20 MB)."""


Download = Callable[[str], Awaitable[bytes]]


# -- parsing what people type (used by the handlers) ------------------------------------------


def is_field_payload(payload: str) -> bool:
    """A button payload for the desk rather than for Rasa."""
    return payload.startswith((TASK_PREFIX, FIELD_PREFIX))


def start_link_code(args: Sequence[str]) -> str | None:
    """The code of a ``/start link-<code>`` deep link."""
    match = START_LINK.fullmatch(args[0]) if args else None
    return match.group(1) if match else None


def link_code_of_text(text: str) -> str | None:
    """The code in "绑定 12345678"."""
    match = LINK_TEXT.fullmatch(text)
    return match.group(1) if match else None


def parse_visit(text: str) -> tuple[int, str] | None:
    """(households, notes) of "/visit 12 备注" arguments or of "走访 12户 备注"."""
    match = VISIT_TEXT.fullmatch(text) or re.fullmatch(r"\s*(\d{1,5})\s*户?\s*(.*)", text, re.S)
    if match is None:
        return None
    households = int(match.group(1))
    if not 0 < households <= MAX_VISIT_HOUSEHOLDS:
        return None
    return households, match.group(2).strip()


def text_command(text: str, person: FieldPerson | None) -> tuple[str, dict[str, Any]] | None:
    """A typed command of the desk: 绑定 (anyone), 我的任务 and 走访 (linked people)."""
    code = link_code_of_text(text)
    if code is not None:
        return "link", {"code": code}
    if person is None:
        return None
    if text.strip() in TASKS_TEXTS:
        return "tasks", {}
    if VISIT_TEXT.fullmatch(text):
        visit = parse_visit(text)
        if visit is not None:
            return "visit", {"households": visit[0], "notes": visit[1]}
    return None


def help_text(person: FieldPerson) -> str:
    """/help of a linked person, by role (volunteers file reports only)."""
    name = person.display_name or person.username
    parts = [texts.FIELD_WELCOME.format(name=name, role=person.role_label), texts.FIELD_HELP_REPORT]
    if person.role != VOLUNTEER:
        parts.append(texts.FIELD_HELP_TASKS)
    parts += [texts.FIELD_HELP_VISIT, texts.FIELD_HELP_TAIL]
    return "\n\n".join(parts)


def _buttons(raw: object) -> list[Button]:
    if not isinstance(raw, list):
        return []
    return [
        Button(title=str(b["title"]), payload=str(b["payload"]))
        for b in raw
        if isinstance(b, dict) and b.get("title") and b.get("payload")
    ]


def _ids(values: object) -> list[int]:
    found: list[int] = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, int) and value not in found:
            found.append(value)
    return found


# -- the desk ----------------------------------------------------------------------------------


class FieldDesk:
    """Processes a linked person's ``field`` jobs against the case store's field API."""

    def __init__(
        self,
        *,
        casestore: CaseStoreChannel,
        store: Store,
        download: Download,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._casestore = casestore
        self._store = store
        self._download = download
        self._clock = clock

    # -- who is linked -----------------------------------------------------------------------

    def remember(self, user_id: int, person: dict[str, Any] | None) -> None:
        """Record the case store's answer about this user (None: not linked)."""
        if person is None:
            self._store.remember_field_person(user_id, linked=False)
            return
        self._store.remember_field_person(
            user_id,
            linked=True,
            username=str(person.get("username") or ""),
            display_name=str(person.get("display_name") or ""),
            role=str(person.get("role") or ""),
            role_label=str(person.get("role_label") or ""),
        )

    async def still_linked(self, user_id: int) -> bool:
        """Whether this user is (still) a linked person; asks the case store now and then."""
        person = self._store.field_person(user_id)
        if person is None:
            return False
        if self._clock() - person.checked_at < VERIFY_SECONDS:
            return True
        try:
            me = await self._casestore.field_me(user_id)
        except (ServiceUnavailable, CaseStoreRefused) as exc:
            log.info("link of %s not checked: %s", user_id, exc)
            return True  # keep what we know
        self.remember(user_id, me)
        return me is not None

    async def adopt(self, job: Job) -> Job | None:
        """A resident job of a user never checked: if the case store says they are linked (the
        bot's state was lost, say), the same input as a field job; None otherwise."""
        checked = self._store.field_checked_at(job.user_id)
        if job.kind not in ("rasa", "photo") or checked is not None:
            return None
        try:
            me = await self._casestore.field_me(job.user_id)
        except (ServiceUnavailable, CaseStoreRefused) as exc:
            log.info("user %s not checked: %s", job.user_id, exc)
            return None
        self.remember(job.user_id, me)
        if me is None:
            return None
        data = job.data
        message_id = int(data.get("message_id") or job.id)
        op: dict[str, Any]
        if job.kind == "photo":
            op = {"op": "photo", "file_id": data["file_id"], "file_name": data.get("file_name")}
        else:
            message = str(data.get("message") or "")
            if message.startswith("/share_location"):
                try:
                    point = json.loads(message.removeprefix("/share_location"))
                    op = {
                        "op": "location",
                        "latitude": float(point["latitude"]),
                        "longitude": float(point["longitude"]),
                    }
                except (ValueError, KeyError, TypeError):
                    return None
            elif message and message == data.get("display_text") and not message.startswith("/"):
                op = {"op": "text", "text": message}
            else:
                return None  # a Rasa button or command: answered by Rasa this once
        return Job(
            id=job.id,
            key=job.key,
            user_id=job.user_id,
            chat_id=job.chat_id,
            kind="field",
            data={**op, "message_id": message_id},
        )

    # -- jobs ------------------------------------------------------------------------------------

    async def handle(self, job: Job) -> list[NewMessage]:
        """The replies to one field job; never raises for the case store's sake."""
        op = str(job.data.get("op", ""))
        work = getattr(self, f"_op_{op}", None)
        if work is None:
            raise ValueError(f"unknown field operation {op!r}")
        try:
            messages: list[NewMessage] = await work(job)
        except ServiceUnavailable as exc:
            log.warning("field job %s not done: %s", job.key, exc)
            return [NewMessage(texts.FIELD_BUSY)]
        except CaseStoreRefused as exc:
            log.info("field job %s refused: %s", job.key, exc)
            return [NewMessage(exc.detail or texts.FIELD_REFUSED)]
        return messages

    def _state(self, job: Job) -> dict[str, Any]:
        return self._store.field_state(job.user_id) or {}

    def _save(self, job: Job, state: dict[str, Any] | None) -> None:
        self._store.set_field_state(job.user_id, state)

    async def _op_link(self, job: Job) -> list[NewMessage]:
        result = await self._casestore.field_link(
            code=str(job.data.get("code", "")), telegram_id=job.user_id
        )
        self.remember(job.user_id, result)
        self._save(job, None)
        person = self._store.field_person(job.user_id)
        message = str(result.get("message") or "")
        if not message and person is not None:
            message = help_text(person)
        return [NewMessage(message or texts.FIELD_REFUSED)]

    async def _op_unlink(self, job: Job) -> list[NewMessage]:
        result = await self._casestore.field_unlink(job.user_id)
        self.remember(job.user_id, None)
        return [NewMessage(str(result.get("message") or texts.UNLINKED_NOW))]

    async def _op_tasks(self, job: Job) -> list[NewMessage]:
        items = await self._casestore.field_tasks(job.user_id)
        if not items:
            return [NewMessage(texts.FIELD_TASKS_NONE)]
        messages = [NewMessage(texts.FIELD_TASKS_HEAD.format(count=len(items)))]
        for item in items:
            number = str(item.get("number") or "")
            text = str(item.get("text") or "").strip()
            if number and number not in text:
                text = f"【工单 {number}】\n{text}"
            messages.append(NewMessage(text or number, buttons=_buttons(item.get("buttons"))))
        return messages

    async def _op_visit(self, job: Job) -> list[NewMessage]:
        result = await self._casestore.field_visit(
            telegram_id=job.user_id,
            households=int(job.data["households"]),
            notes=str(job.data.get("notes") or ""),
        )
        return [NewMessage(str(result.get("message") or texts.FIELD_REFUSED))]

    async def _op_cancel(self, job: Job) -> list[NewMessage]:
        state = self._store.field_state(job.user_id)
        if state is None:
            return [NewMessage(texts.NOTHING_TO_CANCEL)]
        self._save(job, None)
        return [
            NewMessage(texts.REPORT_CANCELLED if state.get("kind") == "draft" else texts.CANCELLED)
        ]

    # -- what a person sends --------------------------------------------------------------------

    async def _op_text(self, job: Job) -> list[NewMessage]:
        text = str(job.data.get("text") or "").strip()
        state = self._state(job)
        kind = state.get("kind")
        if kind and text in CANCEL_TEXTS:
            return await self._op_cancel(job)
        if kind == "coordinate":
            return await self._step_with_state(job, state, "coordinate", text=text)
        if kind == "resolve":
            state["text"] = _joined(state.get("text"), text)
            if not _ids(state.get("attachment_ids")):
                self._save(job, state)
                return [NewMessage(texts.RESOLVE_NEED_PHOTO)]
            return await self._resolve(job, state)
        if kind == "draft":  # more words for the report being drafted
            return await self._draft(job, state, text=_joined(state.get("text"), text))
        return await self._draft(job, _fresh(state, job), text=text)

    async def _op_photo(self, job: Job) -> list[NewMessage]:
        state = self._state(job)
        kind = state.get("kind")
        caption = str(job.data.get("caption") or "").strip()
        group = job.data.get("media_group_id")
        if kind == "coordinate":
            return [NewMessage(texts.COORDINATE_NEED_TEXT)]
        uploaded = await self._upload(job)
        if isinstance(uploaded, str):
            return [NewMessage(uploaded)]
        same_group = group is not None and state.get("group") == group
        state["attachment_ids"] = [*_ids(state.get("attachment_ids")), uploaded]
        if group is not None:
            state["group"] = group
        if kind == "resolve":
            if caption:
                state["text"] = _joined(state.get("text"), caption)
            count = len(state["attachment_ids"])
            if not state.get("text"):
                self._save(job, state)
                return (
                    [] if same_group else [NewMessage(texts.RESOLVE_NEED_TEXT.format(count=count))]
                )
            if group is None:
                return await self._resolve(job, state)
            # Photos of an album arrive one by one: wait for a tap once they are all in.
            if same_group and state.get("ready"):
                self._save(job, state)
                return []
            state["ready"] = True
            self._save(job, state)
            submit = Button(
                title=texts.RESOLVE_SUBMIT, payload=f"{FIELD_PREFIX}resolve {state['number']}"
            )
            return [NewMessage(texts.RESOLVE_READY.format(count=count), buttons=[submit])]
        if kind == "draft":
            if caption:
                return await self._draft(job, state, text=_joined(state.get("text"), caption))
            self._save(job, state)
            if same_group:
                return []
            count = len(state["attachment_ids"])
            return [NewMessage(texts.REPORT_PHOTO_ADDED.format(count=count))]
        state = {**_fresh(state, job), "attachment_ids": state["attachment_ids"]}
        if group is not None:
            state["group"] = group
        if caption:
            return await self._draft(job, state, text=caption)
        self._save(job, state)
        if same_group:
            return []
        return [NewMessage(texts.REPORT_ASK_TEXT.format(what=texts.REPORT_PHOTO_WORD))]

    async def _op_location(self, job: Job) -> list[NewMessage]:
        state = self._state(job)
        kind = state.get("kind")
        point = {
            "latitude": float(job.data["latitude"]),
            "longitude": float(job.data["longitude"]),
        }
        if kind == "coordinate":
            return [NewMessage(texts.COORDINATE_NEED_TEXT)]
        if kind == "resolve":
            return [NewMessage(texts.RESOLVE_ASK.format(number=state.get("number", "")))]
        if kind == "draft":
            return await self._draft(job, {**state, **point}, text=str(state.get("text") or ""))
        self._save(job, {**_fresh(state, job), **point})
        return [NewMessage(texts.REPORT_ASK_TEXT.format(what=texts.REPORT_LOCATION_WORD))]

    async def _upload(self, job: Job) -> int | str:
        """The attachment id of the job's photo, or what to tell the person."""
        try:
            data = await self._download(str(job.data["file_id"]))
        except PhotoUnreadable:
            return texts.PHOTO_UNREADABLE
        if len(data) > media.MAX_IMAGE_BYTES:
            return texts.PHOTO_TOO_LARGE
        content_type = media.image_type(data)
        if content_type is None:
            return texts.PHOTO_WRONG_TYPE
        name = str(job.data.get("file_name") or "")
        filename = name or f"field-{job.key.replace(':', '-')}.{media.EXTENSIONS[content_type]}"
        try:
            attachment = await self._casestore.upload_attachment(
                conversation_id=conversation_id(job.user_id),
                data=data,
                filename=filename,
                content_type=content_type,
            )
        except CaseStoreRefused as exc:
            return exc.detail or texts.PHOTO_WRONG_TYPE
        return int(attachment["id"])

    # -- patrol reports ---------------------------------------------------------------------------

    async def _draft(self, job: Job, state: dict[str, Any], *, text: str) -> list[NewMessage]:
        """Draft (again) with the text, photos and location so far; show it with 确认/取消."""
        result = await self._casestore.field_draft(
            telegram_id=job.user_id,
            text=text,
            latitude=state.get("latitude"),
            longitude=state.get("longitude"),
        )
        draft = result.get("draft")
        if not isinstance(draft, dict):
            raise ServiceUnavailable("the case store drafted nothing")
        report_id = int(state.get("id") or job.data.get("message_id") or job.id)
        state = {**state, "kind": "draft", "id": report_id, "text": text, "draft": draft}
        self._save(job, state)
        lines = [str(result.get("summary") or "").strip()]
        count = len(_ids(state.get("attachment_ids")))
        if count:
            lines.append(texts.REPORT_PHOTOS_LINE.format(count=count))
        if state.get("latitude") is not None:
            lines.append(texts.REPORT_LOCATION_LINE)
        lines.append(texts.REPORT_HINT)
        buttons = [
            Button(title=texts.REPORT_CONFIRM, payload=f"{FIELD_PREFIX}confirm {report_id}"),
            Button(title=texts.REPORT_CANCEL, payload=f"{FIELD_PREFIX}cancel {report_id}"),
        ]
        return [NewMessage("\n".join(line for line in lines if line), buttons=buttons)]

    async def _confirm(self, job: Job, report_id: str) -> list[NewMessage]:
        state = self._state(job)
        if state.get("kind") != "draft" or str(state.get("id")) != report_id:
            return [NewMessage(texts.REPORT_GONE)]
        result = await self._casestore.field_report(
            telegram_id=job.user_id,
            submission_key=f"tg-field-{job.chat_id}-{report_id}",
            draft=dict(state["draft"]),
            attachment_ids=_ids(state.get("attachment_ids")),
        )
        self._save(job, None)
        message = str(result.get("message") or "")
        return [NewMessage(message or texts.REPORT_FILED.format(number=result.get("number", "")))]

    # -- task steps -----------------------------------------------------------------------------

    async def _op_button(self, job: Job) -> list[NewMessage]:
        words = str(job.data.get("payload") or "").split()
        if len(words) == 3 and words[0] == TASK_PREFIX.strip() and words[1] in STEPS:
            return await self._task(job, step=words[1], number=words[2])
        if len(words) == 3 and words[0] == FIELD_PREFIX.strip():
            action, target = words[1], words[2]
            if action == "confirm":
                return await self._confirm(job, target)
            if action == "cancel":
                state = self._state(job)
                if state.get("kind") != "draft" or str(state.get("id")) != target:
                    return [NewMessage(texts.REPORT_GONE)]
                self._save(job, None)
                return [NewMessage(texts.REPORT_CANCELLED)]
            if action == "resolve":
                state = self._state(job)
                ready = state.get("text") and _ids(state.get("attachment_ids"))
                if state.get("kind") != "resolve" or state.get("number") != target or not ready:
                    return [NewMessage(texts.RESOLVE_GONE)]
                return await self._resolve(job, state)
        return [NewMessage(texts.BUTTON_EXPIRED)]

    async def _task(self, job: Job, *, step: str, number: str) -> list[NewMessage]:
        if not number.isdigit():
            return [NewMessage(texts.BUTTON_EXPIRED)]
        if step == "coordinate":
            self._save(job, {"kind": "coordinate", "number": number})
            return [NewMessage(texts.COORDINATE_ASK.format(number=number))]
        if step == "resolve":
            self._save(job, {"kind": "resolve", "number": number, "text": "", "attachment_ids": []})
            return [NewMessage(texts.RESOLVE_ASK.format(number=number))]
        result = await self._casestore.field_step(telegram_id=job.user_id, number=number, step=step)
        return [_step_message(result)]

    async def _step_with_state(
        self, job: Job, state: dict[str, Any], step: str, *, text: str
    ) -> list[NewMessage]:
        """Coordinate (or resolve) the task of the state; 4xx other than 422 end the state."""
        try:
            result = await self._casestore.field_step(
                telegram_id=job.user_id,
                number=str(state.get("number", "")),
                step=step,
                text=text,
                attachment_ids=_ids(state.get("attachment_ids")),
            )
        except CaseStoreRefused as exc:
            if exc.status_code != 422:
                self._save(job, None)
            raise
        self._save(job, None)
        return [_step_message(result)]

    async def _resolve(self, job: Job, state: dict[str, Any]) -> list[NewMessage]:
        self._save(job, state)  # what was collected survives an outage or a 422
        return await self._step_with_state(job, state, "resolve", text=str(state.get("text")))


def _step_message(result: dict[str, Any]) -> NewMessage:
    text = str(result.get("message") or "").strip()
    if not text:
        text = texts.STEP_DONE.format(
            number=result.get("number", ""), status=result.get("status_label", "")
        )
    return NewMessage(text, buttons=_buttons(result.get("buttons")))


def _joined(before: object, more: str) -> str:
    before = str(before or "").strip()
    return f"{before}\n{more}".strip() if before and more else (before or more)


def _fresh(state: dict[str, Any], job: Job) -> dict[str, Any]:
    """A new report's state, keeping photos and location sent just before its text."""
    kept: dict[str, Any] = {
        k: state[k] for k in ("attachment_ids", "latitude", "longitude") if k in state
    }
    if state.get("kind") not in (None, "pending"):
        kept = {}
    return {"kind": "pending", **kept, "id": int(job.data.get("message_id") or job.id)}


# -- the relay with the desk --------------------------------------------------------------------


class FieldRelay(Relay):
    """The relay, with field jobs (and linked people's input) handled by the desk."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.desk = FieldDesk(casestore=self._casestore, store=self._store, download=self._download)

    async def _download(self, file_id: str) -> bytes:
        try:
            file = await self._bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # e.g. "file is too big" (Bot API limit: 20 MB)
            raise PhotoUnreadable(str(exc)) from exc
        except TelegramError as exc:
            raise ServiceUnavailable(f"Telegram file download: {exc!r}") from exc

    async def _process(self, job: Job) -> list[NewMessage]:
        if job.kind == "field":
            if job.data.get("op") in PERSON_OPS and not await self.desk.still_linked(job.user_id):
                return [NewMessage(texts.UNLINKED_NOW), *await self._as_resident(job)]
            async with self._typing(job.chat_id):
                return await self.desk.handle(job)
        adopted = await self.desk.adopt(job)
        if adopted is not None:
            return await self.desk.handle(adopted)
        return await super()._process(job)

    async def _as_resident(self, job: Job) -> list[NewMessage]:
        """A field person's input after they were unlinked: what a resident's would do."""
        data = job.data

        def resident(kind: str, **values: Any) -> Job:
            return Job(job.id, job.key, job.user_id, job.chat_id, kind, values)

        if data["op"] == "location":
            payload = media.location_payload(float(data["latitude"]), float(data["longitude"]))
            return await super()._process(
                resident("rasa", message=payload, display_text=texts.LOCATION_DISPLAY)
            )
        if data["op"] == "text":
            body = str(data.get("text") or "")
            return await super()._process(resident("rasa", message=body, display_text=body))
        messages = await super()._process(
            resident("photo", file_id=data["file_id"], file_name=data.get("file_name") or "")
        )
        caption = str(data.get("caption") or "")
        if caption:
            messages += await super()._process(
                resident("rasa", message=caption, display_text=caption)
            )
        return messages
