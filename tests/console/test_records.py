"""民生档案 pages (console/staff/records.py): reachable from the ticket, scoped, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accounts.models import Role
from core import audit
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from tests.console.staff_fixtures import GRID, OTHER_GRID, add_user, file, login


def audit_actions(settings: Settings) -> list[tuple[str, str, str]]:
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        found = [(e.actor, e.action, e.object_id) for e in audit.recent(session)]
    engine.dispose()
    return found


def test_a_residents_and_a_places_record_from_the_ticket_page(
    staff_client: TestClient, settings: Settings
) -> None:
    first = file(staff_client, 1, location_text="玉林小区3栋")
    second = file(staff_client, 2, location_text="玉林小区3栋", description="楼道灯又坏了")
    stranger = file(staff_client, 3, contact_phone="13900000009", location_text="芳草街12号",
                    conversation_id="web-stranger1")  # fmt: skip
    page = staff_client.get(f"/tickets/{second}").text
    assert f'href="/tickets/{second}/records/resident"' in page
    resident = staff_client.get(f"/tickets/{second}/records/resident").text
    assert "民生档案：该市民的全部诉求" in resident
    assert first in resident and second in resident and stranger not in resident
    assert "<dt>诉求总数</dt><dd>2</dd>" in resident
    place = staff_client.get(f"/tickets/{first}/records/place").text
    assert first in place and second in place and stranger not in place
    assert staff_client.get(f"/tickets/{first}/records/phone").status_code == 404
    assert audit_actions(settings)[:2] == [
        ("staff:lili", "record_view_place", first),
        ("staff:lili", "record_view_resident", second),
    ]  # newest first


def test_anonymous_tickets_have_no_personal_record(staff_client: TestClient) -> None:
    number = file(staff_client, 1, anonymous=True, contact_phone=None)
    page = staff_client.get(f"/tickets/{number}").text
    assert "匿名反映，不建立个人档案" in page and "/records/resident" not in page
    record = staff_client.get(f"/tickets/{number}/records/resident").text
    assert "不建立个人档案" in record and "<table" not in record


def test_a_grid_worker_sees_only_their_grids_in_a_record(
    client: TestClient, settings: Settings
) -> None:
    mine = file(client, 1)
    theirs = file(client, 2, grid_code=OTHER_GRID, description="别的网格的下水道堵了")
    add_user(settings, "wang", Role.GRID_WORKER, [GRID])
    assert login(client, "wang") == 303
    page = client.get(f"/tickets/{mine}/records/resident").text
    assert mine in page and theirs not in page
    assert client.get(f"/tickets/{theirs}/records/resident").status_code == 404
