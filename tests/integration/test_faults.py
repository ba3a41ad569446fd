"""Services killed in the middle of conversations: nothing lost, nothing filed twice.

A few trials here (CI's time), on the web chat and on Telegram (the real bot process on a fake
Bot API); `bench/faults.py` runs a hundred and more and its figures are in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.integration.faults import (
    outbox_worker,
    run_trials,
    start_telegram,
    tickets_per_conversation,
)
from tests.integration.services import Service, Stack, start_stack

pytestmark = pytest.mark.integration
TRIALS = 8  # web chat: app, action server, Rasa, outbox worker; Telegram: bot, Rasa, bot, actions


@pytest.fixture(scope="module")
def own_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, Service, tuple[FakeTelegram, Service]]]:
    """A stack of its own: its services are killed and started again."""
    stack = start_stack(Path(tmp_path_factory.mktemp("faults")))
    outbox = outbox_worker(stack)
    stack.extra.append(outbox)
    fake = FakeTelegram().start()
    try:
        outbox.start()
        yield stack, outbox, (fake, start_telegram(stack, fake))
    finally:
        stack.stop()
        fake.stop()


def test_killed_services_lose_nothing_and_file_nothing_twice(
    own_stack: tuple[Stack, Service, tuple[FakeTelegram, Service]],
) -> None:
    stack, outbox, telegram = own_stack
    tally = run_trials(stack, outbox, TRIALS, seed=7, on_progress=lambda _: None, telegram=telegram)
    assert sum(tally.trials.values()) == TRIALS
    assert tally.silent == 0, tally.summary()
    assert not tally.unfinished, tally.summary()
    counts = tickets_per_conversation(stack, tally.conversations)
    twice = {c: tally.killed_in.get(c) for c, n in counts.items() if n != 1}
    assert not twice, (twice, tally.summary())  # the conversation and what was killed in it
