"""import → train → eval with the `petition` CLI on a labelled history file made here."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.services import ROOT, Service, free_port

pytestmark = pytest.mark.integration

PETITION = str(ROOT / ".venv" / "bin" / "petition")
TINY_CONFIG = """
recipe: default.v1
language: zh
assistant_id: roundtrip
pipeline:
  - name: nlu.tokenizer.NormalizingJiebaTokenizer
    dictionary_path: data/jieba
  - name: nlu.linear_intent.LinearIntentClassifier
  - name: nlu.subcategory.SubcategoryClassifier
policies:
  - name: RulePolicy
"""


def petition(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PETITION, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Rasa project with a small, fast pipeline (no DIET)."""
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    (tmp_path / "config.yml").write_text(TINY_CONFIG, encoding="utf-8")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("imported"))
    return tmp_path


def history_file(path: Path) -> Path:
    """Labelled 'historical tickets': Chinese category names, one empty row, one duplicate."""
    names = {}
    for cat in yaml.safe_load((ROOT / "data/taxonomy.yml").read_text(encoding="utf-8"))[
        "categories"
    ]:
        names[cat["code"]] = cat["name"]
    rows = []
    for source in sorted((ROOT / "tests/data/nlu_holdout").glob("*.csv")):
        with source.open(encoding="utf-8") as fh:
            rows += [(r["text"], names[r["category"]]) for r in csv.DictReader(fh)]
    rows += [("", "城乡建设"), rows[0]]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["诉求内容", "分类"])
        writer.writerows(rows)
    return path


def test_import_train_eval(project: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PROJECT_DIR": str(project),
        "VAR_DIR": str(project / "var"),
        "PYTHONPATH": str(ROOT),
        "CASESTORE_API_TOKEN": "roundtrip-token-0123456789",
        "RASA_TOKEN": "roundtrip-rasa-token",
        "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",  # endpoints.yml; unused here
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    history = history_file(tmp_path / "history.csv")

    bad = petition(env, "nlu", "import", "--csv", str(history), "--text-col", "内容",
                   "--label-col", "分类")  # fmt: skip
    assert bad.returncode == 2 and "找不到列：内容" in bad.stderr
    assert not (project / "var/nlu/imported").exists()  # nothing written

    imported = petition(env, "nlu", "import", "--csv", str(history), "--text-col", "诉求内容",
                        "--label-col", "分类", "--holdout", "0.3", "--name", "history")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "跳过 1 条：空文本" in imported.stdout and "跳过 1 条：重复" in imported.stdout
    held_back = project / "var/holdout/history.csv"
    assert held_back.exists()

    trained = petition(env, "train", "--out", str(project / "models"))
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "模型已保存" in trained.stdout
    model = project / "models/petition.tar.gz"

    port = free_port()
    env["RASA_URL"] = f"http://127.0.0.1:{port}"
    no_endpoints = tmp_path / "endpoints.yml"  # NLU only: no action or model server
    no_endpoints.write_text("{}\n", encoding="utf-8")
    server = Service(
        "rasa",
        # As make run starts it: the token from RASA_TOKEN, JWTs from the CLI accepted.
        [str(ROOT / ".venv-rasa/bin/python"), "-m", "nlu.server", "run", "--enable-api",
         "-i", "127.0.0.1", "--port", str(port), "--model", str(model),
         "--endpoints", str(no_endpoints)],
        f"{env['RASA_URL']}/status?token={env['RASA_TOKEN']}", env, tmp_path / "rasa.log",
    )  # fmt: skip
    server.start()
    try:
        table = petition(env, "nlu", "eval", "--csv", str(held_back), "--text-col", "text",
                         "--label-col", "category", "--sub-label-col", "subcategory")  # fmt: skip
        assert table.returncode == 0, table.stderr
        assert "macro-F1" in table.stdout and "混淆矩阵" in table.stdout
        as_json = petition(env, "nlu", "eval", "--csv", str(held_back), "--text-col", "text",
                           "--label-col", "category", "--json")  # fmt: skip
        result = json.loads(as_json.stdout)
        assert result["n"] > 20
        assert result["accuracy"] > 0.5  # far above the 1/12 of guessing
        classified = petition(env, "classify", "--csv", str(held_back), "--text-col", "text",
                              "--out", str(tmp_path / "out.csv"))  # fmt: skip
        assert classified.returncode == 0, classified.stderr
        with (tmp_path / "out.csv").open(encoding="utf-8") as fh:
            first = next(csv.DictReader(fh))
        assert first["category"] and len(first["top3"].split(";")) == 3
    finally:
        server.stop()
