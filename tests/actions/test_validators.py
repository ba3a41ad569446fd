from __future__ import annotations

import pytest

from actions import validators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("我的电话 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("028-85551234", "028-85551234"),
        ("座机01067661234", "01067661234"),
        ("12812345678", None),
        ("1381234567", None),
        ("138123456789", None),
        ("电话还没想好", None),
    ],
)
def test_normalize_phone(text: str, expected: str | None) -> None:
    assert validators.normalize_phone(text) == expected


@pytest.mark.parametrize("text", ["匿名", "我要匿名反映", "电话不方便留", "不想留电话", "保密"])
def test_anonymity(text: str) -> None:
    assert validators.wants_anonymity(text)


def test_description_limits() -> None:
    assert validators.description_problem("路灯") == "short"
    assert validators.description_problem("路灯坏了好几天") is None
    assert validators.description_problem("很" * 1001) == "long"


def test_location_limits() -> None:
    assert validators.location_ok("玉林北路18号")
    assert not validators.location_ok("这")
    assert not validators.location_ok("路" * 201)


def test_location_entities_cut_at_a_token_boundary_are_completed() -> None:
    from actions.conversation import complete_location

    text = "玉林北路18号门口的下水道堵了"
    assert complete_location(text, "玉林北路18") == "玉林北路18号"
    assert complete_location("长寿苑小区3栋2单元漏水", "长寿苑小区3") == "长寿苑小区3栋"
    assert complete_location(text, "玉林北路18号") == "玉林北路18号"
    assert complete_location(text, "玉林北路") == "玉林北路18号"
    assert complete_location("白佛村三组的水渠", "白佛村") == "白佛村三组"
    assert complete_location("玉林北路的路灯", "玉林北路") == "玉林北路"
    assert complete_location(text, "不在文中") == "不在文中"
