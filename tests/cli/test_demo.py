"""``petition demo-data``: an invented history in the configured database, refused where
real tickets are, unless --force."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casestore.models import Ticket
from casestore.schemas import TicketDraft
from casestore.services import history
from casestore.services.tickets import create_ticket
from cli import context
from cli.main import main
from core.settings import Settings
from tests.app_fixtures import draft_body


def count(demo: bool) -> int:
    with context.session() as db:
        where = history.DEMO_NUMBERS if demo else ~history.DEMO_NUMBERS
        return db.scalar(select(func.count()).select_from(Ticket).where(where)) or 0


def test_demo_data_fills_an_empty_database_and_says_it_is_invented(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-data", "--tickets", "400", "--days", "30", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "演示数据，均为虚构" in out and "下水道堵塞" in out and "超期未办结" in out
    assert count(demo=True) == 400 + 13 + 11 and count(demo=False) == 0  # burst, backlog
    assert "生成预警" in out and "多为「下水道」" in out  # the warning job ran
    assert not any(ch.isascii() and ch.isalpha() for ch in out.replace("YS", ""))  # Chinese
    # Again: only invented tickets there, so it adds another history.
    assert main(["demo-data", "--tickets", "50", "--days", "5"]) == 0
    assert "原有 424 条演示工单" in capsys.readouterr().out


def test_demo_data_refuses_a_database_with_real_tickets(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(cli_settings.data_dir / "taxonomy.yml")
    with context.session() as db:
        create_ticket(session=db, draft=TicketDraft.model_validate(draft_body()), taxonomy=taxonomy)
    assert main(["demo-data", "--tickets", "50", "--days", "5"]) == 2
    assert "已有 1 条真实工单" in capsys.readouterr().err and count(demo=True) == 0
    assert main(["demo-data", "--tickets", "50", "--days", "5", "--force"]) == 0
    assert count(demo=True) == 63 and count(demo=False) == 1  # 5 days: no backlog days
    assert main(["demo-data", "--days", "1"]) == 2
    assert "天数至少为2天" in capsys.readouterr().err
