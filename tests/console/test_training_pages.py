"""Admin retraining pages: inbox review, data view, training job, comparison, activation."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accounts.models import Role
from core.settings import ROOT, Settings
from retraining import trainer, versions
from tests.console.test_staff import AUTH, add_user, csrf, file, login
from webapp.app import create_app


@pytest.fixture
def admin(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """An admin signed in; training, evaluation and Rasa's hot swap are replaced by fakes."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "petition.tar.gz").write_bytes(b"initial model")
    own = settings.model_copy(update={"model_dir": models, "training_log_dir": tmp_path / "logs"})
    swapped: list[str] = []

    def fake_train(*, out_dir: Path, name: str, extra_data: Any, log: Any, **_: Any) -> Any:
        accepted = Path(extra_data[0]).read_text(encoding="utf-8")
        log.write(b"Epochs: 100%\n")
        (out_dir / f"{name}.tar.gz").write_text(accepted, encoding="utf-8")
        return trainer.TrainResult(model=out_dir / f"{name}.tar.gz", seconds=1.5)

    def fake_predict(files: list[Path], texts: list[str], **_: Any) -> dict[str, Any]:
        out = {}
        for path in files:
            learned = "楼下烧烤" in path.read_text(encoding="utf-8", errors="ignore")
            out[str(path)] = [
                {
                    "intent": "report_environmental_protection"
                    if learned and "油烟" in t
                    else "report_urban_construction"
                }  # fmt: skip
                for t in texts
            ]
        return out

    monkeypatch.setattr(trainer, "train", fake_train)
    monkeypatch.setattr(versions, "predict", fake_predict)
    monkeypatch.setattr(versions, "_hot_swap", lambda url, token, path: swapped.append(path.name))
    client = TestClient(create_app(own))
    client.__enter__()
    client.swapped = swapped  # type: ignore[attr-defined]
    add_user(own, "boss", Role.ADMIN)
    assert login(client, "boss") == 303
    yield client
    client.__exit__(None, None, None)


def test_inbox_accepts_relabels_and_rejects(admin: TestClient) -> None:
    number = file(admin, transcript=[{"role": "resident", "text": "楼下烧烤店油烟太大了"}])
    admin.post(
        f"/api/v1/tickets/{number}/actions",
        json={"action": "correct", "actor": "staff:li", "category": "environmental_protection"},
        headers=AUTH,
    )
    for text in ("随便说说", "谢谢你们"):
        admin.post("/api/v1/training-examples", headers=AUTH,
                   json={"text": text, "source": "low_confidence"})  # fmt: skip
    page = admin.get("/admin/training").text
    assert "楼下烧烤店油烟太大了" in page and "坐席更正" in page and "低置信度" in page
    ids = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]
    token = csrf(admin, "/admin/training")
    correction, first, second = sorted(ids)
    ok = admin.post("/admin/training/review",
                    data={"csrf_token": token, "one": f"accept:{correction}"})  # fmt: skip
    assert "已处理 1 条样本" in ok.text
    unlabelled = admin.post("/admin/training/review",
                            data={"csrf_token": token, "one": f"accept:{first}"})  # fmt: skip
    assert "请选择意图" in unlabelled.text
    relabel = admin.post(
        "/admin/training/review",
        data={"csrf_token": token, "action": "accept", "ids": [str(first)],
              f"label_{first}": "thank|"},
    )  # fmt: skip
    assert "已处理 1 条样本" in relabel.text
    admin.post("/admin/training/review",
               data={"csrf_token": token, "action": "reject", "ids": [str(second)]})  # fmt: skip
    accepted = admin.get("/admin/training?status=accepted").text
    assert "楼下烧烤店油烟太大了" in accepted and "随便说说" in accepted
    assert "谢谢你们" in admin.get("/admin/training?status=rejected").text
    data = admin.get("/admin/training/data").text
    assert "已采纳的 2 条" in data and "example_accept" in data


def test_train_compare_activate_and_roll_back(admin: TestClient) -> None:
    number = file(admin, transcript=[{"role": "resident", "text": "楼下烧烤店油烟太大了"}])
    admin.post(
        f"/api/v1/tickets/{number}/actions",
        json={"action": "correct", "actor": "staff:li", "category": "environmental_protection"},
        headers=AUTH,
    )
    admin.post("/api/v1/training-examples/1/review", headers=AUTH,
               json={"action": "accept", "actor": "admin:boss"})  # fmt: skip
    token = csrf(admin, "/admin/models")
    started = admin.post("/admin/training/jobs", data={"csrf_token": token})
    job_id = int(str(started.url).rsplit("/", 1)[1])
    admin.app.state.jobs.wait(30)  # type: ignore[attr-defined]
    progress = admin.get(f"/admin/training/jobs/{job_id}/progress").json()
    assert progress["status"] == "succeeded", progress
    assert "Epochs: 100%" in progress["log"] and progress["finished"]
    version_id = progress["model_version_id"]
    page = admin.get(f"/admin/models/{version_id}").text
    assert "宏平均F1" in page and "<svg" in page and "楼下烧烤店油烟太大了" not in page
    assert "initial" in admin.get("/admin/models").text  # the running model became a version
    activated = admin.post(f"/admin/models/{version_id}/activate", data={"csrf_token": token})
    assert activated.status_code == 200 and "使用中" in admin.get("/admin/models").text
    assert len(admin.swapped) == 1  # type: ignore[attr-defined]
    initial = re.search(r'href="/admin/models/(\d+)">initial<', admin.get("/admin/models").text)
    assert initial
    admin.post(f"/admin/models/{initial.group(1)}/activate",
               data={"csrf_token": token, "rollback": "1"})  # fmt: skip
    assert admin.swapped[-1] == "initial.tar.gz"  # type: ignore[attr-defined]
    history = admin.get(f"/admin/models/{initial.group(1)}").text
    assert "model_rollback" in history


def test_worse_model_needs_a_reason(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    gold = {r["text"]: r["category"] for r in versions.holdout_rows(ROOT)}

    def worse(files: list[Path], texts: list[str], **_: Any) -> dict[str, Any]:
        """The candidate says 'greet' to everything; the active model is always right."""
        return {str(files[0]): [{"intent": "greet"} for _ in texts],
                **{str(f): [{"intent": f"report_{gold[t]}"} for t in texts]
                   for f in files[1:]}}  # fmt: skip

    monkeypatch.setattr(versions, "predict", worse)
    token = csrf(admin, "/admin/models")
    job_id = int(str(admin.post("/admin/training/jobs", data={"csrf_token": token}).url)[-1])
    admin.app.state.jobs.wait(30)  # type: ignore[attr-defined]
    version_id = admin.get(f"/admin/training/jobs/{job_id}/progress").json()["model_version_id"]
    refused = admin.post(f"/admin/models/{version_id}/activate", data={"csrf_token": token})
    assert "已拒绝启用" in refused.text and admin.swapped == []  # type: ignore[attr-defined]
    forced = admin.post(
        f"/admin/models/{version_id}/activate", data={"csrf_token": token, "reason": "演示"}
    )
    assert forced.status_code == 200 and len(admin.swapped) == 1  # type: ignore[attr-defined]


def test_training_pages_are_for_admins_only(client: TestClient, settings: Settings) -> None:
    add_user(settings, "lili", Role.STAFF)
    login(client, "lili")
    for path in ("/admin/training", "/admin/training/data", "/admin/models", "/admin/taxonomy"):
        assert client.get(path).status_code == 403


def test_one_job_at_a_time_and_cancel(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow_train(*, on_start: Any, log: Any, **_: Any) -> Any:
        process = subprocess.Popen(["sleep", "30"], start_new_session=True)
        on_start(process)
        process.wait()
        release.set()
        raise trainer.TrainingFailed("训练失败（rasa train 退出码 -15）")

    monkeypatch.setattr(trainer, "train", slow_train)
    token = csrf(admin, "/admin/models")
    first = admin.post("/admin/training/jobs", data={"csrf_token": token})
    job_id = int(str(first.url).rsplit("/", 1)[1])
    while (
        admin.get(f"/admin/training/jobs/{job_id}/progress").json()["stage"] == "导出已采纳的样本"
    ):
        release.wait(0.05)
    second = admin.post("/admin/training/jobs", data={"csrf_token": token})
    assert f"训练任务 #{job_id} 正在进行" in second.text
    admin.post(f"/admin/training/jobs/{job_id}/cancel", data={"csrf_token": token})
    assert release.wait(10)
    admin.app.state.jobs.wait(10)  # type: ignore[attr-defined]
    progress = admin.get(f"/admin/training/jobs/{job_id}/progress").json()
    assert progress["status"] == "cancelled" and progress["finished"]


def test_taxonomy_extended_from_the_console(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("imported"))
    own = settings.model_copy(update={"data_dir": tmp_path / "data"})
    with TestClient(create_app(own)) as app:
        add_user(own, "boss", Role.ADMIN)
        login(app, "boss")
        token = csrf(app, "/admin/taxonomy")
        form = {"csrf_token": token, "kind": "subcategory", "category": "urban_construction",
                "code": "ev_charging", "name": "充电设施", "department": "发展和改革局",
                "sla_days": "5", "tier": "street", "terms": "充电桩，充电"}  # fmt: skip
        bad = app.post("/admin/taxonomy", data={**form, "sla_days": "五"})
        assert bad.status_code == 422 and "办理时限应为整数" in bad.text
        done = app.post("/admin/taxonomy", data=form)
        assert "已添加二级分类「充电设施」" in done.text
        service = app.get("/open311/v2/services/urban_construction.json").json()
        values = service["attributes"][0]["values"]
        assert {"key": "ev_charging", "name": "充电设施"} in values  # Open311 follows at once
        assert "充电设施" in (tmp_path / "data/taxonomy.yml").read_text(encoding="utf-8")
