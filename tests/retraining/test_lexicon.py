from __future__ import annotations

from core.settings import ROOT
from core.taxonomy import Taxonomy
from retraining.lexicon import build_user_dictionary, render


def test_committed_dictionary_is_up_to_date(taxonomy: Taxonomy) -> None:
    committed = (ROOT / "data" / "jieba" / "userdict.txt").read_text(encoding="utf-8")
    assert committed == build_user_dictionary(ROOT / "data", taxonomy), (
        "data/jieba/userdict.txt is stale: run `.venv/bin/petition nlu dict`"
    )


def test_places_win_over_terms_and_bad_words_are_dropped() -> None:
    text = render(places=["长寿苑小区", "白佛村三组", "a b"], terms=["长寿苑小区", "路灯", "x"])
    lines = text.splitlines()
    assert "长寿苑小区 50000 ns" in lines
    assert "路灯 20000 n" in lines
    assert not any(line.startswith(("a b", "x ")) for line in lines)
