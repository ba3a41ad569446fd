"""Telegram update handlers: translate each update into stored jobs or replies, quickly.

Handlers do not wait for Rasa or the case store. They store what the resident sent (keys
derived from the ``update_id``, so a redelivered update changes nothing) and wake the
relay; slow work happens there, in order per resident.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import media, render, texts
from bot.ratelimit import RateLimiter
from bot.relay import Relay
from bot.sender import Sender
from bot.store import NewJob, NewMessage, Store

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
    """/start: what the bot can do."""
    _reply(context, update, texts.WELCOME)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: the commands."""
    _reply(context, update, texts.HELP)


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status [number]: the resident's own tickets, or one of them."""
    number = context.args[0] if context.args else None
    _queue(context, update, ("status", {"number": number}))


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mydata: what is stored about the resident and how to have it deleted."""
    _queue(context, update, ("mydata", {}))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: the cancel intent, as if the resident had typed 取消."""
    _queue(context, update, _to_rasa("/cancel", "取消"))


async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: restart the Rasa conversation (forgets the petition being collected)."""
    _queue(context, update, _to_rasa("/restart", "重新开始", fallback_text=texts.NEW_CONVERSATION))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other /command."""
    _reply(context, update, texts.UNKNOWN_COMMAND)


# -- messages --------------------------------------------------------------------------------


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text goes to Rasa as it is."""
    body = _message(update).text or ""
    _queue(context, update, _to_rasa(body, body))


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location goes to Rasa the way the web chat's 📍 button sends it."""
    point = _message(update).location
    assert point is not None
    payload = media.location_payload(point.latitude, point.longitude)
    _queue(context, update, _to_rasa(payload, texts.LOCATION_DISPLAY))


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact answers the phone question: its number goes to Rasa as text."""
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
    jobs: list[tuple[str, dict[str, Any]]] = [("photo", {"file_id": file_id, "file_name": name})]
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
    """A tapped inline button: mark the message, then send the stored payload to Rasa."""
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
