"""Ticket numbers: local date + five-digit daily sequence."""

from __future__ import annotations

import re

from core.ticket_number import PATTERN, find_ticket_number, format_ticket_number, is_ticket_number


def test_format_and_check() -> None:
    number = format_ticket_number("20261201", 7)
    assert number == "2026120100007"
    assert is_ticket_number(number) and re.fullmatch(PATTERN, number)
    assert not is_ticket_number("202612010000") and not is_ticket_number("20261201000071")
    assert not is_ticket_number("2026120100007 ")


def test_found_in_a_message_but_not_inside_a_longer_number() -> None:
    assert find_ticket_number("查一下2026120100007的进度") == "2026120100007"
    assert find_ticket_number("电话 13812345678") is None
    assert find_ticket_number("12026120100007") is None
