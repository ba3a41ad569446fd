"""Turn latency: N simulated residents in parallel over Rasa's REST channel.

Each resident holds the whole intake conversation (report → place → phone → confirm), so
every turn runs NLU, the dialogue policies and the custom actions, and the last one files a
ticket in the case store. Prints p50/p95 per turn and overall turns per second.

    .venv/bin/python -m bench.turn_latency --residents 10 --rounds 3
    .venv/bin/python -m bench.turn_latency --rasa-url http://127.0.0.1:5005   # a running stack
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

SCRIPT = [
    ("report", "我家楼下的路灯坏了好几天了，晚上很黑"),
    ("place", "玉林小区3栋"),
    ("phone", "13812345678"),
    ("confirm", "/affirm"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def resident(client: httpx.AsyncClient, timings: dict[str, list[float]]) -> None:
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    for name, text in SCRIPT:
        started = time.perf_counter()
        response = await client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        response.raise_for_status()
        timings[name].append((time.perf_counter() - started) * 1000)


async def run(rasa_url: str, residents: int, rounds: int) -> None:
    timings: dict[str, list[float]] = {name: [] for name, _ in SCRIPT}
    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as client:
        await resident(client, {name: [] for name, _ in SCRIPT})  # warm-up
        started = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(resident(client, timings) for _ in range(residents)))
        elapsed = time.perf_counter() - started
    turns = sum(len(v) for v in timings.values())
    print(f"turn latency — {date.today()} — {platform.node()} ({platform.machine()})")
    print(f"{residents} concurrent residents × {rounds} rounds, {turns} turns in {elapsed:.1f} s")
    print(f"{'turn':<10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    every: list[float] = []
    for name, values in timings.items():
        every += values
        print(
            f"{name:<10}{statistics.median(values):>10.0f}{percentile(values, 95):>10.0f}"
            f"{max(values):>10.0f}"
        )
    print(
        f"{'all':<10}{statistics.median(every):>10.0f}{percentile(every, 95):>10.0f}"
        f"{max(every):>10.0f}"
    )
    print(f"throughput: {turns / elapsed:.1f} turns/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rasa-url", help="use a running stack instead of starting one")
    args = parser.parse_args()
    if args.rasa_url:
        asyncio.run(run(args.rasa_url, args.residents, args.rounds))
        return
    from tests.integration.services import start_stack

    with tempfile.TemporaryDirectory() as workdir:
        stack = start_stack(Path(workdir))
        try:
            asyncio.run(run(stack.rasa_url, args.residents, args.rounds))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
