from __future__ import annotations

import pytest

from core.settings import ROOT
from grids.registry import load_registry
from grids.resolver import Resolver, cn_number, resolver_for


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    registry = load_registry(ROOT / "data" / "grids")
    return resolver_for(registry, ROOT / "data" / "jieba" / "userdict.txt")


@pytest.mark.parametrize(
    ("text", "number"), [("12", 12), ("十二", 12), ("一百零五", 105), ("三", 3), ("３", 3)]
)
def test_chinese_numbers(text: str, number: int) -> None:
    assert cn_number(text) == number


def test_door_number_picks_the_grid_holding_it(resolver: Resolver) -> None:
    low = resolver.resolve_text("黄门街12号对面")
    high = resolver.resolve_text("黄门街九十号门口")
    assert low.status == high.status == "confident"
    assert low.candidates[0].grid.code != high.candidates[0].grid.code
    assert low.candidates[0].matched == "黄门街12号"
    assert low.candidates[0].span == (0, 6)


def test_buildings_village_groups_and_typos(resolver: Resolver) -> None:
    seventh = resolver.resolve_text("长寿苑小区7栋东门")
    third = resolver.resolve_text("长寿苑3栋后面")
    assert seventh.candidates[0].grid.code != third.candidates[0].grid.code
    assert resolver.resolve_text("白佛村3组的水渠").candidates[0].grid.name.startswith("白佛村三组")
    right = resolver.resolve_text("长寿苑小区3栋").candidates[0].grid.code
    typo = resolver.resolve_text("长寿院3栋后面")
    assert typo.status == "confident" and typo.candidates[0].grid.code == right
    # 玉林北璐 could be 玉林北路, 玉林北街 or 玉林北区: offered, not guessed.
    unsure = resolver.resolve_text("玉林北璐18号")
    expected = resolver.resolve_text("玉林北路18号").candidates[0].grid.code
    assert unsure.status == "ambiguous"
    assert unsure.candidates[0].grid.code == expected


def test_vague_or_unknown_places(resolver: Resolver) -> None:
    assert resolver.resolve_text("玉林北路上的路灯坏了").status == "ambiguous"
    for text in ("我家楼下", "幸福花园5栋", "", "小区门口的路灯坏了", "长" * 10000):
        assert resolver.resolve_text(text).status == "none", text


def test_gps(resolver: Resolver) -> None:
    inside = resolver.resolve_point(104.0525, 30.6375)
    assert inside.status == "confident" and inside.candidates[0].grid.code == "510107001001001"
    assert resolver.resolve_point(0.0, 0.0).status == "none"
