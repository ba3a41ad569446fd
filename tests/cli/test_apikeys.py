"""``petition apikeys``: create prints the key once, list shows no key, revoke ends it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts import apikeys
from accounts.models import Open311Key
from cli.main import main
from core.db import make_engine, make_sessionmaker
from core.settings import Settings


def test_create_list_revoke(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apikeys", "list"]) == 0
    assert "还没有 Open311 密钥" in capsys.readouterr().out
    assert main(["apikeys", "create", "fixmystreet"]) == 0
    out = capsys.readouterr().out
    assert "只显示这一次" in out
    key = out.strip().splitlines()[-1]
    assert key.startswith(apikeys.PREFIX)
    assert main(["apikeys", "create", "fixmystreet"]) == 2
    assert "已存在" in capsys.readouterr().err

    assert main(["apikeys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "fixmystreet" in listing and "有效" in listing and key not in listing

    assert main(["apikeys", "revoke", "fixmystreet"]) == 0
    assert "已吊销" in capsys.readouterr().out
    assert main(["apikeys", "list"]) == 0
    assert "已吊销" in capsys.readouterr().out
    assert main(["apikeys", "revoke", "nobody"]) == 2
    assert "没有名为 nobody 的密钥" in capsys.readouterr().err

    engine = make_engine(cli_settings.database_url)
    with make_sessionmaker(engine)() as session:
        row = session.scalars(select(Open311Key)).one()
        assert row.revoked_at is not None and row.key_hash == apikeys.digest(key)
        assert apikeys.check_key(session=session, key=key) is None
    engine.dispose()
