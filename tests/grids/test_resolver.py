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


def test_a_road_through_several_grids_without_a_number_asks_for_it(resolver: Resolver) -> None:
    result = resolver.resolve_text("玉林北路上的路灯坏了")
    assert result.status == "needs_detail"
    assert len({c.grid.code for c in result.candidates}) >= 2
    assert {c.place for c in result.candidates} == {"玉林北路"}
    assert result.area is not None and result.area.tier in ("community", "street")
    # The number settles it.
    assert resolver.resolve_text("玉林北路18号的路灯坏了").status == "confident"


def test_the_seed_spelling_and_the_registry_spelling_both_resolve(resolver: Resolver) -> None:
    right = resolver.resolve_text("黉门街36号门口")
    old = resolver.resolve_text("黄门街36号门口")
    traditional = resolver.resolve_text("黃門街３６號門口")
    assert right.status == old.status == traditional.status == "confident"
    assert right.candidates[0].grid.code == old.candidates[0].grid.code
    assert traditional.candidates[0].grid.code == right.candidates[0].grid.code
    assert right.candidates[0].grid.name.startswith("黉门街社区")


@pytest.mark.parametrize(
    ("text", "tier", "name"),
    [
        ("黉门街社区门口的垃圾没人收", "community", "黉门街社区"),
        ("白佛村里的垃圾站几天没清了", "community", "白佛村"),
        ("嘉园小区里面路灯不亮", "community", "嘉园社区"),
        ("玉林那边晚上好多烧烤摊", "street", "玉林街道"),
        ("武侯区有人乱倒建筑垃圾", "district", "武侯区"),
        ("丰台这边共享单车太多", "district", "丰台区"),  # short form derived from 丰台区
        ("长寿苑小区北门乱停车", "community", "长寿苑社区"),  # a compound split across grids
    ],
)
def test_a_place_named_only_at_a_higher_level_goes_to_that_level(
    resolver: Resolver, text: str, tier: str, name: str
) -> None:
    result = resolver.resolve_text(text)
    assert result.status == "area", result
    assert result.area is not None and (result.area.tier, result.area.name) == (tier, name)


def test_a_place_that_is_also_a_units_name_means_the_place(resolver: Resolver) -> None:
    result = resolver.resolve_text("火车南站门口有人拉客")  # a landmark and a street's short form
    assert result.status == "confident"


def test_vague_or_unknown_places(resolver: Resolver) -> None:
    for text in ("我家楼下", "幸福花园5栋", "", "小区门口的路灯坏了", "长" * 10000):
        assert resolver.resolve_text(text).status == "none", text


def test_gps(resolver: Resolver) -> None:
    inside = resolver.resolve_point(104.0525, 30.6375)
    assert inside.status == "confident" and inside.candidates[0].grid.code == "510107001001001"
    assert resolver.resolve_point(0.0, 0.0).status == "none"
