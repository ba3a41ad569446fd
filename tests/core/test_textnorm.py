from __future__ import annotations

import pytest

from core.textnorm import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("黃門街３６號門口", "黄门街36号门口"),
        ("長壽苑小區　３棟", "长寿苑小区 3栋"),
        ("玉林北路18号", "玉林北路18号"),
        ("", ""),
    ],
)
def test_simplified_half_width_and_same_length(text: str, expected: str) -> None:
    assert normalize(text) == expected
    assert len(normalize(text)) == len(text)
