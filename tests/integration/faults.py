"""Fault injection: services killed with SIGKILL in the middle of residents' conversations.

One trial is one resident filing a petition through the web chat (the app relays to Rasa,
Rasa calls the action server, the action server files in the case store or, when that fails,
in the outbox that the outbox worker delivers later). At a random turn, a random moment after
the message was sent, one service is killed with SIGKILL and started again at once — what the
supervisor of `make run` does. The resident behaves as the web chat page does: a message that
got an error or "请稍后" is sent again once the services answer, and they answer whatever the
bot asks next, so a conversation that went on without them is followed, not restarted.

Afterwards: every conversation that was confirmed has exactly one ticket in the case store
(after the outbox worker's pass), no message was answered with silence (a 200 without any
reply), and every conversation reached its ticket number or the outbox's receipt.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.texts import BUSY
from tests.fake_telegram import FakeTelegram
from tests.integration.services import ROOT, Service, Stack, telegram_bot

PROBLEM = "我家楼下的路灯坏了好几天了，晚上很黑"
PLACE = "玉林小区3栋"
PHONE = "13812345678"
MAX_SENDS = 14  # per conversation, resends included
FILED = ("工单号", "回执码")
TELEGRAM_ANSWER_SECONDS = 120  # the bot retries kept messages every second


@dataclass
class Tally:
    trials: Counter[str] = field(default_factory=Counter)  # per killed service
    retried: int = 0  # messages the resident was told to send again (error or 503)
    silent: int = 0  # 200 answers without any reply: a message lost without a word
    retried_after: Counter[str] = field(default_factory=Counter)  # by the service killed
    killed_in: dict[str, str] = field(default_factory=dict)  # conversation → what was killed
    unfinished: list[str] = field(default_factory=list)  # conversations without a ticket
    conversations: list[str] = field(default_factory=list)

    def told_to_retry(self, kill: tuple[Killable, int, float] | None) -> None:
        self.retried += 1
        self.retried_after[kill[0].name if kill else "none"] += 1

    def ended(self, conversation_id: str, filed: bool) -> None:
        if not filed:
            self.unfinished.append(conversation_id)
        self.conversations.append(conversation_id)

    def summary(self) -> str:
        kills = ", ".join(f"{name} {count}" for name, count in sorted(self.trials.items()))
        retries = ", ".join(f"{k} {v}" for k, v in sorted(self.retried_after.items()))
        return (
            f"trials: {sum(self.trials.values())} ({kills}); messages told to retry: "
            f"{self.retried} (after killing: {retries}); "
            f"answered with silence: {self.silent}; conversations without a "
            f"ticket: {len(self.unfinished)}"
        )


def next_message(replies: list[dict[str, object]]) -> str | None:
    """What a resident answers to the bot's last replies; None once the petition is filed."""
    text = "\n".join(str(reply.get("text", "")) for reply in replies)
    if any(word in text for word in FILED):
        return None
    titles = [
        str(button.get("title", ""))
        for reply in replies
        for button in (reply.get("buttons") or [])  # type: ignore[attr-defined]
    ]
    if "确认提交" in titles:
        return "/affirm"
    if "电话" in text:
        return PHONE
    if "位置" in text or "地点" in text or "地址" in text:
        return PLACE
    return PROBLEM


def wait_until_up(services: list[Killable], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for service in services:
        while time.monotonic() < deadline:
            try:
                if httpx.get(service.ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise TimeoutError(f"{service.name} did not come back")


@dataclass
class PostgresServer:
    """The scale profile's database server (scripts/test-postgres.sh), killed like a service."""

    directory: Path
    port: int
    ready_url: str  # the app's health check: what waits on the database is the app
    name: str = "postgresql"
    process: None = None

    def _postmaster(self) -> int | None:
        pid_file = self.directory / "data" / "postmaster.pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        pid = self._postmaster()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)

    def start(self, timeout: float = 60) -> None:
        """Start it again; its orphaned backends may hold shared memory for a moment."""
        env = {**os.environ, "TEST_POSTGRES_PORT": str(self.port)}
        deadline = time.monotonic() + timeout
        while True:
            started = subprocess.run(
                [str(ROOT / "scripts/test-postgres.sh"), "start", str(self.directory)],
                env=env,
                capture_output=True,
                check=False,
            )
            if started.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start again: {started.stderr[-500:]!r}")
            time.sleep(0.5)


Killable = Service | PostgresServer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_and_restart(
    service: Service | PostgresServer, delay: float, before_start: Callable[[], None] | None = None
) -> threading.Thread:
    """SIGKILL the service's process group after ``delay`` s, then start it again."""

    def run() -> None:
        time.sleep(delay)
        if isinstance(service, PostgresServer):
            service.kill()
        else:
            process = service.process
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the service and every child it started
                process.wait()
            service.process = None
        if before_start is not None:
            before_start()
        service.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def settle(killer: threading.Thread | None, services: list[Killable]) -> None:
    """After a conversation: the killed service is back before the next one starts."""
    if killer is not None:
        killer.join()
        wait_until_up(services)


def converse(
    stack: Stack, services: list[Killable], tally: Tally, kill: tuple[Killable, int, float] | None
) -> str:
    sender = f"fault{uuid.uuid4().hex[:12]}"
    message: str | None = PROBLEM
    killer: threading.Thread | None = None
    for sent in range(MAX_SENDS):
        if message is None:
            break
        if kill is not None and sent == kill[1] and killer is None:
            killer = kill_and_restart(kill[0], kill[2])
        try:
            response = httpx.post(
                f"{stack.app_url}/chat/api/messages",
                json={"sender_id": sender, "text": message},
                timeout=60,
            )
        except httpx.HTTPError:
            response = None
        if response is None or response.status_code >= 500:
            tally.told_to_retry(kill)
            if killer is not None:
                killer.join()
            wait_until_up(services)
            continue  # the page sends the same message again
        replies = list(response.json().get("messages", []))
        if not replies:
            tally.silent += 1
            continue
        message = next_message(replies)
    settle(killer, services)
    tally.ended(f"web-{sender}", filed=message is None)
    return sender


def as_replies(messages: list[dict[str, Any]]) -> list[dict[str, object]]:
    """Bot API messages as the REST channel's replies (text and button titles)."""
    return [
        {
            "text": message.get("text", ""),
            "buttons": [
                {"title": button["text"]}
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
            ],
        }
        for message in messages
    ]


def telegram_answer(fake: FakeTelegram, user: int, after: int, timeout: float) -> list[dict]:
    """The bot's next messages to the user that are not the "busy, kept" notice (which means
    the bot keeps the message and answers later by itself), or [] if none came in time."""

    def answered() -> bool:
        return any(m["text"] != BUSY for m in fake.messages_to(user)[after:])

    try:
        fake.wait_for(answered, timeout)
    except AssertionError:
        return []
    time.sleep(0.5)  # the rest of this turn's messages
    return [m for m in fake.messages_to(user)[after:] if m["text"] != BUSY]


def converse_on_telegram(
    fake: FakeTelegram,
    services: list[Killable],
    tally: Tally,
    kill: tuple[Killable, int, float] | None,
    user: int,
    bot: Service,
) -> None:
    """A resident on Telegram: a message is sent once; the bot keeps it and answers it."""
    message: str | None = PROBLEM
    killer: threading.Thread | None = None
    for sent in range(MAX_SENDS):
        if message is None:
            break
        if kill is not None and sent == kill[1] and killer is None:
            hook = fake.forget_polls if kill[0] is bot else None
            killer = kill_and_restart(kill[0], kill[2], before_start=hook)
        before = len(fake.messages_to(user))
        if message == "/affirm":
            fake.tap(user, "确认提交")
        else:
            fake.send_text(user, message)
        replies = telegram_answer(fake, user, before, timeout=TELEGRAM_ANSWER_SECONDS)
        if not replies:
            tally.silent += 1
            break
        if any(m["text"] == BUSY for m in fake.messages_to(user)[before:]):
            tally.told_to_retry(kill)
        message = next_message(as_replies(replies))
    settle(killer, services)
    tally.ended(f"tg-{user}", filed=message is None)


def start_telegram(stack: Stack, fake: FakeTelegram) -> Service:
    """The bot process (the Telegram relay) on the fake Bot API, started."""
    bot = telegram_bot(
        stack,
        base_url=fake.base_url,
        file_url=fake.base_file_url,
        ready_url=fake.ready_url,
        token=fake.token,
    )
    bot.start(timeout=60)
    return bot


def outbox_worker(stack: Stack) -> Service:
    """The outbox worker as `make run` runs it (a loop), passing every half second."""
    return Service(
        "outbox",
        [str(ROOT / ".venv-rasa/bin/python"), "-m", "actions.outbox", "--interval", "0.5"],
        f"{stack.app_url}/healthz",  # it serves nothing itself: started is ready
        stack.env,
        stack.workdir / "outbox.log",
    )


def run_trials(
    stack: Stack,
    outbox: Service,
    trials: int,
    seed: int,
    on_progress: Callable[[str], None] = print,
    telegram: tuple[FakeTelegram, Service] | None = None,
    database: PostgresServer | None = None,
) -> Tally:
    """``trials`` conversations, each with one service killed somewhere in it.

    Web-chat conversations take turns killing the app, the action server, Rasa and the outbox
    worker; with ``telegram`` (the fake Bot API and the bot process), every other conversation
    is a Telegram one, killing the bot (the Telegram relay) or one of the others. With
    ``database`` (the scale profile's PostgreSQL), the web chat's turn also kills the database.
    """
    rng = random.Random(seed)
    services = [stack.app, stack.actions, stack.rasa, outbox]
    killable: list[Service | PostgresServer] = [*services, *([database] if database else [])]
    everything: list[Killable] = [*killable, *([telegram[1]] if telegram else [])]
    plan: list[tuple[str, Service | PostgresServer]] = [("web", service) for service in killable]
    if telegram:
        bot = telegram[1]
        on_telegram: list[tuple[str, Service | PostgresServer]] = [
            ("telegram", s) for s in (bot, stack.rasa, bot, stack.actions, bot)[: len(plan)]
        ]
        plan = [pair for web, tg in zip(plan, on_telegram, strict=True) for pair in (web, tg)]
    tally = Tally()
    for number in range(trials):
        channel, service = plan[number % len(plan)]
        kill = (service, rng.randrange(4), rng.uniform(0.0, 0.4))
        tally.trials[f"{service.name} ({channel})"] += 1
        if channel == "web":
            converse(stack, everything, tally, kill)
        else:
            assert telegram is not None
            converse_on_telegram(
                telegram[0], everything, tally, kill, 700_000 + number, telegram[1]
            )
        tally.killed_in[tally.conversations[-1]] = f"{service.name} at turn {kill[1]}"
        if (number + 1) % 10 == 0:
            on_progress(f"{number + 1} trials: {tally.summary()}")
    return tally


def tickets_per_conversation(stack: Stack, conversations: list[str]) -> Counter[str]:
    """Tickets in the case store per conversation, after the outbox's last pass."""
    stack.run_rasa_side("-m", "actions.outbox", "--once")
    counts: Counter[str] = Counter()
    for conversation_id in conversations:
        response = httpx.get(
            f"{stack.app_url}/api/v1/tickets",
            params={"conversation_id": conversation_id},
            headers=stack.api_headers(),
            timeout=30,
        )
        response.raise_for_status()
        counts[conversation_id] = int(response.json()["total"])
    return counts
