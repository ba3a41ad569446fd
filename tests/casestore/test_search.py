"""Text search from the bigram index (casestore/services/search.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from casestore.schemas import TicketDraft
from casestore.services import queue, search
from casestore.services.tickets import TicketFilter, create_ticket, list_tickets
from core.taxonomy import Taxonomy
from tests.app_fixtures import draft_body


def test_terms_are_character_pairs_that_never_cross_punctuation_or_fields() -> None:
    pairs = "下水 水道 道堵 堵了 了 玉林 林北 北路 路1 18 8号 号"
    assert search.terms("下水道堵了！", "玉林北路18号") == pairs
    assert search.terms("灯", None, "") == "灯"
    assert search.terms("ＡＢ下水道") == "ab b下 下水 水道 道"  # full-width, lower case
    assert search.match_query("下水道") == '"下水 水道"'
    assert search.match_query("玉林 下水道") == '"玉林" AND "下水 水道"'
    assert search.match_query("灯") == '"灯"*' and search.match_query("！？") is None


def file(session: Session, taxonomy: Taxonomy, n: int, **fields: Any) -> str:
    body = draft_body(submission_key=f"web-search-{n:04d}", **fields)
    ticket, _ = create_ticket(session=session, draft=TicketDraft.model_validate(body),
                              taxonomy=taxonomy)  # fmt: skip
    return ticket.number


def found(session: Session, q: str) -> set[str]:
    rows, _ = queue.list_queue(session=session, f=TicketFilter(q=q), limit=100)
    listed, _ = list_tickets(session=session, filters=TicketFilter(q=q), limit=100)
    assert {t.number for t in listed} == {t.number for t in rows}
    return {t.number for t in rows}


def test_search_finds_what_the_scan_found(session: Session, taxonomy: Taxonomy) -> None:
    drain = file(session, taxonomy, 1, description="小区门口的下水道堵了三天",
                 location_text="玉林北路18号")  # fmt: skip
    light = file(session, taxonomy, 2, description="路灯不亮，井盖也松了",
                 contact_phone="13900001111", location_text="长寿苑小区3栋")  # fmt: skip
    traditional = file(session, taxonomy, 3, description="樓下的下水道又堵了",
                       location_text="黉门街")  # fmt: skip
    session.flush()
    assert found(session, "下水道") == {drain, traditional}
    assert found(session, "井盖") == {light}
    assert found(session, "0000") == {light}  # part of the phone number
    assert found(session, "玉林北路") == {drain}
    assert found(session, "玉林 堵了") == {drain}  # every run is required
    assert found(session, "灯") == {light}  # one character: the terms it starts
    assert found(session, "天") == {drain}  # also where it ends a run (三天)
    assert found(session, "！") == set()  # punctuation only: the scan
    assert found(session, light) == {light}  # the ticket number itself
    assert found(session, "水道堵了三天玉林") == set()  # no pair across fields
    assert found(session, '下水道" OR "路灯') == set()  # quotes are not FTS5 syntax here


def test_an_edited_description_is_found_by_its_new_words(
    session: Session, taxonomy: Taxonomy
) -> None:
    number = file(session, taxonomy, 1, description="小区门口的下水道堵了三天")
    session.flush()
    rows, _ = queue.list_queue(session=session, f=TicketFilter(q="下水道"))
    rows[0].description = "小区门口的化粪池满溢"
    session.flush()
    assert found(session, "下水道") == set() and found(session, "化粪池") == {number}


def test_the_index_is_read_not_the_descriptions(session: Session, taxonomy: Taxonomy) -> None:
    if not search.available(session):
        pytest.skip("the index is SQLite's (FTS5); PostgreSQL scans")
    file(session, taxonomy, 1, description="小区门口的下水道堵了三天")
    session.flush()
    session.execute(text("UPDATE ticket SET description = '改过的内容，不经过应用'"))
    assert len(found(session, "下水道")) == 1  # what the index says, not a LIKE
    assert search.reindex(session.connection()) == 1
    assert found(session, "下水道") == set()
