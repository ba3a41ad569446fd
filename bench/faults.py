"""Fault injection at scale: a hundred and more conversations, a service killed in each.

Starts its own stack (Rasa, action server, app, outbox worker and the Telegram bot on a fake
Bot API, as `make run` does, on loopback), then runs trials as `tests/integration/faults.py`
describes: web-chat and Telegram conversations in turn, in each one service — app, action
server, Rasa, outbox worker or the bot — killed with SIGKILL at a random turn and moment and
started again at once. Prints the trials per service, the messages
residents were told to send again, the messages answered with silence, the conversations that
did not end with a ticket, and conversations with no ticket or more than one.

    .venv/bin/python -m bench.faults --trials 120
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.integration.faults import (
    outbox_worker,
    run_trials,
    start_telegram,
    tickets_per_conversation,
)
from tests.integration.services import start_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(f"{date.today()} · {platform.node()} · {platform.machine()} · {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="faults-") as workdir:
        stack = start_stack(Path(workdir), on_progress=lambda _: None)
        outbox = outbox_worker(stack)
        stack.extra.append(outbox)
        fake = FakeTelegram().start()
        try:
            outbox.start()
            telegram = (fake, start_telegram(stack, fake))
            started = time.monotonic()
            tally = run_trials(stack, outbox, args.trials, args.seed, telegram=telegram)
            elapsed = time.monotonic() - started
            counts = tickets_per_conversation(stack, tally.conversations)
        finally:
            stack.stop()
            fake.stop()
    spread = Counter(min(count, 2) for count in counts.values())
    print(tally.summary())
    print(
        f"conversations: {len(counts)}; with exactly one ticket: {spread[1]}; "
        f"with none (lost): {spread[0]}; with more than one (duplicated): {spread[2]}"
    )
    print(f"{elapsed:.0f} s for {args.trials} trials")


if __name__ == "__main__":
    main()
