"""Per-user sliding-window rate limit (in memory: a restart forgives everyone)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` messages per ``period`` seconds for each user.

    ``check`` answers whether a message may pass and, when it may not, whether the user
    should be told (once per burst, so a flood does not get a flood of warnings back).
    """

    def __init__(
        self, *, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, user_id: int) -> tuple[bool, bool]:
        """Return ``(allowed, warn)`` and count the message if it is allowed."""
        now = self._clock()
        hits = self._hits.setdefault(user_id, deque())
        while hits and hits[0] <= now - self.period:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._warned.discard(user_id)
            return True, False
        if user_id in self._warned:
            return False, False
        self._warned.add(user_id)
        return False, True
