"""The atomic Redis lock store, against a real Redis (REDIS_HOST/REDIS_PORT; `make test`
starts one — scripts/redis.sh)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from nlu.lock_store import AtomicRedisLockStore


@pytest.fixture
def store() -> AtomicRedisLockStore:
    config = EndpointConfig(
        url=os.environ.get("REDIS_HOST", "127.0.0.1"),
        type="nlu.lock_store.AtomicRedisLockStore",
        port=os.environ.get("REDIS_PORT", "6379"),
        db="2",
        key_prefix=f"t{uuid.uuid4().hex[:8]}",
    )
    created = LockStore.create(config)  # as Rasa builds it from endpoints-scale.yml
    assert isinstance(created, AtomicRedisLockStore)
    try:
        created.red.ping()
    except redis.ConnectionError as exc:  # a test environment without Redis is a broken one
        raise AssertionError(f"no Redis at {config.url}: start one with scripts/redis.sh") from exc
    return created


async def test_holders_of_one_conversation_never_overlap_and_go_in_ticket_order(
    store: AtomicRedisLockStore,
) -> None:
    inside: list[int] = []
    order: list[int] = []

    async def message(i: int) -> None:
        await asyncio.sleep(0.001 * i)
        async with store.lock("c1") as ticket:
            inside.append(i)
            assert len(inside) == 1, "two holders at once"
            order.append(ticket)
            await asyncio.sleep(0.01)
            inside.remove(i)

    await asyncio.gather(*(message(i) for i in range(12)))
    assert order == sorted(order) == list(range(1, 13))


async def test_two_stores_share_the_lock_like_two_workers(store: AtomicRedisLockStore) -> None:
    other = AtomicRedisLockStore(client=store.red, key_prefix=store.prefix.split(":")[0])
    events: list[str] = []

    async def worker(lock_store: AtomicRedisLockStore, name: str) -> None:
        async with lock_store.lock("c2"):
            events.append(f"{name} in")
            await asyncio.sleep(0.02)
            events.append(f"{name} out")

    await asyncio.gather(worker(store, "a"), worker(other, "b"))
    assert events in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


async def test_other_conversations_do_not_wait(store: AtomicRedisLockStore) -> None:
    async with store.lock("busy"):
        started = time.monotonic()
        async with store.lock("free"):
            assert time.monotonic() - started < 0.5


async def test_a_holder_that_died_is_passed_over_after_the_lifetime(
    store: AtomicRedisLockStore,
) -> None:
    dead = store.take_ticket("c3")  # a worker took a ticket and was killed
    await store.wait_for_turn("c3", dead, lifetime=60)
    started = time.monotonic()
    async with store.lock("c3", lock_lifetime=0.2) as ticket:
        assert ticket == dead + 1 and time.monotonic() - started >= 0.2
    store.release("c3", dead)  # the late holder cannot move on a ticket not its own
    async with store.lock("c3") as after:
        assert after == dead + 2
    store.delete_lock("c3")
    assert store.red.get(store.prefix + "c3:next") is None


async def test_a_waiter_cancelled_before_its_turn_holds_up_nobody(
    store: AtomicRedisLockStore,
) -> None:
    """Rasa's REST channel cancels a message's task when the client gives up; the ticket it
    was waiting with must be skipped at once, not after the lock lifetime (60 s each)."""
    entered = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with store.lock("c4", lock_lifetime=60):
            entered.set()
            await release.wait()

    async def waiter() -> None:
        async with store.lock("c4", lock_lifetime=60):
            pass  # never reached: cancelled while waiting

    first = asyncio.create_task(holder())
    await entered.wait()
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    second.cancel()  # the client gave up while the first message was still being handled
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    await first
    started = time.monotonic()
    async with store.lock("c4", lock_lifetime=60):
        assert time.monotonic() - started < 5  # not the 60 s of a dead holder
    store.delete_lock("c4")
