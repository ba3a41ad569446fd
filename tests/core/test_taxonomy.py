from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import add_working_days
from core.taxonomy import Taxonomy, TaxonomyError, parse_taxonomy

TOP_LEVEL = [
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
    "公共安全",
    "民政",
    "农村农业",
    "矛盾纠纷",
    "其他",
]


def test_top_level_names(taxonomy: Taxonomy) -> None:
    assert [c.name for c in taxonomy.categories] == TOP_LEVEL
    assert all(c.subcategories for c in taxonomy.categories)


def test_sla_skips_weekends() -> None:
    friday = datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert add_working_days(friday, 1).weekday() == 0
    assert add_working_days(friday, 5) == datetime(2026, 12, 4, 10, tzinfo=UTC)


def test_rejects_bad_taxonomy() -> None:
    entry = {"code": "a", "name": "A", "department": "d", "sla_days": 1, "tier": "grid"}
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"categories": [entry, entry]})
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"categories": [{**entry, "tier": "galaxy"}]})
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"categories": [{"code": "a"}]})
