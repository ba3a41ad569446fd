"""考评 (红黄蓝): a month's work of each grid worker, community and department, graded and ranked.

Who is assessed (the month's tickets, by their filing day, from the daily counts):

* 网格员 — the tickets dispatched to a grid's worker: ``TicketDay.assignee`` is what
  ``lifecycle.handler_for`` writes for a grid-tier dispatch, ``"<网格名>（网格员 <姓名>）"``.
* 社区 — every ticket filed in the grids of the community (the registry's grid → community).
* 部门 — the tickets dispatched or transferred to a department: the assignees that are neither a
  grid worker nor a unit of the registry (a community, street or district).

Figures: 受理 (valid tickets), 办结, 按时办结率 (closed on time / closed), 超期 (closed late, plus
the month's tickets still open and past their deadline now), 重新办理率 (reopened / valid),
不满意率 (unsatisfied / rated), 满意率 (satisfied / rated).

The month's counts come from the daily counts without their hour histograms (``counts_by``: the
same sums as ``stats.breakdown``, about half the work); the open overdue tickets from the ticket
table through its status index (a small set).

Levels: ``data/assessment.yml`` (thresholds per level, ``min_tickets``); an object gets the
worst level any of whose conditions it meets, with the reasons in Chinese; fewer valid tickets
than ``min_tickets`` is not graded (样本不足).

Ranking: 得分 = 100 × the weighted mean of 按时办结率, 满意率, 解决率 and (1 − 重新办理率) with
the file's weights (by default 0.35, 0.30, 0.20, 0.15); a rate that cannot be computed (nothing
closed, nothing rated) is left out and the others' weights are scaled up to sum to 1. Graded
objects are ranked best first (equal scores share a rank); objects not graded follow, unranked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import Ticket
from casestore.services import stats
from core import labels
from core.clock import local_midnight, utcnow
from grids.registry import Grid, Registry

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "assessment.yml"
BY = ("worker", "community", "department")
BY_LABELS = {  # who is assessed, named as the console names them elsewhere
    "worker": labels.ROLE["grid_worker"],
    "community": labels.TIER["community"],
    "department": labels.DISPATCH_TARGET["department"],
}
LEVELS = ("red", "yellow", "blue")  # worst first; "" is 正常 (labels.ASSESSMENT_LEVEL)
NOT_GRADED = "样本不足"
CONDITIONS = ("on_time_rate_below", "overdue_at_least", "unsatisfied_rate_above",
              "reopen_rate_above")  # fmt: skip
WEIGHTS = ("on_time", "satisfaction", "solve", "not_reopened")
# The plain counts of a daily-count row: stats.Figures' fields besides the hour histograms.
COUNTS = tuple(f.name for f in fields(stats.Figures) if not f.name.endswith("_hist"))
MONTH = re.compile(r"(\d{4})-(\d{2})")


class AssessmentConfigError(ValueError):
    """data/assessment.yml is malformed (the message says what, in Chinese)."""


@dataclass(frozen=True)
class Level:
    on_time_rate_below: float
    overdue_at_least: int
    unsatisfied_rate_above: float
    reopen_rate_above: float


@dataclass(frozen=True)
class Thresholds:
    min_tickets: int
    levels: dict[str, Level]  # red, yellow, blue
    weights: dict[str, float]  # on_time, satisfaction, solve, not_reopened


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise AssessmentConfigError(f"考评阈值 {where} 应为 0 到 1 之间的小数")
    return float(value)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AssessmentConfigError(f"考评阈值 {where} 应为正整数")
    return value


def parse_thresholds(raw: Any) -> Thresholds:
    """Check the file's content; AssessmentConfigError with a Chinese message if wrong."""
    if not isinstance(raw, dict):
        raise AssessmentConfigError("考评阈值文件应包含 min_tickets、levels 和 weights")
    unknown = set(raw) - {"min_tickets", "levels", "weights"}
    if unknown:
        raise AssessmentConfigError(f"考评阈值文件有未知的项：{'、'.join(sorted(unknown))}")
    levels_raw = raw.get("levels")
    if not isinstance(levels_raw, dict) or set(levels_raw) != set(LEVELS):
        raise AssessmentConfigError("考评阈值 levels 应正好包含 red、yellow、blue 三个等级")
    levels: dict[str, Level] = {}
    for name in LEVELS:
        entry = levels_raw[name]
        if not isinstance(entry, dict) or set(entry) != set(CONDITIONS):
            raise AssessmentConfigError(
                f"考评阈值 levels.{name} 应正好包含 {'、'.join(CONDITIONS)}"
            )
        where = f"levels.{name}."
        levels[name] = Level(
            on_time_rate_below=_rate(entry["on_time_rate_below"], where + "on_time_rate_below"),
            overdue_at_least=_count(entry["overdue_at_least"], where + "overdue_at_least"),
            unsatisfied_rate_above=_rate(
                entry["unsatisfied_rate_above"], where + "unsatisfied_rate_above"
            ),
            reopen_rate_above=_rate(entry["reopen_rate_above"], where + "reopen_rate_above"),
        )
    for stricter, milder in zip(LEVELS, LEVELS[1:], strict=False):
        a, b = levels[stricter], levels[milder]
        if not (
            a.on_time_rate_below <= b.on_time_rate_below
            and a.overdue_at_least >= b.overdue_at_least
            and a.unsatisfied_rate_above >= b.unsatisfied_rate_above
            and a.reopen_rate_above >= b.reopen_rate_above
        ):
            raise AssessmentConfigError(
                f"考评阈值 levels.{stricter} 应比 levels.{milder} 更严格（或相同）"
            )
    weights_raw = raw.get("weights")
    if not isinstance(weights_raw, dict) or set(weights_raw) != set(WEIGHTS):
        raise AssessmentConfigError(f"考评阈值 weights 应正好包含 {'、'.join(WEIGHTS)}")
    weights = {name: _rate(weights_raw[name], f"weights.{name}") for name in WEIGHTS}
    if any(w <= 0 for w in weights.values()) or abs(sum(weights.values()) - 1) > 1e-6:
        raise AssessmentConfigError("考评阈值 weights 的各项应为正数且合计为 1")
    return Thresholds(
        min_tickets=_count(raw.get("min_tickets"), "min_tickets"), levels=levels, weights=weights
    )


@lru_cache(maxsize=4)
def load_thresholds(path: Path = DEFAULT_PATH) -> Thresholds:
    """The thresholds of ``data/assessment.yml`` (read once per path)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AssessmentConfigError(f"无法读取考评阈值文件 {path.name}：{exc}") from exc
    return parse_thresholds(raw)


def parse_month(value: str) -> tuple[date, date]:
    """ "2026-11" → (2026-11-01, 2026-11-30); ValueError with a Chinese message otherwise."""
    match = MONTH.fullmatch(value.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise ValueError(f"月份格式应为 年-月，例如 2026-11（收到：{value[:20]}）")
    first = date(int(match[1]), int(match[2]), 1)
    return first, next_month(first) - timedelta(days=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def month_text(first: date) -> str:
    return f"{first.year}年{first.month}月"


def worker_handle(grid: Grid) -> str:
    """What a grid-tier dispatch writes into ``assigned_to`` (lifecycle.handler_for)."""
    return f"{grid.name}（网格员 {grid.worker_name}）"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Assessed:
    """One grid worker, community or department in one month."""

    key: str  # the assignee, community code or department name
    name: str  # as shown: "张三（黉门街第一网格）", "黉门街社区", "城市管理局"
    figures: stats.Figures
    open_overdue: int  # the month's tickets still open and past their deadline now
    grids: tuple[str, ...] = ()  # the grids behind it (queue links); () for departments
    level: str = ""  # red | yellow | blue | "" (labels.ASSESSMENT_LEVEL)
    reasons: tuple[str, ...] = ()
    graded: bool = True
    score: float | None = None  # 0–100
    rank: int | None = None

    @property
    def handled(self) -> int:
        return self.figures.valid

    @property
    def closed(self) -> int:
        return self.figures.closed

    @property
    def overdue(self) -> int:
        return self.figures.closed_late + self.open_overdue

    @property
    def on_time_rate(self) -> float | None:
        return _share(self.figures.closed_on_time, self.figures.closed)

    @property
    def reopen_rate(self) -> float | None:
        return _share(self.figures.reopened, self.figures.valid)

    @property
    def unsatisfied_rate(self) -> float | None:
        return _share(self.figures.unsatisfied, self.figures.rated)

    @property
    def satisfaction_rate(self) -> float | None:
        return _share(self.figures.satisfied, self.figures.rated)

    @property
    def solve_rate(self) -> float | None:
        return _share(self.figures.solved, self.figures.valid)

    @property
    def level_label(self) -> str:
        return labels.ASSESSMENT_LEVEL[self.level] if self.graded else NOT_GRADED


def _limit(value: float) -> str:
    return f"{value * 100:g}%"


def grade(item: Assessed, thresholds: Thresholds) -> tuple[str, tuple[str, ...]]:
    """The worst level whose any condition the object meets, and why (in Chinese)."""
    for name in LEVELS:
        level = thresholds.levels[name]
        reasons: list[str] = []
        on_time, unsatisfied, reopen = item.on_time_rate, item.unsatisfied_rate, item.reopen_rate
        if on_time is not None and on_time < level.on_time_rate_below:
            reasons.append(f"按时办结率 {percent(on_time)} 低于 {_limit(level.on_time_rate_below)}")
        if item.overdue >= level.overdue_at_least:
            reasons.append(f"超期 {item.overdue} 件，达到 {level.overdue_at_least} 件")
        if unsatisfied is not None and unsatisfied > level.unsatisfied_rate_above:
            reasons.append(
                f"不满意率 {percent(unsatisfied)} 高于 {_limit(level.unsatisfied_rate_above)}"
            )
        if reopen is not None and reopen > level.reopen_rate_above:
            reasons.append(f"重新办理率 {percent(reopen)} 高于 {_limit(level.reopen_rate_above)}")
        if reasons:
            return name, tuple(reasons)
    return "", ()


def score(item: Assessed, weights: dict[str, float]) -> float | None:
    """得分 (0–100): the weighted mean of the rates that can be computed (module docstring)."""
    reopen = item.reopen_rate
    rates = {
        "on_time": item.on_time_rate,
        "satisfaction": item.satisfaction_rate,
        "solve": item.solve_rate,
        "not_reopened": None if reopen is None else 1 - reopen,
    }
    known = {name: rate for name, rate in rates.items() if rate is not None}
    total = sum(weights[name] for name in known)
    if not total:
        return None
    return round(100 * sum(weights[name] * rate for name, rate in known.items()) / total, 1)


def rank(items: list[Assessed], thresholds: Thresholds) -> list[Assessed]:
    """Grade, score and rank: graded best first (equal scores share a rank), then the rest."""
    done: list[Assessed] = []
    for item in items:
        if item.handled < thresholds.min_tickets:
            reason = f"受理 {item.handled} 件，少于 {thresholds.min_tickets} 件"
            done.append(_with(item, graded=False, level="", reasons=(reason,)))
            continue
        level, reasons = grade(item, thresholds)
        done.append(_with(item, level=level, reasons=reasons,
                          score=score(item, thresholds.weights)))  # fmt: skip
    graded = sorted(
        (i for i in done if i.graded), key=lambda i: (-(i.score or 0.0), -i.handled, i.name)
    )
    ranked: list[Assessed] = []
    for position, item in enumerate(graded, start=1):
        same = ranked and ranked[-1].score == item.score
        ranked.append(_with(item, rank=ranked[-1].rank if same else position))
    rest = sorted((i for i in done if not i.graded), key=lambda i: (-i.handled, i.name))
    return ranked + rest


def _with(item: Assessed, **changes: Any) -> Assessed:
    return replace(item, **changes)


def open_overdue(
    session: Session, since: date, until: date, now: datetime, grids: tuple[str, ...] | None
) -> dict[tuple[str, str], int]:
    """(grid code, assigned to) → the tickets filed in [since, until] still open and past their
    deadline at ``now`` (a small set, found through the status index)."""
    where = [
        Ticket.status.in_(labels.OPEN_STATUSES),
        Ticket.due_at < now,
        Ticket.created_at >= local_midnight(since),
        Ticket.created_at < local_midnight(until + timedelta(days=1)),
    ]
    if grids is not None:
        where.append(Ticket.grid_code.in_(grids))
    rows = session.execute(
        select(Ticket.grid_code, Ticket.assigned_to, func.count())
        .where(*where)
        .group_by(Ticket.grid_code, Ticket.assigned_to)
    )
    return {(grid or "", assignee or ""): count for grid, assignee, count in rows}


@dataclass
class _Tally:
    figures: stats.Figures = field(default_factory=stats.Figures.zero)
    open_overdue: int = 0


Breakdown = list[tuple[str, stats.Figures]]


def counts_by(session: Session, scope: stats.Scope, by: str) -> Breakdown:
    """``stats.breakdown`` without the hour histograms (left at zero, so no medians): what the
    assessment and the report's volumes need, at about half the cost on a month of the city."""
    return stats.breakdown(session, scope, by, hours=False)


def assess(
    session: Session,
    registry: Registry,
    month: str,
    by: str,
    grids: tuple[str, ...] | None,
    *,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
) -> list[Assessed]:
    """The month's (``YYYY-MM``) grid workers, communities or departments, ranked best first.

    ``grids`` limits it to those grids (the signed-in user's scope). ValueError (Chinese) for a
    bad month or an unknown ``by``.
    """
    if by not in BY:
        raise ValueError("考评对象只能是网格员、社区（村）或职能部门")
    since, until = parse_month(month)
    scope = stats.Scope(since=since, until=until, grids=grids)
    rows = counts_by(session, scope, "grid_code" if by == "community" else "assignee")
    overdue = open_overdue(session, since, until, now or utcnow(), grids)
    return assess_rows(registry, by, rows, overdue, thresholds or load_thresholds())


def assess_all(
    session: Session,
    registry: Registry,
    month: str,
    grids: tuple[str, ...] | None,
    *,
    by_grid: Breakdown | None = None,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
) -> dict[str, list[Assessed]]:
    """``assess`` for the three kinds at once, sharing the queries (the monthly report): the
    month's breakdown by grid may be passed in when the caller has it already."""
    since, until = parse_month(month)
    scope = stats.Scope(since=since, until=until, grids=grids)
    by_grid = by_grid if by_grid is not None else counts_by(session, scope, "grid_code")
    by_assignee = counts_by(session, scope, "assignee")
    overdue = open_overdue(session, since, until, now or utcnow(), grids)
    thresholds = thresholds or load_thresholds()
    return {
        by: assess_rows(
            registry, by, by_grid if by == "community" else by_assignee, overdue, thresholds
        )  # fmt: skip
        for by in BY
    }


def assess_rows(
    registry: Registry,
    by: str,
    rows: Breakdown,
    overdue: dict[tuple[str, str], int],
    thresholds: Thresholds,
) -> list[Assessed]:
    """Rank the month's breakdown (by grid for communities, by assignee otherwise)."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    names: dict[str, str] = {}
    members: dict[str, tuple[str, ...]] = {}
    if by == "community":
        for code, found in rows:
            grid = registry.grids.get(code)
            if grid is None or grid.community not in registry.units:
                continue
            tallies[grid.community].figures = tallies[grid.community].figures + found
        for (code, _assignee), count in overdue.items():
            grid = registry.grids.get(code)
            if grid is not None and grid.community in tallies:
                tallies[grid.community].open_overdue += count
        for code in tallies:
            names[code] = registry.units[code].name
            members[code] = tuple(g.code for g in registry.grids_within(code))
    else:
        workers = {worker_handle(g): g for g in registry.grids.values()}
        units = {u.name for u in registry.units.values()}
        for assignee, found in rows:
            is_worker = assignee in workers
            if not assignee or (by == "worker") != is_worker or assignee in units:
                continue
            tallies[assignee].figures = tallies[assignee].figures + found
        for (_code, assignee), count in overdue.items():
            if assignee in tallies:
                tallies[assignee].open_overdue += count
        for key in tallies:
            if by == "worker":
                grid = workers[key]
                names[key] = f"{grid.worker_name}（{grid.name}）"
                members[key] = (grid.code,)
            else:
                names[key] = key
    items = [
        Assessed(key=key, name=names[key], figures=tally.figures,
                 open_overdue=tally.open_overdue, grids=members.get(key, ()))
        for key, tally in tallies.items()
    ]  # fmt: skip
    return rank(items, thresholds)
