"""Load: open-loop Poisson arrivals of whole petition conversations over Rasa's REST channel.

Conversations start at random (exponential gaps) at a rate set in turns per second, whether
or not earlier ones have finished — as residents do — so a slow server builds a queue
instead of slowing the arrivals down. Each conversation is the whole intake (report → place
→ phone → confirm) and files a ticket. Prints p50/p95/p99 per turn, the achieved rate,
errors (HTTP errors, timeouts) and conversations that did not end with a ticket number.

``--capacity`` measures the other way: N residents talk back to back (closed loop) for the
duration, and the turns answered per second at saturation are printed.

    .venv/bin/python -m bench.load --rate 20 --seconds 60            # starts its own stack
    .venv/bin/python -m bench.load --rasa-url http://127.0.0.1:5005 --rate 20
    .venv/bin/python -m bench.load --rasa-url http://127.0.0.1:5005 --capacity 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

# (problem, place): each place resolves to one grid, so every conversation has four turns.
CONVERSATIONS = [
    ("我家楼下的路灯坏了好几天了，晚上很黑", "玉林小区3栋"),
    ("小区门口的下水道堵了，污水都漫到路上了", "玉林小区3栋"),
    ("楼上的烧烤店每天半夜还在营业，吵得睡不着", "玉林小区3栋"),
    ("路边的垃圾桶满了好几天没人清运，臭得很", "玉林小区3栋"),
]
TURN_NAMES = ("report", "place", "phone", "confirm")
TURNS_PER_CONVERSATION = len(TURN_NAMES)
NUMBER = re.compile(r"工单号：(\d{13})")
TIMEOUT = 60.0


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    by_turn: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    unfiled: int = 0
    conversations: int = 0

    def report(self, title: str, elapsed: float, offered: float | None) -> None:
        lat = self.latencies_ms
        print(title)
        if offered is not None:
            print(f"offered: {offered:.1f} turns/s")
        print(
            f"conversations: {self.conversations}, turns answered: {len(lat)} in {elapsed:.1f} s"
            f" → achieved {len(lat) / elapsed:.1f} turns/s"
        )
        if lat:
            print(
                f"per turn: p50 {percentile(lat, 50):.0f} ms, p95 {percentile(lat, 95):.0f} ms,"
                f" p99 {percentile(lat, 99):.0f} ms, mean {statistics.fmean(lat):.0f} ms,"
                f" max {max(lat):.0f} ms"
            )
            for name, values in self.by_turn.items():
                print(
                    f"  {name:<8} p50 {percentile(values, 50):>5.0f} ms,"
                    f" p95 {percentile(values, 95):>5.0f} ms"
                )
        print(f"errors: {self.errors}; conversations without a ticket number: {self.unfiled}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def conversation(client: httpx.AsyncClient, tally: Tally, rng: random.Random) -> None:
    problem, place = rng.choice(CONVERSATIONS)
    sender = f"load-{uuid.uuid4().hex[:12]}"
    reply: list[dict[str, object]] = []
    for name, text in zip(TURN_NAMES, (problem, place, "13812345678", "/affirm"), strict=True):
        started = time.perf_counter()
        try:
            response = await client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            response.raise_for_status()
            reply = response.json()
        except (httpx.HTTPError, ValueError):
            tally.errors += 1
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        tally.latencies_ms.append(elapsed_ms)
        tally.by_turn.setdefault(name, []).append(elapsed_ms)
    tally.conversations += 1
    if not any(NUMBER.search(str(r.get("text", ""))) for r in reply):
        tally.unfiled += 1


async def warm_up(client: httpx.AsyncClient, rng: random.Random) -> None:
    """One whole conversation first; a stack that cannot hold one is not measured."""
    tally = Tally()
    await conversation(client, tally, rng)
    if tally.errors or tally.unfiled:
        raise SystemExit(f"{client.base_url} did not hold a whole conversation; nothing measured")


def _client(rasa_url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    return httpx.AsyncClient(base_url=rasa_url, timeout=TIMEOUT, limits=limits)


async def open_loop(rasa_url: str, rate: float, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    tally = Tally()
    per_second = rate / TURNS_PER_CONVERSATION
    async with _client(rasa_url) as client:
        await warm_up(client, rng)
        started = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        next_at = started
        while next_at - started < seconds:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            tasks.append(asyncio.create_task(conversation(client, tally, rng)))
            next_at += rng.expovariate(per_second)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    tally.report(_title(f"open loop, {seconds:.0f} s of arrivals"), elapsed, rate)


async def closed_loop(rasa_url: str, residents: int, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    tally = Tally()
    async with _client(rasa_url) as client:
        await warm_up(client, rng)
        started = time.perf_counter()

        async def keep_talking() -> None:
            while time.perf_counter() - started < seconds:
                await conversation(client, tally, rng)

        await asyncio.gather(*(keep_talking() for _ in range(residents)))
        elapsed = time.perf_counter() - started
    tally.report(_title(f"capacity, {residents} residents back to back"), elapsed, None)


def _title(what: str) -> str:
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    return f"load — {date.today()} — {machine} — {what}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="offered turns per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long arrivals go on")
    parser.add_argument("--capacity", type=int, metavar="N", help="closed loop, N residents")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--rasa-url", help="use a running stack instead of starting one")
    args = parser.parse_args()

    def go(url: str) -> None:
        if args.capacity:
            asyncio.run(closed_loop(url, args.capacity, args.seconds, args.seed))
        else:
            asyncio.run(open_loop(url, args.rate, args.seconds, args.seed))

    if args.rasa_url:
        go(args.rasa_url)
        return
    from tests.integration.services import start_stack

    with tempfile.TemporaryDirectory() as workdir:
        stack = start_stack(Path(workdir))
        try:
            go(stack.rasa_url)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
