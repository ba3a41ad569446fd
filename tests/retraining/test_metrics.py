from __future__ import annotations

import pytest

from retraining.metrics import evaluate, render


def test_metrics() -> None:
    gold = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "x"]
    result = evaluate(gold, pred)
    assert result.accuracy == pytest.approx(0.6)
    per = {c.label: c for c in result.per_class}
    assert per["a"].precision == 1.0 and per["a"].recall == 0.5
    assert per["b"].precision == pytest.approx(2 / 3)
    assert per["c"].f1 == 0.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert result.labels == ["a", "b", "c", "x"]
    assert result.confusion[2] == [0, 0, 0, 1]
    table = render(result, {"a": "城乡建设"})
    assert "城乡建设" in table and "macro-F1=0.489" in table


def test_metrics_refuse_bad_input() -> None:
    with pytest.raises(ValueError):
        evaluate([], [])
    with pytest.raises(ValueError):
        evaluate(["a"], [])
