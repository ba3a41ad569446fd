from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from core.taxonomy import Taxonomy
from retraining import history


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def run(taxonomy: Taxonomy, rows: list[dict[str, str]], **kwargs: object) -> history.ImportResult:
    return history.import_history(
        rows=rows,
        text_col="内容",
        label_col="分类",
        taxonomy=taxonomy,
        source="import:t.csv",
        **kwargs,  # type: ignore[arg-type]
    )


def test_labels_map_by_name_code_or_mapping(tmp_path: Path, taxonomy: Taxonomy) -> None:
    rows = history.read_table(
        write_csv(
            tmp_path / "h.csv",
            "内容,分类\n"
            "路灯坏了三天,城乡建设\n"
            "工地拖欠工资,labor_social_security\n"
            "楼上漏水,邻里\n"
            "  ,城乡建设\n"
            "路灯坏了三天,城乡建设\n"
            "有[链接](x)的文字很长很长,城乡建设\n",
        )
    )
    result = run(taxonomy, rows, mapping={"邻里": "disputes/neighbor_disputes"}, max_chars=8)
    got = [(e.category, e.subcategory) for e in result.examples]
    assert got[:3] == [
        ("urban_construction", None),
        ("labor_social_security", None),
        ("disputes", "neighbor_disputes"),
    ]
    assert result.skipped == {"空文本 empty text": 1, "重复 duplicate": 1}
    assert result.truncated == 1
    assert "[" not in result.examples[-1].text  # never read as Rasa entity markup
    data = yaml.safe_load(history.to_rasa_yaml(result.examples))
    disputes = next(b for b in data["nlu"] if b["intent"] == "report_disputes")
    assert disputes["metadata"] == {"source": "import:t.csv", "subcategory": "neighbor_disputes"}


def test_existing_examples_are_duplicates(tmp_path: Path, taxonomy: Taxonomy) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: report_x\n  examples: |\n'
        "    - [玉林路](location)路灯坏了\n",
        encoding="utf-8",
    )
    rows = [{"内容": "玉林路路灯坏了！", "分类": "城乡建设"}]
    result = run(taxonomy, rows, known=history.existing_texts(nlu))
    assert result.examples == [] and result.skipped["重复 duplicate"] == 1


def test_holdout_split_is_stable(taxonomy: Taxonomy) -> None:
    rows = [{"内容": f"第{i}号路灯坏了", "分类": "城乡建设"} for i in range(200)]
    first = run(taxonomy, rows, holdout_fraction=0.2)
    second = run(taxonomy, rows, holdout_fraction=0.2)
    assert 20 < len(first.holdout) < 60
    assert [e.text for e in first.holdout] == [e.text for e in second.holdout]


def test_gbk_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", "内容,分类\n路灯坏了,城乡建设\n", encoding="gbk")
    with pytest.raises(history.ImportProblem, match="不是UTF-8编码.*GBK"):
        history.read_table(path)


def test_missing_columns_and_unknown_labels(taxonomy: Taxonomy) -> None:
    with pytest.raises(history.ImportProblem, match="找不到列：分类"):
        history.import_history(
            rows=[{"内容": "x"}],
            text_col="内容",
            label_col="分类",
            taxonomy=taxonomy,
            source="s",
        )
    with pytest.raises(history.ImportProblem, match="火星事务（2条）"):
        run(taxonomy, [{"内容": "a", "分类": "火星事务"}, {"内容": "b", "分类": "火星事务"}])
    with pytest.raises(history.ImportProblem, match="没有数据行"):
        run(taxonomy, [])


def test_xlsx(tmp_path: Path, taxonomy: Taxonomy) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["内容", "分类"])
    sheet.append(["小区门口垃圾没人收", "环境保护"])
    sheet.append([None, "环境保护"])
    workbook.save(tmp_path / "h.xlsx")
    rows = history.read_table(tmp_path / "h.xlsx")
    result = run(taxonomy, rows)
    assert [e.category for e in result.examples] == ["environmental_protection"]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(history.ImportProblem, match="无法读取Excel"):
        history.read_table(broken)
