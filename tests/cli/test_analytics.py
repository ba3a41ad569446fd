"""``petition analytics once|watch``: the daily counts refreshed, then the warnings."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casestore.models import Alert, TicketDay
from casestore.schemas import TicketDraft
from casestore.services.tickets import create_ticket
from cli import analytics
from cli.main import main
from core.settings import Settings, get_settings
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI reads its settings from the environment: the test database's (no Rasa)."""
    values = {
        "DATABASE_URL": settings.database_url,
        "CASESTORE_API_TOKEN": settings.casestore_api_token,
        "VAR_DIR": settings.var_dir,
        "RASA_URL": settings.rasa_url,
        "RASA_TOKEN": settings.rasa_token,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_once_counts_the_days_and_raises_a_disputes_alert(
    env_settings: Settings,
    session: Session,
    taxonomy: Taxonomy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = draft_body(category="disputes", grid_code="510107001001001", description="邻里打架")
    ticket, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                              taxonomy=taxonomy)  # fmt: skip
    ticket.risk_grade = "red"
    session.commit()
    session.close()  # SQLite: the command takes the write lock
    assert main(["analytics", "once"]) == 0
    out = capsys.readouterr().out
    assert "统计日表更新" in out and "新预警 1 条" in out
    assert "红色风险矛盾纠纷 黉门街社区第一网格：邻里打架" in out
    session.expire_all()
    assert session.scalar(select(func.sum(TicketDay.filed))) == 1
    assert session.scalars(select(Alert.kind)).all() == ["risk"]
    session.commit()  # the read's transaction holds SQLite's write lock
    assert main(["analytics", "once"]) == 0
    assert "新预警 0 条" in capsys.readouterr().out  # raised once


def test_watch_keeps_going_after_a_failed_round_and_stops_when_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stop = threading.Event()
    calls: list[int] = []
    waits: list[float] = []

    def round_() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        if len(calls) == 3:
            stop.set()

    assert analytics.watch(60, round_, stop, sleep=waits.append) == 3
    assert len(waits) == 2 and all(0 < w <= 60 for w in waits)
    assert "本轮统计失败：RuntimeError: database is locked" in capsys.readouterr().err


def test_watch_refuses_a_busy_loop(
    env_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analytics", "watch", "--every", "1"]) == 2
    assert "--every 至少为 5 秒" in capsys.readouterr().err
