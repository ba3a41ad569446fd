"""A Redis lock store whose tickets are atomic, for several Rasa workers (``make run-scale``).

Rasa 3.6's ``RedisLockStore`` issues a ticket by reading the conversation's lock, adding the
ticket and writing the lock back. Two workers taking two messages of a new conversation at
the same moment both read "no lock", both write a lock holding ticket 0, and both go ahead;
when both save the tracker, one message and its answers are lost (measured: 13 of 40 pairs
sent 30 ms apart). Its waiters also poll once a second.

Here the conversation's lock is a ticket counter and a "now serving" counter in Redis: a
ticket is an ``INCR`` (atomic), messages are handled in ticket order, and the holder moves
"now serving" on when it is done. A ticket in service longer than the lock lifetime (a worker
that died) is passed over by the next waiter; a ticket whose waiter was cancelled before its
turn (the client gave up) is skipped at once. Every change of "now serving" is a WATCH/MULTI
transaction, so a late holder never moves on a ticket that is not its own. Keys expire after
an hour of silence. endpoints-scale.yml names it: ``type: nlu.lock_store.AtomicRedisLockStore``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore, _get_lock_lifetime
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

IDLE_SECONDS = 3600  # a conversation's lock keys vanish after this long without a message
FIRST_POLL, LAST_POLL = 0.002, 0.05  # seconds between a waiter's looks, doubling


class AtomicRedisLockStore(LockStore):
    """Per-conversation FIFO locks in Redis with atomic tickets."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        client: Optional[Any] = None,
        key_prefix: str = "petition",
    ) -> None:
        settings: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        self.red = client or redis.StrictRedis(
            host=(endpoint_config.url if endpoint_config else None) or "localhost",
            port=int(settings.get("port") or 6379),
            db=int(settings.get("db") or 1),
            password=settings.get("password") or None,
            socket_timeout=float(settings.get("socket_timeout") or 10),
        )
        self.prefix = f"{settings.get('key_prefix') or key_prefix}:lock:"

    def _keys(self, conversation_id: str) -> tuple[str, str, str]:
        base = self.prefix + conversation_id
        return f"{base}:next", f"{base}:serving", f"{base}:since"

    def _gone_key(self, conversation_id: str) -> str:
        return f"{self.prefix}{conversation_id}:gone"

    @asynccontextmanager
    async def lock(  # type: ignore[override]
        self,
        conversation_id: str,
        lock_lifetime: float = _get_lock_lifetime(),
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[int, None]:
        """Hold the conversation's lock (in ticket order) for the duration of the block."""
        ticket = self.take_ticket(conversation_id)
        try:
            await self.wait_for_turn(conversation_id, ticket, lock_lifetime)
        except BaseException:
            # Cancelled while waiting (the client gave up: Rasa's REST channel cancels the
            # message's task): the ticket must not hold up the ones behind it.
            self.abandon(conversation_id, ticket)
            raise
        try:
            yield ticket
        finally:
            self.release(conversation_id, ticket)

    def take_ticket(self, conversation_id: str) -> int:
        next_key, serving_key, since_key = self._keys(conversation_id)
        pipe = self.red.pipeline()
        pipe.incr(next_key)
        pipe.set(serving_key, 1, nx=True)  # the first ticket of a conversation is served first
        pipe.set(since_key, time.time(), nx=True)
        for key in (next_key, serving_key, since_key):
            pipe.expire(key, IDLE_SECONDS)
        return int(pipe.execute()[0])

    async def wait_for_turn(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        _, serving_key, since_key = self._keys(conversation_id)
        pause = FIRST_POLL
        while True:
            serving, since = self.red.mget(serving_key, since_key)
            serving = int(serving or ticket)
            if serving == ticket:
                return
            if serving > ticket:  # passed over as dead while still waiting: never happens
                raise LockError(f"会话 {conversation_id} 的锁已过期（号 {ticket}）")
            if self.red.sismember(self._gone_key(conversation_id), serving):
                self._move_on(conversation_id, serving)  # its waiter gave up: next, at once
                continue
            if time.time() - float(since or time.time()) > lifetime:
                log.warning("lock of %s: ticket %s held too long; passed over", conversation_id,
                            serving)  # fmt: skip
                self._move_on(conversation_id, serving)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_POLL)

    def release(self, conversation_id: str, ticket: int) -> None:
        self._move_on(conversation_id, ticket)

    def abandon(self, conversation_id: str, ticket: int) -> None:
        """A ticket whose waiter is gone: skipped when its turn comes (or now, if it has)."""
        gone = self._gone_key(conversation_id)
        pipe = self.red.pipeline()
        pipe.sadd(gone, ticket)
        pipe.expire(gone, IDLE_SECONDS)
        pipe.execute()
        self._move_on(conversation_id, ticket)

    def _move_on(self, conversation_id: str, ticket: int) -> None:
        """Serve the ticket after ``ticket`` — only if ``ticket`` is still the one served."""
        _, serving_key, since_key = self._keys(conversation_id)
        with self.red.pipeline() as pipe:
            try:
                pipe.watch(serving_key)
                if int(pipe.get(serving_key) or 0) != ticket:
                    return
                pipe.multi()
                pipe.set(serving_key, ticket + 1, ex=IDLE_SECONDS)
                pipe.set(since_key, time.time(), ex=IDLE_SECONDS)
                pipe.execute()
            except redis.WatchError:
                return  # someone else moved it on meanwhile

    # Rasa's TicketLock objects are not used: ``lock`` above is the whole interface Rasa calls.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return None

    def delete_lock(self, conversation_id: str) -> None:
        for key in (*self._keys(conversation_id), self._gone_key(conversation_id)):
            self.red.delete(key)

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore keeps no TicketLock objects")
