"""Fault injection at scale: a hundred and more conversations, a service killed in each.

Starts its own stack (Rasa, action server, app, outbox worker and the Telegram bot on a fake
Bot API, as `make run` does, on loopback), then runs trials as `tests/integration/faults.py`
describes: web-chat and Telegram conversations in turn, in each one service — app, action
server, Rasa, outbox worker or the bot — killed with SIGKILL at a random turn and moment and
started again at once. ``--scale`` runs the stack as `make run-scale` does (two Rasa workers,
PostgreSQL, Redis; its own servers under a temporary folder) and kills the PostgreSQL server
too. Prints the trials per service, the messages residents were told to send again, the
messages answered with silence, and the conversations with no ticket or more than one.

    .venv/bin/python -m bench.faults --trials 120
    .venv/bin/python -m bench.faults --trials 60 --scale
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_PORT, REDIS_PORT = 55462, 56392


def scale_servers(resources: ExitStack, folder: Path) -> None:
    """PostgreSQL and Redis of their own for the scale profile; the profile's settings."""
    pg_dir, redis_dir = folder / "postgres", folder / "redis"
    folder.chmod(0o755)  # the postgres user must reach its data folder inside
    env = {**os.environ, "TEST_POSTGRES_PORT": str(PG_PORT), "REDIS_PORT": str(REDIS_PORT)}
    for script, directory in (("test-postgres.sh", pg_dir), ("redis.sh", redis_dir)):
        subprocess.run(
            [str(ROOT / "scripts" / script), "start", str(directory)],
            env=env,
            check=True,
            capture_output=True,
        )
        resources.callback(
            subprocess.run,
            [str(ROOT / "scripts" / script), "stop", str(directory)],
            env=env,
            check=False,
        )
    os.environ.update(
        {
            "STACK_PROFILE": "scale",
            "TEST_POSTGRES_URL": f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/postgres",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(REDIS_PORT),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scale", action="store_true", help="make run-scale's profile")
    args = parser.parse_args()
    print(f"{date.today()} · {platform.node()} · {platform.machine()} · {os.cpu_count()} cores")
    with ExitStack() as resources:
        workdir = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="faults-")))
        if args.scale:
            scale_servers(resources, workdir)
        # The stack reads its profile from the environment when it is imported.
        from tests.fake_telegram import FakeTelegram
        from tests.integration.faults import (
            PostgresServer,
            outbox_worker,
            run_trials,
            start_telegram,
            tickets_per_conversation,
        )
        from tests.integration.services import start_stack

        (workdir / "stack").mkdir()
        stack = start_stack(workdir / "stack", on_progress=lambda _: None)
        resources.callback(stack.stop)
        outbox = outbox_worker(stack)
        stack.extra.append(outbox)
        fake = FakeTelegram().start()
        resources.callback(fake.stop)
        outbox.start()
        telegram = (fake, start_telegram(stack, fake))
        database = (
            PostgresServer(workdir / "postgres", PG_PORT, f"{stack.app_url}/healthz")
            if args.scale
            else None
        )
        started = time.monotonic()
        tally = run_trials(
            stack, outbox, args.trials, args.seed, telegram=telegram, database=database
        )
        elapsed = time.monotonic() - started
        counts = tickets_per_conversation(stack, tally.conversations)
        spread = Counter(min(count, 2) for count in counts.values())
        print(tally.summary())
        print(f"conversations without a ticket number or receipt: {tally.unfinished}")
        twice = {c: tally.killed_in.get(c, "") for c, n in counts.items() if n > 1}
        print(f"conversations with more than one ticket (and what was killed): {twice}")
        print(
            f"conversations: {len(counts)}; with exactly one ticket: {spread[1]}; "
            f"with none (lost): {spread[0]}; with more than one (duplicated): {spread[2]}"
        )
        print(f"{elapsed:.0f} s for {args.trials} trials", flush=True)


if __name__ == "__main__":
    main()
