"""Telegram update handlers: translate each update into stored jobs or replies, quickly.

Handlers do not wait for Rasa or the case store. They store what the resident sent (keys
derived from the ``update_id``, so a redelivered update changes nothing) and wake the
relay; slow work happens there, in order per resident.

A Telegram user linked to a console account (a grid worker or volunteer, remembered in the
store) is served by the field desk (bot/field.py): their input becomes ``field`` jobs, never
Rasa turns. Residents are served exactly as before.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import field, media, render, texts
from bot.ratelimit import RateLimiter
from bot.relay import Relay
from bot.sender import Sender
from bot.store import FieldPerson, NewJob, NewMessage, Store

log = logging.getLogger(__name__)

_PHONE_NOISE = re.compile(r"[\s()（）-]")


@dataclass
class Runtime:
    """What the handlers need, kept in ``application.bot_data["runtime"]``."""

    store: Store
    relay: Relay
    sender: Sender
    limiter: RateLimiter


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    runtime = context.bot_data["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


def contact_phone(raw: str) -> str:
    """A shared contact's number as residents type it: no +86, no spaces."""
    phone = _PHONE_NOISE.sub("", raw)
    if phone.startswith("+"):
        phone = phone[1:]
    if phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def _ids(update: Update) -> tuple[int, int]:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return user.id, chat.id


def _message(update: Update) -> Message:
    assert update.message is not None
    return update.message


def _reply(context: ContextTypes.DEFAULT_TYPE, update: Update, text: str, slot: str = "") -> None:
    """Queue a direct answer (keyed by the update, so it is sent once) and send it."""
    runtime = runtime_of(context)
    _, chat_id = _ids(update)
    runtime.store.add_outgoing(
        key=f"u{update.update_id}/say{slot}", chat_id=chat_id, message=NewMessage(text)
    )
    runtime.sender.kick(chat_id)


def _queue(
    context: ContextTypes.DEFAULT_TYPE, update: Update, *jobs: tuple[str, dict[str, Any]]
) -> None:
    runtime = runtime_of(context)
    user_id, chat_id = _ids(update)
    runtime.store.add_jobs(
        user_id=user_id,
        chat_id=chat_id,
        jobs=[
            NewJob(key=f"u{update.update_id}:{i}", kind=kind, data=data)
            for i, (kind, data) in enumerate(jobs)
        ],
    )
    runtime.relay.kick(user_id)


def _field(context: ContextTypes.DEFAULT_TYPE, update: Update, op: str, **data: Any) -> None:
    """Queue a job for the field desk."""
    _queue(context, update, ("field", {"op": op, **data}))


def _person(context: ContextTypes.DEFAULT_TYPE, update: Update) -> FieldPerson | None:
    """The linked person (grid worker, volunteer …) sending this update, if any."""
    user_id, _ = _ids(update)
    return runtime_of(context).store.field_person(user_id)


def _to_rasa(message: str, display_text: str | None, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "rasa", {"message": message, "display_text": display_text, **extra}


# -- gatekeepers (group -1) -------------------------------------------------------------------


async def skip_seen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ignore an update handled before a restart (Telegram may deliver it again)."""
    if runtime_of(context).store.update_seen(update.update_id):
        raise ApplicationHandlerStop


async def rate_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse a resident's messages beyond the per-minute limit, with one friendly notice."""
    if update.effective_user is None or update.effective_chat is None:
        return
    allowed, warn = runtime_of(context).limiter.check(update.effective_user.id)
    if allowed:
        return
    if update.callback_query is not None:
        await _answer_quietly(update, texts.RATE_LIMITED)
    elif warn:
        _reply(context, update, texts.RATE_LIMITED)
    raise ApplicationHandlerStop


# -- commands --------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot can do; ``/start link-<code>`` (a deep link) links an account."""
    code = field.start_link_code(context.args or [])
    if code is not None:
        _field(context, update, "link", code=code)
        return
    person = _person(context, update)
    _reply(context, update, texts.WELCOME if person is None else field.help_text(person))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: the commands (a linked person's own)."""
    person = _person(context, update)
    _reply(context, update, texts.HELP if person is None else field.help_text(person))


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/link <code>: link this Telegram account to a console account (绑定)."""
    code = (context.args or [""])[0]
    if not code.isdigit():
        _reply(context, update, texts.LINK_USAGE)
        return
    _field(context, update, "link", code=code)


async def unlink(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unlink: remove the link (the chat is a resident's again)."""
    _field(context, update, "unlink")


async def tasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tasks: a grid worker's open tasks, each with its step buttons."""
    _field(context, update, "tasks")


async def visit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/visit <households> <notes>: the day's visit log (走访日志)."""
    parsed = field.parse_visit(" ".join(context.args or []))
    if parsed is None:
        _reply(context, update, texts.VISIT_USAGE)
        return
    _field(context, update, "visit", households=parsed[0], notes=parsed[1])


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status [number]: the resident's own tickets, or one of them."""
    number = context.args[0] if context.args else None
    _queue(context, update, ("status", {"number": number}))


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mydata: what is stored about the resident and how to have it deleted."""
    _queue(context, update, ("mydata", {}))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: the cancel intent, as if the resident had typed 取消; a linked person's pending
    input (draft, resolve, coordination reason) is abandoned."""
    if _person(context, update) is not None:
        _field(context, update, "cancel")
        return
    _queue(context, update, _to_rasa("/cancel", "取消"))


async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: restart the Rasa conversation (forgets the petition being collected)."""
    _queue(context, update, _to_rasa("/restart", "重新开始", fallback_text=texts.NEW_CONVERSATION))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other /command."""
    _reply(context, update, texts.UNKNOWN_COMMAND)


# -- messages --------------------------------------------------------------------------------


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text goes to Rasa as it is; a linked person's to the field desk ("绑定 <code>"
    links anyone)."""
    message = _message(update)
    body = message.text or ""
    person = _person(context, update)
    command = field.text_command(body, person)
    if command is not None:
        _field(context, update, command[0], **command[1])
    elif person is not None:
        _field(context, update, "text", text=body, message_id=message.message_id)
    else:
        _queue(context, update, _to_rasa(body, body, message_id=message.message_id))


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location goes to Rasa the way the web chat's 📍 button sends it."""
    message = _message(update)
    point = message.location
    assert point is not None
    if _person(context, update) is not None:
        _field(
            context,
            update,
            "location",
            latitude=point.latitude,
            longitude=point.longitude,
            message_id=message.message_id,
        )
        return
    payload = media.location_payload(point.latitude, point.longitude)
    _queue(
        context,
        update,
        _to_rasa(payload, texts.LOCATION_DISPLAY, message_id=message.message_id),
    )


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact answers the phone question: its number goes to Rasa as text."""
    if _person(context, update) is not None:
        _reply(context, update, texts.FIELD_CONTACT)
        return
    shared = _message(update).contact
    assert shared is not None
    phone = contact_phone(shared.phone_number)
    _queue(context, update, _to_rasa(phone, phone))


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or image file: fetched and attached by the relay; its caption goes to Rasa."""
    message = _message(update)
    if message.photo:
        biggest = message.photo[-1]
        file_id, size, name = biggest.file_id, biggest.file_size, ""
    else:
        assert message.document is not None
        document = message.document
        file_id, size, name = document.file_id, document.file_size, document.file_name or ""
    if size and size > media.MAX_IMAGE_BYTES:
        _reply(context, update, texts.PHOTO_TOO_LARGE)
        return
    if _person(context, update) is not None:
        _field(
            context,
            update,
            "photo",
            file_id=file_id,
            file_name=name,
            caption=message.caption or "",
            message_id=message.message_id,
            media_group_id=message.media_group_id,
        )
        return
    jobs: list[tuple[str, dict[str, Any]]] = [
        ("photo", {"file_id": file_id, "file_name": name, "message_id": message.message_id})
    ]
    if message.caption:
        jobs.append(_to_rasa(message.caption, message.caption))
    _queue(context, update, *jobs)


async def voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Voice and audio: not understood, said politely."""
    _reply(context, update, texts.VOICE)


async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers: a friendly nudge towards words."""
    _reply(context, update, texts.STICKER)


async def video(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Videos, video notes and animations."""
    _reply(context, update, texts.VIDEO)


async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything else a resident can send (other files, polls, dice …)."""
    _reply(context, update, texts.OTHER_FILE)


# -- buttons ---------------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tapped inline button: mark the message, then send the stored payload to Rasa (a task
    or field-desk payload to the field desk)."""
    query = update.callback_query
    assert query is not None
    runtime = runtime_of(context)
    _, chat_id = _ids(update)
    stored = runtime.store.button(query.data or "")
    if stored is None or stored.chat_id != chat_id:
        await _answer_quietly(update, texts.BUTTON_EXPIRED)
        return
    await _answer_quietly(update, None)
    message = query.message
    try:
        marked = (
            render.chosen(message.text or "", stored.title)
            if isinstance(message, Message)
            else None
        )
        if marked is not None:
            await query.edit_message_text(marked, parse_mode=render.PARSE_MODE, reply_markup=None)
        else:
            await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError as exc:  # e.g. the keyboard was removed by an earlier tap
        log.info("keyboard not updated: %s", exc)
    if field.is_field_payload(stored.payload):
        _field(context, update, "button", payload=stored.payload)
        return
    _queue(context, update, _to_rasa(stored.payload, stored.display_text))


async def _answer_quietly(update: Update, text: str | None) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.info("callback query not answered: %s", exc)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One place for errors a handler did not expect; the resident sees nothing broken."""
    log.error("error while handling %s", update, exc_info=context.error)
