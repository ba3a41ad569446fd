"""A local fake of the Telegram Bot API for tests (Telegram itself is not reachable)."""

from tests.fake_telegram.server import TOKEN, Call, FakeTelegram

__all__ = ["TOKEN", "Call", "FakeTelegram"]
