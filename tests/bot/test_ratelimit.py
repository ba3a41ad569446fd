from __future__ import annotations

from bot.ratelimit import RateLimiter


def test_limit_per_user_with_one_warning_per_burst() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=3, period=60, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(3)] == [(True, False)] * 3
    assert limiter.check(1) == (False, True)
    assert limiter.check(1) == (False, False)
    assert limiter.check(2) == (True, False)  # others are not affected
    now[0] = 59.9
    assert limiter.check(1) == (False, False)
    now[0] = 60.0  # the first hits leave the window
    assert limiter.check(1) == (True, False)
    for _ in range(2):
        limiter.check(1)
    assert limiter.check(1) == (False, True)  # a new burst is told again
