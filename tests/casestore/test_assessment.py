"""考评 (casestore/services/assessment.py): thresholds, levels with reasons, the ranking."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketDay
from casestore.services import assessment
from core.clock import local_midnight
from core.settings import ROOT
from grids.registry import Registry, load_registry

GRID, OTHER_GRID, FAR_GRID = "510107001001001", "510107001001002", "510107001002001"
COMMUNITY, FAR_COMMUNITY = "510107001001", "510107001002"


@pytest.fixture
def registry() -> Registry:
    return load_registry(ROOT / "data" / "grids")


def day_row(
    session: Session, day: date, grid: str, assignee: str, n: int = 0, sub: str = "", **counts: int
) -> None:
    """A daily-count row (``n`` or ``sub`` tell apart rows that share the rest of the key)."""
    session.add(TicketDay(day=day, grid_code=grid, category="urban_construction",
                          subcategory=sub or f"sub{n}", channel="webchat",
                          department="城市管理局", assignee=assignee, **counts))  # fmt: skip
    session.flush()


def good(valid: int) -> dict[str, int]:
    return {"filed": valid, "valid": valid, "closed": valid, "closed_on_time": valid,
            "solved": valid, "rated": valid, "satisfied": valid}  # fmt: skip


def test_the_thresholds_file_loads_and_bad_ones_say_what_is_wrong(tmp_path: Path) -> None:
    loaded = assessment.load_thresholds()
    assert loaded.min_tickets == 5
    assert loaded.levels["red"].on_time_rate_below == 0.80
    assert loaded.levels["blue"].overdue_at_least == 2
    raw: dict[str, Any] = yaml.safe_load(assessment.DEFAULT_PATH.read_text(encoding="utf-8"))

    def broken(change: Any) -> str:
        copy = yaml.safe_load(yaml.safe_dump(raw))
        change(copy)
        path = tmp_path / "bad.yml"
        path.write_text(yaml.safe_dump(copy, allow_unicode=True), encoding="utf-8")
        with pytest.raises(assessment.AssessmentConfigError) as caught:
            assessment.load_thresholds(path)
        assessment.load_thresholds.cache_clear()
        return str(caught.value)

    assert "red、yellow、blue" in broken(lambda c: c["levels"].pop("blue"))
    assert "更严格" in broken(lambda c: c["levels"]["red"].update(on_time_rate_below=0.99))
    assert "0 到 1" in broken(lambda c: c["levels"]["red"].update(reopen_rate_above=15))
    assert "正整数" in broken(lambda c: c.update(min_tickets=0))
    assert "合计为 1" in broken(lambda c: c["weights"].update(solve=0.5))
    assert "未知的项" in broken(lambda c: c.update(colour="red"))
    (tmp_path / "broken.yml").write_text("levels: [", encoding="utf-8")
    with pytest.raises(assessment.AssessmentConfigError, match="无法读取"):
        assessment.load_thresholds(tmp_path / "broken.yml")


def test_months_are_parsed_in_chinese_terms() -> None:
    assert assessment.parse_month("2026-11") == (date(2026, 11, 1), date(2026, 11, 30))
    assert assessment.parse_month("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert assessment.parse_month("2028-02")[1] == date(2028, 2, 29)
    for bad in ("2026-13", "2026/11", "11-2026", "", "2026-1"):
        with pytest.raises(ValueError, match="年-月"):
            assessment.parse_month(bad)
    assert assessment.month_text(date(2026, 11, 1)) == "2026年11月"
    assert assessment.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)


def test_workers_are_graded_by_the_worst_level_and_ranked(
    session: Session, registry: Registry
) -> None:
    first, second, far = (assessment.worker_handle(registry.grids[c])
                          for c in (GRID, OTHER_GRID, FAR_GRID))  # fmt: skip
    day = date(2026, 11, 3)
    day_row(session, day, GRID, first, 1, **good(10))  # perfect
    # 20 valid, 20 closed of which 15 on time (75% < 80%: red), 5 late; 2 of 10 rated unhappy
    day_row(session, day, OTHER_GRID, second, 1, filed=21, valid=20, closed=20,
            closed_on_time=15, closed_late=5, solved=18, rated=10, satisfied=8,
            unsatisfied=2, reopened=1)  # fmt: skip
    day_row(session, day, FAR_GRID, far, 1, **good(3))  # too few to grade
    day_row(session, day, FAR_GRID, "城市管理局", 2, **good(8))  # a department: not a worker
    day_row(session, date(2026, 10, 31), GRID, first, 3, filed=9, valid=9)  # another month
    # One of the month's tickets is still open and overdue, dispatched to the second worker.
    late = Ticket(number="2026110300001", submission_key="k-1", status="dispatched",
                  category="urban_construction", grid_code=OTHER_GRID, description="路灯不亮",
                  channel="webchat", assigned_to=second,
                  created_at=local_midnight(day) + timedelta(hours=10),
                  due_at=local_midnight(day) + timedelta(days=3))  # fmt: skip
    session.add(late)
    session.flush()

    found = assessment.assess(session, registry, "2026-11", "worker", None)
    assert [a.key for a in found] == [first, second, far]
    best, worst, few = found
    assert (best.rank, best.level, best.score, best.name) == (
        1,
        "",
        100.0,
        "张丽（黉门街社区第一网格）",
    )
    assert best.handled == 10 and best.on_time_rate == 1.0 and best.grids == (GRID,)
    assert worst.rank == 2 and worst.level == "red" and worst.level_label == "红牌"
    assert worst.overdue == 6 and worst.open_overdue == 1
    assert worst.reasons == ("按时办结率 75.0% 低于 80%",)
    assert worst.unsatisfied_rate == 0.2 and worst.satisfaction_rate == 0.8
    # 100 × (0.35·0.75 + 0.30·0.8 + 0.20·0.9 + 0.15·0.95)
    assert worst.score == round(100 * (0.35 * 0.75 + 0.3 * 0.8 + 0.2 * 0.9 + 0.15 * 0.95), 1)
    assert (few.graded, few.rank, few.score, few.level_label) == (False, None, None, "样本不足")
    assert few.reasons == ("受理 3 件，少于 5 件",)
    scoped = assessment.assess(session, registry, "2026-11", "worker", (GRID,))
    assert [a.key for a in scoped] == [first]

    departments = assessment.assess(session, registry, "2026-11", "department", None)
    assert [(a.name, a.handled, a.rank) for a in departments] == [("城市管理局", 8, 1)]

    communities = assessment.assess(session, registry, "2026-11", "community", None)
    by_key = {a.key: a for a in communities}
    assert set(by_key) == {COMMUNITY, FAR_COMMUNITY}
    mine = by_key[COMMUNITY]
    assert mine.name == "黉门街社区" and mine.handled == 30 and mine.overdue == 6
    assert mine.figures.closed_on_time == 25 and GRID in mine.grids and OTHER_GRID in mine.grids
    assert mine.level == "yellow"  # on time 83.3% (< 90%), overdue 6 (≥ 5): not red
    assert mine.reasons == ("按时办结率 83.3% 低于 90%", "超期 6 件，达到 5 件")
    assert by_key[FAR_COMMUNITY].handled == 11 and by_key[FAR_COMMUNITY].rank == 1

    with pytest.raises(ValueError, match="年-月"):
        assessment.assess(session, registry, "2026-1", "worker", None)
    with pytest.raises(ValueError, match="考评对象"):
        assessment.assess(session, registry, "2026-11", "street", None)


def test_equal_scores_share_a_rank_and_blue_is_the_mildest() -> None:
    thresholds = assessment.load_thresholds()
    zero = assessment.stats.Figures.zero()

    def item(key: str, **counts: int) -> assessment.Assessed:
        figures = dataclasses.replace(zero, **counts)
        return assessment.Assessed(key=key, name=key, figures=figures, open_overdue=0)

    ranked = assessment.rank(
        [
            item("b", **good(6)),
            item("a", **good(6)),
            item("c", valid=6, closed=6, closed_on_time=6, closed_late=2),
        ],  # fmt: skip
        thresholds,
    )
    assert [(i.key, i.rank) for i in ranked] == [("a", 1), ("b", 1), ("c", 3)]
    assert ranked[2].level == "blue" and ranked[2].reasons == ("超期 2 件，达到 2 件",)
    # on time 100%, none solved, none reopened, none rated: (0.35 + 0.15) / 0.70
    assert ranked[2].score == 71.4


def test_counts_by_matches_the_stats_breakdown_in_chunks(
    session: Session, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2026, 11, 3)
    day_row(session, day, GRID, "甲", 1, **good(4))
    day_row(session, day, OTHER_GRID, "甲", 2, filed=3, valid=2, closed_late=1)
    day_row(session, day, FAR_GRID, "乙", 3, filed=1, valid=1, reopened=1)
    day_row(session, day, "", "", 4, filed=2)  # no grid
    scope = assessment.stats.Scope(since=day, until=day, grids=(GRID, OTHER_GRID, FAR_GRID))
    monkeypatch.setattr(assessment.stats, "GRID_CHUNK", 2)  # two statements, summed
    for by in ("assignee", "grid_code"):
        light = assessment.counts_by(session, scope, by)
        full = assessment.stats.breakdown(session, scope, by)
        assert [key for key, _ in light] == [key for key, _ in full]
        for (_, a), (_, b) in zip(light, full, strict=True):
            assert [getattr(a, n) for n in assessment.COUNTS] == [
                getattr(b, n) for n in assessment.COUNTS
            ]
    assert dict(assessment.counts_by(session, scope, "assignee"))["甲"].filed == 7
    everything = assessment.stats.Scope(since=day, until=day)
    assert dict(assessment.counts_by(session, everything, "grid_code"))[""].filed == 2
